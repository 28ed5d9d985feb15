//! `serve --record FILE` and its replay by `kafka-lab run FILE`.
//!
//! A recording is a scenario file (the served scenario, seed included) followed by the
//! session, one event a line as a TOML comment (`#> {json}`), so the file stays a valid
//! scenario for every other tool. The events are everything the engine was handed, each with
//! the simulated millisecond it was handed at: connections opening and closing, every raw
//! request frame, every fault posted to the control port, the moments the engine collected
//! the brokers' answers (`tick`: a collected answer may start a connection's next waiting
//! request, so when it happened shapes the run), and `mark`s: the world's fingerprint each
//! time `GET /cluster` was asked. The engine is deterministic given these (see `engine.rs`),
//! so replaying them against the same scenario and binary gives the same world, and every
//! `mark` must match: the replay checks itself against the live session.

use crate::api::Advertised;
use crate::engine::{ConnId, Engine};
use broker_core::{BrokerId, Time};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The prefix of an event line.
pub const EVENT_PREFIX: &str = "#> ";

/// The line between the scenario and its session.
pub const SESSION_HEADER: &str =
    "# kafka-lab session: the events below replay with `kafka-lab run THIS_FILE`";

/// One thing the engine was handed, at simulated millisecond `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A client connected to `broker`'s port.
    Connect {
        /// Simulated ms.
        at: u64,
        /// The connection's number.
        conn: ConnId,
        /// The broker whose port it reached.
        broker: u32,
        /// Its name in the world.
        name: String,
    },
    /// A request frame (size prefix excluded), hex.
    Frame {
        /// Simulated ms.
        at: u64,
        /// The connection.
        conn: ConnId,
        /// The frame's bytes.
        hex: String,
    },
    /// The connection closed.
    Disconnect {
        /// Simulated ms.
        at: u64,
        /// The connection.
        conn: ConnId,
    },
    /// A fault posted to the control port (the posted object).
    Fault {
        /// Simulated ms.
        at: u64,
        /// The `[[faults]]` object without `at_ms`.
        fault: serde_json::Value,
    },
    /// The engine collected the brokers' answers for its connections.
    Tick {
        /// Simulated ms.
        at: u64,
    },
    /// The world's fingerprint when `GET /cluster` was asked.
    Mark {
        /// Simulated ms.
        at: u64,
        /// `World::fingerprint`.
        fingerprint: String,
    },
}

impl Event {
    /// When it happened.
    pub fn at(&self) -> u64 {
        match self {
            Event::Connect { at, .. }
            | Event::Frame { at, .. }
            | Event::Disconnect { at, .. }
            | Event::Fault { at, .. }
            | Event::Tick { at }
            | Event::Mark { at, .. } => *at,
        }
    }
}

/// Where a live session's events go. A write error stops the recording (said once on stderr),
/// never the session.
pub struct Recorder {
    out: Option<Box<dyn Write + Send>>,
}

impl Recorder {
    /// Record to `out`, which already holds the scenario and [`SESSION_HEADER`].
    pub fn new(out: Box<dyn Write + Send>) -> Recorder {
        Recorder { out: Some(out) }
    }

    /// Append one event.
    pub fn write(&mut self, event: &Event) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let line = serde_json::to_string(event).expect("an event serializes");
        if let Err(e) = writeln!(out, "{EVENT_PREFIX}{line}") {
            eprintln!("serve: --record: {e}; recording stopped");
            self.out = None;
        }
    }

    /// Push what was written to the file.
    pub fn flush(&mut self) {
        if let Some(Err(e)) = self.out.as_mut().map(|o| o.flush()) {
            eprintln!("serve: --record: {e}; recording stopped");
            self.out = None;
        }
    }
}

/// Bytes as lowercase hex.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex back to bytes; `None` for an odd length or a non-hex digit.
pub fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The session events of a recording's text; `Ok(None)` for a plain scenario file. An error
/// names the file and line.
pub fn parse(text: &str, file: &str) -> Result<Option<Vec<Event>>, String> {
    if !text.lines().any(|l| l == SESSION_HEADER) {
        return Ok(None);
    }
    let mut events = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let Some(json) = line.strip_prefix(EVENT_PREFIX) else {
            continue;
        };
        let event: Event =
            serde_json::from_str(json).map_err(|e| format!("{file}:{}: {e}", i + 1))?;
        if events.last().is_some_and(|p: &Event| p.at() > event.at()) {
            return Err(format!("{file}:{}: events go back in time", i + 1));
        }
        events.push(event);
    }
    Ok(Some(events))
}

