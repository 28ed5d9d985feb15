//! sim: the deterministic world kafka-lab runs in.
//!
//! Brief overview. `World` owns an event queue over virtual time and every node of the cluster
//! (broker-core state machines), routes their messages through a simulated `Network`, their disk
//! operations through simulated `Disk`s, injects faults (`FaultAction`), records a trace
//! (`TraceEntry`, JSON lines) and the clients' history, and hashes everything into a
//! fingerprint. All randomness comes from one seed split into named ChaCha8 streams (`Rngs`).
//! After the run, `findings::check` reports cluster-state findings with verdicts.
#![deny(missing_docs)]

pub mod budget;
pub mod checker;
mod compacted;
pub mod counts;
pub mod disk;
mod expired;
pub mod external;
mod faults;
pub mod findings;
mod kind;
mod liveness;
pub mod memory;
pub mod moment;
pub mod network;
pub mod node;
pub mod quorum;
mod quorum_changes;
mod quorum_findings;
pub mod rng;
pub mod spec;
pub mod story;
pub mod summary;
pub mod trace;
pub mod watchdog;
pub mod world;

pub use budget::{Breach, FaultBudget, Subject};
pub use counts::HistoryCounts;
pub use findings::{check, CommittedCut, Finding, Promises, Verdict};
pub use kind::FindingKind;
pub use memory::Held;
pub use moment::{Mark, Moment};
pub use network::NetworkConfig;
pub use spec::*;
pub use trace::{TraceEntry, TraceKind, TracedBatch};
pub use watchdog::{CutShort, Livelock};
pub use world::{
    Acked, Checkpoint, ConnectionAnswer, HistoryRecord, Phase, Status, World, CONTROLLER,
};
