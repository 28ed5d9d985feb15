//! Client rules, driven by hand: the idempotent producer's id, sequences and retries, and the
//! consumer's KIP-320 truncation detection.

use crate::config::{AutoOffsetReset, ConfigMap, ConfigValue, ConsumerConfig, ProducerConfig};
use crate::error::ErrorCode;
use crate::io::{
    ClientCommand, HistoryEntry, Input, Output, PositionReason, ResetReason, SendOutcome, WriteKind,
};
use crate::protocol::{
    EpochEndOffset, FetchPartitionResponse, FetchRequest, FetchResponse, InitProducerIdRequest,
    InitProducerIdResponse, ListOffsetsRequest, ListOffsetsResponse, Message, MetadataRequest,
    MetadataResponse, PartitionMetadata, PartitionProduceResponse, ProduceRequest, ProduceResponse,
};
use crate::record::{ProducerFields, Record, RecordBatch};
use crate::types::*;
use crate::{Consumer, Producer};
use bytes::Bytes;
use std::collections::BTreeSet;

fn tp() -> TopicPartition {
    TopicPartition::new(&Topic::new("t"), 0)
}

fn metadata_response(correlation_id: CorrelationId, leader_epoch: u32) -> Message {
    partitions_response(correlation_id, leader_epoch, 1)
}

/// Topic `t` with `partitions` partitions, all led by broker 1.
fn partitions_response(
    correlation_id: CorrelationId,
    leader_epoch: u32,
    partitions: u32,
) -> Message {
    Message::MetadataResponse(MetadataResponse {
        correlation_id,
        brokers: vec![BrokerId(1)],
        partitions: (0..partitions)
            .map(|p| PartitionMetadata {
                tp: TopicPartition::new(&Topic::new("t"), p),
                leader: Some(BrokerId(1)),
                leader_epoch: LeaderEpoch(leader_epoch),
                replicas: vec![BrokerId(1)],
                isr: vec![BrokerId(1)],
            })
            .collect(),
    })
}

fn from_broker(message: Message) -> Input {
    Input::Message {
        from: NodeId::Broker(BrokerId(1)),
        message,
    }
}

/// A producer to `t` (one partition, led by broker 1) and what it sent.
struct ProducerHarness {
    producer: Producer,
    now: u64,
    sent: Vec<Message>,
    /// `(time, entry)` of every history entry.
    history: Vec<(u64, HistoryEntry)>,
}

impl ProducerHarness {
    fn new(idempotence: bool) -> ProducerHarness {
        ProducerHarness::with(&[("enable.idempotence", ConfigValue::Bool(idempotence))], 1)
    }

