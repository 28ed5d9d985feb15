//! The world's watchdog: a run whose simulated time stands still (some node keeps scheduling
//! work at the same millisecond) or that uses up its event budget is stopped and reported as
//! cut short, with the node and the kind of event that kept it busy.
//!
//! Cost on the hot path: one compare of the event's time with the current millisecond, one
//! increment, and one compare with the sampling threshold. Only a run already far past any
//! legitimate load tallies events, and only until it is stopped.

use broker_core::{NodeId, Time};
use serde::Serialize;
use std::collections::BTreeMap;

/// Events at one simulated millisecond after which the world stops: time stands still.
///
/// Why a million: the busiest millisecond of any built-in scenario holds a few hundred events
/// (370 in `kip-101-divergence`: a burst of produce, fetch and disk traffic), and a test keeps
/// every built-in below a hundredth of this, leaving room for larger clusters. The simulator
/// runs a few million events per second of wall time, so a livelock costs well under a second
/// (and at most a few hundred MB of queued events) rather than the minutes the
/// 200-million-event cap took.
pub const STILL_EVENTS_MAX: u64 = 1_000_000;

/// Why a run stopped before its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CutShort {
    /// Too many events at one simulated millisecond (see [`STILL_EVENTS_MAX`]).
    TimeStoodStill,
    /// The run used up its event budget (`WorldSpec::events_max`).
    EventCap,
}

/// A run that did not reach its end, and what kept it from advancing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Livelock {
    /// Why it stopped.
    pub reason: CutShort,
    /// The simulated time reached.
    pub at: Time,
    /// Events processed in all.
    pub events: u64,
    /// The node most of the sampled events were for (`None`: world events such as faults).
    pub node: Option<NodeId>,
    /// Their kind: `timer`, a message's API name, `disk completion`, ...
    pub event: &'static str,
    /// How many of the sampled events were that node's events of that kind.
    pub dominant: u64,
    /// How many events were sampled (the last stretch before the stop).
    pub sampled: u64,
}

/// Counts events per simulated millisecond; tallies who they were for once a run looks stuck.
#[derive(Clone, Debug)]
pub(crate) struct Watchdog {
    /// The millisecond being counted.
    at: Time,
    /// Events at `at` so far.
    count: u64,
    /// The most events any millisecond held (for tests and benchmarks).
    peak: u64,
    /// Stop when one millisecond holds this many events.
    still_max: u64,
    /// Tally from this many events at one millisecond on...
    still_sample_from: u64,
    /// ...or from this many events in all (the last stretch before the event cap).
    cap_sample_from: u64,
    events_max: u64,
    tally: BTreeMap<(Option<NodeId>, &'static str), u64>,
}

impl Watchdog {
    pub(crate) fn new(still_max: u64, events_max: u64) -> Watchdog {
        let still_max = still_max.max(1);
        Watchdog {
            at: Time(0),
            count: 0,
            peak: 0,
            still_max,
            still_sample_from: still_max / 2,
            cap_sample_from: events_max - (events_max / 2).min(still_max / 2),
            events_max,
            tally: BTreeMap::new(),
        }
    }

    /// Count one event at `time` (the `events`-th of the run), for `subject`: the node and the
    /// kind of event, asked for only when the run looks stuck. `Some` means stop now.
    #[inline]
    pub(crate) fn count(
        &mut self,
        time: Time,
        events: u64,
        subject: impl FnOnce() -> (Option<NodeId>, &'static str),
    ) -> Option<Livelock> {
        if time != self.at {
            self.next_millisecond(time, events);
        }
        self.count += 1;
        if self.count < self.still_sample_from && events < self.cap_sample_from {
            return None;
        }
        *self.tally.entry(subject()).or_default() += 1;
        let reason = if self.count >= self.still_max {
            CutShort::TimeStoodStill
        } else if events >= self.events_max {
            CutShort::EventCap
        } else {
            return None;
        };
        Some(self.verdict(reason, time, events))
    }

    #[cold]
    fn next_millisecond(&mut self, time: Time, events: u64) {
        self.peak = self.peak.max(self.count);
        self.at = time;
        self.count = 0;
        // A busy millisecond that moved on was no livelock: forget its tally. The tally of the
        // stretch before the event cap spans milliseconds and is kept.
        if events < self.cap_sample_from && !self.tally.is_empty() {
            self.tally.clear();
        }
    }

    fn verdict(&self, reason: CutShort, at: Time, events: u64) -> Livelock {
        let sampled = self.tally.values().sum();
        // Ties go to the first in (node, kind) order: deterministic.
        let ((node, event), dominant) = self
            .tally
            .iter()
            .fold(
                None,
                |best: Option<(&(Option<NodeId>, &str), u64)>, (k, v)| match best {
                    Some((_, b)) if b >= *v => best,
                    _ => Some((k, *v)),
                },
            )
            .map_or(((None, "none"), 0), |(k, v)| (*k, v));
        Livelock {
            reason,
            at,
            events,
            node,
            event,
            dominant,
            sampled,
        }
    }

    /// The most events any one millisecond held so far.
    pub(crate) fn peak(&self) -> u64 {
        self.peak.max(self.count)
    }
}
