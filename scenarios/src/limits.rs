//! The lab's limits: the one place that says how big a scenario may be. Validation checks
//! every count and number here before anything sized by the input is allocated (node names,
//! assignments, the world), so a typo such as `brokers = 4294967295` is an error, not an abort
//! while allocating. The README's "Limits" section states the same numbers.

/// Brokers in a cluster.
pub const BROKERS_MAX: u32 = 64;
/// Names of scenarios, clients and groups: they label every record, history entry and finding
/// of a run, so a name the size of a file made a run hold gigabytes. Kafka's own limit on a
/// topic name (`Topic.MAX_NAME_LENGTH`, checked separately) is 249.
pub const NAME_LEN_MAX: usize = 64;
/// Controllers: the voters of the KRaft quorum, 1 to 5 (Kafka recommends 3 or 5; more voters
/// slow every commit and buy little).
pub const CONTROLLERS: std::ops::RangeInclusive<u32> = 1..=5;
/// Characters in a producer's `key_prefix`.
pub const KEY_PREFIX_CHARS_MAX: usize = 32;
/// Topics in a scenario.
pub const TOPICS_MAX: usize = 100;
/// Partitions of one topic (also `offsets.topic.num.partitions`).
pub const PARTITIONS_PER_TOPIC_MAX: u32 = 1000;
/// Partitions of all topics together, `__consumer_offsets` included.
pub const PARTITIONS_TOTAL_MAX: u64 = 4000;
/// Replicas of all partitions together (partitions × replication factor).
pub const REPLICAS_TOTAL_MAX: u64 = 12_000;
/// Producers and consumers together.
pub const CLIENTS_MAX: usize = 200;
/// `duration_ms`: four simulated hours.
pub const DURATION_MS_MAX: u64 = 4 * 3_600_000;
/// `drain_ms`: one simulated hour.
pub const DRAIN_MS_MAX: u64 = 3_600_000;
/// The smallest `rate_per_s`: the world counts rates in records per 1000 s
/// (`rate_per_s_milli`), so a lower rate would round to never sending.
pub const RATE_PER_S_MIN: f64 = 0.001;
/// The largest `rate_per_s` of one producer.
pub const RATE_PER_S_MAX: f64 = 10_000.0;
/// Records all producers may send in a run (each producer: `records`, or its rate over the
/// time it sends): what the history and the logs hold, about 800 bytes each (`kafka-lab
/// bench`), so a run at the limit needs some 8 GB; `bench --scale 10` sends 6 million.
pub const RECORDS_TOTAL_MAX: u64 = 10_000_000;
/// `[[faults]]` entries.
pub const FAULTS_MAX: usize = 10_000;
/// `[[captions]]` entries.
pub const CAPTIONS_MAX: usize = 1000;
/// Any latency or interval of `[network]` and `[disk]`, and `processing_ms_per_record`.
pub const LATENCY_MS_MAX: u64 = 60_000;
/// The largest seed: a seed is written back into scenario files, and TOML integers are i64.
pub const SEED_MAX: u64 = i64::MAX as u64;

/// Seeds one `kafka-lab check` runs (`--seeds`): their list is allocated up front.
pub const CHECK_SEEDS_MAX: u64 = 10_000_000;

/// Records per 1000 simulated seconds, as the world counts a producer's rate.
pub fn rate_per_s_milli(rate_per_s: f64) -> u64 {
    (rate_per_s * 1000.0).round() as u64
}
