//! The built-in scenario library: the `*.toml` files beside this crate's `Cargo.toml`.

use crate::error::{ErrorKind, ScenarioError};
use crate::format::Scenario;
use sim::FindingKind;
use std::path::Path;

/// The scenario `kafka-lab` runs when given none.
pub const DEFAULT: &str = "quickstart";

/// The modules of the library, in the order a course takes them (`kafka-lab list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Module {
    /// Topics, partitions, offsets, keys, replication factor, leaders and followers.
    Anatomy,
    /// acks, retries, idempotence, batching.
    Producers,
    /// ISR, HW and LEO, min ISR, failover, shutdown, zombies, partitions.
    Replication,
    /// The KRaft controller quorum: failover, majorities, why the count is odd, pre-vote.
    Controller,
    /// Groups, rebalancing, commits, the coordinator.
    ConsumerGroups,
    /// Segments, indexes, retention, the log start offset.
    Storage,
    /// Bugs Kafka had, each beside its fix.
    FailuresFromHistory,
}

impl Module {
    /// Every module, in course order.
    pub const ALL: [Module; 7] = [
        Module::Anatomy,
        Module::Producers,
        Module::Replication,
        Module::Controller,
        Module::ConsumerGroups,
        Module::Storage,
        Module::FailuresFromHistory,
    ];

    /// The heading `kafka-lab list` prints.
    pub fn title(self) -> &'static str {
        match self {
            Module::Anatomy => "Anatomy",
            Module::Producers => "Producers",
            Module::Replication => "Replication",
            Module::Controller => "Controller",
            Module::ConsumerGroups => "Consumer groups",
            Module::Storage => "Storage",
            Module::FailuresFromHistory => "Failures from history",
        }
    }
}

/// A scenario compiled into the binary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// The module it belongs to.
    pub module: Module,
    /// Its name (the file stem).
    pub name: &'static str,
    /// The TOML text.
    pub source: &'static str,
}

impl Builtin {
    /// The path it is read from in errors, relative to the workspace root.
    pub fn file(&self) -> String {
        format!("scenarios/{}.toml", self.name)
    }

    /// Parses it.
    pub fn load(&self) -> Result<Scenario, ScenarioError> {
        crate::parse(self.source, &self.file())
    }
}

macro_rules! builtins {
    ($(($module:ident, $name:literal)),* $(,)?) => {
        &[$(Builtin {
            module: Module::$module,
            name: $name,
            source: include_str!(concat!("../", $name, ".toml")),
        }),*]
    };
}

const BUILTINS: &[Builtin] = builtins![
    (Anatomy, "quickstart"),
    (Anatomy, "anatomy-keys-and-partitions"),
    (Anatomy, "anatomy-replication-factor"),
    (Producers, "producer-acks"),
    (Producers, "producer-batching-linger"),
    (Producers, "producer-retries-duplicates"),
    (Producers, "producer-idempotence"),
    (Replication, "replication-slow-follower"),
    (Replication, "acks-all-min-isr"),
    (Replication, "leader-failover"),
    (Replication, "replication-controlled-shutdown"),
    (Replication, "replication-zombie-leader"),
    (Replication, "replication-network-partition"),
    (Replication, "replication-test"),
    (Controller, "controller-failover"),
    (Controller, "controller-quorum-odd"),
    (Controller, "controller-quorum-even"),
    (Controller, "controller-majority-lost"),
    (Controller, "controller-prevote-off"),
    (Controller, "controller-prevote-on"),
    (ConsumerGroups, "consumer-group-scaling"),
    (ConsumerGroups, "consumer-rebalance-duplicates"),
    (ConsumerGroups, "coordinator-failover"),
    (ConsumerGroups, "consumer-static-membership"),
    (Storage, "segments-and-indexes"),
    (Storage, "retention-is-not-consumption"),
    (Storage, "retention-by-size"),
    (Storage, "compaction-latest-value"),
    (Storage, "consumer-offsets-compacted"),
    (Storage, "consumer-offsets-expire"),
    (FailuresFromHistory, "kip-101-hw-truncation"),
    (FailuresFromHistory, "kip-101-hw-truncation-fixed"),
    (FailuresFromHistory, "kip-101-divergence"),
    (FailuresFromHistory, "kip-101-divergence-fixed"),
    (FailuresFromHistory, "kafka-7128-stale-hw-isr-join"),
    (FailuresFromHistory, "kafka-7128-stale-hw-isr-join-fixed"),
    (FailuresFromHistory, "unclean-leader-election"),
    (FailuresFromHistory, "unclean-leader-election-fixed"),
    (FailuresFromHistory, "acks-1-lost-write"),
    (FailuresFromHistory, "acks-1-lost-write-fixed"),
    (FailuresFromHistory, "last-replica-standing"),
    (FailuresFromHistory, "last-replica-standing-fixed"),
];

/// A failure from history: the bug under its historical switch, and the fix under today's
/// protocol with the same faults. The bug shows `finding`; the fix does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoricalPair {
    /// The scenario that reproduces the bug.
    pub bug: &'static str,
    /// The same faults under the fix.
    pub fix: &'static str,
    /// The finding kind the fix removes.
    pub finding: FindingKind,
}

/// Every historical pair, in `kafka-lab list` order.
pub const HISTORICAL_PAIRS: &[HistoricalPair] = &[
    HistoricalPair {
        bug: "kip-101-hw-truncation",
        fix: "kip-101-hw-truncation-fixed",
        finding: FindingKind::LostWrite,
    },
    HistoricalPair {
        bug: "kip-101-divergence",
        fix: "kip-101-divergence-fixed",
        finding: FindingKind::DivergentLogs,
    },
    HistoricalPair {
        bug: "kafka-7128-stale-hw-isr-join",
        fix: "kafka-7128-stale-hw-isr-join-fixed",
        finding: FindingKind::LostWrite,
    },
    HistoricalPair {
        bug: "unclean-leader-election",
        fix: "unclean-leader-election-fixed",
        finding: FindingKind::LostWrite,
    },
    HistoricalPair {
        bug: "acks-1-lost-write",
        fix: "acks-1-lost-write-fixed",
        finding: FindingKind::LostWrite,
    },
    HistoricalPair {
        bug: "last-replica-standing",
        fix: "last-replica-standing-fixed",
        finding: FindingKind::LostWrite,
    },
    HistoricalPair {
        bug: "controller-prevote-off",
        fix: "controller-prevote-on",
        finding: FindingKind::LeaderDeposedByRejoiningVoter,
    },
];

/// Every built-in scenario, the default first.
pub fn builtins() -> Vec<Builtin> {
    BUILTINS.to_vec()
}

/// The built-in scenario of this name.
pub fn builtin(name: &str) -> Option<Builtin> {
    BUILTINS.iter().find(|b| b.name == name).copied()
}

/// A built-in scenario by name, else a scenario file by path.
pub fn resolve(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(b) = builtin(name_or_path) {
        return b.load();
    }
    let path = Path::new(name_or_path);
    let looks_like_path = name_or_path.contains(['/', '\\']) || name_or_path.ends_with(".toml");
    if looks_like_path || path.exists() {
        return crate::load(path);
    }
    let names: Vec<_> = BUILTINS.iter().map(|b| b.name).collect();
    Err(ScenarioError::new(
        ErrorKind::NotFound,
        crate::echo(name_or_path),
        format!(
            "no built-in scenario or file of this name (built-ins: {})",
            names.join(", ")
        ),
    ))
}
