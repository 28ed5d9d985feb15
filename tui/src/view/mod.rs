//! Rendering: a pure function from the model to a frame. State is shown in glyphs as well as
//! colour (● up, ✖ crashed, ⚡ power lost, ‖ paused, ■ stopped, ○ not started; █ committed,
//! ▒ not yet committed), so a projector or a colour-blind student loses nothing.

mod cluster;
mod consumers;
mod flow;
mod inspector;
mod partitions;
mod quorum;
mod story;

use crate::app::{App, View};
use crate::keys::KEYS;
use crate::session::Session;
use broker_core::NodeId;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Tabs, Wrap};
use ratatui::Frame;
use sim::{Status, Verdict};

/// The smallest terminal the layout fits.
pub const MIN_WIDTH: u16 = 80;
/// The smallest terminal the layout fits.
pub const MIN_HEIGHT: u16 = 24;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        too_small(frame, area);
        return;
    }
    let status_lines = status_bar(app, area.width);
    let mut captions = caption_lines(app, area.width);
    captions.truncate(6);
    let [status, tabs, body, caption, bar] = Layout::vertical([
        Constraint::Length(status_lines.len() as u16),
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length((captions.len() as u16).max(1)),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(status_lines), status);
    let titles: Vec<&str> = View::ALL.iter().map(|v| v.title()).collect();
    let selected = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
    let tab_style = Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD);
    let tabs_widget = Tabs::new(titles)
        .select(selected)
        .highlight_style(tab_style);
    frame.render_widget(tabs_widget, tabs);
    // Presenter mode changes how views are drawn (double cells, bold captions), never which.
    match app.view {
        View::Partitions => match app.other.as_deref() {
            None => partitions::draw(frame, body, app, &app.session, None),
            Some(other) => {
                let [top, bottom] =
                    Layout::vertical([Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)])
                        .areas(body);
                let findings = app.findings.as_deref();
                let mine = pane_title(&app.session, findings);
                partitions::draw(frame, top, app, &app.session, Some(mine));
                partitions::draw(frame, bottom, app, other, Some(pane_title(other, None)));
            }
        },
        View::Cluster => cluster::draw(frame, body, app),
        View::Flow => flow::draw(frame, body, app),
        View::Consumers => consumers::draw(frame, body, app),
        View::Quorum => quorum::draw(frame, body, app),
    }
    frame.render_widget(Paragraph::new(captions), caption);
    frame.render_widget(key_bar(), bar);
    if app.help {
        help(frame, area);
    }
    if let Some(line) = app.picker {
        picker(frame, area, line);
    }
}

/// A `--compare` pane's title: its scenario and its promise light.
fn pane_title(session: &Session, findings: Option<&[sim::Finding]>) -> Line<'static> {
    let findings = findings.unwrap_or(session.world().observer().findings());
    let mut spans = vec![Span::styled(
        format!(" {} ", session.scenario().name),
        Style::default().add_modifier(Modifier::BOLD),
    )];
    spans.extend(light(findings));
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::from("kafka-lab needs a terminal of at least 80×24."),
        Line::from(format!(
            "This one is {}×{}: enlarge it, or press q to quit.",
            area.width, area.height
        )),
    ];
    let [middle] = Layout::vertical([Constraint::Length(2)])
        .flex(ratatui::layout::Flex::Center)
        .areas(area);
    let paragraph = Paragraph::new(text)
        .alignment(Alignment::Center)
        .wrap(Wrap { trim: true });
    frame.render_widget(paragraph, middle);
}

/// Scenario, seed, time, play state, configuration badges and guarantee lights.
fn status_bar(app: &App, columns: u16) -> Vec<Line<'static>> {
    let world = app.session.world();
    let scenario = app.session.scenario();
    let play = if app.session.is_served() {
        "● live".to_owned()
    } else if app.session.done() {
        "■ done".to_owned()
    } else if app.playing {
        format!("▶ {}×", app.speed())
    } else {
        "‖ paused".to_owned()
    };
    let names = match app.other.as_deref() {
        Some(other) => format!("{} vs {}", scenario.name, other.scenario().name),
        None => scenario.name.clone(),
    };
    let name = format!(
        " {names} │ seed {} │ t={} │ {play} │ ",
        scenario.seed,
        world.now()
    );
    let tag = Span::styled(
        " kafka-lab ",
        Style::default().add_modifier(Modifier::REVERSED),
    );
    // Time and play state matter more than the program's name when the line is long.
    let mut spans = if tag.width() + name.chars().count() <= usize::from(columns) {
        vec![tag, Span::raw(name)]
    } else {
        vec![Span::raw(format!(
            "t={} │ {play} │ {names} │ seed {}",
            world.now(),
            scenario.seed
        ))]
    };
    // Lights before badges; when the line does not fit (80 columns), they go on a second
    // line, so that `acks` is never cut.
    let mut second = lights(app);
    second.push(Span::raw(format!(" │ {}", badges(app))));
    if let Some(next) = next_retention_check(app) {
        second.push(Span::raw(format!(" │ retention check in {next}")));
    }
    let width = |spans: &[Span]| spans.iter().map(|s| s.width()).sum::<usize>();
    if width(&spans) + width(&second) <= usize::from(columns) {
        spans.extend(second);
        return vec![Line::from(spans)];
    }
    second.insert(0, Span::raw(" "));
    vec![Line::from(spans), Line::from(second)]
}

