//! The classic group coordinator (`GroupCoordinator.scala`, later `GroupMetadataManager` and
//! `ClassicGroup`): JoinGroup/SyncGroup/Heartbeat/LeaveGroup, generations, sessions, and the
//! offset cache. Appends go through the broker, which reports back when the high watermark has
//! passed them: a commit is acknowledged only once it is committed in `__consumer_offsets`.

use super::records::{partition_for, GroupValue, OffsetsRecord, StoredMember};
use super::GroupState;
use crate::error::ErrorCode;
use crate::io::Event;
use crate::protocol::{
    CommittedOffset, HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse,
    JoinedMember, LeaveGroupRequest, LeaveGroupResponse, Message, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, Subscription, SyncGroupRequest,
    SyncGroupResponse,
};
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

mod expiry;
mod join;
use join::{InitialDelay, Join};

/// The broker configs the coordinator uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// `offsets.topic.num.partitions`.
    pub partitions: u32,
    /// `group.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`.
    pub min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`.
    pub max_session_timeout_ms: u64,
    /// `offsets.retention.minutes`, in ms: how long an empty group keeps its offsets (KIP-211).
    pub offsets_retention_ms: u64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are looked for.
    pub offsets_retention_check_interval_ms: u64,
}

/// What the coordinator asks the broker to do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send a response.
    Send {
        /// To whom.
        to: NodeId,
        /// The response.
        message: Message,
    },
    /// Append records to partition `partition` of `__consumer_offsets` with acks=all, then call
    /// [`GroupCoordinator::write_completed`] with `write`.
    Append {
        /// The offsets partition.
        partition: u32,
        /// The records.
        records: Vec<OffsetsRecord>,
        /// What waits for it.
        write: GroupWrite,
    },
    /// A teaching event.
    Event(Event),
}

/// What waits for an append to `__consumer_offsets`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupWrite {
    /// An `OffsetCommit` to answer.
    Commit {
        /// The committer.
        to: NodeId,
        /// Its request.
        correlation_id: CorrelationId,
        /// The group.
        group: String,
        /// The offsets.
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    },
    /// The leader's assignment of `generation`: the group becomes `Stable` once it is stored.
    Sync {
        /// The group.
        group: String,
        /// The generation.
        generation: i32,
    },
    /// A static member rejoined a `Stable` group under a new member id (KIP-345): answer its
    /// `JoinGroup` once the group record naming it is stored, or put the old id back.
    StaticJoin {
        /// The group.
        group: String,
        /// The member id it replaced.
        old_member_id: String,
        /// Its new member id.
        new_member_id: String,
    },
    /// A group record nobody waits for (the group became `Empty`).
    Nothing,
}

/// A member of a group (`MemberMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The stored part: id, client, timeouts, protocols, assignment.
    pub stored: StoredMember,
    /// The member is removed when a heartbeat has not come by then.
    pub session_deadline: Time,
    /// A `JoinGroup` waiting for the rebalance to complete.
    awaiting_join: Option<(NodeId, CorrelationId)>,
    /// A `SyncGroup` waiting for the leader's assignment.
    awaiting_sync: Option<(NodeId, CorrelationId)>,
}

/// A group this broker coordinates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its state.
    pub state: GroupState,
    /// The generation (0 before the first rebalance).
    pub generation: i32,
    /// The assignor the members agreed on.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: Option<String>,
    /// Members by id.
    pub members: BTreeMap<String, Member>,
    /// Committed offsets (acknowledged commits only).
    pub committed: BTreeMap<TopicPartition, Offset>,
    /// The leader epoch committed with each offset, where the committer had one (KIP-320).
    /// Written only by [`Group::record_commit`], with `committed`.
    committed_epochs: BTreeMap<TopicPartition, LeaderEpoch>,
    /// When each offset was committed (or loaded): a simple consumer's offsets expire by it.
    committed_at: BTreeMap<TopicPartition, Time>,
    /// Since when the group is `Empty` after having members (`currentStateTimestamp`): an
    /// empty group's offsets expire `offsets.retention.minutes` after it (KIP-211).
    empty_since: Option<Time>,
    /// When the current phase gives up waiting: the join phase (rebalance timeout or initial
    /// delay) or the sync phase.
    deadline: Option<Time>,
    /// The initial rebalance of a group that was empty, while it waits for more members.
    initial_delay: Option<InitialDelay>,
    /// Dynamic members told `MEMBER_ID_REQUIRED`, until they rejoin or their session ends
    /// (`ClassicGroup.pendingJoinMembers`, KIP-394).
    pending: BTreeMap<String, Time>,
    /// The leader's `SyncGroup` is being stored.
    sync_in_flight: bool,
}

