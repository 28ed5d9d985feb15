//! Integration tests of the whole: one test binary (see ARCHITECTURE.md).

mod cli;
mod groups;
mod livelock;
mod scenarios_run;
mod serve;
mod start_positions;
mod swarm;
