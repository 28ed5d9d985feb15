//! `controller-unavailable`: the controller quorum's liveness, timed as the run goes (issue 16:
//! "a majority back means a leader within the election timeout").
//!
//! From the moment a majority of the voters is up and mutually connected with no leader
//! among those that can commit ([`World::quorum_reach`] says both; nothing else derives
//! them), a leader must come within [`QuorumConfig::election_bound_ms`] (fetch timeout, two
//! election rounds and a backoff: 7 s with Kafka's defaults). Past the bound the finding is
//! pushed at once, at the instant the bound ran out, so a UI shows it while the quorum is
//! still leaderless; its explanation later says how long the wait lasted (a leader came, the
//! majority broke up, or the run ended first).
//!
//! The clock starts when both hold (a majority connected, no leader) and stops when either
//! ends; it is asked again after every fault, phase change, process stop and Raft role
//! change, the only things that change either ([`World::watch_quorum`]).

use crate::findings::Observer;
use crate::kind::FindingKind;
use crate::quorum::QuorumReach;
use crate::world::World;
use broker_core::raft::QuorumConfig;
use broker_core::{NodeId, Time};

/// The liveness clock of the quorum.
#[derive(Clone, Debug)]
pub(crate) struct LivenessWatch {
    bound_ms: u64,
    /// Since when a majority has been up and connected without a leader, and whom.
    waiting: Option<(Time, Vec<NodeId>)>,
    /// The finding pushed for the current wait (its index in the observer's findings).
    reported: Option<usize>,
}

/// How a late wait ended, for the finding's explanation.
enum Ended {
    Led(NodeId),
    MajorityLost,
}

impl LivenessWatch {
    pub(crate) fn new(config: &QuorumConfig) -> LivenessWatch {
        LivenessWatch {
            bound_ms: config.election_bound_ms(),
            waiting: None,
            reported: None,
        }
    }

    /// When the bound runs out, if the clock runs (the world asks before each event).
    pub(crate) fn deadline(&self) -> Option<Time> {
        match (&self.waiting, self.reported) {
            (Some((since, _)), None) => Some(since.plus_ms(self.bound_ms)),
            _ => None,
        }
    }
}

impl Observer {
    /// The quorum's reach changed (or may have): start, stop or keep the liveness clock.
    pub(crate) fn observe_reach(
        &mut self,
        now: Time,
        reach: QuorumReach,
        names: &dyn Fn(NodeId) -> String,
    ) {
        let ended = match (&reach.majority, reach.leader) {
            (_, Some(leader)) => Some(Ended::Led(leader)),
            (None, None) => Some(Ended::MajorityLost),
            (Some(majority), None) => {
                if self.liveness.waiting.is_none() {
                    self.liveness.waiting = Some((now, majority.clone()));
                }
                None
            }
        };
        if let Some(ended) = ended {
            if let (Some(index), Some((since, _))) =
                (self.liveness.reported.take(), self.liveness.waiting.take())
            {
                let end = match ended {
                    Ended::Led(leader) => format!("{} became the active controller", names(leader)),
                    Ended::MajorityLost => "the majority broke up again".to_owned(),
                };
                let took = now.ms_since(since);
                self.amend(
                    index,
                    &format!("; at {now}, {}s after, {end}", seconds(took)),
                );
            }
            self.liveness.waiting = None;
        }
    }

    /// The bound ran out at `at` (the world's next event is at or after it): the finding.
    pub(crate) fn liveness_overdue(&mut self, at: Time, names: &dyn Fn(NodeId) -> String) {
        let Some((since, majority)) = self.liveness.waiting.clone() else {
            return;
        };
        let who: Vec<String> = majority.into_iter().map(names).collect();
        let bound = self.liveness.bound_ms;
        let explanation = format!(
            "no active controller {}s after a majority of the voters ({}) was up and connected at {since}: a Raft election should take at most {}s with Kafka's defaults (controller.quorum.fetch.timeout.ms + two rounds of 2 × controller.quorum.election.timeout.ms + controller.quorum.election.backoff.max.ms)",
            seconds(bound),
            who.join(", "),
            seconds(bound),
        );
        self.push(
            at,
            FindingKind::ControllerUnavailable,
            explanation,
            None,
            vec![],
        );
        self.liveness.reported = Some(self.findings.len() - 1);
    }

    /// The run ended: a wait still open says so.
    pub(crate) fn liveness_at_end(&mut self, now: Time) {
        if let (Some(index), Some((since, _))) = (self.liveness.reported, &self.liveness.waiting) {
            let took = now.ms_since(*since);
            self.amend(
                index,
                &format!(
                    "; still none at the end of the run, {}s after",
                    seconds(took)
                ),
            );
        }
    }
}

