//! Idempotent-producer state of one partition (`ProducerStateManager`, `ProducerAppendInfo`):
//! the last batches of each producer id, so that a retried batch is recognised and answered with
//! its original offsets instead of being appended twice.
//!
//! The state is part of the log: leader and followers update it on every append, and recovery
//! and truncation rebuild it from the batches.

use crate::error::ErrorCode;
use crate::record::{ProducerFields, RecordBatch};
use crate::types::{Offset, ProducerId};
use std::collections::{BTreeMap, VecDeque};

/// Batches kept per producer (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const BATCHES_RETAINED: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BatchMetadata {
    first_seq: i32,
    last_seq: i32,
    first_offset: Offset,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Entry {
    epoch: u16,
    batches: VecDeque<BatchMetadata>,
}

/// What the leader should do with an incoming idempotent batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppendCheck {
    /// New and in sequence: append it.
    Append,
    /// A retry of a batch already in the log at this first offset: do not append again.
    Duplicate {
        /// Where the original landed.
        first_offset: Offset,
    },
    /// Refused with this error.
    Reject(ErrorCode),
}

/// Producer state of one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerState {
    producers: BTreeMap<ProducerId, Entry>,
}

impl ProducerState {
    /// State rebuilt from a log's batches, oldest first.
    pub fn rebuilt<'a>(batches: impl Iterator<Item = &'a RecordBatch>) -> ProducerState {
        let mut state = ProducerState::default();
        for batch in batches {
            state.record(batch);
        }
        state
    }

    /// Validate an incoming batch (`ProducerAppendInfo.checkProducerEpoch`/`checkSequence`).
    pub fn check(&self, producer: &ProducerFields, last_seq: i32) -> AppendCheck {
        let Some(entry) = self.producers.get(&producer.producer_id) else {
            // A producer id this log has no state for accepts any sequence
            // (`ProducerAppendInfo.checkSequence`, Kafka 2.5+ / KIP-360: with no current epoch,
            // "accept writes with any sequence number", since retention may have deleted the
            // producer's batches). Only a transactional producer with a verification entry
            // must start at 0; the lab has no transactions.
            return AppendCheck::Append;
        };
        if producer.producer_epoch < entry.epoch {
            return AppendCheck::Reject(ErrorCode::INVALID_PRODUCER_EPOCH);
        }
        if producer.producer_epoch > entry.epoch {
            // A new epoch starts its sequences again at 0.
            return if producer.base_sequence == 0 {
                AppendCheck::Append
            } else {
                AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        let duplicate = entry
            .batches
            .iter()
            .find(|b| b.first_seq == producer.base_sequence && b.last_seq == last_seq);
        if let Some(original) = duplicate {
            return AppendCheck::Duplicate {
                first_offset: original.first_offset,
            };
        }
        let expected = entry
            .batches
            .back()
            .map_or(0, |b| next_sequence(b.last_seq));
        if producer.base_sequence == expected {
            AppendCheck::Append
        } else {
            AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        }
    }

    /// Remember an appended batch (leader or follower).
    pub fn record(&mut self, batch: &RecordBatch) {
        let (Some(producer), Some(last_seq)) = (batch.producer, batch.last_sequence()) else {
            return;
        };
        let entry = self.producers.entry(producer.producer_id).or_default();
        if producer.producer_epoch != entry.epoch {
            entry.epoch = producer.producer_epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(BatchMetadata {
            first_seq: producer.base_sequence,
            last_seq,
            first_offset: batch.base_offset,
        });
        while entry.batches.len() > BATCHES_RETAINED {
            entry.batches.pop_front();
        }
    }
}

/// The sequence after `seq`, wrapping at `i32::MAX` as Kafka's `DefaultRecordBatch` does.
fn next_sequence(seq: i32) -> i32 {
    if seq == i32::MAX {
        0
    } else {
        seq + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use bytes::Bytes;

    fn batch(pid: u64, epoch: u16, seq: i32, records: usize, offset: u64) -> RecordBatch {
        let records = (0..records)
            .map(|i| Record::new(None, Bytes::from(format!("{seq}-{i}")), 0))
            .collect();
        let producer = ProducerFields {
            producer_id: ProducerId(pid),
            producer_epoch: epoch,
            base_sequence: seq,
        };
        let mut batch = RecordBatch::new(Some(producer), records);
        batch.base_offset = Offset(offset);
        batch
    }

    fn check(state: &ProducerState, b: &RecordBatch) -> AppendCheck {
        state.check(b.producer.as_ref().unwrap(), b.last_sequence().unwrap())
    }

    #[test]
    fn a_retried_batch_gets_its_original_offset_back() {
        let mut state = ProducerState::default();
        let first = batch(7, 0, 0, 3, 10);
        assert_eq!(check(&state, &first), AppendCheck::Append);
        state.record(&first);
        let retry = batch(7, 0, 0, 3, 99);
        assert_eq!(
            check(&state, &retry),
            AppendCheck::Duplicate {
                first_offset: Offset(10)
            }
        );
    }

    #[test]
    fn sequences_must_follow_on() {
        let mut state = ProducerState::default();
        state.record(&batch(7, 0, 0, 3, 0));
        assert_eq!(check(&state, &batch(7, 0, 3, 1, 3)), AppendCheck::Append);
        assert_eq!(
            check(&state, &batch(7, 0, 4, 1, 3)),
            AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
            "a gap"
        );
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut state = ProducerState::default();
        for i in 0..6 {
            state.record(&batch(7, 0, i, 1, i as u64));
        }
        assert_eq!(
            check(&state, &batch(7, 0, 1, 1, 0)),
            AppendCheck::Duplicate {
                first_offset: Offset(1)
            }
        );
        assert_eq!(
            check(&state, &batch(7, 0, 0, 1, 0)),
            AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
            "the oldest batch was forgotten: its retry is out of order"
        );
    }

    #[test]
    fn epochs_fence_older_producers_and_restart_sequences() {
        let mut state = ProducerState::default();
        state.record(&batch(7, 1, 0, 2, 0));
        assert_eq!(
            check(&state, &batch(7, 0, 2, 1, 2)),
            AppendCheck::Reject(ErrorCode::INVALID_PRODUCER_EPOCH)
        );
        assert_eq!(
            check(&state, &batch(7, 2, 5, 1, 2)),
            AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(check(&state, &batch(7, 2, 0, 1, 2)), AppendCheck::Append);
    }

    #[test]
    fn unknown_producers_accept_any_sequence_and_state_rebuilds_from_the_log() {
        let log = [
            batch(7, 0, 40, 2, 0),
            batch(8, 0, 0, 1, 2),
            batch(7, 0, 42, 1, 3),
        ];
        let state = ProducerState::rebuilt(log.iter());
        // `ProducerAppendInfo.checkSequence`: no state for the producer id, any sequence.
        assert_eq!(
            check(&ProducerState::default(), &log[0]),
            AppendCheck::Append
        );
        assert_eq!(
            check(&state, &batch(9, 3, 17, 1, 9)),
            AppendCheck::Append,
            "another producer id without state, any epoch and sequence"
        );
        assert_eq!(
            check(&state, &batch(7, 0, 44, 1, 9)),
            AppendCheck::Reject(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER),
            "a producer with state must follow on"
        );
        assert_eq!(
            check(&ProducerState::default(), &log[1]),
            AppendCheck::Append
        );
        assert_eq!(
            check(&state, &batch(7, 0, 42, 1, 9)),
            AppendCheck::Duplicate {
                first_offset: Offset(3)
            }
        );
        assert_eq!(check(&state, &batch(7, 0, 43, 1, 9)), AppendCheck::Append);
    }

    #[test]
    fn sequences_wrap_at_int_max() {
        let mut state = ProducerState::default();
        state.record(&batch(7, 0, i32::MAX, 1, 0));
        assert_eq!(check(&state, &batch(7, 0, 0, 1, 1)), AppendCheck::Append);
    }
}
