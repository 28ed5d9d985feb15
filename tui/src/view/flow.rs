//! Message flow: a sequence diagram with one lane per node, newest at the bottom. Every message
//! is labelled by its API name (new APIs appear without change here); a dropped one ends in ✗.

use crate::app::App;
use broker_core::NodeId;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use sim::TraceKind;

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
    let recent: Vec<Line> = world
        .trace()
        .iter()
        .rev()
        .filter_map(|e| {
            let (from, to, api, dropped) = match &e.kind {
                TraceKind::Sent { to, api, .. } => (e.node?, *to, api.as_ref(), false),
                TraceKind::Dropped { to, api, .. } => (e.node?, *to, api.as_ref(), true),
                _ => return None,
            };
            let from_lane = nodes.iter().position(|n| *n == from)?;
            let to_lane = nodes.iter().position(|n| *n == to)?;
            Some(arrow(
                format!("{}", e.time),
                from_lane,
                to_lane,
                lanes,
                lane_width,
                api,
                dropped,
            ))
        })
        .take(rows)
        .collect();
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

/// `time  │──Produce──▶│` between two lanes.
fn arrow(
    time: String,
    from: usize,
    to: usize,
    lanes: usize,
    lane_width: usize,
    api: &str,
    dropped: bool,
) -> Line<'static> {
    let width = lanes * lane_width;
    let mut row: Vec<char> = vec![' '; width];
    for lane in 0..lanes {
        row[lane * lane_width] = '│';
    }
    let (a, b) = (from.min(to) * lane_width, from.max(to) * lane_width);
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
    let label: Vec<char> = format!(" {api} ").chars().collect();
    let start = a + 1 + ((b - a).saturating_sub(label.len())) / 2;
    for (i, ch) in label.iter().enumerate() {
        if start + i < b.saturating_sub(1) {
            row[start + i] = *ch;
        }
    }
    let color = if dropped {
        Color::Red
    } else if api.ends_with("Response") {
        Color::Cyan
    } else {
        Color::White
    };
    Line::from(vec![
        Span::styled(format!("{time:>9} "), Style::default().fg(Color::DarkGray)),
        Span::styled(
            row.into_iter().collect::<String>(),
            Style::default().fg(color),
        ),
    ])
}
