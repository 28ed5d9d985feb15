//! The trace: every event that matters, with its time, as serde JSON lines, and the run's
//! fingerprint, a hash over everything that happened.

use crate::spec::{FaultAction, Role, RoleFault};
use broker_core::{Event, Message, NodeId, Offset, Record, RecordBatch, Time, TopicPartition};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What a trace entry records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TraceKind {
    /// A teaching event a node reported.
    Event {
        /// The event.
        event: Event,
    },
    /// A fault was injected.
    Fault {
        /// The fault.
        fault: FaultAction,
    },
    /// A fault named a role (`FaultAction::OnRole`): the node it went to, recorded just
    /// before that node's fault; `None` when nobody held the role, and the fault did nothing.
    RoleResolved {
        /// The fault.
        fault: RoleFault,
        /// The role.
        role: Role,
        /// Who held it (or, for `restart`/`resume`/`unclog`, whom its last fault hit).
        node: Option<NodeId>,
    },
    /// A process started (or restarted).
    ProcessStarted,
    /// A process stopped after a controlled shutdown.
    ProcessStopped,
    /// A message was sent (only when message tracing is on).
    Sent {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: Arc<str>,
        /// A short description.
        summary: Arc<str>,
        /// The records it carries: a `Produce`'s batch, a `FetchResponse`'s batches (empty for
        /// every other message, and then left out of the JSON).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        records: Vec<TracedBatch>,
    },
    /// A message was dropped by the network.
    Dropped {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: Arc<str>,
        /// Why.
        reason: Arc<str>,
    },
    /// A phase began.
    Phase {
        /// `main`, `drain` or `check`.
        name: String,
    },
}

/// A batch of records a traced message carries, for `run --trace` and the UI: the batch itself,
/// shared with the logs (a pointer, not a copy, so tracing every message stays cheap). In JSON
/// it is `{"tp", "records": [{"offset", "key", "value"}]}`, key and value as text (`null` for a
/// null key); a `Produce`'s records have no offset yet (the leader assigns it), so none is
/// written. Read back, a batch keeps its keys, values and offsets, not its timestamps or
/// producer fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracedBatch {
    /// The partition.
    pub tp: TopicPartition,
    /// The batch.
    pub batch: RecordBatch,
    /// Whether the batch's offsets are assigned (it comes from a log, not from a producer).
    pub has_offsets: bool,
}

