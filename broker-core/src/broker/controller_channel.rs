//! The broker's channel to the controller quorum (`NodeToControllerChannelManager` with
//! `RaftControllerNodeProvider`): it knows every voter of `controller.quorum.voters` and which
//! one it believes to be the active controller, and moves on when that one turns out not to be.

use crate::types::NodeId;

/// The voters and the one this broker sends registration, heartbeats and `AlterPartition` to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerChannel {
    voters: Vec<NodeId>,
    active: usize,
}

impl ControllerChannel {
    /// A channel to `voters`, starting with the first.
    ///
    /// # Panics
    /// With no voter: a cluster always has at least one controller (validation checks 1..=5).
    pub fn new(voters: Vec<NodeId>) -> ControllerChannel {
        assert!(!voters.is_empty(), "a cluster has a controller");
        ControllerChannel { voters, active: 0 }
    }

    /// The controller this broker believes active.
    pub fn active(&self) -> NodeId {
        self.voters[self.active]
    }

    /// Every voter of the quorum.
    pub fn voters(&self) -> &[NodeId] {
        &self.voters
    }

    /// Whether `node` is the controller this broker believes active.
    pub fn is_active(&self, node: NodeId) -> bool {
        self.active() == node
    }

    /// The active controller is `leader` (a hint from a response or the metadata log); a node
    /// that is not a voter is ignored. Returns whether the target changed.
    pub fn set_active(&mut self, leader: NodeId) -> bool {
        match self.voters.iter().position(|v| *v == leader) {
            Some(index) if index != self.active => {
                self.active = index;
                true
            }
            _ => false,
        }
    }

    /// The believed-active controller is not (NOT_CONTROLLER, or gone) and no one named the new
    /// one: try the next voter, round-robin, as `RaftControllerNodeProvider` falls back to the
    /// bootstrap voters.
    pub fn try_next(&mut self) -> NodeId {
        self.active = (self.active + 1) % self.voters.len();
        self.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ControllerId;

    fn c(id: u32) -> NodeId {
        NodeId::Controller(ControllerId(id))
    }

    #[test]
    fn one_controller_is_always_the_target() {
        let mut channel = ControllerChannel::new(vec![c(1)]);
        assert!(channel.is_active(c(1)));
        assert_eq!(channel.try_next(), c(1));
        assert!(!channel.set_active(c(2)), "not a voter");
        assert_eq!(channel.active(), c(1));
    }

    #[test]
    fn a_hint_moves_the_target_and_failures_rotate_through_the_voters() {
        let mut channel = ControllerChannel::new(vec![c(1), c(2), c(3)]);
        assert!(channel.set_active(c(3)));
        assert!(!channel.set_active(c(3)), "already there");
        assert_eq!(channel.try_next(), c(1));
        assert_eq!(channel.try_next(), c(2));
        assert_eq!(channel.voters().len(), 3);
    }
}
