//! A partition replica's log: record batches, the leader-epoch cache, log start offset, LEO, HW.
//!
//! Offsets are positions, not indexes: a batch spans `base_offset ..= last_offset()` (its
//! `lastOffsetDelta`) and each record has its own offset (`RecordBatch::records_with_offsets`),
//! so compaction leaves gaps, and the log start offset moves forward (retention, `DeleteRecords`)
//! or jumps (a follower that fell below its leader's log start). Nothing here assumes that
//! `next_offset = start + number of records`.
//!
//! Appends land in memory at once (the page cache, as Kafka's `UnifiedLog.append` does), but the
//! driver's disk completes them later. `log_end_offset` counts every appended batch; `written_end`
//! counts only those whose disk write completed. A leader counts itself towards the high watermark
//! and answers acks=1 only up to `written_end`: a node never assumes a write it has not seen
//! complete, and replicas only ever read written batches.

use crate::protocol::EpochEndOffset;
use crate::record::RecordBatch;
use crate::types::{LeaderEpoch, Offset};
use std::collections::VecDeque;

mod cleaner;
mod config;
mod retention;
mod segment;
pub use cleaner::{CleanResult, Cleanable};
pub use config::{CleanupPolicy, DirtyRatio, LogConfig};
pub use retention::{RetentionCause, SegmentDeletion};
pub use segment::{OffsetIndexEntry, Segment, TimeIndexEntry};

#[derive(Clone, Debug)]
struct Entry {
    batch: RecordBatch,
    /// Order of the append; completions arrive in this order.
    write_seq: u64,
}

/// A partition log with its leader-epoch cache (`LeaderEpochFileCache`) and its segments
/// (`UnifiedLog` over `LogSegment`s): there is always at least one segment, the last one active.
#[derive(Clone, Debug)]
pub struct PartitionLog {
    config: LogConfig,
    segments: Vec<Segment>,
    entries: Vec<Entry>,
    written_len: usize,
    next_write_seq: u64,
    pending_seqs: VecDeque<u64>,
    log_start_offset: Offset,
    epochs: Vec<(LeaderEpoch, Offset)>,
    high_watermark: Offset,
    /// The cleaner's position (`cleaner-offset-checkpoint`): below it the log is clean. The
    /// broker writes it to disk after each cleaning and gives it back at recovery
    /// (`restore_cleaner_checkpoint`).
    first_dirty_offset: Offset,
}

impl Default for PartitionLog {
    fn default() -> Self {
        PartitionLog::new()
    }
}

impl PartitionLog {
    /// An empty log starting at 0, with Kafka's default log config until `configure`.
    pub fn new() -> PartitionLog {
        PartitionLog {
            config: LogConfig::default(),
            segments: vec![Segment::new(Offset(0))],
            entries: Vec::new(),
            written_len: 0,
            next_write_seq: 0,
            pending_seqs: VecDeque::new(),
            log_start_offset: Offset(0),
            epochs: Vec::new(),
            high_watermark: Offset(0),
            first_dirty_offset: Offset(0),
        }
    }

    /// Use the topic's log config from now on (rolls, index interval, retention, cleaning).
    pub fn configure(&mut self, config: &LogConfig) {
        if self.config != *config {
            self.config = config.clone();
        }
    }

    /// The topic's log config.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The segments, oldest first; the last is the active segment.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The base offset of the segment that holds (or would hold) `offset`: its file's name.
    pub fn segment_base_of(&self, offset: Offset) -> Offset {
        let i = self.segments.partition_point(|s| s.base_offset <= offset);
        self.segments[i.saturating_sub(1)].base_offset
    }

    /// The bytes of every segment (`UnifiedLog.size`).
    pub fn size_in_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// A log recovered from disk: every batch is written, the epoch cache is rebuilt from the
    /// checkpoint and then from the batches themselves (as `LogSegment.recover` does).
    /// `log_start_offset` is the checkpointed one (`log-start-offset-checkpoint`); as in
    /// `UnifiedLog`, it is at least the first batch's base offset, and batches wholly below it
    /// are not part of the readable log.
    ///
    /// `segment_bases` are the base offsets of the segment files found (`LogLoader`): each
    /// segment's size, timestamps and indexes are rebuilt from its batches.
    pub fn recovered(
        batches: Vec<RecordBatch>,
        epochs: Vec<(LeaderEpoch, Offset)>,
        high_watermark: Offset,
        log_start_offset: Offset,
    ) -> PartitionLog {
        let bases: Vec<Offset> = batches.first().map(|b| b.base_offset).into_iter().collect();
        PartitionLog::recovered_segments(batches, &bases, epochs, high_watermark, log_start_offset)
    }

