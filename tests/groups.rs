//! Consumer groups end to end: the three group scenarios over several seeds, read through the
//! coordinators' state at the end, and the `groups` swarm profile.

use broker_core::group::GroupState;
use broker_core::{BrokerId, NodeId, Offset, TopicPartition};
use scenarios::swarm::{check_seed, Profile};
use scenarios::{resolve, run, FindingKind, Outcome};
use sim::Verdict;
use std::collections::BTreeMap;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=5;

fn outcome(name: &str, seed: u64) -> Outcome {
    let mut s = resolve(name).unwrap_or_else(|e| panic!("{e}"));
    s.seed = seed;
    run(&s, false).expect("runs")
}

/// g1 as its coordinator has it at the end: (coordinator, group).
fn group(outcome: &Outcome) -> (BrokerId, broker_core::group::Group) {
    let world = &outcome.world;
    (1..=world.spec().brokers)
        .filter_map(|b| world.broker(BrokerId(b)))
        .find_map(|b| Some((b.id(), b.group_coordinator().groups().get("g1")?.clone())))
        .expect("a live coordinator has g1")
}

#[test]
fn a_group_scales_up_to_its_partition_count_and_no_further() {
    for seed in SEEDS {
        let outcome = outcome("consumer-group-scaling", seed);
        assert!(outcome.expect_met, "seed {seed}: {:?}", outcome.found);
        let (_, g1) = group(&outcome);
        assert_eq!(g1.state, GroupState::Stable, "seed {seed}");
        assert_eq!(g1.generation, 4, "seed {seed}: one generation per join");
        let sizes: Vec<usize> = g1
            .members
            .values()
            .map(|m| m.stored.assignment.len())
            .collect();
        assert_eq!(sizes.len(), 4, "seed {seed}");
        assert_eq!(
            sizes.iter().filter(|n| **n == 1).count(),
            3,
            "seed {seed}: {sizes:?}"
        );
        assert_eq!(
            sizes.iter().filter(|n| **n == 0).count(),
            1,
            "one idle member"
        );
    }
}

#[test]
fn a_crash_before_commit_redelivers_and_loses_nothing() {
    for seed in SEEDS {
        let outcome = outcome("consumer-rebalance-duplicates", seed);
        assert!(outcome.expect_met, "seed {seed}: {:?}", outcome.found);
        let redelivery = outcome
            .findings
            .iter()
            .find(|f| f.kind == FindingKind::Redelivery)
            .expect("records read twice");
        assert_eq!(redelivery.verdict, Verdict::Allowed);
        assert!(!outcome.found.contains(&FindingKind::LostWrite));
    }
}

#[test]
fn the_group_moves_with_its_committed_offsets_when_its_coordinator_dies() {
    for seed in SEEDS {
        let outcome = outcome("coordinator-failover", seed);
        assert!(outcome.expect_met, "seed {seed}: {:?}", outcome.found);
        let (coordinator, g1) = group(&outcome);
        assert_ne!(
            coordinator,
            BrokerId(3),
            "seed {seed}: broker-3 led it before the crash"
        );
        assert_eq!(
            g1.generation, 1,
            "seed {seed}: no rebalance, the members carried on"
        );
        assert_eq!(g1.state, GroupState::Stable);
        assert!(
            g1.committed.values().all(|o| *o > Offset(0)) && g1.committed.len() == 3,
            "seed {seed}: {:?}",
            g1.committed
        );
    }
}

/// KIP-345: consumer-1 (`group.instance.id` reader-1) crashes at 12 s and restarts at 16 s,
/// within its 10 s session. The coordinator swaps its member id in place: the group stays in
/// generation 1, consumer-1 keeps exactly the partitions it had, consumer-2 never gives up
/// its own, and nothing is lost.
#[test]
fn a_static_member_restarting_within_its_session_causes_no_rebalance() {
    for seed in SEEDS {
        let outcome = outcome("consumer-static-membership", seed);
        assert!(outcome.expect_met, "seed {seed}: {:?}", outcome.found);
        let (_, g1) = group(&outcome);
        assert_eq!(
            (g1.state, g1.generation),
            (GroupState::Stable, 1),
            "seed {seed}"
        );
        let world = &outcome.world;
        let mut first: BTreeMap<NodeId, Vec<TopicPartition>> = BTreeMap::new();
        for record in world.history() {
            let broker_core::HistoryEntry::Rebalanced(r) = &record.entry else {
                continue;
            };
            assert_eq!(r.generation, 1, "seed {seed}: {r:?}");
            assert!(
                r.revoked.is_empty() && r.lost.is_empty(),
                "seed {seed}: {r:?}"
            );
            let before = first
                .entry(record.client)
                .or_insert_with(|| r.assigned.clone());
            assert_eq!(
                *before, r.assigned,
                "seed {seed}: the same partitions again"
            );
        }
        let consumer_1 = world.node_id("consumer-1").expect("a node");
        let rejoined = world
            .history()
            .iter()
            .filter(|r| r.client == consumer_1)
            .filter(|r| matches!(r.entry, broker_core::HistoryEntry::Rebalanced(_)))
            .count();
        assert_eq!(rejoined, 2, "seed {seed}: at start and after the restart");
        let member = g1
            .members
            .values()
            .find(|m| m.stored.group_instance_id.as_deref() == Some("reader-1"))
            .expect("reader-1 is a member");
        assert_eq!(member.stored.assignment, first[&consumer_1], "seed {seed}");
        assert!(!outcome.found.contains(&FindingKind::LostWrite));
    }
}

