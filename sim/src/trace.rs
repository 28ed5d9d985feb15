//! The trace: every event that matters, with its time, as serde JSON lines, and the run's
//! fingerprint, a hash over everything that happened.

use crate::spec::FaultAction;
use broker_core::{Event, NodeId, Time};
use serde::{Deserialize, Serialize};

/// What a trace entry records.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TraceKind {
    /// A teaching event a node reported.
    Event {
        /// The event.
        event: Event,
    },
    /// A fault was injected.
    Fault {
        /// The fault.
        fault: FaultAction,
    },
    /// A process started (or restarted).
    ProcessStarted,
    /// A process stopped after a controlled shutdown.
    ProcessStopped,
    /// A message was sent (only when message tracing is on).
    Sent {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: String,
        /// A short description.
        summary: String,
    },
    /// A message was dropped by the network.
    Dropped {
        /// Receiver.
        to: NodeId,
        /// The Kafka API.
        api: String,
        /// Why.
        reason: String,
    },
    /// A phase began.
    Phase {
        /// `main`, `drain` or `check`.
        name: String,
    },
}

/// One trace entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceEntry {
    /// When.
    pub time: Time,
    /// Which node it concerns.
    pub node: Option<NodeId>,
    /// What.
    pub kind: TraceKind,
}

/// FNV-1a over 64 bits: stable across platforms and releases, unlike `DefaultHasher`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(0xcbf2_9ce4_8422_2325)
    }
}

impl Fingerprint {
    /// Mix in bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Mix in a number.
    pub fn u64(&mut self, n: u64) {
        self.bytes(&n.to_le_bytes());
    }

    /// The hash as 16 hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}
