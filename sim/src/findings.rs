//! Cluster-state findings and the lost-write check, with verdicts from what the configuration
//! promises (docs/scenario-format.md, "Finding kinds"). Node-local invariants are assertions in broker-core; these are the
//! cluster-wide properties a historical protocol or an over-budget fault can break.

use crate::budget::FaultBudget;
use crate::kind::FindingKind;
use crate::spec::WorldSpec;
use crate::world::{Acked, HistoryRecord, World};
use broker_core::*;
use bytes::Bytes;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Whether the configuration promised the property a finding breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Promised and broken.
    Violation,
    /// Never promised by this configuration.
    Allowed,
}

/// What one producer promises: `(durable, idempotent)`; why not, pushed to `reasons`.
fn producer_promises(
    name: &str,
    acks: Acks,
    idempotent: bool,
    reasons: &mut Vec<String>,
) -> (bool, bool) {
    if acks != Acks::All {
        reasons.push(format!("{name}: acks={acks}"));
    }
    if !idempotent {
        reasons.push(format!(
            "{name}: enable.idempotence=false (retries may write twice)"
        ));
    }
    (acks == Acks::All, idempotent)
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of anomaly.
    pub kind: FindingKind,
    /// Promised or not.
    pub verdict: Verdict,
    /// One line a student can read.
    pub explanation: String,
    /// When it was seen (end of run for final checks).
    pub time: Time,
    /// The partition, if one.
    pub partition: Option<String>,
    /// The records or offsets involved.
    pub records: Vec<String>,
}

/// What the configuration promises (docs/scenario-format.md, "Finding kinds").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Promises {
    /// No acknowledged write is lost.
    pub durability: bool,
    /// Replicas agree below their HW and the committed offset never goes back.
    pub consistency: bool,
    /// The cluster recovers once faults heal.
    pub liveness: bool,
    /// Producer retries never write a record twice (`enable.idempotence=true` everywhere).
    pub idempotence: bool,
    /// Why durability is or is not promised, for the report.
    pub reasons: Vec<String>,
}

impl Promises {
    /// Derive the promises of a spec.
    pub fn of(spec: &WorldSpec) -> Promises {
        let mut reasons = Vec::new();
        let historical = spec.cluster.protocol.historical();
        let protocol_today = historical.is_empty();
        if !protocol_today {
            reasons.push(format!("historical protocol: {}", historical.join(", ")));
        }
        let mut clean = true;
        let mut durable_topics = true;
        for topic in &spec.topics {
            let rf = topic.replication_factor();
            if topic.config.unclean_leader_election_enable {
                clean = false;
                reasons.push(format!(
                    "{}: unclean.leader.election.enable=true",
                    topic.topic
                ));
            }
            if topic.config.min_insync_replicas < 2 || rf < 3 {
                durable_topics = false;
                reasons.push(format!(
                    "{}: RF={rf}, min.insync.replicas={} (needs RF ≥ 3 and min ISR ≥ 2)",
                    topic.topic, topic.config.min_insync_replicas
                ));
            }
        }
        let mut idempotence = true;
        for p in &spec.producers {
            let (durable, idempotent) = producer_promises(
                &p.name,
                p.config.acks,
                p.config.enable_idempotence,
                &mut reasons,
            );
            durable_topics &= durable;
            idempotence &= idempotent;
        }
        let breach = FaultBudget::of(spec).breach(&spec.faults);
        let budget = breach.is_none();
        if let Some(breach) = breach {
            reasons.push(format!("beyond the fault budget: {breach}"));
        }
        Promises {
            durability: protocol_today && clean && durable_topics && budget,
            consistency: protocol_today && clean && budget,
            liveness: budget,
            idempotence: idempotence && protocol_today && clean && budget,
            reasons,
        }
    }