impl Group {
    fn new() -> Group {
        Group {
            state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            committed: BTreeMap::new(),
            committed_epochs: BTreeMap::new(),
            committed_at: BTreeMap::new(),
            empty_since: None,
            deadline: None,
            initial_delay: None,
            pending: BTreeMap::new(),
            sync_in_flight: false,
        }
    }

    fn value(&self) -> GroupValue {
        GroupValue {
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            members: self.members.values().map(|m| m.stored.clone()).collect(),
        }
    }

    /// Record an acknowledged (or loaded) commit: the offset and its leader epoch.
    fn record_commit(&mut self, tp: TopicPartition, committed: CommittedOffset, now: Time) {
        self.committed_at.insert(tp.clone(), now);
        match committed.leader_epoch {
            Some(epoch) => self.committed_epochs.insert(tp.clone(), epoch),
            None => self.committed_epochs.remove(&tp),
        };
        self.committed.insert(tp, committed.offset);
    }

    /// The committed position of `tp` with its leader epoch (`OffsetFetch`).
    pub fn committed_offset(&self, tp: &TopicPartition) -> Option<CommittedOffset> {
        let offset = *self.committed.get(tp)?;
        let leader_epoch = self.committed_epochs.get(tp).copied();
        Some(CommittedOffset {
            offset,
            leader_epoch,
        })
    }

    fn rebalance_timeout_ms(&self) -> u64 {
        let max = self.members.values().map(|m| m.stored.rebalance_timeout_ms);
        max.max().unwrap_or(0)
    }
}

/// The group coordinator of one broker.
#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    config: CoordinatorConfig,
    /// The offsets partitions this broker leads and has loaded.
    loaded: BTreeSet<u32>,
    groups: BTreeMap<String, Group>,
    /// New member ids are `{client}-{prefix}.{seq}`; the prefix is the broker epoch, unique
    /// across brokers and restarts.
    member_prefix: u64,
    member_seq: u64,
    now: Time,
    broker: BrokerId,
    effects: Vec<Effect>,
    /// When `cleanupGroupMetadata` runs next, once a partition is loaded.
    expiry_due: Option<Time>,
}

impl GroupCoordinator {
    /// A coordinator that coordinates nothing until it loads a partition.
    pub fn new(broker: BrokerId, config: CoordinatorConfig) -> GroupCoordinator {
        GroupCoordinator {
            config,
            loaded: BTreeSet::new(),
            groups: BTreeMap::new(),
            member_prefix: 0,
            member_seq: 0,
            now: Time(0),
            broker,
            effects: Vec::new(),
            expiry_due: None,
        }
    }

    /// Take the effects asked for so far.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Set the prefix of new member ids (the broker epoch of this registration).
    pub fn set_member_prefix(&mut self, prefix: u64) {
        self.member_prefix = prefix;
    }

    /// The groups this broker coordinates now.
    pub fn groups(&self) -> &BTreeMap<String, Group> {
        &self.groups
    }

    /// Whether this broker coordinates `group` now.
    pub fn is_coordinator(&self, group: &str) -> bool {
        self.loaded.contains(&self.partition(group))
    }

    /// The offsets partition of `group`.
    pub fn partition(&self, group: &str) -> u32 {
        partition_for(group, self.config.partitions)
    }

