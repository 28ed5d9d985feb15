//! Kafka's `replication_test.py` matrix in simulation (`scenarios::replication_test`), and the
//! dynamic fault targets it is written with.

use broker_core::{BrokerId, Event, NodeId};
use scenarios::replication_test::{BrokerType, Cell, FailureMode};
use scenarios::{resolve, run, FindingKind};
use sim::{Role, RoleFault, TraceKind, Verdict, World};
use std::collections::BTreeSet;

/// Seeds per cell: 16 cells × 13 seeds = 208 runs, 200 seeds of the matrix in the suite's
/// time (the `controller` cells on three KRaft controllers, see `Cell::controllers`).
/// `KAFKA_LAB_REPLICATION_SEEDS=200` runs 200 seeds per cell instead (3,200 runs, minutes).
const SEEDS: u64 = 13;

fn seeds() -> u64 {
    std::env::var("KAFKA_LAB_REPLICATION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEEDS)
}

/// `(fault, role, node)` of every fault on a role, in order.
fn resolutions(world: &World) -> Vec<(RoleFault, Role, Option<NodeId>)> {
    world
        .trace()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::RoleResolved { fault, role, node } => Some((*fault, role.clone(), *node)),
            _ => None,
        })
        .collect()
}

/// Whether every broker a role's `shutdown` hit finished its controlled shutdown (stopped by
/// itself) before anything restarted it: a clean bounce that a restart cut short would be a
/// hard one.
fn shutdowns_completed(world: &World) -> bool {
    let mut waiting: Vec<NodeId> = Vec::new();
    for entry in world.trace() {
        match &entry.kind {
            TraceKind::RoleResolved {
                fault: RoleFault::Shutdown,
                node: Some(node @ NodeId::Broker(_)),
                ..
            } => waiting.push(*node),
            TraceKind::ProcessStopped => waiting.retain(|n| Some(*n) != entry.node),
            TraceKind::RoleResolved {
                fault: RoleFault::Restart,
                node: Some(node),
                ..
            } if waiting.contains(node) => return false,
            _ => {}
        }
    }
    waiting.is_empty()
}

/// Every acknowledged record consumed and, with idempotence, none twice; every fault hit the
/// holder of its role, and each restart the node its crash or shutdown hit; a clean shutdown
/// completed before its restart.
fn check_failure_mode(mode: FailureMode) {
    let cells = Cell::matrix()
        .into_iter()
        .filter(|c| c.failure_mode == mode);
    for cell in cells {
        for seed in 1..=seeds() {
            let scenario = cell.scenario(seed);
            let outcome = run(&scenario, false).expect("runs");
            let name = format!("{} seed {seed}", scenario.name);
            let violations: Vec<_> = outcome
                .findings
                .iter()
                .filter(|f| f.verdict == Verdict::Violation)
                .collect();
            assert!(violations.is_empty(), "{name}: {violations:?}");
            if cell.enable_idempotence {
                assert!(!outcome.found.contains(&FindingKind::Duplicate), "{name}");
            }
            assert!(shutdowns_completed(&outcome.world), "{name}");
            let resolved = resolutions(&outcome.world);
            assert_eq!(resolved.len(), scenario.faults.len(), "{name}");
            for pair in resolved.chunks(2) {
                assert!(
                    pair.iter().all(|(_, _, node)| node.is_some()),
                    "{name}: {pair:?}"
                );
                if let [(_, _, down), (RoleFault::Restart, _, up)] = pair {
                    assert_eq!(down, up, "{name}: a bounce restarts the node it stopped");
                }
            }
            assert_eq!(
                outcome.world.spec().controllers,
                cell.controllers(),
                "{name}"
            );
            if cell.broker_type == BrokerType::Controller && bounces(mode) {
                let hit: BTreeSet<_> = resolved
                    .iter()
                    .filter(|(fault, _, _)| *fault != RoleFault::Restart)
                    .map(|(_, _, node)| *node)
                    .collect();
                assert!(
                    hit.len() > 1,
                    "{name}: the active controller failed over between bounces: {hit:?}"
                );
            }
            let acked = outcome
                .world
                .history()
                .iter()
                .filter(|h| {
                    matches!(
                        h.entry,
                        broker_core::HistoryEntry::SendCompleted {
                            outcome: broker_core::SendOutcome::Ok(_),
                            ..
                        }
                    )
                })
                .count();
            assert!(acked > 100, "{name}: only {acked} acknowledged");
        }
    }
}

