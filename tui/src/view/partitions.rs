//! The main screen: per partition, a row per replica (leader first) with its log as cells
//! coloured by leader epoch, committed (█) and not yet committed (▒) records, each replica's own
//! LEO and HW, ISR membership with the reason a replica is out, recent truncations, and a "why"
//! line saying what holds the high watermark back.

use super::{epoch_color, node_label, status_glyph};
use crate::app::App;
use broker_core::{BrokerId, Event, NodeId, Offset, PartitionState, Replica, TopicPartition};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;
use sim::{Status, TraceKind, World};

/// A truncation stays on screen this long (simulated ms).
const TRUNCATION_SHOWN_MS: u64 = 3000;
/// Room for the label on the left and the figures on the right of each row.
const LABEL_WIDTH: u16 = 24;
const FIGURES_WIDTH: u16 = 30;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let world = app.session.world();
    let block = Block::bordered().title(
        " partitions: replicas (leader first), log by leader epoch, LEO and HW per replica ",
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cell_width: u16 = if app.presenter { 2 } else { 1 };
    let cells = (inner.width.saturating_sub(LABEL_WIDTH + FIGURES_WIDTH) / cell_width) as u64;
    let mut lines = Vec::new();
    for (tp, state) in partitions(world) {
        if tp.topic.0.starts_with("__") {
            continue; // internal topics: the consumers view shows the groups they serve
        }
        partition_lines(app, &tp, &state, cells, cell_width, &mut lines);
        if lines.len() as u16 >= inner.height {
            break;
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Partition states as the controller has them (or, with the controller down, a broker).
fn partitions(world: &World) -> Vec<(TopicPartition, PartitionState)> {
    let image = match world.metadata() {
        Some(image) => Some(image),
        None => {
            (1..=world.spec().brokers).find_map(|b| world.broker(BrokerId(b)).map(|b| b.metadata()))
        }
    };
    image.map_or_else(Vec::new, |i| {
        i.partitions
            .iter()
            .map(|(tp, s)| (tp.clone(), s.clone()))
            .collect()
    })
}

fn partition_lines(
    app: &App,
    tp: &TopicPartition,
    state: &PartitionState,
    cells: u64,
    cell_width: u16,
    lines: &mut Vec<Line<'static>>,
) {
    let world = app.session.world();
    let leader = state
        .leader
        .map_or("none: offline".to_owned(), |l| format!("broker-{l}"));
    lines.push(Line::from(vec![
        Span::styled(
            format!("{tp}"),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "  leader {leader}  epoch {}  ISR [{}]",
            state.leader_epoch,
            ids(&state.isr)
        )),
        Span::styled(elr_label(state), Style::default().fg(Color::Yellow)),
    ]));
    let mut order = state.replicas.clone();
    order.sort_by_key(|b| Some(*b) != state.leader);
    let end = order
        .iter()
        .filter_map(|b| replica(world, *b, tp))
        .map(|r| r.log.log_end_offset().0)
        .max()
        .unwrap_or(0);
    let first = end.saturating_sub(cells);
    lines.push(ruler(first, end, cell_width));
    for broker in order {
        lines.push(replica_line(app, tp, state, broker, first, end, cell_width));
    }
    lines.push(why_line(world, tp, state));
}

fn replica<'w>(world: &'w World, broker: BrokerId, tp: &TopicPartition) -> Option<&'w Replica> {
    world.broker(broker)?.replicas().get(tp)
}

/// Offset ticks above the cells.
fn ruler(first: u64, end: u64, cell_width: u16) -> Line<'static> {
    let mut text = " ".repeat(LABEL_WIDTH as usize);
    let mut col = 0usize;
    for offset in first..end.max(first + 1) {
        let here = (offset - first) as usize * cell_width as usize;
        if offset % 10 == 0 && here >= col {
            text.push_str(&" ".repeat(here - col));
            let label = offset.to_string();
            col = here + label.len();
            text.push_str(&label);
        }
    }
    Line::from(Span::styled(text, Style::default().fg(Color::DarkGray)))
}

fn replica_line(
    app: &App,
    tp: &TopicPartition,
    state: &PartitionState,
    broker: BrokerId,
    first: u64,
    end: u64,
    cell_width: u16,
) -> Line<'static> {
    let world = app.session.world();
    let id = NodeId::Broker(broker);
    let (glyph, word, color) = status_glyph(world.status(id));
    let role = if state.leader == Some(broker) {
        "★"
    } else {
        " "
    };
    let mut spans = vec![
        Span::styled(glyph.to_string(), Style::default().fg(color)),
        node_label(app, id),
        Span::raw(format!(" {role} ")),
    ];
    let width: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    spans.push(Span::raw(
        " ".repeat((LABEL_WIDTH as usize).saturating_sub(width)),
    ));
    let Some(r) = replica(world, broker, tp) else {
        spans.push(Span::styled(
            format!("({word}: no replica state)"),
            Style::default().fg(Color::DarkGray),
        ));
        return Line::from(spans);
    };
    spans.extend(cells(r, first, end, cell_width));
    let in_isr = state.isr.contains(&broker);
    let badge = if in_isr {
        Span::styled(" ISR ", Style::default().fg(Color::Black).bg(Color::Green))
    } else if state.elr.contains(&broker) {
        let why = out_of_sync_reason(world, tp, state, broker, r);
        Span::styled(
            format!(" ELR: {why} "),
            Style::default().fg(Color::Black).bg(Color::Yellow),
        )
    } else {
        let why = out_of_sync_reason(world, tp, state, broker, r);
        Span::styled(
            format!(" out: {why} "),
            Style::default().fg(Color::White).bg(Color::Red),
        )
    };
    spans.push(Span::raw(format!(
        "  LEO {:<5} HW {:<5}",
        r.log.log_end_offset().0,
        r.log.high_watermark().0
    )));
    spans.push(badge);
    if let Some((from, to)) = recent_truncation(world, broker, tp) {
        spans.push(Span::styled(
            format!(" ✂ {from}→{to}"),
            Style::default().fg(Color::LightRed),
        ));
    }
    Line::from(spans)
}