impl TracedBatch {
    /// The batches `message` carries: a `Produce`'s, or each partition's of a `FetchResponse`.
    pub fn of(message: &Message) -> Vec<TracedBatch> {
        match message {
            Message::Produce(broker_core::ProduceRequest { partitions, .. }) => partitions
                .iter()
                .map(|p| TracedBatch {
                    tp: p.tp.clone(),
                    batch: p.batch.clone(),
                    has_offsets: false,
                })
                .collect(),
            Message::FetchResponse(broker_core::FetchResponse { partitions, .. }) => partitions
                .iter()
                .flat_map(|p| {
                    p.batches.iter().map(|batch| TracedBatch {
                        tp: p.tp.clone(),
                        batch: batch.clone(),
                        has_offsets: true,
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A record of a traced batch as JSON has it.
#[derive(Serialize, Deserialize)]
struct TracedRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    key: Option<String>,
    /// `null` for a tombstone.
    value: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct TracedBatchJson {
    tp: TopicPartition,
    records: Vec<TracedRecord>,
}

fn text(bytes: &Bytes) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Serialize for TracedBatch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Offsets from the batch's positions: a cleaned batch has gaps.
        let records = self
            .batch
            .records_with_offsets()
            .map(|(offset, r)| TracedRecord {
                offset: self.has_offsets.then_some(offset.0),
                key: r.key.as_ref().map(text),
                value: r.value.as_ref().map(text),
            })
            .collect();
        TracedBatchJson {
            tp: self.tp.clone(),
            records,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TracedBatch {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = TracedBatchJson::deserialize(deserializer)?;
        let first = json.records.first().map(|r| r.offset);
        let records: Vec<Record> = json
            .records
            .into_iter()
            .map(|r| match r.value {
                Some(value) => Record::new(r.key.map(Bytes::from), value, 0),
                None => Record::tombstone(r.key.map(Bytes::from), Bytes::new(), 0),
            })
            .collect();
        if records.is_empty() {
            return Err(serde::de::Error::custom(
                "a traced batch holds at least one record",
            ));
        }
        let mut batch = RecordBatch::new(None, records);
        let has_offsets = matches!(first, Some(Some(_)));
        if let Some(Some(base)) = first {
            batch.base_offset = Offset(base);
        }
        Ok(TracedBatch {
            tp: json.tp,
            batch,
            has_offsets,
        })
    }
}

/// Traced batches are never fingerprinted (message tracing does not change a run); this hash
/// is for `TraceKind`'s derive.
impl std::hash::Hash for TracedBatch {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.tp.hash(state);
        self.batch.base_offset.hash(state);
        self.batch.crc.hash(state);
    }
}

/// One trace entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TraceEntry {
    /// When.
    pub time: Time,
    /// Which node it concerns.
    pub node: Option<NodeId>,
    /// What.
    pub kind: TraceKind,
}

/// FNV-1a over 64 bits: stable across platforms and releases, unlike `DefaultHasher`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Mix in bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Mix in a number.
    pub fn u64(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }

    /// Mix in a value through its `Hash`, without serializing it.
    pub fn value(&mut self, value: &impl std::hash::Hash) {
        value.hash(self);
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Integers go in little-endian and `usize` as 64 bits, so a fingerprint is the same on every
/// platform (the default `Hasher` methods use native byte order).
impl std::hash::Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
    fn write_u8(&mut self, n: u8) {
        self.bytes(&[n]);
    }
    fn write_u16(&mut self, n: u16) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_u32(&mut self, n: u32) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_u64(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }
    fn write_usize(&mut self, n: usize) {
        self.u64(n as u64);
    }
    fn write_isize(&mut self, n: isize) {
        self.u64(n as i64 as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{Acks, CorrelationId, Topic};

    fn record(key: Option<&'static str>, value: &'static str) -> Record {
        Record::new(
            key.map(|k| Bytes::from_static(k.as_bytes())),
            Bytes::from_static(value.as_bytes()),
            7,
        )
    }

    /// `run --trace` shows the key and value of every record a Produce carries (issue 15: no
    /// view, report or trace showed a key).
    #[test]
    fn a_traced_produce_shows_each_records_key_and_value() {
        let tp = TopicPartition::new(&Topic::new("orders"), 1);
        let batch = RecordBatch::new(
            None,
            vec![
                record(Some("k3"), "producer-1:0"),
                record(None, "producer-1:1"),
            ],
        );
        let message = Message::Produce(broker_core::ProduceRequest {
            correlation_id: CorrelationId(1),
            acks: Acks::All,
            timeout_ms: 30_000,
            partitions: vec![broker_core::PartitionProduceData {
                tp: tp.clone(),
                batch,
            }],
        });
        let traced = TracedBatch::of(&message);
        let json = serde_json::to_value(&traced).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!([{ "tp": serde_json::to_value(&tp).unwrap(), "records": [
                { "key": "k3", "value": "producer-1:0" },
                { "key": null, "value": "producer-1:1" },
            ] }])
        );
        let back: Vec<TracedBatch> = serde_json::from_value(json).expect("reads back");
        assert_eq!(back[0].batch.records[0].key.as_deref(), Some(&b"k3"[..]));
        assert!(!back[0].has_offsets);
    }

    /// A batch the cleaner thinned keeps its offsets with a gap (issue 17): the trace writes
    /// each record's own offset, not base + index.
    #[test]
    fn a_traced_cleaned_batch_shows_its_offsets_with_gaps() {
        let tp = TopicPartition::new(&Topic::new("changelog"), 0);
        let mut batch = RecordBatch::new(
            None,
            vec![
                record(Some("a"), "a1"),
                record(Some("b"), "b1"),
                record(Some("a"), "a2"),
            ],
        );
        batch.base_offset = broker_core::Offset(10);
        let cleaned = batch
            .retain(|_, r| r.value.as_deref() != Some(&b"a1"[..]))
            .expect("two records kept");
        let traced = TracedBatch {
            tp,
            batch: cleaned,
            has_offsets: true,
        };
        let json = serde_json::to_value(&traced).expect("serializes");
        let offsets: Vec<u64> = json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["offset"].as_u64().unwrap())
            .collect();
        assert_eq!(offsets, vec![11, 12]);
    }

    /// Recorded fingerprints stay comparable only if the hash never changes: pin it.
    #[test]
    fn the_fingerprint_hash_is_pinned() {
        let mut empty = Fingerprint::default();
        assert_eq!(empty.hex(), "cbf29ce484222325", "FNV-1a offset basis");
        empty.bytes(b"a");
        assert_eq!(empty.hex(), "af63dc4c8601ec8c", "FNV-1a of \"a\"");
        let mut value = Fingerprint::default();
        value.value(&(7u32, "x", 3usize));
        let mut by_hand = Fingerprint::default();
        by_hand.bytes(&7u32.to_le_bytes());
        by_hand.bytes(b"x");
        by_hand.bytes(&[0xff]);
        by_hand.bytes(&3u64.to_le_bytes());
        assert_eq!(value, by_hand, "integers little-endian, usize as 64 bits");
    }
}
