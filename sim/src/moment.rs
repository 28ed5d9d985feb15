//! Which moments of a run a class should stop at: the one place that classifies trace entries
//! for a UI's "next" keys (the tui's `n` and `N`), so no view re-derives it.

use crate::spec::FaultAction;
use crate::trace::{TraceEntry, TraceKind};
use crate::world::World;
use broker_core::group::GroupState;
use broker_core::{Event, Time};

/// A moment worth a jump.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Moment {
    /// A fault or a hand-made action (crash, restart, cut, produce one...).
    Fault,
    /// The controller fenced a broker (its heartbeats stopped).
    Fencing,
    /// A partition got a leader in a new epoch, or lost its leader.
    Election,
    /// The controller committed a new ISR (shrink or expand).
    IsrChange,
    /// A replica cut the end of its log.
    Truncation,
    /// A group began a rebalance.
    Rebalance,
    /// Retention deleted whole segments: the log start moved, read or not.
    Retention,
    /// The observer found a broken promise (a lost or duplicated record...).
    Finding,
    /// A high watermark moved: frequent, so it has its own key, not `n`'s.
    HwMove,
}

impl Moment {
    /// What `n` stops at: everything but a high-watermark move.
    pub fn is_notable(self) -> bool {
        self != Moment::HwMove
    }

    /// A word or two for the user.
    pub fn label(self) -> &'static str {
        match self {
            Moment::Fault => "fault",
            Moment::Fencing => "broker fenced",
            Moment::Election => "leader election",
            Moment::IsrChange => "ISR change",
            Moment::Truncation => "truncation",
            Moment::Rebalance => "rebalance",
            Moment::Retention => "retention",
            Moment::Finding => "finding",
            Moment::HwMove => "HW move",
        }
    }
}

impl TraceEntry {
    /// The moment this entry is, if any. The world's start (it restarts every server at t=0)
    /// is not a fault; broker-side echoes of the controller's decisions (`BecameLeader`) are
    /// not moments of their own, the decision is.
    pub fn moment(&self) -> Option<Moment> {
        match &self.kind {
            TraceKind::Fault {
                fault: FaultAction::Restart { .. },
            } if self.time == Time(0) => None,
            TraceKind::Fault { .. } => Some(Moment::Fault),
            TraceKind::Event { event } => event_moment(event),
            _ => None,
        }
    }
}

fn event_moment(event: &Event) -> Option<Moment> {
    match event {
        Event::BrokerFenced { .. } => Some(Moment::Fencing),
        Event::LeaderElected { .. } => Some(Moment::Election),
        Event::IsrChanged { .. } => Some(Moment::IsrChange),
        Event::Truncated { .. } => Some(Moment::Truncation),
        Event::GroupStateChanged {
            state: GroupState::PreparingRebalance,
            ..
        } => Some(Moment::Rebalance),
        Event::SegmentsDeleted { .. } | Event::RecordsDeleted { .. } => Some(Moment::Retention),
        Event::HighWatermarkAdvanced { .. } => Some(Moment::HwMove),
        _ => None,
    }
}

/// A place in a run, to ask later what happened since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark {
    trace: usize,
    findings: usize,
}

impl World {
    /// Where the run is now.
    pub fn mark(&self) -> Mark {
        Mark {
            trace: self.trace().len(),
            findings: self.observer().findings().len(),
        }
    }

    /// The trace entries since `mark`.
    pub fn trace_since(&self, mark: Mark) -> &[TraceEntry] {
        self.trace().get(mark.trace..).unwrap_or_default()
    }

    /// The first moment matching `wanted` since `mark` (a new finding first: it matters most),
    /// with the trace entry that made it, if any.
    pub fn moment_since(
        &self,
        mark: Mark,
        wanted: impl Fn(Moment) -> bool,
    ) -> Option<(Moment, Option<&TraceEntry>)> {
        if self.observer().findings().len() > mark.findings && wanted(Moment::Finding) {
            return Some((Moment::Finding, None));
        }
        self.trace_since(mark)
            .iter()
            .find_map(|e| e.moment().filter(|m| wanted(*m)).map(|m| (m, Some(e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::{BrokerId, NodeId, Offset, TopicPartition};

    fn entry(time: u64, kind: TraceKind) -> TraceEntry {
        TraceEntry {
            time: Time(time),
            node: None,
            kind,
        }
    }

    #[test]
    fn startup_restarts_and_hw_moves_are_not_notable_but_crashes_and_elections_are() {
        let broker = NodeId::Broker(BrokerId(1));
        let restart = |t| {
            entry(
                t,
                TraceKind::Fault {
                    fault: FaultAction::Restart { target: broker },
                },
            )
        };
        assert_eq!(restart(0).moment(), None, "the world starting its servers");
        assert_eq!(restart(25_000).moment(), Some(Moment::Fault));
        let tp = TopicPartition::new(&broker_core::Topic::new("orders"), 0);
        let hw = entry(
            5,
            TraceKind::Event {
                event: Event::HighWatermarkAdvanced {
                    broker: BrokerId(1),
                    tp: tp.clone(),
                    high_watermark: Offset(3),
                },
            },
        );
        assert_eq!(hw.moment(), Some(Moment::HwMove));
        assert!(!Moment::HwMove.is_notable());
        let fenced = entry(
            5,
            TraceKind::Event {
                event: Event::BrokerFenced {
                    broker: BrokerId(1),
                    reason: String::new(),
                },
            },
        );
        assert!(fenced.moment().is_some_and(Moment::is_notable));
        let became = entry(
            5,
            TraceKind::Event {
                event: Event::BecameLeader {
                    broker: BrokerId(2),
                    tp,
                    leader_epoch: broker_core::LeaderEpoch(1),
                    log_end_offset: Offset(0),
                    high_watermark: Offset(0),
                },
            },
        );
        assert_eq!(
            became.moment(),
            None,
            "the controller's election is the moment"
        );
    }
}
