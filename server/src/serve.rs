//! The wall-clock half of `serve`: sockets, threads and pacing. Simulated time follows real
//! time: every few milliseconds the world runs to the milliseconds elapsed since start, and a
//! request enters it at the millisecond after it arrived. One thread owns the engine; each
//! connection has a reader (frames, decoding, bad input) and a writer thread.

use crate::api::Advertised;
use crate::engine::{Command, ConnId, Engine, Out};
use crate::frame::{read_frame, SOCKET_REQUEST_MAX_BYTES};
use crate::request::{self, RequestError};
use broker_core::{BrokerId, Time};
use sim::{World, WorldSpec};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A session that never ends by itself: ten years of simulated time.
pub const SESSION_MS: u64 = 10 * 365 * 24 * 3_600_000;

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Broker 1's address; broker N listens on the port N - 1 above it.
    pub listen: SocketAddr,
}

/// What the engine thread receives: client traffic, or a control request.
pub enum Envelope {
    /// From a connection.
    Client(Command),
    /// A request of the control port, run against the engine.
    Control(Box<dyn FnOnce(&mut Engine) + Send>),
}

/// Prepare a scenario's world spec for a live session: no end, no event budget, and
/// `__consumer_offsets` even when the scenario's own clients use no group, since real clients
/// may (the lab creates it up front, as `run` does for a scenario with groups).
pub fn live_spec(mut spec: WorldSpec) -> WorldSpec {
    let offsets = broker_core::Topic::new(broker_core::group::OFFSETS_TOPIC);
    if !spec.topics.iter().any(|t| t.topic == offsets) {
        spec.topics
            .extend(scenarios::offsets_topic(&spec.cluster, spec.brokers));
    }
    spec.duration_ms = SESSION_MS;
    spec.drain_ms = 0;
    spec.events_max = u64::MAX;
    spec
}

/// Bind every broker's port: an error names the port that could not be bound.
pub fn bind(config: &ServeConfig, brokers: u32) -> std::io::Result<Vec<(BrokerId, TcpListener)>> {
    (1..=brokers)
        .map(|b| {
            let mut addr = config.listen;
            addr.set_port(config.listen.port() + b as u16 - 1);
            let listener = TcpListener::bind(addr).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} for broker-{b}: {e}"),
                )
            })?;
            Ok((BrokerId(b), listener))
        })
        .collect()
}

/// Serve until the process is stopped. `envelopes` carries control requests too (its
/// sender is cloned for the listeners).
pub fn serve(
    spec: WorldSpec,
    config: &ServeConfig,
    listeners: Vec<(BrokerId, TcpListener)>,
    envelopes: (Sender<Envelope>, Receiver<Envelope>),
    recorder: Option<crate::record::Recorder>,
) {
    let mut pacer = start(spec, config, listeners, envelopes, recorder);
    while pacer.pace(5) {}
}

/// Accept connections from now on and build the engine; the caller paces it ([`Pacer::pace`]),
/// on the thread that owns it (`serve`, or the UI's loop for `serve --tui`).
pub fn start(
    spec: WorldSpec,
    config: &ServeConfig,
    listeners: Vec<(BrokerId, TcpListener)>,
    envelopes: (Sender<Envelope>, Receiver<Envelope>),
    recorder: Option<crate::record::Recorder>,
) -> Pacer {
    let (tx, rx) = envelopes;
    let counter = Arc::new(AtomicU32::new(0));
    for (broker, listener) in listeners {
        let tx = tx.clone();
        let counter = Arc::clone(&counter);
        std::thread::spawn(move || accept(broker, listener, tx, counter));
    }
    drop(tx);
    let advertised = Advertised {
        host: config.listen.ip().to_string(),
        base_port: config.listen.port(),
    };
    let mut engine = Engine::new(World::new(live_spec(spec)), advertised);
    if let Some(recorder) = recorder {
        engine.set_recorder(recorder);
    }
    Pacer {
        engine,
        rx,
        start: Instant::now(),
    }
}

/// The engine, paced by the wall clock: simulated time is the milliseconds since it started.
pub struct Pacer {
    engine: Engine,
    rx: Receiver<Envelope>,
    start: Instant,
}

