//! From a checked scenario to the simulator's `WorldSpec`.

use crate::error::{ErrorKind, ScenarioError};
use crate::format::{Fault, FaultAction, Scenario};
use broker_core::{
    BrokerId, ConsumerConfig, ControllerId, NodeId, ProducerConfig, Topic, TopicSpec,
};
use sim::{ConsumerSpec, DiskConfig, FaultSpec, NetworkConfig, ProducerSpec, WorldSpec};

/// Stop a run after this many events: far more than any built-in scenario needs.
const EVENTS_MAX: u64 = 200_000_000;

impl Scenario {
    /// The simulator's description of this scenario, which is checked again first: a scenario
    /// changed in code without `validate` is an error here, never a panic or an allocation
    /// beyond the lab's limits.
    pub fn world_spec(&self) -> Result<WorldSpec, ScenarioError> {
        self.validate()?;
        let config_error = |key: String, e: broker_core::ConfigError| {
            ScenarioError::new(
                ErrorKind::Config,
                format!("scenario {}", self.name),
                e.to_string(),
            )
            .with_key(key)
        };
        let cluster = self
            .cluster_config()
            .map_err(|e| config_error("cluster.config".into(), e))?;
        let mut topics = Vec::new();
        for (index, t) in self.topics.iter().enumerate() {
            let config = self
                .topic_config(index)
                .map_err(|e| config_error(format!("topics[{index}].config"), e))?;
            let assignment = match &t.assignment {
                Some(a) => a
                    .iter()
                    .map(|replicas| replicas.iter().copied().map(BrokerId).collect())
                    .collect(),
                None => {
                    default_assignment(t.partitions, t.replication_factor, self.cluster.brokers)
                }
            };
            topics.push(TopicSpec {
                topic: Topic::new(&t.name),
                assignment,
                config,
            });
        }
        let mut producers = Vec::new();
        for (index, p) in self.producers.iter().enumerate() {
            let config = ProducerConfig::parse(&p.config)
                .map_err(|e| config_error(format!("producers[{index}].config"), e))?;
            producers.push(ProducerSpec {
                name: p.name.clone(),
                topic: Topic::new(&p.topic),
                rate_per_s_milli: crate::limits::rate_per_s_milli(p.rate_per_s),
                records: p.records,
                keys: p.keys,
                key_prefix: p.key_prefix.clone().unwrap_or_else(|| "k".to_owned()),
                tombstone_every: p.tombstone_every,
                start_ms: p.start_ms,
                stop_ms: p.stop_ms,
                config,
            });
        }
        let mut consumers = Vec::new();
        for (index, c) in self.consumers.iter().enumerate() {
            let mut config = ConsumerConfig::parse(&c.config)
                .map_err(|e| config_error(format!("consumers[{index}].config"), e))?;
            config.group_id = c.group.clone().or(config.group_id);
            if config.client_id.is_empty() {
                config.client_id = c.name.clone();
            }
            config.processing_ms_per_record = c.processing_ms_per_record;
            let topics = c.topics.iter().map(|t| Topic::new(t)).collect();
            consumers.push(ConsumerSpec {
                name: c.name.clone(),
                topics,
                start_ms: self.first_join(&c.name).unwrap_or(c.start_ms),
                config,
            });
        }
        if consumers.iter().any(|c| c.config.group_id.is_some()) {
            topics.extend(offsets_topic(&cluster, self.cluster.brokers));
        }
        let faults = self.fault_specs(&self.faults);
        Ok(WorldSpec {
            seed: self.seed,
            brokers: self.cluster.brokers,
            controllers: self.cluster.controllers,
            cluster,
            topics,
            producers,
            consumers,
            network: NetworkConfig {
                latency_ms: (self.network.latency_ms[0], self.network.latency_ms[1]),
                drop_rate: self.network.drop_rate,
                duplicate_rate: self.network.duplicate_rate,
            },
            disk: DiskConfig {
                write_latency_ms: (self.disk.write_latency_ms[0], self.disk.write_latency_ms[1]),
                fsync_latency_ms: (self.disk.fsync_latency_ms[0], self.disk.fsync_latency_ms[1]),
                flush_interval_ms: self.disk.flush_interval_ms,
                tear_probability: self.disk.tear_probability,
            },
            faults,
            duration_ms: self.duration_ms,
            drain_ms: self.drain_ms,
            trace_messages: false,
            events_max: EVENTS_MAX,
            still_events_max: sim::watchdog::STILL_EVENTS_MAX,
        })
    }

