//! The cluster at the end of a run, as the text report prints it and `run --format json` writes
//! it (README "The JSON report"): one gathering per table, so both formats say the same thing.
//! Every value is read from the core (the controller's metadata, each replica's log, each
//! coordinator's groups) or counted from the client history; nothing here recomputes a rule.

use broker_core::{BrokerId, NodeId, TopicPartition};
use serde::Serialize;
use sim::World;
use std::collections::{BTreeMap, BTreeSet};

/// A partition as the controller's metadata has it, with each replica's log.
#[derive(Clone, Debug, Serialize)]
pub struct PartitionState {
    pub topic: String,
    pub partition: u32,
    /// `None` (JSON `null`) when the partition has no leader.
    pub leader: Option<u32>,
    pub leader_epoch: u32,
    pub isr: Vec<u32>,
    /// KIP-966 eligible leader replicas.
    pub elr: Vec<u32>,
    /// In the assignment's order.
    pub replicas: Vec<ReplicaState>,
}

/// One replica's log; the log fields are `None` (JSON `null`) when its broker is not running.
#[derive(Clone, Debug, Serialize)]
pub struct ReplicaState {
    pub broker: u32,
    pub log_start: Option<u64>,
    pub leo: Option<u64>,
    pub hw: Option<u64>,
    pub batches: Option<u64>,
    pub records: Option<u64>,
    /// Segments (the last one active) and their bytes (`UnifiedLog.size`).
    pub segments: Option<u64>,
    pub bytes: Option<u64>,
    /// How the broker is, when it has no log to show (for the text report).
    #[serde(skip)]
    pub status: String,
}

/// A producer or a consumer (`producer` / `consumer` in the JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientKind {
    #[default]
    Producer,
    Consumer,
}

/// What a client did, counted from the history.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientState {
    pub name: String,
    pub kind: ClientKind,
    /// `sent`, `acknowledged`, `failed`, `unknown`, `read` in the JSON.
    #[serde(flatten)]
    pub counts: sim::HistoryCounts,
}

/// A consumer group as its coordinator has it at the end.
#[derive(Clone, Debug, Serialize)]
pub struct GroupState {
    pub group: String,
    /// The coordinator's state (`Stable`, `PreparingRebalance`...); `None` (JSON `null`)
    /// with no live coordinator, as are `generation` and `coordinator`.
    pub state: Option<String>,
    pub generation: Option<i32>,
    pub coordinator: Option<u32>,
    /// The assignor the members agreed on (for the text report).
    #[serde(skip)]
    pub assignor: Option<String>,
    pub members: Vec<MemberState>,
    pub committed: Vec<CommittedOffset>,
}

/// A member and the partitions assigned to it.
#[derive(Clone, Debug, Serialize)]
pub struct MemberState {
    pub member: String,
    pub client: String,
    pub partitions: Vec<String>,
}

/// A committed offset (the next offset the group reads).
#[derive(Clone, Debug, Serialize)]
pub struct CommittedOffset {
    pub partition: String,
    pub offset: u64,
}

/// Every partition the controller knows, in its order; empty when the controller is down.
pub fn partitions(world: &World) -> Vec<PartitionState> {
    let Some(metadata) = world.metadata() else {
        return Vec::new();
    };
    let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
    metadata
        .partitions
        .iter()
        .map(|(tp, state)| PartitionState {
            topic: tp.topic.to_string(),
            partition: tp.partition,
            leader: state.leader.map(|l| l.0),
            leader_epoch: state.leader_epoch.0,
            isr: ids(&state.isr),
            elr: ids(&state.elr),
            replicas: state
                .replicas
                .iter()
                .map(|b| replica(world, *b, tp))
                .collect(),
        })
        .collect()
}

fn replica(world: &World, broker: BrokerId, tp: &TopicPartition) -> ReplicaState {
    let Some(r) = world.broker(broker).and_then(|b| b.replicas().get(tp)) else {
        return ReplicaState {
            broker: broker.0,
            log_start: None,
            leo: None,
            hw: None,
            batches: None,
            records: None,
            segments: None,
            bytes: None,
            status: format!("{:?}", world.status(NodeId::Broker(broker))).to_lowercase(),
        };
    };
    let records = r.log.batches().map(|b| b.records.len() as u64).sum();
    ReplicaState {
        broker: broker.0,
        log_start: Some(r.log.log_start_offset().0),
        leo: Some(r.log.log_end_offset().0),
        hw: Some(r.log.high_watermark().0),
        batches: Some(r.log.batches().count() as u64),
        records: Some(records),
        segments: Some(r.log.segments().len() as u64),
        bytes: Some(r.log.size_in_bytes()),
        status: String::new(),
    }
}

/// Every client of the scenario, producers first, with what its history counts.
pub fn clients(world: &World) -> Vec<ClientState> {
    let spec = world.spec();
    let total = spec.producers.len() + spec.consumers.len();
    let mut by_id: BTreeMap<NodeId, ClientState> = BTreeMap::new();
    for id in (0..total).map(sim::client_id) {
        let NodeId::Client(c) = id else { continue };
        let kind = match spec.client(c) {
            sim::Client::Producer(_) => ClientKind::Producer,
            sim::Client::Consumer(_) => ClientKind::Consumer,
        };
        let name = world.name(id).to_owned();
        by_id.insert(
            id,
            ClientState {
                name,
                kind,
                ..ClientState::default()
            },
        );
    }
    for record in world.history() {
        if let Some(c) = by_id.get_mut(&record.client) {
            c.counts.add(&record.entry);
        }
    }
    by_id.into_values().collect()
}

/// Every group the scenario's consumers join, by name.
pub fn groups(world: &World) -> Vec<GroupState> {
    let names: BTreeSet<&str> = world
        .spec()
        .consumers
        .iter()
        .filter_map(|c| c.config.group_id.as_deref())
        .collect();
    names.into_iter().map(|name| group(world, name)).collect()
}

/// A group as its (first live) coordinator has it at the end.
pub fn group(world: &World, name: &str) -> GroupState {
    let found = (1..=world.spec().brokers)
        .filter_map(|b| world.broker(BrokerId(b)))
        .find_map(|b| Some((b.id(), b.group_coordinator().groups().get(name)?)));
    let Some((broker, g)) = found else {
        return GroupState {
            group: name.to_owned(),
            state: None,
            generation: None,
            coordinator: None,
            assignor: None,
            members: Vec::new(),
            committed: Vec::new(),
        };
    };
    let members = g
        .members
        .values()
        .map(|m| MemberState {
            member: m.stored.member_id.clone(),
            client: m.stored.client.clone(),
            partitions: m
                .stored
                .assignment
                .iter()
                .map(ToString::to_string)
                .collect(),
        })
        .collect();
    let committed = g
        .committed
        .iter()
        .map(|(tp, offset)| CommittedOffset {
            partition: tp.to_string(),
            offset: offset.0,
        })
        .collect();
    GroupState {
        group: name.to_owned(),
        state: Some(g.state.to_string()),
        generation: Some(g.generation),
        coordinator: Some(broker.0),
        assignor: g.protocol.clone(),
        members,
        committed,
    }
}
