//! The `quorum` profile's budget for the controllers: at no instant may a majority of the
//! voters be out (crashed, powered off, paused, shut down, clogged, isolated, at an end of a
//! cut link, or off the side of a partition that holds a majority of them). Raft promises
//! progress only while a majority can talk; the profile tests what it promises.

use crate::format::{Fault, FaultAction};
use std::collections::BTreeSet;

fn is_voter(name: &str) -> bool {
    name.starts_with("controller-")
}

/// Whether `faults` (sorted by time) never leave a majority of `voters` out at once.
pub(super) fn minority_out(faults: &[Fault], voters: u32) -> bool {
    let mut down: BTreeSet<&str> = BTreeSet::new();
    let mut cut: BTreeSet<&str> = BTreeSet::new();
    for fault in faults {
        let target = fault.target.as_deref().filter(|t| is_voter(t));
        match (fault.action, target) {
            (
                FaultAction::Crash
                | FaultAction::PowerFail
                | FaultAction::Pause
                | FaultAction::Shutdown
                | FaultAction::Clog,
                Some(t),
            ) => {
                down.insert(t);
            }
            (FaultAction::Restart | FaultAction::Resume | FaultAction::Unclog, Some(t)) => {
                down.remove(t);
            }
            (FaultAction::Isolate, Some(t)) => {
                cut.insert(t);
            }
            (FaultAction::Cut, _) => {
                let ends = [&fault.from, &fault.to];
                cut.extend(
                    ends.into_iter()
                        .flatten()
                        .map(String::as_str)
                        .filter(|n| is_voter(n)),
                );
            }
            (FaultAction::Partition, _) => cut.extend(off_the_majority_side(fault)),
            (FaultAction::Heal, _) => cut.clear(),
            _ => {}
        }
        if 2 * down.union(&cut).count() >= voters as usize {
            return false;
        }
    }
    true
}

/// The voters of a partition's sides that are not on a side holding a strict majority of
/// the voters named.
fn off_the_majority_side(fault: &Fault) -> Vec<&str> {
    fn voters(side: &[String]) -> impl Iterator<Item = &str> {
        side.iter().map(String::as_str).filter(|n| is_voter(n))
    }
    let sides = fault.sides.as_deref().unwrap_or_default();
    let total: usize = sides.iter().map(|s| voters(s).count()).sum();
    sides
        .iter()
        .filter(|s| 2 * voters(s).count() <= total)
        .flat_map(|s| voters(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(at_ms: u64, action: FaultAction, target: &str) -> Fault {
        Fault {
            at_ms,
            action,
            target: Some(target.into()),
            sides: None,
            from: None,
            to: None,
            partition: None,
            offset: None,
        }
    }

    #[test]
    fn one_voter_of_three_out_at_a_time_holds_two_do_not() {
        let one_then_another = [
            fault(1, FaultAction::Crash, "controller-1"),
            fault(2, FaultAction::Restart, "controller-1"),
            fault(3, FaultAction::Pause, "controller-2"),
            fault(4, FaultAction::Crash, "broker-1"),
            fault(5, FaultAction::Crash, "broker-2"),
        ];
        assert!(minority_out(&one_then_another, 3));
        let two = [
            fault(1, FaultAction::Crash, "controller-1"),
            fault(3, FaultAction::Isolate, "controller-3"),
        ];
        assert!(!minority_out(&two, 3));
        assert!(minority_out(&two, 5), "two of five is a minority");
    }

    #[test]
    fn a_partition_puts_out_the_voters_off_the_majority_side() {
        let split = |sides: Vec<Vec<&str>>| Fault {
            at_ms: 1,
            action: FaultAction::Partition,
            target: None,
            sides: Some(
                sides
                    .into_iter()
                    .map(|s| s.into_iter().map(String::from).collect())
                    .collect(),
            ),
            from: None,
            to: None,
            partition: None,
            offset: None,
        };
        let minority = split(vec![
            vec!["controller-1", "broker-1"],
            vec!["controller-2", "controller-3"],
        ]);
        assert!(minority_out(std::slice::from_ref(&minority), 3));
        let with_a_crash = [fault(0, FaultAction::Crash, "controller-2"), minority];
        assert!(
            !minority_out(&with_a_crash, 3),
            "1 cut off + 1 crashed of 3"
        );
        let even = split(vec![
            vec!["controller-1", "controller-2"],
            vec!["controller-3", "controller-4"],
        ]);
        assert!(!minority_out(&[even], 4), "no side has a majority of four");
    }
}
