//! Start-up and recovery, registration and heartbeats, metadata, and role changes.

use super::*;
use crate::error::ErrorCode;
use crate::io::{Checkpoint, DiskEntry, DiskImage, DiskOp, Event, FileName, TruncationReason};
use crate::metadata::{MetadataRecord, PartitionState};
use crate::protocol::{
    BrokerHeartbeatRequest, BrokerRegistrationRequest, MetadataResponse, PartitionMetadata,
};
use crate::record::RecordBatch;

/// `BrokerLifecycleManager.resendExponentialBackoff` starts at 100 ms: a registration or a
/// heartbeat that got no answer is sent again no sooner than this.
const RESEND_BACKOFF_MS: u64 = 100;

/// `BrokerLifecycleManager`: a broker still catching up (STARTING) heartbeats every 10 ms.
const STARTING_HEARTBEAT_MS: u64 = 10;

impl Broker {
    pub(super) fn start(&mut self, disk: DiskImage, incarnation_id: u64) {
        assert_eq!(
            self.phase,
            Phase::NotStarted,
            "a process starts once; a restart is a new Broker"
        );
        self.incarnation_id = incarnation_id;
        self.read_clean_shutdown(&disk);
        self.read_cleaner_checkpoint(&disk);
        self.recover(disk);
        self.start_observing();
        self.phase = Phase::Registering;
        self.send_registration();
        // With an interval of 0 this is the one checkpoint (see `next_hw_checkpoint`).
        self.checkpoint_due = self
            .now
            .plus_ms(self.config.replica_high_watermark_checkpoint_interval_ms);
        self.isr_check_due = self.now.plus_ms(self.isr_check_interval_ms());
        self.retention_check_due = self.now.plus_ms(storage::INITIAL_TASK_DELAY_MS);
        self.cleaner_due = self.now.plus_ms(self.config.log_cleaner_backoff_ms);
    }

