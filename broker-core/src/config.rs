//! Configuration by Kafka's own names, units and defaults, validated at construction.
//!
//! As in Kafka's properties files a value may be a string or a TOML number or boolean:
//! `acks = "all"`, `acks = "1"`, `acks = 1` and `acks = -1` all work. Unlike Kafka, an unknown key
//! is an error: a lab should not let a typo pass.

use crate::protocol::Acks;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A config value as written in a scenario file or on the command line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConfigValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string, parsed by the key's type.
    Str(String),
}

impl std::fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Str(s) => write!(f, "\"{s}\""),
        }
    }
}

/// Config keys to values.
pub type ConfigMap = BTreeMap<String, ConfigValue>;

/// A config that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The key is not a config of this kind of node.
    #[error("unknown config key `{key}` (valid keys: {valid})")]
    UnknownKey {
        /// The key.
        key: String,
        /// The keys that are valid here.
        valid: String,
    },
    /// The value does not fit the key.
    #[error("config `{key}`: {message}")]
    InvalidValue {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The longest name a config may give (`group.id`, `client.id`, `group.instance.id`): Kafka's
/// limit on a topic name (`Topic.MAX_NAME_LENGTH`), which the lab applies to every name here.
pub const NAME_LEN_MAX: usize = 249;

/// The most partitions a topic created at runtime may have: the lab allocates every partition's
/// state, so a request's count is bounded before anything is sized by it (Kafka has no limit
/// but memory).
pub const TOPIC_PARTITIONS_MAX: u32 = 1000;

/// Reads typed values out of a `ConfigMap` and rejects keys nobody read.
pub(crate) struct Reader<'a> {
    map: &'a ConfigMap,
    known: BTreeSet<&'static str>,
}

impl<'a> Reader<'a> {
    fn new(map: &'a ConfigMap) -> Self {
        Reader {
            map,
            known: BTreeSet::new(),
        }
    }

    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::InvalidValue {
            key: key.to_owned(),
            message: message.into(),
        }
    }

    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'a ConfigValue> {
        self.known.insert(key);
        self.map.get(key)
    }

    pub(crate) fn int(
        &mut self,
        key: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<i64, ConfigError> {
        let value = match self.raw(key) {
            None => return Ok(default),
            Some(ConfigValue::Int(i)) => *i,
            Some(ConfigValue::Str(s)) => s
                .trim()
                .parse()
                .map_err(|_| Self::invalid(key, format!("expected an integer, got \"{s}\"")))?,
            Some(other) => {
                return Err(Self::invalid(
                    key,
                    format!("expected an integer, got {other}"),
                ))
            }
        };
        if value < min || value > max {
            return Err(Self::invalid(
                key,
                format!("{value} is out of range {min}..={max}"),
            ));
        }
        Ok(value)
    }

    /// A duration Kafka defines as `Type.INT` with `atLeast(0)`: 0 to `Integer.MAX_VALUE`.
    /// Kafka's own configs without a validator also go through here: the lab's times are
    /// unsigned, so a negative one is an error rather than "never" or "at once".
    fn ms(&mut self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        self.ms_at_least(key, default, 0)
    }

    /// A duration defined as `Type.INT` with `atLeast(min)`.
    fn ms_at_least(
        &mut self,
        key: &'static str,
        default: u64,
        min: i64,
    ) -> Result<u64, ConfigError> {
        Ok(self.int(key, default as i64, min, i64::from(i32::MAX))? as u64)
    }

    /// A duration defined as `Type.LONG` with `atLeast(0)`: 0 to `Long.MAX_VALUE`.
    fn long_ms(&mut self, key: &'static str, default: u64) -> Result<u64, ConfigError> {
        Ok(self.int(key, default as i64, 0, i64::MAX)? as u64)
    }

    fn bool(&mut self, key: &'static str, default: bool) -> Result<Option<bool>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some(ConfigValue::Bool(b)) => Ok(Some(*b)),
            Some(ConfigValue::Str(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(ConfigValue::Str(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(Self::invalid(
                key,
                format!("expected true or false, got {other}"),
            )),
        }
        .map(|explicit| explicit.or(Some(default)))
    }

    fn flag(&mut self, key: &'static str, default: bool) -> Result<bool, ConfigError> {
        Ok(self.bool(key, default)?.unwrap_or(default))
    }

    fn choice(
        &mut self,
        key: &'static str,
        default: &'static str,
        choices: &[&'static str],
    ) -> Result<&'static str, ConfigError> {
        let text = match self.raw(key) {
            None => return Ok(default),
            Some(ConfigValue::Str(s)) => s.clone(),
            Some(other) => other.to_string(),
        };
        choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(&text))
            .copied()
            .ok_or_else(|| {
                Self::invalid(
                    key,
                    format!("\"{text}\" is not one of {}", choices.join(", ")),
                )
            })
    }

    fn optional_str(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            // Kafka sets no length on `group.id`, `client.id` or `group.instance.id`; the lab
            // does, as for every name (they label each record and history entry of a run).
            Some(ConfigValue::Str(s)) if s.trim().len() > NAME_LEN_MAX => Err(Self::invalid(
                key,
                format!(
                    "a name of {} bytes is longer than the lab's limit of {NAME_LEN_MAX}",
                    s.trim().len()
                ),
            )),
            Some(ConfigValue::Str(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(other) => Err(Self::invalid(key, format!("expected a name, got {other}"))),
        }
    }

    fn finish(self) -> Result<(), ConfigError> {
        for key in self.map.keys() {
            if !self.known.contains(key.as_str()) {
                let valid = self.known.iter().copied().collect::<Vec<_>>().join(", ");
                return Err(ConfigError::UnknownKey {
                    key: key.clone(),
                    valid,
                });
            }
        }
        Ok(())
    }
}

/// How a follower finds where its log diverged from the leader's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Truncation {
    /// Today: leader epochs (KIP-101, KIP-279, KIP-320; in the fetch itself since KAFKA-10554).
    LeaderEpoch,
    /// Before Kafka 0.11: a follower truncates to its own high watermark.
    HighWatermark,
}

/// Historical protocol behaviour as switches; the defaults are today's Kafka (4.x).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolSwitches {
    /// How followers truncate.
    pub truncation: Truncation,
    /// KAFKA-15583 (3.7): the HW does not advance while the ISR is below min ISR.
    pub hw_requires_min_isr: bool,
    /// KAFKA-7128: a follower joins the ISR only after reaching the start of the leader's epoch.
    pub isr_join_requires_epoch_start: bool,
    /// KIP-966 part 1 (`eligible.leader.replicas.version=1`, on by default for new clusters since
    /// 4.1): the controller keeps eligible leader replicas and may empty the ISR.
    pub eligible_leader_replicas: bool,
    /// KIP-996 (on since Kafka 4.0): a controller whose election timer fires first asks for
    /// pre-votes (`ProspectiveState`) and bumps the epoch only when a majority would elect it.
    /// Off, it becomes a candidate at once, and a voter cut off from a healthy leader comes
    /// back with a higher epoch and deposes it.
    pub pre_vote: bool,
}

impl ProtocolSwitches {
    /// The switches set to a historical behaviour, each named by the change that ended it
    /// (`pre-KIP-966`); empty for today's protocol.
    pub fn historical(&self) -> Vec<&'static str> {
        let today = ProtocolSwitches::default();
        [
            (self.truncation != today.truncation, "pre-KIP-101"),
            (
                self.hw_requires_min_isr != today.hw_requires_min_isr,
                "pre-KAFKA-15583",
            ),
            (
                self.isr_join_requires_epoch_start != today.isr_join_requires_epoch_start,
                "pre-KAFKA-7128",
            ),
            (
                self.eligible_leader_replicas != today.eligible_leader_replicas,
                "pre-KIP-966",
            ),
            (self.pre_vote != today.pre_vote, "pre-KIP-996"),
        ]
        .into_iter()
        .filter_map(|(historical, name)| historical.then_some(name))
        .collect()
    }
}

