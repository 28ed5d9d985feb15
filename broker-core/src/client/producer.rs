//! The producer (`KafkaProducer` + `RecordAccumulator` + `Sender` + `TransactionManager`):
//! partitioner, batching by `linger.ms` and `batch.size`, acks, retries with backoff,
//! `delivery.timeout.ms`, metadata refresh on leader errors, and the idempotent producer
//! (`InitProducerId`, producer epoch, per-partition sequences). Every record's fate goes into
//! the history.

use super::metadata::{ClientMetadata, RECONNECT_BACKOFF_MS};
use super::partitioner::partition_for_key;
use crate::config::{Partitioner, ProducerConfig};
use crate::error::ErrorCode;
use crate::io::{ClientCommand, HistoryEntry, Input, Output, SendOutcome};
use crate::outbox::Outbox;
use crate::protocol::{Acks, Message};
use crate::record::{ProducerFields, Record, RecordBatch};
use crate::types::*;
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};

/// Bytes a record adds to a batch besides key and value (Kafka's per-record overhead, roughly).
const RECORD_OVERHEAD_BYTES: u64 = 20;

#[derive(Clone, Debug)]
struct PendingRecord {
    key: Option<Bytes>,
    value: Bytes,
    created: Time,
}

#[derive(Clone, Debug)]
struct ProducerBatch {
    records: Vec<PendingRecord>,
    bytes: u64,
    created: Time,
    attempts: u32,
    retry_at: Time,
    /// An earlier attempt may have been written (timeout, disconnect, or written but short of
    /// replicas): failing now would be a lie, the outcome is unknown.
    maybe_written: bool,
    /// Idempotence: the producer id, epoch and base sequence, fixed when the batch is first
    /// sent so that every retry is recognisably the same batch.
    fields: Option<ProducerFields>,
}

#[derive(Clone, Debug, Default)]
struct PartitionQueue {
    open: Option<ProducerBatch>,
    ready: VecDeque<ProducerBatch>,
}

#[derive(Clone, Debug)]
struct InFlight {
    tp: TopicPartition,
    broker: BrokerId,
    batch: ProducerBatch,
    deadline: Time,
}

/// A producer to one topic.
#[derive(Clone, Debug)]
pub struct Producer {
    id: ClientId,
    config: ProducerConfig,
    topic: Topic,
    now: Time,
    out: Outbox,
    metadata: ClientMetadata,
    unassigned: VecDeque<PendingRecord>,
    queues: BTreeMap<TopicPartition, PartitionQueue>,
    in_flight: BTreeMap<CorrelationId, InFlight>,
    sticky_partition: u32,
    round_robin_next: u32,
    idempotence: Idempotence,
}

/// The idempotent producer's state (`TransactionManager` without transactions).
#[derive(Clone, Debug, Default)]
struct Idempotence {
    /// The producer id and epoch, once `InitProducerId` answered.
    producer: Option<(ProducerId, u16)>,
    /// The `InitProducerId` in flight: (correlation id, broker, deadline).
    init: Option<(CorrelationId, BrokerId, Time)>,
    /// No new `InitProducerId` before this (`retry.backoff.ms` after a failure).
    init_retry_at: Time,
    /// The next sequence per partition.
    sequences: BTreeMap<TopicPartition, i32>,
    /// A sequence error no retry can resolve: take a new producer id once nothing is in flight.
    reset_pending: bool,
}

impl Producer {
    /// A producer that finds the cluster through `bootstrap`.
    pub fn new(
        id: ClientId,
        config: ProducerConfig,
        topic: Topic,
        bootstrap: Vec<BrokerId>,
        now: Time,
    ) -> Producer {
        Producer {
            id,
            metadata: ClientMetadata::new(
                bootstrap,
                vec![topic.clone()],
                config.metadata_timeouts(),
            ),
            config,
            topic,
            now,
            out: Outbox::default(),
            unassigned: VecDeque::new(),
            queues: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            sticky_partition: 0,
            round_robin_next: 0,
            idempotence: Idempotence::default(),
        }
    }

