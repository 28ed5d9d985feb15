//! The fault budget: the one definition of the faults the protocol claims to survive, used by
//! the judge (`Promises`) and by the swarm generator (`kafka-lab check`), so that a `safe` sweep
//! never draws a case its own judge calls beyond budget.
//!
//! The rule: while any broker's unflushed writes are gone (it lost power and has not been back
//! in sync since), at most `RF − min.insync.replicas` brokers (the smallest over the topics) may
//! be impaired at once. Crashes keep the page cache and are free on their own; but a broker that
//! lost power while the other replicas were down, paused or cut off may be the last ISR member
//! standing, and once the ISR and KIP-966's ELR are empty the controller elects the last known
//! leader with its log cut short (`check --profile beyond-budget`).
//!
//! A broker is *impaired* while it is crashed, shut down, paused, without power, isolated, on the
//! far side of a partition from the controller, clogged, or at one end of a cut link, and for
//! [`FaultBudget::catch_up_ms`] after that ends: a broker that restarts (or wakes up, or is
//! reachable again) is out of the ISR until it has fetched what it missed, so it is not yet a
//! replica the cluster can count on. A broker that lost power stays power-failed for as long.

use crate::spec::{FaultAction, FaultSpec, Role, RoleFault, WorldSpec};
use broker_core::NodeId;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The fault budget of a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultBudget {
    /// Brokers that may be impaired together while one has lost power: the smallest
    /// `RF − min.insync.replicas` over the topics.
    pub allowed: usize,
    /// How long a broker stays impaired after its fault ends, while it catches up:
    /// 2 × `replica.lag.time.max.ms`. The leader gives a follower that long to fall out of the
    /// ISR; a restarted one needs its broker registration, then its fetches, to get back in. A
    /// conservative bound, not a measurement: the swarm's 20 s (with 10 s lag) held over
    /// thousands of seeds.
    pub catch_up_ms: u64,
}

/// What the budget counts as one broker: a node, or the broker a role's `n`-th fault hit
/// (`leader:orders-0`, known only when the fault happens). A role's hit is counted apart from
/// every node and from its other hits, so the budget may count one broker twice but never
/// misses one; its `restart`/`resume`/`unclog` end its latest hit, as the world does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// A node named in the schedule.
    Node(NodeId),
    /// The holder of a role at its `n`-th fault (from 1).
    Role(Role, u32),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Node(node) => write!(f, "{node}"),
            Subject::Role(role, n) => write!(f, "{role} (its holder at that role's fault #{n})"),
        }
    }
}

/// The first moment a fault schedule goes beyond its budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Breach {
    /// When (ms).
    pub at_ms: u64,
    /// Brokers without their unflushed writes.
    pub power_failed: BTreeSet<Subject>,
    /// Brokers impaired at that moment (power-failed ones included).
    pub impaired: BTreeSet<Subject>,
    /// What the budget allowed.
    pub allowed: usize,
}

impl fmt::Display for Breach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = |s: &BTreeSet<Subject>| s.iter().map(ToString::to_string).collect::<Vec<_>>();
        write!(
            f,
            "at {} ms {} had lost power (and its unflushed writes) while {} brokers were out or catching up ({}), more than RF - min.insync.replicas = {}",
            self.at_ms,
            names(&self.power_failed).join(", "),
            self.impaired.len(),
            names(&self.impaired).join(", "),
            self.allowed
        )
    }
}

impl FaultBudget {
    /// The budget of a spec's topics and cluster configuration.
    pub fn of(spec: &WorldSpec) -> FaultBudget {
        let allowed = spec
            .topics
            .iter()
            .map(|t| {
                t.replication_factor()
                    .saturating_sub(t.config.min_insync_replicas)
            })
            .min()
            .unwrap_or(0) as usize;
        FaultBudget {
            allowed,
            catch_up_ms: 2 * spec.cluster.replica_lag_time_max_ms,
        }
    }

