//! The metadata cache a client keeps (`org.apache.kafka.clients.Metadata`): which broker leads
//! which partition, refreshed on errors and every `metadata.max.age.ms`.

use crate::outbox::Outbox;
use crate::protocol::{Message, MetadataRequest, PartitionMetadata};
use crate::types::*;
use std::collections::BTreeMap;

/// `reconnect.backoff.ms` (Kafka's default): after a connection to a broker breaks,
/// `NetworkClient` waits this long before connecting to it again. Without it a client would
/// resend to a dead broker as fast as the reset comes back.
pub(crate) const RECONNECT_BACKOFF_MS: u64 = 50;

#[derive(Clone, Debug)]
pub(crate) struct ClientMetadata {
    bootstrap: Vec<BrokerId>,
    next_bootstrap: usize,
    topics: Vec<Topic>,
    pub(crate) partitions: BTreeMap<TopicPartition, PartitionMetadata>,
    in_flight: Option<(CorrelationId, BrokerId, Time)>,
    stale: bool,
    refresh_due: Time,
    retry_at: Time,
    timeouts: MetadataTimeouts,
    /// Brokers whose connection broke, and when the client may connect again.
    reconnect_at: BTreeMap<BrokerId, Time>,
}

/// The client settings the cache follows (`metadata.max.age.ms`, `retry.backoff.ms`,
/// `request.timeout.ms`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetadataTimeouts {
    pub(crate) max_age_ms: u64,
    pub(crate) retry_backoff_ms: u64,
    pub(crate) request_timeout_ms: u64,
}

impl ClientMetadata {
    pub(crate) fn new(
        bootstrap: Vec<BrokerId>,
        topics: Vec<Topic>,
        timeouts: MetadataTimeouts,
    ) -> ClientMetadata {
        assert!(!bootstrap.is_empty(), "a client needs bootstrap servers");
        ClientMetadata {
            bootstrap,
            next_bootstrap: 0,
            topics,
            partitions: BTreeMap::new(),
            in_flight: None,
            stale: true,
            refresh_due: Time(0),
            retry_at: Time(0),
            timeouts,
            reconnect_at: BTreeMap::new(),
        }
    }

    /// Ask for a refresh before the next use.
    pub(crate) fn invalidate(&mut self) {
        self.stale = true;
    }

    /// The topics this client uses.
    pub(crate) fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The number of partitions of `topic`.
    pub(crate) fn partition_count(&self, topic: &Topic) -> u32 {
        self.partitions
            .keys()
            .filter(|tp| &tp.topic == topic)
            .count() as u32
    }

    /// The leader of a partition and its epoch, if known.
    pub(crate) fn leader(&self, tp: &TopicPartition) -> Option<(BrokerId, LeaderEpoch)> {
        let p = self.partitions.get(tp)?;
        p.leader.map(|l| (l, p.leader_epoch))
    }

    /// Send a Metadata request if one is due and none is in flight.
    pub(crate) fn maybe_request(&mut self, now: Time, out: &mut Outbox) {
        let due = self.stale || now >= self.refresh_due;
        if !due || self.in_flight.is_some() || now < self.retry_at {
            return;
        }
        let Some(broker) = self.next_broker(now) else {
            return;
        };
        let correlation_id = out.correlation_id();
        self.in_flight = Some((
            correlation_id,
            broker,
            now.plus_ms(self.timeouts.request_timeout_ms),
        ));
        out.send(
            NodeId::Broker(broker),
            Message::Metadata(MetadataRequest { correlation_id }),
        );
    }

    /// The next reachable bootstrap broker, in turn: where a request any broker can answer
    /// goes. `None` while every one is backing off after a broken connection.
    pub(crate) fn next_broker(&mut self, now: Time) -> Option<BrokerId> {
        for _ in 0..self.bootstrap.len() {
            let broker = self.bootstrap[self.next_bootstrap % self.bootstrap.len()];
            self.next_bootstrap += 1;
            if self.reachable(now, broker) {
                return Some(broker);
            }
        }
        None
    }