    /// A producer outside the spec (a real client of `kafka-lab serve`) sent with `acks`, with
    /// or without idempotence: it weakens the promises as the same producer in the spec would.
    pub fn external_producer(&mut self, name: &str, acks: Acks, idempotent: bool) {
        let mut reasons = Vec::new();
        let (durable, idempotent) = producer_promises(name, acks, idempotent, &mut reasons);
        self.durability &= durable;
        self.idempotence &= idempotent;
        for reason in reasons {
            if !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
    }

    /// Whether a finding of this kind breaks a promise. `acked` says whether an acknowledged
    /// send is involved (an `inconsistent-offsets` seen only by consumers breaks consistency;
    /// one that contradicts an acknowledgement breaks durability).
    fn verdict_of(&self, kind: FindingKind, acked: bool) -> Verdict {
        let promised = match kind {
            FindingKind::LostWrite
            | FindingKind::Unseen
            | FindingKind::LatestValueLost
            | FindingKind::DeletedKeyResurrected => self.durability,
            // Kafka keeps a producer's order per partition only with idempotence (or one
            // request in flight); retries may reorder otherwise.
            FindingKind::NonmonotonicSend => self.durability && self.idempotence,
            FindingKind::InconsistentOffsets if acked => self.durability,
            FindingKind::DivergentLogs
            | FindingKind::HwRegressed
            | FindingKind::InconsistentOffsets
            | FindingKind::PollSkip
            | FindingKind::NonmonotonicPoll => self.consistency,
            FindingKind::Duplicate => self.idempotence,
            // A run that did not reach its end proves nothing: never a pass, never allowed.
            FindingKind::TwoLeaders | FindingKind::Livelock => true,
            // Raft's safety holds whatever the faults: every vote and entry is durable before
            // it counts, and a record commits only on a majority (KIP-595).
            FindingKind::TwoActiveControllers
            | FindingKind::MetadataDivergence
            | FindingKind::LeaderChangeWithoutQuorum => true,
            // Without pre-vote, a returning voter deposing the leader is how Raft works: it
            // costs an election, never a committed record (KIP-996).
            FindingKind::LeaderDeposedByRejoiningVoter => false,
            FindingKind::Stalled => self.liveness,
            // Raft promises a leader while a majority of the voters can talk, whatever else
            // is down (KIP-595); the clock runs only then (`liveness.rs`).
            FindingKind::ControllerUnavailable => true,
            // At-least-once: a group re-reads what was processed but not committed.
            FindingKind::Redelivery => false,
            // Retention deletes records whether or not anyone read them: that is its promise.
            FindingKind::ExpiredUnread => false,
            // Compaction keeps only the latest record of a key: that is its promise.
            FindingKind::Compacted => false,
            // Deleting a topic deletes its records: that is what the operator asked for.
            FindingKind::TopicDeleted => false,
        };
        if promised {
            Verdict::Violation
        } else {
            Verdict::Allowed
        }
    }

    fn verdict(&self, kind: FindingKind) -> Verdict {
        self.verdict_of(kind, true)
    }
}

/// Watches teaching events as they happen, for the findings that need the past.
#[derive(Clone, Debug)]
pub struct Observer {
    pub(crate) promises: Promises,
    leaders: BTreeMap<(TopicPartition, LeaderEpoch), BrokerId>,
    /// The newest leader epoch the controller has elected per partition.
    elected: BTreeMap<TopicPartition, LeaderEpoch>,
    committed: BTreeMap<TopicPartition, Offset>,
    pub(crate) findings: Vec<Finding>,
    cuts: Vec<CommittedCut>,
    /// The controllers' role changes (`two-active-controllers`, a deposed leader).
    quorum: crate::quorum_findings::QuorumWatch,
    /// The committed metadata as the controllers commit it (`leader-change-without-quorum`).
    pub(crate) ledger: crate::quorum_changes::CommitLedger,
    /// The voters of the quorum (`controllers`).
    voters: u32,
    /// The quorum's liveness clock (`controller-unavailable`).
    pub(crate) liveness: crate::liveness::LivenessWatch,
    /// When each topic was last deleted (`topic-deleted`): kept here, not read back from the
    /// trace, because a served session's trace forgets its oldest entries.
    pub(crate) deleted_topics: BTreeMap<Topic, Time>,
    /// The partitions whose log start a `DeleteRecords` moved (`Event::RecordsDeleted`
    /// answered `NONE`), from a scenario action or a client's request on serve: their records
    /// below the log start are `expired-unread` by `DeleteRecords`. Kept here for the same reason.
    pub(crate) records_deleted: BTreeSet<TopicPartition>,
}

/// Committed records gone from a log, at the instant it happened: a replica truncated below
/// the committed offset (its copy is gone; others may still hold them), or a broker became
/// leader with its log ending below it (they are lost: the `hw-regressed` finding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedCut {
    /// When.
    pub time: Time,
    /// The replica.
    pub broker: BrokerId,
    /// The partition.
    pub tp: TopicPartition,
    /// The committed offsets gone: `gone.0..gone.1`.
    pub gone: (Offset, Offset),
    /// Whether the cluster lost them (a leader lacked them), not only this replica.
    pub lost: bool,
}

