//! Requests off the wire: the header, then one body per API the lab serves, and responses
//! back onto it. Only the APIs and versions in [`SUPPORTED`] are decoded; anything else is an
//! error the connection answers (ApiVersions) or closes on (Kafka's `SocketServer` does the same
//! for an API it does not know).

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    api_versions_response::ApiVersion, ApiKey, ApiVersionsRequest, ApiVersionsResponse,
    CreateTopicsRequest, DeleteRecordsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
    DescribeGroupsRequest, FetchRequest, FindCoordinatorRequest, HeartbeatRequest,
    InitProducerIdRequest, JoinGroupRequest, LeaveGroupRequest, ListGroupsRequest,
    ListOffsetsRequest, MetadataRequest, OffsetCommitRequest, OffsetFetchRequest,
    OffsetForLeaderEpochRequest, ProduceRequest, RequestHeader, ResponseHeader, SyncGroupRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, VersionRange};

/// The APIs the lab serves, with the versions it implements and tests: each is intersected
/// with the codec's own `VERSIONS` (`ApiKey::valid_versions` over-reports a few).
/// Fetch stops at 12 (13+ names topics by id), Produce at 9 (10+ is KIP-951's leader hints),
/// Metadata at 12 (13 is the same but librdkafka 2.16 is its only user).
pub const SUPPORTED: &[(ApiKey, i16, i16, VersionRange)] = &[
    (ApiKey::Produce, 3, 9, ProduceRequest::VERSIONS),
    (ApiKey::Fetch, 4, 12, FetchRequest::VERSIONS),
    (ApiKey::ListOffsets, 1, 7, ListOffsetsRequest::VERSIONS),
    (ApiKey::Metadata, 0, 12, MetadataRequest::VERSIONS),
    (ApiKey::ApiVersions, 0, 4, ApiVersionsRequest::VERSIONS),
    (
        ApiKey::InitProducerId,
        0,
        4,
        InitProducerIdRequest::VERSIONS,
    ),
    (
        ApiKey::FindCoordinator,
        0,
        4,
        FindCoordinatorRequest::VERSIONS,
    ),
    // From v4 a new member learns its id from MEMBER_ID_REQUIRED (KIP-394), as the lab's
    // coordinator always answers.
    (ApiKey::JoinGroup, 4, 7, JoinGroupRequest::VERSIONS),
    (ApiKey::SyncGroup, 0, 5, SyncGroupRequest::VERSIONS),
    (ApiKey::Heartbeat, 0, 4, HeartbeatRequest::VERSIONS),
    (ApiKey::LeaveGroup, 0, 4, LeaveGroupRequest::VERSIONS),
    // OffsetCommit v9 and OffsetFetch v8 are the new group protocol's and batched groups.
    (ApiKey::OffsetCommit, 2, 8, OffsetCommitRequest::VERSIONS),
    (ApiKey::OffsetFetch, 1, 7, OffsetFetchRequest::VERSIONS),
    // KIP-320 offset validation; v3 is the first a consumer uses (Java's
    // `OffsetsForLeaderEpochUtils` requires it), v4 is flexible.
    (
        ApiKey::OffsetForLeaderEpoch,
        3,
        4,
        OffsetForLeaderEpochRequest::VERSIONS,
    ),
    // The admin APIs. CreateTopics v5+ answers with the topic's partitions and replication
    // factor; v7 with a topic id (nil: the lab has none). DeleteTopics v6 may name topics by
    // id (answered UNKNOWN_TOPIC_ID). DescribeGroups stops at 5: v6 answers an unknown group
    // with GROUP_ID_NOT_FOUND instead of `Dead`. ListGroups v5 filters by group type.
    (ApiKey::CreateTopics, 2, 7, CreateTopicsRequest::VERSIONS),
    (ApiKey::DeleteTopics, 1, 6, DeleteTopicsRequest::VERSIONS),
    // DeleteRecords: v0 and v1 share one schema (librdkafka 2.16 sends v1); v2 is flexible and
    // untested.
    (ApiKey::DeleteRecords, 0, 1, DeleteRecordsRequest::VERSIONS),
    (
        ApiKey::DescribeConfigs,
        1,
        4,
        DescribeConfigsRequest::VERSIONS,
    ),
    (
        ApiKey::DescribeGroups,
        0,
        5,
        DescribeGroupsRequest::VERSIONS,
    ),
    (ApiKey::ListGroups, 0, 5, ListGroupsRequest::VERSIONS),
];

