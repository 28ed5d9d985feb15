//! Unit tests of the replication rules (kafka-protocol.md §1) on one broker driven by hand.
//!
//! The harness plays the controller (metadata records), the clients and the other brokers, and
//! completes the broker's disk operations unless a test holds them back.

use super::*;
use crate::config::{ClusterConfig, ConfigMap, ProtocolSwitches, TopicConfig, Truncation};
use crate::error::ErrorCode;
use crate::io::{Checkpoint, DiskEntry, DiskImage, DiskOp, Event, FileName, TruncationReason};
use crate::metadata::{MetadataRecord, PartitionState};
use crate::protocol::{
    AlterPartitionRequest, AlterPartitionResponse, BrokerHeartbeatResponse,
    BrokerRegistrationRequest, BrokerRegistrationResponse, EpochEndOffset, FetchPartitionResponse,
    FetchRequest, FetchResponse, InitProducerIdRequest, InitProducerIdResponse,
    PartitionProduceData, ProduceRequest, ProduceResponse,
};
use crate::record::{Record, RecordBatch};
use bytes::Bytes;

const CONTROLLER: NodeId = NodeId::Controller(ControllerId(1));
const CLIENT: NodeId = NodeId::Client(ClientId(1));
/// `replica.lag.time.max.ms` default.
const LAG_MAX_MS: u64 = 30_000;

fn tp() -> TopicPartition {
    TopicPartition::new(&Topic::new("t"), 0)
}

fn ids(brokers: &[u32]) -> Vec<BrokerId> {
    brokers.iter().map(|b| BrokerId(*b)).collect()
}

/// Broker `b` registered at metadata offset `b - 1`, which is its broker epoch.
fn broker_epoch(b: u32) -> BrokerEpoch {
    BrokerEpoch(u64::from(b) - 1)
}

/// Replicas 1..=3, the given leader, leader epoch and ISR, partition epoch 0.
fn state(leader: u32, leader_epoch: u32, isr: &[u32]) -> PartitionState {
    PartitionState {
        replicas: ids(&[1, 2, 3]),
        isr: ids(isr),
        leader: Some(BrokerId(leader)),
        leader_epoch: LeaderEpoch(leader_epoch),
        partition_epoch: PartitionEpoch(0),
        elr: Vec::new(),
        last_known_leader: None,
    }
}

fn batch(records: usize) -> RecordBatch {
    let records = (0..records)
        .map(|i| Record::new(None, Bytes::from(format!("v{i}")), 0))
        .collect();
    RecordBatch::new(None, records)
}

/// One single-record batch per offset; `epochs[i]` is the leader epoch of offset `i`.
fn log_batches(epochs: &[u32]) -> Vec<RecordBatch> {
    let mut offset = 0;
    epochs
        .iter()
        .map(|epoch| {
            let mut b = batch(1);
            b.base_offset = Offset(offset);
            b.leader_epoch = LeaderEpoch(*epoch);
            offset += 1;
            b
        })
        .collect()
}

/// A disk holding `t-0` with these batches and this high-watermark checkpoint.
fn disk_with(batches: Vec<RecordBatch>, hw: u64) -> DiskImage {
    let mut disk = DiskImage::default();
    let entries = batches.into_iter().map(DiskEntry::Batch).collect();
    disk.files
        .insert(FileName::Segment(tp(), Offset(0)), entries);
    let hws = [(tp(), Offset(hw))].into_iter().collect();
    disk.checkpoints.insert(
        FileName::HighWatermarkCheckpoint,
        Checkpoint::HighWatermarks(hws),
    );
    disk
}

/// The lone controller's answer to the broker's metadata fetch (`controller/local_fetch.rs`).
fn fetch_answer(
    fetch_offset: Offset,
    high_watermark: Offset,
    entries: Vec<crate::raft::RaftEntry<MetadataRecord>>,
) -> Message {
    Message::Quorum(Box::new(crate::raft::RaftMessage::FetchResponse {
        error: ErrorCode::NONE,
        epoch: LeaderEpoch(1),
        leader: Some(CONTROLLER),
        fetch_offset,
        high_watermark,
        diverging: None,
        entries,
    }))
}

fn switches(f: impl FnOnce(&mut ProtocolSwitches)) -> ProtocolSwitches {
    let mut protocol = ProtocolSwitches::default();
    f(&mut protocol);
    protocol
}

#[derive(Clone)]
struct Harness {
    broker: Broker,
    now: Time,
    /// Every output since the start; tests search it.
    out: Vec<Output>,
    /// Disk operations issued and not yet completed, oldest first.
    disk: VecDeque<DiskOpId>,
    /// Leave disk operations pending instead of completing them at once.
    hold_disk: bool,
    next_correlation: u64,
}

impl Harness {
    /// Broker `id` after `Input::Start`, not yet registered.
    fn started(id: u32, protocol: ProtocolSwitches, disk: DiskImage) -> Harness {
        let config = ClusterConfig::parse(&ConfigMap::new(), protocol).expect("valid");
        let mut h = Harness {
            broker: Broker::new(BrokerId(id), config, vec![CONTROLLER], Time(0)),
            now: Time(0),
            out: Vec::new(),
            disk: VecDeque::new(),
            hold_disk: false,
            next_correlation: 1000,
        };
        h.input(Input::Start {
            disk,
            incarnation_id: 7,
        });
        h
    }

    /// Broker `id`, registered, knowing brokers 1..=3 (unfenced), topic `t` with this
    /// `min.insync.replicas`, and `t-0` in `state`.
    fn new(
        id: u32,
        protocol: ProtocolSwitches,
        disk: DiskImage,
        min_isr: u32,
        state: PartitionState,
    ) -> Harness {
        let mut h = Harness::started(id, protocol, disk);
        h.deliver_from_controller(Message::BrokerRegistrationResponse(
            BrokerRegistrationResponse {
                error: ErrorCode::NONE,
                broker_epoch: broker_epoch(id),
            },
        ));
        let mut records: Vec<MetadataRecord> = (1..=3)
            .map(|b| MetadataRecord::RegisterBroker {
                broker_id: BrokerId(b),
                broker_epoch: broker_epoch(b),
                incarnation_id: u64::from(b),
            })
            .collect();
        records.extend((1..=3).map(|b| MetadataRecord::UnfenceBroker {
            broker_id: BrokerId(b),
            broker_epoch: broker_epoch(b),
        }));
        let config = TopicConfig {
            min_insync_replicas: min_isr,
            unclean_leader_election_enable: false,
            log: Default::default(),
        };
        records.push(MetadataRecord::Topic {
            topic: tp().topic,
            partitions: 1,
            config,
        });
        records.push(MetadataRecord::Partition { tp: tp(), state });
        h.metadata(records);
        h
    }

    /// A leader (broker 1) of `t-0` with an empty log.
    fn leader(protocol: ProtocolSwitches, min_isr: u32, isr: &[u32]) -> Harness {
        Harness::new(1, protocol, DiskImage::default(), min_isr, state(1, 0, isr))
    }

    fn input(&mut self, input: Input) {
        self.broker.handle(self.now, input);
        self.drain();
    }

    fn timeout(&mut self, at: u64) {
        self.now = Time(at);
        self.broker.handle_timeout(self.now);
        self.drain();
    }

    /// Drain every output; complete disk operations in order unless `hold_disk`.
    fn drain(&mut self) {
        crate::io::drain_for_test(
            &mut self.broker,
            self.now,
            self.hold_disk,
            &mut self.disk,
            &mut self.out,
        );
    }

    fn release_disk(&mut self) {
        self.hold_disk = false;
        self.drain();
    }

    fn deliver_from_controller(&mut self, message: Message) {
        self.input(Input::Message {
            from: CONTROLLER,
            message,
        });
    }

    /// Commit metadata records at the next offsets of the broker's image: the controller
    /// answers the broker's metadata fetch with them, committed (the high watermark past them).
    fn metadata(&mut self, records: Vec<MetadataRecord>) {
        let fetch_offset = self
            .broker
            .metadata_observer()
            .expect("started")
            .status()
            .log_end;
        let entries: Vec<_> = records
            .into_iter()
            .map(|record| crate::raft::RaftEntry {
                epoch: LeaderEpoch(1),
                record: crate::raft::RaftRecord::Data(record),
            })
            .collect();
        let high_watermark = Offset(fetch_offset.0 + entries.len() as u64);
        self.deliver_from_controller(fetch_answer(fetch_offset, high_watermark, entries));
    }

    fn set_partition(&mut self, state: PartitionState) {
        self.metadata(vec![MetadataRecord::Partition { tp: tp(), state }]);
    }

    fn correlation_id(&mut self) -> CorrelationId {
        self.next_correlation += 1;
        CorrelationId(self.next_correlation)
    }

    fn produce(&mut self, acks: Acks, records: usize) -> CorrelationId {
        self.produce_batch(acks, batch(records))
    }

    /// A client's Produce of `batch` to `tp()`; its correlation id.
    fn produce_batch(&mut self, acks: Acks, batch: RecordBatch) -> CorrelationId {
        let correlation_id = self.correlation_id();
        let message = Message::Produce(ProduceRequest {
            correlation_id,
            acks,
            timeout_ms: 30_000,
            partitions: vec![PartitionProduceData { tp: tp(), batch }],
        });
        self.input(Input::Message {
            from: CLIENT,
            message,
        });
        correlation_id
    }

    /// `(error, base_offset)` of the answer to produce `id`, if it came.
    fn produce_response(&self, id: CorrelationId) -> Option<(ErrorCode, Option<Offset>)> {
        self.out.iter().find_map(|o| match o {
            Output::Send {
                message:
                    Message::ProduceResponse(ProduceResponse {
                        correlation_id,
                        partitions,
                    }),
                ..
            } if *correlation_id == id => {
                let [p] = &partitions[..] else {
                    panic!("one partition produced, one answered: {partitions:?}")
                };
                Some((p.error, p.base_offset))
            }
            _ => None,
        })
    }

