//! `kafka-lab serve`: parse the arguments, bind the ports, hand over to the `server` crate.

use anyhow::Context;
use std::net::SocketAddr;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// A built-in scenario name or a path to a scenario file (default: three brokers, one
    /// controller, topics `test` and `orders`, no clients of the lab's own).
    scenario: Option<String>,
    /// Broker 1's address; broker N listens on the port N - 1 above it.
    #[arg(long, default_value = "127.0.0.1:19092")]
    listen: SocketAddr,
    /// The control port (HTTP + JSON): `GET /cluster`, `POST /faults`.
    #[arg(long, default_value = "127.0.0.1:19090")]
    control: SocketAddr,
    /// Override the scenario's seed.
    #[arg(long, value_parser = crate::seed_parser())]
    seed: Option<u64>,
    /// Record the session to FILE: the scenario, then every connection, request frame and
    /// posted fault with the simulated millisecond it arrived. `kafka-lab run FILE` replays it.
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
}

/// Serve until stopped; `Err` is bad input (exit 2).
pub fn serve(args: &ServeArgs) -> anyhow::Result<bool> {
    let mut scenario = match &args.scenario {
        Some(name) => scenarios::resolve(name)?,
        None => server::default_scenario()?,
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    let spec = scenario.world_spec()?;
    let config = server::serve::ServeConfig {
        listen: args.listen,
    };
    let listeners = server::serve::bind(&config, spec.brokers).context("serve")?;
    eprintln!(
        "kafka-lab serve: {} brokers on {}:{}..{} (scenario {}, seed {})",
        spec.brokers,
        args.listen.ip(),
        args.listen.port(),
        u32::from(args.listen.port()) + spec.brokers - 1,
        scenario.name,
        scenario.seed
    );
    eprintln!(
        "kafka-lab serve: control port http://{}/cluster",
        args.control
    );
    let control = std::net::TcpListener::bind(args.control)
        .with_context(|| format!("cannot listen on {} for the control port", args.control))?;
    let recorder = match &args.record {
        Some(path) => Some(start_recording(path, &scenario)?),
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let control_tx = tx.clone();
    std::thread::spawn(move || server::control::run(control, scenario, control_tx));
    server::serve::serve(spec, &config, listeners, (tx, rx), recorder);
    Ok(true)
}

/// Open FILE and write the scenario it replays against.
fn start_recording(
    path: &std::path::Path,
    scenario: &scenarios::Scenario,
) -> anyhow::Result<server::record::Recorder> {
    use std::io::Write;
    let file = std::fs::File::create(path)
        .with_context(|| format!("--record: cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    write!(
        out,
        "# Recorded by kafka-lab serve. Replay: kafka-lab run {}\n{}\n{}\n",
        path.display(),
        scenario.to_toml(),
        server::record::SESSION_HEADER
    )
    .and_then(|()| out.flush())
    .with_context(|| format!("--record: cannot write {}", path.display()))?;
    Ok(server::record::Recorder::new(Box::new(out)))
}

/// `kafka-lab run FILE` for a recorded session: `None` when FILE is not one. The replay must
/// match every fingerprint the live session gave (`GET /cluster`); it prints its own.
pub fn replay(file: &str, seed: Option<u64>, others: bool) -> Option<anyhow::Result<bool>> {
    let text = std::fs::read_to_string(file).ok()?;
    let events = match server::record::parse(&text, file) {
        Ok(None) => return None,
        Ok(Some(events)) => events,
        Err(e) => return Some(Err(anyhow::anyhow!(e))),
    };
    Some(replay_events(file, &events, seed.is_some() || others))
}

fn replay_events(
    file: &str,
    events: &[server::record::Event],
    options: bool,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        !options,
        "{file} is a recorded session: it replays as recorded (no --seed, --set, --compare, --trace, --events-max)"
    );
    let scenario = scenarios::load(std::path::Path::new(file))?;
    match server::record::replay(&scenario, events) {
        Ok(r) => {
            let world = r.engine.world();
            println!(
                "replayed {file}: {} connections, {} request frames, {} ms simulated",
                r.connections,
                r.frames,
                world.now().0
            );
            println!(
                "live fingerprints matched: {}; fingerprint {}",
                r.marks,
                world.fingerprint()
            );
            // The real clients are judged as the lab's own: their operations are in the history.
            let verdict = server::verdict::verdict(&r.engine);
            print!("{}", verdict.text());
            Ok(verdict.passed)
        }
        Err(e) => {
            eprintln!("{file}: the recording does not replay: {e}");
            Ok(false)
        }
    }
}