    /// Handle one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.advance(now);
        match input {
            Input::Command(ClientCommand::Send { key, value }) => {
                self.unassigned.push_back(PendingRecord {
                    key,
                    value,
                    created: now,
                });
            }
            Input::Command(ClientCommand::Close) => self.flush_open_batches(),
            Input::Message { from, message } => self.on_message(from, message),
            Input::Disconnected {
                peer: NodeId::Broker(broker),
            } => self.on_disconnected(broker),
            Input::Start { .. }
            | Input::Disconnected { .. }
            | Input::DiskCompleted { .. }
            | Input::Shutdown => {}
        }
        self.run();
    }

    /// Fire linger, retry, request and delivery deadlines.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
        self.metadata.expire(now);
        // `NetworkClient.handleTimedOutRequests` gives up after request.timeout.ms (the request
        // may still land) and closes that connection (`processTimeoutDisconnection`): nothing
        // is retried on it before `reconnect.backoff.ms`, so even a request.timeout.ms of 0
        // with a retry.backoff.ms of 0 lets time move.
        if let Some((_, broker, deadline)) = self.idempotence.init {
            if deadline <= now {
                self.idempotence.init = None;
                self.metadata.connection_closed(now, broker);
            }
        }
        let timed_out: Vec<(CorrelationId, TopicPartition)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(c, f)| (*c, f.tp.clone()))
            .collect();
        for (correlation_id, tp) in timed_out {
            self.on_error(correlation_id, ErrorCode::REQUEST_TIMED_OUT);
            // The retry waits for the new connection when retry.backoff.ms is shorter than
            // reconnect.backoff.ms (with the defaults, 100 > 50, this changes nothing).
            if self.config.retry_backoff_ms >= RECONNECT_BACKOFF_MS {
                continue;
            }
            let reconnect = now.plus_ms(RECONNECT_BACKOFF_MS);
            if let Some(queue) = self.queues.get_mut(&tp) {
                for batch in queue.ready.iter_mut().take_while(|b| b.attempts > 0) {
                    batch.retry_at = batch.retry_at.max(reconnect);
                }
            }
        }
        self.run();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self.metadata.next_deadline(self.now);
        if let Some((_, _, deadline)) = self.idempotence.init {
            next = next.min(deadline);
        } else if self.needs_producer_id() {
            next = next.min(self.idempotence.init_retry_at);
        }
        for f in self.in_flight.values() {
            next = next.min(f.deadline);
        }
        for q in self.queues.values() {
            if let Some(open) = &q.open {
                next = next.min(open.created.plus_ms(self.config.linger_ms));
            }
            // The queue is in creation order (`reenqueue` keeps it so): the front expires
            // first, and retried batches, older than any batch never sent, form a prefix. A
            // backlog of unsent batches costs nothing here.
            if let Some(front) = q.ready.front() {
                next = next.min(self.expiry(front));
            }
            for batch in q.ready.iter().take_while(|b| b.attempts > 0) {
                // A batch blocked only by max.in.flight waits for a response, not a timer.
                if batch.retry_at > self.now {
                    next = next.min(batch.retry_at);
                }
            }
        }
        Some(next)
    }

    /// Records accepted but not yet completed.
    pub fn pending_records(&self) -> usize {
        let queued: usize = self
            .queues
            .values()
            .map(|q| {
                q.open
                    .iter()
                    .chain(q.ready.iter())
                    .map(|b| b.records.len())
                    .sum::<usize>()
            })
            .sum();
        queued
            + self.unassigned.len()
            + self
                .in_flight
                .values()
                .map(|f| f.batch.records.len())
                .sum::<usize>()
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    fn advance(&mut self, now: Time) {
        self.out.advance(&mut self.now, now);
    }

    /// After every input: assign partitions, close lingered batches, expire, get a producer
    /// id if idempotent, send.
    fn run(&mut self) {
        self.metadata.maybe_request(self.now, &mut self.out);
        self.assign_partitions();
        self.close_lingered_batches();
        self.expire_batches();
        self.maybe_reset_producer_id();
        self.maybe_init_producer_id();
        self.send_ready_batches();
    }

    fn needs_producer_id(&self) -> bool {
        self.config.enable_idempotence && self.idempotence.producer.is_none()
    }

    /// `TransactionManager.initializeTransactions` for an idempotent producer: before the first
    /// batch, and again after a reset.
    fn maybe_init_producer_id(&mut self) {
        let i = &self.idempotence;
        if !self.needs_producer_id() || i.init.is_some() || self.now < i.init_retry_at {
            return;
        }
        let Some(broker) = self.metadata.next_broker(self.now) else {
            // Every broker is backing off after a broken connection: try when one may be reached.
            self.idempotence.init_retry_at = self.metadata.first_reconnect(self.now);
            return;
        };
        let correlation_id = self.out.correlation_id();
        let deadline = self.now.plus_ms(self.config.request_timeout_ms);
        self.idempotence.init = Some((correlation_id, broker, deadline));
        self.out.send(
            NodeId::Broker(broker),
            Message::InitProducerId { correlation_id },
        );
    }

    fn on_init_producer_id(
        &mut self,
        correlation_id: CorrelationId,
        error: ErrorCode,
        producer: (ProducerId, u16),
    ) {
        if self.idempotence.init.map(|(c, _, _)| c) != Some(correlation_id) {
            return;
        }
        self.idempotence.init = None;
        if error.is_ok() {
            self.idempotence.producer = Some(producer);
            self.idempotence.sequences.clear();
        } else {
            self.idempotence.init_retry_at = self.now.plus_ms(self.config.retry_backoff_ms);
        }
    }

    /// An unresolved sequence gap: the broker lost (or never got) earlier batches of this
    /// producer. Like `TransactionManager.resetIdempotentProducerId` (before KIP-360's epoch
    /// bump), wait until nothing is in flight, then start over with a new producer id and fresh
    /// sequences. A queued batch that may already be in a log is not re-sent under the new id,
    /// which could write it twice: its outcome is unknown.
    fn maybe_reset_producer_id(&mut self) {
        if !self.idempotence.reset_pending || !self.in_flight.is_empty() {
            return;
        }
        self.idempotence = Idempotence {
            init_retry_at: self.idempotence.init_retry_at,
            ..Idempotence::default()
        };
        let mut unknown = Vec::new();
        for (tp, queue) in &mut self.queues {
            let (written, fresh): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut queue.ready)
                .into_iter()
                .partition(|b| b.fields.is_some() && b.maybe_written);
            queue.ready = fresh;
            for batch in &mut queue.ready {
                batch.fields = None;
            }
            unknown.extend(written.into_iter().map(|b| (tp.clone(), b)));
        }
        for (tp, batch) in unknown {
            self.complete_failed(&tp, batch, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
        }
    }

    fn assign_partitions(&mut self) {
        let partitions = self.metadata.partition_count(&self.topic);
        if partitions == 0 {
            return;
        }
        while let Some(record) = self.unassigned.pop_front() {
            let partition = self.choose_partition(record.key.as_deref(), partitions);
            let tp = TopicPartition::new(&self.topic, partition);
            self.out.history(HistoryEntry::SendInvoked {
                value: record.value.clone(),
                tp: tp.clone(),
            });
            self.append_to_queue(tp, record);
        }
    }

    /// Keyed records: murmur2 like the Java client. Null keys: stick to one partition until its
    /// batch closes (KIP-480), moving on in order rather than at random so that runs repeat.
    fn choose_partition(&mut self, key: Option<&[u8]>, partitions: u32) -> u32 {
        match (self.config.partitioner, key) {
            (Partitioner::RoundRobin, _) => {
                let p = self.round_robin_next % partitions;
                self.round_robin_next = self.round_robin_next.wrapping_add(1);
                p
            }
            (Partitioner::Default, Some(key)) => partition_for_key(key, partitions),
            (Partitioner::Default, None) => self.sticky_partition % partitions,
        }
    }

    fn append_to_queue(&mut self, tp: TopicPartition, record: PendingRecord) {
        let size = record.key.as_ref().map_or(0, |k| k.len() as u64)
            + record.value.len() as u64
            + RECORD_OVERHEAD_BYTES;
        let batch_size = self.config.batch_size;
        let queue = self.queues.entry(tp).or_default();
        let batch = queue.open.get_or_insert_with(|| ProducerBatch {
            records: Vec::new(),
            bytes: 0,
            created: record.created,
            attempts: 0,
            retry_at: Time(0),
            maybe_written: false,
            fields: None,
        });
        batch.records.push(record);
        batch.bytes += size;
        if batch.bytes >= batch_size {
            let full = queue.open.take().expect("just filled");
            queue.ready.push_back(full);
            self.sticky_partition = self.sticky_partition.wrapping_add(1);
        }
    }

    fn close_lingered_batches(&mut self) {
        let linger_ms = self.config.linger_ms;
        let now = self.now;
        let mut closed = 0;
        for queue in self.queues.values_mut() {
            if queue
                .open
                .as_ref()
                .is_some_and(|b| now >= b.created.plus_ms(linger_ms))
            {
                queue.ready.push_back(queue.open.take().expect("checked"));
                closed += 1;
            }
        }
        self.sticky_partition = self.sticky_partition.wrapping_add(closed);
    }

    fn flush_open_batches(&mut self) {
        for queue in self.queues.values_mut() {
            if let Some(open) = queue.open.take() {
                queue.ready.push_back(open);
            }
        }
    }

    fn expiry(&self, batch: &ProducerBatch) -> Time {
        batch.created.plus_ms(self.config.delivery_timeout_ms)
    }

    /// Batches waiting longer than `delivery.timeout.ms` fail (`RecordAccumulator.expiredBatches`).
    fn expire_batches(&mut self) {
        let now = self.now;
        let timeout_ms = self.config.delivery_timeout_ms;
        let mut expired = Vec::new();
        for (tp, queue) in &mut self.queues {
            // The queue is in creation order (`reenqueue` keeps it so): the front expires first.
            while queue
                .ready
                .front()
                .is_some_and(|b| now >= b.created.plus_ms(timeout_ms))
            {
                expired.push((tp.clone(), queue.ready.pop_front().expect("checked")));
            }
        }
        for (tp, batch) in expired {
            self.complete_failed(&tp, batch, ErrorCode::REQUEST_TIMED_OUT);
        }
    }

    fn send_ready_batches(&mut self) {
        if self.needs_producer_id() || self.idempotence.reset_pending {
            return;
        }
        let tps: Vec<TopicPartition> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.ready.is_empty())
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in tps {
            let Some((leader, _)) = self.metadata.leader(&tp) else {
                self.metadata.invalidate();
                continue;
            };
            if !self.metadata.reachable(self.now, leader) {
                continue;
            }
            loop {
                let in_flight_to_leader = self
                    .in_flight
                    .values()
                    .filter(|f| f.broker == leader)
                    .count() as u32;
                // `RecordAccumulator.shouldStopDrainBatchesForPartition`: a retried idempotent
                // batch (it has its sequence already) goes out only when nothing of its
                // partition is in flight, so retries land one by one in sequence order.
                let in_flight = &self.in_flight;
                let queue = self.queues.get_mut(&tp).expect("listed");
                let sendable = queue.ready.front().is_some_and(|b| {
                    b.retry_at <= self.now
                        && !(b.fields.is_some() && in_flight.values().any(|f| f.tp == tp))
                });
                if !sendable
                    || in_flight_to_leader >= self.config.max_in_flight_requests_per_connection
                {
                    break;
                }
                let batch = queue.ready.pop_front().expect("checked");
                self.send_batch(tp.clone(), leader, batch);
            }
        }
    }

    fn send_batch(&mut self, tp: TopicPartition, leader: BrokerId, mut batch: ProducerBatch) {
        batch.attempts += 1;
        if let (None, Some((producer_id, producer_epoch))) =
            (batch.fields, self.idempotence.producer)
        {
            let next = self.idempotence.sequences.entry(tp.clone()).or_insert(0);
            batch.fields = Some(ProducerFields {
                producer_id,
                producer_epoch,
                base_sequence: *next,
            });
            *next = next.wrapping_add(batch.records.len() as i32);
        }
        let records: Vec<Record> = batch
            .records
            .iter()
            .map(|r| Record {
                key: r.key.clone(),
                value: r.value.clone(),
                timestamp_ms: r.created.0,
                headers: Vec::new(),
            })
            .collect();
        let correlation_id = self.out.correlation_id();
        let message = Message::Produce {
            correlation_id,
            tp: tp.clone(),
            acks: self.config.acks,
            timeout_ms: self.config.request_timeout_ms,
            batch: RecordBatch::new(batch.fields, records),
        };
        self.out.send(NodeId::Broker(leader), message);
        if self.config.acks == Acks::None {
            // acks=0: the producer never learns what happened; it calls it a success.
            for r in &batch.records {
                let entry = HistoryEntry::SendCompleted {
                    value: r.value.clone(),
                    tp: tp.clone(),
                    outcome: SendOutcome::Ok(None),
                };
                self.out.history(entry);
            }
            return;
        }
        let deadline = self.now.plus_ms(self.config.request_timeout_ms);
        self.in_flight.insert(
            correlation_id,
            InFlight {
                tp,
                broker: leader,
                batch,
                deadline,
            },
        );
    }

    fn on_message(&mut self, _from: NodeId, message: Message) {
        match message {
            Message::MetadataResponse {
                correlation_id,
                partitions,
                ..
            } => {
                self.metadata
                    .on_response(self.now, correlation_id, partitions);
            }
            Message::InitProducerIdResponse {
                correlation_id,
                error,
                producer_id,
                producer_epoch,
            } => self.on_init_producer_id(correlation_id, error, (producer_id, producer_epoch)),
            Message::ProduceResponse {
                correlation_id,
                error,
                base_offset,
                ..
            } => match (error, base_offset) {
                (ErrorCode::NONE, Some(base)) => self.on_success(correlation_id, base),
                (error, _) => self.on_error(correlation_id, error),
            },
            _ => {}
        }
    }

    fn on_success(&mut self, correlation_id: CorrelationId, base_offset: Offset) {
        let Some(flight) = self.in_flight.remove(&correlation_id) else {
            return;
        };
        for (i, r) in flight.batch.records.iter().enumerate() {
            let outcome = SendOutcome::Ok(Some(base_offset.plus(i as u64)));
            self.out.history(HistoryEntry::SendCompleted {
                value: r.value.clone(),
                tp: flight.tp.clone(),
                outcome,
            });
        }
    }

    /// `Sender.completeBatch` on an error: retry if allowed, else fail the batch.
    fn on_error(&mut self, correlation_id: CorrelationId, error: ErrorCode) {
        let Some(flight) = self.in_flight.remove(&correlation_id) else {
            return;
        };
        let mut batch = flight.batch;
        // These answers may come after the leader appended the batch: a timeout or a broken
        // connection, too few replicas after the append, or a leader that lost its leadership
        // while the acks=all wait was pending (`DelayedProduce` completes with
        // NOT_LEADER_OR_FOLLOWER, though the new leader may have fetched the batch).
        if matches!(
            error,
            ErrorCode::REQUEST_TIMED_OUT
                | ErrorCode::NETWORK_EXCEPTION
                | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | ErrorCode::NOT_LEADER_OR_FOLLOWER
        ) {
            batch.maybe_written = true;
        }
        if error.needs_metadata_refresh() {
            self.metadata.invalidate();
        }
        let retriable =
            error.is_retriable() || self.retry_after_sequence_error(&flight.tp, &batch, error);
        let can_retry =
            retriable && batch.attempts <= self.config.retries && self.now < self.expiry(&batch);
        if can_retry {
            batch.retry_at = self.now.plus_ms(self.config.retry_backoff_ms);
            self.reenqueue(flight.tp, batch);
        } else {
            self.complete_failed(&flight.tp, batch, error);
        }
    }

    /// Whether a sequence or epoch error of an idempotent batch is retried, and what must happen
    /// first. An `OUT_OF_ORDER_SEQUENCE_NUMBER` behind an earlier batch of the same partition
    /// that is itself in flight or waiting to be retried resolves once that one lands (`Sender`'s
    /// handling with `max.in.flight.requests.per.connection` > 1). Any other sequence or epoch
    /// error schedules a new producer id (`maybe_reset_producer_id`) before the retry.
    fn retry_after_sequence_error(
        &mut self,
        tp: &TopicPartition,
        batch: &ProducerBatch,
        error: ErrorCode,
    ) -> bool {
        let sequence_error = matches!(
            error,
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
                | ErrorCode::UNKNOWN_PRODUCER_ID
                | ErrorCode::INVALID_PRODUCER_EPOCH
        );
        let Some(fields) = batch.fields.filter(|_| sequence_error) else {
            return false;
        };
        let earlier = |b: &ProducerBatch| {
            b.fields
                .is_some_and(|f| f.base_sequence < fields.base_sequence)
        };
        let behind_earlier = error != ErrorCode::INVALID_PRODUCER_EPOCH
            && (self
                .in_flight
                .values()
                .any(|f| &f.tp == tp && earlier(&f.batch))
                || self
                    .queues
                    .get(tp)
                    .is_some_and(|q| q.ready.iter().any(earlier)));
        if !behind_earlier {
            self.idempotence.reset_pending = true;
        }
        true
    }

    /// `RecordAccumulator.reenqueue`: a retried batch goes back ahead of the batches created
    /// after it. For an idempotent producer that is `insertInSequenceOrder` (a partition's
    /// sequences are handed out in creation order), so retries of several in-flight batches go
    /// out again in the order the broker expects; for every producer it keeps the queue in
    /// creation order, so the front is always the first to expire.
    fn reenqueue(&mut self, tp: TopicPartition, batch: ProducerBatch) {
        let ready = &mut self.queues.entry(tp).or_default().ready;
        let sequence = |b: &ProducerBatch| b.fields.map(|f| f.base_sequence);
        // Batches created in the same millisecond: retries first, in sequence order.
        let ahead = |b: &ProducerBatch| {
            b.created < batch.created
                || (b.created == batch.created && b.attempts > 0 && sequence(b) < sequence(&batch))
        };
        let at = ready.partition_point(ahead);
        ready.insert(at, batch);
    }

    fn complete_failed(&mut self, tp: &TopicPartition, batch: ProducerBatch, error: ErrorCode) {
        let outcome = if batch.maybe_written {
            SendOutcome::Info(error)
        } else {
            SendOutcome::Fail(error)
        };
        for r in batch.records {
            self.out.history(HistoryEntry::SendCompleted {
                value: r.value,
                tp: tp.clone(),
                outcome: outcome.clone(),
            });
        }
    }

    fn on_disconnected(&mut self, broker: BrokerId) {
        self.metadata.on_disconnected(self.now, broker);
        if self.idempotence.init.is_some_and(|(_, b, _)| b == broker) {
            self.idempotence.init = None;
        }
        let lost: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.broker == broker)
            .map(|(c, _)| *c)
            .collect();
        for correlation_id in lost {
            self.on_error(correlation_id, ErrorCode::NETWORK_EXCEPTION);
        }
    }
}
