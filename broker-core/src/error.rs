//! Kafka error codes, by their Kafka names. Protocol outcomes are values in responses, never `Err`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error code carried in a response (`org.apache.kafka.common.protocol.Errors`).
#[allow(non_camel_case_types, missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    NONE,
    UNKNOWN_SERVER_ERROR,
    OFFSET_OUT_OF_RANGE,
    CORRUPT_MESSAGE,
    UNKNOWN_TOPIC_OR_PARTITION,
    LEADER_NOT_AVAILABLE,
    NOT_LEADER_OR_FOLLOWER,
    REQUEST_TIMED_OUT,
    NETWORK_EXCEPTION,
    COORDINATOR_NOT_AVAILABLE,
    NOT_COORDINATOR,
    ILLEGAL_GENERATION,
    UNKNOWN_MEMBER_ID,
    REBALANCE_IN_PROGRESS,
    NOT_ENOUGH_REPLICAS,
    NOT_ENOUGH_REPLICAS_AFTER_APPEND,
    OUT_OF_ORDER_SEQUENCE_NUMBER,
    DUPLICATE_SEQUENCE_NUMBER,
    INVALID_PRODUCER_EPOCH,
    KAFKA_STORAGE_ERROR,
    FENCED_LEADER_EPOCH,
    UNKNOWN_LEADER_EPOCH,
    STALE_BROKER_EPOCH,
    INVALID_UPDATE_VERSION,
    BROKER_ID_NOT_REGISTERED,
    DUPLICATE_BROKER_REGISTRATION,
    INELIGIBLE_REPLICA,
    NEW_LEADER_ELECTED,
    UNKNOWN_PRODUCER_ID,
    COORDINATOR_LOAD_IN_PROGRESS,
    INCONSISTENT_GROUP_PROTOCOL,
    /// A session timeout outside `group.min/max.session.timeout.ms` (fatal to the consumer).
    INVALID_SESSION_TIMEOUT,
    /// KIP-394: a new dynamic member must rejoin with the member id the response carries.
    MEMBER_ID_REQUIRED,
    /// KIP-345: another instance joined with this `group.instance.id` (fatal to the consumer).
    FENCED_INSTANCE_ID,
    /// A request the receiver finds malformed or not its sender's to make (an `AlterPartition`
    /// from a broker that does not lead the partition).
    INVALID_REQUEST,
    /// The receiver is not the active controller, or is behind the sender (an `AlterPartition`
    /// with an epoch newer than this controller has seen): look for the controller again.
    NOT_CONTROLLER,
    /// A topic name no topic may have (`Topic.validate`).
    INVALID_TOPIC_EXCEPTION,
    /// `CreateTopics` for a topic that exists.
    TOPIC_ALREADY_EXISTS,
    /// A partition count below 1 (or above the lab's limit).
    INVALID_PARTITIONS,
    /// A replication factor below 1 or above the unfenced brokers.
    INVALID_REPLICATION_FACTOR,
    /// A manual assignment that is not one (uneven, duplicate or unknown brokers).
    INVALID_REPLICA_ASSIGNMENT,
    /// A topic config Kafka does not know, or a value it refuses.
    INVALID_CONFIG,
    /// A record the log refuses (`LogValidator`: a record without a key on a compacted topic);
    /// not retriable.
    INVALID_RECORD,
    /// A request the topic's configuration forbids (`DeleteRecords` on a topic whose
    /// `cleanup.policy` has no `delete`).
    POLICY_VIOLATION,
}

impl ErrorCode {
    /// True for `NONE`.
    pub fn is_ok(self) -> bool {
        self == ErrorCode::NONE
    }

    /// Whether a produce answered with this error may still have been appended: a timeout or a
    /// broken connection, too few replicas after the append, or a leader that lost its
    /// leadership while the acks=all wait was pending (`DelayedProduce` completes with
    /// NOT_LEADER_OR_FOLLOWER, though the new leader may have fetched the batch). The client
    /// cannot call such a send failed: its outcome is unknown.
    pub fn may_have_been_written(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            REQUEST_TIMED_OUT
                | NETWORK_EXCEPTION
                | NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | NOT_LEADER_OR_FOLLOWER
        )
    }

    /// Whether a client may retry the request (Kafka's `RetriableException` subclasses).
    pub fn is_retriable(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            CORRUPT_MESSAGE
                | UNKNOWN_TOPIC_OR_PARTITION
                | LEADER_NOT_AVAILABLE
                | NOT_LEADER_OR_FOLLOWER
                | REQUEST_TIMED_OUT
                | NETWORK_EXCEPTION
                | COORDINATOR_NOT_AVAILABLE
                | COORDINATOR_LOAD_IN_PROGRESS
                | NOT_COORDINATOR
                | NOT_ENOUGH_REPLICAS
                | NOT_ENOUGH_REPLICAS_AFTER_APPEND
                | KAFKA_STORAGE_ERROR
                | FENCED_LEADER_EPOCH
                | UNKNOWN_LEADER_EPOCH
        )
    }

    /// Whether the client should refresh its metadata before retrying.
    pub fn needs_metadata_refresh(self) -> bool {
        use ErrorCode::*;
        matches!(
            self,
            UNKNOWN_TOPIC_OR_PARTITION
                | LEADER_NOT_AVAILABLE
                | NOT_LEADER_OR_FOLLOWER
                | NETWORK_EXCEPTION
                | REQUEST_TIMED_OUT
                | FENCED_LEADER_EPOCH
                | UNKNOWN_LEADER_EPOCH
                | KAFKA_STORAGE_ERROR
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
