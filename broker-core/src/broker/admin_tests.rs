//! The broker's side of the admin APIs: forwarding to the controller, automatic topic creation
//! on `Metadata`, and a deleted topic's replicas and files.

use super::*;
use crate::protocol::{
    AutoCreateTopicsRequest, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest,
    Requester,
};

/// Messages the broker sent `to` since output `mark`.
fn sent(h: &Harness, mark: usize, to: NodeId) -> Vec<Message> {
    h.out[mark..]
        .iter()
        .filter_map(|o| match o {
            Output::Send { to: t, message } if *t == to => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn auto_create(h: &mut Harness, topics: &[&str]) -> (Vec<(Topic, ErrorCode)>, Vec<Message>) {
    let mark = h.out.len();
    let request = AutoCreateTopicsRequest {
        correlation_id: CorrelationId(5),
        topics: topics.iter().map(|t| Topic::new(t)).collect(),
    };
    h.input(Input::Message {
        from: CLIENT,
        message: Message::AutoCreateTopics(request),
    });
    let answer = match sent(h, mark, CLIENT).pop() {
        Some(Message::AutoCreateTopicsResponse(r)) => r.topics,
        other => panic!("expected an AutoCreateTopicsResponse, got {other:?}"),
    };
    (answer, sent(h, mark, CONTROLLER))
}

#[test]
fn create_and_delete_are_forwarded_to_the_controller_and_the_answer_relayed() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let mark = h.out.len();
    let request = CreateTopicsRequest {
        correlation_id: CorrelationId(3),
        topics: Vec::new(),
        validate_only: false,
        requester: Requester::Client,
    };
    h.input(Input::Message {
        from: CLIENT,
        message: Message::CreateTopics(request.clone()),
    });
    let forwarded = sent(&h, mark, CONTROLLER);
    let expected = CreateTopicsRequest {
        requester: Requester::Forwarded(CLIENT),
        ..request
    };
    assert_eq!(forwarded, vec![Message::CreateTopics(expected)]);
    let mark = h.out.len();
    let answer = CreateTopicsResponse {
        correlation_id: CorrelationId(3),
        topics: Vec::new(),
        requester: Requester::Forwarded(CLIENT),
    };
    h.deliver_from_controller(Message::CreateTopicsResponse(answer.clone()));
    let relayed = CreateTopicsResponse {
        requester: Requester::Client,
        ..answer
    };
    assert_eq!(
        sent(&h, mark, CLIENT),
        vec![Message::CreateTopicsResponse(relayed)]
    );
    let mark = h.out.len();
    h.input(Input::Message {
        from: CLIENT,
        message: Message::DeleteTopics(DeleteTopicsRequest {
            correlation_id: CorrelationId(4),
            topics: vec![Topic::new("t")],
            requester: Requester::Client,
        }),
    });
    assert!(matches!(
        &sent(&h, mark, CONTROLLER)[..],
        [Message::DeleteTopics(r)] if r.requester == Requester::Forwarded(CLIENT)
    ));
}

#[test]
fn unknown_topics_are_created_with_the_defaults_and_answered_unknown_meanwhile() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let (answer, to_controller) = auto_create(&mut h, &["t", "new", "bad name"]);
    assert_eq!(
        answer,
        vec![
            (Topic::new("new"), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION),
            (Topic::new("bad name"), ErrorCode::INVALID_TOPIC_EXCEPTION),
        ],
        "the known topic `t` is left out"
    );
    let [Message::CreateTopics(create)] = &to_controller[..] else {
        panic!("one CreateTopics to the controller, got {to_controller:?}");
    };
    assert_eq!(create.requester, Requester::AutoCreate);
    assert_eq!(create.topics.len(), 1);
    assert_eq!(create.topics[0].name, Topic::new("new"));
    assert_eq!(
        create.topics[0].partitions, None,
        "num.partitions, chosen by the controller"
    );
    assert_eq!(create.topics[0].replication_factor, None);
    // The controller's answer to an automatic creation goes to nobody.
    let mark = h.out.len();
    h.deliver_from_controller(Message::CreateTopicsResponse(CreateTopicsResponse {
        correlation_id: create.correlation_id,
        topics: Vec::new(),
        requester: Requester::AutoCreate,
    }));
    assert!(sent(&h, mark, CLIENT).is_empty());
}

#[test]
fn without_auto_create_topics_enable_unknown_topics_stay_unknown() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    h.broker.config.auto_create_topics_enable = false;
    let (answer, to_controller) = auto_create(&mut h, &["new"]);
    assert_eq!(
        answer,
        vec![(Topic::new("new"), ErrorCode::UNKNOWN_TOPIC_OR_PARTITION)]
    );
    assert!(to_controller.is_empty());
}

#[test]
fn a_deleted_topic_takes_its_replica_files_and_waiting_produces_with_it() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    // acks=all waits for the followers, which never fetch here.
    let waiting = h.produce(Acks::All, 2);
    assert_eq!(h.produce_response(waiting), None);
    let mark = h.out.len();
    h.metadata(vec![MetadataRecord::RemoveTopic { topic: tp().topic }]);
    assert!(h.broker.replicas().is_empty());
    assert!(h.broker.metadata().topics.is_empty());
    assert_eq!(
        h.produce_response(waiting),
        Some((ErrorCode::NOT_LEADER_OR_FOLLOWER, None))
    );
    let deleted: Vec<FileName> = h.out[mark..]
        .iter()
        .filter_map(|o| match o {
            Output::Disk(DiskOp::Delete { file, .. }) => Some(file.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deleted, vec![FileName::Segment(tp(), Offset(0))]);
    let emptied_epochs = h.out[mark..].iter().any(|o| {
        matches!(o, Output::Disk(DiskOp::WriteCheckpoint {
            file: FileName::LeaderEpochCheckpoint(t),
            checkpoint: Checkpoint::LeaderEpochs(e),
            ..
        }) if *t == tp() && e.is_empty())
    });
    assert!(emptied_epochs);
}

#[test]
fn a_topic_created_and_removed_in_one_update_leaves_nothing() {
    let mut h = Harness::leader(ProtocolSwitches::default(), 1, &[1, 2, 3]);
    let other = TopicPartition::new(&Topic::new("brief"), 0);
    h.metadata(vec![
        MetadataRecord::Topic {
            topic: other.topic.clone(),
            partitions: 1,
            config: h.broker.config.topic_defaults.clone(),
        },
        MetadataRecord::Partition {
            tp: other.clone(),
            state: state(1, 0, &[1]),
        },
        MetadataRecord::RemoveTopic {
            topic: other.topic.clone(),
        },
    ]);
    assert!(!h.broker.replicas().contains_key(&other));
    assert!(h.broker.replicas().contains_key(&tp()));
}
