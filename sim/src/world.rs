//! The deterministic world: an event queue over virtual time that drives every node, routes
//! their messages through the simulated network and their disk operations through the
//! simulated disks, and injects faults. A run is a function of (spec, seed, binary).

use crate::disk::Disk;
use crate::findings::Observer;
use crate::network::{DropReason, Network, NetworkConfig, Route};
use crate::node::Node;
use crate::rng::Rngs;
use crate::spec::{Client, FaultAction, Role, WorldSpec};
use crate::trace::{Fingerprint, TraceEntry, TraceKind};
use crate::watchdog::{Livelock, Watchdog};
use broker_core::*;
use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

/// The first controller's id (`controller-1`; with `controllers = 1`, the only one).
pub const CONTROLLER: NodeId = NodeId::Controller(ControllerId(1));

/// Whether a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not started yet (a client before its start time).
    NotStarted,
    /// Running.
    Up,
    /// Frozen: inputs wait in its inbox.
    Paused,
    /// The process died; its page cache survived.
    Crashed,
    /// The machine lost power.
    PowerFailed,
    /// Stopped after a controlled shutdown.
    Stopped,
}

/// How a node's machine answers a connection, or a message on one, now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionAnswer {
    /// Its process runs (or is paused: the kernel still accepts and queues).
    Accepted,
    /// Its process is gone (crashed, stopped, not started): the kernel answers with a reset,
    /// which the sender notices at once (Kafka's `NetworkClient` sees the disconnect).
    Refused,
    /// The machine has no power: nothing answers, the sender times out.
    Unanswered,
}

/// The run's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Faults and workload.
    Main,
    /// Healed and restarted; producers stopped; consumers catch up.
    Drain,
    /// Over.
    Done,
}

#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) node: Option<Node>,
    pub(crate) status: Status,
    inbox: VecDeque<Input>,
    pub(crate) disk: Disk,
    incarnation: u64,
    timer_at: Option<Time>,
    timer_generation: u64,
}

#[derive(Clone, Debug)]
enum Ev {
    Deliver {
        from: NodeId,
        to: NodeId,
        incarnation: u64,
        message: Message,
    },
    Disconnect {
        to: NodeId,
        incarnation: u64,
        peer: NodeId,
    },
    Timer {
        node: NodeId,
        generation: u64,
    },
    DiskDone {
        node: NodeId,
        incarnation: u64,
        op: DiskOp,
    },
    Fault(FaultAction),
    /// A request from an external client enters the simulated network (`kafka-lab serve`).
    External {
        from: NodeId,
        to: NodeId,
        message: Message,
    },
    Produce {
        producer: usize,
    },
    StartClient {
        node: NodeId,
    },
    Flush {
        node: NodeId,
    },
    BeginDrain,
    End,
}

/// A world saved for rewinding (see [`World::checkpoint`]).
#[derive(Clone, Debug)]
pub struct Checkpoint {
    world: World,
    trace_len: usize,
    history_len: usize,
}

impl Checkpoint {
    /// Simulated time at the checkpoint.
    pub fn now(&self) -> Time {
        self.world.now()
    }

    /// Events processed up to the checkpoint.
    pub fn events(&self) -> u64 {
        self.world.events()
    }

    /// Take back the checkpoint's injected faults after `after` (see
    /// [`World::withdraw_injected_after`]).
    pub fn withdraw_injected_after(&mut self, after: Time) -> usize {
        self.world.withdraw_injected_after(after)
    }

    /// Give the checkpoint a fault the live world got after it (see [`World::inject_fault_at`]).
    pub fn inject_fault_at(&mut self, at: Time, action: FaultAction) -> bool {
        self.world.inject_fault_at(at, action)
    }
}

/// Faults a UI may inject into one run.
const INJECTED_MAX: u64 = 1 << 32;

/// A queue entry: when, in what order, and where its event waits in the slab. The heap moves
/// only these 24 bytes; events (a `Message` is large) stay put until they fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    time: Time,
    seq: u64,
    slot: u32,
}

/// Events waiting in the queue, by slot; freed slots are reused.
#[derive(Clone, Debug, Default)]
struct EventSlab {
    events: Vec<Option<Ev>>,
    free: Vec<u32>,
}

impl EventSlab {
    fn insert(&mut self, event: Ev) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.events[slot as usize] = Some(event);
                slot
            }
            None => {
                self.events.push(Some(event));
                u32::try_from(self.events.len() - 1).expect("fewer than 2^32 pending events")
            }
        }
    }

    fn take(&mut self, slot: u32) -> Ev {
        self.free.push(slot);
        self.events[slot as usize]
            .take()
            .expect("a scheduled event")
    }
}

/// A client operation with the time it was recorded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HistoryRecord {
    /// When.
    pub time: Time,
    /// Which client.
    pub client: NodeId,
    /// What.
    pub entry: HistoryEntry,
}

