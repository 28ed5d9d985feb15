//! `j`: follow a record through replication, a jump per step: appended on the leader, fetched
//! by each follower, passed by the high watermark (committed), acknowledged to its producer.
//! The record is the inspector's offset (`v`, `<` `>`: an offset past the log's end follows the
//! next record written there). Planned on a copy of the world, like `n`.

use broker_core::{BrokerId, HistoryEntry, Offset, SendOutcome, TopicPartition};
use sim::World;
use std::collections::BTreeSet;

/// How far ahead a jump looks (simulated ms) before saying the record goes no further.
const LOOKAHEAD_MS: u64 = 30_000;

/// A step of a record's journey.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// In the leader's log.
    OnLeader(BrokerId),
    /// In a follower's log.
    OnFollower(BrokerId),
    /// Below the leader's high watermark.
    Committed,
    /// Its producer got the acknowledgement.
    Acked,
}

impl Step {
    fn words(&self) -> String {
        match self {
            Step::OnLeader(b) => format!("appended on the leader, broker-{b}"),
            Step::OnFollower(b) => format!("fetched by broker-{b}"),
            Step::Committed => "the HW passed it: committed".to_owned(),
            Step::Acked => "acknowledged to its producer".to_owned(),
        }
    }
}

/// The steps the record at `offset` of `tp` has reached.
pub fn reached(world: &World, tp: &TopicPartition, offset: Offset) -> BTreeSet<Step> {
    let mut steps = BTreeSet::new();
    let Some(image) = world.controller().map(|c| c.metadata()) else {
        return steps;
    };
    let Some(state) = image.partitions.get(tp) else {
        return steps;
    };
    for b in &state.replicas {
        let Some(r) = world
            .broker(*b)
            .and_then(|broker| broker.replicas().get(tp))
        else {
            continue;
        };
        if r.log.log_end_offset() > offset {
            steps.insert(if state.leader == Some(*b) {
                Step::OnLeader(*b)
            } else {
                Step::OnFollower(*b)
            });
        }
        if state.leader == Some(*b) && r.log.high_watermark() > offset {
            steps.insert(Step::Committed);
        }
    }
    let acked = world.history().iter().any(|h| {
        matches!(&h.entry, HistoryEntry::SendCompleted { tp: t, outcome: SendOutcome::Ok(Some(o)), .. }
            if t == tp && *o == offset)
    });
    if acked {
        steps.insert(Step::Acked);
    }
    steps
}

/// The next step: after how many events the record reaches a step it has not, and in words.
pub fn plan(world: &World, tp: &TopicPartition, offset: Offset) -> Result<(u64, String), String> {
    let before = reached(world, tp, offset);
    let mut ahead = world.clone();
    let until = ahead.now().0 + LOOKAHEAD_MS;
    while ahead.now().0 <= until && ahead.step() {
        let now = reached(&ahead, tp, offset);
        let new: Vec<String> = now.difference(&before).map(Step::words).collect();
        if !new.is_empty() {
            return Ok((ahead.events(), new.join("; ")));
        }
    }
    let done = if before.contains(&Step::Acked) && before.contains(&Step::Committed) {
        "it has reached every step"
    } else {
        "it goes no further in the next 30 s"
    };
    Err(format!("{tp} offset {offset}: {done}"))
}
