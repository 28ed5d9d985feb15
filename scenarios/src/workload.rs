//! The standard benchmark workload (README, "kafka-lab bench"), shared by `kafka-lab bench` and
//! `cargo bench`.

use crate::error::ScenarioError;
use crate::format::Scenario;

/// 3 brokers, 1 controller, 6 partitions RF 3, 2 producers at 500 records/s with
/// acks=all and linger.ms=5, a group of 3 consumers, latency 1–5 ms, no faults; `scale`
/// multiplies the producers' rate.
pub fn standard_workload(duration_ms: u64, scale: u32) -> Result<Scenario, ScenarioError> {
    let source = format!(
        r#"name = "bench-standard"
title = "The standard benchmark workload"
duration_ms = {duration_ms}
drain_ms = 10000
[cluster]
brokers = 3
[network]
latency_ms = [1, 5]
[[topics]]
name = "events"
partitions = 6
replication_factor = 3
{producers}{consumers}"#,
        producers = (1..=2)
            .map(|i| format!(
                "[[producers]]\nname = \"producer-{i}\"\ntopic = \"events\"\nrate_per_s = {}\nkeys = 100\nconfig = {{ acks = \"all\", \"linger.ms\" = 5 }}\n",
                500 * scale
            ))
            .collect::<String>(),
        consumers = (1..=3)
            .map(|i| format!("[[consumers]]\nname = \"consumer-{i}\"\ntopics = [\"events\"]\ngroup = \"bench\"\nconfig = {{ \"auto.offset.reset\" = \"earliest\" }}\n"))
            .collect::<String>(),
    );
    crate::parse(&source, "bench-standard")
}
