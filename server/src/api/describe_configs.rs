//! DescribeConfigs (32): a topic's configs or a broker's, each with its value, whether it is
//! read-only and where it comes from (`ConfigHelper.describeConfigs`). Answered from the
//! broker's state when the request is taken, as OffsetForLeaderEpoch is: the lab's configs are
//! fixed at start (topics') or creation, so no round trip is needed.
//!
//! The lab keeps a topic's resolved configs, not which were given: a value equal to Kafka's
//! default is `DEFAULT_CONFIG`, one equal to the cluster's default `STATIC_BROKER_CONFIG`, any
//! other the topic's own (`DYNAMIC_TOPIC_CONFIG`). Broker configs are read-only (the lab has no
//! `IncrementalAlterConfigs`).

use super::Reply;
use crate::errors;
use broker_core::broker::Broker;
use broker_core::log::{CleanupPolicy, DirtyRatio, LogConfig};
use broker_core::{ClusterConfig, ConfigMap, ErrorCode, ProtocolSwitches, Topic, TopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

/// `ConfigResource.Type`.
const TOPIC: i8 = 2;
const BROKER: i8 = 4;

/// `DescribeConfigsResponse.ConfigSource`, by Kafka's names.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigSource {
    /// A topic's own config.
    DynamicTopicConfig = 1,
    /// Set in the broker's static configuration (the scenario's `[cluster] config`).
    StaticBrokerConfig = 4,
    /// Kafka's default.
    DefaultConfig = 5,
}

/// `ConfigDef.Type` as DescribeConfigs v3+ numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i8)]
pub enum ConfigType {
    Boolean = 1,
    Int = 3,
    Short = 4,
    Long = 5,
    Double = 6,
    List = 7,
}

/// One config: name, type, value as Kafka prints it.
type Entry = (&'static str, ConfigType, String);

/// The response, from `broker`'s state (`None`: the broker is down).
pub fn answer(
    request: DescribeConfigsRequest,
    reply: Reply,
    broker: Option<&Broker>,
) -> crate::request::Frame {
    let results = request
        .resources
        .into_iter()
        .map(|r| describe(r, broker))
        .collect();
    reply.encode(&DescribeConfigsResponse::default().with_results(results))
}

fn describe(resource: DescribeConfigsResource, broker: Option<&Broker>) -> DescribeConfigsResult {
    let result = DescribeConfigsResult::default()
        .with_resource_type(resource.resource_type)
        .with_resource_name(resource.resource_name.clone());
    let fail = |code: i16, message: String| {
        result
            .clone()
            .with_error_code(code)
            .with_error_message(Some(StrBytes::from_string(message)))
    };
    let Some(broker) = broker else {
        return fail(
            errors::wire(ErrorCode::UNKNOWN_SERVER_ERROR),
            "the broker is down".into(),
        );
    };
    let name = resource.resource_name.as_str();
    let entries = match resource.resource_type {
        TOPIC => match broker.metadata().topic_config(&Topic::new(name)) {
            Some(config) => topic_entries(config, &broker.config().topic_defaults),
            None => {
                let code = errors::wire(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
                return fail(code, format!("Topic {name} does not exist"));
            }
        },
        // `ConfigHelper`: a broker describes its own configs ("" is the default broker).
        BROKER if name.is_empty() || name == broker.id().0.to_string() => {
            broker_entries(broker.config())
        }
        BROKER => {
            let code = errors::wire(ErrorCode::INVALID_REQUEST);
            let message = format!(
                "Unexpected broker id, expected {} or empty string",
                broker.id()
            );
            return fail(code, message);
        }
        other => {
            let code = errors::wire(ErrorCode::INVALID_REQUEST);
            return fail(code, format!("Unsupported resource type {other}"));
        }
    };
    let wanted = |n: &str| {
        resource
            .configuration_keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == n))
    };
    let configs = entries
        .into_iter()
        .filter(|(n, ..)| wanted(n))
        .map(|(n, kind, value, source, read_only)| {
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(n))
                .with_value(Some(StrBytes::from_string(value)))
                .with_read_only(read_only)
                .with_config_source(source as i8)
                .with_config_type(kind as i8)
        })
        .collect();
    result.with_configs(configs)
}

