//! A session: the scenario's world, the faults the user injected, and checkpoints to rewind.
//!
//! The run stays a pure function of (scenario, seed, injected faults): the wall clock only
//! decides how far to step. Faults go in through `World::inject_fault`, which orders them as
//! the same faults written in the scenario, so `to_scenario` replays to the same fingerprint.

use crate::served::Served;
use broker_core::Time;
use scenarios::{Fault, Scenario};
use sim::{Checkpoint, World};

/// A checkpoint every this many simulated ms: seeking runs at most this far from one.
pub const CHECKPOINT_MS: u64 = 5000;

/// The world of a scenario, with what the user did to it.
pub struct Session {
    scenario: Scenario,
    world: World,
    /// In time order; the first is the world at time 0. Kept when rewinding (the run is
    /// deterministic), so seeking forward again jumps too; dropped past an injected fault.
    checkpoints: Vec<Checkpoint>,
    /// After a rewind, the furthest world reached: restores take trace and history from it.
    frontier: Option<World>,
    /// Faults injected on the timeline on screen, as scenario faults at the time they happen.
    actions: Vec<Fault>,
    /// Faults a rewind took back, which `redo` puts back while the future is still the same
    /// (nothing injected since, their time not yet passed).
    redo: Vec<Fault>,
    /// `serve --tui`: the world shown is this one's, not `world` (see `served.rs`).
    served: Option<Box<dyn Served>>,
}

impl Session {
    /// A session at time 0 of `scenario` (every message traced, for the message-flow view).
    pub fn new(scenario: Scenario) -> Result<Session, scenarios::ScenarioError> {
        let mut spec = scenario.world_spec()?;
        spec.trace_messages = true;
        let mut world = World::new(spec);
        let checkpoints = vec![world.checkpoint()];
        Ok(Session {
            scenario,
            world,
            checkpoints,
            frontier: None,
            actions: Vec::new(),
            redo: Vec::new(),
            served: None,
        })
    }

    /// A session showing a served world (`serve --tui`); `scenario` is the one served.
    pub fn served(
        scenario: Scenario,
        served: Box<dyn Served>,
    ) -> Result<Session, scenarios::ScenarioError> {
        let mut session = Session::new(scenario)?;
        session.served = Some(served);
        Ok(session)
    }

    /// Whether the world shown is served (paced by the wall clock, never rewound).
    pub fn is_served(&self) -> bool {
        self.served.is_some()
    }

    /// Let a served world's owner run (nothing for a scenario's own world).
    pub fn pump(&mut self) {
        if let Some(served) = self.served.as_mut() {
            served.pump();
        }
    }

    /// The world now.
    pub fn world(&self) -> &World {
        match &self.served {
            Some(served) => served.world(),
            None => &self.world,
        }
    }

    /// The scenario played.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The faults injected so far.
    pub fn actions(&self) -> &[Fault] {
        &self.actions
    }

    /// The faults a rewind took back, which `redo` can put back.
    pub fn redoable(&self) -> &[Fault] {
        &self.redo
    }

    /// Whether the run has ended.
    pub fn done(&self) -> bool {
        self.world.phase() == sim::Phase::Done
    }

    /// Process one event, keeping checkpoints. False once the run is over.
    pub fn step(&mut self) -> bool {
        let stepped = self.world.step();
        self.maybe_checkpoint();
        if self
            .frontier
            .as_ref()
            .is_some_and(|f| self.world.events() >= f.events())
        {
            self.frontier = None; // caught up: this world is the furthest again
        }
        stepped
    }

    /// Run forward to simulated time `until`.
    pub fn run_until(&mut self, until: Time) {
        while !self.done() && self.world.next_time() <= until {
            self.step();
        }
        if !self.done() {
            self.world.run_until(until);
        }
    }

    fn maybe_checkpoint(&mut self) {
        // The newest checkpoint, which may lie ahead after a rewind: none is needed until then.
        let last = self.checkpoints.last().map_or(Time(0), |c| c.now());
        if self.world.now().0 >= last.0 + CHECKPOINT_MS {
            let checkpoint = self.world.checkpoint();
            self.checkpoints.push(checkpoint);
        }
    }

    /// Go to simulated time `to`, forwards or backwards, through the nearest checkpoint.
    pub fn seek(&mut self, to: Time) {
        let i = self.checkpoints.partition_point(|c| c.now() <= to).max(1) - 1;
        let now = self.world.now();
        if to < now || self.checkpoints[i].now() > now {
            self.restore(i);
        }
        self.run_until(to);
        if to < now {
            self.take_back_future();
        }
    }

    /// Go back one event: to the state after `events() - 1` events.
    pub fn step_back(&mut self) {
        let Some(target) = self.world.events().checked_sub(1) else {
            return;
        };
        let i = self
            .checkpoints
            .partition_point(|c| c.events() <= target)
            .max(1)
            - 1;
        self.restore(i);
        while self.world.events() < target && self.step() {}
        self.take_back_future();
    }

