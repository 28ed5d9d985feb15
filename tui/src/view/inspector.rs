//! The record inspector (`v`): the record at the cursor's offset (`<` `>` move it) in each
//! partition's log on the selected broker (or, with a client selected, on the leader): its key,
//! value, timestamp, the leader epoch and producer id/epoch/sequence of its batch, and whether
//! it is committed there.

use crate::app::App;
use broker_core::{BrokerId, NodeId, Offset, PartitionState, RecordBatch, TopicPartition};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sim::World;

/// A value longer than this is cut (…).
const VALUE_SHOWN: usize = 24;

/// The inspector's lines for the partitions shown, at `offset`.
pub fn lines(
    app: &App,
    world: &World,
    partitions: &[(TopicPartition, PartitionState)],
    offset: u64,
) -> Vec<Line<'static>> {
    let title = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let mut lines = vec![Line::from(Span::styled(
        format!(" record inspector: offset {offset} (< > move, v closes) "),
        title,
    ))];
    for (tp, state) in partitions {
        let broker = match app.selected_node() {
            NodeId::Broker(b) if state.replicas.contains(&b) => Some(b),
            _ => state.leader,
        };
        let text = match broker {
            Some(b) => describe(world, b, tp, Offset(offset)),
            None => "no leader, no broker selected".to_owned(),
        };
        let on = broker.map_or(String::new(), |b| format!(" on broker-{b}"));
        lines.push(Line::from(vec![
            Span::styled(format!(" {tp}{on}: "), Style::default().fg(Color::Cyan)),
            Span::raw(text),
        ]));
    }
    lines
}

/// `key k3  value "keyed:42"  ts 4.211s  epoch 0  producer 1000/0 seq 41  committed`.
fn describe(world: &World, broker: BrokerId, tp: &TopicPartition, offset: Offset) -> String {
    let Some(replica) = world.broker(broker).and_then(|b| b.replicas().get(tp)) else {
        return "the broker is down (its disk is shown dimmed)".to_owned();
    };
    let batch: Option<&RecordBatch> = replica
        .log
        .batches()
        .find(|b| b.base_offset <= offset && offset < b.next_offset());
    let Some(batch) = batch else {
        let leo = replica.log.log_end_offset();
        return format!(
            "no record at {offset} (log {}..{leo})",
            replica.log.log_start_offset()
        );
    };
    // A cleaned batch keeps its offsets with gaps between them: find the record by its offset.
    let Some((_, record)) = batch.records_with_offsets().find(|(o, _)| *o == offset) else {
        return format!("no record at {offset}: compaction removed it (its batch still spans it)");
    };
    // A record's sequence is the batch's base sequence plus its offset delta
    // (`DefaultRecordBatch`), gaps included.
    let delta = offset.0 - batch.base_offset.0;
    let key = record.key.as_ref().map_or("null".to_owned(), |k| {
        String::from_utf8_lossy(k).into_owned()
    });
    let mut value: String = record
        .value
        .as_ref()
        .map_or("null (a tombstone)".to_owned(), |v| {
            String::from_utf8_lossy(v).into_owned()
        });
    if value.chars().count() > VALUE_SHOWN {
        value = value.chars().take(VALUE_SHOWN - 1).collect::<String>() + "…";
    }
    let producer = batch.producer.map_or(String::new(), |p| {
        format!(
            "  producer {}/{} seq {}",
            p.producer_id,
            p.producer_epoch,
            i64::from(p.base_sequence) + delta as i64
        )
    });
    let committed = if offset < replica.log.high_watermark() {
        "committed"
    } else {
        "not yet committed"
    };
    format!(
        "key {key}  value \"{value}\"  ts {}  leader epoch {}{producer}  {committed}",
        broker_core::Time(record.timestamp_ms),
        batch.leader_epoch
    )
}
