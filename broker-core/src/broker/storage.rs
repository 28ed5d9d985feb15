//! The broker's side of storage: segment files on its disk, segment rolls, and the retention
//! task (`LogManager.cleanupLogs`, every `log.retention.check.interval.ms`).

use super::*;
use crate::io::{DiskEntry, DiskOp, Event, FileName};
use crate::record::RecordBatch;
use std::collections::BTreeMap;

/// `LogManager.InitialTaskDelayMs`: the retention task first runs 30 s after start-up.
pub(super) const INITIAL_TASK_DELAY_MS: u64 = 30_000;

/// A partition's segment files: base offset and entries, in offset order.
pub(super) type SegmentFiles = Vec<(Offset, Vec<DiskEntry>)>;

/// The segment files of a disk image, per partition (files are ordered by partition, then base).
pub(super) fn segment_files(
    files: BTreeMap<FileName, Vec<DiskEntry>>,
) -> BTreeMap<TopicPartition, SegmentFiles> {
    let mut by_tp: BTreeMap<TopicPartition, SegmentFiles> = BTreeMap::new();
    for (file, entries) in files {
        if let FileName::Segment(tp, base) = file {
            by_tp.entry(tp).or_default().push((base, entries));
        }
    }
    by_tp
}

impl Broker {
    /// `LogLoader`: read a partition's segment files in order, keep the valid batches up to the
    /// first torn or corrupt one (CRC), truncate that segment's file there and delete every later
    /// file; empty segment files (a roll whose first write a power failure lost) are deleted too,
    /// unless one is all there is. Returns the batches, the base offsets of the segments kept, and
    /// how many entries were dropped.
    pub(super) fn load_segments(
        &mut self,
        tp: &TopicPartition,
        files: SegmentFiles,
    ) -> (Vec<RecordBatch>, Vec<Offset>, u32) {
        let mut batches = Vec::new();
        let mut bases = Vec::new();
        let mut torn = 0;
        let count = files.len();
        for (i, (base, entries)) in files.into_iter().enumerate() {
            let file = FileName::Segment(tp.clone(), base);
            if torn > 0 || (entries.is_empty() && count > 1) {
                torn += entries.len() as u32;
                self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
                continue;
            }
            let previous_end = batches.last().map_or(base, RecordBatch::next_offset);
            let (mut valid, dropped) = lifecycle::valid_prefix(entries);
            let ordered = valid.first().is_none_or(|b| b.base_offset >= previous_end);
            if !ordered {
                // A file overlapping the one before it is as good as torn.
                torn += (valid.len() as u32) + dropped;
                valid.clear();
            } else {
                torn += dropped;
            }
            if torn > 0 {
                let offset = valid.last().map_or(previous_end, RecordBatch::next_offset);
                let keep = !valid.is_empty() || i == 0;
                if keep {
                    self.issue_disk(DiskPurpose::Other, |id| DiskOp::Truncate {
                        id,
                        file,
                        offset,
                    });
                } else {
                    self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
                    continue;
                }
            }
            bases.push(base);
            batches.extend(valid);
        }
        (batches, bases, torn)
    }

    /// The segment file of `tp` that holds `offset`.
    pub(super) fn segment_file(&self, tp: &TopicPartition, offset: Offset) -> FileName {
        let base = self.replicas[tp].log.segment_base_of(offset);
        FileName::Segment(tp.clone(), base)
    }

    /// Write a batch the log just took in memory to its segment file; `on_append_written`
    /// follows its completion. When the batch opened a new segment (a roll), the older segments
    /// are flushed first, as `UnifiedLog.roll` schedules `flushUptoOffsetExclusive` of the new
    /// base offset: the new segment itself stays in the page cache, so a power failure can lose
    /// it.
    pub(super) fn write_batch(&mut self, tp: &TopicPartition, write_seq: u64, batch: RecordBatch) {
        let file = self.segment_file(tp, batch.base_offset);
        let FileName::Segment(_, base) = &file else {
            unreachable!("segment_file names a segment")
        };
        let rolled = self.replicas[tp].log.segments().len() > 1 && *base == batch.base_offset;
        if rolled {
            self.out.event(Event::SegmentRolled {
                broker: self.id,
                tp: tp.clone(),
                base_offset: *base,
            });
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::Fsync { id });
        }
        let purpose = DiskPurpose::Append {
            tp: tp.clone(),
            write_seq,
        };
        self.issue_disk(purpose, |id| DiskOp::Append {
            id,
            file,
            entries: vec![DiskEntry::Batch(batch)],
        });
    }

    /// The disk side of a truncation of `tp`'s log: segment files the log no longer has are
    /// deleted, the one now active is truncated to `offset`.
    pub(super) fn truncate_files(
        &mut self,
        tp: &TopicPartition,
        before: &[Offset],
        offset: Offset,
    ) {
        let log = &self.replicas[tp].log;
        let kept: Vec<Offset> = log.segments().iter().map(|s| s.base_offset).collect();
        let active = log.segment_base_of(offset);
        for base in before.iter().filter(|b| !kept.contains(b)) {
            let file = FileName::Segment(tp.clone(), *base);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
        }
        if before.contains(&active) {
            let file = FileName::Segment(tp.clone(), active);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::Truncate {
                id,
                file,
                offset,
            });
        }
    }

    /// `LogManager.cleanupLogs`: every replica, leader or follower, deletes the segments its
    /// retention no longer keeps, then the new log starts are checkpointed.
    pub(super) fn retention_check(&mut self) {
        self.retention_check_due = self
            .now
            .plus_ms(self.config.log_retention_check_interval_ms);
        let now = self.now;
        let mut deleted = Vec::new();
        for (tp, replica) in &mut self.replicas {
            for deletion in replica.log.delete_old_segments(now) {
                deleted.push((tp.clone(), deletion));
            }
        }
        for (tp, deletion) in &deleted {
            if let Some(base) = deletion.rolled {
                self.create_segment_file(tp, base);
            }
            for base in &deletion.bases {
                let file = FileName::Segment(tp.clone(), *base);
                self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
            }
            self.out.event(Event::SegmentsDeleted {
                broker: self.id,
                tp: tp.clone(),
                cause: deletion.cause,
                segments: deletion.bases.len() as u32,
                records: deletion.records,
                log_start_offset: deletion.log_start_offset,
            });
        }
        if !deleted.is_empty() {
            self.write_log_start_checkpoint();
        }
    }

    /// Create an empty segment file (`LogSegment.open`): a log whose every segment was deleted
    /// or truncated away still has its active segment on disk, whose base offset recovery takes
    /// as the log's end when the log-start checkpoint did not make it to disk.
    pub(super) fn create_segment_file(&mut self, tp: &TopicPartition, base: Offset) {
        let file = FileName::Segment(tp.clone(), base);
        self.issue_disk(DiskPurpose::Other, |id| DiskOp::Append {
            id,
            file,
            entries: Vec::new(),
        });
    }

    /// When the retention task runs next, for the UI's status bar.
    pub fn next_retention_check(&self) -> Time {
        self.retention_check_due
    }
}
