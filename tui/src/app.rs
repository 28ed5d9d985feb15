//! The model and its update function (The Elm Architecture): every key becomes a `Msg`, and
//! `update` is the only place the model changes. Nothing here reads a clock: `Msg::Tick`
//! carries how many simulated ms to play, which the terminal loop derives from the wall clock.

use crate::jump::{self, Jump, Stop};
use crate::keys::FaultKey;
use crate::session::Session;
use broker_core::{NodeId, Offset, Time, TopicPartition};
use crossterm::event::KeyEvent;
use scenarios::{Fault, FaultAction, Scenario};
use sim::Status;
use std::path::PathBuf;

/// Playback speeds: simulated ms per wall ms.
pub const SPEEDS: &[f64] = &[0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0];
const SPEED_DEFAULT: usize = 3;

/// The screens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Replicas, logs, LEO, HW and ISR per partition.
    Partitions,
    /// Nodes, links, leaders per broker.
    Cluster,
    /// A sequence diagram of messages.
    Flow,
    /// Consumers, groups, assignments, committed offsets and lag.
    Consumers,
    /// The controllers' Raft roles, epochs, votes and metadata logs; the observer brokers.
    Quorum,
}

impl View {
    /// Every view, in tab order.
    pub const ALL: [View; 5] = [
        View::Partitions,
        View::Cluster,
        View::Flow,
        View::Consumers,
        View::Quorum,
    ];

    /// The view's name in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            View::Partitions => "1 Partitions",
            View::Cluster => "2 Cluster",
            View::Flow => "3 Message flow",
            View::Consumers => "4 Consumers",
            View::Quorum => "5 Quorum",
        }
    }
}

/// Everything the user can ask for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Msg {
    /// Play or pause.
    TogglePlay,
    /// Play this many simulated ms (sent by the terminal loop while playing).
    Tick(u64),
    /// One event forward.
    Step,
    /// One event back.
    StepBack,
    /// Forward to the next notable moment (fault, election, ISR change, truncation, rebalance,
    /// finding, caption: `sim::Moment` decides) or, with `Jump::HwMove`, the next HW move.
    Jump(Jump),
    /// Move by this many simulated ms (negative rewinds).
    Seek(i64),
    /// Faster playback.
    Faster,
    /// Slower playback.
    Slower,
    /// The next view.
    NextView,
    /// A given view.
    View(View),
    /// Move the node selection.
    Select(i32),
    /// Mark the selected node as the source of a cut.
    Mark,
    /// A fault or action on the selected node.
    Fault(FaultKey),
    /// Put back the faults a rewind took back (while the future is still the same).
    Redo,
    /// Open or close the record inspector.
    Inspect,
    /// Open or close the "what just happened" panel.
    Explain,
    /// Follow the inspected record to its next step (leader, followers, HW, ack).
    Follow,
    /// Move the inspector's offset.
    Cursor(i64),
    /// Write the session as a scenario file.
    Write,
    /// Open or close the scenario picker.
    Picker,
    /// Presenter mode on or off.
    Presenter,
    /// Help on or off.
    Help,
    /// Quit (or close the picker).
    Quit,
    /// Quit at once, whatever is open (Ctrl-C).
    Exit,
    /// A key as the terminal reported it, modifiers included: the registry (`keys::lookup`)
    /// turns it into its message, or into nothing.
    Key(KeyEvent),
}

/// The model.
pub struct App {
    /// The run and what the user did to it.
    pub session: Session,
    /// The screen shown.
    pub view: View,
    /// Playing or paused.
    pub playing: bool,
    /// Index into [`SPEEDS`].
    pub speed: usize,
    /// The selected node, by index into `nodes()`.
    pub selected: usize,
    /// The node marked as the source of a cut.
    pub marked: Option<NodeId>,
    /// Help shown.
    pub help: bool,
    /// Presenter mode: fewer panels, high contrast.
    pub presenter: bool,
    /// The scenario picker, open at this line.
    pub picker: Option<usize>,
    /// A one-line message for the user (what just happened, or why not).
    pub notice: Option<String>,
    /// Where `w` writes.
    pub out_dir: PathBuf,
    /// Set by `q`.
    pub quit: bool,
    /// The final checks, once the run is over (they need the whole run).
    pub findings: Option<Vec<sim::Finding>>,
    /// The record inspector, open at this offset.
    pub inspect: Option<u64>,
    /// The "what just happened" panel shown.
    pub explain: bool,
    /// `--compare`: the other scenario (a bug's fix, say), on the same clock: every key that
    /// moves time or injects a fault drives both.
    pub other: Option<Box<Session>>,
}

