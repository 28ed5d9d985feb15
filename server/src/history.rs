//! A real client's operations, as its connection shows them, fed into the world's client
//! history: the checker then judges a real client exactly as it judges the lab's own
//! (`sim::checker`, `sim::findings`). There is no second checker here, only the translation of
//! what crossed the wire into `HistoryEntry`s:
//!
//! - a Produce's records are sends (`SendInvoked`); the broker's answer completes them:
//!   acknowledged at `base_offset + i`, failed, or unknown when the error may come after the
//!   append (`ErrorCode::may_have_been_written`), or when the connection closed first. acks=0
//!   counts as acknowledged at once with no offset, as the lab's producer does. The batch's
//!   acks and producer id (idempotence) weaken the run's promises as the same producer in a
//!   scenario would (`Promises::external_producer`).
//! - a Fetch answer's records from the fetch offset on are a poll (`Polled`). Where a fetch
//!   does not continue where the connection's previous one on that partition left off, the
//!   client chose a new position (a committed offset, a reset, a seek: the wire does not say
//!   which): `Positioned` with `PositionReason::Fetched`, so the checker promises it only what
//!   follows, and only as far as it fetched.
//! - a SyncGroup answer is the member's `Rebalanced`, an OffsetCommit answer its `Committed`,
//!   and the reads of a fetch connection tied to a real group are the group's, judged as a
//!   scenario group's are (`groups.rs` says what a real group is promised).
//!
//! Everything here is a function of the messages the engine injects and collects, so a
//! recorded session's replay feeds the same history.

use broker_core::{
    Acks, CorrelationId, ErrorCode, HistoryEntry, Message, NodeId, Offset, PositionReason,
    SendOutcome, Time, TopicPartition,
};
use bytes::Bytes;
use sim::World;
use std::collections::{BTreeMap, BTreeSet};

mod groups;
pub use groups::{RealGroups, Synced};

/// A Produce on its way: the partition and the values of its records, in order.
struct Sent {
    tp: TopicPartition,
    values: Vec<Bytes>,
}

/// A Fetch on its way: when it was sent, and each partition's fetch offset.
struct Fetching {
    invoked: Time,
    offsets: BTreeMap<TopicPartition, Offset>,
}

/// A SyncGroup on its way: the group, generation and member.
struct Syncing {
    group: String,
    generation: i32,
    member_id: String,
}

/// One connection's operations in flight, and where its reads left off.
#[derive(Default)]
pub struct Feeder {
    /// Each Produce in flight: its partitions.
    produces: BTreeMap<CorrelationId, Vec<Sent>>,
    fetches: BTreeMap<CorrelationId, Fetching>,
    syncs: BTreeMap<CorrelationId, Syncing>,
    /// Commits on their way: the group and the offsets.
    commits: BTreeMap<CorrelationId, (String, Vec<(TopicPartition, Offset)>)>,
    /// Per partition, the offset after the last record this connection was given.
    next: BTreeMap<TopicPartition, Offset>,
    /// Partitions the leader answered OFFSET_OUT_OF_RANGE: the client's reset policy (not on
    /// the wire) chooses its next position.
    out_of_range: BTreeSet<TopicPartition>,
    /// The last (acks, idempotent) this connection produced with, told to the world once.
    producer: Option<(Acks, bool)>,
    /// Who the client is, for the promises' reasons: its `client.id` once a request said it.
    pub client_id: Option<String>,
}

