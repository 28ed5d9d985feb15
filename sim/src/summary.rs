//! One-line summaries of messages for the trace and the message-flow view.

use broker_core::{Message, RecordBatch};

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

/// A short description: the API and the fields a student looks at.
pub fn summarize(message: &Message) -> String {
    match message {
        Message::Produce {
            tp, acks, batch, ..
        } => match batch.producer {
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
        },
        Message::ProduceResponse {
            tp,
            error,
            base_offset,
            ..
        } => match base_offset {
            Some(o) => format!("{tp} {error} offset={o}"),
            None => format!("{tp} {error}"),
        },
        Message::Fetch {
            replica_id,
            partitions,
            ..
        } => {
            let who = replica_id.map_or("consumer".to_owned(), |r| format!("replica {r}"));
            let parts: Vec<String> = partitions
                .iter()
                .map(|p| format!("{}@{}", p.tp, p.fetch_offset))
                .collect();
            format!("{who} {}", parts.join(" "))
        }
        Message::FetchResponse { partitions, .. } => {
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
        Message::AlterPartition { tp, new_isr, .. } => format!(
            "{tp} isr={:?}",
            new_isr.iter().map(|m| m.broker_id.0).collect::<Vec<_>>()
        ),
        Message::AlterPartitionResponse { tp, error, .. } => format!("{tp} {error}"),
        Message::BrokerHeartbeat {
            broker_id,
            want_shut_down,
            ..
        } => {
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
