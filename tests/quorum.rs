//! The controller quorum in the simulated world (`controllers = N`, issue 16): the Raft leader
//! is the active controller, the trace tells role changes, the metadata comes from it, and a
//! failover keeps what was committed.

use broker_core::raft::Role;
use broker_core::{ControllerId, Event, NodeId, Time};
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
