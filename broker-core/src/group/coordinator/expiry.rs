//! Offset expiration and group deletion (`GroupCoordinatorShard.cleanupGroupMetadata`,
//! `OffsetMetadataManager.cleanupExpiredOffsets`, `GroupMetadataManager.maybeDeleteGroup`,
//! KIP-211): every `offsets.retention.check.interval.ms` the coordinator writes a tombstone
//! for each expired offset, and for the group itself once all its offsets are gone and it is
//! empty. The cleaner of `__consumer_offsets` then removes those keys
//! `delete.retention.ms` after it first kept the tombstones.

use super::{Effect, Group, GroupCoordinator, GroupWrite};
use crate::group::records::OffsetsRecord;
use crate::group::GroupState;
use crate::types::{Time, TopicPartition};

impl Group {
    /// Drop an offset from the cache (its tombstone is written or read).
    pub(super) fn forget_offset(&mut self, tp: &TopicPartition) {
        self.committed.remove(tp);
        self.committed_epochs.remove(tp);
        self.committed_at.remove(tp);
    }

    /// `ClassicGroup.offsetExpirationCondition`: what an offset's age counts from, if it can
    /// expire at all. An empty group that had members counts from when it became empty
    /// (KIP-211); a group that never had any (a simple consumer committing with generation -1)
    /// counts from each commit. A group with members keeps its offsets: the lab's members do
    /// not tell the coordinator their subscribed topics, which Kafka uses to expire offsets of
    /// topics a `Stable` group no longer reads.
    fn expiry_base(&self, tp: &TopicPartition) -> Option<Time> {
        if self.state != GroupState::Empty {
            return None;
        }
        match (self.empty_since, self.generation) {
            (Some(since), _) => Some(since),
            (None, 0) => self.committed_at.get(tp).copied(),
            (None, _) => None,
        }
    }
}

impl GroupCoordinator {
    /// The first run comes one interval after a partition is loaded, as Kafka schedules it in
    /// `GroupCoordinatorShard.onLoaded`.
    pub(super) fn schedule_expiry(&mut self) {
        if self.expiry_due.is_none() {
            let interval = self.config.offsets_retention_check_interval_ms.max(1);
            self.expiry_due = Some(self.now.plus_ms(interval));
        }
    }

    /// `cleanupGroupMetadata`: tombstones for the expired offsets of every group, and for a
    /// group whose offsets all expired while it is empty; the records go to each group's
    /// offsets partition, and the cache forgets at once what they delete.
    pub(super) fn expire_offsets(&mut self) {
        let interval = self.config.offsets_retention_check_interval_ms.max(1);
        self.expiry_due = Some(self.now.plus_ms(interval));
        let ids: Vec<String> = self.groups.keys().cloned().collect();
        for id in ids {
            let mut records = self.expire_group_offsets(&id);
            let group = &self.groups[&id];
            // `maybeDeleteGroup` once every offset expired. A group never joined and without
            // offsets yet (its first commit in flight) has nothing that expired: it stays.
            let expired = !records.is_empty() || self.empty_for_retention(group);
            if expired && group.committed.is_empty() && group.state == GroupState::Empty {
                records.push(OffsetsRecord::GroupTombstone { group: id.clone() });
                self.group_deleted(&id);
            }
            if !records.is_empty() {
                let partition = self.partition(&id);
                self.effects.push(Effect::Append {
                    partition,
                    records,
                    write: GroupWrite::Nothing,
                });
            }
        }
    }

    /// `OffsetMetadataManager.cleanupExpiredOffsets` for one group: an offset expires when
    /// `offsets.retention.minutes` have passed since its base (`OffsetExpirationConditionImpl`).
    fn expire_group_offsets(&mut self, id: &str) -> Vec<OffsetsRecord> {
        let now = self.now.0;
        let retention = self.config.offsets_retention_ms;
        let group = self.groups.get_mut(id).expect("listed");
        let expired: Vec<TopicPartition> = group
            .committed
            .keys()
            .filter(|tp| {
                group
                    .expiry_base(tp)
                    .is_some_and(|base| now.saturating_sub(base.0) >= retention)
            })
            .cloned()
            .collect();
        for tp in &expired {
            group.forget_offset(tp);
        }
        expired
            .into_iter()
            .map(|tp| OffsetsRecord::OffsetTombstone {
                group: id.to_owned(),
                tp,
            })
            .collect()
    }

    /// Whether the group has been empty (after having members) for the retention period.
    fn empty_for_retention(&self, group: &Group) -> bool {
        let retention = self.config.offsets_retention_ms;
        group
            .empty_since
            .is_some_and(|since| self.now.0.saturating_sub(since.0) >= retention)
    }

    /// The group's tombstone is written: it is `Dead` and leaves the cache.
    fn group_deleted(&mut self, id: &str) {
        if let Some(group) = self.groups.get_mut(id) {
            group.state = GroupState::Dead;
        }
        self.state_changed(id);
        self.groups.remove(id);
    }
}