    /// `recovered` with the segment files' base offsets (increasing).
    pub fn recovered_segments(
        batches: Vec<RecordBatch>,
        segment_bases: &[Offset],
        epochs: Vec<(LeaderEpoch, Offset)>,
        high_watermark: Offset,
        log_start_offset: Offset,
    ) -> PartitionLog {
        let mut log = PartitionLog::new();
        log.epochs = epochs;
        // `UnifiedLog`: the log start is at least the first segment's base offset, so an empty
        // active segment left by retention gives the log its end even without the checkpoint.
        let first_base = segment_bases
            .first()
            .or(batches.first().map(|b| &b.base_offset))
            .copied()
            .unwrap_or(Offset(0));
        log.log_start_offset = log_start_offset.max(first_base);
        log.segments = vec![Segment::new(first_base)];
        for batch in batches {
            let base = segment_bases
                .iter()
                .rev()
                .find(|b| **b <= batch.base_offset)
                .copied();
            if base.is_some_and(|b| b > log.active().base_offset) {
                log.segments.push(Segment::new(base.expect("checked")));
            }
            let interval = log.config.index_interval_bytes;
            log.active_mut().append(&batch, interval);
            if batch.next_offset() <= log.log_start_offset {
                continue;
            }
            log.assign_epoch(batch.leader_epoch, batch.base_offset);
            log.entries.push(Entry {
                batch,
                write_seq: log.next_write_seq,
            });
            log.next_write_seq += 1;
        }
        log.written_len = log.entries.len();
        let end = log.log_end_offset();
        log.epochs.retain(|(_, start)| *start < end);
        log.set_high_watermark(high_watermark);
        log
    }