fn bounces(mode: FailureMode) -> bool {
    matches!(mode, FailureMode::CleanBounce | FailureMode::HardBounce)
}

#[test]
fn clean_shutdown_of_the_leader_or_the_controller_keeps_every_acknowledged_message() {
    check_failure_mode(FailureMode::CleanShutdown);
}

#[test]
fn hard_shutdown_of_the_leader_or_the_controller_keeps_every_acknowledged_message() {
    check_failure_mode(FailureMode::HardShutdown);
}

#[test]
fn clean_bounces_of_the_leader_or_the_controller_keep_every_acknowledged_message() {
    check_failure_mode(FailureMode::CleanBounce);
}

#[test]
fn hard_bounces_of_the_leader_or_the_controller_keep_every_acknowledged_message() {
    check_failure_mode(FailureMode::HardBounce);
}

/// The matrix is the Python test's: 4 failure modes × {leader, controller} × idempotence, and
/// bounces chase the role five times.
#[test]
fn the_matrix_has_sixteen_cells_and_bounces_five_times() {
    let cells = Cell::matrix();
    assert_eq!(cells.len(), 16);
    let bounce = cells
        .iter()
        .find(|c| c.failure_mode == FailureMode::HardBounce)
        .expect("a hard bounce");
    let faults = bounce.faults(9_000);
    assert_eq!(faults.len(), 10);
    assert!(
        faults.windows(2).all(|w| w[1].at_ms - w[0].at_ms >= 5_000),
        "down past the session timeout's grace, up before the next bounce"
    );
}

/// The built-in `replication-test` bounces the leader of test-topic-0: each crash hits the
/// broker the controller had elected, and the restart goes to it although another broker
/// leads by then.
#[test]
fn a_bounce_of_the_leader_restarts_the_broker_its_crash_hit() {
    let outcome = run(&resolve("replication-test").expect("built in"), false).expect("runs");
    assert!(outcome.expect_met, "{:?}", outcome.findings);
    let trace = outcome.world.trace();
    let mut leader = None;
    let mut crashed = None;
    for entry in trace {
        match &entry.kind {
            TraceKind::Event {
                event: Event::LeaderElected { tp, leader: l, .. },
            } if tp.to_string() == "test-topic-0" => leader = l.map(NodeId::Broker),
            TraceKind::RoleResolved {
                fault: RoleFault::Crash,
                node,
                ..
            } => {
                assert_eq!(*node, leader, "at {}: the leader is hit", entry.time);
                crashed = *node;
            }
            TraceKind::RoleResolved {
                fault: RoleFault::Restart,
                node,
                ..
            } => {
                assert_eq!(*node, crashed, "at {}", entry.time);
                assert_ne!(leader, crashed, "another broker leads by now");
            }
            _ => {}
        }
    }
    assert!(crashed.is_some());
}

