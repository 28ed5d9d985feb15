//! The scenario file format (docs/scenario-format.md, checked against these types by
//! `doc_check.rs`). Every table rejects unknown keys.

use broker_core::{ConfigMap, ProtocolSwitches};
use serde::{Deserialize, Serialize};
use sim::FindingKind;
use std::collections::BTreeSet;

/// A scenario: a cluster, its workload, a fault schedule, narration and the expected verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Kebab-case. A scenario read from a `NAME.toml` file is named `NAME`, whatever this key
    /// says (so a copied file needs no edit); elsewhere (`--set` round trips, generated cases)
    /// the key is required.
    #[serde(default)]
    pub name: String,
    /// One line for `kafka-lab list` and the UI.
    pub title: String,
    /// A few sentences: what happens and what it shows.
    #[serde(default)]
    pub summary: String,
    /// The seed of every source of chance (default 1; `--seed` overrides).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How long faults and workload run, in simulated milliseconds.
    pub duration_ms: u64,
    /// The drain phase after `duration_ms` (default 30 000).
    #[serde(default = "default_drain_ms")]
    pub drain_ms: u64,
    /// The brokers, controllers and their config.
    pub cluster: Cluster,
    /// Historical protocol switches (default: today's Kafka).
    #[serde(default)]
    pub protocol: Protocol,
    /// The simulated network.
    #[serde(default)]
    pub network: Network,
    /// The simulated disks.
    #[serde(default)]
    pub disk: Disk,
    /// Topics created at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicSpec>,
    /// Producer clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub producers: Vec<ProducerSpec>,
    /// Consumer clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<ConsumerSpec>,
    /// The fault schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// Narration for the UI.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub captions: Vec<Caption>,
    /// The verdict `kafka-lab run` checks (default: a clean run).
    #[serde(default)]
    pub expect: Expect,
    /// The `--set`s applied to it, in order (not part of the file format: a written scenario
    /// holds their values). See [`crate::Override`].
    #[serde(skip)]
    pub overrides: Vec<crate::Override>,
}

fn default_seed() -> u64 {
    1
}

fn default_drain_ms() -> u64 {
    30_000
}

/// `[cluster]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Number of brokers, named `broker-1` .. `broker-N` (at least 1).
    pub brokers: u32,
    /// Number of controllers, named `controller-1` .. (default 1).
    #[serde(default = "default_controllers")]
    pub controllers: u32,
    /// Broker config (`server.properties`), checked by `broker_core::ClusterConfig::parse`.
    #[serde(default)]
    pub config: ConfigMap,
}

fn default_controllers() -> u32 {
    1
}

/// How followers truncate (`[protocol] truncation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Truncation {
    /// Today: leader epochs (KIP-101/279/320).
    #[default]
    LeaderEpoch,
    /// Before Kafka 0.11: truncate to the follower's own high watermark.
    HighWatermark,
}

impl From<Truncation> for broker_core::Truncation {
    fn from(t: Truncation) -> Self {
        match t {
            Truncation::LeaderEpoch => broker_core::Truncation::LeaderEpoch,
            Truncation::HighWatermark => broker_core::Truncation::HighWatermark,
        }
    }
}

/// `[protocol]`: historical behaviour as switches; the defaults are today's Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Protocol {
    /// How followers find where their log diverged.
    pub truncation: Truncation,
    /// KAFKA-15583: the HW does not advance while the ISR is below min ISR.
    pub hw_requires_min_isr: bool,
    /// KAFKA-7128: a follower joins the ISR only after reaching the leader's epoch start.
    pub isr_join_requires_epoch_start: bool,
    /// KIP-966 part 1: eligible leader replicas (on by default for new clusters since 4.1).
    pub eligible_leader_replicas: bool,
    /// KIP-996: a controller asks for pre-votes before it bumps the epoch (on since 4.0).
    pub pre_vote: bool,
}

impl Default for Protocol {
    fn default() -> Self {
        let today = ProtocolSwitches::default();
        Protocol {
            truncation: Truncation::LeaderEpoch,
            hw_requires_min_isr: today.hw_requires_min_isr,
            isr_join_requires_epoch_start: today.isr_join_requires_epoch_start,
            eligible_leader_replicas: today.eligible_leader_replicas,
            pre_vote: today.pre_vote,
        }
    }
}

