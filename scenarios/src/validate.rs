//! Checks that the parts of a scenario fit together, after serde has checked each part.

use crate::error::{echo, echo_list, ErrorKind, Problem};
use crate::format::{
    ConsumerSpec, Fault, FaultAction, Operands, ProducerSpec, Scenario, TopicSpec,
};
use crate::limits;
use broker_core::{ClusterConfig, ConfigError, ConsumerConfig, ProducerConfig, TopicConfig};
use std::collections::{BTreeMap, BTreeSet};

type Check = Result<(), Problem>;

/// Node names of the cluster (`broker-N`, `controller-N`): no client may take one, so a name
/// always means one node (`broker-01` is neither a client nor `broker-1`).
pub(crate) const RESERVED_PREFIXES: [&str; 2] = ["broker-", "controller-"];

impl Scenario {
    /// The cluster config, parsed by broker-core with this scenario's protocol switches.
    pub fn cluster_config(&self) -> Result<ClusterConfig, ConfigError> {
        ClusterConfig::parse(&self.cluster.config, self.protocol.switches())
    }

    /// The config of topic `index`, resolved against the cluster's defaults.
    pub fn topic_config(&self, index: usize) -> Result<TopicConfig, ConfigError> {
        let defaults = self.cluster_config()?.topic_defaults;
        TopicConfig::parse(&self.topics[index].config, &defaults)
    }

    /// Checks everything that serde cannot: names, references, ranges and config maps.
    /// `stem` is the file stem that named it, when the scenario came from a `.toml` file.
    pub(crate) fn check(&self, stem: Option<&str>) -> Check {
        self.check_header(stem)?;
        // Before anything sized by the input (node names, assignments) is allocated.
        self.check_limits()?;
        let cluster = self.check_cluster()?;
        self.check_partition_totals(&cluster)?;
        self.check_environment()?;
        self.check_topics(&cluster)?;
        let nodes = self.check_node_names()?;
        self.check_producers()?;
        self.check_consumers()?;
        self.check_faults(&nodes)?;
        self.check_captions()
    }

    fn check_header(&self, stem: Option<&str>) -> Check {
        // From a `.toml` file the name is the file's stem (`parse`): say so when it is bad.
        let from = match stem {
            Some(_) => " (a scenario is named after its file: rename the file)",
            None => "",
        };
        if self.name.is_empty() {
            return Err(Problem::invalid(
                "name",
                "missing: a scenario not read from a NAME.toml file needs a `name`",
            ));
        }
        check_name_len("name", &self.name)?;
        if !is_kebab(&self.name) {
            return Err(Problem::invalid(
                "name",
                format!(
                    "\"{}\" is not kebab-case (like \"leader-failover\"){from}",
                    echo(&self.name)
                ),
            ));
        }
        if self.title.trim().is_empty() {
            return Err(Problem::invalid("title", "must not be empty"));
        }
        if self.duration_ms == 0 {
            return Err(Problem::invalid("duration_ms", "must be greater than 0"));
        }
        Ok(())
    }

    /// The lab's limits (`limits.rs`) on every count and number: reads them, allocates nothing.
    fn check_limits(&self) -> Check {
        at_most("seed", self.seed, limits::SEED_MAX, "a TOML integer (i64)")?;
        at_most(
            "duration_ms",
            self.duration_ms,
            limits::DURATION_MS_MAX,
            "4 hours",
        )?;
        at_most("drain_ms", self.drain_ms, limits::DRAIN_MS_MAX, "1 hour")?;
        let brokers = self.cluster.brokers;
        if brokers == 0 {
            return Err(Problem::invalid("cluster.brokers", "must be at least 1"));
        }
        at_most(
            "cluster.brokers",
            brokers.into(),
            limits::BROKERS_MAX.into(),
            "brokers in a cluster",
        )?;
        if !limits::CONTROLLERS.contains(&self.cluster.controllers) {
            return Err(Problem::invalid(
                "cluster.controllers",
                format!(
                    "{}: a KRaft quorum has {} to {} controllers (its voters); \
                     use 1 for development, 3 or 5 for production",
                    self.cluster.controllers,
                    limits::CONTROLLERS.start(),
                    limits::CONTROLLERS.end()
                ),
            ));
        }
        count("topics", self.topics.len(), limits::TOPICS_MAX)?;
        count("faults", self.faults.len(), limits::FAULTS_MAX)?;
        count("captions", self.captions.len(), limits::CAPTIONS_MAX)?;
        let clients = self.producers.len() + self.consumers.len();
        if clients > limits::CLIENTS_MAX {
            let key = if self.producers.len() > limits::CLIENTS_MAX {
                "producers"
            } else {
                "consumers"
            };
            return Err(Problem::invalid(
                key,
                format!(
                    "{clients} producers and consumers: the lab's limit is {}",
                    limits::CLIENTS_MAX
                ),
            ));
        }
        for (i, c) in self.consumers.iter().enumerate() {
            let key = format!("consumers[{i}].processing_ms_per_record");
            at_most(
                &key,
                c.processing_ms_per_record,
                limits::LATENCY_MS_MAX,
                "1 minute",
            )?;
        }
        self.check_environment_limits()
    }

