//! Crash safety of the durable outbox: a client process is killed with `SIGKILL` at random
//! points while it sends, restarted on the same data directory, killed again, many times;
//! at the end every message the app was told was queued is on the server exactly once and
//! in per-channel order.
//!
//! How it works. The test binary re-executes itself as the child: the parent runs
//! `current_exe() --exact crash_safety::child_sender --ignored --nocapture --test-threads=1` with
//! `CRASH_CHILD_*` variables set. In `send` mode the child ([`child_sender`]) builds a
//! [`ChatClient`] on the shared data directory and sends `m{n}` forever, numbered from
//! `CRASH_CHILD_START`, alternating `team:a` (even `n`) and `team:b` (odd `n`); each time
//! `send_message` returns `Ok` it prints `queued {n} {cid} {id}` and flushes. That line is
//! the acknowledgement: from then on the SDK promised the message is durable. Every other
//! child sends in a burst (the outbox piles up, so kills leave many acknowledged messages
//! undelivered); the others pause 1 to 4 ms after each send, so delivery keeps up and kills
//! land on requests in flight or on replies not yet recorded. The parent waits for a random
//! number of acknowledgements (1 to 15) plus a random delay (0 to 30 ms), kills the child
//! (`Child::kill`, `SIGKILL` on Unix), and starts the next child after the highest number
//! seen plus one: the child may have been inside `send_message(max + 1)` when it died, so
//! that number may reach the server although nobody acknowledged it (allowed) and is never
//! reused. Finally a child in `drain` mode restarts the client once more and waits until the
//! outbox is empty.
//!
//! What is proved, from the server's own listing of both channels:
//! 1. every acknowledged message is there exactly once, under its id (no loss), and no text
//!    `m{n}` appears twice (no duplicate under a new id);
//! 2. per channel, the acknowledged messages are in acknowledgement order, and all messages
//!    (acknowledged or not) are in increasing `n`: the outbox FIFO survives crashes;
//! 3. every server message is one a child generated, in its channel, by alice (no garbage).
//!
//! The run also checks that it tested something: more acknowledgements than iterations,
//! kills that left acknowledged messages undelivered, and children that delivered messages
//! before their kill (both counted from the server after each kill).
//!
//! Knobs: `CRASH_ITERATIONS` (default 25) and `CRASH_SEED` (default fixed, printed). The
//! seed (decimal or `0x` hex) fixes the kill schedule (how many acknowledgements, how long
//! after, the pace, the children's retry jitter); process timing still varies, so a failing
//! seed reproduces the schedule, not the exact interleaving. `--nocapture` shows a line per
//! kill:
//!
//! ```text
//! CRASH_SEED=0x5eed CRASH_ITERATIONS=100 cargo test -p chat-core --test integration crash_safety:: -- --nocapture
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chat_core::backoff::{BackoffConfig, SplitMix64};
use chat_core::client::{ChatClient, NewMessage, static_token};
use chat_core::outbox::OutboxConfig;
use chat_protocol::{Message, MessagesResponse};
use chat_server::auth::mint_user_token;
use chat_test::{Api, TestServer, cid};
use uuid::Uuid;

const ENV_MODE: &str = "CRASH_CHILD_MODE";
const ENV_URL: &str = "CRASH_CHILD_URL";
const ENV_APP: &str = "CRASH_CHILD_APP";
const ENV_TOKEN: &str = "CRASH_CHILD_TOKEN";
const ENV_DIR: &str = "CRASH_CHILD_DIR";
const ENV_START: &str = "CRASH_CHILD_START";
const ENV_SEED: &str = "CRASH_CHILD_SEED";
const ENV_PACE: &str = "CRASH_CHILD_PACE_MS";

