//! A swarm case: what one seed draws (cluster size, workload, network, a fault schedule), as a
//! proptest strategy so that a failing case shrinks, and its translation to a scenario file.

use super::profile::{FaultMix, Profile};
use crate::format::{
    Cluster, ConsumerSpec, Disk, Expect, Fault, FaultAction, Network, ProducerSpec, Protocol,
    Scenario, TopicSpec, Truncation,
};
use broker_core::{ConfigMap, ConfigValue};
use proptest::prelude::*;

/// Every case's main phase, before shrinking (the "60 simulated seconds each").
pub const DURATION_MS: u64 = 60_000;
/// Faults start no later than this, so every one of them happens in the main phase.
const LAST_START_MS: u64 = 50_000;

/// The node a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// A broker by index (taken modulo the broker count, so fewer brokers still name one).
    Broker(u32),
    /// The controller.
    Controller,
    /// A consumer of the group, by index (modulo the group size).
    Consumer(u32),
    /// A voter of the controller quorum, by index (modulo the controller count): the
    /// `quorum` profiles.
    Voter(u32),
}

/// Members of the group in the `groups` profile.
const GROUP_MEMBERS: u32 = 3;

/// A fault and how it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpisodeFault {
    /// Crash, then restart.
    Crash(Target),
    /// A rolling restart gone wrong: the first broker crashes and restarts, and the second
    /// crashes `gap_ms` after that restart, before the first may have caught up (KIP-101's
    /// sequence), then restarts too.
    RollingCrash(Target, Target, u64),
    /// Power failure, then restart.
    PowerFail(Target),
    /// Every broker loses power at once, then all restart.
    PowerFailAll,
    /// Controlled shutdown, then restart.
    Shutdown(Target),
    /// Pause, then resume.
    Pause(Target),
    /// Clog, then unclog.
    Clog(Target),
    /// Isolate, then heal.
    Isolate(Target),
    /// Cut one link one way, then heal.
    Cut(Target, Target),
    /// Split the nodes by the bits of a mask, then heal.
    Partition(u32),
    /// A consumer leaves the group (`close`), then joins again.
    Leave(u32),
    /// A majority of the voters crashes (the voter at the index and the next ones), then they
    /// restart (`quorum-lost`).
    MajorityOut(u32),
}

/// A fault that starts at `start_ms` and is undone `length_ms` later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    /// When it starts.
    pub start_ms: u64,
    /// How long it lasts.
    pub length_ms: u64,
    /// What it is.
    pub fault: EpisodeFault,
}

/// What one seed runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// Brokers (RF is 3, so at least 3).
    pub brokers: u32,
    /// Controllers: the profile's, not drawn (`Profile::controllers`).
    pub controllers: u32,
    /// Partitions of the topic.
    pub partitions: u32,
    /// Records per second.
    pub rate_per_s: u32,
    /// Key space; 0 for null keys.
    pub keys: u32,
    /// Random message drops, per mille.
    pub drop_per_mille: u32,
    /// The fault schedule.
    pub episodes: Vec<Episode>,
    /// The main phase.
    pub duration_ms: u64,
    /// The `groups` profile: 0 range, 1 round-robin, 2 cooperative-sticky.
    pub assignor: u32,
    /// The `groups` profile: processing time per record, ms.
    pub processing_ms_per_record: u64,
    /// The `safe` profile: the topic's retention (drawn last, so the other fields of a seed
    /// are what they were before retention existed).
    pub retention: Retention,
    /// The `safe` profile: the topic's compaction (drawn after retention, for the same reason).
    pub compaction: Compaction,
}

/// Compaction settings of the `safe` profile's topic: the cleaner must never be a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compaction {
    /// Whether and how the topic is compacted.
    pub mode: CompactionMode,
    /// `min.cleanable.dirty.ratio`, in thousandths.
    pub dirty_ratio_milli: u32,
    /// `min.compaction.lag.ms`.
    pub min_lag_ms: u64,
    /// `max.compaction.lag.ms`, at least `min.compaction.lag.ms`.
    pub max_lag_ms: u64,
    /// `log.cleaner.backoff.ms`.
    pub backoff_ms: u64,
}

