//! The built-in scenario library: the `*.toml` files beside this crate's `Cargo.toml`.

use crate::error::{ErrorKind, ScenarioError};
use crate::format::Scenario;
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
    /// Groups, rebalancing, commits, the coordinator.
    ConsumerGroups,
    /// Bugs Kafka had, each beside its fix.
    FailuresFromHistory,
}

impl Module {
    /// Every module, in course order.
    pub const ALL: [Module; 5] = [
        Module::Anatomy,
        Module::Producers,
        Module::Replication,
        Module::ConsumerGroups,
        Module::FailuresFromHistory,
    ];

    /// The heading `kafka-lab list` prints.
    pub fn title(self) -> &'static str {
        match self {
            Module::Anatomy => "Anatomy",
            Module::Producers => "Producers",
            Module::Replication => "Replication",
            Module::ConsumerGroups => "Consumer groups",
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
    (Producers, "producer-retries-duplicates"),
    (Producers, "producer-idempotence"),
    (Replication, "leader-failover"),
    (Replication, "acks-all-min-isr"),
    (Replication, "replication-controlled-shutdown"),
    (Replication, "replication-zombie-leader"),
    (FailuresFromHistory, "acks-1-lost-write"),
    (FailuresFromHistory, "kip-101-hw-truncation"),
    (ConsumerGroups, "consumer-group-scaling"),
    (ConsumerGroups, "consumer-rebalance-duplicates"),
    (ConsumerGroups, "coordinator-failover"),
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
        name_or_path,
        format!(
            "no built-in scenario or file of this name (built-ins: {})",
            names.join(", ")
        ),
    ))
}
