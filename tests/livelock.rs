//! A run that does not reach its end is never a pass (`livelock`), and no setting Kafka accepts
//! makes simulated time stand still.

use scenarios::{resolve, run_with_events_max, FindingKind, Scenario};
use sim::{CutShort, Verdict, World};

/// Far more than any of these runs needs (each takes under 300,000 events), far less than the
/// 200-million cap: a zero-time loop would use it up in a fraction of a second.
const BUDGET: u64 = 3_000_000;

fn scenario(name: &str, sets: &[(&str, &str)]) -> Scenario {
    let mut s = resolve(name).unwrap_or_else(|e| panic!("{e}"));
    for (key, value) in sets {
        s.apply_set(key, value)
            .unwrap_or_else(|e| panic!("{key}={value}: {e}"));
    }
    s
}

fn assert_reaches_its_end(name: &str, sets: &[(&str, &str)]) {
    let s = scenario(name, sets);
    let outcome = run_with_events_max(&s, false, Some(BUDGET)).expect("runs");
    let end = s.duration_ms + s.drain_ms;
    assert!(
        !outcome.truncated(),
        "{name} {sets:?}: cut short: {:#?}",
        outcome.findings
    );
    assert_eq!(outcome.world.now().0, end, "{name} {sets:?}");
    assert!(!outcome.found.contains(&FindingKind::Livelock));
}

#[test]
fn metadata_max_age_0_refreshes_retry_backoff_apart_and_the_run_ends() {
    assert_reaches_its_end("quickstart", &[("producers.metadata.max.age.ms", "0")]);
    assert_reaches_its_end("quickstart", &[("consumers.metadata.max.age.ms", "0")]);
    assert_reaches_its_end(
        "consumer-group-scaling",
        &[("consumers.metadata.max.age.ms", "0")],
    );
}

#[test]
fn request_timeout_0_expires_at_once_and_backoffs_keep_time_moving() {
    assert_reaches_its_end("quickstart", &[("producers.request.timeout.ms", "0")]);
    assert_reaches_its_end(
        "quickstart",
        &[
            ("producers.request.timeout.ms", "0"),
            ("producers.retry.backoff.ms", "0"),
        ],
    );
    assert_reaches_its_end(
        "quickstart",
        &[
            ("consumers.request.timeout.ms", "0"),
            ("consumers.fetch.max.wait.ms", "0"),
        ],
    );
    assert_reaches_its_end(
        "consumer-group-scaling",
        &[("consumers.request.timeout.ms", "0")],
    );
}

#[test]
fn broker_heartbeat_interval_0_heartbeats_once_per_round_trip() {
    assert_reaches_its_end(
        "quickstart",
        &[("cluster.config.broker.heartbeat.interval.ms", "0")],
    );
    // And the cluster still works: quickstart meets its [expect] with it.
    let s = scenario(
        "quickstart",
        &[("cluster.config.broker.heartbeat.interval.ms", "0")],
    );
    assert!(
        run_with_events_max(&s, false, Some(BUDGET))
            .expect("runs")
            .expect_met
    );
}

#[test]
fn hw_checkpoint_interval_0_checkpoints_once_and_the_run_ends() {
    assert_reaches_its_end(
        "quickstart",
        &[(
            "cluster.config.replica.high-watermark.checkpoint.interval.ms",
            "0",
        )],
    );
}

#[test]
fn a_run_out_of_events_is_cut_short_and_judged_livelock_whatever_it_expects() {
    let mut s = scenario("quickstart", &[]);
    // Even an [expect] that names livelock is not met by a run that never reached its end.
    s.expect.findings = [FindingKind::Livelock].into_iter().collect();
    let outcome = run_with_events_max(&s, false, Some(1000)).expect("runs");
    assert!(outcome.truncated());
    assert!(!outcome.expect_met);
    assert_eq!(outcome.world.events(), 1000);
    let cut = outcome.world.cut_short().expect("cut short");
    assert_eq!(cut.reason, CutShort::EventCap);
    assert!(cut.at.0 < s.duration_ms, "{cut:?}");
    let livelock: Vec<_> = outcome
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Livelock)
        .collect();
    assert_eq!(livelock.len(), 1, "{:#?}", outcome.findings);
    assert_eq!(livelock[0].verdict, Verdict::Violation);
    assert!(
        livelock[0].explanation.contains("cut short")
            && livelock[0].explanation.contains("1000 events"),
        "{}",
        livelock[0].explanation
    );
}

/// A world whose watchdog trips after `still` events at one millisecond.
fn world_with_watchdog(still: u64) -> World {
    let mut spec = scenario("quickstart", &[]).world_spec().expect("spec");
    spec.still_events_max = still;
    let mut world = World::new(spec);
    world.run_to_end();
    world
}

#[test]
fn the_watchdog_names_the_node_and_event_kind_when_time_stands_still() {
    // With the threshold at the busiest millisecond of the normal run, it trips there.
    let normal = world_with_watchdog(sim::watchdog::STILL_EVENTS_MAX);
    assert!(normal.cut_short().is_none());
    let busiest = normal.busiest_millisecond();
    assert!(busiest > 1, "{busiest}");
    let world = world_with_watchdog(busiest);
    let cut = world.cut_short().expect("cut short").clone();
    assert_eq!(cut.reason, CutShort::TimeStoodStill);
    assert!(
        cut.at < normal.now() && cut.events < normal.events(),
        "{cut:?}"
    );
    assert!(cut.node.is_some(), "{cut:?}");
    assert!(cut.dominant > 0 && cut.dominant <= cut.sampled, "{cut:?}");
    let findings = sim::check(&world);
    let f = findings
        .iter()
        .find(|f| f.kind == FindingKind::Livelock)
        .expect("livelock");
    let node = world.name(cut.node.expect("node"));
    assert!(
        f.explanation.contains("time stood still")
            && f.explanation.contains(node)
            && f.explanation.contains(cut.event),
        "{}",
        f.explanation
    );
    // Deterministic: the same run stops at the same event, for the same reason.
    let again = world_with_watchdog(busiest);
    assert_eq!(again.cut_short(), Some(&cut));
    assert_eq!(again.fingerprint(), world.fingerprint());
}

#[test]
fn builtins_stay_far_below_the_watchdog() {
    for builtin in scenarios::builtins() {
        let s = scenario(builtin.name, &[]);
        let outcome = scenarios::run(&s, false).expect("runs");
        assert!(!outcome.truncated(), "{}", builtin.name);
        let busiest = outcome.world.busiest_millisecond();
        assert!(
            busiest * 100 < sim::watchdog::STILL_EVENTS_MAX,
            "{}: {busiest} events in one millisecond",
            builtin.name
        );
    }
}
