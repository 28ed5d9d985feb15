//! KRaft's Raft (KIP-595) as a sans-IO state machine: the controller quorum that replicates
//! `__cluster_metadata`. It follows `KafkaRaftClient` (the event handling), `QuorumState` (the
//! transitions and the persisted election state), `LeaderState` (replica progress, the high
//! watermark, check-quorum), `FollowerState` (the fetch timeout) and `CandidateState` /
//! `ProspectiveState` (votes, KIP-996's pre-vote).
//!
//! How it differs from textbook Raft, as Kafka does: replication is pull-based (followers and
//! observers send `Fetch`; a leader learns their progress from the fetch offset); a diverging
//! follower is told the end of its last epoch in the leader's log and truncates (the same rule as
//! the data plane's, `crate::log`); a new leader announces itself with `BeginQuorumEpoch`, a
//! resigning one with `EndQuorumEpoch`; the leader resigns when it has not heard from a majority
//! for `controller.quorum.fetch.timeout.ms` × 1.5 (check-quorum).
//!
//! Call protocol: `new`, `handle_message`, `handle_timeout`, `on_write_completed`, `propose`,
//! then drain `poll_output` to `None`, in order: a `PersistElection` must be durable before any
//! output after it is carried out (Kafka's `FileQuorumStateStore` writes `quorum-state`
//! synchronously). `Append` is the log's disk write; its `on_write_completed` may come later:
//! a leader counts only written entries towards the high watermark, and a follower fetches the
//! next entries only once its last ones are written (persist before acknowledging).
//!
//! Randomness (election timeouts and backoffs) comes from a seed the driver gives at
//! construction; the node creates none.

mod election;
mod log;
mod replication;
mod state;
mod status;

#[cfg(test)]
mod harness;
#[cfg(test)]
mod tests;

pub use log::{RaftEntry, RaftLog, RaftRecord, WriteId};
pub use state::Role;
pub use status::RaftStatus;

use crate::error::ErrorCode;
use crate::protocol::EpochEndOffset;
use crate::types::{LeaderEpoch, NodeId, Offset, Time};
use serde::{Deserialize, Serialize};
use state::QuorumState;
use std::collections::VecDeque;

/// `controller.quorum.*` (Kafka's `QuorumConfig`), with Kafka's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumConfig {
    /// `controller.quorum.election.timeout.ms` (1000): a voter that knows no leader starts an
    /// election after a random time in [timeout, 2 × timeout).
    pub election_timeout_ms: u64,
    /// `controller.quorum.election.backoff.max.ms` (1000): the cap of the binary exponential
    /// backoff between failed elections.
    pub election_backoff_max_ms: u64,
    /// `controller.quorum.fetch.timeout.ms` (2000): a follower that has not fetched from its
    /// leader for this long starts an election; a leader that has not heard from a majority for
    /// 1.5 × this resigns (check-quorum).
    pub fetch_timeout_ms: u64,
    /// `controller.quorum.request.timeout.ms` (2000): a request without an answer is resent.
    pub request_timeout_ms: u64,
    /// `controller.quorum.retry.backoff.ms` (20): the wait before retrying a failed fetch.
    pub retry_backoff_ms: u64,
    /// KIP-996's pre-vote (`[protocol] pre_vote`, on since Kafka 4.0): a voter first asks
    /// whether it could win before it bumps the epoch.
    pub pre_vote: bool,
}

impl Default for QuorumConfig {
    fn default() -> QuorumConfig {
        QuorumConfig {
            election_timeout_ms: 1_000,
            election_backoff_max_ms: 1_000,
            fetch_timeout_ms: 2_000,
            request_timeout_ms: 2_000,
            retry_backoff_ms: 20,
            pre_vote: true,
        }
    }
}

