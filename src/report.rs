//! Rendering a run: the text report (timeline, final cluster table, findings) and JSON.

use crate::final_state::ClientKind;
use broker_core::{Event, Time, TopicPartition, TruncationReason};
use scenarios::{Outcome, RunVerdict, Scenario};
use sim::{TraceKind, World};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// HW moves within this many ms of the previous one on a partition are not printed.
const HW_QUIET_MS: u64 = 1000;

pub fn write_trace(path: &Path, outcome: &Outcome) -> io::Result<()> {
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    for entry in outcome.world.trace() {
        serde_json::to_writer(&mut file, entry)?;
        file.write_all(b"\n")?;
    }
    file.flush()
}

pub fn json(out: &mut impl Write, scenario: &Scenario, outcome: &Outcome) -> io::Result<()> {
    let world = &outcome.world;
    let value = serde_json::json!({
        "scenario": scenario.name,
        "seed": scenario.seed,
        "fingerprint": world.fingerprint(),
        "events": world.events(),
        "truncated": outcome.truncated(),
        "simulated_ms": world.now().0,
        "findings": outcome.findings,
        "sets": sets(scenario),
        "expected": scenario.expect.findings,
        "expect_judged": expect_judged(outcome),
        "expect_met": expect_met_json(outcome),
        "passed": outcome.verdict.passed(),
        "promises": world.observer_promises(),
        "partitions": crate::final_state::partitions(world),
        "clients": crate::final_state::clients(world),
        "groups": crate::final_state::groups(world),
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}

pub fn text(
    out: &mut impl Write,
    scenario: &Scenario,
    outcome: &Outcome,
    explain: bool,
) -> io::Result<()> {
    let world = &outcome.world;
    writeln!(
        out,
        "kafka-lab run {} (seed {})",
        scenario.name, scenario.seed
    )?;
    writeln!(out, "{}", scenario.title)?;
    for o in &scenario.overrides {
        writeln!(out, "  {o}")?;
    }
    writeln!(out)?;
    timeline(out, scenario, world)?;
    writeln!(out)?;
    partitions(out, world)?;
    writeln!(out)?;
    clients(out, world)?;
    writeln!(out)?;
    crate::groups_report::groups(out, world)?;
    findings(out, scenario, outcome)?;
    if explain {
        writeln!(out)?;
        crate::explain::write(out, outcome)?;
    }
    let cut = if outcome.truncated() {
        ", CUT SHORT"
    } else {
        ""
    };
    writeln!(
        out,
        "fingerprint {}  ({} events, {} simulated{cut})",
        world.fingerprint(),
        world.events(),
        world.now()
    )
}

fn timeline(out: &mut impl Write, scenario: &Scenario, world: &World) -> io::Result<()> {
    writeln!(out, "Timeline")?;
    if let Some(departure) = scenario.departure(&[]) {
        writeln!(out, "           ▌ {}", departure.describe())?;
    }
    let script = scenario.script(&[]);
    let mut captions = script.into_iter().peekable();
    let mut last_hw: BTreeMap<TopicPartition, Time> = BTreeMap::new();
    let mut rejected: BTreeMap<(TopicPartition, String), u64> = BTreeMap::new();
    for entry in world.trace() {
        while let Some(caption) = captions.next_if(|c| c.at_ms <= entry.time.0) {
            caption_line(out, caption)?;
        }
        let who = entry
            .node
            .map_or(String::new(), |n| world.name(n).to_owned());
        let line = match &entry.kind {
            TraceKind::Event { event } => describe(event, entry.time, &mut last_hw, &mut rejected),
            TraceKind::Fault { fault } => Some(format!(
                "{} {}",
                sim::story::fault_glyph(fault),
                describe_fault(world, fault)
            )),
            TraceKind::RoleResolved { fault, role, node } => Some(match node {
                Some(n) => format!("{} {role}: {}", fault.as_str(), world.name(*n)),
                None => format!(
                    "✖ {} {role}: nobody holds it, nothing happens",
                    fault.as_str()
                ),
            }),
            TraceKind::ProcessStarted if entry.time > Time(0) => Some("process started".to_owned()),
            TraceKind::ProcessStopped => Some("process stopped".to_owned()),
            TraceKind::Phase { name } if name == "drain" => {
                Some("── drain: network healed, nodes restarted, producers stopped ──".to_owned())
            }
            TraceKind::Phase { name } if name == "check" => Some("── end: checking ──".to_owned()),
            TraceKind::Phase { name } if name == "cut-short" => {
                Some("── CUT SHORT: the run stopped before its end (see livelock) ──".to_owned())
            }
            _ => None,
        };
        if let Some(line) = line {
            writeln!(out, "{:>9}  {:<13} {line}", entry.time.to_string(), who)?;
        }
    }
    for caption in captions {
        caption_line(out, caption)?;
    }
    for ((tp, error), count) in rejected.iter().filter(|(_, c)| **c > 1) {
        writeln!(
            out,
            "           {tp}: {count} produce requests rejected with {error} in all"
        )?;
    }
    Ok(())
}

/// How the report names a verdict.
pub(crate) fn verdict_word(verdict: sim::Verdict) -> &'static str {
    match verdict {
        sim::Verdict::Violation => "VIOLATION",
        sim::Verdict::Allowed => "allowed",
    }
}

pub(crate) use sim::story::{describe_fault, election_note, elr_text, ids};

fn caption_line(out: &mut impl Write, caption: &scenarios::Caption) -> io::Result<()> {
    writeln!(
        out,
        "{:>9}  ▌ {}",
        Time(caption.at_ms).to_string(),
        caption.text
    )
}

fn describe(
    event: &Event,
    time: Time,
    last_hw: &mut BTreeMap<TopicPartition, Time>,
    rejected: &mut BTreeMap<(TopicPartition, String), u64>,
) -> Option<String> {
    Some(match event {
        Event::BrokerRegistered {
            broker,
            broker_epoch,
        } => format!("broker-{broker} registered (broker epoch {broker_epoch})"),
        Event::UncleanShutdownDetected { broker } => format!(
            "broker-{broker} did not shut down cleanly: out of every ISR and ELR (KIP-966)"
        ),
        Event::BrokerFenced { broker, reason } => format!("fenced broker-{broker}: {reason}"),
        Event::BrokerUnfenced { broker } => format!("unfenced broker-{broker}"),
        Event::LeaderElected {
            tp,
            leader,
            leader_epoch,
            isr,
            unclean,
            last_known_leader,
            elr,
        } => {
            let leader = leader.map_or("none (offline)".to_owned(), |l| format!("broker-{l}"));
            let unclean = election_note(*unclean, *last_known_leader);
            format!(
                "{tp}: leader {leader}, epoch {leader_epoch}, ISR [{}]{}{unclean}",
                ids(isr),
                elr_text(elr)
            )
        }
        Event::IsrChanged {
            tp,
            isr,
            partition_epoch,
            elr,
        } => format!(
            "{tp}: ISR [{}]{} (partition epoch {partition_epoch})",
            ids(isr),
            elr_text(elr)
        ),
        Event::IsrChangeProposed {
            tp,
            new_isr,
            reason,
            ..
        } => format!("proposes ISR [{}] for {tp}: {reason}", ids(new_isr)),
        Event::BecameLeader {
            tp,
            leader_epoch,
            log_end_offset,
            high_watermark,
            ..
        } => {
            format!(
                "leads {tp} in epoch {leader_epoch} (LEO {log_end_offset}, HW {high_watermark})"
            )
        }
        Event::BecameFollower { .. } => return None,
        Event::HighWatermarkAdvanced { tp, .. }
            if tp.topic.0.as_ref() == broker_core::group::OFFSETS_TOPIC =>
        {
            return None; // every commit moves it: too much for a timeline
        }
        Event::HighWatermarkAdvanced {
            tp, high_watermark, ..
        } => {
            let previous = last_hw.insert(tp.clone(), time);
            if previous.is_some_and(|p| time.ms_since(p) < HW_QUIET_MS) {
                return None;
            }
            format!("{tp}: HW {high_watermark}")
        }
        Event::Truncated {
            tp,
            from,
            to,
            reason,
            ..
        } => {
            let why = match reason {
                TruncationReason::DivergingEpoch => "diverging epoch from the leader",
                TruncationReason::HighWatermark => "pre-KIP-101: truncate to own HW",
                TruncationReason::OffsetOutOfRange => "leader's log is shorter",
                TruncationReason::CorruptTail => "corrupt tail",
                TruncationReason::BelowLogStart => "below the leader's log start",
            };
            format!("truncated {tp} from {from} to {to} ({why})")
        }
        Event::LogRecovered {
            tp,
            log_end_offset,
            high_watermark,
            torn_batches,
            ..
        } => {
            if time == Time(0) {
                return None;
            }
            let torn = if *torn_batches > 0 {
                format!(", {torn_batches} torn batch(es) dropped")
            } else {
                String::new()
            };
            format!("recovered {tp}: LEO {log_end_offset}, HW {high_watermark}{torn}")
        }
        Event::ProduceRejected { tp, error, .. } => {
            let count = rejected.entry((tp.clone(), error.to_string())).or_default();
            *count += 1;
            if *count > 1 {
                return None;
            }
            format!("rejects produce to {tp}: {error}")
        }
        Event::ControlledShutdownCompleted { .. } => "controlled shutdown complete".to_owned(),
        // Rolls are many with small segments: the partition view and the trace show them.
        Event::SegmentRolled { .. } => return None,
        Event::TopicDeleted { topic } => format!("deleted topic {topic} (DeleteTopics)"),
        Event::RecordsDeleted {
            tp,
            to,
            low_watermark,
            error,
            ..
        } => {
            let to = match to {
                broker_core::DeleteRecordsTo::HighWatermark => "the high watermark".to_owned(),
                broker_core::DeleteRecordsTo::Offset(o) => format!("offset {o}"),
            };
            if error.is_ok() {
                format!("DeleteRecords {tp} to {to}: log start (low watermark) {low_watermark}")
            } else {
                format!("DeleteRecords {tp} to {to}: {error}")
            }
        }
        Event::SegmentsDeleted {
            tp,
            cause,
            segments,
            records,
            log_start_offset,
            ..
        } => format!(
            "deleted {segments} segment(s) of {tp} ({records} records, {}): log start {log_start_offset}",
            cause.config_name()
        ),
        Event::LogCleaned {
            tp,
            records,
            segments,
            end,
            ..
        } => format!(
            "cleaned {tp} up to offset {end}: {records} superseded record(s) removed from {segments} segment(s)"
        ),
        Event::GroupsLoaded {
            partition, groups, ..
        } => format!(
            "coordinates the groups of __consumer_offsets-{partition} ({groups} loaded from its log)"
        ),
        Event::GroupStateChanged {
            group,
            state,
            generation,
            members,
            ..
        } => format!("group {group}: {state}, generation {generation}, {members} member(s)"),
        // The timeline's node column names the controller.
        Event::RaftRoleChanged { role, epoch, .. } => raft_role_words(*role, *epoch)?,
    })
}

/// A controller's Raft role change in words; `None` for the quiet ones (unattached, observer).
fn raft_role_words(
    role: broker_core::raft::Role,
    epoch: broker_core::LeaderEpoch,
) -> Option<String> {
    use broker_core::raft::Role;
    let what = match role {
        Role::Leader => format!("is the active controller (Raft leader of epoch {epoch})"),
        Role::Candidate => format!("campaigns for epoch {epoch}"),
        Role::Prospective => format!("asks for pre-votes (epoch {epoch})"),
        Role::Voted => format!("voted in epoch {epoch}"),
        Role::Follower => format!("follows the leader of epoch {epoch}"),
        Role::Resigned => format!("resigned as leader of epoch {epoch}"),
        Role::Unattached | Role::Observer => return None,
    };
    Some(what)
}

fn partitions(out: &mut impl Write, world: &World) -> io::Result<()> {
    writeln!(out, "Partitions at the end (like kcat -L)")?;
    if world.metadata().is_none() {
        return writeln!(out, "  the controller is down");
    }
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    for p in crate::final_state::partitions(world) {
        let tp = format!("{}-{}", p.topic, p.partition);
        let leader = p.leader.map_or("none".to_owned(), |l| l.to_string());
        let brokers: Vec<u32> = p.replicas.iter().map(|r| r.broker).collect();
        writeln!(
            out,
            "  {tp:<12} leader {leader:<4} epoch {:<3} replicas [{}]  isr [{}]",
            p.leader_epoch,
            list(&brokers),
            list(&p.isr)
        )?;
        for r in &p.replicas {
            let line = match (r.leo, r.hw, r.batches, r.log_start) {
                (Some(leo), Some(hw), Some(batches), Some(start)) => {
                    let storage = match (r.segments, r.records, r.bytes) {
                        (Some(s), Some(n), Some(b)) if start > 0 || s > 1 => {
                            format!(", log start {start}, {s} segment(s), {n} records, {b} bytes")
                        }
                        _ => String::new(),
                    };
                    format!("LEO {leo:<6} HW {hw:<6} {batches} batches{storage}")
                }
                _ => r.status.clone(),
            };
            writeln!(out, "      broker-{:<3} {line}", r.broker)?;
        }
    }
    Ok(())
}

fn clients(out: &mut impl Write, world: &World) -> io::Result<()> {
    writeln!(out, "Clients")?;
    let clients = crate::final_state::clients(world);
    for c in clients.iter().filter(|c| c.kind == ClientKind::Producer) {
        let failed: Vec<String> = c
            .counts
            .failed_by_error
            .iter()
            .map(|(e, n)| format!("{n} {e}"))
            .collect();
        let failed = if failed.is_empty() {
            "0".to_owned()
        } else {
            failed.join(", ")
        };
        writeln!(
            out,
            "  {:<13} sent {}, acknowledged {}, failed {failed}, unknown {}",
            c.name, c.counts.sent, c.counts.acknowledged, c.counts.unknown
        )?;
    }
    for c in clients.iter().filter(|c| c.kind == ClientKind::Consumer) {
        let mut line = format!("  {:<13} read {} records", c.name, c.counts.read);
        if c.counts.out_of_range_resets > 0 {
            line += &format!(
                ", reset {} time(s) after OFFSET_OUT_OF_RANGE",
                c.counts.out_of_range_resets
            );
        }
        if c.counts.truncations_detected > 0 {
            line += &format!(
                ", detected {} log truncation(s) below its position (KIP-320)",
                c.counts.truncations_detected
            );
        }
        writeln!(out, "{line}")?;
    }
    // Exceptions thrown to the application (`auto.offset.reset=none`, fatal group errors).
    for record in world.history() {
        let broker_core::HistoryEntry::ConsumerError { tp, error } = &record.entry else {
            continue;
        };
        let what = match tp {
            Some(tp) => format!(" on {tp}: it reads no more from there"),
            None => ": it stops consuming".to_owned(),
        };
        writeln!(out, "  {} threw {error}{what}", world.name(record.client))?;
    }
    Ok(())
}

/// Faults on a role nobody held: the run did not have them, and a clean verdict must not
/// seem to say it survived them.
fn missed_faults(out: &mut impl Write, world: &World) -> io::Result<()> {
    for entry in world.trace() {
        if let TraceKind::RoleResolved {
            fault,
            role,
            node: None,
        } = &entry.kind
        {
            writeln!(
                out,
                "  note: the {} of {role} at {} found nobody holding it and did nothing: this run did not have that fault",
                fault.as_str(),
                entry.time
            )?;
        }
    }
    Ok(())
}

fn findings(out: &mut impl Write, scenario: &Scenario, outcome: &Outcome) -> io::Result<()> {
    writeln!(out, "Findings")?;
    if let Some(cut) = outcome.world.cut_short() {
        writeln!(
            out,
            "  the run was cut short at {}: it did not reach its end, so nothing below is a pass",
            cut.at
        )?;
    }
    missed_faults(out, &outcome.world)?;
    if outcome.findings.is_empty() {
        writeln!(out, "  none: every acknowledged write is in the final log, replicas agree, the cluster recovered")?;
    }
    for f in &outcome.findings {
        let verdict = verdict_word(f.verdict);
        writeln!(
            out,
            "  ✗ {} ({verdict}) at {}: {}",
            f.kind, f.time, f.explanation
        )?;
        for record in f.records.iter().take(5) {
            writeln!(out, "      {record}")?;
        }
        if f.records.len() > 5 {
            writeln!(out, "      … and {} more", f.records.len() - 5)?;
        }
    }
    let names = |set: &std::collections::BTreeSet<sim::FindingKind>| {
        set.iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let verdict = match (outcome.truncated(), outcome.verdict) {
        (true, RunVerdict::NotJudged { .. }) => {
            "not judged (a --set changed the scenario); the run was cut short: exit status 1"
        }
        (true, _) => "NOT met (the run was cut short)",
        (false, RunVerdict::ExpectMet) => "met",
        (false, RunVerdict::ExpectNotMet) => "NOT met",
        (false, RunVerdict::NotJudged { no_violation: true }) => {
            "not judged: a --set changed what the scenario tests; no violation, exit status 0"
        }
        (false, RunVerdict::NotJudged { .. }) => {
            "not judged: a --set changed what the scenario tests; a violation, exit status 1"
        }
    };
    writeln!(
        out,
        "Expect: findings = [{}]; found [{}]: {verdict}",
        names(&scenario.expect.findings),
        names(&outcome.found)
    )
}

/// The `--set`s applied, as `KEY=VALUE`, for the JSON reports.
pub(crate) fn sets(scenario: &Scenario) -> Vec<String> {
    scenario
        .overrides
        .iter()
        .map(|o| format!("{}={}", o.key, o.value))
        .collect()
}

/// Whether `[expect]` was judged (no `--set` changed what the scenario runs).
pub(crate) fn expect_judged(outcome: &Outcome) -> bool {
    !matches!(outcome.verdict, RunVerdict::NotJudged { .. })
}

/// `expect_met` in JSON: `null` when `[expect]` was not judged.
pub(crate) fn expect_met_json(outcome: &Outcome) -> serde_json::Value {
    if expect_judged(outcome) {
        outcome.expect_met.into()
    } else {
        serde_json::Value::Null
    }
}

/// The word for the verdict on `[expect]`, for `--compare`'s table.
pub(crate) fn expect_word(outcome: &Outcome) -> &'static str {
    match outcome.verdict {
        RunVerdict::ExpectMet => "met",
        RunVerdict::ExpectNotMet => "NOT met",
        RunVerdict::NotJudged { .. } => "not judged",
    }
}