impl Default for ProtocolSwitches {
    fn default() -> Self {
        ProtocolSwitches {
            truncation: Truncation::LeaderEpoch,
            hw_requires_min_isr: true,
            isr_join_requires_epoch_start: true,
            eligible_leader_replicas: true,
            pre_vote: true,
        }
    }
}

/// Per-topic configuration, resolved against the cluster defaults at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election_enable: bool,
    /// Segments, retention and cleanup (`segment.bytes`, `retention.ms`, `cleanup.policy`...).
    pub log: crate::log::LogConfig,
}

impl TopicConfig {
    /// Parse topic overrides on top of the cluster's defaults.
    pub fn parse(map: &ConfigMap, defaults: &TopicConfig) -> Result<TopicConfig, ConfigError> {
        let mut r = Reader::new(map);
        let config = TopicConfig {
            // LogConfig: `min.insync.replicas` INT, atLeast(1).
            min_insync_replicas: r.int(
                "min.insync.replicas",
                i64::from(defaults.min_insync_replicas),
                1,
                i64::from(i32::MAX),
            )? as u32,
            unclean_leader_election_enable: r.flag(
                "unclean.leader.election.enable",
                defaults.unclean_leader_election_enable,
            )?,
            log: crate::log::LogConfig::read(&mut r, &defaults.log)?,
        };
        r.finish()?;
        Ok(config)
    }
}

