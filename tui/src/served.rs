//! `kafka-lab serve --tui`: the UI on a world it does not drive. The served world belongs to
//! the server's engine (real clients' requests go into it, the wall clock paces it); the UI
//! shows it, and its fault keys go to the engine the way `POST /faults` does (validated as a
//! scenario fault, recorded by `--record`). Time only moves forward with the wall clock, so
//! the keys that move time (play, step, seek, rewind, jump, redo) have nothing to do.

use broker_core::Time;
use scenarios::Fault;
use sim::World;

/// A world paced and owned elsewhere, which the UI shows and injects faults into.
pub trait Served {
    /// The served world now.
    fn world(&self) -> &World;
    /// Let the owner run: take what arrived, run the world to the wall clock. Called by the UI
    /// loop several times per frame, since this thread owns the world.
    fn pump(&mut self);
    /// Inject `fault` now (its `at_ms` is ignored): when it happens, or why not.
    fn inject(&mut self, fault: &Fault) -> Result<Time, String>;
}