const USER: &str = "alice";
const CHANNELS: [&str; 2] = ["team:a", "team:b"];
const DEFAULT_SEED: u64 = 0x0C0F_FEE5_EED5_2024;
const DEFAULT_ITERATIONS: u64 = 25;
/// Most acknowledgements waited for before a kill.
const MAX_ACKS_BEFORE_KILL: u64 = 15;
/// Longest extra delay after the last awaited acknowledgement, in ms.
const MAX_EXTRA_DELAY_MS: u64 = 30;
/// The child's pause after each send, in ms, drawn for every other child (the others send
/// in a burst, with no pause): bursts outrun delivery and pile up the outbox; a pace lets
/// delivery keep up, so kills land on requests in flight and replies not yet applied.
const PACES_MS: [u64; 3] = [1, 2, 4];

/// The channel of message number `n`.
fn channel_of(n: u64) -> &'static str {
    CHANNELS[(n % 2) as usize]
}

// ---------------------------------------------------------------------------------------
// The child process.
// ---------------------------------------------------------------------------------------

/// [`child_sender`]'s name as the test harness lists it: its module path without the
/// crate (`crash_safety::child_sender`).
fn child_test_name() -> String {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    format!("{module}::child_sender")
}

/// The child process of [`sigkill_at_random_points_loses_and_duplicates_nothing`]; does
/// nothing unless started by it (with `CRASH_CHILD_MODE` set).
#[test]
#[ignore = "child process of the crash-safety test"]
fn child_sender() {
    let Ok(mode) = std::env::var(ENV_MODE) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("child runtime");
    runtime.block_on(child_main(&mode));
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// Writes one protocol line to stdout and flushes it. A leading newline in `child_main`
/// separates the lines from libtest's `test child_sender ... ` prefix.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    // The parent is gone (broken pipe): stop at once rather than run on as an orphan.
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        std::process::exit(3);
    }
}

