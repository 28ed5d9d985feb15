//! The join phase of the classic protocol (`GroupMetadataManager.classicGroupJoin` and what it
//! calls): session timeout bounds, `MEMBER_ID_REQUIRED` for new dynamic members (KIP-394),
//! static members replaced in place (KIP-345), the initial rebalance delay
//! (`tryCompleteInitialRebalanceElseSchedule`), and forming a generation.

use super::*;

/// A `JoinGroup` request.
pub(super) struct Join {
    pub(super) from: NodeId,
    pub(super) correlation_id: CorrelationId,
    pub(super) client: String,
    pub(super) member_id: String,
    pub(super) group_instance_id: Option<String>,
    pub(super) session_timeout_ms: u64,
    pub(super) rebalance_timeout_ms: u64,
    pub(super) protocols: Vec<(String, Subscription)>,
}

/// The initial rebalance of a group that was `Empty` (`GroupMetadataManager.prepareRebalance`
/// and `tryCompleteInitialRebalanceElseSchedule`): it waits `delay_ms`; when that ends and a
/// member joined meanwhile, it waits `min(group.initial.rebalance.delay.ms, remaining_ms)`
/// more, where `remaining_ms` starts at the rebalance timeout minus the first delay and
/// shrinks by each delay waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InitialDelay {
    delay_ms: u64,
    remaining_ms: u64,
    /// `ClassicGroup.newMemberAdded`: a member joined since the delay started.
    new_member_added: bool,
}

impl GroupCoordinator {
    /// `GroupCoordinatorService.joinGroup` then `classicGroupJoinToClassicGroup`.
    pub(super) fn join(&mut self, id: &str, join: Join) {
        let error = self.join_error(id, &join);
        if !error.is_ok() {
            let response = join_response(join.correlation_id, error, &join.member_id);
            self.send(join.from, response);
            return;
        }
        let group = self.groups.entry(id.to_owned()).or_insert_with(Group::new);
        if join.member_id.is_empty() {
            self.member_seq += 1;
            let new_id = format!("{}-{}.{}", join.client, self.member_prefix, self.member_seq);
            let existing = join.group_instance_id.as_deref().and_then(|i| {
                let group = &self.groups[id];
                static_member_id(group, i).map(str::to_owned)
            });
            match (&join.group_instance_id, existing) {
                // `classicGroupJoinNewStaticMember`: the instance is known, replace it.
                (Some(_), Some(old)) => self.replace_static_member(id, old, new_id, join),
                (Some(_), None) => self.add_member(id, new_id, join),
                // `classicGroupJoinNewDynamicMember` (JoinGroup v4+, `requiresKnownMemberId`):
                // remember the id as pending and ask the member to join with it.
                (None, _) => {
                    let deadline = self.now.plus_ms(join.session_timeout_ms);
                    let group = self.groups.get_mut(id).expect("created");
                    group.pending.insert(new_id.clone(), deadline);
                    let error = ErrorCode::MEMBER_ID_REQUIRED;
                    let response = join_response(join.correlation_id, error, &new_id);
                    self.send(join.from, response);
                }
            }
        } else if group.pending.remove(&join.member_id).is_some() {
            let member_id = join.member_id.clone();
            self.add_member(id, member_id, join);
        } else {
            self.update_member(id, join);
        }
    }

