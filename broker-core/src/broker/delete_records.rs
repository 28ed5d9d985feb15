//! `DeleteRecords` (KIP-107) on the leader: `ReplicaManager.deleteRecords` →
//! `Partition.deleteRecordsOnLeader` → `UnifiedLog.maybeIncrementLogStartOffset`. The leader
//! moves its log start; followers learn it from fetch responses (`LogStartOffset`) and move
//! theirs; each replica's retention task then deletes the segments wholly below it
//! (`UnifiedLog.deleteOldSegments`, `RetentionCause::LogStartOffset`).
//!
//! Kafka answers once every live replica's log start reached the requested offset
//! (`DelayedDeleteRecords`, the partition's low watermark). The lab answers at the leader's own
//! move: `low_watermark` in the answer is the leader's new log start, not yet the followers'.

use super::*;
use crate::error::ErrorCode;
use crate::io::{DeleteRecordsTo, Event};
use crate::protocol::{DeleteRecordsRequest, DeleteRecordsResponse};

impl Broker {
    /// Handle an operator's `DeleteRecords` for `tp`; the answer is `Event::RecordsDeleted`.
    pub(super) fn delete_records(&mut self, tp: TopicPartition, to: DeleteRecordsTo) {
        self.delete_records_on_leader(tp, to);
    }

    /// A client's `DeleteRecords` (the wire API): the same move, answered to `from` with a
    /// `DeleteRecordsResponse`. A broker that does not lead `tp` answers
    /// `NOT_LEADER_OR_FOLLOWER` (`ReplicaManager.deleteRecords`); the admin client sends each
    /// partition to its leader.
    pub(super) fn handle_delete_records(&mut self, from: NodeId, request: DeleteRecordsRequest) {
        let DeleteRecordsRequest {
            correlation_id,
            tp,
            to,
        } = request;
        let (low_watermark, error) = self.delete_records_on_leader(tp.clone(), to);
        let response = DeleteRecordsResponse {
            correlation_id,
            tp,
            low_watermark,
            error,
        };
        self.out
            .send(from, Message::DeleteRecordsResponse(response));
    }

    /// The one place both paths move the log start; records `Event::RecordsDeleted`, which the
    /// checker reads to count the records below as deleted on purpose, not lost.
    fn delete_records_on_leader(
        &mut self,
        tp: TopicPartition,
        to: DeleteRecordsTo,
    ) -> (Offset, ErrorCode) {
        let (low_watermark, error) = match self.replicas.get_mut(&tp) {
            Some(r) if r.leading.is_some() && !self.fenced => {
                match move_log_start(&mut r.log, to) {
                    Ok(start) => (start, ErrorCode::NONE),
                    Err(error) => (r.log.log_start_offset(), error),
                }
            }
            _ => (Offset(0), ErrorCode::NOT_LEADER_OR_FOLLOWER),
        };
        if error.is_ok() {
            self.write_log_start_checkpoint();
        }
        self.out.event(Event::RecordsDeleted {
            broker: self.id,
            tp,
            to,
            low_watermark,
            error,
        });
        (low_watermark, error)
    }
}

/// `Partition.deleteRecordsOnLeader` on the leader's log: refused on a topic whose
/// `cleanup.policy` has no `delete` (`POLICY_VIOLATION`); `-1` means the high watermark; an offset
/// above the high watermark is `OFFSET_OUT_OF_RANGE` (`UnifiedLog.maybeIncrementLogStartOffset`);
/// one at or below the log start changes nothing. Returns the log start afterwards.
fn move_log_start(log: &mut PartitionLog, to: DeleteRecordsTo) -> Result<Offset, ErrorCode> {
    if !log.config().cleanup_policy.deletes() {
        return Err(ErrorCode::POLICY_VIOLATION);
    }
    let offset = match to {
        DeleteRecordsTo::HighWatermark => log.high_watermark(),
        DeleteRecordsTo::Offset(offset) => offset,
    };
    if offset > log.high_watermark() {
        return Err(ErrorCode::OFFSET_OUT_OF_RANGE);
    }
    log.advance_log_start(offset);
    Ok(log.log_start_offset())
}
