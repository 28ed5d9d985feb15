//! The lab's `ErrorCode`s as Kafka's numeric wire codes (`org.apache.kafka.common.protocol.Errors`).

use broker_core::ErrorCode;
use kafka_protocol::error::ResponseError as R;

/// The wire code of an outcome: the one place the lab's error names meet Kafka's numbers.
pub fn wire(code: ErrorCode) -> i16 {
    use ErrorCode::*;
    let error = match code {
        NONE => return 0,
        UNKNOWN_SERVER_ERROR => R::UnknownServerError,
        OFFSET_OUT_OF_RANGE => R::OffsetOutOfRange,
        CORRUPT_MESSAGE => R::CorruptMessage,
        UNKNOWN_TOPIC_OR_PARTITION => R::UnknownTopicOrPartition,
        LEADER_NOT_AVAILABLE => R::LeaderNotAvailable,
        NOT_LEADER_OR_FOLLOWER => R::NotLeaderOrFollower,
        REQUEST_TIMED_OUT => R::RequestTimedOut,
        NETWORK_EXCEPTION => R::NetworkException,
        COORDINATOR_NOT_AVAILABLE => R::CoordinatorNotAvailable,
        NOT_COORDINATOR => R::NotCoordinator,
        ILLEGAL_GENERATION => R::IllegalGeneration,
        UNKNOWN_MEMBER_ID => R::UnknownMemberId,
        REBALANCE_IN_PROGRESS => R::RebalanceInProgress,
        NOT_ENOUGH_REPLICAS => R::NotEnoughReplicas,
        NOT_ENOUGH_REPLICAS_AFTER_APPEND => R::NotEnoughReplicasAfterAppend,
        OUT_OF_ORDER_SEQUENCE_NUMBER => R::OutOfOrderSequenceNumber,
        DUPLICATE_SEQUENCE_NUMBER => R::DuplicateSequenceNumber,
        INVALID_PRODUCER_EPOCH => R::InvalidProducerEpoch,
        KAFKA_STORAGE_ERROR => R::KafkaStorageError,
        FENCED_LEADER_EPOCH => R::FencedLeaderEpoch,
        UNKNOWN_LEADER_EPOCH => R::UnknownLeaderEpoch,
        STALE_BROKER_EPOCH => R::StaleBrokerEpoch,
        INVALID_UPDATE_VERSION => R::InvalidUpdateVersion,
        BROKER_ID_NOT_REGISTERED => R::BrokerIdNotRegistered,
        DUPLICATE_BROKER_REGISTRATION => R::DuplicateBrokerRegistration,
        INELIGIBLE_REPLICA => R::IneligibleReplica,
        NEW_LEADER_ELECTED => R::NewLeaderElected,
        UNKNOWN_PRODUCER_ID => R::UnknownProducerId,
        COORDINATOR_LOAD_IN_PROGRESS => R::CoordinatorLoadInProgress,
        INCONSISTENT_GROUP_PROTOCOL => R::InconsistentGroupProtocol,
        INVALID_SESSION_TIMEOUT => R::InvalidSessionTimeout,
        MEMBER_ID_REQUIRED => R::MemberIdRequired,
        FENCED_INSTANCE_ID => R::FencedInstanceId,
        INVALID_REQUEST => R::InvalidRequest,
        NOT_CONTROLLER => R::NotController,
        INVALID_TOPIC_EXCEPTION => R::InvalidTopicException,
        TOPIC_ALREADY_EXISTS => R::TopicAlreadyExists,
        INVALID_PARTITIONS => R::InvalidPartitions,
        INVALID_REPLICATION_FACTOR => R::InvalidReplicationFactor,
        INVALID_REPLICA_ASSIGNMENT => R::InvalidReplicaAssignment,
        INVALID_CONFIG => R::InvalidConfig,
        INVALID_RECORD => R::InvalidRecord,
        POLICY_VIOLATION => R::PolicyViolation,
    };
    error.code()
}

/// Codes the server itself answers with (no lab `ErrorCode` for them).
pub mod code {
    use kafka_protocol::error::ResponseError as R;
    /// `UNSUPPORTED_VERSION` (35).
    pub fn unsupported_version() -> i16 {
        R::UnsupportedVersion.code()
    }
    /// `CORRUPT_MESSAGE` (2): a batch that fails its CRC or does not parse.
    pub fn corrupt_message() -> i16 {
        R::CorruptMessage.code()
    }
    /// `UNSUPPORTED_COMPRESSION_TYPE` (76).
    pub fn unsupported_compression() -> i16 {
        R::UnsupportedCompressionType.code()
    }
    /// `COORDINATOR_NOT_AVAILABLE` (15).
    pub fn coordinator_not_available() -> i16 {
        R::CoordinatorNotAvailable.code()
    }
    /// `INVALID_REQUEST` (42).
    pub fn invalid_request() -> i16 {
        R::InvalidRequest.code()
    }
    /// `UNKNOWN_TOPIC_OR_PARTITION` (3).
    pub fn unknown_topic() -> i16 {
        R::UnknownTopicOrPartition.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_kafkas_numbers() {
        // Errors.java: NOT_LEADER_OR_FOLLOWER(6), OUT_OF_ORDER_SEQUENCE_NUMBER(45),
        // MEMBER_ID_REQUIRED(79), UNKNOWN_SERVER_ERROR(-1).
        assert_eq!(wire(ErrorCode::NONE), 0);
        assert_eq!(wire(ErrorCode::NOT_LEADER_OR_FOLLOWER), 6);
        assert_eq!(wire(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER), 45);
        assert_eq!(wire(ErrorCode::MEMBER_ID_REQUIRED), 79);
        assert_eq!(wire(ErrorCode::UNKNOWN_SERVER_ERROR), -1);
        assert_eq!(wire(ErrorCode::INVALID_RECORD), 87);
        assert_eq!(code::unsupported_version(), 35);
        // The admin codes: INVALID_TOPIC_EXCEPTION(17), TOPIC_ALREADY_EXISTS(36),
        // INVALID_PARTITIONS(37), INVALID_REPLICATION_FACTOR(38), INVALID_CONFIG(40).
        assert_eq!(wire(ErrorCode::INVALID_TOPIC_EXCEPTION), 17);
        assert_eq!(wire(ErrorCode::TOPIC_ALREADY_EXISTS), 36);
        assert_eq!(wire(ErrorCode::INVALID_PARTITIONS), 37);
        assert_eq!(wire(ErrorCode::INVALID_REPLICATION_FACTOR), 38);
        assert_eq!(wire(ErrorCode::INVALID_REPLICA_ASSIGNMENT), 39);
        assert_eq!(wire(ErrorCode::INVALID_CONFIG), 40);
    }
}