impl App {
    /// A paused app at time 0 of `scenario`.
    pub fn new(scenario: Scenario) -> Result<App, scenarios::ScenarioError> {
        Ok(App {
            session: Session::new(scenario)?,
            view: View::Partitions,
            playing: false,
            speed: SPEED_DEFAULT,
            selected: 0,
            marked: None,
            help: false,
            presenter: false,
            picker: None,
            notice: None,
            out_dir: PathBuf::from("."),
            quit: false,
            findings: None,
            inspect: None,
            explain: false,
            other: None,
        })
    }

    /// `--compare`: `scenario` and `other` side by side, one clock, one key press drives both.
    pub fn compare(scenario: Scenario, other: Scenario) -> Result<App, scenarios::ScenarioError> {
        let mut app = App::new(scenario)?;
        app.other = Some(Box::new(Session::new(other)?));
        Ok(app)
    }

    /// `serve --tui`: the UI on the served world (`served.rs`), paused on nothing: it shows
    /// the cluster as the wall clock paces it.
    pub fn served(
        scenario: Scenario,
        served: Box<dyn crate::served::Served>,
    ) -> Result<App, scenarios::ScenarioError> {
        let mut app = App::new(scenario)?;
        app.session = Session::served(app.session.scenario().clone(), served)?;
        app.view = View::Cluster;
        Ok(app)
    }

    /// The nodes in selection order: brokers, the controller, then clients (a real client's
    /// connection while it is open: a closed one has nothing more to show or to fault).
    pub fn nodes(&self) -> Vec<NodeId> {
        let world = self.session.world();
        let mut nodes: Vec<NodeId> = world
            .nodes()
            .filter(|(id, status, _)| !(sim::World::is_external(*id) && *status == Status::Stopped))
            .map(|(id, _, _)| id)
            .collect();
        nodes.sort_by_key(|id| match id {
            NodeId::Broker(b) => (0, b.0),
            NodeId::Controller(c) => (1, c.0),
            NodeId::Client(c) => (2, c.0),
        });
        nodes
    }

    /// The selected node.
    pub fn selected_node(&self) -> NodeId {
        let nodes = self.nodes();
        nodes[self.selected.min(nodes.len() - 1)]
    }

    /// `j`: jump to the next step of the inspected record, on the selected broker's partition.
    fn follow_record(&mut self) {
        let Some(offset) = self.inspect else {
            self.notice = Some("open the record inspector (v) first: j follows its record".into());
            return;
        };
        let Some(tp) = self.followed_partition() else {
            self.notice = Some("no partition yet".into());
            return;
        };
        let offset = Offset(offset);
        self.notice = Some(
            match crate::journey::plan(self.session.world(), &tp, offset) {
                Ok((events, what)) => {
                    while self.session.world().events() < events && self.session.step() {}
                    format!(
                        "{tp} offset {offset}: {what} at {}",
                        self.session.world().now()
                    )
                }
                Err(why) => why,
            },
        );
    }

    /// The partition the inspector's `j` and `e` are about: the first the selected broker
    /// holds, else the first (internal topics aside).
    pub fn followed_partition(&self) -> Option<TopicPartition> {
        let image = self.session.world().controller()?.metadata();
        let mut shown = image
            .partitions
            .iter()
            .filter(|(tp, _)| !tp.topic.0.starts_with("__"));
        let first = shown.clone().next().map(|(tp, _)| tp.clone());
        let held = match self.selected_node() {
            NodeId::Broker(b) => shown
                .find(|(_, s)| s.replicas.contains(&b))
                .map(|(tp, _)| tp.clone()),
            _ => None,
        };
        held.or(first)
    }

