//! Replication: the leader's side of `Fetch` (divergence, progress, the high watermark,
//! check-quorum, the long poll) and the fetcher's side (truncation, append, the next fetch)
//! (`KafkaRaftClient.handleFetchRequest`, `handleFetchResponse`, `LeaderState`).

use super::state::{ParkedFetch, QuorumState};
use super::{
    RaftEntry, RaftMessage, RaftNode, RaftOutput, RaftRecord, FETCH_MAX_ENTRIES, FETCH_MAX_WAIT_MS,
};
use crate::error::ErrorCode;
use crate::log::{diverges, truncation_offset};
use crate::protocol::EpochEndOffset;
use crate::types::{LeaderEpoch, NodeId, Offset};

/// A `FetchResponse`'s fields.
pub(super) struct FetchAnswer<T> {
    pub(super) error: ErrorCode,
    pub(super) epoch: LeaderEpoch,
    pub(super) leader: Option<NodeId>,
    pub(super) fetch_offset: Offset,
    pub(super) high_watermark: Offset,
    pub(super) diverging: Option<EpochEndOffset>,
    pub(super) entries: Vec<RaftEntry<T>>,
}

impl<T: Clone> RaftNode<T> {
    /// Append a record in the leader's epoch and write it.
    pub(super) fn append_as_leader(&mut self, record: RaftRecord<T>) {
        let from = self.log.end();
        let entry = RaftEntry {
            epoch: self.epoch(),
            record,
        };
        let id = self.log.append(vec![entry.clone()]);
        self.out.push_back(RaftOutput::Append {
            id,
            from,
            entries: vec![entry],
        });
    }

    pub(super) fn on_fetch(
        &mut self,
        from: NodeId,
        epoch: LeaderEpoch,
        fetch_offset: Offset,
        last_fetched_epoch: LeaderEpoch,
    ) {
        if epoch > self.epoch() && self.is_voter() {
            self.become_unattached(epoch);
        }
        let error = match &self.state {
            QuorumState::Leader { epoch: ours, .. } if epoch < *ours => {
                ErrorCode::FENCED_LEADER_EPOCH
            }
            QuorumState::Leader { .. } => ErrorCode::NONE,
            _ => ErrorCode::NOT_LEADER_OR_FOLLOWER,
        };
        if !error.is_ok() {
            self.respond_fetch(from, error, fetch_offset, None, Vec::new());
            return;
        }
        if let Some(diverging) = self.diverging(fetch_offset, last_fetched_epoch) {
            self.respond_fetch(from, error, fetch_offset, Some(diverging), Vec::new());
            return;
        }
        let hw_before = self.high_watermark;
        self.record_fetch(from, fetch_offset);
        if self.high_watermark != hw_before {
            // `KafkaRaftClient.onUpdateLeaderHighWatermark` completes the fetch purgatory: a
            // held fetch (an observer's above all, whose progress never moves the high
            // watermark) learns what is newly committed at once, not at its max wait.
            self.answer_parked();
        }
        let entries = self.log.read(fetch_offset, FETCH_MAX_ENTRIES);
        if entries.is_empty() && self.high_watermark == hw_before {
            let deadline = self.now.plus_ms(FETCH_MAX_WAIT_MS);
            if let QuorumState::Leader { state, .. } = &mut self.state {
                state.parked.retain(|p| p.from != from);
                state.parked.push(ParkedFetch {
                    from,
                    fetch_offset,
                    deadline,
                });
            }
            return;
        }
        self.respond_fetch(from, error, fetch_offset, None, entries);
    }

    /// `validateOffsetAndEpoch` with the data plane's rule: where the fetcher's last epoch ends
    /// in our log, if its log diverges from ours.
    fn diverging(
        &self,
        fetch_offset: Offset,
        last_fetched_epoch: LeaderEpoch,
    ) -> Option<EpochEndOffset> {
        if fetch_offset == Offset(0) {
            return None;
        }
        let ours = self
            .log
            .end_offset_for(last_fetched_epoch)
            .unwrap_or(EpochEndOffset {
                epoch: self.log.last_epoch(),
                end_offset: self.log.end(),
            });
        diverges(ours, last_fetched_epoch, fetch_offset).then_some(ours)
    }