/// What a replay did.
pub struct Replayed {
    /// The engine at the last event (its world is the session's).
    pub engine: Engine,
    /// Request frames replayed.
    pub frames: usize,
    /// Connections opened.
    pub connections: usize,
    /// Live fingerprints the replay matched.
    pub marks: usize,
}

/// Replay `events` against `scenario` (the recording's own). An error is a recording that does
/// not replay: a bad event, or a fingerprint that differs from the live session's.
pub fn replay(scenario: &scenarios::Scenario, events: &[Event]) -> Result<Replayed, String> {
    let spec = scenario.world_spec().map_err(|e| e.to_string())?;
    let world = sim::World::new(crate::serve::live_spec(spec));
    let advertised = Advertised {
        host: "127.0.0.1".into(),
        base_port: 19092,
    };
    let mut replayed = Replayed {
        engine: Engine::new(world, advertised),
        frames: 0,
        connections: 0,
        marks: 0,
    };
    for (i, event) in events.iter().enumerate() {
        step(&mut replayed, scenario, event).map_err(|e| format!("event {}: {e}", i + 1))?;
    }
    Ok(replayed)
}

fn step(r: &mut Replayed, scenario: &scenarios::Scenario, event: &Event) -> Result<(), String> {
    let engine = &mut r.engine;
    let at = Time(event.at());
    // The live engine ran the world to `at` before it took this event; a tick is such a run
    // whose collection mattered, even within the same millisecond.
    if at > engine.world().now() || matches!(event, Event::Tick { .. }) {
        engine.run_until(at);
    }
    match event {
        Event::Connect {
            conn, broker, name, ..
        } => {
            let (out, _) = std::sync::mpsc::channel();
            engine.handle(crate::engine::Command::Connect {
                conn: *conn,
                broker: BrokerId(*broker),
                name: name.clone(),
                out,
            });
            r.connections += 1;
        }
        Event::Frame { conn, hex, .. } => {
            let bytes = from_hex(hex).ok_or("the frame is not hex")?;
            // A frame the live reader refused closed its connection: the disconnect follows.
            if let Ok(command) = crate::serve::frame_command(*conn, bytes.into()) {
                engine.handle(command);
            }
            r.frames += 1;
        }
        Event::Disconnect { conn, .. } => {
            engine.handle(crate::engine::Command::Disconnect { conn: *conn })
        }
        Event::Fault { fault, .. } => {
            let body = serde_json::to_vec(fault).map_err(|e| e.to_string())?;
            let action = crate::control::fault(&body, scenario)?;
            engine.inject_posted_fault(fault.clone(), action);
        }
        Event::Tick { .. } => {}
        Event::Mark { fingerprint, .. } => {
            let now = engine.world().fingerprint();
            if &now != fingerprint {
                return Err(format!(
                    "at {} ms the live session's fingerprint was {fingerprint}, the replay's is {now}",
                    at.0
                ));
            }
            r.marks += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_bad_digits() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(to_hex(&bytes), "0001abff");
        assert_eq!(from_hex("0001abff").unwrap(), bytes);
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("abc"), None);
    }

    #[test]
    fn a_plain_scenario_is_no_recording_and_a_bad_event_names_its_line() {
        assert_eq!(parse("title = \"x\"\n", "f.toml"), Ok(None));
        let text =
            format!("title = \"x\"\n{SESSION_HEADER}\n{EVENT_PREFIX}{{\"event\":\"tick\"}}\n");
        let err = parse(&text, "f.toml").unwrap_err();
        assert!(err.starts_with("f.toml:3:"), "{err}");
        let back = format!(
            "{SESSION_HEADER}\n{EVENT_PREFIX}{{\"event\":\"tick\",\"at\":5}}\n{EVENT_PREFIX}{{\"event\":\"tick\",\"at\":4}}\n"
        );
        assert!(parse(&back, "f").unwrap_err().contains("back in time"));
    }
}
