//! `kafka-lab bench`: the standard workload (README, "kafka-lab bench") and a
//! `check --profile safe` batch, timed on the wall clock. Figures, not assertions: CI machines
//! are too noisy for timed tests.

use crate::Format;
use scenarios::swarm::Profile;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::time::Instant;

/// Counts allocated bytes, for "bytes allocated per record".
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Simulated length of the standard workload's main phase.
    #[arg(long, default_value_t = 600_000)]
    duration_ms: u64,
    /// Multiply the producers' rate (1 = 2 × 500 records/s), to see how cost grows with records.
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// `retention.ms` of the workload's topic (default: Kafka's 7 days, so nothing expires).
    #[arg(long)]
    retention_ms: Option<u64>,
    /// `segment.ms` of the workload's topic: retention deletes closed segments only, and with
    /// Kafka's defaults (1 GiB, 7 days) the standard workload never closes one.
    #[arg(long)]
    segment_ms: Option<u64>,
    /// Seeds of `check --profile safe` to time (0 to skip).
    #[arg(long, default_value_t = 40)]
    check_seeds: u64,
    /// Threads for the check batch (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Text, or one JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(serde::Serialize)]
struct Figures {
    /// The checker on the run's history, timed apart from the simulation.
    check_s: f64,
    simulated_ms: u64,
    events: u64,
    records: u64,
    wall_s: f64,
    events_per_wall_s: f64,
    simulated_per_wall: f64,
    records_per_wall_s: f64,
    bytes_allocated_per_record: f64,
    /// Heap the world holds at the end of the run.
    live_mib: f64,
    /// What the world holds at the end, by component (estimated, `sim::Held`).
    held: sim::Held,
    /// Peak resident set when the run ended, before the checker ran.
    sim_peak_rss_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
    check_seeds: u64,
    check_jobs: usize,
    check_seeds_per_s: Option<f64>,
}

/// Runs the benchmark and prints its figures.
pub fn bench(args: &BenchArgs) -> anyhow::Result<bool> {
    if args.scale == 0 {
        anyhow::bail!("--scale must be at least 1");
    }
    let mut scenario = scenarios::standard_workload(args.duration_ms, args.scale)?;
    for (key, ms) in [
        ("retention.ms", args.retention_ms),
        ("segment.ms", args.segment_ms),
    ] {
        let Some(ms) = ms else { continue };
        let ms = i64::try_from(ms).map_err(|_| anyhow::anyhow!("--{key} is too large"))?;
        for topic in &mut scenario.topics {
            let value = broker_core::ConfigValue::Int(ms);
            topic.config.insert(key.to_owned(), value);
        }
    }
    scenario.validate()?;
    let spec = scenario.world_spec()?;
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    let mut world = sim::World::new(spec);
    world.run_to_end_keeping_trace(TRACE_KEPT);
    let wall_s = started.elapsed().as_secs_f64().max(1e-9);
    let change = region.change();
    let allocated = change.bytes_allocated;
    // What the finished world holds: logs, disks, trace and history (peak RSS adds the checker).
    let live_bytes = change
        .bytes_allocated
        .saturating_sub(change.bytes_deallocated);
    let sim_peak_rss_kib = peak_rss_kib();
    let checked = Instant::now();
    let findings = sim::check(&world);
    let check_s = checked.elapsed().as_secs_f64();
    anyhow::ensure!(
        findings.is_empty(),
        "the standard workload found {findings:?}"
    );
    let records = world
        .history()
        .iter()
        .filter(|r| r.acked().is_some())
        .count() as u64;
    let simulated_ms = world.now().0;
    let (check_jobs, check_seeds_per_s) = check_batch(args)?;
    let figures = Figures {
        check_s,
        simulated_ms,
        events: world.events(),
        records,
        wall_s,
        events_per_wall_s: world.events() as f64 / wall_s,
        simulated_per_wall: simulated_ms as f64 / 1000.0 / wall_s,
        records_per_wall_s: records as f64 / wall_s,
        bytes_allocated_per_record: allocated as f64 / records.max(1) as f64,
        live_mib: live_bytes as f64 / (1024.0 * 1024.0),
        held: world.held(),
        sim_peak_rss_kib,
        peak_rss_kib: peak_rss_kib(),
        check_seeds: args.check_seeds,
        check_jobs,
        check_seeds_per_s,
    };
    print(args.format, &figures)?;
    Ok(true)
}

/// Trace entries `bench` keeps, as `serve` keeps its latest (`World::run_to_end_keeping_trace`):
/// the checker does not read the trace and the fingerprint is computed as entries are recorded,
/// so neither changes; a long run's trace would otherwise grow with simulated time (issue 17).
const TRACE_KEPT: usize = 100_000;

/// Seeds per second of `check --profile safe` (no shrinking), on `--jobs` threads.
fn check_batch(args: &BenchArgs) -> anyhow::Result<(usize, Option<f64>)> {
    let (pool, jobs) = crate::check::worker_pool(args.jobs)?;
    if args.check_seeds == 0 {
        return Ok((jobs, None));
    }
    let seeds: Vec<u64> = (1..=args.check_seeds).collect();
    let started = Instant::now();
    crate::check::sweep(&pool, Profile::Safe, &seeds, false, |_| {});
    let wall_s = started.elapsed().as_secs_f64().max(1e-9);
    Ok((jobs, Some(args.check_seeds as f64 / wall_s)))
}

/// The process's peak resident set (`VmHWM`), where Linux reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn print(format: Format, f: &Figures) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(f)?);
        return Ok(());
    }
    println!(
        "standard workload: {:.0} simulated s, {} events, {} records acknowledged",
        f.simulated_ms as f64 / 1000.0,
        f.events,
        f.records
    );
    println!("  wall time (sim only)  {:.3} s", f.wall_s);
    println!("  events per wall s     {:.0}", f.events_per_wall_s);
    println!("  simulated / wall      {:.0}x", f.simulated_per_wall);
    println!("  records per wall s    {:.0}", f.records_per_wall_s);
    println!(
        "  bytes alloc / record  {:.0}",
        f.bytes_allocated_per_record
    );
    println!("  world heap at end     {:.1} MiB", f.live_mib);
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let h = &f.held;
    println!(
        "  held at end (est.)    logs {:.1} MiB, disks {:.1} MiB ({:.1} MiB of distinct batches in logs, disks and trace); trace {:.1} MiB (latest {TRACE_KEPT} entries), history {:.1} MiB, event queue {:.1} MiB",
        mib(h.logs),
        mib(h.disks),
        mib(h.unique_batches),
        mib(h.trace),
        mib(h.history),
        mib(h.queue)
    );
    println!(
        "  in no account         {:.1} MiB (world heap minus the accounts: nodes' own state, disks' vectors)",
        f.live_mib - mib(h.accounted())
    );
    println!("  checker on history    {:.3} s", f.check_s);
    match (f.sim_peak_rss_kib, f.peak_rss_kib) {
        (Some(sim), Some(kib)) => println!(
            "  peak memory           {:.1} MiB ({:.1} MiB before the checker ran)",
            kib as f64 / 1024.0,
            sim as f64 / 1024.0
        ),
        _ => println!("  peak memory           (not reported on this system)"),
    }
    if let Some(rate) = f.check_seeds_per_s {
        println!(
            "check --profile safe: {} seeds on {} job(s), {rate:.1} seeds/s",
            f.check_seeds, f.check_jobs
        );
    }
    Ok(())
}
