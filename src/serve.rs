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
    /// Show the served cluster in the UI (real clients as nodes named by their client.id); its
    /// fault keys act on the served cluster as `POST /faults` does.
    #[arg(long)]
    tui: bool,
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
    let mut spec = scenario.world_spec()?;
    // The UI's message-flow view draws the traced messages (tracing never changes a run).
    spec.trace_messages = args.tui;
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
    let control_scenario = scenario.clone();
    std::thread::spawn(move || server::control::run(control, control_scenario, control_tx));
    if !args.tui {
        server::serve::serve(spec, &config, listeners, (tx, rx), recorder);
        return Ok(true);
    }
    let pacer = server::serve::start(spec, &config, listeners, (tx, rx), recorder);
    let served = ServedEngine {
        pacer,
        scenario: scenario.clone(),
    };
    let app = tui::App::served(scenario, Box::new(served))?;
    tui::run(app)?;
    Ok(true)
}

/// The served engine as the UI sees it: this thread owns it, the UI loop lets it run.
struct ServedEngine {
    pacer: server::serve::Pacer,
    scenario: scenarios::Scenario,
}

impl tui::served::Served for ServedEngine {
    fn world(&self) -> &sim::World {
        self.pacer.engine().world()
    }

    fn pump(&mut self) {
        self.pacer.pace(5);
    }

    /// The fault as the object `POST /faults` takes (no `at_ms`), through the same path.
    fn inject(&mut self, fault: &scenarios::Fault) -> Result<broker_core::Time, String> {
        let mut posted = serde_json::to_value(fault).map_err(|e| e.to_string())?;
        if let Some(object) = posted.as_object_mut() {
            object.remove("at_ms");
        }
        server::control::inject(self.pacer.engine_mut(), posted, &self.scenario)
    }
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
