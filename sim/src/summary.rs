//! One-line summaries of messages for the trace and the message-flow view.

use broker_core::{Acks, Message, RecordBatch, TopicPartition};

/// The keys of a batch's records, distinct, in order: `k3`, `k0,k2`, `null`; at most three,
/// then `…`. A Produce summary begins `<partition> key <keys>`: the message-flow view reads
/// those three words for its label (`k3 → orders-1`).
pub fn keys(batch: &RecordBatch) -> String {
    const SHOWN: usize = 3;
    let mut keys: Vec<String> = Vec::new();
    for record in batch.records.iter() {
        let key = record.key.as_ref().map_or("null".to_owned(), |k| {
            String::from_utf8_lossy(k).into_owned()
        });
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    if keys.len() > SHOWN {
        keys.truncate(SHOWN);
        keys.push("…".to_owned());
    }
    keys.join(",")
}

/// One partition of a Produce: `<partition> key <keys> acks=<acks> <n> record(s)`, then the
/// idempotent producer's fields.
fn produced(tp: &TopicPartition, acks: Acks, batch: &RecordBatch) -> String {
    match batch.producer {
        Some(p) => format!(
            "{tp} key {} acks={acks} {} record(s) producer {} epoch {} seq {}",
            keys(batch),
            batch.len(),
            p.producer_id,
            p.producer_epoch,
            p.base_sequence
        ),
        None => format!(
            "{tp} key {} acks={acks} {} record(s)",
            keys(batch),
            batch.len()
        ),
    }
}

/// A short description: the API and the fields a student looks at; a Produce's partitions
/// are separated by `; `.
pub fn summarize(message: &Message) -> String {
    match message {
        Message::Produce(broker_core::ProduceRequest {
            acks, partitions, ..
        }) => {
            let parts: Vec<String> = partitions
                .iter()
                .map(|p| produced(&p.tp, *acks, &p.batch))
                .collect();
            parts.join("; ")
        }
        Message::ProduceResponse(broker_core::ProduceResponse { partitions, .. }) => {
            let parts: Vec<String> = partitions
                .iter()
                .map(|p| match p.base_offset {
                    Some(o) => format!("{} {} offset={o}", p.tp, p.error),
                    None => format!("{} {}", p.tp, p.error),
                })
                .collect();
            parts.join("; ")
        }
        Message::Fetch(broker_core::FetchRequest {
            replica_id,
            partitions,
            ..
        }) => {
            let who = replica_id.map_or("consumer".to_owned(), |r| format!("replica {r}"));
            let parts: Vec<String> = partitions
                .iter()
                .map(|p| format!("{}@{}", p.tp, p.fetch_offset))
                .collect();
            format!("{who} {}", parts.join(" "))
        }
        Message::FetchResponse(broker_core::FetchResponse { partitions, .. }) => {
            let parts: Vec<String> = partitions
                .iter()
                .map(|p| {
                    let n: u64 = p.batches.iter().map(|b| b.len()).sum();
                    match (p.error.is_ok(), p.diverging_epoch) {
                        (_, Some(d)) => format!(
                            "{} diverging(epoch {} ends {})",
                            p.tp, d.epoch, d.end_offset
                        ),
                        (true, None) => format!("{} {n} rec HW={}", p.tp, p.high_watermark),
                        (false, None) => format!("{} {}", p.tp, p.error),
                    }
                })
                .collect();
            parts.join(" ")
        }
        Message::AlterPartition(broker_core::AlterPartitionRequest { tp, new_isr, .. }) => format!(
            "{tp} isr={:?}",
            new_isr.iter().map(|m| m.broker_id.0).collect::<Vec<_>>()
        ),
        Message::AlterPartitionResponse(broker_core::AlterPartitionResponse {
            tp, error, ..
        }) => format!("{tp} {error}"),
        Message::BrokerHeartbeat(broker_core::BrokerHeartbeatRequest {
            broker_id,
            want_shut_down,
            ..
        }) => {
            format!(
                "broker-{broker_id}{}",
                if *want_shut_down {
                    " want_shut_down"
                } else {
                    ""
                }
            )
        }
        other => other.api_name().to_owned(),
    }
}
