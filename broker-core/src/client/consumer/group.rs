//! Subscribe mode: the consumer's side of the classic group protocol (`AbstractCoordinator` and
//! `ConsumerCoordinator`): find the coordinator, join, sync, heartbeat, commit, and follow the
//! assignment. Eager assignors revoke everything before rejoining; cooperative-sticky keeps
//! what it owns and gives up only what moves (KIP-429).

use super::{Consumer, Position};
use crate::error::ErrorCode;
use crate::group::Assignor;
use crate::io::{ConsumerError, HistoryEntry, Rebalance};
use crate::protocol::{
    CommittedOffset, FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest,
    HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, JoinedMember, LeaveGroupRequest,
    Message, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    Subscription, SyncGroupRequest, SyncGroupResponse,
};
use crate::types::*;
use std::collections::BTreeMap;

/// Where a member is in the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Not in the group: (re)join when the coordinator is known.
    Unjoined,
    /// `JoinGroup` sent.
    Joining,
    /// `SyncGroup` sent.
    Syncing,
    /// Has its assignment; heartbeats.
    Stable,
    /// A fatal group error was thrown to the application: the consumer reads nothing more.
    Failed,
}

/// The group side of a consumer.
#[derive(Clone, Debug)]
pub(super) struct Membership {
    pub(super) group: String,
    assignor: Assignor,
    pub(super) member_id: String,
    pub(super) generation: i32,
    pub(super) coordinator: Option<BrokerId>,
    pub(super) state: MemberState,
    /// The group request in flight (FindCoordinator, JoinGroup or SyncGroup): correlation
    /// id and deadline.
    request: Option<(CorrelationId, Time)>,
    heartbeat: Option<(CorrelationId, Time)>,
    heartbeat_due: Time,
    backoff_until: Time,
    /// The partitions assigned, in order.
    pub(super) owned: Vec<TopicPartition>,
    /// The commit in flight: correlation id, deadline, and whether a join waits for it.
    pub(super) commit: Option<(CorrelationId, Time)>,
    /// `OffsetFetch` in flight for newly assigned partitions.
    offset_fetch: Option<(CorrelationId, Time)>,
    /// Positions last committed, so a commit sends only what moved.
    pub(super) committed: BTreeMap<TopicPartition, Offset>,
    pub(super) next_auto_commit: Time,
    /// The commit before a rejoin is done (or not needed).
    prepared: bool,
}

impl Membership {
    pub(super) fn new(group: String, assignor: Assignor) -> Membership {
        Membership {
            group,
            assignor,
            member_id: String::new(),
            generation: -1,
            coordinator: None,
            state: MemberState::Unjoined,
            request: None,
            heartbeat: None,
            heartbeat_due: Time(u64::MAX),
            backoff_until: Time(0),
            owned: Vec::new(),
            commit: None,
            offset_fetch: None,
            committed: BTreeMap::new(),
            next_auto_commit: Time(0),
            prepared: false,
        }
    }

