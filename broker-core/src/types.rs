//! Newtypes for the quantities of the protocol, so an offset is never mistaken for an epoch.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Virtual time in milliseconds since the start of a run. Only drivers mint it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Time(pub u64);

impl Time {
    /// This time plus `ms` milliseconds.
    pub fn plus_ms(self, ms: u64) -> Time {
        Time(self.0.saturating_add(ms))
    }
    /// Milliseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn ms_since(self, earlier: Time) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

macro_rules! newtype {
    ($(#[$m:meta])* $name:ident($inner:ty)) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

newtype!(
    /// A broker's `node.id` (1-based, as in the scenario names `broker-1`..).
    BrokerId(u32)
);
newtype!(
    /// A controller's `node.id` (`controller-1`..).
    ControllerId(u32)
);
newtype!(
    /// A client (producer or consumer) of the simulation.
    ClientId(u32)
);
newtype!(
    /// A position in a partition log. Log end offset (LEO) and high watermark (HW) are exclusive.
    Offset(u64)
);
newtype!(
    /// The epoch of a partition's leadership; bumped by the controller on every leader change.
    LeaderEpoch(u32)
);
newtype!(
    /// The version of a partition's state (ISR, leader); bumped on every change (KIP-497).
    PartitionEpoch(u32)
);
newtype!(
    /// The epoch of a broker's registration: the metadata offset of its registration record.
    BrokerEpoch(u64)
);
newtype!(
    /// The id of an idempotent producer, assigned by `InitProducerId`.
    ProducerId(u64)
);
newtype!(
    /// A correlation id pairing a request with its response on one connection.
    CorrelationId(u64)
);
newtype!(
    /// Pairs a disk operation with its completion.
    DiskOpId(u64)
);

impl Offset {
    /// The next offset.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
    /// This offset plus `n`.
    pub fn plus(self, n: u64) -> Offset {
        Offset(self.0 + n)
    }
}

impl LeaderEpoch {
    /// The next epoch.
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

impl PartitionEpoch {
    /// The next epoch.
    pub fn next(self) -> PartitionEpoch {
        PartitionEpoch(self.0 + 1)
    }
}

/// Any node of the simulated world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NodeId {
    /// A KRaft controller.
    Controller(ControllerId),
    /// A broker.
    Broker(BrokerId),
    /// A producer or consumer client.
    Client(ClientId),
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Controller(id) => write!(f, "controller-{id}"),
            NodeId::Broker(id) => write!(f, "broker-{id}"),
            NodeId::Client(id) => write!(f, "client-{id}"),
        }
    }
}

/// A topic name. Cheap to clone.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Topic(pub Arc<str>);

// Hashes the name, as equal names (whatever their allocation) are equal topics.
impl std::hash::Hash for Topic {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

// Partition maps are searched on every message; the names nearly always share one allocation
// (cloned from the metadata), so comparing pointers first skips most string comparisons.
impl PartialEq for Topic {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for Topic {}

impl PartialOrd for Topic {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Topic {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl Topic {
    /// A topic of this name.
    pub fn new(name: &str) -> Topic {
        Topic(Arc::from(name))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A partition of a topic, written `orders-0` as Kafka does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicPartition {
    /// The topic.
    pub topic: Topic,
    /// The partition index within the topic.
    pub partition: u32,
}

impl TopicPartition {
    /// Partition `partition` of `topic`.
    pub fn new(topic: &Topic, partition: u32) -> TopicPartition {
        TopicPartition {
            topic: topic.clone(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}
