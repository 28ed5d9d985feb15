//! The classic consumer-group APIs (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit, OffsetFetch) over the lab's `GroupCoordinator`. The client leader
//! computes assignments, as in Kafka; the coordinator reads only the topics and owned
//! partitions of each `ConsumerProtocolSubscription`, so members' metadata is re-encoded
//! from those (v1, user data dropped) and assignments are passed as partition lists.
//! Committed metadata strings are not kept: OffsetFetch answers them as null.

use super::gather::Gather;
use super::{by_topic, topic, topic_name, Ctx, Pending, Reply, Start};
use crate::errors::{self, code};
use broker_core::{
    CommittedOffset, ErrorCode, LeaderEpoch, Message, Offset, Subscription, TopicPartition,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A version-prefixed consumer-protocol struct; versions above the codec's read as its highest
/// (`ConsumerProtocol.deserializeSubscription` reads newer versions the same way).
fn decode_versioned<T: Decodable>(mut bytes: Bytes) -> Option<T> {
    if bytes.len() < 2 {
        return None;
    }
    let version = bytes.get_i16().clamp(0, 3);
    T::decode(&mut bytes, version).ok()
}

fn encode_versioned(value: &impl Encodable, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    value
        .encode(&mut buf, version)
        .expect("a consumer-protocol struct encodes");
    buf.freeze()
}

fn subscription(metadata: Bytes) -> Subscription {
    let Some(sub) = decode_versioned::<ConsumerProtocolSubscription>(metadata) else {
        return Subscription::default();
    };
    Subscription {
        topics: sub
            .topics
            .iter()
            .map(|t| broker_core::Topic::new(t.as_str()))
            .collect(),
        owned: sub
            .owned_partitions
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(&topic(&t.topic), (*p).max(0) as u32))
            })
            .collect(),
    }
}

pub(super) fn subscription_bytes(sub: &Subscription) -> Bytes {
    let owned = group_by_topic(&sub.owned)
        .into_iter()
        .map(|(t, ps)| {
            consumer_protocol_subscription::TopicPartition::default()
                .with_topic(topic_name(&t))
                .with_partitions(ps)
        })
        .collect();
    let value = ConsumerProtocolSubscription::default()
        .with_topics(sub.topics.iter().map(|t| s(&t.0)).collect())
        .with_owned_partitions(owned);
    encode_versioned(&value, 1)
}

fn assignment(bytes: Bytes) -> Vec<TopicPartition> {
    decode_versioned::<ConsumerProtocolAssignment>(bytes)
        .map(|a| {
            a.assigned_partitions
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(move |p| TopicPartition::new(&topic(&t.topic), (*p).max(0) as u32))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn assignment_bytes(partitions: &[TopicPartition]) -> Bytes {
    let assigned = group_by_topic(partitions)
        .into_iter()
        .map(|(t, ps)| {
            consumer_protocol_assignment::TopicPartition::default()
                .with_topic(topic_name(&t))
                .with_partitions(ps)
        })
        .collect();
    encode_versioned(
        &ConsumerProtocolAssignment::default().with_assigned_partitions(assigned),
        0,
    )
}

fn group_by_topic(partitions: &[TopicPartition]) -> Vec<(broker_core::Topic, Vec<i32>)> {
    let mut out: Vec<(broker_core::Topic, Vec<i32>)> = Vec::new();
    for tp in partitions {
        match out.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, ps)) => ps.push(tp.partition as i32),
            None => out.push((tp.topic.clone(), vec![tp.partition as i32])),
        }
    }
    out
}

/// Send `messages` and build the response from their answers; with none to send (a
/// LeaveGroup v3+ naming no member), answer at once.
fn send(
    messages: Vec<Message>,
    reply: Reply,
    finish: impl FnOnce(Reply, Vec<Message>) -> crate::request::Frame + 'static,
) -> Start {
    if messages.is_empty() {
        return Start::Answer(finish(reply, Vec::new()));
    }
    let waiting = messages
        .iter()
        .map(|m| super::request_correlation(m).expect("a request"))
        .collect();
    Start::Send(
        messages,
        Pending::Gather(Gather::new(reply, waiting, Box::new(finish))),
    )
}

