//! External clients (`kafka-lab serve`): real Kafka clients whose TCP connections are nodes of
//! the world. The server converts each wire request into the world's `Message`s and injects
//! them with [`World::inject_request_at`]; what the brokers answer waits in the client's
//! [`External`] node until the server takes it. Nothing here reads a clock: the server chooses
//! the simulated millisecond of each arrival and records it, so a session replays.

use crate::node::{External, Node};
use crate::world::HistoryRecord;
use crate::world::{Status, World};
use broker_core::{Acks, ClientId, HistoryEntry, Input, NodeId};

/// External clients are numbered from here, far above the scenario's own clients.
pub const EXTERNAL_BASE: u32 = 1 << 20;

impl World {
    /// A real client connected: it becomes node `Client(EXTERNAL_BASE + n)`, named `name`,
    /// up from now on. `n` must be new (the server numbers connections once).
    pub fn connect_external(&mut self, n: u32, name: String) -> NodeId {
        let id = NodeId::Client(ClientId(EXTERNAL_BASE + n));
        assert!(
            !self.slots.contains_key(&id),
            "external client {n} connected twice"
        );
        self.add_slot(id, name);
        let slot = self.slots.get_mut(&id).expect("just added");
        slot.node = Some(Node::External(External::default()));
        slot.status = Status::Up;
        id
    }

    /// The client closed its connection to `broker`: that broker (only: the client's other
    /// connections are other nodes) sees it close one minimum latency later. The node's slot
    /// goes (a long session opens connections without end), and its name too unless the
    /// history holds what it did ([`World::name`] still names it then). Whatever is still on
    /// its way to it is dropped as sent to a closed connection.
    pub fn disconnect_external(&mut self, id: NodeId, broker: NodeId) {
        if !World::is_external(id) {
            return;
        }
        let Some(slot) = self.slots.remove(&id) else {
            return;
        };
        self.names.remove(&id);
        self.forget_links(id);
        if slot.node.is_some() {
            let at = self.now().plus_ms(self.spec.network.latency_ms.0);
            self.notify_disconnect(at, broker, id);
        }
    }

    /// What reached an external client since the last call: responses
    /// (`Input::Message`) and connection breaks (`Input::Disconnected`), oldest first.
    pub fn take_external(&mut self, id: NodeId) -> Vec<Input> {
        match self.slots.get_mut(&id).and_then(|s| s.node.as_mut()) {
            Some(Node::External(external)) => external.take_arrived(),
            _ => Vec::new(),
        }
    }

    /// Name a real client's node now that it said who it is (its `client.id`).
    pub fn rename_external(&mut self, id: NodeId, name: String) {
        if World::is_external(id) && self.names.contains_key(&id) {
            if let Some(judged) = self.judged_names.get_mut(&id) {
                judged.clone_from(&name);
            }
            self.names.insert(id, name);
        }
    }

    /// A real client's operation, as the server saw it on the wire: it enters the history the
    /// checker judges, as a lab client's does, at the current simulated millisecond.
    pub fn external_history(&mut self, id: NodeId, entry: HistoryEntry) {
        if !self.judged_names.contains_key(&id) {
            let name = self.name(id).to_owned();
            self.judged_names.insert(id, name);
        }
        self.history.push(HistoryRecord {
            time: self.now(),
            client: id,
            entry,
        });
    }

    /// A real client, `who` (its `client.id`), produced with `acks`, idempotent or not (its
    /// batches carry a producer id): the promises the verdicts rest on are those of such a
    /// producer (`Promises`).
    pub fn external_producer(&mut self, who: &str, acks: Acks, idempotent: bool) {
        self.observer
            .promises
            .external_producer(who, acks, idempotent);
    }

    /// Forget the oldest trace entries, keeping the last `keep`: a served session runs for
    /// hours, and its trace would grow without end. The fingerprint is kept as entries are
    /// recorded and does not change; what reads the trace of a served world (the UI's flow and
    /// story) reads its latest entries. Marks taken before (`World::mark`) no longer hold, so
    /// this is only for a world nobody jumps through or explains from its whole trace.
    pub fn forget_old_trace(&mut self, keep: usize) {
        let cut = self.trace.len().saturating_sub(keep);
        self.trace.drain(..cut);
    }

    /// Whether the real client `id` did anything the history holds.
    pub fn in_history(&self, id: NodeId) -> bool {
        self.judged_names.contains_key(&id)
    }

    /// Whether `id` is an external client.
    pub fn is_external(id: NodeId) -> bool {
        matches!(id, NodeId::Client(ClientId(n)) if n >= EXTERNAL_BASE)
    }
}