    /// A voter's fetch tells the leader how far its log goes (`LeaderState.updateReplicaState`)
    /// and that it is alive (check-quorum).
    fn record_fetch(&mut self, from: NodeId, fetch_offset: Offset) {
        if !self.voters.contains(&from) {
            return;
        }
        let majority = self.majority();
        let reset = self.check_quorum_deadline();
        if let QuorumState::Leader { state, .. } = &mut self.state {
            state.ends.insert(from, fetch_offset);
            state.unacknowledged.remove(&from);
            state.heard.insert(from);
            if state.heard.len() + 1 >= majority {
                state.heard.clear();
                state.check_quorum_deadline = reset;
            }
        }
        self.update_high_watermark();
    }

    /// `LeaderState.maybeUpdateHighWatermark`: the offset a majority of voters have written
    /// (the leader counts its own written end), once it passes the epoch's start: the leader
    /// commits nothing before an entry of its own epoch is on a majority (Raft §5.4.2). It never
    /// goes back.
    pub(super) fn update_high_watermark(&mut self) -> bool {
        let QuorumState::Leader { state, .. } = &self.state else {
            return false;
        };
        let mut ends: Vec<Offset> = self
            .voters
            .iter()
            .map(|v| match *v == self.id {
                true => self.log.written_end(),
                false => state.ends.get(v).copied().unwrap_or(Offset(0)),
            })
            .collect();
        ends.sort_by(|a, b| b.cmp(a));
        let candidate = ends[self.voters.len() / 2];
        if candidate > state.epoch_start && candidate > self.high_watermark {
            self.high_watermark = candidate;
            return true;
        }
        false
    }

    /// The leader wrote more or committed more: answer the fetches it held.
    pub(super) fn on_leader_progress(&mut self) {
        self.update_high_watermark();
        self.answer_parked();
    }

    /// Answer every fetch the leader holds with what it has from their offsets.
    fn answer_parked(&mut self) {
        let QuorumState::Leader { state, .. } = &mut self.state else {
            return;
        };
        let parked = std::mem::take(&mut state.parked);
        for p in parked {
            let entries = self.log.read(p.fetch_offset, FETCH_MAX_ENTRIES);
            self.respond_fetch(p.from, ErrorCode::NONE, p.fetch_offset, None, entries);
        }
    }

    fn respond_fetch(
        &mut self,
        to: NodeId,
        error: ErrorCode,
        fetch_offset: Offset,
        diverging: Option<EpochEndOffset>,
        entries: Vec<RaftEntry<T>>,
    ) {
        let message = RaftMessage::FetchResponse {
            error,
            epoch: self.epoch(),
            leader: self.leader(),
            fetch_offset,
            high_watermark: self.high_watermark,
            diverging,
            entries,
        };
        self.send(to, message);
    }

    /// The leader's timers: check-quorum, held fetches, `BeginQuorumEpoch` resends.
    pub(super) fn leader_timeouts(&mut self) {
        let now = self.now;
        let QuorumState::Leader { state, epoch } = &mut self.state else {
            return;
        };
        let epoch = *epoch;
        if state.check_quorum_deadline <= now {
            self.become_resigned();
            return;
        }
        let (due, waiting): (Vec<_>, Vec<_>) = state.parked.iter().partition(|p| p.deadline <= now);
        state.parked = waiting;
        let resend: Vec<NodeId> = match state.begin_resend_at <= now {
            true => state.unacknowledged.iter().copied().collect(),
            false => Vec::new(),
        };
        if !resend.is_empty() {
            state.begin_resend_at = now.plus_ms(self.config.request_timeout_ms);
        }
        for p in due {
            self.respond_fetch(p.from, ErrorCode::NONE, p.fetch_offset, None, Vec::new());
        }
        for voter in resend {
            self.send(voter, RaftMessage::BeginQuorumEpoch { epoch });
        }
    }

