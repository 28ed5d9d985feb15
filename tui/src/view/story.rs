//! `e`: what just happened to a partition, up to now: the faults that touched its replicas and
//! its elections, ISR changes, truncations and recoveries, told in the words of
//! `run --explain` (`sim::story`), newest last, then why its high watermark is where it is.

use crate::app::App;
use broker_core::{BrokerId, NodeId, PartitionState, TopicPartition};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use sim::{TraceKind, World};

/// How many moments the panel tells.
pub const TOLD: usize = 6;

/// The partition the panel is about: the first the selected broker holds, else the first.
pub fn partition(
    app: &App,
    shown: &[(TopicPartition, PartitionState)],
) -> Option<(TopicPartition, PartitionState)> {
    let held = match app.selected_node() {
        NodeId::Broker(b) => shown.iter().find(|(_, s)| s.replicas.contains(&b)),
        _ => None,
    };
    held.or(shown.first()).cloned()
}

/// The panel's lines: a title, then up to [`TOLD`] moments, newest last.
pub fn lines(world: &World, tp: &TopicPartition, state: &PartitionState) -> Vec<Line<'static>> {
    let title = Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            " what just happened to {tp}: leader {}, epoch {}, ISR [{}] (e closes) ",
            state
                .leader
                .map_or("none".to_owned(), |l| format!("broker-{l}")),
            state.leader_epoch,
            sim::story::ids(&state.isr)
        ),
        title,
    ))];
    let told = told(world, tp, &state.replicas);
    if told.is_empty() {
        lines.push(Line::from(" nothing yet: no fault, election or ISR change"));
    }
    let skip = told.len().saturating_sub(TOLD);
    for (time, glyph, text) in told.into_iter().skip(skip) {
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:>9} ", time.to_string()),
                Style::default().fg(Color::DarkGray),
            ),
            Span::styled(format!("{glyph} "), Style::default().fg(Color::Yellow)),
            Span::raw(text),
        ]));
    }
    lines
}

/// Every moment of the partition so far: (time, glyph, sentence). ⚡ marks only a power
/// failure; other faults get ✖, events •.
fn told(
    world: &World,
    tp: &TopicPartition,
    replicas: &[BrokerId],
) -> Vec<(broker_core::Time, &'static str, String)> {
    let is_replica = |node: &NodeId| match node {
        NodeId::Broker(b) => replicas.contains(b),
        NodeId::Client(_) => true,
        _ => false,
    };
    world
        .trace()
        .iter()
        .filter_map(|e| {
            let (glyph, text) = match &e.kind {
                TraceKind::Fault { fault } if e.moment().is_some() => {
                    if !sim::story::fault_touches(fault, &is_replica) {
                        return None;
                    }
                    (
                        sim::story::fault_glyph(fault),
                        sim::story::describe_fault(world, fault),
                    )
                }
                TraceKind::Event { event } => ("•", sim::story::tell_event(event, tp)?),
                _ => return None,
            };
            Some((e.time, glyph, text))
        })
        .collect()
}
