//! `kafka-lab serve`: the Kafka wire protocol in front of the simulated cluster.
//!
//! Real clients (kcat, librdkafka, kafka-python) connect over TCP; each connection is a node
//! of the `sim::World` (`sim::external`). Frames are read with a size cap (`frame`), decoded
//! with the `kafka-protocol` crate, converted to the world's `Message`s one API at a time
//! (`api`), injected at the simulated millisecond they arrived (`engine`, which paces the world
//! by the wall clock), and the brokers' answers are converted back. `broker-core` never sees a
//! byte.
#![deny(missing_docs)]

pub mod api;
pub mod batch;
pub mod control;
pub mod engine;
pub mod errors;
pub mod frame;
#[cfg(test)]
mod fuzz;
pub mod history;
pub mod record;
pub mod request;
pub mod serve;
#[cfg(test)]
mod serve_tests;
pub mod verdict;

/// The scenario `serve` runs when none is named (`server/serve.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../serve.toml");

/// The default scenario, parsed.
pub fn default_scenario() -> Result<scenarios::Scenario, scenarios::ScenarioError> {
    scenarios::parse(DEFAULT_SCENARIO, "serve.toml")
}

#[cfg(test)]
mod default_tests {
    #[test]
    fn the_default_scenario_is_valid() {
        let scenario = super::default_scenario().unwrap();
        let spec = scenario.world_spec().unwrap();
        assert_eq!(spec.brokers, 3);
        assert!(spec.producers.is_empty() && spec.consumers.is_empty());
    }
}
