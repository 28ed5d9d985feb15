use super::*;
use crate::record::Record;
use bytes::Bytes;

fn batch(base: u64, epoch: u32, records: usize) -> RecordBatch {
    let records = (0..records)
        .map(|i| Record::new(None, Bytes::from(format!("v{base}-{i}")), 0))
        .collect();
    let mut batch = RecordBatch::new(None, records);
    batch.base_offset = Offset(base);
    batch.leader_epoch = LeaderEpoch(epoch);
    batch
}

fn log_of(batches: &[(u64, u32, usize)]) -> PartitionLog {
    PartitionLog::recovered(
        batches.iter().map(|&(b, e, n)| batch(b, e, n)).collect(),
        vec![],
        Offset(0),
        Offset(0),
    )
}

#[test]
fn appends_count_towards_written_end_only_when_the_disk_completes() {
    let mut log = PartitionLog::new();
    let seq = log.append(batch(0, 1, 3));
    assert_eq!(log.log_end_offset(), Offset(3));
    assert_eq!(log.written_end(), Offset(0));
    assert!(
        log.read(Offset(0), Offset(100), 10).is_empty(),
        "unwritten batches are not readable"
    );
    log.complete_write(seq);
    assert_eq!(log.written_end(), Offset(3));
    assert_eq!(log.read(Offset(0), Offset(100), 10).len(), 1);
}

#[test]
fn epoch_cache_tracks_epoch_starts() {
    let log = log_of(&[(0, 1, 2), (2, 1, 2), (4, 3, 1), (5, 4, 2)]);
    assert_eq!(
        log.epochs(),
        &[
            (LeaderEpoch(1), Offset(0)),
            (LeaderEpoch(3), Offset(4)),
            (LeaderEpoch(4), Offset(5))
        ]
    );
    assert_eq!(log.latest_epoch(), Some(LeaderEpoch(4)));
}

#[test]
fn end_offset_for_follows_kip_279() {
    let log = log_of(&[(0, 1, 4), (4, 3, 1), (5, 4, 2)]);
    let eo = |epoch| {
        log.end_offset_for(LeaderEpoch(epoch))
            .map(|e| (e.epoch.0, e.end_offset.0))
    };
    assert_eq!(eo(4), Some((4, 7)), "latest epoch ends at the LEO");
    assert_eq!(eo(3), Some((3, 5)));
    assert_eq!(
        eo(2),
        Some((1, 4)),
        "unknown epoch 2: the largest smaller epoch, ending where epoch 3 starts"
    );
    assert_eq!(eo(0), Some((0, 0)), "older than any known epoch");
    assert_eq!(eo(9), None, "newer than any known epoch");
}

#[test]
fn truncation_removes_whole_batches_and_their_epochs() {
    let mut log = log_of(&[(0, 1, 2), (2, 2, 2), (4, 3, 2)]);
    log.set_high_watermark(Offset(6));
    assert!(
        log.truncate_to(Offset(3)),
        "offset 3 is inside the batch at 2: it goes whole"
    );
    assert_eq!(log.log_end_offset(), Offset(2));
    assert_eq!(log.epochs(), &[(LeaderEpoch(1), Offset(0))]);
    assert_eq!(
        log.high_watermark(),
        Offset(2),
        "the HW never passes the LEO"
    );
    assert!(!log.truncate_to(Offset(10)));
}

#[test]
fn truncation_at_the_end_drops_an_empty_leader_epoch() {
    let mut log = log_of(&[(0, 1, 2)]);
    log.assign_epoch(LeaderEpoch(2), Offset(2));
    assert_eq!(log.latest_epoch(), Some(LeaderEpoch(2)));
    assert!(!log.truncate_to(Offset(2)));
    assert_eq!(
        log.latest_epoch(),
        Some(LeaderEpoch(1)),
        "UnifiedLog.truncateTo always truncates the epoch cache"
    );
}

#[test]
fn truncation_during_a_pending_write_keeps_completion_order() {
    let mut log = log_of(&[(0, 1, 2)]);
    let first = log.append(batch(2, 1, 1));
    log.truncate_to(Offset(2));
    let second = log.append(batch(2, 2, 1));
    log.complete_write(first);
    assert_eq!(
        log.written_end(),
        Offset(2),
        "the truncated batch does not count"
    );
    log.complete_write(second);
    assert_eq!(log.written_end(), Offset(3));
}

#[test]
fn recovery_drops_epoch_entries_past_the_log_end_and_caps_the_hw() {
    let log = PartitionLog::recovered(
        vec![batch(0, 1, 2)],
        vec![(LeaderEpoch(1), Offset(0)), (LeaderEpoch(2), Offset(5))],
        Offset(9),
        Offset(0),
    );
    assert_eq!(log.epochs(), &[(LeaderEpoch(1), Offset(0))]);
    assert_eq!(log.high_watermark(), Offset(2));
}

