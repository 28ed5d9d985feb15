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

/// The header in which the lab's workload gives a tombstone its write identity. The checker
/// follows every write by a unique identity, which is the value of a record that has one; a
/// tombstone has no value (Kafka's null value), so the workload's producer names it in a header
/// (headers are allowed on tombstones, KIP-82). Nothing in the brokers reads it.
pub const WRITE_ID_HEADER: &str = "kafka-lab.write";

/// One record: key, value, timestamp and headers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The key; `None` for a null key.
    pub key: Option<Bytes>,
    /// The value; `None` for a tombstone (Kafka's null value), which deletes its key from a
    /// compacted log.
    pub value: Option<Bytes>,
    /// The producer's create time.
    pub timestamp_ms: u64,
    /// Record headers.
    pub headers: Vec<(Arc<str>, Bytes)>,
}

impl Record {
    /// A record with a value and no headers.
    pub fn new(key: Option<Bytes>, value: impl Into<Bytes>, timestamp_ms: u64) -> Record {
        Record {
            key,
            value: Some(value.into()),
            timestamp_ms,
            headers: Vec::new(),
        }
    }

    /// A tombstone of `key` (a null value) carrying the write identity `id` in
    /// `WRITE_ID_HEADER`.
    pub fn tombstone(key: Option<Bytes>, id: Bytes, timestamp_ms: u64) -> Record {
        Record {
            key,
            value: None,
            timestamp_ms,
            headers: vec![(Arc::from(WRITE_ID_HEADER), id)],
        }
    }

    /// Whether the value is null.
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// The write identity the checker follows: the value, or a tombstone's `WRITE_ID_HEADER`
    /// (empty if it has none).
    pub fn identity(&self) -> Bytes {
        match &self.value {
            Some(value) => value.clone(),
            None => self
                .headers
                .iter()
                .find(|(name, _)| &**name == WRITE_ID_HEADER)
                .map(|(_, id)| id.clone())
                .unwrap_or_default(),
        }
    }

    /// The value's length, 0 for a tombstone.
    pub fn value_len(&self) -> usize {
        self.value.as_ref().map_or(0, Bytes::len)
    }
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
    /// Record positions when they are not dense (`None`: record `i` is at `base_offset + i`).
    /// Only the cleaner makes sparse batches; see `Positions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positions: Option<Arc<Positions>>,
    /// `deleteHorizonMs` of the batch header (KIP-534): set by the first cleaning that keeps a
    /// tombstone of the batch, to that cleaning's time plus `delete.retention.ms`; a cleaning at
    /// or after it removes the batch's tombstones (`Cleaner.shouldRetainRecord`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_horizon_ms: Option<u64>,
}

/// A batch's record positions after compaction removed some of its records. As in Kafka's
/// `DefaultRecordBatch` (format v2), each record carries an offset delta from the batch's base
/// offset, and the batch header keeps `lastOffsetDelta` of the batch as the producer wrote it, so a
/// compacted batch still spans its original offsets (and its producer's sequence range:
/// `ProducerStateManager` reads `baseSequence + lastOffsetDelta`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Positions {
    /// The offset delta of each record, strictly increasing, each at most `last_offset_delta`.
    pub offset_deltas: Vec<u32>,
    /// `lastOffsetDelta` of the batch header.
    pub last_offset_delta: u32,
}

impl RecordBatch {
    /// A new batch of `records` whose CRC is computed now.
    pub fn new(producer: Option<ProducerFields>, records: Vec<Record>) -> RecordBatch {
        assert!(!records.is_empty(), "a batch holds at least one record");
        let records: Arc<[Record]> = records.into();
        let crc = compute_crc(producer.as_ref(), &records, None);
        RecordBatch(Arc::new(BatchData {
            base_offset: Offset(0),
            leader_epoch: LeaderEpoch(0),
            producer,
            records,
            crc,
            positions: None,
            delete_horizon_ms: None,
        }))
    }

    /// The number of records the batch holds (fewer than it spans after compaction).
    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    /// Always false: a batch holds at least one record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// `lastOffsetDelta`: the batch spans `base_offset ..= base_offset + last_offset_delta`.
    pub fn last_offset_delta(&self) -> u32 {
        match &self.positions {
            Some(p) => p.last_offset_delta,
            // A torn write (no record left) still spans its base offset.
            None => (self.records.len() as u32).saturating_sub(1),
        }
    }

    /// The last offset the batch spans (`RecordBatch.lastOffset`), whether or not a record is
    /// still there: the one record-position rule every reader of a log goes through.
    pub fn last_offset(&self) -> Offset {
        self.base_offset.plus(u64::from(self.last_offset_delta()))
    }

    /// The offset after the batch (`RecordBatch.nextOffset`).
    pub fn next_offset(&self) -> Offset {
        self.last_offset().next()
    }

    /// The offset of record `index`.
    pub fn offset_of(&self, index: usize) -> Offset {
        let delta = match &self.positions {
            Some(p) => u64::from(p.offset_deltas[index]),
            None => index as u64,
        };
        self.base_offset.plus(delta)
    }