/// The `cleanup.policy` a `safe` case draws for its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompactionMode {
    /// Kafka's default, `delete`: no compaction.
    Off,
    /// `cleanup.policy=compact`.
    Compact,
    /// `cleanup.policy=compact,delete`.
    CompactDelete,
}

/// Which retention limits a `safe` case draws for its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetentionMode {
    /// Kafka's defaults (7 days, no size limit).
    Defaults,
    /// `retention.ms`.
    Time,
    /// `retention.bytes` (with `retention.ms=-1`).
    Size,
    /// Both.
    TimeAndSize,
}

fn compaction() -> impl Strategy<Value = Compaction> {
    (
        0u32..3,
        0u32..=1000,
        0u64..=5_000,
        1u64..=20_000,
        200u64..=5_000,
    )
        .prop_map(
            |(mode, dirty_ratio_milli, min_lag_ms, extra_lag_ms, backoff_ms)| Compaction {
                // Drawn as a number so that the cases drawn stay those of every earlier run.
                mode: [
                    CompactionMode::Off,
                    CompactionMode::Compact,
                    CompactionMode::CompactDelete,
                ][mode as usize],
                dirty_ratio_milli,
                min_lag_ms,
                max_lag_ms: min_lag_ms + extra_lag_ms,
                backoff_ms,
            },
        )
}

/// Retention settings of the `safe` profile's topic: deletion must never be a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Which limits apply.
    pub mode: RetentionMode,
    /// `retention.ms`.
    pub retention_ms: u64,
    /// `retention.bytes`.
    pub retention_bytes: u64,
    /// `segment.bytes`.
    pub segment_bytes: u64,
    /// `log.retention.check.interval.ms`.
    pub check_interval_ms: u64,
}

fn retention() -> impl Strategy<Value = Retention> {
    (
        0u32..4,
        2_000u64..=60_000,
        2_000u64..=50_000,
        500u64..=10_000,
        500u64..=10_000,
    )
        .prop_map(
            |(mode, retention_ms, retention_bytes, segment_bytes, check_interval_ms)| Retention {
                // Drawn as a number so that the cases drawn stay those of every earlier run.
                mode: [
                    RetentionMode::Defaults,
                    RetentionMode::Time,
                    RetentionMode::Size,
                    RetentionMode::TimeAndSize,
                ][mode as usize],
                retention_ms,
                retention_bytes,
                segment_bytes,
                check_interval_ms,
            },
        )
}

