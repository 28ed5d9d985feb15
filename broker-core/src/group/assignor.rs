//! The consumer's partition assignors (`partition.assignment.strategy`). In the classic group
//! protocol the group leader, a consumer, runs the assignor over every member's subscription and
//! sends the result through `SyncGroup`; the coordinator never looks inside.
//!
//! Every assignor is a pure function over ordered maps, so the same members and partitions give
//! the same assignment on every run.

use crate::protocol::Subscription;
use crate::types::{Topic, TopicPartition};
use std::collections::{BTreeMap, BTreeSet};

/// `partition.assignment.strategy`, by the short names Kafka's docs use.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    /// `RangeAssignor`: per topic, consecutive ranges of partitions (eager).
    Range,
    /// `RoundRobinAssignor`: all partitions dealt out in turn (eager).
    RoundRobin,
    /// `CooperativeStickyAssignor` (KIP-429): balanced, keeps what members own, and revokes
    /// only what moves.
    CooperativeSticky,
}

/// Who gets which partitions.
pub type Assignment = BTreeMap<String, Vec<TopicPartition>>;

impl Assignor {
    /// The protocol name in `JoinGroup` (Kafka's `ConsumerPartitionAssignor.name()`).
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The assignor of a protocol name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// Whether rebalances are cooperative (revoke only what moves) rather than eager (revoke
    /// everything before rejoining).
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }

    /// Assign the partitions of `partitions` (partition count per topic) to `members`.
    /// Every member appears in the result, possibly with nothing.
    pub fn assign(
        self,
        members: &BTreeMap<String, Subscription>,
        partitions: &BTreeMap<Topic, u32>,
    ) -> Assignment {
        let mut out: Assignment = members.keys().map(|m| (m.clone(), Vec::new())).collect();
        match self {
            Assignor::Range => range(members, partitions, &mut out),
            Assignor::RoundRobin => round_robin(members, partitions, &mut out),
            Assignor::CooperativeSticky => cooperative_sticky(members, partitions, &mut out),
        }
        for tps in out.values_mut() {
            tps.sort();
        }
        out
    }
}

/// The partitions of the topics some member subscribes to, in (topic, partition) order.
fn subscribed(
    members: &BTreeMap<String, Subscription>,
    partitions: &BTreeMap<Topic, u32>,
) -> Vec<TopicPartition> {
    let topics: BTreeSet<&Topic> = members.values().flat_map(|s| &s.topics).collect();
    topics
        .into_iter()
        .filter_map(|t| partitions.get(t).map(|n| (t, *n)))
        .flat_map(|(t, n)| (0..n).map(move |p| TopicPartition::new(t, p)))
        .collect()
}

/// `RangeAssignor.assign`: for each topic, its members in member-id order; the first
/// `partitions % members` get one partition more.
fn range(
    members: &BTreeMap<String, Subscription>,
    partitions: &BTreeMap<Topic, u32>,
    out: &mut Assignment,
) {
    for (topic, count) in partitions {
        let readers: Vec<&String> = members
            .iter()
            .filter(|(_, s)| s.topics.contains(topic))
            .map(|(m, _)| m)
            .collect();
        if readers.is_empty() {
            continue;
        }
        let (per, extra) = (
            *count as usize / readers.len(),
            *count as usize % readers.len(),
        );
        let mut next = 0u32;
        for (i, member) in readers.into_iter().enumerate() {
            let take = per + usize::from(i < extra);
            let tps = out.get_mut(member).expect("every member has an entry");
            tps.extend((next..next + take as u32).map(|p| TopicPartition::new(topic, p)));
            next += take as u32;
        }
    }
}

