//! The cluster: every node's state, the controller's role (ZooKeeper's, before KRaft), the
//! links that are cut or clogged, and what each broker leads.

use super::{node_label, status_glyph};
use crate::app::App;
use broker_core::{BrokerId, NodeId};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use std::collections::BTreeSet;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    // Side by side where the node lines fit; on a narrow terminal (80 columns) one above the
    // other, so that no line is cut mid-word.
    let [nodes, links] = if area.width >= 110 {
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area)
    } else {
        let servers = app
            .nodes()
            .iter()
            .filter(|n| !matches!(n, NodeId::Client(_)))
            .count() as u16;
        Layout::vertical([Constraint::Min(3), Constraint::Length(servers + 3)]).areas(area)
    };
    let block = Block::bordered()
        .title(" nodes (the controller elects leaders: ZooKeeper's role before KRaft) ");
    let inner = block.inner(nodes);
    frame.render_widget(block, nodes);
    frame.render_widget(Paragraph::new(node_lines(app)), inner);
    let block = Block::bordered().title(" links: · open  ✂ cut (row → column)  ≋ clogged ");
    let inner = block.inner(links);
    frame.render_widget(block, links);
    frame.render_widget(Paragraph::new(link_lines(app)), inner);
}

fn node_lines(app: &App) -> Vec<Line<'static>> {
    let world = app.session.world();
    let isolated = isolated(app);
    let metadata = world.metadata();
    app.nodes()
        .into_iter()
        .map(|id| {
            let (glyph, word, color) = status_glyph(world.status(id));
            let mut spans = vec![
                Span::styled(format!("{glyph} "), Style::default().fg(color)),
                node_label(app, id),
                Span::raw(format!("  {word}")),
            ];
            if isolated.contains(&id) {
                spans.push(Span::styled(
                    "  ⛓ isolated",
                    Style::default().fg(Color::Red),
                ));
            }
            if let (NodeId::Broker(b), Some(image)) = (id, metadata) {
                let leads = image
                    .partitions
                    .values()
                    .filter(|s| s.leader == Some(b))
                    .count();
                let under = image
                    .partitions
                    .values()
                    .filter(|s| s.leader == Some(b) && s.isr.len() < s.replicas.len())
                    .count();
                let fenced = image.brokers.get(&b).is_some_and(|r| r.fenced);
                spans.push(Span::raw(format!(
                    "  leads {leads}, under-replicated {under}"
                )));
                if fenced {
                    spans.push(Span::styled("  fenced", Style::default().fg(Color::Yellow)));
                }
            }
            if let NodeId::Controller(_) = id {
                spans.push(controller_role(app, id));
            }
            Line::from(spans)
        })
        .collect()
}

/// The active controller (the Raft leader of the quorum, or the only controller) decides;
/// the others stand by (the quorum view, 5, shows their Raft roles).
fn controller_role(app: &App, id: NodeId) -> Span<'static> {
    if app.session.world().active_controller() == Some(id) {
        Span::styled(
            "  ★ active controller: elects leaders",
            Style::default().fg(Color::Green),
        )
    } else {
        Span::raw("  standby: a voter of the quorum")
    }
}

/// Nodes every one of whose links is cut.
pub(super) fn isolated(app: &App) -> BTreeSet<NodeId> {
    let network = app.session.world().network();
    let cut: BTreeSet<(NodeId, NodeId)> = network.cut_links().collect();
    let nodes = app.nodes();
    nodes
        .iter()
        .copied()
        .filter(|n| {
            nodes
                .iter()
                .filter(|m| *m != n)
                .all(|m| cut.contains(&(*n, *m)) && cut.contains(&(*m, *n)))
        })
        .collect()
}

fn link_lines(app: &App) -> Vec<Line<'static>> {
    let world = app.session.world();
    let network = world.network();
    let cut: BTreeSet<(NodeId, NodeId)> = network.cut_links().collect();
    let clogged: BTreeSet<NodeId> = network.clogged().collect();
    let servers: Vec<NodeId> = app
        .nodes()
        .into_iter()
        .filter(|n| !matches!(n, NodeId::Client(_)))
        .collect();
    let short = |id: &NodeId| match id {
        NodeId::Broker(BrokerId(b)) => format!("b{b}"),
        NodeId::Controller(c) => format!("c{}", c.0),
        NodeId::Client(c) => format!("k{}", c.0),
    };
    let mut lines = vec![Line::from(format!(
        "      {}",
        servers
            .iter()
            .map(|s| format!("{:<4}", short(s)))
            .collect::<String>()
    ))];
    for from in &servers {
        let mut spans = vec![Span::raw(format!("  {:<4}", short(from)))];
        for to in &servers {
            let (text, color) = if from == to {
                ("-", Color::DarkGray)
            } else if cut.contains(&(*from, *to)) {
                ("✂", Color::Red)
            } else if clogged.contains(from) || clogged.contains(to) {
                ("≋", Color::Yellow)
            } else {
                ("·", Color::Green)
            };
            spans.push(Span::styled(
                format!("{text:<4}"),
                Style::default().fg(color),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines
}
