//! Kafka's system test `tests/kafkatest/tests/core/replication_test.py`
//! (`ReplicationTest.test_replication_with_broker_failure`), in simulation: 3 brokers, one topic
//! of 3 partitions with RF 3 and `min.insync.replicas=2`, a producer and a consumer running
//! throughout, and one failure mode of {clean shutdown, hard shutdown, clean bounce, hard bounce}
//! of {the leader of partition 0, the active controller}, with and without idempotence. The test
//! then stops producing, finishes consuming and asserts that every acknowledged message was
//! consumed and, with idempotence, none twice (`EndToEndTest.run_validation`).
//!
//! Each cell is the built-in scenario `replication-test` (the hard bounce of the leader) with
//! the cell's faults on a dynamic target, so that, as in the Python test, whoever holds the
//! role when a fault happens is hit and a bounce restarts that same node:
//!
//! - `clean_shutdown`: SIGTERM (a controlled shutdown); the node stays down (here until the
//!   drain restarts every node).
//! - `hard_shutdown`: SIGKILL (a crash); the node stays down.
//! - `clean_bounce`: five times, chase the role's holder and restart it cleanly
//!   (`restart_node(clean_shutdown=True)`: stop, wait until it has stopped, start).
//! - `hard_bounce`: five times, kill the holder, wait `broker.session.timeout.ms` plus a
//!   5 s grace period as the test does, and start it again.
//!
//! How many controllers ([`Cell::controllers`]): the Python test's KRaft cases run one
//! controller (`create_kafka(..., controller_num_nodes_override = 1)`; "Setup: 1 zk/KRaft
//! controller" in its docstring), and its `controller` cases run only on ZooKeeper (with a
//! KRaft quorum it raises "There is no controller broker when using KRaft metadata quorum").
//! On ZooKeeper the controller is one of the three brokers, and killing it moves the role to
//! another: the test bounces a controller that fails over. Bouncing the only KRaft controller
//! would leave the cluster with none until it restarts, which is not that test. So the lab's
//! `controller` cells run a KRaft quorum of three controllers, whose active controller fails
//! over as the ZooKeeper-era one did (the bounce chases whoever holds the role), and the
//! `leader` cells run the one controller Kafka's KRaft cases run.
//!
//! The lab's other differences from the Python test: the consumer reads by assignment rather
//! than in a console consumer's group (the checker promises it every acknowledged record
//! either way); the controllers are nodes of their own, not brokers.

use crate::format::{Fault, FaultAction, Scenario};
use crate::target::{ACTIVE_CONTROLLER, LEADER_PREFIX};
use broker_core::ConfigValue;

/// The built-in scenario every cell starts from.
pub const BASE: &str = "replication-test";
/// The partition whose leader the `leader` cells chase (`broker_node(test, "leader")` asks for
/// partition 0 of the test topic).
pub const PARTITION: &str = "test-topic-0";
/// Bounces per run (`for i in range(5)`).
pub const BOUNCES: u64 = 5;
/// When the failures start with one controller: after `await_startup`, which waits until the
/// producer's messages are acknowledged and the consumer reads (the cluster is up by 1 s).
const FIRST_FAULT_MS: u64 = 5_000;
/// When they start with a quorum: its startup takes an election and the brokers' search for
/// the active controller (a `NOT_CONTROLLER` answer, then `broker.heartbeat.interval.ms`
/// before the next voter), so the first acknowledgement comes at 2 to 11 s (measured over
/// the `controller` cells' seeds 1 to 12). A fault before then is not the test's, whose
/// failures start once the cluster works.
const FIRST_FAULT_QUORUM_MS: u64 = 15_000;
/// A clean restart: long enough for a controlled shutdown to complete before the start.
const CLEAN_DOWN_MS: u64 = 8_000;
/// A hard bounce waits the session timeout plus the test's `gracePeriodSecs = 5`.
const GRACE_MS: u64 = 5_000;
/// From a start to the next bounce (`start_node` waits for the node to be up).
const UP_MS: u64 = 5_000;

/// `failure_mode` of the Python test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailureMode {
    /// SIGTERM, once.
    CleanShutdown,
    /// SIGKILL, once.
    HardShutdown,
    /// Clean restart of the holder, five times.
    CleanBounce,
    /// SIGKILL, wait out the session, start; five times.
    HardBounce,
}

/// `broker_type` of the Python test: whose node fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum BrokerType {
    /// The leader of partition 0.
    Leader,
    /// The active controller.
    Controller,
}

