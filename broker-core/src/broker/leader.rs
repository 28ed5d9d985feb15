//! The leader's side: produce and acks, serving fetches, the high watermark, the ISR.
//! Rules follow `core/.../cluster/Partition.scala` (references on each function).

use super::*;
use crate::config::Truncation;
use crate::error::ErrorCode;
use crate::io::Event;
use crate::metadata::PartitionState;
use crate::producer_state::AppendCheck;
use crate::protocol::{
    AlterPartitionRequest, EpochEndOffset, FetchPartitionResponse, FetchResponse, IsrMember,
    ListOffsetsResponse, OffsetSpec, PartitionProduceData, PartitionProduceResponse,
    ProduceRequest, ProduceResponse,
};
use crate::record::RecordBatch;

/// At most this many batches per partition in one fetch response (stands in for
/// `replica.fetch.max.bytes` / `fetch.max.bytes`).
const FETCH_BATCHES_MAX: usize = 64;

/// `LogValidator.validateKey`: a compacted topic refuses a batch holding a record without a key
/// ("Compacted topic cannot accept message without key", `InvalidRecordException`: the
/// produce answer is `INVALID_RECORD`, which the producer does not retry).
fn validate_keys(replica: &Replica, batch: &RecordBatch) -> ErrorCode {
    let compacted = replica.log.config().cleanup_policy.compacts();
    if compacted && batch.records.iter().any(|r| r.key.is_none()) {
        ErrorCode::INVALID_RECORD
    } else {
        ErrorCode::NONE
    }
}

impl Broker {
    /// `ReplicaManager.appendRecords` → `Partition.appendRecordsToLeader` for each partition of
    /// the request: a partition's error (`NOT_LEADER_OR_FOLLOWER`, ...) is its own, the others
    /// are appended. The request then waits as one `DelayedProduce` until every partition is
    /// done.
    pub(super) fn handle_produce(&mut self, from: NodeId, request: ProduceRequest) {
        let ProduceRequest {
            correlation_id,
            acks,
            timeout_ms,
            partitions,
        } = request;
        let mut delayed = DelayedProduce {
            from,
            correlation_id,
            acks,
            deadline: self.now.plus_ms(timeout_ms),
            partitions: Vec::with_capacity(partitions.len()),
        };
        for PartitionProduceData { tp, batch } in partitions {
            let (error, waiting) = match self.append_produced(&tp, acks, batch) {
                Ok(offsets) => (ErrorCode::REQUEST_TIMED_OUT, Some(offsets)),
                Err(error) => {
                    self.out.event(Event::ProduceRejected {
                        broker: self.id,
                        tp: tp.clone(),
                        error,
                    });
                    (error, None)
                }
            };
            let response = PartitionProduceResponse {
                tp,
                error,
                base_offset: None,
            };
            delayed
                .partitions
                .push(DelayedPartition { response, waiting });
        }
        if acks == Acks::None {
            // `KafkaApis.handleProduceRequest`: an acks=0 client expects no answer, so on an
            // error the broker closes its connection; the client's `NetworkClient` sees the
            // disconnect and refreshes its metadata (a deposed leader otherwise swallows its
            // writes).
            if delayed.partitions.iter().any(|p| p.waiting.is_none()) {
                self.out.close_connection(from);
            }
            return;
        }
        let waiting: Vec<TopicPartition> = delayed.waiting().cloned().collect();
        if waiting.is_empty() {
            self.answer_produce(delayed);
            return;
        }
        self.delayed_produces.push(delayed);
        // A duplicate may already be written and committed: answer it now if so.
        for tp in &waiting {
            self.complete_delayed_produces(tp);
        }
    }

