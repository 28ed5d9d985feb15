//! The broker's side of consumer groups: `FindCoordinator`, passing group requests to the
//! [`GroupCoordinator`], and carrying out its appends to `__consumer_offsets` with acks=all
//! (`offsets.commit.required.acks` = -1), answering once the high watermark passes them.

use super::*;
use crate::error::ErrorCode;
use crate::group::{partition_for, Effect, GroupWrite, OffsetsRecord, OFFSETS_TOPIC};
use crate::protocol::{FindCoordinatorRequest, FindCoordinatorResponse};
use crate::record::RecordBatch;

/// An append of the coordinator waiting for the high watermark.
#[derive(Clone, Debug)]
pub(super) struct PendingGroupWrite {
    tp: TopicPartition,
    required: Offset,
    deadline: Time,
    write: GroupWrite,
}

impl Broker {
    /// Group requests; `FindCoordinator` any broker answers from its metadata.
    pub(super) fn handle_group_request(&mut self, from: NodeId, message: Message) {
        if let Message::FindCoordinator(FindCoordinatorRequest {
            correlation_id,
            group,
        }) = message
        {
            let coordinator = self.coordinator_of(&group);
            let error = match coordinator {
                Some(_) => ErrorCode::NONE,
                None => ErrorCode::COORDINATOR_NOT_AVAILABLE,
            };
            let response = Message::FindCoordinatorResponse(FindCoordinatorResponse {
                correlation_id,
                error,
                coordinator,
            });
            self.out.send(from, response);
            return;
        }
        let now = self.now;
        let handled = self.groups.handle(now, from, message);
        assert!(handled.is_some(), "only group requests come here");
        self.apply_group_effects();
    }

    /// The leader of the group's offsets partition, as this broker's metadata says.
    fn coordinator_of(&self, group: &str) -> Option<BrokerId> {
        let partitions = self.config.offsets_topic_num_partitions;
        let tp = TopicPartition::new(&Topic::new(OFFSETS_TOPIC), partition_for(group, partitions));
        self.image.partitions.get(&tp).and_then(|s| s.leader)
    }

    /// Carry out what the coordinator asked for, including what its callbacks ask in turn.
    pub(super) fn apply_group_effects(&mut self) {
        loop {
            let effects = self.groups.take_effects();
            if effects.is_empty() {
                return;
            }
            for effect in effects {
                match effect {
                    Effect::Send { to, message } => self.out.send(to, message),
                    Effect::Event(event) => self.out.event(event),
                    Effect::Append {
                        partition,
                        records,
                        write,
                    } => self.append_group_records(partition, records, write),
                }
            }
        }
    }

    /// Append to `__consumer_offsets` as `ReplicaManager.appendRecords` with acks=all would:
    /// refused under min ISR, answered once the high watermark passes the records.
    fn append_group_records(
        &mut self,
        partition: u32,
        records: Vec<OffsetsRecord>,
        write: GroupWrite,
    ) {
        let tp = TopicPartition::new(&Topic::new(OFFSETS_TOPIC), partition);
        let error = match self.replicas.get(&tp) {
            Some(r) if r.leading.is_some() && !self.fenced => {
                if r.under_min_isr() {
                    ErrorCode::NOT_ENOUGH_REPLICAS
                } else {
                    ErrorCode::NONE
                }
            }
            _ => ErrorCode::NOT_LEADER_OR_FOLLOWER,
        };
        if !error.is_ok() {
            let now = self.now;
            self.groups.write_completed(now, write, error);
            return;
        }
        let now_ms = self.now.0;
        let records = records.iter().map(|r| r.encode(now_ms)).collect();
        let (_, required) = self.append_as_leader(&tp, RecordBatch::new(None, records));
        let deadline = self.now.plus_ms(self.config.offsets_commit_timeout_ms);
        self.group_writes.push(PendingGroupWrite {
            tp: tp.clone(),
            required,
            deadline,
            write,
        });
        self.complete_group_writes(&tp);
    }

    /// Finish the coordinator's appends to `tp` that the high watermark has passed.
    pub(super) fn complete_group_writes(&mut self, tp: &TopicPartition) {
        if tp.topic.0.as_ref() != OFFSETS_TOPIC {
            return;
        }
        let Some(replica) = self.replicas.get(tp) else {
            return;
        };
        let (written, hw) = (replica.log.written_end(), replica.log.high_watermark());
        let enough = replica.maximal_isr_len() as u32 >= replica.effective_min_isr();
        let done: Vec<PendingGroupWrite> = self
            .group_writes
            .extract_if(.., |w| {
                &w.tp == tp && written >= w.required && hw >= w.required
            })
            .collect();
        let now = self.now;
        for w in done {
            let error = if enough {
                ErrorCode::NONE
            } else {
                ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
            };
            self.groups.write_completed(now, w.write, error);
        }
        self.apply_group_effects();
    }

    /// Fail the coordinator's appends that `doomed` picks.
    pub(super) fn fail_group_writes(
        &mut self,
        error: ErrorCode,
        doomed: impl Fn(&PendingGroupWrite) -> bool,
    ) {
        let failed: Vec<PendingGroupWrite> =
            self.group_writes.extract_if(.., |w| doomed(w)).collect();
        let now = self.now;
        for w in failed {
            self.groups.write_completed(now, w.write, error);
        }
        self.apply_group_effects();
    }

    /// Group deadlines: sessions, rebalance phases, and appends that took too long.
    pub(super) fn group_timeouts(&mut self, now: Time) {
        self.fail_group_writes(ErrorCode::REQUEST_TIMED_OUT, |w| w.deadline <= now);
        self.groups.handle_timeout(now);
        self.apply_group_effects();
    }

    /// The next group deadline.
    pub(super) fn group_deadline(&self) -> Option<Time> {
        let writes = self.group_writes.iter().map(|w| w.deadline).min();
        match (writes, self.groups.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Leadership of an offsets partition changed: load or unload its groups.
    pub(super) fn offsets_leadership_changed(&mut self, tp: &TopicPartition, leads: bool) {
        if tp.topic.0.as_ref() != OFFSETS_TOPIC {
            return;
        }
        let now = self.now;
        if leads {
            let log = &self.replicas[tp].log;
            let records: Vec<OffsetsRecord> = log
                .batches()
                .flat_map(|b| b.records.iter())
                .filter_map(OffsetsRecord::decode)
                .collect();
            self.groups.load(now, tp.partition, records.into_iter());
        } else {
            self.fail_group_writes(ErrorCode::NOT_LEADER_OR_FOLLOWER, |w| &w.tp == tp);
            self.groups.unload(now, tp.partition);
        }
        self.apply_group_effects();
    }
}