    /// A replica fetch from `follower` (its current broker epoch, no waiting); the answer.
    fn fetch(
        &mut self,
        follower: u32,
        offset: u64,
        last_epoch: Option<u32>,
        current_epoch: u32,
    ) -> FetchPartitionResponse {
        let correlation_id = self.correlation_id();
        let message = Message::Fetch(FetchRequest {
            correlation_id,
            replica_id: Some(BrokerId(follower)),
            broker_epoch: Some(broker_epoch(follower)),
            max_wait_ms: 0,
            partitions: vec![FetchPartition {
                tp: tp(),
                fetch_offset: Offset(offset),
                last_fetched_epoch: last_epoch.map(LeaderEpoch),
                current_leader_epoch: Some(LeaderEpoch(current_epoch)),
            }],
        });
        self.input(Input::Message {
            from: NodeId::Broker(BrokerId(follower)),
            message,
        });
        self.out
            .iter()
            .find_map(|o| match o {
                Output::Send {
                    message:
                        Message::FetchResponse(FetchResponse {
                            correlation_id: id,
                            partitions,
                        }),
                    ..
                } if *id == correlation_id => Some(partitions[0].clone()),
                _ => None,
            })
            .expect("a fetch with max_wait_ms=0 is answered at once")
    }

    /// The last fetch this broker sent to `leader`: its correlation id and partition.
    fn last_fetch_sent(&self, leader: u32) -> (CorrelationId, FetchPartition) {
        self.out
            .iter()
            .rev()
            .find_map(|o| match o {
                Output::Send {
                    to,
                    message:
                        Message::Fetch(FetchRequest {
                            correlation_id,
                            partitions,
                            ..
                        }),
                } if *to == NodeId::Broker(BrokerId(leader)) => {
                    Some((*correlation_id, partitions[0].clone()))
                }
                _ => None,
            })
            .expect("the follower fetches")
    }

    /// Answer the follower's fetch in flight to `leader` with a diverging epoch.
    fn answer_diverging(&mut self, leader: u32, epoch: u32, end_offset: u64) {
        let (correlation_id, _) = self.last_fetch_sent(leader);
        let response = FetchPartitionResponse {
            tp: tp(),
            error: ErrorCode::NONE,
            high_watermark: Offset(0),
            log_start_offset: Offset(0),
            log_end_offset: Offset(0),
            diverging_epoch: Some(EpochEndOffset {
                epoch: LeaderEpoch(epoch),
                end_offset: Offset(end_offset),
            }),
            batches: vec![],
        };
        self.input(Input::Message {
            from: NodeId::Broker(BrokerId(leader)),
            message: Message::FetchResponse(FetchResponse {
                correlation_id,
                partitions: vec![response],
            }),
        });
    }

    fn replica(&self) -> &Replica {
        &self.broker.replicas()[&tp()]
    }

    fn leo(&self) -> Offset {
        self.replica().log.log_end_offset()
    }

    fn hw(&self) -> Offset {
        self.replica().log.high_watermark()
    }

    /// The ISRs proposed to the controller in `AlterPartition`, in order.
    fn alter_partitions(&self) -> Vec<Vec<BrokerId>> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    to,
                    message: Message::AlterPartition(AlterPartitionRequest { new_isr, .. }),
                } if *to == CONTROLLER => Some(crate::protocol::isr_ids(new_isr)),
                _ => None,
            })
            .collect()
    }

    fn events(&self) -> impl Iterator<Item = &Event> {
        self.out.iter().filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
    }

    /// `(from, to, reason)` of every `Truncated` event.
    fn truncations(&self) -> Vec<(Offset, Offset, TruncationReason)> {
        self.events()
            .filter_map(|e| match e {
                Event::Truncated {
                    from, to, reason, ..
                } => Some((*from, *to, *reason)),
                _ => None,
            })
            .collect()
    }

    fn log_appends(&self) -> usize {
        self.out
            .iter()
            .filter(|o| matches!(o, Output::Disk(DiskOp::Append { .. })))
            .count()
    }
}

// ---- 1. HW advance and acks (Partition.maybeIncrementLeaderHW, DelayedProduce) ----

#[test]
fn hw_is_min_leo_of_isr_and_acks_wait_for_disk_and_hw() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 2, &[1, 2, 3]);
    h.hold_disk = true;
    let all = h.produce(Acks::All, 3); // offsets 0..3
    let one = h.produce(Acks::Leader, 2); // offsets 3..5
    assert_eq!(h.leo(), Offset(5));
    // Replicas only read written batches: a fetch now returns nothing and moves nothing.
    assert!(h.fetch(2, 0, None, 0).batches.is_empty());
    assert_eq!(
        h.produce_response(one),
        None,
        "acks=1 waits for the leader's disk"
    );
    assert_eq!(h.produce_response(all), None);

    h.release_disk();
    // acks=1: answered once the leader's own write completed, before any follower has it.
    assert_eq!(
        h.produce_response(one),
        Some((ErrorCode::NONE, Some(Offset(3))))
    );
    assert_eq!(h.hw(), Offset(0), "no ISR follower has the data yet");
    assert_eq!(h.produce_response(all), None);

    assert_eq!(h.fetch(2, 0, None, 0).batches.len(), 2);
    h.fetch(2, 5, Some(0), 0);
    assert_eq!(
        h.hw(),
        Offset(0),
        "broker-3 (ISR) has not fetched in this epoch"
    );
    h.fetch(3, 0, None, 0);
    h.fetch(3, 3, Some(0), 0);
    assert_eq!(h.hw(), Offset(3), "HW = min(5, 5, 3)");
    // acks=all: answered when the HW passes the batch end (3).
    assert_eq!(
        h.produce_response(all),
        Some((ErrorCode::NONE, Some(Offset(0))))
    );
    h.fetch(3, 5, Some(0), 0);
    assert_eq!(h.hw(), Offset(5));
}

#[test]
fn acks_all_is_not_answered_before_the_hw_passes_the_batch() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let id = h.produce(Acks::All, 2);
    h.fetch(3, 0, None, 0);
    h.fetch(3, 2, Some(0), 0);
    h.fetch(2, 0, None, 0);
    h.fetch(2, 1, Some(0), 0); // mid-batch: HW 1 < batch end 2
    assert_eq!(h.hw(), Offset(1));
    assert_eq!(h.produce_response(id), None);
    h.fetch(2, 2, Some(0), 0);
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NONE, Some(Offset(0))))
    );
}

/// `resetReplicaState` sets `lastCaughtUpTimeMs = 0` for followers outside the ISR "to ensure
/// that the high watermark is not held back unnecessarily": a replica that has not fetched in
/// this epoch is not caught up, so it is not in the maximal ISR.
#[test]
fn out_of_isr_follower_that_never_fetched_does_not_hold_back_the_hw() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    h.now = Time(1_000); // well within replica.lag.time.max.ms of the simulation start
    let id = h.produce(Acks::Leader, 1);
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NONE, Some(Offset(0))))
    );
    assert_eq!(
        h.hw(),
        Offset(1),
        "ISR = [1] = min ISR: HW = leader LEO; brokers 2 and 3 never fetched"
    );
}

// ---- 2. HW freeze under min ISR (KAFKA-15583) and NOT_ENOUGH_REPLICAS ----

#[test]
fn acks_all_below_min_isr_is_rejected_before_append() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 2, &[1]);
    let id = h.produce(Acks::All, 1);
    // Partition.appendRecordsToLeader: inSyncSize < minIsr && acks == -1.
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NOT_ENOUGH_REPLICAS, None))
    );
    assert_eq!(h.leo(), Offset(0), "nothing appended");
    assert_eq!(h.log_appends(), 0);
}

/// `KafkaApis.handleProduceRequest`: an acks=0 produce that fails gets no answer; the broker
/// closes the client's connection instead, so the client refreshes its metadata.
#[test]
fn a_failed_acks_0_produce_closes_the_connection() {
    let mut follower = Harness::new(
        2,
        ProtocolSwitches::default(),
        DiskImage::default(),
        1,
        state(1, 0, &[1, 2, 3]),
    );
    let id = follower.produce(Acks::None, 1);
    assert!(follower
        .out
        .contains(&Output::CloseConnection { peer: CLIENT }));
    assert_eq!(follower.produce_response(id), None, "acks=0: no answer");
    assert_eq!(follower.leo(), Offset(0));

    let mut leader = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    leader.produce(Acks::None, 1);
    assert_eq!(leader.leo(), Offset(1));
    let closed = |o: &Output| matches!(o, Output::CloseConnection { .. });
    assert!(
        !leader.out.iter().any(closed),
        "a success keeps the connection"
    );
}

/// KAFKA-15583 (`Partition.effectiveMinIsr`): `min.insync.replicas` above the replication factor
/// counts as the replication factor in the append check, the delayed-produce check and the HW.
#[test]
fn min_isr_above_the_replication_factor_is_capped_by_it() {
    let single = PartitionState {
        replicas: ids(&[1]),
        ..state(1, 0, &[1])
    };
    let mut h = Harness::new(
        1,
        ProtocolSwitches::default(),
        DiskImage::default(),
        2,
        single,
    );
    assert_eq!(h.replica().effective_min_isr(), 1);
    let id = h.produce(Acks::All, 1);
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NONE, Some(Offset(0)))),
        "RF=1 with min ISR 2: acks=all is accepted, committed and answered"
    );
    assert_eq!(h.hw(), Offset(1));
    // With RF=3 the configured value stands: ISR [1] is below min ISR 2.
    let mut h = Harness::leader(ProtocolSwitches::default(), 2, &[1]);
    assert_eq!(h.replica().effective_min_isr(), 2);
    let id = h.produce(Acks::All, 1);
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NOT_ENOUGH_REPLICAS, None))
    );
}

