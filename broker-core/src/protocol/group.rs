//! Consumer groups: `FindCoordinator`, `JoinGroup`, `SyncGroup`, `Heartbeat`, `LeaveGroup`,
//! `OffsetCommit` and `OffsetFetch`.

use crate::error::ErrorCode;
use crate::types::{BrokerId, CorrelationId, LeaderEpoch, Offset, Topic, TopicPartition};
use serde::{Deserialize, Serialize};

/// What a member of a consumer group reads, as in `ConsumerProtocolSubscription` (the
/// subscription is opaque to the coordinator; only the assignors read it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The topics subscribed to.
    pub topics: Vec<Topic>,
    /// The partitions the member owns now (KIP-429: the cooperative protocol keeps them across a
    /// rebalance).
    pub owned: Vec<TopicPartition>,
}

/// A committed position (`OffsetAndMetadata`): the next offset to read and, KIP-320, the leader
/// epoch of the last record read before it, so whoever resumes from it can validate it against
/// the leader's log (`committedLeaderEpoch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CommittedOffset {
    /// The next offset to read.
    pub offset: Offset,
    /// The leader epoch of the record before it, if the committer read one.
    pub leader_epoch: Option<LeaderEpoch>,
}

/// A member as the group leader sees it in `JoinGroupResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedMember {
    /// Its member id.
    pub member_id: String,
    /// Its subscription for the chosen protocol.
    pub subscription: Subscription,
}

/// `FindCoordinatorRequest`: which broker coordinates `group` (any broker answers from its
/// metadata).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindCoordinatorRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
}

/// `FindCoordinatorResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindCoordinatorResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The coordinator, if known.
    pub coordinator: Option<BrokerId>,
}

/// `JoinGroupRequest`: join (or rejoin) a group; an empty `member_id` asks for a new one (a
/// dynamic member gets `MEMBER_ID_REQUIRED` with it and joins again, KIP-394).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The client id.
    pub client: String,
    /// The member id, empty for a new member.
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `max.poll.interval.ms`, the time to rejoin in a rebalance.
    pub rebalance_timeout_ms: u64,
    /// The assignors the member supports, in order of preference, each with its subscription.
    pub protocols: Vec<(String, Subscription)>,
}

/// `JoinGroupResponse`: `members` is filled for the leader only, which computes the assignment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The generation joined.
    pub generation: i32,
    /// The assignor chosen.
    pub protocol: Option<String>,
    /// The leader's member id.
    pub leader: String,
    /// This member's id.
    pub member_id: String,
    /// Every member, for the leader.
    pub members: Vec<JoinedMember>,
}

/// `SyncGroupRequest`: the leader sends the assignment of every member; followers send none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The generation.
    pub generation: i32,
    /// The member.
    pub member_id: String,
    /// Each member's partitions (the leader's only).
    pub assignments: Vec<(String, Vec<TopicPartition>)>,
}

/// `SyncGroupResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// This member's partitions.
    pub assignment: Vec<TopicPartition>,
}

/// `HeartbeatRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The generation.
    pub generation: i32,
    /// The member.
    pub member_id: String,
}

/// `HeartbeatResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeartbeatResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE`, or `REBALANCE_IN_PROGRESS` and the like.
    pub error: ErrorCode,
}

/// `LeaveGroupRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The member.
    pub member_id: String,
}

/// `LeaveGroupResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveGroupResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
}

/// `OffsetCommitRequest`: commit consumed positions; `generation` -1 and an empty member id for
/// a consumer outside the group protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The generation.
    pub generation: i32,
    /// The member.
    pub member_id: String,
    /// The positions.
    pub offsets: Vec<(TopicPartition, CommittedOffset)>,
}

/// `OffsetCommitResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetCommitResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The positions committed.
    pub offsets: Vec<(TopicPartition, CommittedOffset)>,
}

/// `OffsetFetchRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetFetchRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The group.
    pub group: String,
    /// The partitions.
    pub partitions: Vec<TopicPartition>,
}

/// `OffsetFetchResponse`: `None` for a partition without a committed offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetFetchResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The committed positions.
    pub offsets: Vec<(TopicPartition, Option<CommittedOffset>)>,
}