/// Time until the next retention run of any broker (`log.retention.check.interval.ms`), shown
/// only when a topic sets its own retention or segment size.
fn next_retention_check(app: &App) -> Option<broker_core::Time> {
    let world = app.session.world();
    let spec = world.spec();
    let default = broker_core::log::LogConfig::default();
    // Internal topics (`__consumer_offsets` is compacted, as in Kafka) do not count: the
    // countdown is for a lesson about a topic the user configured.
    if spec
        .topics
        .iter()
        .filter(|t| !t.topic.0.starts_with("__"))
        .all(|t| t.config.log == default)
    {
        return None;
    }
    let next = (1..=spec.brokers)
        .filter_map(|b| world.broker(broker_core::BrokerId(b)))
        .map(|b| b.next_retention_check())
        .min()?;
    Some(broker_core::Time(next.0.saturating_sub(world.now().0)))
}

/// Any historical protocol the scenario runs under, then `RF=3 min.isr=2 acks=all`.
fn badges(app: &App) -> String {
    let spec = app.session.world().spec();
    let rf = spec.topics.first().map_or(0, |t| t.replication_factor());
    let min_isr = spec
        .topics
        .first()
        .map_or(1, |t| t.config.min_insync_replicas);
    let acks = spec
        .producers
        .first()
        .map_or("-".to_owned(), |p| p.config.acks.to_string());
    let unclean = if spec.cluster.topic_defaults.unclean_leader_election_enable {
        " unclean"
    } else {
        ""
    };
    let history: String = spec
        .cluster
        .protocol
        .historical()
        .iter()
        .map(|name| format!("{name} "))
        .collect();
    // The historical mode first: it matters more than the configuration when the bar is cut.
    format!("{history}RF={rf} min.isr={min_isr} acks={acks}{unclean}")
}

/// One light per promise: green until a finding breaks it, red with the finding's kind.
fn lights(app: &App) -> Vec<Span<'static>> {
    let world = app.session.world();
    let findings = app
        .findings
        .as_deref()
        .unwrap_or(world.observer().findings());
    light(findings)
}

