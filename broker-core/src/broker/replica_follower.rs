//! The follower's side: the replica fetcher (`ReplicaFetcherThread`/`AbstractFetcherThread`).

use super::*;
use crate::config::Truncation;
use crate::error::ErrorCode;
use crate::io::TruncationReason;
use crate::protocol::{EpochEndOffset, FetchPartitionResponse, FetchRequest};

impl Broker {
    /// Send a fetch to every leader that has none in flight, for the partitions this broker
    /// follows from it. A follower fetches again only once its previous appends are written, so
    /// the offset it reports is on its disk.
    pub(super) fn maybe_send_fetches(&mut self) {
        if self.phase != Phase::Running || self.shutting_down {
            return;
        }
        let now = self.now;
        // This runs after every input and nearly always finds each fetcher busy: skip busy
        // leaders before building anything.
        let idle = |leader: &BrokerId| {
            self.fetchers
                .get(leader)
                .is_none_or(|f| f.in_flight.is_none() && f.backoff_until <= now)
        };
        // First find the leaders to fetch from without building anything: nearly always a
        // follower has a disk append in flight (which blocks its leader's next fetch) or no
        // idle fetcher at all.
        let mut ready: Vec<BrokerId> = Vec::new();
        let mut blocked: Vec<BrokerId> = Vec::new();
        for replica in self.replicas.values() {
            let Some(leader) = replica
                .leader
                .filter(|l| *l != self.id && replica.leading.is_none() && idle(l))
            else {
                continue;
            };
            if replica.log.has_pending_writes() {
                blocked.push(leader);
            } else if replica.fetch_backoff_until.is_none_or(|t| t <= now) {
                ready.push(leader);
            }
        }
        ready.retain(|l| !blocked.contains(l));
        if ready.is_empty() {
            return;
        }
        let use_epochs = self.config.protocol.truncation == Truncation::LeaderEpoch;
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, replica) in &self.replicas {
            let Some(leader) = replica.leader.filter(|l| ready.contains(l)) else {
                continue;
            };
            if replica.leading.is_some() || replica.fetch_backoff_until.is_some_and(|t| t > now) {
                continue;
            }
            by_leader.entry(leader).or_default().push(FetchPartition {
                tp: tp.clone(),
                fetch_offset: replica.log.log_end_offset(),
                last_fetched_epoch: replica.log.latest_epoch().filter(|_| use_epochs),
                current_leader_epoch: Some(replica.leader_epoch),
            });
        }
        for (leader, partitions) in by_leader {
            let fetcher = self.fetchers.entry(leader).or_insert(Fetcher {
                in_flight: None,
                backoff_until: Time(0),
            });
            let correlation_id = self.out.correlation_id();
            let wait_ms = self.config.replica_fetch_wait_max_ms;
            fetcher.in_flight = Some((
                correlation_id,
                self.now
                    .plus_ms(self.config.replica_socket_timeout_ms.max(wait_ms + 1)),
            ));
            let message = Message::Fetch(FetchRequest {
                correlation_id,
                replica_id: Some(self.id),
                broker_epoch: self.broker_epoch,
                max_wait_ms: wait_ms,
                partitions,
            });
            self.out.send(NodeId::Broker(leader), message);
        }
    }

    /// Fetches unanswered for `replica.socket.timeout.ms` are abandoned; fetch backoffs end.
    pub(super) fn expire_fetches(&mut self, now: Time) {
        let backoff_ms = self.config.replica_fetch_backoff_ms;
        for fetcher in self.fetchers.values_mut() {
            if fetcher
                .in_flight
                .is_some_and(|(_, deadline)| deadline <= now)
            {
                fetcher.in_flight = None;
                fetcher.backoff_until = now.plus_ms(backoff_ms);
            }
        }
        for replica in self.replicas.values_mut() {
            if replica.fetch_backoff_until.is_some_and(|t| t <= now) {
                replica.fetch_backoff_until = None;
            }
        }
        self.expire_pending_isr(now);
    }

    pub(super) fn handle_fetch_response(
        &mut self,
        from: NodeId,
        correlation_id: CorrelationId,
        partitions: Vec<FetchPartitionResponse>,
    ) {
        let NodeId::Broker(leader) = from else { return };
        let Some(fetcher) = self.fetchers.get_mut(&leader) else {
            return;
        };
        if fetcher.in_flight.map(|(id, _)| id) != Some(correlation_id) {
            return; // A late answer to a fetch we gave up on.
        }
        fetcher.in_flight = None;
        for response in partitions {
            let follows = self
                .replicas
                .get(&response.tp)
                .is_some_and(|r| r.leader == Some(leader) && r.leading.is_none());
            if follows {
                self.process_partition_response(leader, response);
            }
        }
    }

    fn process_partition_response(&mut self, leader: BrokerId, response: FetchPartitionResponse) {
        let tp = response.tp.clone();
        if let Some(diverging) = response.diverging_epoch {
            let target = self.truncation_offset(&tp, diverging);
            self.truncate(&tp, target, TruncationReason::DivergingEpoch);
            return;
        }
        match response.error {
            ErrorCode::NONE => self.append_as_follower(&tp, response),
            ErrorCode::OFFSET_OUT_OF_RANGE => self.handle_out_of_range(&tp, &response),
            _ => {
                // NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH: wait for metadata.
                let _ = leader;
                self.back_off(&tp);
            }
        }
    }

    /// `AbstractFetcherThread.handleOutOfRangeError` / `fetchOffsetAndTruncate`: a leader whose
    /// log ends before ours (possible only without leader epochs) makes us truncate to its end;
    /// a leader whose log starts after our end (retention or `DeleteRecords` removed what we
    /// still need) makes us empty our log and start at its log start
    /// (`UnifiedLog.truncateFullyAndStartAt`).
    fn handle_out_of_range(&mut self, tp: &TopicPartition, response: &FetchPartitionResponse) {
        let leo = self.replicas[tp].log.log_end_offset();
        if leo > response.log_end_offset {
            self.truncate(
                tp,
                response.log_end_offset,
                TruncationReason::OffsetOutOfRange,
            );
        } else if leo < response.log_start_offset {
            self.truncate_fully_and_start_at(tp, response.log_start_offset);
        } else {
            self.back_off(tp);
        }
    }

    fn back_off(&mut self, tp: &TopicPartition) {
        let until = self.now.plus_ms(self.config.replica_fetch_backoff_ms);
        if let Some(replica) = self.replicas.get_mut(tp) {
            replica.fetch_backoff_until = Some(until);
        }
    }

    /// `AbstractFetcherThread.getOffsetTruncationState` for a diverging epoch from the leader.
    fn truncation_offset(&self, tp: &TopicPartition, leader: EpochEndOffset) -> Offset {
        let log = &self.replicas[tp].log;
        let ours = log.end_offset_for(leader.epoch);
        crate::log::truncation_offset(ours, leader, log.log_end_offset())
    }

    fn append_as_follower(&mut self, tp: &TopicPartition, response: FetchPartitionResponse) {
        let replica = self.replicas.get_mut(tp).expect("checked");
        let mut appended = Vec::new();
        let mut overlap = None;
        for batch in response.batches {
            let leo = replica.log.log_end_offset();
            if batch.next_offset() <= leo {
                continue;
            }
            // A batch starting after our end is a gap the leader's cleaner left: appended as is.
            if batch.base_offset < leo {
                overlap = Some(batch.base_offset);
                break;
            }
            let write_seq = replica.log.append(batch.clone());
            replica.producer_state.record(&batch);
            appended.push((write_seq, batch));
        }
        // Followers learn the HW from the leader, capped by their own LEO, then its log start
        // (`ReplicaFetcherThread.processPartitionData`: `maybeIncrementLogStartOffset`).
        let hw = response.high_watermark.min(replica.log.log_end_offset());
        replica.log.set_high_watermark(hw);
        replica.log.advance_log_start(response.log_start_offset);
        for (write_seq, batch) in appended {
            self.write_batch(tp, write_seq, batch);
        }
        if let Some(base) = overlap {
            // Batch boundaries differ from the leader's: only possible after an unsafe
            // truncation in the historical protocols. Realign on the leader's batch.
            self.truncate(tp, base, TruncationReason::OffsetOutOfRange);
        }
    }
}