    /// The simulator's id of a node name, resolved exactly: `broker-2` only in a cluster of at
    /// least two brokers, never `broker-02` or `broker-+2`; clients by their exact name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        if let Some(digits) = name.strip_prefix("broker-") {
            return node_number(digits, self.cluster.brokers).map(|n| NodeId::Broker(BrokerId(n)));
        }
        if let Some(digits) = name.strip_prefix("controller-") {
            return node_number(digits, self.cluster.controllers)
                .map(|n| NodeId::Controller(ControllerId(n)));
        }
        let mut clients = self
            .producers
            .iter()
            .map(|p| &p.name)
            .chain(self.consumers.iter().map(|c| &c.name));
        clients.position(|n| n == name).map(sim::spec::client_id)
    }

    /// `faults`, naming this scenario's nodes, as the simulator's fault schedule. The faults
    /// must name nodes of this scenario (as validation checks for its own).
    pub(crate) fn fault_specs(&self, faults: &[Fault]) -> Vec<FaultSpec> {
        faults
            .iter()
            .map(|f| FaultSpec {
                at_ms: f.at_ms,
                action: self.fault_action(f),
            })
            .collect()
    }

    fn fault_action(&self, f: &Fault) -> sim::FaultAction {
        let node = |name: Option<&str>| {
            self.node_id(name.expect("validated: operands"))
                .expect("validated: a node name")
        };
        if let Some(role) = f.target.as_deref().and_then(|t| self.role(t)) {
            return sim::FaultAction::OnRole {
                fault: crate::target::role_fault(f.action).expect("validated: takes a role"),
                role: role.expect("validated: a partition of the scenario"),
            };
        }
        let target = || node(f.target.as_deref());
        match f.action {
            FaultAction::Crash => sim::FaultAction::Crash { target: target() },
            FaultAction::PowerFail => sim::FaultAction::PowerFail { target: target() },
            FaultAction::Restart => sim::FaultAction::Restart { target: target() },
            FaultAction::Shutdown => sim::FaultAction::Shutdown { target: target() },
            FaultAction::Pause => sim::FaultAction::Pause { target: target() },
            FaultAction::Resume => sim::FaultAction::Resume { target: target() },
            FaultAction::Isolate => sim::FaultAction::Isolate { target: target() },
            FaultAction::Clog => sim::FaultAction::Clog { target: target() },
            FaultAction::Unclog => sim::FaultAction::Unclog { target: target() },
            FaultAction::Join => sim::FaultAction::Join { target: target() },
            FaultAction::Leave => sim::FaultAction::Leave { target: target() },
            FaultAction::Produce => sim::FaultAction::Produce { target: target() },
            FaultAction::Heal => sim::FaultAction::Heal,
            FaultAction::DeleteRecords => {
                let partition = f.partition.as_deref().expect("validated: partition");
                let offset = f.offset.expect("validated: offset");
                sim::FaultAction::DeleteRecords {
                    tp: self
                        .partition_of(partition)
                        .expect("validated: a partition"),
                    to: match u64::try_from(offset) {
                        Ok(o) => broker_core::DeleteRecordsTo::Offset(broker_core::Offset(o)),
                        Err(_) => broker_core::DeleteRecordsTo::HighWatermark,
                    },
                }
            }
            FaultAction::Cut => sim::FaultAction::Cut {
                from: node(f.from.as_deref()),
                to: node(f.to.as_deref()),
            },
            FaultAction::Partition => {
                let sides = f.sides.as_ref().expect("validated: sides");
                sim::FaultAction::Partition {
                    sides: sides
                        .iter()
                        .map(|side| side.iter().map(|n| node(Some(n))).collect())
                        .collect(),
                }
            }
        }
    }
}

impl Scenario {
    /// When consumer `name` starts through a `join` fault: when its first `join`/`leave` is a
    /// `join`, it does not start before it (a consumer that leaves first was running).
    fn first_join(&self, name: &str) -> Option<u64> {
        let mut membership: Vec<&Fault> = self
            .faults
            .iter()
            .filter(|f| matches!(f.action, FaultAction::Join | FaultAction::Leave))
            .filter(|f| f.target.as_deref() == Some(name))
            .collect();
        membership.sort_by_key(|f| f.at_ms);
        membership
            .first()
            .filter(|f| f.action == FaultAction::Join)
            .map(|f| f.at_ms)
    }
}

/// `N` of `broker-N` when it is written as Rust writes the number (no sign, no leading zero)
/// and names one of `count` nodes.
fn node_number(digits: &str, count: u32) -> Option<u32> {
    let n: u32 = digits.parse().ok()?;
    (n.to_string() == digits && (1..=count).contains(&n)).then_some(n)
}