fn light(findings: &[sim::Finding]) -> Vec<Span<'static>> {
    let broken: Vec<String> = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Violation)
        .map(|f| f.kind.to_string())
        .collect();
    let allowed = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Allowed)
        .count();
    let mut spans = Vec::new();
    if broken.is_empty() {
        spans.push(Span::styled("● kept", Style::default().fg(Color::Green)));
    } else {
        let text = format!("✖ broken: {}", broken.join(", "));
        spans.push(Span::styled(
            text,
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    if allowed > 0 {
        let text = format!(" ◆ {allowed} allowed");
        spans.push(Span::styled(text, Style::default().fg(Color::Yellow)));
    }
    spans
}

/// The scenario's caption for now, or what just happened.
fn caption_lines(app: &App, columns: u16) -> Vec<Line<'static>> {
    let now = app.session.world().now().0;
    // The script's caption, or where the run left it (`Scenario::narration`).
    let caption = match app.session.scenario().narration(now, app.session.actions()) {
        scenarios::Narration::Silent => None,
        scenarios::Narration::Caption(c) => Some(c.text.clone()),
        scenarios::Narration::OffScript(departure) => Some(departure.describe()),
    };
    let mut lines = Vec::new();
    let style = if app.presenter {
        Style::default()
            .add_modifier(Modifier::BOLD)
            .fg(Color::White)
    } else {
        Style::default().fg(Color::Cyan)
    };
    // Wrapped here, so that the layout gives the caption and the notice each the lines they
    // need: a notice (`w`'s confirmation) is never hidden under a long caption.
    if let Some(text) = caption {
        for line in wrap(&format!("▌ {text}"), columns) {
            lines.push(Line::from(Span::styled(line, style)));
        }
    }
    if let Some(notice) = &app.notice {
        for line in wrap(&format!("» {notice}"), columns) {
            lines.push(Line::from(Span::styled(
                line,
                Style::default().fg(Color::Yellow),
            )));
        }
    }
    lines
}

/// Words into lines of at most `columns` characters (a word longer than that is cut).
fn wrap(text: &str, columns: u16) -> Vec<String> {
    let columns = usize::from(columns.max(8));
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let word: String = word.chars().take(columns).collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > columns {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The bottom bar: the registry's main keys.
fn key_bar() -> Paragraph<'static> {
    // Help and quit first, so a narrow terminal keeps them.
    let mut bar: Vec<&crate::keys::Binding> = KEYS.iter().filter(|b| b.in_bar).collect();
    bar.sort_by_key(|b| !matches!(b.msg, crate::app::Msg::Help | crate::app::Msg::Quit));
    let mut spans = Vec::new();
    for binding in bar {
        let key = Style::default().add_modifier(Modifier::REVERSED);
        spans.push(Span::styled(format!(" {} ", binding.label), key));
        spans.push(Span::raw(format!(" {} ", short(binding.help))));
    }
    Paragraph::new(Line::from(spans))
}

fn short(help: &str) -> &str {
    help.split_whitespace().next().unwrap_or(help)
}

/// What the glyphs mean, at the foot of `?`.
/// (The quorum view, 5, has its own legend of the Raft roles.)
pub const LEGEND: [&str; 3] = [
    "legend █ committed  ▒ not yet committed  ★ leader  ▸ selected  ✂ truncated",
    "       ⚡ power lost  ✖ crashed  ‖ paused  ○ not started  ✗ dropped",
    "       ▓ retention deletes next  · removed by compaction",
];

/// `?`: every key of the registry, then the legend.
fn help(frame: &mut Frame, area: Rect) {
    const COLUMN: u16 = 56;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:>6} ", b.label), bold),
                Span::raw(b.help),
            ])
        })
        .collect();
    // The legend's last line is the box's bottom border: at 80×24 the keys need every row.
    let (last, legend_lines) = LEGEND.split_last().expect("a legend");
    let legend = legend_lines.len() as u16;
    let columns: usize = if lines.len() as u16 + 2 + legend > area.height {
        2
    } else {
        1
    };
    let per_column = lines.len().div_ceil(columns);
    let width = (COLUMN * columns as u16).max(LEGEND[0].chars().count() as u16 + 2) + 2;
    let rect = centered(area, width, per_column as u16 + 2 + legend);
    frame.render_widget(Clear, rect);
    let block = Block::bordered()
        .title(" keys (? closes) ")
        .title_bottom(format!("{} ", last.trim_start()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [keys, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(legend)]).areas(inner);
    let parts = Layout::horizontal(vec![Constraint::Ratio(1, columns as u32); columns]).split(keys);
    for (column, chunk) in lines.chunks(per_column).enumerate() {
        frame.render_widget(Paragraph::new(chunk.to_vec()), parts[column]);
    }
    let foot_lines: Vec<Line> = legend_lines
        .iter()
        .map(|l| Line::from(format!(" {l}")))
        .collect();
    frame.render_widget(Paragraph::new(foot_lines), foot);
}

fn picker(frame: &mut Frame, area: Rect, line: usize) {
    let lines: Vec<Line> = scenarios::builtins()
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let style = if i == line {
                Style::default().add_modifier(Modifier::REVERSED)
            } else {
                Style::default()
            };
            Line::from(Span::styled(format!(" {} ", b.name), style))
        })
        .collect();
    let rect = centered(area, 50, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(" scenarios (↑↓, s opens, q closes) ");
    // The library is longer than a small terminal: keep the selected line in view.
    let visible = usize::from(rect.height.saturating_sub(2)).max(1);
    let scroll = line.saturating_sub(visible - 1) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A node's state as a glyph, a word and a colour.
pub fn status_glyph(status: Status) -> (&'static str, &'static str, Color) {
    match status {
        Status::Up => ("●", "up", Color::Green),
        Status::Paused => ("‖", "paused", Color::Yellow),
        Status::Crashed => ("✖", "crashed", Color::Red),
        Status::PowerFailed => ("⚡", "power lost", Color::Red),
        Status::Stopped => ("■", "stopped", Color::DarkGray),
        Status::NotStarted => ("○", "not started", Color::DarkGray),
    }
}

/// The colour of a leader epoch's cells.
pub fn epoch_color(epoch: u32) -> Color {
    const PALETTE: [Color; 6] = [
        Color::Blue,
        Color::Green,
        Color::Magenta,
        Color::Cyan,
        Color::Yellow,
        Color::LightRed,
    ];
    PALETTE[epoch as usize % PALETTE.len()]
}

/// A node's name, marked when selected.
pub fn node_label(app: &App, id: NodeId) -> Span<'static> {
    let name = app.session.world().name(id).to_owned();
    if id == app.selected_node() {
        Span::styled(
            format!("▸{name}"),
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    } else {
        Span::raw(format!(" {name}"))
    }
}