impl QuorumConfig {
    /// The quorum configuration of a cluster: Kafka's defaults, and `[protocol] pre_vote`
    /// (KIP-996) from the scenario's historical switches. The one place a controller's Raft
    /// node gets its configuration from the cluster's.
    pub fn for_cluster(config: &crate::config::ClusterConfig) -> QuorumConfig {
        QuorumConfig {
            pre_vote: config.protocol.pre_vote,
            ..QuorumConfig::default()
        }
    }

    /// The longest a quorum whose majority is up and connected should go without a leader:
    /// the lab's liveness bound (`controller-unavailable`, and the quorum tests), from these
    /// timeouts (Kafka's defaults: 2 000 + 2 × 2 000 + 1 000 = 7 000 ms):
    ///
    /// - `fetch.timeout.ms`: a follower notices its leader is gone (`FollowerState`'s fetch
    ///   timer) at most this long after it last heard from it; a restarted voter that stored a
    ///   leader waits the same (`QuorumState.initialize`).
    /// - 2 × (2 × `election.timeout.ms`): an election round ends within a random election
    ///   timeout, below 2 × the timeout (`KafkaRaftClient.randomElectionTimeoutMs`); one
    ///   round may split (two candidates, or a pre-vote refused by a follower that has not
    ///   timed out yet), and the next one decides.
    /// - `election.backoff.max.ms`: the backoff after the failed round
    ///   (`binaryExponentialElectionBackoffMs`'s cap).
    ///
    /// Raft cannot bound an election for sure (every round may split), so this is one failed
    /// round's worth, not a certainty; the profiles measure how far runs stay below it.
    pub fn election_bound_ms(&self) -> u64 {
        self.fetch_timeout_ms + 2 * (2 * self.election_timeout_ms) + self.election_backoff_max_ms
    }
}

/// `LeaderState.CHECK_QUORUM_TIMEOUT_FACTOR`: check-quorum waits 1.5 fetch timeouts.
const CHECK_QUORUM_TIMEOUT_FACTOR_X2: u64 = 3;
/// The longest a leader holds a fetch that has nothing new to return (`KafkaRaftClient`'s
/// fetch max wait, 500 ms).
pub(crate) const FETCH_MAX_WAIT_MS: u64 = 500;
/// The base of `binaryExponentialElectionBackoffMs` (`KafkaRaftClient.RETRY_BACKOFF_BASE_MS`).
const RETRY_BACKOFF_BASE_MS: u64 = 100;
/// Entries per fetch response.
pub(crate) const FETCH_MAX_ENTRIES: usize = 64;

/// The election state a voter keeps on disk (`quorum-state`, `ElectionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElectionState {
    /// The latest epoch it knows.
    pub epoch: LeaderEpoch,
    /// Whom it voted for in that epoch.
    pub voted_for: Option<NodeId>,
    /// The leader of that epoch, if known.
    pub leader: Option<NodeId>,
}

