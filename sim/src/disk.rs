//! A node's simulated disk: a page cache in front of durable storage.
//!
//! Kafka leaves flushing to the OS by default, so a completed write is only in the page cache.
//! A process crash keeps the page cache (the kernel still has it); a power failure keeps only
//! what was made durable by an fsync or an OS write-back, and may tear the write in progress.

use broker_core::{Checkpoint, DiskEntry, DiskImage, DiskOp, FileName, Time};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// An append-only file: its page-cache contents and how much of it is durable.
///
/// The durable contents are `entries[..durable_prefix] ++ durable_tail`. Tracking durability as a
/// prefix plus the truncated-but-not-yet-flushed tail keeps every operation O(change) instead of
/// copying whole logs on each write.
#[derive(Clone, Debug, Default)]
struct AppendFile {
    /// What a reader sees now (the page cache).
    entries: Vec<DiskEntry>,
    /// How many leading `entries` are durable as they are.
    durable_prefix: usize,
    /// Durable entries after the prefix that a non-durable truncation removed from the cache.
    durable_tail: Vec<DiskEntry>,
}

impl AppendFile {
    fn truncate(&mut self, len: usize) {
        if len < self.durable_prefix {
            // The truncated entries are still on the platter until the next flush.
            let mut tail = self.entries[len..self.durable_prefix].to_vec();
            tail.append(&mut self.durable_tail);
            self.durable_tail = tail;
            self.durable_prefix = len;
        }
        self.entries.truncate(len);
    }

    fn make_durable(&mut self) {
        self.durable_prefix = self.entries.len();
        self.durable_tail.clear();
    }

    fn dirty_entries(&self) -> usize {
        self.entries.len() - self.durable_prefix + self.durable_tail.len()
    }

    /// The first write that a power failure loses, if it could be torn: a batch appended right
    /// after the durable prefix. With a pending truncation (`durable_tail` non-empty) the bytes
    /// after the prefix on disk are the old tail, and a half-written overwrite of it is not
    /// modelled.
    fn tearable_write(&self) -> Option<&broker_core::RecordBatch> {
        if !self.durable_tail.is_empty() {
            return None;
        }
        match self.entries.get(self.durable_prefix) {
            Some(DiskEntry::Batch(batch)) => Some(batch),
            _ => None,
        }
    }

    fn power_fail(&mut self, rng: &mut ChaCha8Rng, tear_probability: f64) {
        let torn = self
            .tearable_write()
            .filter(|_| chance(rng, tear_probability))
            .map(|batch| batch.torn(rng.gen_range(0..batch.records.len())));
        self.entries.truncate(self.durable_prefix);
        self.entries.append(&mut self.durable_tail);
        if let Some(batch) = torn {
            self.entries.push(DiskEntry::Batch(batch));
        }
        // What survived is on disk, torn batch included.
        self.durable_prefix = self.entries.len();
    }
}

/// `true` with probability `p`, drawing only when the outcome is uncertain.
fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    if p.is_nan() || p <= 0.0 {
        false
    } else if p >= 1.0 {
        true
    } else {
        rng.gen_bool(p)
    }
}

/// A node's disk: append-only files, checkpoint files, and the completion order of its operations.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    files: BTreeMap<FileName, AppendFile>,
    /// Checkpoint files are written and fsynced whole, so the cached and durable copies are the
    /// same and one map suffices.
    checkpoints: BTreeMap<FileName, Checkpoint>,
    /// When the last scheduled operation completes; later operations complete no earlier.
    last_completion: Time,
}

