//! Dynamic fault targets: a `target` that names a role instead of a node, resolved by the world
//! when the fault happens (`sim::FaultAction::OnRole`).
//!
//! - `target = "active-controller"`: the active controller.
//! - `target = "leader:orders-0"`: the leader of partition 0 of topic `orders`, as the cluster's
//!   metadata says at that moment.
//!
//! Process and link faults take them (`crash`, `power-fail`, `restart`, `shutdown`, `pause`,
//! `resume`, `isolate`, `clog`, `unclog`). `restart`, `resume` and `unclog` act on the node the
//! same target's last fault hit (its holder then, if none did), so a `crash` and a `restart` of
//! `leader:orders-0` bounce one broker, as Kafka's `replication_test.py` does. When nobody holds
//! the role (a partition without a leader) the fault does nothing and the trace says so.

use crate::error::{echo, Problem};
use crate::format::{Fault, FaultAction, Scenario};
use broker_core::{Topic, TopicPartition};
use sim::{Role, RoleFault};

/// `target = "active-controller"`.
pub(crate) const ACTIVE_CONTROLLER: &str = "active-controller";
/// `target = "leader:TOPIC-P"`.
pub(crate) const LEADER_PREFIX: &str = "leader:";

impl Scenario {
    /// The role `target` names, if it names one (`None`: a node name); `Err` with the reason
    /// when it names a partition this scenario does not have.
    pub(crate) fn role(&self, target: &str) -> Option<Result<Role, String>> {
        if target == ACTIVE_CONTROLLER {
            return Some(Ok(Role::ActiveController));
        }
        let partition = target.strip_prefix(LEADER_PREFIX)?;
        Some(self.partition_of(partition).map(|tp| Role::Leader { tp }))
    }

    /// `TOPIC-P` of a topic of this scenario, `P` written as Rust writes the number.
    pub(crate) fn partition_of(&self, partition: &str) -> Result<TopicPartition, String> {
        let form = || {
            format!(
                "\"{}\" is not TOPIC-PARTITION (like `leader:orders-0`)",
                echo(partition)
            )
        };
        let (topic, index) = partition.rsplit_once('-').ok_or_else(form)?;
        let Some(spec) = self.topics.iter().find(|t| t.name == topic) else {
            let topics: Vec<&str> = self.topics.iter().map(|t| t.name.as_str()).collect();
            return Err(format!(
                "unknown topic \"{}\" (topics: {})",
                echo(topic),
                crate::error::echo_list(&topics)
            ));
        };
        let n: u32 = index
            .parse()
            .ok()
            .filter(|n: &u32| n.to_string() == index)
            .ok_or_else(form)?;
        if n >= spec.partitions {
            return Err(format!(
                "topic \"{}\" has no partition {n} (it has {}: 0..={})",
                echo(topic),
                spec.partitions,
                spec.partitions - 1
            ));
        }
        Ok(TopicPartition::new(&Topic::new(topic), n))
    }

    /// Checks a fault whose `target` is a role: a known partition, an action a role takes, and
    /// no client of the same name. `Ok(false)`: the target is not a role.
    pub(crate) fn check_role_target(&self, key: &str, fault: &Fault) -> Result<bool, Problem> {
        let Some(target) = fault.target.as_deref() else {
            return Ok(false);
        };
        let Some(role) = self.role(target) else {
            return Ok(false);
        };
        let key = format!("{key}.target");
        role.map_err(|e| Problem::invalid(&key, e))?;
        if role_fault(fault.action).is_none() {
            return Err(Problem::invalid(
                key,
                format!(
                    "`{}` takes a node, not the dynamic target \"{}\" (dynamic targets take \
                     crash, power-fail, restart, shutdown, pause, resume, isolate, clog, unclog)",
                    fault.action.as_str(),
                    echo(target)
                ),
            ));
        }
        if self.node_id(target).is_some() {
            return Err(Problem::invalid(
                key,
                format!(
                    "\"{}\" is both a client and a dynamic target: rename the client",
                    echo(target)
                ),
            ));
        }
        Ok(true)
    }
}

/// The fault a role takes for a scenario action (`None`: the action takes no role).
pub(crate) fn role_fault(action: FaultAction) -> Option<RoleFault> {
    Some(match action {
        FaultAction::Crash => RoleFault::Crash,
        FaultAction::PowerFail => RoleFault::PowerFail,
        FaultAction::Restart => RoleFault::Restart,
        FaultAction::Shutdown => RoleFault::Shutdown,
        FaultAction::Pause => RoleFault::Pause,
        FaultAction::Resume => RoleFault::Resume,
        FaultAction::Isolate => RoleFault::Isolate,
        FaultAction::Clog => RoleFault::Clog,
        FaultAction::Unclog => RoleFault::Unclog,
        FaultAction::Partition
        | FaultAction::Cut
        | FaultAction::Heal
        | FaultAction::Join
        | FaultAction::Leave
        | FaultAction::Produce
        | FaultAction::DeleteRecords => return None,
    })
}
