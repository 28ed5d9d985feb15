//! The controllers of a world: `controllers = N` voters `controller-1..N` of the KRaft
//! metadata quorum, each on its own simulated disk (its Raft log and `quorum-state`), their Raft
//! messages over the simulated network. With one controller the lab keeps the single-node
//! metadata log (a record commits at its own fsync), as before the quorum existed.

use crate::world::World;
use broker_core::raft::QuorumConfig;
use broker_core::{Controller, ControllerId, MetadataImage, NodeId};
use rand::Rng;

impl World {
    /// Every controller's id, `controller-1..N`: the voters (`controller.quorum.voters`).
    pub fn controller_ids(&self) -> Vec<NodeId> {
        (1..=self.spec.controllers)
            .map(|c| NodeId::Controller(ControllerId(c)))
            .collect()
    }

    /// A fresh controller process: alone, or a voter of the quorum with a Raft seed of its
    /// own for this incarnation (drawn from the `quorum` stream, so one controller's runs
    /// do not shift).
    pub(crate) fn build_controller(&mut self, id: ControllerId) -> Controller {
        let spec = &self.spec;
        let setup = (spec.cluster.clone(), spec.topics.clone());
        if spec.controllers <= 1 {
            return Controller::new(id, setup.0, setup.1, self.now());
        }
        let voters: Vec<ControllerId> = (1..=spec.controllers).map(ControllerId).collect();
        let seed = self.rngs.quorum.gen::<u64>();
        Controller::with_quorum(
            id,
            &voters,
            QuorumConfig::for_cluster(&spec.cluster),
            seed,
            setup,
            self.now(),
        )
    }

    /// The controller processes that live (running or paused), by id.
    pub fn controllers(&self) -> impl Iterator<Item = &Controller> {
        self.nodes()
            .filter_map(|(_, _, node)| node.and_then(|n| n.as_controller()))
    }

    /// The active controller, the target of `active-controller`: the Raft leader whose process
    /// lives (running or paused). A paused leader still believes it leads while the others
    /// elect a successor: the one of the newest epoch is the cluster's (a deposed leader
    /// learns it only when it hears from the quorum again). Alone, the single controller.
    pub fn active_controller(&self) -> Option<NodeId> {
        self.controller().map(|c| NodeId::Controller(c.id()))
    }

    /// The active controller's process, if there is one (see [`World::active_controller`]).
    pub fn controller(&self) -> Option<&Controller> {
        self.controllers()
            .filter(|c| c.is_active())
            .max_by_key(|c| c.quorum_role().map(|(_, epoch)| epoch))
    }

    /// The cluster metadata: the active controller's committed image. With no leader (an
    /// election under way, or a majority down) the freshest committed image among the live
    /// controllers: every committed record is on a majority, so that image lacks nothing the
    /// cluster committed that a live controller knows of. `None` with no controller running.
    /// This is what the reports, the checker and the UI read.
    pub fn metadata(&self) -> Option<&MetadataImage> {
        if let Some(active) = self.controller() {
            return Some(active.metadata());
        }
        self.controllers()
            .map(Controller::metadata)
            .max_by_key(|image| image.offset)
    }
}

/// What the liveness rule (`controller-unavailable`, [`crate::liveness`]) asks of the quorum
/// at one instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumReach {
    /// A majority of the voters that are up and mutually connected, if there is one.
    pub majority: Option<Vec<NodeId>>,
    /// A leader that can commit: up, and connected with a majority of the voters (itself
    /// included).
    pub leader: Option<NodeId>,
}

impl World {
    /// Whether a majority of the voters can elect a leader now, and whether one leads.
    ///
    /// A voter can take part when its process runs (not crashed, stopped or paused) and its
    /// links are not clogged. Two voters are connected when both one-way links between them
    /// are up: every Raft exchange is a request and its answer (`Vote` and its response,
    /// `Fetch` and its response), so a one-way link carries none of them, and a voter that
    /// hears a peer it cannot answer is as cut off from it as one that hears nothing. The
    /// majority asked for is *mutually* connected (every pair of it), not a star around one
    /// voter: around a hub only the hub can win an election, so nothing bounds how long the
    /// others' failed campaigns delay it.
    pub fn quorum_reach(&self) -> QuorumReach {
        let voters = self.controller_ids();
        let able: Vec<NodeId> = voters
            .iter()
            .copied()
            .filter(|v| self.can_vote(*v))
            .collect();
        let leader = able.iter().copied().find(|v| {
            let leads = self.controller_at(*v).is_some_and(Controller::is_active);
            let reached = able.iter().filter(|o| self.linked(*v, **o)).count();
            leads && 2 * reached > voters.len()
        });
        QuorumReach {
            majority: self
                .largest_clique(&able)
                .filter(|c| 2 * c.len() > voters.len()),
            leader,
        }
    }

    fn can_vote(&self, voter: NodeId) -> bool {
        self.status(voter) == crate::world::Status::Up
            && !self.network().clogged().any(|c| c == voter)
    }

    /// Both one-way links between `a` and `b` are up.
    fn linked(&self, a: NodeId, b: NodeId) -> bool {
        self.network().connected(a, b) && self.network().connected(b, a)
    }

    /// The largest set of `nodes` linked pair by pair (at most five voters: 32 subsets).
    fn largest_clique(&self, nodes: &[NodeId]) -> Option<Vec<NodeId>> {
        (1u32..1 << nodes.len())
            .map(|mask| {
                let set: Vec<NodeId> = (0..nodes.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| nodes[i])
                    .collect();
                set
            })
            .filter(|set| {
                set.iter()
                    .enumerate()
                    .all(|(i, a)| set[i + 1..].iter().all(|b| self.linked(*a, *b)))
            })
            .max_by_key(Vec::len)
    }

    /// Feed the checker's committed log (`leader-change-without-quorum`) with what
    /// controller `id` has committed past it, right after it handled an input: before any
    /// broker can act on it.
    pub(crate) fn follow_commits(&mut self, id: NodeId) {
        let Some(controller) = self.slots[&id]
            .node
            .as_ref()
            .and_then(|n| n.as_controller())
        else {
            return;
        };
        let ledger = &mut self.observer.ledger;
        while let Some(record) = controller.committed_record(ledger.end()) {
            ledger.commit(record);
        }
    }

    fn controller_at(&self, id: NodeId) -> Option<&Controller> {
        let NodeId::Controller(c) = id else {
            return None;
        };
        self.controllers().find(|x| x.id() == c)
    }
}
