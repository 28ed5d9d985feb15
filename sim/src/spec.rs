//! What a run is made of: the cluster, its workload and its faults. Built by `scenarios`.

use crate::network::NetworkConfig;
use broker_core::{
    ClusterConfig, ConsumerConfig, NodeId, ProducerConfig, Topic, TopicPartition, TopicSpec,
};
use serde::{Deserialize, Serialize};

/// Simulated disk behaviour.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskConfig {
    /// Latency of a write (append, truncate, checkpoint), uniform in [min, max].
    pub write_latency_ms: (u64, u64),
    /// Latency of an fsync, uniform in [min, max].
    pub fsync_latency_ms: (u64, u64),
    /// The OS writes dirty pages back this often (Kafka leaves flushing to the OS by default).
    pub flush_interval_ms: u64,
    /// Chance that a power failure tears the first unflushed batch of a log.
    pub tear_probability: f64,
}

/// A producer of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerSpec {
    /// Its name, e.g. `producer-1`.
    pub name: String,
    /// The topic it writes.
    pub topic: Topic,
    /// Records per second (milli-records per second, to stay integral).
    pub rate_per_s_milli: u64,
    /// Stop after this many records.
    pub records: Option<u64>,
    /// Key space size; 0 means null keys.
    pub keys: u32,
    /// What every key starts with (`k` unless the scenario says).
    pub key_prefix: String,
    /// Every this-many-th record (the n-th with n a multiple of it, counting from 1) is a
    /// tombstone of its key instead of a value; `None`: none is.
    pub tombstone_every: Option<u64>,
    /// When it starts sending.
    pub start_ms: u64,
    /// When it stops sending (the drain phase stops it anyway).
    pub stop_ms: Option<u64>,
    /// Its configuration.
    pub config: ProducerConfig,
}

/// A consumer of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerSpec {
    /// Its name, e.g. `consumer-1`.
    pub name: String,
    /// The topics it reads.
    pub topics: Vec<Topic>,
    /// When it starts.
    pub start_ms: u64,
    /// Its configuration.
    pub config: ConsumerConfig,
}

/// A fault or action injected at a time.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum FaultAction {
    /// The process dies; the OS keeps its page cache.
    Crash {
        /// The node.
        target: NodeId,
    },
    /// The machine loses power: what was not durable is gone, the last write may be torn.
    PowerFail {
        /// The node.
        target: NodeId,
    },
    /// Start a stopped process (a running one is crashed first).
    Restart {
        /// The node.
        target: NodeId,
    },
    /// Controlled shutdown (SIGTERM): leadership moves away first.
    Shutdown {
        /// The node.
        target: NodeId,
    },
    /// Freeze the process (SIGSTOP, a long GC pause): it keeps believing what it believed.
    Pause {
        /// The node.
        target: NodeId,
    },
    /// Unfreeze it.
    Resume {
        /// The node.
        target: NodeId,
    },
    /// Cut every link between nodes of different sides.
    Partition {
        /// The sides.
        sides: Vec<Vec<NodeId>>,
    },
    /// Cut every link to and from a node.
    Isolate {
        /// The node.
        target: NodeId,
    },
    /// Cut one link, one way.
    Cut {
        /// Sender side.
        from: NodeId,
        /// Receiver side.
        to: NodeId,
    },
    /// Remove all cuts and release clogged messages.
    Heal,
    /// Hold messages to and from a node.
    Clog {
        /// The node.
        target: NodeId,
    },
    /// Release them.
    Unclog {
        /// The node.
        target: NodeId,
    },
    /// A consumer joins: it starts (again) if it is not running.
    Join {
        /// The consumer.
        target: NodeId,
    },
    /// A consumer leaves: it commits, sends `LeaveGroup` and stops (`KafkaConsumer.close`).
    Leave {
        /// The consumer.
        target: NodeId,
    },
    /// A producer sends one record by hand (null key, value `<producer>:manual-<n>`).
    Produce {
        /// The producer.
        target: NodeId,
    },
    /// An operator's `Admin.deleteRecords` (KIP-107), sent to the partition's leader when it
    /// happens (nothing happens while it has none, or its leader is down: the broker's answer,
    /// `Event::RecordsDeleted`, is in the trace when it ran).
    DeleteRecords {
        /// The partition.
        tp: TopicPartition,
        /// Where its log start moves.
        to: broker_core::DeleteRecordsTo,
    },
    /// A process or link fault on whoever holds `role` when it happens (a dynamic target);
    /// `restart`, `resume` and `unclog` act on the node the role's last fault hit, so a
    /// crash and a restart of `leader:orders-0` bounce one broker, as Kafka's system tests do.
    /// The trace names the node (`TraceKind::RoleResolved`), or says nobody held the role.
    OnRole {
        /// What to do to it.
        fault: RoleFault,
        /// Whom.
        role: Role,
    },
}

