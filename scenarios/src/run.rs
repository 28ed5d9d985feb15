//! Running a scenario to its verdict: the one place that decides whether `[expect]` holds.

use crate::error::ScenarioError;
use crate::format::Scenario;
use sim::{Finding, FindingKind, World};
use std::collections::BTreeSet;

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The world at the end of the drain phase.
    pub world: World,
    /// What the checker found.
    pub findings: Vec<Finding>,
    /// The kinds found.
    pub found: BTreeSet<FindingKind>,
    /// Whether the kinds found are exactly the expected ones.
    pub expect_met: bool,
}

/// Run a scenario to the end and check it. `trace_messages` records every message in the trace
/// (it does not change the run or its fingerprint).
pub fn run(scenario: &Scenario, trace_messages: bool) -> Result<Outcome, ScenarioError> {
    run_with_events_max(scenario, trace_messages, None)
}

/// [`run`] with a smaller event budget than the default (`events_max`): a run that needs more is
/// cut short and judged `livelock` (for fuzzing, and for the tests of that verdict).
pub fn run_with_events_max(
    scenario: &Scenario,
    trace_messages: bool,
    events_max: Option<u64>,
) -> Result<Outcome, ScenarioError> {
    let mut spec = scenario.world_spec()?;
    spec.trace_messages = trace_messages;
    if let Some(max) = events_max {
        spec.events_max = spec.events_max.min(max);
    }
    let mut world = World::new(spec);
    world.run_to_end();
    Ok(judge(scenario, world))
}

impl Outcome {
    /// Whether the run stopped before its end (see `World::cut_short`).
    pub fn truncated(&self) -> bool {
        self.world.cut_short().is_some()
    }
}

/// Check a finished world against the scenario's `[expect]`. A run cut short never meets it,
/// whatever it expects: its end was never checked.
pub fn judge(scenario: &Scenario, world: World) -> Outcome {
    let findings = sim::check(&world);
    let found: BTreeSet<FindingKind> = findings.iter().map(|f| f.kind).collect();
    let expect_met = world.cut_short().is_none() && found == scenario.expect.findings;
    Outcome {
        world,
        findings,
        found,
        expect_met,
    }
}