/// The strategy of a profile's cases. Shrinking removes episodes, shortens them, and lowers
/// brokers, partitions, rate and drops towards their minimum.
pub fn strategy(profile: Profile) -> BoxedStrategy<Case> {
    let mix = profile.faults();
    let episodes = prop::collection::vec(episode(mix), 0..=8);
    let blackout = if mix.power_fail_all {
        (10_000..=LAST_START_MS, 1_000u64..=10_000)
            .prop_map(|(start_ms, length_ms)| {
                vec![Episode {
                    start_ms,
                    length_ms,
                    fault: EpisodeFault::PowerFailAll,
                }]
            })
            .boxed()
    } else if mix.majority_lost {
        (10_000..=LAST_START_MS, 1_000u64..=20_000, 0u32..3)
            .prop_map(|(start_ms, length_ms, first)| {
                vec![Episode {
                    start_ms,
                    length_ms,
                    fault: EpisodeFault::MajorityOut(first),
                }]
            })
            .boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (
        3u32..=5,
        1u32..=3,
        10u32..=100,
        0u32..=10,
        0..=mix.drop_per_mille_max,
        blackout,
        episodes,
        (0u32..3, 0u64..=5),
        retention(),
        compaction(),
    )
        .prop_map(
            move |(
                brokers,
                partitions,
                rate_per_s,
                keys,
                drop_per_mille,
                blackout,
                mut episodes,
                g,
                retention,
                compaction,
            )| {
                episodes.extend(blackout);
                Case {
                    brokers,
                    controllers: profile.controllers(),
                    partitions,
                    rate_per_s,
                    keys,
                    drop_per_mille,
                    episodes,
                    duration_ms: DURATION_MS,
                    assignor: g.0,
                    processing_ms_per_record: g.1,
                    retention,
                    compaction,
                }
            },
        )
        .boxed()
}

fn target(mix: FaultMix) -> BoxedStrategy<Target> {
    let broker = (0u32..5).prop_map(Target::Broker);
    if mix.consumers {
        let consumer = (0..GROUP_MEMBERS).prop_map(Target::Consumer);
        prop_oneof![
            4 => broker,
            1 => Just(Target::Controller),
            3 => consumer
        ]
        .boxed()
    } else if mix.voters {
        prop_oneof![6 => broker, 3 => (0u32..3).prop_map(Target::Voter)].boxed()
    } else if mix.controller {
        prop_oneof![6 => broker, 1 => Just(Target::Controller)].boxed()
    } else {
        broker.boxed()
    }
}

fn episode(mix: FaultMix) -> impl Strategy<Value = Episode> {
    let broker = || (0u32..5).prop_map(Target::Broker);
    let mut kinds: Vec<(u32, BoxedStrategy<EpisodeFault>)> = Vec::new();
    if mix.crash {
        kinds.push((4, target(mix).prop_map(EpisodeFault::Crash).boxed()));
    }
    if mix.crash {
        let rolling = (broker(), broker(), 0u64..=3_000)
            .prop_map(|(a, b, gap_ms)| EpisodeFault::RollingCrash(a, b, gap_ms));
        kinds.push((3, rolling.boxed()));
    }
    if mix.power_fail {
        kinds.push((2, broker().prop_map(EpisodeFault::PowerFail).boxed()));
    }
    if mix.voters {
        let voter = (0u32..3).prop_map(|v| EpisodeFault::PowerFail(Target::Voter(v)));
        kinds.push((1, voter.boxed()));
    }
    if mix.shutdown {
        kinds.push((1, broker().prop_map(EpisodeFault::Shutdown).boxed()));
    }
    if mix.pause {
        kinds.push((2, target(mix).prop_map(EpisodeFault::Pause).boxed()));
    }
    if mix.clog {
        kinds.push((1, target(mix).prop_map(EpisodeFault::Clog).boxed()));
    }
    if mix.network {
        kinds.push((2, target(mix).prop_map(EpisodeFault::Isolate).boxed()));
        kinds.push((
            2,
            (target(mix), target(mix))
                .prop_map(|(a, b)| EpisodeFault::Cut(a, b))
                .boxed(),
        ));
        // Masks over the brokers and the controllers (up to 5 + 3 nodes with voters).
        let masks = if mix.voters { 1u32..255 } else { 1u32..63 };
        kinds.push((2, masks.prop_map(EpisodeFault::Partition).boxed()));
    }
    if mix.consumers {
        let leave = (0..GROUP_MEMBERS).prop_map(EpisodeFault::Leave);
        kinds.push((2, leave.boxed()));
    }
    let fault = prop::strategy::Union::new_weighted(kinds);
    (1_000..=LAST_START_MS, 500u64..=20_000, fault).prop_map(|(start_ms, length_ms, fault)| {
        Episode {
            start_ms,
            length_ms,
            fault,
        }
    })
}

impl Case {
    /// The scenario file of this case: everything explicit, so it replays without the swarm.
    pub fn to_scenario(&self, profile: Profile, seed: u64) -> Scenario {
        let mut scenario = Scenario {
            name: format!("{profile}-seed-{seed}"),
            title: format!("Found by kafka-lab check --profile {profile}, seed {seed}"),
            summary: format!(
                "A case drawn by the `{profile}` swarm profile ({}), shrunk to what still shows the finding.",
                profile.summary()
            ),
            seed,
            duration_ms: self.duration_ms,
            drain_ms: 30_000,
            cluster: self.cluster(profile),
            protocol: Protocol {
                truncation: match profile {
                    Profile::HwTruncation => Truncation::HighWatermark,
                    _ => Truncation::LeaderEpoch,
                },
                ..Protocol::default()
            },
            network: Network {
                latency_ms: [1, 10],
                drop_rate: f64::from(self.drop_per_mille) / 1000.0,
                duplicate_rate: 0.0,
            },
            disk: Disk::default(),
            topics: vec![self.topic(profile)],
            producers: vec![self.producer(profile)],
            consumers: self.consumers(profile),
            faults: Vec::new(),
            captions: Vec::new(),
            overrides: Vec::new(),
            expect: Expect::default(),
        };
        scenario.faults = self.faults(profile, &scenario);
        scenario
    }

    fn consumers(&self, profile: Profile) -> Vec<ConsumerSpec> {
        let earliest = ("auto.offset.reset", ConfigValue::Str("earliest".into()));
        if profile != Profile::Groups {
            return vec![ConsumerSpec {
                name: "consumer-1".into(),
                topics: vec!["events".into()],
                group: None,
                start_ms: 0,
                processing_ms_per_record: 0,
                config: config(&[earliest]),
            }];
        }
        let assignor = ["range", "roundrobin", "cooperative-sticky"][self.assignor as usize % 3];
        let group_config = config(&[
            earliest,
            (
                "partition.assignment.strategy",
                ConfigValue::Str(assignor.into()),
            ),
            ("auto.commit.interval.ms", ConfigValue::Int(1_000)),
            ("session.timeout.ms", ConfigValue::Int(6_000)),
            ("heartbeat.interval.ms", ConfigValue::Int(1_000)),
            ("max.poll.interval.ms", ConfigValue::Int(10_000)),
            ("request.timeout.ms", ConfigValue::Int(5_000)),
        ]);
        (1..=GROUP_MEMBERS)
            .map(|n| ConsumerSpec {
                name: format!("consumer-{n}"),
                topics: vec!["events".into()],
                group: Some("g1".into()),
                start_ms: 0,
                processing_ms_per_record: self.processing_ms_per_record,
                config: group_config.clone(),
            })
            .collect()
    }

    fn cluster(&self, profile: Profile) -> Cluster {
        let mut entries = vec![
            ("replica.lag.time.max.ms", ConfigValue::Int(10_000)),
            ("broker.session.timeout.ms", ConfigValue::Int(6_000)),
            ("broker.heartbeat.interval.ms", ConfigValue::Int(1_000)),
        ];
        if profile == Profile::Unclean {
            entries.push(("unclean.leader.election.enable", ConfigValue::Bool(true)));
        }
        if profile == Profile::Safe && self.retention.mode != RetentionMode::Defaults {
            let interval = ConfigValue::Int(self.retention.check_interval_ms as i64);
            entries.push(("log.retention.check.interval.ms", interval));
        }
        if self.compacts(profile) {
            let backoff = ConfigValue::Int(self.compaction.backoff_ms as i64);
            entries.push(("log.cleaner.backoff.ms", backoff));
        }
        if profile == Profile::Groups {
            entries.push(("group.initial.rebalance.delay.ms", ConfigValue::Int(1_000)));
            // `__consumer_offsets` takes the broker default: min ISR 2, as for `events`.
            entries.push(("min.insync.replicas", ConfigValue::Int(2)));
            entries.push(("offsets.topic.num.partitions", ConfigValue::Int(3)));
        }
        Cluster {
            brokers: self.brokers,
            controllers: profile.controllers(),
            config: config(&entries),
        }
    }

    fn topic(&self, profile: Profile) -> TopicSpec {
        let min_isr = i64::from(profile.min_insync_replicas());
        TopicSpec {
            name: "events".into(),
            partitions: self.partitions,
            replication_factor: 3,
            assignment: None,
            config: config(&self.topic_entries(profile, min_isr)),
        }
    }

    /// Whether the `safe` profile's topic is compacted: only with keys, since Kafka refuses a
    /// record without a key on a compacted topic (`LogValidator`), which the lab's workload
    /// would send otherwise.
    fn compacts(&self, profile: Profile) -> bool {
        profile == Profile::Safe && self.compaction.mode != CompactionMode::Off && self.keys > 0
    }

    /// The topic's configs: min ISR, and in the `safe` profile the drawn retention and
    /// compaction.
    fn topic_entries(&self, profile: Profile, min_isr: i64) -> Vec<(&'static str, ConfigValue)> {
        let mut entries = vec![("min.insync.replicas", ConfigValue::Int(min_isr))];
        if self.compacts(profile) {
            let c = self.compaction;
            let policy = match c.mode {
                CompactionMode::Compact => "compact",
                _ => "compact,delete",
            };
            entries.push(("cleanup.policy", ConfigValue::Str(policy.into())));
            let ratio = f64::from(c.dirty_ratio_milli) / 1000.0;
            entries.push(("min.cleanable.dirty.ratio", ConfigValue::Float(ratio)));
            entries.push((
                "min.compaction.lag.ms",
                ConfigValue::Int(c.min_lag_ms as i64),
            ));
            entries.push((
                "max.compaction.lag.ms",
                ConfigValue::Int(c.max_lag_ms as i64),
            ));
            if self.retention.mode == RetentionMode::Defaults {
                // Small segments, so that the cleaner has closed segments to clean.
                let segment = 500 + u64::from(c.dirty_ratio_milli) * 5;
                entries.push(("segment.bytes", ConfigValue::Int(segment as i64)));
            }
        }
        let r = self.retention;
        if profile != Profile::Safe || r.mode == RetentionMode::Defaults {
            return entries;
        }
        let int = |v: u64| ConfigValue::Int(v as i64);
        entries.push(("segment.bytes", int(r.segment_bytes)));
        let retention_ms = if r.mode == RetentionMode::Size {
            ConfigValue::Int(-1)
        } else {
            int(r.retention_ms)
        };
        entries.push(("retention.ms", retention_ms));
        if matches!(r.mode, RetentionMode::Size | RetentionMode::TimeAndSize) {
            entries.push(("retention.bytes", int(r.retention_bytes)));
        }
        entries
    }

    fn producer(&self, profile: Profile) -> ProducerSpec {
        ProducerSpec {
            name: "producer-1".into(),
            topic: "events".into(),
            rate_per_s: f64::from(self.rate_per_s),
            records: None,
            keys: self.keys,
            key_prefix: None,
            tombstone_every: None,
            start_ms: 0,
            stop_ms: None,
            config: config(&[
                ("acks", ConfigValue::Str(profile.acks().into())),
                (
                    "enable.idempotence",
                    ConfigValue::Bool(profile.idempotence()),
                ),
                ("request.timeout.ms", ConfigValue::Int(5_000)),
                ("delivery.timeout.ms", ConfigValue::Int(30_000)),
            ]),
        }
    }

    /// The episodes as scenario faults, sorted by time. Except in `beyond-budget`, an episode
    /// that would take the schedule beyond the fault budget (`sim::FaultBudget`, the judge's
    /// own definition) is left out, so a profile never draws a case its judge calls beyond
    /// budget.
    fn faults(&self, profile: Profile, scenario: &Scenario) -> Vec<Fault> {
        // The budget depends on the topics and the cluster, not on the faults: built once. The
        // swarm builds only valid scenarios; one that does not build has no budget to keep.
        let budget = scenario.world_spec().ok().map(|s| sim::FaultBudget::of(&s));
        let mut faults: Vec<Fault> = Vec::new();
        let mut episodes = self.episodes.clone();
        episodes.sort_by_key(|e| e.start_ms);
        for e in episodes.iter().filter(|e| e.start_ms < self.duration_ms) {
            let mut candidate = faults.clone();
            self.expand(e, &mut candidate);
            // An undo after the main phase is the drain's job: it heals and restarts everything.
            candidate.retain(|f| f.at_ms < self.duration_ms);
            candidate.sort_by_key(|f| f.at_ms);
            let voters = profile.controllers();
            let voters_ok = profile == Profile::QuorumLost
                || voters == 1
                || super::voters::minority_out(&candidate, voters);
            if profile == Profile::BeyondBudget
                || (voters_ok && budget.is_some_and(|b| b.holds(&scenario.fault_specs(&candidate))))
            {
                faults = candidate;
            }
        }
        faults
    }

    fn expand(&self, e: &Episode, out: &mut Vec<Fault>) {
        let (start, end) = (e.start_ms, e.start_ms + e.length_ms);
        // A fault on one node from `at` for the episode's length, then its undo.
        let mut span = |at: u64, action, undo, t: Target| {
            out.push(targeted(at, action, self.name(t)));
            out.push(targeted(at + e.length_ms, undo, self.name(t)));
        };
        use FaultAction::*;
        match e.fault {
            EpisodeFault::Crash(t) => span(start, Crash, Restart, t),
            EpisodeFault::PowerFail(t) => span(start, PowerFail, Restart, t),
            EpisodeFault::RollingCrash(a, b, gap_ms) => {
                span(start, Crash, Restart, a);
                span(end + gap_ms, Crash, Restart, b);
            }
            EpisodeFault::Shutdown(t) => span(start, Shutdown, Restart, t),
            EpisodeFault::Pause(t) => span(start, Pause, Resume, t),
            EpisodeFault::Clog(t) => span(start, Clog, Unclog, t),
            EpisodeFault::Isolate(t) => {
                out.extend([targeted(start, Isolate, self.name(t)), heal(end)]);
            }
            EpisodeFault::PowerFailAll => {
                for b in 0..self.brokers {
                    span(start, PowerFail, Restart, Target::Broker(b));
                }
            }
            EpisodeFault::Cut(a, b) => {
                let (from, to) = (self.name(a), self.name(b));
                if from != to {
                    out.push(Fault {
                        from: Some(from),
                        to: Some(to),
                        ..bare(start, FaultAction::Cut)
                    });
                    out.push(heal(end));
                }
            }
            EpisodeFault::Leave(c) => span(start, Leave, Join, Target::Consumer(c)),
            EpisodeFault::MajorityOut(first) => {
                for v in 0..2 {
                    span(start, Crash, Restart, Target::Voter(first + v));
                }
            }
            EpisodeFault::Partition(mask) => {
                let controllers: Vec<Target> = match self.controllers {
                    1 => vec![Target::Controller],
                    n => (0..n).map(Target::Voter).collect(),
                };
                let nodes: Vec<String> = (0..self.brokers)
                    .map(|b| self.name(Target::Broker(b)))
                    .chain(controllers.into_iter().map(|t| self.name(t)))
                    .collect();
                let (a, b): (Vec<_>, Vec<_>) = nodes
                    .into_iter()
                    .enumerate()
                    .partition(|(i, _)| mask & (1 << i) != 0);
                if !a.is_empty() && !b.is_empty() {
                    let side = |v: Vec<(usize, String)>| v.into_iter().map(|(_, n)| n).collect();
                    out.push(Fault {
                        sides: Some(vec![side(a), side(b)]),
                        ..bare(start, FaultAction::Partition)
                    });
                    out.push(heal(end));
                }
            }
        }
    }

    fn name(&self, t: Target) -> String {
        match t {
            Target::Broker(b) => format!("broker-{}", b % self.brokers + 1),
            Target::Controller => "controller-1".into(),
            Target::Consumer(c) => format!("consumer-{}", c % GROUP_MEMBERS + 1),
            Target::Voter(v) => format!("controller-{}", v % self.controllers + 1),
        }
    }
}

fn bare(at_ms: u64, action: FaultAction) -> Fault {
    Fault {
        at_ms,
        action,
        target: None,
        sides: None,
        from: None,
        to: None,
        partition: None,
        offset: None,
    }
}

fn targeted(at_ms: u64, action: FaultAction, target: String) -> Fault {
    Fault {
        target: Some(target),
        ..bare(at_ms, action)
    }
}

fn heal(at_ms: u64) -> Fault {
    bare(at_ms, FaultAction::Heal)
}

fn config(entries: &[(&str, ConfigValue)]) -> ConfigMap {
    entries
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}