    /// Why a `JoinGroup` is refused, or `NONE`.
    fn join_error(&self, id: &str, join: &Join) -> ErrorCode {
        // `GroupCoordinatorService.joinGroup` checks the bounds before anything else.
        let bounds = self.config.min_session_timeout_ms..=self.config.max_session_timeout_ms;
        if !bounds.contains(&join.session_timeout_ms) {
            return ErrorCode::INVALID_SESSION_TIMEOUT;
        }
        if !self.is_coordinator(id) {
            return ErrorCode::NOT_COORDINATOR;
        }
        let Some(group) = self.groups.get(id) else {
            return if join.member_id.is_empty() {
                ErrorCode::NONE
            } else {
                ErrorCode::UNKNOWN_MEMBER_ID
            };
        };
        let known = group.members.contains_key(&join.member_id);
        if !join.member_id.is_empty() && !known && !group.pending.contains_key(&join.member_id) {
            return ErrorCode::UNKNOWN_MEMBER_ID;
        }
        // `ClassicGroup.validateMember`: a known member id that claims an instance id must be
        // the member that instance maps to.
        if let (true, Some(instance)) = (known, &join.group_instance_id) {
            match static_member_id(group, instance) {
                None => return ErrorCode::UNKNOWN_MEMBER_ID,
                Some(m) if m != join.member_id => return ErrorCode::FENCED_INSTANCE_ID,
                Some(_) => {}
            }
        }
        let others = group
            .members
            .values()
            .filter(|m| m.stored.member_id != join.member_id);
        let common: BTreeSet<&String> = join.protocols.iter().map(|p| &p.0).collect();
        let mut others = others.peekable();
        if others.peek().is_some()
            && !others.all(|m| m.stored.protocols.iter().any(|p| common.contains(&p.0)))
        {
            return ErrorCode::INCONSISTENT_GROUP_PROTOCOL;
        }
        ErrorCode::NONE
    }

