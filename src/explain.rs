//! `kafka-lab run --explain`: after the timeline, a short causal account of each finding: the
//! first record involved, what happened to its partition after it, and the rule that let it.

use broker_core::{Acks, BrokerId, Event, NodeId, Time, TopicPartition};
use scenarios::Outcome;
use sim::story::{fault_touches, tell_event};
use sim::{FaultAction, Finding, FindingKind, TraceEntry, TraceKind, World};
use std::collections::BTreeSet;
use std::io::{self, Write};

/// At most this many events are told per finding: the account is for reading, the timeline
/// above has the rest.
const EVENTS_MAX: usize = 10;

/// The "Why" section: one account per (kind, partition).
pub fn write(out: &mut impl Write, outcome: &Outcome) -> io::Result<()> {
    writeln!(out, "Why")?;
    let world = &outcome.world;
    let mut told = BTreeSet::new();
    let mut partitions_told = BTreeSet::new();
    for finding in &outcome.findings {
        if !told.insert((finding.kind, finding.partition.clone())) {
            continue;
        }
        let events_told = !partitions_told.insert(finding.partition.clone());
        account(out, world, finding, events_told)?;
    }
    if told.is_empty() {
        writeln!(out, "  nothing to explain: no finding")?;
    }
    Ok(())
}

/// One finding's account; `events_told` when an earlier account listed the same partition's
/// events.
fn account(
    out: &mut impl Write,
    world: &World,
    finding: &Finding,
    events_told: bool,
) -> io::Result<()> {
    let tp = finding
        .partition
        .as_deref()
        .and_then(|name| partition_named(world, name));
    let place = finding.partition.as_deref().unwrap_or("the cluster");
    let verdict = crate::report::verdict_word(finding.verdict);
    writeln!(out, "  {} on {place} ({verdict}):", finding.kind)?;
    writeln!(out, "    {}", finding.explanation)?;
    let Some(tp) = tp else {
        return Ok(());
    };
    let anchor = anchor(world, finding.kind, &tp);
    if let Some(anchor) = &anchor {
        writeln!(out, "    first: {}", anchor.text)?;
    }
    let events = events_on(world, &tp, anchor.map(|a| a.time));
    if events_told && !events.is_empty() {
        writeln!(out, "    then: the events on {tp} told above")?;
    } else if !events.is_empty() {
        writeln!(out, "    then, on {tp} and its replicas:")?;
        for (time, line) in &events {
            writeln!(out, "    {:>9}  {line}", time.to_string())?;
        }
    }
    for rule in rules(world, finding.kind, &tp) {
        writeln!(out, "    rule: {rule}")?;
    }
    Ok(())
}

fn partition_named(world: &World, name: &str) -> Option<TopicPartition> {
    world
        .spec()
        .topics
        .iter()
        .flat_map(|t| (0..t.assignment.len() as u32).map(|p| TopicPartition::new(&t.topic, p)))
        .find(|tp| tp.to_string() == name)
}

/// The first record a finding is about, told with who acknowledged it.
struct Anchor {
    time: Time,
    text: String,
}

/// For `lost-write`: the first acknowledged send to `tp` that the final committed log lacks,
/// and the leader that acknowledged it.
fn anchor(world: &World, kind: FindingKind, tp: &TopicPartition) -> Option<Anchor> {
    if kind != FindingKind::LostWrite {
        return None;
    }
    let committed = committed_values(world, tp)?;
    world.history().iter().find_map(|record| {
        let sim::Acked {
            tp: sent_to,
            value,
            offset,
        } = record.acked()?;
        if sent_to != tp || committed.contains(value.as_ref()) {
            return None;
        }
        let offset = offset.map_or("an unknown offset".to_owned(), |o| format!("offset {o}"));
        let acks = acks_of(world, record.client).map_or(String::new(), |a| format!("acks={a}"));
        let leader = leader_at(world, tp, record.time);
        Some(Anchor {
            time: record.time,
            text: format!(
                "{} was acknowledged to {} at {} ({acks}) at {offset}{leader}.",
                String::from_utf8_lossy(value),
                world.name(record.client),
                record.time,
            ),
        })
    })
}

/// The values below the HW of the partition's leader at the end.
fn committed_values(world: &World, tp: &TopicPartition) -> Option<BTreeSet<Vec<u8>>> {
    let leader = world.metadata()?.partitions.get(tp)?.leader?;
    let replica = world.broker(leader)?.replicas().get(tp)?;
    let hw = replica.log.high_watermark();
    Some(
        replica
            .log
            .batches()
            .flat_map(|b| b.records_with_offsets())
            .take_while(|(offset, _)| *offset < hw)
            .map(|(_, r)| r.identity().to_vec())
            .collect(),
    )
}

