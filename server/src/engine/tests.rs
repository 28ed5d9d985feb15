//! The engine over a long session.

use super::Engine;
use broker_core::Time;

/// A long session's trace is bounded: past twice the entries kept, the oldest go, and the
/// fingerprint (kept as entries are recorded) is the same as an untrimmed run's.
#[test]
fn a_sessions_trace_is_bounded_and_its_fingerprint_unchanged() {
    let advertised = || crate::api::Advertised {
        host: "127.0.0.1".into(),
        base_port: 19092,
    };
    let scenario = crate::default_scenario().unwrap();
    let world = sim::World::new(crate::serve::live_spec(scenario.world_spec().unwrap()));
    let mut trimmed = Engine::new(world.clone(), advertised());
    trimmed.set_trace_kept(50);
    let mut whole = Engine::new(world, advertised());
    for ms in (100..=5_000).step_by(100) {
        trimmed.run_until(Time(ms));
        whole.run_until(Time(ms));
        assert!(trimmed.world().trace().len() <= 100, "at {ms} ms");
    }
    assert!(
        whole.world().trace().len() > 100,
        "the run traces enough to trim"
    );
    assert_eq!(trimmed.world().fingerprint(), whole.world().fingerprint());
    let last = |e: &Engine| e.world().trace().last().cloned();
    assert_eq!(last(&trimmed), last(&whole), "the latest entries are kept");
}

/// Whether a new connection to `broker`'s port is closed at once (refused).
fn refused(engine: &mut Engine, conn: u32, broker: u32) -> bool {
    use super::{Command, Out};
    let (out, answers) = std::sync::mpsc::channel();
    engine.handle(Command::Connect {
        conn,
        broker: broker_core::BrokerId(broker),
        name: format!("probe-{conn}"),
        out,
    });
    matches!(answers.try_recv(), Ok(Out::Close))
}

/// A connection to a crashed broker closes at once (its port refuses it); one to a running
/// broker stays open.
#[test]
fn a_crashed_broker_refuses_new_connections() {
    use broker_core::{BrokerId, NodeId};
    let scenario = crate::default_scenario().unwrap();
    let mut engine = crate::test_engine(&scenario);
    engine.inject_fault(sim::FaultAction::Crash {
        target: NodeId::Broker(BrokerId(2)),
    });
    engine.run_until(Time(3_010));
    assert!(refused(&mut engine, 0, 2), "broker-2 is down: refused");
    assert!(!refused(&mut engine, 1, 1), "broker-1 is up: open");
}

/// The engine refuses a connection as the simulated network does (`World::connection_answer`):
/// a stopped broker's port refuses it; a broker whose machine lost power answers nothing, so
/// the connection stays open and its requests time out, as a lab client's would.
#[test]
fn a_powered_off_broker_answers_nothing_and_a_stopped_one_refuses() {
    use broker_core::{BrokerId, NodeId};
    let scenario = crate::default_scenario().unwrap();
    let mut engine = crate::test_engine(&scenario);
    engine.inject_fault(sim::FaultAction::PowerFail {
        target: NodeId::Broker(BrokerId(2)),
    });
    engine.inject_fault(sim::FaultAction::Shutdown {
        target: NodeId::Broker(BrokerId(3)),
    });
    engine.run_until(Time(10_000));
    let status = engine.world().status(NodeId::Broker(BrokerId(3)));
    assert_eq!(status, sim::Status::Stopped, "the shutdown completed");
    assert!(!refused(&mut engine, 0, 2), "no power: no answer, open");
    assert!(refused(&mut engine, 1, 3), "stopped: refused");
}