/// The quorum's RPCs (KIP-595), named after Kafka's APIs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RaftMessage<T> {
    /// `Vote`: a candidate (or, with `pre_vote`, a prospective) asks for a vote.
    Vote {
        /// The epoch it campaigns in (a pre-vote's is its epoch + 1, which it has not taken).
        epoch: LeaderEpoch,
        /// The epoch of its last entry.
        last_epoch: LeaderEpoch,
        /// Its log end offset.
        end_offset: Offset,
        /// KIP-996: a pre-vote, which changes no one's epoch or vote.
        pre_vote: bool,
    },
    /// The answer to `Vote`.
    VoteResponse {
        /// The responder's epoch.
        epoch: LeaderEpoch,
        /// The leader it knows in that epoch.
        leader: Option<NodeId>,
        /// Whether it grants the vote.
        granted: bool,
        /// Echoes the request's `pre_vote`.
        pre_vote: bool,
    },
    /// A new leader announces itself to the voters.
    BeginQuorumEpoch {
        /// Its epoch.
        epoch: LeaderEpoch,
    },
    /// A voter took note of the new leader.
    BeginQuorumEpochResponse {
        /// The responder's epoch.
        epoch: LeaderEpoch,
    },
    /// A resigning leader tells the voters, preferring the most caught-up as successors.
    EndQuorumEpoch {
        /// Its epoch.
        epoch: LeaderEpoch,
        /// Voters by decreasing log end: the first should run first.
        preferred_successors: Vec<NodeId>,
    },
    /// A follower or observer pulls entries.
    Fetch {
        /// The fetcher's epoch.
        epoch: LeaderEpoch,
        /// Its log end offset.
        fetch_offset: Offset,
        /// The epoch of its last entry.
        last_fetched_epoch: LeaderEpoch,
    },
    /// The answer to `Fetch`.
    FetchResponse {
        /// `NONE`, `FENCED_LEADER_EPOCH` (the fetcher is behind), `UNKNOWN_LEADER_EPOCH` (ahead)
        /// or `NOT_LEADER_OR_FOLLOWER`.
        error: ErrorCode,
        /// The responder's epoch.
        epoch: LeaderEpoch,
        /// The leader the responder knows.
        leader: Option<NodeId>,
        /// The offset the fetch asked for.
        fetch_offset: Offset,
        /// The leader's high watermark.
        high_watermark: Offset,
        /// Set when the fetcher's log diverges: truncate, then fetch again.
        diverging: Option<EpochEndOffset>,
        /// Entries from `fetch_offset` on.
        entries: Vec<RaftEntry<T>>,
    },
}

impl<T> RaftMessage<T> {
    /// The Kafka API name (a quorum `Fetch` is Kafka's `Fetch` on `__cluster_metadata`).
    pub fn api_name(&self) -> &'static str {
        match self {
            RaftMessage::Vote { .. } => "Vote",
            RaftMessage::VoteResponse { .. } => "VoteResponse",
            RaftMessage::BeginQuorumEpoch { .. } => "BeginQuorumEpoch",
            RaftMessage::BeginQuorumEpochResponse { .. } => "BeginQuorumEpochResponse",
            RaftMessage::EndQuorumEpoch { .. } => "EndQuorumEpoch",
            RaftMessage::Fetch { .. } => "Fetch(__cluster_metadata)",
            RaftMessage::FetchResponse { .. } => "FetchResponse(__cluster_metadata)",
        }
    }
}

/// What the driver must carry out, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RaftOutput<T> {
    /// Write the election state durably before anything after it.
    PersistElection(ElectionState),
    /// Write `entries` at `from` to the log file; report `on_write_completed(id)`.
    Append {
        /// The write.
        id: WriteId,
        /// The offset of the first entry.
        from: Offset,
        /// The entries.
        entries: Vec<RaftEntry<T>>,
    },
    /// Remove the log from `to` on.
    Truncate {
        /// The new log end.
        to: Offset,
    },
    /// Send a message.
    Send {
        /// The receiver.
        to: NodeId,
        /// The message.
        message: RaftMessage<T>,
    },
    /// The node changed role or epoch (for the trace and the UI).
    Transition {
        /// Its new role.
        role: Role,
        /// Its epoch.
        epoch: LeaderEpoch,
    },
}

/// One member of the quorum (a voter) or an observer, as a sans-IO state machine.
#[derive(Clone, Debug)]
pub struct RaftNode<T> {
    id: NodeId,
    voters: Vec<NodeId>,
    config: QuorumConfig,
    now: Time,
    state: QuorumState,
    log: RaftLog<T>,
    high_watermark: Offset,
    random: u64,
    out: VecDeque<RaftOutput<T>>,
    fetch: state::FetchProgress,
}

