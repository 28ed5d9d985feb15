//! Consumers and groups: each group's state, generation and members with their partitions, and
//! the committed offset and lag per partition; each consumer's position and lag.

use crate::app::App;
use broker_core::{BrokerId, TopicPartition};
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use sim::World;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" consumers and groups ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let world = app.session.world();
    let mut lines = group_lines(world);
    lines.extend(consumer_lines(world));
    if lines.is_empty() {
        lines.push(Line::from("no consumer is running"));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn group_lines(world: &World) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for broker in (1..=world.spec().brokers).filter_map(|b| world.broker(BrokerId(b))) {
        for (name, group) in broker.group_coordinator().groups() {
            lines.push(Line::from(Span::styled(
                format!(
                    "group {name}: {}, {}, coordinator broker-{}, assignor {}",
                    group.state,
                    generation_label(group.generation),
                    broker.id(),
                    group.protocol.as_deref().unwrap_or("-")
                ),
                Style::default().add_modifier(Modifier::BOLD),
            )));
            for member in group.members.values() {
                let tps: Vec<String> = member
                    .stored
                    .assignment
                    .iter()
                    .map(|t| t.to_string())
                    .collect();
                let tps = if tps.is_empty() {
                    "(idle)".to_owned()
                } else {
                    tps.join(" ")
                };
                lines.push(Line::from(format!(
                    "   member {:<24} {tps}",
                    member.stored.member_id
                )));
            }
            for (tp, committed) in &group.committed {
                let hw = high_watermark(world, tp);
                let lag = hw.map_or("?".to_owned(), |h| {
                    h.saturating_sub(committed.0).to_string()
                });
                lines.push(Line::from(format!(
                    "   {tp:<12} committed {:<6} lag {lag}",
                    committed.0
                )));
            }
        }
    }
    lines
}

fn consumer_lines(world: &World) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for (id, _, node) in world.nodes() {
        let Some(consumer) = node.and_then(|n| n.as_consumer()) else {
            continue;
        };
        let mode = match consumer.membership() {
            // Generation -1 is Kafka's "not in a generation yet" (JoinGroup pending).
            Some((group, _, generation, _)) if generation < 0 => {
                format!("group {group}, joining")
            }
            Some((group, member, generation, _)) => {
                format!("group {group}, {member} generation {generation}")
            }
            None => "assign mode: every partition".to_owned(),
        };
        lines.push(Line::from(Span::styled(
            format!("{} ({mode})", world.name(id)),
            Style::default().add_modifier(Modifier::BOLD),
        )));
        for (tp, position) in consumer.positions() {
            let hw = high_watermark(world, &tp);
            let (at, lag) = match (position, hw) {
                (Some(p), Some(h)) => (p.0.to_string(), h.saturating_sub(p.0).to_string()),
                (Some(p), None) => (p.0.to_string(), "?".to_owned()),
                (None, _) => ("-".to_owned(), "-".to_owned()),
            };
            lines.push(Line::from(format!(
                "   {tp:<12} position {at:<6} lag {lag}"
            )));
        }
    }
    lines
}

fn high_watermark(world: &World, tp: &TopicPartition) -> Option<u64> {
    let leader = world.metadata()?.partitions.get(tp)?.leader?;
    Some(
        world
            .broker(leader)?
            .replicas()
            .get(tp)?
            .log
            .high_watermark()
            .0,
    )
}

/// `generation 3`, or `no generation yet` for Kafka's -1.
fn generation_label(generation: i32) -> String {
    if generation < 0 {
        "no generation yet".to_owned()
    } else {
        format!("generation {generation}")
    }
}