/// The log's cells from `first` to `end`: colour by epoch, █ below this replica's HW, ▒ above.
fn cells(r: &Replica, first: u64, end: u64, cell_width: u16) -> Vec<Span<'static>> {
    let hw = r.log.high_watermark().0;
    let mut epochs: Vec<Option<u32>> = vec![None; (end - first) as usize];
    for batch in r.log.batches().rev() {
        if batch.next_offset().0 <= first {
            break;
        }
        for offset in batch.base_offset.0.max(first)..batch.next_offset().0.min(end) {
            epochs[(offset - first) as usize] = Some(batch.leader_epoch.0);
        }
    }
    let mut spans = Vec::with_capacity(epochs.len());
    for (i, epoch) in epochs.into_iter().enumerate() {
        let offset = first + i as u64;
        let glyph = if offset < hw { "█" } else { "▒" };
        let span = match epoch {
            Some(e) => Span::styled(
                glyph.repeat(cell_width as usize),
                Style::default().fg(epoch_color(e)),
            ),
            None => Span::raw(" ".repeat(cell_width as usize)),
        };
        spans.push(span);
    }
    spans
}

/// Why a replica is out of the ISR, from what the cluster shows.
fn out_of_sync_reason(
    world: &World,
    tp: &TopicPartition,
    state: &PartitionState,
    broker: BrokerId,
    r: &Replica,
) -> String {
    match world.status(NodeId::Broker(broker)) {
        Status::Up => {}
        status => return status_glyph(status).1.to_owned(),
    }
    if state.leader.is_none() {
        return "no leader to follow".to_owned();
    }
    let leader_leo = state
        .leader
        .and_then(|l| replica(world, l, tp))
        .map(|l| l.log.log_end_offset());
    match leader_leo {
        Some(leo) if r.log.log_end_offset() < leo => {
            format!("lagging {} behind", leo.0 - r.log.log_end_offset().0)
        }
        _ => "caught up, waiting to rejoin".to_owned(),
    }
}

/// A truncation of this replica in the last few simulated seconds.
fn recent_truncation(
    world: &World,
    broker: BrokerId,
    tp: &TopicPartition,
) -> Option<(Offset, Offset)> {
    let since = world.now().0.saturating_sub(TRUNCATION_SHOWN_MS);
    world
        .trace()
        .iter()
        .rev()
        .take_while(|e| e.time.0 >= since)
        .find_map(|e| match &e.kind {
            TraceKind::Event {
                event:
                    Event::Truncated {
                        broker: b,
                        tp: t,
                        from,
                        to,
                        ..
                    },
            } if *b == broker && t == tp => Some((*from, *to)),
            _ => None,
        })
}

/// `  ELR [3]` when the partition has eligible leader replicas (KIP-966), else nothing.
fn elr_label(state: &PartitionState) -> String {
    if state.elr.is_empty() {
        String::new()
    } else {
        format!("  ELR [{}]", ids(&state.elr))
    }
}

/// What holds the high watermark back, as the leader sees it.
fn why_line(world: &World, tp: &TopicPartition, state: &PartitionState) -> Line<'static> {
    let style = Style::default()
        .fg(Color::Gray)
        .add_modifier(Modifier::ITALIC);
    let Some(leader) = state.leader.and_then(|l| world.broker(l).map(|b| (l, b))) else {
        let text = if state.isr.is_empty() && !state.elr.is_empty() {
            format!(
                "   why: no leader: waiting for an eligible leader replica (ELR [{}]) to return",
                ids(&state.elr)
            )
        } else {
            "   why: no leader: nothing can be written or committed".to_owned()
        };
        return Line::from(Span::styled(text, style));
    };
    let Some(r) = leader.1.replicas().get(tp) else {
        return Line::from(Span::styled(
            "   why: the leader has not caught up with the metadata",
            style,
        ));
    };
    let (hw, leo) = (r.log.high_watermark(), r.log.log_end_offset());
    let text = if hw >= leo {
        format!(
            "   why: HW {} = LEO: every ISR member has every record",
            hw.0
        )
    } else if r.under_min_isr() {
        format!(
            "   why: HW {} stays: ISR [{}] is below min.insync.replicas={}",
            hw.0,
            ids(&r.isr),
            r.effective_min_isr()
        )
    } else {
        let laggards: Vec<String> = r
            .leading
            .iter()
            .flat_map(|l| l.followers.iter())
            .filter(|(b, f)| r.isr.contains(b) && f.log_end_offset.is_none_or(|o| o < leo))
            .map(|(b, f)| {
                let at = f
                    .log_end_offset
                    .map_or("nothing yet".to_owned(), |o| o.0.to_string());
                format!("broker-{b} (in ISR, fetched up to {at})")
            })
            .collect();
        format!("   why: HW {} held back by {}", hw.0, laggards.join(", "))
    };
    Line::from(Span::styled(text, style))
}

fn ids(brokers: &[BrokerId]) -> String {
    brokers
        .iter()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(",")
}
