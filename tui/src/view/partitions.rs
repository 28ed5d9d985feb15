//! The main screen: per partition, a row per replica (leader first) with its log as cells
//! coloured by leader epoch, committed (█) and not yet committed (▒) records, what the next
//! retention check deletes (▓) and records the cleaner removed (·), each replica's own
//! LEO and HW, ISR membership with the reason a replica is out, recent truncations, and a "why"
//! line saying what holds the high watermark back.

use super::{epoch_color, node_label, status_glyph};
use crate::app::App;
use crate::session::Session;
use broker_core::{
    BrokerId, DiskEntry, Event, FileName, NodeId, Offset, PartitionState, RecordBatch, Replica,
    TopicPartition,
};
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
const FIGURES_WIDTH: u16 = 34;

/// The view of `session` (the app's own, or the other pane's in `--compare`), titled `title`
/// when given.
pub fn draw(frame: &mut Frame, area: Rect, app: &App, session: &Session, title: Option<Line>) {
    let world = session.world();
    let title = title.unwrap_or_else(|| {
        Line::from(if area.width >= 100 {
            " partitions: replicas (leader first), log by leader epoch, LEO and HW per replica "
        } else {
            " partitions: replicas, leader (★) first, log by epoch "
        })
    });
    let block = Block::bordered().title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let cell_width: u16 = if app.presenter { 2 } else { 1 };
    let cells = (inner.width.saturating_sub(LABEL_WIDTH + FIGURES_WIDTH) / cell_width) as u64;
    let mut lines = Vec::new();
    // Internal topics: the consumers view shows the groups they serve.
    let shown: Vec<(TopicPartition, PartitionState)> = partitions(world)
        .into_iter()
        .filter(|(tp, _)| !tp.topic.0.starts_with("__"))
        .collect();
    let mut inspector = app
        .inspect
        .map(|offset| super::inspector::lines(app, world, &shown, offset))
        .unwrap_or_default();
    if app.explain {
        if let Some((tp, state)) = super::story::partition(app, &shown) {
            inspector.extend(super::story::lines(world, &tp, &state));
        }
    }
    let inner = if inspector.is_empty() {
        inner
    } else {
        let [rows, foot] = ratatui::layout::Layout::vertical([
            ratatui::layout::Constraint::Min(1),
            ratatui::layout::Constraint::Length(inspector.len() as u16),
        ])
        .areas(inner);
        frame.render_widget(Paragraph::new(inspector), foot);
        rows
    };
    for (tp, state) in shown {
        partition_lines(app, world, &tp, &state, (cells, cell_width), &mut lines);
        if lines.len() as u16 >= inner.height {
            break;
        }
    }
    if lines.is_empty() {
        // t=0: no partition exists until the controller has elected its first leaders.
        lines.push(Line::from(Span::styled(
            format!(
                "At {} the cluster is starting: the brokers register with the controller, \
                 which then creates the topics and elects their first leaders.",
                world.now()
            ),
            Style::default().fg(Color::Gray),
        )));
        lines.push(Line::from(Span::styled(
            "space plays, . steps one event, n jumps to the next notable moment.",
            Style::default().fg(Color::Gray),
        )));
        let wrapped = Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: true });
        frame.render_widget(wrapped, inner);
        return;
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
    world: &World,
    tp: &TopicPartition,
    state: &PartitionState,
    (cells, cell_width): (u64, u16),
    lines: &mut Vec<Line<'static>>,
) {
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
    if let Some(banner) = loss_banner(world, tp) {
        lines.push(Line::from(vec![Span::raw("  "), banner]));
    }
    let mut order = state.replicas.clone();
    order.sort_by_key(|b| Some(*b) != state.leader);
    let end = order
        .iter()
        .map(|b| log_end(world, *b, tp))
        .max()
        .unwrap_or(0);
    // Room for the replicas' segment labels once a log has rolled or its start moved.
    let storage = order
        .iter()
        .filter_map(|b| replica(world, *b, tp))
        .filter_map(storage_label)
        .map(|l| l.chars().count() as u64)
        .max()
        .unwrap_or(0);
    let cells = match storage {
        0 => cells,
        n => cells
            .saturating_sub(n.div_ceil(u64::from(cell_width)))
            .max(1),
    };
    let (first, end) = window(world, tp, end, cells);
    lines.push(ruler(first, end, cell_width, app.inspect));
    for broker in order {
        lines.push(replica_line(
            app,
            world,
            tp,
            state,
            broker,
            (first, end, cell_width),
        ));
    }
    let width = usize::from(LABEL_WIDTH + FIGURES_WIDTH) + cells as usize * usize::from(cell_width);
    lines.extend(wrapped(why_line(world, tp, state), width));
}

