//! Client rules, driven by hand: the idempotent producer's id, sequences and retries, and the
//! consumer's KIP-320 truncation detection.

use crate::config::{ConfigMap, ConfigValue, ConsumerConfig, ProducerConfig};
use crate::error::ErrorCode;
use crate::io::{ClientCommand, HistoryEntry, Input, Output, ResetReason};
use crate::protocol::{EpochEndOffset, FetchPartitionResponse, Message, PartitionMetadata};
use crate::record::{ProducerFields, Record, RecordBatch};
use crate::types::*;
use crate::{Consumer, Producer};
use bytes::Bytes;

fn tp() -> TopicPartition {
    TopicPartition::new(&Topic::new("t"), 0)
}

fn metadata_response(correlation_id: CorrelationId, leader_epoch: u32) -> Message {
    Message::MetadataResponse {
        correlation_id,
        brokers: vec![BrokerId(1)],
        partitions: vec![PartitionMetadata {
            tp: tp(),
            leader: Some(BrokerId(1)),
            leader_epoch: LeaderEpoch(leader_epoch),
            replicas: vec![BrokerId(1)],
            isr: vec![BrokerId(1)],
        }],
    }
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
}

impl ProducerHarness {
    fn new(idempotence: bool) -> ProducerHarness {
        let config: ConfigMap = [
            (
                "enable.idempotence".to_owned(),
                ConfigValue::Bool(idempotence),
            ),
            ("linger.ms".to_owned(), ConfigValue::Int(0)),
        ]
        .into_iter()
        .collect();
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
        };
        h.input(Input::Command(ClientCommand::Send {
            key: None,
            value: Bytes::from_static(b"v0"),
        }));
        let metadata = h.take(|m| matches!(m, Message::Metadata { .. }));
        let Message::Metadata { correlation_id } = metadata else {
            unreachable!()
        };
        h.input(from_broker(metadata_response(correlation_id, 0)));
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
            if let Output::Send { message, .. } = output {
                self.sent.push(message);
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
            .partition(|m| matches!(m, Message::Produce { .. }));
        self.sent = rest;
        produces
            .into_iter()
            .map(|m| match m {
                Message::Produce {
                    correlation_id,
                    batch,
                    ..
                } => (correlation_id, batch.producer),
                _ => unreachable!(),
            })
            .collect()
    }

    fn grant_producer_id(&mut self, id: u64) {
        let init = self.take(|m| matches!(m, Message::InitProducerId { .. }));
        let Message::InitProducerId { correlation_id } = init else {
            unreachable!()
        };
        self.input(from_broker(Message::InitProducerIdResponse {
            correlation_id,
            error: ErrorCode::NONE,
            producer_id: ProducerId(id),
            producer_epoch: 0,
        }));
    }

    fn send(&mut self, value: &'static str) {
        let value = Bytes::from_static(value.as_bytes());
        self.input(Input::Command(ClientCommand::Send { key: None, value }));
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
            .filter(|m| matches!(m, Message::Metadata { .. }))
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

#[test]
fn a_sequence_gap_with_nothing_earlier_pending_takes_a_new_producer_id() {
    let mut h = ProducerHarness::new(true);
    h.grant_producer_id(42);
    let (correlation_id, _) = h.produces()[0];
    h.input(from_broker(Message::ProduceResponse {
        correlation_id,
        tp: tp(),
        error: ErrorCode::UNKNOWN_PRODUCER_ID,
        base_offset: None,
    }));
    h.advance(1_000);
    h.grant_producer_id(43);
    h.advance(1_000);
    let resent = h.produces();
    assert_eq!(resent.len(), 1);
    assert_eq!(
        resent[0].1.map(|f| (f.producer_id, f.base_sequence)),
        Some((ProducerId(43), 0))
    );
}

#[test]
fn without_idempotence_batches_carry_no_producer_fields() {
    let mut h = ProducerHarness::new(false);
    assert!(!h
        .sent
        .iter()
        .any(|m| matches!(m, Message::InitProducerId { .. })));
    let produces = h.produces();
    assert_eq!(produces.len(), 1);
    assert_eq!(produces[0].1, None);
}

fn batch_at(offset: u64, epoch: u32, value: &'static str) -> RecordBatch {
    let record = Record {
        key: None,
        value: Bytes::from_static(value.as_bytes()),
        timestamp_ms: 0,
        headers: vec![],
    };
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
    let Some(Message::Metadata { correlation_id }) = sent.pop() else {
        panic!("{sent:?}")
    };
    step(
        &mut consumer,
        Some(from_broker(metadata_response(correlation_id, 0))),
        &mut sent,
        &mut history,
    );
    let Some(Message::ListOffsets { correlation_id, .. }) = sent.pop() else {
        panic!("{sent:?}")
    };
    let listed = Message::ListOffsetsResponse {
        correlation_id,
        tp: tp(),
        error: ErrorCode::NONE,
        offset: Offset(0),
        leader_epoch: LeaderEpoch(0),
    };
    step(
        &mut consumer,
        Some(from_broker(listed)),
        &mut sent,
        &mut history,
    );
    let fetch_answer = |sent: &mut Vec<Message>, batches, diverging_epoch| {
        let Some(Message::Fetch {
            correlation_id,
            partitions,
            ..
        }) = sent.pop()
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
            Message::FetchResponse {
                correlation_id,
                partitions: vec![response],
            },
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
    h.take(|m| matches!(m, Message::InitProducerId { .. }));
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
        .any(|m| matches!(m, Message::InitProducerId { .. })));
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
            .filter(|m| matches!(m, Message::ListOffsets { .. }))
            .count()
    };
    consumer.handle_timeout(Time(10));
    let Some(Message::Metadata { correlation_id }) = drain(&mut consumer).pop() else {
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