    /// This broker leads offsets partition `partition`: rebuild its groups from the log
    /// (`GroupMetadataManager.loadGroupsAndOffsets`). The last group record and the last offset
    /// record per key win; members get a fresh session and keep their generation, so a
    /// consumer that finds the new coordinator carries on without a rebalance.
    pub fn load(&mut self, now: Time, partition: u32, log: impl Iterator<Item = OffsetsRecord>) {
        self.now = now;
        self.unload(now, partition);
        self.loaded.insert(partition);
        self.schedule_expiry();
        let mut loaded: BTreeMap<String, Group> = BTreeMap::new();
        for record in log {
            match record {
                OffsetsRecord::Offset { group, tp, offset } => {
                    let g = loaded.entry(group).or_insert_with(Group::new);
                    g.record_commit(tp, offset, now);
                }
                OffsetsRecord::Group { group, value } => {
                    let g = loaded.entry(group).or_insert_with(Group::new);
                    restore(g, value, now);
                }
                OffsetsRecord::OffsetTombstone { group, tp } => {
                    if let Some(g) = loaded.get_mut(&group) {
                        g.forget_offset(&tp);
                    }
                }
                OffsetsRecord::GroupTombstone { group } => {
                    loaded.remove(&group);
                }
            }
        }
        let count = loaded.len();
        self.groups.extend(loaded);
        self.effects.push(Effect::Event(Event::GroupsLoaded {
            broker: self.broker,
            partition,
            groups: count as u32,
        }));
    }

    /// This broker no longer leads offsets partition `partition`: forget its groups and answer
    /// the requests waiting on them with `NOT_COORDINATOR` (`onResignation`).
    pub fn unload(&mut self, now: Time, partition: u32) {
        self.now = now;
        if !self.loaded.remove(&partition) {
            return;
        }
        let gone: Vec<String> = self
            .groups
            .keys()
            .filter(|g| self.partition(g) == partition)
            .cloned()
            .collect();
        for id in gone {
            let group = self.groups.remove(&id).expect("listed");
            for member in group.members.values() {
                self.answer_join_error(member, ErrorCode::NOT_COORDINATOR);
                self.answer_sync(member, ErrorCode::NOT_COORDINATOR, Vec::new());
            }
        }
    }

    /// Serve a group request; `None` when `message` is not one.
    pub fn handle(&mut self, now: Time, from: NodeId, message: Message) -> Option<()> {
        self.now = now;
        match message {
            Message::JoinGroup(JoinGroupRequest {
                correlation_id,
                group,
                client,
                member_id,
                group_instance_id,
                session_timeout_ms,
                rebalance_timeout_ms,
                protocols,
            }) => {
                let join = Join {
                    from,
                    correlation_id,
                    client,
                    member_id,
                    group_instance_id,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    protocols,
                };
                self.join(&group, join);
            }
            Message::SyncGroup(SyncGroupRequest {
                correlation_id,
                group,
                generation,
                member_id,
                assignments,
            }) => self.sync(
                &group,
                from,
                correlation_id,
                generation,
                member_id,
                assignments,
            ),
            Message::Heartbeat(HeartbeatRequest {
                correlation_id,
                group,
                generation,
                member_id,
            }) => {
                let error = self.heartbeat(&group, generation, &member_id);
                self.send(
                    from,
                    Message::HeartbeatResponse(HeartbeatResponse {
                        correlation_id,
                        error,
                    }),
                );
            }
            Message::LeaveGroup(LeaveGroupRequest {
                correlation_id,
                group,
                member_id,
            }) => {
                let error = self.leave(&group, &member_id);
                self.send(
                    from,
                    Message::LeaveGroupResponse(LeaveGroupResponse {
                        correlation_id,
                        error,
                    }),
                );
            }
            Message::OffsetCommit(OffsetCommitRequest {
                correlation_id,
                group,
                generation,
                member_id,
                offsets,
            }) => self.commit(
                &group,
                from,
                correlation_id,
                generation,
                &member_id,
                offsets,
            ),
            Message::OffsetFetch(OffsetFetchRequest {
                correlation_id,
                group,
                partitions,
            }) => self.fetch_offsets(&group, from, correlation_id, partitions),
            _ => return None,
        }
        Some(())
    }