    /// The newest offset of the first partition on its leader (where the inspector opens).
    fn newest_offset(&self) -> u64 {
        let world = self.session.world();
        let Some(image) = world.controller().map(|c| c.metadata()) else {
            return 0;
        };
        image
            .partitions
            .iter()
            .filter(|(tp, _)| !tp.topic.0.starts_with("__"))
            .find_map(|(tp, s)| {
                let replica = world.broker(s.leader?)?.replicas().get(tp)?;
                Some(replica.log.log_end_offset().0.saturating_sub(1))
            })
            .unwrap_or(0)
    }

    /// Simulated ms per wall ms.
    pub fn speed(&self) -> f64 {
        SPEEDS[self.speed]
    }

    /// Apply one message.
    pub fn update(&mut self, msg: Msg) {
        if let Msg::Key(key) = msg {
            if let Some(msg) = crate::keys::lookup(key) {
                self.update(msg);
            }
            return;
        }
        let in_picker = matches!(msg, Msg::Picker | Msg::Quit | Msg::Exit | Msg::Select(_));
        if self.picker.is_some() && !in_picker {
            return;
        }
        if self.session.is_served() && moves_time(msg) {
            self.notice = Some(
                "a served cluster follows the wall clock: it cannot pause, step, seek or rewind (serve --record keeps the session to replay)".into(),
            );
            return;
        }
        match msg {
            Msg::TogglePlay => self.playing = !self.playing,
            Msg::Tick(ms) => self.tick(ms),
            Msg::Step => {
                self.session.step();
            }
            Msg::StepBack => {
                let before = self.session.redoable().len();
                self.session.step_back();
                self.say_taken_back(before);
            }
            Msg::Jump(kind) => self.jump(kind),
            Msg::Seek(ms) => self.seek(ms),
            Msg::Faster => self.speed = (self.speed + 1).min(SPEEDS.len() - 1),
            Msg::Slower => self.speed = self.speed.saturating_sub(1),
            Msg::NextView => {
                let i = View::ALL.iter().position(|v| *v == self.view).unwrap_or(0);
                self.view = View::ALL[(i + 1) % View::ALL.len()];
            }
            Msg::View(view) => self.view = view,
            Msg::Select(delta) => self.select(delta),
            Msg::Mark => self.marked = Some(self.selected_node()),
            Msg::Fault(key) => self.fault(key),
            Msg::Redo => self.redo(),
            Msg::Inspect => {
                self.inspect = match self.inspect {
                    Some(_) => None,
                    None => Some(self.newest_offset()),
                };
                self.view = View::Partitions;
            }
            Msg::Follow => self.follow_record(),
            Msg::Explain => {
                self.explain = !self.explain;
                self.view = View::Partitions;
            }
            Msg::Cursor(delta) => {
                if let Some(offset) = self.inspect {
                    self.inspect = Some(offset.saturating_add_signed(delta));
                }
            }
            Msg::Write => self.write(),
            Msg::Picker => self.toggle_picker(),
            Msg::Presenter => self.presenter = !self.presenter,
            Msg::Help => self.help = !self.help,
            Msg::Quit if self.picker.is_some() => self.picker = None,
            Msg::Quit | Msg::Exit => self.quit = true,
            Msg::Key(_) => unreachable!("handled above"),
        }
        self.follow(msg);
        self.refresh_findings();
    }

    /// In `--compare`, the other pane follows to the same time, with the same redo (faults go
    /// to both in `fault`).
    fn follow(&mut self, msg: Msg) {
        let Some(other) = self.other.as_deref_mut() else {
            return;
        };
        if msg == Msg::Redo {
            other.redo();
        }
        let now = self.session.world().now();
        if other.world().now() != now {
            other.seek(now);
        }
    }

    fn refresh_findings(&mut self) {
        match (self.session.done(), &self.findings) {
            (true, None) => self.findings = Some(sim::check(self.session.world())),
            (false, Some(_)) => self.findings = None,
            _ => {}
        }
    }

    fn tick(&mut self, ms: u64) {
        if !self.playing || self.session.done() {
            return;
        }
        let to = self.session.world().now().plus_ms(ms);
        self.session.run_until(to);
    }