#[test]
fn hw_freezes_below_min_isr_only_with_kafka_15583() {
    let run = |protocol| {
        let mut h = Harness::leader(protocol, 2, &[1]);
        // Past replica.lag.time.max.ms: the non-ISR followers are not caught up.
        h.now = Time(LAG_MAX_MS + 10_000);
        let id = h.produce(Acks::Leader, 1);
        assert_eq!(
            h.produce_response(id),
            Some((ErrorCode::NONE, Some(Offset(0))))
        );
        h.hw()
    };
    let before_3_7 = switches(|p| p.hw_requires_min_isr = false);
    assert_eq!(
        run(before_3_7),
        Offset(1),
        "pre-3.7: HW advances on ISR=[1]"
    );
    assert_eq!(
        run(ProtocolSwitches::default()),
        Offset(0),
        "3.7+: HW frozen"
    );
}

// ---- 3. NOT_ENOUGH_REPLICAS_AFTER_APPEND (Partition.checkEnoughReplicasReachOffset) ----

/// With the pre-3.7 switch: appended while ISR = [1,2], the ISR shrinks to [1] (broker 2 fenced)
/// before the leader's write completes; the HW then passes the batch on ISR = [1].
#[test]
fn not_enough_replicas_after_append_when_isr_shrinks_under_a_pending_produce() {
    let protocol = switches(|p| p.hw_requires_min_isr = false);
    let two = PartitionState {
        replicas: ids(&[1, 2]),
        ..state(1, 0, &[1, 2])
    };
    let mut h = Harness::new(1, protocol, DiskImage::default(), 2, two.clone());
    h.hold_disk = true;
    let id = h.produce(Acks::All, 1);
    let fence = MetadataRecord::FenceBroker {
        broker_id: BrokerId(2),
        broker_epoch: broker_epoch(2),
    };
    let shrunk = PartitionState {
        isr: ids(&[1]),
        partition_epoch: PartitionEpoch(1),
        ..two
    };
    h.metadata(vec![
        fence,
        MetadataRecord::Partition {
            tp: tp(),
            state: shrunk,
        },
    ]);
    assert_eq!(h.produce_response(id), None);
    h.release_disk();
    assert_eq!(h.hw(), Offset(1));
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND, None))
    );
    assert_eq!(h.leo(), Offset(1), "the record stays in the log");
}

/// With today's switches the HW cannot pass a batch while the committed ISR is below the
/// effective min ISR, and the maximal ISR is never smaller than the committed one, so the error
/// is out of reach: a `min.insync.replicas` raised above the replication factor counts as the
/// replication factor in the answer too (`Partition.checkEnoughReplicasReachOffset` uses
/// `effectiveMinIsr`, KAFKA-15583).
#[test]
fn a_min_isr_raised_above_the_replication_factor_still_answers_acks_all() {
    let two = PartitionState {
        replicas: ids(&[1, 2]),
        ..state(1, 0, &[1, 2])
    };
    let mut h = Harness::new(
        1,
        ProtocolSwitches::default(),
        DiskImage::default(),
        2,
        two.clone(),
    );
    let id = h.produce(Acks::All, 1);
    let raised = TopicConfig {
        min_insync_replicas: 3,
        unclean_leader_election_enable: false,
        log: Default::default(),
    };
    let topic = MetadataRecord::Topic {
        topic: tp().topic,
        partitions: 1,
        config: raised,
    };
    let bumped = PartitionState {
        partition_epoch: PartitionEpoch(1),
        ..two
    };
    h.metadata(vec![
        topic,
        MetadataRecord::Partition {
            tp: tp(),
            state: bumped,
        },
    ]);
    h.fetch(2, 0, None, 0);
    h.fetch(2, 1, Some(0), 0);
    // Both the HW rule and the answer use min(min ISR 3, RF 2) = 2.
    assert_eq!(h.hw(), Offset(1));
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::NONE, Some(Offset(0))))
    );
}

#[test]
fn with_kafka_15583_an_isr_shrink_under_a_pending_produce_times_it_out() {
    let two = PartitionState {
        replicas: ids(&[1, 2]),
        ..state(1, 0, &[1, 2])
    };
    let mut h = Harness::new(
        1,
        ProtocolSwitches::default(),
        DiskImage::default(),
        2,
        two.clone(),
    );
    h.hold_disk = true;
    let id = h.produce(Acks::All, 1);
    let shrunk = PartitionState {
        isr: ids(&[1]),
        partition_epoch: PartitionEpoch(1),
        ..two
    };
    h.set_partition(shrunk);
    h.release_disk();
    assert_eq!(h.hw(), Offset(0), "HW frozen under min ISR");
    assert_eq!(h.produce_response(id), None);
    h.timeout(30_000);
    assert_eq!(
        h.produce_response(id),
        Some((ErrorCode::REQUEST_TIMED_OUT, None))
    );
}

// ---- 4. ISR shrink (Partition.maybeShrinkIsr, ReplicaState.isCaughtUp) ----

#[test]
fn isr_shrinks_only_after_replica_lag_time_max() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    h.now = Time(1_000);
    h.fetch(2, 0, None, 0); // caught up with LEO 0 at t=1000, then silent
    h.now = Time(2_000);
    h.produce(Acks::Leader, 1);
    h.fetch(3, 0, None, 0);
    h.fetch(3, 1, Some(0), 0); // broker-3 keeps up
    let deadline = 1_000 + LAG_MAX_MS;

    let mut before = h.clone();
    before.timeout(deadline);
    assert!(
        before.alter_partitions().is_empty(),
        "lag == replica.lag.time.max.ms is still in sync"
    );

    h.timeout(deadline + 1);
    assert_eq!(h.alter_partitions(), vec![ids(&[1, 3])]);
    let alter = h.out.iter().find_map(|o| match o {
        Output::Send {
            to,
            message: message @ Message::AlterPartition(_),
        } => Some((*to, message.clone())),
        _ => None,
    });
    let expected = Message::AlterPartition(AlterPartitionRequest {
        broker_id: BrokerId(1),
        broker_epoch: broker_epoch(1),
        tp: tp(),
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(0),
        // KIP-903: each member with the broker epoch its fetches carried (the leader's own).
        new_isr: [1, 3]
            .into_iter()
            .map(|b| crate::protocol::IsrMember {
                broker_id: BrokerId(b),
                broker_epoch: Some(broker_epoch(b)),
            })
            .collect(),
    });
    assert_eq!(alter, Some((CONTROLLER, expected)));
}

// ---- 5. ISR expand (isFollowerInSync, KAFKA-7128) and one AlterPartition in flight ----

/// Leader in epoch 1 whose epoch starts at 4 (LEO), HW 2, ISR [1, 2].
fn leader_with_epoch_start_above_hw(protocol: ProtocolSwitches) -> Harness {
    let disk = disk_with(log_batches(&[0, 0, 0, 0]), 2);
    Harness::new(1, protocol, disk, 1, state(1, 1, &[1, 2]))
}

#[test]
fn isr_join_requires_the_leader_epoch_start_with_kafka_7128() {
    let mut h = leader_with_epoch_start_above_hw(ProtocolSwitches::default());
    assert_eq!((h.hw(), h.leo()), (Offset(2), Offset(4)));
    h.fetch(3, 2, Some(0), 1); // >= HW but < epoch start
    assert!(h.alter_partitions().is_empty());
    h.fetch(3, 4, Some(0), 1);
    assert_eq!(h.alter_partitions(), vec![ids(&[1, 2, 3])]);
}

#[test]
fn isr_join_at_hw_without_kafka_7128() {
    let protocol = switches(|p| p.isr_join_requires_epoch_start = false);
    let mut h = leader_with_epoch_start_above_hw(protocol);
    h.fetch(3, 2, Some(0), 1);
    assert_eq!(h.alter_partitions(), vec![ids(&[1, 2, 3])]);
}

#[test]
fn one_alter_partition_in_flight_at_a_time() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    h.fetch(2, 0, None, 0);
    h.fetch(3, 0, None, 0);
    assert_eq!(
        h.alter_partitions(),
        vec![ids(&[1, 2])],
        "broker-3 must wait"
    );
    let committed = PartitionState {
        isr: ids(&[1, 2]),
        partition_epoch: PartitionEpoch(1),
        ..state(1, 0, &[1])
    };
    h.deliver_from_controller(Message::AlterPartitionResponse(AlterPartitionResponse {
        tp: tp(),
        error: ErrorCode::NONE,
        state: Some(committed),
    }));
    assert_eq!(h.replica().isr, ids(&[1, 2]));
    h.fetch(3, 0, None, 0);
    assert_eq!(h.alter_partitions(), vec![ids(&[1, 2]), ids(&[1, 2, 3])]);
}

// ---- 6. Diverging epochs (KAFKA-10554, KIP-279, KIP-320) ----

/// Broker 1 follows broker 2 (epoch `leader_epoch`) with this log.
fn follower(epochs: &[u32], leader_epoch: u32) -> Harness {
    let disk = disk_with(log_batches(epochs), 0);
    Harness::new(
        1,
        ProtocolSwitches::default(),
        disk,
        1,
        state(2, leader_epoch, &[1, 2, 3]),
    )
}