/// Kafka's defaults: the configuration of an empty config map.
fn kafka_defaults() -> ClusterConfig {
    ClusterConfig::parse(&ConfigMap::new(), ProtocolSwitches::default())
        .expect("the defaults are valid")
}

pub type Described = (&'static str, ConfigType, String, ConfigSource, bool);

/// A topic's configs, each with its source (see the module comment).
pub fn topic_entries(config: &TopicConfig, cluster: &TopicConfig) -> Vec<Described> {
    let kafka = topic_values(&kafka_defaults().topic_defaults);
    let cluster = topic_values(cluster);
    topic_values(config)
        .into_iter()
        .zip(kafka.into_iter().zip(cluster))
        .map(
            |((name, kind, value), ((_, _, default), (_, _, static_value)))| {
                let source = if value == default {
                    ConfigSource::DefaultConfig
                } else if value == static_value {
                    ConfigSource::StaticBrokerConfig
                } else {
                    ConfigSource::DynamicTopicConfig
                };
                (name, kind, value, source, false)
            },
        )
        .collect()
}

/// A broker's configs: Kafka's default or set statically; all read-only here.
pub fn broker_entries(config: &ClusterConfig) -> Vec<Described> {
    let kafka = broker_values(&kafka_defaults());
    broker_values(config)
        .into_iter()
        .zip(kafka)
        .map(|((name, kind, value), (_, _, default))| {
            let source = match value == default {
                true => ConfigSource::DefaultConfig,
                false => ConfigSource::StaticBrokerConfig,
            };
            (name, kind, value, source, true)
        })
        .collect()
}

fn topic_values(c: &TopicConfig) -> Vec<Entry> {
    use ConfigType::*;
    let mut entries = vec![
        (
            "min.insync.replicas",
            Int,
            c.min_insync_replicas.to_string(),
        ),
        (
            "unclean.leader.election.enable",
            Boolean,
            c.unclean_leader_election_enable.to_string(),
        ),
    ];
    entries.extend(log_values(&c.log));
    entries
}

fn log_values(l: &LogConfig) -> Vec<Entry> {
    use ConfigType::*;
    let or_minus_one = |v: Option<u64>| v.map_or("-1".to_owned(), |v| v.to_string());
    vec![
        (
            "cleanup.policy",
            List,
            cleanup_policy(l.cleanup_policy).into(),
        ),
        ("segment.bytes", Int, l.segment_bytes.to_string()),
        ("segment.ms", Long, l.segment_ms.to_string()),
        (
            "index.interval.bytes",
            Int,
            l.index_interval_bytes.to_string(),
        ),
        ("retention.ms", Long, or_minus_one(l.retention_ms)),
        ("retention.bytes", Long, or_minus_one(l.retention_bytes)),
        (
            "min.cleanable.dirty.ratio",
            Double,
            ratio(l.min_cleanable_dirty_ratio),
        ),
        (
            "min.compaction.lag.ms",
            Long,
            l.min_compaction_lag_ms.to_string(),
        ),
        (
            "max.compaction.lag.ms",
            Long,
            l.max_compaction_lag_ms.to_string(),
        ),
        (
            "delete.retention.ms",
            Long,
            l.delete_retention_ms.to_string(),
        ),
    ]
}

fn cleanup_policy(p: CleanupPolicy) -> &'static str {
    match p {
        CleanupPolicy::Delete => "delete",
        CleanupPolicy::Compact => "compact",
        CleanupPolicy::CompactDelete => "compact,delete",
    }
}

/// Millionths as Kafka prints a double (`0.5`).
fn ratio(r: DirtyRatio) -> String {
    let whole = r.0 / DirtyRatio::ONE;
    let fraction = format!("{:06}", r.0 % DirtyRatio::ONE);
    let fraction = fraction.trim_end_matches('0');
    format!(
        "{whole}.{}",
        if fraction.is_empty() { "0" } else { fraction }
    )
}