/// The range served for `key`, if it is served.
pub fn supported(key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, min, max, codec)| {
            let range = VersionRange {
                min: *min,
                max: *max,
            }
            .intersect(codec);
            (range.min, range.max)
        })
}

/// A decoded request body.
#[derive(Clone, Debug)]
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum Body {
    ApiVersions(ApiVersionsRequest),
    Metadata(MetadataRequest),
    Produce(ProduceRequest),
    Fetch(FetchRequest),
    ListOffsets(ListOffsetsRequest),
    InitProducerId(InitProducerIdRequest),
    FindCoordinator(FindCoordinatorRequest),
    JoinGroup(JoinGroupRequest),
    SyncGroup(SyncGroupRequest),
    Heartbeat(HeartbeatRequest),
    LeaveGroup(LeaveGroupRequest),
    OffsetCommit(OffsetCommitRequest),
    OffsetFetch(OffsetFetchRequest),
    OffsetForLeaderEpoch(OffsetForLeaderEpochRequest),
    CreateTopics(CreateTopicsRequest),
    DeleteTopics(DeleteTopicsRequest),
    DeleteRecords(DeleteRecordsRequest),
    DescribeConfigs(DescribeConfigsRequest),
    DescribeGroups(DescribeGroupsRequest),
    ListGroups(ListGroupsRequest),
}

/// A request: its header and body.
#[derive(Clone, Debug)]
pub struct Request {
    /// The header (API key, version, correlation id, client id).
    pub header: RequestHeader,
    /// The body.
    pub body: Body,
}

impl Request {
    /// The API key.
    pub fn api(&self) -> ApiKey {
        ApiKey::try_from(self.header.request_api_key).expect("decoded from a known key")
    }
    /// The version.
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

/// A frame that is not a request the lab serves.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Fewer than the 8 bytes every header starts with.
    #[error("a request header cut short")]
    Short,
    /// An API key the lab does not serve: the connection closes.
    #[error("API key {0} is not served")]
    UnknownApi(i16),
    /// ApiVersions newer than served: answered with `UNSUPPORTED_VERSION` in a v0 body.
    #[error("ApiVersions v{version} is newer than served")]
    ApiVersionsTooNew {
        /// The correlation id to answer.
        correlation_id: i32,
        /// The version asked for.
        version: i16,
    },
    /// Another API at a version not served: the connection closes.
    #[error("{api:?} v{version} is not served")]
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
    },
    /// The bytes do not decode as the API's schema says.
    #[error("{api:?} v{version} does not decode: {reason}")]
    Malformed {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
        /// The codec's message.
        reason: String,
    },
}