/// A write the cluster acknowledged: where, its value (the record's identity), and the offset
/// the leader gave it (`None` for acks=0, which is acknowledged unanswered).
pub struct Acked<'h> {
    /// The partition.
    pub tp: &'h TopicPartition,
    /// The value.
    pub value: &'h Bytes,
    /// The offset, if the leader said.
    pub offset: Option<Offset>,
}

impl HistoryRecord {
    /// This entry as an acknowledged write, if it is one: the checker's rules ask this one
    /// place rather than each matching `SendCompleted` with `SendOutcome::Ok`.
    pub fn acked(&self) -> Option<Acked<'_>> {
        match &self.entry {
            HistoryEntry::SendCompleted {
                value,
                tp,
                outcome: SendOutcome::Ok(offset),
            } => Some(Acked {
                tp,
                value,
                offset: *offset,
            }),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Rngs4 {
    network: ChaCha8Rng,
    disk: ChaCha8Rng,
    workload: ChaCha8Rng,
    process: ChaCha8Rng,
    /// Each quorum controller incarnation's Raft seed (its election timeouts).
    pub(crate) quorum: ChaCha8Rng,
}

/// The simulated world. `Clone` so that a UI can keep checkpoints and rewind.
#[derive(Clone, Debug)]
pub struct World {
    pub(crate) spec: Arc<WorldSpec>,
    now: Time,
    phase: Phase,
    queue: BinaryHeap<Reverse<Scheduled>>,
    pending: EventSlab,
    seq: u64,
    pub(crate) slots: BTreeMap<NodeId, Slot>,
    pub(crate) names: BTreeMap<NodeId, String>,
    /// The names of real clients (`kafka-lab serve`) that entered the history: a closed
    /// connection's slot and name go (`World::disconnect_external`), but findings and
    /// verdicts still name the client that did what the history holds.
    pub(crate) judged_names: BTreeMap<NodeId, String>,
    network: Network,
    pub(crate) rngs: Rngs4,
    pub(crate) trace: Vec<TraceEntry>,
    pub(crate) history: Vec<HistoryRecord>,
    fingerprint: Fingerprint,
    /// Faults injected into a running world take their queue order from here: after every
    /// event the spec scheduled, before any event the run scheduled (see `inject_fault`).
    inject_seq: u64,
    inject_limit: u64,
    events: u64,
    produced: Vec<u64>,
    /// Records sent by hand (`FaultAction::Produce`), per producer.
    produced_by_hand: Vec<u64>,
    /// The key of every keyed value sent to a compacted topic (values are unique): what the
    /// compaction check (`crate::compacted`) needs to know which newer record superseded a
    /// missing one, and which writes were tombstones. Only compacted topics are judged there, so
    /// only their keys are kept.
    record_keys: BTreeMap<Bytes, (Bytes, WriteKind)>,
    /// Per producer: whether its topic is compacted (fixed by the spec; read per record).
    compacted_producer: Vec<bool>,
    pub(crate) observer: Observer,
    outputs: Vec<Output>,
    watchdog: Watchdog,
    /// Set when the run stopped before its end.
    cut_short: Option<Livelock>,
    /// Connections reset (a random drop, or a broker closing one) and when both ends notice:
    /// until then nothing more goes through, as over a TCP connection after a reset, so a
    /// message never arrives after a lost one that was sent before it.
    resets: BTreeMap<(NodeId, NodeId), Time>,
    /// The node each role's last fault hit (`FaultAction::OnRole`).
    role_hits: BTreeMap<Role, NodeId>,
}

impl World {
    /// A world at time 0 with the controller and brokers about to start.
    pub fn new(spec: WorldSpec) -> World {
        let rngs = Rngs::new(spec.seed);
        let mut world = World {
            now: Time(0),
            phase: Phase::Main,
            queue: BinaryHeap::new(),
            pending: EventSlab::default(),
            seq: 0,
            slots: BTreeMap::new(),
            names: BTreeMap::new(),
            judged_names: BTreeMap::new(),
            network: Network::new(spec.network.clone()),
            rngs: Rngs4 {
                network: rngs.stream("network"),
                disk: rngs.stream("disk"),
                workload: rngs.stream("workload"),
                process: rngs.stream("process"),
                quorum: rngs.stream("quorum"),
            },
            trace: Vec::new(),
            history: Vec::new(),
            fingerprint: Fingerprint::default(),
            inject_seq: 0,
            inject_limit: 0,
            events: 0,
            produced: vec![0; spec.producers.len()],
            produced_by_hand: vec![0; spec.producers.len()],
            record_keys: BTreeMap::new(),
            compacted_producer: spec
                .producers
                .iter()
                .map(|p| {
                    spec.topics
                        .iter()
                        .any(|t| t.topic == p.topic && t.config.log.cleanup_policy.compacts())
                })
                .collect(),
            observer: Observer::new(&spec),
            outputs: Vec::new(),
            watchdog: Watchdog::new(spec.still_events_max, spec.events_max),
            cut_short: None,
            resets: BTreeMap::new(),
            role_hits: BTreeMap::new(),
            spec: Arc::new(spec),
        };
        world.populate();
        world
    }

    fn populate(&mut self) {
        let spec = Arc::clone(&self.spec);
        let mut servers: Vec<(NodeId, String)> = (1..=spec.controllers)
            .map(|c| {
                (
                    NodeId::Controller(ControllerId(c)),
                    format!("controller-{c}"),
                )
            })
            .collect();
        servers.extend(
            (1..=spec.brokers).map(|b| (NodeId::Broker(BrokerId(b)), format!("broker-{b}"))),
        );
        for (id, name) in servers {
            self.add_slot(id, name);
            self.schedule(Time(0), Ev::Fault(FaultAction::Restart { target: id }));
            self.schedule(Time(spec.disk.flush_interval_ms), Ev::Flush { node: id });
        }
        let clients = spec
            .producers
            .iter()
            .map(|p| (p.name.clone(), p.start_ms))
            .chain(spec.consumers.iter().map(|c| (c.name.clone(), c.start_ms)));
        for (index, (name, start_ms)) in clients.enumerate() {
            let id = crate::spec::client_id(index);
            self.add_slot(id, name);
            self.schedule(Time(start_ms), Ev::StartClient { node: id });
        }
        for (producer, p) in spec.producers.iter().enumerate() {
            self.schedule(Time(p.start_ms), Ev::Produce { producer });
        }
        for fault in &spec.faults {
            self.schedule(Time(fault.at_ms), Ev::Fault(fault.action.clone()));
        }
        self.schedule(Time(spec.duration_ms), Ev::BeginDrain);
        self.schedule(Time(spec.duration_ms + spec.drain_ms), Ev::End);
        self.record(
            None,
            TraceKind::Phase {
                name: "main".into(),
            },
        );
        // Leave room in the order for injected faults (see `inject_fault`).
        self.inject_seq = self.seq;
        self.seq += INJECTED_MAX;
        self.inject_limit = self.seq;
    }

    pub(crate) fn add_slot(&mut self, id: NodeId, name: String) {
        let slot = Slot {
            node: None,
            status: Status::NotStarted,
            inbox: VecDeque::new(),
            disk: Disk::new(),
            incarnation: 0,
            timer_at: None,
            timer_generation: 0,
        };
        self.slots.insert(id, slot);
        self.names.insert(id, name);
    }

    fn schedule(&mut self, time: Time, event: Ev) {
        self.seq += 1;
        let slot = self.pending.insert(event);
        self.queue.push(Reverse(Scheduled {
            time,
            seq: self.seq,
            slot,
        }));
    }

    /// Process the next event. Returns false once the run is over.
    pub fn step(&mut self) -> bool {
        if self.phase == Phase::Done {
            return false;
        }
        let Some(Reverse(next)) = self.queue.pop() else {
            self.finish();
            return false;
        };
        assert!(next.time >= self.now, "the event queue went back in time");
        self.now = next.time;
        self.events += 1;
        let event = self.pending.take(next.slot);
        self.check_liveness(next.time);
        if let Some(livelock) = self
            .watchdog
            .count(next.time, self.events, || subject(&event))
        {
            self.stop_short(livelock);
            return false;
        }
        self.dispatch(event);
        self.phase != Phase::Done
    }

    /// The watchdog stopped the run: it is over, and says why.
    #[cold]
    fn stop_short(&mut self, livelock: Livelock) {
        self.phase = Phase::Done;
        self.cut_short = Some(livelock);
        self.record(
            None,
            TraceKind::Phase {
                name: "cut-short".into(),
            },
        );
    }

    /// Inject a fault, as a UI does: it happens at the next millisecond, ordered exactly as the
    /// same fault written in the spec would be (after the events the spec scheduled at that
    /// time, before those the run scheduled). So a session's faults, written as `[[faults]]`
    /// with the returned time, replay to the same run. `None` once the main phase is over
    /// (the drain heals everything, and a spec fault must fall within `duration_ms`).
    pub fn inject_fault(&mut self, action: FaultAction) -> Option<Time> {
        let at = self.now.plus_ms(1);
        self.inject_fault_at(at, action).then_some(at)
    }

    /// [`World::inject_fault`] at a given future time (for a checkpoint that must get the
    /// fault the live world got later). False when it cannot be placed.
    pub fn inject_fault_at(&mut self, at: Time, action: FaultAction) -> bool {
        self.inject_at(at, Ev::Fault(action))
    }

    /// Put an injected event (a UI's fault, an external client's request) in the queue at `at`,
    /// ordered as [`World::inject_fault`] says. False when it cannot be placed.
    fn inject_at(&mut self, at: Time, event: Ev) -> bool {
        let room = self.inject_seq < self.inject_limit;
        if self.phase != Phase::Main || at <= self.now || at.0 >= self.spec.duration_ms || !room {
            return false;
        }
        self.inject_seq += 1;
        let slot = self.pending.insert(event);
        self.queue.push(Reverse(Scheduled {
            time: at,
            seq: self.inject_seq,
            slot,
        }));
        true
    }

    /// Take back the injected faults (see [`World::inject_fault`]) scheduled after `after`: a
    /// UI rewound before them, and the future they made is dropped. The scenario's own faults
    /// stay. Returns how many were taken back.
    pub fn withdraw_injected_after(&mut self, after: Time) -> usize {
        let injected = (self.inject_limit - INJECTED_MAX + 1)..=self.inject_limit;
        let pending = &mut self.pending;
        let before = self.queue.len();
        self.queue.retain(|Reverse(s)| {
            let take_back = injected.contains(&s.seq) && s.time > after;
            if take_back {
                pending.take(s.slot);
            }
            !take_back
        });
        before - self.queue.len()
    }

    /// When the next event happens (now, if nothing is queued).
    pub fn next_time(&self) -> Time {
        self.queue.peek().map_or(self.now, |Reverse(s)| s.time)
    }

    /// Run until simulated time `until` (events at exactly `until` included) or the end.
    pub fn run_until(&mut self, until: Time) {
        while self.queue.peek().is_some_and(|Reverse(s)| s.time <= until) && self.step() {}
        if self.phase != Phase::Done {
            self.now = self.now.max(until);
        }
    }

    /// Run to the end of the drain phase.
    pub fn run_to_end(&mut self) {
        while self.step() {}
    }

    fn dispatch(&mut self, event: Ev) {
        match event {
            Ev::Deliver {
                from,
                to,
                incarnation,
                message,
            } => {
                self.fingerprint.u64(self.now.0);
                self.fingerprint.bytes(message.api_name().as_bytes());
                let connected = self.network.connected(from, to);
                let Some(slot) = self.slots.get(&to) else {
                    // A real client's connection closed and its slot went: nobody reads it.
                    self.trace_drop(from, to, &message, "connection closed");
                    return;
                };
                if slot.incarnation == incarnation && slot.node.is_some() && connected {
                    self.input(to, Input::Message { from, message });
                } else {
                    self.trace_drop(from, to, &message, "link down or process gone");
                    if connected {
                        self.refuse(from, to);
                    }
                }
            }
            Ev::Disconnect {
                to,
                incarnation,
                peer,
            } => {
                if self.slots.get(&to).map(|s| s.incarnation) == Some(incarnation) {
                    self.input(to, Input::Disconnected { peer });
                }
            }
            Ev::Timer { node, generation } => self.on_timer(node, generation),
            Ev::DiskDone {
                node,
                incarnation,
                op,
            } => {
                let slot = self.slots.get_mut(&node).expect("known node");
                if slot.incarnation == incarnation {
                    slot.disk.apply(&op);
                    self.input(
                        node,
                        Input::DiskCompleted {
                            id: op.id(),
                            ok: true,
                        },
                    );
                }
            }
            Ev::Fault(action) => {
                self.apply_fault(action);
                self.watch_quorum();
            }
            Ev::External { from, to, message } => {
                if self.slots.get(&from).is_some_and(|s| s.node.is_some()) {
                    self.send(from, to, message);
                }
            }
            Ev::Produce { producer } => self.produce(producer),
            Ev::StartClient { node } => self.start_process(node),
            Ev::Flush { node } => {
                self.slots.get_mut(&node).expect("known node").disk.flush();
                self.schedule(
                    self.now.plus_ms(self.spec.disk.flush_interval_ms.max(1)),
                    Ev::Flush { node },
                );
            }
            Ev::BeginDrain => {
                self.begin_drain();
                self.watch_quorum();
            }
            Ev::End => self.finish(),
        }
    }

    /// Give a node an input: now, or into its inbox while it is paused.
    pub(crate) fn input(&mut self, id: NodeId, input: Input) {
        let now = self.now;
        let slot = self.slots.get_mut(&id).expect("known node");
        match (&mut slot.node, slot.status) {
            (Some(_), Status::Paused) => slot.inbox.push_back(input),
            (Some(node), _) => {
                node.handle(now, input);
                self.after_handle(id);
            }
            (None, _) => {}
        }
    }

    fn on_timer(&mut self, id: NodeId, generation: u64) {
        let now = self.now;
        let slot = self.slots.get_mut(&id).expect("known node");
        if slot.timer_generation != generation || slot.status == Status::Paused {
            return;
        }
        slot.timer_at = None;
        if let Some(node) = slot.node.as_mut() {
            node.handle_timeout(now);
            self.after_handle(id);
        }
    }

    /// Drain a node's outputs and carry them out, then re-arm its timer.
    fn after_handle(&mut self, id: NodeId) {
        let mut outputs = std::mem::take(&mut self.outputs);
        let slot = self.slots.get_mut(&id).expect("known node");
        let node = slot.node.as_mut().expect("handled a live node");
        while let Some(output) = node.poll_output() {
            outputs.push(output);
        }
        let timeout = node.poll_timeout();
        if timeout != slot.timer_at {
            slot.timer_at = timeout;
            slot.timer_generation += 1;
            if let Some(at) = timeout {
                let generation = slot.timer_generation;
                self.schedule(
                    at.max(self.now),
                    Ev::Timer {
                        node: id,
                        generation,
                    },
                );
            }
        }
        if matches!(id, NodeId::Controller(_)) {
            self.follow_commits(id);
        }
        for output in outputs.drain(..) {
            self.carry_out(id, output);
        }
        self.outputs = outputs;
    }

    fn carry_out(&mut self, from: NodeId, output: Output) {
        match output {
            Output::Send { to, message } => self.send(from, to, message),
            Output::Disk(op) => {
                let (min, max) = match op {
                    DiskOp::Fsync { .. } => self.spec.disk.fsync_latency_ms,
                    _ => self.spec.disk.write_latency_ms,
                };
                let latency = if max > min {
                    self.rngs.disk.gen_range(min..=max)
                } else {
                    min
                };
                let slot = self.slots.get_mut(&from).expect("known node");
                let at = slot.disk.schedule_completion(self.now, latency);
                let incarnation = slot.incarnation;
                self.schedule(
                    at,
                    Ev::DiskDone {
                        node: from,
                        incarnation,
                        op,
                    },
                );
            }
            Output::Event(event) => {
                self.observer.observe(self.now, &event);
                let role_changed = matches!(event, Event::RaftRoleChanged { .. });
                self.record(Some(from), TraceKind::Event { event });
                if role_changed {
                    self.watch_quorum();
                }
            }
            Output::History(entry) => self.history.push(HistoryRecord {
                time: self.now,
                client: from,
                entry,
            }),
            Output::CloseConnection { peer } => self.reset_connection(from, peer),
            Output::Stopped => {
                self.stop_process(from, Status::Stopped);
                self.record(Some(from), TraceKind::ProcessStopped);
                if matches!(from, NodeId::Controller(_)) {
                    self.watch_quorum();
                }
            }
        }
    }

    pub(crate) fn send(&mut self, from: NodeId, to: NodeId, message: Message) {
        if self.spec.trace_messages {
            let summary = crate::summary::summarize(&message);
            self.record(
                Some(from),
                TraceKind::Sent {
                    to,
                    api: Arc::from(message.api_name()),
                    summary: Arc::from(summary),
                    records: crate::trace::TracedBatch::of(&message),
                },
            );
        }
        match self
            .network
            .route(self.now, from, to, &message, &mut self.rngs.network)
        {
            Route::Deliver(_) if self.connection_reset(from, to) => {
                self.trace_drop(from, to, &message, "connection reset");
            }
            Route::Deliver(times) => {
                let Some(incarnation) = self.slots.get(&to).map(|s| s.incarnation) else {
                    self.trace_drop(from, to, &message, "connection closed");
                    return;
                };
                let last = times.len() - 1;
                let mut message = Some(message);
                for (i, at) in times.into_iter().enumerate() {
                    let m = if i == last {
                        message.take().expect("once")
                    } else {
                        message.clone().expect("kept")
                    };
                    self.schedule(
                        at,
                        Ev::Deliver {
                            from,
                            to,
                            incarnation,
                            message: m,
                        },
                    );
                }
            }
            Route::Dropped(reason) => {
                let why = match reason {
                    DropReason::Cut => "cut",
                    DropReason::Random => "random",
                };
                self.trace_drop(from, to, &message, why);
                if reason == DropReason::Random {
                    self.reset_connection(from, to);
                }
            }
            Route::Held => {}
        }
    }

    fn trace_drop(&mut self, from: NodeId, to: NodeId, message: &Message, reason: &str) {
        if self.spec.trace_messages {
            let kind = TraceKind::Dropped {
                to,
                api: Arc::from(message.api_name()),
                reason: Arc::from(reason),
            };
            self.record(Some(from), kind);
        }
    }

    /// Over TCP a message is never silently lost: a random drop stands for a connection reset,
    /// which both ends notice one latency later and recover from (retry, re-fetch). Messages
    /// lost to a cut link get no such notice: the sender only times out, as in a partition.
    fn reset_connection(&mut self, a: NodeId, b: NodeId) {
        let at = self.now.plus_ms(self.spec.network.latency_ms.1.max(1));
        self.resets.insert((a.min(b), a.max(b)), at);
        self.notify_disconnect(at, a, b);
        self.notify_disconnect(at, b, a);
    }

    /// Whether the connection between `a` and `b` was reset and its ends have not noticed yet.
    fn connection_reset(&mut self, a: NodeId, b: NodeId) -> bool {
        let key = (a.min(b), a.max(b));
        match self.resets.get(&key) {
            Some(at) if self.now < *at => true,
            Some(_) => {
                self.resets.remove(&key);
                false
            }
            None => false,
        }
    }

    /// Forget what the network keeps about `id`'s links: a node that is gone for good (a real
    /// client's closed connection) sends and receives nothing more.
    pub(crate) fn forget_links(&mut self, id: NodeId) {
        self.network.forget_link_order(id);
        self.resets.retain(|&(a, b), _| a != id && b != id);
    }

    /// `to` (its current process) learns at `at` that its connection to `peer` broke.
    pub(crate) fn notify_disconnect(&mut self, at: Time, to: NodeId, peer: NodeId) {
        let Some(incarnation) = self.slots.get(&to).map(|s| s.incarnation) else {
            return;
        };
        self.schedule(
            at,
            Ev::Disconnect {
                to,
                incarnation,
                peer,
            },
        );
    }

    /// A message reached a machine whose process is gone (crashed, stopped, or restarted since
    /// the connection opened): its kernel answers with a reset, which the sender notices one
    /// latency later. A machine without power answers nothing; the sender times out.
    fn refuse(&mut self, from: NodeId, to: NodeId) {
        let unanswered = self.connection_answer(to) == ConnectionAnswer::Unanswered;
        if unanswered || self.slots.get(&from).is_none_or(|s| s.node.is_none()) {
            return;
        }
        let at = self.now.plus_ms(self.spec.network.latency_ms.0);
        self.notify_disconnect(at, from, to);
    }

    pub(crate) fn schedule_releases(&mut self, releases: Vec<crate::network::Release>) {
        for (at, from, to, message) in releases {
            let Some(incarnation) = self.slots.get(&to).map(|s| s.incarnation) else {
                continue;
            };
            self.schedule(
                at,
                Ev::Deliver {
                    from,
                    to,
                    incarnation,
                    message,
                },
            );
        }
    }

    fn produce(&mut self, index: usize) {
        let spec = &self.spec.producers[index];
        let n = self.produced[index];
        let capped = spec.records.is_some_and(|cap| n >= cap);
        let stopped = spec.stop_ms.is_some_and(|stop| self.now.0 >= stop);
        if self.phase != Phase::Main || capped || stopped || spec.rate_per_s_milli == 0 {
            return;
        }
        let id = crate::spec::client_id(index);
        let key = (spec.keys > 0)
            .then(|| self.rngs.workload.gen_range(0..spec.keys))
            .map(|k| Bytes::from(format!("{}{k}", spec.key_prefix)));
        let value = Bytes::from(format!("{}:{}", spec.name, n));
        let kind = match spec.tombstone_every {
            Some(every) if key.is_some() && (n + 1).is_multiple_of(every) => WriteKind::Tombstone,
            _ => WriteKind::Value,
        };
        let next = Time(spec.start_ms + (n + 1) * 1_000_000 / spec.rate_per_s_milli);
        self.produced[index] += 1;
        if let (Some(key), true) = (&key, self.compacted_producer[index]) {
            self.record_keys.insert(value.clone(), (key.clone(), kind));
        }
        if self.slots[&id].node.is_some() {
            let send = ClientCommand::Send { key, value, kind };
            self.input(id, Input::Command(send));
        }
        self.schedule(next.max(self.now), Ev::Produce { producer: index });
    }

    /// The key the workload sent `value` with; `None` for a null key.
    pub fn key_of(&self, value: &Bytes) -> Option<&Bytes> {
        self.record_keys.get(value).map(|(key, _)| key)
    }

    /// Whether the workload sent `value` (on a compacted topic) as a tombstone of its key.
    pub fn is_tombstone(&self, value: &Bytes) -> bool {
        self.record_keys
            .get(value)
            .is_some_and(|(_, kind)| *kind == WriteKind::Tombstone)
    }

    /// One record by hand from producer `id` (a UI's "produce one").
    pub(crate) fn produce_by_hand(&mut self, id: NodeId) {
        let NodeId::Client(client) = id else { return };
        let index = client.0 as usize - 1;
        let Some(spec) = self.spec.producers.get(index) else {
            return;
        };
        let value = Bytes::from(format!(
            "{}:manual-{}",
            spec.name, self.produced_by_hand[index]
        ));
        self.produced_by_hand[index] += 1;
        if self.slots[&id].node.is_some() {
            let send = ClientCommand::Send {
                key: None,
                value,
                kind: WriteKind::Value,
            };
            self.input(id, Input::Command(send));
        }
    }

    /// Create a fresh process for a node and start it on what its disk holds.
    pub(crate) fn start_process(&mut self, id: NodeId) {
        let node = self.build_node(id);
        let incarnation_id = self.rngs.process.gen::<u64>();
        let slot = self.slots.get_mut(&id).expect("known node");
        slot.incarnation += 1;
        slot.node = Some(node);
        slot.status = Status::Up;
        slot.inbox.clear();
        slot.timer_at = None;
        slot.timer_generation += 1;
        let disk = slot.disk.image();
        self.record(Some(id), TraceKind::ProcessStarted);
        self.input(
            id,
            Input::Start {
                disk,
                incarnation_id,
            },
        );
    }

    fn build_node(&mut self, id: NodeId) -> Node {
        let spec = Arc::clone(&self.spec);
        let bootstrap: Vec<BrokerId> = (1..=spec.brokers).map(BrokerId).collect();
        match id {
            NodeId::Controller(c) => Node::Controller(self.build_controller(c)),
            NodeId::Broker(b) => Node::Broker(Broker::new(
                b,
                spec.cluster.clone(),
                self.controller_ids(),
                self.now,
            )),
            NodeId::Client(id) => match spec.client(id) {
                Client::Producer(p) => Node::Producer(Producer::new(
                    id,
                    p.config.clone(),
                    p.topic.clone(),
                    bootstrap,
                    self.now,
                )),
                Client::Consumer(c) => Node::Consumer(Consumer::new(
                    id,
                    c.config.clone(),
                    c.topics.clone(),
                    bootstrap,
                    self.now,
                )),
            },
        }
    }

    /// The process dies. With `notify`, peers see their connections close (a crash, where
    /// the kernel closes sockets); without it they only time out (a power failure).
    pub(crate) fn stop_process(&mut self, id: NodeId, status: Status) {
        let slot = self.slots.get_mut(&id).expect("known node");
        slot.node = None;
        slot.status = status;
        slot.incarnation += 1;
        slot.inbox.clear();
        slot.timer_at = None;
        slot.disk.reset_schedule();
        self.network.forget_link_order(id);
        self.observer.process_stopped(id);
        if status == Status::PowerFailed {
            return;
        }
        let peers: Vec<NodeId> = self
            .slots
            .iter()
            .filter(|(p, s)| **p != id && s.node.is_some())
            .map(|(p, _)| *p)
            .collect();
        let at = self.now.plus_ms(self.spec.network.latency_ms.0);
        for peer in peers {
            if self.network.connected(id, peer) {
                self.notify_disconnect(at, peer, id);
            }
        }
    }

    pub(crate) fn resume(&mut self, id: NodeId) {
        let now = self.now;
        let slot = self.slots.get_mut(&id).expect("known node");
        if slot.status != Status::Paused {
            return;
        }
        slot.status = Status::Up;
        let inbox: Vec<Input> = slot.inbox.drain(..).collect();
        for input in inbox {
            self.input(id, input);
        }
        if let Some(node) = self.slots.get_mut(&id).and_then(|s| s.node.as_mut()) {
            node.handle_timeout(now);
            self.after_handle(id);
        }
    }

    fn begin_drain(&mut self) {
        self.phase = Phase::Drain;
        self.record(
            None,
            TraceKind::Phase {
                name: "drain".into(),
            },
        );
        self.network.heal();
        let calm = NetworkConfig {
            drop_rate: 0.0,
            duplicate_rate: 0.0,
            ..self.network.config().clone()
        };
        self.network.set_config(calm);
        let releases = self.network.unclog_all(self.now, &mut self.rngs.network);
        self.schedule_releases(releases);
        let ids: Vec<NodeId> = self.slots.keys().copied().collect();
        for id in ids {
            match self.slots[&id].status {
                Status::Paused => self.resume(id),
                Status::Crashed | Status::PowerFailed | Status::Stopped => self.start_process(id),
                Status::Up | Status::NotStarted => {}
            }
        }
    }

    fn finish(&mut self) {
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.record(
            None,
            TraceKind::Phase {
                name: "check".into(),
            },
        );
    }

    pub(crate) fn record(&mut self, node: Option<NodeId>, kind: TraceKind) {
        let entry = TraceEntry {
            time: self.now,
            node,
            kind,
        };
        if !matches!(
            entry.kind,
            TraceKind::Sent { .. } | TraceKind::Dropped { .. }
        ) {
            self.fingerprint.value(&entry);
        }
        self.trace.push(entry);
    }

    pub(crate) fn network_mut(&mut self) -> (&mut Network, &mut ChaCha8Rng) {
        (&mut self.network, &mut self.rngs.network)
    }

    /// A power failure hits a node's disk: what was not durable is gone, the last write may tear.
    pub(crate) fn power_fail_disk(&mut self, id: NodeId) {
        let tear = self.spec.disk.tear_probability;
        let slot = self.slots.get_mut(&id).expect("known node");
        slot.disk.power_fail(&mut self.rngs.disk, tear);
    }

    /// Why the run stopped before its end (`None`: it reached its end, or is still going).
    pub fn cut_short(&self) -> Option<&Livelock> {
        self.cut_short.as_ref()
    }
    /// The most events any one simulated millisecond held so far.
    pub fn busiest_millisecond(&self) -> u64 {
        self.watchdog.peak()
    }
    /// Simulated time now.
    pub fn now(&self) -> Time {
        self.now
    }
    /// The phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }
    /// Events processed so far.
    pub fn events(&self) -> u64 {
        self.events
    }
    /// The spec this world runs.
    pub fn spec(&self) -> &WorldSpec {
        &self.spec
    }
    /// The event queue's heap and its slab's (`World::held`): capacities, since a queue that
    /// once grew keeps its room.
    pub(crate) fn queue_heap(&self) -> u64 {
        let queue = self.queue.capacity() * std::mem::size_of::<Reverse<Scheduled>>();
        let slab = self.pending.events.capacity() * std::mem::size_of::<Option<Ev>>()
            + self.pending.free.capacity() * std::mem::size_of::<u32>();
        (queue + slab) as u64
    }

    /// The trace so far.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }
    /// The client history so far.
    pub fn history(&self) -> &[HistoryRecord] {
        &self.history
    }
    /// The fingerprint of everything so far.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.hex()
    }
    /// The network.
    pub fn network(&self) -> &Network {
        &self.network
    }
    /// A node's name (`broker-1`, `producer-1`, ...).
    pub fn name(&self, id: NodeId) -> &str {
        match self.names.get(&id).or_else(|| self.judged_names.get(&id)) {
            Some(name) => name,
            // Only a real client's closed connection that did nothing judged is forgotten.
            None => "closed connection",
        }
    }
    /// Find a node by name.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| *id)
    }
    /// Every node with its status and running process.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, Status, Option<&Node>)> {
        self.slots
            .iter()
            .map(|(id, s)| (*id, s.status, s.node.as_ref()))
    }
    /// How `id`'s machine answers a connection now (the one rule for the simulated network's
    /// resets and `serve`'s listening ports). A node the world does not have is refused.
    pub fn connection_answer(&self, id: NodeId) -> ConnectionAnswer {
        match self.slots.get(&id) {
            Some(s) if s.status == Status::PowerFailed => ConnectionAnswer::Unanswered,
            Some(s) if s.node.is_some() => ConnectionAnswer::Accepted,
            _ => ConnectionAnswer::Refused,
        }
    }
    /// A node's status.
    pub fn status(&self, id: NodeId) -> Status {
        self.slots[&id].status
    }
    /// The running broker process, if up.
    pub fn broker(&self, id: BrokerId) -> Option<&Broker> {
        self.slots
            .get(&NodeId::Broker(id))?
            .node
            .as_ref()?
            .as_broker()
    }
    /// The leader of `tp`, the target of `leader:TOPIC-P`, as the cluster's metadata says
    /// ([`World::metadata`]), or with no controller running the newest a running broker has applied (where
    /// Kafka's tools would ask, `kafka.leader(topic, partition)` in its system tests).
    pub fn partition_leader(&self, tp: &TopicPartition) -> Option<NodeId> {
        let brokers = self
            .slots
            .values()
            .filter_map(|s| s.node.as_ref()?.as_broker());
        let image = match self.metadata() {
            Some(image) => image,
            None => brokers.map(Broker::metadata).max_by_key(|m| m.offset)?,
        };
        image.partitions.get(tp)?.leader.map(NodeId::Broker)
    }
    /// The node `role`'s last fault hit.
    pub(crate) fn role_hit(&self, role: &Role) -> Option<NodeId> {
        self.role_hits.get(role).copied()
    }
    pub(crate) fn remember_role_hit(&mut self, role: Role, node: NodeId) {
        self.role_hits.insert(role, node);
    }
    /// A node's disk.
    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.slots[&id].disk
    }

    /// An external client's request enters the network at `at` (after `now`), ordered among
    /// other injected events by the order of the calls, so a recorded session replays.
    pub fn inject_request_at(
        &mut self,
        at: Time,
        from: NodeId,
        to: NodeId,
        message: Message,
    ) -> bool {
        self.inject_at(at, Ev::External { from, to, message })
    }
}

