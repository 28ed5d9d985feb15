//! The control port: HTTP/1.1 + JSON for whoever runs the session (a teacher's script, a test).
//!
//! - `GET /cluster`: brokers, the controller, every partition (leader, epoch, ISR, and each
//!   live replica's LEO and HW), consumer groups by coordinator, and external connections.
//! - `GET /verdict`: the session judged now by the lab's checks, the real clients' operations
//!   included (`verdict.rs`): each real client by `client.id` with its counts, the findings,
//!   and the fingerprint (a mark of the recording, as for `GET /cluster`).
//! - `POST /faults`: a scenario's `[[faults]]` object without `at_ms`, e.g.
//!   `{"action": "crash", "target": "broker-2"}`. It is validated by the scenarios crate
//!   exactly as the same fault in a scenario file (errors name the key), and happens at the
//!   next simulated millisecond. Answers `{"at_ms": N}`, or 400 with the error.
//!
//! Requests are small: the head is capped at 16 KiB and the body at 64 KiB.

use crate::engine::Engine;
use crate::serve::Envelope;
use broker_core::{BrokerId, NodeId};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

const HEAD_MAX: usize = 16 * 1024;
const BODY_MAX: usize = 64 * 1024;

/// Serve the control port until the engine is gone.
pub fn run(listener: TcpListener, scenario: scenarios::Scenario, engine: Sender<Envelope>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let scenario = scenario.clone();
        let engine = engine.clone();
        std::thread::spawn(move || {
            let _ = handle(stream, &scenario, &engine);
        });
    }
}

fn handle(
    mut stream: TcpStream,
    scenario: &scenarios::Scenario,
    engine: &Sender<Envelope>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (status, body) = match read_request(&stream) {
        Ok((method, path, body)) => route(&method, &path, &body, scenario, engine),
        Err(e) => (400, json!({ "error": e })),
    };
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

fn read_request(stream: &TcpStream) -> Result<(String, String, Vec<u8>), String> {
    let mut reader = BufReader::new(stream.take((HEAD_MAX + BODY_MAX) as u64));
    let mut head = Vec::new();
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| e.to_string())?;
        if n == 0 || head.iter().map(String::len).sum::<usize>() > HEAD_MAX {
            return Err("an incomplete or oversize request head".into());
        }
        let trimmed = line.trim_end().to_owned();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(|_| "a bad Content-Length")?;
            }
        }
        head.push(trimmed);
    }
    if length > BODY_MAX {
        return Err(format!("a body over {BODY_MAX} bytes"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map_err(|e| e.to_string())?;
    let mut parts = head.first().ok_or("no request line")?.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    Ok((method, path, body))
}

fn route(
    method: &str,
    path: &str,
    body: &[u8],
    scenario: &scenarios::Scenario,
    engine: &Sender<Envelope>,
) -> (u16, Value) {
    match (method, path) {
        ("GET", "/cluster") => ask(engine, cluster),
        ("GET", "/verdict") => ask(engine, |e| {
            // Recorded as a mark, as `GET /cluster` is: the replay reaches this moment too.
            let fingerprint = e.mark();
            let verdict = crate::verdict::verdict(e);
            let mut value =
                serde_json::to_value(verdict).unwrap_or_else(|e| json!({ "error": e.to_string() }));
            value["fingerprint"] = json!(fingerprint);
            value
        }),
        ("POST", "/faults") => match fault(body, scenario) {
            Ok(_) => {
                let posted: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
                let scenario = scenario.clone();
                ask(engine, move |e| match inject(e, posted, &scenario) {
                    Ok(at) => json!({ "at_ms": at.0 }),
                    Err(error) => json!({ "error": error }),
                })
            }
            Err(e) => (400, json!({ "error": e })),
        },
        _ => (
            404,
            json!({ "error": "GET /cluster, GET /verdict or POST /faults" }),
        ),
    }
}

/// Run `f` on the engine thread and wait for its answer.
fn ask(
    engine: &Sender<Envelope>,
    f: impl FnOnce(&mut Engine) -> Value + Send + 'static,
) -> (u16, Value) {
    let (tx, rx) = mpsc::channel();
    let run = move |e: &mut Engine| {
        let _ = tx.send(f(e));
    };
    if engine.send(Envelope::Control(Box::new(run))).is_err() {
        return (503, json!({ "error": "the session is over" }));
    }
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(value) if value.get("error").is_some() => (400, value),
        Ok(value) => (200, value),
        Err(_) => (503, json!({ "error": "the engine did not answer" })),
    }
}

/// Inject a posted fault object now, validated as [`fault`] does and recorded: the one path of
/// `POST /faults` and of `serve --tui`'s fault keys. When it happens, or why not.
pub fn inject(
    engine: &mut Engine,
    posted: Value,
    scenario: &scenarios::Scenario,
) -> Result<broker_core::Time, String> {
    let body = serde_json::to_vec(&posted).map_err(|e| e.to_string())?;
    let action = fault(&body, scenario)?;
    engine
        .inject_posted_fault(posted, action)
        .ok_or_else(|| "the session's main phase is over".to_owned())
}

/// A `[[faults]]` object without `at_ms`, validated as the scenario would validate it.
pub fn fault(body: &[u8], scenario: &scenarios::Scenario) -> Result<sim::FaultAction, String> {
    let mut object: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|e| format!("the body is not a JSON object: {e}"))?;
    if object.contains_key("at_ms") {
        return Err("at_ms: a fault posted to a session happens now; leave at_ms out".into());
    }
    object.insert("at_ms".into(), json!(1));
    let fault: scenarios::Fault =
        serde_json::from_value(Value::Object(object)).map_err(|e| e.to_string())?;
    let mut probe = scenario.clone();
    admit_runtime_topic(&mut probe, fault.target.as_deref());
    probe.faults = vec![fault];
    probe.validate().map_err(|e| e.to_string())?;
    let spec = probe.world_spec().map_err(|e| e.to_string())?;
    spec.faults
        .into_iter()
        .next()
        .map(|f| f.action)
        .ok_or_else(|| "no fault".to_owned())
}