impl Feeder {
    /// The engine injected `message` from the client `node`.
    pub fn sent(
        &mut self,
        world: &mut World,
        groups: &mut RealGroups,
        node: NodeId,
        message: &Message,
    ) {
        match message {
            Message::Produce(broker_core::ProduceRequest {
                correlation_id,
                acks,
                partitions,
                ..
            }) => self.produce(world, node, *correlation_id, *acks, partitions),
            Message::Fetch(broker_core::FetchRequest {
                correlation_id,
                partitions,
                ..
            }) => {
                let mut offsets = BTreeMap::new();
                for p in partitions {
                    self.fetch_from(world, groups, node, &p.tp, p.fetch_offset);
                    offsets.insert(p.tp.clone(), p.fetch_offset);
                }
                let invoked = world.now();
                self.fetches
                    .insert(*correlation_id, Fetching { invoked, offsets });
            }
            Message::SyncGroup(broker_core::SyncGroupRequest {
                correlation_id,
                group,
                generation,
                member_id,
                ..
            }) => {
                let syncing = Syncing {
                    group: group.clone(),
                    generation: *generation,
                    member_id: member_id.clone(),
                };
                self.syncs.insert(*correlation_id, syncing);
            }
            Message::OffsetCommit(broker_core::OffsetCommitRequest {
                correlation_id,
                group,
                offsets,
                ..
            }) => {
                let offsets = offsets.iter().map(|(tp, c)| (tp.clone(), c.offset));
                self.commits
                    .insert(*correlation_id, (group.clone(), offsets.collect()));
            }
            _ => {}
        }
    }

    /// A Produce of several partitions: each partition's records enter the history, and wait
    /// for that partition's answer (acks=0: none comes, the client calls it a success).
    fn produce(
        &mut self,
        world: &mut World,
        node: NodeId,
        correlation_id: CorrelationId,
        acks: Acks,
        partitions: &[broker_core::PartitionProduceData],
    ) {
        let idempotent = partitions.iter().any(|p| p.batch.producer.is_some());
        if self.producer != Some((acks, idempotent)) {
            self.producer = Some((acks, idempotent));
            let who = match &self.client_id {
                Some(id) => id.clone(),
                None => world.name(node).to_owned(),
            };
            world.external_producer(&who, acks, idempotent);
        }
        let mut sent = Vec::with_capacity(partitions.len());
        for p in partitions {
            let values: Vec<Bytes> = p.batch.records.iter().filter_map(judged_identity).collect();
            for value in &values {
                let entry = HistoryEntry::SendInvoked {
                    value: value.clone(),
                    tp: p.tp.clone(),
                };
                world.external_history(node, entry);
            }
            sent.push(Sent {
                tp: p.tp.clone(),
                values,
            });
        }
        if acks == Acks::None {
            for s in sent {
                complete(world, node, s, |_| SendOutcome::Ok(None));
            }
        } else {
            self.produces.insert(correlation_id, sent);
        }
    }

    /// A fetch of `tp` from `offset`: where it does not continue this connection's reads, a
    /// new position (the group's, for a connection tied to a real group: `groups.rs`).
    fn fetch_from(
        &mut self,
        world: &mut World,
        groups: &mut RealGroups,
        node: NodeId,
        tp: &TopicPartition,
        offset: Offset,
    ) {
        let group = groups.reader(world, node, self.client_id.as_deref(), tp);
        if self.next.get(tp) == Some(&offset) {
            return;
        }
        let reset = self.out_of_range.remove(tp);
        let (at, reason) = match group {
            Some(group) if !reset => groups.position(&group, tp, offset),
            _ => (offset, PositionReason::Fetched),
        };
        let entry = HistoryEntry::Positioned {
            tp: tp.clone(),
            offset: at,
            reason,
        };
        world.external_history(node, entry);
        self.next.insert(tp.clone(), offset);
    }