impl World {
    /// What this run's configuration promises.
    pub fn observer(&self) -> &crate::findings::Observer {
        &self.observer
    }

    /// A copy of the world for rewinding, without its trace and history (which grow with the
    /// run): [`World::restore`] takes them from a later world of the same run, whose prefix they
    /// are.
    pub fn checkpoint(&mut self) -> Checkpoint {
        let trace = std::mem::take(&mut self.trace);
        let history = std::mem::take(&mut self.history);
        let world = self.clone();
        let checkpoint = Checkpoint {
            trace_len: trace.len(),
            history_len: history.len(),
            world,
        };
        self.trace = trace;
        self.history = history;
        checkpoint
    }

    /// The world as it was at `checkpoint`, with the trace and history it had then taken from
    /// `later`, a world of the same run at or after the checkpoint.
    pub fn restore(checkpoint: &Checkpoint, later: &World) -> World {
        let mut world = checkpoint.world.clone();
        world.trace = later.trace[..checkpoint.trace_len].to_vec();
        world.history = later.history[..checkpoint.history_len].to_vec();
        world
    }

    /// The observer's promises.
    pub fn observer_promises(&self) -> &crate::findings::Promises {
        self.observer.promises()
    }
}

/// The node an event is for and its kind, as the watchdog names them.
fn subject(event: &Ev) -> (Option<NodeId>, &'static str) {
    match event {
        Ev::Deliver { to, message, .. } => (Some(*to), message.api_name()),
        Ev::Disconnect { to, .. } => (Some(*to), "connection reset"),
        Ev::Timer { node, .. } => (Some(*node), "timer"),
        Ev::DiskDone { node, .. } => (Some(*node), "disk completion"),
        Ev::Fault(_) => (None, "fault"),
        Ev::External { from, message, .. } => (Some(*from), message.api_name()),
        Ev::Produce { producer } => (Some(crate::spec::client_id(*producer)), "workload send"),
        Ev::StartClient { node } => (Some(*node), "client start"),
        Ev::Flush { node } => (Some(*node), "page-cache flush"),
        Ev::BeginDrain | Ev::End => (None, "phase change"),
    }
}