    /// The first moment `faults` (in any order) go beyond the budget, if any.
    pub fn breach(&self, faults: &[FaultSpec]) -> Option<Breach> {
        let mut faults: Vec<&FaultSpec> = faults.iter().collect();
        faults.sort_by_key(|f| f.at_ms);
        let mut out = Outages::default();
        for fault in faults {
            out.expire(fault.at_ms);
            out.apply(fault.at_ms, self.catch_up_ms, &fault.action);
            let impaired = out.impaired();
            if !out.power_failed.is_empty() && impaired.len() > self.allowed {
                return Some(Breach {
                    at_ms: fault.at_ms,
                    power_failed: out.power_failed.keys().cloned().collect(),
                    impaired,
                    allowed: self.allowed,
                });
            }
        }
        None
    }

    /// Whether `faults` stay within the budget.
    pub fn holds(&self, faults: &[FaultSpec]) -> bool {
        self.breach(faults).is_none()
    }
}

/// Until when a broker stays in a state: `None` while its fault lasts, then the end of its
/// catch-up.
type Until = Option<u64>;

/// Which brokers a fault schedule has out at a point in time.
#[derive(Default)]
struct Outages {
    /// Crashed, shut down, paused or without power; then catching up.
    down: BTreeMap<Subject, Until>,
    /// Without power since their last restart, then catching up: their unflushed writes are gone.
    power_failed: BTreeMap<Subject, Until>,
    /// Isolated, on the other side of a partition from the controller, clogged or at one end of
    /// a cut link; then catching up.
    cut_off: BTreeMap<Subject, Until>,
    /// Faults so far per role.
    role_hits: BTreeMap<Role, u32>,
}

impl Outages {
    fn impaired(&self) -> BTreeSet<Subject> {
        let all = [&self.down, &self.power_failed, &self.cut_off];
        all.into_iter().flat_map(|m| m.keys().cloned()).collect()
    }

    /// Forget what has caught up by `now`.
    fn expire(&mut self, now: u64) {
        for map in [&mut self.down, &mut self.power_failed, &mut self.cut_off] {
            map.retain(|_, until| until.is_none_or(|u| u > now));
        }
    }

    fn apply(&mut self, now: u64, catch_up_ms: u64, action: &FaultAction) {
        if let FaultAction::OnRole { fault, role } = action {
            return self.apply_on_role(now, catch_up_ms, *fault, role);
        }
        let subject = |t: &NodeId| matches!(t, NodeId::Broker(_)).then_some(Subject::Node(*t));
        match action {
            FaultAction::Crash { target }
            | FaultAction::Shutdown { target }
            | FaultAction::Pause { target }
            | FaultAction::PowerFail { target }
            | FaultAction::Restart { target }
            | FaultAction::Resume { target }
            | FaultAction::Isolate { target }
            | FaultAction::Clog { target }
            | FaultAction::Unclog { target } => {
                if let (Some(subject), Some(fault)) = (subject(target), role_fault(action)) {
                    self.apply_to(now, catch_up_ms, fault, subject);
                }
            }
            FaultAction::Cut { from, to } => {
                for t in [from, to].into_iter().filter_map(subject) {
                    self.cut_off.insert(t, None);
                }
            }
            FaultAction::Partition { sides } => {
                // The active controller can only be on the side with a majority of the
                // controllers (with one, the side that holds it); every other side is cut off.
                let voters = |s: &Vec<NodeId>| {
                    s.iter()
                        .filter(|n| matches!(n, NodeId::Controller(_)))
                        .count()
                };
                let total: usize = sides.iter().map(voters).sum();
                let controller_side = sides.iter().find(|s| 2 * voters(s) > total);
                for side in sides.iter().filter(|s| Some(*s) != controller_side) {
                    for t in side.iter().filter_map(subject) {
                        self.cut_off.insert(t, None);
                    }
                }
            }
            FaultAction::Heal => {
                for until in self.cut_off.values_mut().filter(|u| u.is_none()) {
                    *until = Some(now + catch_up_ms);
                }
            }
            _ => {}
        }
    }