    /// An append asked for by [`Effect::Append`] finished: committed (`NONE`) or failed.
    pub fn write_completed(&mut self, now: Time, write: GroupWrite, error: ErrorCode) {
        self.now = now;
        // `GroupMetadataManager.storeOffsets`/`storeGroup` map append errors to what a client
        // acts on: the coordinator moved, or it cannot write now.
        let error = match error {
            ErrorCode::NONE => ErrorCode::NONE,
            ErrorCode::NOT_LEADER_OR_FOLLOWER | ErrorCode::KAFKA_STORAGE_ERROR => {
                ErrorCode::NOT_COORDINATOR
            }
            _ => ErrorCode::COORDINATOR_NOT_AVAILABLE,
        };
        match write {
            GroupWrite::Commit {
                to,
                correlation_id,
                group,
                offsets,
            } => {
                if error.is_ok() {
                    if let Some(g) = self.groups.get_mut(&group) {
                        for (tp, committed) in &offsets {
                            g.record_commit(tp.clone(), *committed, self.now);
                        }
                    }
                }
                let response = Message::OffsetCommitResponse(OffsetCommitResponse {
                    correlation_id,
                    error,
                    offsets,
                });
                self.send(to, response);
            }
            GroupWrite::Sync { group, generation } => self.sync_stored(&group, generation, error),
            GroupWrite::StaticJoin {
                group,
                old_member_id,
                new_member_id,
            } => self.static_join_stored(&group, &old_member_id, &new_member_id, error),
            GroupWrite::Nothing => {}
        }
    }

    /// Expire sessions and phases whose time has come.
    pub fn handle_timeout(&mut self, now: Time) {
        self.now = now;
        if self.expiry_due.is_some_and(|due| due <= now) {
            self.expire_offsets();
        }
        let ids: Vec<String> = self.groups.keys().cloned().collect();
        for id in ids {
            self.expire_members(&id);
            self.expire_pending(&id);
            let group = &self.groups[&id];
            let state = group.state;
            if group.deadline.is_some_and(|d| d <= now) {
                match state {
                    GroupState::PreparingRebalance if !self.extend_initial_delay(&id) => {
                        self.complete_join(&id, true)
                    }
                    GroupState::CompletingRebalance => self.expire_sync(&id),
                    _ => {}
                }
            }
        }
    }

