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
