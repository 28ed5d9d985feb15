//! The controller quorum in the simulated world (`controllers = N`, issue 16): the Raft leader
//! is the active controller, the trace tells role changes, the metadata comes from it, and a
//! failover keeps what was committed.

use broker_core::raft::{QuorumConfig, Role};
use broker_core::{BrokerId, ControllerId, Event, MetadataRecord, NodeId, Time, TopicPartition};
use scenarios::{resolve, Scenario};
use sim::{FaultAction, TraceKind, World};

fn scenario(name: &str, seed: u64, controllers: u32) -> Scenario {
    let mut s = resolve(name).unwrap_or_else(|e| panic!("{e}"));
    s.seed = seed;
    s.apply_set("cluster.controllers", &controllers.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

fn world(name: &str, seed: u64, controllers: u32) -> World {
    World::new(
        scenario(name, seed, controllers)
            .world_spec()
            .expect("spec"),
    )
}

/// Every `RaftRoleChanged` of the trace so far, in order.
fn role_changes(world: &World) -> Vec<(Time, ControllerId, Role, broker_core::LeaderEpoch)> {
    world
        .trace()
        .iter()
        .filter_map(|e| match &e.kind {
            TraceKind::Event {
                event:
                    Event::RaftRoleChanged {
                        controller,
                        role,
                        epoch,
                    },
            } => Some((e.time, *controller, *role, *epoch)),
            _ => None,
        })
        .collect()
}

#[test]
fn three_controllers_elect_one_active_controller_that_the_trace_and_metadata_follow() {
    let mut world = world("leader-failover", 1, 3);
    world.run_until(Time(6_000));
    let active = world.active_controller().expect("a leader within 6 s");
    let NodeId::Controller(id) = active else {
        panic!("the active controller is a controller: {active:?}")
    };
    let leaders: Vec<_> = world.controllers().filter(|c| c.is_active()).collect();
    assert_eq!(leaders.len(), 1, "one Raft leader");
    let (role, epoch) = leaders[0].quorum_role().expect("a voter");
    assert_eq!((leaders[0].id(), role), (id, Role::Leader));
    let told = role_changes(&world);
    assert!(
        told.iter()
            .any(|t| t.1 == id && t.2 == Role::Leader && t.3 == epoch),
        "the trace tells its election: {told:?}"
    );
    assert_eq!(world.controllers().count(), 3);
    let image = world.metadata().expect("metadata");
    assert!(!image.partitions.is_empty(), "the startup topic exists");
    assert_eq!(
        image,
        leaders[0].metadata(),
        "the active controller's image"
    );
}

#[test]
fn crashing_the_active_controller_elects_another_that_keeps_the_committed_image() {
    let mut world = world("leader-failover", 2, 3);
    world.run_until(Time(6_000));
    let old = world.active_controller().expect("a leader");
    let before = world.metadata().expect("metadata").clone();
    world
        .inject_fault(FaultAction::Crash { target: old })
        .expect("placed");
    world.run_until(Time(6_010));
    assert_eq!(world.active_controller(), None, "no leader right after");
    let interim = world.metadata().expect("the freshest follower's image");
    assert!(interim.offset >= before.offset, "a majority holds it");
    world.run_until(Time(12_000));
    let new = world.active_controller().expect("a new leader");
    assert_ne!(new, old);
    let after = world.metadata().expect("metadata");
    assert!(after.offset >= before.offset);
    assert_eq!(after.partitions.keys().count(), before.partitions.len());
    for (tp, state) in &before.partitions {
        assert!(
            after.partitions[tp].leader_epoch >= state.leader_epoch,
            "{tp}: nothing committed went back"
        );
    }
}

#[test]
fn controller_targets_name_each_voter_and_one_controller_runs_as_before() {
    let mut world = world("leader-failover", 1, 3);
    let c3 = NodeId::Controller(ControllerId(3));
    assert_eq!(world.node_id("controller-3"), Some(c3));
    world.run_until(Time(3_000));
    world
        .inject_fault(FaultAction::Pause { target: c3 })
        .expect("placed");
    world.run_until(Time(3_100));
    assert_eq!(world.status(c3), sim::Status::Paused);
    let single = world_roles("leader-failover", 1);
    assert!(single.is_empty(), "one controller has no Raft: {single:?}");
}

fn world_roles(name: &str, seed: u64) -> Vec<(Time, ControllerId, Role, broker_core::LeaderEpoch)> {
    let mut world = world(name, seed, 1);
    world.run_until(Time(5_000));
    assert_eq!(world.active_controller(), Some(sim::CONTROLLER));
    role_changes(&world)
}

/// The committed metadata records of a controller, in order.
fn committed(world: &World, id: NodeId) -> Vec<MetadataRecord> {
    let NodeId::Controller(cid) = id else {
        panic!("not a controller: {id:?}")
    };
    let controller = world
        .controllers()
        .find(|c| c.id() == cid)
        .expect("running");
    (0..)
        .map_while(|o| controller.committed_record(o).cloned())
        .collect()
}

/// How long a quorum may take to elect a leader once the old one is gone: the liveness
/// bound from Kafka's defaults (`QuorumConfig::election_bound_ms`, the `controller-unavailable`
/// rule's).
fn election_bound_ms() -> u64 {
    QuorumConfig::default().election_bound_ms()
}

/// `leader-failover` with 3 controllers and none of its faults: the tests inject their own.
fn quiet_world(seed: u64) -> World {
    let mut s = scenario("leader-failover", seed, 3);
    s.faults.clear();
    World::new(s.world_spec().expect("spec"))
}

fn orders() -> TopicPartition {
    TopicPartition::new(&broker_core::Topic::new("orders"), 0)
}

/// Done-when of issue 16: crash the active controller at several times; every record committed
/// before the crash is in the new leader's committed log, a new leader comes within the
/// election bound, and a broker failover after that still elects a partition leader.
#[test]
fn an_active_controller_crash_at_any_time_loses_no_committed_metadata() {
    for (seed, crash_at) in [(1, 4_020), (2, 4_500), (3, 6_000), (4, 9_000), (5, 15_000)] {
        let mut world = quiet_world(seed);
        world.run_until(Time(crash_at));
        let old = world.active_controller().expect("a leader");
        let before = committed(&world, old);
        world
            .inject_fault(FaultAction::Crash { target: old })
            .expect("placed");
        let crashed = Time(crash_at + 1);
        let mut new = None;
        while world.now() < crashed.plus_ms(election_bound_ms()) {
            world.run_until(world.now().plus_ms(10));
            new = world.active_controller();
            if new.is_some() {
                break;
            }
        }
        let new = new.unwrap_or_else(|| panic!("seed {seed}: no leader after {crash_at}"));
        assert_ne!(new, old, "seed {seed}");
        world.run_until(world.now().plus_ms(1_000));
        let after = committed(&world, world.active_controller().expect("still led"));
        assert!(
            after.len() >= before.len() && after[..before.len()] == before[..],
            "seed {seed}, crash at {crash_at}: {} committed before, the new leader's log differs",
            before.len()
        );
        let leader = world
            .partition_leader(&orders())
            .expect("orders-0 has a leader");
        world
            .inject_fault(FaultAction::Crash { target: leader })
            .expect("placed");
        world.run_until(world.now().plus_ms(10_000));
        let next = world.partition_leader(&orders());
        assert!(
            next.is_some() && next != Some(leader),
            "seed {seed}: orders-0 led by {next:?} after its leader {leader:?} crashed"
        );
    }
}

/// Done-when of issue 16: with two of three controllers down nothing changes partition
/// leadership, not even a crashed leader's; a majority back, the cluster heals.
#[test]
fn without_a_majority_no_leader_changes_and_a_majority_back_heals() {
    for seed in 1..=3 {
        let mut world = quiet_world(seed);
        world.run_until(Time(6_000));
        let active = world.active_controller().expect("a leader");
        let other = world
            .controller_ids()
            .into_iter()
            .find(|c| *c != active)
            .expect("three");
        for target in [active, other] {
            world
                .inject_fault(FaultAction::Crash { target })
                .expect("placed");
        }
        world.run_until(Time(7_000));
        let mark = world.trace().len();
        let leader = world.partition_leader(&orders()).expect("a leader");
        world
            .inject_fault(FaultAction::Crash { target: leader })
            .expect("placed");
        world.run_until(Time(20_000));
        let changes: Vec<_> = world.trace()[mark..]
            .iter()
            .filter(|e| {
                matches!(
                    &e.kind,
                    TraceKind::Event {
                        event: Event::LeaderElected { .. }
                            | Event::RaftRoleChanged {
                                role: Role::Leader,
                                ..
                            }
                    }
                )
            })
            .collect();
        assert!(changes.is_empty(), "seed {seed}: {changes:?}");
        assert_eq!(world.active_controller(), None);
        assert_eq!(
            world.partition_leader(&orders()),
            Some(leader),
            "seed {seed}: the metadata still names the crashed leader"
        );
        world
            .inject_fault(FaultAction::Restart { target: other })
            .expect("placed");
        world.run_until(Time(20_001 + election_bound_ms()));
        assert!(world.active_controller().is_some(), "seed {seed}: healed");
        world.run_until(Time(29_000));
        let healed = world.partition_leader(&orders());
        assert!(
            healed.is_some() && healed != Some(leader),
            "seed {seed}: orders-0 led by {healed:?}"
        );
        let NodeId::Broker(BrokerId(_)) = healed.expect("checked") else {
            panic!("a broker leads")
        };
    }
}

#[test]
fn a_quorum_run_is_deterministic() {
    let run = || {
        let mut s = scenario("leader-failover", 7, 3);
        s.faults.clear();
        let mut world = World::new(s.world_spec().expect("spec"));
        world.run_until(Time(5_000));
        let target = world.active_controller().expect("a leader");
        world
            .inject_fault(FaultAction::Crash { target })
            .expect("placed");
        world.run_until(Time(12_000));
        world
            .inject_fault(FaultAction::Restart { target })
            .expect("placed");
        world.run_to_end();
        world.fingerprint()
    };
    assert_eq!(run(), run());
}

fn hw(world: &World, broker: u32, partition: u32) -> broker_core::Offset {
    let tp = TopicPartition::new(&broker_core::Topic::new("orders"), partition);
    world.broker(BrokerId(broker)).expect("up").replicas()[&tp]
        .log
        .high_watermark()
}

/// `controller-majority-lost` tells the truth: with one controller of three left, orders-1
/// (its replicas alive) keeps committing, orders-2 (broker-1 in its ISR) does not, orders-0
/// keeps its dead leader; a majority back, orders-0 is led by broker-2.
#[test]
fn controller_majority_lost_keeps_data_flowing_only_where_no_metadata_change_is_needed() {
    for seed in 1..=3 {
        let mut s = resolve("controller-majority-lost").expect("builtin");
        s.seed = seed;
        let mut world = World::new(s.world_spec().expect("spec"));
        world.run_until(Time(19_000));
        assert_eq!(world.active_controller(), None, "seed {seed}: one of three");
        let (flowing, stalled) = (hw(&world, 2, 1), hw(&world, 3, 2));
        world.run_until(Time(27_000));
        assert!(hw(&world, 2, 1) > flowing, "seed {seed}: orders-1 commits");
        assert_eq!(hw(&world, 3, 2), stalled, "seed {seed}: orders-2 waits");
        assert_eq!(
            world.partition_leader(&orders()),
            Some(NodeId::Broker(BrokerId(1)))
        );
        world.run_until(Time(36_500));
        assert_eq!(
            world.partition_leader(&orders()),
            Some(NodeId::Broker(BrokerId(2))),
            "seed {seed}: healed"
        );
    }
}

/// `controller-quorum-odd` and `-even` (3 and 4 controllers, the same faults): both elect a
/// leader after one loss, neither after two.
#[test]
fn three_and_four_controllers_tolerate_the_same_one_loss() {
    for name in ["controller-quorum-odd", "controller-quorum-even"] {
        for seed in 1..=2 {
            let mut s = resolve(name).expect("builtin");
            s.seed = seed;
            let mut world = World::new(s.world_spec().expect("spec"));
            world.run_until(Time(15_000));
            assert!(
                world.active_controller().is_some(),
                "{name} {seed}: one lost"
            );
            world.run_until(Time(29_000));
            assert_eq!(world.active_controller(), None, "{name} {seed}: two lost");
            world.run_until(Time(29_000 + election_bound_ms()));
            assert!(world.active_controller().is_some(), "{name} {seed}: back");
        }
    }
}

/// What the liveness rule (`controller-unavailable`) asks of the world: a majority of the
/// voters up and linked both ways pair by pair, and a leader linked to a majority. A one-way
/// cut unlinks a pair; a paused voter takes no part.
#[test]
fn the_quorum_reach_counts_only_voters_up_and_linked_both_ways() {
    let mut world = quiet_world(1);
    world.run_until(Time(6_000));
    let [c1, c2, c3] = [1, 2, 3].map(|c| NodeId::Controller(ControllerId(c)));
    let reach = world.quorum_reach();
    assert_eq!(reach.majority, Some(vec![c1, c2, c3]));
    assert_eq!(reach.leader, world.active_controller());
    world
        .inject_fault(FaultAction::Cut { from: c1, to: c2 })
        .expect("placed");
    world.run_until(Time(6_010));
    let two = world.quorum_reach().majority.expect("c3 with c1 or c2");
    assert_eq!(two.len(), 2);
    assert!(two.contains(&c3), "{two:?}: c1 and c2 are cut one way");
    world
        .inject_fault(FaultAction::Pause { target: c3 })
        .expect("placed");
    world.run_until(Time(6_020));
    let reach = world.quorum_reach();
    assert_eq!(
        reach.majority, None,
        "c1 and c2 hear each other one way only"
    );
    assert_eq!(reach.leader, None, "no voter reaches a majority both ways");
}

/// The noticed bug of `controller-prevote-off`: the brokers kept heartbeating to the cut-off
/// old controller until their heartbeat channel's timeout (`broker.session.timeout.ms / 2`,
/// checked only when a heartbeat is due), 6 s after the cut. Their metadata fetch (Raft
/// observers) learns the new leader once its fetch to the old one times out, and the channel
/// follows it: within the fetch timeout + an election of the new leader's, every broker
/// heartbeats to it.
#[test]
fn brokers_follow_the_new_active_controller_their_metadata_fetch_learns() {
    let mut world = World::new(
        resolve("controller-prevote-off")
            .unwrap_or_else(|e| panic!("{e}"))
            .world_spec()
            .expect("spec"),
    );
    world.run_until(Time(12_000));
    let active = world
        .active_controller()
        .expect("a new leader 4 s after the cut");
    for b in 1..=3 {
        let broker = world.broker(BrokerId(b)).expect("a broker");
        assert_eq!(broker.controller_channel().active(), active, "broker-{b}");
        let observer = broker.metadata_observer().expect("started").status();
        assert_eq!(observer.role, Role::Observer);
        assert_eq!(observer.leader, Some(active), "broker-{b}'s fetch knows it");
    }
}
