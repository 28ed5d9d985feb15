//! The consumer: in assign mode (`KafkaConsumer.assign` on every partition of its topics) or in
//! subscribe mode through a group (`group.id`, see `group.rs`). Positions, `auto.offset.reset`,
//! fetches from leaders of what is below the high watermark, detection of log truncation below
//! its position (KIP-320), and a simulated processing time per record. Every poll, every jump of
//! a position, every rebalance and every commit goes into the history.

mod group;

use super::metadata::ClientMetadata;
use crate::config::{AutoOffsetReset, ConsumerConfig};
use crate::error::ErrorCode;
use crate::io::{ConsumerError, HistoryEntry, Input, Output, PositionReason, ResetReason};
use crate::outbox::Outbox;
use crate::protocol::{
    FetchPartition, FetchPartitionResponse, FetchRequest, FetchResponse, ListOffsetsRequest,
    ListOffsetsResponse, Message, MetadataResponse, OffsetSpec,
};
use crate::types::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default)]
struct Position {
    offset: Option<Offset>,
    /// The leader epoch of the last record read (KIP-320 `FetchPosition.offsetEpoch`).
    epoch: Option<LeaderEpoch>,
    /// The position before an `OFFSET_OUT_OF_RANGE` reset, until `ListOffsets` gives the new one.
    reset_from: Option<Offset>,
    backoff_until: Time,
    /// A `ListOffsets` in flight: its correlation id, deadline and the broker it went to.
    list_in_flight: Option<(CorrelationId, Time, BrokerId)>,
    /// Newly assigned in a group: the committed offset is being fetched.
    needs_committed: bool,
    /// An exception about this partition reached the application (`auto.offset.reset=none`):
    /// nothing more is read from it.
    failed: bool,
}

/// A consumer reading every partition of its topics.
#[derive(Clone, Debug)]
pub struct Consumer {
    id: ClientId,
    config: ConsumerConfig,
    now: Time,
    out: Outbox,
    metadata: ClientMetadata,
    positions: BTreeMap<TopicPartition, Position>,
    /// The fetch in flight per broker: (correlation id, deadline, when it was sent).
    fetches: BTreeMap<BrokerId, (CorrelationId, Time, Time)>,
    /// Subscribe mode: the group membership.
    group: Option<group::Membership>,
    /// The application processes the records of its last poll until then.
    busy_until: Time,
    /// When the application took the records it is processing (for `max.poll.interval.ms`).
    poll_started: Time,
}

impl Consumer {
    /// A consumer of `topics` that finds the cluster through `bootstrap`.
    pub fn new(
        id: ClientId,
        config: ConsumerConfig,
        topics: Vec<Topic>,
        bootstrap: Vec<BrokerId>,
        now: Time,
    ) -> Consumer {
        let group = config
            .group_id
            .clone()
            .map(|g| group::Membership::new(g, config.partition_assignment_strategy));
        Consumer {
            id,
            metadata: ClientMetadata::new(bootstrap, topics, config.metadata_timeouts()),
            group,
            config,
            now,
            out: Outbox::default(),
            positions: BTreeMap::new(),
            fetches: BTreeMap::new(),
            busy_until: Time(0),
            poll_started: Time(0),
        }
    }

    /// Handle one input. Drain `poll_output` afterwards.
    pub fn handle(&mut self, now: Time, input: Input) {
        self.advance(now);
        match input {
            Input::Message { from, message } => self.on_message(from, message),
            Input::Command(crate::io::ClientCommand::Close) => {
                self.leave_group();
                self.out.push(Output::Stopped);
                return;
            }
            Input::Disconnected {
                peer: NodeId::Broker(broker),
            } => self.disconnected(broker),
            _ => {}
        }
        self.run();
    }

    /// Fire request deadlines and backoffs.
    pub fn handle_timeout(&mut self, now: Time) {
        self.advance(now);
        self.metadata.expire(now);
        // `NetworkClient.handleTimedOutRequests`: a request past request.timeout.ms closes its
        // connection (`processTimeoutDisconnection`), and the reconnect backoff spaces the
        // retries, so even a request.timeout.ms of 0 lets time move.
        let mut timed_out: BTreeSet<BrokerId> = self
            .fetches
            .iter()
            .filter(|(_, (_, deadline, _))| *deadline <= now)
            .map(|(broker, _)| *broker)
            .collect();
        for position in self.positions.values() {
            if let Some((_, deadline, to)) = position.list_in_flight {
                if deadline <= now {
                    timed_out.insert(to);
                }
            }
        }
        for broker in timed_out {
            self.disconnected(broker);
        }
        self.run();
    }

