//! Retention (`UnifiedLog.deleteOldSegments`): whole segments below the high watermark are
//! deleted when they are older than `retention.ms`, when the log is larger than
//! `retention.bytes`, or when they lie wholly below the log start offset (`DeleteRecords`, or a
//! log start learned from the leader). Deletion moves the log start offset to the first segment
//! left. Whether anyone consumed the records plays no part.

use super::{PartitionLog, Segment};
use crate::types::{Offset, Time};
use serde::{Deserialize, Serialize};

/// Why segments were deleted (`LogStartOffsetIncrementReason` / the retention check that fired).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RetentionCause {
    /// `retention.ms`: every record of the segment is older.
    RetentionMs,
    /// `retention.bytes`: the log was larger.
    RetentionBytes,
    /// The segment lies wholly below the log start offset.
    LogStartOffset,
}

impl RetentionCause {
    /// The config that allowed the deletion, by Kafka's name.
    pub fn config_name(self) -> &'static str {
        match self {
            RetentionCause::RetentionMs => "retention.ms",
            RetentionCause::RetentionBytes => "retention.bytes",
            RetentionCause::LogStartOffset => "DeleteRecords (log start offset)",
        }
    }
}

/// Segments one retention pass deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentDeletion {
    /// Why.
    pub cause: RetentionCause,
    /// The deleted segments' base offsets: their files go.
    pub bases: Vec<Offset>,
    /// Records they held.
    pub records: u64,
    /// The log start offset afterwards.
    pub log_start_offset: Offset,
    /// The base of the new active segment when every segment went (a roll first).
    pub rolled: Option<Offset>,
}

impl PartitionLog {
    /// One retention pass at `now` (`UnifiedLog.deleteOldSegments`): with `cleanup.policy`
    /// including `delete`, segments past `retention.ms` then `retention.bytes`; always, segments
    /// below the log start offset.
    pub fn delete_old_segments(&mut self, now: Time) -> Vec<SegmentDeletion> {
        let mut done = Vec::new();
        let mut pass = |log: &mut PartitionLog, cause| {
            if let Some(d) = log.delete_segments(now, cause) {
                done.push(d);
            }
        };
        if self.config.cleanup_policy.deletes() {
            pass(self, RetentionCause::RetentionMs);
            pass(self, RetentionCause::RetentionBytes);
        }
        pass(self, RetentionCause::LogStartOffset);
        done
    }

    /// `UnifiedLog.deletableSegments` with one cause's predicate, then `deleteSegments`.
    fn delete_segments(&mut self, now: Time, cause: RetentionCause) -> Option<SegmentDeletion> {
        let count = self.deletable_segments(now, cause, 0);
        (count > 0).then(|| self.remove_segments(count, cause))
    }

    /// Where the retention pass at `now` would move the log start, without deleting anything:
    /// the end of the segments `delete_old_segments(now)` would delete, `None` if none. What the
    /// UI marks as "retention deletes next" (asked for the time of the next retention check).
    pub fn deleted_next(&self, now: Time) -> Option<Offset> {
        let mut causes = vec![RetentionCause::LogStartOffset];
        if self.config.cleanup_policy.deletes() {
            causes.splice(
                0..0,
                [RetentionCause::RetentionMs, RetentionCause::RetentionBytes],
            );
        }
        let count = causes.into_iter().fold(0, |gone, cause| {
            gone + self.deletable_segments(now, cause, gone)
        });
        (count > 0).then(|| {
            self.segments
                .get(count)
                .map_or(self.log_end_offset(), |s| s.base_offset)
        })
    }

    /// How many segments after the first `skip` (which an earlier pass of the same check
    /// deletes) one cause's predicate deletes (`UnifiedLog.deletableSegments`): closed segments
    /// wholly below the high watermark, from the oldest, until one is not deletable.
    fn deletable_segments(&self, now: Time, cause: RetentionCause, skip: usize) -> usize {
        let skipped: u64 = self.segments.iter().take(skip).map(|s| s.bytes).sum();
        let mut size_over = match (cause, self.config.retention_bytes) {
            (RetentionCause::RetentionBytes, Some(limit)) => {
                match (self.size_in_bytes() - skipped).checked_sub(limit) {
                    Some(over) => over,
                    None => return 0,
                }
            }
            (RetentionCause::RetentionBytes, None) => return 0,
            _ => 0,
        };
        let retention_ms = self.config.retention_ms;
        let (hw, leo, start) = (
            self.high_watermark,
            self.log_end_offset(),
            self.log_start_offset,
        );
        let mut count = 0;
        for (i, segment) in self.segments.iter().enumerate().skip(skip) {
            let next = self.segments.get(i + 1).map(|s| s.base_offset);
            let upper = next.unwrap_or(leo);
            if hw < upper || (next.is_none() && segment.bytes == 0) {
                break;
            }
            let deletable = match cause {
                RetentionCause::RetentionMs => retention_ms
                    .is_some_and(|ms| now.0.saturating_sub(segment.largest_timestamp) > ms),
                RetentionCause::RetentionBytes => match size_over.checked_sub(segment.bytes) {
                    Some(left) => {
                        size_over = left;
                        true
                    }
                    None => false,
                },
                RetentionCause::LogStartOffset => next.is_some_and(|n| n <= start),
            };
            if !deletable {
                break;
            }
            count += 1;
        }
        count
    }