    /// The first offset of the log.
    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset
    }

    /// The offset after the last appended record (LEO).
    pub fn log_end_offset(&self) -> Offset {
        self.entries
            .last()
            .map_or(self.log_start_offset, |e| e.batch.next_offset())
    }

    /// The offset after the last record whose disk write completed.
    pub fn written_end(&self) -> Offset {
        match self.written_len {
            0 => self.log_start_offset,
            n => self.entries[n - 1].batch.next_offset(),
        }
    }

    /// Whether appends are waiting for the disk.
    pub fn has_pending_writes(&self) -> bool {
        self.written_len < self.entries.len()
    }

    /// The high watermark as this replica knows it.
    pub fn high_watermark(&self) -> Offset {
        self.high_watermark
    }

    /// Set the high watermark, kept between the log start and the LEO
    /// (`UnifiedLog.updateHighWatermark`).
    pub fn set_high_watermark(&mut self, hw: Offset) {
        self.high_watermark = hw.min(self.log_end_offset()).max(self.log_start_offset);
    }

    /// Move the log start offset forward to `offset` (retention, `DeleteRecords`:
    /// `UnifiedLog.maybeIncrementLogStartOffset`), never past the high watermark, never back.
    /// Batches wholly below the new start leave memory. Returns whether the start moved.
    pub fn advance_log_start(&mut self, offset: Offset) -> bool {
        let offset = offset.min(self.high_watermark);
        if offset <= self.log_start_offset {
            return false;
        }
        self.log_start_offset = offset;
        let gone = self
            .entries
            .partition_point(|e| e.batch.next_offset() <= offset);
        self.entries.drain(..gone);
        self.written_len -= gone.min(self.written_len);
        true
    }

    /// Empty the log and start it at `offset` (`UnifiedLog.truncateFullyAndStartAt`): a follower
    /// whose log is below its leader's log start starts over from there.
    pub fn truncate_fully_and_start_at(&mut self, offset: Offset) {
        self.entries.clear();
        self.written_len = 0;
        self.log_start_offset = offset;
        self.epochs.clear();
        self.high_watermark = offset;
        self.first_dirty_offset = offset;
        self.segments = vec![Segment::new(offset)];
    }

    /// Number of batches.
    pub fn batch_count(&self) -> usize {
        self.entries.len()
    }

    /// All batches, oldest first.
    pub fn batches(&self) -> impl DoubleEndedIterator<Item = &RecordBatch> + ExactSizeIterator {
        self.entries.iter().map(|e| &e.batch)
    }

    fn active(&self) -> &Segment {
        self.segments.last().expect("a log always has a segment")
    }

    fn active_mut(&mut self) -> &mut Segment {
        self.segments
            .last_mut()
            .expect("a log always has a segment")
    }

    /// Start a new active segment at the LEO (`UnifiedLog.roll`) unless the active one is empty.
    /// Returns whether it rolled.
    pub fn roll(&mut self) -> bool {
        if self.active().bytes == 0 {
            return false;
        }
        let base = self.log_end_offset();
        self.segments.push(Segment::new(base));
        true
    }

    /// Append a batch whose offsets and epoch are already set; returns its write sequence, which
    /// `complete_write` gets back when the disk is done. The active segment rolls first when
    /// the batch does not fit it (`UnifiedLog.maybeRoll`): see `segment_base_of` for the file.
    pub fn append(&mut self, batch: RecordBatch) -> u64 {
        // A leader appends at its LEO; a follower may append after a gap its leader's cleaner
        // left (`UnifiedLog.appendAsFollower` rejects only offsets going backwards).
        assert!(
            batch.base_offset >= self.log_end_offset(),
            "appends never go back"
        );
        self.assign_epoch(batch.leader_epoch, batch.base_offset);
        if self.active().should_roll(&batch, &self.config) {
            self.segments.push(Segment::new(batch.base_offset));
        }
        let interval = self.config.index_interval_bytes;
        self.active_mut().append(&batch, interval);
        let write_seq = self.next_write_seq;
        self.next_write_seq += 1;
        self.pending_seqs.push_back(write_seq);
        self.entries.push(Entry { batch, write_seq });
        write_seq
    }

    /// The disk finished the append with this sequence (appends complete in order).
    pub fn complete_write(&mut self, write_seq: u64) {
        let front = self.pending_seqs.pop_front();
        assert_eq!(
            front,
            Some(write_seq),
            "disk writes complete in the order issued"
        );
        // A truncation may have removed the batch meanwhile; count what is still there.
        self.written_len = self.entries.partition_point(|e| e.write_seq <= write_seq);
    }

    /// Remove every batch that spans `offset` or later (Kafka truncates whole batches). Returns
    /// whether a batch was removed. The epoch cache loses its
    /// entries from the new end on even when no batch goes: `UnifiedLog.truncateTo` does the same,
    /// because a former leader may hold an epoch entry for which it never wrote a batch.
    pub fn truncate_to(&mut self, offset: Offset) -> bool {
        let keep = self
            .entries
            .partition_point(|e| e.batch.last_offset() < offset);
        let removed = keep < self.entries.len();
        self.entries.truncate(keep);
        self.written_len = self.written_len.min(keep);
        let end = self.log_end_offset();
        if removed {
            self.truncate_segments(end);
        }
        self.epochs.retain(|(_, start)| *start < end.min(offset));
        self.high_watermark = self.high_watermark.min(end);
        // `LogCleanerManager.maybeTruncateCheckpoint`.
        self.first_dirty_offset = self.first_dirty_offset.min(end);
        removed
    }

    /// After a truncation to `end`: segments starting at or after it go (the first stays, empty),
    /// and the new active segment's size and indexes are rebuilt from what it still holds
    /// (`LogSegment.truncateTo`).
    fn truncate_segments(&mut self, end: Offset) {
        let keep = self
            .segments
            .partition_point(|s| s.base_offset < end)
            .max(1);
        self.segments.truncate(keep);
        let base = self.active().base_offset;
        let interval = self.config.index_interval_bytes;
        let start = self.entries.partition_point(|e| e.batch.base_offset < base);
        let rebuilt = Segment::rebuilt(
            base,
            self.entries[start..].iter().map(|e| &e.batch),
            interval,
        );
        *self.active_mut() = rebuilt;
    }

    /// Batches from the one holding `from` onwards, ending at or before `max_offset`, only among
    /// written batches, at most `max_batches`.
    pub fn read(&self, from: Offset, max_offset: Offset, max_batches: usize) -> Vec<RecordBatch> {
        let start =
            self.entries[..self.written_len].partition_point(|e| e.batch.next_offset() <= from);
        self.entries[start..self.written_len]
            .iter()
            .take_while(|e| e.batch.next_offset() <= max_offset)
            .take(max_batches)
            .map(|e| e.batch.clone())
            .collect()
    }

    /// The epoch cache: `(epoch, start offset)` entries in increasing order.
    pub fn epochs(&self) -> &[(LeaderEpoch, Offset)] {
        &self.epochs
    }

    /// The latest epoch in the cache.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epochs.last().map(|(epoch, _)| *epoch)
    }

    /// The start offset of `epoch` in this log, if the cache has it.
    pub fn epoch_start_offset(&self, epoch: LeaderEpoch) -> Option<Offset> {
        self.epochs
            .iter()
            .find(|(e, _)| *e == epoch)
            .map(|(_, start)| *start)
    }

    /// Record that `epoch` starts at `start` (`LeaderEpochFileCache.assign`): a new leader does
    /// this even before it writes anything (PR #5678). Conflicting later entries are dropped.
    pub fn assign_epoch(&mut self, epoch: LeaderEpoch, start: Offset) {
        if let Some((latest, latest_start)) = self.epochs.last() {
            if *latest == epoch || (*latest > epoch && *latest_start <= start) {
                return;
            }
        }
        self.epochs.retain(|(e, s)| *e < epoch && *s < start);
        self.epochs.push((epoch, start));
    }

    /// `LeaderEpochFileCache.endOffsetFor` (KIP-279): the largest epoch ≤ `requested` and the
    /// offset where it ends. `None` when the requested epoch is newer than any known one.
    pub fn end_offset_for(&self, requested: LeaderEpoch) -> Option<EpochEndOffset> {
        end_offset_for(&self.epochs, self.log_end_offset(), requested)
    }
}