    /// A producer with `linger.ms=0` and these settings, to a topic of `partitions`
    /// partitions, after one record (`v0`) and the metadata.
    fn with(settings: &[(&str, ConfigValue)], partitions: u32) -> ProducerHarness {
        let mut config: ConfigMap = [("linger.ms".to_owned(), ConfigValue::Int(0))]
            .into_iter()
            .collect();
        config.extend(settings.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let config = ProducerConfig::parse(&config).expect("valid");
        let producer = Producer::new(
            ClientId(1),
            config,
            Topic::new("t"),
            vec![BrokerId(1)],
            Time(0),
        );
        let mut h = ProducerHarness {
            producer,
            now: 0,
            sent: Vec::new(),
            history: Vec::new(),
        };
        h.input(Input::Command(ClientCommand::Send {
            key: None,
            value: Bytes::from_static(b"v0"),
            kind: WriteKind::Value,
        }));
        let metadata = h.take(|m| matches!(m, Message::Metadata(_)));
        let Message::Metadata(MetadataRequest { correlation_id }) = metadata else {
            unreachable!()
        };
        h.input(from_broker(partitions_response(
            correlation_id,
            0,
            partitions,
        )));
        h
    }

    fn input(&mut self, input: Input) {
        self.producer.handle(Time(self.now), input);
        self.drain();
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.producer.handle_timeout(Time(self.now));
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(output) = self.producer.poll_output() {
            match output {
                Output::Send { message, .. } => self.sent.push(message),
                Output::History(entry) => self.history.push((self.now, entry)),
                _ => {}
            }
        }
    }

    /// Remove and return the first sent message that matches.
    fn take(&mut self, matches: impl Fn(&Message) -> bool) -> Message {
        let at = self.sent.iter().position(matches).expect("sent");
        self.sent.remove(at)
    }

    fn produces(&mut self) -> Vec<(CorrelationId, Option<ProducerFields>)> {
        let (produces, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|m| matches!(m, Message::Produce(_)));
        self.sent = rest;
        produces
            .into_iter()
            .flat_map(|m| match m {
                Message::Produce(ProduceRequest {
                    correlation_id,
                    partitions,
                    ..
                }) => partitions
                    .into_iter()
                    .map(move |p| (correlation_id, p.batch.producer)),
                _ => unreachable!(),
            })
            .collect()
    }

    fn grant_producer_id(&mut self, id: u64) {
        let init = self.take(|m| matches!(m, Message::InitProducerId(_)));
        let Message::InitProducerId(InitProducerIdRequest { correlation_id }) = init else {
            unreachable!()
        };
        self.input(from_broker(Message::InitProducerIdResponse(
            InitProducerIdResponse {
                correlation_id,
                error: ErrorCode::NONE,
                producer_id: ProducerId(id),
                producer_epoch: 0,
            },
        )));
    }

    fn send(&mut self, value: &'static str) {
        let value = Bytes::from_static(value.as_bytes());
        self.input(Input::Command(ClientCommand::Send {
            key: None,
            value,
            kind: WriteKind::Value,
        }));
    }
}

#[test]
fn an_idempotent_producer_gets_its_id_first_and_numbers_batches_per_partition() {
    let mut h = ProducerHarness::new(true);
    assert!(
        h.produces().is_empty(),
        "no batch before InitProducerId answers"
    );
    h.grant_producer_id(42);
    let first = h.produces();
    let fields = |seq| {
        Some(ProducerFields {
            producer_id: ProducerId(42),
            producer_epoch: 0,
            base_sequence: seq,
        })
    };
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, fields(0));
    h.send("v1");
    h.send("v2");
    let next: Vec<_> = h.produces().into_iter().map(|p| p.1).collect();
    assert_eq!(next, vec![fields(1), fields(2)]);
}

#[test]
fn a_retried_batch_keeps_its_producer_id_and_sequence() {
    let mut h = ProducerHarness::new(true);
    h.grant_producer_id(42);
    let (_, first) = h.produces()[0];
    // The response is lost with the connection: the batch may or may not be in the log.
    h.input(Input::Disconnected {
        peer: NodeId::Broker(BrokerId(1)),
    });
    h.advance(1_000);
    let retries = h.produces();
    assert_eq!(retries.len(), 1, "retried once after retry.backoff.ms");
    assert_eq!(
        retries[0].1, first,
        "same id, epoch and sequence: the broker can dedupe"
    );
}

#[test]
fn a_disconnect_alone_makes_the_producer_refresh_its_metadata() {
    let mut h = ProducerHarness::new(false);
    let _ = h.produces();
    let metadata_requests = |h: &ProducerHarness| {
        h.sent
            .iter()
            .filter(|m| matches!(m, Message::Metadata(_)))
            .count()
    };
    h.advance(1_000);
    assert_eq!(metadata_requests(&h), 0, "fresh metadata: nothing to ask");
    // acks=0 has no error responses to learn from: only the lost connection says the leader
    // may be gone (`NetworkClient.handleDisconnections`).
    h.input(Input::Disconnected {
        peer: NodeId::Broker(BrokerId(1)),
    });
    h.advance(1_000);
    assert_eq!(metadata_requests(&h), 1, "one refresh after the disconnect");
}