    fn seek(&mut self, ms: i64) {
        let now = self.session.world().now().0 as i64;
        let to = Time((now + ms).max(0) as u64);
        let before = self.session.redoable().len();
        self.session.seek(to);
        self.say_taken_back(before);
    }

    /// After a rewind, say which injected faults it took back.
    fn say_taken_back(&mut self, before: usize) {
        let taken = &self.session.redoable()[before..];
        if !taken.is_empty() {
            let what: Vec<String> = taken
                .iter()
                .map(|f| format!("{} at {}", describe(f), Time(f.at_ms)))
                .collect();
            self.notice = Some(format!(
                "rewound: took back {} (R redoes it while nothing else is injected)",
                what.join(", ")
            ));
        }
    }

    fn redo(&mut self) {
        let (done, passed) = self.session.redo();
        self.notice = Some(match (done, passed) {
            (0, 0) => "nothing to redo".to_owned(),
            (d, 0) => format!("redone: {d} fault(s) back on the timeline"),
            (d, p) => format!("redone: {d}; {p} not (their time has passed: another future)"),
        });
    }

    /// `n` / `N`: play on to the next moment of the kind asked, and say what it was.
    fn jump(&mut self, kind: Jump) {
        let captions = jump::caption_times(self.session.scenario(), self.session.actions());
        let stop = jump::plan(self.session.world(), &captions, kind);
        self.notice = Some(match stop {
            Stop::Events(events, what) => {
                while self.session.world().events() < events && self.session.step() {}
                format!("⏭ {what} at {}", self.session.world().now())
            }
            Stop::Caption(at) => {
                self.session.run_until(at);
                format!("⏭ caption at {at}")
            }
            Stop::End => {
                self.session.run_until(Time(u64::MAX));
                "⏭ nothing more: the run is over".to_owned()
            }
        });
    }

    fn select(&mut self, delta: i32) {
        if let Some(line) = self.picker {
            let count = scenarios::builtins().len() as i32;
            self.picker = Some((line as i32 + delta).rem_euclid(count) as usize);
            return;
        }
        let count = self.nodes().len() as i32;
        self.selected = (self.selected as i32 + delta).rem_euclid(count) as usize;
    }

    fn toggle_picker(&mut self) {
        match self.picker.take() {
            None => self.picker = Some(0),
            Some(line) => {
                let builtin = scenarios::builtins()[line];
                match builtin.load().and_then(App::new) {
                    Ok(app) => {
                        let out_dir = self.out_dir.clone();
                        *self = App { out_dir, ..app };
                    }
                    Err(e) => self.notice = Some(e.to_string()),
                }
            }
        }
    }

    fn fault(&mut self, key: FaultKey) {
        let node = self.selected_node();
        let name = self.session.world().name(node).to_owned();
        let status = self.session.world().status(node);
        let fault = match self.fault_for(key, node, &name, status) {
            Ok(fault) => fault,
            Err(why) => {
                self.notice = Some(why);
                return;
            }
        };
        let what = describe(&fault);
        let injected = self.session.try_inject(fault.clone());
        self.notice = Some(match &injected {
            Ok(at) => format!("{what} at {at}"),
            Err(why) => why.clone(),
        });
        let injected = injected.ok();
        if let (Some(other), Some(_)) = (self.other.as_deref_mut(), injected) {
            other.seek(self.session.world().now());
            let mut names = fault.target.iter().chain(&fault.from).chain(&fault.to);
            if names.all(|n| other.world().node_id(n).is_some()) {
                other.inject(fault);
            }
        }
    }

