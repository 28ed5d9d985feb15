//! A node's quorum state at one instant, for the UI's quorum view and the checker: what
//! `kafka-metadata-quorum describe --status` and `--replication` show of a KRaft node
//! (`QuorumState`'s epoch, leader and voted-for; the log end and the high watermark).

use super::{RaftNode, Role};
use crate::types::{LeaderEpoch, NodeId, Offset};
use serde::Serialize;

/// One node's quorum state (a voter or an observer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RaftStatus {
    /// The node.
    pub id: NodeId,
    /// Its role (leader, follower, prospective, candidate, ...).
    pub role: Role,
    /// The latest epoch it knows.
    pub epoch: LeaderEpoch,
    /// Whom it voted for in that epoch.
    pub voted_for: Option<NodeId>,
    /// The leader it knows in that epoch (itself when it leads).
    pub leader: Option<NodeId>,
    /// Its metadata log's end offset (Raft offsets, `LeaderChange` records included).
    pub log_end: Offset,
    /// The high watermark it knows: entries below it are committed.
    pub high_watermark: Offset,
}

impl<T: Clone> RaftNode<T> {
    /// Its status now.
    pub fn status(&self) -> RaftStatus {
        RaftStatus {
            id: self.id(),
            role: self.role(),
            epoch: self.epoch(),
            voted_for: self.voted_for(),
            leader: self.leader(),
            log_end: self.log().end(),
            high_watermark: self.high_watermark(),
        }
    }
}
