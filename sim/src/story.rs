//! Telling a run's trace in words: faults and teaching events as the sentences `run --explain`
//! and the UI's "what just happened" panel (`e`) both print. One place for the wording.

use crate::spec::FaultAction;
use crate::world::World;
use broker_core::{BrokerId, Event, NodeId, TopicPartition, TruncationReason};

/// Broker ids as `1,2,3`.
pub fn ids(brokers: &[BrokerId]) -> String {
    brokers
        .iter()
        .map(|b| b.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// `, ELR [3]` when a partition has eligible leader replicas, else nothing.
pub fn elr_text(elr: &[BrokerId]) -> String {
    if elr.is_empty() {
        String::new()
    } else {
        format!(", ELR [{}]", ids(elr))
    }
}

/// What an election that may lose records says after its ISR, or nothing for a clean one.
pub fn election_note(unclean: bool, last_known_leader: bool) -> &'static str {
    match (unclean, last_known_leader) {
        (true, true) => "  the last known leader, with ISR and ELR empty: elected as before Kafka 4.0, not known to hold every committed record",
        (true, false) => "  UNCLEAN election: a replica outside the ISR",
        _ => "",
    }
}

/// A fault in words: `crash broker-1`, `network partition: broker-1 | broker-2, broker-3`.
pub fn describe_fault(world: &World, fault: &FaultAction) -> String {
    use FaultAction::*;
    let n = |id: &NodeId| world.name(*id).to_owned();
    match fault {
        Crash { target } => format!("crash {}", n(target)),
        PowerFail { target } => format!("power failure of {}", n(target)),
        Restart { target } => format!("restart {}", n(target)),
        Shutdown { target } => format!("controlled shutdown of {}", n(target)),
        Pause { target } => format!("pause {}", n(target)),
        Resume { target } => format!("resume {}", n(target)),
        Partition { sides } => {
            let sides: Vec<String> = sides
                .iter()
                .map(|s| s.iter().map(n).collect::<Vec<_>>().join(", "))
                .collect();
            format!("network partition: {}", sides.join(" | "))
        }
        Isolate { target } => format!("isolate {}", n(target)),
        Cut { from, to } => format!("cut link {} → {}", n(from), n(to)),
        Heal => "heal the network".to_owned(),
        Clog { target } => format!("clog {}", n(target)),
        Unclog { target } => format!("unclog {}", n(target)),
        Join { target } => format!("{} joins", n(target)),
        Leave { target } => format!("{} leaves (close: commit, LeaveGroup)", n(target)),
        Produce { target } => format!("{} sends one record by hand", n(target)),
        DeleteRecords { tp, to } => match to {
            broker_core::DeleteRecordsTo::HighWatermark => {
                format!("DeleteRecords {tp} up to its high watermark")
            }
            broker_core::DeleteRecordsTo::Offset(o) => {
                format!("DeleteRecords {tp} below offset {o}")
            }
        },
        OnRole { fault, role } => format!("{} {role}", fault.as_str()),
    }
}

/// The glyph a fault is drawn with: ⚡ only for a power failure (the lost power is the point),
/// ✖ for every other fault or action. The one place the report, `--explain` and the UI take it.
pub fn fault_glyph(fault: &FaultAction) -> &'static str {
    match fault {
        FaultAction::PowerFail { .. } => "⚡",
        FaultAction::OnRole {
            fault: crate::spec::RoleFault::PowerFail,
            ..
        } => "⚡",
        _ => "✖",
    }
}

/// Whether a fault touches a node `is_replica` accepts.
pub fn fault_touches(fault: &FaultAction, is_replica: &impl Fn(&NodeId) -> bool) -> bool {
    match fault {
        FaultAction::Crash { target }
        | FaultAction::PowerFail { target }
        | FaultAction::Restart { target }
        | FaultAction::Shutdown { target }
        | FaultAction::Pause { target }
        | FaultAction::Resume { target }
        | FaultAction::Isolate { target }
        | FaultAction::Clog { target }
        | FaultAction::Unclog { target } => is_replica(target),
        FaultAction::Cut { from, to } => is_replica(from) || is_replica(to),
        FaultAction::Partition { sides } => sides.iter().flatten().any(is_replica),
        FaultAction::Heal => true,
        _ => false,
    }
}

/// An event told in a line, if it concerns the partition `tp` (group changes concern every
/// partition).
pub fn tell_event(event: &Event, tp: &TopicPartition) -> Option<String> {
    Some(match event {
        Event::LeaderElected {
            tp: t,
            leader,
            leader_epoch,
            isr,
            unclean,
            last_known_leader,
            elr,
        } if t == tp => {
            let who = leader.map_or("no leader (offline)".to_owned(), |l| format!("broker-{l} elected"));
            let how = election_note(*unclean, *last_known_leader);
            format!("{who} in epoch {leader_epoch}, ISR [{}]{}{how}", ids(isr), elr_text(elr))
        }
        Event::BecameLeader {
            broker,
            tp: t,
            leader_epoch,
            log_end_offset,
            high_watermark,
        } if t == tp => format!(
            "broker-{broker} leads epoch {leader_epoch} with its log ending at {log_end_offset} (HW {high_watermark})"
        ),
        Event::IsrChanged { tp: t, isr, elr, .. } if t == tp => {
            format!("ISR is now [{}]{}", ids(isr), elr_text(elr))
        }
        Event::Truncated {
            broker,
            tp: t,
            from,
            to,
            reason,
        } if t == tp => format!("broker-{broker} truncated from {from} to {to} ({})", truncation(reason)),
        Event::GroupStateChanged {
            group,
            state,
            generation,
            members,
            ..
        } => format!("group {group}: {state:?}, generation {generation}, {members} member(s)"),
        Event::LogRecovered {
            broker,
            tp: t,
            log_end_offset,
            ..
        } if t == tp => format!("broker-{broker} recovered its log up to {log_end_offset} from disk"),
        _ => return None,
    })
}

/// Why a follower truncated, in words.
pub fn truncation(reason: &TruncationReason) -> &'static str {
    match reason {
        TruncationReason::HighWatermark => "pre-KIP-101: to its own high watermark",
        TruncationReason::OffsetOutOfRange => "its log ran past the leader's",
        TruncationReason::CorruptTail => "a torn batch after power loss",
        TruncationReason::BelowLogStart => "its log ended below the leader's log start",
        _ => "to where its log diverged from the leader's",
    }
}
