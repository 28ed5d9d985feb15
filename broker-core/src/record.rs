//! Records and record batches, the unit of replication.
//!
//! A `RecordBatch` is a pointer to an immutable, shared `BatchData`: the leader's log, its
//! followers' logs, every disk image and every message carrying the batch hold the same
//! allocation. Setting a field (the leader assigns the base offset and epoch before anyone else
//! sees the batch) copies only if it is shared (`Arc::make_mut`).

use crate::types::{LeaderEpoch, Offset, ProducerId};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One record: key, value, timestamp and headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Bytes,
    /// The producer's create time.
    pub timestamp_ms: u64,
    /// Record headers.
    pub headers: Vec<(Arc<str>, Bytes)>,
}

/// The producer fields of a batch (`RecordBatch` v2): present only for idempotent producers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerFields {
    /// The producer id.
    pub producer_id: ProducerId,
    /// The producer epoch.
    pub producer_epoch: u16,
    /// The sequence of the first record of the batch, per partition.
    pub base_sequence: i32,
}

/// A batch of records as stored in a partition log: a shared `BatchData`, read through `Deref`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordBatch(Arc<BatchData>);

impl std::ops::Deref for RecordBatch {
    type Target = BatchData;
    fn deref(&self) -> &BatchData {
        &self.0
    }
}

impl std::ops::DerefMut for RecordBatch {
    fn deref_mut(&mut self) -> &mut BatchData {
        Arc::make_mut(&mut self.0)
    }
}

/// The contents of a record batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchData {
    /// The offset of the first record (assigned by the leader).
    pub base_offset: Offset,
    /// The epoch of the leader that appended the batch (`partitionLeaderEpoch`).
    pub leader_epoch: LeaderEpoch,
    /// Set for batches of an idempotent producer.
    pub producer: Option<ProducerFields>,
    /// The records, shared between replicas.
    pub records: Arc<[Record]>,
    /// CRC-32C over the producer fields and the records. As in Kafka, base offset and leader
    /// epoch are outside the CRC because the broker assigns them after the producer computed it.
    pub crc: u32,
}

impl RecordBatch {
    /// A new batch of `records` whose CRC is computed now.
    pub fn new(producer: Option<ProducerFields>, records: Vec<Record>) -> RecordBatch {
        assert!(!records.is_empty(), "a batch holds at least one record");
        let records: Arc<[Record]> = records.into();
        let crc = compute_crc(producer.as_ref(), &records);
        RecordBatch(Arc::new(BatchData {
            base_offset: Offset(0),
            leader_epoch: LeaderEpoch(0),
            producer,
            records,
            crc,
        }))
    }

    /// The number of records.
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// Always false: a batch holds at least one record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The offset of the last record.
    pub fn last_offset(&self) -> Offset {
        Offset(self.base_offset.0 + self.len() - 1)
    }

    /// The offset after the last record.
    pub fn next_offset(&self) -> Offset {
        self.base_offset.plus(self.len())
    }

    /// Whether the stored CRC matches the contents: false for a torn or corrupted batch.
    pub fn is_valid(&self) -> bool {
        !self.records.is_empty() && compute_crc(self.producer.as_ref(), &self.records) == self.crc
    }

    /// The sequence number of the last record, for idempotent batches.
    pub fn last_sequence(&self) -> Option<i32> {
        let producer = self.producer?;
        // Sequences wrap at i32::MAX as in Kafka's DefaultRecordBatch.incrementSequence.
        let last = i64::from(producer.base_sequence) + self.len() as i64 - 1;
        Some((last % (i64::from(i32::MAX) + 1)) as i32)
    }

    /// A copy that lost its last records, as a power failure tears a write; the CRC is kept so
    /// that recovery detects the tear.
    pub fn torn(&self, records_kept: usize) -> RecordBatch {
        let kept: Vec<Record> = self.records.iter().take(records_kept).cloned().collect();
        RecordBatch(Arc::new(BatchData {
            records: kept.into(),
            ..BatchData::clone(self)
        }))
    }
}

fn compute_crc(producer: Option<&ProducerFields>, records: &[Record]) -> u32 {
    let mut crc = 0u32;
    if let Some(p) = producer {
        crc = crc32c::crc32c_append(crc, &p.producer_id.0.to_le_bytes());
        crc = crc32c::crc32c_append(crc, &p.producer_epoch.to_le_bytes());
        crc = crc32c::crc32c_append(crc, &p.base_sequence.to_le_bytes());
    }
    crc = crc32c::crc32c_append(crc, &(records.len() as u64).to_le_bytes());
    for record in records {
        match &record.key {
            Some(key) => {
                crc = crc32c::crc32c_append(crc, &(key.len() as u64).to_le_bytes());
                crc = crc32c::crc32c_append(crc, key);
            }
            None => crc = crc32c::crc32c_append(crc, &u64::MAX.to_le_bytes()),
        }
        crc = crc32c::crc32c_append(crc, &(record.value.len() as u64).to_le_bytes());
        crc = crc32c::crc32c_append(crc, &record.value);
        crc = crc32c::crc32c_append(crc, &record.timestamp_ms.to_le_bytes());
        for (name, value) in &record.headers {
            crc = crc32c::crc32c_append(crc, name.as_bytes());
            crc = crc32c::crc32c_append(crc, value);
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &str) -> Record {
        Record {
            key: None,
            value: Bytes::from(value.to_owned()),
            timestamp_ms: 1,
            headers: vec![],
        }
    }

    #[test]
    fn crc_detects_a_torn_batch() {
        let batch = RecordBatch::new(None, vec![record("a"), record("b"), record("c")]);
        assert!(batch.is_valid());
        assert!(!batch.torn(2).is_valid());
        assert!(!batch.torn(0).is_valid());
    }

    #[test]
    fn crc_ignores_broker_assigned_fields() {
        let mut batch = RecordBatch::new(None, vec![record("a")]);
        batch.base_offset = Offset(40);
        batch.leader_epoch = LeaderEpoch(3);
        assert!(batch.is_valid());
        assert_eq!(batch.last_offset(), Offset(40));
        assert_eq!(batch.next_offset(), Offset(41));
    }

    #[test]
    fn sequence_wraps_at_int_max() {
        let producer = ProducerFields {
            producer_id: ProducerId(1),
            producer_epoch: 0,
            base_sequence: i32::MAX,
        };
        let batch = RecordBatch::new(Some(producer), vec![record("a"), record("b")]);
        assert_eq!(batch.last_sequence(), Some(0));
    }
}