    /// The broker answered the client `node` with `message`.
    pub fn answered(
        &mut self,
        world: &mut World,
        groups: &mut RealGroups,
        node: NodeId,
        message: &Message,
    ) {
        match message {
            Message::ProduceResponse(broker_core::ProduceResponse {
                correlation_id,
                partitions,
            }) => {
                let Some(mut sent) = self.produces.remove(correlation_id) else {
                    return;
                };
                for p in partitions {
                    let Some(at) = sent.iter().position(|s| s.tp == p.tp) else {
                        continue;
                    };
                    let error = p.error;
                    let base = p.base_offset.filter(|_| error.is_ok());
                    complete(world, node, sent.swap_remove(at), |i| match base {
                        Some(base) => SendOutcome::Ok(Some(base.plus(i as u64))),
                        None if error.is_ok() => SendOutcome::Ok(None),
                        None if error.may_have_been_written() => SendOutcome::Info(error),
                        None => SendOutcome::Fail(error),
                    });
                }
            }
            Message::FetchResponse(broker_core::FetchResponse {
                correlation_id,
                partitions,
            }) => {
                let Some(fetching) = self.fetches.remove(correlation_id) else {
                    return;
                };
                for p in partitions {
                    self.fetched(world, groups, node, &fetching, p);
                }
            }
            Message::SyncGroupResponse(broker_core::SyncGroupResponse {
                correlation_id,
                error,
                assignment,
            }) => {
                let Some(s) = self.syncs.remove(correlation_id) else {
                    return;
                };
                if error.is_ok() {
                    let synced = Synced {
                        node,
                        client_id: self.client_id.as_deref(),
                        group: &s.group,
                        generation: s.generation,
                        member_id: &s.member_id,
                        assigned: assignment.clone(),
                    };
                    groups.synced(world, synced);
                }
            }
            Message::OffsetCommitResponse(broker_core::OffsetCommitResponse {
                correlation_id,
                error,
                ..
            }) => {
                let Some((group, offsets)) = self.commits.remove(correlation_id) else {
                    return;
                };
                if error.is_ok() {
                    groups.committed(&group, &offsets);
                }
                let error = *error;
                let entry = HistoryEntry::Committed {
                    group,
                    offsets,
                    error,
                };
                world.external_history(node, entry);
            }
            _ => {}
        }
    }

    /// One partition of a fetch answer: its records from the fetch offset on are a poll.
    fn fetched(
        &mut self,
        world: &mut World,
        groups: &mut RealGroups,
        node: NodeId,
        fetching: &Fetching,
        p: &broker_core::FetchPartitionResponse,
    ) {
        if p.error == ErrorCode::OFFSET_OUT_OF_RANGE {
            self.out_of_range.insert(p.tp.clone());
        }
        let Some(&from) = fetching.offsets.get(&p.tp).filter(|_| p.error.is_ok()) else {
            return;
        };
        // A batch may begin before the fetch offset: the client drops those records.
        let records: Vec<(Offset, Bytes)> = p
            .batches
            .iter()
            .flat_map(|b| b.records_with_offsets())
            .filter(|(offset, _)| *offset >= from)
            .filter_map(|(offset, r)| Some((offset, judged_identity(r)?)))
            .collect();
        let Some(&(last, _)) = records.last() else {
            return;
        };
        self.next.insert(p.tp.clone(), last.next());
        if let Some(group) = groups.tied_group(node) {
            groups.read(&group, &p.tp, last.next());
        }
        let entry = HistoryEntry::Polled {
            tp: p.tp.clone(),
            records,
            invoked: fetching.invoked,
        };
        world.external_history(node, entry);
    }

    /// The connection closed: the sends still waiting for an answer may or may not have been
    /// written (the client sees `NETWORK_EXCEPTION`).
    pub fn closed(&mut self, world: &mut World, node: NodeId) {
        for sent in std::mem::take(&mut self.produces).into_values().flatten() {
            complete(world, node, sent, |_| {
                SendOutcome::Info(ErrorCode::NETWORK_EXCEPTION)
            });
        }
        self.fetches.clear();
    }
}

/// Complete every record of `sent`, record `i` with `outcome(i)`.
fn complete(world: &mut World, node: NodeId, sent: Sent, outcome: impl Fn(usize) -> SendOutcome) {
    for (i, value) in sent.values.into_iter().enumerate() {
        let entry = HistoryEntry::SendCompleted {
            value,
            tp: sent.tp.clone(),
            outcome: outcome(i),
        };
        world.external_history(node, entry);
    }
}

/// What identifies a real client's record to the checker: its value. A real client's tombstone
/// (null value) carries no identity the lab gave it, and every tombstone would look like one
/// record written many times: it is left out of the history, not judged.
fn judged_identity(record: &broker_core::Record) -> Option<Bytes> {
    record.value.clone().or_else(|| {
        let identity = record.identity();
        (!identity.is_empty()).then_some(identity)
    })
}

#[cfg(test)]
mod tests;
