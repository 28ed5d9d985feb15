//! A scenario's captions are its script: they narrate the run the file describes, at the times
//! it describes. A run that departs from the file (a `--set` that changes what runs, or a fault
//! injected by hand in the UI) is no longer that run, so from the departure on no caption is
//! shown: a caption never contradicts the screen. Where a run left the script is said instead.
//!
//! The report of `kafka-lab run` and the UI both ask [`Scenario::narration`]; the UI passes the
//! faults the user injected.

use crate::format::{Caption, Fault, Scenario};
use crate::set::Override;
use broker_core::Time;

/// Where a run left its scenario's script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Departure {
    /// A `--set` that changes what runs: off script from the start.
    Set(Override),
    /// A fault injected by hand, at its time.
    Injected {
        /// When it happens, in simulated ms.
        at_ms: u64,
        /// What it was (`crash broker-1`).
        what: String,
    },
}

impl Departure {
    /// The simulated time from which the run is off script.
    pub fn at_ms(&self) -> u64 {
        match self {
            Departure::Set(_) => 0,
            Departure::Injected { at_ms, .. } => *at_ms,
        }
    }

    /// One line for the caption bar and the report.
    pub fn describe(&self) -> String {
        match self {
            Departure::Set(o) => format!(
                "off the scenario's script: {o} changes what it runs, so its captions are not shown"
            ),
            Departure::Injected { at_ms, what } => format!(
                "off the scenario's script since {} ({what}, injected): its captions are not shown",
                Time(*at_ms)
            ),
        }
    }
}

/// What the caption bar says at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Narration<'a> {
    /// No caption yet.
    Silent,
    /// The script's caption for now.
    Caption(&'a Caption),
    /// The run left the script: no caption describes it.
    OffScript(Departure),
}

impl Scenario {
    /// Where the run leaves the script, if it does: the first `--set` that changes what runs,
    /// else the earliest of the faults injected by hand.
    pub fn departure(&self, injected: &[Fault]) -> Option<Departure> {
        if let Some(o) = self.overrides.iter().find(|o| o.changes_the_run()) {
            return Some(Departure::Set(o.clone()));
        }
        let first = injected.iter().min_by_key(|f| f.at_ms)?;
        Some(Departure::Injected {
            at_ms: first.at_ms,
            what: describe_fault(first),
        })
    }

    /// What to show at `now_ms`: the latest caption at or before it while the run keeps to the
    /// script (the file's later caption wins a tie), else where it left the script.
    pub fn narration(&self, now_ms: u64, injected: &[Fault]) -> Narration<'_> {
        if let Some(departure) = self.departure(injected) {
            if now_ms >= departure.at_ms() {
                return Narration::OffScript(departure);
            }
        }
        self.captions
            .iter()
            .enumerate()
            .filter(|(_, c)| c.at_ms <= now_ms)
            .max_by_key(|(i, c)| (c.at_ms, *i))
            .map_or(Narration::Silent, |(_, c)| Narration::Caption(c))
    }

    /// The captions a run with these injected faults keeps to, in time order: those before its
    /// departure (for the timeline of `kafka-lab run`).
    pub fn script(&self, injected: &[Fault]) -> Vec<&Caption> {
        let end = self.departure(injected).map_or(u64::MAX, |d| d.at_ms());
        let mut captions: Vec<&Caption> = self.captions.iter().filter(|c| c.at_ms < end).collect();
        captions.sort_by_key(|c| c.at_ms);
        captions
    }

    /// Makes the script true of a run with `injected` faults, for writing it as a new scenario
    /// (the UI's session file): captions from the departure on are dropped and one caption
    /// there says where the run left the original.
    pub fn rewrite_script(&mut self, injected: &[Fault]) {
        let Some(departure) = self.departure(injected) else {
            return;
        };
        let at_ms = departure.at_ms();
        self.captions.retain(|c| c.at_ms < at_ms);
        self.captions.push(Caption {
            at_ms,
            text: format!("From here this run is {}.", departure.describe()),
        });
    }
}

/// `crash broker-1`, `cut broker-1 → broker-2`, `heal`.
fn describe_fault(fault: &Fault) -> String {
    let action = fault.action.as_str();
    match (&fault.target, &fault.from, &fault.to) {
        (Some(target), _, _) => format!("{action} {target}"),
        (None, Some(from), Some(to)) => format!("{action} {from} → {to}"),
        _ => action.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::FaultAction;

    fn scenario() -> Scenario {
        let mut s = crate::builtin("leader-failover")
            .expect("built-in")
            .load()
            .expect("valid");
        s.captions = vec![
            Caption {
                at_ms: 0,
                text: "start".into(),
            },
            Caption {
                at_ms: 10_000,
                text: "crash".into(),
            },
        ];
        s
    }

    fn crash_at(at_ms: u64) -> Fault {
        Fault {
            at_ms,
            action: FaultAction::Crash,
            target: Some("broker-2".into()),
            sides: None,
            from: None,
            to: None,
            partition: None,
            offset: None,
        }
    }

    fn text(n: Narration<'_>) -> String {
        match n {
            Narration::Silent => "-".into(),
            Narration::Caption(c) => c.text.clone(),
            Narration::OffScript(d) => d.describe(),
        }
    }

    #[test]
    fn on_script_the_latest_caption_shows() {
        let s = scenario();
        assert_eq!(text(s.narration(9_999, &[])), "start");
        assert_eq!(text(s.narration(10_000, &[])), "crash");
        assert_eq!(s.script(&[]).len(), 2);
    }

    #[test]
    fn an_injected_fault_hides_every_caption_from_its_time_on() {
        let s = scenario();
        let injected = [crash_at(15_000)];
        assert_eq!(
            text(s.narration(14_999, &injected)),
            "crash",
            "still on script"
        );
        let after = text(s.narration(15_000, &injected));
        assert!(
            after.contains("since 15.000s (crash broker-2, injected)"),
            "{after}"
        );
        assert_eq!(
            s.script(&[crash_at(5_000)]).len(),
            1,
            "only the caption at 0"
        );
    }

    #[test]
    fn a_set_that_changes_the_run_hides_every_caption() {
        let mut s = scenario();
        s.apply_set("protocol.truncation", "high-watermark")
            .expect("valid");
        let now = text(s.narration(0, &[]));
        assert!(
            now.contains("--set protocol.truncation=high-watermark changes what it runs"),
            "{now}"
        );
        assert!(s.script(&[]).is_empty());
    }

    #[test]
    fn seed_and_expect_sets_keep_the_script() {
        let mut s = scenario();
        s.apply_set("seed", "3").expect("valid");
        s.apply_set("expect.findings", "[\"lost-write\"]")
            .expect("valid");
        assert_eq!(s.overrides.len(), 2);
        assert_eq!(s.departure(&[]), None);
        assert_eq!(text(s.narration(10_000, &[])), "crash");
    }

    #[test]
    fn a_rewritten_script_ends_where_the_run_left_it() {
        let mut s = scenario();
        s.rewrite_script(&[crash_at(5_000)]);
        assert_eq!(s.captions.len(), 2);
        assert_eq!(s.captions[0].text, "start");
        assert_eq!(s.captions[1].at_ms, 5_000);
        assert!(
            s.captions[1].text.contains("crash broker-2"),
            "{:?}",
            s.captions
        );
    }
}