impl ProducerHarness {
    fn answer(&mut self, correlation_id: CorrelationId, error: ErrorCode) {
        let base_offset = error.is_ok().then_some(Offset(0));
        self.input(from_broker(Message::ProduceResponse(ProduceResponse {
            correlation_id,
            partitions: vec![PartitionProduceResponse {
                tp: tp(),
                error,
                base_offset,
            }],
        })));
    }

    /// Answer every produce sent so far with success; `(partition, records)` of each.
    fn ack_all(&mut self) -> Vec<(u32, usize)> {
        let (produces, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|m| matches!(m, Message::Produce(_)));
        self.sent = rest;
        let mut acked = Vec::new();
        for m in produces {
            let Message::Produce(ProduceRequest {
                correlation_id,
                partitions,
                ..
            }) = m
            else {
                unreachable!()
            };
            let mut answers = Vec::new();
            for p in partitions {
                acked.push((p.tp.partition, p.batch.len() as usize));
                answers.push(PartitionProduceResponse {
                    tp: p.tp,
                    error: ErrorCode::NONE,
                    base_offset: Some(Offset(0)),
                });
            }
            self.input(from_broker(Message::ProduceResponse(ProduceResponse {
                correlation_id,
                partitions: answers,
            })));
        }
        acked
    }
}

fn fields(epoch: u16, seq: i32) -> Option<ProducerFields> {
    Some(ProducerFields {
        producer_id: ProducerId(42),
        producer_epoch: epoch,
        base_sequence: seq,
    })
}

/// KIP-360 (`TransactionManager.canRetry`, `bumpIdempotentProducerEpoch`): an unknown producer
/// is retried after the idempotent producer bumps its own epoch and restarts the partition's
/// sequences at 0; it keeps its producer id and sends no `InitProducerId`.
#[test]
fn an_unknown_producer_id_bumps_the_epoch_and_retries() {
    let mut h = ProducerHarness::new(true);
    h.grant_producer_id(42);
    let (correlation_id, _) = h.produces()[0];
    h.answer(correlation_id, ErrorCode::UNKNOWN_PRODUCER_ID);
    h.advance(1_000);
    let resent = h.produces();
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].1, fields(1, 0), "same id, epoch 1, sequence 0");
    assert!(!h
        .sent
        .iter()
        .any(|m| matches!(m, Message::InitProducerId(_))));
    h.answer(resent[0].0, ErrorCode::NONE);
    assert!(h.history.iter().any(|(_, e)| matches!(
        e,
        HistoryEntry::SendCompleted {
            outcome: SendOutcome::Ok(_),
            ..
        }
    )));
    assert!(
        !h.history.iter().any(|(_, e)| matches!(
            e,
            HistoryEntry::SendCompleted {
                outcome: SendOutcome::Fail(_) | SendOutcome::Info(_),
                ..
            }
        )),
        "nothing failed or unknown"
    );
}

/// `TransactionManager.canRetry` on OUT_OF_ORDER_SEQUENCE_NUMBER: the batch right after the last
/// acknowledged one shows a real gap (bump the epoch); a batch behind it only waits. After the
/// bump both are renumbered from 0 under the new epoch and retried in order.
#[test]
fn a_sequence_gap_bumps_the_epoch_and_renumbers_the_unfinished_batches() {
    let mut h = ProducerHarness::new(true);
    h.grant_producer_id(42);
    let (first, _) = h.produces()[0];
    h.answer(first, ErrorCode::NONE);
    h.send("v1");
    h.advance(1);
    h.send("v2");
    h.advance(1);
    let sent = h.produces();
    assert_eq!(
        sent.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(0, 1), fields(0, 2)]
    );
    h.answer(sent[0].0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
    h.answer(sent[1].0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
    h.advance(1_000);
    let retry = h.produces();
    assert_eq!(
        retry.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(1, 0)]
    );
    h.answer(retry[0].0, ErrorCode::NONE);
    h.advance(1_000);
    let retry = h.produces();
    assert_eq!(
        retry.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(1, 1)]
    );
    h.answer(retry[0].0, ErrorCode::NONE);
    let failed = h.history.iter().any(|(_, e)| {
        matches!(e, HistoryEntry::SendCompleted { outcome, .. } if !matches!(outcome, SendOutcome::Ok(_)))
    });
    assert!(!failed, "both batches retried, none failed");
}

