//! Running a scenario to its verdict: the one place that decides whether `[expect]` holds.

use crate::error::ScenarioError;
use crate::format::Scenario;
use sim::{Finding, FindingKind, World};
use std::collections::BTreeSet;

/// What a run's result says about the scenario: the one rule behind `kafka-lab run`'s verdict
/// line, its JSON `verdict` and its exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// The kinds found are exactly the scenario's `[expect]`.
    ExpectMet,
    /// They are not, or the run was cut short.
    ExpectNotMet,
    /// A `--set` changed what the scenario runs (`Override::changes_the_run`), so its `[expect]`
    /// says nothing about this run and is not judged. The run passes when it was not cut short
    /// and no finding is a violation: what the changed configuration promised held.
    NotJudged {
        /// Not cut short and no finding is a violation.
        no_violation: bool,
    },
}

impl RunVerdict {
    /// Exit status 0 (true) or 1 (false).
    pub fn passed(self) -> bool {
        match self {
            RunVerdict::ExpectMet => true,
            RunVerdict::ExpectNotMet => false,
            RunVerdict::NotJudged { no_violation } => no_violation,
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The world at the end of the drain phase.
    pub world: World,
    /// What the checker found.
    pub findings: Vec<Finding>,
    /// The kinds found.
    pub found: BTreeSet<FindingKind>,
    /// Whether the kinds found are exactly the expected ones (and the run was not cut short).
    /// A fact about the findings even when a `--set` means `[expect]` is not judged: see
    /// [`Outcome::verdict`].
    pub expect_met: bool,
    /// The verdict: `[expect]` judged, or not because a `--set` changed the scenario.
    pub verdict: RunVerdict,
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
    let verdict = if scenario.overrides.iter().any(|o| o.changes_the_run()) {
        let violation = findings
            .iter()
            .any(|f| f.verdict == sim::Verdict::Violation);
        RunVerdict::NotJudged {
            no_violation: world.cut_short().is_none() && !violation,
        }
    } else if expect_met {
        RunVerdict::ExpectMet
    } else {
        RunVerdict::ExpectNotMet
    };
    Outcome {
        world,
        findings,
        found,
        expect_met,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quickstart() -> Scenario {
        crate::builtin("quickstart")
            .expect("built-in")
            .load()
            .expect("valid")
    }

    #[test]
    fn a_set_that_changes_the_run_is_not_judged_and_a_violation_still_fails() {
        let mut s = quickstart();
        s.apply_set("producers.acks", "all").expect("valid");
        // Cut short: `livelock`, always a violation, so the unjudged run does not pass.
        let cut = run_with_events_max(&s, false, Some(1_000)).expect("runs");
        assert_eq!(
            cut.verdict,
            RunVerdict::NotJudged {
                no_violation: false
            }
        );
        assert!(!cut.verdict.passed());
        // A --set of `expect.findings` alone is judged: a run cut short does not meet it.
        let mut s = quickstart();
        s.apply_set("expect.findings", "[]").expect("valid");
        let cut = run_with_events_max(&s, false, Some(1_000)).expect("runs");
        assert_eq!(cut.verdict, RunVerdict::ExpectNotMet);
    }

    #[test]
    fn without_a_set_the_verdict_is_the_expect() {
        let outcome = run_with_events_max(&quickstart(), false, Some(1_000)).expect("runs");
        assert!(outcome.truncated());
        assert_eq!(
            outcome.verdict,
            RunVerdict::ExpectNotMet,
            "cut short never meets it"
        );
        assert!(RunVerdict::ExpectMet.passed());
        assert!(RunVerdict::NotJudged { no_violation: true }.passed());
    }
}