/// A role nobody holds: the fault does nothing, and the trace says so (a partition whose only
/// replica is down has no leader once the controller fences it).
#[test]
fn a_fault_on_a_role_nobody_holds_is_recorded_as_such() {
    let mut s = resolve("replication-test").expect("built in");
    s.topics[0].replication_factor = 1;
    s.cluster.config.insert(
        "min.insync.replicas".into(),
        broker_core::ConfigValue::Int(1),
    );
    s.faults = scenarios::parse(
        r#"name = "x"
title = "x"
duration_ms = 100000
[cluster]
brokers = 3
[[topics]]
name = "test-topic"
partitions = 3
replication_factor = 1
[[faults]]
at_ms = 5000
action = "crash"
target = "broker-1"
[[faults]]
at_ms = 20000
action = "crash"
target = "leader:test-topic-0"
[[faults]]
at_ms = 25000
action = "restart"
target = "leader:test-topic-0"
"#,
        "inline",
    )
    .expect("valid")
    .faults;
    s.captions.clear();
    s.expect.findings.clear();
    let outcome = run(&s, false).expect("runs");
    let resolved = resolutions(&outcome.world);
    assert_eq!(
        resolved
            .iter()
            .map(|(f, _, n)| (*f, *n))
            .collect::<Vec<_>>(),
        [(RoleFault::Crash, None), (RoleFault::Restart, None)],
        "broker-1, the only replica of test-topic-0, is fenced: nobody leads it"
    );
    assert_eq!(
        outcome.world.spec().topics[0].assignment[0],
        vec![BrokerId(1)],
        "the partition's only replica is broker-1"
    );
}

/// `kafka-lab run` says, under its findings, that a fault on a role found nobody: a clean
/// verdict must not read as having survived a fault the run never had.
#[test]
fn the_report_says_which_faults_on_a_role_found_nobody() {
    let dir = std::env::temp_dir().join(format!("kafka-lab-roles-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("nobody-leads.toml");
    let scenario = r#"name = "nobody-leads"
title = "A partition without a leader"
duration_ms = 20000
drain_ms = 5000
[cluster]
brokers = 3
[[topics]]
name = "t"
partitions = 1
replication_factor = 1
[[faults]]
at_ms = 1000
action = "crash"
target = "broker-1"
[[faults]]
at_ms = 15000
action = "crash"
target = "leader:t-0"
"#;
    std::fs::write(&path, scenario).expect("write");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
        .arg("run")
        .arg(&path)
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("crash leader:t-0: nobody holds it, nothing happens"),
        "{stdout}"
    );
    assert!(
        stdout.contains("note: the crash of leader:t-0 at 15.000s found nobody holding it"),
        "{stdout}"
    );
}

/// With the controller down, `leader:` asks the brokers' metadata (the newest a running broker
/// has applied), and a restart of `active-controller` goes to the controller its crash hit
/// although, crashed, it holds no role.
#[test]
fn roles_resolve_while_the_controller_is_down() {
    let mut s = resolve("replication-test").expect("built in");
    s.faults = scenarios::parse(
        r#"name = "x"
title = "x"
duration_ms = 100000
[cluster]
brokers = 3
[[topics]]
name = "test-topic"
partitions = 3
replication_factor = 3
[[faults]]
at_ms = 5000
action = "crash"
target = "active-controller"
[[faults]]
at_ms = 6000
action = "shutdown"
target = "leader:test-topic-0"
[[faults]]
at_ms = 10000
action = "restart"
target = "active-controller"
[[faults]]
at_ms = 20000
action = "restart"
target = "leader:test-topic-0"
"#,
        "inline",
    )
    .expect("valid")
    .faults;
    s.captions.clear();
    let outcome = run(&s, false).expect("runs");
    let controller = Some(sim::CONTROLLER);
    let broker_1 = Some(NodeId::Broker(BrokerId(1)));
    let resolved: Vec<_> = resolutions(&outcome.world)
        .into_iter()
        .map(|(f, _, n)| (f, n))
        .collect();
    assert_eq!(
        resolved,
        [
            (RoleFault::Crash, controller),
            (RoleFault::Shutdown, broker_1),
            (RoleFault::Restart, controller),
            (RoleFault::Restart, broker_1),
        ]
    );
    assert!(outcome.expect_met, "{:?}", outcome.findings);
}
