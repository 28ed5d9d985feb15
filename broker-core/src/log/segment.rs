//! A log segment's bookkeeping (`LogSegment`): its base offset, size, timestamps and its two
//! sparse indexes. The records themselves stay in `PartitionLog`'s batches; the segment says
//! which file on the node's disk holds them (`FileName::Segment`, named by the base offset as
//! Kafka names `00000000000000000042.log`).

use super::LogConfig;
use crate::record::RecordBatch;
use crate::types::Offset;
use serde::Serialize;

/// An offset-index entry (`OffsetIndex`): the batch holding `offset` starts at byte `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OffsetIndexEntry {
    /// The last offset of the batch that triggered the entry.
    pub offset: Offset,
    /// Its byte position in the segment file.
    pub position: u64,
}

/// A time-index entry (`TimeIndex`): records up to `timestamp` are at or before `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TimeIndexEntry {
    /// The largest timestamp so far in the segment.
    pub timestamp: u64,
    /// The offset of the record that carries it (a batch's last offset, as Kafka's shallow
    /// offset of the max timestamp).
    pub offset: Offset,
}

/// One segment of a replica's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The first offset the segment may hold; its file's name.
    pub base_offset: Offset,
    /// Bytes appended (`LogSegment.size`).
    pub bytes: u64,
    /// Records held.
    pub records: u64,
    /// `LogSegment.rollingBasedTimestamp`: the first batch's largest timestamp.
    pub rolling_timestamp: Option<u64>,
    /// `LogSegment.largestTimestamp`: what time-based retention compares.
    pub largest_timestamp: u64,
    /// The sparse offset index, an entry every `index.interval.bytes`.
    pub offset_index: Vec<OffsetIndexEntry>,
    /// The sparse time index, written with the offset index.
    pub time_index: Vec<TimeIndexEntry>,
    bytes_since_last_index_entry: u64,
}

impl Segment {
    /// An empty segment starting at `base_offset` (`LogSegment.open`).
    pub fn new(base_offset: Offset) -> Segment {
        Segment {
            base_offset,
            bytes: 0,
            records: 0,
            rolling_timestamp: None,
            largest_timestamp: 0,
            offset_index: Vec::new(),
            time_index: Vec::new(),
            bytes_since_last_index_entry: 0,
        }
    }

    /// Whether appending `batch` must first roll a new segment (`LogSegment.shouldRoll`): the
    /// segment would pass `segment.bytes`, or its first batch is older than `segment.ms`
    /// (`LogConfig.maxSegmentMs`) by the timestamps of the records themselves. An empty segment
    /// never rolls.
    pub fn should_roll(&self, batch: &RecordBatch, config: &LogConfig) -> bool {
        if self.bytes == 0 {
            return false;
        }
        let full = self.bytes > config.segment_bytes.saturating_sub(batch.size_in_bytes());
        let waited = self
            .rolling_timestamp
            .map_or(0, |first| batch.max_timestamp().saturating_sub(first));
        full || waited > config.max_segment_ms()
    }

    /// Take in a batch (`LogSegment.append`): an index entry is written before the batch once
    /// more than `index.interval.bytes` were appended since the last one.
    pub fn append(&mut self, batch: &RecordBatch, index_interval_bytes: u64) {
        let timestamp = batch.max_timestamp();
        self.largest_timestamp = self.largest_timestamp.max(timestamp);
        self.rolling_timestamp.get_or_insert(timestamp);
        if self.bytes_since_last_index_entry > index_interval_bytes {
            self.offset_index.push(OffsetIndexEntry {
                offset: batch.last_offset(),
                position: self.bytes,
            });
            self.time_index.push(TimeIndexEntry {
                timestamp: self.largest_timestamp,
                offset: batch.last_offset(),
            });
            self.bytes_since_last_index_entry = 0;
        }
        let size = batch.size_in_bytes();
        self.bytes += size;
        self.records += batch.len();
        self.bytes_since_last_index_entry += size;
    }

    /// The segment rebuilt from its batches (`LogSegment.recover`: the indexes are rebuilt by
    /// reading the file).
    pub fn rebuilt<'a>(
        base_offset: Offset,
        batches: impl Iterator<Item = &'a RecordBatch>,
        index_interval_bytes: u64,
    ) -> Segment {
        let mut segment = Segment::new(base_offset);
        for batch in batches {
            segment.append(batch, index_interval_bytes);
        }
        segment
    }

    /// The byte position to start reading `offset` from (`OffsetIndex.lookup`): the largest
    /// entry at or below it, else the start of the file.
    pub fn lookup(&self, offset: Offset) -> u64 {
        let i = self.offset_index.partition_point(|e| e.offset <= offset);
        i.checked_sub(1)
            .map_or(0, |i| self.offset_index[i].position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use bytes::Bytes;

    fn batch(base: u64, timestamp: u64, value_len: usize) -> RecordBatch {
        let record = Record::new(None, Bytes::from(vec![b'x'; value_len]), timestamp);
        let mut batch = RecordBatch::new(None, vec![record]);
        batch.base_offset = Offset(base);
        batch
    }

    fn config(segment_bytes: u64, segment_ms: u64) -> LogConfig {
        LogConfig {
            segment_bytes,
            segment_ms,
            ..LogConfig::default()
        }
    }

    #[test]
    fn a_segment_rolls_on_size_or_on_the_age_of_its_first_record() {
        let size = batch(0, 0, 100).size_in_bytes();
        let mut segment = Segment::new(Offset(0));
        assert!(
            !segment.should_roll(&batch(0, 0, 10_000), &config(size, 1000)),
            "an empty segment takes any batch"
        );
        segment.append(&batch(0, 0, 100), 4096);
        assert!(segment.should_roll(&batch(1, 0, 100), &config(size, 1000)));
        assert!(!segment.should_roll(&batch(1, 1000, 100), &config(2 * size, 1000)));
        assert!(segment.should_roll(&batch(1, 1001, 100), &config(2 * size, 1000)));
    }

    #[test]
    fn the_offset_index_is_sparse_by_index_interval_bytes() {
        let size = batch(0, 0, 100).size_in_bytes();
        let mut segment = Segment::new(Offset(0));
        for i in 0..10 {
            segment.append(&batch(i, i, 100), 2 * size);
        }
        // An entry once more than 2 batches' bytes went by: before batches 3, 6 and 9.
        let offsets: Vec<u64> = segment.offset_index.iter().map(|e| e.offset.0).collect();
        assert_eq!(offsets, vec![3, 6, 9]);
        assert_eq!(segment.lookup(Offset(7)), 6 * size);
        assert_eq!(segment.lookup(Offset(2)), 0);
        assert_eq!(segment.time_index.len(), 3);
        assert_eq!(segment.largest_timestamp, 9);
        let rebuilt = Segment::rebuilt(
            Offset(0),
            (0..10).map(|i| batch(i, i, 100)).collect::<Vec<_>>().iter(),
            2 * size,
        );
        assert_eq!(rebuilt, segment, "recovery rebuilds the same indexes");
    }
}
