//! Swarm profiles: the configuration a seed runs under, the faults it may draw, and the anomaly
//! the profile exists to find (README's table of `check` profiles, one row per profile).

use sim::FindingKind;
use std::fmt;
use std::str::FromStr;

/// A family of configurations and fault schedules for `kafka-lab check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Profile {
    /// acks=all, min ISR 2, RF 3, idempotence, clean elections, today's protocol, faults within
    /// budget: must find no violation.
    Safe,
    /// acks=1: the leader acknowledges before followers have the record.
    Acks1,
    /// acks=0: the producer never hears back.
    Acks0,
    /// Retries without idempotence, over a lossy network.
    NoIdempotence,
    /// `unclean.leader.election.enable=true` with min ISR 1.
    Unclean,
    /// The pre-KIP-101 protocol: followers truncate to their high watermark.
    HwTruncation,
    /// Power failure of every replica at once: more than RF − min ISR lose unflushed data.
    BeyondBudget,
    /// `safe`, read by a consumer group: members crash, restart, pause, leave and join, and
    /// broker faults move the coordinator. At-least-once must hold for the group as one reader.
    Groups,
    /// `safe` on three KRaft controllers whose voters crash, lose power, pause and are cut off
    /// too, never more than a minority at once: no violation.
    Quorum,
    /// `quorum`, plus a majority of the voters out for a while: nothing can change in the
    /// metadata then, and nothing committed may be lost; the drain brings them back.
    QuorumLost,
}

/// What a profile may draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultMix {
    /// Crash and restart brokers (the page cache survives).
    pub crash: bool,
    /// Power-fail one broker at a time (what it had not flushed is gone).
    pub power_fail: bool,
    /// Power-fail every broker at once (beyond the budget).
    pub power_fail_all: bool,
    /// Controlled shutdown and restart.
    pub shutdown: bool,
    /// Pause and resume (a zombie).
    pub pause: bool,
    /// Clog and unclog a node's links.
    pub clog: bool,
    /// Isolate a node, cut one link one way, or split the cluster in two.
    pub network: bool,
    /// Faults on the controller too.
    pub controller: bool,
    /// The highest random drop rate, in per mille.
    pub drop_per_mille_max: u32,
    /// Faults on the consumers of a group (crash, pause, leave and join...).
    pub consumers: bool,
    /// Faults on each voter of a three-controller quorum (at most a minority at once, unless
    /// `majority_lost`).
    pub voters: bool,
    /// One episode takes a majority of the voters out.
    pub majority_lost: bool,
}

impl Profile {
    /// Every profile, in the order `--help` lists them.
    pub const ALL: [Profile; 10] = [
        Profile::Safe,
        Profile::Acks1,
        Profile::Acks0,
        Profile::NoIdempotence,
        Profile::Unclean,
        Profile::HwTruncation,
        Profile::BeyondBudget,
        Profile::Groups,
        Profile::Quorum,
        Profile::QuorumLost,
    ];

    /// The name used on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Safe => "safe",
            Profile::Acks1 => "acks1",
            Profile::Acks0 => "acks0",
            Profile::NoIdempotence => "no-idempotence",
            Profile::Unclean => "unclean",
            Profile::HwTruncation => "hw-truncation",
            Profile::BeyondBudget => "beyond-budget",
            Profile::Groups => "groups",
            Profile::Quorum => "quorum",
            Profile::QuorumLost => "quorum-lost",
        }
    }

    /// One line on what the profile tests.
    pub fn summary(self) -> &'static str {
        match self {
            Profile::Safe => "acks=all, min ISR 2, RF 3, idempotence, clean elections, faults within budget: no violation allowed",
            Profile::Acks1 => "acks=1: acknowledged writes may be lost on failover",
            Profile::Acks0 => "acks=0: the producer never learns whether a write landed",
            Profile::NoIdempotence => "retries without idempotence over a lossy network: duplicates",
            Profile::Unclean => "unclean leader election with min ISR 1: committed writes may be lost",
            Profile::HwTruncation => "pre-KIP-101 truncation to the high watermark: committed writes may be lost",
            Profile::BeyondBudget => "every replica loses power at once: unflushed acknowledged writes are gone",
            Profile::Groups => "safe, read by a consumer group whose members crash, pause, leave and join: at-least-once for the group",
            Profile::Quorum => "safe on 3 KRaft controllers, a minority of them crashed, paused, powered off or cut off at once: no violation allowed",
            Profile::QuorumLost => "quorum, and a majority of the controllers out for a while: nothing committed lost, no violation allowed",
        }
    }

    /// The anomalies this profile exists to find (allowed under it, never under `safe`).
    pub fn targets(self) -> &'static [FindingKind] {
        match self {
            Profile::Safe | Profile::Groups | Profile::Quorum | Profile::QuorumLost => &[],
            Profile::NoIdempotence => &[FindingKind::Duplicate],
            Profile::Acks1
            | Profile::Acks0
            | Profile::Unclean
            | Profile::HwTruncation
            | Profile::BeyondBudget => &[FindingKind::LostWrite],
        }
    }

    /// KRaft controllers (voters) of its cluster.
    pub fn controllers(self) -> u32 {
        match self {
            Profile::Quorum | Profile::QuorumLost => 3,
            _ => 1,
        }
    }

    /// The producer's `acks`.
    pub fn acks(self) -> &'static str {
        match self {
            Profile::Acks1 => "1",
            Profile::Acks0 => "0",
            _ => "all",
        }
    }

    /// Whether the producer is idempotent (Kafka turns it off with acks ≠ all).
    pub fn idempotence(self) -> bool {
        matches!(
            self,
            Profile::Safe
                | Profile::HwTruncation
                | Profile::BeyondBudget
                | Profile::Groups
                | Profile::Quorum
                | Profile::QuorumLost
        )
    }

    /// `min.insync.replicas` of the topic.
    pub fn min_insync_replicas(self) -> u32 {
        match self {
            Profile::Unclean => 1,
            _ => 2,
        }
    }

    /// The faults it may draw.
    pub fn faults(self) -> FaultMix {
        let all = FaultMix {
            crash: true,
            power_fail: true,
            power_fail_all: false,
            shutdown: true,
            pause: true,
            clog: true,
            network: true,
            controller: true,
            drop_per_mille_max: 20,
            consumers: false,
            voters: false,
            majority_lost: false,
        };
        match self {
            Profile::Safe => all,
            Profile::Groups => FaultMix {
                consumers: true,
                ..all
            },
            // KIP-101's losses need a follower to restart (truncating to its HW) and then be
            // elected before it catches up: crashes, and cuts that keep HWs stale.
            Profile::HwTruncation => FaultMix {
                power_fail: false,
                shutdown: false,
                pause: false,
                clog: false,
                controller: false,
                drop_per_mille_max: 0,
                ..all
            },
            Profile::Acks1 | Profile::Acks0 | Profile::Unclean => FaultMix {
                power_fail: false,
                shutdown: false,
                controller: false,
                ..all
            },
            Profile::NoIdempotence => FaultMix {
                power_fail: false,
                drop_per_mille_max: 100,
                ..all
            },
            Profile::BeyondBudget => FaultMix {
                power_fail_all: true,
                ..all
            },
            Profile::Quorum => FaultMix {
                voters: true,
                ..all
            },
            Profile::QuorumLost => FaultMix {
                voters: true,
                majority_lost: true,
                ..all
            },
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Profile::ALL.iter().map(|p| p.as_str()).collect();
                format!("unknown profile \"{s}\" (profiles: {})", names.join(", "))
            })
    }
}