/// `RoundRobinAssignor.assign`: partitions in order, members in a circle, skipping members not
/// subscribed to the partition's topic.
fn round_robin(
    members: &BTreeMap<String, Subscription>,
    partitions: &BTreeMap<Topic, u32>,
    out: &mut Assignment,
) {
    let circle: Vec<(&String, &Subscription)> = members.iter().collect();
    let mut turn = 0;
    for tp in subscribed(members, partitions) {
        for _ in 0..circle.len() {
            let (member, subscription) = circle[turn % circle.len()];
            turn += 1;
            if subscription.topics.contains(&tp.topic) {
                out.get_mut(member).expect("entry").push(tp);
                break;
            }
        }
    }
}

/// `CooperativeStickyAssignor` (the constrained case of `AbstractStickyAssignor`: every member
/// subscribes to the same topics; with different subscriptions members still keep what they
/// own and receive only partitions of their topics). Steps:
/// 1. every member keeps the partitions it owns that still exist and it still subscribes to
///    (a partition claimed by two members stays with the first in member-id order);
/// 2. members over their quota (`⌈P/M⌉` for the first `P mod M` members, `⌊P/M⌋` for the rest)
///    give up their highest partitions;
/// 3. the unowned partitions go, one at a time, to the subscribed member with the fewest;
/// 4. KIP-429: a partition that moves away from its owner is left out of this generation;
///    the owner revokes it, rejoins, and the next rebalance hands it over.
fn cooperative_sticky(
    members: &BTreeMap<String, Subscription>,
    partitions: &BTreeMap<Topic, u32>,
    out: &mut Assignment,
) {
    let all = subscribed(members, partitions);
    let mut claimed: BTreeSet<&TopicPartition> = BTreeSet::new();
    for (member, s) in members {
        let keep = out.get_mut(member).expect("entry");
        for tp in &s.owned {
            if s.topics.contains(&tp.topic) && all.contains(tp) && claimed.insert(tp) {
                keep.push(tp.clone());
            }
        }
        keep.sort();
    }
    let quotas = quotas(all.len(), out);
    for (member, tps) in out.iter_mut() {
        tps.truncate(quotas[member]);
    }
    let taken: BTreeSet<TopicPartition> = out.values().flatten().cloned().collect();
    for tp in all.iter().filter(|tp| !taken.contains(*tp)) {
        let fewest = out
            .iter()
            .filter(|(m, _)| members[*m].topics.contains(&tp.topic))
            .min_by_key(|(m, tps)| (tps.len(), *m))
            .map(|(m, _)| m.clone());
        if let Some(member) = fewest {
            out.get_mut(&member).expect("entry").push(tp.clone());
        }
    }
    let owner: BTreeMap<&TopicPartition, &String> = members
        .iter()
        .flat_map(|(m, s)| s.owned.iter().map(move |tp| (tp, m)))
        .collect();
    for (member, tps) in out.iter_mut() {
        tps.retain(|tp| owner.get(tp).is_none_or(|o| *o == member));
    }
}

