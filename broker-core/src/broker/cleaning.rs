//! The broker's side of log compaction: the cleaner thread (`LogCleaner.CleanerThread`) wakes
//! every `log.cleaner.backoff.ms` and cleans every replica log of a compacted topic that is
//! dirty enough; each replica cleans its own log, leader or follower, as in Kafka. The rewritten
//! segment files replace the old ones on disk in one durable step (`DiskOp::ReplaceSegment`).

use super::*;
use crate::io::{Checkpoint, DiskEntry, DiskImage, DiskOp, Event, FileName};
use crate::log::CleanResult;

impl Broker {
    /// One pass of the cleaner over every replica log (`LogCleaner.CleanerThread.doWork`; Kafka
    /// cleans the filthiest log first, one at a time: the lab cleans every log that qualifies).
    pub(super) fn clean_logs(&mut self) {
        self.cleaner_due = self.now.plus_ms(self.config.log_cleaner_backoff_ms.max(1));
        let now = self.now;
        let mut cleaned: Vec<(TopicPartition, CleanResult)> = Vec::new();
        for (tp, replica) in &mut self.replicas {
            if let Some(result) = replica.log.clean(now) {
                cleaned.push((tp.clone(), result));
            }
        }
        let any = !cleaned.is_empty();
        for (tp, result) in cleaned {
            self.replace_cleaned_files(&tp, &result);
            self.out.event(Event::LogCleaned {
                broker: self.id,
                tp,
                records: result.records_removed,
                segments: (result.rewritten.len() + result.removed.len()) as u32,
                end: result.end,
            });
        }
        if any {
            self.write_cleaner_checkpoint();
        }
    }

    /// `LogCleanerManager.updateCheckpoints` (after a cleaning) and `maybeTruncateCheckpoint`
    /// (after a truncation): rewrite `cleaner-offset-checkpoint` with every log's position when
    /// one changed. It goes after the cleaned segment files, and a node's disk operations
    /// complete in order, so the checkpoint on disk never runs ahead of the files; a power
    /// failure may lose the newest one, and the older one only means cleaning again.
    pub(super) fn write_cleaner_checkpoint(&mut self) {
        let positions: BTreeMap<TopicPartition, Offset> = self
            .replicas
            .iter()
            .filter_map(|(tp, r)| Some((tp.clone(), r.log.cleaner_checkpoint()?)))
            .collect();
        if positions == self.cleaner_checkpoint {
            return;
        }
        self.cleaner_checkpoint = positions.clone();
        self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
            id,
            file: FileName::CleanerOffsetCheckpoint,
            checkpoint: Checkpoint::CleanerOffsets(positions),
        });
    }

    /// The cleaner positions found on disk at start (`LogCleanerManager` reads the file per
    /// log dir); the logs take theirs in `recover`.
    pub(super) fn read_cleaner_checkpoint(&mut self, disk: &DiskImage) {
        if let Some(Checkpoint::CleanerOffsets(positions)) =
            disk.checkpoints.get(&FileName::CleanerOffsetCheckpoint)
        {
            self.cleaner_checkpoint = positions.clone();
        }
    }

    /// The disk side of a cleaning: each rewritten segment's file gets the batches the log now
    /// holds in it; a segment the cleaner left empty loses its file.
    fn replace_cleaned_files(&mut self, tp: &TopicPartition, result: &CleanResult) {
        for base in &result.rewritten {
            let log = &self.replicas[tp].log;
            let entries: Vec<DiskEntry> = log
                .segment_batches(*base)
                .cloned()
                .map(DiskEntry::Batch)
                .collect();
            let file = FileName::Segment(tp.clone(), *base);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::ReplaceSegment {
                id,
                file,
                entries,
            });
        }
        for base in &result.removed {
            let file = FileName::Segment(tp.clone(), *base);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
        }
    }

    /// When the cleaner runs next.
    pub fn next_cleaner_pass(&self) -> Time {
        self.cleaner_due
    }
}