impl<T: Clone> RaftNode<T> {
    /// A node starting from what its disk holds: the election state (none on a fresh disk)
    /// and the log. `voters` is `controller.quorum.voters`; a node not among them is an
    /// observer. `seed` drives its election timeouts.
    pub fn new(
        id: NodeId,
        mut voters: Vec<NodeId>,
        config: QuorumConfig,
        now: Time,
        seed: u64,
        election: Option<ElectionState>,
        entries: Vec<RaftEntry<T>>,
    ) -> RaftNode<T> {
        voters.sort();
        voters.dedup();
        assert!(!voters.is_empty(), "a quorum has a voter");
        let mut node = RaftNode {
            id,
            voters,
            config,
            now,
            state: QuorumState::unattached(LeaderEpoch(0), Time(0)),
            log: RaftLog::recovered(entries),
            high_watermark: Offset(0),
            random: seed,
            out: VecDeque::new(),
            fetch: state::FetchProgress::default(),
        };
        node.initialize(election.unwrap_or(ElectionState {
            epoch: LeaderEpoch(0),
            voted_for: None,
            leader: None,
        }));
        node
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<RaftOutput<T>> {
        self.out.pop_front()
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Whether it is a voter (not an observer).
    pub fn is_voter(&self) -> bool {
        self.voters.contains(&self.id)
    }

    /// The voters.
    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.state.role(self.is_voter())
    }

    /// Its epoch.
    pub fn epoch(&self) -> LeaderEpoch {
        self.state.epoch()
    }

    /// The leader it knows in its epoch.
    pub fn leader(&self) -> Option<NodeId> {
        match self.role() {
            Role::Leader => Some(self.id),
            _ => self.state.leader(),
        }
    }

    /// Whom it voted for in its epoch (a candidate, a leader and a resigned leader voted for
    /// themselves).
    pub fn voted_for(&self) -> Option<NodeId> {
        match self.state {
            QuorumState::Candidate { .. }
            | QuorumState::Leader { .. }
            | QuorumState::Resigned { .. } => Some(self.id),
            _ => self.state.voted_for(),
        }
    }

    /// The high watermark it knows: entries below it are committed.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Its log.
    pub fn log(&self) -> &RaftLog<T> {
        &self.log
    }

    /// The election state it last persisted.
    pub fn election_state(&self) -> ElectionState {
        // A resigned leader still led its epoch: after a restart it must not vote in it.
        let leader = match self.state {
            QuorumState::Leader { .. } | QuorumState::Resigned { .. } => Some(self.id),
            _ => self.state.leader(),
        };
        ElectionState {
            epoch: self.epoch(),
            voted_for: self.voted_for(),
            leader,
        }
    }

    /// Append a record as the leader; `None` when it is not the leader (NOT_CONTROLLER).
    pub fn propose(&mut self, now: Time, data: T) -> Option<Offset> {
        self.advance(now);
        if self.role() != Role::Leader {
            return None;
        }
        let offset = self.log.end();
        self.append_as_leader(RaftRecord::Data(data));
        Some(offset)
    }

    /// The disk finished a log write.
    pub fn on_write_completed(&mut self, now: Time, id: WriteId) {
        self.advance(now);
        self.log.complete_write(id);
        if self.role() == Role::Leader {
            self.on_leader_progress();
        } else {
            self.maybe_send_fetch();
        }
    }

    /// A message arrived from `from`.
    pub fn handle_message(&mut self, now: Time, from: NodeId, message: RaftMessage<T>) {
        self.advance(now);
        match message {
            RaftMessage::Vote {
                epoch,
                last_epoch,
                end_offset,
                pre_vote,
            } => self.on_vote(from, epoch, last_epoch, end_offset, pre_vote),
            RaftMessage::VoteResponse {
                epoch,
                leader,
                granted,
                pre_vote,
            } => self.on_vote_response(from, epoch, leader, granted, pre_vote),
            RaftMessage::BeginQuorumEpoch { epoch } => self.on_begin_quorum_epoch(from, epoch),
            RaftMessage::BeginQuorumEpochResponse { epoch } => {
                self.on_begin_quorum_epoch_response(from, epoch)
            }
            RaftMessage::EndQuorumEpoch {
                epoch,
                preferred_successors,
            } => self.on_end_quorum_epoch(from, epoch, &preferred_successors),
            RaftMessage::Fetch {
                epoch,
                fetch_offset,
                last_fetched_epoch,
            } => self.on_fetch(from, epoch, fetch_offset, last_fetched_epoch),
            RaftMessage::FetchResponse {
                error,
                epoch,
                leader,
                fetch_offset,
                high_watermark,
                diverging,
                entries,
            } => {
                let response = replication::FetchAnswer {
                    error,
                    epoch,
                    leader,
                    fetch_offset,
                    high_watermark,
                    diverging,
                    entries,
                };
                self.on_fetch_response(from, response)
            }
        }
    }

    /// The driver lost the connection to `peer` (an observer moves on; see
    /// `on_peer_disconnected`).
    pub fn on_disconnected(&mut self, now: Time, peer: NodeId) {
        self.advance(now);
        self.on_peer_disconnected(peer);
    }

    /// A graceful shutdown (`KafkaRaftClient.shutdown` → `pollShutdown`): a leader resigns at
    /// once and sends `EndQuorumEpoch` with its preferred successors, so a follower campaigns
    /// without waiting out its fetch timeout. It keeps answering votes meanwhile, to help the
    /// next leader get elected (`KafkaRaftClientTest.testLeaderGracefulShutdown`). Any other
    /// role has nothing to hand over.
    pub fn resign(&mut self, now: Time) {
        self.advance(now);
        if self.role() == Role::Leader {
            self.become_resigned();
        }
    }

    /// Timers: elections, fetch timeouts, check-quorum, held fetches, resends.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
        if self.role() == Role::Leader {
            self.leader_timeouts();
            return;
        }
        if self.fetch.is_due(now, self.config.request_timeout_ms) {
            // The request timed out or the backoff ended: both are over, whether or not a
            // fetch can go now (a timer left in the past would fire forever).
            self.fetch.in_flight = None;
            self.fetch.backoff_until = None;
            self.maybe_send_fetch();
        }
        if self.state.election_deadline().is_some_and(|d| d <= now) {
            self.on_election_timeout();
        }
    }