    /// A role's fault hits a broker of its own (`Subject::Role`); an undoing fault ends its
    /// latest. The active controller is not a broker, so its faults count as a controller's.
    fn apply_on_role(&mut self, now: u64, catch_up_ms: u64, fault: RoleFault, role: &Role) {
        if *role == Role::ActiveController {
            return;
        }
        let hits = self.role_hits.entry(role.clone()).or_default();
        if !fault.undoes() {
            *hits += 1;
        }
        if *hits > 0 {
            let subject = Subject::Role(role.clone(), *hits);
            self.apply_to(now, catch_up_ms, fault, subject);
        }
    }

    /// A process or link fault on one broker.
    fn apply_to(&mut self, now: u64, catch_up_ms: u64, fault: RoleFault, subject: Subject) {
        let back = Some(now + catch_up_ms);
        let recover = |map: &mut BTreeMap<Subject, Until>, target: &Subject| {
            if let Some(until) = map.get_mut(target) {
                *until = back;
            }
        };
        match fault {
            RoleFault::Crash | RoleFault::Shutdown | RoleFault::Pause => {
                self.down.insert(subject, None);
            }
            RoleFault::PowerFail => {
                self.down.insert(subject.clone(), None);
                self.power_failed.insert(subject, None);
            }
            RoleFault::Restart => {
                recover(&mut self.down, &subject);
                recover(&mut self.power_failed, &subject);
            }
            RoleFault::Resume => recover(&mut self.down, &subject),
            RoleFault::Isolate | RoleFault::Clog => {
                self.cut_off.insert(subject, None);
            }
            RoleFault::Unclog => recover(&mut self.cut_off, &subject),
        }
    }
}

