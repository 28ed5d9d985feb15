//! Injecting faults into the world.

use crate::spec::{FaultAction, Role, RoleFault};
use crate::trace::TraceKind;
use crate::world::{Status, World};
use broker_core::{ClientCommand, Input, NodeId};

impl World {
    /// Inject a fault or action now, as a scenario file or the UI would.
    pub fn apply_fault(&mut self, action: FaultAction) {
        if let FaultAction::OnRole { fault, role } = action {
            self.apply_on_role(fault, role);
            return;
        }
        self.record(
            None,
            TraceKind::Fault {
                fault: action.clone(),
            },
        );
        match action {
            FaultAction::Crash { target } => self.kill(target, Status::Crashed),
            FaultAction::PowerFail { target } => {
                if self.status(target) != Status::NotStarted {
                    self.power_fail_disk(target);
                }
                self.kill(target, Status::PowerFailed);
            }
            FaultAction::Restart { target } => {
                if matches!(self.status(target), Status::Up | Status::Paused) {
                    self.kill(target, Status::Crashed);
                }
                self.start_process(target);
            }
            // A broker runs its controlled shutdown and a controller its graceful Raft
            // resignation; each says `Output::Stopped` when done. A client just stops.
            FaultAction::Shutdown { target } => match target {
                NodeId::Broker(_) | NodeId::Controller(_) => self.input(target, Input::Shutdown),
                _ => self.kill(target, Status::Stopped),
            },
            FaultAction::Pause { target } => {
                if self.status(target) == Status::Up {
                    self.slots.get_mut(&target).expect("known node").status = Status::Paused;
                }
            }
            FaultAction::Resume { target } => self.resume(target),
            FaultAction::Partition { sides } => self.network_mut().0.partition(&sides),
            FaultAction::Isolate { target } => {
                let all: Vec<NodeId> = self.slots.keys().copied().collect();
                self.network_mut().0.isolate(target, &all);
            }
            FaultAction::Cut { from, to } => self.network_mut().0.cut(from, to),
            FaultAction::Heal => {
                let now = self.now();
                let (network, rng) = self.network_mut();
                network.heal();
                let releases = network.unclog_all(now, rng);
                self.schedule_releases(releases);
            }
            FaultAction::Clog { target } => self.network_mut().0.clog(target),
            FaultAction::Join { target } => {
                if !matches!(self.status(target), Status::Up | Status::Paused) {
                    self.start_process(target);
                }
            }
            FaultAction::Produce { target } => self.produce_by_hand(target),
            FaultAction::DeleteRecords { tp, to } => {
                let leader = self.partition_leader(&tp);
                if let Some(leader) = leader.filter(|l| self.status(*l) == Status::Up) {
                    let command = ClientCommand::DeleteRecords { tp, to };
                    self.input(leader, Input::Command(command));
                }
            }
            FaultAction::Leave { target } => {
                if self.status(target) == Status::Up {
                    self.input(target, Input::Command(ClientCommand::Close));
                }
            }
            FaultAction::Unclog { target } => {
                let now = self.now();
                let (network, rng) = self.network_mut();
                let releases = network.unclog(target, now, rng);
                self.schedule_releases(releases);
            }
            FaultAction::OnRole { .. } => {} // resolved to a node above
        }
    }

    /// A fault on a role goes to its holder now, or, for a fault that undoes an earlier one
    /// (`restart`, `resume`, `unclog`), to the node the role's last fault hit (its holder now
    /// if none did). The trace says whom, or that nobody held the role and nothing happened:
    /// a fault that silently did nothing would let a clean verdict claim a fault it never saw.
    fn apply_on_role(&mut self, fault: RoleFault, role: Role) {
        let earlier = fault.undoes().then(|| self.role_hit(&role)).flatten();
        let node = earlier.or_else(|| self.holder(&role));
        if let (Some(node), false) = (node, fault.undoes()) {
            self.remember_role_hit(role.clone(), node);
        }
        self.record(None, TraceKind::RoleResolved { fault, role, node });
        if let Some(target) = node {
            self.apply_fault(fault.on(target));
        }
    }

    /// Who holds `role` now.
    pub fn holder(&self, role: &Role) -> Option<NodeId> {
        match role {
            Role::ActiveController => self.active_controller(),
            Role::Leader { tp } => self.partition_leader(tp),
        }
    }

    fn kill(&mut self, target: NodeId, status: Status) {
        match self.status(target) {
            Status::Up | Status::Paused => self.stop_process(target, status),
            // Already down: a power failure still hits the disk (done above), the status says so.
            Status::Crashed | Status::Stopped if status == Status::PowerFailed => {
                self.slots.get_mut(&target).expect("known node").status = status;
            }
            _ => {}
        }
    }
}