impl World {
    /// Ask the quorum's reach again (after a fault, a phase change, a process stop or a role
    /// change): the liveness clock follows it.
    pub(crate) fn watch_quorum(&mut self) {
        let reach = self.quorum_reach();
        let names = self.names.clone();
        let name = |id: NodeId| names[&id].clone();
        self.observer.observe_reach(self.now(), reach, &name);
    }

    /// Before an event at `next`: the liveness bound ran out on the way there.
    pub(crate) fn check_liveness(&mut self, next: Time) {
        if let Some(deadline) = self.observer.liveness.deadline().filter(|d| *d <= next) {
            let names = self.names.clone();
            let name = |id: NodeId| names[&id].clone();
            self.observer.liveness_overdue(deadline, &name);
        }
    }
}

/// Milliseconds as seconds with three decimals.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1_000, ms % 1_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::WorldSpec;
    use broker_core::ControllerId;

    fn c(id: u32) -> NodeId {
        NodeId::Controller(ControllerId(id))
    }

    fn name(id: NodeId) -> String {
        match id {
            NodeId::Controller(c) => format!("controller-{c}"),
            other => format!("{other:?}"),
        }
    }

    fn observer() -> Observer {
        let cluster = broker_core::ClusterConfig::parse(&Default::default(), Default::default())
            .expect("defaults");
        Observer::new(&WorldSpec {
            seed: 1,
            brokers: 3,
            controllers: 3,
            cluster,
            topics: vec![],
            producers: vec![],
            consumers: vec![],
            network: crate::NetworkConfig {
                latency_ms: (1, 1),
                drop_rate: 0.0,
                duplicate_rate: 0.0,
            },
            disk: crate::spec::DiskConfig {
                write_latency_ms: (1, 1),
                fsync_latency_ms: (1, 1),
                flush_interval_ms: 1_000,
                tear_probability: 0.0,
            },
            faults: vec![],
            duration_ms: 1,
            drain_ms: 1,
            trace_messages: false,
            events_max: 1,
            still_events_max: 1,
        })
    }

    fn reach(majority: bool, leader: Option<NodeId>) -> QuorumReach {
        QuorumReach {
            majority: majority.then(|| vec![c(1), c(2)]),
            leader,
        }
    }

    /// Drive the watch as the world does: before each step, the deadline check.
    fn at(o: &mut Observer, now: u64, r: QuorumReach) {
        if let Some(d) = o.liveness.deadline().filter(|d| d.0 <= now) {
            o.liveness_overdue(d, &name);
        }
        o.observe_reach(Time(now), r, &name);
    }

    #[test]
    fn a_leader_within_the_bound_is_no_finding_one_past_it_is() {
        let bound = QuorumConfig::default().election_bound_ms();
        assert_eq!(bound, 7_000, "Kafka's defaults");
        let mut o = observer();
        at(&mut o, 10_000, reach(true, None));
        at(&mut o, 10_000 + bound - 1, reach(true, Some(c(2))));
        assert!(o.findings().is_empty(), "{:?}", o.findings());
        // A Raft that never elects: the majority stays connected, nobody leads.
        let mut o = observer();
        at(&mut o, 10_000, reach(true, None));
        at(&mut o, 12_000, reach(true, None)); // a role change, still no leader
        at(&mut o, 30_000, reach(true, Some(c(1))));
        let found = o.findings();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::ControllerUnavailable);
        assert_eq!(found[0].time, Time(17_000), "pushed when the bound ran out");
        let text = &found[0].explanation;
        assert!(text.contains("up and connected at 10.000s"), "{text}");
        assert!(
            text.contains("20.000s after, controller-1 became"),
            "{text}"
        );
    }

    #[test]
    fn the_clock_runs_only_while_a_majority_is_connected_without_a_leader() {
        let mut o = observer();
        // No majority for a long time: nothing is owed.
        at(&mut o, 0, reach(false, None));
        at(&mut o, 50_000, reach(false, None));
        // A majority, lost again before the bound, then back: the clock starts again.
        at(&mut o, 50_000, reach(true, None));
        at(&mut o, 55_000, reach(false, None));
        at(&mut o, 60_000, reach(true, None));
        at(&mut o, 66_000, reach(true, Some(c(1))));
        assert!(o.findings().is_empty(), "{:?}", o.findings());
        // Still waiting when the run ends.
        at(&mut o, 70_000, reach(false, Some(c(1))));
        at(&mut o, 80_000, reach(true, None));
        at(&mut o, 90_000, reach(true, None));
        o.liveness_at_end(Time(95_000));
        let found = o.findings();
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .explanation
                .contains("still none at the end of the run, 15.000s after"),
            "{}",
            found[0].explanation
        );
    }
}