impl CommittedCut {
    /// How many committed records.
    pub fn count(&self) -> u64 {
        self.gone.1 .0.saturating_sub(self.gone.0 .0)
    }
}

impl Observer {
    /// An observer for a spec.
    pub fn new(spec: &WorldSpec) -> Observer {
        Observer {
            promises: Promises::of(spec),
            leaders: BTreeMap::new(),
            elected: BTreeMap::new(),
            committed: BTreeMap::new(),
            findings: Vec::new(),
            cuts: Vec::new(),
            quorum: Default::default(),
            ledger: Default::default(),
            voters: spec.controllers,
            liveness: crate::liveness::LivenessWatch::new(
                &broker_core::raft::QuorumConfig::for_cluster(&spec.cluster),
            ),
            deleted_topics: BTreeMap::new(),
            records_deleted: BTreeSet::new(),
        }
    }

    /// Committed records cut from a replica or lost by the cluster so far, in time order.
    pub fn committed_cuts(&self) -> &[CommittedCut] {
        &self.cuts
    }

    /// The promises of this run.
    pub fn promises(&self) -> &Promises {
        &self.promises
    }

    /// The findings seen while the run goes (hw-regressed, two-leaders): a UI's guarantee
    /// lights before the final checks.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The highest HW any leader has reached per partition (what was committed).
    pub fn committed(&self) -> &BTreeMap<TopicPartition, Offset> {
        &self.committed
    }

    pub(crate) fn observe(&mut self, now: Time, event: &Event) {
        match event {
            Event::BecameLeader {
                broker,
                tp,
                leader_epoch,
                log_end_offset,
                ..
            } => {
                if let Some(why) = self.ledger.became_leader(*broker, tp, *leader_epoch) {
                    let kind = FindingKind::LeaderChangeWithoutQuorum;
                    self.push(now, kind, why, Some(tp), vec![]);
                }
                if let Some(other) = self
                    .leaders
                    .insert((tp.clone(), *leader_epoch), *broker)
                    .filter(|b| b != broker)
                {
                    let explanation = format!("broker-{other} and broker-{broker} both led {tp} in leader epoch {leader_epoch}");
                    self.push(now, FindingKind::TwoLeaders, explanation, Some(tp), vec![]);
                }
                let committed = self.committed.get(tp).copied().unwrap_or_default();
                // A paused broker that wakes up may apply an election it slept through: a zombie
                // leading an epoch the controller has already replaced loses nothing committed.
                let superseded = self.elected.get(tp).is_some_and(|e| e > leader_epoch);
                if *log_end_offset < committed && !superseded {
                    let explanation = format!(
                        "broker-{broker} became leader of {tp} in epoch {leader_epoch} with its log ending at {log_end_offset}, below the committed offset {committed}: committed records are gone"
                    );
                    let records = vec![format!("offsets {log_end_offset}..{committed}")];
                    self.cuts.push(CommittedCut {
                        time: now,
                        broker: *broker,
                        tp: tp.clone(),
                        gone: (*log_end_offset, committed),
                        lost: true,
                    });
                    self.push(
                        now,
                        FindingKind::HwRegressed,
                        explanation,
                        Some(tp),
                        records,
                    );
                }
            }
            Event::TopicDeleted { topic } => {
                self.deleted_topics.insert(topic.clone(), now);
            }
            Event::RecordsDeleted { tp, error, .. } if error.is_ok() => {
                self.records_deleted.insert(tp.clone());
            }
            Event::LeaderElected {
                tp, leader_epoch, ..
            } => {
                let elected = self.elected.entry(tp.clone()).or_default();
                *elected = (*elected).max(*leader_epoch);
            }
            Event::Truncated {
                broker,
                tp,
                from,
                to,
                ..
            } => {
                let committed = self.committed.get(tp).copied().unwrap_or_default();
                if *to < committed {
                    self.cuts.push(CommittedCut {
                        time: now,
                        broker: *broker,
                        tp: tp.clone(),
                        gone: (*to, committed.min(*from)),
                        lost: false,
                    });
                }
            }
            Event::RaftRoleChanged {
                controller,
                role,
                epoch,
            } => self.observe_role(now, *controller, *role, *epoch),
            Event::HighWatermarkAdvanced {
                tp, high_watermark, ..
            } => {
                let committed = self.committed.entry(tp.clone()).or_default();
                *committed = (*committed).max(*high_watermark);
            }
            _ => {}
        }
    }