    /// One partition of a produce request: checked and appended, `Ok((base offset, required
    /// offset))` to wait for, or why not.
    fn append_produced(
        &mut self,
        tp: &TopicPartition,
        acks: Acks,
        batch: RecordBatch,
    ) -> Result<(Offset, Offset), ErrorCode> {
        let error = match self.replicas.get(tp) {
            Some(r) if r.leading.is_some() && !self.fenced => {
                // Checked before the append against the committed ISR: NOT_ENOUGH_REPLICAS.
                if acks == Acks::All && r.under_min_isr() {
                    ErrorCode::NOT_ENOUGH_REPLICAS
                } else {
                    validate_keys(r, &batch)
                }
            }
            _ => ErrorCode::NOT_LEADER_OR_FOLLOWER,
        };
        if !error.is_ok() {
            return Err(error);
        }
        match self.check_producer(tp, &batch)? {
            None => Ok(self.append_as_leader(tp, batch)),
            // A retried batch already in the log: answer with its original offsets
            // (`UnifiedLog.analyzeAndValidateProducerState` finds the duplicate).
            Some(first_offset) => Ok((first_offset, first_offset.plus(batch.len()))),
        }
    }

    /// Send a finished request's response.
    fn answer_produce(&mut self, produce: DelayedProduce) {
        let response = ProduceResponse {
            correlation_id: produce.correlation_id,
            partitions: produce.partitions.into_iter().map(|p| p.response).collect(),
        };
        self.out
            .send(produce.from, Message::ProduceResponse(response));
    }

    /// The idempotence check of a batch: `Ok(None)` to append, `Ok(Some(offset))` for a
    /// duplicate already at `offset`, `Err` for a sequence or epoch error.
    fn check_producer(
        &self,
        tp: &TopicPartition,
        batch: &RecordBatch,
    ) -> Result<Option<Offset>, ErrorCode> {
        let (Some(producer), Some(last_seq)) = (batch.producer, batch.last_sequence()) else {
            return Ok(None);
        };
        match self.replicas[tp].producer_state.check(&producer, last_seq) {
            AppendCheck::Append => Ok(None),
            AppendCheck::Duplicate { first_offset } => Ok(Some(first_offset)),
            AppendCheck::Reject(error) => Err(error),
        }
    }

    pub(super) fn append_as_leader(
        &mut self,
        tp: &TopicPartition,
        mut batch: RecordBatch,
    ) -> (Offset, Offset) {
        let replica = self.replicas.get_mut(tp).expect("checked by the caller");
        batch.base_offset = replica.log.log_end_offset();
        batch.leader_epoch = replica.leader_epoch;
        let result = (batch.base_offset, batch.next_offset());
        let write_seq = replica.log.append(batch.clone());
        replica.producer_state.record(&batch);
        self.write_batch(tp, write_seq, batch);
        result
    }

    /// Answer the produce requests whose condition now holds (`DelayedProduce.tryComplete` and
    /// `Partition.checkEnoughReplicasReachOffset`, for the partitions of `tp`).
    pub(super) fn complete_delayed_produces(&mut self, tp: &TopicPartition) {
        let Some(replica) = self.replicas.get(tp) else {
            return;
        };
        let acked = AckState {
            written: replica.log.written_end(),
            high_watermark: replica.log.high_watermark(),
            enough_replicas: replica.maximal_isr_len() as u32 >= replica.effective_min_isr(),
        };
        let mut done = Vec::new();
        let mut k = 0;
        while k < self.delayed_produces.len() {
            let rejected = self.delayed_produces[k].try_complete(tp, &acked);
            if self.delayed_produces[k].waiting().next().is_none() {
                done.push((rejected, Some(self.delayed_produces.remove(k))));
            } else {
                done.push((rejected, None));
                k += 1;
            }
        }
        for (rejected, produce) in done {
            if let Some(error) = rejected {
                self.out.event(Event::ProduceRejected {
                    broker: self.id,
                    tp: tp.clone(),
                    error,
                });
            }
            if let Some(produce) = produce {
                self.answer_produce(produce);
            }
        }
        self.complete_group_writes(tp);
    }

    /// A replica stopped leading: its waiting requests fail (`Partition.makeFollower`).
    pub(super) fn fail_delayed_for(&mut self, tp: &TopicPartition) {
        self.fail_delayed_partitions(ErrorCode::NOT_LEADER_OR_FOLLOWER, |t| t == tp);
        self.complete_delayed_fetches(tp, true);
    }

