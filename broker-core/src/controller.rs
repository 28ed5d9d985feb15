//! The KRaft controller (a single node for now): owns the metadata log, registers and fences
//! brokers, elects leaders, applies `AlterPartition`, and runs controlled shutdowns.
//!
//! Records are applied to the working image as soon as they are decided (the next decision
//! builds on them), but published to brokers, answered, and shown in the committed image
//! (`metadata()`) only once the metadata log committed them: persist before acknowledging, and
//! never expose an uncommitted record (`QuorumController`'s `lastCommittedOffset`).

use crate::config::{ClusterConfig, TopicConfig};
use crate::error::ErrorCode;
use crate::io::{DiskImage, Event, Input, Output};
use crate::metadata::{
    effective_min_isr, BrokerRegistration, MetadataImage, MetadataRecord, PartitionState,
};
use crate::outbox::Outbox;
use crate::protocol::{
    isr_ids, AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatRequest,
    BrokerHeartbeatResponse, BrokerRegistrationRequest, BrokerRegistrationResponse, IsrMember,
    Message,
};
use crate::types::*;
use metadata_log::{LocalMetadataLog, MetadataLog};
use partition_change::{Election, PartitionChange};
use quorum::{ControllerLog, QuorumSetup};
use std::collections::BTreeMap;
use std::ops::Range;

mod local_fetch;
mod metadata_log;
mod partition_change;
mod quorum;
mod raft_metadata_log;
mod topics;

/// A topic the cluster starts with (created once its replicas have registered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    /// The topic.
    pub topic: Topic,
    /// Replicas per partition; the first is the preferred leader.
    pub assignment: Vec<Vec<BrokerId>>,
    /// Its configuration.
    pub config: TopicConfig,
}

/// `BrokerHeartbeatManager.BrokerHeartbeatState`: a broker's session.
#[derive(Clone, Debug)]
struct Session {
    last_heartbeat: Time,
    /// The metadata offset its last heartbeat reported (the next record it will apply).
    metadata_offset: u64,
    /// In controlled shutdown: the metadata offset after the records that moved its
    /// leaderships; it may stop once every active broker has applied them.
    controlled_shutdown_offset: Option<u64>,
}

impl Session {
    fn new(now: Time) -> Session {
        Session {
            last_heartbeat: now,
            metadata_offset: 0,
            controlled_shutdown_offset: None,
        }
    }
}

#[derive(Clone, Debug)]
struct PendingResponse {
    durable_offset: u64,
    to: NodeId,
    message: Message,
}

impl TopicSpec {
    /// Replicas per partition (of the first partition; the lab's topics are uniform).
    pub fn replication_factor(&self) -> u32 {
        self.assignment.first().map_or(0, Vec::len) as u32
    }
}

/// The controller as a sans-IO state machine.
#[derive(Clone, Debug)]
pub struct Controller {
    id: ControllerId,
    config: ClusterConfig,
    topics: Vec<TopicSpec>,
    now: Time,
    started: bool,
    /// Every decided record, committed or not: what the next decision builds on.
    image: MetadataImage,
    /// Only committed records: what brokers, reports and the UI see.
    committed: MetadataImage,
    log: ControllerLog,
    /// The quorum this controller is a voter of (`None`: the lone controller).
    quorum: Option<QuorumSetup>,
    /// Whether it acted as the active controller after the last input.
    active: bool,
    sessions: BTreeMap<BrokerId, Session>,
    pending: Vec<PendingResponse>,
    /// Decisions of the current input, told (`Event`) once the records that carry them commit.
    decided: Vec<Event>,
    /// Told decisions waiting for the log to commit up to their offset (the image's end when
    /// they were decided): a class sees an election when the cluster can, not before.
    untold: Vec<(u64, Event)>,
    /// Brokers' metadata fetches the lone controller holds until it commits more
    /// (`local_fetch.rs`; in a quorum the Raft leader holds them).
    held_fetches: Vec<local_fetch::HeldFetch>,
    /// A clean shutdown in progress: when it gives up waiting for another voter to lead.
    shutdown_deadline: Option<Time>,
    out: Outbox,
}

