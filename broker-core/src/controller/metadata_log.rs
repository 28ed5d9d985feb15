//! The controller's metadata log `__cluster_metadata` behind one interface: append a record,
//! hand the decided records to the disk, learn from disk completions which records are now
//! committed. `LocalMetadataLog` is the single-node log (a record is committed once its own
//! fsync completed); the KRaft quorum log (`crate::raft`) is the replicated one (a record is
//! committed once a majority of voters has it on disk, `LeaderState.maybeUpdateHighWatermark`).

use crate::io::{DiskEntry, DiskImage, DiskOp, FileName};
use crate::metadata::MetadataRecord;
use crate::outbox::Outbox;
use crate::types::DiskOpId;
use std::collections::VecDeque;
use std::ops::Range;

/// What the controller needs of its metadata log.
pub(crate) trait MetadataLog {
    /// Append a decided record in memory; returns its offset.
    fn append(&mut self, record: MetadataRecord) -> u64;
    /// The offset after the last appended record.
    fn end_offset(&self) -> u64;
    /// The offset after the last committed record: what may be published and answered.
    fn committed_end(&self) -> u64;
    /// The record at `offset` (appended, committed or not).
    fn record(&self, offset: u64) -> &MetadataRecord;
    /// Hand every record appended since the last call to the disk.
    fn flush(&mut self, out: &mut Outbox);
    /// A disk operation completed; returns the offsets it committed, if any.
    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) -> Option<Range<u64>>;
}

/// The single-node metadata log: one append and one fsync per flush; a record is committed
/// when the fsync that covers it completes (persist before publishing).
#[derive(Clone, Debug, Default)]
pub(crate) struct LocalMetadataLog {
    records: Vec<MetadataRecord>,
    /// Records whose fsync completed.
    durable_len: u64,
    /// Records handed to the disk.
    written_len: u64,
    /// Fsyncs in flight and the log end each makes durable.
    writes: VecDeque<(DiskOpId, u64)>,
}

impl LocalMetadataLog {
    /// The log the disk holds: its contiguous prefix from offset 0 (a torn tail ends it).
    pub(crate) fn recovered(disk: &DiskImage) -> LocalMetadataLog {
        let mut records = Vec::new();
        for entry in disk.files.get(&FileName::MetadataLog).into_iter().flatten() {
            let DiskEntry::Metadata(offset, record) = entry else {
                continue;
            };
            if *offset != records.len() as u64 {
                break;
            }
            records.push((**record).clone());
        }
        let len = records.len() as u64;
        LocalMetadataLog {
            records,
            durable_len: len,
            written_len: len,
            writes: VecDeque::new(),
        }
    }

    /// Every record, oldest first.
    pub(crate) fn records(&self) -> &[MetadataRecord] {
        &self.records
    }
}

impl MetadataLog for LocalMetadataLog {
    fn append(&mut self, record: MetadataRecord) -> u64 {
        self.records.push(record);
        self.records.len() as u64 - 1
    }

    fn end_offset(&self) -> u64 {
        self.records.len() as u64
    }

    fn committed_end(&self) -> u64 {
        self.durable_len
    }

    fn record(&self, offset: u64) -> &MetadataRecord {
        &self.records[offset as usize]
    }

    /// Write every undecided record in one append followed by an fsync.
    fn flush(&mut self, out: &mut Outbox) {
        let end = self.end_offset();
        if self.written_len == end {
            return;
        }
        let entries = (self.written_len..end)
            .map(|o| DiskEntry::Metadata(o, Box::new(self.records[o as usize].clone())))
            .collect();
        out.disk(|id| DiskOp::Append {
            id,
            file: FileName::MetadataLog,
            entries,
        });
        let fsync = out.disk(|id| DiskOp::Fsync { id });
        self.writes.push_back((fsync, end));
        self.written_len = end;
    }

    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) -> Option<Range<u64>> {
        assert!(ok, "the metadata log's write failed");
        let &(fsync, end) = self.writes.front()?;
        if id != fsync {
            return None; // the append before its fsync
        }
        self.writes.pop_front();
        let from = self.durable_len;
        self.durable_len = end;
        Some(from..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::Output;
    use crate::types::{BrokerEpoch, BrokerId};

    fn record(b: u32) -> MetadataRecord {
        MetadataRecord::UnfenceBroker {
            broker_id: BrokerId(b),
            broker_epoch: BrokerEpoch(0),
        }
    }

    fn fsync_id(out: &mut Outbox) -> DiskOpId {
        let mut last = None;
        while let Some(output) = out.pop() {
            if let Output::Disk(DiskOp::Fsync { id }) = output {
                last = Some(id);
            }
        }
        last.expect("an fsync")
    }

    #[test]
    fn a_record_is_committed_only_when_its_fsync_completes() {
        let mut log = LocalMetadataLog::default();
        let mut out = Outbox::default();
        assert_eq!(log.append(record(1)), 0);
        assert_eq!(log.append(record(2)), 1);
        log.flush(&mut out);
        let first = fsync_id(&mut out);
        log.append(record(3));
        log.flush(&mut out);
        let second = fsync_id(&mut out);
        assert_eq!(log.committed_end(), 0);
        assert_eq!(log.end_offset(), 3);
        assert_eq!(log.on_disk_completed(DiskOpId(0), true), None, "the append");
        assert_eq!(log.on_disk_completed(first, true), Some(0..2));
        assert_eq!(log.committed_end(), 2);
        assert_eq!(log.on_disk_completed(second, true), Some(2..3));
        assert_eq!(log.record(2), &record(3));
    }
}
