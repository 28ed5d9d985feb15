//! The history checker at scale: `cargo bench -p sim --bench checker`.
//!
//! Builds a history of 1.1 million operations (1,000,000 acknowledged sends over 4 partitions,
//! then a consumer reading every record in 100,000 polls of 10) and times `check_history` on
//! it. Wall time is measured here only; nothing in a run reads a clock.
#![allow(clippy::disallowed_methods)] // Instant::now: a benchmark measures wall time.

use broker_core::{
    ClientId, HistoryEntry, NodeId, Offset, SendOutcome, Time, Topic, TopicPartition,
};
use bytes::Bytes;
use sim::checker::check_history;
use sim::HistoryRecord;
use std::time::Instant;

const SENDS: u64 = 1_000_000;
const PARTITIONS: u64 = 4;
const POLL_RECORDS: usize = 10;

fn history() -> Vec<HistoryRecord> {
    let topic = Topic::new("events");
    let producer = NodeId::Client(ClientId(1));
    let consumer = NodeId::Client(ClientId(2));
    let mut history = Vec::with_capacity((SENDS * 2) as usize + 60_000);
    let mut logs: Vec<Vec<(Offset, Bytes)>> = vec![Vec::new(); PARTITIONS as usize];
    for i in 0..SENDS {
        let p = i % PARTITIONS;
        let tp = TopicPartition::new(&topic, p as u32);
        let value = Bytes::from(format!("producer-1:{i}"));
        let offset = Offset(i / PARTITIONS);
        logs[p as usize].push((offset, value.clone()));
        let time = Time(i);
        let invoked = HistoryEntry::SendInvoked {
            value: value.clone(),
            tp: tp.clone(),
        };
        history.push(HistoryRecord {
            time,
            client: producer,
            entry: invoked,
        });
        let outcome = SendOutcome::Ok(Some(offset));
        let completed = HistoryEntry::SendCompleted { value, tp, outcome };
        history.push(HistoryRecord {
            time,
            client: producer,
            entry: completed,
        });
    }
    for (p, log) in logs.into_iter().enumerate() {
        let tp = TopicPartition::new(&topic, p as u32);
        for chunk in log.chunks(POLL_RECORDS) {
            let entry = HistoryEntry::Polled {
                tp: tp.clone(),
                records: chunk.to_vec(),
                invoked: Time(SENDS),
            };
            history.push(HistoryRecord {
                time: Time(SENDS),
                client: consumer,
                entry,
            });
        }
    }
    history
}

fn main() {
    let history = history();
    let polls = history.len() - 2 * SENDS as usize;
    let operations = SENDS as usize + polls;
    for round in 1..=3 {
        let started = Instant::now();
        let findings = check_history(&history);
        let elapsed = started.elapsed();
        assert!(
            findings.is_empty(),
            "a clean history has no findings: {findings:?}"
        );
        println!(
            "round {round}: checked {} history entries ({operations} operations: {SENDS} sends, {} records read) in {:.3} s",
            history.len(),
            SENDS,
            elapsed.as_secs_f64()
        );
    }
}