    /// Remove the first `count` segments; deleting them all rolls a new active segment first,
    /// as `UnifiedLog.deleteSegments` does. The log start moves to the first segment left.
    fn remove_segments(&mut self, count: usize, cause: RetentionCause) -> SegmentDeletion {
        let rolled = (count == self.segments.len()).then(|| self.log_end_offset());
        if let Some(base) = rolled {
            self.segments.push(Segment::new(base));
        }
        let gone: Vec<Segment> = self.segments.drain(..count).collect();
        let first_left = self.segments[0].base_offset;
        self.advance_log_start(first_left);
        SegmentDeletion {
            cause,
            bases: gone.iter().map(|s| s.base_offset).collect(),
            records: gone.iter().map(|s| s.records).sum(),
            log_start_offset: self.log_start_offset,
            rolled,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogConfig;
    use crate::record::{Record, RecordBatch};
    use crate::types::LeaderEpoch;
    use bytes::Bytes;

    fn batch(base: u64, timestamp: u64) -> RecordBatch {
        let record = Record::new(None, Bytes::from_static(b"0123456789"), timestamp);
        let mut batch = RecordBatch::new(None, vec![record]);
        batch.base_offset = Offset(base);
        batch.leader_epoch = LeaderEpoch(1);
        batch
    }

    /// A log of one-record batches at `timestamps`, two batches per segment, all written.
    fn log(timestamps: &[u64], config: LogConfig) -> PartitionLog {
        let mut log = PartitionLog::new();
        let size = batch(0, 0).size_in_bytes();
        log.configure(&LogConfig {
            segment_bytes: 2 * size,
            ..config
        });
        for (i, t) in timestamps.iter().enumerate() {
            let seq = log.append(batch(i as u64, *t));
            log.complete_write(seq);
        }
        log
    }

    fn bases(log: &PartitionLog) -> Vec<u64> {
        log.segments().iter().map(|s| s.base_offset.0).collect()
    }

    #[test]
    fn retention_ms_deletes_whole_old_segments_below_the_hw_only() {
        let config = LogConfig {
            retention_ms: Some(100),
            ..LogConfig::default()
        };
        let mut log = log(&[0, 10, 20, 30, 500, 510], config);
        assert_eq!(bases(&log), vec![0, 2, 4]);
        log.set_high_watermark(Offset(1));
        assert_eq!(log.deleted_next(Time(400)), None);
        assert!(
            log.delete_old_segments(Time(400)).is_empty(),
            "segment 0 spans past the HW"
        );
        log.set_high_watermark(Offset(6));
        assert_eq!(
            log.deleted_next(Time(100)),
            None,
            "nothing is 100 ms old yet"
        );
        assert_eq!(
            log.deleted_next(Time(400)),
            Some(Offset(4)),
            "the pass at 400 deletes below 4, as it then does"
        );
        let done = log.delete_old_segments(Time(400));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].cause, RetentionCause::RetentionMs);
        assert_eq!(done[0].bases, vec![Offset(0), Offset(2)]);
        assert_eq!(done[0].records, 4);
        assert_eq!(log.log_start_offset(), Offset(4));
        assert_eq!(bases(&log), vec![4]);
        assert_eq!(log.batch_count(), 2);
    }

    #[test]
    fn deleting_every_segment_rolls_first() {
        let config = LogConfig {
            retention_ms: Some(100),
            ..LogConfig::default()
        };
        let mut log = log(&[0, 10, 20], config);
        log.set_high_watermark(Offset(3));
        let done = log.delete_old_segments(Time(1000));
        assert_eq!(done[0].bases, vec![Offset(0), Offset(2)]);
        assert_eq!(log.log_start_offset(), Offset(3));
        assert_eq!(
            log.log_end_offset(),
            Offset(3),
            "the LEO stays: offsets are not reused"
        );
        assert_eq!(bases(&log), vec![3]);
        assert_eq!(done[0].rolled, Some(Offset(3)));
    }

    #[test]
    fn retention_bytes_keeps_the_newest_segments_within_the_limit() {
        let size = batch(0, 0).size_in_bytes();
        let config = LogConfig {
            retention_ms: None,
            retention_bytes: Some(3 * size),
            ..LogConfig::default()
        };
        let mut log = log(&[0, 0, 0, 0, 0, 0], config);
        log.set_high_watermark(Offset(6));
        assert_eq!(log.deleted_next(Time(0)), Some(Offset(2)));
        let done = log.delete_old_segments(Time(0));
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].cause, RetentionCause::RetentionBytes);
        assert_eq!(
            done[0].bases,
            vec![Offset(0)],
            "6 over 3: one 2-batch segment fits"
        );
        assert_eq!(log.size_in_bytes(), 4 * size);
    }

    #[test]
    fn a_compacted_only_topic_deletes_only_below_the_log_start() {
        let config = LogConfig {
            retention_ms: Some(1),
            cleanup_policy: crate::log::CleanupPolicy::Compact,
            ..LogConfig::default()
        };
        let mut log = log(&[0, 0, 0, 0, 0], config);
        log.set_high_watermark(Offset(5));
        assert!(log.delete_old_segments(Time(1000)).is_empty());
        assert!(log.advance_log_start(Offset(3)), "DeleteRecords");
        let done = log.delete_old_segments(Time(1000));
        assert_eq!(done[0].cause, RetentionCause::LogStartOffset);
        assert_eq!(
            done[0].bases,
            vec![Offset(0)],
            "the segment at 2 still holds offset 3"
        );
        assert_eq!(log.log_start_offset(), Offset(3));
    }
}