/// The bar is 300 seeds (`kafka-lab check --profile groups --seeds 300`, in the
/// closing note); the test keeps 40 so `cargo test` stays fast.
#[test]
fn the_groups_profile_keeps_at_least_once_and_shows_redelivery() {
    let mut redelivered = 0;
    for seed in 1..=40 {
        let result = check_seed(Profile::Groups, seed, false);
        assert_eq!(result.violations, 0, "seed {seed}: {:#?}", result.findings);
        let kinds: Vec<FindingKind> = result.findings.iter().map(|f| f.kind).collect();
        assert!(
            !kinds.contains(&FindingKind::Unseen),
            "seed {seed}: {kinds:?}"
        );
        redelivered += usize::from(kinds.contains(&FindingKind::Redelivery));
    }
    assert!(redelivered > 0, "member crashes re-deliver some records");
}

/// The partitions consumer-1 gave up over the run (revoked or lost).
fn given_up_by_first_member(outcome: &Outcome) -> Vec<String> {
    let world = &outcome.world;
    let first = world.node_id("consumer-1").expect("a node");
    world
        .history()
        .iter()
        .filter(|r| r.client == first)
        .filter_map(|r| match &r.entry {
            broker_core::HistoryEntry::Rebalanced(r) => Some(
                r.revoked
                    .iter()
                    .chain(&r.lost)
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn eager_rebalancing_revokes_everything_and_cooperative_only_what_moves() {
    let eager = outcome("consumer-group-scaling", 1);
    let revoked = given_up_by_first_member(&eager);
    assert!(
        revoked.iter().filter(|t| *t == "orders-0").count() >= 3,
        "range (eager) revokes orders-0 at every join: {revoked:?}"
    );
    let mut s = resolve("consumer-group-scaling").expect("built-in");
    for c in &mut s.consumers {
        let strategy = broker_core::ConfigValue::Str("cooperative-sticky".into());
        c.config
            .insert("partition.assignment.strategy".into(), strategy);
    }
    let cooperative = run(&s, false).expect("runs");
    assert!(cooperative.expect_met, "{:?}", cooperative.found);
    let revoked = given_up_by_first_member(&cooperative);
    let (_, g1) = group(&cooperative);
    assert_eq!(g1.protocol.as_deref(), Some("cooperative-sticky"));
    let kept: Vec<&broker_core::TopicPartition> = g1
        .members
        .values()
        .filter(|m| m.stored.client == "consumer-1")
        .flat_map(|m| &m.stored.assignment)
        .collect();
    assert_eq!(kept.len(), 1, "balanced: one partition each");
    assert!(
        !revoked.contains(&kept[0].to_string()),
        "consumer-1 never gave up the partition it keeps: {revoked:?}"
    );
    assert!(
        revoked.len() == 2,
        "it gave up only the two that moved: {revoked:?}"
    );
}

/// `auto.offset.reset=none` in a group with nothing committed yet: every member throws
/// `NoOffsetForPartitionException` for each partition it gets, reads nothing, and the verdict
/// does not blame the cluster for records nobody was going to read (no violation).
#[test]
fn without_a_reset_policy_a_new_group_reads_nothing_and_no_promise_breaks() {
    let mut s = resolve("consumer-rebalance-duplicates").expect("built-in");
    s.apply_set("consumers.auto.offset.reset", "none")
        .expect("a valid --set");
    let outcome = run(&s, false).expect("runs");
    let history = outcome.world.history();
    let thrown = history.iter().any(|r| {
        matches!(
            &r.entry,
            broker_core::HistoryEntry::ConsumerError {
                error: broker_core::ConsumerError::NoOffsetForPartition,
                ..
            }
        )
    });
    assert!(thrown, "the members throw");
    let read = history.iter().any(|r| {
        matches!(&r.entry, broker_core::HistoryEntry::Polled { records, .. } if !records.is_empty())
    });
    assert!(!read, "nothing is read");
    let violations: Vec<_> = outcome
        .findings
        .iter()
        .filter(|f| f.verdict == Verdict::Violation)
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
}