/// At an epoch bump a batch that may already be in the log (its connection broke) is not re-sent
/// under the new epoch, where the broker could not recognise it: its outcome is unknown. Kafka
/// re-sends it and may write it twice; the lab holds an idempotent producer to no duplicates.
#[test]
fn an_epoch_bump_does_not_resend_a_batch_that_may_be_written() {
    let mut h = ProducerHarness::new(true);
    h.grant_producer_id(42);
    h.send("v1");
    h.advance(1);
    assert_eq!(h.produces().len(), 2);
    h.input(Input::Disconnected {
        peer: NodeId::Broker(BrokerId(1)),
    });
    h.advance(1_000);
    let retry = h.produces();
    assert_eq!(
        retry.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(0, 0)]
    );
    h.answer(retry[0].0, ErrorCode::NONE);
    h.advance(1_000);
    let retry = h.produces();
    assert_eq!(
        retry.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(0, 1)]
    );
    // The gap right after the last acknowledged batch: bump the epoch.
    h.answer(retry[0].0, ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER);
    h.advance(1_000);
    assert!(h.produces().is_empty(), "v1 is not re-sent");
    let unknown = h.history.iter().any(|(_, e)| {
        matches!(e, HistoryEntry::SendCompleted { value, outcome: SendOutcome::Info(_), .. } if value.as_ref() == b"v1")
    });
    assert!(unknown, "v1's outcome is unknown");
    h.send("v2");
    h.advance(1);
    let next = h.produces();
    assert_eq!(
        next.iter().map(|p| p.1).collect::<Vec<_>>(),
        vec![fields(1, 0)]
    );
}

/// KIP-794 (`BuiltInPartitioner.updatePartitionInfo`): records without a key stick to one
/// partition until `batch.size` bytes went to it and its batch is full, or twice `batch.size`
/// went to it, however many batches `linger.ms` closes meanwhile.
#[test]
fn null_keys_stick_to_a_partition_until_batch_size_bytes() {
    let run = |batch_size: i64, linger_ms: i64| {
        let settings = [
            ("enable.idempotence", ConfigValue::Bool(false)),
            ("batch.size", ConfigValue::Int(batch_size)),
            ("linger.ms", ConfigValue::Int(linger_ms)),
        ];
        let mut h = ProducerHarness::with(&settings, 3);
        let mut per_partition = [0usize; 3];
        for i in 1..=100 {
            for (p, n) in h.ack_all() {
                per_partition[p as usize] += n;
            }
            if i < 100 {
                let value = Bytes::from(format!("v{i}"));
                h.input(Input::Command(ClientCommand::Send {
                    key: None,
                    value,
                    kind: WriteKind::Value,
                }));
            }
            h.advance(1);
        }
        h.input(Input::Command(ClientCommand::Close));
        for (p, n) in h.ack_all() {
            per_partition[p as usize] += n;
        }
        per_partition
    };
    // Records of 22-23 bytes (v0..v99 plus 20 bytes of overhead): 2.3 KB in all.
    assert_eq!(
        run(16_384, 0),
        [100, 0, 0],
        "under batch.size: one partition"
    );
    // linger.ms=0 sends each record alone, so no batch ever fills: the switch comes at twice
    // batch.size, 460 bytes: 21 records, then 20 per partition.
    assert_eq!(run(230, 0), [21 + 20, 20 + 19, 20]);
    // A long linger fills batches: the switch comes with each full batch (11 records, then 10).
    assert_eq!(run(230, 60_000), [11 + 10 + 10 + 9, 30, 30]);
}

