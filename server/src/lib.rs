//! `kafka-lab serve`: the Kafka wire protocol in front of the simulated cluster.
//!
//! Real clients (kcat, librdkafka, kafka-python) connect over TCP; each connection is a node
//! of the `sim::World` (`sim::external`). Frames are read with a size cap (`frame`), decoded
//! with the `kafka-protocol` crate, converted to the world's `Message`s one API at a time
//! (`api`), injected at the simulated millisecond they arrived (`engine`, which paces the world
//! by the wall clock), and the brokers' answers are converted back. `broker-core` never sees a
//! byte.
#![deny(missing_docs)]

#[cfg(test)]
mod admin_tests;
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

/// The default scenario with topic `orders` (3 partitions, RF=3) from the start, for tests
/// that need a partition before any client asked for one.
#[cfg(test)]
pub(crate) fn scenario_with_orders() -> scenarios::Scenario {
    scenario_with_topic(DEFAULT_SCENARIO, "orders")
}

/// `base` (a scenario's text) with a startup topic `name` of 3 partitions on all 3 brokers.
#[cfg(test)]
pub(crate) fn scenario_with_topic(base: &str, name: &str) -> scenarios::Scenario {
    let text =
        format!("{base}\n[[topics]]\nname = \"{name}\"\npartitions = 3\nreplication_factor = 3\n");
    scenarios::parse(&text, &format!("serve-{name}.toml")).expect("valid")
}

/// An engine over `scenario`'s live world (advertised at 127.0.0.1:19092), run to 3 s so the
/// brokers registered and the startup topics have leaders.
#[cfg(test)]
pub(crate) fn test_engine(scenario: &scenarios::Scenario) -> engine::Engine {
    let spec = serve::live_spec(scenario.world_spec().unwrap());
    let advertised = api::Advertised {
        host: "127.0.0.1".into(),
        base_port: 19092,
    };
    let mut engine = engine::Engine::new(sim::World::new(spec), advertised);
    engine.run_until(broker_core::Time(3_000));
    engine
}

#[cfg(test)]
mod default_tests {
    #[test]
    fn the_default_scenario_is_valid() {
        let scenario = super::default_scenario().unwrap();
        let spec = scenario.world_spec().unwrap();
        assert_eq!(spec.brokers, 3);
        assert!(spec.producers.is_empty() && spec.consumers.is_empty());
        // No topics: clients create theirs (auto.create.topics.enable), three-way replicated.
        assert!(spec.topics.iter().all(|t| t.topic.0.starts_with("__")));
        assert_eq!(spec.cluster.default_replication_factor, 3);
    }
}
