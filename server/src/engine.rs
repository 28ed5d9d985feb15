//! The deterministic half of `serve`: the world, the client connections as its nodes, and
//! the conversion of their requests. Nothing here reads a clock or a socket; the driver
//! (`serve.rs`) says how far simulated time has got and hands over what arrived. Given the
//! same commands at the same simulated times, the world runs the same.
//!
//! Per connection, one request is in the world at a time and the rest wait, as Kafka's
//! `SocketServer` mutes a channel until its request is answered: responses leave in request
//! order.

use crate::api::{self, Advertised, Ctx, Pending, Start};
use crate::history::{Feeder, RealGroups};
use crate::record::{Event, Recorder};
use crate::request::Request;
use broker_core::{BrokerId, Input, Message, NodeId, Time};
use bytes::Bytes;
use sim::{FaultAction, World};
use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc::Sender;

/// Trace entries a session keeps (the latest): past twice this many, the oldest go
/// (`World::forget_old_trace`), so a long session's trace is bounded.
pub const TRACE_KEPT: usize = 100_000;

/// A client connection's number, in the order they were accepted.
pub type ConnId = u32;

/// What the engine tells a connection's writer.
#[derive(Debug, PartialEq, Eq)]
pub enum Out {
    /// A response frame.
    Frame(Vec<u8>),
    /// Close the connection (its broker went away, or the client misbehaved).
    Close,
}

/// What the driver hands the engine.
pub enum Command {
    /// A client connected to broker `broker`'s port.
    Connect {
        /// Its number.
        conn: ConnId,
        /// The broker whose port it reached.
        broker: BrokerId,
        /// A name for the world (the peer address).
        name: String,
        /// Where its responses go.
        out: Sender<Out>,
    },
    /// A decoded request.
    Request {
        /// The connection.
        conn: ConnId,
        /// The request (boxed: a Produce request is large, a disconnect small).
        request: Box<Request>,
        /// The frame it was decoded from (for `--record`).
        raw: Bytes,
    },
    /// A response the reader decided on its own (a too-new ApiVersions), queued in order.
    Answer {
        /// The connection.
        conn: ConnId,
        /// The frame.
        frame: Vec<u8>,
        /// The request frame it answers (for `--record`).
        raw: Bytes,
    },
    /// The client closed its connection, or it was closed for bad input.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
}

/// A request waiting for its turn, or a ready answer that keeps its place in the order.
enum Queued {
    Request(Box<Request>),
    Answer(Vec<u8>),
}

struct Conn {
    node: NodeId,
    broker: BrokerId,
    out: Sender<Out>,
    waiting: VecDeque<Queued>,
    in_flight: Option<Pending>,
    next_correlation: u64,
    /// What it sent and was told, for the world's client history.
    feeder: Feeder,
    /// The peer's address as Kafka prints it (`/127.0.0.1`), for DescribeGroups' `clientHost`.
    host: String,
    /// The group members that joined over it.
    members: Vec<String>,
}

/// `InetAddress.toString` of a connection's peer, from its name (`client-3 (127.0.0.1:5000)`):
/// `/127.0.0.1`; empty when the name holds no address.
fn peer_host(name: &str) -> String {
    let peer = name
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .and_then(|addr| addr.rsplit_once(':'))
        .map(|(ip, _)| ip.trim_start_matches('[').trim_end_matches(']'));
    peer.map(|ip| format!("/{ip}")).unwrap_or_default()
}

/// A real client's connection as the verdict names it: it stays listed after it closed if the
/// history holds what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// The connection's number.
    pub conn: ConnId,
    /// The `client.id` its requests carry (`None` until one said it, or if none does).
    pub client_id: Option<String>,
}

/// A connection's node name once its `client.id` is known: `rdkafka#3` for connection 3.
pub fn client_name(client_id: &str, conn: ConnId) -> String {
    format!("{client_id}#{conn}")
}

/// The world with its external connections.
pub struct Engine {
    world: World,
    conns: BTreeMap<ConnId, Conn>,
    advertised: Advertised,
    recorder: Option<Recorder>,
    /// Every connection there has been, by its node.
    clients: BTreeMap<NodeId, Client>,
    /// How many trace entries to keep ([`TRACE_KEPT`]).
    trace_kept: usize,
    /// The real consumer groups, for the history (`history/groups.rs`).
    groups: RealGroups,
    /// The host each member of a group joined from, while its connection is open.
    client_hosts: BTreeMap<String, String>,
}

impl Engine {
    /// An engine over `world`, advertising brokers as `advertised` says.
    pub fn new(world: World, advertised: Advertised) -> Engine {
        Engine {
            world,
            conns: BTreeMap::new(),
            advertised,
            recorder: None,
            clients: BTreeMap::new(),
            trace_kept: TRACE_KEPT,
            groups: RealGroups::default(),
            client_hosts: BTreeMap::new(),
        }
    }

