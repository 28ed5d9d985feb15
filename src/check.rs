//! `kafka-lab check`: swarm testing over seeds of a profile, in parallel, with shrinking.
//!
//! Per-seed results are printed in seed order once every seed is done, so a run with `--jobs 2`
//! prints exactly what a run with `--jobs 1` prints; only the closing summary carries wall time.

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use scenarios::swarm::{check_seed, Profile, SeedResult};
use sim::Verdict;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::Format;

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// How many seeds to run, from 1 to 10000000.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=scenarios::limits::CHECK_SEEDS_MAX))]
    seeds: u64,
    /// The first seed, from 0 to 9223372036854775807 (i64::MAX); the last seed must stay
    /// within that too: a seed is written into scenario files, and TOML integers are i64.
    #[arg(long, default_value_t = 1, value_parser = crate::seed_parser())]
    start: u64,
    /// Seeds run in parallel (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// The profile: a configuration, a fault mix and what it must find.
    #[arg(long, default_value = "safe", value_parser = profile_parser())]
    profile: Profile,
    /// Run only shard I of N (I from 1 to N): every N-th seed, so machines can split a sweep.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u64, u64)>,
    /// Where shrunk scenarios are written.
    #[arg(long, value_name = "DIR", default_value = "out/check")]
    out: PathBuf,
    /// Do not shrink what a seed finds.
    #[arg(long)]
    no_shrink: bool,
    /// Only write each seed's drawn scenario (unshrunk) under --out, without running it.
    #[arg(long)]
    write_cases: bool,
    /// Per-seed lines as text, or as JSON lines (one object per seed, then a summary).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Every profile of `Profile::ALL`, by name, with its summary in `--help`.
fn profile_parser() -> impl clap::builder::TypedValueParser<Value = Profile> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let values = Profile::ALL.map(|p| PossibleValue::new(p.as_str()).help(p.summary()));
    PossibleValuesParser::new(values)
        .map(|name| name.parse::<Profile>().expect("a name from Profile::ALL"))
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("expected I/N with 1 ≤ I ≤ N, like 2/4, got \"{s}\"");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if i == 0 || n == 0 || i > n {
        return Err(bad());
    }
    Ok((i, n))
}

/// The seeds of this run: `start..start+seeds`, then this shard's share of them; every one
/// a seed a scenario file can hold.
fn seeds(args: &CheckArgs) -> anyhow::Result<Vec<u64>> {
    let end = args.start.saturating_add(args.seeds);
    if end.saturating_sub(1) > scenarios::limits::SEED_MAX {
        bail!(
            "--seeds {} --start {}: the last seed would be above {} (i64::MAX), the largest \
             seed a scenario file can hold",
            args.seeds,
            args.start,
            scenarios::limits::SEED_MAX
        );
    }
    let all = args.start..end;
    Ok(match args.shard {
        Some((i, n)) => all.filter(|s| (s - args.start) % n == i - 1).collect(),
        None => all.collect(),
    })
}

/// Returns whether no seed found a violation; `Err` is bad input or an unwritable `--out`.
pub fn check(args: &CheckArgs) -> anyhow::Result<bool> {
    let seeds = seeds(args)?;
    if seeds.is_empty() {
        bail!(
            "--seeds {} --start {}: no seed to run",
            args.seeds,
            args.start
        );
    }
    if args.write_cases {
        return write_cases(args, &seeds);
    }
    if !args.no_shrink {
        // Fail on an unwritable --out before the sweep, not after it.
        create_dir(&args.out)?;
    }
    let (pool, jobs) = worker_pool(args.jobs)?;
    let started = Instant::now();
    let progress = Progress::new(seeds.len() as u64);
    let results = sweep(&pool, args.profile, &seeds, !args.no_shrink, |r| {
        progress.tick(r)
    });
    progress.finish();
    let elapsed_s = started.elapsed().as_secs_f64();
    report(args, &results, jobs, elapsed_s)
}

