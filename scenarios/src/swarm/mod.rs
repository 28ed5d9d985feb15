//! Swarm testing (`kafka-lab check`): each seed draws a configuration and a fault schedule from a
//! [`Profile`], runs it, and checks the history and the final cluster. A seed that finds a
//! violation, or the anomaly its profile exists to show, is shrunk with proptest's shrinking over
//! the fault schedule and written as a scenario file that replays the finding.
//!
//! A seed's result is a pure function of (profile, seed, binary): the case comes from a proptest
//! `TestRng` seeded with the seed, and the run from `sim` with the same seed.

mod case;
mod profile;
mod voters;

pub use case::{strategy, Case, Episode, EpisodeFault, Target, DURATION_MS};
pub use profile::{FaultMix, Profile};

use crate::format::Scenario;
use crate::run::{run, Outcome};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::Serialize;
use sim::{FindingKind, Verdict};

/// Runs a shrink may spend, at most, before it settles for what it has.
pub const SHRINK_RUNS_MAX: u32 = 200;

/// A finding, reduced to what a sweep compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Found {
    /// Its kind.
    pub kind: FindingKind,
    /// Violation or allowed.
    pub verdict: Verdict,
    /// The explanation a student reads.
    pub explanation: String,
}

/// What one seed found.
#[derive(Clone, Debug, Serialize)]
pub struct SeedResult {
    /// The profile.
    pub profile: String,
    /// The seed.
    pub seed: u64,
    /// The run's fingerprint.
    pub fingerprint: String,
    /// Every finding (kind, verdict, explanation).
    pub findings: Vec<Found>,
    /// How many findings are violations.
    pub violations: usize,
    /// The shrunk case, when the seed was interesting and shrinking was asked for.
    #[serde(skip)]
    pub shrunk: Option<Shrunk>,
}

/// A shrunk case.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The scenario, its `[expect]` set to what it finds.
    pub scenario: Scenario,
    /// The finding kind shrinking preserved.
    pub kind: FindingKind,
    /// Faults in the scenario before and after shrinking.
    pub faults_before: usize,
    /// Faults after.
    pub faults_after: usize,
    /// Runs spent shrinking.
    pub runs: u32,
}

/// The case a seed draws (and its value tree, to shrink from).
pub fn draw(profile: Profile, seed: u64) -> (Case, impl ValueTree<Value = Case>) {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let tree = strategy(profile)
        .new_tree(&mut runner)
        .expect("the case strategy never rejects");
    (tree.current(), tree)
}

/// Run one seed of a profile; shrink it when it finds something and `shrink` is set.
pub fn check_seed(profile: Profile, seed: u64, shrink: bool) -> SeedResult {
    let (case, tree) = draw(profile, seed);
    let outcome = run_case(profile, seed, &case);
    let findings = found(&outcome);
    let violations = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Violation)
        .count();
    let shrunk = match interesting_kind(profile, &findings) {
        Some(kind) if shrink => {
            let violation = findings
                .iter()
                .any(|f| f.kind == kind && f.verdict == Verdict::Violation);
            Some(shrink_case(profile, seed, tree, kind, violation))
        }
        _ => None,
    };
    SeedResult {
        profile: profile.to_string(),
        seed,
        fingerprint: outcome.world.fingerprint(),
        findings,
        violations,
        shrunk,
    }
}

fn run_case(profile: Profile, seed: u64, case: &Case) -> Outcome {
    let scenario = case.to_scenario(profile, seed);
    run(&scenario, false).expect("a generated scenario is valid")
}

fn found(outcome: &Outcome) -> Vec<Found> {
    outcome
        .findings
        .iter()
        .map(|f| Found {
            kind: f.kind,
            verdict: f.verdict,
            explanation: f.explanation.clone(),
        })
        .collect()
}

/// A violation's kind first; else the profile's target anomaly, if found (allowed).
fn interesting_kind(profile: Profile, findings: &[Found]) -> Option<FindingKind> {
    findings
        .iter()
        .find(|f| f.verdict == Verdict::Violation)
        .or_else(|| {
            findings
                .iter()
                .find(|f| profile.targets().contains(&f.kind))
        })
        .map(|f| f.kind)
}

/// Whether a run still shows `kind` (as a violation, when it was one).
fn still_shows(outcome: &Outcome, kind: FindingKind, violation: bool) -> bool {
    outcome
        .findings
        .iter()
        .any(|f| f.kind == kind && (!violation || f.verdict == Verdict::Violation))
}

/// Shrink with proptest's value tree (fewer and shorter faults, fewer brokers and partitions,
/// a lower rate, fewer drops), then shorten the run, keeping `kind` (as a violation, when it
/// was one). The world seed stays: the network and disk draw the same way, only the case
/// changes.
fn shrink_case(
    profile: Profile,
    seed: u64,
    mut tree: impl ValueTree<Value = Case>,
    kind: FindingKind,
    violation: bool,
) -> Shrunk {
    let original = tree.current();
    let faults_before = original.to_scenario(profile, seed).faults.len();
    let mut runs = 0;
    let mut best = original;
    let mut budget_left = || {
        runs += 1;
        runs <= SHRINK_RUNS_MAX
    };
    if tree.simplify() {
        loop {
            if !budget_left() {
                break;
            }
            let candidate = tree.current();
            let fails = still_shows(&run_case(profile, seed, &candidate), kind, violation);
            let more = if fails {
                best = candidate;
                tree.simplify()
            } else {
                tree.complicate()
            };
            if !more {
                break;
            }
        }
    }
    while best.duration_ms > 10_000 && budget_left() {
        let shorter = Case {
            duration_ms: best.duration_ms / 2,
            ..best.clone()
        };
        if !still_shows(&run_case(profile, seed, &shorter), kind, violation) {
            break;
        }
        best = shorter;
    }
    let mut scenario = best.to_scenario(profile, seed);
    let outcome = run(&scenario, false).expect("a generated scenario is valid");
    scenario.expect.findings = outcome.found.clone();
    Shrunk {
        faults_after: scenario.faults.len(),
        scenario,
        kind,
        faults_before,
        runs: runs.min(SHRINK_RUNS_MAX),
    }
}

#[cfg(test)]
mod tests;
