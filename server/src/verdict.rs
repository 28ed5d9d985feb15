//! The verdict on a session (live `GET /verdict`, and `kafka-lab run RECORDING`): the lab's own
//! checks (`sim::check`) over the world, whose client history holds the real clients'
//! operations (`history.rs`), and what each real client did, by its `client.id`.
//!
//! A session is judged where it stands, with no drain phase after it (the lab's runs heal the
//! faults and let every consumer catch up before the final checks). So the two kinds that
//! need one are left out, and the verdict says so: `stalled` (a partition without a leader
//! or a commit in flight at this instant) and `unseen` (an acknowledged record no reader has
//! got to yet). Every other kind judges what happened.

use crate::engine::{ConnId, Engine};
use serde::Serialize;
use sim::{Finding, FindingKind, HistoryCounts};
use std::collections::BTreeMap;

/// The kinds a session without a drain phase cannot judge.
pub const NEEDS_DRAIN: [FindingKind; 2] = [FindingKind::Stalled, FindingKind::Unseen];

/// One real client: the connections that carried its `client.id`, and what they did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RealClient {
    /// Its `client.id`, or `connection N` for a connection that never said one.
    pub client_id: String,
    /// Its connections, in the order they opened.
    pub connections: Vec<ConnId>,
    /// Its operations, counted from the history.
    #[serde(flatten)]
    pub counts: HistoryCounts,
}

/// A session's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Simulated ms it was judged at.
    pub at_ms: u64,
    /// The real clients, by `client.id`.
    pub clients: Vec<RealClient>,
    /// The findings, each with its verdict.
    pub findings: Vec<Finding>,
    /// Kinds not judged (see the module's doc).
    pub not_judged: Vec<FindingKind>,
    /// What the verdict on each real consumer group rests on, and what it cannot know.
    pub groups: Vec<String>,
    /// Whether no finding is a violation.
    pub passed: bool,
}

/// Judge the engine's world now.
pub fn verdict(engine: &Engine) -> Verdict {
    let world = engine.world();
    let findings: Vec<Finding> = sim::check(world)
        .into_iter()
        .filter(|f| !NEEDS_DRAIN.contains(&f.kind))
        .collect();
    let passed = findings
        .iter()
        .all(|f| f.verdict != sim::Verdict::Violation);
    Verdict {
        at_ms: world.now().0,
        clients: clients(engine),
        findings,
        not_judged: NEEDS_DRAIN.to_vec(),
        groups: groups(engine),
        passed,
    }
}

/// The real clients, by `client.id` in the order of their first connection.
pub fn clients(engine: &Engine) -> Vec<RealClient> {
    let mut listed: Vec<RealClient> = Vec::new();
    // Each connection's node, to the index of its client in `listed`.
    let mut of_node = BTreeMap::new();
    let mut index_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut conns: Vec<_> = engine.clients().iter().collect();
    conns.sort_by_key(|(_, c)| c.conn);
    for (node, c) in conns {
        let id = c
            .client_id
            .clone()
            .unwrap_or_else(|| format!("connection {}", c.conn));
        let index = *index_of.entry(id.clone()).or_insert_with(|| {
            listed.push(RealClient {
                client_id: id,
                connections: Vec::new(),
                counts: HistoryCounts::default(),
            });
            listed.len() - 1
        });
        listed[index].connections.push(c.conn);
        of_node.insert(*node, index);
    }
    for record in engine.world().history() {
        if let Some(&i) = of_node.get(&record.client) {
            listed[i].counts.add(&record.entry);
        }
    }
    // A connection that never said who it is and did nothing (a port probe) is no client.
    let idle = |c: &RealClient| {
        c.client_id.starts_with("connection ") && c.counts == HistoryCounts::default()
    };
    listed.retain(|c| !idle(c));
    listed
}

/// Per real consumer group, in words: who read for it, what it is promised and what the wire
/// does not show (`history/groups.rs`).
fn groups(engine: &Engine) -> Vec<String> {
    let conn = |node: &broker_core::NodeId| engine.clients().get(node).map(|c| c.conn.to_string());
    engine
        .groups()
        .tied()
        .into_iter()
        .map(|(group, nodes)| {
            let conns: Vec<String> = nodes.iter().filter_map(conn).collect();
            format!(
                "group {group}: judged as one reader, its reads those of fetch connections [{}] \
                 (tied to it by client.id and assignment); a member is promised every record \
                 from the group's last acknowledged commit on (a seek past it, which the wire \
                 does not show, is reported); where the group had no commit, auto.offset.reset \
                 (a client config the wire does not show) chose the start and nothing before \
                 it is promised; a record read again after a rebalance is redelivery, allowed \
                 (when a client commits is its own choice)",
                conns.join(", ")
            )
        })
        .collect()
}

impl Verdict {
    /// The verdict in lines of text: each real client, then each finding.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.clients {
            let conns: Vec<String> = c.connections.iter().map(u32::to_string).collect();
            out += &format!(
                "client {} (connections {}): sent {}, acknowledged {}, failed {}, unknown {}, consumed {}\n",
                c.client_id,
                conns.join(", "),
                c.counts.sent,
                c.counts.acknowledged,
                c.counts.failed,
                c.counts.unknown,
                c.counts.read
            );
        }
        for g in &self.groups {
            out += &format!("{g}\n");
        }
        for f in &self.findings {
            let verdict = match f.verdict {
                sim::Verdict::Violation => "violation",
                sim::Verdict::Allowed => "allowed",
            };
            out += &format!("finding {} ({verdict}): {}\n", f.kind, f.explanation);
        }
        let skipped: Vec<String> = self.not_judged.iter().map(ToString::to_string).collect();
        out += &format!(
            "verdict at {} ms: {} ({} not judged: a session has no drain phase)\n",
            self.at_ms,
            if self.passed { "pass" } else { "FAIL" },
            skipped.join(", ")
        );
        out
    }
}