// The epoch-cache rules, in one place for the data plane (`PartitionLog`, the fetcher) and the
// metadata quorum (`crate::raft`), which KIP-595 built on the same `endOffsetFor` and the same
// diverging-epoch fetch (KAFKA-10554).

/// `LeaderEpochFileCache.endOffsetFor` (KIP-279) over an epoch cache of `(epoch, start offset)`
/// entries in increasing order and a log ending at `log_end`: the largest epoch ≤ `requested`
/// and the offset where it ends. `None` when the requested epoch is newer than any known one.
pub fn end_offset_for(
    epochs: &[(LeaderEpoch, Offset)],
    log_end: Offset,
    requested: LeaderEpoch,
) -> Option<EpochEndOffset> {
    let latest = epochs.last()?.0;
    if latest == requested {
        return Some(EpochEndOffset {
            epoch: requested,
            end_offset: log_end,
        });
    }
    let higher = epochs.iter().find(|(e, _)| *e > requested)?;
    let floor = epochs.iter().rev().find(|(e, _)| *e <= requested);
    Some(match floor {
        // The requested epoch is older than any known: its end is where the next one starts.
        None => EpochEndOffset {
            epoch: requested,
            end_offset: higher.1,
        },
        Some((epoch, _)) => EpochEndOffset {
            epoch: *epoch,
            end_offset: higher.1,
        },
    })
}

/// The leader's side of a fetch (`Partition.fetchRecords`, KAFKA-10554; `KafkaRaftClient`'s
/// `validateOffsetAndEpoch`): given where the fetcher's last fetched epoch ends in the leader's
/// log, whether the fetcher's log diverges from it at `fetch_offset` and must truncate first.
pub fn diverges(
    leader_end: EpochEndOffset,
    last_fetched_epoch: LeaderEpoch,
    fetch_offset: Offset,
) -> bool {
    leader_end.epoch < last_fetched_epoch || leader_end.end_offset < fetch_offset
}

/// The fetcher's side (`AbstractFetcherThread.getOffsetTruncationState`): where to truncate a
/// log ending at `log_end`, whose own end for the leader's diverging epoch is `ours`, when the
/// leader answered `leader`.
pub fn truncation_offset(
    ours: Option<EpochEndOffset>,
    leader: EpochEndOffset,
    log_end: Offset,
) -> Offset {
    match ours {
        // We do not know the leader's epoch: truncate to the end of our largest smaller
        // epoch and fetch again (a further round may follow, KIP-279).
        Some(ours) if ours.epoch != leader.epoch => ours.end_offset.min(log_end),
        Some(ours) => ours.end_offset.min(leader.end_offset).min(log_end),
        None => leader.end_offset.min(log_end),
    }
}

#[cfg(test)]
mod tests;