fn replica<'w>(world: &'w World, broker: BrokerId, tp: &TopicPartition) -> Option<&'w Replica> {
    world.broker(broker)?.replicas().get(tp)
}

/// A replica's log end: the running broker's, or what a stopped broker's disk kept.
fn log_end(world: &World, broker: BrokerId, tp: &TopicPartition) -> u64 {
    match replica(world, broker, tp) {
        Some(r) => r.log.log_end_offset().0,
        None => disk_batches(world, broker, tp)
            .last()
            .map_or(0, |b| b.next_offset().0),
    }
}

/// The batches of a partition's log on a broker's disk (what a restart would recover from).
fn disk_batches(world: &World, broker: BrokerId, tp: &TopicPartition) -> Vec<RecordBatch> {
    let image = world.disk(NodeId::Broker(broker)).image();
    // Every segment file of the partition, in order of base offset (the map's order).
    image
        .files
        .iter()
        .filter(|(name, _)| matches!(name, FileName::Segment(t, _) if t == tp))
        .flat_map(|(_, entries)| entries)
        .filter_map(|e| match e {
            DiskEntry::Batch(b) => Some(b.clone()),
            DiskEntry::Metadata(..) | DiskEntry::Quorum(..) => None,
        })
        .collect()
}

/// How long after committed records were cut the strip keeps them in view (simulated ms).
const CUT_FOCUS_MS: u64 = 5000;

/// The offsets the strip shows: the newest `cells`, unless committed records of this
/// partition were cut in the last few seconds: then the strip scrolls back to show the cut.
fn window(world: &World, tp: &TopicPartition, end: u64, cells: u64) -> (u64, u64) {
    let since = world.now().0.saturating_sub(CUT_FOCUS_MS);
    let cut = world
        .observer()
        .committed_cuts()
        .iter()
        .rev()
        .take_while(|c| c.time.0 >= since)
        .find(|c| &c.tp == tp);
    let end = cut.map_or(end, |c| end.max(c.gone.1 .0));
    let newest = end.saturating_sub(cells);
    match cut {
        Some(c) if c.gone.0 .0 < newest => {
            let first = c.gone.0 .0.saturating_sub(cells / 4);
            (first, (first + cells).min(end))
        }
        _ => (newest, end),
    }
}

/// `⚠ 5 committed records lost (offsets 499..504) at 24.020s`, once the cluster lost some
/// (the observer's `hw-regressed`, at the instant a leader lacked them).
fn loss_banner(world: &World, tp: &TopicPartition) -> Option<Span<'static>> {
    let lost: Vec<&sim::CommittedCut> = world
        .observer()
        .committed_cuts()
        .iter()
        .filter(|c| c.lost && &c.tp == tp)
        .collect();
    let last = lost.last()?;
    let count: u64 = lost.iter().map(|c| c.count()).sum();
    Some(Span::styled(
        format!(
            "  ⚠ {count} committed {} lost (offsets {}..{}) at {} ",
            if count == 1 { "record" } else { "records" },
            last.gone.0,
            last.gone.1,
            last.time
        ),
        Style::default()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
    ))
}

/// Offset ticks above the cells, and ▾ over the inspector's offset.
fn ruler(first: u64, end: u64, cell_width: u16, cursor: Option<u64>) -> Line<'static> {
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
    if let Some(at) = cursor.filter(|o| (first..end).contains(o)) {
        let column = LABEL_WIDTH as usize + (at - first) as usize * cell_width as usize;
        let mut chars: Vec<char> = text.chars().collect();
        chars.resize(chars.len().max(column + 1), ' ');
        chars[column] = '▾';
        text = chars.into_iter().collect();
    }
    Line::from(Span::styled(text, Style::default().fg(Color::DarkGray)))
}

