//! broker-core: Kafka's replication protocol as sans-IO state machines.
//!
//! Brief overview. Every node (`Broker`, `Controller`, `Producer`, `Consumer`) has the same shape:
//! `handle(now, Input)`, `handle_timeout(now)`, `poll_output() -> Option<Output>` and
//! `poll_timeout() -> Option<Time>`. After each `handle*` call the driver drains `poll_output`
//! completely. Nodes do no IO, read no clock, spawn no thread and create no randomness: time,
//! disk completions and random ids are inputs. Protocol outcomes are `ErrorCode` values inside
//! messages; broken internal invariants are panics (bugs in kafka-lab).
//!
//! Main types: `Message` (the Kafka APIs), `RecordBatch`, `PartitionLog` (log, leader-epoch cache,
//! LEO, HW), `MetadataImage`/`MetadataRecord` (the controller's log), `ClusterConfig`.
#![deny(missing_docs)]

pub mod broker;
pub mod client;
pub mod config;
pub mod controller;
pub mod error;
pub mod group;
pub mod io;
pub mod log;
pub mod metadata;
mod outbox;
pub mod producer_state;
pub mod protocol;
pub mod raft;
pub mod record;
pub mod types;

pub use broker::{Broker, ControllerChannel, Replica};
pub use client::{Consumer, Producer};
pub use config::*;
pub use controller::{Controller, TopicSpec};
pub use error::ErrorCode;
pub use io::*;
pub use log::PartitionLog;
pub use metadata::*;
pub use protocol::*;
pub use record::*;
pub use types::*;
