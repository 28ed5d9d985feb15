//! `n` and `N`: where the next jump stops. What counts as a moment is the core's
//! (`sim::Moment`, `TraceEntry::moment`); this only adds the scenario's captions and plans the
//! jump on a copy of the world, since a caption stops `n` only if nothing notable happens
//! before the next caption (then the event is the stop and the caption is on screen there).

use broker_core::Time;
use scenarios::Scenario;
use sim::{Moment, TraceEntry, World};

/// Which moments a jump looks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jump {
    /// `n`: faults, elections, ISR changes, truncations, rebalances, findings and captions.
    Notable,
    /// `N`: the next high-watermark move.
    HwMove,
}

impl Jump {
    fn wants(self, moment: Moment) -> bool {
        match self {
            Jump::Notable => moment.is_notable(),
            Jump::HwMove => moment == Moment::HwMove,
        }
    }
}

/// Where a jump stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// After this many events (the whole millisecond of the moment), and what it was.
    Events(u64, String),
    /// At a caption's time.
    Caption(Time),
    /// Nothing more: the end of the run.
    End,
}

/// The times captions appear (the one place the UI reads caption times): only the captions
/// still on the scenario's script (`Scenario::script`), so `n` never stops at a caption the run
/// has departed from and the screen would not show.
pub fn caption_times(scenario: &Scenario, injected: &[scenarios::Fault]) -> Vec<Time> {
    let mut times: Vec<Time> = scenario
        .script(injected)
        .iter()
        .map(|c| Time(c.at_ms))
        .collect();
    times.sort();
    times
}

/// Plan a jump from `world` (not changed) to the next moment `jump` looks for.
pub fn plan(world: &World, captions: &[Time], jump: Jump) -> Stop {
    let mut ahead = world.clone();
    let mark = ahead.mark();
    let start = ahead.now();
    let mut pending: Option<Time> = None;
    while ahead.step() {
        if ahead.moment_since(mark, |m| jump.wants(m)).is_some() {
            // The rest of that millisecond too: a fencing and the election it causes are
            // one moment for a class.
            let now = ahead.now();
            while ahead.next_time() == now && ahead.step() {}
            return Stop::Events(ahead.events(), describe_all(&ahead, mark, jump));
        }
        if jump != Jump::Notable {
            continue;
        }
        let crossed = captions
            .iter()
            .rev()
            .find(|t| **t > start && **t <= ahead.now());
        match (pending, crossed) {
            (None, Some(t)) => pending = Some(*t),
            (Some(p), Some(t)) if *t > p => return Stop::Caption(p),
            _ => {}
        }
    }
    pending.map_or(Stop::End, Stop::Caption)
}

/// Every moment since `mark`, described, in order (a new finding first).
fn describe_all(world: &World, mark: sim::Mark, jump: Jump) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some((sim::Moment::Finding, _)) = world.moment_since(mark, |m| m == Moment::Finding) {
        parts.push(format!("{} (promise broken)", Moment::Finding.label()));
    }
    for entry in world.trace_since(mark) {
        if let Some(moment) = entry.moment().filter(|m| jump.wants(*m)) {
            let part = describe(world, moment, Some(entry));
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
    }
    parts.join("; ")
}

/// `leader election: broker-2 leads orders-0 in epoch 1`, and the like.
fn describe(world: &World, moment: Moment, entry: Option<&TraceEntry>) -> String {
    use broker_core::Event;
    let detail = match entry.map(|e| &e.kind) {
        Some(sim::TraceKind::Event { event }) => match event {
            Event::LeaderElected {
                tp,
                leader: Some(l),
                leader_epoch,
                ..
            } => format!("broker-{l} leads {tp} in epoch {leader_epoch}"),
            Event::LeaderElected { tp, .. } => format!("{tp} has no leader"),
            Event::IsrChanged { tp, isr, .. } => format!("{tp} ISR {isr:?}"),
            Event::BrokerFenced { broker, .. } => format!("broker-{broker}"),
            Event::Truncated {
                broker,
                tp,
                from,
                to,
                ..
            } => {
                format!("broker-{broker} cut {tp} from {from} to {to}")
            }
            Event::GroupStateChanged { group, .. } => format!("group {group}"),
            Event::HighWatermarkAdvanced {
                broker,
                tp,
                high_watermark,
            } => format!("{tp} HW {high_watermark} at broker-{broker}"),
            _ => String::new(),
        },
        Some(sim::TraceKind::Fault { fault }) => fault_words(world, fault),
        _ => String::new(),
    };
    if detail.is_empty() {
        moment.label().to_owned()
    } else {
        format!("{}: {detail}", moment.label())
    }
}

fn fault_words(world: &World, fault: &sim::FaultAction) -> String {
    use sim::FaultAction::*;
    let debug = format!("{fault:?}");
    let action = debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_lowercase();
    let target = match fault {
        Crash { target }
        | PowerFail { target }
        | Restart { target }
        | Shutdown { target }
        | Pause { target }
        | Resume { target }
        | Isolate { target }
        | Clog { target }
        | Unclog { target }
        | Join { target }
        | Leave { target }
        | Produce { target } => Some(*target),
        _ => None,
    };
    match target {
        Some(node) => format!("{action} {}", world.name(node)),
        None => action,
    }
}