/// A served cluster creates topics at runtime (`auto.create.topics.enable`, CreateTopics) that
/// the scenario does not list: a posted `leader:TOPIC-P` naming one is checked as if the
/// scenario had that topic with partitions 0..=P, and resolved by the world when the fault
/// happens (nobody holds the role if the cluster has no such partition then).
fn admit_runtime_topic(probe: &mut scenarios::Scenario, target: Option<&str>) {
    let Some(partition) = target.and_then(|t| t.strip_prefix("leader:")) else {
        return;
    };
    let Some((topic, index)) = partition.rsplit_once('-') else {
        return;
    };
    let Ok(p) = index.parse::<u32>() else {
        return;
    };
    if probe.topics.iter().any(|t| t.name == topic) {
        return;
    }
    probe.topics.push(scenarios::TopicSpec {
        name: topic.to_owned(),
        partitions: p.saturating_add(1),
        replication_factor: 1,
        assignment: None,
        config: Default::default(),
    });
}

/// `GET /cluster`, built on the engine thread.
fn cluster(engine: &mut Engine) -> Value {
    // A recording keeps it as a mark its replay must match.
    let fingerprint = engine.mark();
    let world = engine.world();
    let mut brokers = Vec::new();
    let mut controllers = Vec::new();
    for (id, status, _) in world.nodes() {
        match id {
            NodeId::Broker(b) => brokers.push(json!({
                "id": b.0, "name": world.name(id), "status": status,
                "port": engine.advertised().port(b),
            })),
            NodeId::Controller(c) => controllers.push(json!({ "id": c.0, "status": status })),
            NodeId::Client(_) => {}
        }
    }
    let partitions: Vec<Value> = world
        .controller()
        .map(|c| {
            c.metadata()
                .partitions
                .iter()
                .map(|(tp, s)| {
                    json!({
                        "topic": tp.topic.to_string(), "partition": tp.partition,
                        "leader": s.leader.map(|b| b.0), "leader_epoch": s.leader_epoch.0,
                        "isr": s.isr.iter().map(|b| b.0).collect::<Vec<_>>(),
                        "replicas": s.replicas.iter().map(|b| replica(engine, *b, tp)).collect::<Vec<_>>(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let groups: Vec<Value> = (1..=world.spec().brokers)
        .filter_map(|b| world.broker(BrokerId(b)))
        .flat_map(|b| {
            b.group_coordinator()
                .groups()
                .keys()
                .map(move |g| json!({ "group": g, "coordinator": b.id().0 }))
        })
        .collect();
    json!({
        "now_ms": world.now().0,
        "fingerprint": fingerprint,
        "brokers": brokers,
        "controllers": controllers,
        "partitions": partitions,
        "groups": groups,
        "connections": engine.connections(),
    })
}

fn replica(engine: &Engine, b: BrokerId, tp: &broker_core::TopicPartition) -> Value {
    let log = engine
        .world()
        .broker(b)
        .and_then(|broker| broker.replicas().get(tp));
    match log {
        Some(r) => {
            json!({ "broker": b.0, "leo": r.log.log_end_offset().0, "hw": r.log.high_watermark().0 })
        }
        None => json!({ "broker": b.0, "leo": null, "hw": null }),
    }
}

#[cfg(test)]
mod tests {
    use super::fault;
    use broker_core::{BrokerId, NodeId};

    #[test]
    fn a_posted_fault_is_validated_as_a_scenario_fault() {
        let scenario = crate::default_scenario().unwrap();
        let crash = fault(br#"{"action": "crash", "target": "broker-2"}"#, &scenario).unwrap();
        assert_eq!(
            crash,
            sim::FaultAction::Crash {
                target: NodeId::Broker(BrokerId(2))
            }
        );
        let unknown = fault(br#"{"action": "crash", "target": "broker-9"}"#, &scenario);
        assert!(unknown.unwrap_err().contains("faults[0].target"));
        let timed = fault(
            br#"{"action": "crash", "target": "broker-1", "at_ms": 5}"#,
            &scenario,
        );
        assert!(timed.unwrap_err().starts_with("at_ms"));
        assert!(fault(br#"{"action": "explode"}"#, &scenario).is_err());
        assert!(fault(b"[1]", &scenario).is_err());
    }

    /// A topic created at runtime is not in the scenario, yet its leader is a target: the
    /// world resolves the role when the fault happens.
    #[test]
    fn a_posted_leader_target_may_name_a_topic_created_at_runtime() {
        let scenario = crate::default_scenario().unwrap();
        let body = br#"{"action": "crash", "target": "leader:fresh-2"}"#;
        let action = fault(body, &scenario).unwrap();
        let text = format!("{action:?}");
        assert!(text.contains("OnRole") && text.contains("fresh"), "{text}");
        let bad = fault(
            br#"{"action": "crash", "target": "leader:fresh"}"#,
            &scenario,
        );
        assert!(bad.unwrap_err().contains("TOPIC-PARTITION"));
    }

    /// A posted dynamic target (`leader:orders-0`) crashes the partition's leader at the moment
    /// it happens, looked up by the world (sim `FaultAction::OnRole`), not by the client; the
    /// other brokers stay up.
    #[test]
    fn a_posted_leader_target_crashes_the_partitions_leader() {
        use crate::engine::Engine;
        use broker_core::{Time, TopicPartition};
        let scenario = crate::scenario_with_orders();
        let mut engine = crate::test_engine(&scenario);
        let tp = TopicPartition::new(&broker_core::Topic::new("orders"), 0);
        let leader_of = |e: &Engine| {
            e.world().controller().unwrap().metadata().partitions[&tp]
                .leader
                .expect("orders-0 has a leader")
        };
        let leader = leader_of(&engine);
        let body = br#"{"action": "crash", "target": "leader:orders-0"}"#;
        let action = fault(body, &scenario).unwrap();
        let posted = serde_json::from_slice(body).unwrap();
        assert!(engine.inject_posted_fault(posted, action).is_some());
        engine.run_until(Time(3_010));
        for b in 1..=3 {
            let status = engine.world().status(NodeId::Broker(BrokerId(b)));
            let expected = if BrokerId(b) == leader {
                sim::Status::Crashed
            } else {
                sim::Status::Up
            };
            assert_eq!(
                status, expected,
                "broker-{b} (leader was broker-{})",
                leader.0
            );
        }
        engine.run_until(Time(15_000));
        assert_ne!(leader_of(&engine), leader, "a new leader is elected");
    }
}