/// Broker and controller configuration of a cluster (`server.properties`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// Topic defaults (`min.insync.replicas`, `unclean.leader.election.enable`).
    pub topic_defaults: TopicConfig,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a leader holds a follower fetch with no new data.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.backoff.ms`: a follower's pause after a failed fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `replica.socket.timeout.ms`: a follower gives up on an unanswered fetch.
    pub replica_socket_timeout_ms: u64,
    /// `replica.high-watermark.checkpoint.interval.ms`.
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// `broker.session.timeout.ms`: the controller fences a broker silent for this long.
    pub broker_session_timeout_ms: u64,
    /// `offsets.topic.num.partitions` (used by consumer groups; Kafka's default 50,
    /// `GroupCoordinatorConfig.OFFSETS_TOPIC_PARTITIONS_DEFAULT`).
    pub offsets_topic_num_partitions: u32,
    /// `offsets.topic.replication.factor` (default 3). Never capped: with fewer brokers the
    /// topic is not created and `FindCoordinator` answers `COORDINATOR_NOT_AVAILABLE`.
    pub offsets_topic_replication_factor: u32,
    /// `offsets.commit.timeout.ms`: how long a commit waits for the offsets partition's ISR.
    pub offsets_commit_timeout_ms: u64,
    /// `offsets.retention.minutes`: an empty group's offsets expire this long after it became
    /// empty (KIP-211), a simple consumer's this long after each commit.
    pub offsets_retention_minutes: u64,
    /// `offsets.retention.check.interval.ms`: how often the coordinator expires offsets.
    pub offsets_retention_check_interval_ms: u64,
    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group
    /// waits for more members.
    pub group_initial_rebalance_delay_ms: u64,
    /// `group.min.session.timeout.ms`: a `JoinGroup` with a shorter session timeout gets
    /// `INVALID_SESSION_TIMEOUT` (`GroupCoordinatorService.joinGroup`).
    pub group_min_session_timeout_ms: u64,
    /// `group.max.session.timeout.ms`: the upper bound, likewise.
    pub group_max_session_timeout_ms: u64,
    /// `log.retention.check.interval.ms`: how often `LogManager` deletes segments retention
    /// no longer keeps.
    pub log_retention_check_interval_ms: u64,
    /// `offsets.topic.segment.bytes`: `segment.bytes` of `__consumer_offsets`.
    pub offsets_topic_segment_bytes: u64,
    /// `log.cleaner.backoff.ms`: how long the log cleaner sleeps between passes.
    pub log_cleaner_backoff_ms: u64,
    /// `auto.create.topics.enable`: a `Metadata` request that allows it creates the unknown
    /// topics it names (`AutoTopicCreationManager`).
    pub auto_create_topics_enable: bool,
    /// `num.partitions`: partitions of a topic created without a count (auto-created, or
    /// `CreateTopics` with -1).
    pub num_partitions: u32,
    /// `default.replication.factor`: replicas of such a topic.
    pub default_replication_factor: u32,
    /// Historical protocol switches.
    pub protocol: ProtocolSwitches,
}

impl ClusterConfig {
    /// Parse a cluster config map; `protocol` comes from the scenario's `[protocol]` table.
    pub fn parse(
        map: &ConfigMap,
        protocol: ProtocolSwitches,
    ) -> Result<ClusterConfig, ConfigError> {
        let mut r = Reader::new(map);
        let topic_defaults = TopicConfig {
            // ServerLogConfigs / LogConfig: INT, atLeast(1).
            min_insync_replicas: r.int("min.insync.replicas", 1, 1, i64::from(i32::MAX))? as u32,
            // ReplicationConfigs: BOOLEAN.
            unclean_leader_election_enable: r.flag("unclean.leader.election.enable", false)?,
            log: crate::log::LogConfig {
                // CleanerConfig: LONG, atLeast(0), default 1 day; the broker's default of
                // every topic's `delete.retention.ms`, `__consumer_offsets` included.
                delete_retention_ms: r.int(
                    "log.cleaner.delete.retention.ms",
                    86_400_000,
                    0,
                    i64::MAX,
                )? as u64,
                ..crate::log::LogConfig::default()
            },
        };
        let config = ClusterConfig {
            topic_defaults,
            // ReplicationConfigs: LONG, no validator (the lab: at least 0).
            replica_lag_time_max_ms: r.long_ms("replica.lag.time.max.ms", 30_000)?,
            // ReplicationConfigs: INT, no validator (the lab: at least 0).
            replica_fetch_wait_max_ms: r.ms("replica.fetch.wait.max.ms", 500)?,
            // ReplicationConfigs: INT, atLeast(0).
            replica_fetch_backoff_ms: r.ms("replica.fetch.backoff.ms", 1000)?,
            // ReplicationConfigs: INT, no validator (the lab: at least 0).
            replica_socket_timeout_ms: r.ms("replica.socket.timeout.ms", 30_000)?,
            // ReplicationConfigs: LONG, no validator; 0 checkpoints once (KafkaScheduler).
            replica_high_watermark_checkpoint_interval_ms: r
                .long_ms("replica.high-watermark.checkpoint.interval.ms", 5000)?,
            // KRaftConfigs: INT, no validator (the lab: at least 0).
            broker_heartbeat_interval_ms: r.ms("broker.heartbeat.interval.ms", 2000)?,
            // KRaftConfigs: INT, no validator (the lab: at least 0).
            broker_session_timeout_ms: r.ms("broker.session.timeout.ms", 9000)?,
            // GroupCoordinatorConfig: INT, atLeast(1); the lab allocates every partition up
            // front, so it stops at 1000.
            offsets_topic_num_partitions: r.int("offsets.topic.num.partitions", 50, 1, 1000)?
                as u32,
            // GroupCoordinatorConfig: SHORT, atLeast(1).
            offsets_topic_replication_factor: r.int(
                "offsets.topic.replication.factor",
                3,
                1,
                i64::from(i16::MAX),
            )? as u32,
            // GroupCoordinatorConfig: INT, atLeast(1).
            offsets_commit_timeout_ms: r.ms_at_least("offsets.commit.timeout.ms", 5000, 1)?,
            // GroupCoordinatorConfig: INT, atLeast(1), default 7 days.
            offsets_retention_minutes: r.int(
                "offsets.retention.minutes",
                7 * 24 * 60,
                1,
                i64::from(i32::MAX),
            )? as u64,
            // GroupCoordinatorConfig: LONG, atLeast(1), default 10 minutes.
            offsets_retention_check_interval_ms: r.int(
                "offsets.retention.check.interval.ms",
                600_000,
                1,
                i64::MAX,
            )? as u64,
            // GroupCoordinatorConfig: INT, no validator (the lab: at least 0).
            group_initial_rebalance_delay_ms: r.ms("group.initial.rebalance.delay.ms", 3000)?,
            // `GroupCoordinatorConfig.GROUP_MIN/MAX_SESSION_TIMEOUT_MS_DEFAULT`.
            group_min_session_timeout_ms: r.ms("group.min.session.timeout.ms", 6000)?,
            group_max_session_timeout_ms: r.ms("group.max.session.timeout.ms", 1_800_000)?,
            // ServerLogConfigs: LONG, atLeast(1), default 5 minutes.
            log_retention_check_interval_ms: r.int(
                "log.retention.check.interval.ms",
                300_000,
                1,
                i64::MAX,
            )? as u64,
            // GroupCoordinatorConfig: INT, atLeast(1), default 100 MiB (the lab: at least 14,
            // as `segment.bytes`).
            offsets_topic_segment_bytes: r.int(
                "offsets.topic.segment.bytes",
                100 * 1024 * 1024,
                14,
                i64::from(i32::MAX),
            )? as u64,
            // CleanerConfig: LONG, atLeast(0), default 15 s.
            log_cleaner_backoff_ms: r.int("log.cleaner.backoff.ms", 15_000, 0, i64::MAX)? as u64,
            // ServerConfigs: BOOLEAN, default true.
            auto_create_topics_enable: r.flag("auto.create.topics.enable", true)?,
            // ServerLogConfigs: INT, atLeast(1), default 1 (the lab stops at its own limit).
            num_partitions: r.int("num.partitions", 1, 1, i64::from(TOPIC_PARTITIONS_MAX))? as u32,
            // ReplicationConfigs: INT, default 1 (the lab: at least 1, at most a short).
            default_replication_factor: r.int(
                "default.replication.factor",
                1,
                1,
                i64::from(i16::MAX),
            )? as u32,
            protocol,
        };
        r.finish()?;
        config.cross_check()?;
        Ok(config)
    }

    /// The rules between configs that Kafka checks at startup.
    fn cross_check(&self) -> Result<(), ConfigError> {
        // KafkaConfig.validateValues: `require(replicaFetchWaitMaxMs <= replicaLagTimeMaxMs)`,
        // so a held fetch does not look like lag, and `<= replicaSocketTimeoutMs`, so a held
        // fetch does not time out.
        if self.replica_fetch_wait_max_ms > self.replica_lag_time_max_ms {
            return Err(Reader::invalid(
                "replica.fetch.wait.max.ms",
                "must be at most replica.lag.time.max.ms",
            ));
        }
        if self.replica_fetch_wait_max_ms > self.replica_socket_timeout_ms {
            return Err(Reader::invalid(
                "replica.fetch.wait.max.ms",
                "must be at most replica.socket.timeout.ms",
            ));
        }
        // KafkaConfig logs an error when `broker.heartbeat.interval.ms` exceeds half of
        // `broker.session.timeout.ms`; at or above the whole of it every broker loses its
        // session between two heartbeats, which the lab rejects (like the consumer's
        // heartbeat.interval.ms < session.timeout.ms).
        if self.broker_heartbeat_interval_ms >= self.broker_session_timeout_ms {
            return Err(Reader::invalid(
                "broker.heartbeat.interval.ms",
                "must be less than broker.session.timeout.ms (Kafka advises at most half of it)",
            ));
        }
        Ok(())
    }
}

/// How a producer picks a partition for a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Partitioner {
    /// murmur2 of the key; null keys stick to one partition per batch (KIP-480).
    Default,
    /// Each record to the next partition in turn.
    RoundRobin,
}

/// Producer configuration (`ProducerConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerConfig {
    /// `acks`.
    pub acks: Acks,
    /// `enable.idempotence`.
    pub enable_idempotence: bool,
    /// `retries`.
    pub retries: u32,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms` (KIP-580): the cap of the exponential retry backoff.
    pub retry_backoff_max_ms: u64,
    /// `delivery.timeout.ms`.
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms`.
    pub request_timeout_ms: u64,
    /// `linger.ms`.
    pub linger_ms: u64,
    /// `batch.size` in bytes.
    pub batch_size: u64,
    /// `max.in.flight.requests.per.connection`.
    pub max_in_flight_requests_per_connection: u32,
    /// `max.request.size` in bytes: a Produce request's batches together stay under it (a
    /// single batch larger than it still goes alone).
    pub max_request_size: u64,
    /// `partitioner.class`.
    pub partitioner: Partitioner,
    /// `partitioner.ignore.keys` (KIP-794): keyed records stick to a partition like null keys.
    pub partitioner_ignore_keys: bool,
    /// `metadata.max.age.ms`.
    pub metadata_max_age_ms: u64,
}