    fn fault_for(
        &self,
        key: FaultKey,
        node: NodeId,
        name: &str,
        status: Status,
    ) -> Result<Fault, String> {
        let targeted = |action| Ok(fault(action, Some(name.to_owned())));
        match key {
            FaultKey::Crash => targeted(FaultAction::Crash),
            FaultKey::PowerFail => targeted(FaultAction::PowerFail),
            FaultKey::Restart => targeted(FaultAction::Restart),
            FaultKey::PauseResume if status == Status::Paused => targeted(FaultAction::Resume),
            FaultKey::PauseResume => targeted(FaultAction::Pause),
            FaultKey::Isolate => targeted(FaultAction::Isolate),
            FaultKey::Heal => Ok(fault(FaultAction::Heal, None)),
            FaultKey::Cut => {
                let from = self
                    .marked
                    .ok_or("mark a node with m first: x cuts marked → selected")?;
                if from == node {
                    return Err("the marked and the selected node are the same".into());
                }
                let from = self.session.world().name(from).to_owned();
                Ok(Fault {
                    from: Some(from),
                    to: Some(name.to_owned()),
                    ..fault(FaultAction::Cut, None)
                })
            }
            FaultKey::Join => self.join(),
            FaultKey::ProduceOne => {
                let producer = self
                    .session
                    .scenario()
                    .producers
                    .iter()
                    .any(|p| p.name == name);
                if !producer {
                    return Err(format!(
                        "{name} is not a producer: select one to send a record"
                    ));
                }
                targeted(FaultAction::Produce)
            }
            FaultKey::Leave => {
                let consumer = self
                    .session
                    .scenario()
                    .consumers
                    .iter()
                    .find(|c| c.name == name);
                match consumer {
                    None => Err(format!("{name} is not a consumer: select one to remove")),
                    Some(c) if !c.in_group() => Err(format!(
                        "{name} reads without a group: only a group member can leave (c crashes it)"
                    )),
                    Some(_) => targeted(FaultAction::Leave),
                }
            }
        }
    }

    /// `a`: start the first consumer of the scenario that is not running.
    fn join(&self) -> Result<Fault, String> {
        let world = self.session.world();
        let idle = self.session.scenario().consumers.iter().find(|c| {
            let id = world.node_id(&c.name).expect("a node");
            !matches!(world.status(id), Status::Up | Status::Paused)
        });
        match idle {
            Some(c) => Ok(fault(FaultAction::Join, Some(c.name.clone()))),
            None => Err("every consumer of the scenario is running (add one to the file)".into()),
        }
    }

    /// `w`: the session as a scenario file in `out_dir`, never over an existing file: the
    /// first free name of `<scenario>-session.toml`, `<scenario>-session-2.toml`... (the
    /// scenario's `name` is the file's stem).
    fn write(&mut self) {
        let mut scenario = self.session.to_scenario();
        let base = scenario.name.clone();
        let free = (1..=WRITE_TRIES).find_map(|n| {
            let stem = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let path = self.out_dir.join(format!("{stem}.toml"));
            (!path.exists()).then_some((stem, path))
        });
        let Some((stem, path)) = free else {
            self.notice = Some(format!(
                "not written: {base}.toml to {base}-{WRITE_TRIES}.toml all exist in {}",
                self.out_dir.display()
            ));
            return;
        };
        scenario.name = stem;
        let shown = std::path::absolute(&path).unwrap_or_else(|_| path.clone());
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, scenario.to_toml().as_bytes()));
        self.notice = Some(match written {
            Ok(()) => format!(
                "wrote {} (kafka-lab run {} replays it)",
                shown.display(),
                shown.display()
            ),
            Err(e) => format!("cannot write {}: {e}", shown.display()),
        });
    }
}

/// `w` numbers its files up to this before giving up.
const WRITE_TRIES: u32 = 99;

fn fault(action: FaultAction, target: Option<String>) -> Fault {
    Fault {
        at_ms: 0,
        action,
        target,
        sides: None,
        from: None,
        to: None,
        partition: None,
        offset: None,
    }
}

fn describe(fault: &Fault) -> String {
    match (&fault.target, &fault.from, &fault.to) {
        (Some(t), _, _) => format!("{} {t}", fault.action.as_str()),
        (_, Some(f), Some(t)) => format!("cut {f} → {t}"),
        _ => fault.action.as_str().to_owned(),
    }
}

/// The messages that move a run's time or change its scenario: a served cluster
/// (`serve --tui`) follows the wall clock and has none of them.
fn moves_time(msg: Msg) -> bool {
    matches!(
        msg,
        Msg::TogglePlay
            | Msg::Step
            | Msg::StepBack
            | Msg::Jump(_)
            | Msg::Seek(_)
            | Msg::Faster
            | Msg::Slower
            | Msg::Redo
            | Msg::Follow
            | Msg::Write
            | Msg::Picker
    )
}