pub(super) fn find_coordinator(
    r: FindCoordinatorRequest,
    reply: Reply,
    ctx: &mut Ctx<'_>,
) -> Start {
    // v4 batches keys (KIP-699); earlier versions carry one.
    let keys: Vec<StrBytes> = if reply.version >= 4 {
        r.coordinator_keys.clone()
    } else {
        vec![r.key.clone()]
    };
    if r.key_type != 0 || keys.is_empty() {
        // Transaction coordinators: the lab has no transactions.
        let response = FindCoordinatorResponse::default()
            .with_error_code(code::coordinator_not_available())
            .with_node_id(BrokerId(-1));
        return Start::Answer(reply.encode(&response));
    }
    let messages = keys
        .iter()
        .map(|k| {
            Message::FindCoordinator(broker_core::FindCoordinatorRequest {
                correlation_id: ctx.correlation(),
                group: k.as_str().to_owned(),
            })
        })
        .collect();
    let advertised = ctx.advertised.clone();
    send(messages, reply, move |reply, answers| {
        let found: Vec<(i16, i32, i32)> = answers
            .iter()
            .map(|a| match a {
                Message::FindCoordinatorResponse(broker_core::FindCoordinatorResponse {
                    error,
                    coordinator,
                    ..
                }) => match coordinator {
                    Some(b) if error.is_ok() => (0, b.0 as i32, advertised.port(*b)),
                    _ => (
                        errors::wire(if error.is_ok() {
                            ErrorCode::COORDINATOR_NOT_AVAILABLE
                        } else {
                            *error
                        }),
                        -1,
                        -1,
                    ),
                },
                _ => (code::coordinator_not_available(), -1, -1),
            })
            .collect();
        let host = s(&advertised.host);
        let response = if reply.version >= 4 {
            let coordinators = keys
                .iter()
                .zip(&found)
                .map(|(k, (e, id, port))| {
                    find_coordinator_response::Coordinator::default()
                        .with_key(k.clone())
                        .with_error_code(*e)
                        .with_node_id(BrokerId(*id))
                        .with_host(host.clone())
                        .with_port(*port)
                })
                .collect();
            FindCoordinatorResponse::default().with_coordinators(coordinators)
        } else {
            let (e, id, port) = found[0];
            FindCoordinatorResponse::default()
                .with_error_code(e)
                .with_node_id(BrokerId(id))
                .with_host(host)
                .with_port(port)
        };
        reply.encode(&response)
    })
}

pub(super) fn join_group(
    r: JoinGroupRequest,
    reply: Reply,
    ctx: &mut Ctx<'_>,
    client: String,
) -> Start {
    let session = r.session_timeout_ms.max(0) as u64;
    // rebalanceTimeoutMs is in the request from v1 on; v0 used the session timeout.
    let rebalance = if reply.version >= 1 {
        r.rebalance_timeout_ms.max(0) as u64
    } else {
        session
    };
    let message = Message::JoinGroup(broker_core::JoinGroupRequest {
        correlation_id: ctx.correlation(),
        group: r.group_id.0.as_str().to_owned(),
        client,
        member_id: r.member_id.as_str().to_owned(),
        group_instance_id: r.group_instance_id.as_ref().map(|i| i.as_str().to_owned()),
        session_timeout_ms: session,
        rebalance_timeout_ms: rebalance,
        protocols: r
            .protocols
            .iter()
            .map(|p| (p.name.as_str().to_owned(), subscription(p.metadata.clone())))
            .collect(),
    });
    send(vec![message], reply, |reply, answers| {
        let Some(Message::JoinGroupResponse(broker_core::JoinGroupResponse {
            error,
            generation,
            protocol,
            leader,
            member_id,
            members,
            ..
        })) = answers.into_iter().next()
        else {
            unreachable!("gathered a JoinGroupResponse")
        };
        let members = members
            .iter()
            .map(|m| {
                join_group_response::JoinGroupResponseMember::default()
                    .with_member_id(s(&m.member_id))
                    .with_metadata(subscription_bytes(&m.subscription))
            })
            .collect();
        let mut response = JoinGroupResponse::default()
            .with_error_code(errors::wire(error))
            .with_generation_id(generation)
            .with_protocol_name(protocol.as_deref().map(s))
            .with_leader(s(&leader))
            .with_member_id(s(&member_id))
            .with_members(members);
        // protocolType is in the response from v7 on.
        if reply.version >= 7 {
            response.protocol_type = Some(s("consumer"));
        }
        reply.encode(&response)
    })
}