impl ProducerConfig {
    /// Parse and validate, with Kafka's rules for idempotence.
    pub fn parse(map: &ConfigMap) -> Result<ProducerConfig, ConfigError> {
        let mut r = Reader::new(map);
        let acks = match r.choice("acks", "all", &["all", "-1", "1", "0"])? {
            "all" | "-1" => Acks::All,
            "1" => Acks::Leader,
            _ => Acks::None,
        };
        let idempotence_explicit = r.raw("enable.idempotence").is_some();
        let mut enable_idempotence = r.flag("enable.idempotence", true)?;
        let partitioner = match r.choice(
            "partitioner.class",
            "default",
            &["default", "round-robin", "RoundRobinPartitioner"],
        )? {
            "default" => Partitioner::Default,
            _ => Partitioner::RoundRobin,
        };
        let delivery_timeout_explicit = r.raw("delivery.timeout.ms").is_some();
        // Ranges as ProducerConfig's ConfigDef gives them.
        let config = ProducerConfig {
            acks,
            enable_idempotence,
            // INT, between(0, Integer.MAX_VALUE).
            retries: r.int("retries", i64::from(i32::MAX), 0, i64::from(i32::MAX))? as u32,
            // LONG, atLeast(0).
            retry_backoff_ms: r.long_ms("retry.backoff.ms", 100)?,
            // LONG, atLeast(0) (`CommonClientConfigs.DEFAULT_RETRY_BACKOFF_MAX_MS`).
            retry_backoff_max_ms: r.long_ms("retry.backoff.max.ms", 1000)?,
            // INT, atLeast(0).
            delivery_timeout_ms: r.ms("delivery.timeout.ms", 120_000)?,
            // INT, atLeast(0): 0 expires every request at once.
            request_timeout_ms: r.ms("request.timeout.ms", 30_000)?,
            // LONG, atLeast(0).
            linger_ms: r.long_ms("linger.ms", 5)?,
            // INT, atLeast(0): 0 turns batching off, one record per batch.
            batch_size: r.int("batch.size", 16_384, 0, i64::from(i32::MAX))? as u64,
            // INT, atLeast(1).
            max_in_flight_requests_per_connection: r.int(
                "max.in.flight.requests.per.connection",
                5,
                1,
                i64::from(i32::MAX),
            )? as u32,
            // INT, atLeast(0).
            max_request_size: r.int("max.request.size", 1_048_576, 0, i64::from(i32::MAX))? as u64,
            partitioner,
            // BOOLEAN.
            partitioner_ignore_keys: r.flag("partitioner.ignore.keys", false)?,
            // LONG, atLeast(0): 0 refreshes on every poll, `retry.backoff.ms` apart.
            metadata_max_age_ms: r.long_ms("metadata.max.age.ms", 300_000)?,
        };
        r.finish()?;
        // KafkaProducer (3.2+, KIP-679): explicit idempotence with conflicting settings is an
        // error; implicit idempotence is quietly turned off instead.
        let conflict = if config.acks != Acks::All {
            Some(("acks", "must be all when enable.idempotence=true"))
        } else if config.max_in_flight_requests_per_connection > 5 {
            Some((
                "max.in.flight.requests.per.connection",
                "must be at most 5 when enable.idempotence=true",
            ))
        } else if config.retries == 0 {
            Some((
                "retries",
                "must be greater than 0 when enable.idempotence=true",
            ))
        } else {
            None
        };
        if let Some((key, message)) = conflict {
            if idempotence_explicit && enable_idempotence {
                return Err(Reader::invalid(key, message));
            }
            enable_idempotence = false;
        }
        // KafkaProducer.configureDeliveryTimeout: an explicit delivery.timeout.ms below
        // linger.ms + request.timeout.ms is an error; the default is raised to that sum.
        let floor = config.linger_ms.saturating_add(config.request_timeout_ms);
        if config.delivery_timeout_ms < floor && delivery_timeout_explicit {
            return Err(Reader::invalid(
                "delivery.timeout.ms",
                "must be at least linger.ms + request.timeout.ms",
            ));
        }
        Ok(ProducerConfig {
            enable_idempotence,
            delivery_timeout_ms: config.delivery_timeout_ms.max(floor),
            ..config
        })
    }
}