    /// Fetch from the leader (or, for an observer that knows none, a voter in turn) when no
    /// fetch is in flight, no backoff runs, and our last entries are on disk.
    pub(super) fn maybe_send_fetch(&mut self) {
        let waiting = self.fetch.in_flight.is_some()
            || self.fetch.backoff_until.is_some_and(|t| t > self.now);
        if waiting || self.log.written_end() < self.log.end() {
            return;
        }
        let target = match (&self.state, self.is_voter()) {
            (QuorumState::Follower { leader, .. }, _) => *leader,
            (_, false) => self.voters[self.fetch.bootstrap_index % self.voters.len()],
            _ => return,
        };
        let message = RaftMessage::Fetch {
            epoch: self.epoch(),
            fetch_offset: self.log.end(),
            last_fetched_epoch: self.log.last_epoch(),
        };
        self.fetch.in_flight = Some(self.now);
        self.fetch.backoff_until = None;
        self.send(target, message);
    }

    pub(super) fn on_fetch_response(&mut self, from: NodeId, answer: FetchAnswer<T>) {
        if self.role() == super::Role::Leader {
            return; // an answer from before it led
        }
        self.fetch.in_flight = None;
        if answer.epoch > self.epoch() || (answer.leader.is_some() && self.state.leader().is_none())
        {
            self.observe_epoch(answer.epoch, answer.leader);
        }
        let from_leader = self.state.leader() == Some(from) && answer.epoch == self.epoch();
        if !answer.error.is_ok() || !from_leader {
            if !self.is_voter() && self.state.leader().is_none() {
                // An observer that still knows no leader asks the next voter
                // (`KafkaRaftClient.maybeSendAnyVoterFetch` picks a voter not backing off).
                self.fetch.bootstrap_index += 1;
            }
            self.fetch.backoff_until = Some(self.now.plus_ms(self.config.retry_backoff_ms));
            return;
        }
        let timeout = self.config.fetch_timeout_ms;
        if let QuorumState::Follower { deadline, .. } = &mut self.state {
            *deadline = self.now.plus_ms(timeout);
        }
        if let Some(diverging) = answer.diverging {
            let ours = self.log.end_offset_for(diverging.epoch);
            let to = truncation_offset(ours, diverging, self.log.end());
            self.log.truncate_to(to);
            self.out.push_back(RaftOutput::Truncate { to });
        } else if answer.fetch_offset == self.log.end() && !answer.entries.is_empty() {
            let from = self.log.end();
            let id = self.log.append(answer.entries.clone());
            self.out.push_back(RaftOutput::Append {
                id,
                from,
                entries: answer.entries,
            });
        }
        // `FollowerState.updateHighWatermark`: the leader's, capped by our log end.
        let hw = answer.high_watermark.min(self.log.end());
        self.high_watermark = self.high_watermark.max(hw);
        self.maybe_send_fetch();
    }

    /// The connection to `peer` was lost. An observer whose leader (or asked voter) it was
    /// forgets that leader and asks another voter: `KafkaRaftClient.pollFollowerAsObserver`
    /// sends the fetch to any voter when the leader's connection is backing off after a
    /// failure or its request timed out, "to discover if there has been a leader change". A
    /// voter waits for its fetch timeout, as before.
    pub(super) fn on_peer_disconnected(&mut self, peer: NodeId) {
        if self.is_voter() {
            return;
        }
        let asked = self.voters[self.fetch.bootstrap_index % self.voters.len()];
        let leader = self.state.leader();
        if leader != Some(peer) && !(leader.is_none() && asked == peer) {
            return;
        }
        if asked == peer {
            self.fetch.bootstrap_index += 1;
        }
        let epoch = self.epoch();
        self.become_unattached(epoch);
        self.fetch.in_flight = None;
        self.fetch.backoff_until = None;
        self.maybe_send_fetch();
    }
}