impl Protocol {
    /// The switches for broker-core.
    pub fn switches(&self) -> ProtocolSwitches {
        ProtocolSwitches {
            truncation: self.truncation.into(),
            hw_requires_min_isr: self.hw_requires_min_isr,
            isr_join_requires_epoch_start: self.isr_join_requires_epoch_start,
            eligible_leader_replicas: self.eligible_leader_replicas,
            pre_vote: self.pre_vote,
        }
    }
}

/// `[network]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Network {
    /// One-way delay, uniform in `[min, max]` milliseconds (default `[1, 5]`).
    pub latency_ms: [u64; 2],
    /// Probability that a message is dropped (default 0).
    pub drop_rate: f64,
    /// Probability that a message is delivered twice (default 0).
    pub duplicate_rate: f64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency_ms: [1, 5],
            drop_rate: 0.0,
            duplicate_rate: 0.0,
        }
    }
}

/// `[disk]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Disk {
    /// Latency of a write into the page cache, `[min, max]` ms (default `[0, 1]`).
    pub write_latency_ms: [u64; 2],
    /// Latency of an fsync, `[min, max]` ms (default `[1, 10]`).
    pub fsync_latency_ms: [u64; 2],
    /// The OS writes dirty pages back after this long (default 5000).
    pub flush_interval_ms: u64,
    /// Chance that a power failure tears the last unflushed batch (default 0.5).
    pub tear_probability: f64,
}

impl Default for Disk {
    fn default() -> Self {
        Disk {
            write_latency_ms: [0, 1],
            fsync_latency_ms: [1, 10],
            flush_interval_ms: 5000,
            tear_probability: 0.5,
        }
    }
}

/// `[[topics]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The topic name (Kafka's legal characters: letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// Number of partitions (at least 1).
    pub partitions: u32,
    /// Replicas per partition (1 ..= brokers).
    pub replication_factor: u32,
    /// Optional replica lists by broker number, one per partition; the first is the preferred
    /// leader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<Vec<Vec<u32>>>,
    /// Topic config overrides, checked by `broker_core::TopicConfig::parse`.
    #[serde(default, skip_serializing_if = "ConfigMap::is_empty")]
    pub config: ConfigMap,
}

/// `[[producers]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProducerSpec {
    /// Node name: unique, kebab-case.
    pub name: String,
    /// The topic it writes to.
    pub topic: String,
    /// Records per simulated second (> 0).
    pub rate_per_s: f64,
    /// Stop after this many records (optional cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
    /// Key space `k0 ..`; 0 means null keys (default 0).
    #[serde(default)]
    pub keys: u32,
    /// What every key starts with (default `k`: keys `k0 ..`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// Every this-many-th record is a tombstone (a null value) of its key (optional; needs
    /// `keys`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstone_every: Option<u64>,
    /// When it starts sending (default 0).
    #[serde(default)]
    pub start_ms: u64,
    /// When it stops sending (optional; the drain phase stops it anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_ms: Option<u64>,
    /// Producer config, checked by `broker_core::ProducerConfig::parse`.
    #[serde(default, skip_serializing_if = "ConfigMap::is_empty")]
    pub config: ConfigMap,
}

/// `[[consumers]]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerSpec {
    /// Node name: unique, kebab-case.
    pub name: String,
    /// The topics it reads.
    pub topics: Vec<String>,
    /// Consumer group; without one the consumer is assigned every partition of its topics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// When it starts (default 0; a consumer that is the target of a `join` starts then).
    #[serde(default)]
    pub start_ms: u64,
    /// Simulated processing time per record polled, in ms (default 0): with it a crash can
    /// fall between processing and commit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub processing_ms_per_record: u64,
    /// Consumer config, checked by `broker_core::ConsumerConfig::parse`.
    #[serde(default, skip_serializing_if = "ConfigMap::is_empty")]
    pub config: ConfigMap,
}