pub(super) fn sync_group(r: SyncGroupRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let message = Message::SyncGroup(broker_core::SyncGroupRequest {
        correlation_id: ctx.correlation(),
        group: r.group_id.0.as_str().to_owned(),
        generation: r.generation_id,
        member_id: r.member_id.as_str().to_owned(),
        assignments: r
            .assignments
            .iter()
            .map(|a| {
                (
                    a.member_id.as_str().to_owned(),
                    assignment(a.assignment.clone()),
                )
            })
            .collect(),
    });
    let (protocol_type, protocol_name) = (r.protocol_type.clone(), r.protocol_name.clone());
    send(vec![message], reply, move |reply, answers| {
        let Some(Message::SyncGroupResponse(broker_core::SyncGroupResponse {
            error,
            assignment,
            ..
        })) = answers.into_iter().next()
        else {
            unreachable!("gathered a SyncGroupResponse")
        };
        let mut response = SyncGroupResponse::default()
            .with_error_code(errors::wire(error))
            .with_assignment(assignment_bytes(&assignment));
        // v5 echoes the protocol type and name the member sent (KIP-559).
        if reply.version >= 5 {
            response.protocol_type = protocol_type;
            response.protocol_name = protocol_name;
        }
        reply.encode(&response)
    })
}

pub(super) fn heartbeat(r: HeartbeatRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let message = Message::Heartbeat(broker_core::HeartbeatRequest {
        correlation_id: ctx.correlation(),
        group: r.group_id.0.as_str().to_owned(),
        generation: r.generation_id,
        member_id: r.member_id.as_str().to_owned(),
    });
    send(vec![message], reply, |reply, answers| {
        let error = match answers.first() {
            Some(Message::HeartbeatResponse(broker_core::HeartbeatResponse { error, .. })) => {
                *error
            }
            _ => ErrorCode::UNKNOWN_SERVER_ERROR,
        };
        reply.encode(&HeartbeatResponse::default().with_error_code(errors::wire(error)))
    })
}

pub(super) fn leave_group(r: LeaveGroupRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let group = r.group_id.0.as_str().to_owned();
    // v3+ leaves several members at once (KIP-345); earlier versions one.
    let members: Vec<String> = if reply.version >= 3 {
        r.members
            .iter()
            .map(|m| m.member_id.as_str().to_owned())
            .collect()
    } else {
        vec![r.member_id.as_str().to_owned()]
    };
    let messages = members
        .iter()
        .map(|m| {
            Message::LeaveGroup(broker_core::LeaveGroupRequest {
                correlation_id: ctx.correlation(),
                group: group.clone(),
                member_id: m.clone(),
            })
        })
        .collect();
    send(messages, reply, move |reply, answers| {
        let errors: Vec<i16> = answers
            .iter()
            .map(|a| match a {
                Message::LeaveGroupResponse(broker_core::LeaveGroupResponse { error, .. }) => {
                    errors::wire(*error)
                }
                _ => code::coordinator_not_available(),
            })
            .collect();
        let mut response = LeaveGroupResponse::default();
        if reply.version >= 3 {
            response.members = members
                .iter()
                .zip(&errors)
                .map(|(m, e)| {
                    leave_group_response::MemberResponse::default()
                        .with_member_id(s(m))
                        .with_error_code(*e)
                })
                .collect();
        } else {
            response.error_code = errors[0];
        }
        reply.encode(&response)
    })
}