    /// `addMemberThenRebalanceOrCompleteJoin`.
    fn add_member(&mut self, id: &str, member_id: String, join: Join) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        let member = Member {
            stored: StoredMember {
                member_id: member_id.clone(),
                client: join.client,
                group_instance_id: join.group_instance_id,
                session_timeout_ms: join.session_timeout_ms,
                rebalance_timeout_ms: join.rebalance_timeout_ms,
                protocols: join.protocols,
                assignment: Vec::new(),
            },
            session_deadline: now.plus_ms(join.session_timeout_ms),
            awaiting_join: Some((join.from, join.correlation_id)),
            awaiting_sync: None,
        };
        group.members.insert(member_id, member);
        if let Some(delay) = group.initial_delay.as_mut() {
            delay.new_member_added = true;
        }
        match group.state {
            GroupState::PreparingRebalance => self.complete_join(id, false),
            _ => self.prepare_rebalance(id),
        }
    }

    /// `classicGroupJoinExistingMember`: a known member rejoining with the same protocols
    /// (it missed the JoinGroup response) gets the current generation back; in `Stable` the
    /// leader's rejoin rebalances (it may see new partitions), as do new protocols.
    fn update_member(&mut self, id: &str, join: Join) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        let member_id = join.member_id;
        let member = group.members.get_mut(&member_id).expect("validated");
        let changed = member.stored.protocols != join.protocols;
        member.stored.protocols = join.protocols;
        member.stored.session_timeout_ms = join.session_timeout_ms;
        member.stored.rebalance_timeout_ms = join.rebalance_timeout_ms;
        member.session_deadline = now.plus_ms(join.session_timeout_ms);
        member.awaiting_join = Some((join.from, join.correlation_id));
        let is_leader = group.leader.as_deref() == Some(member_id.as_str());
        match group.state {
            GroupState::PreparingRebalance => self.complete_join(id, false),
            GroupState::CompletingRebalance | GroupState::Stable
                if !changed && (group.state == GroupState::CompletingRebalance || !is_leader) =>
            {
                let member = group.members.get_mut(&member_id).expect("joined");
                member.awaiting_join = None;
                let response = self.current_generation(id, &member_id, join.correlation_id);
                self.send(join.from, response);
            }
            _ => self.prepare_rebalance(id),
        }
    }

    /// `updateStaticMemberThenRebalanceOrCompleteJoin` with `ClassicGroup.replaceStaticMember`:
    /// the restarted instance takes the old member's place, assignment and leadership under a
    /// new member id; whoever still waits under the old id is fenced. In `Stable`, with the
    /// same protocol, nothing rebalances: the group record is stored and the member gets the
    /// current generation back.
    fn replace_static_member(&mut self, id: &str, old: String, new: String, join: Join) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        let mut member = group.members.remove(&old).expect("a static member");
        let fenced = member.clone();
        member.stored.member_id = new.clone();
        member.stored.protocols = join.protocols;
        member.stored.session_timeout_ms = join.session_timeout_ms;
        member.stored.rebalance_timeout_ms = join.rebalance_timeout_ms;
        member.session_deadline = now.plus_ms(join.session_timeout_ms);
        member.awaiting_join = Some((join.from, join.correlation_id));
        member.awaiting_sync = None;
        group.members.insert(new.clone(), member);
        if group.leader.as_deref() == Some(old.as_str()) {
            group.leader = Some(new.clone());
        }
        let state = group.state;
        let same_protocol = choose_protocol(&group.members) == group.protocol;
        self.answer_join_error(&fenced, ErrorCode::FENCED_INSTANCE_ID);
        self.answer_sync(&fenced, ErrorCode::FENCED_INSTANCE_ID, Vec::new());
        match state {
            GroupState::Stable if same_protocol => {
                let value = self.groups[id].value();
                let write = GroupWrite::StaticJoin {
                    group: id.to_owned(),
                    old_member_id: old,
                    new_member_id: new,
                };
                self.store(id, value, write);
            }
            // In `CompletingRebalance` the leader may have assigned to the old id: rebalance.
            GroupState::PreparingRebalance => self.complete_join(id, false),
            _ => self.prepare_rebalance(id),
        }
    }

    /// The group record naming a replaced static member is stored (or not).
    pub(super) fn static_join_stored(&mut self, id: &str, old: &str, new: &str, error: ErrorCode) {
        let now = self.now;
        let Some(group) = self.groups.get_mut(id) else {
            return;
        };
        let Some(member) = group.members.get_mut(new) else {
            return;
        };
        let Some((to, correlation_id)) = member.awaiting_join.take() else {
            return; // a rebalance answered it already
        };
        if error.is_ok() {
            member.session_deadline = now.plus_ms(member.stored.session_timeout_ms);
            let response = self.current_generation(id, new, correlation_id);
            self.send(to, response);
            return;
        }
        // The append failed: put the old member id back, as Kafka reverts the replacement.
        let mut member = group.members.remove(new).expect("present");
        member.stored.member_id = old.to_owned();
        group.members.insert(old.to_owned(), member);
        if group.leader.as_deref() == Some(new) {
            group.leader = Some(old.to_owned());
        }
        self.send(to, join_response(correlation_id, error, ""));
    }

    /// The initial delay ended: wait once more if a member joined meanwhile and time remains
    /// (`tryCompleteInitialRebalanceElseSchedule`); false when the join phase should complete.
    pub(super) fn extend_initial_delay(&mut self, id: &str) -> bool {
        let now = self.now;
        let configured = self.config.initial_rebalance_delay_ms;
        let group = self.groups.get_mut(id).expect("exists");
        let Some(delay) = group.initial_delay.as_mut() else {
            return false;
        };
        if !delay.new_member_added || delay.remaining_ms == 0 {
            return false;
        }
        let next_ms = configured.min(delay.remaining_ms);
        *delay = InitialDelay {
            delay_ms: next_ms,
            remaining_ms: delay.remaining_ms.saturating_sub(delay.delay_ms),
            new_member_added: false,
        };
        group.deadline = Some(now.plus_ms(next_ms));
        true
    }

    /// `prepareRebalance`: every member must rejoin. A group that was `Empty` first waits
    /// `group.initial.rebalance.delay.ms` for more members (with a delay of 0 the lab
    /// completes at once, where Kafka's zero-delay timer would fire in the same millisecond).
    pub(super) fn prepare_rebalance(&mut self, id: &str) {
        let now = self.now;
        let delay = self.config.initial_rebalance_delay_ms;
        let group = self.groups.get_mut(id).expect("exists");
        if group.state == GroupState::CompletingRebalance {
            // `resetAndPropagateAssignmentError`: waiting syncs learn the generation is over.
            let waiting: Vec<Member> = group.members.values().cloned().collect();
            for member in group.members.values_mut() {
                member.awaiting_sync = None;
            }
            for member in &waiting {
                self.answer_sync(member, ErrorCode::REBALANCE_IN_PROGRESS, Vec::new());
            }
        }
        let group = self.groups.get_mut(id).expect("exists");
        let was_empty = group.state == GroupState::Empty;
        group.state = GroupState::PreparingRebalance;
        group.sync_in_flight = false;
        if was_empty && delay > 0 {
            let remaining_ms = group.rebalance_timeout_ms().saturating_sub(delay);
            group.initial_delay = Some(InitialDelay {
                delay_ms: delay,
                remaining_ms,
                new_member_added: false,
            });
            group.deadline = Some(now.plus_ms(delay));
        } else {
            group.initial_delay = None;
            group.deadline = Some(now.plus_ms(group.rebalance_timeout_ms()));
        }
        self.state_changed(id);
        self.complete_join(id, false);
    }

    /// Dynamic members that never came back with their member id are forgotten
    /// (`expireClassicGroupMemberHeartbeat` on a pending member); a join phase waiting for
    /// them may complete.
    pub(super) fn expire_pending(&mut self, id: &str) {
        let now = self.now;
        let group = self.groups.get_mut(id).expect("exists");
        let before = group.pending.len();
        group.pending.retain(|_, deadline| *deadline > now);
        if group.pending.len() != before && group.state == GroupState::PreparingRebalance {
            self.complete_join(id, false);
        }
    }

    /// `tryCompleteJoin` / `onCompleteJoin`: once every member has rejoined and no pending
    /// member is still on its way (`ClassicGroup.hasAllMembersJoined`), or the phase's
    /// deadline passed (removing those that did not), form the next generation.
    pub(super) fn complete_join(&mut self, id: &str, deadline_passed: bool) {
        let group = self.groups.get_mut(id).expect("exists");
        if group.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined =
            group.members.values().all(|m| m.awaiting_join.is_some()) && group.pending.is_empty();
        let delaying = group.initial_delay.is_some();
        if !deadline_passed && (delaying || !all_joined) {
            return;
        }
        group.members.retain(|_, m| m.awaiting_join.is_some());
        group.generation += 1;
        group.initial_delay = None;
        group.protocol = choose_protocol(&group.members);
        if group
            .leader
            .as_ref()
            .is_none_or(|l| !group.members.contains_key(l))
        {
            group.leader = group.members.keys().next().cloned();
        }
        if group.members.is_empty() {
            group.state = GroupState::Empty;
            group.deadline = None;
            group.leader = None;
            let value = group.value();
            self.store(id, value, GroupWrite::Nothing);
            self.state_changed(id);
            return;
        }
        group.state = GroupState::CompletingRebalance;
        group.deadline = Some(self.now.plus_ms(group.rebalance_timeout_ms()));
        let joined: Vec<(String, (NodeId, CorrelationId))> = group
            .members
            .iter_mut()
            .map(|(m, member)| (m.clone(), member.awaiting_join.take().expect("all joined")))
            .collect();
        for member in group.members.values_mut() {
            member.session_deadline = self.now.plus_ms(member.stored.session_timeout_ms);
        }
        self.state_changed(id);
        for (member_id, (to, correlation_id)) in joined {
            let response = self.current_generation(id, &member_id, correlation_id);
            self.send(to, response);
        }
    }
}

/// `ClassicGroup.staticMemberId`: the member id `instance` maps to.
fn static_member_id<'a>(group: &'a Group, instance: &str) -> Option<&'a str> {
    group
        .members
        .values()
        .find(|m| m.stored.group_instance_id.as_deref() == Some(instance))
        .map(|m| m.stored.member_id.as_str())
}