    /// The deadlines the membership waits for.
    pub(super) fn next_deadline(&self, now: Time) -> Option<Time> {
        let timers = [self.request, self.heartbeat, self.commit, self.offset_fetch];
        let mut next = timers.iter().flatten().map(|(_, d)| *d).min();
        let mut consider = |t: Time| {
            if t > now {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if self.state == MemberState::Stable {
            consider(self.heartbeat_due);
        }
        consider(self.backoff_until);
        next
    }

    /// Forget the coordinator and everything in flight to it (`markCoordinatorUnknown`).
    fn coordinator_lost(&mut self, now: Time, backoff_ms: u64) {
        self.coordinator = None;
        self.request = None;
        self.heartbeat = None;
        self.commit = None;
        self.offset_fetch = None;
        self.backoff_until = now.plus_ms(backoff_ms);
        if self.state != MemberState::Stable {
            self.state = MemberState::Unjoined;
        }
    }

    fn expire(&mut self, now: Time) -> bool {
        let late = |t: &Option<(CorrelationId, Time)>| t.is_some_and(|(_, d)| d <= now);
        late(&self.request)
            || late(&self.heartbeat)
            || late(&self.commit)
            || late(&self.offset_fetch)
    }

    fn rejoin(&mut self) {
        self.state = MemberState::Unjoined;
        self.request = None;
        self.prepared = false;
    }
}

impl Consumer {
    /// Drive the group protocol: called from `run` in subscribe mode.
    pub(super) fn run_group(&mut self) {
        let Some(g) = self.group.as_mut() else { return };
        if g.state == MemberState::Failed {
            return;
        }
        let now = self.now;
        if g.expire(now) {
            g.coordinator_lost(now, self.config.retry_backoff_ms);
        }
        if g.backoff_until > now {
            return;
        }
        if g.coordinator.is_none() {
            self.find_coordinator();
            return;
        }
        let busy = self.busy_until > now;
        if busy && g.state == MemberState::Stable && now >= self.poll_deadline() {
            self.poll_interval_expired();
            return;
        }
        let g = self.group.as_ref().expect("subscribe mode");
        match g.state {
            // Like the Java client, a member rejoins from `poll()`: after processing.
            MemberState::Unjoined if g.request.is_none() && !busy => self.prepare_join(),
            MemberState::Stable => {
                self.maybe_heartbeat();
                self.maybe_auto_commit();
            }
            _ => {}
        }
    }

    /// When the application must poll again to stay in the group.
    pub(super) fn poll_deadline(&self) -> Time {
        self.poll_started.plus_ms(self.config.max_poll_interval_ms)
    }

    /// The application spent longer than `max.poll.interval.ms` on one poll's records: the
    /// heartbeat thread leaves the group ("consumer poll timeout has expired"), the partitions
    /// are lost without a commit, and the member rejoins when it next polls.
    fn poll_interval_expired(&mut self) {
        let dynamic = self.config.group_instance_id.is_none();
        let g = self.group.as_mut().expect("subscribe mode");
        // `AbstractCoordinator.maybeLeaveGroup`: only a dynamic member sends LeaveGroup; a
        // static one (KIP-345) forgets its member id and rejoins under its instance id.
        let member_id = std::mem::take(&mut g.member_id);
        if let (Some(coordinator), true) = (g.coordinator, dynamic) {
            let correlation_id = self.out.correlation_id();
            let message = Message::LeaveGroup(LeaveGroupRequest {
                correlation_id,
                group: g.group.clone(),
                member_id,
            });
            self.out.send(NodeId::Broker(coordinator), message);
        }
        g.generation = -1;
        g.rejoin();
        g.prepared = true;
        let lost = std::mem::take(&mut g.owned);
        self.drop_partitions(Vec::new(), lost);
    }

    fn find_coordinator(&mut self) {
        let now = self.now;
        let deadline = now.plus_ms(self.config.request_timeout_ms);
        let Some(broker) = self.metadata.next_broker(now) else {
            return;
        };
        let g = self.group.as_mut().expect("subscribe mode");
        if g.request.is_some() {
            return;
        }
        let correlation_id = self.out.correlation_id();
        g.request = Some((correlation_id, deadline));
        let group = g.group.clone();
        let message = Message::FindCoordinator(FindCoordinatorRequest {
            correlation_id,
            group,
        });
        self.out.send(NodeId::Broker(broker), message);
    }

    /// Whether an eager member is rejoining with partitions it still owns: the application is
    /// inside `poll`, whose `onJoinPrepare` commits synchronously and then revokes everything
    /// (`ConsumerCoordinator.onJoinPrepare`), so no fetched record reaches it until the new
    /// assignment. Delivering one would read past the offsets committed for the next owner.
    pub(super) fn rejoining_eagerly(&self) -> bool {
        self.group.as_ref().is_some_and(|g| {
            g.state == MemberState::Unjoined
                && g.generation >= 0
                && !g.owned.is_empty()
                && !self.config.partition_assignment_strategy.is_cooperative()
        })
    }

    /// `onJoinPrepare`: commit what was consumed (with auto-commit), then revoke everything
    /// for an eager assignor, then `JoinGroup`.
    fn prepare_join(&mut self) {
        let g = self.group.as_mut().expect("subscribe mode");
        if !g.prepared {
            if g.commit.is_some() {
                return; // wait for the commit before rejoining
            }
            g.prepared = true;
            if self.config.enable_auto_commit && g.generation >= 0 && self.commit_positions() {
                return;
            }
        }
        let g = self.group.as_ref().expect("subscribe mode");
        if g.commit.is_some() || self.metadata.partitions.is_empty() {
            return; // the leader needs partition counts; ask once metadata is in
        }
        if !self.config.partition_assignment_strategy.is_cooperative() {
            let revoked = std::mem::take(&mut self.group.as_mut().expect("g").owned);
            self.drop_partitions(revoked, Vec::new());
        }
        self.send_join();
    }

    fn send_join(&mut self) {
        let now = self.now;
        let correlation_id = self.out.correlation_id();
        let timeout_ms = self
            .config
            .request_timeout_ms
            .max(self.config.max_poll_interval_ms);
        let g = self.group.as_mut().expect("subscribe mode");
        g.state = MemberState::Joining;
        g.request = Some((correlation_id, now.plus_ms(timeout_ms)));
        let subscription = Subscription {
            topics: self.metadata.topics().to_vec(),
            owned: g.owned.clone(),
        };
        let message = Message::JoinGroup(JoinGroupRequest {
            correlation_id,
            group: g.group.clone(),
            client: self.config.client_id.clone(),
            member_id: g.member_id.clone(),
            group_instance_id: self.config.group_instance_id.clone(),
            session_timeout_ms: self.config.session_timeout_ms,
            rebalance_timeout_ms: self.config.max_poll_interval_ms,
            protocols: vec![(g.assignor.name().to_owned(), subscription)],
        });
        let coordinator = g.coordinator.expect("known");
        self.out.send(NodeId::Broker(coordinator), message);
    }

    fn maybe_heartbeat(&mut self) {
        let now = self.now;
        let deadline = now.plus_ms(self.config.request_timeout_ms);
        let g = self.group.as_mut().expect("subscribe mode");
        if g.heartbeat.is_some() || now < g.heartbeat_due {
            return;
        }
        let correlation_id = self.out.correlation_id();
        g.heartbeat = Some((correlation_id, deadline));
        g.heartbeat_due = now.plus_ms(self.config.heartbeat_interval_ms);
        let message = Message::Heartbeat(HeartbeatRequest {
            correlation_id,
            group: g.group.clone(),
            generation: g.generation,
            member_id: g.member_id.clone(),
        });
        let coordinator = g.coordinator.expect("known");
        self.out.send(NodeId::Broker(coordinator), message);
    }

    fn maybe_auto_commit(&mut self) {
        let now = self.now;
        let g = self.group.as_mut().expect("subscribe mode");
        if !self.config.enable_auto_commit || now < g.next_auto_commit || self.busy_until > now {
            return;
        }
        g.next_auto_commit = now.plus_ms(self.config.auto_commit_interval_ms);
        self.commit_positions();
    }

    /// Commit the positions of the owned partitions that moved since the last commit; false
    /// when there is nothing to commit (or a commit is already in flight).
    pub(super) fn commit_positions(&mut self) -> bool {
        let now = self.now;
        let deadline = now.plus_ms(self.config.request_timeout_ms);
        let g = self.group.as_ref().expect("subscribe mode");
        let (Some(coordinator), None) = (g.coordinator, g.commit) else {
            return false;
        };
        let offsets: Vec<(TopicPartition, CommittedOffset)> = g
            .owned
            .iter()
            .filter_map(|tp| {
                let committed = self.committable(tp)?;
                (g.committed.get(tp) != Some(&committed.offset)).then(|| (tp.clone(), committed))
            })
            .collect();
        if offsets.is_empty() {
            return false;
        }
        let correlation_id = self.out.correlation_id();
        let g = self.group.as_mut().expect("subscribe mode");
        g.commit = Some((correlation_id, deadline));
        let message = Message::OffsetCommit(OffsetCommitRequest {
            correlation_id,
            group: g.group.clone(),
            generation: g.generation,
            member_id: g.member_id.clone(),
            offsets,
        });
        self.out.send(NodeId::Broker(coordinator), message);
        true
    }

    /// Take a group response; false if the message is not one.
    pub(super) fn on_group_message(&mut self, message: Message) -> bool {
        match message {
            Message::FindCoordinatorResponse(FindCoordinatorResponse {
                correlation_id,
                error,
                coordinator,
            }) => self.on_find_coordinator(correlation_id, error, coordinator),
            Message::JoinGroupResponse(JoinGroupResponse {
                correlation_id,
                error,
                generation,
                protocol,
                leader,
                member_id,
                members,
            }) => {
                if self.is_request(correlation_id) {
                    let joined = Joined {
                        generation,
                        protocol,
                        leader,
                        member_id,
                        members,
                    };
                    self.on_join(error, joined);
                }
            }
            Message::SyncGroupResponse(SyncGroupResponse {
                correlation_id,
                error,
                assignment,
            }) => {
                if self.is_request(correlation_id) {
                    self.on_sync(error, assignment);
                }
            }
            Message::HeartbeatResponse(HeartbeatResponse {
                correlation_id,
                error,
            }) => self.on_heartbeat(correlation_id, error),
            Message::OffsetCommitResponse(OffsetCommitResponse {
                correlation_id,
                error,
                offsets,
            }) => self.on_commit(correlation_id, error, offsets),
            Message::OffsetFetchResponse(OffsetFetchResponse {
                correlation_id,
                error,
                offsets,
            }) => self.on_offset_fetch(correlation_id, error, offsets),
            Message::LeaveGroupResponse(_) => {}
            _ => return false,
        }
        true
    }

    fn is_request(&mut self, correlation_id: CorrelationId) -> bool {
        let g = self.group.as_mut().expect("subscribe mode");
        let ours = g.request.is_some_and(|(c, _)| c == correlation_id);
        if ours {
            g.request = None;
        }
        ours
    }

    fn on_find_coordinator(
        &mut self,
        correlation_id: CorrelationId,
        error: ErrorCode,
        coordinator: Option<BrokerId>,
    ) {
        if !self.is_request(correlation_id) {
            return;
        }
        let now = self.now;
        let g = self.group.as_mut().expect("subscribe mode");
        match (error, coordinator) {
            (ErrorCode::NONE, Some(broker)) => g.coordinator = Some(broker),
            _ => g.backoff_until = now.plus_ms(self.config.retry_backoff_ms),
        }
    }

    /// A group error that sends the member back to find the coordinator or to rejoin; true
    /// when `error` was one.
    fn group_error(&mut self, error: ErrorCode) -> bool {
        let now = self.now;
        let backoff_ms = self.config.retry_backoff_ms;
        let g = self.group.as_mut().expect("subscribe mode");
        match error {
            ErrorCode::NONE => return false,
            ErrorCode::NOT_COORDINATOR
            | ErrorCode::COORDINATOR_NOT_AVAILABLE
            | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
            | ErrorCode::REQUEST_TIMED_OUT => {
                g.coordinator_lost(now, backoff_ms);
                g.rejoin_if_not_stable();
            }
            ErrorCode::REBALANCE_IN_PROGRESS => g.rejoin(),
            ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
                // `resetGenerationOnResponseError`: expelled. The partitions are lost, not
                // revoked: another member may own them already, so nothing is committed.
                if error == ErrorCode::UNKNOWN_MEMBER_ID {
                    g.member_id.clear();
                }
                g.generation = -1;
                g.rejoin();
                g.prepared = true;
                let lost = std::mem::take(&mut g.owned);
                self.drop_partitions(Vec::new(), lost);
            }
            _ => {
                g.backoff_until = now.plus_ms(backoff_ms);
                g.rejoin_if_not_stable();
            }
        }
        true
    }

    fn on_join(&mut self, error: ErrorCode, joined: Joined) {
        match error {
            // KIP-394 (`AbstractCoordinator.JoinGroupResponseHandler`): join again at once
            // with the member id the coordinator handed out.
            ErrorCode::MEMBER_ID_REQUIRED => {
                let g = self.group.as_mut().expect("subscribe mode");
                g.member_id = joined.member_id;
                g.rejoin();
                g.prepared = true;
                return;
            }
            // Fatal in `JoinGroupResponseHandler`: thrown to the application.
            ErrorCode::INVALID_SESSION_TIMEOUT
            | ErrorCode::INCONSISTENT_GROUP_PROTOCOL
            | ErrorCode::FENCED_INSTANCE_ID => {
                self.group_failed(error);
                return;
            }
            _ => {}
        }
        if self.group_error(error) {
            return;
        }
        let assignment = if joined.leader == joined.member_id {
            Some(self.assign(&joined))
        } else {
            None
        };
        let now = self.now;
        let deadline = now.plus_ms(self.config.request_timeout_ms);
        let correlation_id = self.out.correlation_id();
        let g = self.group.as_mut().expect("subscribe mode");
        g.member_id = joined.member_id;
        g.generation = joined.generation;
        g.state = MemberState::Syncing;
        g.request = Some((correlation_id, deadline));
        let message = Message::SyncGroup(SyncGroupRequest {
            correlation_id,
            group: g.group.clone(),
            generation: g.generation,
            member_id: g.member_id.clone(),
            assignments: assignment
                .map(|a| a.into_iter().collect())
                .unwrap_or_default(),
        });
        let coordinator = g.coordinator.expect("known");
        self.out.send(NodeId::Broker(coordinator), message);
    }

    /// The leader's job: run the group's assignor over every member's subscription.
    fn assign(&self, joined: &Joined) -> crate::group::Assignment {
        let assignor = joined
            .protocol
            .as_deref()
            .and_then(Assignor::from_name)
            .unwrap_or(self.config.partition_assignment_strategy);
        let members: BTreeMap<String, Subscription> = joined
            .members
            .iter()
            .map(|m| (m.member_id.clone(), m.subscription.clone()))
            .collect();
        let mut counts: BTreeMap<Topic, u32> = BTreeMap::new();
        for tp in self.metadata.partitions.keys() {
            *counts.entry(tp.topic.clone()).or_default() += 1;
        }
        assignor.assign(&members, &counts)
    }

    /// `onJoinComplete`: keep what stays, give up what moved (cooperative), fetch the committed
    /// offsets of what is new.
    fn on_sync(&mut self, error: ErrorCode, assignment: Vec<TopicPartition>) {
        if self.group_error(error) {
            return;
        }
        let now = self.now;
        let g = self.group.as_mut().expect("subscribe mode");
        g.state = MemberState::Stable;
        g.heartbeat_due = now.plus_ms(self.config.heartbeat_interval_ms);
        g.next_auto_commit = now.plus_ms(self.config.auto_commit_interval_ms);
        let revoked: Vec<TopicPartition> = g
            .owned
            .iter()
            .filter(|tp| !assignment.contains(tp))
            .cloned()
            .collect();
        let assigned: Vec<TopicPartition> = assignment
            .iter()
            .filter(|tp| !g.owned.contains(tp))
            .cloned()
            .collect();
        g.owned = assignment;
        if !revoked.is_empty() {
            // KIP-429: what moved is revoked now and the member rejoins at once, so the next
            // generation can hand it to its new owner.
            if self.config.enable_auto_commit {
                self.commit_revoked(&revoked);
            }
            self.group.as_mut().expect("g").rejoin();
        }
        let (group, generation, member_id) = {
            let g = self.group.as_ref().expect("g");
            (g.group.clone(), g.generation, g.member_id.clone())
        };
        for tp in &revoked {
            self.positions.remove(tp);
        }
        for tp in &assigned {
            let position = Position {
                needs_committed: true,
                ..Position::default()
            };
            self.positions.insert(tp.clone(), position);
        }
        self.out
            .history(HistoryEntry::Rebalanced(Box::new(Rebalance {
                group,
                generation,
                member_id,
                assigned,
                revoked,
                lost: Vec::new(),
            })));
    }

    /// What a commit of `tp` carries: the position and, KIP-320, the leader epoch of the last
    /// record read (`ConsumerCoordinator` commits `OffsetAndMetadata` with
    /// `FetchPosition.offsetEpoch`).
    fn committable(&self, tp: &TopicPartition) -> Option<CommittedOffset> {
        let position = self.positions.get(tp)?;
        Some(CommittedOffset {
            offset: position.offset?,
            leader_epoch: position.epoch,
        })
    }

    /// Commit the positions of partitions about to be revoked (what `onPartitionsRevoked`
    /// does in most applications).
    fn commit_revoked(&mut self, revoked: &[TopicPartition]) {
        let g = self.group.as_ref().expect("g");
        let offsets: Vec<(TopicPartition, CommittedOffset)> = revoked
            .iter()
            .filter_map(|tp| Some((tp.clone(), self.committable(tp)?)))
            .filter(|(tp, c)| g.committed.get(tp) != Some(&c.offset))
            .collect();
        let (Some(coordinator), false) = (g.coordinator, offsets.is_empty()) else {
            return;
        };
        let correlation_id = self.out.correlation_id();
        let message = Message::OffsetCommit(OffsetCommitRequest {
            correlation_id,
            group: g.group.clone(),
            generation: g.generation,
            member_id: g.member_id.clone(),
            offsets,
        });
        self.out.send(NodeId::Broker(coordinator), message);
    }

    /// Give up partitions: `revoked` in a rebalance, `lost` when expelled.
    fn drop_partitions(&mut self, revoked: Vec<TopicPartition>, lost: Vec<TopicPartition>) {
        if revoked.is_empty() && lost.is_empty() {
            return;
        }
        for tp in revoked.iter().chain(&lost) {
            self.positions.remove(tp);
        }
        let g = self.group.as_ref().expect("subscribe mode");
        let entry = HistoryEntry::Rebalanced(Box::new(Rebalance {
            group: g.group.clone(),
            generation: g.generation,
            member_id: g.member_id.clone(),
            assigned: Vec::new(),
            revoked,
            lost,
        }));
        self.out.history(entry);
    }

    fn on_heartbeat(&mut self, correlation_id: CorrelationId, error: ErrorCode) {
        let g = self.group.as_mut().expect("subscribe mode");
        if g.heartbeat.map(|(c, _)| c) != Some(correlation_id) {
            return;
        }
        g.heartbeat = None;
        self.group_error(error);
    }

    fn on_commit(
        &mut self,
        correlation_id: CorrelationId,
        error: ErrorCode,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    ) {
        let g = self.group.as_mut().expect("subscribe mode");
        if g.commit.map(|(c, _)| c) == Some(correlation_id) {
            g.commit = None;
        }
        let offsets: Vec<(TopicPartition, Offset)> =
            offsets.into_iter().map(|(tp, c)| (tp, c.offset)).collect();
        if error.is_ok() {
            g.committed.extend(offsets.iter().cloned());
        }
        let entry = HistoryEntry::Committed {
            group: g.group.clone(),
            offsets,
            error,
        };
        self.out.history(entry);
        self.group_error(error);
    }

    /// `OffsetFetch` for the partitions waiting for their committed offset.
    pub(super) fn fetch_committed(&mut self) {
        let now = self.now;
        let deadline = now.plus_ms(self.config.request_timeout_ms);
        let Some(g) = self.group.as_ref() else { return };
        let (Some(coordinator), None) = (g.coordinator, g.offset_fetch) else {
            return;
        };
        let partitions: Vec<TopicPartition> = self
            .positions
            .iter()
            .filter(|(_, p)| p.needs_committed)
            .map(|(tp, _)| tp.clone())
            .collect();
        if partitions.is_empty() {
            return;
        }
        let correlation_id = self.out.correlation_id();
        let g = self.group.as_mut().expect("g");
        g.offset_fetch = Some((correlation_id, deadline));
        let message = Message::OffsetFetch(OffsetFetchRequest {
            correlation_id,
            group: g.group.clone(),
            partitions,
        });
        self.out.send(NodeId::Broker(coordinator), message);
    }

    fn on_offset_fetch(
        &mut self,
        correlation_id: CorrelationId,
        error: ErrorCode,
        offsets: Vec<(TopicPartition, Option<CommittedOffset>)>,
    ) {
        let g = self.group.as_mut().expect("subscribe mode");
        if g.offset_fetch.map(|(c, _)| c) != Some(correlation_id) {
            return;
        }
        g.offset_fetch = None;
        if self.group_error(error) {
            return;
        }
        for (tp, offset) in offsets {
            let Some(position) = self.positions.get_mut(&tp) else {
                continue;
            };
            position.needs_committed = false;
            // No committed offset: `auto.offset.reset` decides (ListOffsets in `run`). With one,
            // its leader epoch becomes the position's (`seekUnvalidated`), so the first fetch
            // validates it against the leader's log and detects a truncation (KIP-320).
            position.offset = offset.map(|c| c.offset);
            position.epoch = offset.and_then(|c| c.leader_epoch);
            if let Some(c) = offset {
                self.group
                    .as_mut()
                    .expect("g")
                    .committed
                    .insert(tp.clone(), c.offset);
                let reason = crate::io::PositionReason::Committed;
                let entry = HistoryEntry::Positioned {
                    tp,
                    offset: c.offset,
                    reason,
                };
                self.out.history(entry);
            }
        }
    }

    /// A fatal group error: the exception reaches the application, which stops consuming.
    fn group_failed(&mut self, error: ErrorCode) {
        let g = self.group.as_mut().expect("subscribe mode");
        g.state = MemberState::Failed;
        g.request = None;
        g.heartbeat = None;
        g.commit = None;
        g.offset_fetch = None;
        let lost = std::mem::take(&mut g.owned);
        self.drop_partitions(Vec::new(), lost);
        self.positions.clear();
        let error = ConsumerError::Group { error };
        self.out
            .history(HistoryEntry::ConsumerError { tp: None, error });
    }

    /// `close()`: commit what was consumed, then leave the group so it rebalances at once
    /// instead of waiting for the session to expire. A consumer without a group (assign mode)
    /// only stops, as `KafkaConsumer.close` does. A static member (KIP-345) sends no
    /// `LeaveGroup` (`AbstractCoordinator.maybeLeaveGroup` checks `isDynamicMember`): its
    /// partitions wait for it until `session.timeout.ms`.
    pub(super) fn leave_group(&mut self) {
        if self.group.is_none() {
            return;
        }
        if self.config.enable_auto_commit {
            self.commit_positions();
        }
        if self.config.group_instance_id.is_some() {
            return;
        }
        let Some(g) = self.group.as_mut() else { return };
        let Some(coordinator) = g.coordinator else {
            return;
        };
        if g.member_id.is_empty() {
            return;
        }
        let correlation_id = self.out.correlation_id();
        let message = Message::LeaveGroup(LeaveGroupRequest {
            correlation_id,
            group: g.group.clone(),
            member_id: std::mem::take(&mut g.member_id),
        });
        g.generation = -1;
        self.out.send(NodeId::Broker(coordinator), message);
    }

    /// The coordinator's connection broke.
    pub(super) fn group_disconnected(&mut self, broker: BrokerId) {
        let now = self.now;
        let backoff_ms = self.config.retry_backoff_ms;
        if let Some(g) = self.group.as_mut() {
            if g.coordinator == Some(broker) {
                g.coordinator_lost(now, backoff_ms);
                g.rejoin_if_not_stable();
            }
        }
    }
}

impl Membership {
    /// A join or sync cut short starts over; a stable member keeps its generation and only
    /// needs the coordinator again.
    fn rejoin_if_not_stable(&mut self) {
        if self.state != MemberState::Stable {
            self.rejoin();
        }
    }
}

/// A successful `JoinGroupResponse`.
struct Joined {
    generation: i32,
    protocol: Option<String>,
    leader: String,
    member_id: String,
    members: Vec<JoinedMember>,
}