    /// The waiting partitions `doomed` picks fail with `error`; the requests with nothing left
    /// to wait for are answered (the other partitions keep waiting).
    pub(super) fn fail_delayed_partitions(
        &mut self,
        error: ErrorCode,
        doomed: impl Fn(&TopicPartition) -> bool,
    ) {
        for produce in &mut self.delayed_produces {
            for p in &mut produce.partitions {
                if p.waiting.is_some() && doomed(&p.response.tp) {
                    p.response.error = error;
                    p.waiting = None;
                }
            }
        }
        self.answer_finished_produces(|_| false);
    }

    /// Answer and forget the requests with no partition waiting, and those `expired` picks
    /// (whose waiting partitions keep their preset `REQUEST_TIMED_OUT`).
    fn answer_finished_produces(&mut self, expired: impl Fn(&DelayedProduce) -> bool) {
        let finished: Vec<DelayedProduce> = self
            .delayed_produces
            .extract_if(.., |p| p.waiting().next().is_none() || expired(p))
            .collect();
        for produce in finished {
            self.answer_produce(produce);
        }
    }

    pub(super) fn expire_delayed(&mut self, now: Time) {
        self.answer_finished_produces(|p| p.deadline <= now);
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_fetches)
            .into_iter()
            .partition(|f| f.deadline <= now);
        self.delayed_fetches = waiting;
        for fetch in due {
            self.answer_fetch(
                fetch.from,
                fetch.correlation_id,
                fetch.replica_id,
                &fetch.partitions,
            );
        }
    }

    /// `ReplicaManager.fetchMessages`: validate, update follower state, read or wait.
    pub(super) fn handle_fetch(
        &mut self,
        from: NodeId,
        correlation_id: CorrelationId,
        replica_id: Option<BrokerId>,
        broker_epoch: Option<BrokerEpoch>,
        max_wait_ms: u64,
        partitions: Vec<FetchPartition>,
    ) {
        if let Some(follower) = replica_id {
            for p in &partitions {
                // `Partition.fetchRecords` updates the follower's state only when its log has not
                // diverged: a diverged fetch offset says nothing about what it shares with us.
                if self.validate_fetch(p, Some(follower)) == Ok(None) {
                    self.update_follower_state(&p.tp, follower, p.fetch_offset, broker_epoch);
                }
            }
        }
        let has_data = partitions
            .iter()
            .any(|p| self.fetch_has_data(p, replica_id));
        if has_data || max_wait_ms == 0 {
            self.answer_fetch(from, correlation_id, replica_id, &partitions);
        } else {
            let deadline = self.now.plus_ms(max_wait_ms);
            self.delayed_fetches.push(DelayedFetch {
                from,
                correlation_id,
                replica_id,
                partitions,
                deadline,
            });
        }
    }

    /// Whether a fetch of this partition would return data or an error now (so it must not wait).
    fn fetch_has_data(&self, p: &FetchPartition, replica_id: Option<BrokerId>) -> bool {
        match self.validate_fetch(p, replica_id) {
            Err(_) => true,
            Ok(Some(_)) => true,
            Ok(None) => {
                let replica = &self.replicas[&p.tp];
                let limit = fetch_limit(replica, replica_id);
                !replica.log.read(p.fetch_offset, limit, 1).is_empty()
            }
        }
    }

    /// Leader and epoch checks (KIP-320), then the diverging-epoch check (KAFKA-10554,
    /// `Partition.fetchRecords`). `Ok(Some(_))` means "truncate first".
    fn validate_fetch(
        &self,
        p: &FetchPartition,
        replica_id: Option<BrokerId>,
    ) -> Result<Option<EpochEndOffset>, ErrorCode> {
        let replica = match self.replicas.get(&p.tp) {
            Some(r) if r.leading.is_some() => r,
            _ => return Err(ErrorCode::NOT_LEADER_OR_FOLLOWER),
        };
        match p.current_leader_epoch {
            Some(e) if e < replica.leader_epoch => return Err(ErrorCode::FENCED_LEADER_EPOCH),
            Some(e) if e > replica.leader_epoch => return Err(ErrorCode::UNKNOWN_LEADER_EPOCH),
            _ => {}
        }
        if let (Some(last_epoch), Truncation::LeaderEpoch) =
            (p.last_fetched_epoch, self.config.protocol.truncation)
        {
            let end = replica.log.end_offset_for(last_epoch);
            // An epoch the leader cannot place (newer than its cache) has no end to report:
            // unreachable once the current-leader-epoch check passed, answered as out of range.
            let end = end.ok_or(ErrorCode::OFFSET_OUT_OF_RANGE)?;
            if crate::log::diverges(end, last_epoch, p.fetch_offset) {
                return Ok(Some(end));
            }
        }
        let leo = replica.log.written_end();
        let too_far = p.fetch_offset > leo && replica_id.is_some()
            || p.fetch_offset > replica.log.log_end_offset();
        if too_far || p.fetch_offset < replica.log.log_start_offset() {
            return Err(ErrorCode::OFFSET_OUT_OF_RANGE);
        }
        Ok(None)
    }

    fn answer_fetch(
        &mut self,
        from: NodeId,
        correlation_id: CorrelationId,
        replica_id: Option<BrokerId>,
        partitions: &[FetchPartition],
    ) {
        let responses = partitions
            .iter()
            .map(|p| self.read_partition(p, replica_id))
            .collect();
        self.out.send(
            from,
            Message::FetchResponse(FetchResponse {
                correlation_id,
                partitions: responses,
            }),
        );
    }

    fn read_partition(
        &self,
        p: &FetchPartition,
        replica_id: Option<BrokerId>,
    ) -> FetchPartitionResponse {
        let mut response = FetchPartitionResponse {
            tp: p.tp.clone(),
            error: ErrorCode::NONE,
            high_watermark: Offset(0),
            log_start_offset: Offset(0),
            log_end_offset: Offset(0),
            diverging_epoch: None,
            batches: Vec::new(),
        };
        let check = self.validate_fetch(p, replica_id);
        if let Some(replica) = self.replicas.get(&p.tp) {
            response.high_watermark = replica.log.high_watermark();
            response.log_start_offset = replica.log.log_start_offset();
            response.log_end_offset = replica.log.written_end();
        }
        match check {
            Err(error) => response.error = error,
            Ok(Some(diverging)) => response.diverging_epoch = Some(diverging),
            Ok(None) => {
                let replica = &self.replicas[&p.tp];
                response.batches = replica.log.read(
                    p.fetch_offset,
                    fetch_limit(replica, replica_id),
                    FETCH_BATCHES_MAX,
                );
            }
        }
        response
    }

    /// Complete waiting fetches of a partition: follower fetches when data was appended,
    /// consumer fetches when the high watermark moved (`DelayedFetch.tryComplete`).
    pub(super) fn complete_delayed_fetches(&mut self, tp: &TopicPartition, data_appended: bool) {
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed_fetches)
            .into_iter()
            .partition(|f| {
                f.partitions.iter().any(|p| &p.tp == tp)
                    && (f.replica_id.is_none() || data_appended)
                    && self.delayed_fetch_ready(f)
            });
        self.delayed_fetches = waiting;
        for fetch in ready {
            self.answer_fetch(
                fetch.from,
                fetch.correlation_id,
                fetch.replica_id,
                &fetch.partitions,
            );
        }
    }

    fn delayed_fetch_ready(&self, fetch: &DelayedFetch) -> bool {
        fetch
            .partitions
            .iter()
            .any(|p| self.fetch_has_data(p, fetch.replica_id))
    }

    /// `Replica.updateFetchStateOrThrow`, then ISR expansion and HW advance.
    fn update_follower_state(
        &mut self,
        tp: &TopicPartition,
        follower: BrokerId,
        fetch_offset: Offset,
        broker_epoch: Option<BrokerEpoch>,
    ) {
        let now = self.now;
        let replica = self.replicas.get_mut(tp).expect("validated");
        let leader_leo = replica.log.written_end();
        let Some(state) = replica
            .leading
            .as_mut()
            .and_then(|l| l.followers.get_mut(&follower))
        else {
            return;
        };
        if fetch_offset >= leader_leo {
            state.last_caught_up_time = state.last_caught_up_time.max(Some(now));
        } else if fetch_offset >= state.last_fetch_leader_log_end_offset {
            if let Some(last) = state.last_fetch_time {
                state.last_caught_up_time = state.last_caught_up_time.max(Some(last));
            }
        }
        state.last_fetch_leader_log_end_offset = leader_leo;
        state.last_fetch_time = Some(now);
        state.log_end_offset = Some(fetch_offset);
        state.broker_epoch = broker_epoch;
        self.maybe_expand_isr(tp, follower);
        if self.maybe_advance_hw(tp) {
            self.complete_delayed_produces(tp);
        }
    }

    /// `Partition.maybeIncrementLeaderHW`. Returns whether the HW moved.
    pub(super) fn maybe_advance_hw(&mut self, tp: &TopicPartition) -> bool {
        let now = self.now;
        let lag_max = self.config.replica_lag_time_max_ms;
        let requires_min_isr = self.config.protocol.hw_requires_min_isr;
        let Some(replica) = self.replicas.get(tp) else {
            return false;
        };
        let Some(leading) = replica.leading.as_ref() else {
            return false;
        };
        // KAFKA-15583 (3.7): no HW advance while the ISR is below min ISR.
        if requires_min_isr && replica.under_min_isr() {
            return false;
        }
        let leader_leo = replica.log.written_end();
        let mut new_hw = leader_leo;
        for (broker, f) in &leading.followers {
            // Caught-up followers about to join count too, so a join does not stall the HW.
            let joining =
                is_caught_up(f, leader_leo, now, lag_max) && self.image.is_eligible(*broker);
            if replica.in_maximal_isr(*broker) || joining {
                // Unknown LEO (no fetch in this epoch yet): the HW cannot move (KIP-320 rule 3).
                new_hw = new_hw.min(f.log_end_offset.unwrap_or(Offset(0)));
            }
        }
        if new_hw <= replica.log.high_watermark() {
            return false;
        }
        let replica = self.replicas.get_mut(tp).expect("present");
        replica.log.set_high_watermark(new_hw);
        self.out.event(Event::HighWatermarkAdvanced {
            broker: self.id,
            tp: tp.clone(),
            high_watermark: new_hw,
        });
        self.complete_delayed_fetches(tp, false);
        true
    }

    /// `Partition.maybeExpandIsr` with `isFollowerInSync` and `isReplicaIsrEligible`.
    fn maybe_expand_isr(&mut self, tp: &TopicPartition, follower: BrokerId) {
        let requires_epoch_start = self.config.protocol.isr_join_requires_epoch_start;
        let replica = &self.replicas[tp];
        let Some(leading) = replica.leading.as_ref() else {
            return;
        };
        if leading.pending_isr.is_some() || replica.isr.contains(&follower) {
            return;
        }
        let state = &leading.followers[&follower];
        let Some(leo) = state.log_end_offset else {
            return;
        };
        let reached_hw = leo >= replica.log.high_watermark();
        // KAFKA-7128: a follower must reach the start of the leader's epoch to join.
        let reached_epoch = !requires_epoch_start || leo >= leading.epoch_start_offset;
        // KIP-903: the fetch must come from the broker's current registration.
        let registration = self.image.brokers.get(&follower);
        let current_epoch =
            registration.is_some_and(|r| Some(r.broker_epoch) == state.broker_epoch);
        if reached_hw && reached_epoch && current_epoch && self.image.is_eligible(follower) {
            let mut new_isr = replica.isr.clone();
            new_isr.push(follower);
            new_isr.sort();
            self.propose_isr(
                tp,
                new_isr,
                format!(
                    "broker-{follower} caught up to {leo} (HW {})",
                    replica.log.high_watermark()
                ),
            );
        }
    }

    /// `Partition.maybeShrinkIsr` for every partition this broker leads.
    pub(super) fn maybe_shrink_isrs(&mut self) {
        let now = self.now;
        let lag_max = self.config.replica_lag_time_max_ms;
        let mut proposals = Vec::new();
        for (tp, replica) in &self.replicas {
            let Some(leading) = replica.leading.as_ref() else {
                continue;
            };
            if leading.pending_isr.is_some() {
                continue;
            }
            let leader_leo = replica.log.written_end();
            let lagging: Vec<(BrokerId, Option<u64>)> = replica
                .isr
                .iter()
                .filter(|b| **b != self.id)
                .filter_map(|b| leading.followers.get(b).map(|f| (*b, f)))
                .filter(|(_, f)| !is_caught_up(f, leader_leo, now, lag_max))
                .map(|(b, f)| (b, f.last_caught_up_time.map(|t| now.ms_since(t))))
                .collect();
            if lagging.is_empty() {
                continue;
            }
            let new_isr = replica
                .isr
                .iter()
                .copied()
                .filter(|b| !lagging.iter().any(|(l, _)| l == b))
                .collect();
            let reasons: Vec<String> = lagging
                .iter()
                .map(|(b, lag_ms)| match lag_ms {
                    Some(lag_ms) => format!(
                        "broker-{b} not caught up for {lag_ms} ms (replica.lag.time.max.ms={lag_max})"
                    ),
                    None => format!("broker-{b} not caught up since this epoch began"),
                })
                .collect();
            proposals.push((tp.clone(), new_isr, reasons.join(", ")));
        }
        for (tp, new_isr, reason) in proposals {
            self.propose_isr(&tp, new_isr, reason);
        }
    }

    fn propose_isr(&mut self, tp: &TopicPartition, new_isr: Vec<BrokerId>, reason: String) {
        let Some(broker_epoch) = self.broker_epoch else {
            return;
        };
        let deadline = self.now.plus_ms(self.config.replica_socket_timeout_ms);
        let replica = self.replicas.get_mut(tp).expect("leading");
        let leading = replica.leading.as_mut().expect("leading");
        leading.pending_isr = Some(PendingIsr {
            new_isr: new_isr.clone(),
            deadline,
        });
        // `Partition.addBrokerEpochToIsr`: its own epoch, and each follower's from its fetches.
        let members = new_isr
            .iter()
            .map(|b| IsrMember {
                broker_id: *b,
                broker_epoch: if *b == self.id {
                    Some(broker_epoch)
                } else {
                    leading.followers.get(b).and_then(|f| f.broker_epoch)
                },
            })
            .collect();
        let message = Message::AlterPartition(AlterPartitionRequest {
            broker_id: self.id,
            broker_epoch,
            tp: tp.clone(),
            leader_epoch: replica.leader_epoch,
            partition_epoch: replica.partition_epoch,
            new_isr: members,
        });
        self.out.event(Event::IsrChangeProposed {
            broker: self.id,
            tp: tp.clone(),
            new_isr,
            reason,
        });
        self.out.send(self.controller.active(), message);
    }

    pub(super) fn on_alter_partition_response(
        &mut self,
        tp: TopicPartition,
        error: ErrorCode,
        state: Option<PartitionState>,
    ) {
        let Some(replica) = self.replicas.get_mut(&tp) else {
            return;
        };
        let Some(leading) = replica.leading.as_mut() else {
            return;
        };
        leading.pending_isr = None;
        if let (ErrorCode::NONE, Some(state)) = (error, state) {
            if state.leader_epoch == replica.leader_epoch
                && state.partition_epoch > replica.partition_epoch
            {
                replica.isr = state.isr;
                replica.partition_epoch = state.partition_epoch;
            }
        }
        if self.maybe_advance_hw(&tp) {
            self.complete_delayed_produces(&tp);
        }
        self.complete_delayed_produces(&tp);
    }

    /// Forget AlterPartition requests the controller never answered, so the ISR can change again.
    pub(super) fn expire_pending_isr(&mut self, now: Time) {
        for replica in self.replicas.values_mut() {
            if let Some(leading) = replica.leading.as_mut() {
                if leading
                    .pending_isr
                    .as_ref()
                    .is_some_and(|p| p.deadline <= now)
                {
                    leading.pending_isr = None;
                }
            }
        }
    }

    pub(super) fn handle_list_offsets(
        &mut self,
        from: NodeId,
        correlation_id: CorrelationId,
        tp: TopicPartition,
        spec: OffsetSpec,
        current_leader_epoch: Option<LeaderEpoch>,
    ) {
        let (error, offset, leader_epoch) = match self.replicas.get(&tp) {
            Some(r) if r.leading.is_some() => match current_leader_epoch {
                Some(e) if e < r.leader_epoch => {
                    (ErrorCode::FENCED_LEADER_EPOCH, Offset(0), r.leader_epoch)
                }
                Some(e) if e > r.leader_epoch => {
                    (ErrorCode::UNKNOWN_LEADER_EPOCH, Offset(0), r.leader_epoch)
                }
                _ => {
                    let offset = match spec {
                        OffsetSpec::Earliest => r.log.log_start_offset(),
                        OffsetSpec::Latest => r.log.high_watermark(),
                    };
                    (ErrorCode::NONE, offset, r.leader_epoch)
                }
            },
            _ => (ErrorCode::NOT_LEADER_OR_FOLLOWER, Offset(0), LeaderEpoch(0)),
        };
        self.out.send(
            from,
            Message::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id,
                tp,
                error,
                offset,
                leader_epoch,
            }),
        );
    }
}