    /// The connection to `broker` broke (or a request on it timed out).
    fn disconnected(&mut self, broker: BrokerId) {
        self.group_disconnected(broker);
        self.metadata.on_disconnected(self.now, broker);
        self.fetches.remove(&broker);
        // A ListOffsets to that broker is lost with the connection: it fails and is retried
        // after retry.backoff.ms (`OffsetFetcher.resetPositionsAsync` onFailure:
        // `requestFailed(partitions, now + retryBackoffMs)`). Requests to other brokers stand:
        // resending every one at each reset made a storm under random drops.
        let backoff_until = self.now.plus_ms(self.config.retry_backoff_ms);
        for position in self.positions.values_mut() {
            if position
                .list_in_flight
                .is_some_and(|(_, _, to)| to == broker)
            {
                position.list_in_flight = None;
                position.backoff_until = backoff_until;
            }
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        let mut next = self.metadata.next_deadline(self.now);
        for (_, deadline, _) in self.fetches.values() {
            next = next.min(*deadline);
        }
        for p in self.positions.values() {
            if let Some((_, deadline, _)) = p.list_in_flight {
                next = next.min(deadline);
            }
            if p.backoff_until > self.now {
                next = next.min(p.backoff_until);
            }
        }
        if let Some(t) = self.group.as_ref().and_then(|g| g.next_deadline(self.now)) {
            next = next.min(t);
        }
        if self.busy_until > self.now {
            next = next.min(self.busy_until);
            if self.group.is_some() && self.poll_deadline() > self.now {
                next = next.min(self.poll_deadline());
            }
        }
        Some(next)
    }

    /// The position per partition (the next offset to read).
    pub fn positions(&self) -> BTreeMap<TopicPartition, Option<Offset>> {
        self.positions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.offset))
            .collect()
    }

    /// This client's id.
    pub fn id(&self) -> ClientId {
        self.id
    }

    /// Subscribe mode: the group, member id, generation and owned partitions.
    pub fn membership(&self) -> Option<(&str, &str, i32, &[TopicPartition])> {
        self.group.as_ref().map(|g| {
            (
                g.group.as_str(),
                g.member_id.as_str(),
                g.generation,
                g.owned.as_slice(),
            )
        })
    }

    fn advance(&mut self, now: Time) {
        self.out.advance(&mut self.now, now);
    }

    fn run(&mut self) {
        self.metadata.maybe_request(self.now, &mut self.out);
        if self.group.is_some() {
            self.run_group();
            self.fetch_committed();
            self.maybe_commit_processed();
        } else {
            for tp in self.metadata.partitions.keys() {
                self.positions.entry(tp.clone()).or_default();
            }
        }
        self.reset_positions();
        if self.busy_until <= self.now && !self.commit_blocks_poll() {
            self.send_fetches();
        }
    }

    /// With `enable.auto.commit=false` the application commits synchronously after processing
    /// each poll (`commitSync`), so it polls again only after the commit is answered.
    fn maybe_commit_processed(&mut self) {
        let stable = self
            .group
            .as_ref()
            .is_some_and(|g| g.state == group::MemberState::Stable);
        if !self.config.enable_auto_commit && stable && self.busy_until <= self.now {
            self.commit_positions();
        }
    }

    fn commit_blocks_poll(&self) -> bool {
        !self.config.enable_auto_commit && self.group.as_ref().is_some_and(|g| g.commit.is_some())
    }

    /// `auto.offset.reset` for partitions without a position: ListOffsets to the leader. With
    /// `none` there is no reset: the application gets `NoOffsetForPartitionException` (or
    /// `OffsetOutOfRangeException` for a position the leader refused) and the partition is
    /// read no more (`SubscriptionState.resetInitializingPositions`).
    fn reset_positions(&mut self) {
        let spec = match self.config.auto_offset_reset {
            AutoOffsetReset::Latest => OffsetSpec::Latest,
            AutoOffsetReset::Earliest => OffsetSpec::Earliest,
            AutoOffsetReset::None => {
                self.fail_positions_without_offset();
                return;
            }
        };
        let now = self.now;
        let timeout_ms = self.config.request_timeout_ms;
        for (tp, position) in &mut self.positions {
            if position.offset.is_some()
                || position.failed
                || position.needs_committed
                || position.list_in_flight.is_some()
                || position.backoff_until > now
            {
                continue;
            }
            let Some((leader, epoch)) = self.metadata.leader(tp) else {
                self.metadata.invalidate();
                continue;
            };
            if !self.metadata.reachable(now, leader) {
                continue;
            }
            let correlation_id = self.out.correlation_id();
            position.list_in_flight = Some((correlation_id, now.plus_ms(timeout_ms), leader));
            let message = Message::ListOffsets(ListOffsetsRequest {
                correlation_id,
                tp: tp.clone(),
                spec,
                current_leader_epoch: Some(epoch),
            });
            self.out.send(NodeId::Broker(leader), message);
        }
    }

    /// `auto.offset.reset=none`: every partition that needs a reset throws instead.
    fn fail_positions_without_offset(&mut self) {
        for (tp, position) in &mut self.positions {
            if position.offset.is_some() || position.failed || position.needs_committed {
                continue;
            }
            position.failed = true;
            let error = match position.reset_from.take() {
                Some(offset) => ConsumerError::OffsetOutOfRange { offset },
                None => ConsumerError::NoOffsetForPartition,
            };
            let tp = Some(tp.clone());
            self.out.history(HistoryEntry::ConsumerError { tp, error });
        }
    }

    fn send_fetches(&mut self) {
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        let mut stale = false;
        for (tp, position) in &self.positions {
            let Some(offset) = position.offset.filter(|_| !position.failed) else {
                continue;
            };
            let Some((leader, epoch)) = self.metadata.leader(tp) else {
                // `Fetcher.prepareFetchRequests`: a partition without a known leader asks for a
                // metadata update, or the consumer would wait for `metadata.max.age.ms`.
                stale = true;
                continue;
            };
            if position.backoff_until > self.now
                || self.fetches.contains_key(&leader)
                || !self.metadata.reachable(self.now, leader)
            {
                continue;
            }
            // KIP-320: the consumer validates its position against the leader's epochs. The Java
            // client asks `OffsetsForLeaderEpoch` after a leader change; here the fetch carries
            // the epoch of the last record read and the leader answers with a diverging epoch,
            // the same `endOffsetFor` rule in one round trip.
            let partition = FetchPartition {
                tp: tp.clone(),
                fetch_offset: offset,
                last_fetched_epoch: position.epoch,
                current_leader_epoch: Some(epoch),
            };
            by_leader.entry(leader).or_default().push(partition);
        }
        if stale {
            self.metadata.invalidate();
        }
        for (leader, partitions) in by_leader {
            let correlation_id = self.out.correlation_id();
            let wait_ms = self.config.fetch_max_wait_ms;
            self.fetches.insert(
                leader,
                (
                    correlation_id,
                    self.now.plus_ms(self.config.request_timeout_ms + wait_ms),
                    self.now,
                ),
            );
            let message = Message::Fetch(FetchRequest {
                correlation_id,
                replica_id: None,
                broker_epoch: None,
                max_wait_ms: wait_ms,
                partitions,
            });
            self.out.send(NodeId::Broker(leader), message);
        }
    }

    fn on_message(&mut self, from: NodeId, message: Message) {
        match message {
            Message::MetadataResponse(MetadataResponse {
                correlation_id,
                partitions,
                ..
            }) => {
                self.metadata
                    .on_response(self.now, correlation_id, partitions);
            }
            Message::FetchResponse(FetchResponse {
                correlation_id,
                partitions,
            }) => {
                let NodeId::Broker(broker) = from else { return };
                let Some((expected, _, invoked)) = self.fetches.get(&broker).copied() else {
                    return;
                };
                if expected != correlation_id {
                    return;
                }
                self.fetches.remove(&broker);
                let mut budget = self.config.max_poll_records as usize;
                for response in partitions {
                    self.on_partition_data(response, invoked, &mut budget);
                }
            }
            Message::ListOffsetsResponse(ListOffsetsResponse {
                correlation_id,
                tp,
                error,
                offset,
                ..
            }) => self.on_list_offsets(correlation_id, tp, error, offset),
            other if self.group.is_some() => {
                self.on_group_message(other);
            }
            _ => {}
        }
    }

    fn on_partition_data(
        &mut self,
        response: FetchPartitionResponse,
        invoked: Time,
        budget: &mut usize,
    ) {
        let tp = response.tp.clone();
        let rejoining = self.rejoining_eagerly();
        let Some(position) = self.positions.get_mut(&tp) else {
            return;
        };
        let Some(offset) = position.offset.filter(|_| !position.failed) else {
            return;
        };
        if let (ErrorCode::NONE, Some(diverging)) = (response.error, response.diverging_epoch) {
            // `SubscriptionState.maybeCompleteValidation`: truncation detected. With a reset
            // policy the consumer seeks to the end of the last epoch both logs share; with
            // `auto.offset.reset=none` it throws `LogTruncationException` and does not move.
            if diverging.end_offset < offset
                && self.config.auto_offset_reset == AutoOffsetReset::None
            {
                position.failed = true;
                let error = ConsumerError::LogTruncation {
                    offset,
                    epoch: diverging.epoch,
                    end_offset: diverging.end_offset,
                };
                let tp = Some(tp);
                self.out.history(HistoryEntry::ConsumerError { tp, error });
                return;
            }
            position.epoch = Some(diverging.epoch);
            if diverging.end_offset >= offset {
                return; // the position is valid in the leader's history; only its epoch was old
            }
            let to = diverging.end_offset;
            position.offset = Some(to);
            let reason = ResetReason::LogTruncation {
                epoch: diverging.epoch,
                end_offset: diverging.end_offset,
            };
            let reset = HistoryEntry::PositionReset {
                tp,
                from: offset,
                to,
                reason,
            };
            self.out.history(reset);
            return;
        }
        match response.error {
            ErrorCode::NONE if rejoining => {} // fetched again after the rebalance
            ErrorCode::NONE => {
                // `max.poll.records`: one poll hands the application at most that many; the
                // rest is fetched again from the new position.
                let mut read: Vec<(Offset, bytes::Bytes, LeaderEpoch)> = response
                    .batches
                    .iter()
                    .flat_map(|b| {
                        b.records_with_offsets()
                            .map(move |(o, r)| (o, r.identity(), b.leader_epoch))
                    })
                    .filter(|(o, _, _)| *o >= offset)
                    .collect();
                read.truncate(*budget);
                *budget -= read.len();
                if let Some((last, _, epoch)) = read.last() {
                    let processing_ms = self.config.processing_ms_per_record * read.len() as u64;
                    if self.busy_until <= self.now {
                        self.poll_started = self.now;
                    }
                    self.busy_until = self.busy_until.max(self.now.plus_ms(processing_ms));
                    position.offset = Some(last.next());
                    position.epoch = Some(*epoch);
                    let mut records: Vec<_> = read.into_iter().map(|(o, v, _)| (o, v)).collect();
                    // The history keeps this list for the whole run: the collect reuses
                    // `read`'s buffer, grown by doubling and sized for wider tuples, so its
                    // spare capacity was most of the history's polled bytes (issue 17).
                    records.shrink_to_fit();
                    let entry = HistoryEntry::Polled {
                        tp,
                        records,
                        invoked,
                    };
                    self.out.history(entry);
                }
            }
            ErrorCode::OFFSET_OUT_OF_RANGE => {
                position.reset_from = Some(offset);
                position.offset = None;
                position.epoch = None;
            }
            error => {
                position.backoff_until = self.now.plus_ms(self.config.retry_backoff_ms);
                if error.needs_metadata_refresh() {
                    self.metadata.invalidate();
                }
            }
        }
    }

    fn on_list_offsets(
        &mut self,
        correlation_id: CorrelationId,
        tp: TopicPartition,
        error: ErrorCode,
        offset: Offset,
    ) {
        let Some(position) = self.positions.get_mut(&tp) else {
            return;
        };
        if position.list_in_flight.map(|(c, _, _)| c) != Some(correlation_id) {
            return;
        }
        position.list_in_flight = None;
        if error.is_ok() {
            position.offset = Some(offset);
            let entry = match position.reset_from.take() {
                Some(from) => HistoryEntry::PositionReset {
                    tp,
                    from,
                    to: offset,
                    reason: ResetReason::OffsetOutOfRange,
                },
                None => HistoryEntry::Positioned {
                    tp,
                    offset,
                    reason: PositionReason::AutoOffsetReset(self.config.auto_offset_reset),
                },
            };
            self.out.history(entry);
        } else {
            position.backoff_until = self.now.plus_ms(self.config.retry_backoff_ms);
            self.metadata.invalidate();
        }
    }
}