fn broker_values(c: &ClusterConfig) -> Vec<Entry> {
    use ConfigType::*;
    let n = |v: u64| v.to_string();
    vec![
        (
            "auto.create.topics.enable",
            Boolean,
            c.auto_create_topics_enable.to_string(),
        ),
        ("num.partitions", Int, n(u64::from(c.num_partitions))),
        (
            "default.replication.factor",
            Int,
            n(u64::from(c.default_replication_factor)),
        ),
        (
            "min.insync.replicas",
            Int,
            n(u64::from(c.topic_defaults.min_insync_replicas)),
        ),
        (
            "unclean.leader.election.enable",
            Boolean,
            c.topic_defaults.unclean_leader_election_enable.to_string(),
        ),
        (
            "replica.lag.time.max.ms",
            Long,
            n(c.replica_lag_time_max_ms),
        ),
        (
            "replica.fetch.wait.max.ms",
            Int,
            n(c.replica_fetch_wait_max_ms),
        ),
        (
            "replica.fetch.backoff.ms",
            Int,
            n(c.replica_fetch_backoff_ms),
        ),
        (
            "replica.socket.timeout.ms",
            Int,
            n(c.replica_socket_timeout_ms),
        ),
        (
            "replica.high-watermark.checkpoint.interval.ms",
            Long,
            n(c.replica_high_watermark_checkpoint_interval_ms),
        ),
        (
            "broker.heartbeat.interval.ms",
            Int,
            n(c.broker_heartbeat_interval_ms),
        ),
        (
            "broker.session.timeout.ms",
            Int,
            n(c.broker_session_timeout_ms),
        ),
        (
            "offsets.topic.num.partitions",
            Int,
            n(u64::from(c.offsets_topic_num_partitions)),
        ),
        (
            "offsets.topic.replication.factor",
            Short,
            n(u64::from(c.offsets_topic_replication_factor)),
        ),
        (
            "offsets.commit.timeout.ms",
            Int,
            n(c.offsets_commit_timeout_ms),
        ),
        (
            "offsets.topic.segment.bytes",
            Int,
            n(c.offsets_topic_segment_bytes),
        ),
        (
            "group.initial.rebalance.delay.ms",
            Int,
            n(c.group_initial_rebalance_delay_ms),
        ),
        (
            "group.min.session.timeout.ms",
            Int,
            n(c.group_min_session_timeout_ms),
        ),
        (
            "group.max.session.timeout.ms",
            Int,
            n(c.group_max_session_timeout_ms),
        ),
        (
            "log.retention.check.interval.ms",
            Long,
            n(c.log_retention_check_interval_ms),
        ),
        ("log.cleaner.backoff.ms", Long, n(c.log_cleaner_backoff_ms)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_prints_as_kafka_prints_a_double() {
        assert_eq!(ratio(DirtyRatio(500_000)), "0.5");
        assert_eq!(ratio(DirtyRatio(1_000_000)), "1.0");
        assert_eq!(ratio(DirtyRatio(0)), "0.0");
        assert_eq!(ratio(DirtyRatio(125_000)), "0.125");
    }

    #[test]
    fn a_topic_config_source_says_whose_value_it_is() {
        let kafka = kafka_defaults().topic_defaults;
        let mut cluster = kafka.clone();
        cluster.min_insync_replicas = 2;
        let mut topic = cluster.clone();
        topic.log.retention_ms = Some(1000);
        let entries = topic_entries(&topic, &cluster);
        let source = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().3;
        assert_eq!(source("segment.bytes"), ConfigSource::DefaultConfig);
        assert_eq!(
            source("min.insync.replicas"),
            ConfigSource::StaticBrokerConfig
        );
        assert_eq!(source("retention.ms"), ConfigSource::DynamicTopicConfig);
        let value = |name: &str| entries.iter().find(|e| e.0 == name).unwrap().2.clone();
        assert_eq!(value("retention.ms"), "1000");
        assert_eq!(value("retention.bytes"), "-1");
        assert_eq!(value("cleanup.policy"), "delete");
    }

    #[test]
    fn broker_configs_are_read_only_and_static_when_set() {
        let mut config = kafka_defaults();
        config.num_partitions = 3;
        let entries = broker_entries(&config);
        assert!(entries.iter().all(|e| e.4), "read-only");
        let num = entries.iter().find(|e| e.0 == "num.partitions").unwrap();
        assert_eq!(
            (num.2.as_str(), num.3),
            ("3", ConfigSource::StaticBrokerConfig)
        );
        let auto = entries
            .iter()
            .find(|e| e.0 == "auto.create.topics.enable")
            .unwrap();
        assert_eq!(
            (auto.2.as_str(), auto.3),
            ("true", ConfigSource::DefaultConfig)
        );
    }
}