#[test]
fn follower_truncates_to_min_of_own_and_leader_end_for_a_known_epoch() {
    // Leader's end for epoch 2 is below ours: min(own end 6, leader end 4) = 4.
    let mut h = follower(&[1, 1, 1, 2, 2, 2], 3);
    let (_, sent) = h.last_fetch_sent(2);
    assert_eq!(sent.fetch_offset, Offset(6));
    assert_eq!(sent.last_fetched_epoch, Some(LeaderEpoch(2)));
    h.answer_diverging(2, 2, 4);
    let diverging = TruncationReason::DivergingEpoch;
    assert_eq!(h.truncations(), vec![(Offset(6), Offset(4), diverging)]);
    assert_eq!(h.leo(), Offset(4));
    let (_, next) = h.last_fetch_sent(2);
    assert_eq!(next.fetch_offset, Offset(4));
    assert_eq!(next.last_fetched_epoch, Some(LeaderEpoch(2)));

    // Leader's end for epoch 1 is above ours: min(own end 3, leader end 5) = 3.
    let mut h = follower(&[1, 1, 1, 2, 2, 2], 3);
    h.answer_diverging(2, 1, 5);
    assert_eq!(h.truncations(), vec![(Offset(6), Offset(3), diverging)]);
    assert_eq!(h.leo(), Offset(3));
}

#[test]
fn follower_without_the_leaders_epoch_truncates_in_several_rounds() {
    // Ours: epoch 1 at 0..2, epoch 3 at 2..4. The leader answers epoch 2, which we lack: truncate
    // to the end of our largest smaller epoch (1 ends at 2) and fetch again (KIP-279).
    let mut h = follower(&[1, 1, 3, 3], 4);
    h.answer_diverging(2, 2, 3);
    let diverging = TruncationReason::DivergingEpoch;
    assert_eq!(h.truncations(), vec![(Offset(4), Offset(2), diverging)]);
    let (_, next) = h.last_fetch_sent(2);
    assert_eq!(next.fetch_offset, Offset(2));
    assert_eq!(next.last_fetched_epoch, Some(LeaderEpoch(1)));
    // Second round: the leader's epoch 1 ends at 1.
    h.answer_diverging(2, 1, 1);
    assert_eq!(
        h.truncations(),
        vec![
            (Offset(4), Offset(2), diverging),
            (Offset(2), Offset(1), diverging)
        ]
    );
    assert_eq!(h.leo(), Offset(1));
    let (_, last) = h.last_fetch_sent(2);
    assert_eq!(last.fetch_offset, Offset(1));
    assert_eq!(last.last_fetched_epoch, Some(LeaderEpoch(1)));
}

/// Broker 1 leads in epoch 4; its cache is (1, 0), (3, 3), (4, 5); LEO 5.
fn leader_with_epochs() -> Harness {
    let disk = disk_with(log_batches(&[1, 1, 1, 3, 3]), 0);
    Harness::new(
        1,
        ProtocolSwitches::default(),
        disk,
        1,
        state(1, 4, &[1, 2, 3]),
    )
}

fn diverging(epoch: u32, end_offset: u64) -> Option<EpochEndOffset> {
    Some(EpochEndOffset {
        epoch: LeaderEpoch(epoch),
        end_offset: Offset(end_offset),
    })
}

#[test]
fn leader_answers_a_diverging_epoch() {
    let mut h = leader_with_epochs();
    // An epoch the leader never had: (largest epoch <= 2, its end) = (1, 3).
    let r = h.fetch(2, 4, Some(2), 4);
    assert_eq!(
        (r.error, r.diverging_epoch),
        (ErrorCode::NONE, diverging(1, 3))
    );
    assert!(r.batches.is_empty());
    // A known older epoch that ends before the fetch offset.
    let r = h.fetch(2, 4, Some(1), 4);
    assert_eq!(r.diverging_epoch, diverging(1, 3));
    assert!(r.batches.is_empty());
    // An epoch older than the whole cache: it ends where the first known epoch starts.
    let r = h.fetch(2, 2, Some(0), 4);
    assert_eq!(r.diverging_epoch, diverging(0, 0));
    // Consistent: epoch 3 ends at 5 >= 4, so records come back.
    let r = h.fetch(2, 4, Some(3), 4);
    assert_eq!(r.diverging_epoch, None);
    assert_eq!(r.batches.len(), 1);
}

#[test]
fn leader_fences_stale_and_unknown_current_leader_epochs() {
    let mut h = leader_with_epochs();
    let r = h.fetch(2, 5, Some(3), 3);
    assert_eq!(r.error, ErrorCode::FENCED_LEADER_EPOCH);
    assert!(r.batches.is_empty());
    let r = h.fetch(2, 5, Some(3), 5);
    assert_eq!(r.error, ErrorCode::UNKNOWN_LEADER_EPOCH);
    assert!(r.batches.is_empty());
}

/// `Partition.fetchRecords`: `if (updateFetchState && !logReadInfo.divergingEpoch.isPresent)
/// updateFollowerFetchState(...)`. A diverged follower's fetch offset is not its LEO on the
/// leader's log, so it must neither move the HW nor let the follower join the ISR.
#[test]
fn a_diverging_fetch_does_not_update_the_followers_state() {
    let disk = disk_with(log_batches(&[1, 1, 1, 3, 3]), 3);
    let mut h = Harness::new(
        1,
        ProtocolSwitches::default(),
        disk,
        1,
        state(1, 4, &[1, 2, 3]),
    );
    assert_eq!(h.hw(), Offset(3));
    h.fetch(3, 5, Some(3), 4); // broker-3 is consistent and caught up
                               // broker-2 holds offsets 3..5 from an epoch 2 the leader never saw.
    let r = h.fetch(2, 5, Some(2), 4);
    assert_eq!(r.diverging_epoch, diverging(1, 3));
    assert_eq!(h.hw(), Offset(3), "broker-2 does not have offsets 3..5");
}

#[test]
fn a_diverging_fetch_does_not_let_a_follower_join_the_isr() {
    let disk = disk_with(log_batches(&[1, 1, 1, 3, 3]), 3);
    let mut h = Harness::new(
        1,
        ProtocolSwitches::default(),
        disk,
        1,
        state(1, 4, &[1, 3]),
    );
    let r = h.fetch(2, 5, Some(2), 4);
    assert_eq!(r.diverging_epoch, diverging(1, 3));
    assert!(h.alter_partitions().is_empty());
}

// ---- 7. Pre-KIP-101 truncation to the high watermark ----

fn leader_then_follower(protocol: ProtocolSwitches) -> Harness {
    let disk = disk_with(log_batches(&[1, 1, 1, 1, 1]), 2);
    let mut h = Harness::new(1, protocol, disk, 1, state(1, 1, &[1, 2, 3]));
    assert_eq!((h.hw(), h.leo()), (Offset(2), Offset(5)));
    h.set_partition(PartitionState {
        partition_epoch: PartitionEpoch(1),
        ..state(2, 2, &[1, 2, 3])
    });
    h
}

#[test]
fn pre_kip_101_new_follower_truncates_to_its_hw() {
    let h = leader_then_follower(switches(|p| p.truncation = Truncation::HighWatermark));
    let hw_reason = TruncationReason::HighWatermark;
    assert_eq!(h.truncations(), vec![(Offset(5), Offset(2), hw_reason)]);
    assert_eq!(h.leo(), Offset(2));
    let (_, fetch) = h.last_fetch_sent(2);
    assert_eq!(fetch.fetch_offset, Offset(2));
    assert_eq!(fetch.last_fetched_epoch, None, "no epochs before KIP-101");
}

#[test]
fn kip_101_new_follower_keeps_its_log_until_the_leader_says_otherwise() {
    let h = leader_then_follower(ProtocolSwitches::default());
    assert!(h.truncations().is_empty());
    assert_eq!(h.leo(), Offset(5));
    let (_, fetch) = h.last_fetch_sent(2);
    assert_eq!(fetch.fetch_offset, Offset(5));
    assert_eq!(fetch.last_fetched_epoch, Some(LeaderEpoch(1)));
}

// ---- 8. Recovery (LogLoader) ----

#[test]
fn recovery_drops_a_torn_tail_and_caps_the_checkpointed_hw() {
    let mut batches = log_batches(&[1, 1]);
    let mut last = batch(3);
    last.base_offset = Offset(2);
    last.leader_epoch = LeaderEpoch(1);
    batches.push(last.torn(1));
    let h = Harness::started(1, ProtocolSwitches::default(), disk_with(batches, 4));
    assert_eq!(h.leo(), Offset(2));
    assert_eq!(h.hw(), Offset(2), "checkpointed HW 4 is capped at the LEO");
    let truncate = h.out.iter().find_map(|o| match o {
        Output::Disk(DiskOp::Truncate { file, offset, .. }) => Some((file.clone(), *offset)),
        _ => None,
    });
    assert_eq!(
        truncate,
        Some((FileName::Segment(tp(), Offset(0)), Offset(2)))
    );
    let recovered = Event::LogRecovered {
        broker: BrokerId(1),
        tp: tp(),
        log_end_offset: Offset(2),
        high_watermark: Offset(2),
        torn_batches: 1,
    };
    assert!(h.events().any(|e| *e == recovered));
}

// ---- Idempotent producer: duplicates answered with the original offsets ----

impl Harness {
    fn produce_idempotent(&mut self, base_sequence: i32, records: usize) -> CorrelationId {
        let producer = crate::record::ProducerFields {
            producer_id: ProducerId(42),
            producer_epoch: 0,
            base_sequence,
        };
        let batch = RecordBatch::new(Some(producer), batch(records).records.to_vec());
        self.produce_batch(Acks::Leader, batch)
    }
}

/// `ProducerStateManager`: a retried batch (same producer, epoch and sequences) is not appended
/// again; the leader answers with where the original landed. A gap is OUT_OF_ORDER_SEQUENCE_NUMBER.
#[test]
fn a_retried_idempotent_batch_is_not_appended_twice() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    let first = h.produce_idempotent(0, 2);
    assert_eq!(
        h.produce_response(first),
        Some((ErrorCode::NONE, Some(Offset(0))))
    );
    let retry = h.produce_idempotent(0, 2);
    assert_eq!(
        h.produce_response(retry),
        Some((ErrorCode::NONE, Some(Offset(0)))),
        "the original offset"
    );
    assert_eq!(h.leo(), Offset(2), "nothing appended twice");
    let gap = h.produce_idempotent(5, 1);
    assert_eq!(
        h.produce_response(gap),
        Some((ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, None))
    );
    let next = h.produce_idempotent(2, 1);
    assert_eq!(
        h.produce_response(next),
        Some((ErrorCode::NONE, Some(Offset(2))))
    );
}

