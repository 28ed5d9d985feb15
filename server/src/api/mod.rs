//! One conversion per API between the wire (`kafka-protocol` structs) and the world's
//! `Message`s. `start` turns a request into the messages a broker gets (or an answer now);
//! `Pending::on_message` gathers the broker's answers and encodes the wire response once all
//! are in. The internal `Message` carries one partition per ListOffsets, so that one fans out
//! and gathers; Produce, Fetch and Metadata map one to one.

mod delete_records;
mod describe_configs;
mod fetch;
mod gather;
mod groups;
mod groups_admin;
mod init_producer_id;
mod list_offsets;
mod metadata;
pub mod offset_for_leader_epoch;
mod produce;
mod topics_admin;

use crate::request::{self, Body, Frame, Request};
use broker_core::{BrokerId, CorrelationId, Message};
use kafka_protocol::messages::ApiKey;

/// Where clients reach broker N: `host`, port `base_port + N - 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advertised {
    /// The host clients connect to.
    pub host: String,
    /// Broker 1's port.
    pub base_port: u16,
}

impl Advertised {
    /// Broker `id`'s port.
    pub fn port(&self, id: BrokerId) -> i32 {
        i32::from(self.base_port) + id.0 as i32 - 1
    }
}

/// What the connection knows when it converts a request.
pub struct Ctx<'a> {
    /// The broker this connection reached.
    pub broker: BrokerId,
    /// Where brokers are reached.
    pub advertised: &'a Advertised,
    /// The next internal correlation id of this connection.
    pub next_correlation: &'a mut u64,
    /// The broker's state, for the APIs answered from it (OffsetForLeaderEpoch); `None` when
    /// it is down.
    pub state: Option<&'a broker_core::Broker>,
    /// The host each group member joined from, by member id (DescribeGroups' `clientHost`).
    pub client_hosts: &'a std::collections::BTreeMap<String, String>,
}

impl Ctx<'_> {
    /// A fresh internal correlation id.
    pub fn correlation(&mut self) -> CorrelationId {
        *self.next_correlation += 1;
        CorrelationId(*self.next_correlation)
    }
}

/// The wire header fields a response needs.
#[derive(Clone, Copy, Debug)]
pub struct Reply {
    /// The API.
    pub api: ApiKey,
    /// The version asked for.
    pub version: i16,
    /// The client's correlation id.
    pub correlation_id: i32,
}

impl Reply {
    fn of(request: &Request) -> Reply {
        Reply {
            api: request.api(),
            version: request.version(),
            correlation_id: request.header.correlation_id,
        }
    }

    /// Encode `body` as this request's response frame.
    pub fn encode(&self, body: &impl kafka_protocol::protocol::Encodable) -> Frame {
        request::encode_response(self.api, self.version, self.correlation_id, body)
    }
}

/// What a request turns into.
pub enum Start {
    /// The response, now (nothing for the world to do).
    Answer(Frame),
    /// Messages for the broker; the response comes when `Pending` has all answers.
    Send(Vec<Message>, Pending),
    /// Messages for the broker, and no response at all (acks=0).
    SendNoAnswer(Vec<Message>),
}

/// A request waiting for the broker's answers.
#[allow(missing_docs, clippy::large_enum_variant)]
pub enum Pending {
    Produce(produce::Pending),
    Fetch(fetch::Pending),
    Metadata(metadata::Pending),
    ListOffsets(list_offsets::Pending),
    InitProducerId(init_producer_id::Pending),
    Gather(gather::Gather),
    TopicsAdmin(topics_admin::Pending),
    DeleteRecords(delete_records::Pending),
}

impl Pending {
    /// Take one of the broker's answers; the response frame once every answer is in.
    /// Answers to other requests (none, with one request in flight) are ignored.
    pub fn on_message(&mut self, message: Message) -> Option<Frame> {
        match self {
            Pending::Produce(p) => p.on_message(message),
            Pending::Fetch(p) => p.on_message(message),
            Pending::Metadata(p) => p.on_message(message),
            Pending::ListOffsets(p) => p.on_message(message),
            Pending::InitProducerId(p) => p.on_message(message),
            Pending::Gather(p) => p.on_message(message),
            Pending::TopicsAdmin(p) => p.on_message(message),
            Pending::DeleteRecords(p) => p.on_message(message),
        }
    }
}