/// Where a consumer starts when it has no valid position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// Fail with `OFFSET_OUT_OF_RANGE`.
    None,
}

/// Consumer configuration (`ConsumerConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    /// `auto.offset.reset`.
    pub auto_offset_reset: AutoOffsetReset,
    /// `enable.auto.commit`.
    pub enable_auto_commit: bool,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `fetch.max.wait.ms`.
    pub fetch_max_wait_ms: u64,
    /// `request.timeout.ms`.
    pub request_timeout_ms: u64,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms`.
    pub max_poll_interval_ms: u64,
    /// `metadata.max.age.ms`.
    pub metadata_max_age_ms: u64,
    /// `group.id`: subscribe through this group; without one the consumer reads every
    /// partition of its topics (assign mode).
    pub group_id: Option<String>,
    /// `group.instance.id`: a static member (KIP-345). It keeps its assignment across a
    /// restart within `session.timeout.ms` and sends no `LeaveGroup` on close.
    pub group_instance_id: Option<String>,
    /// `client.id`: the name in member ids.
    pub client_id: String,
    /// `partition.assignment.strategy`: the assignor, which also picks eager or cooperative
    /// rebalancing.
    pub partition_assignment_strategy: crate::group::Assignor,
    /// `max.poll.records`: at most this many records per poll.
    pub max_poll_records: u32,
    /// Not a Kafka config: how long the application takes per record it polled (the lab's
    /// stand-in for processing, so a crash can fall between processing and commit).
    pub processing_ms_per_record: u64,
}

impl ConsumerConfig {
    /// Parse and validate.
    pub fn parse(map: &ConfigMap) -> Result<ConsumerConfig, ConfigError> {
        let mut r = Reader::new(map);
        let auto_offset_reset = match r.choice(
            "auto.offset.reset",
            "latest",
            &["earliest", "latest", "none"],
        )? {
            "earliest" => AutoOffsetReset::Earliest,
            "latest" => AutoOffsetReset::Latest,
            _ => AutoOffsetReset::None,
        };
        // Ranges as ConsumerConfig's ConfigDef gives them.
        let config = ConsumerConfig {
            auto_offset_reset,
            enable_auto_commit: r.flag("enable.auto.commit", true)?,
            // INT, atLeast(0).
            auto_commit_interval_ms: r.ms("auto.commit.interval.ms", 5000)?,
            // INT, atLeast(0).
            fetch_max_wait_ms: r.ms("fetch.max.wait.ms", 500)?,
            // INT, atLeast(0): 0 expires every request at once.
            request_timeout_ms: r.ms("request.timeout.ms", 30_000)?,
            // LONG, atLeast(0).
            retry_backoff_ms: r.long_ms("retry.backoff.ms", 100)?,
            // INT, no validator (the lab: at least 0; above heartbeat.interval.ms below).
            session_timeout_ms: r.ms("session.timeout.ms", 45_000)?,
            // INT, no validator (the lab: at least 0).
            heartbeat_interval_ms: r.ms("heartbeat.interval.ms", 3000)?,
            // INT, atLeast(1).
            max_poll_interval_ms: r.ms_at_least("max.poll.interval.ms", 300_000, 1)?,
            // LONG, atLeast(0).
            metadata_max_age_ms: r.long_ms("metadata.max.age.ms", 300_000)?,
            group_id: r.optional_str("group.id")?,
            group_instance_id: r.optional_str("group.instance.id")?,
            client_id: r.optional_str("client.id")?.unwrap_or_default(),
            partition_assignment_strategy: assignor(&mut r)?,
            // INT, atLeast(1).
            max_poll_records: r.int("max.poll.records", 500, 1, i64::from(i32::MAX))? as u32,
            processing_ms_per_record: 0,
        };
        r.finish()?;
        // `Heartbeat`: "heartbeat.interval.ms must be set lower than session.timeout.ms".
        if config.heartbeat_interval_ms >= config.session_timeout_ms {
            return Err(Reader::invalid(
                "heartbeat.interval.ms",
                "must be less than session.timeout.ms",
            ));
        }
        Ok(config)
    }
}

/// `partition.assignment.strategy`: a short name or the Java class name. Kafka's default list
/// is `[RangeAssignor, CooperativeStickyAssignor]`, which picks range until every member
/// drops it; the lab takes one assignor and defaults to range.
fn assignor(r: &mut Reader<'_>) -> Result<crate::group::Assignor, ConfigError> {
    use crate::group::Assignor;
    const KEY: &str = "partition.assignment.strategy";
    let choice = r.choice(
        KEY,
        "range",
        &[
            "range",
            "roundrobin",
            "cooperative-sticky",
            "org.apache.kafka.clients.consumer.RangeAssignor",
            "org.apache.kafka.clients.consumer.RoundRobinAssignor",
            "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
        ],
    )?;
    Ok(match choice {
        "range" | "org.apache.kafka.clients.consumer.RangeAssignor" => Assignor::Range,
        "roundrobin" | "org.apache.kafka.clients.consumer.RoundRobinAssignor" => {
            Assignor::RoundRobin
        }
        _ => Assignor::CooperativeSticky,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, ConfigValue)]) -> ConfigMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn names_in_configs_stop_at_the_lab_s_limit() {
        for key in ["group.id", "client.id", "group.instance.id"] {
            let at_limit = ConfigValue::Str("g".repeat(NAME_LEN_MAX));
            ConsumerConfig::parse(&map(&[(key, at_limit)])).expect("at the limit");
            let long = ConfigValue::Str("g".repeat(NAME_LEN_MAX + 1));
            let err = ConsumerConfig::parse(&map(&[(key, long)])).unwrap_err();
            assert!(
                matches!(err, ConfigError::InvalidValue { key: ref k, ref message }
                    if k == key && message.contains("lab's limit of 249")),
                "{err}"
            );
        }
    }

    #[test]
    fn acks_accepts_strings_and_numbers() {
        for (value, expected) in [
            (ConfigValue::Str("all".into()), Acks::All),
            (ConfigValue::Int(-1), Acks::All),
            (ConfigValue::Str("1".into()), Acks::Leader),
            (ConfigValue::Int(1), Acks::Leader),
            (ConfigValue::Int(0), Acks::None),
        ] {
            let config = ProducerConfig::parse(&map(&[("acks", value)])).unwrap();
            assert_eq!(config.acks, expected);
        }
    }

    #[test]
    fn implicit_idempotence_turns_off_with_acks_1_but_explicit_is_an_error() {
        let config = ProducerConfig::parse(&map(&[("acks", ConfigValue::Int(1))])).unwrap();
        assert!(!config.enable_idempotence);
        let err = ProducerConfig::parse(&map(&[
            ("acks", ConfigValue::Int(1)),
            ("enable.idempotence", ConfigValue::Bool(true)),
        ]))
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidValue { ref key, .. } if key == "acks"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = ClusterConfig::parse(
            &map(&[("min.insync.replica", ConfigValue::Int(2))]),
            ProtocolSwitches::default(),
        )
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "min.insync.replica")
        );
        assert!(
            err.to_string().contains("min.insync.replicas"),
            "the valid keys are listed: {err}"
        );
    }

    #[test]
    fn defaults_are_kafkas() {
        let cluster = ClusterConfig::parse(&ConfigMap::new(), ProtocolSwitches::default()).unwrap();
        assert_eq!(cluster.replica_lag_time_max_ms, 30_000);
        assert_eq!(cluster.broker_session_timeout_ms, 9000);
        assert_eq!(cluster.topic_defaults.min_insync_replicas, 1);
        let producer = ProducerConfig::parse(&ConfigMap::new()).unwrap();
        assert_eq!(producer.acks, Acks::All);
        assert!(producer.enable_idempotence);
        assert_eq!(producer.linger_ms, 5);
    }

    #[test]
    fn wrong_type_is_named() {
        let err = ClusterConfig::parse(
            &map(&[("replica.lag.time.max.ms", ConfigValue::Str("soon".into()))]),
            ProtocolSwitches::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `replica.lag.time.max.ms`: expected an integer, got \"soon\""
        );
    }

    #[test]
    fn historical_switches_are_named_by_the_change_that_ended_them() {
        assert!(ProtocolSwitches::default().historical().is_empty());
        let no_elr = ProtocolSwitches {
            eligible_leader_replicas: false,
            ..ProtocolSwitches::default()
        };
        assert_eq!(no_elr.historical(), vec!["pre-KIP-966"]);
        let all = ProtocolSwitches {
            truncation: Truncation::HighWatermark,
            hw_requires_min_isr: false,
            isr_join_requires_epoch_start: false,
            eligible_leader_replicas: false,
            pre_vote: false,
        };
        assert_eq!(
            all.historical(),
            vec![
                "pre-KIP-101",
                "pre-KAFKA-15583",
                "pre-KAFKA-7128",
                "pre-KIP-966",
                "pre-KIP-996"
            ]
        );
    }

    fn int(key: &str, value: i64) -> ConfigMap {
        map(&[(key, ConfigValue::Int(value))])
    }

    fn rejected_key(result: Result<impl std::fmt::Debug, ConfigError>) -> (String, String) {
        match result.expect_err("rejected") {
            ConfigError::InvalidValue { key, message } => (key, message),
            other => panic!("{other}"),
        }
    }

    /// ProducerConfig / ConsumerConfig: `request.timeout.ms` and `metadata.max.age.ms` are
    /// `atLeast(0)`, KRaftConfigs and ReplicationConfigs give the broker heartbeat and HW
    /// checkpoint intervals no validator: Kafka accepts 0 for each, and so does the lab.
    #[test]
    fn zero_time_settings_kafka_accepts_are_accepted() {
        for key in [
            "request.timeout.ms",
            "metadata.max.age.ms",
            "retry.backoff.ms",
        ] {
            ProducerConfig::parse(&int(key, 0)).unwrap_or_else(|e| panic!("{e}"));
            ConsumerConfig::parse(&int(key, 0)).unwrap_or_else(|e| panic!("{e}"));
        }
        for key in [
            "broker.heartbeat.interval.ms",
            "replica.high-watermark.checkpoint.interval.ms",
            "replica.fetch.backoff.ms",
            "replica.fetch.wait.max.ms",
        ] {
            ClusterConfig::parse(&int(key, 0), ProtocolSwitches::default()).unwrap();
        }
        // ProducerConfig: batch.size atLeast(0) (0 turns batching off).
        assert_eq!(
            ProducerConfig::parse(&int("batch.size", 0))
                .unwrap()
                .batch_size,
            0
        );
    }

    /// What Kafka's ConfigDef rejects, named with the key and the range.
    #[test]
    fn kafkas_ranges_are_enforced_with_the_key_and_range_named() {
        let cases: [(&str, i64, &str); 5] = [
            // ConsumerConfig: max.poll.interval.ms atLeast(1), max.poll.records atLeast(1).
            ("max.poll.interval.ms", 0, "out of range 1..="),
            ("max.poll.records", 0, "out of range 1..="),
            // ConsumerConfig: request.timeout.ms, fetch.max.wait.ms atLeast(0).
            ("request.timeout.ms", -1, "out of range 0..="),
            ("fetch.max.wait.ms", -1, "out of range 0..="),
            // Type.INT: above Integer.MAX_VALUE is not an int.
            (
                "auto.commit.interval.ms",
                i64::from(i32::MAX) + 1,
                "out of range 0..=2147483647",
            ),
        ];
        for (key, value, range) in cases {
            let (k, message) = rejected_key(ConsumerConfig::parse(&int(key, value)));
            assert_eq!(k, key);
            assert!(message.contains(range), "{key}: {message}");
        }
        // ProducerConfig: max.in.flight.requests.per.connection atLeast(1), retries
        // between(0, Integer.MAX_VALUE), batch.size atLeast(0).
        for (key, value) in [
            ("max.in.flight.requests.per.connection", 0),
            ("retries", -1),
            ("batch.size", -1),
            ("linger.ms", -1),
        ] {
            assert_eq!(rejected_key(ProducerConfig::parse(&int(key, value))).0, key);
        }
        // GroupCoordinatorConfig: offsets.commit.timeout.ms atLeast(1),
        // offsets.topic.replication.factor a SHORT atLeast(1); LogConfig: min.insync.replicas
        // atLeast(1).
        for (key, value) in [
            ("offsets.commit.timeout.ms", 0),
            ("offsets.topic.replication.factor", 0),
            ("offsets.topic.replication.factor", i64::from(i16::MAX) + 1),
            ("min.insync.replicas", 0),
        ] {
            let result = ClusterConfig::parse(&int(key, value), ProtocolSwitches::default());
            assert_eq!(rejected_key(result).0, key);
        }
    }

    /// KafkaConfig.validateValues: replica.fetch.wait.max.ms at most replica.lag.time.max.ms
    /// and replica.socket.timeout.ms (equal is fine); the broker heartbeat below the session.
    #[test]
    fn kafkas_cross_checks_between_broker_configs() {
        let parse = |pairs: &[(&str, i64)]| {
            let m: ConfigMap = pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), ConfigValue::Int(*v)))
                .collect();
            ClusterConfig::parse(&m, ProtocolSwitches::default())
        };
        parse(&[("replica.fetch.wait.max.ms", 30_000)]).expect("equal to both is allowed");
        let (key, message) = rejected_key(parse(&[
            ("replica.fetch.wait.max.ms", 2000),
            ("replica.socket.timeout.ms", 1000),
        ]));
        assert_eq!(key, "replica.fetch.wait.max.ms");
        assert!(message.contains("replica.socket.timeout.ms"), "{message}");
        let (key, message) = rejected_key(parse(&[
            ("broker.heartbeat.interval.ms", 9000),
            ("broker.session.timeout.ms", 9000),
        ]));
        assert_eq!(key, "broker.heartbeat.interval.ms");
        assert!(message.contains("broker.session.timeout.ms"), "{message}");
        parse(&[("broker.heartbeat.interval.ms", 8999)]).expect("below the session");
    }

    /// KafkaProducer.configureDeliveryTimeout: an explicit delivery.timeout.ms below
    /// linger.ms + request.timeout.ms is an error; the default is raised to the sum.
    #[test]
    fn default_delivery_timeout_is_raised_to_linger_plus_request_timeout() {
        let config = ProducerConfig::parse(&int("request.timeout.ms", 200_000)).unwrap();
        assert_eq!(config.delivery_timeout_ms, 200_005);
        let explicit = map(&[
            ("request.timeout.ms", ConfigValue::Int(200_000)),
            ("delivery.timeout.ms", ConfigValue::Int(120_000)),
        ]);
        assert_eq!(
            rejected_key(ProducerConfig::parse(&explicit)).0,
            "delivery.timeout.ms"
        );
    }
}
