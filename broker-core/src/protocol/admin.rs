//! The admin APIs as one struct per API (`CreateTopics`, `DeleteTopics`, and the broker's
//! automatic topic creation), as the wire protocol has them. A client sends them to any broker,
//! which forwards topic changes to the active controller (KRaft's `ForwardingManager` and
//! `ControllerApis`) and relays the answer.

use crate::error::ErrorCode;
use crate::types::{BrokerId, CorrelationId, NodeId, Topic};
use serde::{Deserialize, Serialize};

/// Who a forwarded topic request is for: the broker relays the controller's answer there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Requester {
    /// Nobody has forwarded it yet (as a client sends it).
    Client,
    /// A broker forwarded it for this client.
    Forwarded(NodeId),
    /// The broker's own automatic creation (`AutoTopicCreationManager`); its answer goes nowhere.
    AutoCreate,
}

/// One topic of `CreateTopics` (`CreatableTopic`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTopic {
    /// Its name (checked by the controller: a bad one is `INVALID_TOPIC_EXCEPTION`).
    pub name: Topic,
    /// `numPartitions`; `None` (the wire's -1) for the controller's `num.partitions`.
    pub partitions: Option<i32>,
    /// `replicationFactor`; `None` (-1) for `default.replication.factor`.
    pub replication_factor: Option<i16>,
    /// A manual assignment (replicas per partition), if the client gave one.
    pub assignment: Vec<Vec<BrokerId>>,
    /// Topic config overrides by Kafka's names, values as the client wrote them.
    pub configs: Vec<(String, Option<String>)>,
}

/// `CreateTopicsRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopicsRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The topics.
    pub topics: Vec<NewTopic>,
    /// Check only; create nothing.
    pub validate_only: bool,
    /// Where the answer goes.
    pub requester: Requester,
}

/// One topic of `CreateTopicsResponse` (`CreatableTopicResult`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedTopic {
    /// The topic.
    pub name: Topic,
    /// `NONE` or why not.
    pub error: ErrorCode,
    /// The error's message, as Kafka words it.
    pub message: Option<String>,
    /// Partitions created (or that would be, with `validate_only`); 0 on an error.
    pub partitions: u32,
    /// Replicas per partition; 0 on an error.
    pub replication_factor: u32,
}

/// `CreateTopicsResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTopicsResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// One per requested topic, in request order.
    pub topics: Vec<CreatedTopic>,
    /// The request's.
    pub requester: Requester,
}

/// `DeleteTopicsRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTopicsRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The topics by name.
    pub topics: Vec<Topic>,
    /// Where the answer goes.
    pub requester: Requester,
}

/// `DeleteTopicsResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTopicsResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// One per requested topic, in request order: `NONE` or why not.
    pub topics: Vec<(Topic, ErrorCode)>,
    /// The request's.
    pub requester: Requester,
}

/// A `Metadata` request's unknown topics that its client allows to be created
/// (`allowAutoTopicCreation`); the broker answers at once and creates them in the background
/// (`KafkaApis.handleTopicMetadataRequest` with `AutoTopicCreationManager`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoCreateTopicsRequest {
    /// Echoed by the response.
    pub correlation_id: CorrelationId,
    /// The topics the client asked metadata for.
    pub topics: Vec<Topic>,
}

/// What the metadata response says of each topic of an `AutoCreateTopicsRequest` that the
/// broker does not know: `UNKNOWN_TOPIC_OR_PARTITION` while it is being created (sent to the
/// controller) and with `auto.create.topics.enable=false`,
/// `INVALID_TOPIC_EXCEPTION` for a name no topic may have. Known topics are left out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoCreateTopicsResponse {
    /// The request's.
    pub correlation_id: CorrelationId,
    /// The unknown topics and their error.
    pub topics: Vec<(Topic, ErrorCode)>,
}

/// Kafka's `Topic.MAX_NAME_LENGTH`.
const TOPIC_NAME_LEN_MAX: usize = 249;

/// `Topic.validate`: why no topic may have this name, if none may.
pub fn invalid_topic_name(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Some("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > TOPIC_NAME_LEN_MAX {
        return Some(format!(
            "Topic name is illegal, it can't be longer than {TOPIC_NAME_LEN_MAX} characters"
        ));
    }
    let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if !name.chars().all(legal) {
        return Some(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII \
             alphanumerics, '.', '_' and '-'"
        ));
    }
    None
}