/// What a fetch may read up to: followers the leader's written log, consumers the HW.
fn fetch_limit(replica: &Replica, replica_id: Option<BrokerId>) -> Offset {
    match replica_id {
        Some(_) => replica.log.written_end(),
        None => replica.log.high_watermark(),
    }
}

/// `ReplicaState.isCaughtUp`: at the leader's LEO, or caught up within `replica.lag.time.max.ms`.
pub(crate) fn is_caught_up(
    f: &FollowerState,
    leader_leo: Offset,
    now: Time,
    lag_max_ms: u64,
) -> bool {
    f.log_end_offset == Some(leader_leo)
        || f.last_caught_up_time
            .is_some_and(|t| now.ms_since(t) <= lag_max_ms)
}

/// What a leader knows of a partition's acks (`Partition.checkEnoughReplicasReachOffset`).
struct AckState {
    /// The end of the local log written to disk.
    written: Offset,
    high_watermark: Offset,
    /// The ISR is at least `min.insync.replicas`.
    enough_replicas: bool,
}

impl DelayedProduce {
    /// The partitions still waiting for their acks.
    fn waiting(&self) -> impl Iterator<Item = &TopicPartition> {
        self.partitions
            .iter()
            .filter(|p| p.waiting.is_some())
            .map(|p| &p.response.tp)
    }

    /// `DelayedProduce.tryComplete` for partition `tp`: done once its batch is written (acks=1)
    /// or under the high watermark (acks=all). Returns the error it failed with, if any.
    fn try_complete(&mut self, tp: &TopicPartition, acked: &AckState) -> Option<ErrorCode> {
        let acks = self.acks;
        let p = self
            .partitions
            .iter_mut()
            .find(|p| &p.response.tp == tp && p.waiting.is_some())?;
        let (base_offset, required) = p.waiting.expect("waiting");
        let done = match acks {
            Acks::Leader => acked.written >= required,
            _ => acked.written >= required && acked.high_watermark >= required,
        };
        if !done {
            return None;
        }
        p.waiting = None;
        if acks == Acks::All && !acked.enough_replicas {
            p.response.error = ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND;
            return Some(p.response.error);
        }
        p.response.error = ErrorCode::NONE;
        p.response.base_offset = Some(base_offset);
        None
    }
}