fn acks_of(world: &World, client: NodeId) -> Option<Acks> {
    match client {
        NodeId::Client(id) => match world.spec().client(id) {
            sim::Client::Producer(p) => Some(p.config.acks),
            sim::Client::Consumer(_) => None,
        },
        _ => None,
    }
}

/// ", by broker-N, leader of tp in epoch E" from the last leadership before `time`.
fn leader_at(world: &World, tp: &TopicPartition, time: Time) -> String {
    let became = world
        .trace()
        .iter()
        .take_while(|e| e.time <= time)
        .filter_map(|e| match &e.kind {
            TraceKind::Event {
                event:
                    Event::BecameLeader {
                        broker,
                        tp: led,
                        leader_epoch,
                        ..
                    },
            } if led == tp => Some((*broker, *leader_epoch)),
            _ => None,
        });
    match became.last() {
        Some((broker, epoch)) => format!(", by broker-{broker}, leader of {tp} in epoch {epoch}"),
        None => String::new(),
    }
}

/// What happened to the partition and its replicas from `since` on: faults, elections,
/// ISR changes, truncations and recoveries. The first [`EVENTS_MAX`] of them.
fn events_on(world: &World, tp: &TopicPartition, since: Option<Time>) -> Vec<(Time, String)> {
    let replicas = replicas_of(world, tp);
    let first_fault = world
        .trace()
        .iter()
        .find(|e| matches!(e.kind, TraceKind::Fault { .. }) && e.time > Time(0))
        .map(|e| e.time);
    let from = match (since, first_fault) {
        (Some(a), Some(f)) => a.min(f),
        (a, f) => a.or(f).unwrap_or(Time(0)),
    };
    world
        .trace()
        .iter()
        .filter(|e| e.time >= from && e.time > Time(0))
        .filter_map(|e| tell(world, e, tp, &replicas).map(|line| (e.time, line)))
        .take(EVENTS_MAX)
        .collect()
}

fn replicas_of(world: &World, tp: &TopicPartition) -> Vec<BrokerId> {
    world
        .spec()
        .topics
        .iter()
        .find(|t| t.topic == tp.topic)
        .and_then(|t| t.assignment.get(tp.partition as usize))
        .cloned()
        .unwrap_or_default()
}

/// One entry told in a line, if it concerns the partition.
fn tell(
    world: &World,
    entry: &TraceEntry,
    tp: &TopicPartition,
    replicas: &[BrokerId],
) -> Option<String> {
    // Clients count too: a consumer that crashes or leaves moves partitions.
    let is_replica = |node: &NodeId| match node {
        NodeId::Broker(b) => replicas.contains(b),
        NodeId::Client(_) => true,
        _ => false,
    };
    match &entry.kind {
        TraceKind::Fault { fault } if fault_touches(fault, &is_replica) => Some(format!(
            "{} {}",
            sim::story::fault_glyph(fault),
            crate::report::describe_fault(world, fault)
        )),
        TraceKind::Phase { name } if name == "drain" => {
            Some("drain: the network heals, every node restarts".to_owned())
        }
        TraceKind::Event { event } => tell_event(event, tp),
        _ => None,
    }
}

/// The rules that made the finding possible, from the configuration and what the run did.
fn rules(world: &World, kind: FindingKind, tp: &TopicPartition) -> Vec<&'static str> {
    let spec = world.spec();
    let producers: Vec<_> = spec
        .producers
        .iter()
        .filter(|p| p.topic == tp.topic)
        .collect();
    let mut rules = Vec::new();
    let durability = matches!(
        kind,
        FindingKind::LostWrite
            | FindingKind::InconsistentOffsets
            | FindingKind::DivergentLogs
            | FindingKind::HwRegressed
            | FindingKind::NonmonotonicSend
    );
    if durability {
        rules = durability_rules(world, tp, &producers);
    }
    match kind {
        FindingKind::Duplicate => {
            if spec.network.drop_rate > 0.0 {
                rules.push("the network drops messages (network.drop_rate): some ProduceResponses never arrive, and the producer retries after request.timeout.ms.");
            }
            rules.push("without enable.idempotence the broker cannot tell a retry from a new record: a batch whose response was lost is appended again.");
        }
        FindingKind::NonmonotonicSend if producers.iter().any(|p| !p.config.enable_idempotence) => rules.push("without idempotence a retried batch can land after a later one (max.in.flight.requests.per.connection > 1)."),
        FindingKind::Redelivery => rules.push("at-least-once: a consumer commits offsets after processing; records processed but not committed when it dies or loses the partition are read again by the next owner, from the last committed offset."),
        FindingKind::Livelock => rules.push("a run that does not reach its end proves nothing: some node kept scheduling work at one simulated millisecond (a zero-time timer), or the run used up its event budget, so the final checks never ran."),
        FindingKind::ExpiredUnread => rules.push("retention (retention.ms, retention.bytes, checked every log.retention.check.interval.ms) deletes whole closed segments below the high watermark whether or not any consumer read them; a consumer below the log start gets OFFSET_OUT_OF_RANGE and follows auto.offset.reset."),
        FindingKind::Compacted => rules.push("compaction (cleanup.policy=compact, run every log.cleaner.backoff.ms once min.cleanable.dirty.ratio or max.compaction.lag.ms says so) keeps only the latest record of each key in closed segments below the high watermark; offsets stay, so the log has gaps."),
        FindingKind::DeletedKeyResurrected => rules.push("a tombstone (a null value) deletes its key: the cleaner removes the key's older records when it first keeps the tombstone, and the tombstone itself only a cleaning after delete.retention.ms; an older value left without its tombstone brings the key back."),
        FindingKind::LatestValueLost => rules.push("compaction promises that the latest acknowledged value of every key survives: the cleaner removes a record only when a newer record of its key is in the log."),
        FindingKind::Stalled => rules.push("liveness: after the faults healed and every node restarted, the cluster still did not serve every partition."),
        _ => {}
    }
    rules
}

