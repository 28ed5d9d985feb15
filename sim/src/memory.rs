//! What a world holds, by component, for `kafka-lab bench`: the partition logs and the disks
//! (which retention bounds) apart from the trace and the client history (which grow with the
//! run, issue 20), and the event queue. Estimated heap bytes, from the sizes and capacities of
//! the structures and of the keys and values they point to (the allocator's own overhead
//! aside). Record batches are shared (`Arc`): one batch can be in a leader's log, its
//! followers' logs, several disks' files and traced messages at once. Each of `logs` and
//! `disks` counts every batch it points to; `unique_batches` counts each allocation once,
//! traced batches included. [`Held::accounted`] adds the components without counting anything
//! twice: `bench` prints it beside the heap the allocator reports, so what no account explains
//! shows.

use crate::trace::TraceKind;
use crate::world::{HistoryRecord, World};
use broker_core::io::DiskEntry;
use broker_core::{BatchData, HistoryEntry, Offset, Record, RecordBatch};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::mem::{size_of, size_of_val};

/// Estimated heap bytes a world holds, by component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// Record batches in the replicas' logs (every broker's).
    pub logs: u64,
    /// Record batches in the disks' segment files (page cache and durable copies).
    pub disks: u64,
    /// Every distinct batch any of the logs, disks or the trace points to, counted once.
    pub unique_batches: u64,
    /// The trace's entries (its vector's capacity; the batches traced messages carry are in
    /// `unique_batches`, and the heap inside teaching events is left out: names and lists,
    /// small beside the entries).
    pub trace: u64,
    /// The client history: its vector's capacity, each poll's list of records, and each
    /// write's value once (the allocation its `SendInvoked` points to, shared by its
    /// `SendCompleted` and the polls that read it).
    pub history: u64,
    /// The event queue: its heap and the slab of pending events (a message's own heap
    /// aside: its batches are the logs' and counted there).
    pub queue: u64,
}

impl Held {
    /// The components added up, each allocation once: the distinct batches, the trace, the
    /// history and the queue. What the nodes' own state (replicas' indexes, producer state,
    /// group offsets, clients' queues), the disks' vectors and the allocator's overhead hold
    /// is not in it.
    pub fn accounted(&self) -> u64 {
        self.unique_batches + self.trace + self.history + self.queue
    }
}

/// A batch's heap: its header, its records and their keys, values and headers.
fn batch_bytes(batch: &RecordBatch) -> u64 {
    let records: usize = batch
        .records
        .iter()
        .map(|r| {
            let headers: usize = r.headers.iter().map(|(k, v)| k.len() + v.len() + 48).sum();
            size_of::<Record>() + r.key.as_ref().map_or(0, |k| k.len()) + r.value_len() + headers
        })
        .sum();
    (size_of::<BatchData>() + records) as u64
}

/// Adds `batch` to a component's count and, the first time it is seen, to the unique count.
fn count(batch: &RecordBatch, component: &mut u64, seen: &mut BTreeSet<usize>, unique: &mut u64) {
    let bytes = batch_bytes(batch);
    *component += bytes;
    // The allocation's address identifies it (a measurement only: it shapes nothing).
    if seen.insert(&**batch as *const BatchData as usize) {
        *unique += bytes;
    }
}

/// A value's own allocation: its bytes and, once it is shared (the history and the log hold
/// it), the `bytes` crate's shared header (a buffer pointer, a capacity, a count).
fn value_bytes(value: &Bytes) -> usize {
    value.len() + 3 * size_of::<usize>()
}

/// The heap one history record points to beyond its own slot in the history's vector.
fn history_heap(record: &HistoryRecord) -> usize {
    match &record.entry {
        HistoryEntry::SendInvoked { value, .. } => value_bytes(value),
        HistoryEntry::Polled { records, .. } => records.capacity() * size_of::<(Offset, Bytes)>(),
        HistoryEntry::Committed { group, offsets, .. } => {
            group.capacity()
                + offsets.capacity() * size_of::<(broker_core::TopicPartition, Offset)>()
        }
        HistoryEntry::Rebalanced(rebalance) => size_of_val(&**rebalance),
        _ => 0,
    }
}

impl World {
    /// What the world holds now, by component.
    pub fn held(&self) -> Held {
        let mut held = Held::default();
        let mut seen = BTreeSet::new();
        for (id, _, node) in self.nodes() {
            if let Some(broker) = node.and_then(|n| n.as_broker()) {
                for replica in broker.replicas().values() {
                    for batch in replica.log.batches() {
                        count(batch, &mut held.logs, &mut seen, &mut held.unique_batches);
                    }
                }
            }
            for entries in self.disk(id).image().files.values() {
                for entry in entries {
                    if let DiskEntry::Batch(batch) = entry {
                        count(batch, &mut held.disks, &mut seen, &mut held.unique_batches);
                    }
                }
            }
        }
        held.trace = (self.trace.capacity() * size_of::<crate::trace::TraceEntry>()) as u64;
        let mut traced = 0;
        for entry in self.trace() {
            if let TraceKind::Sent { records, .. } = &entry.kind {
                for traced_batch in records {
                    let batch = &traced_batch.batch;
                    count(batch, &mut traced, &mut seen, &mut held.unique_batches);
                }
            }
        }
        let slots = self.history.capacity() * size_of::<HistoryRecord>();
        let heap: usize = self.history.iter().map(history_heap).sum();
        held.history = (slots + heap) as u64;
        held.queue = self.queue_heap();
        held
    }
}

impl World {
    /// Runs to the end of the drain phase keeping only the latest `keep` trace entries (at
    /// most `2 × keep` at any time: each entry is moved at most once), as `serve` does
    /// (`World::forget_old_trace`): for a long run whose whole trace nobody reads (`bench`).
    /// The fingerprint and the history are those of [`World::run_to_end`].
    pub fn run_to_end_keeping_trace(&mut self, keep: usize) {
        let most = keep.saturating_mul(2).max(1);
        loop {
            let more = self.step();
            // Checked after the last step too: the step that ends the run may trace as well.
            if self.trace.len() >= most {
                self.forget_old_trace(keep);
            }
            if !more {
                return;
            }
        }
    }
}