impl Harness {
    fn init_producer_id(&mut self) -> (ErrorCode, ProducerId) {
        let correlation_id = self.correlation_id();
        self.input(Input::Message {
            from: CLIENT,
            message: Message::InitProducerId(InitProducerIdRequest { correlation_id }),
        });
        self.out
            .iter()
            .find_map(|o| match o {
                Output::Send {
                    message:
                        Message::InitProducerIdResponse(InitProducerIdResponse {
                            correlation_id: id,
                            error,
                            producer_id,
                            ..
                        }),
                    ..
                } if *id == correlation_id => Some((*error, *producer_id)),
                _ => None,
            })
            .expect("InitProducerId is answered at once")
    }
}

/// Producer ids come from the broker epoch (unique per registration) and a counter; a broker
/// without a registration has no block of ids to hand out (KIP-730).
#[test]
fn init_producer_id_is_unique_per_registration_and_refused_before_it() {
    let mut h = Harness::started(2, ProtocolSwitches::default(), DiskImage::default());
    assert_eq!(h.init_producer_id().0, ErrorCode::COORDINATOR_NOT_AVAILABLE);
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let epoch = broker_epoch(1).0;
    assert_eq!(
        h.init_producer_id(),
        (ErrorCode::NONE, ProducerId(epoch << 24 | 1))
    );
    assert_eq!(
        h.init_producer_id(),
        (ErrorCode::NONE, ProducerId(epoch << 24 | 2))
    );
}

/// A duplicate under acks=all is answered only once the high watermark passes the original,
/// exactly like the original (`DelayedProduce` on the duplicate's offsets).
#[test]
fn a_duplicate_under_acks_all_waits_for_the_high_watermark() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 2, &[1, 2]);
    let produce = |h: &mut Harness| {
        let producer = crate::record::ProducerFields {
            producer_id: ProducerId(42),
            producer_epoch: 0,
            base_sequence: 0,
        };
        let batch = RecordBatch::new(Some(producer), batch(2).records.to_vec());
        h.produce_batch(Acks::All, batch)
    };
    let original = produce(&mut h);
    let retry = produce(&mut h);
    assert_eq!(h.leo(), Offset(2), "appended once");
    assert_eq!(
        h.produce_response(retry),
        None,
        "not before the HW passes it"
    );
    h.fetch(2, 2, Some(0), 0);
    for id in [original, retry] {
        assert_eq!(
            h.produce_response(id),
            Some((ErrorCode::NONE, Some(Offset(0))))
        );
    }
}

// ---- Clean-shutdown file (KIP-966: previousBrokerEpoch) ----

fn registrations_sent(h: &Harness) -> Vec<Option<BrokerEpoch>> {
    h.out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                message:
                    Message::BrokerRegistration(BrokerRegistrationRequest {
                        previous_broker_epoch,
                        ..
                    }),
                ..
            } => Some(*previous_broker_epoch),
            _ => None,
        })
        .collect()
}