    /// The next deadline.
    pub fn next_deadline(&self) -> Option<Time> {
        let mut next: Option<Time> = self.expiry_due;
        for group in self.groups.values() {
            let sessions = group
                .members
                .values()
                .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
                .map(|m| m.session_deadline);
            let pending = group.pending.values().copied();
            for t in sessions.chain(pending).chain(group.deadline) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    fn send(&mut self, to: NodeId, message: Message) {
        self.effects.push(Effect::Send { to, message });
    }

    fn state_changed(&mut self, id: &str) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        group.empty_since = match group.state {
            GroupState::Empty => group.empty_since.or(Some(now)),
            _ => None,
        };
        let group = &self.groups[id];
        let event = Event::GroupStateChanged {
            broker: self.broker,
            group: id.to_owned(),
            state: group.state,
            generation: group.generation,
            members: group.members.len() as u32,
        };
        self.effects.push(Effect::Event(event));
    }
}

/// A loaded group record: members come back with a fresh session.
fn restore(group: &mut Group, value: GroupValue, now: Time) {
    group.generation = value.generation;
    group.protocol = value.protocol;
    group.leader = value.leader;
    group.members = value
        .members
        .into_iter()
        .map(|stored| {
            let member = Member {
                session_deadline: now.plus_ms(stored.session_timeout_ms),
                stored,
                awaiting_join: None,
                awaiting_sync: None,
            };
            (member.stored.member_id.clone(), member)
        })
        .collect();
    group.state = if group.members.is_empty() {
        GroupState::Empty
    } else {
        GroupState::Stable
    };
    // The lab's group record has no `currentStateTimestamp`: a loaded empty group's retention
    // clock starts at the load, so its offsets expire later than Kafka's, never earlier.
    group.empty_since = (group.state == GroupState::Empty).then_some(now);
    group.deadline = None;
    group.initial_delay = None;
    group.pending.clear();
    group.sync_in_flight = false;
}

impl GroupCoordinator {
    /// The `JoinGroupResponse` of the current generation for `member_id`.
    fn current_generation(
        &self,
        id: &str,
        member_id: &str,
        correlation_id: CorrelationId,
    ) -> Message {
        let group = &self.groups[id];
        let is_leader = group.leader.as_deref() == Some(member_id);
        let protocol = group.protocol.clone();
        let members = if is_leader {
            group
                .members
                .values()
                .map(|m| JoinedMember {
                    member_id: m.stored.member_id.clone(),
                    subscription: m
                        .stored
                        .protocols
                        .iter()
                        .find(|p| Some(&p.0) == protocol.as_ref())
                        .map(|p| p.1.clone())
                        .unwrap_or_default(),
                })
                .collect()
        } else {
            Vec::new()
        };
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation_id,
            error: ErrorCode::NONE,
            generation: group.generation,
            protocol,
            leader: group.leader.clone().unwrap_or_default(),
            member_id: member_id.to_owned(),
            members,
        })
    }

    /// `GroupCoordinator.handleSyncGroup`.
    fn sync(
        &mut self,
        id: &str,
        from: NodeId,
        correlation_id: CorrelationId,
        generation: i32,
        member_id: String,
        assignments: Vec<(String, Vec<TopicPartition>)>,
    ) {
        let respond = |error| {
            Message::SyncGroupResponse(SyncGroupResponse {
                correlation_id,
                error,
                assignment: Vec::new(),
            })
        };
        if !self.is_coordinator(id) {
            self.send(from, respond(ErrorCode::NOT_COORDINATOR));
            return;
        }
        let now = self.now;
        let Some(group) = self.groups.get_mut(id) else {
            self.send(from, respond(ErrorCode::UNKNOWN_MEMBER_ID));
            return;
        };
        let error = match group.members.get(&member_id) {
            None => ErrorCode::UNKNOWN_MEMBER_ID,
            Some(_) if generation != group.generation => ErrorCode::ILLEGAL_GENERATION,
            Some(_) if group.state == GroupState::PreparingRebalance => {
                ErrorCode::REBALANCE_IN_PROGRESS
            }
            Some(_) => ErrorCode::NONE,
        };
        if !error.is_ok() {
            self.send(from, respond(error));
            return;
        }
        let member = group.members.get_mut(&member_id).expect("checked");
        member.session_deadline = now.plus_ms(member.stored.session_timeout_ms);
        if group.state == GroupState::Stable {
            let response = Message::SyncGroupResponse(SyncGroupResponse {
                correlation_id,
                error: ErrorCode::NONE,
                assignment: member.stored.assignment.clone(),
            });
            self.send(from, response);
            return;
        }
        member.awaiting_sync = Some((from, correlation_id));
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        if is_leader && !group.sync_in_flight {
            group.sync_in_flight = true;
            let mut by_member: BTreeMap<String, Vec<TopicPartition>> =
                assignments.into_iter().collect();
            for (m, member) in group.members.iter_mut() {
                member.stored.assignment = by_member.remove(m).unwrap_or_default();
            }
            let value = group.value();
            let write = GroupWrite::Sync {
                group: id.to_owned(),
                generation,
            };
            self.store(id, value, write);
        }
    }

    /// The leader's assignment is stored (or not): the group is `Stable`, and every waiting
    /// member gets its partitions.
    fn sync_stored(&mut self, id: &str, generation: i32, error: ErrorCode) {
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        if group.generation != generation || group.state != GroupState::CompletingRebalance {
            return;
        }
        if !error.is_ok() {
            let members: Vec<Member> = group.members.values().cloned().collect();
            for member in group.members.values_mut() {
                member.awaiting_sync = None;
                member.stored.assignment.clear();
            }
            for member in &members {
                self.answer_sync(member, error, Vec::new());
            }
            self.prepare_rebalance(id);
            return;
        }
        group.state = GroupState::Stable;
        group.deadline = None;
        group.sync_in_flight = false;
        let members: Vec<Member> = group.members.values().cloned().collect();
        for member in group.members.values_mut() {
            member.awaiting_sync = None;
        }
        for member in &members {
            self.answer_sync(member, ErrorCode::NONE, member.stored.assignment.clone());
        }
        self.state_changed(id);
    }

    /// The leader never sent its assignment in time: drop the members still waiting to sync
    /// and start over (`onExpirePendingSync`).
    fn expire_sync(&mut self, id: &str) {
        let group = self.groups.get_mut(id).expect("exists");
        if group.sync_in_flight {
            return;
        }
        let leader = group.leader.clone();
        group
            .members
            .retain(|m, member| member.awaiting_sync.is_some() && Some(m) != leader.as_ref());
        self.prepare_rebalance(id);
    }

    /// `GroupCoordinator.handleHeartbeat`.
    fn heartbeat(&mut self, id: &str, generation: i32, member_id: &str) -> ErrorCode {
        if !self.is_coordinator(id) {
            return ErrorCode::NOT_COORDINATOR;
        }
        let now = self.now;
        let Some(group) = self.groups.get_mut(id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        let Some(member) = group.members.get_mut(member_id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        if generation != group.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        member.session_deadline = now.plus_ms(member.stored.session_timeout_ms);
        // In `CompletingRebalance` a member that got its JoinGroup response may heartbeat
        // before it syncs: a normal heartbeat (`GroupCoordinator.handleHeartbeat`, Kafka 2.x+).
        match group.state {
            GroupState::PreparingRebalance => ErrorCode::REBALANCE_IN_PROGRESS,
            _ => ErrorCode::NONE,
        }
    }

    /// `GroupCoordinator.handleLeaveGroup`.
    fn leave(&mut self, id: &str, member_id: &str) -> ErrorCode {
        if !self.is_coordinator(id) {
            return ErrorCode::NOT_COORDINATOR;
        }
        let Some(group) = self.groups.get_mut(id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        let Some(member) = group.members.remove(member_id) else {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        };
        self.answer_join_error(&member, ErrorCode::UNKNOWN_MEMBER_ID);
        self.member_removed(id);
        ErrorCode::NONE
    }

    /// Remove members whose session ran out (`onExpireHeartbeat`). Members waiting in a join
    /// or sync phase are kept alive by their pending request, as in Kafka.
    fn expire_members(&mut self, id: &str) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        let before = group.members.len();
        group.members.retain(|_, m| {
            m.awaiting_join.is_some() || m.awaiting_sync.is_some() || m.session_deadline > now
        });
        if group.members.len() != before {
            self.member_removed(id);
        }
    }

    fn member_removed(&mut self, id: &str) {
        match self.groups[id].state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(id),
            GroupState::PreparingRebalance => self.complete_join(id, false),
            GroupState::Empty | GroupState::Dead => {}
        }
    }

    /// `validateOffsetCommit`: a commit from outside the group protocol (generation -1) needs
    /// an empty group; otherwise the member and generation must match, and a group completing
    /// a rebalance refuses (the assignment is about to change). Commits during
    /// `PreparingRebalance` are accepted so a member can commit before it rejoins.
    fn commit_error(&self, id: &str, generation: i32, member_id: &str) -> ErrorCode {
        if !self.is_coordinator(id) {
            return ErrorCode::NOT_COORDINATOR;
        }
        let Some(group) = self.groups.get(id) else {
            return if generation < 0 {
                ErrorCode::NONE
            } else {
                ErrorCode::ILLEGAL_GENERATION
            };
        };
        if generation < 0 && group.state == GroupState::Empty {
            return ErrorCode::NONE;
        }
        if !group.members.contains_key(member_id) {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        }
        if generation != group.generation {
            return ErrorCode::ILLEGAL_GENERATION;
        }
        if group.state == GroupState::CompletingRebalance {
            return ErrorCode::REBALANCE_IN_PROGRESS;
        }
        ErrorCode::NONE
    }

    fn commit(
        &mut self,
        id: &str,
        from: NodeId,
        correlation_id: CorrelationId,
        generation: i32,
        member_id: &str,
        offsets: Vec<(TopicPartition, CommittedOffset)>,
    ) {
        let error = self.commit_error(id, generation, member_id);
        if !error.is_ok() {
            let response = Message::OffsetCommitResponse(OffsetCommitResponse {
                correlation_id,
                error,
                offsets,
            });
            self.send(from, response);
            return;
        }
        let now = self.now;
        let group = self.groups.entry(id.to_owned()).or_insert_with(Group::new);
        if let Some(member) = group.members.get_mut(member_id) {
            member.session_deadline = now.plus_ms(member.stored.session_timeout_ms);
        }
        let records = offsets
            .iter()
            .map(|(tp, offset)| OffsetsRecord::Offset {
                group: id.to_owned(),
                tp: tp.clone(),
                offset: *offset,
            })
            .collect();
        let write = GroupWrite::Commit {
            to: from,
            correlation_id,
            group: id.to_owned(),
            offsets,
        };
        let partition = self.partition(id);
        self.effects.push(Effect::Append {
            partition,
            records,
            write,
        });
    }

    fn fetch_offsets(
        &mut self,
        id: &str,
        from: NodeId,
        correlation_id: CorrelationId,
        partitions: Vec<TopicPartition>,
    ) {
        let (error, offsets) = if self.is_coordinator(id) {
            let group = self.groups.get(id);
            let offsets = partitions
                .into_iter()
                .map(|tp| {
                    let offset = group.and_then(|g| g.committed_offset(&tp));
                    (tp, offset)
                })
                .collect();
            (ErrorCode::NONE, offsets)
        } else {
            (ErrorCode::NOT_COORDINATOR, Vec::new())
        };
        let response = Message::OffsetFetchResponse(OffsetFetchResponse {
            correlation_id,
            error,
            offsets,
        });
        self.send(from, response);
    }

    fn store(&mut self, id: &str, value: GroupValue, write: GroupWrite) {
        let partition = self.partition(id);
        let record = OffsetsRecord::Group {
            group: id.to_owned(),
            value,
        };
        self.effects.push(Effect::Append {
            partition,
            records: vec![record],
            write,
        });
    }

    fn answer_join_error(&mut self, member: &Member, error: ErrorCode) {
        if let Some((to, correlation_id)) = member.awaiting_join {
            let response = join_response(correlation_id, error, &member.stored.member_id);
            self.send(to, response);
        }
    }

    fn answer_sync(&mut self, member: &Member, error: ErrorCode, assignment: Vec<TopicPartition>) {
        if let Some((to, correlation_id)) = member.awaiting_sync {
            let response = Message::SyncGroupResponse(SyncGroupResponse {
                correlation_id,
                error,
                assignment,
            });
            self.send(to, response);
        }
    }
}

