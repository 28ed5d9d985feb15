//! DescribeGroups (15) and ListGroups (16), answered from the broker's group coordinator when
//! the request is taken (as OffsetForLeaderEpoch is from its logs). An admin client asks each
//! group's coordinator (DescribeGroups) and every broker (ListGroups): each broker speaks only
//! for the groups whose offsets partition it leads (`GroupCoordinatorService`).
//!
//! A member's `clientHost` is the address its JoinGroup came from, as Kafka fills it
//! (`"/" + ip`, `InetAddress.toString` of the request's client address): the coordinator does
//! not keep it, the server does (`Engine`), while the member's connection is open.

use super::groups::{assignment_bytes, subscription_bytes};
use super::Reply;
use crate::errors;
use broker_core::broker::Broker;
use broker_core::group::{Group, GroupState};
use broker_core::ErrorCode;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    DescribeGroupsRequest, DescribeGroupsResponse, GroupId, ListGroupsRequest, ListGroupsResponse,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;

/// Every group of the lab is a classic consumer group.
const PROTOCOL_TYPE: &str = "consumer";

/// The DescribeGroups response from `broker`'s coordinator (`None`: the broker is down).
pub fn describe(
    request: DescribeGroupsRequest,
    reply: Reply,
    broker: Option<&Broker>,
    hosts: &BTreeMap<String, String>,
) -> crate::request::Frame {
    let groups = request
        .groups
        .into_iter()
        .map(|id| describe_group(id, broker, hosts))
        .collect();
    reply.encode(&DescribeGroupsResponse::default().with_groups(groups))
}

/// `GroupMetadataManager.describeGroups` for a classic group: when it is `Stable`, the chosen
/// protocol and each member's subscription for it (`describe(protocol)`); otherwise no
/// protocol and members without their subscription (`describeNoMetadata`); the assignment
/// either way. A group the coordinator does not have is `Dead` with no members (DescribeGroups
/// v0-5).
fn describe_group(
    id: GroupId,
    broker: Option<&Broker>,
    hosts: &BTreeMap<String, String>,
) -> DescribedGroup {
    let entry = DescribedGroup::default().with_group_id(id.clone());
    let coordinator = broker
        .map(|b| b.group_coordinator())
        .filter(|c| c.is_coordinator(id.as_str()));
    let Some(coordinator) = coordinator else {
        let code = match broker {
            Some(_) => ErrorCode::NOT_COORDINATOR,
            None => ErrorCode::COORDINATOR_NOT_AVAILABLE,
        };
        return entry.with_error_code(errors::wire(code));
    };
    let Some(group) = coordinator.groups().get(id.as_str()) else {
        return entry
            .with_group_state(StrBytes::from_static_str("Dead"))
            .with_protocol_type(StrBytes::from_static_str(""));
    };
    let stable = group.state == GroupState::Stable;
    let protocol = group
        .protocol
        .clone()
        .filter(|_| stable)
        .unwrap_or_default();
    entry
        .with_group_state(StrBytes::from_string(group.state.to_string()))
        .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
        .with_protocol_data(StrBytes::from_string(protocol.clone()))
        .with_members(members(group, stable.then_some(protocol.as_str()), hosts))
}

fn members(
    group: &Group,
    protocol: Option<&str>,
    hosts: &BTreeMap<String, String>,
) -> Vec<DescribedGroupMember> {
    group
        .members
        .values()
        .map(|m| {
            let stored = &m.stored;
            let mut member = DescribedGroupMember::default()
                .with_member_id(StrBytes::from_string(stored.member_id.clone()))
                .with_group_instance_id(stored.group_instance_id.clone().map(StrBytes::from_string))
                .with_client_id(StrBytes::from_string(stored.client.clone()))
                .with_client_host(StrBytes::from_string(
                    hosts.get(&stored.member_id).cloned().unwrap_or_default(),
                ));
            let subscription =
                protocol.and_then(|protocol| stored.protocols.iter().find(|(p, _)| p == protocol));
            if let Some((_, sub)) = subscription {
                member = member.with_member_metadata(subscription_bytes(sub));
            }
            member.with_member_assignment(assignment_bytes(&stored.assignment))
        })
        .collect()
}

/// The ListGroups response: the groups `broker` coordinates, filtered by state (v4+, matched
/// case-insensitively as `GroupCoordinatorService.listGroups` does) and type (v5+: every
/// group here is `classic`).
pub fn list(
    request: ListGroupsRequest,
    reply: Reply,
    broker: Option<&Broker>,
) -> crate::request::Frame {
    let Some(broker) = broker else {
        let code = errors::wire(ErrorCode::COORDINATOR_NOT_AVAILABLE);
        return reply.encode(&ListGroupsResponse::default().with_error_code(code));
    };
    let state_wanted = |state: &str| {
        request.states_filter.is_empty()
            || request
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(state))
    };
    let type_wanted = request.types_filter.is_empty()
        || request
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case("classic"));
    let coordinator = broker.group_coordinator();
    let groups = coordinator
        .groups()
        .iter()
        .filter(|(id, g)| g.state != GroupState::Dead && coordinator.is_coordinator(id))
        .map(|(id, g)| (id, g.state.to_string()))
        .filter(|(_, state)| type_wanted && state_wanted(state))
        .map(|(id, state)| {
            let mut listed = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(id.clone())))
                .with_protocol_type(StrBytes::from_static_str(PROTOCOL_TYPE))
                .with_group_state(StrBytes::from_string(state));
            if reply.version >= 5 {
                listed = listed.with_group_type(StrBytes::from_static_str("classic"));
            }
            listed
        })
        .collect();
    reply.encode(&ListGroupsResponse::default().with_groups(groups))
}
