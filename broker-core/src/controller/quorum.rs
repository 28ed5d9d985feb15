//! The controller's metadata log, single-node or replicated: `controllers = 1` keeps
//! `LocalMetadataLog` (a record commits at its own fsync, the lab's behaviour before the
//! quorum), a controller built with `Controller::with_quorum` runs on `RaftMetadataLog`
//! and is the active controller only while it is the Raft leader (`QuorumController`'s
//! `curClaimEpoch`, `QuorumController.QuorumMetaLogListener.handleLeaderChange`).

use super::metadata_log::{LocalMetadataLog, MetadataLog};
use super::raft_metadata_log::RaftMetadataLog;
use crate::metadata::MetadataRecord;
use crate::outbox::Outbox;
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatResponse,
    BrokerRegistrationResponse, CreateTopicsResponse, CreatedTopic, DeleteTopicsResponse, Message,
};
use crate::raft::QuorumConfig;
use crate::types::{DiskOpId, NodeId};
use std::ops::Range;

/// `KafkaRaftManager`'s graceful shutdown timeout of the Raft client (`client.shutdown(5000)`).
const GRACEFUL_SHUTDOWN_TIMEOUT_MS: u64 = 5_000;

/// How a controller finds its quorum when it starts.
#[derive(Clone, Debug)]
pub(crate) struct QuorumSetup {
    pub(crate) voters: Vec<NodeId>,
    pub(crate) config: QuorumConfig,
    pub(crate) seed: u64,
}

/// Either metadata log, behind the one `MetadataLog` interface.
#[derive(Clone, Debug)]
pub(crate) enum ControllerLog {
    Local(LocalMetadataLog),
    Quorum(Box<RaftMetadataLog>),
}

impl ControllerLog {
    /// Whether this controller may decide and append: always alone, as the leader in a quorum.
    pub(crate) fn is_active(&self) -> bool {
        match self {
            ControllerLog::Local(_) => true,
            ControllerLog::Quorum(log) => log.is_leader(),
        }
    }

    /// The quorum's log, if replicated.
    pub(crate) fn quorum(&mut self) -> Option<&mut RaftMetadataLog> {
        match self {
            ControllerLog::Local(_) => None,
            ControllerLog::Quorum(log) => Some(log),
        }
    }

    /// The quorum's log, if replicated (read-only).
    pub(crate) fn quorum_ref(&self) -> Option<&RaftMetadataLog> {
        match self {
            ControllerLog::Local(_) => None,
            ControllerLog::Quorum(log) => Some(log),
        }
    }

    fn inner(&self) -> &dyn MetadataLog {
        match self {
            ControllerLog::Local(log) => log,
            ControllerLog::Quorum(log) => log.as_ref(),
        }
    }

    fn inner_mut(&mut self) -> &mut dyn MetadataLog {
        match self {
            ControllerLog::Local(log) => log,
            ControllerLog::Quorum(log) => log.as_mut(),
        }
    }
}

impl Default for ControllerLog {
    fn default() -> ControllerLog {
        ControllerLog::Local(LocalMetadataLog::default())
    }
}

impl MetadataLog for ControllerLog {
    fn append(&mut self, record: MetadataRecord) -> u64 {
        self.inner_mut().append(record)
    }
    fn end_offset(&self) -> u64 {
        self.inner().end_offset()
    }
    fn committed_end(&self) -> u64 {
        self.inner().committed_end()
    }
    fn record(&self, offset: u64) -> &MetadataRecord {
        self.inner().record(offset)
    }
    fn flush(&mut self, out: &mut Outbox) {
        self.inner_mut().flush(out)
    }
    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) -> Option<Range<u64>> {
        self.inner_mut().on_disk_completed(id, ok)
    }
}

use super::{Controller, Session};
use crate::error::ErrorCode;
use crate::metadata::MetadataImage;
use crate::raft::RaftMessage;
use crate::types::BrokerEpoch;

impl Controller {
    /// Its quorum status (role, epoch, voted-for, leader, log end, high watermark), in a
    /// quorum; `None` for the single-node log.
    pub fn quorum_status(&self) -> Option<crate::raft::RaftStatus> {
        self.log.quorum_ref().map(|q| q.node().status())
    }

    /// Its replica of the Raft metadata log, in a quorum (for the checker's
    /// `metadata-divergence`).
    pub fn quorum_log(&self) -> Option<&crate::raft::RaftLog<MetadataRecord>> {
        self.log.quorum_ref().map(|q| q.node().log())
    }

    /// A message of the quorum: Raft's, then whatever it committed is published.
    pub(super) fn on_quorum_message(&mut self, from: NodeId, message: RaftMessage<MetadataRecord>) {
        let Some(quorum) = self.log.quorum() else {
            return; // a lone controller is in no quorum
        };
        if let Some(committed) = quorum.handle_message(self.now, from, message, &mut self.out) {
            self.publish(committed);
        }
    }