    /// A node's process died: a controller's last Raft role goes with it.
    pub(crate) fn process_stopped(&mut self, node: NodeId) {
        if let NodeId::Controller(controller) = node {
            self.quorum.forget(controller);
        }
    }

    /// A controller's Raft role or epoch changed: the quorum rules judge it
    /// (`quorum_findings`).
    fn observe_role(
        &mut self,
        now: Time,
        controller: ControllerId,
        role: broker_core::raft::Role,
        epoch: LeaderEpoch,
    ) {
        for (kind, explanation) in self.quorum.on_role(controller, role, epoch) {
            self.push(now, kind, explanation, None, vec![]);
        }
        let leads = role == broker_core::raft::Role::Leader;
        if let Some(why) = self.ledger.told(controller, leads, epoch, self.voters) {
            self.push(
                now,
                FindingKind::LeaderChangeWithoutQuorum,
                why,
                None,
                vec![],
            );
        }
    }

    /// Add to a finding's explanation (a finding told while it unfolds: how it ended).
    pub(crate) fn amend(&mut self, index: usize, more: &str) {
        if let Some(finding) = self.findings.get_mut(index) {
            finding.explanation.push_str(more);
        }
    }

    pub(crate) fn push(
        &mut self,
        time: Time,
        kind: FindingKind,
        explanation: String,
        tp: Option<&TopicPartition>,
        records: Vec<String>,
    ) {
        let verdict = self.promises.verdict(kind);
        self.findings.push(Finding {
            kind,
            verdict,
            explanation,
            time,
            partition: tp.map(ToString::to_string),
            records,
        });
    }
}

/// Every finding of a finished run: those seen during it, then the final checks.
///
/// A run cut short (see [`World::cut_short`]) gets the findings seen during it and `livelock`:
/// the final checks judge the end of the drain, which it never reached.
pub fn check(world: &World) -> Vec<Finding> {
    let mut observer = world.observer.clone();
    let now = world.now();
    if let Some(livelock) = world.cut_short() {
        let explanation = livelock_explanation(world, livelock);
        let records = vec![format!(
            "{} event(s) in all, {} of the last {} sampled were `{}` events of {}",
            livelock.events,
            livelock.dominant,
            livelock.sampled,
            livelock.event,
            subject_name(world, livelock.node)
        )];
        observer.push(now, FindingKind::Livelock, explanation, None, records);
        return observer.findings;
    }
    let logs = final_logs(world);
    let mut expired = crate::expired::check_expired(&mut observer, now, world);
    for (tp, values) in crate::expired::check_deleted_topics(&mut observer, now, world) {
        expired.entry(tp).or_default().extend(values);
    }
    let compacted = crate::compacted::check_compacted(&mut observer, now, world);
    for (tp, values) in compacted.values {
        expired.entry(tp).or_default().extend(values);
    }
    let mut lost = check_lost_writes(&mut observer, now, world.history(), &logs, &expired);
    // What retention and compaction removed was judged above: the reads do not judge it again.
    for (tp, values) in expired {
        lost.entry(tp).or_default().extend(values);
    }
    check_client_history(&mut observer, now, world, lost, compacted.offsets);
    check_divergence(&mut observer, now, world);
    crate::quorum_findings::check_metadata_divergence(&mut observer, now, world);
    check_stalled(&mut observer, now, world);
    observer.liveness_at_end(now);
    observer.findings
}