async fn child_main(mode: &str) {
    let seed: u64 = env(ENV_SEED).parse().expect("seed");
    let client = ChatClient::builder(&env(ENV_URL), &env(ENV_APP), USER)
        .data_dir(PathBuf::from(env(ENV_DIR)))
        .token_provider(static_token(env(ENV_TOKEN)))
        .outbox_config(OutboxConfig {
            max_in_flight: 4,
            max_batch: 1 + (seed % 100) as usize,
            backoff: BackoffConfig {
                base: Duration::from_millis(20),
                cap: Duration::from_millis(200),
            },
        })
        .seed(seed)
        .build()
        .await
        .expect("client starts");
    emit("");
    match mode {
        "send" => {
            let start: u64 = env(ENV_START).parse().expect("start");
            let pace = Duration::from_millis(env(ENV_PACE).parse().expect("pace"));
            let cids = CHANNELS.map(cid);
            // Bounded only as a safety net: the parent kills the child long before.
            let deadline = Instant::now() + Duration::from_secs(60);
            for n in start.. {
                assert!(Instant::now() < deadline, "child was never killed");
                let c = &cids[(n % 2) as usize];
                let id = client
                    .send_message(c, NewMessage::text(format!("m{n}")))
                    .await
                    .expect("send_message queues");
                emit(&format!("queued {n} {c} {id}"));
                if !pace.is_zero() {
                    tokio::time::sleep(pace).await;
                }
            }
        }
        "drain" => {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let status = client.status().await.expect("status");
                if status.outbox_len == 0 {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "outbox not drained in 30 s: {status:?}\n{:#?}",
                    client.outbox().await
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            emit("drained");
            client.shutdown().await;
        }
        other => panic!("unknown {ENV_MODE} {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The parent: driving children.
// ---------------------------------------------------------------------------------------

/// What every child needs to know.
#[derive(Clone)]
struct ChildEnv {
    url: String,
    app: String,
    token: String,
    dir: PathBuf,
}

/// A running child; killed and reaped if dropped (so a failing parent leaves no orphan).
struct ChildProc {
    child: Child,
    lines: Receiver<String>,
    reader: Option<JoinHandle<()>>,
}

impl ChildProc {
    fn spawn(env: &ChildEnv, mode: &str, plan: &Plan) -> Self {
        let exe = std::env::current_exe().expect("current exe");
        let mut child = Command::new(exe)
            .args([
                "--exact",
                &child_test_name(),
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV_MODE, mode)
            .env(ENV_URL, &env.url)
            .env(ENV_APP, &env.app)
            .env(ENV_TOKEN, &env.token)
            .env(ENV_DIR, &env.dir)
            .env(ENV_START, plan.start.to_string())
            .env(ENV_PACE, plan.pace_ms.to_string())
            .env(ENV_SEED, plan.seed.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("child spawns");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The next stdout line, or `None` at end of output; panics after `deadline`.
    fn next_line(&mut self, deadline: Instant, what: &str) -> Option<String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => Some(line),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}"),
        }
    }

    /// Kills the child (`SIGKILL` on Unix), reaps it, and returns its exit status and the
    /// lines it wrote that were not read yet.
    fn kill(mut self) -> (ExitStatus, Vec<String>) {
        let _ = self.child.kill();
        let status = self.child.wait().expect("child reaped");
        // The pipe is closed now: the reader reaches end of output.
        if let Some(reader) = self.reader.take() {
            reader.join().expect("reader thread");
        }
        (status, self.lines.try_iter().collect())
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One acknowledged send: `send_message` returned `Ok(id)` for message `n` in `cid`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    n: u64,
    cid: String,
    id: Uuid,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let rest = line.strip_prefix("queued ")?;
    let mut parts = rest.split(' ');
    let (Some(n), Some(cid), Some(id), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("malformed ack line {line:?}");
    };
    Some(Ack {
        n: n.parse().expect("ack number"),
        cid: cid.to_owned(),
        id: id.parse().expect("ack id"),
    })
}

/// One send child's life: drawn from the seeded RNG.
#[derive(Debug, Clone, Copy, Default)]
struct Plan {
    /// The first message number.
    start: u64,
    /// Acknowledgements waited for before the kill.
    acks: u64,
    /// Delay after them before the kill.
    extra: Duration,
    /// The child's pause after each send (0: as fast as it can).
    pace_ms: u64,
    /// The child's retry-jitter seed.
    seed: u64,
}

impl Plan {
    fn draw(rng: &mut SplitMix64, start: u64, burst: bool) -> Self {
        let acks = 1 + rng.below(MAX_ACKS_BEFORE_KILL);
        let extra = Duration::from_millis(rng.below(MAX_EXTRA_DELAY_MS + 1));
        let pace = PACES_MS[rng.below(PACES_MS.len() as u64) as usize];
        Self {
            start,
            acks,
            extra,
            pace_ms: if burst { 0 } else { pace },
            seed: rng.next_u64(),
        }
    }
}

/// Runs one send child, kills it as `plan` says, and returns every acknowledgement it
/// printed, in order.
fn crash_once(env: &ChildEnv, plan: &Plan) -> Vec<Ack> {
    let mut child = ChildProc::spawn(env, "send", plan);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while (got.len() as u64) < plan.acks {
        match child.next_line(deadline, "acknowledgements") {
            Some(line) => got.extend(parse_ack(&line)),
            None => {
                let (status, _) = child.kill();
                panic!(
                    "the child stopped by itself ({status}) after {} acks",
                    got.len()
                );
            }
        }
    }
    std::thread::sleep(plan.extra);
    let (status, rest) = child.kill();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "the child died of SIGKILL: {status}"
        );
    }
    #[cfg(not(unix))]
    assert!(!status.success(), "the child was killed: {status}");
    got.extend(rest.iter().filter_map(|l| parse_ack(l)));
    got
}

/// Runs a drain child to completion.
fn drain(env: &ChildEnv, seed: u64) {
    let plan = Plan {
        seed,
        ..Plan::default()
    };
    let mut child = ChildProc::spawn(env, "drain", &plan);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        match child.next_line(deadline, "the drain") {
            Some(line) if line == "drained" => break,
            Some(_) => {}
            None => panic!("the drain child exited without draining"),
        }
    }
    let status = child.child.wait().expect("drain child reaped");
    assert!(status.success(), "drain child: {status}");
}

// ---------------------------------------------------------------------------------------
// The parent: the server side.
// ---------------------------------------------------------------------------------------

/// Every top-level message of `c` on the server, oldest first (paged backwards).
async fn server_messages(api: &Api, c: &str) -> Vec<Message> {
    let base = format!("/v1/channels/{}/messages?limit=200", c.replace(':', "/"));
    let mut page: MessagesResponse = api.fetch(&base).await;
    let mut all = page.messages;
    while page.has_more_before {
        let first = all
            .first()
            .expect("a page with more before is not empty")
            .id;
        page = api.fetch(&format!("{base}&before={first}")).await;
        assert!(!page.messages.is_empty(), "empty page before {first}");
        all.splice(0..0, page.messages.iter().cloned());
    }
    all
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            }
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}"))
        }
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_and_duplicates_nothing() {
    let seed = env_u64("CRASH_SEED", DEFAULT_SEED);
    let iterations = env_u64("CRASH_ITERATIONS", DEFAULT_ITERATIONS);
    println!("crash safety: CRASH_SEED={seed:#x} CRASH_ITERATIONS={iterations}");
    let started = Instant::now();
    let mut rng = SplitMix64::new(seed);

    let t = TestServer::start_with(|c| {
        c.rate_limit.per_second = 100_000.0;
        c.rate_limit.burst = 100_000;
        // The check after every kill pages through every message: at 1,000 kills that is
        // far more reads than a user's bucket allows, and reads are not what this tests.
        c.read_rate_limit = chat_server::config::RateLimit::UNLIMITED;
    })
    .await;
    let app = t.app_with_users(&[USER]).await;
    let api = t.user(&app, USER);
    for c in CHANNELS {
        api.create_channel(c, &[USER]).await;
    }
    let data_dir = tempfile::tempdir().expect("data dir");
    let env = ChildEnv {
        url: t.server.base_url(),
        app: app.app_id.clone(),
        token: mint_user_token(&app.app_id, &app.api_secret, USER, 3600),
        dir: data_dir.path().to_owned(),
    };

    // Every acknowledgement, in order; the numbers each child may have generated.
    let mut acks: Vec<Ack> = Vec::new();
    let mut generated: Vec<(u64, u64)> = Vec::new();
    let mut kills_with_undelivered = 0;
    let mut start = 1;
    let mut undelivered_before = 0;
    let mut delivered_while_alive = 0;
    for i in 0..iterations {
        let plan = Plan::draw(&mut rng, start, i % 2 == 0);
        let run_env = env.clone();
        let got = tokio::task::spawn_blocking(move || crash_once(&run_env, &plan))
            .await
            .expect("crash iteration");
        check_ack_sequence(&got, start);
        let last = got.last().expect("at least one ack").n;
        // `last + 1` may be durably queued without its line: never reuse it.
        generated.push((start, last + 1));
        start = last + 2;
        acks.extend(got.iter().cloned());

        // How many acknowledged messages were still undelivered when the child died, and
        // how many this child delivered (so kills landed amid deliveries).
        let on_server = all_server_ids(&api).await;
        let undelivered = acks.iter().filter(|a| !on_server.contains(&a.id)).count();
        let delivered = (undelivered_before + got.len()).saturating_sub(undelivered);
        if undelivered > 0 {
            kills_with_undelivered += 1;
        }
        if delivered > 0 {
            delivered_while_alive += 1;
        }
        undelivered_before = undelivered;
        println!(
            "iteration {i}: {} acks + {:?}, pace {} ms: got {} (m{}..=m{last}), \
             {delivered} acknowledged delivered, {undelivered} undelivered at the kill",
            plan.acks,
            plan.extra,
            plan.pace_ms,
            got.len(),
            got[0].n
        );
    }

    let drain_seed = rng.next_u64();
    let drain_env = env.clone();
    tokio::task::spawn_blocking(move || drain(&drain_env, drain_seed))
        .await
        .expect("drain");

    verify(&api, &acks, &generated).await;
    let total = acks.len() as u64;
    assert!(
        total > iterations,
        "only {total} acknowledgements in {iterations} iterations: the test proves little"
    );
    assert!(
        kills_with_undelivered > 0,
        "no kill left an acknowledged message undelivered: the test proves little"
    );
    assert!(
        delivered_while_alive > 0,
        "no child delivered anything before its kill: the test proves little"
    );
    println!(
        "crash safety: {iterations} kills, {total} acknowledged, {kills_with_undelivered} kills \
         with acknowledged messages undelivered, {delivered_while_alive} children delivered \
         before their kill, {:?}",
        started.elapsed()
    );
}