    /// A clean shutdown (`KafkaRaftManager.RaftIoThread.initiateShutdown` →
    /// `KafkaRaftClient.shutdown(5000)`): a leading voter resigns with `EndQuorumEpoch` and
    /// stops once another voter leads, or after 5 s; any other controller stops at once (an
    /// observer or a lone voter has nothing to hand over).
    pub(super) fn begin_shutdown(&mut self) {
        let now = self.now;
        let leading = self.started && self.log.is_active();
        match self.log.quorum() {
            Some(quorum) if leading => {
                if let Some(committed) = quorum.resign(now, &mut self.out) {
                    self.publish(committed);
                }
                self.follow_leadership();
                self.shutdown_deadline = Some(now.plus_ms(GRACEFUL_SHUTDOWN_TIMEOUT_MS));
            }
            _ => self.out.push(crate::io::Output::Stopped),
        }
    }

    /// The graceful shutdown ends when another voter leads (the resigned leader learns it from
    /// its `BeginQuorumEpoch`) or its timeout passes.
    pub(super) fn maybe_finish_shutdown(&mut self) {
        let Some(deadline) = self.shutdown_deadline else {
            return;
        };
        let me = NodeId::Controller(self.id);
        let handed_over = self
            .log
            .quorum_ref()
            .and_then(|q| q.leader())
            .is_some_and(|leader| leader != me);
        if handed_over || self.now >= deadline {
            self.shutdown_deadline = None;
            self.out.push(crate::io::Output::Stopped);
        }
    }

    /// Claim or renounce the active role when the Raft leadership changed
    /// (`QuorumController.QuorumMetaLogListener.handleLeaderChange`).
    pub(super) fn follow_leadership(&mut self) {
        let active = self.log.is_active();
        if active == self.active {
            return;
        }
        self.active = active;
        if active {
            self.claim();
        } else {
            self.renounce();
        }
    }

    /// `QuorumController.claim`: the new active controller decides on its whole log (what it
    /// holds past the high watermark commits with its epoch's first record), and gives every
    /// registered broker a fresh session, as `BrokerHeartbeatManager` starts empty.
    fn claim(&mut self) {
        let mut image = MetadataImage::default();
        for offset in 0..self.log.end_offset() {
            image.apply(offset, self.log.record(offset));
        }
        self.image = image;
        self.sessions.clear();
        for (broker, registration) in &self.image.brokers {
            if !registration.fenced {
                self.sessions.insert(*broker, Session::new(self.now));
            }
        }
        self.on_broker_available();
    }

    /// `QuorumController.renounce`: back to the last committed state (`SnapshotRegistry.revertToSnapshot`
    /// at `lastCommittedOffset`); what it decided and did not commit is not its to answer.
    fn renounce(&mut self) {
        self.image = self.committed.clone();
        self.sessions.clear();
        self.pending.clear();
        self.decided.clear();
        self.untold.clear();
    }

    /// A standby controller answers brokers NOT_CONTROLLER (`QuorumController`'s
    /// `NotControllerException`): they look for the active one.
    pub(super) fn refuse_not_controller(&mut self, from: NodeId, message: Message) {
        let error = ErrorCode::NOT_CONTROLLER;
        let response = match message {
            Message::BrokerRegistration(_) => {
                Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                    error,
                    broker_epoch: BrokerEpoch::default(),
                })
            }
            Message::BrokerHeartbeat(_) => {
                Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                    error,
                    is_fenced: true,
                    should_shut_down: false,
                })
            }
            Message::AlterPartition(AlterPartitionRequest { tp, .. }) => {
                Message::AlterPartitionResponse(AlterPartitionResponse {
                    tp,
                    error,
                    state: None,
                })
            }
            // Every topic of a forwarded topic change is NOT_CONTROLLER; the client retries
            // (the admin client's `NotControllerException` is retriable), and the broker that
            // forwarded it moves its channel on when it relays the answer.
            Message::CreateTopics(r) => Message::CreateTopicsResponse(CreateTopicsResponse {
                correlation_id: r.correlation_id,
                topics: r
                    .topics
                    .into_iter()
                    .map(|t| CreatedTopic {
                        name: t.name,
                        error,
                        message: None,
                        partitions: 0,
                        replication_factor: 0,
                    })
                    .collect(),
                requester: r.requester,
            }),
            Message::DeleteTopics(r) => Message::DeleteTopicsResponse(DeleteTopicsResponse {
                correlation_id: r.correlation_id,
                topics: r.topics.into_iter().map(|t| (t, error)).collect(),
                requester: r.requester,
            }),
            other => panic!(
                "controller got a message controllers never receive: {}",
                other.api_name()
            ),
        };
        self.out.send(from, response);
    }
}

#[cfg(test)]
#[path = "quorum_tests.rs"]
mod tests;