fn subject_name(world: &World, node: Option<NodeId>) -> String {
    node.map_or("the world (faults, phases)".to_owned(), |n| {
        world.name(n).to_owned()
    })
}

/// One line: where the run stopped, why, and which node's events kept it busy.
fn livelock_explanation(world: &World, livelock: &crate::watchdog::Livelock) -> String {
    let spec = world.spec();
    let end = Time(spec.duration_ms.saturating_add(spec.drain_ms));
    let node = subject_name(world, livelock.node);
    let why = match livelock.reason {
        crate::watchdog::CutShort::TimeStoodStill => format!(
            "simulated time stood still ({} events at {}); {node} kept it busy with `{}` events",
            spec.still_events_max, livelock.at, livelock.event
        ),
        crate::watchdog::CutShort::EventCap => format!(
            "it used up its budget of {} events; the most frequent of its last events were `{}` events of {node}",
            spec.events_max, livelock.event
        ),
    };
    format!(
        "the run was cut short at {} of {end}: {why}, so the final checks never ran",
        livelock.at
    )
}

/// Per partition, the committed log of its final leader: offset → value, below the HW.
fn final_logs(world: &World) -> BTreeMap<TopicPartition, BTreeMap<Offset, Bytes>> {
    let mut logs = BTreeMap::new();
    let Some(metadata) = world.metadata() else {
        return logs;
    };
    for (tp, state) in &metadata.partitions {
        let Some(replica) = state
            .leader
            .and_then(|l| world.broker(l))
            .and_then(|b| b.replicas().get(tp))
        else {
            continue;
        };
        let hw = replica.log.high_watermark();
        let mut log = BTreeMap::new();
        for batch in replica.log.batches().take_while(|b| b.base_offset < hw) {
            for (offset, record) in batch.records_with_offsets() {
                if offset < hw {
                    log.insert(offset, record.identity());
                }
            }
        }
        logs.insert(tp.clone(), log);
    }
    logs
}

/// Partitions of the topics of a consumer whose group threw a fatal error to the application
/// (`INVALID_SESSION_TIMEOUT`, `FENCED_INSTANCE_ID`...) before it was given any partition: nobody
/// promised to read them, so reads do not judge them; the final committed log still does
/// (`lost-write`). An exception about one partition (`auto.offset.reset=none`) is the checker's:
/// it stops promising that partition to that reader only.
fn abandoned(world: &World) -> BTreeSet<TopicPartition> {
    let spec = world.spec();
    let threw: BTreeSet<NodeId> = world
        .history()
        .iter()
        .filter(|r| matches!(r.entry, HistoryEntry::ConsumerError { tp: None, .. }))
        .map(|r| r.client)
        .collect();
    let thrown = |c: &&crate::spec::ConsumerSpec| {
        world.node_id(&c.name).is_some_and(|id| threw.contains(&id))
    };
    // A topic another consumer still reads is judged by that consumer's reads.
    spec.topics
        .iter()
        .filter(|t| {
            let readers: Vec<_> = spec
                .consumers
                .iter()
                .filter(|c| c.topics.contains(&t.topic))
                .collect();
            !readers.is_empty() && readers.iter().all(thrown)
        })
        .flat_map(|t| (0..t.assignment.len() as u32).map(|p| TopicPartition::new(&t.topic, p)))
        .collect()
}