/// Why committed or acknowledged records of `tp` could be lost or rewritten.
fn durability_rules(
    world: &World,
    tp: &TopicPartition,
    producers: &[&sim::ProducerSpec],
) -> Vec<&'static str> {
    let spec = world.spec();
    let protocol = spec.cluster.protocol;
    let acks = |a: Acks| producers.iter().any(|p| p.config.acks == a);
    let min_isr_1 = spec
        .topics
        .iter()
        .any(|t| t.topic == tp.topic && t.config.min_insync_replicas < 2);
    let events = || {
        world.trace().iter().filter_map(|e| match &e.kind {
            TraceKind::Event { event } => Some(event),
            _ => None,
        })
    };
    let elected = |last_known: bool| {
        events().any(|e| {
            matches!(e, Event::LeaderElected { tp: t, unclean: true, last_known_leader, .. }
                if t == tp && *last_known_leader == last_known)
        })
    };
    let (unclean, last_known) = (elected(false), elected(true));
    let truncated = events().any(|e| matches!(e, Event::Truncated { tp: t, .. } if t == tp));
    let replicas = replicas_of(world, tp);
    let power = world.trace().iter().any(|e| {
        matches!(&e.kind, TraceKind::Fault { fault: FaultAction::PowerFail { target: NodeId::Broker(b) } }
            if replicas.contains(b))
    });
    let table: [(bool, &'static str); 10] = [
        (acks(Acks::Leader), "acks=1: the leader answers once the batch is in its own log, before any follower has it; a leader that dies takes such records with it (KafkaApis.handleProduceRequest)."),
        (acks(Acks::None), "acks=0: the producer counts a record as sent when it leaves; nothing tells it the record was lost."),
        (min_isr_1 && acks(Acks::All), "min.insync.replicas=1: an ISR of the leader alone may commit, so acks=all can mean one copy."),
        (unclean, "unclean.leader.election.enable=true: with every ISR member down, a replica outside the ISR was elected without the committed records (PartitionChangeBuilder)."),
        (last_known, "with the ISR and the ELR empty, the controller elected the last known leader, as Kafka did before 4.0 when every replica was offline; it may have lost records (PartitionChangeBuilder.canElectLastKnownLeader)."),
        (power && !protocol.eligible_leader_replicas, "pre-KIP-966 election: the controller never removes the last ISR member, so a broker that lost power while it alone was the ISR is elected with its log cut short, and replicas that held every committed record truncate to it. Eligible leader replicas (Kafka 4.0, default in 4.1) fix this."),
        (protocol.truncation == broker_core::Truncation::HighWatermark, "pre-KIP-101 truncation: a follower cuts its log to its own high watermark, which trails the leader's, and throws away committed records."),
        (!protocol.isr_join_requires_epoch_start, "pre-KAFKA-7128 ISR join: a follower joins the ISR on reaching the leader's HW, which may be stale after an election; it can lack committed records and still be elected."),
        (power, "Kafka does not fsync each write: a power failure loses what the OS had not flushed; if every replica that had a record lost it, no protocol brings it back."),
        (truncated, "a replica that rejoins truncates to the leader's log: records only it had are erased, and the leader writes new records at their offsets."),
    ];
    table
        .into_iter()
        .filter_map(|(holds, rule)| holds.then_some(rule))
        .collect()
}
