//! The producer (`KafkaProducer` + `RecordAccumulator` + `Sender` + `TransactionManager`):
//! partitioner, batching by `linger.ms` and `batch.size`, acks, retries with backoff,
//! `delivery.timeout.ms`, metadata refresh on leader errors, and the idempotent producer
//! (`InitProducerId`, producer epoch, per-partition sequences). Every record's fate goes into
//! the history.

use super::metadata::{ClientMetadata, RECONNECT_BACKOFF_MS};
use super::partitioner::{partition_for_key, StickyPartition};
use crate::config::{Partitioner, ProducerConfig};
use crate::error::ErrorCode;
use crate::io::{ClientCommand, HistoryEntry, Input, Output, SendOutcome, WriteKind};
use crate::outbox::Outbox;
use crate::protocol::{
    Acks, InitProducerIdRequest, InitProducerIdResponse, Message, MetadataResponse,
    PartitionProduceData, PartitionProduceResponse, ProduceRequest, ProduceResponse,
};
use crate::record::{ProducerFields, Record, RecordBatch};
use crate::types::*;
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Bytes a record adds to a batch besides key and value (Kafka's per-record overhead, roughly).
const RECORD_OVERHEAD_BYTES: u64 = 20;

#[derive(Clone, Debug)]
struct PendingRecord {
    key: Option<Bytes>,
    /// The value, or a tombstone's identity (`kind`).
    value: Bytes,
    kind: WriteKind,
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
    /// sent so that every retry is recognisably the same batch (until an epoch bump renumbers it).
    fields: Option<ProducerFields>,
    /// An epoch bump gave this batch a new sequence (`ProducerBatch.sequenceHasBeenReset`).
    sequence_reset: bool,
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
    /// The batches in flight, by request and partition (a request carries one batch of each of
    /// several partitions).
    in_flight: BTreeMap<(CorrelationId, TopicPartition), InFlight>,
    sticky: StickyPartition,
    round_robin_next: u32,
    /// Per broker, the partition the next drain starts at (`RecordAccumulator.nodesDrainIndex`).
    drain_index: BTreeMap<BrokerId, usize>,
    idempotence: Idempotence,
}

/// The idempotent producer's state (`TransactionManager` without transactions).
#[derive(Clone, Debug, Default)]
struct Idempotence {
    /// The producer id and epoch, once `InitProducerId` answered; the epoch goes up on a bump.
    producer: Option<(ProducerId, u16)>,
    /// The `InitProducerId` in flight: (correlation id, broker, deadline).
    init: Option<(CorrelationId, BrokerId, Time)>,
    /// No new `InitProducerId` before this (`retry.backoff.ms` after a failure).
    init_retry_at: Time,
    /// Sequence bookkeeping per partition (`TxnPartitionMap`).
    partitions: BTreeMap<TopicPartition, PartitionSequences>,
    /// `partitionsToRewriteSequences`: a sequence gap there calls for an epoch bump.
    bump: BTreeSet<TopicPartition>,
    /// `partitionsWithUnresolvedSequences`: a batch sent at least once expired; the next
    /// sequence it leaves behind. No new batch goes to the partition until it is resolved.
    unresolved: BTreeMap<TopicPartition, i32>,
}

/// `TxnPartitionEntry`: the producer id and epoch a partition's sequences belong to.
#[derive(Clone, Copy, Debug)]
struct PartitionSequences {
    producer: (ProducerId, u16),
    next: i32,
    last_acked: Option<i32>,
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
            sticky: StickyPartition::default(),
            round_robin_next: 0,
            drain_index: BTreeMap::new(),
            idempotence: Idempotence::default(),
        }
    }

    /// Handle one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.advance(now);
        match input {
            Input::Command(ClientCommand::Send { key, value, kind }) => {
                self.unassigned.push_back(PendingRecord {
                    key,
                    value,
                    kind,
                    created: now,
                });
            }
            Input::Command(ClientCommand::Close) => self.flush_open_batches(),
            Input::Command(ClientCommand::DeleteRecords { .. }) => {}
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
        self.expire_in_flight();
        let timed_out: Vec<(CorrelationId, TopicPartition)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(key, _)| key.clone())
            .collect();
        for (correlation_id, tp) in timed_out {
            self.on_error(correlation_id, &tp, ErrorCode::REQUEST_TIMED_OUT);
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
            next = next.min(f.deadline).min(self.expiry(&f.batch));
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
        self.expire_in_flight();
        self.maybe_resolve_sequences();
        self.maybe_bump_epoch();
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
            Message::InitProducerId(InitProducerIdRequest { correlation_id }),
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
            self.idempotence.partitions.clear();
        } else {
            self.idempotence.init_retry_at = self.now.plus_ms(self.config.retry_backoff_ms);
        }
    }

    /// Whether any batch of `tp` holds a sequence and is not done (`hasInflightBatches`: sent,
    /// and in flight or waiting to be retried).
    fn has_sequenced_batches(&self, tp: &TopicPartition) -> bool {
        self.in_flight.values().any(|f| &f.tp == tp)
            || self
                .queues
                .get(tp)
                .is_some_and(|q| q.ready.iter().any(|b| b.fields.is_some()))
    }

    /// `TransactionManager.maybeResolveSequences`: once nothing of an unresolved partition is
    /// pending, it is resolved if the batches after the expired one were acknowledged up to the
    /// next sequence, and calls for an epoch bump otherwise.
    fn maybe_resolve_sequences(&mut self) {
        let drained: Vec<TopicPartition> = self
            .idempotence
            .unresolved
            .keys()
            .filter(|tp| !self.has_sequenced_batches(tp))
            .cloned()
            .collect();
        for tp in drained {
            self.idempotence.unresolved.remove(&tp);
            let p = self.idempotence.partitions.get(&tp);
            let resolved = p.is_some_and(|p| is_next_sequence(p.last_acked, p.next));
            if !resolved {
                self.idempotence.bump.insert(tp);
            }
        }
    }

    /// `bumpIdempotentProducerEpoch` (KIP-360): an idempotent producer bumps its epoch itself
    /// (no `InitProducerId`, which only a transactional producer sends with its current id and
    /// epoch) and renumbers the unfinished batches of the partitions with a gap from sequence 0
    /// (`startSequencesAtBeginning`); they are retried under the new epoch. At the epoch's
    /// maximum it takes a new producer id instead (`resetIdempotentProducerId`).
    ///
    /// Kafka bumps at once and rewrites the sequences of requests still on the wire; the lab
    /// waits until the partition has nothing in flight, so a renumbered batch never races its
    /// own earlier attempt.
    fn maybe_bump_epoch(&mut self) {
        let Some((producer_id, epoch)) = self.idempotence.producer else {
            return;
        };
        let i = &self.idempotence;
        if i.bump.is_empty()
            || i.bump
                .iter()
                .any(|tp| self.in_flight.values().any(|f| &f.tp == tp))
        {
            return;
        }
        let bumped = std::mem::take(&mut self.idempotence.bump);
        if epoch == i16::MAX as u16 {
            // A new producer id: every partition starts again, every pending batch renumbered.
            self.idempotence.producer = None;
            self.idempotence.partitions.clear();
            self.idempotence.unresolved.clear();
            for queue in self.queues.values_mut() {
                for batch in &mut queue.ready {
                    batch.fields = None;
                }
            }
            return;
        }
        let producer = (producer_id, epoch + 1);
        self.idempotence.producer = Some(producer);
        for tp in bumped {
            let mut next = 0i32;
            let mut unknown = Vec::new();
            if let Some(queue) = self.queues.get_mut(&tp) {
                // A batch that may already be in the log is not re-sent under the new epoch,
                // where the broker could not recognise it: Kafka does re-send it and may write it
                // twice; the lab holds an idempotent producer to no duplicates and reports its
                // outcome as unknown instead.
                let (written, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut queue.ready)
                    .into_iter()
                    .partition(|b| b.fields.is_some() && b.maybe_written);
                queue.ready = rest;
                unknown.extend(written);
                for batch in queue.ready.iter_mut().filter(|b| b.fields.is_some()) {
                    batch.fields = Some(ProducerFields {
                        producer_id,
                        producer_epoch: producer.1,
                        base_sequence: next,
                    });
                    batch.sequence_reset = true;
                    next = next.wrapping_add(batch.records.len() as i32);
                }
            }
            for batch in unknown {
                self.complete_failed(&tp, batch, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
            }
            let sequences = PartitionSequences {
                producer,
                next,
                last_acked: None,
            };
            self.idempotence.partitions.insert(tp.clone(), sequences);
            self.idempotence.unresolved.remove(&tp);
        }
    }

    fn assign_partitions(&mut self) {
        let partitions = self.metadata.partition_count(&self.topic);
        if partitions == 0 {
            return;
        }
        while let Some(record) = self.unassigned.pop_front() {
            let (partition, sticky) = self.choose_partition(record.key.as_deref(), partitions);
            let tp = TopicPartition::new(&self.topic, partition);
            self.out.history(HistoryEntry::SendInvoked {
                value: record.value.clone(),
                tp: tp.clone(),
            });
            let size = record.key.as_ref().map_or(0, |k| k.len() as u64)
                + record.value.len() as u64
                + RECORD_OVERHEAD_BYTES;
            let all_batches_full = self.append_to_queue(tp, record, size);
            if sticky {
                self.sticky
                    .appended(size, self.config.batch_size, all_batches_full);
            }
        }
    }

    /// The partition of a record, and whether it came from the sticky partition. Keyed records:
    /// murmur2 like the Java client. Null keys, or every key with `partitioner.ignore.keys`:
    /// the sticky partition (`BuiltInPartitioner`, KIP-794).
    fn choose_partition(&mut self, key: Option<&[u8]>, partitions: u32) -> (u32, bool) {
        let key = key.filter(|_| !self.config.partitioner_ignore_keys);
        match (self.config.partitioner, key) {
            (Partitioner::RoundRobin, _) => {
                let p = self.round_robin_next % partitions;
                self.round_robin_next = self.round_robin_next.wrapping_add(1);
                (p, false)
            }
            (Partitioner::Default, Some(key)) => (partition_for_key(key, partitions), false),
            (Partitioner::Default, None) => (self.sticky.partition(partitions), true),
        }
    }

    /// Add a record to its partition's open batch, closing the batch once full. Returns whether
    /// every batch of the partition is full afterwards (`RecordAccumulator.allBatchesFull`).
    fn append_to_queue(&mut self, tp: TopicPartition, record: PendingRecord, size: u64) -> bool {
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
            sequence_reset: false,
        });
        batch.records.push(record);
        batch.bytes += size;
        if batch.bytes >= batch_size {
            let full = queue.open.take().expect("just filled");
            queue.ready.push_back(full);
        }
        queue.open.is_none()
    }

    fn close_lingered_batches(&mut self) {
        let linger_ms = self.config.linger_ms;
        let now = self.now;
        for queue in self.queues.values_mut() {
            if queue
                .open
                .as_ref()
                .is_some_and(|b| now >= b.created.plus_ms(linger_ms))
            {
                queue.ready.push_back(queue.open.take().expect("checked"));
            }
        }
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
            // Waiting to be retried: sent before, failed at least once (`inRetry`).
            let in_retry = batch.attempts > 0;
            self.expired(&tp, batch, in_retry);
        }
    }

    /// `Sender.getExpiredInflightBatches`: a batch still in flight fails at
    /// `delivery.timeout.ms` too, without waiting for `request.timeout.ms`. A late answer to it
    /// is ignored.
    fn expire_in_flight(&mut self) {
        let expired: Vec<(CorrelationId, TopicPartition)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| self.now >= self.expiry(&f.batch))
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            let flight = self.in_flight.remove(&key).expect("listed");
            let mut batch = flight.batch;
            // It was sent: it may be in the log, its outcome is unknown.
            batch.maybe_written = true;
            let in_retry = batch.attempts > 1;
            self.expired(&flight.tp, batch, in_retry);
        }
    }

    /// A batch failed at `delivery.timeout.ms` (`Sender.sendProducerData`): one sent before
    /// leaves its sequence unresolved (`markSequenceUnresolved`) when it was in retry.
    fn expired(&mut self, tp: &TopicPartition, batch: ProducerBatch, in_retry: bool) {
        if let (Some(fields), true) = (batch.fields, in_retry) {
            let next = fields
                .base_sequence
                .wrapping_add(batch.records.len() as i32);
            let entry = self
                .idempotence
                .unresolved
                .entry(tp.clone())
                .or_insert(next);
            *entry = (*entry).max(next);
        }
        self.complete_failed(tp, batch, ErrorCode::REQUEST_TIMED_OUT);
    }

    /// `Sender.sendProducerData`: one Produce per broker carries a batch of every partition it
    /// leads that has one to send (`RecordAccumulator.drain`), and more follow while the
    /// connection has fewer than `max.in.flight.requests.per.connection` requests unanswered
    /// (`InFlightRequests.canSendMore`, counted per connection, not per partition).
    fn send_ready_batches(&mut self) {
        // Most inputs leave nothing to send: skip building the per-broker lists then.
        if self.needs_producer_id() || self.queues.values().all(|q| q.ready.is_empty()) {
            return;
        }
        let mut by_leader: BTreeMap<BrokerId, Vec<TopicPartition>> = BTreeMap::new();
        let mut unknown_leader = false;
        // Every partition of a broker, ready or not, so that the drain's start rotates over a
        // stable list (Kafka's over `partitionsForNode`).
        for (tp, queue) in &self.queues {
            match self.metadata.leader(tp) {
                Some((leader, _)) => by_leader.entry(leader).or_default().push(tp.clone()),
                None => unknown_leader |= !queue.ready.is_empty(),
            }
        }
        if unknown_leader {
            self.metadata.invalidate();
        }
        for (leader, tps) in by_leader {
            if !self.metadata.reachable(self.now, leader) {
                continue;
            }
            while self.requests_in_flight(leader)
                < self.config.max_in_flight_requests_per_connection
            {
                let drained = self.drain(leader, &tps);
                if drained.is_empty() {
                    break;
                }
                self.send_produce(leader, drained);
            }
        }
    }

    /// The Produce requests to `broker` not yet answered (the in-flight map holds a request's
    /// batches side by side under its correlation id).
    fn requests_in_flight(&self, broker: BrokerId) -> u32 {
        let mut requests = 0;
        let mut last = None;
        for ((correlation_id, _), flight) in &self.in_flight {
            if flight.broker == broker && last != Some(*correlation_id) {
                requests += 1;
                last = Some(*correlation_id);
            }
        }
        requests
    }

    /// `RecordAccumulator.drainBatchesForOneNode`: the first batch of each partition led by
    /// `broker` that may go now, at most one per partition, until the request would pass
    /// `max.request.size` (the first batch goes even if larger). The start rotates over the
    /// partitions (`nodesDrainIndex`) so that a full request does not always leave out the
    /// same ones.
    fn drain(
        &mut self,
        broker: BrokerId,
        tps: &[TopicPartition],
    ) -> Vec<(TopicPartition, ProducerBatch)> {
        let start = self.drain_index.get(&broker).copied().unwrap_or(0) % tps.len();
        let mut drained = Vec::new();
        let mut size = 0u64;
        for k in 0..tps.len() {
            let tp = &tps[(start + k) % tps.len()];
            let Some(batch) = self.queues[tp].ready.front() else {
                continue;
            };
            if batch.retry_at > self.now || !self.may_drain(tp, batch) {
                continue;
            }
            if !drained.is_empty() && size + batch.bytes > self.config.max_request_size {
                break;
            }
            size += batch.bytes;
            let batch = self.queues.get_mut(tp).expect("listed").ready.pop_front();
            drained.push((tp.clone(), batch.expect("checked")));
        }
        self.drain_index.insert(broker, start + 1);
        drained
    }

    /// `RecordAccumulator.shouldStopDrainBatchesForPartition` for an idempotent producer.
    fn may_drain(&self, tp: &TopicPartition, batch: &ProducerBatch) -> bool {
        let Some(producer) = self.idempotence.producer else {
            return true;
        };
        if self.idempotence.bump.contains(tp) {
            // Its unfinished batches are about to be renumbered under a new epoch.
            return false;
        }
        let in_flight = self.in_flight.values().any(|f| &f.tp == tp);
        if batch.fields.is_some() {
            // A retry goes out only when nothing of its partition is in flight, so retries land
            // one by one in sequence order.
            return !in_flight;
        }
        // A new batch waits while an expired batch's sequence is unresolved, and while batches
        // of an older epoch are unfinished (`hasStaleProducerIdAndEpoch`).
        let stale = self
            .idempotence
            .partitions
            .get(tp)
            .is_some_and(|p| p.producer != producer);
        let unresolved = self.idempotence.unresolved.contains_key(tp);
        !(unresolved || stale && self.has_sequenced_batches(tp))
    }

    /// One Produce to `leader` with the drained batches; each waits in flight for its
    /// partition's answer.
    fn send_produce(&mut self, leader: BrokerId, drained: Vec<(TopicPartition, ProducerBatch)>) {
        let correlation_id = self.out.correlation_id();
        let mut partitions = Vec::with_capacity(drained.len());
        let mut batches = Vec::with_capacity(drained.len());
        for (tp, mut batch) in drained {
            partitions.push(self.prepare(&tp, &mut batch));
            batches.push((tp, batch));
        }
        let message = Message::Produce(ProduceRequest {
            correlation_id,
            acks: self.config.acks,
            timeout_ms: self.config.request_timeout_ms,
            partitions,
        });
        self.out.send(NodeId::Broker(leader), message);
        let deadline = self.now.plus_ms(self.config.request_timeout_ms);
        for (tp, batch) in batches {
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
                continue;
            }
            let flight = InFlight {
                tp: tp.clone(),
                broker: leader,
                batch,
                deadline,
            };
            self.in_flight.insert((correlation_id, tp), flight);
        }
    }

    /// A batch about to be sent: one more attempt, its sequence if it has none yet, and its
    /// records as the request carries them.
    fn prepare(&mut self, tp: &TopicPartition, batch: &mut ProducerBatch) -> PartitionProduceData {
        batch.attempts += 1;
        if let (None, Some(producer)) = (batch.fields, self.idempotence.producer) {
            // `maybeUpdateProducerIdAndEpoch`: a partition whose sequences belong to an older
            // epoch (and has nothing unfinished, see `may_drain`) starts again at 0.
            let fresh = PartitionSequences {
                producer,
                next: 0,
                last_acked: None,
            };
            let p = self
                .idempotence
                .partitions
                .entry(tp.clone())
                .or_insert(fresh);
            if p.producer != producer {
                *p = fresh;
            }
            batch.fields = Some(ProducerFields {
                producer_id: producer.0,
                producer_epoch: producer.1,
                base_sequence: p.next,
            });
            p.next = p.next.wrapping_add(batch.records.len() as i32);
        }
        let records: Vec<Record> = batch
            .records
            .iter()
            .map(|r| match r.kind {
                WriteKind::Value => Record::new(r.key.clone(), r.value.clone(), r.created.0),
                WriteKind::Tombstone => {
                    Record::tombstone(r.key.clone(), r.value.clone(), r.created.0)
                }
            })
            .collect();
        PartitionProduceData {
            tp: tp.clone(),
            batch: RecordBatch::new(batch.fields, records),
        }
    }

    fn on_message(&mut self, _from: NodeId, message: Message) {
        match message {
            Message::MetadataResponse(MetadataResponse {
                correlation_id,
                partitions,
                ..
            }) => {
                self.metadata
                    .on_response(self.now, correlation_id, partitions);
            }
            Message::InitProducerIdResponse(InitProducerIdResponse {
                correlation_id,
                error,
                producer_id,
                producer_epoch,
            }) => self.on_init_producer_id(correlation_id, error, (producer_id, producer_epoch)),
            Message::ProduceResponse(ProduceResponse {
                correlation_id,
                partitions,
            }) => {
                // `Sender.handleProduceResponse`: each partition's batch completes on its own.
                for PartitionProduceResponse {
                    tp,
                    error,
                    base_offset,
                } in partitions
                {
                    match (error, base_offset) {
                        (ErrorCode::NONE, Some(base)) => self.on_success(correlation_id, &tp, base),
                        (error, _) => self.on_error(correlation_id, &tp, error),
                    }
                }
            }
            _ => {}
        }
    }

    fn on_success(&mut self, correlation_id: CorrelationId, tp: &TopicPartition, base: Offset) {
        let Some(flight) = self.in_flight.remove(&(correlation_id, tp.clone())) else {
            return;
        };
        if let Some(fields) = flight.batch.fields {
            // `handleCompletedBatch`: the last acknowledged sequence of the partition.
            let last = fields
                .base_sequence
                .wrapping_add(flight.batch.records.len() as i32 - 1);
            let p = self.idempotence.partitions.get_mut(&flight.tp);
            if let Some(p) = p.filter(|p| p.producer == (fields.producer_id, fields.producer_epoch))
            {
                p.last_acked = Some(p.last_acked.map_or(last, |acked| acked.max(last)));
            }
        }
        for (i, r) in flight.batch.records.iter().enumerate() {
            let outcome = SendOutcome::Ok(Some(base.plus(i as u64)));
            self.out.history(HistoryEntry::SendCompleted {
                value: r.value.clone(),
                tp: flight.tp.clone(),
                outcome,
            });
        }
    }

    /// `Sender.completeBatch` on an error: retry if allowed, else fail the batch.
    fn on_error(&mut self, correlation_id: CorrelationId, tp: &TopicPartition, error: ErrorCode) {
        let Some(flight) = self.in_flight.remove(&(correlation_id, tp.clone())) else {
            return;
        };
        let mut batch = flight.batch;
        // These answers may come after the leader appended the batch.
        if error.may_have_been_written() {
            batch.maybe_written = true;
        }
        if error.needs_metadata_refresh() {
            self.metadata.invalidate();
        }
        let can_retry = batch.attempts <= self.config.retries
            && self.now < self.expiry(&batch)
            && self.can_retry(&flight.tp, &batch, error);
        if can_retry {
            batch.retry_at = self.now.plus_ms(self.retry_backoff(batch.attempts));
            self.reenqueue(flight.tp, batch);
        } else {
            // `TransactionManager.handleFailedBatch`: a batch of the idempotent producer that
            // fails for good leaves a gap behind it: bump the epoch (`Sender.failBatch` adjusts
            // sequences only while retries were left, except for a sequence error).
            let sequence_error = matches!(
                error,
                ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID
            );
            if batch.fields.is_some() && (batch.attempts < self.config.retries || sequence_error) {
                self.idempotence.bump.insert(flight.tp.clone());
            }
            self.complete_failed(&flight.tp, batch, error);
        }
    }

    /// `ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms, jitter)` (KIP-580) before
    /// the retry after `attempts` sends (`RecordAccumulator.shouldBackoff` asks for
    /// `backoff(attempts - 1)`). Kafka's jitter is 0.2, a random factor in 0.8..1.2; the lab uses
    /// none, since the client takes no randomness from the world (jitter only keeps many clients
    /// from retrying in step, and a run must stay a pure function of the seed).
    fn retry_backoff(&self, attempts: u32) -> u64 {
        let max = self.config.retry_backoff_max_ms;
        let initial = self.config.retry_backoff_ms.min(max);
        let exp = attempts.saturating_sub(1).min(63);
        initial.saturating_mul(1u64 << exp).min(max)
    }

    /// `Sender.canRetry` and `TransactionManager.canRetry` for an idempotent producer: besides
    /// the retriable errors, every `UNKNOWN_PRODUCER_ID` and `OUT_OF_ORDER_SEQUENCE_NUMBER` is
    /// retried (KIP-360). A gap (an unknown producer, or an out-of-order batch that is the next
    /// after the last acknowledged one) asks for an epoch bump first
    /// (`requestEpochBumpForPartition`); an out-of-order batch behind an earlier one still
    /// pending waits for that one to land.
    fn can_retry(&mut self, tp: &TopicPartition, batch: &ProducerBatch, error: ErrorCode) -> bool {
        let Some(fields) = batch.fields else {
            return error.is_retriable();
        };
        match error {
            ErrorCode::UNKNOWN_PRODUCER_ID => {
                self.idempotence.bump.insert(tp.clone());
                true
            }
            ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER => {
                let unresolved = self.idempotence.unresolved.get(tp).copied();
                let last_acked = self
                    .idempotence
                    .partitions
                    .get(tp)
                    .and_then(|p| p.last_acked);
                let next = is_next_sequence(last_acked, fields.base_sequence);
                if unresolved.is_none() && (batch.sequence_reset || !next) {
                    return true;
                }
                if unresolved.is_none_or(|u| u == fields.base_sequence) {
                    self.idempotence.bump.insert(tp.clone());
                }
                true
            }
            _ => error.is_retriable(),
        }
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
        let lost: Vec<(CorrelationId, TopicPartition)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.broker == broker)
            .map(|(key, _)| key.clone())
            .collect();
        for (correlation_id, tp) in lost {
            self.on_error(correlation_id, &tp, ErrorCode::NETWORK_EXCEPTION);
        }
    }
}

/// `TransactionManager.isNextSequence`: `sequence` follows the last acknowledged one (or is the
/// first, 0).
fn is_next_sequence(last_acked: Option<i32>, sequence: i32) -> bool {
    i64::from(sequence) - last_acked.map_or(-1, i64::from) == 1
}