    /// Every record with its offset, in offset order.
    pub fn records_with_offsets(&self) -> impl DoubleEndedIterator<Item = (Offset, &Record)> {
        self.records
            .iter()
            .enumerate()
            .map(|(i, r)| (self.offset_of(i), r))
    }

    /// A copy keeping only the records `keep` accepts, at their original offsets, spanning the
    /// same offsets as this batch (Kafka's cleaner keeps a batch's `lastOffsetDelta` and producer
    /// fields, `LogCleaner`'s `MemoryRecords.filterTo`). `None` if no record is kept. The CRC is
    /// recomputed: the cleaner writes a new batch.
    pub fn retain(&self, mut keep: impl FnMut(Offset, &Record) -> bool) -> Option<RecordBatch> {
        let (deltas, records): (Vec<u32>, Vec<Record>) = self
            .records_with_offsets()
            .filter(|(offset, record)| keep(*offset, record))
            .map(|(offset, record)| ((offset.0 - self.base_offset.0) as u32, record.clone()))
            .unzip();
        if records.is_empty() {
            return None;
        }
        if records.len() == self.records.len() {
            return Some(self.clone());
        }
        let records: Arc<[Record]> = records.into();
        let positions = Positions {
            offset_deltas: deltas,
            last_offset_delta: self.last_offset_delta(),
        };
        let crc = compute_crc(self.producer.as_ref(), &records, Some(&positions));
        Some(RecordBatch(Arc::new(BatchData {
            records,
            crc,
            positions: Some(Arc::new(positions)),
            ..BatchData::clone(self)
        })))
    }

    /// The batch's size in a segment file: `DefaultRecordBatch.RECORD_BATCH_OVERHEAD` (61 bytes)
    /// plus, per record, its key, value and headers and about 7 bytes of varint lengths, deltas
    /// and attributes (`DefaultRecord.sizeInBytes` with small deltas). What `segment.bytes`,
    /// `index.interval.bytes` and `retention.bytes` count.
    pub fn size_in_bytes(&self) -> u64 {
        let records: usize = self
            .records
            .iter()
            .map(|r| {
                let headers: usize = r.headers.iter().map(|(k, v)| 2 + k.len() + v.len()).sum();
                7 + r.key.as_ref().map_or(0, |k| k.len()) + r.value_len() + headers
            })
            .sum();
        61 + records as u64
    }

    /// The largest record timestamp (`RecordBatch.maxTimestamp`).
    pub fn max_timestamp(&self) -> u64 {
        self.records
            .iter()
            .map(|r| r.timestamp_ms)
            .max()
            .unwrap_or(0)
    }

    /// Whether the stored CRC matches the contents: false for a torn or corrupted batch.
    pub fn is_valid(&self) -> bool {
        !self.records.is_empty()
            && compute_crc(
                self.producer.as_ref(),
                &self.records,
                self.positions.as_deref(),
            ) == self.crc
    }

    /// The sequence number of the last record, for idempotent batches.
    pub fn last_sequence(&self) -> Option<i32> {
        let producer = self.producer?;
        // Sequences wrap at i32::MAX as in Kafka's DefaultRecordBatch.incrementSequence.
        let last = i64::from(producer.base_sequence) + i64::from(self.last_offset_delta());
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

fn compute_crc(
    producer: Option<&ProducerFields>,
    records: &[Record],
    positions: Option<&Positions>,
) -> u32 {
    let mut crc = 0u32;
    // Dense batches keep the CRC they always had; a sparse one also covers its positions.
    if let Some(p) = positions {
        crc = crc32c::crc32c_append(crc, &p.last_offset_delta.to_le_bytes());
        for delta in &p.offset_deltas {
            crc = crc32c::crc32c_append(crc, &delta.to_le_bytes());
        }
    }
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
        match &record.value {
            Some(value) => {
                crc = crc32c::crc32c_append(crc, &(value.len() as u64).to_le_bytes());
                crc = crc32c::crc32c_append(crc, value);
            }
            None => crc = crc32c::crc32c_append(crc, &u64::MAX.to_le_bytes()),
        }
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
        Record::new(None, value.to_owned(), 1)
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
    fn a_compacted_batch_keeps_its_span_and_record_offsets() {
        let mut batch = RecordBatch::new(None, vec![record("a"), record("b"), record("c")]);
        batch.base_offset = Offset(10);
        let kept = batch.retain(|offset, _| offset != Offset(10) && offset != Offset(12));
        let kept = kept.expect("offset 11 is kept");
        assert_eq!(kept.len(), 1);
        assert_eq!(
            kept.last_offset(),
            Offset(12),
            "lastOffsetDelta survives compaction"
        );
        assert_eq!(kept.next_offset(), Offset(13));
        let offsets: Vec<Offset> = kept.records_with_offsets().map(|(o, _)| o).collect();
        assert_eq!(offsets, vec![Offset(11)]);
        assert!(kept.is_valid());
        assert!(batch.retain(|_, _| false).is_none());
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
