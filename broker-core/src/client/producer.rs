//! The producer (`KafkaProducer` + `RecordAccumulator` + `Sender`): partitioner, batching by
//! `linger.ms` and `batch.size`, acks, retries with backoff, `delivery.timeout.ms`, and
//! metadata refresh on leader errors. Every record's fate goes into the history.

use super::metadata::ClientMetadata;
use super::partitioner::partition_for_key;
use crate::config::{Partitioner, ProducerConfig};
use crate::error::ErrorCode;
use crate::io::{ClientCommand, HistoryEntry, Input, Output, SendOutcome};
use crate::outbox::Outbox;
use crate::protocol::{Acks, Message};
use crate::record::{Record, RecordBatch};
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
        let timed_out: Vec<CorrelationId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(c, _)| *c)
            .collect();
        for correlation_id in timed_out {
            // `NetworkClient` gives up after request.timeout.ms: the request may still land.
            self.on_error(correlation_id, ErrorCode::REQUEST_TIMED_OUT);
        }
        self.run();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self.metadata.next_deadline();
        for f in self.in_flight.values() {
            next = next.min(f.deadline);
        }
        for q in self.queues.values() {
            if let Some(open) = &q.open {
                next = next.min(open.created.plus_ms(self.config.linger_ms));
            }
            for batch in &q.ready {
                // A batch blocked only by max.in.flight waits for a response, not a timer.
                if batch.retry_at > self.now {
                    next = next.min(batch.retry_at);
                }
                next = next.min(self.expiry(batch));
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

    /// After every input: assign partitions, close lingered batches, expire, send.
    fn run(&mut self) {
        self.metadata.maybe_request(self.now, &mut self.out);
        self.assign_partitions();
        self.close_lingered_batches();
        self.expire_batches();
        self.send_ready_batches();
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
            // Not only the front: two retries re-enqueued at the front can leave an older batch
            // behind a newer one, and a missed expiry would be a deadline in the past forever.
            let (old, fresh): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut queue.ready)
                .into_iter()
                .partition(|b| now >= b.created.plus_ms(timeout_ms));
            queue.ready = fresh;
            expired.extend(old.into_iter().map(|b| (tp.clone(), b)));
        }
        for (tp, batch) in expired {
            self.complete_failed(&tp, batch, ErrorCode::REQUEST_TIMED_OUT);
        }
    }

    fn send_ready_batches(&mut self) {
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
            loop {
                let in_flight_to_leader = self
                    .in_flight
                    .values()
                    .filter(|f| f.broker == leader)
                    .count() as u32;
                let queue = self.queues.get_mut(&tp).expect("listed");
                let sendable = queue.ready.front().is_some_and(|b| b.retry_at <= self.now);
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
            batch: RecordBatch::new(None, records),
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
        if matches!(
            error,
            ErrorCode::REQUEST_TIMED_OUT
                | ErrorCode::NETWORK_EXCEPTION
                | ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND
        ) {
            batch.maybe_written = true;
        }
        if error.needs_metadata_refresh() {
            self.metadata.invalidate();
        }
        let can_retry = error.is_retriable()
            && batch.attempts <= self.config.retries
            && self.now < self.expiry(&batch);
        if can_retry {
            batch.retry_at = self.now.plus_ms(self.config.retry_backoff_ms);
            // `RecordAccumulator.reenqueue` puts a retried batch at the front of its queue.
            self.queues
                .entry(flight.tp)
                .or_default()
                .ready
                .push_front(batch);
        } else {
            self.complete_failed(&flight.tp, batch, error);
        }
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
        self.metadata.on_disconnected(broker);
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
