//! The broker: hosts partition replicas, leads some and follows others.
//!
//! Call protocol (the same for every node): `handle(now, input)` or `handle_timeout(now)`, then
//! drain `poll_output()` until `None`, then ask `poll_timeout()` for the next deadline. Time never
//! goes backwards. After `Input::Start` the broker recovers its logs from the disk image,
//! registers with the controller, heartbeats, and follows the metadata the controller publishes.

mod admin;
mod cleaning;
mod controller_channel;
mod coordinator;
mod delete_records;
mod leader;
mod lifecycle;
mod metadata_observer;
mod replica_follower;
mod storage;
#[cfg(test)]
mod tests;

use crate::config::ClusterConfig;
use crate::group::{CoordinatorConfig, GroupCoordinator};
use crate::io::{ClientCommand, Input, Output};
use crate::log::PartitionLog;
use crate::metadata::MetadataImage;
use crate::outbox::Outbox;
use crate::producer_state::ProducerState;
use crate::protocol::{
    Acks, AlterPartitionResponse, BrokerHeartbeatResponse, BrokerRegistrationResponse,
    FetchPartition, FetchRequest, FetchResponse, InitProducerIdRequest, InitProducerIdResponse,
    ListOffsetsRequest, Message, MetadataRequest, PartitionProduceResponse,
};
use crate::types::*;
use std::collections::{BTreeMap, VecDeque};

pub use controller_channel::ControllerChannel;
pub use metadata_observer::MetadataObserver;

/// What a leader knows of one follower (`Replica.scala` `ReplicaState`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowerState {
    /// The follower's LEO as of its last fetch in this epoch; `None` until it fetches.
    pub log_end_offset: Option<Offset>,
    /// When it last fetched.
    pub last_fetch_time: Option<Time>,
    /// The leader's LEO at that fetch.
    pub last_fetch_leader_log_end_offset: Offset,
    /// When it was last caught up with the leader (`lastCaughtUpTimeMs`); `None` for never,
    /// which Kafka writes as 0 on a wall clock (virtual time starts at 0, so 0 would be recent).
    pub last_caught_up_time: Option<Time>,
    /// The broker epoch its last fetch carried (KIP-903).
    pub broker_epoch: Option<BrokerEpoch>,
}

/// An `AlterPartition` waiting for the controller: one in flight per partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingIsr {
    /// The proposed ISR.
    pub new_isr: Vec<BrokerId>,
    /// When to give up waiting and allow a new proposal.
    pub deadline: Time,
}

/// State a replica has only while it leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderState {
    /// Followers by broker.
    pub followers: BTreeMap<BrokerId, FollowerState>,
    /// The ISR change in flight.
    pub pending_isr: Option<PendingIsr>,
    /// The LEO when this broker became leader: the start of its epoch.
    pub epoch_start_offset: Offset,
}

/// One partition replica on this broker.
#[derive(Clone, Debug)]
pub struct Replica {
    /// The log.
    pub log: PartitionLog,
    /// The leader as metadata says.
    pub leader: Option<BrokerId>,
    /// The leader epoch this replica is in.
    pub leader_epoch: LeaderEpoch,
    /// The partition epoch it has seen.
    pub partition_epoch: PartitionEpoch,
    /// The assigned replicas.
    pub replicas: Vec<BrokerId>,
    /// The committed ISR as this broker knows it.
    pub isr: Vec<BrokerId>,
    /// Set while this broker leads the partition.
    pub leading: Option<LeaderState>,
    /// A follower waits until then after a fetch error.
    pub fetch_backoff_until: Option<Time>,
    /// `min.insync.replicas` of the topic.
    pub min_insync_replicas: u32,
    /// Idempotent producers' recent batches, part of the log.
    pub producer_state: ProducerState,
}

impl Replica {
    fn new(log: PartitionLog) -> Replica {
        Replica {
            producer_state: ProducerState::rebuilt(log.batches()),
            log,
            leader: None,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(0),
            replicas: Vec::new(),
            isr: Vec::new(),
            leading: None,
            fetch_backoff_until: None,
            min_insync_replicas: 1,
        }
    }

    /// Whether `broker` is in the ISR or added by a pending `AlterPartition` (KIP-497 "maximal
    /// ISR"). Asked per fetch on the HW path, so it does not build the set.
    pub fn in_maximal_isr(&self, broker: BrokerId) -> bool {
        self.isr.contains(&broker)
            || self
                .pending_isr()
                .is_some_and(|p| p.new_isr.contains(&broker))
    }