fn checkpoints_written(h: &Harness) -> Vec<Checkpoint> {
    h.out
        .iter()
        .filter_map(|o| match o {
            Output::Disk(DiskOp::WriteCheckpoint {
                file: FileName::CleanShutdown,
                checkpoint,
                ..
            }) => Some(checkpoint.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_controlled_shutdown_leaves_its_epoch_and_the_next_start_offers_it_once() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    h.input(Input::Shutdown);
    h.deliver_from_controller(Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
        error: ErrorCode::NONE,
        is_fenced: true,
        should_shut_down: true,
    }));
    let epoch = broker_epoch(1);
    assert_eq!(
        checkpoints_written(&h),
        vec![Checkpoint::CleanShutdown(Some(epoch))]
    );
    assert!(h.out.contains(&Output::Stopped));

    let mut disk = DiskImage::default();
    let marker = Checkpoint::CleanShutdown(Some(epoch));
    disk.checkpoints.insert(FileName::CleanShutdown, marker);
    let restarted = Harness::started(1, ProtocolSwitches::default(), disk);
    assert_eq!(registrations_sent(&restarted), vec![Some(epoch)]);
    assert_eq!(
        checkpoints_written(&restarted),
        vec![Checkpoint::CleanShutdown(None)],
        "read once: a crash during this run must count as unclean (KAFKA-10471)"
    );
}

#[test]
fn a_start_without_the_clean_shutdown_file_offers_no_epoch() {
    let h = Harness::started(1, ProtocolSwitches::default(), DiskImage::default());
    assert_eq!(registrations_sent(&h), vec![None]);
    assert!(checkpoints_written(&h).is_empty());
}

// ---- Storage: segments, retention, the log start (UnifiedLog, LogManager) ----

impl Harness {
    /// Give topic `t` this log config (the partition state is re-applied so the replica sees it).
    fn set_log_config(&mut self, log: crate::log::LogConfig, state: PartitionState) {
        let config = TopicConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            log,
        };
        let topic = MetadataRecord::Topic {
            topic: tp().topic,
            partitions: 1,
            config,
        };
        self.metadata(vec![topic, MetadataRecord::Partition { tp: tp(), state }]);
    }

    fn deleted_files(&self) -> Vec<FileName> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Disk(DiskOp::Delete { file, .. }) => Some(file.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn retention_deletes_old_segments_on_its_schedule_and_fetches_below_the_start_fail() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    let size = batch(1).size_in_bytes();
    let log = crate::log::LogConfig {
        segment_bytes: 2 * size,
        retention_ms: Some(10_000),
        ..Default::default()
    };
    h.set_log_config(log, state(1, 0, &[1]));
    for _ in 0..5 {
        h.produce(Acks::Leader, 1);
    }
    assert_eq!(h.hw(), Offset(5), "the ISR is the leader alone");
    let bases: Vec<u64> = h
        .replica()
        .log
        .segments()
        .iter()
        .map(|s| s.base_offset.0)
        .collect();
    assert_eq!(bases, vec![0, 2, 4]);
    h.timeout(29_999);
    assert!(
        h.deleted_files().is_empty(),
        "LogManager's first run is 30 s after start"
    );
    h.timeout(30_000);
    // Every segment is past retention.ms and below the HW: all go, after a roll at the LEO.
    let seg = |b| FileName::Segment(tp(), Offset(b));
    assert_eq!(h.deleted_files(), vec![seg(0), seg(2), seg(4)]);
    assert_eq!(h.replica().log.log_start_offset(), Offset(5));
    assert_eq!(h.leo(), Offset(5));
    let response = h.fetch(2, 3, Some(0), 0);
    assert_eq!(response.error, ErrorCode::OFFSET_OUT_OF_RANGE);
    assert_eq!(response.log_start_offset, Offset(5));
    assert!(h.events().any(|e| matches!(
        e,
        Event::SegmentsDeleted {
            segments: 3,
            records: 5,
            cause: crate::log::RetentionCause::RetentionMs,
            ..
        }
    )));
    let checkpointed = h.out.iter().any(|o| {
        matches!(o, Output::Disk(DiskOp::WriteCheckpoint {
            checkpoint: Checkpoint::LogStartOffsets(starts), ..
        }) if starts.get(&tp()) == Some(&Offset(5)))
    });
    assert!(checkpointed, "the new log start is checkpointed");
}

#[test]
fn a_follower_below_the_leaders_log_start_starts_over_there() {
    let mut h = follower(&[1, 1], 1);
    let (correlation_id, sent) = h.last_fetch_sent(2);
    assert_eq!(sent.fetch_offset, Offset(2));
    let response = FetchPartitionResponse {
        tp: tp(),
        error: ErrorCode::OFFSET_OUT_OF_RANGE,
        high_watermark: Offset(60),
        log_start_offset: Offset(50),
        log_end_offset: Offset(60),
        diverging_epoch: None,
        batches: vec![],
    };
    h.input(Input::Message {
        from: NodeId::Broker(BrokerId(2)),
        message: Message::FetchResponse(FetchResponse {
            correlation_id,
            partitions: vec![response],
        }),
    });
    let reason = TruncationReason::BelowLogStart;
    assert_eq!(h.truncations(), vec![(Offset(2), Offset(50), reason)]);
    assert_eq!(h.replica().log.log_start_offset(), Offset(50));
    assert_eq!(h.leo(), Offset(50));
    assert_eq!(h.deleted_files(), vec![FileName::Segment(tp(), Offset(0))]);
    let (_, next) = h.last_fetch_sent(2);
    assert_eq!(next.fetch_offset, Offset(50));
}

#[test]
fn recovery_truncates_a_torn_segment_and_deletes_the_files_after_it() {
    let batches = log_batches(&[1, 1, 1, 1]);
    let mut disk = DiskImage::default();
    let seg = |b| FileName::Segment(tp(), Offset(b));
    let file = |range: std::ops::Range<usize>| {
        batches[range]
            .iter()
            .cloned()
            .map(DiskEntry::Batch)
            .collect::<Vec<_>>()
    };
    disk.files.insert(seg(0), file(0..2));
    let mut torn = file(2..4);
    if let DiskEntry::Batch(b) = &torn[1] {
        torn[1] = DiskEntry::Batch(b.torn(0));
    }
    disk.files.insert(seg(2), torn);
    disk.files.insert(seg(4), file(0..0));
    let h = Harness::started(1, ProtocolSwitches::default(), disk);
    assert_eq!(h.leo(), Offset(3));
    let bases: Vec<u64> = h
        .replica()
        .log
        .segments()
        .iter()
        .map(|s| s.base_offset.0)
        .collect();
    assert_eq!(bases, vec![0, 2]);
    let truncate = h.out.iter().find_map(|o| match o {
        Output::Disk(DiskOp::Truncate { file, offset, .. }) => Some((file.clone(), *offset)),
        _ => None,
    });
    assert_eq!(truncate, Some((seg(2), Offset(3))));
    assert_eq!(h.deleted_files(), vec![seg(4)]);
}

#[test]
fn a_log_whose_every_segment_retention_deleted_recovers_at_its_end_without_the_checkpoint() {
    // Retention deleted every segment and rolled at 5: only the empty segment file is left, and
    // the log-start checkpoint never reached the disk (the process died first).
    let mut disk = DiskImage::default();
    disk.files
        .insert(FileName::Segment(tp(), Offset(5)), Vec::new());
    let h = Harness::started(1, ProtocolSwitches::default(), disk);
    assert_eq!(h.replica().log.log_start_offset(), Offset(5));
    assert_eq!(h.leo(), Offset(5), "offsets are never reused");
}

#[test]
fn the_cleaner_compacts_a_leaders_log_every_backoff_and_replaces_the_files() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    let keyed = || {
        let record = Record::new(Some(Bytes::from_static(b"k")), Bytes::from_static(b"v"), 0);
        RecordBatch::new(None, vec![record])
    };
    let log = crate::log::LogConfig {
        segment_bytes: keyed().size_in_bytes(),
        cleanup_policy: crate::log::CleanupPolicy::Compact,
        min_cleanable_dirty_ratio: crate::log::DirtyRatio(0),
        ..Default::default()
    };
    h.set_log_config(log, state(1, 0, &[1]));
    for _ in 0..4 {
        h.produce_batch(Acks::Leader, keyed());
    }
    assert_eq!(h.hw(), Offset(4));
    let cleaned = |h: &Harness| {
        h.events()
            .filter(|e| matches!(e, Event::LogCleaned { .. }))
            .count()
    };
    h.timeout(14_999);
    assert_eq!(
        cleaned(&h),
        0,
        "the cleaner first runs one backoff after start"
    );
    h.timeout(15_000);
    assert!(h.events().any(|e| matches!(
        e,
        Event::LogCleaned {
            records: 2,
            end: Offset(3),
            ..
        }
    )));
    let seg = |b| FileName::Segment(tp(), Offset(b));
    let replaced: Vec<(FileName, usize)> = h
        .out
        .iter()
        .filter_map(|o| match o {
            Output::Disk(DiskOp::ReplaceSegment { file, entries, .. }) => {
                Some((file.clone(), entries.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        replaced,
        vec![(seg(0), 0)],
        "the first segment stays, empty"
    );
    assert_eq!(h.deleted_files(), vec![seg(1)]);
    let offsets: Vec<u64> = h.replica().log.batches().map(|b| b.base_offset.0).collect();
    assert_eq!(
        offsets,
        vec![2, 3],
        "the latest k below the active segment, and the active one"
    );
    h.timeout(30_000);
    assert_eq!(cleaned(&h), 1, "nothing dirty is left to clean");
}

#[path = "admin_tests.rs"]
mod admin_tests;

/// Where the broker sent its last registration.
fn last_registration_target(h: &Harness) -> Option<NodeId> {
    h.out.iter().rev().find_map(|o| match o {
        Output::Send {
            to,
            message: Message::BrokerRegistration(_),
        } => Some(*to),
        _ => None,
    })
}

#[test]
fn not_controller_sends_the_next_registration_to_the_next_voter() {
    let voters: Vec<NodeId> = (1..=3)
        .map(|c| NodeId::Controller(ControllerId(c)))
        .collect();
    let config = ClusterConfig::parse(&ConfigMap::new(), ProtocolSwitches::default());
    let mut h = Harness::started(1, ProtocolSwitches::default(), DiskImage::default());
    h.broker = Broker::new(BrokerId(1), config.expect("valid"), voters.clone(), Time(0));
    h.out.clear();
    h.input(Input::Start {
        disk: DiskImage::default(),
        incarnation_id: 7,
    });
    assert_eq!(last_registration_target(&h), Some(voters[0]));
    let refusal = Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
        error: ErrorCode::NOT_CONTROLLER,
        broker_epoch: BrokerEpoch(0),
    });
    // A controller the broker no longer targets changes nothing.
    h.input(Input::Message {
        from: voters[2],
        message: refusal.clone(),
    });
    assert!(h.broker.controller_channel().is_active(voters[0]));
    h.input(Input::Message {
        from: voters[0],
        message: refusal,
    });
    assert!(h.broker.controller_channel().is_active(voters[1]));
    let sent = h.out.len();
    // Due again `broker.heartbeat.interval.ms` after the first (the observer's fetch timers
    // fire meanwhile and name no leader).
    h.timeout(h.broker.config().broker_heartbeat_interval_ms);
    assert!(h.out.len() > sent, "resent when due");
    assert_eq!(last_registration_target(&h), Some(voters[1]));
}

#[test]
fn a_heartbeat_refused_not_controller_neither_fences_nor_re_registers() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    let fenced = h.broker.is_fenced();
    h.deliver_from_controller(Message::BrokerHeartbeatResponse(BrokerHeartbeatResponse {
        error: ErrorCode::NOT_CONTROLLER,
        is_fenced: true,
        should_shut_down: false,
    }));
    assert_eq!(h.broker.is_fenced(), fenced);
    assert_eq!(
        last_registration_target(&h),
        Some(CONTROLLER),
        "only the first"
    );
    let registrations = h
        .out
        .iter()
        .filter(|o| {
            matches!(
                o,
                Output::Send {
                    message: Message::BrokerRegistration(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(registrations, 1);
}

/// A controller that answers nothing (paused, or cut off without a reset) is given up after
/// `broker.session.timeout.ms / 2` (Kafka's heartbeat channel timeout, KAFKA-14392): the next
/// registration goes to the next voter; one that answers keeps the broker.
#[test]
fn a_silent_controller_is_given_up_after_half_the_session_timeout() {
    let voters: Vec<NodeId> = (1..=3)
        .map(|c| NodeId::Controller(ControllerId(c)))
        .collect();
    let mut map = ConfigMap::new();
    let int = crate::config::ConfigValue::Int;
    map.insert("broker.session.timeout.ms".into(), int(6_000));
    map.insert("broker.heartbeat.interval.ms".into(), int(1_000));
    let config = ClusterConfig::parse(&map, ProtocolSwitches::default()).expect("valid");
    let mut h = Harness::started(1, ProtocolSwitches::default(), DiskImage::default());
    h.broker = Broker::new(BrokerId(1), config, voters.clone(), Time(0));
    h.out.clear();
    h.input(Input::Start {
        disk: DiskImage::default(),
        incarnation_id: 7,
    });
    assert_eq!(last_registration_target(&h), Some(voters[0]));
    for at in [1_000, 2_000] {
        h.timeout(at);
        assert_eq!(last_registration_target(&h), Some(voters[0]), "at {at}");
    }
    h.timeout(3_000);
    assert_eq!(
        last_registration_target(&h),
        Some(voters[1]),
        "3 s of silence"
    );
    // voters[1] refuses with DUPLICATE_BROKER_REGISTRATION: an answer, so it is kept.
    h.input(Input::Message {
        from: voters[1],
        message: Message::BrokerRegistrationResponse(BrokerRegistrationResponse {
            error: ErrorCode::DUPLICATE_BROKER_REGISTRATION,
            broker_epoch: BrokerEpoch(0),
        }),
    });
    for at in [4_000, 5_000, 6_000] {
        h.timeout(at);
        assert_eq!(last_registration_target(&h), Some(voters[1]), "at {at}");
    }
    h.timeout(7_000);
    assert_eq!(
        last_registration_target(&h),
        Some(voters[2]),
        "silent since 4 s"
    );
}

fn became_leader(h: &Harness) -> bool {
    h.out
        .iter()
        .any(|o| matches!(o, Output::Event(Event::BecameLeader { .. })))
}

/// A restarted broker still registering may be sent an image that names its dead incarnation
/// leader (a new active controller pushes its whole committed log): it does not lead on it.
/// Once registered, with its registration record in the image, it reconciles every partition.
#[test]
fn a_registering_broker_does_not_act_on_metadata_until_caught_up_to_its_registration() {
    let mut h = Harness::started(1, ProtocolSwitches::default(), DiskImage::default());
    let mut records: Vec<MetadataRecord> = (1..=3)
        .map(|b| MetadataRecord::RegisterBroker {
            broker_id: BrokerId(b),
            broker_epoch: broker_epoch(b),
            incarnation_id: u64::from(b),
        })
        .collect();
    records.push(MetadataRecord::Topic {
        topic: tp().topic,
        partitions: 1,
        config: TopicConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            log: Default::default(),
        },
    });
    records.push(MetadataRecord::Partition {
        tp: tp(),
        state: state(1, 0, &[1, 2, 3]),
    });
    h.metadata(records);
    assert_eq!(
        h.broker.metadata().partitions.len(),
        1,
        "the image is applied"
    );
    assert!(!became_leader(&h), "not registered: no leadership");
    h.deliver_from_controller(Message::BrokerRegistrationResponse(
        BrokerRegistrationResponse {
            error: ErrorCode::NONE,
            broker_epoch: broker_epoch(1),
        },
    ));
    assert!(became_leader(&h), "registered and caught up: it leads");
}

#[test]
fn a_compacted_topic_refuses_a_record_without_a_key() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    let delete = h.produce(Acks::Leader, 1);
    assert_eq!(
        h.produce_response(delete),
        Some((ErrorCode::NONE, Some(Offset(0)))),
        "a delete-only topic takes keyless records"
    );
    let log = crate::log::LogConfig {
        cleanup_policy: crate::log::CleanupPolicy::Compact,
        ..Default::default()
    };
    h.set_log_config(log, state(1, 0, &[1]));
    let keyless = h.produce(Acks::Leader, 2);
    assert_eq!(
        h.produce_response(keyless),
        Some((ErrorCode::INVALID_RECORD, None)),
        "LogValidator: Compacted topic cannot accept message without key"
    );
    assert_eq!(
        h.leo(),
        Offset(1),
        "nothing of the refused batch is appended"
    );
    assert!(!ErrorCode::INVALID_RECORD.is_retriable());
    let keyed = Record::new(Some(Bytes::from_static(b"k")), Bytes::from_static(b"v"), 0);
    let correlation_id = h.produce_batch(Acks::Leader, RecordBatch::new(None, vec![keyed]));
    assert_eq!(
        h.produce_response(correlation_id),
        Some((ErrorCode::NONE, Some(Offset(1))))
    );
}

#[test]
fn delete_records_moves_the_leaders_log_start_up_to_the_high_watermark() {
    use crate::io::{ClientCommand, DeleteRecordsTo};
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    for _ in 0..3 {
        h.produce(Acks::Leader, 2);
    }
    assert_eq!(h.hw(), Offset(6));
    let delete = |h: &mut Harness, to| {
        let tp = tp();
        h.input(Input::Command(ClientCommand::DeleteRecords { tp, to }));
        h.events()
            .filter_map(|e| match e {
                Event::RecordsDeleted {
                    low_watermark,
                    error,
                    ..
                } => Some((*error, *low_watermark)),
                _ => None,
            })
            .last()
            .expect("answered")
    };
    let answer = delete(&mut h, DeleteRecordsTo::Offset(Offset(3)));
    assert_eq!(answer, (ErrorCode::NONE, Offset(3)));
    assert_eq!(h.replica().log.log_start_offset(), Offset(3));
    assert!(h.out.iter().any(|o| matches!(
        o,
        Output::Disk(DiskOp::WriteCheckpoint {
            checkpoint: Checkpoint::LogStartOffsets(_),
            ..
        })
    )));
    let answer = delete(&mut h, DeleteRecordsTo::Offset(Offset(7)));
    assert_eq!(
        answer,
        (ErrorCode::OFFSET_OUT_OF_RANGE, Offset(3)),
        "above the high watermark: maybeIncrementLogStartOffset refuses"
    );
    let answer = delete(&mut h, DeleteRecordsTo::Offset(Offset(1)));
    assert_eq!(answer, (ErrorCode::NONE, Offset(3)), "never backwards");
    let answer = delete(&mut h, DeleteRecordsTo::HighWatermark);
    assert_eq!(
        answer,
        (ErrorCode::NONE, Offset(6)),
        "-1 is the high watermark"
    );
    let compacted = crate::log::LogConfig {
        cleanup_policy: crate::log::CleanupPolicy::Compact,
        ..Default::default()
    };
    h.set_log_config(compacted, state(1, 0, &[1]));
    let answer = delete(&mut h, DeleteRecordsTo::HighWatermark);
    assert_eq!(
        answer.0,
        ErrorCode::POLICY_VIOLATION,
        "no `delete` in cleanup.policy"
    );
    h.set_partition(state(2, 1, &[1, 2]));
    let answer = delete(&mut h, DeleteRecordsTo::HighWatermark);
    assert_eq!(answer.0, ErrorCode::NOT_LEADER_OR_FOLLOWER);
}

// ---- The cleaner's checkpoint on disk (LogCleanerManager, `cleaner-offset-checkpoint`) ----

/// What a restart finds: every disk operation the broker saw complete, applied in order (the
/// page cache; a power failure loses only operations still in flight here, as the test holds
/// the checkpoint write back).
fn disk_image(h: &Harness) -> DiskImage {
    let mut image = DiskImage::default();
    for output in &h.out {
        let Output::Disk(op) = output else { continue };
        if h.disk.contains(&op.id()) {
            continue;
        }
        match op {
            DiskOp::Append { file, entries, .. } => {
                let target = image.files.entry(file.clone()).or_default();
                target.extend(entries.iter().cloned());
            }
            DiskOp::Truncate { file, offset, .. } => {
                let target = image.files.entry(file.clone()).or_default();
                target.retain(|e| e.last_offset() < *offset);
            }
            DiskOp::Delete { file, .. } => {
                image.files.remove(file);
            }
            DiskOp::WriteCheckpoint {
                file, checkpoint, ..
            } => {
                image.checkpoints.insert(file.clone(), checkpoint.clone());
            }
            DiskOp::ReplaceSegment { file, entries, .. } => {
                image.files.insert(file.clone(), entries.clone());
            }
            DiskOp::Fsync { .. } => {}
        }
    }
    image
}

/// A leader of a compacted `t-0` (one batch per segment, cleaned at any dirty ratio).
fn compacted_leader(disk: DiskImage) -> Harness {
    let mut h = Harness::new(1, ProtocolSwitches::default(), disk, 1, state(1, 0, &[1]));
    let log = crate::log::LogConfig {
        segment_bytes: keyed_batch().size_in_bytes(),
        cleanup_policy: crate::log::CleanupPolicy::Compact,
        min_cleanable_dirty_ratio: crate::log::DirtyRatio(0),
        ..Default::default()
    };
    h.set_log_config(log, state(1, 0, &[1]));
    h
}

fn keyed_batch_of(key: &'static str) -> RecordBatch {
    let record = Record::new(
        Some(Bytes::from_static(key.as_bytes())),
        Bytes::from_static(b"v"),
        0,
    );
    RecordBatch::new(None, vec![record])
}

fn keyed_batch() -> RecordBatch {
    let record = Record::new(Some(Bytes::from_static(b"k")), Bytes::from_static(b"v"), 0);
    RecordBatch::new(None, vec![record])
}

fn cleaner_checkpoints(h: &Harness) -> Vec<(DiskOpId, Vec<(TopicPartition, Offset)>)> {
    h.out
        .iter()
        .filter_map(|o| match o {
            Output::Disk(DiskOp::WriteCheckpoint {
                id,
                checkpoint: Checkpoint::CleanerOffsets(positions),
                ..
            }) => Some((*id, positions.clone().into_iter().collect())),
            _ => None,
        })
        .collect()
}

fn base_offsets(h: &Harness) -> Vec<u64> {
    h.replica().log.batches().map(|b| b.base_offset.0).collect()
}

#[test]
fn a_restart_keeps_the_cleaners_position_from_its_checkpoint_file() {
    let mut h = compacted_leader(DiskImage::default());
    h.produce_batch(Acks::Leader, keyed_batch_of("a"));
    for _ in 0..3 {
        h.produce_batch(Acks::Leader, keyed_batch());
    }
    h.timeout(15_000);
    let written = cleaner_checkpoints(&h);
    assert_eq!(written.len(), 1, "written once, after the cleaning");
    assert_eq!(written[0].1, vec![(tp(), Offset(3))]);
    h.timeout(30_000);
    assert_eq!(
        cleaner_checkpoints(&h).len(),
        1,
        "unchanged: not written again"
    );

    let restarted = compacted_leader(disk_image(&h));
    let cleanable = restarted
        .replica()
        .log
        .cleanable(Time(0))
        .expect("compacts");
    assert_eq!(cleanable.first_dirty, Offset(3), "the position survived");
    assert_eq!(cleanable.dirty_bytes, 0, "nothing to clean again");
    let marks: Vec<bool> = (0..4)
        .map(|o| restarted.replica().log.removed_by_cleaner(Offset(o)))
        .collect();
    assert_eq!(
        marks,
        vec![false, true, false, false],
        "the gap read from the files"
    );
}

#[test]
fn a_power_failure_before_the_checkpoint_lands_falls_back_to_the_older_one() {
    let mut h = compacted_leader(DiskImage::default());
    h.produce_batch(Acks::Leader, keyed_batch_of("a"));
    for _ in 0..3 {
        h.produce_batch(Acks::Leader, keyed_batch());
    }
    h.timeout(15_000);
    for _ in 0..2 {
        h.produce_batch(Acks::Leader, keyed_batch());
    }
    h.hold_disk = true;
    h.timeout(30_000);
    let (newest, positions) = cleaner_checkpoints(&h).pop().expect("a second cleaning");
    assert_eq!(positions, vec![(tp(), Offset(5))]);
    // Every operation of the second cleaning completes but the checkpoint write: the power
    // fails before it is on disk.
    let pending: Vec<DiskOpId> = h.disk.drain(..).collect();
    for id in pending {
        if id == newest {
            h.disk.push_back(id);
        } else {
            h.broker
                .handle(h.now, Input::DiskCompleted { id, ok: true });
        }
    }
    let before = base_offsets(&h);
    assert_eq!(
        before,
        vec![0, 4, 5],
        "a, the latest k, and the active segment"
    );

    let mut restarted = compacted_leader(disk_image(&h));
    let log = &restarted.replica().log;
    assert_eq!(
        log.cleanable(Time(0)).expect("compacts").first_dirty,
        Offset(3)
    );
    assert_eq!(
        base_offsets(&restarted),
        before,
        "the cleaned files did land"
    );
    restarted.timeout(15_000);
    assert_eq!(
        base_offsets(&restarted),
        before,
        "cleaning again from the older position loses nothing"
    );
    let written = cleaner_checkpoints(&restarted);
    assert_eq!(
        written.last().map(|w| w.1.clone()),
        Some(vec![(tp(), Offset(5))])
    );
}

// ---- Produce of several partitions (`ReplicaManager.appendRecords`, `DelayedProduce`) ----

impl Harness {
    /// A client's Produce of one batch to each of `tps`, timing out after 1 s; its correlation
    /// id.
    fn produce_partitions(&mut self, acks: Acks, tps: &[TopicPartition]) -> CorrelationId {
        let correlation_id = self.correlation_id();
        let partitions = tps
            .iter()
            .map(|tp| PartitionProduceData {
                tp: tp.clone(),
                batch: batch(2),
            })
            .collect();
        let message = Message::Produce(ProduceRequest {
            correlation_id,
            acks,
            timeout_ms: 1_000,
            partitions,
        });
        self.input(Input::Message {
            from: CLIENT,
            message,
        });
        correlation_id
    }

    /// Every answer to produce `id`: per partition `(partition, error, base offset)`.
    fn produce_answers(&self, id: CorrelationId) -> Vec<Vec<(u32, ErrorCode, Option<Offset>)>> {
        let answers = self.out.iter().filter_map(|o| match o {
            Output::Send {
                message: Message::ProduceResponse(r),
                ..
            } if r.correlation_id == id => Some(r),
            _ => None,
        });
        answers
            .map(|r| {
                r.partitions
                    .iter()
                    .map(|p| (p.tp.partition, p.error, p.base_offset))
                    .collect()
            })
            .collect()
    }
}

/// A partition this broker does not lead fails alone with `NOT_LEADER_OR_FOLLOWER`; the led one
/// is appended, and the one response waits for its acks=all (`DelayedProduce` completes when
/// every partition is done), answering the partitions in request order.
#[test]
fn a_produce_answers_each_partition_and_waits_for_every_one() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let elsewhere = TopicPartition::new(&Topic::new("t"), 7);
    let id = h.produce_partitions(Acks::All, &[elsewhere, tp()]);
    assert_eq!(h.leo(), Offset(2), "the led partition is appended");
    assert!(
        h.produce_answers(id).is_empty(),
        "one partition's error does not answer the request while another waits"
    );
    h.fetch(2, 0, None, 0);
    h.fetch(2, 2, Some(0), 0);
    h.fetch(3, 0, None, 0);
    h.fetch(3, 2, Some(0), 0);
    assert_eq!(h.hw(), Offset(2));
    assert_eq!(
        h.produce_answers(id),
        vec![vec![
            (7, ErrorCode::NOT_LEADER_OR_FOLLOWER, None),
            (0, ErrorCode::NONE, Some(Offset(0))),
        ]],
        "one response, in request order"
    );
}

/// `DelayedProduce.onExpiration`: a partition still waiting at the timeout answers
/// `REQUEST_TIMED_OUT`; a partition that failed at once keeps its own error.
#[test]
fn an_expired_produce_times_out_only_the_waiting_partitions() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let elsewhere = TopicPartition::new(&Topic::new("t"), 7);
    let id = h.produce_partitions(Acks::All, &[tp(), elsewhere]);
    let deadline = h.now.0 + 1_000;
    h.timeout(deadline - 1);
    assert!(h.produce_answers(id).is_empty());
    h.timeout(deadline);
    assert_eq!(
        h.produce_answers(id),
        vec![vec![
            (0, ErrorCode::REQUEST_TIMED_OUT, None),
            (7, ErrorCode::NOT_LEADER_OR_FOLLOWER, None),
        ]]
    );
}

// ---- The metadata log as a Raft observer (KIP-595; `metadata_observer.rs`) ----

fn unfence(b: u32) -> MetadataRecord {
    MetadataRecord::UnfenceBroker {
        broker_id: BrokerId(b),
        broker_epoch: broker_epoch(b),
    }
}

fn data(record: MetadataRecord, epoch: u32) -> crate::raft::RaftEntry<MetadataRecord> {
    crate::raft::RaftEntry {
        epoch: LeaderEpoch(epoch),
        record: crate::raft::RaftRecord::Data(record),
    }
}

/// The leader answers an observer with uncommitted entries too (`tryCompleteFetchRequest`
/// reads `Isolation.UNCOMMITTED`); the image gets a record only once the high watermark passes
/// it (`handleCommit`), and an uncommitted tail that a diverging epoch truncates never reaches
/// it.
#[test]
fn the_image_applies_only_committed_records_and_a_diverged_tail_never() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let end = h
        .broker
        .metadata_observer()
        .expect("started")
        .status()
        .log_end;
    let applied = h.broker.metadata().offset;
    let fence = MetadataRecord::FenceBroker {
        broker_id: BrokerId(2),
        broker_epoch: broker_epoch(2),
    };
    h.deliver_from_controller(fetch_answer(end, end, vec![data(fence, 1)]));
    let observer = h.broker.metadata_observer().expect("started").status();
    assert_eq!(observer.log_end, Offset(end.0 + 1), "fetched");
    assert_eq!(
        h.broker.metadata().offset,
        applied,
        "not committed: not applied"
    );
    assert!(!h.broker.metadata().brokers[&BrokerId(2)].fenced);

    let diverged = Message::Quorum(Box::new(crate::raft::RaftMessage::FetchResponse {
        error: ErrorCode::NONE,
        epoch: LeaderEpoch(1),
        leader: Some(CONTROLLER),
        fetch_offset: Offset(end.0 + 1),
        high_watermark: end,
        diverging: Some(EpochEndOffset {
            epoch: LeaderEpoch(1),
            end_offset: end,
        }),
        entries: vec![],
    }));
    h.deliver_from_controller(diverged);
    let observer = h.broker.metadata_observer().expect("started").status();
    assert_eq!(
        observer.log_end, end,
        "truncated to the leader's end of its epoch"
    );
    let next = Offset(end.0 + 1);
    h.deliver_from_controller(fetch_answer(end, next, vec![data(unfence(3), 1)]));
    assert_eq!(h.broker.metadata().offset, applied + 1);
    assert!(
        !h.broker.metadata().brokers[&BrokerId(2)].fenced,
        "the truncated record was never applied"
    );
}

/// Registration and heartbeats go to the leader the observer learned (Kafka's
/// `RaftControllerNodeProvider` reads `raftManager.leaderAndEpoch`), so a broker follows a
/// controller failover as soon as its metadata fetch hears of it.
#[test]
fn the_controller_channel_follows_the_leader_the_observer_learns() {
    let voters: Vec<NodeId> = (1..=3)
        .map(|c| NodeId::Controller(ControllerId(c)))
        .collect();
    let config = ClusterConfig::parse(&ConfigMap::new(), ProtocolSwitches::default());
    let mut h = Harness::started(1, ProtocolSwitches::default(), DiskImage::default());
    h.broker = Broker::new(BrokerId(1), config.expect("valid"), voters.clone(), Time(0));
    h.input(Input::Start {
        disk: DiskImage::default(),
        incarnation_id: 7,
    });
    assert!(h.broker.controller_channel().is_active(voters[0]));
    let hint = Message::Quorum(Box::new(crate::raft::RaftMessage::FetchResponse {
        error: ErrorCode::NOT_LEADER_OR_FOLLOWER,
        epoch: LeaderEpoch(3),
        leader: Some(voters[2]),
        fetch_offset: Offset(0),
        high_watermark: Offset(0),
        diverging: None,
        entries: vec![],
    }));
    h.input(Input::Message {
        from: voters[0],
        message: hint,
    });
    assert!(h.broker.controller_channel().is_active(voters[2]));
    h.timeout(h.broker.config().broker_heartbeat_interval_ms);
    assert_eq!(last_registration_target(&h), Some(voters[2]));
}

/// A broker that is not a voter fetches the metadata log: its fetches go to the controller,
/// and a heartbeat reports how far it applied it.
#[test]
fn the_heartbeat_reports_the_offset_after_the_last_applied_record() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let fetches = h
        .out
        .iter()
        .filter(|o| {
            matches!(o, Output::Send { to, message: Message::Quorum(m) }
                if *to == CONTROLLER && matches!(**m, crate::raft::RaftMessage::Fetch { .. }))
        })
        .count();
    assert!(fetches >= 2, "fetched, and fetches again after an answer");
    h.metadata(vec![unfence(2)]);
    let applied = h.broker.metadata().offset;
    h.timeout(h.now.0 + h.broker.config().broker_heartbeat_interval_ms);
    let reported = h.out.iter().rev().find_map(|o| match o {
        Output::Send {
            message:
                Message::BrokerHeartbeat(crate::protocol::BrokerHeartbeatRequest {
                    metadata_offset,
                    ..
                }),
            ..
        } => Some(*metadata_offset),
        _ => None,
    });
    assert_eq!(reported, Some(applied));
}