impl Disk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies an operation that just completed. Appends and truncations reach the page cache
    /// only; a checkpoint write is durable at once (Kafka fsyncs checkpoint files); an fsync makes
    /// every file durable.
    pub fn apply(&mut self, op: &DiskOp) {
        match op {
            DiskOp::Append { file, entries, .. } => {
                let target = self.files.entry(file.clone()).or_default();
                target.entries.extend(entries.iter().cloned());
            }
            DiskOp::Truncate { file, offset, .. } => {
                let target = self.files.entry(file.clone()).or_default();
                let len = target
                    .entries
                    .iter()
                    .position(|e| e.last_offset() >= *offset)
                    .unwrap_or(target.entries.len());
                target.truncate(len);
            }
            DiskOp::Delete { file, .. } => {
                self.files.remove(file);
            }
            DiskOp::WriteCheckpoint {
                file, checkpoint, ..
            } => {
                self.checkpoints.insert(file.clone(), checkpoint.clone());
            }
            DiskOp::ReplaceSegment { file, entries, .. } => {
                // Written, fsynced and renamed into place: durable as a whole.
                let target = self.files.entry(file.clone()).or_default();
                target.entries = entries.clone();
                target.make_durable();
            }
            DiskOp::Fsync { .. } => self.flush(),
        }
    }

    /// The OS wrote back every dirty page: everything is durable.
    pub fn flush(&mut self) {
        for file in self.files.values_mut() {
            file.make_durable();
        }
    }

    /// What a process restarting after a process crash finds: the page cache, which the OS kept.
    pub fn image(&self) -> DiskImage {
        DiskImage {
            files: self
                .files
                .iter()
                .map(|(name, file)| (name.clone(), file.entries.clone()))
                .collect(),
            checkpoints: self.checkpoints.clone(),
        }
    }

    /// A power failure: everything not durable is lost and the page cache becomes the durable
    /// state. For each file whose first lost write is a batch, with probability
    /// `tear_probability` a torn prefix of it (failing its CRC) is left on disk.
    pub fn power_fail(&mut self, rng: &mut ChaCha8Rng, tear_probability: f64) {
        for file in self.files.values_mut() {
            file.power_fail(rng, tear_probability);
        }
    }

    /// How many entries are not durable (appended or truncated since the last flush), for the UI.
    pub fn dirty_bytes_hint(&self) -> usize {
        self.files.values().map(AppendFile::dirty_entries).sum()
    }

    /// Corrupts batch `index` of `file` (as the page cache sees it) so that its CRC fails, in the
    /// page cache and, when that entry is durable, on disk too. Returns `false` if that entry
    /// does not exist or is not a batch.
    pub fn corrupt(&mut self, file: &FileName, index: usize) -> bool {
        let Some(DiskEntry::Batch(batch)) = self
            .files
            .get_mut(file)
            .and_then(|f| f.entries.get_mut(index))
        else {
            return false;
        };
        // Dropping the last record changes the content under the CRC; a one-record batch
        // becomes empty, which is never valid either.
        let kept = batch.records.len().saturating_sub(1);
        *batch = batch.torn(kept);
        true
    }

    /// The completion time of an operation issued at `now` taking `latency_ms`: never before the
    /// previously scheduled one, because a node's disk operations complete in issue order.
    pub fn schedule_completion(&mut self, now: Time, latency_ms: u64) -> Time {
        let at = now.plus_ms(latency_ms).max(self.last_completion);
        self.last_completion = at;
        at
    }

    /// Forgets the operations in flight: the process died, so they will never complete and must
    /// not delay the next incarnation's operations.
    pub fn reset_schedule(&mut self) {
        self.last_completion = Time::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{DiskOpId, LeaderEpoch, Offset, Record, RecordBatch, Topic, TopicPartition};
    use bytes::Bytes;
    use rand_chacha::rand_core::SeedableRng;

    fn log() -> FileName {
        FileName::Segment(TopicPartition::new(&Topic::new("orders"), 0), Offset(0))
    }

    fn batch(base: u64, records: usize) -> DiskEntry {
        let records = (0..records)
            .map(|i| Record::new(None, Bytes::from(format!("v{base}-{i}")), 1))
            .collect();
        let mut batch = RecordBatch::new(None, records);
        batch.base_offset = Offset(base);
        DiskEntry::Batch(batch)
    }

    fn append(disk: &mut Disk, entries: Vec<DiskEntry>) {
        disk.apply(&DiskOp::Append {
            id: DiskOpId(0),
            file: log(),
            entries,
        });
    }

    /// Truncate to `offset` (every test batch here is one record long before that offset).
    fn truncate(disk: &mut Disk, offset: u64) {
        disk.apply(&DiskOp::Truncate {
            id: DiskOpId(0),
            file: log(),
            offset: Offset(offset),
        });
    }

    fn fsync(disk: &mut Disk) {
        disk.apply(&DiskOp::Fsync { id: DiskOpId(0) });
    }

    fn log_of(disk: &Disk) -> Vec<DiskEntry> {
        disk.image().files.get(&log()).cloned().unwrap_or_default()
    }

    fn rng() -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(7)
    }

    #[test]
    fn crash_image_keeps_unflushed_appends() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 2), batch(2, 1)]);
        assert_eq!(log_of(&disk), vec![batch(0, 2), batch(2, 1)]);
        assert_eq!(disk.dirty_bytes_hint(), 2);
    }

    #[test]
    fn power_fail_loses_unflushed_appends() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 2)]);
        disk.power_fail(&mut rng(), 0.0);
        assert_eq!(log_of(&disk), vec![]);
        assert_eq!(disk.dirty_bytes_hint(), 0);
    }

    #[test]
    fn fsync_makes_appends_survive_power_fail() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 2)]);
        fsync(&mut disk);
        append(&mut disk, vec![batch(2, 1)]);
        disk.power_fail(&mut rng(), 0.0);
        assert_eq!(log_of(&disk), vec![batch(0, 2)]);
    }

    #[test]
    fn power_fail_after_unflushed_truncate_brings_entries_back() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 1), batch(1, 1), batch(2, 1)]);
        disk.flush();
        truncate(&mut disk, 2);
        truncate(&mut disk, 1);
        append(&mut disk, vec![batch(1, 3)]);
        assert_eq!(log_of(&disk), vec![batch(0, 1), batch(1, 3)]);
        assert_eq!(disk.dirty_bytes_hint(), 3);
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(log_of(&disk), vec![batch(0, 1), batch(1, 1), batch(2, 1)]);
    }

    #[test]
    fn flush_after_truncate_makes_it_durable() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 1), batch(1, 1), batch(2, 1)]);
        fsync(&mut disk);
        truncate(&mut disk, 1);
        disk.flush();
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(log_of(&disk), vec![batch(0, 1)]);
    }

    #[test]
    fn truncate_counts_offsets_not_entries() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 3), batch(3, 2), batch(7, 1)]);
        truncate(&mut disk, 4);
        assert_eq!(
            log_of(&disk),
            vec![batch(0, 3)],
            "offset 4 is inside the batch at 3"
        );
        append(&mut disk, vec![batch(3, 1), batch(9, 1)]);
        truncate(&mut disk, 5);
        assert_eq!(
            log_of(&disk),
            vec![batch(0, 3), batch(3, 1)],
            "offset 5 is in a gap"
        );
    }

    #[test]
    fn a_power_failure_loses_an_unflushed_segment_roll() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 2)]);
        fsync(&mut disk);
        let rolled = FileName::Segment(TopicPartition::new(&Topic::new("orders"), 0), Offset(2));
        disk.apply(&DiskOp::Append {
            id: DiskOpId(0),
            file: rolled.clone(),
            entries: vec![batch(2, 1)],
        });
        disk.power_fail(&mut rng(), 0.0);
        assert_eq!(log_of(&disk), vec![batch(0, 2)]);
        assert_eq!(
            disk.image().files.get(&rolled),
            Some(&vec![]),
            "the new file is empty"
        );
        disk.apply(&DiskOp::Delete {
            id: DiskOpId(0),
            file: rolled.clone(),
        });
        assert!(!disk.image().files.contains_key(&rolled));
    }

    #[test]
    fn a_cleaned_segment_replaces_the_old_one_durably_and_whole() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 1), batch(1, 1), batch(2, 1)]);
        disk.apply(&DiskOp::ReplaceSegment {
            id: DiskOpId(0),
            file: log(),
            entries: vec![batch(2, 1)],
        });
        assert_eq!(log_of(&disk), vec![batch(2, 1)]);
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(
            log_of(&disk),
            vec![batch(2, 1)],
            "the swap was fsynced: neither the old contents nor a torn mix come back"
        );
    }

    #[test]
    fn power_fail_may_tear_the_first_lost_batch() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 1)]);
        fsync(&mut disk);
        append(&mut disk, vec![batch(1, 4), batch(5, 1)]);
        disk.power_fail(&mut rng(), 1.0);
        let entries = log_of(&disk);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], batch(0, 1));
        let DiskEntry::Batch(torn) = &entries[1] else {
            panic!("expected a batch")
        };
        assert!(!torn.is_valid());
        assert!(torn.records.len() < 4);
        assert_eq!(torn.base_offset, Offset(1));
        // The torn batch is what is on disk now: a second power failure keeps it.
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(log_of(&disk), entries);
    }

    #[test]
    fn lost_metadata_entries_do_not_tear() {
        let mut disk = Disk::new();
        disk.apply(&DiskOp::Append {
            id: DiskOpId(0),
            file: FileName::MetadataLog,
            entries: vec![DiskEntry::Metadata(
                0,
                Box::new(broker_core::MetadataRecord::FenceBroker {
                    broker_id: broker_core::BrokerId(1),
                    broker_epoch: broker_core::BrokerEpoch(0),
                }),
            )],
        });
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(disk.image().files[&FileName::MetadataLog], vec![]);
    }

    #[test]
    fn checkpoints_survive_power_fail() {
        let mut disk = Disk::new();
        let file = FileName::LeaderEpochCheckpoint(TopicPartition::new(&Topic::new("t"), 0));
        let checkpoint = Checkpoint::LeaderEpochs(vec![(LeaderEpoch(1), Offset(0))]);
        disk.apply(&DiskOp::WriteCheckpoint {
            id: DiskOpId(0),
            file: file.clone(),
            checkpoint: checkpoint.clone(),
        });
        disk.power_fail(&mut rng(), 1.0);
        assert_eq!(disk.image().checkpoints[&file], checkpoint);
    }

    #[test]
    fn corrupt_breaks_the_crc_of_a_stored_batch() {
        let mut disk = Disk::new();
        append(&mut disk, vec![batch(0, 1), batch(1, 3)]);
        disk.flush();
        assert!(disk.corrupt(&log(), 0));
        assert!(disk.corrupt(&log(), 1));
        assert!(!disk.corrupt(&log(), 2));
        assert!(!disk.corrupt(&FileName::MetadataLog, 0));
        disk.power_fail(&mut rng(), 1.0);
        for entry in log_of(&disk) {
            let DiskEntry::Batch(b) = entry else {
                panic!("expected a batch")
            };
            assert!(!b.is_valid());
        }
    }

    #[test]
    fn completions_are_fifo() {
        let mut disk = Disk::new();
        assert_eq!(disk.schedule_completion(Time(10), 5), Time(15));
        assert_eq!(disk.schedule_completion(Time(11), 1), Time(15));
        assert_eq!(disk.schedule_completion(Time(12), 10), Time(22));
        assert_eq!(disk.schedule_completion(Time(30), 1), Time(31));
        disk.reset_schedule();
        assert_eq!(disk.schedule_completion(Time(20), 1), Time(21));
    }
}
