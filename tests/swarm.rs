//! Delivery guarantees under random fault schedules (README, "kafka-lab check"): proptest draws schedules
//! from each profile's strategy; the safe profile must never break a promise, and every other
//! profile must be able to show its anomaly, so the checker is proven able to fail.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use scenarios::swarm::{check_seed, strategy, Profile};
use scenarios::{parse, run, FindingKind};
use sim::Verdict;
use std::process::Command;

/// A fixed proptest seed: `cargo test` runs the same cases every time, and no regression file
/// is written into the tree.
fn fixed(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(20_261_122),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(fixed(32))]

    /// acks=all, min ISR 2, RF 3, idempotence, clean elections, faults within budget: whatever
    /// the schedule, nothing promised is broken. A failure prints the shrunk schedule.
    #[test]
    fn the_safe_profile_never_breaks_a_promise(case in strategy(Profile::Safe), seed in 0u64..1_000_000) {
        let scenario = case.to_scenario(Profile::Safe, seed);
        let outcome = run(&scenario, false).expect("a generated scenario runs");
        let violations: Vec<String> = outcome
            .findings
            .iter()
            .filter(|f| f.verdict == Verdict::Violation)
            .map(|f| format!("{}: {}", f.kind, f.explanation))
            .collect();
        prop_assert!(violations.is_empty(), "{}\n{}", violations.join("\n"), scenario.to_toml());
    }
}

/// The first seed in `1..=seeds_max` whose run shows `kind`, allowed by the profile.
fn first_seed_showing(profile: Profile, kind: FindingKind, seeds_max: u64) -> Option<u64> {
    (1..=seeds_max).find(|&seed| {
        let result = check_seed(profile, seed, false);
        assert_eq!(
            result.violations, 0,
            "{profile} seed {seed}: {:#?}",
            result.findings
        );
        result.findings.iter().any(|f| f.kind == kind)
    })
}

#[test]
fn every_unsafe_profile_finds_its_anomaly_within_a_bounded_number_of_seeds() {
    for profile in Profile::ALL {
        for &kind in profile.targets() {
            let seed = first_seed_showing(profile, kind, 60);
            assert!(seed.is_some(), "{profile}: no {kind} in 60 seeds");
        }
    }
}

#[test]
fn a_shrunk_case_is_smaller_and_replays_its_finding_from_its_file() {
    let profile = Profile::Acks0;
    let seed = first_seed_showing(profile, FindingKind::LostWrite, 20).expect("acks=0 loses");
    let result = check_seed(profile, seed, true);
    let shrunk = result.shrunk.expect("an interesting seed is shrunk");
    assert_eq!(shrunk.kind, FindingKind::LostWrite);
    assert!(shrunk.faults_after <= shrunk.faults_before);
    let file = format!("{}.toml", shrunk.scenario.name);
    let replayed = parse(&shrunk.scenario.to_toml(), &file).expect("the file parses");
    let outcome = run(&replayed, false).expect("runs");
    assert!(
        outcome.expect_met,
        "found {:?}, expected {:?}",
        outcome.found, replayed.expect.findings
    );
    assert!(outcome.found.contains(&FindingKind::LostWrite));
}

/// Per-seed JSON lines of `kafka-lab check`, without the closing summary (it has wall time).
fn check_lines(args: &[&str]) -> Vec<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
        .args(["check", "--format", "json", "--no-shrink"])
        .args(args)
        .output()
        .expect("the binary runs");
    assert!(output.status.code().is_some_and(|c| c <= 1), "{output:?}");
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter(|l| !l.starts_with("{\"summary\""))
        .map(str::to_owned)
        .collect()
}

#[test]
fn parallel_and_serial_checks_give_the_same_per_seed_results() {
    let common = ["--profile", "acks1", "--seeds", "6", "--start", "3"];
    let serial = check_lines(&[&common[..], &["--jobs", "1"]].concat());
    let parallel = check_lines(&[&common[..], &["--jobs", "2"]].concat());
    assert_eq!(serial.len(), 6);
    assert_eq!(serial, parallel);
}

#[test]
fn quorum_checks_give_the_same_per_seed_results_on_one_job_or_two() {
    for profile in ["quorum", "quorum-lost"] {
        let common = ["--profile", profile, "--seeds", "4", "--start", "11"];
        let serial = check_lines(&[&common[..], &["--jobs", "1"]].concat());
        let parallel = check_lines(&[&common[..], &["--jobs", "2"]].concat());
        assert_eq!(serial.len(), 4);
        assert_eq!(serial, parallel, "{profile}");
    }
}

#[test]
fn shards_split_a_sweep_without_overlap() {
    let common = ["--profile", "acks0", "--seeds", "5", "--jobs", "1"];
    let all = check_lines(&common);
    let mut shards = check_lines(&[&common[..], &["--shard", "1/2"]].concat());
    shards.extend(check_lines(&[&common[..], &["--shard", "2/2"]].concat()));
    let seed = |l: &String| serde_json::from_str::<serde_json::Value>(l).unwrap()["seed"].as_u64();
    shards.sort_by_key(seed);
    assert_eq!(all, shards);
}

#[test]
fn a_bad_profile_or_shard_is_a_one_line_error_with_exit_2() {
    for args in [&["--profile", "saf"][..], &["--shard", "3/2"][..]] {
        let output = Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
            .arg("check")
            .args(args)
            .output()
            .expect("runs");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `check --profile quorum` and `quorum-lost` over 200 seeds each (issue 16's done-when): a
/// minority of voters out, or a majority out for a while, breaks no promise.
fn no_violation_over_200_seeds(profile: Profile) {
    for seed in 1..=200 {
        let result = check_seed(profile, seed, false);
        assert_eq!(
            result.violations, 0,
            "{profile} seed {seed}: {:#?}",
            result.findings
        );
    }
}

#[test]
fn the_quorum_profile_breaks_no_promise_over_200_seeds() {
    no_violation_over_200_seeds(Profile::Quorum);
}

#[test]
fn the_quorum_lost_profile_breaks_no_promise_over_200_seeds() {
    no_violation_over_200_seeds(Profile::QuorumLost);
}
