//! What a world holds, by component, for `kafka-lab bench`: the partition logs and the disks
//! (which retention bounds) apart from the trace and the client history (which grow with the
//! run, issue 20). Estimated heap bytes, from the sizes of the structures and of the keys and
//! values they point to. Record batches are shared (`Arc`): one batch can be in a leader's log,
//! its followers' logs, several disks' files and traced messages at once. Each component counts
//! every batch it points to; `unique_batches` counts each allocation once.

use crate::trace::TraceKind;
use crate::world::{HistoryRecord, World};
use broker_core::io::DiskEntry;
use broker_core::{BatchData, HistoryEntry, Record, RecordBatch};
use std::collections::BTreeSet;
use std::mem::size_of;

/// Estimated heap bytes a world holds, by component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Held {
    /// Record batches in the replicas' logs (every broker's).
    pub logs: u64,
    /// Record batches in the disks' segment files (page cache and durable copies).
    pub disks: u64,
    /// Every distinct batch any of the logs, disks or the trace points to, counted once.
    pub unique_batches: u64,
    /// The trace: its entries and the batches traced messages carry.
    pub trace: u64,
    /// The client history: its entries and the values they name.
    pub history: u64,
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

fn history_bytes(record: &HistoryRecord) -> u64 {
    let values: usize = match &record.entry {
        HistoryEntry::SendInvoked { value, .. } | HistoryEntry::SendCompleted { value, .. } => {
            value.len()
        }
        HistoryEntry::Polled { records, .. } => records
            .iter()
            .map(|(_, v)| size_of::<(broker_core::Offset, bytes::Bytes)>() + v.len())
            .sum(),
        _ => 0,
    };
    (size_of::<HistoryRecord>() + values) as u64
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
        held.trace = std::mem::size_of_val(self.trace()) as u64;
        for entry in self.trace() {
            if let TraceKind::Sent { records, .. } = &entry.kind {
                for traced in records {
                    let batch = &traced.batch;
                    count(batch, &mut held.trace, &mut seen, &mut held.unique_batches);
                }
            }
        }
        held.history = self.history().iter().map(history_bytes).sum();
        held
    }
}