/// A child acknowledges `start, start + 1, …` in order, each in its channel.
fn check_ack_sequence(got: &[Ack], start: u64) {
    for (k, ack) in got.iter().enumerate() {
        assert_eq!(ack.n, start + k as u64, "acks in sequence: {got:?}");
        assert_eq!(ack.cid, channel_of(ack.n), "ack channel: {ack:?}");
    }
}

/// Every message id on the server, both channels.
async fn all_server_ids(api: &Api) -> BTreeSet<Uuid> {
    let mut ids = BTreeSet::new();
    for c in CHANNELS {
        ids.extend(server_messages(api, c).await.iter().map(|m| m.id));
    }
    ids
}

/// The final assertions, against the server's listing of both channels.
async fn verify(api: &Api, acks: &[Ack], generated: &[(u64, u64)]) {
    let was_generated = |n: u64| generated.iter().any(|&(lo, hi)| (lo..=hi).contains(&n));
    let mut text_seen: HashMap<u64, Uuid> = HashMap::new();
    let mut by_id: HashMap<Uuid, (String, u64)> = HashMap::new();
    let mut server_order: BTreeMap<&str, Vec<Uuid>> = BTreeMap::new();
    for c in CHANNELS {
        let messages = server_messages(api, c).await;
        let mut previous: Option<u64> = None;
        for m in &messages {
            // (3) No garbage: a number some child generated, in its channel, by alice.
            let n: u64 = m
                .text
                .strip_prefix('m')
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("unexpected text on the server: {m:?}"));
            assert!(was_generated(n), "m{n} was never generated: {m:?}");
            assert_eq!(channel_of(n), c, "m{n} in the wrong channel");
            assert_eq!(m.cid.to_string(), c);
            assert_eq!(m.user_id, USER);
            assert!(m.deleted_at.is_none(), "m{n} deleted");
            // (1) No duplicate, neither under the same id nor under a new one.
            assert!(
                by_id.insert(m.id, (c.to_owned(), n)).is_none(),
                "id {} listed twice",
                m.id
            );
            if let Some(other) = text_seen.insert(n, m.id) {
                panic!("m{n} is on the server twice: ids {other} and {}", m.id);
            }
            // (2) The outbox FIFO held across crashes: numbers increase per channel.
            assert!(
                previous.is_none_or(|p| p < n),
                "{c}: out of order, m{n} stored after m{}",
                previous.unwrap_or_default()
            );
            previous = Some(n);
        }
        server_order.insert(c, messages.iter().map(|m| m.id).collect());
    }

    // (1) Every acknowledged message is there, as itself.
    let missing: Vec<&Ack> = acks.iter().filter(|a| !by_id.contains_key(&a.id)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged messages lost, first ones: {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    for a in acks {
        assert_eq!(
            by_id[&a.id],
            (a.cid.clone(), a.n),
            "ack {a:?} stored as itself"
        );
    }
    // (2) Per channel, acknowledged messages in acknowledgement order.
    let acked: BTreeSet<Uuid> = acks.iter().map(|a| a.id).collect();
    for c in CHANNELS {
        let want: Vec<Uuid> = acks.iter().filter(|a| a.cid == c).map(|a| a.id).collect();
        let got: Vec<Uuid> = server_order[c]
            .iter()
            .copied()
            .filter(|id| acked.contains(id))
            .collect();
        assert_eq!(got, want, "{c}: server order of the acknowledged messages");
    }
    let unacked = by_id.len() - acks.len();
    println!(
        "server: {} messages, {} acknowledged, {unacked} queued but unacknowledged at a kill",
        by_id.len(),
        acks.len()
    );
}