#[test]
fn read_respects_the_limit_offset() {
    let log = log_of(&[(0, 1, 2), (2, 1, 2), (4, 1, 2)]);
    let read = log.read(Offset(3), Offset(6), 10);
    assert_eq!(
        read.iter().map(|b| b.base_offset.0).collect::<Vec<_>>(),
        vec![2, 4]
    );
    assert_eq!(
        log.read(Offset(0), Offset(5), 10).len(),
        2,
        "a batch ending past the limit is not returned"
    );
}

/// A batch at `base` that compaction left with only the records at the given offsets.
fn sparse(base: u64, epoch: u32, len: usize, kept: &[u64]) -> RecordBatch {
    batch(base, epoch, len)
        .retain(|offset, _| kept.contains(&offset.0))
        .expect("some record kept")
}

#[test]
fn gaps_left_by_compaction_keep_the_batch_span() {
    // Batch 0..=3 kept only offsets 1 and 3; batch 4..=5 went whole; batch 6..=7 is intact.
    let log = PartitionLog::recovered(
        vec![sparse(0, 1, 4, &[1, 3]), batch(6, 1, 2)],
        vec![],
        Offset(8),
        Offset(0),
    );
    assert_eq!(log.log_end_offset(), Offset(8));
    let offsets: Vec<u64> = log
        .read(Offset(2), Offset(8), 10)
        .iter()
        .flat_map(|b| {
            b.records_with_offsets()
                .map(|(o, _)| o.0)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        offsets,
        vec![1, 3, 6, 7],
        "a read from a gap starts at the batch spanning it"
    );
    assert!(sparse(0, 1, 4, &[1, 3]).is_valid());
    let mut log = log;
    assert!(
        log.truncate_to(Offset(4)),
        "offset 4 is in the gap: the batch at 6 goes"
    );
    assert_eq!(
        log.log_end_offset(),
        Offset(4),
        "the compacted batch still spans 0..=3"
    );
}

#[test]
fn the_log_start_advances_below_the_hw_only_and_drops_whole_batches() {
    let mut log = log_of(&[(0, 1, 2), (2, 1, 2), (4, 1, 2)]);
    log.set_high_watermark(Offset(4));
    assert!(log.advance_log_start(Offset(3)));
    assert_eq!(log.log_start_offset(), Offset(3));
    assert_eq!(log.batch_count(), 2, "the batch at 2 still holds offset 3");
    assert!(log.advance_log_start(Offset(9)), "capped at the HW");
    assert_eq!(log.log_start_offset(), Offset(4));
    assert_eq!(log.batch_count(), 1);
    assert!(
        !log.advance_log_start(Offset(1)),
        "the log start never goes back"
    );
    assert_eq!(log.written_end(), Offset(6));
}

#[test]
fn a_follower_below_the_leaders_start_starts_over_there() {
    let mut log = log_of(&[(0, 1, 2)]);
    log.truncate_fully_and_start_at(Offset(40));
    assert_eq!(log.log_start_offset(), Offset(40));
    assert_eq!(log.log_end_offset(), Offset(40));
    assert_eq!(log.high_watermark(), Offset(40));
    assert!(log.epochs().is_empty());
    log.append(batch(40, 2, 1));
    assert_eq!(log.log_end_offset(), Offset(41));
}

#[test]
fn recovery_starts_at_the_checkpointed_log_start() {
    let log = PartitionLog::recovered(
        vec![batch(0, 1, 2), batch(2, 1, 2)],
        vec![],
        Offset(4),
        Offset(3),
    );
    assert_eq!(log.log_start_offset(), Offset(3));
    assert_eq!(log.batch_count(), 1);
    let empty = PartitionLog::recovered(vec![], vec![], Offset(0), Offset(7));
    assert_eq!(empty.log_end_offset(), Offset(7));
    assert_eq!(empty.high_watermark(), Offset(7));
}

/// The shared diverging-epoch rule (KAFKA-10554), used by the data plane and the quorum.
#[test]
fn a_fetcher_diverges_past_its_epochs_end_and_truncates_to_the_shared_end() {
    use crate::log::{diverges, truncation_offset};
    let end = |epoch, offset| EpochEndOffset {
        epoch: LeaderEpoch(epoch),
        end_offset: Offset(offset),
    };
    // The leader's epoch 1 ends at 5: a fetcher at 7 in epoch 1 diverges, one at 5 does not.
    assert!(diverges(end(1, 5), LeaderEpoch(1), Offset(7)));
    assert!(!diverges(end(1, 5), LeaderEpoch(1), Offset(5)));
    // The leader never had epoch 2: its largest smaller epoch answers, and that diverges.
    assert!(diverges(end(1, 5), LeaderEpoch(2), Offset(5)));
    // The fetcher knows the epoch: the smaller of both ends; it does not: its own end of it.
    assert_eq!(
        truncation_offset(Some(end(1, 6)), end(1, 5), Offset(9)),
        Offset(5)
    );
    assert_eq!(
        truncation_offset(Some(end(0, 3)), end(1, 5), Offset(9)),
        Offset(3)
    );
    assert_eq!(truncation_offset(None, end(1, 5), Offset(4)), Offset(4));
}