    /// `min.insync.replicas` capped by the replication factor (`Partition.effectiveMinIsr`).
    pub fn effective_min_isr(&self) -> u32 {
        crate::metadata::effective_min_isr(self.min_insync_replicas, self.replicas.len())
    }

    /// Whether the committed ISR is below the effective min ISR (`Partition.isUnderMinIsr`).
    pub fn under_min_isr(&self) -> bool {
        (self.isr.len() as u32) < self.effective_min_isr()
    }

    /// The size of the maximal ISR.
    pub fn maximal_isr_len(&self) -> usize {
        let added = self.pending_isr().map_or(0, |p| {
            p.new_isr.iter().filter(|b| !self.isr.contains(b)).count()
        });
        self.isr.len() + added
    }

    fn pending_isr(&self) -> Option<&PendingIsr> {
        self.leading.as_ref().and_then(|l| l.pending_isr.as_ref())
    }
}

/// Where the broker is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Created, not yet started.
    NotStarted,
    /// Waiting for the controller to accept its registration.
    Registering,
    /// Registered and heartbeating.
    Running,
    /// Controlled shutdown done; the process exits.
    Stopped,
}

#[derive(Clone, Debug)]
enum DiskPurpose {
    Append { tp: TopicPartition, write_seq: u64 },
    Other,
    ShutdownFsync,
}

#[derive(Clone, Debug)]
struct Fetcher {
    in_flight: Option<(CorrelationId, Time)>,
    backoff_until: Time,
}

#[derive(Clone, Debug)]
struct DelayedFetch {
    from: NodeId,
    correlation_id: CorrelationId,
    replica_id: Option<BrokerId>,
    partitions: Vec<FetchPartition>,
    deadline: Time,
}

/// A produce request waiting for its acks (`DelayedProduce`): the response goes when every
/// partition is done.
#[derive(Clone, Debug)]
struct DelayedProduce {
    from: NodeId,
    correlation_id: CorrelationId,
    acks: Acks,
    deadline: Time,
    /// Every partition of the request, in request order.
    partitions: Vec<DelayedPartition>,
}

/// One partition of a `DelayedProduce` (`ProducePartitionStatus`).
#[derive(Clone, Debug)]
struct DelayedPartition {
    /// The answer so far: a waiting partition holds `REQUEST_TIMED_OUT`, its answer if the
    /// request expires (as Kafka's `DelayedProduce` presets it).
    response: PartitionProduceResponse,
    /// `Some((base offset, required offset))` while the partition waits for its acks
    /// (`acksPending`).
    waiting: Option<(Offset, Offset)>,
}

/// A Kafka broker as a sans-IO state machine.
#[derive(Clone, Debug)]
pub struct Broker {
    id: BrokerId,
    config: ClusterConfig,
    controller: ControllerChannel,
    now: Time,
    incarnation_id: u64,
    /// The broker epoch the clean-shutdown file named at start, if there was one (KIP-966).
    previous_broker_epoch: Option<BrokerEpoch>,
    phase: Phase,
    broker_epoch: Option<BrokerEpoch>,
    fenced: bool,
    shutting_down: bool,
    image: MetadataImage,
    /// Its Raft observer of `__cluster_metadata`, from `Input::Start` on.
    observer: Option<MetadataObserver>,
    replicas: BTreeMap<TopicPartition, Replica>,
    out: Outbox,
    disk_ops: VecDeque<(DiskOpId, DiskPurpose)>,
    heartbeat_due: Time,
    /// When the last heartbeat went out.
    heartbeat_sent: Time,
    /// Since when the targeted controller owes an answer to a registration or heartbeat.
    controller_silent_since: Option<Time>,
    registration_due: Time,
    checkpoint_due: Time,
    /// Whether the last log-start checkpoint (or the one found at start) named a partition.
    log_starts_checkpointed: bool,
    /// When `LogManager`'s retention task runs next.
    retention_check_due: Time,
    /// When the log cleaner's next pass runs (`log.cleaner.backoff.ms`).
    cleaner_due: Time,
    /// The last `cleaner-offset-checkpoint` written (or found at start).
    cleaner_checkpoint: BTreeMap<TopicPartition, Offset>,
    isr_check_due: Time,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    delayed_fetches: Vec<DelayedFetch>,
    delayed_produces: Vec<DelayedProduce>,
    /// Producer ids handed out in this registration (see `handle_init_producer_id`).
    producer_ids_issued: u64,
    /// The group coordinator for the offsets partitions this broker leads.
    groups: GroupCoordinator,
    /// Its appends waiting for the high watermark.
    group_writes: Vec<coordinator::PendingGroupWrite>,
}