/// One cell of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cell {
    /// How it fails.
    pub failure_mode: FailureMode,
    /// What fails.
    pub broker_type: BrokerType,
    /// `enable_idempotence` of the producer.
    pub enable_idempotence: bool,
}

impl FailureMode {
    /// Every mode, in the test's `@matrix` order.
    pub const ALL: [FailureMode; 4] = [
        FailureMode::CleanShutdown,
        FailureMode::HardShutdown,
        FailureMode::CleanBounce,
        FailureMode::HardBounce,
    ];

    /// The Python test's name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMode::CleanShutdown => "clean_shutdown",
            FailureMode::HardShutdown => "hard_shutdown",
            FailureMode::CleanBounce => "clean_bounce",
            FailureMode::HardBounce => "hard_bounce",
        }
    }
}

impl Cell {
    /// The 16 cells: failure modes × {leader, controller} × {idempotence on, off}.
    pub fn matrix() -> Vec<Cell> {
        let mut cells = Vec::new();
        for failure_mode in FailureMode::ALL {
            for broker_type in [BrokerType::Leader, BrokerType::Controller] {
                for enable_idempotence in [true, false] {
                    cells.push(Cell {
                        failure_mode,
                        broker_type,
                        enable_idempotence,
                    });
                }
            }
        }
        cells
    }

    /// `hard_bounce-leader-idempotent`, as a scenario name.
    pub fn name(&self) -> String {
        let broker = match self.broker_type {
            BrokerType::Leader => "leader",
            BrokerType::Controller => "controller",
        };
        let idempotence = if self.enable_idempotence {
            "idempotent"
        } else {
            "not-idempotent"
        };
        format!(
            "{}-{broker}-{idempotence}",
            self.failure_mode.as_str().replace('_', "-")
        )
    }

    /// The KRaft controllers the cell runs (see the module's documentation): three for the
    /// `controller` cells, whose active controller must fail over as the ZooKeeper-era
    /// controller did; one for the `leader` cells, as Kafka's KRaft runs of the test.
    pub fn controllers(&self) -> u32 {
        match self.broker_type {
            BrokerType::Leader => 1,
            BrokerType::Controller => 3,
        }
    }

    /// The dynamic target the cell's faults name.
    fn target(&self) -> String {
        match self.broker_type {
            BrokerType::Leader => format!("{LEADER_PREFIX}{PARTITION}"),
            BrokerType::Controller => ACTIVE_CONTROLLER.to_owned(),
        }
    }

    /// The cell's fault schedule; `session_ms` is `broker.session.timeout.ms`.
    pub fn faults(&self, session_ms: u64) -> Vec<Fault> {
        let target = self.target();
        let fault = |at_ms, action| Fault {
            at_ms,
            action,
            target: Some(target.clone()),
            sides: None,
            from: None,
            to: None,
            partition: None,
            offset: None,
        };
        let first = match self.controllers() {
            1 => FIRST_FAULT_MS,
            _ => FIRST_FAULT_QUORUM_MS,
        };
        let (down, stop_ms) = match self.failure_mode {
            FailureMode::CleanShutdown => return vec![fault(first, FaultAction::Shutdown)],
            FailureMode::HardShutdown => return vec![fault(first, FaultAction::Crash)],
            FailureMode::CleanBounce => (FaultAction::Shutdown, CLEAN_DOWN_MS),
            FailureMode::HardBounce => (FaultAction::Crash, session_ms + GRACE_MS),
        };
        (0..BOUNCES)
            .flat_map(|i| {
                let at = first + i * (stop_ms + UP_MS);
                [fault(at, down), fault(at + stop_ms, FaultAction::Restart)]
            })
            .collect()
    }

    /// The cell as a scenario: the built-in base with this cell's faults and producer, at
    /// `seed`, its main phase ending after the last fault has had time to heal.
    pub fn scenario(&self, seed: u64) -> Scenario {
        let mut s = crate::builtin(BASE)
            .expect("built in")
            .load()
            .expect("the built-in base is valid");
        let session_ms = s.cluster_config().expect("valid").broker_session_timeout_ms;
        s.name = format!("{BASE}-{}", self.name());
        s.seed = seed;
        s.faults = self.faults(session_ms);
        s.cluster.controllers = self.controllers();
        s.captions.clear();
        let last = s.faults.iter().map(|f| f.at_ms).max().unwrap_or(0);
        s.duration_ms = last + UP_MS;
        for p in &mut s.producers {
            p.config.insert(
                "enable.idempotence".into(),
                ConfigValue::Bool(self.enable_idempotence),
            );
        }
        s
    }
}
