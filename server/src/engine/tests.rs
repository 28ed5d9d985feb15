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
