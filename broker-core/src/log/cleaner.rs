//! The log cleaner (Kafka's `LogCleaner`, `Cleaner` and `LogCleanerManager`, KIP-58 and
//! KIP-354): for a topic whose `cleanup.policy` includes `compact`, every replica, leader or
//! follower, cleans its own log. Only whole closed segments wholly below the high watermark (and
//! written to disk) are cleanable; the active segment never is. The cleaner keeps, for every key,
//! only its latest record; offsets stay where they were, so a cleaned log has gaps.
//!
//! Tombstones (a null value) follow KIP-534's two rounds (`Cleaner.shouldRetainRecord` for
//! record format v2, the only one Kafka 4 writes): the first cleaning that keeps a tombstone
//! stamps its batch's `deleteHorizonMs` with that cleaning's time plus `delete.retention.ms`
//! (`MemoryRecords.filterTo`); a later cleaning at or after the horizon drops it (it is kept
//! while `currentTime < deleteHorizonMs`). The segment's last-modified time is only the horizon
//! of pre-v2 batches (`legacyDeleteHorizonMs`), which the lab does not have.
//!
//! What the lab leaves out: the grouping of small cleaned segments into one
//! (`Cleaner.groupSegmentsBySize`): each segment is rewritten on its own, and a segment left
//! empty (other than the first) is removed.

use super::{PartitionLog, Segment};
use crate::record::RecordBatch;
use crate::types::{Offset, Time};
use bytes::Bytes;
use std::collections::BTreeMap;

/// What one cleaning of a log did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanResult {
    /// Segments whose contents changed, by base offset: their files are replaced.
    pub rewritten: Vec<Offset>,
    /// Segments left empty and removed, by base offset: their files are deleted.
    pub removed: Vec<Offset>,
    /// Records the cleaner removed.
    pub records_removed: u64,
    /// The end of the cleaned range: the new first dirty offset (`cleaner-offset-checkpoint`).
    pub end: Offset,
    /// Whether `max.compaction.lag.ms` forced the cleaning (the dirty ratio alone would not).
    pub forced: bool,
}

/// The part of a log the cleaner may clean (`LogCleanerManager.cleanableOffsets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cleanable {
    /// The first offset not yet cleaned.
    pub first_dirty: Offset,
    /// The first offset the cleaner must not touch (a segment base).
    pub first_uncleanable: Offset,
    /// Bytes of the segments already cleaned below `first_dirty`.
    pub clean_bytes: u64,
    /// Bytes of the dirty segments below `first_uncleanable`.
    pub dirty_bytes: u64,
    /// `LogCleanerManager.maxCompactionDelay` > 0: a dirty record waited past
    /// `max.compaction.lag.ms`.
    pub overdue: bool,
}

impl Cleanable {
    /// `LogToClean.cleanableRatio` > `min.cleanable.dirty.ratio`, or overdue with something to
    /// clean (`LogCleanerManager.grabFilthiestCompactedLog`).
    pub fn should_clean(&self, min_ratio: super::DirtyRatio) -> bool {
        let total = u128::from(self.clean_bytes + self.dirty_bytes);
        let dirty = u128::from(self.dirty_bytes);
        self.dirty_bytes > 0
            && (self.overdue
                || dirty * u128::from(super::DirtyRatio::ONE) > u128::from(min_ratio.0) * total)
    }
}

impl PartitionLog {
    /// The end of segment `i`: the next segment's base, or the LEO for the active one.
    fn segment_end(&self, i: usize) -> Offset {
        self.segments
            .get(i + 1)
            .map_or(self.log_end_offset(), |s| s.base_offset)
    }

    /// The batches segment `base` holds, for rewriting its file.
    pub fn segment_batches(&self, base: Offset) -> impl Iterator<Item = &RecordBatch> {
        let i = self.segments.partition_point(|s| s.base_offset < base);
        let upper = self.segment_end(i);
        let from = self.entries.partition_point(|e| e.batch.base_offset < base);
        let to = self
            .entries
            .partition_point(|e| e.batch.base_offset < upper);
        self.entries[from..to.max(from)].iter().map(|e| &e.batch)
    }

