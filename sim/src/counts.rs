//! What a client did, counted from its history: the one count the `run` report, `serve`'s
//! verdict and the replay of a recorded session all print.

use broker_core::{HistoryEntry, ResetReason, SendOutcome};
use serde::Serialize;
use std::collections::BTreeMap;

/// A client's operations by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HistoryCounts {
    /// Records sent (every attempt a real client makes counts: the wire shows each).
    pub sent: u64,
    /// Sends acknowledged.
    pub acknowledged: u64,
    /// Sends that failed (not written, as far as the client knows).
    pub failed: u64,
    /// Sends whose outcome is unknown (timed out, or an error after a possible append).
    pub unknown: u64,
    /// Records handed to the reader (re-reads count again).
    pub read: u64,
    /// The failures by error (for the text report).
    #[serde(skip)]
    pub failed_by_error: BTreeMap<String, u64>,
    /// Position resets after `OFFSET_OUT_OF_RANGE` (for the text report).
    #[serde(skip)]
    pub out_of_range_resets: u64,
    /// Log truncations detected below the position, KIP-320 (for the text report).
    #[serde(skip)]
    pub truncations_detected: u64,
}

impl HistoryCounts {
    /// Count one history entry.
    pub fn add(&mut self, entry: &HistoryEntry) {
        match entry {
            HistoryEntry::SendInvoked { .. } => self.sent += 1,
            HistoryEntry::SendCompleted { outcome, .. } => match outcome {
                SendOutcome::Ok(_) => self.acknowledged += 1,
                SendOutcome::Fail(e) => {
                    self.failed += 1;
                    *self.failed_by_error.entry(e.to_string()).or_default() += 1;
                }
                SendOutcome::Info(_) => self.unknown += 1,
            },
            HistoryEntry::Polled { records, .. } => self.read += records.len() as u64,
            HistoryEntry::PositionReset { reason, .. } => match reason {
                ResetReason::OffsetOutOfRange => self.out_of_range_resets += 1,
                ResetReason::LogTruncation { .. } => self.truncations_detected += 1,
            },
            HistoryEntry::Rebalanced(_)
            | HistoryEntry::Committed { .. }
            | HistoryEntry::Positioned { .. }
            | HistoryEntry::ConsumerError { .. } => {}
        }
    }
}
