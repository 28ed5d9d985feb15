//! `kafka-lab serve` against real clients: kcat (Debian's, librdkafka 2.0.2), confluent-kafka
//! 2.16.1 (librdkafka 2.16) and kafka-python 3.0.12. The clients are installed by
//! `scripts/install-test-clients.sh` (run once per test binary); a client that cannot be found
//! or installed fails the test, it is never skipped. Each test serves on its own ports, below
//! Linux's ephemeral range (32768-60999), so no client's own socket can hold one.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Install the clients once; panics (fails the test) when they cannot be had.
fn clients() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let status = Command::new("bash")
            .arg(repo().join("scripts/install-test-clients.sh"))
            .status()
            .expect("bash runs");
        assert!(status.success(), "scripts/install-test-clients.sh failed");
        repo().join("target/clients-venv/bin/python")
    })
}

/// A `kafka-lab serve` process on `base..base+2`, stopped when dropped.
pub struct Served {
    child: Child,
    pub base: u16,
}

impl Served {
    pub fn start(base: u16, extra: &[&str]) -> Served {
        let child = Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
            .args(["serve", "--listen", &format!("127.0.0.1:{base}")])
            .args(["--control", &format!("127.0.0.1:{}", base + 5)])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(Self::log(base)).expect("a log file in target/"))
            .spawn()
            .expect("kafka-lab serve starts");
        let mut served = Served { child, base };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(served.addr(3)).is_err() {
            if let Ok(Some(status)) = served.child.try_wait() {
                let stderr = std::fs::read_to_string(Self::log(base)).unwrap_or_default();
                panic!("serve on {base} exited ({status}): {stderr}");
            }
            assert!(
                Instant::now() < deadline,
                "serve did not listen on {base}.."
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Let the brokers register and the controller elect leaders (simulated = real time).
        std::thread::sleep(Duration::from_millis(1500));
        served
    }

    /// Where the served process's stderr goes.
    fn log(base: u16) -> PathBuf {
        repo().join(format!("target/serve-test-{base}.log"))
    }

    pub fn addr(&self, broker: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.base + broker - 1))
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.base)
    }

    /// Every broker, so a client reaches the cluster with any one of them down.
    pub fn bootstrap_all(&self) -> String {
        (0..3)
            .map(|i| format!("127.0.0.1:{}", self.base + i))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn control(&self) -> String {
        format!("127.0.0.1:{}", self.base + 5)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kcat(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new("kcat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat runs (installed by scripts/install-test-clients.sh)");
    let mut input = child.stdin.take().expect("piped");
    if let Some(bytes) = stdin {
        input.write_all(bytes).expect("kcat reads stdin");
    }
    drop(input);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kcat {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("kcat output")
}

#[test]
fn kcat_lists_produces_1000_lines_and_consumes_them() {
    clients();
    let served = Served::start(29092, &[]);
    let b = served.bootstrap();
    let list = kcat(&["-b", &b, "-L"], None);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{listing}");
    assert!(listing.contains("3 brokers:"), "{listing}");
    assert!(listing.contains("broker 2 at 127.0.0.1:29093"), "{listing}");
    // serve starts with no topics: the first produce creates `test` (auto.create.topics.enable).
    assert!(!listing.contains("topic \"test\""), "{listing}");
    let lines: Vec<String> = (0..1000).map(|i| format!("line-{i}")).collect();
    let input = lines.join("\n") + "\n";
    let produce = kcat(
        &["-b", &b, "-P", "-t", "test", "-X", "acks=all"],
        Some(input.as_bytes()),
    );
    assert!(
        produce.status.success(),
        "{}",
        String::from_utf8_lossy(&produce.stderr)
    );
    let list = kcat(&["-b", &b, "-L", "-t", "test"], None);
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(
        listing.contains("topic \"test\" with 3 partitions"),
        "created with serve's num.partitions: {listing}"
    );
    let consume = kcat(
        &["-b", &b, "-C", "-t", "test", "-o", "beginning", "-e", "-q"],
        None,
    );
    assert!(
        consume.status.success(),
        "{}",
        String::from_utf8_lossy(&consume.stderr)
    );
    let mut read: Vec<String> = String::from_utf8_lossy(&consume.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    read.sort();
    let mut want = lines.clone();
    want.sort();
    assert_eq!(read, want, "every line once");
}

#[test]
fn kcat_produces_with_every_codec() {
    clients();
    let served = Served::start(29102, &[]);
    let b = served.bootstrap();
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let input: String = (0..100).map(|i| format!("{codec}-{i}\n")).collect();
        let args = [
            "-b", &b, "-P", "-t", "orders", "-z", codec, "-X", "acks=all",
        ];
        let produce = kcat(&args, Some(input.as_bytes()));
        assert!(
            produce.status.success(),
            "{codec}: {}",
            String::from_utf8_lossy(&produce.stderr)
        );
    }
    let consume = kcat(
        &[
            "-b",
            &b,
            "-C",
            "-t",
            "orders",
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    let out = String::from_utf8_lossy(&consume.stdout);
    for codec in ["gzip", "snappy", "lz4", "zstd"] {
        let n = out
            .lines()
            .filter(|l| l.starts_with(&format!("{codec}-")))
            .count();
        assert_eq!(n, 100, "{codec}");
    }
}

fn python_client(client: &str, served: &Served, topic: &str, n: u32) -> String {
    let output = Command::new(clients())
        .arg(repo().join("tests/clients/produce_consume.py"))
        .args([client, &served.bootstrap(), topic, &n.to_string()])
        .output()
        .expect("python runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{client}: {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

#[test]
fn confluent_kafka_idempotent_producer_and_reader() {
    let served = Served::start(29112, &[]);
    let report = python_client("confluent", &served, "test", 500);
    assert!(report.contains("\"acked\": 500"), "{report}");
}

#[test]
fn kafka_python_producer_and_reader() {
    let served = Served::start(29122, &[]);
    let report = python_client("kafka-python", &served, "test", 500);
    assert!(report.contains("\"acked\": 500"), "{report}");
}

fn failover(client: &str, base: u16) -> String {
    run_script("failover.py", client, base, "1500")
}

fn run_script(script: &str, client: &str, base: u16, n: &str) -> String {
    let served = Served::start(base, &[]);
    let args = [
        client,
        &served.bootstrap_all(),
        &served.control(),
        "orders",
        n,
    ];
    python(script, client, &args)
}

/// Run `tests/clients/SCRIPT ARGS...` with the installed clients; its stdout, which must say
/// it succeeded (exit 0).
fn python(script: &str, client: &str, args: &[&str]) -> String {
    let output = Command::new(clients())
        .arg(repo().join("tests/clients").join(script))
        .args(args)
        .output()
        .expect("python runs");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{client}: {report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// The leader of orders-0 is crashed through the control port a third of the way through
/// 1,500 idempotent acks=all sends: every acknowledged record is read back exactly once.
#[test]
fn confluent_kafka_idempotent_producer_survives_a_leader_crash() {
    let report = failover("confluent", 29162);
    assert!(report.contains("\"acked\": 1500"), "{report}");
    assert!(report.contains("\"duplicates\": 0"), "{report}");
}

/// The same with kafka-python's defaults (idempotent, so acks=all).
#[test]
fn kafka_python_defaults_survive_a_leader_crash() {
    let report = failover("kafka-python", 29172);
    assert!(report.contains("\"duplicates\": 0"), "{report}");
}

/// A group of 2 confluent-kafka consumers (subscribe, synchronous commits) reads while the
/// idempotent acks=all producer writes and the leader of orders-0 is crashed through the
/// control port: every acknowledged record is consumed, none twice. The session, recorded,
/// replays to the live fingerprint, and the checker judges the real group as a group (its
/// fetch connections tied to it) and passes it.
#[test]
fn confluent_kafka_group_of_two_reads_everything_once_through_a_leader_crash() {
    let dir = repo().join("target/serve-group-test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("session.toml");
    let served = Served::start(29182, &["--record", file.to_str().unwrap()]);
    let args = [
        "confluent",
        &served.bootstrap_all(),
        &served.control(),
        "orders",
        "600",
    ];
    let report = python("group.py", "confluent", &args);
    assert!(report.contains("\"acked\": 600"), "{report}");
    assert!(report.contains("\"consumed\": 600"), "{report}");
    let live = live_fingerprint(served);
    let verdict = assert_replays_to(&file, &live);
    let group = verdict
        .lines()
        .find(|l| l.starts_with("group group-confluent-"))
        .unwrap_or_else(|| panic!("the group is judged: {verdict}"));
    assert!(
        !group.contains("fetch connections []"),
        "its fetch connections are tied to it: {group}"
    );
    assert!(verdict.contains(": pass ("), "{verdict}");
}

fn get_cluster(control: &str) -> String {
    let mut stream = TcpStream::connect(control).expect("control port");
    write!(
        stream,
        "GET /cluster HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    std::io::Read::read_to_string(&mut stream, &mut response).expect("control answers");
    response
}

fn replay(file: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafka-lab"))
        .arg("run")
        .arg(file)
        .output()
        .expect("kafka-lab run")
}

/// `serve --record`: a confluent-kafka session (idempotent producer, a reader, the leader of
/// orders-0 crashed through the control port) replays with `kafka-lab run` twice to the same
/// output, and each replay matches every fingerprint the live session gave on `GET /cluster`
/// (the script's own and one taken after it), the last one included.
#[test]
fn a_recorded_confluent_kafka_session_replays_to_the_live_fingerprint() {
    let dir = repo().join("target/serve-record-test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("session.toml");
    let served = Served::start(29192, &["--record", file.to_str().unwrap()]);
    let output = Command::new(clients())
        .arg(repo().join("tests/clients/failover.py"))
        .args([
            "confluent",
            &served.bootstrap_all(),
            &served.control(),
            "orders",
            "300",
        ])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let live = live_fingerprint(served);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("\"event\":\"fault\""),
        "the posted crash is recorded"
    );
    let report = assert_replays_to(&file, &live);
    // The real clients are judged as the lab's own, named by their client.id (set by the
    // script): every record the producer was told was acknowledged, the reader's consumption.
    assert!(
        report.contains("client lab-producer (connections ")
            && report.contains(", acknowledged 300, "),
        "{report}"
    );
    assert!(
        report.contains("client lab-reader (connections "),
        "{report}"
    );
}

/// The fingerprint `GET /cluster` gives (recorded as a mark), then the session is stopped.
fn live_fingerprint(served: Served) -> String {
    let cluster = get_cluster(&served.control());
    drop(served);
    cluster
        .split("\"fingerprint\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("GET /cluster has the fingerprint")
        .to_owned()
}

/// `kafka-lab run FILE` twice: the same output, ending at the live fingerprint `live`, with
/// every recorded mark matched and a verdict that passes. Returns the report.
fn assert_replays_to(file: &Path, live: &str) -> String {
    let first = replay(file);
    let second = replay(file);
    let report = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(first.stdout, second.stdout, "two replays differ");
    assert!(
        report.contains(&format!("fingerprint {live}")),
        "{report}\nlive: {live}"
    );
    assert!(!report.contains("fingerprints matched: 0;"), "{report}");
    assert!(report.contains("verdict at "), "{report}");
    report
}

/// The same with kafka-python 3.0.12's defaults. After the leader change kafka-python
/// validates its positions with OffsetForLeaderEpoch (KIP-320) whether or not the broker
/// advertises it, and fetches nothing from a partition until it has: before the lab served
/// it, the crashed leader's partition silently stopped at about 470 of 600 records.
#[test]
fn kafka_python_group_of_two_reads_everything_once_through_a_leader_crash() {
    let report = run_script("group.py", "kafka-python", 29202, "600");
    assert!(report.contains("\"acked\": 600"), "{report}");
    assert!(report.contains("\"consumed\": 600"), "{report}");
}

/// The admin APIs through a real admin client (`tests/clients/admin.py`): create a topic with a
/// config and be refused TOPIC_ALREADY_EXISTS (36) and INVALID_REPLICATION_FACTOR (38);
/// describe the topic's and broker 1's configs (value and source); list and describe a
/// consumer group of one while it is Stable (client id, assignment); delete the topic and an
/// unknown one (3), after which the topic is gone from the metadata.
fn admin(client: &str, base: u16) -> String {
    let served = Served::start(base, &[]);
    python("admin.py", client, &[client, &served.bootstrap_all()])
}

#[test]
fn confluent_kafka_admin_client_creates_describes_and_deletes() {
    let report = admin("confluent", 29212);
    assert!(report.contains("\"failed\": []"), "{report}");
}

#[test]
fn kafka_python_admin_client_creates_describes_and_deletes() {
    let report = admin("kafka-python", 29222);
    assert!(report.contains("\"failed\": []"), "{report}");
}

/// A recorded session of both admin clients (topics created with configs and refused, configs
/// described, a group listed and described, topics deleted) replays twice to the same output
/// and to the live fingerprint: the admin APIs, automatic creation and deletion are as
/// deterministic as the data path.
#[test]
fn a_recorded_admin_session_replays_to_the_live_fingerprint() {
    let dir = repo().join("target/serve-record-test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("admin-session.toml");
    let served = Served::start(29232, &["--record", file.to_str().unwrap()]);
    for client in ["confluent", "kafka-python"] {
        python("admin.py", client, &[client, &served.bootstrap_all()]);
    }
    let live = live_fingerprint(served);
    let report = assert_replays_to(&file, &live);
    // The scripts delete the topics they produced to: those records went with their topics,
    // which is allowed, and none is reported lost.
    assert!(report.contains("topic-deleted (allowed)"), "{report}");
    assert!(!report.contains("lost-write"), "{report}");
}

/// DeleteRecords (21) through confluent-kafka's AdminClient (`tests/clients/delete_records.py`):
/// records below offset 4 of orders-0 are deleted, the low watermark and a consumer from
/// earliest start there. The recorded session replays to the live fingerprint, and the checker
/// counts the deleted records as allowed `expired-unread` by `DeleteRecords`, none as lost.
#[test]
fn confluent_kafka_delete_records_moves_the_low_watermark_and_is_judged_allowed() {
    let dir = repo().join("target/serve-record-test");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("delete-records-session.toml");
    let served = Served::start(29312, &["--record", file.to_str().unwrap()]);
    let report = python(
        "delete_records.py",
        "confluent",
        &["confluent", &served.bootstrap_all(), "orders"],
    );
    assert!(report.contains("\"failed\": []"), "{report}");
    let live = live_fingerprint(served);
    let verdict = assert_replays_to(&file, &live);
    assert!(verdict.contains("expired-unread"), "{verdict}");
    assert!(
        verdict.contains("DeleteRecords) before any consumer read them"),
        "{verdict}"
    );
    assert!(!verdict.contains("lost-write"), "{verdict}");
}
