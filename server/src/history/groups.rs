//! Real consumer groups, judged as groups: the lab's checker reads a group as one reader (its
//! members hand partitions over through commits), so a real group's members must enter the
//! history as a scenario group's do (`Rebalanced`, `Committed`), and their reads as the group's.
//!
//! A real client's group requests (JoinGroup, SyncGroup, OffsetCommit) go to the coordinator
//! over one connection, its fetches to the leaders over others, and nothing on the wire ties
//! them but the `client.id`. A fetch connection is tied to a group on its first fetch of a
//! partition that exactly one group has assigned to a member of the same `client.id`; from then
//! on its reads are the group's. A fetch connection that ties to no group (or to several) stays
//! its own reader, as before.
//!
//! What a real group is promised, and only that: when a member takes a partition over where the
//! group's last acknowledged commit put it (at or past it, and the group had read that far),
//! everything from that commit on. Kafka's consumer starts an assigned partition at the
//! group's committed offset (`ConsumerCoordinator.refreshCommittedOffsetsIfNeeded`); no config
//! moves it past, only the application's `seek()` or an out-of-range reset, which the wire does
//! not show: the verdict says so. Without a commit, `auto.offset.reset` chose the position and
//! the client's config is not on the wire: nothing before it is promised. A record read again
//! after a rebalance is `redelivery` (allowed: when a client commits is its choice).

use broker_core::{HistoryEntry, NodeId, Offset, PositionReason, Rebalance, TopicPartition};
use sim::World;
use std::collections::BTreeMap;

/// A member as its last SyncGroup answer left it.
struct Member {
    client_id: Option<String>,
    generation: i32,
    assigned: Vec<TopicPartition>,
}

/// One real group.
#[derive(Default)]
struct Group {
    members: BTreeMap<String, Member>,
    /// The last acknowledged commit per partition.
    committed: BTreeMap<TopicPartition, Offset>,
    /// Per partition, the offset after the last record a tied connection read.
    reached: BTreeMap<TopicPartition, Offset>,
}

/// The session's real groups, and the fetch connections tied to them.
#[derive(Default)]
pub struct RealGroups {
    groups: BTreeMap<String, Group>,
    tied: BTreeMap<NodeId, String>,
}

/// A SyncGroup answered: who, in which group and generation, got what.
pub struct Synced<'a> {
    /// The coordinator connection's node.
    pub node: NodeId,
    /// Its `client.id`.
    pub client_id: Option<&'a str>,
    /// The group.
    pub group: &'a str,
    /// The generation.
    pub generation: i32,
    /// The member.
    pub member_id: &'a str,
    /// Its new assignment.
    pub assigned: Vec<TopicPartition>,
}

impl RealGroups {
    /// A member's SyncGroup was answered: its assignment changed, as a scenario member's
    /// `Rebalanced` says (what it gained and gave up).
    pub fn synced(&mut self, world: &mut World, s: Synced<'_>) {
        let group = self.groups.entry(s.group.to_owned()).or_default();
        let member = Member {
            client_id: s.client_id.map(str::to_owned),
            generation: s.generation,
            assigned: s.assigned.clone(),
        };
        let before = group
            .members
            .insert(s.member_id.to_owned(), member)
            .map(|m| m.assigned)
            .unwrap_or_default();
        let rebalance = Rebalance {
            group: s.group.to_owned(),
            generation: s.generation,
            member_id: s.member_id.to_owned(),
            assigned: minus(&s.assigned, &before),
            revoked: minus(&before, &s.assigned),
            lost: Vec::new(),
        };
        world.external_history(s.node, HistoryEntry::Rebalanced(Box::new(rebalance)));
    }

    /// A commit of `group` was acknowledged.
    pub fn committed(&mut self, group: &str, offsets: &[(TopicPartition, Offset)]) {
        let group = self.groups.entry(group.to_owned()).or_default();
        for (tp, offset) in offsets {
            group.committed.insert(tp.clone(), *offset);
        }
    }

    /// The group the fetch connection `node` reads `tp` for, if any: tied on its first fetch
    /// of a partition one group assigned to a member of its `client.id` (the tie enters the
    /// history as a `Rebalanced` of that connection).
    pub fn reader(
        &mut self,
        world: &mut World,
        node: NodeId,
        client_id: Option<&str>,
        tp: &TopicPartition,
    ) -> Option<String> {
        if let Some(group) = self.tied.get(&node) {
            return Some(group.clone());
        }
        let mut owners = self.groups.iter().filter_map(|(name, g)| {
            let m = g
                .members
                .iter()
                .find(|(_, m)| m.client_id.as_deref() == client_id && m.assigned.contains(tp))?;
            Some((name, m))
        });
        let (name, (member_id, member)) = owners.next()?;
        if owners.next().is_some() {
            return None;
        }
        let rebalance = Rebalance {
            group: name.clone(),
            generation: member.generation,
            member_id: member_id.clone(),
            assigned: vec![tp.clone()],
            revoked: Vec::new(),
            lost: Vec::new(),
        };
        let name = name.clone();
        world.external_history(node, HistoryEntry::Rebalanced(Box::new(rebalance)));
        self.tied.insert(node, name.clone());
        Some(name)
    }

    /// The group the connection `node` is tied to.
    pub fn tied_group(&self, node: NodeId) -> Option<String> {
        self.tied.get(&node).cloned()
    }

    /// Where a member of `group` that starts fetching `tp` at `offset` is positioned, and why:
    /// at the group's last acknowledged commit when it starts there or past it and the group
    /// had read that far (see the module's doc), else where it fetched, promised nothing
    /// before it.
    pub fn position(
        &self,
        group: &str,
        tp: &TopicPartition,
        offset: Offset,
    ) -> (Offset, PositionReason) {
        let g = self.groups.get(group);
        let committed = g.and_then(|g| g.committed.get(tp)).copied();
        let reached = g.and_then(|g| g.reached.get(tp)).copied();
        match (committed, reached) {
            (Some(c), Some(r)) if c <= r && c <= offset => (c, PositionReason::Committed),
            _ => (offset, PositionReason::Fetched),
        }
    }

    /// A tied connection of `group` read `tp` up to `next` (exclusive).
    pub fn read(&mut self, group: &str, tp: &TopicPartition, next: Offset) {
        if let Some(g) = self.groups.get_mut(group) {
            let reached = g.reached.entry(tp.clone()).or_default();
            *reached = (*reached).max(next);
        }
    }

    /// The real groups by name, each with the nodes of its tied fetch connections.
    pub fn tied(&self) -> BTreeMap<&str, Vec<NodeId>> {
        let mut out: BTreeMap<&str, Vec<NodeId>> = self
            .groups
            .keys()
            .map(|g| (g.as_str(), Vec::new()))
            .collect();
        for (node, group) in &self.tied {
            out.entry(group.as_str()).or_default().push(*node);
        }
        out
    }
}

fn minus(a: &[TopicPartition], b: &[TopicPartition]) -> Vec<TopicPartition> {
    a.iter().filter(|tp| !b.contains(tp)).cloned().collect()
}