/// A pool of `jobs` threads (default: one per core), and its size.
pub fn worker_pool(jobs: Option<usize>) -> anyhow::Result<(rayon::ThreadPool, usize)> {
    let jobs = jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if jobs == 0 {
        bail!("--jobs must be at least 1");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("cannot start worker threads")?;
    Ok((pool, jobs))
}

/// Every seed's result, in seed order whatever the number of threads.
pub fn sweep(
    pool: &rayon::ThreadPool,
    profile: Profile,
    seeds: &[u64],
    shrink: bool,
    on_done: impl Fn(&SeedResult) + Sync,
) -> Vec<SeedResult> {
    pool.install(|| {
        seeds
            .par_iter()
            .map(|&seed| {
                let result = check_seed(profile, seed, shrink);
                on_done(&result);
                result
            })
            .collect()
    })
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

/// Write a scenario as `DIR/NAME.toml`.
fn write_scenario(dir: &Path, scenario: &scenarios::Scenario) -> anyhow::Result<PathBuf> {
    create_dir(dir)?;
    let path = dir.join(format!("{}.toml", scenario.name));
    std::fs::write(&path, scenario.to_toml())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn write_cases(args: &CheckArgs, seeds: &[u64]) -> anyhow::Result<bool> {
    for &seed in seeds {
        let scenario = scenarios::swarm::draw(args.profile, seed)
            .0
            .to_scenario(args.profile, seed);
        println!("{}", write_scenario(&args.out, &scenario)?.display());
    }
    Ok(true)
}

fn report(
    args: &CheckArgs,
    results: &[SeedResult],
    jobs: usize,
    elapsed_s: f64,
) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    let mut violations = 0;
    let mut noted = 0;
    for result in results {
        violations += result.violations;
        let replay = match &result.shrunk {
            Some(shrunk) => Some(write_shrunk(&args.out, shrunk)?),
            None => None,
        };
        if !result.findings.is_empty() {
            noted += 1;
        }
        match args.format {
            Format::Json => {
                let mut line = serde_json::to_value(result)?;
                line["replay"] = replay
                    .as_ref()
                    .map_or(serde_json::Value::Null, |r| r.command().into());
                writeln!(out, "{line}")?;
            }
            Format::Text => text_line(&mut out, result, replay.as_ref())?,
        }
    }
    let summary = Summary {
        profile: args.profile.to_string(),
        seeds: results.len(),
        first_seed: results.first().map_or(0, |r| r.seed),
        last_seed: results.last().map_or(0, |r| r.seed),
        violations,
        seeds_with_findings: noted,
        jobs,
        elapsed_s,
        seeds_per_s: results.len() as f64 / elapsed_s.max(1e-9),
    };
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::json!({ "summary": summary }))?,
        Format::Text => writeln!(
            out,
            "profile {}: {} seeds ({}..={}), {} violation(s), {} seed(s) with findings; {:.1} s on {} job(s), {:.1} seeds/s",
            summary.profile,
            summary.seeds,
            summary.first_seed,
            summary.last_seed,
            summary.violations,
            summary.seeds_with_findings,
            summary.elapsed_s,
            summary.jobs,
            summary.seeds_per_s
        )?,
    }
    Ok(violations == 0)
}

#[derive(serde::Serialize)]
struct Summary {
    profile: String,
    seeds: usize,
    first_seed: u64,
    last_seed: u64,
    violations: usize,
    seeds_with_findings: usize,
    jobs: usize,
    elapsed_s: f64,
    seeds_per_s: f64,
}

/// One line per seed that found something; clean seeds only count in the summary.
fn text_line(
    out: &mut impl Write,
    result: &SeedResult,
    replay: Option<&Replay>,
) -> std::io::Result<()> {
    if result.findings.is_empty() {
        return Ok(());
    }
    let mut kinds: Vec<String> = Vec::new();
    for f in &result.findings {
        let verdict = match f.verdict {
            Verdict::Violation => "VIOLATION",
            Verdict::Allowed => "allowed",
        };
        let label = format!("{} ({verdict})", f.kind);
        if !kinds.contains(&label) {
            kinds.push(label);
        }
    }
    writeln!(out, "seed {}: {}", result.seed, kinds.join(", "))?;
    if let Some(first) = result.findings.first() {
        writeln!(out, "    {}", first.explanation)?;
    }
    if let Some(replay) = replay {
        writeln!(
            out,
            "    shrunk to {} fault(s) from {} ({} runs), still shows {}: {}",
            replay.faults_after,
            replay.faults_before,
            replay.runs,
            replay.kind,
            replay.command()
        )?;
    }
    Ok(())
}

/// A shrunk scenario on disk.
struct Replay {
    path: PathBuf,
    kind: sim::FindingKind,
    faults_before: usize,
    faults_after: usize,
    runs: u32,
}

impl Replay {
    fn command(&self) -> String {
        format!("kafka-lab run {}", self.path.display())
    }
}

/// Write a shrunk scenario, then load it back and replay it: what is written must reproduce.
fn write_shrunk(dir: &Path, shrunk: &scenarios::swarm::Shrunk) -> anyhow::Result<Replay> {
    let path = write_scenario(dir, &shrunk.scenario)?;
    let replayed = scenarios::run(&scenarios::load(&path)?, false)?;
    // Compared by kinds, not `expect_met`: a case shrunk to `livelock` replays cut short
    // again, and a run cut short never meets an `[expect]`.
    if replayed.found != shrunk.scenario.expect.findings {
        bail!(
            "{}: the replay found {:?}, not the {:?} it was shrunk to (a determinism bug)",
            path.display(),
            replayed.found,
            shrunk.scenario.expect.findings
        );
    }
    Ok(Replay {
        path,
        kind: shrunk.kind,
        faults_before: shrunk.faults_before,
        faults_after: shrunk.faults_after,
        runs: shrunk.runs,
    })
}

/// A bar on a terminal; otherwise a plain line every tenth of the way.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: std::sync::atomic::AtomicU64,
    violations: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            let style = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds  {per_sec}  eta {eta}  {msg}",
            )
            .expect("a valid template");
            bar.set_style(style);
            bar
        });
        Progress {
            bar,
            total,
            done: 0.into(),
            violations: 0.into(),
        }
    }

    fn tick(&self, result: &SeedResult) {
        use std::sync::atomic::Ordering::Relaxed;
        let done = self.done.fetch_add(1, Relaxed) + 1;
        let violations =
            self.violations.fetch_add(result.violations as u64, Relaxed) + result.violations as u64;
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!("{violations} violation(s)"));
                bar.inc(1);
            }
            None => {
                let step = (self.total / 10).max(1);
                if done.is_multiple_of(step) || done == self.total {
                    eprintln!(
                        "checked {done}/{} seeds, {violations} violation(s)",
                        self.total
                    );
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
