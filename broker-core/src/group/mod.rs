//! Consumer groups: the coordinator that lives in the brokers (classic protocol), the records it
//! keeps in `__consumer_offsets`, and the assignors the consumers run.
//!
//! The coordinator of a group is the leader of partition `partition_for(group)` of
//! `__consumer_offsets`. It is pure logic: the broker feeds it requests, leadership changes and
//! the outcome of its appends, and carries out the [`Effect`]s it asks for.

pub mod assignor;
mod coordinator;
pub mod records;
#[cfg(test)]
mod tests;

pub use assignor::{Assignment, Assignor};
pub use coordinator::{CoordinatorConfig, Effect, Group, GroupCoordinator, GroupWrite, Member};
pub use records::{partition_for, OffsetsRecord, OFFSETS_TOPIC};

use serde::{Deserialize, Serialize};

/// The states of a classic group (`ClassicGroupState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GroupState {
    /// No members; committed offsets may remain.
    Empty,
    /// Waiting for every member to (re)join.
    PreparingRebalance,
    /// The generation is formed; waiting for the leader's assignment.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
    /// Unloaded: another broker coordinates it now.
    Dead,
}

impl std::fmt::Display for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}