pub(super) fn offset_commit(r: OffsetCommitRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let offsets: Vec<(TopicPartition, CommittedOffset)> = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    TopicPartition::new(&topic(&t.name), p.partition_index.max(0) as u32),
                    CommittedOffset {
                        offset: Offset(p.committed_offset.max(0) as u64),
                        leader_epoch: u32::try_from(p.committed_leader_epoch)
                            .ok()
                            .map(LeaderEpoch),
                    },
                )
            })
        })
        .collect();
    let message = Message::OffsetCommit(broker_core::OffsetCommitRequest {
        correlation_id: ctx.correlation(),
        group: r.group_id.0.as_str().to_owned(),
        generation: r.generation_id_or_member_epoch,
        member_id: r.member_id.as_str().to_owned(),
        offsets: offsets.clone(),
    });
    send(vec![message], reply, move |reply, answers| {
        let error = match answers.first() {
            Some(Message::OffsetCommitResponse(broker_core::OffsetCommitResponse {
                error,
                ..
            })) => *error,
            _ => ErrorCode::UNKNOWN_SERVER_ERROR,
        };
        let topics = group_by_topic(&offsets.iter().map(|(tp, _)| tp.clone()).collect::<Vec<_>>())
            .into_iter()
            .map(|(t, ps)| {
                offset_commit_response::OffsetCommitResponseTopic::default()
                    .with_name(topic_name(&t))
                    .with_partitions(
                        ps.into_iter()
                            .map(|p| {
                                offset_commit_response::OffsetCommitResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_error_code(errors::wire(error))
                            })
                            .collect(),
                    )
            })
            .collect();
        reply.encode(&OffsetCommitResponse::default().with_topics(topics))
    })
}

pub(super) fn offset_fetch(r: OffsetFetchRequest, reply: Reply, ctx: &mut Ctx<'_>) -> Start {
    let partitions: Vec<TopicPartition> = r
        .topics
        .iter()
        .flatten()
        .flat_map(|t| {
            t.partition_indexes
                .iter()
                .map(move |p| TopicPartition::new(&topic(&t.name), (*p).max(0) as u32))
        })
        .collect();
    let message = Message::OffsetFetch(broker_core::OffsetFetchRequest {
        correlation_id: ctx.correlation(),
        group: r.group_id.0.as_str().to_owned(),
        partitions,
    });
    send(vec![message], reply, move |reply, answers| {
        let Some(Message::OffsetFetchResponse(broker_core::OffsetFetchResponse {
            error,
            offsets,
            ..
        })) = answers.into_iter().next()
        else {
            unreachable!("gathered an OffsetFetchResponse")
        };
        let partitions = offsets.iter().map(|(tp, committed)| {
            let mut p = offset_fetch_response::OffsetFetchResponsePartition::default()
                .with_partition_index(tp.partition as i32)
                .with_committed_offset(committed.map_or(-1, |c| c.offset.0 as i64));
            // committedLeaderEpoch is in the response from v5 on.
            if reply.version >= 5 {
                p.committed_leader_epoch = committed
                    .and_then(|c| c.leader_epoch)
                    .map_or(-1, |e| e.0 as i32);
            }
            (tp, p)
        });
        let topics = by_topic(partitions)
            .into_iter()
            .map(|(name, partitions)| {
                offset_fetch_response::OffsetFetchResponseTopic::default()
                    .with_name(name)
                    .with_partitions(partitions)
            })
            .collect();
        let mut response = OffsetFetchResponse::default().with_topics(topics);
        // The top-level error code is in the response from v2 on.
        if reply.version >= 2 {
            response.error_code = errors::wire(error);
        }
        reply.encode(&response)
    })
}