fn replica_line(
    app: &App,
    world: &World,
    tp: &TopicPartition,
    state: &PartitionState,
    broker: BrokerId,
    (first, end, cell_width): (u64, u64, u16),
) -> Line<'static> {
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
        // A stopped broker: what its disk kept, dimmed.
        let batches = disk_batches(world, broker, tp);
        let dim = dim_cells(&batches, first, end, cell_width);
        let kept = batches.last().map_or(0, |b| b.next_offset().0);
        spans.extend(dim);
        spans.push(Span::styled(
            format!("  {word}; on disk to {kept}"),
            Style::default().fg(Color::DarkGray),
        ));
        return Line::from(spans);
    };
    let cut = committed_cut(world, broker, tp);
    // What the broker's next retention check deletes, as the core decides it.
    let doomed = world
        .broker(broker)
        .and_then(|b| r.log.deleted_next(b.next_retention_check()));
    let marks = Marks {
        cut: cut.map(|c| c.gone),
        doomed,
    };
    spans.extend(cells(r, first, end, cell_width, marks));
    if let Some(c) = cut {
        // Before the figures, so that a narrow terminal does not cut it.
        spans.push(Span::styled(
            format!(" ✂{} committed", c.count()),
            Style::default()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(Modifier::BOLD),
        ));
    }
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
    if let Some(storage) = storage_label(r) {
        spans.push(Span::styled(storage, Style::default().fg(Color::Cyan)));
    }
    if cut.is_none() {
        if let Some((from, to)) = recent_truncation(world, broker, tp) {
            spans.push(Span::styled(
                format!(" ✂ {from}→{to}"),
                Style::default().fg(Color::LightRed),
            ));
        }
    }
    Line::from(spans)
}

/// The replica's log start and segments (base offsets, the active one marked `*`), once its log
/// has rolled or its start moved: ` start 120 │ seg 100 140 *180`.
fn storage_label(r: &Replica) -> Option<String> {
    let segments = r.log.segments();
    let start = r.log.log_start_offset().0;
    if start == 0 && segments.len() <= 1 {
        return None;
    }
    // The newest few: the row has no room for a long-lived log's every segment.
    const SHOWN: usize = 4;
    let skipped = segments.len().saturating_sub(SHOWN);
    let mut bases: Vec<String> = segments[skipped..]
        .iter()
        .map(|s| s.base_offset.0.to_string())
        .collect();
    if let Some(active) = bases.last_mut() {
        active.insert(0, '*');
    }
    let more = if skipped > 0 { "… " } else { "" };
    Some(format!(" start {start} │ seg {more}{}", bases.join(" ")))
}

/// The latest committed records cut from this replica's log, if its log has not grown back
/// over them.
fn committed_cut<'w>(
    world: &'w World,
    broker: BrokerId,
    tp: &TopicPartition,
) -> Option<&'w sim::CommittedCut> {
    let cut = world
        .observer()
        .committed_cuts()
        .iter()
        .rev()
        .find(|c| c.broker == broker && &c.tp == tp && !c.lost)?;
    (log_end(world, broker, tp) < cut.gone.1 .0).then_some(cut)
}

/// A stopped broker's log from its disk: ░ in grey.
fn dim_cells(batches: &[RecordBatch], first: u64, end: u64, cell_width: u16) -> Vec<Span<'static>> {
    let mut text = String::new();
    for offset in first..end {
        let on_disk = batches
            .iter()
            .any(|b| b.base_offset.0 <= offset && offset < b.next_offset().0);
        let glyph = if on_disk { "░" } else { " " };
        text.push_str(&glyph.repeat(cell_width as usize));
    }
    vec![Span::styled(text, Style::default().fg(Color::DarkGray))]
}

/// What a replica's cells mark besides its records.
#[derive(Clone, Copy)]
struct Marks {
    /// Committed records cut from the log (`✂`).
    cut: Option<(Offset, Offset)>,
    /// The end of what the next retention check deletes (`▓` below it).
    doomed: Option<Offset>,
}