    /// Whether the client may send to `broker` now (no reconnect backoff pending).
    pub(crate) fn reachable(&self, now: Time, broker: BrokerId) -> bool {
        self.reconnect_at.get(&broker).is_none_or(|at| *at <= now)
    }

    /// Take a response; returns true if it was ours. An answer without our topics (the broker
    /// has not caught up yet) keeps the cache stale and retries after `retry_backoff_ms`.
    pub(crate) fn on_response(
        &mut self,
        now: Time,
        correlation_id: CorrelationId,
        partitions: Vec<PartitionMetadata>,
    ) -> bool {
        if self.in_flight.map(|(id, _, _)| id) != Some(correlation_id) {
            return false;
        }
        self.in_flight = None;
        let ours: BTreeMap<TopicPartition, PartitionMetadata> = partitions
            .into_iter()
            .filter(|p| self.topics.contains(&p.tp.topic))
            .map(|p| (p.tp.clone(), p))
            .collect();
        let complete = self
            .topics
            .iter()
            .all(|t| ours.keys().any(|tp| &tp.topic == t));
        if !complete {
            self.retry_at = now.plus_ms(self.timeouts.retry_backoff_ms);
            return true;
        }
        // Never go back to an older leader epoch than we know (`Metadata.updateLatestMetadata`).
        for (tp, p) in ours {
            let newer = self
                .partitions
                .get(&tp)
                .is_none_or(|old| p.leader_epoch >= old.leader_epoch);
            if newer {
                self.partitions.insert(tp, p);
            }
        }
        self.stale = false;
        self.refresh_due = now.plus_ms(self.timeouts.max_age_ms);
        // `Metadata.timeToNextUpdate`: at least `retry.backoff.ms` between refreshes, so a
        // partition that still has no leader does not turn into a storm of requests.
        self.retry_at = now.plus_ms(self.timeouts.retry_backoff_ms);
        true
    }

    /// A request timed out: `NetworkClient` closes that connection (reconnect backoff) and
    /// `Metadata.failedUpdate` makes the next refresh wait `retry.backoff.ms`; the next one goes
    /// to another bootstrap broker. A `request.timeout.ms` of 0 expires every request at once;
    /// these backoffs keep simulated time moving.
    pub(crate) fn expire(&mut self, now: Time) {
        let Some((_, broker, deadline)) = self.in_flight else {
            return;
        };
        if deadline <= now {
            self.on_disconnected(now, broker);
            self.retry_at = now.plus_ms(self.timeouts.retry_backoff_ms);
        }
    }

    /// The client closed its connection to `broker` (a request on it timed out): no new
    /// connection before `reconnect.backoff.ms`.
    pub(crate) fn connection_closed(&mut self, now: Time, broker: BrokerId) {
        self.reconnect_at
            .insert(broker, now.plus_ms(RECONNECT_BACKOFF_MS));
    }

    pub(crate) fn on_disconnected(&mut self, now: Time, broker: BrokerId) {
        self.reconnect_at
            .insert(broker, now.plus_ms(RECONNECT_BACKOFF_MS));
        // Any disconnect may mean our metadata is wrong (`NetworkClient.handleDisconnections`
        // calls `metadataUpdater.requestUpdate()`): an acks=0 producer has no other way to learn
        // that its leader died, since it gets no error responses.
        self.stale = true;
        if self.in_flight.is_some_and(|(_, b, _)| b == broker) {
            self.in_flight = None;
        }
    }

    /// The next time this cache wants to act: a refresh, or the end of a reconnect backoff
    /// (something may be waiting to be sent to that broker).
    pub(crate) fn next_deadline(&self, now: Time) -> Time {
        let refresh = match self.in_flight {
            Some((_, _, deadline)) => deadline,
            // A due refresh also waits for a bootstrap broker it may connect to.
            None if self.stale => self.retry_at.max(self.first_reconnect(now)),
            // `Metadata.timeToNextUpdate`: max(time to expire, time to allow an update). With
            // `metadata.max.age.ms` = 0 the cache is always expired, and `retry.backoff.ms`
            // alone spaces the refreshes.
            None => self.refresh_due.max(self.retry_at),
        };
        let reconnect = self.reconnect_at.values().filter(|at| **at > now).min();
        reconnect.map_or(refresh, |at| refresh.min(*at))
    }

