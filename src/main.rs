//! kafka-lab: a deterministic Kafka cluster simulator and teaching lab.
//!
//! Exit status: 0 when the scenario's `[expect]` holds, 1 when it does not (a run cut short
//! never holds it), 2 on bad input. After a `--set` that changes what runs, `[expect]` is not
//! judged: 0 when no finding is a violation, else 1.

mod bench;
mod check;
mod compare;
mod explain;
mod final_state;
mod groups_report;
mod report;
mod serve;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kafka-lab",
    version,
    about = "A deterministic Kafka cluster simulator and teaching lab"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the built-in scenarios.
    List,
    /// Run a scenario headless: timeline, final cluster table, findings.
    Run(RunArgs),
    /// Swarm testing: random configurations and fault schedules over many seeds, checked and
    /// shrunk to replayable scenario files.
    Check(check::CheckArgs),
    /// The standard benchmark: simulator speed, memory, and check throughput (README.md,
    /// "kafka-lab bench").
    Bench(bench::BenchArgs),
    /// The teaching UI: watch replication, inject faults, rewind (`?` lists the keys).
    Tui(TuiArgs),
    /// Serve the Kafka protocol: real clients (kcat, librdkafka, kafka-python) talk to the
    /// simulated cluster, paced by the wall clock. Broker N listens on the port N - 1 above
    /// `--listen`'s. Runs until stopped.
    Serve(serve::ServeArgs),
}

#[derive(clap::Args, Debug)]
struct TuiArgs {
    /// A built-in scenario name or a path to a scenario file (default: quickstart).
    scenario: Option<String>,
    /// Override the scenario's seed: 0 to 9223372036854775807 (i64::MAX), the seeds a
    /// scenario file can hold.
    #[arg(long, value_parser = seed_parser())]
    seed: Option<u64>,
    /// Override a setting, as for `run`: `producers.acks=1`. A `--set` that changes what runs
    /// takes the session off the scenario's script: its captions are not shown.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also open OTHER (a bug's fix, say) below it: one clock, every key drives both.
    #[arg(long, value_name = "OTHER")]
    compare: Option<String>,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// A built-in scenario name or a path to a scenario file.
    scenario: String,
    /// Override the scenario's seed: 0 to 9223372036854775807 (i64::MAX), the seeds a
    /// scenario file can hold.
    #[arg(long, value_parser = seed_parser())]
    seed: Option<u64>,
    /// Write the trace as JSON lines to FILE (includes every message).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Override a setting, e.g. `producers.acks=1` or `cluster.config.min.insync.replicas=2`.
    /// Any key but `seed` and `expect.*` changes what the scenario tests: its `[expect]` is then
    /// not judged (exit 0 when no finding is a violation) and its captions are not shown.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// Also run OTHER (a bug and its fix, say) with the same seed and settings, and print
    /// both scenarios' findings side by side instead of the report.
    #[arg(long, value_name = "OTHER")]
    compare: Option<String>,
    /// After the findings, tell each one's cause: the first record involved, what happened to
    /// its partition, and the rule that allowed it.
    #[arg(long)]
    explain: bool,
    /// Stop the run after N simulated events (default and maximum 200,000,000). A run stopped
    /// before its end is cut short: finding `livelock`, exit status 1.
    #[arg(long, value_name = "N")]
    events_max: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or_else(|| {
        use std::io::IsTerminal;
        // In a terminal: the UI. Piped or in CI: the default scenario headless.
        if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
            Command::Tui(TuiArgs {
                scenario: None,
                seed: None,
                set: vec![],
                compare: None,
            })
        } else {
            Command::Run(RunArgs {
                scenario: scenarios::DEFAULT.into(),
                seed: None,
                trace: None,
                format: Format::Text,
                set: vec![],
                compare: None,
                explain: false,
                events_max: None,
            })
        }
    });
    match command {
        Command::List => {
            list();
            ExitCode::SUCCESS
        }
        Command::Run(args) => exit(run(&args)),
        Command::Check(args) => exit(check::check(&args)),
        Command::Bench(args) => exit(bench::bench(&args)),
        Command::Tui(args) => exit(tui(&args)),
        Command::Serve(args) => exit(serve::serve(&args)),
    }
}