impl Controller {
    /// A controller that will create `topics` at cluster start.
    pub fn new(
        id: ControllerId,
        config: ClusterConfig,
        topics: Vec<TopicSpec>,
        now: Time,
    ) -> Controller {
        Controller {
            id,
            config,
            topics,
            now,
            started: false,
            image: MetadataImage::default(),
            committed: MetadataImage::default(),
            log: ControllerLog::default(),
            quorum: None,
            active: false,
            sessions: BTreeMap::new(),
            pending: Vec::new(),
            decided: Vec::new(),
            untold: Vec::new(),
            held_fetches: Vec::new(),
            shutdown_deadline: None,
            out: Outbox::default(),
        }
    }

    /// A voter of a controller quorum (KRaft, KIP-595): it decides only while it is the Raft
    /// leader. `seed` drives its election timeouts.
    pub fn with_quorum(
        id: ControllerId,
        voters: &[ControllerId],
        quorum: crate::raft::QuorumConfig,
        seed: u64,
        (config, topics): (ClusterConfig, Vec<TopicSpec>),
        now: Time,
    ) -> Controller {
        let mut controller = Controller::new(id, config, topics, now);
        controller.quorum = Some(QuorumSetup {
            voters: voters.iter().map(|v| NodeId::Controller(*v)).collect(),
            config: quorum,
            seed,
        });
        controller
    }

    /// Whether it is the active controller (alone, or the Raft leader of its quorum).
    pub fn is_active(&self) -> bool {
        self.started && self.log.is_active()
    }

    /// Its Raft role and epoch, in a quorum.
    pub fn quorum_role(&self) -> Option<(crate::raft::Role, LeaderEpoch)> {
        self.log.quorum_ref().map(|q| q.role())
    }

    /// The active controller this one knows of, in a quorum (itself when it leads).
    pub fn quorum_leader(&self) -> Option<NodeId> {
        self.log.quorum_ref().and_then(|q| q.leader())
    }