/// The process or link fault a node fault is (`None` for the others).
fn role_fault(action: &FaultAction) -> Option<RoleFault> {
    Some(match action {
        FaultAction::Crash { .. } => RoleFault::Crash,
        FaultAction::PowerFail { .. } => RoleFault::PowerFail,
        FaultAction::Restart { .. } => RoleFault::Restart,
        FaultAction::Shutdown { .. } => RoleFault::Shutdown,
        FaultAction::Pause { .. } => RoleFault::Pause,
        FaultAction::Resume { .. } => RoleFault::Resume,
        FaultAction::Isolate { .. } => RoleFault::Isolate,
        FaultAction::Clog { .. } => RoleFault::Clog,
        FaultAction::Unclog { .. } => RoleFault::Unclog,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use broker_core::BrokerId;

    fn b(n: u32) -> NodeId {
        NodeId::Broker(BrokerId(n))
    }

    fn nodes(brokers: &[u32]) -> BTreeSet<Subject> {
        brokers.iter().map(|n| Subject::Node(b(*n))).collect()
    }

    fn at(at_ms: u64, action: FaultAction) -> FaultSpec {
        FaultSpec { at_ms, action }
    }

    /// RF 3, min ISR 2: one broker may be out while one has lost power; 20 s to catch up.
    const BUDGET: FaultBudget = FaultBudget {
        allowed: 1,
        catch_up_ms: 20_000,
    };

    #[test]
    fn one_power_failure_alone_is_within_budget() {
        let faults = [
            at(1_000, FaultAction::PowerFail { target: b(1) }),
            at(5_000, FaultAction::Restart { target: b(1) }),
        ];
        assert!(BUDGET.holds(&faults));
    }

    #[test]
    fn crashes_alone_are_free_even_all_together() {
        let faults: Vec<FaultSpec> = (1..=3)
            .map(|n| at(1_000, FaultAction::Crash { target: b(n) }))
            .collect();
        assert!(BUDGET.holds(&faults));
    }

    #[test]
    fn a_power_failure_while_another_broker_is_down_breaks_it() {
        let faults = [
            at(1_000, FaultAction::Crash { target: b(2) }),
            at(2_000, FaultAction::PowerFail { target: b(1) }),
        ];
        let breach = BUDGET.breach(&faults).expect("beyond budget");
        assert_eq!(breach.at_ms, 2_000);
        assert_eq!(breach.impaired, nodes(&[1, 2]));
        assert_eq!(breach.power_failed, nodes(&[1]));
    }

    #[test]
    fn a_restarted_broker_is_out_until_it_has_caught_up() {
        // broker-2 restarts at 3 s: at 10 s it is still catching up, at 30 s it is back.
        let schedule = |power_fail_ms| {
            [
                at(1_000, FaultAction::Crash { target: b(2) }),
                at(3_000, FaultAction::Restart { target: b(2) }),
                at(power_fail_ms, FaultAction::PowerFail { target: b(1) }),
            ]
        };
        assert!(!BUDGET.holds(&schedule(10_000)));
        assert!(BUDGET.holds(&schedule(30_000)));
    }

    #[test]
    fn a_power_failed_broker_that_restarted_still_lacks_its_writes_while_catching_up() {
        let schedule = |crash_ms| {
            [
                at(1_000, FaultAction::PowerFail { target: b(1) }),
                at(2_000, FaultAction::Restart { target: b(1) }),
                at(crash_ms, FaultAction::Crash { target: b(2) }),
            ]
        };
        assert!(!BUDGET.holds(&schedule(15_000)));
        assert!(BUDGET.holds(&schedule(25_000)));
    }

    #[test]
    fn a_partition_cuts_off_the_side_without_the_controller_until_healed_and_caught_up() {
        let sides = vec![vec![b(1), crate::CONTROLLER], vec![b(2), b(3)]];
        let faults = [
            at(1_000, FaultAction::Partition { sides }),
            at(2_000, FaultAction::Heal),
            at(3_000, FaultAction::PowerFail { target: b(1) }),
        ];
        let breach = BUDGET.breach(&faults).expect("b2, b3 still catching up");
        assert_eq!(breach.impaired, nodes(&[1, 2, 3]));
    }

    fn leader(topic: &str, partition: u32) -> Role {
        Role::Leader {
            tp: broker_core::TopicPartition::new(&broker_core::Topic::new(topic), partition),
        }
    }

    fn on(fault: RoleFault, role: Role) -> FaultAction {
        FaultAction::OnRole { fault, role }
    }

    /// Who a role's fault hits is known only in the run: each hit counts as a broker of its
    /// own, so a power failure of one leader while another is down is beyond the budget even
    /// if both were the same broker (never fewer than the real count).
    #[test]
    fn each_fault_on_a_role_counts_as_a_broker_of_its_own() {
        let faults = [
            at(1_000, on(RoleFault::Crash, leader("t", 0))),
            at(2_000, on(RoleFault::PowerFail, leader("t", 1))),
        ];
        let breach = BUDGET
            .breach(&faults)
            .expect("two brokers out, one without power");
        let power_failed = Subject::Role(leader("t", 1), 1);
        assert_eq!(breach.power_failed, [power_failed].into());
        assert_eq!(breach.impaired.len(), 2);
        let twice = [
            at(1_000, on(RoleFault::Crash, leader("t", 0))),
            at(2_000, on(RoleFault::PowerFail, leader("t", 0))),
        ];
        assert!(!BUDGET.holds(&twice), "the second hit is the new leader");
    }

    /// "Bounce the leader": the restart ends the hit of the role's last fault, which then
    /// catches up; a power failure after that is within budget.
    #[test]
    fn a_restart_of_a_role_ends_its_last_hit() {
        let schedule = |power_fail_ms| {
            [
                at(1_000, on(RoleFault::Crash, leader("t", 0))),
                at(2_000, on(RoleFault::Restart, leader("t", 0))),
                at(power_fail_ms, FaultAction::PowerFail { target: b(1) }),
            ]
        };
        assert!(!BUDGET.holds(&schedule(10_000)), "still catching up");
        assert!(BUDGET.holds(&schedule(30_000)));
        let controller = [
            at(1_000, on(RoleFault::Crash, Role::ActiveController)),
            at(2_000, FaultAction::PowerFail { target: b(1) }),
        ];
        assert!(BUDGET.holds(&controller), "the controller is not a broker");
    }

    #[test]
    fn faults_on_clients_and_the_controller_do_not_count() {
        let faults = [
            at(
                1_000,
                FaultAction::Pause {
                    target: crate::CONTROLLER,
                },
            ),
            at(2_000, FaultAction::PowerFail { target: b(1) }),
        ];
        assert!(BUDGET.holds(&faults));
    }
}
