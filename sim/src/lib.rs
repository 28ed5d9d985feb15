//! sim
pub mod disk;
pub mod network;
pub mod rng;