    /// The next time `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Time> {
        let own = self.state.next_deadline();
        let fetch = (self.role() != Role::Leader)
            .then(|| self.fetch.deadline(self.config.request_timeout_ms))
            .flatten();
        [own, fetch].into_iter().flatten().min()
    }

    fn advance(&mut self, now: Time) {
        assert!(now >= self.now, "time went backwards");
        self.now = now;
    }

    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    fn others(&self) -> Vec<NodeId> {
        self.voters
            .iter()
            .copied()
            .filter(|v| *v != self.id)
            .collect()
    }

    fn send(&mut self, to: NodeId, message: RaftMessage<T>) {
        self.out.push_back(RaftOutput::Send { to, message });
    }

    /// A pseudo-random number in [0, bound) from the seed (splitmix64): pure, replayable.
    fn random_below(&mut self, bound: u64) -> u64 {
        self.random = self.random.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }

    /// `QuorumState.randomElectionTimeoutMs`: timeout + random [0, timeout).
    fn election_deadline(&mut self) -> Time {
        let timeout = self.config.election_timeout_ms;
        let jitter = self.random_below(timeout);
        self.now.plus_ms(timeout + jitter)
    }

    /// `KafkaRaftClient.binaryExponentialElectionBackoffMs`: a random multiple of the base,
    /// the range doubling with each failed election, capped at `election.backoff.max.ms`.
    fn election_backoff(&mut self, retries: u32) -> u64 {
        let range = 2u64 << retries.clamp(1, 20).saturating_sub(1);
        let backoff = RETRY_BACKOFF_BASE_MS * self.random_below(range);
        backoff.min(self.config.election_backoff_max_ms)
    }
}
