//! The lone controller (`controllers = 1`) answers the brokers' metadata fetches. In Kafka a
//! single controller is a one-voter Raft quorum that answers an observer's `Fetch` like any
//! leader (`KafkaRaftClient.handleFetchRequest`); the lab's lone controller keeps its
//! single-node log (`LocalMetadataLog`), so it answers the same `Fetch` here: as the leader of
//! a fixed epoch, with committed records only (its log commits at its own fsync, so nothing it
//! sends can be taken back), and it holds a fetch that has nothing new for up to
//! `FETCH_MAX_WAIT_MS`, answering it as soon as a record commits (the fetch purgatory).

use super::metadata_log::MetadataLog;
use super::Controller;
use crate::error::ErrorCode;
use crate::metadata::MetadataRecord;
use crate::protocol::{EpochEndOffset, Message};
use crate::raft::{RaftEntry, RaftMessage, RaftRecord, FETCH_MAX_ENTRIES, FETCH_MAX_WAIT_MS};
use crate::types::{LeaderEpoch, NodeId, Offset, Time};

/// The epoch the lone controller leads, for ever (a one-voter quorum elects itself once).
const LONE_EPOCH: LeaderEpoch = LeaderEpoch(1);

/// A broker's fetch held until something commits or its wait ends.
#[derive(Clone, Debug)]
pub(super) struct HeldFetch {
    from: NodeId,
    fetch_offset: u64,
    pub(super) deadline: Time,
}

impl Controller {
    /// A quorum message to the lone controller: only an observer's `Fetch` means anything.
    pub(super) fn on_local_fetch(&mut self, from: NodeId, message: RaftMessage<MetadataRecord>) {
        let RaftMessage::Fetch {
            epoch,
            fetch_offset,
            ..
        } = message
        else {
            return; // no other voter talks to a lone controller
        };
        // `validateLeaderOnlyRequest`: a fetch from another epoch learns ours first.
        let error = match epoch.cmp(&LONE_EPOCH) {
            std::cmp::Ordering::Less => ErrorCode::FENCED_LEADER_EPOCH,
            std::cmp::Ordering::Greater => ErrorCode::UNKNOWN_LEADER_EPOCH,
            std::cmp::Ordering::Equal => ErrorCode::NONE,
        };
        let committed_end = self.log.committed_end();
        if error.is_ok() && fetch_offset.0 == committed_end {
            self.held_fetches.retain(|f| f.from != from);
            self.held_fetches.push(HeldFetch {
                from,
                fetch_offset: fetch_offset.0,
                deadline: self.now.plus_ms(FETCH_MAX_WAIT_MS),
            });
            return;
        }
        self.answer_fetch(from, error, fetch_offset.0);
    }

    /// Something committed: every held fetch has news.
    pub(super) fn answer_held_fetches(&mut self) {
        for held in std::mem::take(&mut self.held_fetches) {
            self.answer_fetch(held.from, ErrorCode::NONE, held.fetch_offset);
        }
    }

    /// Held fetches whose wait ended get an empty answer (and fetch again).
    pub(super) fn expire_held_fetches(&mut self) {
        let now = self.now;
        let (due, held): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_fetches)
            .into_iter()
            .partition(|f| f.deadline <= now);
        self.held_fetches = held;
        for fetch in due {
            self.answer_fetch(fetch.from, ErrorCode::NONE, fetch.fetch_offset);
        }
    }

    fn answer_fetch(&mut self, to: NodeId, error: ErrorCode, fetch_offset: u64) {
        let committed_end = self.log.committed_end();
        // Past our end (never, as only committed records go out; kept as Raft's rule): the
        // fetcher truncates to our end.
        let diverging = (error.is_ok() && fetch_offset > committed_end).then_some(EpochEndOffset {
            epoch: LONE_EPOCH,
            end_offset: Offset(committed_end),
        });
        let entries = match (error.is_ok(), diverging) {
            (true, None) => (fetch_offset..committed_end)
                .take(FETCH_MAX_ENTRIES)
                .map(|o| RaftEntry {
                    epoch: LONE_EPOCH,
                    record: RaftRecord::Data(self.log.record(o).clone()),
                })
                .collect(),
            _ => Vec::new(),
        };
        let response = RaftMessage::FetchResponse {
            error,
            epoch: LONE_EPOCH,
            leader: Some(NodeId::Controller(self.id)),
            fetch_offset: Offset(fetch_offset),
            high_watermark: Offset(committed_end),
            diverging,
            entries,
        };
        self.out.send(to, Message::Quorum(Box::new(response)));
    }
}