    /// Whether compaction removed the record at `offset`, answered from the log itself so that
    /// it holds after a restart and on a follower that copied its leader's cleaned batches: an
    /// offset inside the log (at or above its start, below its end) that no record holds.
    /// Retention and `DeleteRecords` only move the start, and offsets are positions, so the
    /// holes inside a log are the ones compaction left (`Cleaner.cleanInto` keeps offsets).
    pub fn removed_by_cleaner(&self, offset: Offset) -> bool {
        if offset < self.log_start_offset || offset >= self.log_end_offset() {
            return false;
        }
        let i = self
            .entries
            .partition_point(|e| e.batch.base_offset <= offset);
        let holder = i.checked_sub(1).map(|i| &self.entries[i].batch);
        !holder.is_some_and(|b| b.records_with_offsets().any(|(o, _)| o == offset))
    }

    /// The cleaner's position, for `cleaner-offset-checkpoint`: `None` while it says nothing
    /// beyond the log start (Kafka's checkpoint has no entry for a log never cleaned).
    pub fn cleaner_checkpoint(&self) -> Option<Offset> {
        (self.first_dirty_offset > self.log_start_offset).then_some(self.first_dirty_offset)
    }

    /// Take the cleaner's position from the checkpoint found at start, checked at once against
    /// the log as recovered (`first_dirty`), so that a position past a lost tail is not taken
    /// up again once new appends pass it.
    pub fn restore_cleaner_checkpoint(&mut self, first_dirty: Offset) {
        self.first_dirty_offset = first_dirty;
        self.first_dirty_offset = self.first_dirty();
    }

    /// `LogCleanerManager.cleanableOffsets`: the checkpointed first dirty offset, or the log
    /// start when there is none, when it is below the start, or when it is past the LEO (data
    /// lost at the end of the log, e.g. a torn tail after a power failure: the whole log is
    /// cleaned again, which is safe).
    fn first_dirty(&self) -> Offset {
        let checkpoint = self.first_dirty_offset;
        if checkpoint < self.log_start_offset || checkpoint > self.log_end_offset() {
            self.log_start_offset
        } else {
            checkpoint
        }
    }

    /// `LogCleanerManager.cleanableOffsets`: the first uncleanable offset is the base of the
    /// first segment that is active, reaches above the high watermark (or the written end), or
    /// holds a record younger than `min.compaction.lag.ms`; `None` when the topic does not
    /// compact.
    pub fn cleanable(&self, now: Time) -> Option<Cleanable> {
        if !self.config.cleanup_policy.compacts() {
            return None;
        }
        let first_dirty = self.first_dirty();
        let stable = self.high_watermark.min(self.written_end());
        let min_lag = self.config.min_compaction_lag_ms;
        let young =
            |s: &Segment| min_lag > 0 && s.largest_timestamp > now.0.saturating_sub(min_lag);
        let active = self.segments.len() - 1;
        let limit = (0..active)
            .find(|&i| self.segment_end(i) > stable || young(&self.segments[i]))
            .unwrap_or(active);
        let first_uncleanable = self.segments[limit].base_offset;
        let (mut clean_bytes, mut dirty_bytes, mut earliest) = (0, 0, u64::MAX);
        for (i, segment) in self.segments[..limit].iter().enumerate() {
            if self.segment_end(i) <= first_dirty {
                clean_bytes += segment.bytes;
            } else {
                dirty_bytes += segment.bytes;
                earliest = earliest.min(segment.rolling_timestamp.unwrap_or(u64::MAX));
            }
        }
        let clean_until = now.0.saturating_sub(self.config.max_compaction_lag_ms);
        Some(Cleanable {
            first_dirty,
            first_uncleanable,
            clean_bytes,
            dirty_bytes,
            overdue: earliest < clean_until,
        })
    }

    /// One cleaner pass at `now` (`LogCleaner.CleanerThread.tryCleanFilthiestLog` for this log):
    /// if the log is dirty enough, clean it (`Cleaner.doClean`).
    pub fn clean(&mut self, now: Time) -> Option<CleanResult> {
        let cleanable = self.cleanable(now)?;
        if !cleanable.should_clean(self.config.min_cleanable_dirty_ratio) {
            return None;
        }
        let forced = cleanable.overdue
            && !Cleanable {
                overdue: false,
                ..cleanable
            }
            .should_clean(self.config.min_cleanable_dirty_ratio);
        let map = self.build_offset_map(cleanable.first_dirty, cleanable.first_uncleanable);
        let end = cleanable.first_uncleanable;
        let mut result = self.clean_segments(&map, end, now);
        result.forced = forced;
        self.first_dirty_offset = end;
        Some(result)
    }

