//! `kafka-lab serve`: the Kafka wire protocol in front of the simulated cluster.
//!
//! Real clients (kcat, librdkafka, kafka-python) connect over TCP; each connection is a node
//! of the `sim::World` (`sim::external`). Frames are read with a size cap (`frame`), decoded
//! with the `kafka-protocol` crate, converted to the world's `Message`s one API at a time
//! (`api`), injected at the simulated millisecond they arrived (`engine`, which paces the world
//! by the wall clock), and the brokers' answers are converted back. `broker-core` never sees a
//! byte.
#![deny(missing_docs)]

pub mod batch;
pub mod errors;
pub mod frame;
pub mod request;
