//! Integration tests of the whole: one test binary (see ARCHITECTURE.md).

mod cli;
mod compaction;
mod delete_records;
mod groups;
mod links;
mod livelock;
mod memory;
mod quorum;
mod replication_test;
mod scenarios_run;
mod script;
mod serve;
mod start_positions;
mod swarm;