impl Broker {
    /// A broker that will talk to the controller quorum `controllers` (its voters); it does
    /// nothing until `Input::Start`.
    pub fn new(id: BrokerId, config: ClusterConfig, controllers: Vec<NodeId>, now: Time) -> Broker {
        let coordinator = CoordinatorConfig {
            partitions: config.offsets_topic_num_partitions,
            initial_rebalance_delay_ms: config.group_initial_rebalance_delay_ms,
            min_session_timeout_ms: config.group_min_session_timeout_ms,
            max_session_timeout_ms: config.group_max_session_timeout_ms,
            offsets_retention_ms: config.offsets_retention_minutes * 60_000,
            offsets_retention_check_interval_ms: config.offsets_retention_check_interval_ms,
        };
        Broker {
            id,
            groups: GroupCoordinator::new(id, coordinator),
            group_writes: Vec::new(),
            config,
            controller: ControllerChannel::new(controllers),
            now,
            incarnation_id: 0,
            previous_broker_epoch: None,
            phase: Phase::NotStarted,
            broker_epoch: None,
            fenced: true,
            shutting_down: false,
            image: MetadataImage::default(),
            observer: None,
            replicas: BTreeMap::new(),
            out: Outbox::default(),
            disk_ops: VecDeque::new(),
            heartbeat_due: Time(u64::MAX),
            heartbeat_sent: Time(0),
            controller_silent_since: None,
            registration_due: Time(u64::MAX),
            checkpoint_due: Time(u64::MAX),
            log_starts_checkpointed: false,
            retention_check_due: Time(u64::MAX),
            cleaner_due: Time(u64::MAX),
            cleaner_checkpoint: BTreeMap::new(),
            isr_check_due: Time(u64::MAX),
            fetchers: BTreeMap::new(),
            producer_ids_issued: 0,
            delayed_fetches: Vec::new(),
            delayed_produces: Vec::new(),
        }
    }