    /// When the first bootstrap broker may be connected to again.
    pub(crate) fn first_reconnect(&self, now: Time) -> Time {
        self.bootstrap
            .iter()
            .map(|b| self.reconnect_at.get(b).copied().unwrap_or(now).max(now))
            .min()
            .unwrap_or(now)
    }
}

impl crate::config::ProducerConfig {
    pub(crate) fn metadata_timeouts(&self) -> MetadataTimeouts {
        MetadataTimeouts {
            max_age_ms: self.metadata_max_age_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            request_timeout_ms: self.request_timeout_ms,
        }
    }
}

impl crate::config::ConsumerConfig {
    pub(crate) fn metadata_timeouts(&self) -> MetadataTimeouts {
        MetadataTimeouts {
            max_age_ms: self.metadata_max_age_ms,
            retry_backoff_ms: self.retry_backoff_ms,
            request_timeout_ms: self.request_timeout_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(max_age_ms: u64, retry_backoff_ms: u64, request_timeout_ms: u64) -> ClientMetadata {
        let timeouts = MetadataTimeouts {
            max_age_ms,
            retry_backoff_ms,
            request_timeout_ms,
        };
        ClientMetadata::new(
            vec![BrokerId(1), BrokerId(2)],
            vec![Topic::new("t")],
            timeouts,
        )
    }

    fn answer(m: &mut ClientMetadata, now: Time) {
        let correlation_id = m.in_flight.expect("a request in flight").0;
        let partition = PartitionMetadata {
            tp: TopicPartition::new(&Topic::new("t"), 0),
            leader: Some(BrokerId(1)),
            leader_epoch: LeaderEpoch(0),
            replicas: vec![BrokerId(1)],
            isr: vec![BrokerId(1)],
        };
        assert!(m.on_response(now, correlation_id, vec![partition]));
    }

    /// `Metadata.timeToNextUpdate` = max(time to expire, time to allow an update): with
    /// metadata.max.age.ms = 0 the next refresh waits retry.backoff.ms, never "now" forever.
    #[test]
    fn max_age_0_refreshes_retry_backoff_apart() {
        let mut m = metadata(0, 100, 30_000);
        let mut out = Outbox::default();
        m.maybe_request(Time(0), &mut out);
        answer(&mut m, Time(5));
        assert_eq!(m.next_deadline(Time(5)), Time(105));
        m.maybe_request(Time(5), &mut out);
        assert!(m.in_flight.is_none(), "no refresh before the backoff");
        m.maybe_request(Time(105), &mut out);
        assert!(m.in_flight.is_some(), "a refresh once it is over");
    }

    /// request.timeout.ms = 0 expires a request at once; `NetworkClient` closes the connection
    /// (reconnect backoff) and `Metadata.failedUpdate` waits retry.backoff.ms, so the next
    /// request is not due at the same millisecond even with retry.backoff.ms = 0.
    #[test]
    fn request_timeout_0_expires_at_once_and_the_retry_waits() {
        let mut m = metadata(300_000, 0, 0);
        let mut out = Outbox::default();
        m.maybe_request(Time(10), &mut out);
        assert_eq!(m.next_deadline(Time(10)), Time(10), "due at once");
        m.expire(Time(10));
        assert!(m.in_flight.is_none());
        assert!(!m.reachable(Time(10), BrokerId(1)));
        m.maybe_request(Time(10), &mut out);
        m.expire(Time(10));
        // Both bootstrap brokers are backing off: nothing more at this millisecond.
        m.maybe_request(Time(10), &mut out);
        assert!(m.in_flight.is_none());
        assert_eq!(m.next_deadline(Time(10)), Time(10 + RECONNECT_BACKOFF_MS));
    }
}