/// `partitioner.ignore.keys` (KIP-794): keyed records are placed like null keys, on the sticky
/// partition, instead of by their hash.
#[test]
fn ignore_keys_places_keyed_records_on_the_sticky_partition() {
    let run = |ignore: bool| {
        let settings = [
            ("enable.idempotence", ConfigValue::Bool(false)),
            ("partitioner.ignore.keys", ConfigValue::Bool(ignore)),
        ];
        let mut h = ProducerHarness::with(&settings, 3);
        let mut partitions = BTreeSet::new();
        for i in 0..12 {
            for (p, _) in h.ack_all() {
                partitions.insert(p);
            }
            let key = Some(Bytes::from(format!("k{i}")));
            let value = Bytes::from(format!("v{i}"));
            h.input(Input::Command(ClientCommand::Send {
                key,
                value,
                kind: WriteKind::Value,
            }));
            h.advance(1);
        }
        for (p, _) in h.ack_all() {
            partitions.insert(p);
        }
        partitions
    };
    assert_eq!(run(true), BTreeSet::from([0]));
    assert_eq!(run(false).len(), 3, "12 keys hash to every partition");
}

/// `Sender.getExpiredInflightBatches`: a batch in flight fails at `delivery.timeout.ms` from its
/// creation, not when its request times out later. Its outcome is unknown: it was sent.
#[test]
fn an_in_flight_batch_expires_at_delivery_timeout() {
    let settings = [
        ("enable.idempotence", ConfigValue::Bool(false)),
        ("delivery.timeout.ms", ConfigValue::Int(30_000)),
        ("request.timeout.ms", ConfigValue::Int(30_000)),
    ];
    let mut h = ProducerHarness::with(&settings, 1);
    let (first, _) = h.produces()[0];
    h.answer(first, ErrorCode::NOT_LEADER_OR_FOLLOWER);
    h.advance(100);
    assert_eq!(h.produces().len(), 1, "retried, in flight until 30,100");
    assert_eq!(h.producer.poll_timeout(), Some(Time(30_000)));
    h.advance(29_900);
    let completed: Vec<_> = h
        .history
        .iter()
        .filter_map(|(t, e)| match e {
            HistoryEntry::SendCompleted { outcome, .. } => Some((*t, outcome.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        completed,
        vec![(30_000, SendOutcome::Info(ErrorCode::REQUEST_TIMED_OUT))]
    );
}

/// KIP-580 (`ExponentialBackoff(retry.backoff.ms, 2, retry.backoff.max.ms, jitter)`): retries
/// wait 100, 200, 400, 800 ms, then `retry.backoff.max.ms` (1000) each time.
#[test]
fn retries_back_off_exponentially_up_to_retry_backoff_max_ms() {
    let settings = [("enable.idempotence", ConfigValue::Bool(false))];
    let mut h = ProducerHarness::with(&settings, 1);
    let mut waits = Vec::new();
    let (mut correlation_id, _) = h.produces()[0];
    for _ in 0..6 {
        h.answer(correlation_id, ErrorCode::NOT_LEADER_OR_FOLLOWER);
        let mut waited = 0;
        let resent = loop {
            h.advance(1);
            waited += 1;
            if let Some(p) = h.produces().first() {
                break p.0;
            }
            assert!(waited < 5_000, "never retried");
        };
        waits.push(waited);
        correlation_id = resent;
    }
    assert_eq!(waits, vec![100, 200, 400, 800, 1_000, 1_000]);
}

#[test]
fn without_idempotence_batches_carry_no_producer_fields() {
    let mut h = ProducerHarness::new(false);
    assert!(!h
        .sent
        .iter()
        .any(|m| matches!(m, Message::InitProducerId(_))));
    let produces = h.produces();
    assert_eq!(produces.len(), 1);
    assert_eq!(produces[0].1, None);
}

fn batch_at(offset: u64, epoch: u32, value: &'static str) -> RecordBatch {
    let record = Record::new(None, Bytes::from_static(value.as_bytes()), 0);
    let mut batch = RecordBatch::new(None, vec![record]);
    batch.base_offset = Offset(offset);
    batch.leader_epoch = LeaderEpoch(epoch);
    batch
}

/// KIP-320: a consumer that read offsets 0..2 in epoch 0 fetches from a new leader whose epoch 0
/// ended at offset 1: the record at 1 it read is gone. It records the truncation and goes back.
#[test]
fn a_consumer_detects_truncation_below_its_position() {
    let config = ConsumerConfig::parse(&ConfigMap::new()).expect("valid");
    let mut consumer = Consumer::new(
        ClientId(2),
        config,
        vec![Topic::new("t")],
        vec![BrokerId(1)],
        Time(0),
    );
    let mut sent = Vec::new();
    let mut history = Vec::new();
    let step = |c: &mut Consumer,
                input: Option<Input>,
                sent: &mut Vec<Message>,
                history: &mut Vec<HistoryEntry>| {
        match input {
            Some(input) => c.handle(Time(10), input),
            None => c.handle_timeout(Time(10)),
        }
        while let Some(output) = c.poll_output() {
            match output {
                Output::Send { message, .. } => sent.push(message),
                Output::History(entry) => history.push(entry),
                _ => {}
            }
        }
    };
    step(&mut consumer, None, &mut sent, &mut history);
    let Some(Message::Metadata(MetadataRequest { correlation_id })) = sent.pop() else {
        panic!("{sent:?}")
    };
    step(
        &mut consumer,
        Some(from_broker(metadata_response(correlation_id, 0))),
        &mut sent,
        &mut history,
    );
    let Some(Message::ListOffsets(ListOffsetsRequest { correlation_id, .. })) = sent.pop() else {
        panic!("{sent:?}")
    };
    let listed = Message::ListOffsetsResponse(ListOffsetsResponse {
        correlation_id,
        tp: tp(),
        error: ErrorCode::NONE,
        offset: Offset(0),
        leader_epoch: LeaderEpoch(0),
    });
    step(
        &mut consumer,
        Some(from_broker(listed)),
        &mut sent,
        &mut history,
    );
    // Where it starts, and why, is in the history: the checker promises it nothing before.
    let started = HistoryEntry::Positioned {
        tp: tp(),
        offset: Offset(0),
        reason: PositionReason::AutoOffsetReset(AutoOffsetReset::Latest), // Kafka's default
    };
    assert_eq!(history, vec![started]);
    let fetch_answer = |sent: &mut Vec<Message>, batches, diverging_epoch| {
        let Some(Message::Fetch(FetchRequest {
            correlation_id,
            partitions,
            ..
        })) = sent.pop()
        else {
            panic!("expected a fetch: {sent:?}")
        };
        let response = FetchPartitionResponse {
            tp: tp(),
            error: ErrorCode::NONE,
            high_watermark: Offset(2),
            log_start_offset: Offset(0),
            log_end_offset: Offset(2),
            diverging_epoch,
            batches,
        };
        (
            partitions,
            Message::FetchResponse(FetchResponse {
                correlation_id,
                partitions: vec![response],
            }),
        )
    };
    let batches = vec![batch_at(0, 0, "a"), batch_at(1, 0, "b")];
    let (_, response) = fetch_answer(&mut sent, batches, None);
    step(
        &mut consumer,
        Some(from_broker(response)),
        &mut sent,
        &mut history,
    );
    let truncated = Some(EpochEndOffset {
        epoch: LeaderEpoch(0),
        end_offset: Offset(1),
    });
    let (partitions, response) = fetch_answer(&mut sent, vec![], truncated);
    assert_eq!(partitions[0].fetch_offset, Offset(2));
    assert_eq!(
        partitions[0].last_fetched_epoch,
        Some(LeaderEpoch(0)),
        "the fetch carries the epoch read"
    );
    step(
        &mut consumer,
        Some(from_broker(response)),
        &mut sent,
        &mut history,
    );
    let expected = HistoryEntry::PositionReset {
        tp: tp(),
        from: Offset(2),
        to: Offset(1),
        reason: ResetReason::LogTruncation {
            epoch: LeaderEpoch(0),
            end_offset: Offset(1),
        },
    };
    assert_eq!(history.last(), Some(&expected));
    assert_eq!(consumer.positions()[&tp()], Some(Offset(1)));
}

/// A producer whose only broker just reset the connection waits `reconnect.backoff.ms` before
/// asking again: its next deadline is in the future, never "now" (a busy loop in the driver).
#[test]
fn a_producer_backs_off_after_a_broken_connection() {
    let mut h = ProducerHarness::new(true);
    h.take(|m| matches!(m, Message::InitProducerId(_)));
    h.input(Input::Disconnected {
        peer: NodeId::Broker(BrokerId(1)),
    });
    assert!(
        h.sent.is_empty(),
        "nothing is sent to a broker in backoff: {:?}",
        h.sent
    );
    let next = h.producer.poll_timeout().expect("a deadline");
    assert!(
        next > Time(h.now),
        "next deadline {next:?} is not after now"
    );
    h.advance(next.0 - h.now);
    assert!(h
        .sent
        .iter()
        .any(|m| matches!(m, Message::InitProducerId(_))));
}

/// `close()` on a consumer without a group (assign mode, the default `enable.auto.commit=true`)
/// stops it; there is no group to commit to or leave (it used to panic on "subscribe mode").
#[test]
fn closing_a_consumer_without_a_group_only_stops_it() {
    let config = ConsumerConfig::parse(&ConfigMap::new()).expect("valid");
    assert!(config.group_id.is_none() && config.enable_auto_commit);
    let mut consumer = Consumer::new(
        ClientId(2),
        config,
        vec![Topic::new("t")],
        vec![BrokerId(1)],
        Time(0),
    );
    consumer.handle(Time(5), Input::Command(ClientCommand::Close));
    let mut outputs = Vec::new();
    while let Some(output) = consumer.poll_output() {
        outputs.push(output);
    }
    assert!(
        matches!(outputs.last(), Some(Output::Stopped)),
        "{outputs:?}"
    );
    assert!(
        !outputs.iter().any(|o| matches!(o, Output::Send { .. })),
        "nothing to commit or leave: {outputs:?}"
    );
}

/// A broken connection fails only the `ListOffsets` sent over it, which is retried after
/// `retry.backoff.ms` (Kafka's `OffsetFetcher.resetPositionsAsync`, onFailure:
/// `requestFailed(partitions, now + retryBackoffMs)`). It used to resend every partition's
/// `ListOffsets` at once on any disconnect, a storm under random drops.
#[test]
fn a_disconnect_retries_only_its_own_list_offsets_after_the_backoff() {
    let config = ConsumerConfig::parse(&ConfigMap::new()).expect("valid");
    let backoff = config.retry_backoff_ms;
    let mut consumer = Consumer::new(
        ClientId(2),
        config,
        vec![Topic::new("t")],
        vec![BrokerId(1)],
        Time(0),
    );
    let drain = |c: &mut Consumer| {
        let mut sent = Vec::new();
        while let Some(output) = c.poll_output() {
            if let Output::Send { message, .. } = output {
                sent.push(message);
            }
        }
        sent
    };
    let list_offsets = |sent: &[Message]| {
        sent.iter()
            .filter(|m| matches!(m, Message::ListOffsets(_)))
            .count()
    };
    consumer.handle_timeout(Time(10));
    let Some(Message::Metadata(MetadataRequest { correlation_id })) = drain(&mut consumer).pop()
    else {
        panic!("a metadata request first")
    };
    consumer.handle(Time(10), from_broker(metadata_response(correlation_id, 0)));
    assert_eq!(
        list_offsets(&drain(&mut consumer)),
        1,
        "ListOffsets to broker 1"
    );
    let other = Input::Disconnected {
        peer: NodeId::Broker(BrokerId(2)),
    };
    consumer.handle(Time(20), other);
    assert_eq!(
        list_offsets(&drain(&mut consumer)),
        0,
        "broker 2 had none of it"
    );
    let own = Input::Disconnected {
        peer: NodeId::Broker(BrokerId(1)),
    };
    consumer.handle(Time(30), own);
    assert_eq!(
        list_offsets(&drain(&mut consumer)),
        0,
        "not before the backoff"
    );
    assert!(consumer
        .poll_timeout()
        .is_some_and(|t| t <= Time(30 + backoff)));
    consumer.handle_timeout(Time(30 + backoff));
    assert_eq!(
        list_offsets(&drain(&mut consumer)),
        1,
        "retried after the backoff"
    );
}

/// A producer to `t` with three partitions (all led by broker 1), round-robin, no idempotence,
/// and these settings; `v0` is sent to partition 0 and in flight.
fn three_partition_producer(settings: &[(&str, ConfigValue)]) -> ProducerHarness {
    let mut all = vec![
        ("enable.idempotence", ConfigValue::Bool(false)),
        ("partitioner.class", ConfigValue::Str("round-robin".into())),
    ];
    all.extend(settings.iter().cloned());
    ProducerHarness::with(&all, 3)
}

impl ProducerHarness {
    fn send_values(&mut self, values: &[&'static str]) {
        for v in values {
            self.input(Input::Command(ClientCommand::Send {
                key: None,
                value: Bytes::from_static(v.as_bytes()),
                kind: WriteKind::Value,
            }));
        }
    }

    /// The partitions of each Produce sent and not yet answered, in order.
    fn produce_partitions(&self) -> Vec<Vec<u32>> {
        self.sent
            .iter()
            .filter_map(|m| match m {
                Message::Produce(r) => Some(r.partitions.iter().map(|p| p.tp.partition).collect()),
                _ => None,
            })
            .collect()
    }
}

/// `Sender.sendProducerData` / `RecordAccumulator.drain`: one Produce per broker carries a batch
/// of every ready partition it leads; `max.in.flight.requests.per.connection` counts requests
/// on the connection, so with 1 the batches that became ready meanwhile wait and then go
/// together.
#[test]
fn the_sender_puts_every_ready_partition_of_a_broker_in_one_request() {
    let mut h =
        three_partition_producer(&[("max.in.flight.requests.per.connection", ConfigValue::Int(1))]);
    assert_eq!(h.produce_partitions(), vec![vec![0]]);
    h.send_values(&["v1", "v2", "v3"]);
    assert_eq!(
        h.produce_partitions(),
        vec![vec![0]],
        "one request in flight on the connection: nothing more goes"
    );
    h.ack_all();
    assert_eq!(
        h.produce_partitions(),
        vec![vec![1, 2, 0]],
        "the three ready partitions go in one request, from the one after where the last \
         request started (`nodesDrainIndex`)"
    );
    let acked: usize = h.ack_all().iter().map(|(_, records)| records).sum();
    assert_eq!(acked, 3);
}

/// `max.request.size`: the batches of one request stay under it, except that the first batch
/// always goes; the rest wait for the next request.
#[test]
fn max_request_size_splits_the_ready_partitions_into_several_requests() {
    let mut h = three_partition_producer(&[
        ("max.in.flight.requests.per.connection", ConfigValue::Int(1)),
        ("max.request.size", ConfigValue::Int(30)),
    ]);
    h.send_values(&["v1", "v2"]);
    h.ack_all();
    assert_eq!(
        h.produce_partitions(),
        vec![vec![1]],
        "one 22-byte batch fits in 30 bytes, two do not"
    );
    h.ack_all();
    assert_eq!(h.produce_partitions(), vec![vec![2]]);
}
