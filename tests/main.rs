//! Integration tests of the whole: one test binary (see ARCHITECTURE.md).

mod cli;
mod groups;
mod livelock;
mod replication_test;
mod scenarios_run;
mod start_positions;
mod swarm;