/// The wire `DeleteRecords` takes the scenario action's path (`delete_records_on_leader`): the
/// leader answers the client with its new log start and records `Event::RecordsDeleted`; once it
/// no longer leads it answers `NOT_LEADER_OR_FOLLOWER` (`ReplicaManager.deleteRecords`).
#[test]
fn a_client_delete_records_is_answered_by_the_leader_only() {
    use crate::io::DeleteRecordsTo;
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1]);
    for _ in 0..3 {
        h.produce(Acks::Leader, 2);
    }
    let client = NodeId::Client(ClientId(9));
    let ask = |h: &mut Harness, id: u64| {
        let request = crate::protocol::DeleteRecordsRequest {
            correlation_id: CorrelationId(id),
            tp: tp(),
            to: DeleteRecordsTo::Offset(Offset(4)),
        };
        h.input(Input::Message {
            from: client,
            message: Message::DeleteRecords(request),
        });
        h.out
            .iter()
            .find_map(|o| match o {
                Output::Send {
                    to,
                    message: Message::DeleteRecordsResponse(r),
                } if *to == client && r.correlation_id == CorrelationId(id) => {
                    Some((r.error, r.low_watermark))
                }
                _ => None,
            })
            .expect("answered at once")
    };
    assert_eq!(ask(&mut h, 1), (ErrorCode::NONE, Offset(4)));
    assert_eq!(h.replica().log.log_start_offset(), Offset(4));
    assert!(h.events().any(|e| matches!(
        e,
        Event::RecordsDeleted { low_watermark: Offset(4), error, .. } if error.is_ok()
    )));
    h.set_partition(state(2, 1, &[1, 2]));
    assert_eq!(ask(&mut h, 2).0, ErrorCode::NOT_LEADER_OR_FOLLOWER);
}
