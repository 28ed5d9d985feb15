//! Message flow: a sequence diagram with one lane per node, newest at the bottom. Every message
//! is labelled by its API name (new APIs appear without change here); a dropped one ends in ✗.

use crate::app::App;
use broker_core::{NodeId, Time};
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use sim::TraceKind;
use std::collections::BTreeMap;

/// Width of the time column.
const TIME_WIDTH: usize = 10;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" message flow (newest last; ✗ dropped) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let nodes = app.nodes();
    let lanes = nodes.len().max(1);
    let lane_width = ((inner.width as usize).saturating_sub(TIME_WIDTH) / lanes).max(3);
    let world = app.session.world();
    let mut lines = vec![header(app, &nodes, lane_width)];
    let rows = inner.height.saturating_sub(1) as usize;
    // Newest first. A message dropped when it arrives (its receiver is gone) is drawn once,
    // as its drop (✗), not also as its send: each drop hides the latest send before it of the
    // same API on the same link.
    let mut drops: BTreeMap<(NodeId, NodeId, &str), usize> = BTreeMap::new();
    let mut recent: Vec<Line> = Vec::new();
    for e in world.trace().iter().rev() {
        if recent.len() >= rows {
            break;
        }
        let (from, to, api, summary, dropped) = match &e.kind {
            TraceKind::Sent {
                to, api, summary, ..
            } => (e.node, *to, api.as_ref(), &**summary, false),
            TraceKind::Dropped { to, api, .. } => (e.node, *to, api.as_ref(), "", true),
            _ => continue,
        };
        let Some(from) = from else { continue };
        let pending = drops.entry((from, to, api)).or_default();
        if dropped {
            *pending += 1;
        } else if *pending > 0 {
            *pending -= 1;
            continue;
        }
        let (Some(from_lane), Some(to_lane)) = (
            nodes.iter().position(|n| *n == from),
            nodes.iter().position(|n| *n == to),
        ) else {
            continue;
        };
        let lanes = Lanes {
            count: lanes,
            width: lane_width,
        };
        recent.push(arrow(
            e.time,
            (from_lane, to_lane),
            lanes,
            &label(api, summary),
            dropped,
        ));
    }
    lines.extend(recent.into_iter().rev());
    frame.render_widget(Paragraph::new(lines), inner);
}

fn header(app: &App, nodes: &[NodeId], lane_width: usize) -> Line<'static> {
    let mut text = " ".repeat(TIME_WIDTH);
    for id in nodes {
        let name = app.session.world().name(*id);
        let name: String = name.chars().take(lane_width - 1).collect();
        text.push_str(&format!("{name:<lane_width$}"));
    }
    Line::from(Span::styled(text, Style::default().fg(Color::Gray)))
}

/// What an arrow says: the API, and for a Produce the keys and partition it carries
/// (`Produce k3 → orders-1`, read from the summary's first words, see `sim::summary::keys`).
/// Longest first: the arrow shows the first that fits (`k3 → orders-1` on a narrow terminal).
pub fn label(api: &str, summary: &str) -> Vec<String> {
    let words: Vec<&str> = summary.split_whitespace().take(3).collect();
    match words.as_slice() {
        [tp, "key", keys] if api == "Produce" => vec![
            format!("{api} {keys} → {tp}"),
            format!("{keys} → {tp}"),
            format!("{keys}→{tp}"),
            keys.to_string(),
        ],
        _ => vec![api.to_owned()],
    }
}

/// The lanes of the diagram: how many, and how wide each is.
#[derive(Clone, Copy)]
struct Lanes {
    count: usize,
    width: usize,
}

/// `time  │──Produce──▶│` between two lanes. The label goes between the arrow's ends and is
/// cut (…) before it would cover the arrowhead.
fn arrow(
    time: Time,
    (from, to): (usize, usize),
    lanes: Lanes,
    labels: &[String],
    dropped: bool,
) -> Line<'static> {
    let width = lanes.count * lanes.width;
    let mut row: Vec<char> = vec![' '; width];
    for lane in 0..lanes.count {
        row[lane * lanes.width] = '│';
    }
    let (a, b) = (from.min(to) * lanes.width, from.max(to) * lanes.width);
    for c in row.iter_mut().take(b).skip(a + 1) {
        *c = '─';
    }
    let head = if dropped {
        '✗'
    } else if to > from {
        '▶'
    } else {
        '◀'
    };
    let head_at = if to > from {
        b.saturating_sub(1)
    } else {
        a + 1
    };
    row[head_at.min(width - 1)] = head;
    // Room strictly between the two ends (the head and the tail's first dash).
    let room = b.saturating_sub(a + 4);
    let fits = |l: &&String| l.chars().count() + 2 <= room;
    let label = labels.iter().find(fits).or(labels.first());
    let label = label.map_or("", |l| l.as_str());
    let mut text: Vec<char> = format!(" {label} ").chars().collect();
    if text.len() > room {
        text.truncate(room.saturating_sub(2));
        if room >= 3 {
            text.push('…');
            text.push(' ');
        }
    }
    let start = a + 2 + (room.saturating_sub(text.len())) / 2;
    for (i, ch) in text.iter().enumerate() {
        row[start + i] = *ch;
    }
    let color = if dropped {
        Color::Red
    } else if label.contains("Response") {
        Color::Cyan
    } else {
        Color::White
    };
    Line::from(vec![
        Span::styled(
            format!("{:>9} ", time.to_string()),
            Style::default().fg(Color::DarkGray),
        ),
        Span::styled(
            row.into_iter().collect::<String>(),
            Style::default().fg(color),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_produce_label_names_its_keys_and_partition_and_others_their_api() {
        let produce = label("Produce", "orders-1 key k3 acks=all 1 record(s)");
        assert_eq!(produce[0], "Produce k3 → orders-1");
        assert_eq!(produce[1], "k3 → orders-1", "on a narrow terminal");
        assert_eq!(label("Fetch", "replica 2 orders-0@5"), vec!["Fetch"]);
    }

    #[test]
    fn a_cut_label_keeps_both_arrowheads() {
        let lanes = Lanes { count: 3, width: 8 };
        for (from, to, head) in [(0, 2, '▶'), (2, 0, '◀')] {
            let labels = ["Produce k0,k1,k2 → orders-1".to_owned()];
            let line = arrow(Time(5), (from, to), lanes, &labels, false);
            let row: String = line.spans[1].content.to_string();
            assert!(row.contains(head), "{row}");
            assert!(row.contains('…'), "cut: {row}");
            assert!(row.contains("Pro"), "{row}");
        }
    }
}