/// Convert a request.
pub fn start(request: Request, ctx: &mut Ctx<'_>) -> Start {
    let reply = Reply::of(&request);
    let client = request
        .header
        .client_id
        .as_ref()
        .map_or_else(String::new, |c| c.as_str().to_owned());
    match request.body {
        Body::ApiVersions(_) => Start::Answer(reply.encode(&request::api_versions_response(0))),
        Body::Metadata(r) => metadata::start(r, reply, ctx),
        Body::Produce(r) => produce::start(r, reply, ctx),
        Body::Fetch(r) => fetch::start(r, reply, ctx),
        Body::ListOffsets(r) => list_offsets::start(r, reply, ctx),
        Body::InitProducerId(r) => init_producer_id::start(r, reply, ctx),
        Body::FindCoordinator(r) => groups::find_coordinator(r, reply, ctx),
        Body::JoinGroup(r) => groups::join_group(r, reply, ctx, client),
        Body::SyncGroup(r) => groups::sync_group(r, reply, ctx),
        Body::Heartbeat(r) => groups::heartbeat(r, reply, ctx),
        Body::LeaveGroup(r) => groups::leave_group(r, reply, ctx),
        Body::OffsetCommit(r) => groups::offset_commit(r, reply, ctx),
        Body::OffsetFetch(r) => groups::offset_fetch(r, reply, ctx),
        Body::OffsetForLeaderEpoch(r) => {
            Start::Answer(offset_for_leader_epoch::answer(r, reply, ctx.state))
        }
        Body::CreateTopics(r) => topics_admin::create_topics(r, reply, ctx),
        Body::DeleteTopics(r) => topics_admin::delete_topics(r, reply, ctx),
        Body::DeleteRecords(r) => delete_records::start(r, reply, ctx),
        Body::DescribeConfigs(r) => Start::Answer(describe_configs::answer(r, reply, ctx.state)),
        Body::DescribeGroups(r) => Start::Answer(groups_admin::describe(
            r,
            reply,
            ctx.state,
            ctx.client_hosts,
        )),
        Body::ListGroups(r) => Start::Answer(groups_admin::list(r, reply, ctx.state)),
    }
}

/// The internal correlation id of a broker's answer.
pub fn correlation_of(message: &Message) -> Option<CorrelationId> {
    match message {
        Message::ProduceResponse(broker_core::ProduceResponse { correlation_id, .. })
        | Message::FetchResponse(broker_core::FetchResponse { correlation_id, .. })
        | Message::ListOffsetsResponse(broker_core::ListOffsetsResponse {
            correlation_id, ..
        })
        | Message::DeleteRecordsResponse(broker_core::DeleteRecordsResponse {
            correlation_id,
            ..
        })
        | Message::MetadataResponse(broker_core::MetadataResponse { correlation_id, .. })
        | Message::InitProducerIdResponse(broker_core::InitProducerIdResponse {
            correlation_id,
            ..
        })
        | Message::FindCoordinatorResponse(broker_core::FindCoordinatorResponse {
            correlation_id,
            ..
        })
        | Message::JoinGroupResponse(broker_core::JoinGroupResponse { correlation_id, .. })
        | Message::SyncGroupResponse(broker_core::SyncGroupResponse { correlation_id, .. })
        | Message::HeartbeatResponse(broker_core::HeartbeatResponse { correlation_id, .. })
        | Message::LeaveGroupResponse(broker_core::LeaveGroupResponse { correlation_id, .. })
        | Message::OffsetCommitResponse(broker_core::OffsetCommitResponse {
            correlation_id, ..
        })
        | Message::OffsetFetchResponse(broker_core::OffsetFetchResponse {
            correlation_id, ..
        }) => Some(*correlation_id),
        _ => None,
    }
}

/// The internal correlation id of a request the server sends.
fn request_correlation(message: &Message) -> Option<CorrelationId> {
    match message {
        Message::FindCoordinator(broker_core::FindCoordinatorRequest {
            correlation_id, ..
        })
        | Message::JoinGroup(broker_core::JoinGroupRequest { correlation_id, .. })
        | Message::SyncGroup(broker_core::SyncGroupRequest { correlation_id, .. })
        | Message::Heartbeat(broker_core::HeartbeatRequest { correlation_id, .. })
        | Message::LeaveGroup(broker_core::LeaveGroupRequest { correlation_id, .. })
        | Message::OffsetCommit(broker_core::OffsetCommitRequest { correlation_id, .. })
        | Message::OffsetFetch(broker_core::OffsetFetchRequest { correlation_id, .. }) => {
            Some(*correlation_id)
        }
        _ => None,
    }
}

/// A topic name as the lab's `Topic`.
fn topic(name: &kafka_protocol::messages::TopicName) -> broker_core::Topic {
    broker_core::Topic::new(name.0.as_str())
}

/// The wire name of a lab topic.
/// Per-partition answers grouped by topic, topics in the order they first appear: the shape of
/// every multi-topic response (Produce, ListOffsets, OffsetFetch), built in one place.
fn by_topic<'a, A>(
    answers: impl IntoIterator<Item = (&'a broker_core::TopicPartition, A)>,
) -> Vec<(kafka_protocol::messages::TopicName, Vec<A>)> {
    let mut topics: Vec<(kafka_protocol::messages::TopicName, Vec<A>)> = Vec::new();
    for (tp, answer) in answers {
        let name = topic_name(&tp.topic);
        match topics.iter_mut().find(|(n, _)| *n == name) {
            Some((_, partitions)) => partitions.push(answer),
            None => topics.push((name, vec![answer])),
        }
    }
    topics
}

fn topic_name(topic: &broker_core::Topic) -> kafka_protocol::messages::TopicName {
    kafka_protocol::messages::TopicName(kafka_protocol::protocol::StrBytes::from_string(
        topic.0.to_string(),
    ))
}

#[cfg(test)]
mod tests;
