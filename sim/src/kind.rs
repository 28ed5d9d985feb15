//! The kinds of findings the checker reports (docs/scenario-format.md), as named in `[expect] findings`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of anomaly the checker can report. Written in kebab-case (`lost-write`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An acknowledged write that no final read can see.
    LostWrite,
    /// One value at two offsets.
    Duplicate,
    /// One offset, two values.
    InconsistentOffsets,
    /// A consumer's polls went backwards in offset.
    NonmonotonicPoll,
    /// A consumer's poll skipped offsets within one assignment.
    PollSkip,
    /// A producer's acknowledged offsets went backwards.
    NonmonotonicSend,
    /// Acknowledged, never consumed after the drain.
    Unseen,
    /// Replicas disagree below their high watermark.
    DivergentLogs,
    /// The committed offset of a partition went backwards.
    HwRegressed,
    /// Two brokers accepted writes in one leader epoch.
    TwoLeaders,
    /// The cluster did not recover in the drain phase.
    Stalled,
    /// A consumer group read a record again after a rebalance (at-least-once re-delivery:
    /// the record was processed but its offset not yet committed).
    Redelivery,
    /// An acknowledged record retention deleted (`retention.ms`, `retention.bytes`) before any
    /// consumer read it: Kafka's promise, not a loss. Always allowed.
    ExpiredUnread,
    /// An acknowledged record the log cleaner removed because a newer record of its key is in
    /// the log (`cleanup.policy=compact`): Kafka's promise, not a loss. Always allowed.
    Compacted,
    /// An acknowledged record whose topic was deleted (`DeleteTopics`) after it was written:
    /// gone with its topic, which is what deleting a topic promises.
    TopicDeleted,
    /// On a compacted topic, an acknowledged record is gone and no newer record of its key
    /// survives: compaction promises that the latest value of every key does.
    LatestValueLost,
    /// Two controllers became the active controller (Raft leader) in one epoch.
    TwoActiveControllers,
    /// Two voters' metadata logs differ below both their high watermarks.
    MetadataDivergence,
    /// A voter that was cut off came back with a higher epoch and made the healthy leader step
    /// down (no pre-vote, before KIP-996). Informational: always allowed.
    LeaderDeposedByRejoiningVoter,
    /// On a compacted topic, the latest acknowledged write of a key is a tombstone, the
    /// tombstone is gone, and an older value of the key is still in the log: a reader from the
    /// start sees the deleted key come back (the cleaner must remove the older values first).
    DeletedKeyResurrected,
    /// A broker became a partition's leader in an epoch no committed metadata record gave
    /// it, or a controller became the active one before a majority of the voters had reached
    /// its epoch: a leader change without a majority of the controllers.
    LeaderChangeWithoutQuorum,
    /// A majority of the controllers was up and connected, and no active controller came
    /// within the bound a Raft election takes with Kafka's defaults.
    ControllerUnavailable,
    /// The run stopped before its end (simulated time stood still, or the event cap was hit):
    /// nothing about it can be judged, so it is never a pass and never allowed.
    Livelock,
}

impl FindingKind {
    /// Every kind, in declaration order.
    pub const ALL: [FindingKind; 23] = [
        FindingKind::LostWrite,
        FindingKind::Duplicate,
        FindingKind::InconsistentOffsets,
        FindingKind::NonmonotonicPoll,
        FindingKind::PollSkip,
        FindingKind::NonmonotonicSend,
        FindingKind::Unseen,
        FindingKind::DivergentLogs,
        FindingKind::HwRegressed,
        FindingKind::TwoLeaders,
        FindingKind::Stalled,
        FindingKind::Redelivery,
        FindingKind::ExpiredUnread,
        FindingKind::Compacted,
        FindingKind::TopicDeleted,
        FindingKind::LatestValueLost,
        FindingKind::TwoActiveControllers,
        FindingKind::MetadataDivergence,
        FindingKind::LeaderDeposedByRejoiningVoter,
        FindingKind::DeletedKeyResurrected,
        FindingKind::LeaderChangeWithoutQuorum,
        FindingKind::ControllerUnavailable,
        FindingKind::Livelock,
    ];

    /// The kebab-case name, as written in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::LostWrite => "lost-write",
            FindingKind::Duplicate => "duplicate",
            FindingKind::InconsistentOffsets => "inconsistent-offsets",
            FindingKind::NonmonotonicPoll => "nonmonotonic-poll",
            FindingKind::PollSkip => "poll-skip",
            FindingKind::NonmonotonicSend => "nonmonotonic-send",
            FindingKind::Unseen => "unseen",
            FindingKind::DivergentLogs => "divergent-logs",
            FindingKind::HwRegressed => "hw-regressed",
            FindingKind::TwoLeaders => "two-leaders",
            FindingKind::Stalled => "stalled",
            FindingKind::Redelivery => "redelivery",
            FindingKind::ExpiredUnread => "expired-unread",
            FindingKind::Compacted => "compacted",
            FindingKind::TopicDeleted => "topic-deleted",
            FindingKind::LatestValueLost => "latest-value-lost",
            FindingKind::TwoActiveControllers => "two-active-controllers",
            FindingKind::MetadataDivergence => "metadata-divergence",
            FindingKind::LeaderDeposedByRejoiningVoter => "leader-deposed-by-rejoining-voter",
            FindingKind::DeletedKeyResurrected => "deleted-key-resurrected",
            FindingKind::LeaderChangeWithoutQuorum => "leader-change-without-quorum",
            FindingKind::ControllerUnavailable => "controller-unavailable",
            FindingKind::Livelock => "livelock",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FindingKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown finding kind \"{s}\" (kinds: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_serde() {
        for kind in FindingKind::ALL {
            let value = serde_json::to_value(kind).unwrap();
            assert_eq!(value.as_str(), Some(kind.as_str()));
            assert_eq!(kind.as_str().parse::<FindingKind>(), Ok(kind));
        }
        assert!("lost"
            .parse::<FindingKind>()
            .unwrap_err()
            .contains("lost-write"));
    }
}
