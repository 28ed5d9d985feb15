//! The model and its update function (The Elm Architecture): every key becomes a `Msg`, and
//! `update` is the only place the model changes. Nothing here reads a clock: `Msg::Tick`
//! carries how many simulated ms to play, which the terminal loop derives from the wall clock.

use crate::keys::FaultKey;
use crate::session::Session;
use broker_core::{NodeId, Time};
use crossterm::event::KeyEvent;
use scenarios::{Fault, FaultAction, Scenario};
use sim::{Status, TraceKind};
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
}

impl View {
    const ALL: [View; 4] = [View::Partitions, View::Cluster, View::Flow, View::Consumers];

    /// The view's name in the tab bar.
    pub fn title(self) -> &'static str {
        match self {
            View::Partitions => "1 Partitions",
            View::Cluster => "2 Cluster",
            View::Flow => "3 Message flow",
            View::Consumers => "4 Consumers",
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
    /// Forward to the next election, ISR change, HW move, truncation, fault or finding.
    NextInteresting,
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
        })
    }

    /// The nodes in selection order: brokers, the controller, then clients.
    pub fn nodes(&self) -> Vec<NodeId> {
        let world = self.session.world();
        let mut nodes: Vec<NodeId> = world.nodes().map(|(id, _, _)| id).collect();
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
        match msg {
            Msg::TogglePlay => self.playing = !self.playing,
            Msg::Tick(ms) => self.tick(ms),
            Msg::Step => {
                self.session.step();
            }
            Msg::StepBack => self.session.step_back(),
            Msg::NextInteresting => self.next_interesting(),
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
            Msg::Write => self.write(),
            Msg::Picker => self.toggle_picker(),
            Msg::Presenter => self.presenter = !self.presenter,
            Msg::Help => self.help = !self.help,
            Msg::Quit if self.picker.is_some() => self.picker = None,
            Msg::Quit | Msg::Exit => self.quit = true,
            Msg::Key(_) => unreachable!("handled above"),
        }
        self.refresh_findings();
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
        self.session.seek(to);
    }

    /// Step until something a class would want to see happens.
    fn next_interesting(&mut self) {
        let start = self.session.world().trace().len();
        let findings = self.session.world().observer().findings().len();
        while self.session.step() {
            let world = self.session.world();
            let interesting = world.trace()[start..]
                .iter()
                .any(|e| is_interesting(&e.kind));
            if interesting || world.observer().findings().len() > findings {
                return;
            }
        }
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
        self.notice = Some(match self.session.inject(fault) {
            Some(at) => format!("{what} at {at}"),
            None => "faults can only be injected during the main phase".to_owned(),
        });
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

    fn write(&mut self) {
        let scenario = self.session.to_scenario();
        let path = self.out_dir.join(format!("{}.toml", scenario.name));
        self.notice = Some(match std::fs::write(&path, scenario.to_toml()) {
            Ok(()) => format!("wrote {} (kafka-lab run {0} replays it)", path.display()),
            Err(e) => format!("cannot write {}: {e}", path.display()),
        });
    }
}

fn fault(action: FaultAction, target: Option<String>) -> Fault {
    Fault {
        at_ms: 0,
        action,
        target,
        sides: None,
        from: None,
        to: None,
    }
}

fn describe(fault: &Fault) -> String {
    match (&fault.target, &fault.from, &fault.to) {
        (Some(t), _, _) => format!("{} {t}", fault.action.as_str()),
        (_, Some(f), Some(t)) => format!("cut {f} → {t}"),
        _ => fault.action.as_str().to_owned(),
    }
}

/// What `n` stops at.
pub fn is_interesting(kind: &TraceKind) -> bool {
    use broker_core::Event::*;
    match kind {
        TraceKind::Fault { .. } => true,
        TraceKind::Event { event } => matches!(
            event,
            LeaderElected { .. }
                | IsrChanged { .. }
                | HighWatermarkAdvanced { .. }
                | Truncated { .. }
                | SegmentsDeleted { .. }
                | BrokerFenced { .. }
                | GroupStateChanged { .. }
        ),
        _ => false,
    }
}