    /// `Cleaner.buildOffsetMap`: the latest offset of every key in the dirty range.
    fn build_offset_map(&self, first_dirty: Offset, end: Offset) -> BTreeMap<Bytes, Offset> {
        let mut map = BTreeMap::new();
        for entry in &self.entries {
            if entry.batch.next_offset() <= first_dirty {
                continue;
            }
            if entry.batch.base_offset >= end {
                break;
            }
            for (offset, record) in entry.batch.records_with_offsets() {
                if let (Some(key), true) = (&record.key, offset >= first_dirty && offset < end) {
                    map.insert(key.clone(), offset);
                }
            }
        }
        map
    }

    /// `Cleaner.cleanSegments` / `shouldRetainRecord` over every segment below `end`: a record
    /// stays unless a later offset of its key is in the map, or it is a tombstone whose batch's
    /// delete horizon has come. A record without a key is dropped, as Kafka's cleaner does (a
    /// compacted topic refuses them at produce time). A batch keeps its offsets
    /// (`RecordBatch::retain`); a batch left with no record goes.
    fn clean_segments(
        &mut self,
        map: &BTreeMap<Bytes, Offset>,
        end: Offset,
        now: Time,
    ) -> CleanResult {
        let horizon = now.0.saturating_add(self.config.delete_retention_ms);
        let cut = self.entries.partition_point(|e| e.batch.base_offset < end);
        let mut removed_records = 0;
        let mut changed: Vec<Offset> = Vec::new();
        let mut kept = Vec::with_capacity(cut);
        for entry in self.entries.drain(..cut) {
            let before = entry.batch.len();
            let batch = entry
                .batch
                .retain(|offset, r| should_retain(map, &entry.batch, offset, r, now))
                .map(|b| stamp_delete_horizon(b, horizon));
            let after = batch.as_ref().map_or(0, |b| b.len());
            let stamped = batch
                .as_ref()
                .is_some_and(|b| b.delete_horizon_ms != entry.batch.delete_horizon_ms);
            if after < before || stamped {
                removed_records += before - after;
                let base = self
                    .segments
                    .iter()
                    .rev()
                    .find(|s| s.base_offset <= entry.batch.base_offset)
                    .map_or(Offset(0), |s| s.base_offset);
                if changed.last() != Some(&base) {
                    changed.push(base);
                }
            }
            if let Some(batch) = batch {
                kept.push(super::Entry { batch, ..entry });
            }
        }
        let dropped = cut - kept.len();
        self.entries.splice(0..0, kept);
        // Every cleaned batch was written (the range ends at or below the written end).
        self.written_len -= dropped;
        let removed = self.rebuild_segments(&changed);
        changed.retain(|b| !removed.contains(b));
        CleanResult {
            rewritten: changed,
            removed,
            records_removed: removed_records,
            end,
            forced: false,
        }
    }

    /// Rebuild the changed segments from the batches they now hold; a changed segment left empty
    /// goes, unless it is the first (which keeps the log start's file). Returns the removed bases.
    fn rebuild_segments(&mut self, changed: &[Offset]) -> Vec<Offset> {
        let interval = self.config.index_interval_bytes;
        let mut removed = Vec::new();
        for base in changed {
            let i = self.segments.partition_point(|s| s.base_offset < *base);
            let rebuilt = Segment::rebuilt(*base, self.segment_batches(*base), interval);
            if rebuilt.records == 0 && i > 0 {
                self.segments.remove(i);
                removed.push(*base);
            } else {
                self.segments[i] = rebuilt;
            }
        }
        removed
    }
}

/// `Cleaner.shouldRetainRecord` (format v2): a keyed record at or after its key's latest offset
/// stays, unless it is a tombstone and its batch's delete horizon is not in the future.
fn should_retain(
    map: &BTreeMap<Bytes, Offset>,
    batch: &RecordBatch,
    offset: Offset,
    record: &crate::record::Record,
    now: Time,
) -> bool {
    let Some(key) = &record.key else {
        return false;
    };
    let latest = map.get(key).is_none_or(|latest| offset >= *latest);
    let retain_deletes = batch.delete_horizon_ms.is_none_or(|h| now.0 < h);
    latest && (!record.is_tombstone() || retain_deletes)
}