/// How many partitions each member may keep: members that own more get the larger quota first,
/// so as few partitions as possible move.
fn quotas(total: usize, owned: &Assignment) -> BTreeMap<String, usize> {
    let count = owned.len().max(1);
    let (low, mut high_slots) = (total / count, total % count);
    let mut by_owned: Vec<(&String, usize)> = owned.iter().map(|(m, t)| (m, t.len())).collect();
    by_owned.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    by_owned
        .into_iter()
        .map(|(member, has)| {
            let quota = if has > low && high_slots > 0 {
                high_slots -= 1;
                low + 1
            } else {
                low
            };
            (member.clone(), quota)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(name: &str) -> Topic {
        Topic::new(name)
    }

    fn tp(name: &str, p: u32) -> TopicPartition {
        TopicPartition::new(&topic(name), p)
    }

    fn members(names: &[&str], topics: &[&str]) -> BTreeMap<String, Subscription> {
        names
            .iter()
            .map(|n| {
                let s = Subscription {
                    topics: topics.iter().map(|t| topic(t)).collect(),
                    owned: Vec::new(),
                };
                ((*n).to_owned(), s)
            })
            .collect()
    }

    fn counts(p: &[(&str, u32)]) -> BTreeMap<Topic, u32> {
        p.iter().map(|(t, n)| (topic(t), *n)).collect()
    }

    fn show(a: &Assignment) -> Vec<String> {
        a.iter()
            .map(|(m, tps)| {
                let tps: Vec<String> = tps.iter().map(|t| t.to_string()).collect();
                format!("{m}: {}", tps.join(" "))
            })
            .collect()
    }

    #[test]
    fn range_gives_the_first_members_the_extra_partitions_per_topic() {
        let m = members(&["c1", "c2"], &["a", "b"]);
        let got = Assignor::Range.assign(&m, &counts(&[("a", 3), ("b", 3)]));
        // Range is per topic: c1 gets the extra partition of both topics (its known imbalance).
        assert_eq!(show(&got), ["c1: a-0 a-1 b-0 b-1", "c2: a-2 b-2"]);
    }

    #[test]
    fn round_robin_deals_across_topics() {
        let m = members(&["c1", "c2"], &["a", "b"]);
        let got = Assignor::RoundRobin.assign(&m, &counts(&[("a", 3), ("b", 3)]));
        assert_eq!(show(&got), ["c1: a-0 a-2 b-1", "c2: a-1 b-0 b-2"]);
    }

    #[test]
    fn more_members_than_partitions_leaves_some_idle() {
        let m = members(&["c1", "c2", "c3", "c4"], &["a"]);
        for assignor in [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ] {
            let got = assignor.assign(&m, &counts(&[("a", 3)]));
            let sizes: Vec<usize> = got.values().map(Vec::len).collect();
            assert_eq!(sizes.iter().sum::<usize>(), 3, "{assignor:?}");
            assert_eq!(sizes.iter().filter(|n| **n == 0).count(), 1, "{assignor:?}");
        }
    }

    #[test]
    fn sticky_keeps_owned_partitions_and_balances() {
        let mut m = members(&["c1", "c2", "c3"], &["a"]);
        m.get_mut("c1").unwrap().owned = vec![tp("a", 0), tp("a", 1), tp("a", 2)];
        m.get_mut("c2").unwrap().owned = vec![tp("a", 3), tp("a", 4), tp("a", 5)];
        let got = Assignor::CooperativeSticky.assign(&m, &counts(&[("a", 6)]));
        // c1 and c2 keep two each; a-2 and a-5 move to c3, so this generation revokes them
        // and gives c3 nothing yet (KIP-429's first of two rebalances).
        assert_eq!(show(&got), ["c1: a-0 a-1", "c2: a-3 a-4", "c3: "]);
        // The second rebalance: the owners no longer hold a-2 and a-5.
        m.get_mut("c1").unwrap().owned = vec![tp("a", 0), tp("a", 1)];
        m.get_mut("c2").unwrap().owned = vec![tp("a", 3), tp("a", 4)];
        let got = Assignor::CooperativeSticky.assign(&m, &counts(&[("a", 6)]));
        assert_eq!(show(&got), ["c1: a-0 a-1", "c2: a-3 a-4", "c3: a-2 a-5"]);
    }

    #[test]
    fn sticky_from_scratch_is_balanced_and_deterministic() {
        let m = members(&["c1", "c2"], &["a", "b"]);
        let parts = counts(&[("a", 3), ("b", 2)]);
        let got = Assignor::CooperativeSticky.assign(&m, &parts);
        assert_eq!(show(&got), ["c1: a-0 a-2 b-1", "c2: a-1 b-0"]);
        assert_eq!(got, Assignor::CooperativeSticky.assign(&m, &parts));
    }

    #[test]
    fn names_round_trip() {
        for a in [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::CooperativeSticky,
        ] {
            assert_eq!(Assignor::from_name(a.name()), Some(a));
        }
        assert_eq!(Assignor::from_name("sticky"), None);
    }
}