impl Pacer {
    /// Run the world to the wall clock, then take what arrived, waiting for it until the next
    /// event but at most `max_wait_ms` (5 ms keeps answers prompt). False once nothing can
    /// arrive any more.
    pub fn pace(&mut self, max_wait_ms: u64) -> bool {
        let target = Time(self.start.elapsed().as_millis() as u64);
        self.engine.run_until(target);
        let next = self.engine.world().next_time();
        let wait = next.0.saturating_sub(target.0).clamp(1, max_wait_ms.max(1));
        match self.rx.recv_timeout(Duration::from_millis(wait)) {
            Ok(envelope) => {
                take(&mut self.engine, envelope);
                while let Ok(envelope) = self.rx.try_recv() {
                    take(&mut self.engine, envelope);
                }
                self.engine.flush_recording();
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    /// The engine (its world is the served cluster).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, to inject into (`serve --tui`'s fault keys).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}

fn take(engine: &mut Engine, envelope: Envelope) {
    match envelope {
        Envelope::Client(command) => engine.handle(command),
        Envelope::Control(run) => run(engine),
    }
}

fn accept(broker: BrokerId, listener: TcpListener, tx: Sender<Envelope>, counter: Arc<AtomicU32>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let conn = counter.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = open(broker, conn, stream, &tx) {
            eprintln!("serve: connection {conn} to broker-{broker}: {e}");
        }
    }
}

fn open(
    broker: BrokerId,
    conn: ConnId,
    stream: TcpStream,
    tx: &Sender<Envelope>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let peer = stream.peer_addr()?;
    let (out_tx, out_rx) = mpsc::channel();
    let name = format!("client-{conn} ({peer})");
    let connect = Command::Connect {
        conn,
        broker,
        name,
        out: out_tx,
    };
    if tx.send(Envelope::Client(connect)).is_err() {
        return Ok(());
    }
    let writer = stream.try_clone()?;
    std::thread::spawn(move || write_loop(writer, out_rx));
    let tx = tx.clone();
    std::thread::spawn(move || read_loop(conn, stream, tx));
    Ok(())
}

fn write_loop(mut stream: TcpStream, rx: Receiver<Out>) {
    for out in rx {
        match out {
            Out::Frame(frame) => {
                if stream.write_all(&frame).is_err() {
                    break;
                }
            }
            Out::Close => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Read frames until the client leaves or sends something unusable; the engine is told
/// either way, and only this connection closes.
fn read_loop(conn: ConnId, mut stream: TcpStream, tx: Sender<Envelope>) {
    loop {
        let frame = match read_frame(&mut stream, SOCKET_REQUEST_MAX_BYTES) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                eprintln!("serve: connection {conn}: {e}; closing it");
                break;
            }
        };
        let command = match frame_command(conn, frame) {
            Ok(command) => command,
            Err(e) => {
                eprintln!("serve: connection {conn}: {e}; closing it");
                break;
            }
        };
        if tx.send(Envelope::Client(command)).is_err() {
            return;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    let _ = tx.send(Envelope::Client(Command::Disconnect { conn }));
}

/// What a request frame becomes for the engine: a request, or an answer the reader gives on
/// its own (a too-new ApiVersions). `Err` closes the connection. The replay of a recording
/// (`record.rs`) turns its frames into commands here too.
pub fn frame_command(conn: ConnId, frame: bytes::Bytes) -> Result<Command, String> {
    match request::decode(frame.clone()) {
        Ok(request) => Ok(Command::Request {
            conn,
            request: Box::new(request),
            raw: frame,
        }),
        Err(RequestError::ApiVersionsTooNew { correlation_id, .. }) => {
            let body = request::api_versions_response(crate::errors::code::unsupported_version());
            let answer = request::encode_response(
                kafka_protocol::messages::ApiKey::ApiVersions,
                0,
                correlation_id,
                &body,
            )
            .map_err(|e| e.to_string())?;
            Ok(Command::Answer {
                conn,
                frame: answer,
                raw: frame,
            })
        }
        Err(e) => Err(e.to_string()),
    }
}