fn tui(args: &TuiArgs) -> anyhow::Result<bool> {
    use std::io::IsTerminal;
    let name = args.scenario.as_deref().unwrap_or(scenarios::DEFAULT);
    // Bad input first: a typo in a `--set` is named even without a terminal.
    let scenario = prepare(name, args.seed, &args.set)?;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "tui needs a terminal: its input or output is a pipe or a file here \
             (to run a scenario without one: kafka-lab run {name})"
        );
    }
    let app = match &args.compare {
        Some(other) => {
            let other = prepare(other, Some(scenario.seed), &args.set)?;
            tui::App::compare(scenario, other)?
        }
        None => tui::App::new(scenario)?,
    };
    tui::run(app).context("the terminal")?;
    Ok(true)
}

/// Seeds from 0 to `scenarios::limits::SEED_MAX` (i64::MAX): a seed is written back into
/// scenario files (`w` in the UI, `check --write-cases`), and TOML integers are i64.
fn seed_parser() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(..=scenarios::limits::SEED_MAX)
}

/// 0 when the verdict is good, 1 when not, 2 on bad input.
fn exit(result: anyhow::Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kafka-lab: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The built-ins by module, in course order; each historical pair ends with the command that
/// compares the bug with its fix.
fn list() {
    let mut out = std::io::stdout().lock();
    let builtins = scenarios::builtins();
    let width = builtins.iter().map(|b| b.name.len()).max().unwrap_or(0);
    for module in scenarios::Module::ALL {
        let _ = writeln!(out, "{}", module.title());
        let mut any = false;
        for builtin in builtins.iter().filter(|b| b.module == module) {
            any = true;
            let _ = match builtin.load() {
                Ok(s) => writeln!(out, "  {:<width$}  {}", s.name, s.title),
                Err(e) => writeln!(out, "  {:<width$}  (broken: {e})", builtin.name),
            };
            let pair = scenarios::HISTORICAL_PAIRS
                .iter()
                .find(|p| p.fix == builtin.name);
            if let Some(pair) = pair {
                let _ = writeln!(
                    out,
                    "  {:<width$}  compare: kafka-lab run {} --compare {}",
                    "", pair.bug, pair.fix
                );
            }
        }
        if !any {
            let _ = writeln!(out, "  (none yet)");
        }
    }
}

/// A scenario with `--seed` and `--set` applied.
fn prepare(name: &str, seed: Option<u64>, sets: &[String]) -> anyhow::Result<scenarios::Scenario> {
    let mut scenario = scenarios::resolve(name)?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    for assignment in sets {
        let (key, value) = assignment.split_once('=').with_context(|| {
            format!("--set {}: expected KEY=VALUE", scenarios::echo(assignment))
        })?;
        scenario.apply_set(key.trim(), value.trim())?;
    }
    Ok(scenario)
}

/// Returns whether the run passed (`RunVerdict::passed`: `[expect]` held, or, not judged after
/// a `--set`, no violation); `Err` is bad input.
fn run(args: &RunArgs) -> anyhow::Result<bool> {
    let options = args.compare.is_some()
        || !args.set.is_empty()
        || args.trace.is_some()
        || args.events_max.is_some();
    if let Some(replayed) = serve::replay(&args.scenario, args.seed, options) {
        return replayed;
    }
    if let Some(other) = &args.compare {
        return compare::compare(args, other);
    }
    let scenario = prepare(&args.scenario, args.seed, &args.set)?;
    let outcome = scenarios::run_with_events_max(&scenario, args.trace.is_some(), args.events_max)?;
    if let Some(path) = &args.trace {
        report::write_trace(path, &outcome)
            .with_context(|| format!("cannot write trace {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    let written = match args.format {
        Format::Text => report::text(&mut out, &scenario, &outcome, args.explain),
        Format::Json => report::json(&mut out, &scenario, &outcome),
    };
    // A closed pipe (`kafka-lab run x | head`) is not an error of the run.
    if let Err(e) = written {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(outcome.verdict.passed())
}