    /// `LogManager`: a clean-shutdown file names the epoch that shut down cleanly. It is
    /// cleared at once, so that a crash during this run counts as unclean (KAFKA-10471).
    fn read_clean_shutdown(&mut self, disk: &DiskImage) {
        let file = FileName::CleanShutdown;
        if let Some(Checkpoint::CleanShutdown(Some(epoch))) = disk.checkpoints.get(&file) {
            self.previous_broker_epoch = Some(*epoch);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
                id,
                file,
                checkpoint: Checkpoint::CleanShutdown(None),
            });
        }
    }

    /// Rebuild every log from what the disk kept: valid batches up to the first torn or corrupt
    /// one (CRC), which is truncated away with everything after it (`LogLoader` recovery).
    fn recover(&mut self, disk: DiskImage) {
        let high_watermarks = match disk.checkpoints.get(&FileName::HighWatermarkCheckpoint) {
            Some(Checkpoint::HighWatermarks(hws)) => hws.clone(),
            _ => BTreeMap::new(),
        };
        let log_starts = match disk.checkpoints.get(&FileName::LogStartOffsetCheckpoint) {
            Some(Checkpoint::LogStartOffsets(starts)) => starts.clone(),
            _ => BTreeMap::new(),
        };
        self.log_starts_checkpointed = !log_starts.is_empty();
        for (tp, files) in storage::segment_files(disk.files) {
            let (batches, bases, torn) = self.load_segments(&tp, files);
            let epochs = match disk
                .checkpoints
                .get(&FileName::LeaderEpochCheckpoint(tp.clone()))
            {
                Some(Checkpoint::LeaderEpochs(epochs)) => epochs.clone(),
                _ => Vec::new(),
            };
            let hw = high_watermarks.get(&tp).copied().unwrap_or(Offset(0));
            let log_start = log_starts.get(&tp).copied().unwrap_or(Offset(0));
            let mut log = PartitionLog::recovered_segments(batches, &bases, epochs, hw, log_start);
            if let Some(first_dirty) = self.cleaner_checkpoint.get(&tp) {
                log.restore_cleaner_checkpoint(*first_dirty);
            }
            self.out.event(Event::LogRecovered {
                broker: self.id,
                tp: tp.clone(),
                log_end_offset: log.log_end_offset(),
                high_watermark: log.high_watermark(),
                torn_batches: torn,
            });
            self.replicas.insert(tp, Replica::new(log));
        }
    }

    pub(super) fn issue_disk(
        &mut self,
        purpose: DiskPurpose,
        build: impl FnOnce(DiskOpId) -> DiskOp,
    ) {
        let id = self.out.disk(build);
        self.disk_ops.push_back((id, purpose));
    }

    pub(super) fn send_registration(&mut self) {
        let message = Message::BrokerRegistration(BrokerRegistrationRequest {
            broker_id: self.id,
            incarnation_id: self.incarnation_id,
            previous_broker_epoch: self.previous_broker_epoch,
        });
        self.send_to_controller(message);
        // Retry until the controller accepts (it refuses while the old incarnation's session
        // lives), at least `RESEND_BACKOFF_MS` apart.
        self.registration_due = self.now.plus_ms(
            self.config
                .broker_heartbeat_interval_ms
                .max(RESEND_BACKOFF_MS),
        );
    }

    /// A standby controller answered NOT_CONTROLLER: the next registration or heartbeat goes
    /// to the next voter (`NodeToControllerChannelManager` drops the controller it believed
    /// active and finds another). An answer from a controller it no longer targets changes
    /// nothing; the request is resent when it is due, not at once, so a quorum without a leader
    /// is not flooded.
    pub(super) fn on_not_controller(&mut self, from: NodeId) {
        if self.controller.is_active(from) {
            self.controller.try_next();
            self.controller_silent_since = None;
        }
    }

    /// A registration or heartbeat to the controller this broker targets, which now owes an
    /// answer.
    fn send_to_controller(&mut self, message: Message) {
        self.controller_silent_since.get_or_insert(self.now);
        self.out.send(self.controller.active(), message);
    }

    /// The targeted controller answered.
    pub(super) fn on_controller_answer(&mut self, from: NodeId) {
        if self.controller.is_active(from) {
            self.controller_silent_since = None;
        }
    }

    /// Before resending a registration or heartbeat: a controller that has answered none for
    /// half of `broker.session.timeout.ms` is given up for the next voter. Kafka's broker
    /// lifecycle channel times a request out after `broker.session.timeout.ms / 2`
    /// (`BrokerServer`, KAFKA-14392), so a paused or partitioned active controller does not hold
    /// the broker until its session is gone at the new one.
    pub(super) fn give_up_on_a_silent_controller(&mut self) {
        let limit_ms = self.config.broker_session_timeout_ms / 2;
        if let Some(since) = self.controller_silent_since {
            if self.now.ms_since(since) >= limit_ms {
                self.controller.try_next();
                self.controller_silent_since = None;
            }
        }
    }

    pub(super) fn on_registration_response(&mut self, error: ErrorCode, broker_epoch: BrokerEpoch) {
        if self.phase != Phase::Registering || !error.is_ok() {
            return;
        }
        self.broker_epoch = Some(broker_epoch);
        self.producer_ids_issued = 0; // a new epoch is a new block of producer ids
        self.groups.set_member_prefix(broker_epoch.0);
        self.phase = Phase::Running;
        self.registration_due = Time(u64::MAX);
        if self.caught_up_with_registration() {
            // Its image already holds its registration: act on it now (see `apply_metadata`).
            let all = self.image.partitions.keys().cloned().collect();
            self.reconcile_all(all);
        }
        self.send_heartbeat();
    }

    pub(super) fn send_heartbeat(&mut self) {
        let Some(broker_epoch) = self.broker_epoch else {
            return;
        };
        let message = Message::BrokerHeartbeat(BrokerHeartbeatRequest {
            broker_id: self.id,
            broker_epoch,
            metadata_offset: self.image.offset,
            want_shut_down: self.shutting_down,
        });
        self.send_to_controller(message);
        // Due again `broker.heartbeat.interval.ms` after this one, but not before its response
        // (see `on_heartbeat_response`) or, if that is lost, `RESEND_BACKOFF_MS`: with an
        // interval of 0 the broker heartbeats once per round trip, as Kafka's does.
        self.heartbeat_sent = self.now;
        self.heartbeat_due = self.now.plus_ms(
            self.config
                .broker_heartbeat_interval_ms
                .max(RESEND_BACKOFF_MS),
        );
    }

    pub(super) fn on_heartbeat_response(
        &mut self,
        error: ErrorCode,
        is_fenced: bool,
        should_shut_down: bool,
    ) {
        if self.phase != Phase::Running {
            return;
        }
        if matches!(
            error,
            ErrorCode::STALE_BROKER_EPOCH | ErrorCode::BROKER_ID_NOT_REGISTERED
        ) {
            // The controller lost or replaced our registration: register again.
            self.phase = Phase::Registering;
            self.broker_epoch = None;
            self.heartbeat_due = Time(u64::MAX);
            self.send_registration();
            return;
        }
        // `BrokerLifecycleManager.scheduleNextCommunicationAfterSuccess`: the next heartbeat
        // `broker.heartbeat.interval.ms` after this one, and never before this response.
        let next = self
            .heartbeat_sent
            .plus_ms(self.config.broker_heartbeat_interval_ms)
            .max(self.now);
        self.heartbeat_due = self.heartbeat_due.min(next);
        if !self.caught_up_with_registration() {
            // `BrokerLifecycleManager` in STARTING (not yet caught up) heartbeats again after
            // only 10 ms, "so that ... we start up a bit quicker".
            self.heartbeat_due = self
                .heartbeat_due
                .min(self.now.plus_ms(STARTING_HEARTBEAT_MS));
        }
        self.fenced = is_fenced;
        if should_shut_down
            && self.shutting_down
            && !self
                .disk_ops
                .iter()
                .any(|(_, p)| matches!(p, DiskPurpose::ShutdownFsync))
        {
            self.fetchers.clear();
            let epoch = self.broker_epoch;
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
                id,
                file: FileName::CleanShutdown,
                checkpoint: Checkpoint::CleanShutdown(epoch),
            });
            self.issue_disk(DiskPurpose::ShutdownFsync, |id| DiskOp::Fsync { id });
        }
    }

    pub(super) fn begin_shutdown(&mut self) {
        if self.phase == Phase::Running && !self.shutting_down {
            self.shutting_down = true;
            self.send_heartbeat();
        }
    }

    /// Apply committed metadata records, in order, as the observer hands them on; a record
    /// this broker already has, or one that would leave a gap, is ignored.
    pub(super) fn apply_metadata(&mut self, records: Vec<(u64, MetadataRecord)>) {
        let was_caught_up = self.caught_up_with_registration();
        let mut changed = Vec::new();
        let mut removed = Vec::new();
        for (offset, record) in records {
            if offset != self.image.offset {
                continue;
            }
            self.image.apply(offset, &record);
            match record {
                MetadataRecord::Partition { tp, .. } => changed.push(tp),
                MetadataRecord::FenceBroker { broker_id, .. }
                | MetadataRecord::UnfenceBroker { broker_id, .. }
                    if broker_id == self.id =>
                {
                    self.fenced = matches!(record, MetadataRecord::FenceBroker { .. });
                }
                MetadataRecord::RemoveTopic { topic } => removed.push(topic),
                _ => {}
            }
        }
        // A deleted topic's replicas go whether or not the broker has caught up: the record
        // is committed, and the catch-up below only reconciles partitions the image holds.
        for topic in &removed {
            self.remove_topic(topic);
        }
        if !self.caught_up_with_registration() {
            // Kafka publishes the metadata to the replica manager only once the broker caught
            // up to its registration (`BrokerLifecycleManager`'s initial catch-up): an image
            // older than that may still name a dead incarnation of this broker as a leader.
            return;
        }
        if !was_caught_up {
            changed = self.image.partitions.keys().cloned().collect();
        }
        self.reconcile_all(changed);
    }

    fn reconcile_all(&mut self, mut changed: Vec<TopicPartition>) {
        changed.retain(|tp| self.image.partitions.contains_key(tp));
        changed.dedup();
        for tp in changed {
            let state = self.image.partitions[&tp].clone();
            self.reconcile(&tp, &state);
        }
    }

    /// Whether this incarnation registered and its image holds its own registration record
    /// (at the offset of its broker epoch), so that what the image says of it is about it.
    fn caught_up_with_registration(&self) -> bool {
        self.phase == Phase::Running
            && self
                .broker_epoch
                .is_some_and(|epoch| self.image.offset > epoch.0)
    }

    /// Bring a replica in line with the partition state (`Partition.makeLeader`/`makeFollower`).
    fn reconcile(&mut self, tp: &TopicPartition, state: &PartitionState) {
        if !state.replicas.contains(&self.id) {
            return;
        }
        let min_isr = self
            .image
            .topic_config(&tp.topic)
            .map_or(1, |c| c.min_insync_replicas);
        let log_config = self.image.topic_config(&tp.topic).map(|c| c.log.clone());
        let replica = self
            .replicas
            .entry(tp.clone())
            .or_insert_with(|| Replica::new(PartitionLog::new()));
        replica.min_insync_replicas = min_isr;
        if let Some(config) = &log_config {
            replica.log.configure(config);
        }
        replica.replicas = state.replicas.clone();
        let new_epoch = state.leader_epoch > replica.leader_epoch
            || replica.leader.is_none() && state.leader.is_some();
        let leads = state.leader == Some(self.id);
        if leads && (replica.leading.is_none() || new_epoch) {
            self.become_leader(tp, state);
        } else if !leads
            && (replica.leading.is_some() || new_epoch || replica.leader != state.leader)
        {
            self.become_follower(tp, state);
        } else if state.partition_epoch > replica.partition_epoch {
            replica.isr = state.isr.clone();
            replica.partition_epoch = state.partition_epoch;
            if let Some(leading) = replica.leading.as_mut() {
                leading.pending_isr = None;
            }
            if leads {
                self.maybe_advance_hw(tp);
                self.complete_delayed_produces(tp);
            }
        }
    }

    fn become_leader(&mut self, tp: &TopicPartition, state: &PartitionState) {
        let now = self.now;
        let replica = self.replicas.get_mut(tp).expect("reconcile created it");
        replica.leader = state.leader;
        replica.leader_epoch = state.leader_epoch;
        replica.partition_epoch = state.partition_epoch;
        replica.isr = state.isr.clone();
        let leo = replica.log.log_end_offset();
        replica.log.assign_epoch(state.leader_epoch, leo);
        // `resetReplicaState`: follower LEOs are unknown until they fetch in this epoch; ISR
        // members count as caught up now, the others as never.
        let followers = state
            .replicas
            .iter()
            .filter(|b| **b != self.id)
            .map(|b| {
                let caught_up = state.isr.contains(b).then_some(now);
                let follower = FollowerState {
                    log_end_offset: None,
                    last_fetch_time: None,
                    last_fetch_leader_log_end_offset: Offset(0),
                    last_caught_up_time: caught_up,
                    broker_epoch: None,
                };
                (*b, follower)
            })
            .collect();
        replica.leading = Some(LeaderState {
            followers,
            pending_isr: None,
            epoch_start_offset: leo,
        });
        replica.fetch_backoff_until = None;
        let event = Event::BecameLeader {
            broker: self.id,
            tp: tp.clone(),
            leader_epoch: state.leader_epoch,
            log_end_offset: leo,
            high_watermark: replica.log.high_watermark(),
        };
        let epochs = replica.log.epochs().to_vec();
        self.out.event(event);
        self.write_epoch_checkpoint(tp, epochs);
        self.maybe_advance_hw(tp);
        self.offsets_leadership_changed(tp, true);
    }

    fn become_follower(&mut self, tp: &TopicPartition, state: &PartitionState) {
        let replica = self.replicas.get_mut(tp).expect("reconcile created it");
        let was_leading = replica.leading.take().is_some();
        replica.leader = state.leader;
        replica.leader_epoch = state.leader_epoch;
        replica.partition_epoch = state.partition_epoch;
        replica.isr = state.isr.clone();
        replica.fetch_backoff_until = None;
        let hw = replica.log.high_watermark();
        self.out.event(Event::BecameFollower {
            broker: self.id,
            tp: tp.clone(),
            leader: state.leader,
            leader_epoch: state.leader_epoch,
        });
        if was_leading {
            self.fail_delayed_for(tp);
            self.offsets_leadership_changed(tp, false);
        }
        if self.config.protocol.truncation == crate::config::Truncation::HighWatermark {
            // Before KIP-101, `ReplicaManager.makeFollowers` truncated every new follower's log
            // to its high watermark, which may be stale: the root of KIP-101's scenarios.
            self.truncate(tp, hw, TruncationReason::HighWatermark);
        }
    }

    /// Truncate a replica's log and its epoch checkpoint, emitting the teaching event.
    pub(super) fn truncate(
        &mut self,
        tp: &TopicPartition,
        offset: Offset,
        reason: TruncationReason,
    ) {
        let replica = self
            .replicas
            .get_mut(tp)
            .expect("only hosted replicas truncate");
        let from = replica.log.log_end_offset();
        let epochs_before = replica.log.epochs().len();
        let files_before: Vec<Offset> = replica
            .log
            .segments()
            .iter()
            .map(|s| s.base_offset)
            .collect();
        let removed = replica.log.truncate_to(offset);
        if removed {
            // Truncation can remove batches the producer state remembers: rebuild it from the log.
            replica.producer_state =
                crate::producer_state::ProducerState::rebuilt(replica.log.batches());
        }
        let to = replica.log.log_end_offset();
        let epochs = replica.log.epochs().to_vec();
        if removed {
            self.truncate_files(tp, &files_before, offset);
            self.out.event(Event::Truncated {
                broker: self.id,
                tp: tp.clone(),
                from,
                to,
                reason,
            });
        }
        if removed || epochs.len() != epochs_before {
            self.write_epoch_checkpoint(tp, epochs);
        }
        self.write_cleaner_checkpoint();
    }

    /// Empty a replica's log and start it at `offset` (`UnifiedLog.truncateFullyAndStartAt`):
    /// its file, epoch cache and producer state go, the new start is checkpointed.
    pub(super) fn truncate_fully_and_start_at(&mut self, tp: &TopicPartition, offset: Offset) {
        let replica = self
            .replicas
            .get_mut(tp)
            .expect("only hosted replicas truncate");
        let from = replica.log.log_end_offset();
        let files: Vec<Offset> = replica
            .log
            .segments()
            .iter()
            .map(|s| s.base_offset)
            .collect();
        replica.log.truncate_fully_and_start_at(offset);
        replica.producer_state = crate::producer_state::ProducerState::default();
        self.create_segment_file(tp, offset);
        for base in files {
            let file = FileName::Segment(tp.clone(), base);
            self.issue_disk(DiskPurpose::Other, |id| DiskOp::Delete { id, file });
        }
        self.out.event(Event::Truncated {
            broker: self.id,
            tp: tp.clone(),
            from,
            to: offset,
            reason: TruncationReason::BelowLogStart,
        });
        self.write_epoch_checkpoint(tp, Vec::new());
        self.write_log_start_checkpoint();
        self.write_cleaner_checkpoint();
    }

    pub(super) fn write_epoch_checkpoint(
        &mut self,
        tp: &TopicPartition,
        epochs: Vec<(LeaderEpoch, Offset)>,
    ) {
        let file = FileName::LeaderEpochCheckpoint(tp.clone());
        self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
            id,
            file,
            checkpoint: Checkpoint::LeaderEpochs(epochs),
        });
    }

    pub(super) fn write_hw_checkpoint(&mut self) {
        self.checkpoint_due = self.next_hw_checkpoint();
        let hws = self
            .replicas
            .iter()
            .map(|(tp, r)| (tp.clone(), r.log.high_watermark()))
            .collect();
        let checkpoint = Checkpoint::HighWatermarks(hws);
        self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
            id,
            file: FileName::HighWatermarkCheckpoint,
            checkpoint,
        });
        self.write_log_start_checkpoint();
    }

    /// `LogManager.checkpointLogStartOffsets`, on the HW checkpoint's schedule. Only starts above
    /// 0 are written (absent means 0), and nothing while every log starts at 0, so a run without
    /// retention or `DeleteRecords` does the same disk operations as before logs could move.
    pub(super) fn write_log_start_checkpoint(&mut self) {
        let starts: BTreeMap<TopicPartition, Offset> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.log.log_start_offset() > Offset(0))
            .map(|(tp, r)| (tp.clone(), r.log.log_start_offset()))
            .collect();
        if starts.is_empty() && !self.log_starts_checkpointed {
            return;
        }
        self.log_starts_checkpointed = !starts.is_empty();
        self.issue_disk(DiskPurpose::Other, |id| DiskOp::WriteCheckpoint {
            id,
            file: FileName::LogStartOffsetCheckpoint,
            checkpoint: Checkpoint::LogStartOffsets(starts),
        });
    }

    pub(super) fn handle_metadata_request(&mut self, from: NodeId, correlation_id: CorrelationId) {
        let brokers = self
            .image
            .brokers
            .iter()
            .filter(|(_, b)| !b.fenced)
            .map(|(id, _)| *id)
            .collect();
        let partitions = self
            .image
            .partitions
            .iter()
            .map(|(tp, s)| PartitionMetadata {
                tp: tp.clone(),
                leader: s.leader,
                leader_epoch: s.leader_epoch,
                replicas: s.replicas.clone(),
                isr: s.isr.clone(),
            })
            .collect();
        self.out.send(
            from,
            Message::MetadataResponse(MetadataResponse {
                correlation_id,
                brokers,
                partitions,
            }),
        );
    }
}

/// The batches before the first invalid one, and how many entries were dropped.
pub(super) fn valid_prefix(entries: Vec<DiskEntry>) -> (Vec<RecordBatch>, u32) {
    let total = entries.len();
    let mut batches: Vec<RecordBatch> = Vec::with_capacity(total);
    for entry in entries {
        let DiskEntry::Batch(batch) = entry else {
            break;
        };
        // Offsets only grow; compaction may leave gaps between batches.
        let ordered = batches
            .last()
            .is_none_or(|last| last.next_offset() <= batch.base_offset);
        if !batch.is_valid() || !ordered {
            break;
        }
        batches.push(batch);
    }
    let torn = (total - batches.len()) as u32;
    (batches, torn)
}

impl Broker {
    /// `ReplicaManager` schedules the HW checkpoint every
    /// `replica.high-watermark.checkpoint.interval.ms`; `KafkaScheduler.schedule` runs a task
    /// with a period of 0 once and never again (Kafka accepts 0: `ReplicationConfigs` has no
    /// validator for it).
    fn next_hw_checkpoint(&self) -> Time {
        match self.config.replica_high_watermark_checkpoint_interval_ms {
            0 => Time(u64::MAX),
            ms => self.now.plus_ms(ms),
        }
    }
}