/// The client-history checker (Jepsen's kinds), minus what the cluster-state checks already
/// reported: the final committed log is this run's "final read", so a value it lacks is one
/// `lost-write`, not also `unseen`; partitions nobody consumes have no reads to judge.
fn check_client_history(
    observer: &mut Observer,
    now: Time,
    world: &World,
    lost: BTreeMap<TopicPartition, BTreeSet<Bytes>>,
    removed: BTreeMap<TopicPartition, BTreeSet<Offset>>,
) {
    let spec = world.spec();
    let consumed: BTreeSet<&Topic> = spec.consumers.iter().flat_map(|c| &c.topics).collect();
    let mut unread: BTreeSet<TopicPartition> = spec
        .topics
        .iter()
        .filter(|t| !consumed.contains(&t.topic))
        .flat_map(|t| (0..t.assignment.len() as u32).map(|p| TopicPartition::new(&t.topic, p)))
        .collect();
    unread.extend(abandoned(world));
    // Partitions a real client (`kafka-lab serve`) read are judged by its reads.
    for r in world.history() {
        if let HistoryEntry::Polled { tp, .. } = &r.entry {
            if World::is_external(r.client) {
                unread.remove(tp);
            }
        }
    }
    let names = world
        .nodes()
        .filter(|(id, _, _)| matches!(id, NodeId::Client(_)))
        .map(|(id, _, _)| (id, world.name(id).to_owned()))
        .collect();
    let known = crate::checker::Known {
        unread,
        lost,
        removed,
        names,
    };
    // Values the final log lacks are left out above; a history `lost-write` left over is a
    // different record (in the final log, skipped by every reader).
    for f in crate::checker::check_history_with(world.history(), &known) {
        let verdict = observer.promises.verdict_of(f.kind, f.acked);
        observer.findings.push(Finding {
            kind: f.kind,
            verdict,
            explanation: f.explanation,
            time: now,
            partition: Some(f.partition.to_string()),
            records: f.records,
        });
    }
}

/// `lost-write`: an acknowledged record that the final committed log does not hold. Returns the
/// lost values per partition.
fn check_lost_writes(
    observer: &mut Observer,
    now: Time,
    history: &[HistoryRecord],
    logs: &BTreeMap<TopicPartition, BTreeMap<Offset, Bytes>>,
    expired: &BTreeMap<TopicPartition, BTreeSet<Bytes>>,
) -> BTreeMap<TopicPartition, BTreeSet<Bytes>> {
    let present: BTreeMap<&TopicPartition, BTreeSet<&Bytes>> = logs
        .iter()
        .map(|(tp, log)| (tp, log.values().collect()))
        .collect();
    let mut lost: BTreeMap<TopicPartition, Vec<String>> = BTreeMap::new();
    let mut lost_values: BTreeMap<TopicPartition, BTreeSet<Bytes>> = BTreeMap::new();
    for record in history {
        let Some(Acked { tp, value, offset }) = record.acked() else {
            continue;
        };
        if expired.get(tp).is_some_and(|values| values.contains(value)) {
            continue;
        }
        let held = match offset {
            Some(o) => logs.get(tp).and_then(|log| log.get(&o)) == Some(value),
            None => present.get(tp).is_some_and(|values| values.contains(value)),
        };
        if !held {
            lost_values
                .entry(tp.clone())
                .or_default()
                .insert(value.clone());
            let at = offset.map_or("unknown offset".to_owned(), |o| format!("offset {o}"));
            lost.entry(tp.clone()).or_default().push(format!(
                "{} (acknowledged at {}, {at})",
                String::from_utf8_lossy(value),
                record.time
            ));
        }
    }
    for (tp, records) in lost {
        let explanation = format!(
            "{} acknowledged write(s) to {tp} are missing from its final committed log",
            records.len()
        );
        observer.push(now, FindingKind::LostWrite, explanation, Some(&tp), records);
    }
    lost_values
}