/// Decode one request frame.
pub fn decode(mut frame: Bytes) -> Result<Request, RequestError> {
    if frame.len() < 8 {
        return Err(RequestError::Short);
    }
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let api = ApiKey::try_from(key).map_err(|_| RequestError::UnknownApi(key))?;
    let (min, max) = supported(api).ok_or(RequestError::UnknownApi(key))?;
    if version < min || version > max {
        return Err(match api {
            ApiKey::ApiVersions if version > max => RequestError::ApiVersionsTooNew {
                correlation_id,
                version,
            },
            _ => RequestError::UnsupportedVersion { api, version },
        });
    }
    let malformed = |e: anyhow::Error| RequestError::Malformed {
        api,
        version,
        reason: e.to_string(),
    };
    let header = RequestHeader::decode(&mut frame, api.request_header_version(version))
        .map_err(malformed)?;
    let body = match api {
        ApiKey::ApiVersions => Body::ApiVersions(decode_body(&mut frame, api, version)?),
        ApiKey::Metadata => Body::Metadata(decode_body(&mut frame, api, version)?),
        ApiKey::Produce => Body::Produce(decode_body(&mut frame, api, version)?),
        ApiKey::Fetch => Body::Fetch(decode_body(&mut frame, api, version)?),
        ApiKey::ListOffsets => Body::ListOffsets(decode_body(&mut frame, api, version)?),
        ApiKey::InitProducerId => Body::InitProducerId(decode_body(&mut frame, api, version)?),
        ApiKey::FindCoordinator => Body::FindCoordinator(decode_body(&mut frame, api, version)?),
        ApiKey::JoinGroup => Body::JoinGroup(decode_body(&mut frame, api, version)?),
        ApiKey::SyncGroup => Body::SyncGroup(decode_body(&mut frame, api, version)?),
        ApiKey::Heartbeat => Body::Heartbeat(decode_body(&mut frame, api, version)?),
        ApiKey::LeaveGroup => Body::LeaveGroup(decode_body(&mut frame, api, version)?),
        ApiKey::OffsetCommit => Body::OffsetCommit(decode_body(&mut frame, api, version)?),
        ApiKey::OffsetFetch => Body::OffsetFetch(decode_body(&mut frame, api, version)?),
        ApiKey::OffsetForLeaderEpoch => {
            Body::OffsetForLeaderEpoch(decode_body(&mut frame, api, version)?)
        }
        ApiKey::CreateTopics => Body::CreateTopics(decode_body(&mut frame, api, version)?),
        ApiKey::DeleteTopics => Body::DeleteTopics(decode_body(&mut frame, api, version)?),
        ApiKey::DeleteRecords => Body::DeleteRecords(decode_body(&mut frame, api, version)?),
        ApiKey::DescribeConfigs => Body::DescribeConfigs(decode_body(&mut frame, api, version)?),
        ApiKey::DescribeGroups => Body::DescribeGroups(decode_body(&mut frame, api, version)?),
        ApiKey::ListGroups => Body::ListGroups(decode_body(&mut frame, api, version)?),
        _ => return Err(RequestError::UnknownApi(key)),
    };
    Ok(Request { header, body })
}

fn decode_body<T: Decodable>(
    frame: &mut Bytes,
    api: ApiKey,
    version: i16,
) -> Result<T, RequestError> {
    T::decode(frame, version).map_err(|e| RequestError::Malformed {
        api,
        version,
        reason: e.to_string(),
    })
}

/// A response frame: size, header (v0, or v1 for flexible versions; always v0 for
/// ApiVersions), body.
pub fn encode_response(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &impl Encodable,
) -> Frame {
    let mut buf = BytesMut::new();
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    header
        .encode(&mut buf, api.response_header_version(version))
        .expect("a response header encodes");
    // A field set that the version lacks is a bug of the server's conversion: the connection
    // closes, the broker stays up.
    body.encode(&mut buf, version)
        .map_err(|e| format!("{api:?} v{version} response does not encode: {e}"))?;
    Ok(crate::frame::frame(&buf))
}

/// An encoded response frame, or why the server could not encode it.
pub type Frame = Result<Vec<u8>, String>;

/// The ApiVersions answer: every served API with its range; `error_code` 35 for a too-new
/// request, which is always sent as v0 (KIP-511: the client then retries at a version the
/// list allows).
pub fn api_versions_response(error_code: i16) -> ApiVersionsResponse {
    let api_keys = SUPPORTED
        .iter()
        .map(|(api, ..)| {
            let (min, max) = supported(*api).expect("listed");
            ApiVersion::default()
                .with_api_key(*api as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    ApiVersionsResponse::default()
        .with_error_code(error_code)
        .with_api_keys(api_keys)
}

#[cfg(test)]
mod tests;