    /// Handle one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.advance(now);
        if self.phase == Phase::Stopped {
            return;
        }
        match input {
            Input::Start {
                disk,
                incarnation_id,
            } => self.start(disk, incarnation_id),
            _ if self.phase == Phase::NotStarted => {}
            Input::Message { from, message } => self.on_message(from, message),
            Input::Disconnected { peer } => self.on_disconnected(peer),
            Input::DiskCompleted { id, ok } => self.on_disk_completed(id, ok),
            Input::Shutdown => self.begin_shutdown(),
            Input::Command(ClientCommand::DeleteRecords { tp, to }) => self.delete_records(tp, to),
            Input::Command(_) => {}
        }
        self.maybe_send_fetches();
    }

    /// Fire every deadline that has come.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
        if matches!(self.phase, Phase::NotStarted | Phase::Stopped) {
            return;
        }
        let lifecycle_due = match self.phase {
            Phase::Registering => now >= self.registration_due,
            Phase::Running => now >= self.heartbeat_due,
            _ => false,
        };
        if lifecycle_due {
            self.give_up_on_a_silent_controller();
        }
        if now >= self.registration_due && self.phase == Phase::Registering {
            self.send_registration();
        }
        if now >= self.heartbeat_due && self.phase == Phase::Running {
            self.send_heartbeat();
        }
        self.observer_timeouts();
        if now >= self.checkpoint_due {
            self.write_hw_checkpoint();
        }
        if now >= self.isr_check_due {
            self.isr_check_due = now.plus_ms(self.isr_check_interval_ms());
            self.maybe_shrink_isrs();
        }
        if now >= self.retention_check_due {
            self.retention_check();
        }
        if now >= self.cleaner_due {
            self.clean_logs();
        }
        self.expire_delayed(now);
        self.group_timeouts(now);
        self.expire_fetches(now);
        self.maybe_send_fetches();
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        if matches!(self.phase, Phase::NotStarted | Phase::Stopped) {
            return None;
        }
        let mut next = self
            .registration_due
            .min(self.heartbeat_due)
            .min(self.checkpoint_due)
            .min(self.isr_check_due)
            .min(self.retention_check_due)
            .min(self.cleaner_due);
        for fetch in &self.delayed_fetches {
            next = next.min(fetch.deadline);
        }
        for produce in &self.delayed_produces {
            next = next.min(produce.deadline);
        }
        if let Some(group) = self.group_deadline() {
            next = next.min(group);
        }
        if let Some(observer) = self
            .observer
            .as_ref()
            .and_then(MetadataObserver::poll_timeout)
        {
            next = next.min(observer);
        }
        for fetcher in self.fetchers.values() {
            match fetcher.in_flight {
                Some((_, deadline)) => next = next.min(deadline),
                None if fetcher.backoff_until > self.now => next = next.min(fetcher.backoff_until),
                None => {}
            }
        }
        for replica in self.replicas.values() {
            if let Some(until) = replica.fetch_backoff_until {
                next = next.min(until);
            }
            if let Some(pending) = replica
                .leading
                .as_ref()
                .and_then(|l| l.pending_isr.as_ref())
            {
                next = next.min(pending.deadline);
            }
        }
        (next != Time(u64::MAX)).then_some(next)
    }

    /// This broker's id.
    pub fn id(&self) -> BrokerId {
        self.id
    }

    /// Where the broker is in its life.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The epoch of its current registration.
    pub fn broker_epoch(&self) -> Option<BrokerEpoch> {
        self.broker_epoch
    }

    /// Its channel to the controller quorum: the voters and the one it talks to.
    pub fn controller_channel(&self) -> &ControllerChannel {
        &self.controller
    }

    /// Whether the controller has this broker fenced, as far as it knows.
    pub fn is_fenced(&self) -> bool {
        self.fenced
    }

    /// The replicas hosted here.
    pub fn replicas(&self) -> &BTreeMap<TopicPartition, Replica> {
        &self.replicas
    }

    /// The group coordinator (the groups of the offsets partitions this broker leads).
    pub fn group_coordinator(&self) -> &GroupCoordinator {
        &self.groups
    }

    /// Its configuration (`server.properties`).
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    /// The metadata image as this broker has it.
    pub fn metadata(&self) -> &MetadataImage {
        &self.image
    }

    /// Its Raft observer of the metadata log (`None` before it starts).
    pub fn metadata_observer(&self) -> Option<&MetadataObserver> {
        self.observer.as_ref()
    }

    fn advance(&mut self, now: Time) {
        self.out.advance(&mut self.now, now);
    }

    fn isr_check_interval_ms(&self) -> u64 {
        // ReplicaManager schedules isr-expiration every replica.lag.time.max.ms / 2.
        (self.config.replica_lag_time_max_ms / 2).max(1)
    }

    fn on_message(&mut self, from: NodeId, message: Message) {
        match message {
            Message::Produce(request) => self.handle_produce(from, request),
            Message::Fetch(FetchRequest {
                correlation_id,
                replica_id,
                broker_epoch,
                max_wait_ms,
                partitions,
            }) => self.handle_fetch(
                from,
                correlation_id,
                replica_id,
                broker_epoch,
                max_wait_ms,
                partitions,
            ),
            Message::FetchResponse(FetchResponse {
                correlation_id,
                partitions,
            }) => self.handle_fetch_response(from, correlation_id, partitions),
            Message::ListOffsets(ListOffsetsRequest {
                correlation_id,
                tp,
                spec,
                current_leader_epoch,
            }) => self.handle_list_offsets(from, correlation_id, tp, spec, current_leader_epoch),
            Message::DeleteRecords(r) => self.handle_delete_records(from, r),
            Message::Metadata(MetadataRequest { correlation_id }) => {
                self.handle_metadata_request(from, correlation_id)
            }
            Message::InitProducerId(InitProducerIdRequest { correlation_id }) => {
                self.handle_init_producer_id(from, correlation_id)
            }
            Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                error: crate::error::ErrorCode::NOT_CONTROLLER,
                ..
            })
            | Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                error: crate::error::ErrorCode::NOT_CONTROLLER,
                ..
            }) => self.on_not_controller(from),
            Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
                error,
                broker_epoch,
            }) => {
                self.on_controller_answer(from);
                self.on_registration_response(error, broker_epoch)
            }
            Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
                error,
                is_fenced,
                should_shut_down,
            }) => {
                self.on_controller_answer(from);
                self.on_heartbeat_response(error, is_fenced, should_shut_down)
            }
            Message::Quorum(message) => self.on_metadata_fetch_answer(from, *message),
            Message::AlterPartitionResponse(AlterPartitionResponse { tp, error, state }) => {
                if error == crate::error::ErrorCode::NOT_CONTROLLER {
                    self.on_not_controller(from);
                }
                self.on_alter_partition_response(tp, error, state)
            }
            group @ (Message::FindCoordinator(_)
            | Message::JoinGroup(_)
            | Message::SyncGroup(_)
            | Message::Heartbeat(_)
            | Message::LeaveGroup(_)
            | Message::OffsetCommit(_)
            | Message::OffsetFetch(_)) => self.handle_group_request(from, group),
            forward @ (Message::CreateTopics(_) | Message::DeleteTopics(_)) => {
                self.forward_to_controller(from, forward)
            }
            answer @ (Message::CreateTopicsResponse(_) | Message::DeleteTopicsResponse(_)) => {
                self.relay_from_controller(answer)
            }
            Message::AutoCreateTopics(request) => self.handle_auto_create(from, request),
            other => panic!(
                "broker-{} got a message brokers never receive: {}",
                self.id,
                other.api_name()
            ),
        }
    }

    /// `InitProducerId` for an idempotent (non-transactional) producer: any broker answers
    /// with an id from a block it owns. Kafka's brokers take blocks from the controller
    /// (KIP-730 `AllocateProducerIds`); here the block is this registration's broker epoch,
    /// unique cluster-wide because it is the offset of the registration record, so no two
    /// brokers and no two incarnations ever hand out the same id.
    fn handle_init_producer_id(&mut self, from: NodeId, correlation_id: CorrelationId) {
        const BLOCK_BITS: u32 = 24;
        let (error, producer_id) = match self.broker_epoch {
            Some(epoch) if !self.fenced && self.producer_ids_issued < 1 << BLOCK_BITS => {
                self.producer_ids_issued += 1;
                let id = (epoch.0 << BLOCK_BITS) | self.producer_ids_issued;
                (crate::ErrorCode::NONE, ProducerId(id))
            }
            _ => (crate::ErrorCode::COORDINATOR_NOT_AVAILABLE, ProducerId(0)),
        };
        let response = Message::InitProducerIdResponse(InitProducerIdResponse {
            correlation_id,
            error,
            producer_id,
            producer_epoch: 0,
        });
        self.out.send(from, response);
    }

    fn on_disk_completed(&mut self, id: DiskOpId, ok: bool) {
        let (expected, purpose) = self
            .disk_ops
            .pop_front()
            .expect("a disk completion matches an issued operation");
        assert_eq!(expected, id, "disk operations complete in the order issued");
        // A failed write takes the log directory offline in Kafka (KAFKA_STORAGE_ERROR); the lab
        // does not inject those yet, so a failure here is a driver bug.
        assert!(ok, "broker-{}: disk operation {id} failed", self.id);
        match purpose {
            DiskPurpose::Append { tp, write_seq } => self.on_append_written(&tp, write_seq),
            DiskPurpose::ShutdownFsync => {
                self.phase = Phase::Stopped;
                self.out
                    .event(crate::io::Event::ControlledShutdownCompleted { broker: self.id });
                self.out.push(Output::Stopped);
            }
            DiskPurpose::Other => {}
        }
    }

    fn on_append_written(&mut self, tp: &TopicPartition, write_seq: u64) {
        let Some(replica) = self.replicas.get_mut(tp) else {
            return;
        };
        replica.log.complete_write(write_seq);
        if replica.leading.is_some() {
            self.maybe_advance_hw(tp);
            self.complete_delayed_produces(tp);
            self.complete_delayed_fetches(tp, true);
        }
    }

    fn on_disconnected(&mut self, peer: NodeId) {
        if let NodeId::Broker(leader) = peer {
            if let Some(fetcher) = self.fetchers.get_mut(&leader) {
                fetcher.in_flight = None;
                fetcher.backoff_until = self.now.plus_ms(self.config.replica_fetch_backoff_ms);
            }
        }
        self.observer_disconnected(peer);
        if self.controller.is_active(peer) {
            // Gone: look for the active controller at the next voter
            // (`NodeToControllerChannelManager` forgets a controller it lost).
            self.controller.try_next();
            self.controller_silent_since = None;
            // The AlterPartition in flight may be lost: allow a new proposal.
            for replica in self.replicas.values_mut() {
                if let Some(leading) = replica.leading.as_mut() {
                    leading.pending_isr = None;
                }
            }
            if self.phase == Phase::Registering {
                self.send_registration();
            }
        }
        self.delayed_fetches.retain(|f| f.from != peer);
        self.delayed_produces.retain(|p| p.from != peer);
    }
}
