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
//!
//! Everything here is a function of the messages the engine injects and collects, so a
//! recorded session's replay feeds the same history.

use broker_core::{
    Acks, CorrelationId, ErrorCode, HistoryEntry, Message, NodeId, Offset, PositionReason,
    SendOutcome, Time, TopicPartition,
};
use bytes::Bytes;
use sim::World;
use std::collections::BTreeMap;

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

/// One connection's operations in flight, and where its reads left off.
#[derive(Default)]
pub struct Feeder {
    /// Each Produce in flight: its partitions.
    produces: BTreeMap<CorrelationId, Vec<Sent>>,
    fetches: BTreeMap<CorrelationId, Fetching>,
    /// Per partition, the offset after the last record this connection was given.
    next: BTreeMap<TopicPartition, Offset>,
    /// The last (acks, idempotent) this connection produced with, told to the world once.
    producer: Option<(Acks, bool)>,
    /// Who the client is, for the promises' reasons: its `client.id` once a request said it.
    pub client_id: Option<String>,
}

impl Feeder {
    /// The engine injected `message` from the client `node`.
    pub fn sent(&mut self, world: &mut World, node: NodeId, message: &Message) {
        match message {
            Message::Produce(broker_core::ProduceRequest {
                correlation_id,
                acks,
                partitions,
                ..
            }) => {
                let idempotent = partitions.iter().any(|p| p.batch.producer.is_some());
                if self.producer != Some((*acks, idempotent)) {
                    self.producer = Some((*acks, idempotent));
                    let who = match &self.client_id {
                        Some(id) => id.clone(),
                        None => world.name(node).to_owned(),
                    };
                    world.external_producer(&who, *acks, idempotent);
                }
                let mut sent = Vec::with_capacity(partitions.len());
                for p in partitions {
                    let values: Vec<Bytes> =
                        p.batch.records.iter().filter_map(judged_identity).collect();
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
                if *acks == Acks::None {
                    // acks=0: no answer comes; the client calls it a success.
                    for s in sent {
                        complete(world, node, s, |_| SendOutcome::Ok(None));
                    }
                } else {
                    self.produces.insert(*correlation_id, sent);
                }
            }
            Message::Fetch(broker_core::FetchRequest {
                correlation_id,
                partitions,
                ..
            }) => {
                let mut offsets = BTreeMap::new();
                for p in partitions {
                    if self.next.get(&p.tp) != Some(&p.fetch_offset) {
                        let entry = HistoryEntry::Positioned {
                            tp: p.tp.clone(),
                            offset: p.fetch_offset,
                            reason: PositionReason::Fetched,
                        };
                        world.external_history(node, entry);
                        self.next.insert(p.tp.clone(), p.fetch_offset);
                    }
                    offsets.insert(p.tp.clone(), p.fetch_offset);
                }
                let invoked = world.now();
                self.fetches
                    .insert(*correlation_id, Fetching { invoked, offsets });
            }
            _ => {}
        }
    }

    /// The broker answered the client `node` with `message`.
    pub fn answered(&mut self, world: &mut World, node: NodeId, message: &Message) {
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
                for p in partitions.iter().filter(|p| p.error.is_ok()) {
                    let Some(&from) = fetching.offsets.get(&p.tp) else {
                        continue;
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
                        continue;
                    };
                    self.next.insert(p.tp.clone(), last.next());
                    let entry = HistoryEntry::Polled {
                        tp: p.tp.clone(),
                        records,
                        invoked: fetching.invoked,
                    };
                    world.external_history(node, entry);
                }
            }
            _ => {}
        }
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
