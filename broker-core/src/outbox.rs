//! The output queue and id counters every node shares.

use crate::io::{DiskOp, Event, HistoryEntry, Output};
use crate::protocol::Message;
use crate::types::{CorrelationId, DiskOpId, NodeId, Time};
use std::collections::VecDeque;

/// Outputs waiting for the driver, plus the counters for disk-op and correlation ids.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Output>,
    next_disk_op: u64,
    next_correlation: u64,
}

impl Outbox {
    pub(crate) fn send(&mut self, to: NodeId, message: Message) {
        self.queue.push_back(Output::Send { to, message });
    }

    pub(crate) fn event(&mut self, event: Event) {
        self.queue.push_back(Output::Event(event));
    }

    pub(crate) fn history(&mut self, entry: HistoryEntry) {
        self.queue.push_back(Output::History(entry));
    }

    pub(crate) fn close_connection(&mut self, peer: NodeId) {
        self.queue.push_back(Output::CloseConnection { peer });
    }

    pub(crate) fn push(&mut self, output: Output) {
        self.queue.push_back(output);
    }

    /// Issue a disk operation built from a fresh id.
    pub(crate) fn disk(&mut self, build: impl FnOnce(DiskOpId) -> DiskOp) -> DiskOpId {
        let id = DiskOpId(self.next_disk_op);
        self.next_disk_op += 1;
        self.queue.push_back(Output::Disk(build(id)));
        id
    }

    pub(crate) fn correlation_id(&mut self) -> CorrelationId {
        self.next_correlation += 1;
        CorrelationId(self.next_correlation)
    }

    pub(crate) fn pop(&mut self) -> Option<Output> {
        self.queue.pop_front()
    }

    /// Move a node's clock to `now` at the start of a `handle*` call, checking the call
    /// protocol: time never goes back, and the previous outputs were drained.
    pub(crate) fn advance(&self, clock: &mut Time, now: Time) {
        assert!(now >= *clock, "time went backwards: {now} < {clock}");
        assert!(
            self.queue.is_empty(),
            "the driver must drain poll_output after every handle"
        );
        *clock = now;
    }
}
