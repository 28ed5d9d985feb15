//! The metadata quorum (KRaft, KIP-595): each controller's Raft role, epoch, vote, the leader
//! it knows, its `__cluster_metadata` log end and high watermark; then the brokers, Raft
//! observers that fetch the metadata log (never voters), in the same columns (asked of its
//! observer, `MetadataObserver::status`, Raft offsets like the controllers') and the controller
//! each heartbeats to (the leader its fetch learned).
//! ZooKeeper played this role before KRaft.

use super::{node_label, status_glyph};
use crate::app::App;
use broker_core::raft::{RaftStatus, Role};
use broker_core::NodeId;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use sim::{Status, World};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered()
        .title(" metadata quorum (KRaft): the active controller is the Raft leader ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = controller_lines(app);
    lines.push(Line::from(""));
    lines.extend(observer_lines(app));
    lines.push(Line::from(""));
    let dim = Style::default().fg(Color::DarkGray);
    for legend in LEGEND {
        lines.push(Line::styled(legend, dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The Raft roles' glyphs (`QuorumState`'s states, KIP-595 and KIP-996's prospective).
const LEGEND: [&str; 2] = [
    "  ★ leader  · follower  ? prospective (pre-vote)  ! candidate  ✓ voted",
    "  ↓ resigned  – unattached  ◌ observer   HW: the metadata log's high watermark",
];

/// The header, then one line per controller.
fn controller_lines(app: &App) -> Vec<Line<'static>> {
    let world = app.session.world();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::styled(
        format!(
            "  {:<14}{:<13}{:>5}  {:<6}{:<7}{:>7}{:>6}",
            "controller", "role", "epoch", "voted", "leader", "log end", "HW"
        ),
        bold,
    )];
    let isolated = super::cluster::isolated(app);
    let controllers: Vec<NodeId> = app
        .nodes()
        .into_iter()
        .filter(|n| matches!(n, NodeId::Controller(_)))
        .collect();
    for id in controllers {
        let (glyph, word, color) = status_glyph(world.status(id));
        let mut spans = vec![
            Span::styled(format!("{glyph} "), Style::default().fg(color)),
            node_label(app, id),
        ];
        match quorum_status(world, id) {
            Some(status) => spans.extend(status_spans(&status)),
            None if world.status(id) != Status::Up && world.status(id) != Status::Paused => {
                spans.push(Span::raw(format!("  {word}")));
            }
            None => spans.push(Span::raw(
                "  alone: its own metadata log, committed at its fsync (controllers = 1)",
            )),
        }
        if world.status(id) == Status::Paused {
            spans.push(Span::styled(
                "  ‖ paused",
                Style::default().fg(Color::Yellow),
            ));
        }
        if isolated.contains(&id) {
            spans.push(Span::styled(
                "  ⛓ isolated",
                Style::default().fg(Color::Red),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// A controller's quorum state, if it runs on the Raft log.
fn quorum_status(world: &World, id: NodeId) -> Option<RaftStatus> {
    let (_, _, node) = world.nodes().find(|(n, _, _)| *n == id)?;
    node?.as_controller()?.quorum_status()
}

/// `role  epoch  voted for  leader  log end  HW`, the role as a glyph and a word.
fn status_spans(status: &RaftStatus) -> Vec<Span<'static>> {
    let (glyph, word, color) = role_glyph(status.role);
    let short = |n: Option<NodeId>| match n {
        Some(NodeId::Controller(c)) => format!("c{}", c.0),
        Some(other) => other.to_string(),
        None => "-".to_owned(),
    };
    let role = format!(" {glyph} {word:<10}");
    vec![
        Span::styled(role, Style::default().fg(color)),
        Span::raw(format!(
            "{:>5}  {:<6}{:<7}{:>7}{:>6}",
            status.epoch.0,
            short(status.voted_for),
            short(status.leader),
            status.log_end.0,
            status.high_watermark.0
        )),
    ]
}

/// A Raft role as a glyph, a word and a colour (★ as the partitions view marks a leader).
fn role_glyph(role: Role) -> (&'static str, &'static str, Color) {
    match role {
        Role::Leader => ("★", "leader", Color::Green),
        Role::Follower => ("·", "follower", Color::Reset),
        Role::Prospective => ("?", "prospective", Color::Cyan),
        Role::Candidate => ("!", "candidate", Color::Yellow),
        Role::Voted => ("✓", "voted", Color::Cyan),
        Role::Resigned => ("↓", "resigned", Color::Magenta),
        Role::Unattached => ("–", "unattached", Color::DarkGray),
        Role::Observer => ("◌", "observer", Color::DarkGray),
    }
}

/// The brokers, observers: their metadata log in the controllers' columns (Raft offsets, so a
/// class compares a broker's log end and HW with the leader's), and whom they heartbeat to.
fn observer_lines(app: &App) -> Vec<Line<'static>> {
    let world = app.session.world();
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![Line::styled(
        "  brokers: ◌ observers of the metadata log, and whom they heartbeat to",
        bold,
    )];
    let active = world.active_controller();
    for id in app.nodes() {
        let NodeId::Broker(b) = id else { continue };
        let (glyph, word, color) = status_glyph(world.status(id));
        let mut spans = vec![
            Span::styled(format!("{glyph} "), Style::default().fg(color)),
            node_label(app, id),
        ];
        let Some(broker) = world.broker(b) else {
            spans.push(Span::raw(format!("  {word}")));
            lines.push(Line::from(spans));
            continue;
        };
        let target = broker.controller_channel().active();
        let width = world.name(id).chars().count();
        spans.push(Span::raw(" ".repeat(12usize.saturating_sub(width))));
        if let Some(observer) = broker.metadata_observer() {
            spans.extend(status_spans(&observer.status()));
        }
        spans.push(Span::raw(format!("  → {}", world.name(target))));
        if Some(target) != active {
            spans.push(Span::styled(
                "  (not active)",
                Style::default().fg(Color::Yellow),
            ));
        }
        lines.push(Line::from(spans));
    }
    lines
}
