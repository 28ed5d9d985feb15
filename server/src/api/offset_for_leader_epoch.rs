//! OffsetForLeaderEpoch (KIP-320, consumers' offset validation): after a leader change a
//! consumer asks the new leader where the epoch of its position ends, to detect truncation
//! (kafka-python 3 validates whether or not the broker advertises the API, and never fetches a
//! partition again until it validated). Kafka answers from the leader's leader-epoch cache
//! (`Partition.lastOffsetForLeaderEpoch`, `LeaderEpochFileCache.endOffsetFor`); so does the
//! lab, from the broker's replica state when the request is taken, without a simulated
//! round trip (the broker-core has no such message).

use super::{topic, Reply};
use crate::errors;
use broker_core::broker::Broker;
use broker_core::{ErrorCode, LeaderEpoch, TopicPartition};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

/// The response, from `broker`'s state (`None`: the broker is down).
pub fn answer(
    request: OffsetForLeaderEpochRequest,
    reply: Reply,
    broker: Option<&Broker>,
) -> crate::request::Frame {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let lab_topic = topic(&t.topic);
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let tp = TopicPartition::new(&lab_topic, p.partition.max(0) as u32);
                    let (code, epoch, end) =
                        end_offset(broker, &tp, p.current_leader_epoch, p.leader_epoch);
                    EpochEndOffset::default()
                        .with_error_code(code)
                        .with_partition(p.partition)
                        .with_leader_epoch(epoch)
                        .with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    reply.encode(&OffsetForLeaderEpochResponse::default().with_topics(topics))
}

/// `(error code, epoch, end offset)` for one partition, as `Partition.lastOffsetForLeaderEpoch`
/// decides: only the leader answers; a current epoch older than the leader's is fenced, a newer
/// one unknown (-1: not checked); an epoch newer than any the log knows is `(-1, -1)`.
fn end_offset(
    broker: Option<&Broker>,
    tp: &TopicPartition,
    current: i32,
    requested: i32,
) -> (i16, i32, i64) {
    let fail = |code: ErrorCode| (errors::wire(code), -1, -1);
    let Some(replica) = broker.and_then(|b| b.replicas().get(tp)) else {
        return fail(ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
    };
    if replica.leading.is_none() {
        return fail(ErrorCode::NOT_LEADER_OR_FOLLOWER);
    }
    let leader_epoch = i64::from(replica.leader_epoch.0);
    if current >= 0 && i64::from(current) < leader_epoch {
        return fail(ErrorCode::FENCED_LEADER_EPOCH);
    }
    if i64::from(current) > leader_epoch {
        return fail(ErrorCode::UNKNOWN_LEADER_EPOCH);
    }
    if requested < 0 {
        return (0, -1, -1);
    }
    match replica.log.end_offset_for(LeaderEpoch(requested as u32)) {
        Some(e) => (0, e.epoch.0 as i32, e.end_offset.0 as i64),
        None => (0, -1, -1),
    }
}

#[cfg(test)]
mod tests {
    use super::end_offset;
    use broker_core::{BrokerId, NodeId, Time, Topic, TopicPartition};

    /// Kafka's `Partition.lastOffsetForLeaderEpoch` rules on a live world: after a leader
    /// change, the new leader answers its own epoch with its LEO; an older current epoch is
    /// fenced (74), a newer one unknown (75; Errors.java); a follower is not the leader (6); an unknown
    /// partition is 3.
    #[test]
    fn only_the_leader_answers_and_stale_epochs_are_fenced() {
        let scenario = crate::scenario_with_orders();
        let spec = crate::serve::live_spec(scenario.world_spec().unwrap());
        let mut world = sim::World::new(spec);
        world.run_until(Time(3_000));
        let tp = TopicPartition::new(&Topic::new("orders"), 0);
        let leader = |w: &sim::World| {
            w.controller().unwrap().metadata().partitions[&tp]
                .leader
                .unwrap()
        };
        let first = leader(&world);
        world.inject_fault(sim::FaultAction::Crash {
            target: NodeId::Broker(first),
        });
        world.run_until(Time(15_000));
        let now = leader(&world);
        assert_ne!(now, first);
        let broker = world.broker(now);
        let replica = &broker.unwrap().replicas()[&tp];
        let epoch = replica.leader_epoch.0 as i32;
        assert!(epoch >= 1, "a leader change bumps the epoch");
        let leo = replica.log.log_end_offset().0 as i64;
        assert_eq!(end_offset(broker, &tp, epoch, epoch), (0, epoch, leo));
        assert_eq!(end_offset(broker, &tp, -1, epoch), (0, epoch, leo));
        assert_eq!(end_offset(broker, &tp, epoch - 1, epoch).0, 74);
        assert_eq!(end_offset(broker, &tp, epoch + 1, epoch).0, 75);
        assert_eq!(end_offset(broker, &tp, epoch, epoch + 5), (0, -1, -1));
        let follower = (1..=3)
            .map(BrokerId)
            .find(|b| *b != now && *b != first)
            .unwrap();
        assert_eq!(end_offset(world.broker(follower), &tp, epoch, epoch).0, 6);
        let unknown = TopicPartition::new(&Topic::new("nope"), 0);
        assert_eq!(end_offset(broker, &unknown, epoch, epoch).0, 3);
        assert_eq!(end_offset(None, &tp, epoch, epoch).0, 3);
    }
}