/// `__consumer_offsets`, created at cluster start when a consumer uses a group (Kafka creates
/// it on the first `FindCoordinator`; the lab creates it up front so the class sees it from
/// the start). Its replication factor is never capped: with fewer brokers than
/// `offsets.topic.replication.factor` the controller refuses to create it
/// (`INVALID_REPLICATION_FACTOR`), and `KafkaApis.getCoordinator` answers
/// `COORDINATOR_NOT_AVAILABLE` while the topic is missing.
pub fn offsets_topic(cluster: &broker_core::ClusterConfig, brokers: u32) -> Option<TopicSpec> {
    let rf = cluster.offsets_topic_replication_factor;
    // `GroupCoordinatorService.groupMetadataTopicConfigs`: the offsets topic is compacted, so the
    // latest commit of every (group, partition) survives however old it is, and its segments are
    // `offsets.topic.segment.bytes`.
    let mut config = cluster.topic_defaults.clone();
    config.log.cleanup_policy = broker_core::log::CleanupPolicy::Compact;
    config.log.segment_bytes = cluster.offsets_topic_segment_bytes;
    (rf <= brokers).then(|| TopicSpec {
        topic: Topic::new(broker_core::group::OFFSETS_TOPIC),
        assignment: default_assignment(cluster.offsets_topic_num_partitions, rf, brokers),
        config,
    })
}

/// Replicas of partition p start at broker (p mod n) + 1 and continue in order, so leaders
/// spread over brokers as Kafka's assignment spreads them (without its random start).
fn default_assignment(
    partitions: u32,
    replication_factor: u32,
    brokers: u32,
) -> Vec<Vec<BrokerId>> {
    (0..partitions)
        .map(|p| {
            (0..replication_factor)
                .map(|i| BrokerId((p + i) % brokers + 1))
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(settings: &[(&str, i64)]) -> broker_core::ClusterConfig {
        let map: broker_core::ConfigMap = settings
            .iter()
            .map(|(k, v)| (k.to_string(), broker_core::ConfigValue::Int(*v)))
            .collect();
        broker_core::ClusterConfig::parse(&map, Default::default()).expect("valid")
    }

    /// `GroupCoordinatorConfig`: 50 partitions and RF 3 by default; the RF is never capped, so
    /// two brokers cannot host `__consumer_offsets` (no coordinator) unless the scenario says
    /// `offsets.topic.replication.factor` = 2.
    #[test]
    fn the_offsets_topic_needs_as_many_brokers_as_its_replication_factor() {
        let defaults = cluster(&[]);
        let topic = offsets_topic(&defaults, 3).expect("3 brokers suffice");
        assert_eq!(topic.assignment.len(), 50);
        assert!(topic.assignment.iter().all(|r| r.len() == 3));
        assert_eq!(
            topic.config.log.cleanup_policy,
            broker_core::log::CleanupPolicy::Compact,
            "__consumer_offsets is compacted, as in Kafka"
        );
        assert_eq!(topic.config.log.segment_bytes, 100 * 1024 * 1024);
        assert!(offsets_topic(&defaults, 2).is_none(), "RF 3 on 2 brokers");
        let small = cluster(&[("offsets.topic.replication.factor", 2)]);
        let topic = offsets_topic(&small, 2).expect("RF 2 on 2 brokers");
        assert!(topic.assignment.iter().all(|r| r.len() == 2));
    }

    #[test]
    fn node_names_resolve_exactly() {
        let mut scenario = crate::builtin("quickstart")
            .expect("built in")
            .load()
            .expect("valid");
        scenario.cluster.brokers = 3;
        let broker = |n| Some(NodeId::Broker(BrokerId(n)));
        assert_eq!(scenario.node_id("broker-1"), broker(1));
        assert_eq!(scenario.node_id("broker-3"), broker(3));
        for name in [
            "broker-01",
            "broker-+1",
            "broker-0",
            "broker-4",
            "broker-",
            "controller-2",
            "controller-01",
            "nobody",
        ] {
            assert_eq!(scenario.node_id(name), None, "{name}");
        }
        assert_eq!(scenario.node_id("controller-1"), Some(sim::CONTROLLER));
        scenario.cluster.controllers = 3;
        let c3 = NodeId::Controller(ControllerId(3));
        assert_eq!(scenario.node_id("controller-3"), Some(c3));
        assert_eq!(scenario.node_id("controller-4"), None);
        let first = scenario.producers[0].name.clone();
        assert_eq!(scenario.node_id(&first), Some(sim::spec::client_id(0)));
    }

    #[test]
    fn default_assignment_spreads_leaders() {
        let a = default_assignment(3, 3, 3);
        assert_eq!(a[0], vec![BrokerId(1), BrokerId(2), BrokerId(3)]);
        assert_eq!(a[1], vec![BrokerId(2), BrokerId(3), BrokerId(1)]);
        assert_eq!(a[2], vec![BrokerId(3), BrokerId(1), BrokerId(2)]);
    }
}