    fn check_environment_limits(&self) -> Check {
        let max = limits::LATENCY_MS_MAX;
        at_most(
            "network.latency_ms",
            self.network.latency_ms[1],
            max,
            "1 minute",
        )?;
        at_most(
            "disk.write_latency_ms",
            self.disk.write_latency_ms[1],
            max,
            "1 minute",
        )?;
        at_most(
            "disk.fsync_latency_ms",
            self.disk.fsync_latency_ms[1],
            max,
            "1 minute",
        )?;
        at_most(
            "disk.flush_interval_ms",
            self.disk.flush_interval_ms,
            max,
            "1 minute",
        )?;
        if self.disk.flush_interval_ms == 0 {
            return Err(Problem::invalid(
                "disk.flush_interval_ms",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Partitions per topic and in total, and replicas in total, `__consumer_offsets` included
    /// when a consumer uses a group.
    fn check_partition_totals(&self, cluster: &ClusterConfig) -> Check {
        let mut topics: Vec<(String, u32, u32)> = self
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| {
                (
                    format!("topics[{i}].partitions"),
                    t.partitions,
                    t.replication_factor,
                )
            })
            .collect();
        if self.consumers.iter().any(ConsumerSpec::in_group) {
            topics.push((
                "cluster.config.offsets.topic.num.partitions".to_owned(),
                cluster.offsets_topic_num_partitions,
                cluster.offsets_topic_replication_factor,
            ));
        }
        let (mut partitions, mut replicas) = (0u64, 0u64);
        for (key, count, rf) in topics {
            let max = limits::PARTITIONS_PER_TOPIC_MAX;
            at_most(&key, count.into(), max.into(), "partitions of one topic")?;
            partitions += u64::from(count);
            // A replication factor above the cluster size is reported by `check_topics`.
            replicas += u64::from(count) * u64::from(rf.min(self.cluster.brokers));
            let totals = [
                ("partitions", partitions, limits::PARTITIONS_TOTAL_MAX),
                ("replicas", replicas, limits::REPLICAS_TOTAL_MAX),
            ];
            for (what, total, max) in totals {
                if total > max {
                    return Err(Problem::invalid(
                        key,
                        format!("makes {total} {what} in all topics: the lab's limit is {max}"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_cluster(&self) -> Result<ClusterConfig, Problem> {
        self.cluster_config()
            .map_err(|e| config_problem("cluster.config", e))
    }

    fn check_environment(&self) -> Check {
        check_range("network.latency_ms", self.network.latency_ms)?;
        if self.network.latency_ms[0] == 0 {
            // Time runs in whole milliseconds: a message that arrives in the millisecond it was
            // sent lets two nodes answer each other for ever without time moving.
            return Err(Problem::invalid(
                "network.latency_ms",
                "the minimum must be at least 1 ms (a message takes time)",
            ));
        }
        check_probability("network.drop_rate", self.network.drop_rate)?;
        check_probability("network.duplicate_rate", self.network.duplicate_rate)?;
        check_range("disk.write_latency_ms", self.disk.write_latency_ms)?;
        check_range("disk.fsync_latency_ms", self.disk.fsync_latency_ms)?;
        check_probability("disk.tear_probability", self.disk.tear_probability)
    }

    fn check_topics(&self, cluster: &ClusterConfig) -> Check {
        let mut seen = BTreeSet::new();
        for (i, topic) in self.topics.iter().enumerate() {
            let key = format!("topics[{i}]");
            check_topic_name(&format!("{key}.name"), &topic.name)?;
            if !seen.insert(topic.name.as_str()) {
                return Err(Problem::invalid(
                    format!("{key}.name"),
                    format!("topic \"{}\" is defined twice", echo(&topic.name)),
                ));
            }
            self.check_topic_layout(&key, topic)?;
            TopicConfig::parse(&topic.config, &cluster.topic_defaults)
                .map_err(|e| config_problem(&format!("{key}.config"), e))?;
        }
        Ok(())
    }

    fn check_topic_layout(&self, key: &str, topic: &TopicSpec) -> Check {
        let brokers = self.cluster.brokers;
        if topic.partitions == 0 {
            return Err(Problem::invalid(
                format!("{key}.partitions"),
                "must be at least 1",
            ));
        }
        if topic.replication_factor == 0 || topic.replication_factor > brokers {
            return Err(Problem::invalid(
                format!("{key}.replication_factor"),
                format!(
                    "{} is out of range 1..={brokers} (the cluster has {brokers} brokers)",
                    topic.replication_factor
                ),
            ));
        }
        let Some(assignment) = &topic.assignment else {
            return Ok(());
        };
        if assignment.len() != topic.partitions as usize {
            return Err(Problem::invalid(
                format!("{key}.assignment"),
                format!(
                    "has {} replica lists but the topic has {} partitions",
                    assignment.len(),
                    topic.partitions
                ),
            ));
        }
        for (p, replicas) in assignment.iter().enumerate() {
            let pkey = format!("{key}.assignment[{p}]");
            if replicas.len() != topic.replication_factor as usize {
                return Err(Problem::invalid(
                    pkey,
                    format!(
                        "has {} replicas but replication_factor is {}",
                        replicas.len(),
                        topic.replication_factor
                    ),
                ));
            }
            let mut seen = BTreeSet::new();
            for (r, &broker) in replicas.iter().enumerate() {
                if broker == 0 || broker > brokers {
                    return Err(Problem::invalid(
                        format!("{pkey}[{r}]"),
                        format!("no broker {broker} (brokers are 1..={brokers})"),
                    ));
                }
                if !seen.insert(broker) {
                    return Err(Problem::invalid(
                        format!("{pkey}[{r}]"),
                        format!("broker {broker} is listed twice"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Client names are kebab-case and unique among all nodes; returns every node name.
    fn check_node_names(&self) -> Result<BTreeSet<String>, Problem> {
        let mut nodes: BTreeSet<String> = BTreeSet::new();
        let clients = self
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("producers[{i}].name"), &p.name))
            .chain(
                self.consumers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("consumers[{i}].name"), &c.name)),
            );
        let servers = self.nodes();
        let servers = &servers[..servers.len() - self.producers.len() - self.consumers.len()];
        nodes.extend(servers.iter().cloned());
        for (key, name) in clients {
            check_name_len(&key, name)?;
            if !is_kebab(name) {
                return Err(Problem::invalid(
                    key,
                    format!("\"{}\" is not kebab-case (like \"producer-1\")", echo(name)),
                ));
            }
            if let Some(prefix) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
                return Err(Problem::invalid(
                    key,
                    format!(
                        "\"{}\": names starting with \"{prefix}\" are reserved for the cluster's \
                         nodes; name a client like \"producer-1\" or \"consumer-1\"",
                        echo(name)
                    ),
                ));
            }
            if !nodes.insert(name.clone()) {
                return Err(Problem::invalid(
                    key,
                    format!("node name \"{}\" is already taken", echo(name)),
                ));
            }
        }
        Ok(nodes)
    }

    fn topic_names(&self) -> BTreeSet<&str> {
        self.topics.iter().map(|t| t.name.as_str()).collect()
    }

    fn unknown_topic(&self, key: String, topic: &str) -> Problem {
        let names: Vec<_> = self.topics.iter().map(|t| t.name.as_str()).collect();
        Problem::invalid(
            key,
            format!(
                "unknown topic \"{}\" (topics: {})",
                echo(topic),
                list(&names)
            ),
        )
    }

    fn check_producers(&self) -> Check {
        let topics = self.topic_names();
        for (i, p) in self.producers.iter().enumerate() {
            let key = format!("producers[{i}]");
            check_producer(&key, p)?;
            if !topics.contains(p.topic.as_str()) {
                return Err(self.unknown_topic(format!("{key}.topic"), &p.topic));
            }
            ProducerConfig::parse(&p.config)
                .map_err(|e| config_problem(&format!("{key}.config"), e))?;
        }
        self.check_records_total()
    }

    /// What all producers may send in the run stays within [`limits::RECORDS_TOTAL_MAX`]: each
    /// sends its `records`, or at its rate from `start_ms` to `stop_ms` or the end of the main
    /// phase, whichever is fewer.
    fn check_records_total(&self) -> Check {
        let mut total = 0u64;
        for (i, p) in self.producers.iter().enumerate() {
            let end = p.stop_ms.unwrap_or(u64::MAX).min(self.duration_ms);
            let window_ms = end.saturating_sub(p.start_ms);
            // milli-records/s × ms / 10⁶, plus the one sent at the start.
            let by_rate =
                limits::rate_per_s_milli(p.rate_per_s).saturating_mul(window_ms) / 1_000_000 + 1;
            total = total.saturating_add(p.records.map_or(by_rate, |r| r.min(by_rate)));
            if total > limits::RECORDS_TOTAL_MAX {
                return Err(Problem::invalid(
                    format!("producers[{i}].rate_per_s"),
                    format!(
                        "the producers would send about {total} records in duration_ms: the \
                         lab's limit is {} (lower the rate, set `records`, or shorten the run)",
                        limits::RECORDS_TOTAL_MAX
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_consumers(&self) -> Check {
        let topics = self.topic_names();
        for (i, c) in self.consumers.iter().enumerate() {
            let key = format!("consumers[{i}]");
            check_consumer(&key, c)?;
            for (t, topic) in c.topics.iter().enumerate() {
                if !topics.contains(topic.as_str()) {
                    return Err(self.unknown_topic(format!("{key}.topics[{t}]"), topic));
                }
            }
            ConsumerConfig::parse(&c.config)
                .map_err(|e| config_problem(&format!("{key}.config"), e))?;
        }
        Ok(())
    }

    fn check_faults(&self, nodes: &BTreeSet<String>) -> Check {
        let known = |key: String, name: &str| -> Check {
            if nodes.contains(name) {
                Ok(())
            } else {
                let all = self.nodes();
                let all: Vec<_> = all.iter().map(String::as_str).collect();
                Err(Problem::invalid(
                    key,
                    format!("unknown node \"{}\" (nodes: {})", echo(name), list(&all)),
                ))
            }
        };
        for (i, fault) in self.faults.iter().enumerate() {
            let key = format!("faults[{i}]");
            if fault.at_ms > self.duration_ms {
                return Err(Problem::invalid(
                    format!("{key}.at_ms"),
                    format!(
                        "{} is after duration_ms ({})",
                        fault.at_ms, self.duration_ms
                    ),
                ));
            }
            check_operands(&key, fault)?;
            self.check_delete_records(&key, fault)?;
            if self.check_role_target(&key, fault)? {
                continue; // a dynamic target: `target` only, checked
            }
            if let Some(target) = &fault.target {
                known(format!("{key}.target"), target)?;
                let producer = fault.action == FaultAction::Produce;
                if producer && !self.producers.iter().any(|p| &p.name == target) {
                    let producers: Vec<&str> =
                        self.producers.iter().map(|p| p.name.as_str()).collect();
                    return Err(Problem::invalid(
                        format!("{key}.target"),
                        format!(
                            "`produce` takes a producer, not \"{}\" (producers: {})",
                            echo(target),
                            list(&producers)
                        ),
                    ));
                }
                self.check_leave_target(&key, fault)?;
                let joins = matches!(fault.action, FaultAction::Join | FaultAction::Leave);
                if joins && !self.consumers.iter().any(|c| &c.name == target) {
                    let consumers: Vec<&str> =
                        self.consumers.iter().map(|c| c.name.as_str()).collect();
                    return Err(Problem::invalid(
                        format!("{key}.target"),
                        format!(
                            "`{}` takes a consumer, not \"{}\" (consumers: {})",
                            fault.action.as_str(),
                            echo(target),
                            list(&consumers)
                        ),
                    ));
                }
            }
            if let (Some(from), Some(to)) = (&fault.from, &fault.to) {
                known(format!("{key}.from"), from)?;
                known(format!("{key}.to"), to)?;
                if from == to {
                    return Err(Problem::invalid(
                        format!("{key}.to"),
                        "must differ from `from`",
                    ));
                }
            }
            let mut placed = BTreeSet::new();
            for (s, side) in fault.sides.iter().flatten().enumerate() {
                if side.is_empty() {
                    return Err(Problem::invalid(
                        format!("{key}.sides[{s}]"),
                        "a side needs at least one node",
                    ));
                }
                for (n, name) in side.iter().enumerate() {
                    let nkey = format!("{key}.sides[{s}][{n}]");
                    known(nkey.clone(), name)?;
                    if !placed.insert(name.as_str()) {
                        return Err(Problem::invalid(
                            nkey,
                            format!("node \"{}\" is on more than one side", echo(name)),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// `delete-records` names a partition of the scenario and an offset of at least -1.
    fn check_delete_records(&self, key: &str, fault: &Fault) -> Check {
        if let Some(partition) = &fault.partition {
            self.partition_of(partition)
                .map_err(|message| Problem::invalid(format!("{key}.partition"), message))?;
        }
        if let Some(offset) = fault.offset.filter(|o| *o < -1) {
            return Err(Problem::invalid(
                format!("{key}.offset"),
                format!("{offset} is not an offset (at least 0, or -1 for the high watermark)"),
            ));
        }
        Ok(())
    }

    /// `leave` is `LeaveGroup`: only a consumer of a group can leave one.
    fn check_leave_target(&self, key: &str, fault: &Fault) -> Check {
        if fault.action != FaultAction::Leave {
            return Ok(());
        }
        let target = fault.target.as_deref().unwrap_or_default();
        let consumer = self.consumers.iter().find(|c| c.name == target);
        if consumer.is_some_and(|c| !c.in_group()) {
            return Err(Problem::invalid(
                format!("{key}.target"),
                format!(
                    "`leave` takes a consumer of a group, and \"{}\" has none (it is assigned \
                     its partitions); give it a `group` or crash it instead",
                    echo(target)
                ),
            ));
        }
        Ok(())
    }

    fn check_captions(&self) -> Check {
        let end = self.duration_ms.saturating_add(self.drain_ms);
        for (i, caption) in self.captions.iter().enumerate() {
            if caption.at_ms > end {
                return Err(Problem::invalid(
                    format!("captions[{i}].at_ms"),
                    format!(
                        "{} is after the end of the run (duration_ms + drain_ms = {end})",
                        caption.at_ms
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_producer(key: &str, p: &ProducerSpec) -> Check {
    let rate = p.rate_per_s;
    if !(rate.is_finite() && rate > 0.0 && rate <= limits::RATE_PER_S_MAX) {
        return Err(Problem::invalid(
            format!("{key}.rate_per_s"),
            format!(
                "{rate} must be a number greater than 0 and at most {} (the lab's limit)",
                limits::RATE_PER_S_MAX
            ),
        ));
    }
    // The world counts the rate in records per 1000 s: a lower rate would never send.
    if limits::rate_per_s_milli(rate) == 0 {
        return Err(Problem::invalid(
            format!("{key}.rate_per_s"),
            format!(
                "{rate} rounds to no record at all: the lowest rate is {} records per second",
                limits::RATE_PER_S_MIN
            ),
        ));
    }
    if let Some(prefix) = &p.key_prefix {
        let valid = (1..=limits::KEY_PREFIX_CHARS_MAX).contains(&prefix.chars().count());
        if !valid || prefix.chars().any(char::is_whitespace) {
            return Err(Problem::invalid(
                format!("{key}.key_prefix"),
                format!(
                    "{} must be 1 to {} characters without spaces",
                    echo(prefix),
                    limits::KEY_PREFIX_CHARS_MAX
                ),
            ));
        }
    }
    match p.tombstone_every {
        Some(0) => {
            return Err(Problem::invalid(
                format!("{key}.tombstone_every"),
                "must be at least 1 (leave it out for no tombstones)",
            ))
        }
        Some(_) if p.keys == 0 => {
            return Err(Problem::invalid(
                format!("{key}.tombstone_every"),
                "a tombstone deletes a key: set `keys` too",
            ))
        }
        _ => {}
    }
    if p.records == Some(0) {
        return Err(Problem::invalid(
            format!("{key}.records"),
            "must be at least 1 (leave it out for no cap)",
        ));
    }
    if let Some(stop) = p.stop_ms {
        if stop <= p.start_ms {
            return Err(Problem::invalid(
                format!("{key}.stop_ms"),
                format!("{stop} must be after start_ms ({})", p.start_ms),
            ));
        }
    }
    Ok(())
}

fn check_consumer(key: &str, c: &ConsumerSpec) -> Check {
    if c.topics.is_empty() {
        return Err(Problem::invalid(
            format!("{key}.topics"),
            "needs at least one topic",
        ));
    }
    if c.group.as_deref().is_some_and(|g| g.trim().is_empty()) {
        return Err(Problem::invalid(
            format!("{key}.group"),
            "must not be empty (leave it out for assign mode)",
        ));
    }
    if let Some(group) = &c.group {
        check_name_len(&format!("{key}.group"), group)?;
    }
    Ok(())
}

/// A name within [`limits::NAME_LEN_MAX`] bytes.
fn check_name_len(key: &str, name: &str) -> Check {
    if name.len() <= limits::NAME_LEN_MAX {
        return Ok(());
    }
    Err(Problem::invalid(
        key,
        format!(
            "\"{}\" is longer than the lab's limit of {} bytes for a name",
            echo(name),
            limits::NAME_LEN_MAX
        ),
    ))
}

/// The fault has exactly the fields its action takes.
fn check_operands(key: &str, fault: &Fault) -> Check {
    let action = fault.action.as_str();
    let present: BTreeMap<&str, bool> = [
        ("target", fault.target.is_some()),
        ("sides", fault.sides.is_some()),
        ("from", fault.from.is_some()),
        ("to", fault.to.is_some()),
        ("partition", fault.partition.is_some()),
        ("offset", fault.offset.is_some()),
    ]
    .into_iter()
    .collect();
    let needed: &[&str] = match fault.action.operands() {
        Operands::Target => &["target"],
        Operands::Sides => &["sides"],
        Operands::FromTo => &["from", "to"],
        Operands::PartitionOffset => &["partition", "offset"],
        Operands::None => &[],
    };
    for field in needed {
        if !present[field] {
            return Err(Problem::invalid(
                format!("{key}.{field}"),
                format!("action \"{action}\" needs `{field}`"),
            )
            .anchored(format!("{key}.action")));
        }
    }
    for (field, &is_present) in &present {
        if is_present && !needed.contains(field) {
            let takes = if needed.is_empty() {
                "nothing".to_owned()
            } else {
                needed
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            };
            return Err(Problem::invalid(
                format!("{key}.{field}"),
                format!("action \"{action}\" takes {takes}, not `{field}`"),
            ));
        }
    }
    if let Some(sides) = &fault.sides {
        if sides.len() < 2 {
            return Err(Problem::invalid(
                format!("{key}.sides"),
                "a partition needs at least two sides",
            ));
        }
    }
    Ok(())
}

fn config_problem(table: &str, error: ConfigError) -> Problem {
    let (key, message) = match error {
        ConfigError::UnknownKey { key, valid } => {
            (key, format!("unknown config key (valid keys: {valid})"))
        }
        ConfigError::InvalidValue { key, message } => (key, message),
    };
    Problem {
        kind: ErrorKind::Config,
        key: format!("{table}.{key}"),
        message,
        anchor: None,
    }
}

fn check_range(key: &str, [min, max]: [u64; 2]) -> Check {
    if min > max {
        return Err(Problem::invalid(
            key,
            format!("[{min}, {max}]: min must not exceed max"),
        ));
    }
    Ok(())
}

fn check_probability(key: &str, p: f64) -> Check {
    if !(0.0..=1.0).contains(&p) {
        return Err(Problem::invalid(
            key,
            format!("{p} is not a probability in [0, 1]"),
        ));
    }
    Ok(())
}

/// Lowercase letters and digits in words joined by single hyphens, starting with a letter.
pub(crate) fn is_kebab(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn check_topic_name(key: &str, name: &str) -> Check {
    let legal = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && !name.starts_with("__")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if legal {
        Ok(())
    } else {
        Err(Problem::invalid(
            key,
            format!(
                "\"{}\" is not a legal topic name (letters, digits, '.', '_', '-'; \
                 at most 249; not starting with \"__\")",
                echo(name)
            ),
        ))
    }
}

fn list(names: &[&str]) -> String {
    echo_list(names)
}

/// `value` ≤ `max`, or an error naming `key` and the limit (`what` says what it is).
fn at_most(key: &str, value: u64, max: u64, what: &str) -> Check {
    if value > max {
        return Err(Problem::invalid(
            key,
            format!("{value} is above the lab's limit of {max} ({what})"),
        ));
    }
    Ok(())
}

/// At most `max` entries in the list `key`.
fn count(key: &str, len: usize, max: usize) -> Check {
    if len > max {
        // Points at the first entry too many.
        return Err(Problem::invalid(
            format!("{key}[{max}]"),
            format!("{len} [[{key}]] entries: the lab's limit is {max}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case() {
        for good in ["a", "producer-1", "acks-1-lost-write"] {
            assert!(is_kebab(good), "{good}");
        }
        for bad in ["", "Producer", "1a", "a--b", "a-", "a_b", "-a"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }
}