    /// Record everything the engine is handed from now on (`serve --record`).
    pub fn set_recorder(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    fn record(&mut self, event: impl FnOnce(u64) -> Event) {
        if let Some(r) = self.recorder.as_mut() {
            r.write(&event(self.world.now().0));
        }
    }

    /// Push the recording to its file (once per batch, so a stopped session keeps it).
    pub fn flush_recording(&mut self) {
        if let Some(r) = self.recorder.as_mut() {
            r.flush();
        }
    }

    /// The world's fingerprint now, recorded as a mark the replay must match.
    pub fn mark(&mut self) -> String {
        let fingerprint = self.world.fingerprint();
        let f = fingerprint.clone();
        self.record(|at| Event::Mark { at, fingerprint: f });
        self.flush_recording();
        fingerprint
    }

    /// The world.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Keep `n` trace entries instead of [`TRACE_KEPT`].
    pub fn set_trace_kept(&mut self, n: usize) {
        self.trace_kept = n;
    }

    /// Run the world to `until` and hand out what reached the connections.
    pub fn run_until(&mut self, until: Time) {
        self.world.run_until(until);
        if self.world.trace().len() > self.trace_kept.saturating_mul(2) {
            self.world.forget_old_trace(self.trace_kept);
        }
        if self.collect() {
            self.record(|at| Event::Tick { at });
        }
    }

    /// Inject a fault now, as the UI does: it happens at the next millisecond.
    pub fn inject_fault(&mut self, action: FaultAction) -> Option<Time> {
        self.world.inject_fault(action)
    }

    /// A fault posted to the control port (`fault`, the posted object, is recorded).
    pub fn inject_posted_fault(
        &mut self,
        fault: serde_json::Value,
        action: FaultAction,
    ) -> Option<Time> {
        self.record(|at| Event::Fault { at, fault });
        self.world.inject_fault(action)
    }

    /// Take one command.
    pub fn handle(&mut self, command: Command) {
        match command {
            Command::Connect {
                conn,
                broker,
                name,
                out,
            } => {
                let n = name.clone();
                self.record(|at| Event::Connect {
                    at,
                    conn,
                    broker: broker.0,
                    name: n.clone(),
                });
                let node = self.world.connect_external(conn, name);
                let client_id = None;
                self.clients.insert(node, Client { conn, client_id });
                let conn_state = Conn {
                    node,
                    broker,
                    out,
                    waiting: VecDeque::new(),
                    in_flight: None,
                    next_correlation: 0,
                    feeder: Feeder::default(),
                    host: peer_host(&n),
                    members: Vec::new(),
                };
                self.conns.insert(conn, conn_state);
                if self.refuses_connections(broker) {
                    self.close(conn);
                }
            }
            Command::Request { conn, request, raw } => {
                self.record_frame(conn, &raw);
                self.enqueue(conn, Queued::Request(request))
            }
            Command::Answer { conn, frame, raw } => {
                self.record_frame(conn, &raw);
                self.enqueue(conn, Queued::Answer(frame))
            }
            Command::Disconnect { conn } => {
                self.record(|at| Event::Disconnect { at, conn });
                self.close(conn)
            }
        }
    }

    fn record_frame(&mut self, conn: ConnId, raw: &[u8]) {
        if self.recorder.is_some() {
            let hex = crate::record::to_hex(raw);
            self.record(|at| Event::Frame { at, conn, hex });
        }
    }

    fn enqueue(&mut self, conn: ConnId, item: Queued) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.waiting.push_back(item);
            self.pump(conn);
        }
    }

    /// Start waiting requests while none is in flight.
    fn pump(&mut self, conn: ConnId) {
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.in_flight.is_some() {
                return;
            }
            let Some(item) = c.waiting.pop_front() else {
                return;
            };
            let request = match item {
                Queued::Answer(frame) => {
                    self.send(conn, Ok(frame));
                    continue;
                }
                Queued::Request(request) => request,
            };
            if let Some(id) = request.header.client_id.as_deref() {
                let node = c.node;
                self.name_client(node, id);
            }
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let mut ctx = Ctx {
                broker: c.broker,
                advertised: &self.advertised,
                next_correlation: &mut c.next_correlation,
                state: self.world.broker(c.broker),
                client_hosts: &self.client_hosts,
            };
            let (node, broker) = (c.node, c.broker);
            match api::start(*request, &mut ctx) {
                Start::Answer(frame) => self.send(conn, frame),
                Start::Send(messages, pending) => {
                    c.in_flight = Some(pending);
                    self.inject(conn, node, broker, messages);
                }
                Start::SendNoAnswer(messages) => self.inject(conn, node, broker, messages),
            }
        }
    }

    /// The first `client.id` a connection's requests carry names its node.
    fn name_client(&mut self, node: NodeId, client_id: &str) {
        let Some(client) = self.clients.get_mut(&node) else {
            return;
        };
        if client.client_id.is_some() || client_id.is_empty() {
            return;
        }
        client.client_id = Some(client_id.to_owned());
        if let Some(c) = self.conns.get_mut(&client.conn) {
            c.feeder.client_id = Some(client_id.to_owned());
        }
        let name = client_name(client_id, client.conn);
        self.world.rename_external(node, name);
    }

    fn inject(&mut self, conn: ConnId, node: NodeId, broker: BrokerId, messages: Vec<Message>) {
        let at = self.world.now().plus_ms(1);
        for message in messages {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.feeder
                    .sent(&mut self.world, &mut self.groups, node, &message);
            }
            if !self
                .world
                .inject_request_at(at, node, NodeId::Broker(broker), message)
            {
                // The world's main phase is over: nothing more can happen.
                self.close(conn);
                return;
            }
        }
    }

    /// Hand the brokers' answers to their connections; whether any connection had any.
    fn collect(&mut self) -> bool {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        let mut any = false;
        for conn in conns {
            let node = self.conns[&conn].node;
            for input in self.world.take_external(node) {
                any = true;
                match input {
                    Input::Message { message, .. } => self.on_answer(conn, message),
                    // Its broker went away (a crash closes its sockets). Other nodes stopping
                    // say nothing to this connection.
                    Input::Disconnected { peer }
                        if peer == NodeId::Broker(self.conns[&conn].broker) =>
                    {
                        self.close(conn);
                        break;
                    }
                    _ => {}
                }
            }
        }
        any
    }

    fn on_answer(&mut self, conn: ConnId, message: Message) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.feeder
            .answered(&mut self.world, &mut self.groups, c.node, &message);
        if let Message::JoinGroupResponse(broker_core::JoinGroupResponse {
            error, member_id, ..
        }) = &message
        {
            if error.is_ok() && !c.members.contains(member_id) {
                c.members.push(member_id.clone());
                self.client_hosts.insert(member_id.clone(), c.host.clone());
            }
        }
        let Some(pending) = c.in_flight.as_mut() else {
            return;
        };
        if let Some(frame) = pending.on_message(message) {
            c.in_flight = None;
            self.send(conn, frame);
            self.pump(conn);
        }
    }

    /// Send a response; one the server could not encode closes the connection.
    fn send(&mut self, conn: ConnId, frame: crate::request::Frame) {
        match frame {
            Ok(frame) => {
                if let Some(c) = self.conns.get(&conn) {
                    let _ = c.out.send(Out::Frame(frame));
                }
            }
            Err(e) => {
                eprintln!("serve: connection {conn}: {e}; closing it");
                self.close(conn);
            }
        }
    }

    /// A broker whose process is not running refuses connections, as a dead broker's port
    /// does: the client sees the socket close at once and tries another bootstrap broker,
    /// instead of waiting out its request timeout. The simulated network's rule
    /// (`World::connection_answer`): a paused process still accepts them (the kernel does) and
    /// its requests wait; a machine without power answers nothing, and the client's requests
    /// time out as a lab client's do.
    fn refuses_connections(&self, broker: BrokerId) -> bool {
        let answer = self.world.connection_answer(NodeId::Broker(broker));
        answer == sim::ConnectionAnswer::Refused
    }

    /// Close a connection: the client sees its socket close, the broker its peer leave.
    fn close(&mut self, conn: ConnId) {
        if let Some(mut c) = self.conns.remove(&conn) {
            c.feeder.closed(&mut self.world, c.node);
            for member in &c.members {
                self.client_hosts.remove(member);
            }
            let _ = c.out.send(Out::Close);
            self.world
                .disconnect_external(c.node, NodeId::Broker(c.broker));
            // A closed connection stays listed only for what the history holds of it: a long
            // session's probes and metadata connections leave nothing behind.
            if !self.world.in_history(c.node) {
                self.clients.remove(&c.node);
            }
        }
    }

    /// Where brokers are advertised.
    pub fn advertised(&self) -> &Advertised {
        &self.advertised
    }

    /// The open connections, and the closed ones the history holds operations of, by their
    /// node in the world.
    pub fn clients(&self) -> &BTreeMap<NodeId, Client> {
        &self.clients
    }

    /// The real consumer groups.
    pub fn groups(&self) -> &RealGroups {
        &self.groups
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests;
