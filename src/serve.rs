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
    let (tx, rx) = std::sync::mpsc::channel();
    let control_tx = tx.clone();
    std::thread::spawn(move || server::control::run(control, scenario, control_tx));
    server::serve::serve(spec, &config, listeners, (tx, rx));
    Ok(true)
}