/// `divergent-logs`: two replicas hold different records at one offset below both their HWs.
fn check_divergence(observer: &mut Observer, now: Time, world: &World) {
    let mut replicas: BTreeMap<TopicPartition, Vec<(BrokerId, &Replica)>> = BTreeMap::new();
    for (id, _, node) in world.nodes() {
        let (NodeId::Broker(b), Some(broker)) = (id, node.and_then(|n| n.as_broker())) else {
            continue;
        };
        for (tp, replica) in broker.replicas() {
            replicas.entry(tp.clone()).or_default().push((b, replica));
        }
    }
    for (tp, hosted) in replicas {
        for (i, (a, ra)) in hosted.iter().enumerate() {
            for (b, rb) in &hosted[i + 1..] {
                let limit = ra.log.high_watermark().min(rb.log.high_watermark());
                if let Some(offset) = first_difference(ra, rb, limit) {
                    let explanation = format!("broker-{a} and broker-{b} hold different records at {tp} offset {offset}, below both their high watermarks");
                    observer.push(
                        now,
                        FindingKind::DivergentLogs,
                        explanation,
                        Some(&tp),
                        vec![format!("offset {offset}")],
                    );
                }
            }
        }
    }
}

fn first_difference(a: &Replica, b: &Replica, limit: Offset) -> Option<Offset> {
    let values = |r: &Replica| -> Vec<(Offset, Bytes)> {
        r.log
            .batches()
            .flat_map(|batch| {
                batch
                    .records_with_offsets()
                    .map(|(offset, rec)| (offset, rec.identity()))
            })
            .take_while(|(o, _)| *o < limit)
            .collect()
    };
    // Offsets are positions: replicas are compared where both still hold a record (retention
    // and compaction run on each replica on its own, so either may have removed some).
    let va: BTreeMap<Offset, Bytes> = values(a).into_iter().collect();
    values(b)
        .into_iter()
        .find(|(offset, value)| va.get(offset).is_some_and(|v| v != value))
        .map(|(offset, _)| offset)
}

/// `stalled`: after the drain, a partition has no leader, or its leader cannot commit what it
/// holds, or a consumer is behind the HW.
fn check_stalled(observer: &mut Observer, now: Time, world: &World) {
    // `World::metadata` falls back to a standby's image when the quorum has no leader: after
    // the drain there must be an active controller, not just an image.
    let metadata = world.active_controller().and(world.metadata());
    let Some(metadata) = metadata else {
        observer.push(
            now,
            FindingKind::Stalled,
            "no active controller after the drain phase".into(),
            None,
            vec![],
        );
        return;
    };
    for (tp, state) in &metadata.partitions {
        let replica = state
            .leader
            .and_then(|l| world.broker(l))
            .and_then(|b| b.replicas().get(tp));
        let problem = match (state.leader, replica) {
            (None, _) => Some("has no leader".to_owned()),
            (Some(l), None) => Some(format!("has leader broker-{l}, which does not host it")),
            (Some(l), Some(r)) if r.log.high_watermark() < r.log.log_end_offset() => Some(format!(
                "cannot commit: leader broker-{l} has LEO {} but HW {} (ISR {:?})",
                r.log.log_end_offset(),
                r.log.high_watermark(),
                r.isr.iter().map(|b| b.0).collect::<Vec<_>>()
            )),
            _ => None,
        };
        if let Some(problem) = problem {
            observer.push(
                now,
                FindingKind::Stalled,
                format!("{tp} {problem} after the drain phase"),
                Some(tp),
                vec![],
            );
        }
    }
    for (id, _, node) in world.nodes() {
        let Some(consumer) = node.and_then(|n| n.as_consumer()) else {
            continue;
        };
        for (tp, position) in consumer.positions() {
            let hw = state_hw(world, metadata, &tp);
            if position.is_some_and(|p| Some(p) < hw) {
                let explanation = format!(
                    "{} is behind on {tp}: position {:?}, HW {:?} after the drain phase",
                    world.name(id),
                    position.map(|p| p.0),
                    hw.map(|h| h.0)
                );
                observer.push(now, FindingKind::Stalled, explanation, Some(&tp), vec![]);
            }
        }
    }
}

fn state_hw(world: &World, metadata: &MetadataImage, tp: &TopicPartition) -> Option<Offset> {
    let leader = metadata.partitions.get(tp)?.leader?;
    Some(
        world
            .broker(leader)?
            .replicas()
            .get(tp)?
            .log
            .high_watermark(),
    )
}