/// A role a fault can target instead of a node, resolved when the fault happens.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "kebab-case")]
pub enum Role {
    /// The active controller (`World::active_controller`), written `active-controller`.
    ActiveController,
    /// The leader of a partition (`World::partition_leader`), written `leader:orders-0`.
    Leader {
        /// The partition.
        tp: TopicPartition,
    },
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Role::ActiveController => f.write_str("active-controller"),
            Role::Leader { tp } => write!(f, "leader:{tp}"),
        }
    }
}

/// The faults a role can be the target of: those on one process or its links.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleFault {
    /// [`FaultAction::Crash`].
    Crash,
    /// [`FaultAction::PowerFail`].
    PowerFail,
    /// [`FaultAction::Restart`] of the node the role's last fault hit.
    Restart,
    /// [`FaultAction::Shutdown`].
    Shutdown,
    /// [`FaultAction::Pause`].
    Pause,
    /// [`FaultAction::Resume`] of the node the role's last fault hit.
    Resume,
    /// [`FaultAction::Isolate`].
    Isolate,
    /// [`FaultAction::Clog`].
    Clog,
    /// [`FaultAction::Unclog`] of the node the role's last fault hit.
    Unclog,
}

impl RoleFault {
    /// The same fault on a node.
    pub fn on(self, target: NodeId) -> FaultAction {
        match self {
            RoleFault::Crash => FaultAction::Crash { target },
            RoleFault::PowerFail => FaultAction::PowerFail { target },
            RoleFault::Restart => FaultAction::Restart { target },
            RoleFault::Shutdown => FaultAction::Shutdown { target },
            RoleFault::Pause => FaultAction::Pause { target },
            RoleFault::Resume => FaultAction::Resume { target },
            RoleFault::Isolate => FaultAction::Isolate { target },
            RoleFault::Clog => FaultAction::Clog { target },
            RoleFault::Unclog => FaultAction::Unclog { target },
        }
    }

    /// Whether it undoes an earlier fault, and so goes to the node that fault hit rather than
    /// to the role's holder now (who, after a crash of the leader, is somebody else).
    pub fn undoes(self) -> bool {
        matches!(
            self,
            RoleFault::Restart | RoleFault::Resume | RoleFault::Unclog
        )
    }

    /// The kebab-case name, as in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleFault::Crash => "crash",
            RoleFault::PowerFail => "power-fail",
            RoleFault::Restart => "restart",
            RoleFault::Shutdown => "shutdown",
            RoleFault::Pause => "pause",
            RoleFault::Resume => "resume",
            RoleFault::Isolate => "isolate",
            RoleFault::Clog => "clog",
            RoleFault::Unclog => "unclog",
        }
    }
}

/// A fault at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSpec {
    /// When.
    pub at_ms: u64,
    /// What.
    pub action: FaultAction,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct WorldSpec {
    /// The seed of every random choice.
    pub seed: u64,
    /// Number of brokers (`broker-1`..).
    pub brokers: u32,
    /// Number of controllers (`controller-1`..), the voters of the metadata quorum: 1 runs
    /// the single-node metadata log, more the KRaft quorum.
    pub controllers: u32,
    /// Broker and controller configuration.
    pub cluster: ClusterConfig,
    /// Topics created at start.
    pub topics: Vec<TopicSpec>,
    /// Producers.
    pub producers: Vec<ProducerSpec>,
    /// Consumers.
    pub consumers: Vec<ConsumerSpec>,
    /// The network.
    pub network: NetworkConfig,
    /// The disks.
    pub disk: DiskConfig,
    /// Faults, in any order.
    pub faults: Vec<FaultSpec>,
    /// Length of the main phase.
    pub duration_ms: u64,
    /// Length of the drain phase (heal, restart, stop producers, let consumers catch up).
    pub drain_ms: u64,
    /// Record every message in the trace (for the UI's message flow); off for speed.
    pub trace_messages: bool,
    /// Stop after this many events (a bound against runaway runs); a run stopped so is cut
    /// short (`World::cut_short`) and judged `livelock`.
    pub events_max: u64,
    /// Stop when one simulated millisecond holds this many events: time stands still
    /// (`watchdog::STILL_EVENTS_MAX`).
    pub still_events_max: u64,
}

/// The id of the client at `index` in the order producers then consumers: the one numbering
/// the world and the scenario builder share.
pub fn client_id(index: usize) -> NodeId {
    NodeId::Client(broker_core::ClientId(index as u32 + 1))
}

impl WorldSpec {
    /// The producer or consumer spec behind a client id (see [`client_id`]).
    pub fn client(&self, id: broker_core::ClientId) -> Client<'_> {
        let index = id.0 as usize - 1;
        match self.producers.get(index) {
            Some(p) => Client::Producer(p),
            None => Client::Consumer(&self.consumers[index - self.producers.len()]),
        }
    }
}

/// A client's spec.
#[derive(Clone, Copy, Debug)]
pub enum Client<'a> {
    /// A producer.
    Producer(&'a ProducerSpec),
    /// A consumer.
    Consumer(&'a ConsumerSpec),
}