/// `MemoryRecords.filterTo`: a kept batch with a tombstone and no delete horizon yet gets one,
/// the cleaning's time plus `delete.retention.ms` (KIP-534).
fn stamp_delete_horizon(mut batch: RecordBatch, horizon: u64) -> RecordBatch {
    if batch.delete_horizon_ms.is_none() && batch.records.iter().any(|r| r.is_tombstone()) {
        batch.delete_horizon_ms = Some(horizon);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{CleanupPolicy, DirtyRatio, LogConfig};
    use crate::record::{Record, RecordBatch};
    use crate::types::LeaderEpoch;

    fn record(key: &str, value: &str, timestamp: u64) -> Record {
        Record::new(
            Some(Bytes::from(key.to_owned())),
            value.to_owned(),
            timestamp,
        )
    }

    fn tombstone(key: &str, timestamp: u64) -> Record {
        Record::tombstone(Some(Bytes::from(key.to_owned())), Bytes::new(), timestamp)
    }

    fn batch(base: u64, records: Vec<Record>) -> RecordBatch {
        let mut batch = RecordBatch::new(None, records);
        batch.base_offset = Offset(base);
        batch.leader_epoch = LeaderEpoch(1);
        batch
    }

    fn compacted(ratio: u32) -> LogConfig {
        LogConfig {
            cleanup_policy: CleanupPolicy::Compact,
            min_cleanable_dirty_ratio: DirtyRatio(ratio),
            // Every one-record batch below is its own segment.
            segment_bytes: 14,
            ..LogConfig::default()
        }
    }

    /// A log of one-record batches `(key, value, timestamp)`, each in its own segment, all
    /// written and below the HW.
    fn log(records: &[(&str, &str, u64)], config: LogConfig) -> PartitionLog {
        let mut log = PartitionLog::new();
        log.configure(&config);
        for (i, (k, v, t)) in records.iter().enumerate() {
            let seq = log.append(batch(i as u64, vec![record(k, v, *t)]));
            log.complete_write(seq);
        }
        log.set_high_watermark(log.log_end_offset());
        log
    }

    /// `(offset, key, value)` of every record in the log.
    fn contents(log: &PartitionLog) -> Vec<(u64, String, String)> {
        log.batches()
            .flat_map(|b| b.records_with_offsets())
            .map(|(o, r)| {
                let key = r
                    .key
                    .as_ref()
                    .map(|k| String::from_utf8_lossy(k).into_owned());
                let value = r
                    .value
                    .as_ref()
                    .map_or("null".into(), |v| String::from_utf8_lossy(v).into_owned());
                (o.0, key.unwrap_or_default(), value)
            })
            .collect()
    }

    fn row(offset: u64, key: &str, value: &str) -> (u64, String, String) {
        (offset, key.to_owned(), value.to_owned())
    }

    #[test]
    fn the_cleaner_keeps_the_latest_record_per_key_at_its_offset_and_spares_the_active_segment() {
        let records = [
            ("a", "1", 0),
            ("b", "1", 0),
            ("a", "2", 0),
            ("b", "2", 0),
            ("a", "3", 0),
        ];
        let mut log = log(&records, compacted(0));
        assert_eq!(log.segments().len(), 5);
        let result = log.clean(Time(0)).expect("dirty");
        // Offset 4 is the active segment: uncleanable, so a@2 is the latest a it sees.
        assert_eq!(result.end, Offset(4));
        assert_eq!(result.records_removed, 2);
        assert_eq!(result.removed, vec![Offset(1)], "segment 1 is empty now");
        assert_eq!(
            contents(&log),
            vec![row(2, "a", "2"), row(3, "b", "2"), row(4, "a", "3")],
            "offsets are kept: the log has gaps"
        );
        assert_eq!(
            log.log_start_offset(),
            Offset(0),
            "cleaning never moves the start"
        );
        assert_eq!(log.log_end_offset(), Offset(5));
        let segments: Vec<u64> = log.segments().iter().map(|s| s.base_offset.0).collect();
        assert_eq!(segments, vec![0, 2, 3, 4], "the first segment stays, empty");
        assert_eq!(log.segments()[0].records, 0);
        let removed: Vec<bool> = (0..6).map(|o| log.removed_by_cleaner(Offset(o))).collect();
        assert_eq!(
            removed,
            vec![true, true, false, false, false, false],
            "0 and 1 were cleaned away; 4 is in the active segment, 5 past the end"
        );
        assert_eq!(log.read(Offset(0), Offset(5), 10).len(), 3);
        assert!(log.clean(Time(0)).is_none(), "nothing dirty is left");
    }

    /// The log as recovery rebuilds it from its segment files, with this cleaner checkpoint.
    fn reloaded(log: &PartitionLog, checkpoint: Option<Offset>) -> PartitionLog {
        let bases: Vec<Offset> = log.segments().iter().map(|s| s.base_offset).collect();
        let batches = log.batches().cloned().collect();
        let epochs = log.epochs().to_vec();
        let hw = log.high_watermark();
        let start = log.log_start_offset();
        let mut loaded = PartitionLog::recovered_segments(batches, &bases, epochs, hw, start);
        loaded.configure(log.config());
        if let Some(offset) = checkpoint {
            loaded.restore_cleaner_checkpoint(offset);
        }
        loaded
    }

    #[test]
    fn compaction_gaps_are_read_from_the_log_itself_after_a_restart() {
        let records = [("a", "1", 0), ("a", "2", 0), ("b", "1", 0), ("a", "3", 0)];
        let mut log = log(&records, compacted(0));
        log.clean(Time(0)).expect("dirty");
        let marks = |log: &PartitionLog| -> Vec<bool> {
            (0..5).map(|o| log.removed_by_cleaner(Offset(o))).collect()
        };
        let expected = vec![true, false, false, false, false];
        assert_eq!(marks(&log), expected);
        // No cleaner checkpoint at all: the hole is still a hole of the log.
        assert_eq!(marks(&reloaded(&log, None)), expected);
        // Offsets below the log start are not compaction's, even with nothing there.
        log.advance_log_start(Offset(1));
        assert_eq!(marks(&reloaded(&log, None)), vec![false; 5]);
    }

    #[test]
    fn the_checkpointed_position_survives_a_reload_and_a_bad_one_means_clean_it_all() {
        let records = [("a", "1", 0), ("a", "2", 0), ("b", "1", 0), ("a", "3", 0)];
        let mut log = log(&records, compacted(0));
        let end = log.clean(Time(0)).expect("dirty").end;
        assert_eq!(log.cleaner_checkpoint(), Some(end));
        let first_dirty =
            |log: &PartitionLog| log.cleanable(Time(0)).expect("compacts").first_dirty;
        let kept = reloaded(&log, Some(end));
        assert_eq!(first_dirty(&kept), end, "the restart keeps the position");
        assert_eq!(kept.clone().clean(Time(0)), None, "nothing to clean again");
        // Lost (an older file, or none): the log is dirty from the start and cleaned again.
        let mut lost = reloaded(&log, None);
        assert_eq!(first_dirty(&lost), Offset(0));
        let again = lost.clean(Time(0)).expect("the whole log counts as dirty");
        assert_eq!(
            again.records_removed, 0,
            "cleaning a clean log again loses nothing"
        );
        assert_eq!(contents(&lost), contents(&log));
        // Past the LEO (the log lost its tail): `cleanableOffsets` starts from the log start.
        let ahead = reloaded(&log, Some(Offset(9)));
        assert_eq!(first_dirty(&ahead), Offset(0));
    }

    #[test]
    fn nothing_at_or_above_the_high_watermark_is_cleaned() {
        let records = [("a", "1", 0), ("a", "2", 0), ("a", "3", 0), ("a", "4", 0)];
        let mut log = log(&records, compacted(0));
        log.set_high_watermark(Offset(2));
        let result = log
            .clean(Time(0))
            .expect("segments 0 and 1 are below the HW");
        assert_eq!(result.end, Offset(2));
        assert_eq!(contents(&log)[0], row(1, "a", "2"));
        assert_eq!(
            contents(&log).len(),
            3,
            "a@2 and a@3 are above the HW: kept"
        );
    }

    #[test]
    fn a_delete_only_topic_is_never_cleaned() {
        let config = LogConfig {
            cleanup_policy: CleanupPolicy::Delete,
            ..compacted(0)
        };
        let mut log = log(&[("a", "1", 0), ("a", "2", 0), ("a", "3", 0)], config);
        assert!(log.cleanable(Time(0)).is_none());
        assert!(log.clean(Time(0)).is_none());
        assert_eq!(contents(&log).len(), 3);
    }

    #[test]
    fn min_cleanable_dirty_ratio_waits_until_enough_of_the_log_is_dirty() {
        let records = [("a", "1", 0), ("a", "2", 0), ("a", "3", 0), ("b", "1", 0)];
        // First pass at ratio 0 cleans offsets 0..3 (a@2 stays).
        let mut log = log(&records, compacted(0));
        log.clean(Time(0)).expect("dirty");
        assert_eq!(log.cleanable(Time(0)).expect("compacts").dirty_bytes, 0);
        // Two more records: the old active segment and one new segment become dirty.
        for (i, k) in [(4, "a"), (5, "c")] {
            let seq = log.append(batch(i, vec![record(k, "x", 0)]));
            log.complete_write(seq);
        }
        log.set_high_watermark(log.log_end_offset());
        let cleanable = log.cleanable(Time(0)).expect("compacts");
        let (clean, dirty) = (cleanable.clean_bytes, cleanable.dirty_bytes);
        assert!(clean > 0 && dirty > 0);
        let ratio = (dirty * u64::from(DirtyRatio::ONE)).div_ceil(clean + dirty) as u32;
        log.configure(&compacted(ratio));
        assert!(
            log.clean(Time(0)).is_none(),
            "a dirty ratio at (or just under) the minimum is not enough: it must be greater"
        );
        log.configure(&compacted(ratio - 1));
        let result = log.clean(Time(0)).expect("now it is");
        assert_eq!(result.records_removed, 1, "a@2 gives way to a@4");
        assert!(!result.forced);
    }

    #[test]
    fn min_compaction_lag_keeps_young_segments_dirty() {
        let records = [
            ("a", "1", 100),
            ("a", "2", 200),
            ("a", "3", 300),
            ("a", "4", 400),
        ];
        let config = LogConfig {
            min_compaction_lag_ms: 1000,
            ..compacted(0)
        };
        let mut log = log(&records, config);
        assert!(
            log.clean(Time(1000)).is_none(),
            "every segment is younger than 1 s"
        );
        let result = log
            .clean(Time(1250))
            .expect("offsets 0 and 1 are old enough");
        assert_eq!(
            result.end,
            Offset(2),
            "the segment of a@2 (t=300) is still young"
        );
        assert_eq!(contents(&log)[0], row(1, "a", "2"));
    }

    #[test]
    fn max_compaction_lag_forces_a_cleaning_below_the_dirty_ratio() {
        let records = [("a", "1", 100), ("a", "2", 200), ("b", "1", 300)];
        let config = LogConfig {
            max_compaction_lag_ms: 1000,
            ..compacted(DirtyRatio::ONE - 1)
        };
        let mut log = log(&records, config);
        // Clean once so that most of the log is clean, then add one dirty segment.
        log.configure(&LogConfig {
            min_cleanable_dirty_ratio: DirtyRatio(0),
            ..log.config().clone()
        });
        log.clean(Time(0)).expect("dirty");
        log.configure(&LogConfig {
            min_cleanable_dirty_ratio: DirtyRatio(900_000),
            ..log.config().clone()
        });
        for (i, k, t) in [(3, "b", 400), (4, "c", 500)] {
            let seq = log.append(batch(i, vec![record(k, "x", t)]));
            log.complete_write(seq);
        }
        log.set_high_watermark(log.log_end_offset());
        assert!(
            log.clean(Time(1300)).is_none(),
            "the dirty segment's first record (t=300) waited 1000 ms, not more"
        );
        let result = log.clean(Time(1301)).expect("overdue");
        assert!(result.forced, "the dirty ratio alone would not clean");
        assert_eq!(
            contents(&log),
            vec![row(1, "a", "2"), row(3, "b", "x"), row(4, "c", "x")]
        );
    }

    #[test]
    fn records_without_a_key_do_not_survive_cleaning() {
        let mut log = PartitionLog::new();
        log.configure(&compacted(0));
        let keyless = Record {
            key: None,
            ..record("", "v", 0)
        };
        for (i, r) in [keyless, record("a", "1", 0), record("a", "2", 0)]
            .into_iter()
            .enumerate()
        {
            let seq = log.append(batch(i as u64, vec![r]));
            log.complete_write(seq);
        }
        log.set_high_watermark(log.log_end_offset());
        let result = log.clean(Time(0)).expect("dirty");
        assert_eq!(result.records_removed, 1, "the keyless record at 0");
        assert_eq!(contents(&log), vec![row(1, "a", "1"), row(2, "a", "2")]);
    }

    #[test]
    fn a_multi_record_batch_keeps_its_span_when_records_go() {
        let mut log = PartitionLog::new();
        log.configure(&LogConfig {
            segment_bytes: 1_000_000,
            ..compacted(0)
        });
        let records = vec![
            record("a", "1", 0),
            record("b", "1", 0),
            record("a", "2", 0),
        ];
        let seq = log.append(batch(0, records));
        log.complete_write(seq);
        log.roll();
        let seq = log.append(batch(3, vec![record("z", "1", 0)]));
        log.complete_write(seq);
        log.set_high_watermark(log.log_end_offset());
        let result = log.clean(Time(0)).expect("dirty");
        assert_eq!(result.rewritten, vec![Offset(0)]);
        let first = log.batches().next().expect("a batch");
        assert_eq!(
            (first.base_offset, first.last_offset()),
            (Offset(0), Offset(2))
        );
        assert_eq!(
            contents(&log),
            vec![row(1, "b", "1"), row(2, "a", "2"), row(3, "z", "1")]
        );
    }

    #[test]
    fn a_tombstone_deletes_its_key_and_goes_a_cleaning_after_delete_retention_ms() {
        let records = [("a", "1", 0), ("b", "1", 0), ("a", "2", 0)];
        let config = LogConfig {
            delete_retention_ms: 1000,
            ..compacted(0)
        };
        let mut log = log(&records, config);
        for (offset, r) in [(3, tombstone("a", 0)), (4, record("z", "1", 0))] {
            let seq = log.append(batch(offset, vec![r]));
            log.complete_write(seq);
        }
        log.set_high_watermark(log.log_end_offset());
        let result = log.clean(Time(500)).expect("dirty");
        assert_eq!(
            result.records_removed, 2,
            "a@0 and a@2 give way to the tombstone"
        );
        assert_eq!(
            contents(&log),
            vec![row(1, "b", "1"), row(3, "a", "null"), row(4, "z", "1")],
            "the first cleaning keeps the tombstone"
        );
        let stamped = log.batches().find(|b| b.base_offset == Offset(3));
        assert_eq!(
            stamped.and_then(|b| b.delete_horizon_ms),
            Some(1500),
            "deleteHorizonMs = the cleaning's time + delete.retention.ms"
        );
        assert!(
            result.rewritten.contains(&Offset(3)),
            "the stamp is written"
        );
        // One more dirty record so that the cleaner runs again.
        let seq = log.append(batch(5, vec![record("y", "1", 0)]));
        log.complete_write(seq);
        log.set_high_watermark(log.log_end_offset());
        log.clean(Time(1499)).expect("z@4 is dirty now");
        assert_eq!(
            contents(&log)[1],
            row(3, "a", "null"),
            "kept while currentTime < deleteHorizonMs"
        );
        let seq = log.append(batch(6, vec![record("x", "1", 0)]));
        log.complete_write(seq);
        log.set_high_watermark(log.log_end_offset());
        let result = log.clean(Time(1500)).expect("y@5 is dirty now");
        assert_eq!(result.records_removed, 1, "the tombstone, at its horizon");
        assert_eq!(
            contents(&log),
            vec![
                row(1, "b", "1"),
                row(4, "z", "1"),
                row(5, "y", "1"),
                row(6, "x", "1")
            ],
            "one record per live key, none for the deleted key"
        );
    }
}