/// What a fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// Kill the process of `target`; the OS page cache survives.
    Crash,
    /// Cut the power of `target`: data not yet durable is lost, the last write may tear.
    PowerFail,
    /// Start `target` again after a crash, power failure or shutdown.
    Restart,
    /// Clean (controlled) shutdown of `target`.
    Shutdown,
    /// Freeze `target`'s process (it keeps believing what it believed).
    Pause,
    /// Unfreeze `target`.
    Resume,
    /// Split the network into `sides` that cannot reach each other.
    Partition,
    /// Cut every link of `target`.
    Isolate,
    /// Cut the one-way link `from` → `to`.
    Cut,
    /// Heal every network fault.
    Heal,
    /// Hold messages to and from `target` (delivered at `unclog`).
    Clog,
    /// Deliver what was held for `target`.
    Unclog,
    /// Start consumer `target` (scale a group up).
    Join,
    /// Close consumer `target`: commit, `LeaveGroup`, stop (scale a group down).
    Leave,
    /// Producer `target` sends one record (null key, value `<producer>:manual-<n>`).
    Produce,
    /// `Admin.deleteRecords` (KIP-107): the leader of `partition` moves its log start to
    /// `offset` (`-1`: its high watermark).
    DeleteRecords,
}

impl FaultAction {
    /// The kebab-case name, as written in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultAction::Crash => "crash",
            FaultAction::PowerFail => "power-fail",
            FaultAction::Restart => "restart",
            FaultAction::Shutdown => "shutdown",
            FaultAction::Pause => "pause",
            FaultAction::Resume => "resume",
            FaultAction::Partition => "partition",
            FaultAction::Isolate => "isolate",
            FaultAction::Cut => "cut",
            FaultAction::Heal => "heal",
            FaultAction::Clog => "clog",
            FaultAction::Unclog => "unclog",
            FaultAction::Join => "join",
            FaultAction::Leave => "leave",
            FaultAction::Produce => "produce",
            FaultAction::DeleteRecords => "delete-records",
        }
    }

    /// Which of `target`, `sides` and `from`/`to` this action takes.
    pub fn operands(self) -> Operands {
        match self {
            FaultAction::Partition => Operands::Sides,
            FaultAction::Cut => Operands::FromTo,
            FaultAction::Heal => Operands::None,
            FaultAction::DeleteRecords => Operands::PartitionOffset,
            _ => Operands::Target,
        }
    }
}

/// The fields a fault action needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operands {
    /// `target` (a node name).
    Target,
    /// `sides` (lists of node names).
    Sides,
    /// `from` and `to` (node names).
    FromTo,
    /// `partition` (`TOPIC-P`) and `offset`.
    PartitionOffset,
    /// Nothing.
    None,
}

/// `[[faults]]`: one fault at one time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// When, in simulated ms (at most `duration_ms`).
    pub at_ms: u64,
    /// What.
    pub action: FaultAction,
    /// The node, for process faults, `isolate`, `clog` and `unclog`. Or a dynamic target,
    /// resolved when the fault happens: `active-controller`, or `leader:TOPIC-P` (the leader of
    /// that partition); `restart`, `resume` and `unclog` of one act on the node its last fault
    /// hit (see `target.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The sides of a `partition`: nodes on different sides cannot reach each other; nodes on no
    /// side keep their links.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sides: Option<Vec<Vec<String>>>,
    /// The sending end of a `cut`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The receiving end of a `cut`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The partition of a `delete-records`, `TOPIC-P`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// The offset of a `delete-records`: records below it go; `-1` for the high watermark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

/// `[[captions]]`: narration the UI shows from `at_ms` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caption {
    /// When, in simulated ms.
    pub at_ms: u64,
    /// The text.
    pub text: String,
}

/// `[expect]`: the verdict of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The exact set of finding kinds the checker must report; empty means a clean run.
    #[serde(default)]
    pub findings: BTreeSet<FindingKind>,
}

impl Scenario {
    /// Every node name: brokers, controllers, producers, consumers, in that order.
    pub fn nodes(&self) -> Vec<String> {
        let mut nodes: Vec<String> = (1..=self.cluster.brokers)
            .map(|i| format!("broker-{i}"))
            .collect();
        nodes.extend((1..=self.cluster.controllers).map(|i| format!("controller-{i}")));
        nodes.extend(self.producers.iter().map(|p| p.name.clone()));
        nodes.extend(self.consumers.iter().map(|c| c.name.clone()));
        nodes
    }

    /// The scenario as a TOML document (what `parse` reads back).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a scenario always serializes to TOML")
    }
}

impl ConsumerSpec {
    /// Whether it reads through a consumer group: `group`, or `group.id` in its config.
    pub fn in_group(&self) -> bool {
        self.group.is_some() || self.config.contains_key("group.id")
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