/// The log's cells from `first` to `end`: colour by epoch, █ below this replica's HW, ▒ above,
/// ▓ what retention deletes next, · a record the cleaner removed, ✂ where committed records
/// were cut from it.
fn cells(r: &Replica, first: u64, end: u64, cell_width: u16, marks: Marks) -> Vec<Span<'static>> {
    let cut = marks.cut;
    let hw = r.log.high_watermark().0;
    let mut epochs: Vec<Option<u32>> = vec![None; (end - first) as usize];
    for batch in r.log.batches().rev() {
        if batch.next_offset().0 <= first {
            break;
        }
        // Only offsets that hold a record: compaction leaves gaps inside and between batches.
        for (offset, _) in batch.records_with_offsets() {
            if (first..end).contains(&offset.0) {
                epochs[(offset.0 - first) as usize] = Some(batch.leader_epoch.0);
            }
        }
    }
    let mut spans = Vec::with_capacity(epochs.len());
    for (i, epoch) in epochs.into_iter().enumerate() {
        let offset = first + i as u64;
        let glyph = if marks.doomed.is_some_and(|d| offset < d.0) {
            "▓"
        } else if offset < hw {
            "█"
        } else {
            "▒"
        };
        let span = match epoch {
            Some(e) => Span::styled(
                glyph.repeat(cell_width as usize),
                Style::default().fg(epoch_color(e)),
            ),
            None if cut.is_some_and(|(a, b)| a.0 <= offset && offset < b.0) => Span::styled(
                "✂".repeat(cell_width as usize),
                Style::default().fg(Color::Red),
            ),
            None if r.log.removed_by_cleaner(Offset(offset)) => Span::styled(
                "·".repeat(cell_width as usize),
                Style::default().fg(Color::DarkGray),
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
/// A one-span line broken between words to fit `width` columns, continued under its text, so
/// the why-line is read whole at 80 columns instead of cut mid-sentence.
fn wrapped(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    const INDENT: &str = "        ";
    let style = line.spans.first().map_or_else(Style::default, |s| s.style);
    let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
    if text.chars().count() <= width || width <= INDENT.len() + 10 {
        return vec![line];
    }
    let mut out = Vec::new();
    let body = text.trim_start();
    let mut current = text[..text.len() - body.len()].to_owned();
    let lead = current.len();
    for word in body.split(' ') {
        let next = current.chars().count() + 1 + word.chars().count();
        if current.len() > lead && next > width {
            out.push(Line::from(Span::styled(
                std::mem::take(&mut current),
                style,
            )));
            current.push_str(INDENT);
            current.push_str(word);
        } else {
            if current.len() > lead {
                current.push(' ');
            }
            current.push_str(word);
        }
    }
    out.push(Line::from(Span::styled(current, style)));
    out
}

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
    } else if r.leading.is_none() {
        format!(
            "   why: HW {} stays until broker-{} learns it leads (the controller's decision is on its way)",
            hw.0, leader.0
        )
    } else if r.log.written_end() <= hw {
        format!(
            "   why: HW {} waits for the leader's own disk (records up to {} not yet written)",
            hw.0, leo.0
        )
    } else {
        // The followers the leader counts (`Partition.maybeIncrementLeaderHW`: the maximal
        // ISR) that have not fetched up to its end.
        let laggards: Vec<String> = r
            .leading
            .iter()
            .flat_map(|l| l.followers.iter())
            .filter(|(b, f)| r.in_maximal_isr(**b) && f.log_end_offset.is_none_or(|o| o < leo))
            .map(|(b, f)| {
                let at = f
                    .log_end_offset
                    .map_or("nothing yet".to_owned(), |o| o.0.to_string());
                format!("broker-{b} (in ISR, fetched up to {at})")
            })
            .collect();
        if laggards.is_empty() {
            format!(
                "   why: HW {} < LEO {}: every ISR member has fetched; it moves at their next fetch",
                hw.0, leo.0
            )
        } else {
            format!("   why: HW {} held back by {}", hw.0, laggards.join(", "))
        }
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