    /// After a rewind: the faults injected after now leave the world, the checkpoints and the
    /// session's timeline (as a version-control branch drops commits after a reset), and wait
    /// in `redo`. Without them the future is another run: checkpoints past now and the furthest
    /// world reached no longer belong to it.
    fn take_back_future(&mut self) {
        let now = self.world.now();
        let (later, kept): (Vec<Fault>, Vec<Fault>) =
            self.actions.drain(..).partition(|f| f.at_ms > now.0);
        self.actions = kept;
        if later.is_empty() {
            return;
        }
        self.world.withdraw_injected_after(now);
        self.checkpoints.retain(|c| c.now() <= now);
        for checkpoint in &mut self.checkpoints {
            checkpoint.withdraw_injected_after(now);
        }
        self.frontier = None;
        // Taken back in time order, after any taken back before (still the same future).
        self.redo.extend(later);
        self.redo.sort_by_key(|f| f.at_ms);
    }

    /// Put back the faults a rewind took back whose time has not passed. Returns how many were
    /// put back and how many could not be (their time passed: that future is gone).
    pub fn redo(&mut self) -> (usize, usize) {
        let now = self.world.now().0;
        let (ahead, passed): (Vec<Fault>, Vec<Fault>) =
            self.redo.drain(..).partition(|f| f.at_ms > now);
        let mut done = 0;
        for fault in ahead {
            if self.schedule(fault) {
                done += 1;
            }
        }
        (done, passed.len())
    }

    /// Continue from checkpoint `i`, keeping the furthest world reached for its trace.
    fn restore(&mut self, i: usize) {
        let further = self
            .frontier
            .as_ref()
            .is_none_or(|f| f.events() < self.world.events());
        if further {
            self.frontier = Some(self.world.clone());
        }
        let frontier = self.frontier.as_ref().expect("set above");
        self.world = World::restore(&self.checkpoints[i], frontier);
    }

    /// Inject a fault now (it happens at the next millisecond) and record it. Checkpoints after
    /// now are dropped (the future changed) and earlier ones get the fault too, so rewinding to
    /// them and playing on keeps it. A new fault makes a new future: what a rewind took back
    /// can no longer be redone.
    pub fn inject(&mut self, fault: Fault) -> Option<Time> {
        self.try_inject(fault).ok()
    }

    /// [`Session::inject`], saying why not.
    pub fn try_inject(&mut self, fault: Fault) -> Result<Time, String> {
        if let Some(served) = self.served.as_mut() {
            let at = served.inject(&fault)?;
            self.actions.push(Fault {
                at_ms: at.0,
                ..fault
            });
            return Ok(at);
        }
        let at = self.world.now().plus_ms(1);
        let scheduled = self.schedule(Fault {
            at_ms: at.0,
            ..fault
        });
        if scheduled {
            self.redo.clear();
        }
        scheduled
            .then_some(at)
            .ok_or_else(|| "faults can only be injected during the main phase".to_owned())
    }

    /// Put `fault` in the world and the checkpoints at its time, and on the timeline.
    fn schedule(&mut self, fault: Fault) -> bool {
        let action = self.sim_action(&fault);
        let at = Time(fault.at_ms);
        if !self.world.inject_fault_at(at, action.clone()) {
            return false;
        }
        let now = self.world.now();
        self.checkpoints.retain(|c| c.now() <= now);
        self.frontier = None; // the future changed
        for checkpoint in &mut self.checkpoints {
            checkpoint.inject_fault_at(at, action.clone());
        }
        self.actions.push(fault);
        true
    }

    fn sim_action(&self, fault: &Fault) -> sim::FaultAction {
        let mut scenario = self.scenario.clone();
        scenario.faults = vec![fault.clone()];
        let spec = scenario.world_spec().expect("a valid scenario stays valid");
        spec.faults.into_iter().next().expect("one fault").action
    }

    /// The session as a scenario file: the scenario with the faults of the timeline on screen
    /// (not those a rewind took back), named
    /// `<scenario>-session`, replaying to the same run.
    pub fn to_scenario(&self) -> Scenario {
        let mut scenario = self.scenario.clone();
        scenario.name = format!("{}-session", self.scenario.name);
        scenario.title = format!("A kafka-lab tui session on {}", self.scenario.name);
        // Its captions stop where this run left the original's script, and say so.
        scenario.rewrite_script(&self.actions);
        scenario.faults.extend(self.actions.iter().cloned());
        // Stable: at equal times the scenario's own faults come first, as in the live run.
        scenario.faults.sort_by_key(|f| f.at_ms);
        scenario.expect.findings = sim::check(&self.finished())
            .iter()
            .map(|f| f.kind)
            .collect();
        scenario
    }

    /// The session's run to its end (a clone; the session stays where it is).
    pub fn finished(&self) -> World {
        let mut world = self.world.clone();
        world.run_to_end();
        world
    }
}