    /// Handle one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.advance(now);
        match input {
            Input::Start { disk, .. } => self.start(disk),
            Input::Shutdown => self.begin_shutdown(),
            _ if !self.started => {}
            Input::Message {
                from,
                message: Message::Quorum(message),
            } if self.quorum.is_none() => self.on_local_fetch(from, *message),
            Input::Message {
                from,
                message: Message::Quorum(message),
            } => self.on_quorum_message(from, *message),
            Input::Message { from, message } => self.on_message(from, message),
            Input::DiskCompleted { id, ok } => self.on_disk_completed(id, ok),
            Input::Disconnected { .. } | Input::Command(_) => {}
        }
        self.follow_leadership();
        self.flush_log();
        self.maybe_finish_shutdown();
    }

    /// Fence brokers whose session expired.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
        if !self.started {
            return;
        }
        if let Some(quorum) = self.log.quorum() {
            let committed = quorum.handle_timeout(now, &mut self.out);
            if let Some(committed) = committed {
                self.publish(committed);
            }
            self.follow_leadership();
        }
        self.maybe_finish_shutdown();
        self.expire_held_fetches();
        if !self.active {
            self.flush_log();
            return;
        }
        let timeout_ms = self.config.broker_session_timeout_ms;
        let expired: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(_, s)| now.ms_since(s.last_heartbeat) >= timeout_ms)
            .map(|(b, _)| *b)
            .collect();
        for broker in expired {
            self.sessions.remove(&broker);
            if self.image.brokers.get(&broker).is_some_and(|r| !r.fenced) {
                self.fence(
                    broker,
                    format!("no heartbeat for broker.session.timeout.ms={timeout_ms}"),
                );
            }
        }
        self.flush_log();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The next session expiry.
    pub fn poll_timeout(&self) -> Option<Time> {
        let timeout_ms = self.config.broker_session_timeout_ms;
        let sessions = self
            .sessions
            .values()
            .map(|s| s.last_heartbeat.plus_ms(timeout_ms))
            .min();
        let raft = self.log.quorum_ref().and_then(|q| q.poll_timeout());
        let held = self.held_fetches.iter().map(|f| f.deadline).min();
        [sessions, raft, held, self.shutdown_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// The image of committed records (none that a failover could lose).
    pub fn metadata(&self) -> &MetadataImage {
        &self.committed
    }

    /// The committed metadata record at `offset`, if the log has committed that far: what a
    /// failover must never lose (tests compare voters' committed prefixes through it).
    pub fn committed_record(&self, offset: u64) -> Option<&MetadataRecord> {
        (offset < self.log.committed_end()).then(|| self.log.record(offset))
    }

    /// This controller's id.
    pub fn id(&self) -> ControllerId {
        self.id
    }

    fn advance(&mut self, now: Time) {
        self.out.advance(&mut self.now, now);
    }

    /// Replay the metadata log from disk; every registered broker gets a fresh session, as a new
    /// active controller gives them (`BrokerHeartbeatManager`).
    fn start(&mut self, disk: DiskImage) {
        assert!(!self.started, "a process starts once");
        self.started = true;
        if let Some(setup) = self.quorum.clone() {
            // Nothing recovered counts until the quorum says it is committed.
            self.log =
                ControllerLog::Quorum(Box::new(raft_metadata_log::RaftMetadataLog::recovered(
                    NodeId::Controller(self.id),
                    setup.voters,
                    setup.config,
                    self.now,
                    setup.seed,
                    &disk,
                )));
            return;
        }
        let log = LocalMetadataLog::recovered(&disk);
        for (offset, record) in log.records().iter().enumerate() {
            self.image.apply(offset as u64, record);
        }
        self.log = ControllerLog::Local(log);
        self.active = true;
        // Everything recovered was durable: committed (a lone controller's log).
        self.committed = self.image.clone();
        for (broker, registration) in &self.image.brokers {
            if !registration.fenced {
                self.sessions.insert(*broker, Session::new(self.now));
            }
        }
    }

    fn append(&mut self, record: MetadataRecord) -> u64 {
        let offset = self.image.offset;
        self.image.apply(offset, &record);
        let appended = self.log.append(record);
        debug_assert_eq!(appended, offset, "the image replays the log");
        offset
    }

    /// Hand the decided records to the disk.
    fn flush_log(&mut self) {
        let end = self.image.offset;
        self.untold
            .extend(self.decided.drain(..).map(|event| (end, event)));
        self.log.flush(&mut self.out);
        self.tell_committed();
    }

    /// A decision carried by records is an event of the run once those records commit
    /// (`QuorumController` publishes only committed records): until then a failover could
    /// still take it back, and the published image does not show it.
    fn decide(&mut self, event: Event) {
        self.decided.push(event);
    }

    fn tell_committed(&mut self) {
        let committed = self.log.committed_end();
        let (told, untold): (Vec<_>, Vec<_>) = std::mem::take(&mut self.untold)
            .into_iter()
            .partition(|(end, _)| *end <= committed);
        self.untold = untold;
        for (_, event) in told {
            self.out.event(event);
        }
    }

    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) {
        if let Some(committed) = self.log.on_disk_completed(id, ok) {
            self.publish(committed);
        }
    }

    /// Newly committed records: into the committed image, to the brokers' held metadata
    /// fetches (they pull: `local_fetch.rs`, or the Raft leader's own), and the answers waiting
    /// on them go out.
    fn publish(&mut self, committed: Range<u64>) {
        for offset in committed {
            self.committed.apply(offset, self.log.record(offset));
        }
        if !self.log.is_active() {
            // A standby controller's image is the committed one (`QuorumController` replays
            // committed batches on every voter).
            self.image = self.committed.clone();
            return;
        }
        self.answer_held_fetches();
        let durable = self.log.committed_end();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.durable_offset < durable);
        self.pending = waiting;
        for p in ready {
            self.out.send(p.to, p.message);
        }
        self.tell_committed();
    }

    fn respond_when_durable(&mut self, to: NodeId, message: Message) {
        let durable_offset = self.image.offset.saturating_sub(1);
        if self.image.offset <= self.log.committed_end() {
            self.out.send(to, message);
        } else {
            self.pending.push(PendingResponse {
                durable_offset,
                to,
                message,
            });
        }
    }

    fn on_message(&mut self, from: NodeId, message: Message) {
        if !self.log.is_active() {
            self.refuse_not_controller(from, message);
            return;
        }
        match message {
            Message::BrokerRegistration(BrokerRegistrationRequest {
                broker_id,
                incarnation_id,
                previous_broker_epoch,
            }) => self.register(from, broker_id, incarnation_id, previous_broker_epoch),
            Message::BrokerHeartbeat(BrokerHeartbeatRequest {
                broker_id,
                broker_epoch,
                metadata_offset,
                want_shut_down,
            }) => self.heartbeat(
                from,
                broker_id,
                broker_epoch,
                metadata_offset,
                want_shut_down,
            ),
            Message::AlterPartition(AlterPartitionRequest {
                broker_id,
                broker_epoch,
                tp,
                leader_epoch,
                partition_epoch,
                new_isr,
            }) => {
                let (error, state) = self.alter_partition(
                    broker_id,
                    broker_epoch,
                    &tp,
                    leader_epoch,
                    partition_epoch,
                    new_isr,
                );
                self.respond_when_durable(
                    from,
                    Message::AlterPartitionResponse(AlterPartitionResponse { tp, error, state }),
                );
            }
            Message::CreateTopics(request) => self.create_topics(from, request),
            Message::DeleteTopics(request) => self.delete_topics(from, request),
            other => panic!(
                "controller got a message controllers never receive: {}",
                other.api_name()
            ),
        }
    }

    /// `ClusterControlManager.registerBroker`: a new incarnation is refused while the old one's
    /// session lives (DUPLICATE_BROKER_REGISTRATION); the broker retries. With ELR, a broker
    /// that cannot show the epoch of a clean shutdown leaves every ISR and ELR (KIP-966,
    /// `ClusterControlManager.registerBroker`).
    fn register(
        &mut self,
        from: NodeId,
        broker_id: BrokerId,
        incarnation_id: u64,
        previous_broker_epoch: Option<BrokerEpoch>,
    ) {
        if let Some(existing) = self.image.brokers.get(&broker_id) {
            let same = existing.incarnation_id == incarnation_id;
            if same {
                let epoch = existing.broker_epoch;
                self.respond_when_durable(
                    from,
                    Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                        error: ErrorCode::NONE,
                        broker_epoch: epoch,
                    }),
                );
                return;
            }
            if self.sessions.contains_key(&broker_id) && !existing.fenced {
                let error = ErrorCode::DUPLICATE_BROKER_REGISTRATION;
                self.out.send(
                    from,
                    Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                        error,
                        broker_epoch: BrokerEpoch(0),
                    }),
                );
                return;
            }
        }
        let unclean = self
            .image
            .brokers
            .get(&broker_id)
            .is_some_and(|old| previous_broker_epoch != Some(old.broker_epoch));
        let broker_epoch = BrokerEpoch(self.image.offset);
        self.append(MetadataRecord::RegisterBroker {
            broker_id,
            broker_epoch,
            incarnation_id,
        });
        self.sessions.insert(broker_id, Session::new(self.now));
        self.decide(Event::BrokerRegistered {
            broker: broker_id,
            broker_epoch,
        });
        if unclean && self.config.protocol.eligible_leader_replicas {
            self.handle_unclean_shutdown(broker_id);
        }
        self.respond_when_durable(
            from,
            Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                error: ErrorCode::NONE,
                broker_epoch,
            }),
        );
    }

    fn heartbeat(
        &mut self,
        from: NodeId,
        broker_id: BrokerId,
        broker_epoch: BrokerEpoch,
        metadata_offset: u64,
        want_shut_down: bool,
    ) {
        let Some(registration) = self.image.brokers.get(&broker_id).cloned() else {
            self.refuse_heartbeat(from, ErrorCode::BROKER_ID_NOT_REGISTERED);
            return;
        };
        if registration.broker_epoch != broker_epoch {
            self.refuse_heartbeat(from, ErrorCode::STALE_BROKER_EPOCH);
            return;
        }
        let session = self
            .sessions
            .entry(broker_id)
            .or_insert_with(|| Session::new(self.now));
        session.last_heartbeat = self.now;
        session.metadata_offset = metadata_offset;
        let had_leaderships = self.leads_any(broker_id);
        if want_shut_down && !registration.shutting_down {
            self.controlled_shutdown(broker_id);
        } else if registration.fenced
            && !registration.shutting_down
            && metadata_offset > broker_epoch.0
        {
            // Caught up with the metadata up to its registration: it may lead again.
            // `BrokerHeartbeatManager`: `currentMetadataOffset >= registerBrokerRecordOffset`,
            // where Kafka's offset is the last record applied; ours is the one after it
            // (see `Message::BrokerHeartbeat`), hence `>`: the image must hold the
            // registration record itself.
            self.append(MetadataRecord::UnfenceBroker {
                broker_id,
                broker_epoch,
            });
            self.decide(Event::BrokerUnfenced { broker: broker_id });
            self.on_broker_available();
        }
        let should_shut_down =
            want_shut_down && self.grant_shutdown(broker_id, &registration, had_leaderships);
        if should_shut_down && !self.image.brokers[&broker_id].fenced {
            self.append(MetadataRecord::FenceBroker {
                broker_id,
                broker_epoch,
            });
            self.decide(Event::BrokerFenced {
                broker: broker_id,
                reason: "controlled shutdown".into(),
            });
        }
        let is_fenced = self.image.brokers[&broker_id].fenced;
        // Answer only once what this heartbeat decided (an unfencing, a leadership move) is
        // durable: the broker must not shut down before its leaderships moved.
        let response = Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
            error: ErrorCode::NONE,
            is_fenced,
            should_shut_down,
        });
        self.respond_when_durable(from, response);
    }

    /// A heartbeat from an unknown or replaced registration: the broker registers again.
    fn refuse_heartbeat(&mut self, to: NodeId, error: ErrorCode) {
        let response = Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
            error,
            is_fenced: true,
            should_shut_down: false,
        });
        self.out.send(to, response);
    }

    /// `BrokerHeartbeatManager.calculateNextBrokerState` for a heartbeat that wants to shut
    /// down, from the registration `before` it: a fenced broker, or an unfenced one that led
    /// nothing, may go at once (`SHUTDOWN_NOW`); one that led partitions enters
    /// `CONTROLLED_SHUTDOWN`, whose offset is the end of the records this heartbeat appended
    /// (`QuorumController.processBrokerHeartbeat`'s `processBatchEndOffset`; set again by a new
    /// controller, which starts without it).
    fn grant_shutdown(
        &mut self,
        broker: BrokerId,
        before: &BrokerRegistration,
        had_leaderships: bool,
    ) -> bool {
        if !before.shutting_down && (before.fenced || !had_leaderships) {
            return true;
        }
        let end = self.image.offset;
        let session = self
            .sessions
            .get_mut(&broker)
            .expect("a heartbeat's session");
        session.controlled_shutdown_offset.get_or_insert(end);
        // The heartbeat that enters `CONTROLLED_SHUTDOWN` is not yet a grant.
        before.shutting_down && self.may_shut_down(broker)
    }

    /// `BrokerHeartbeatManager.calculateNextBrokerState` in `CONTROLLED_SHUTDOWN`: the broker
    /// may stop once it leads nothing and every active broker (unfenced, not shutting down)
    /// has applied the metadata up to its controlled-shutdown offset
    /// (`controlledShutdownOffset <= lowestActiveOffset`), so that they all know the new
    /// leaders before it goes.
    fn may_shut_down(&self, broker: BrokerId) -> bool {
        if self.leads_any(broker) {
            return false;
        }
        let Some(shutdown_offset) = self
            .sessions
            .get(&broker)
            .and_then(|s| s.controlled_shutdown_offset)
        else {
            return false;
        };
        self.lowest_active_offset() >= shutdown_offset
    }

    /// `BrokerHeartbeatManager.lowestActiveOffset`: the lowest metadata offset an active broker
    /// reported (`u64::MAX` with none).
    fn lowest_active_offset(&self) -> u64 {
        self.image
            .brokers
            .iter()
            .filter(|(_, r)| !r.fenced && !r.shutting_down)
            .map(|(b, _)| self.sessions.get(b).map_or(0, |s| s.metadata_offset))
            .min()
            .unwrap_or(u64::MAX)
    }

    fn leads_any(&self, broker: BrokerId) -> bool {
        self.image
            .partitions
            .values()
            .any(|p| p.leader == Some(broker))
    }

    /// Create the startup topics once all their replicas are unfenced, and elect leaders for
    /// offline partitions.
    fn on_broker_available(&mut self) {
        let topics = std::mem::take(&mut self.topics);
        let (ready, waiting): (Vec<_>, Vec<_>) = topics.into_iter().partition(|t| {
            !self.image.topics.contains_key(&t.topic)
                && t.assignment
                    .iter()
                    .flatten()
                    .all(|b| self.image.is_eligible(*b))
        });
        self.topics = waiting
            .into_iter()
            .filter(|t| !self.image.topics.contains_key(&t.topic))
            .collect();
        for spec in ready {
            self.create_topic(spec);
        }
        for tp in self.partitions_where(|p| p.leader.is_none()) {
            self.elect(&tp, None);
        }
    }

    fn create_topic(&mut self, spec: TopicSpec) {
        let partitions = spec.assignment.len() as u32;
        self.append(MetadataRecord::Topic {
            topic: spec.topic.clone(),
            partitions,
            config: spec.config.clone(),
        });
        for (index, replicas) in spec.assignment.into_iter().enumerate() {
            let tp = TopicPartition::new(&spec.topic, index as u32);
            let state = PartitionState {
                leader: replicas.first().copied(),
                isr: replicas.clone(),
                replicas,
                leader_epoch: LeaderEpoch(0),
                partition_epoch: PartitionEpoch(0),
                elr: Vec::new(),
                last_known_leader: None,
            };
            self.decide(Event::LeaderElected {
                tp: tp.clone(),
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                isr: state.isr.clone(),
                unclean: false,
                last_known_leader: false,
                elr: Vec::new(),
            });
            self.append(MetadataRecord::Partition { tp, state });
        }
    }

    /// Fence a broker: drop it from every ISR (never the last member, without ELR) and move its
    /// leaderships (`ReplicationControlManager.handleBrokerFenced`).
    fn fence(&mut self, broker: BrokerId, reason: String) {
        let broker_epoch = self.image.brokers[&broker].broker_epoch;
        self.append(MetadataRecord::FenceBroker {
            broker_id: broker,
            broker_epoch,
        });
        self.decide(Event::BrokerFenced { broker, reason });
        self.remove_from_partitions(broker);
    }

    fn controlled_shutdown(&mut self, broker: BrokerId) {
        let broker_epoch = self.image.brokers[&broker].broker_epoch;
        self.append(MetadataRecord::BrokerShuttingDown {
            broker_id: broker,
            broker_epoch,
        });
        self.remove_from_partitions(broker);
    }

    /// Take `broker` out of every ISR and leadership (`PartitionChange` keeps the last ISR
    /// member without ELR).
    fn remove_from_partitions(&mut self, broker: BrokerId) {
        let affected =
            self.partitions_where(|p| p.leader == Some(broker) || p.isr.contains(&broker));
        for tp in affected {
            self.elect(&tp, Some(broker));
        }
    }

    /// `ReplicationControlManager.handleBrokerUncleanShutdown` (KIP-966): a broker that
    /// registers without the epoch of a clean shutdown may have lost unflushed records, so it
    /// leaves every ISR and ELR it is in.
    fn handle_unclean_shutdown(&mut self, broker: BrokerId) {
        self.out.event(Event::UncleanShutdownDetected { broker });
        let affected =
            self.partitions_where(|p| p.isr.contains(&broker) || p.elr.contains(&broker));
        for tp in affected {
            self.change_partition(&tp, Some(broker), Some(broker));
        }
    }

    /// The partitions whose state matches, in partition order.
    fn partitions_where(&self, matches: impl Fn(&PartitionState) -> bool) -> Vec<TopicPartition> {
        self.image
            .partitions
            .iter()
            .filter(|(_, p)| matches(p))
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Recompute a partition's leader, ISR and ELR without `leaving` (`PartitionChangeBuilder`).
    fn elect(&mut self, tp: &TopicPartition, leaving: Option<BrokerId>) {
        self.change_partition(tp, leaving, None);
    }

    fn change_partition(
        &mut self,
        tp: &TopicPartition,
        leaving: Option<BrokerId>,
        unclean_shutdown: Option<BrokerId>,
    ) {
        let old = self.image.partitions[tp].clone();
        let target_isr: Vec<BrokerId> = old
            .isr
            .iter()
            .copied()
            .filter(|b| Some(*b) != leaving)
            .collect();
        let image = &self.image;
        let acceptable = |b: BrokerId| Some(b) != leaving && image.is_eligible(b);
        let Some((state, election)) = self
            .partition_change(tp, unclean_shutdown, &acceptable)
            .build(&old, target_isr)
        else {
            return;
        };
        self.record_change(tp, &old, state, election);
    }

    fn partition_change<'a>(
        &self,
        tp: &TopicPartition,
        unclean_shutdown: Option<BrokerId>,
        acceptable: &'a dyn Fn(BrokerId) -> bool,
    ) -> PartitionChange<'a> {
        let config = self.image.topic_config(&tp.topic);
        let replication_factor = self
            .image
            .partitions
            .get(tp)
            .map_or(usize::MAX, |p| p.replicas.len());
        // `ReplicationControlManager.getTopicEffectiveMinIsr` (KAFKA-15583).
        let min_isr = effective_min_isr(
            config.map_or(1, |c| c.min_insync_replicas),
            replication_factor,
        );
        PartitionChange {
            elr_enabled: self.config.protocol.eligible_leader_replicas,
            min_isr: min_isr as usize,
            unclean_election: config.is_some_and(|c| c.unclean_leader_election_enable),
            unclean_shutdown,
            acceptable,
        }
    }

    /// Append the new state and say what happened.
    fn record_change(
        &mut self,
        tp: &TopicPartition,
        old: &PartitionState,
        state: PartitionState,
        election: Election,
    ) {
        if state.leader != old.leader {
            self.decide(Event::LeaderElected {
                tp: tp.clone(),
                leader: state.leader,
                leader_epoch: state.leader_epoch,
                isr: state.isr.clone(),
                unclean: election.is_unclean(),
                last_known_leader: election == Election::LastKnownLeader,
                elr: state.elr.clone(),
            });
        } else {
            self.decide(Event::IsrChanged {
                tp: tp.clone(),
                isr: state.isr.clone(),
                partition_epoch: state.partition_epoch,
                elr: state.elr.clone(),
            });
        }
        self.append(MetadataRecord::Partition {
            tp: tp.clone(),
            state,
        });
    }

    /// `ReplicationControlManager.alterPartition`: the broker epoch of the sender
    /// (`ClusterControlManager.checkBrokerEpoch`), then `validate_alter_partition`, then
    /// `PartitionChangeBuilder` with the proposed ISR. A change that changes nothing writes no
    /// record and answers with the partition as it is.
    fn alter_partition(
        &mut self,
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        tp: &TopicPartition,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: Vec<IsrMember>,
    ) -> (ErrorCode, Option<PartitionState>) {
        if self
            .image
            .brokers
            .get(&broker)
            .is_none_or(|r| r.broker_epoch != broker_epoch)
        {
            return (ErrorCode::STALE_BROKER_EPOCH, None);
        }
        let Some(old) = self.image.partitions.get(tp).cloned() else {
            return (ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, None);
        };
        let error =
            self.validate_alter_partition(broker, &old, leader_epoch, partition_epoch, &new_isr);
        if error != ErrorCode::NONE {
            return (error, Some(old));
        }
        // The leader proposed the ISR; the ELR follows it (and the leader stays: it is in it).
        let leader_stays = |b: BrokerId| Some(b) == old.leader;
        let change = self.partition_change(tp, None, &leader_stays);
        let Some((state, election)) = change.build(&old, isr_ids(&new_isr)) else {
            return (ErrorCode::NONE, Some(old));
        };
        self.record_change(tp, &old, state.clone(), election);
        (ErrorCode::NONE, Some(state))
    }

    /// `ReplicationControlManager.validateAlterPartitionData`, check for check in Kafka's order:
    /// epochs newer than this controller's mean it is behind, so the leader should look for the
    /// controller again (NOT_CONTROLLER); an older leader epoch is fenced; only the leader may
    /// ask; an older partition epoch lost a race; the ISR must be distinct replicas including
    /// the leader; and every member must be registered, not shutting down, not fenced, and in
    /// the registration whose epoch the leader saw (KIP-903's `ineligibleReplicasForIsr`).
    fn validate_alter_partition(
        &self,
        broker: BrokerId,
        old: &PartitionState,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: &[IsrMember],
    ) -> ErrorCode {
        if leader_epoch > old.leader_epoch || partition_epoch > old.partition_epoch {
            return ErrorCode::NOT_CONTROLLER;
        }
        if leader_epoch < old.leader_epoch {
            return ErrorCode::FENCED_LEADER_EPOCH;
        }
        if old.leader != Some(broker) {
            return ErrorCode::INVALID_REQUEST;
        }
        if partition_epoch < old.partition_epoch {
            return ErrorCode::INVALID_UPDATE_VERSION;
        }
        let ids = isr_ids(new_isr);
        let distinct = ids.iter().enumerate().all(|(i, b)| !ids[..i].contains(b));
        // `Replicas.validateIsr`, and the ISR always holds the leader.
        if !distinct || !ids.iter().all(|b| old.replicas.contains(b)) || !ids.contains(&broker) {
            return ErrorCode::INVALID_REQUEST;
        }
        let eligible = |m: &IsrMember| {
            self.image.brokers.get(&m.broker_id).is_some_and(|r| {
                !r.shutting_down && !r.fenced && m.broker_epoch.is_none_or(|e| e == r.broker_epoch)
            })
        };
        if !new_isr.iter().all(eligible) {
            return ErrorCode::INELIGIBLE_REPLICA;
        }
        ErrorCode::NONE
    }
}

#[cfg(test)]
mod tests;