fn join_response(correlation_id: CorrelationId, error: ErrorCode, member_id: &str) -> Message {
    Message::JoinGroupResponse(JoinGroupResponse {
        correlation_id,
        error,
        generation: -1,
        protocol: None,
        leader: String::new(),
        member_id: member_id.to_owned(),
        members: Vec::new(),
    })
}

/// `ClassicGroup.selectProtocol`: among the protocols every member supports, each member votes
/// for the first of its own list; the most votes win (ties: the name first in order).
fn choose_protocol(members: &BTreeMap<String, Member>) -> Option<String> {
    let mut candidates: Option<BTreeSet<&String>> = None;
    for member in members.values() {
        let mine: BTreeSet<&String> = member.stored.protocols.iter().map(|p| &p.0).collect();
        candidates = Some(match candidates {
            None => mine,
            Some(c) => c.intersection(&mine).copied().collect(),
        });
    }
    let candidates = candidates?;
    let mut votes: BTreeMap<&String, u32> = BTreeMap::new();
    for member in members.values() {
        if let Some(p) = member
            .stored
            .protocols
            .iter()
            .find(|p| candidates.contains(&p.0))
        {
            *votes.entry(&p.0).or_default() += 1;
        }
    }
    let best = votes.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)));
    best.map(|(p, _)| (*p).clone())
}
