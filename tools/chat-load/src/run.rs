//! One whole run against one node or several ([`Target`]s serving one app): the floor, the
//! users and channels, the N sockets spread over the nodes (with each node's RSS before and
//! after), a warm-up, then one step per rate with the sends spread over the nodes, each
//! step judged on its own deliveries; the result is a [`Report`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::conns::{ConnectStats, Shared, connect_all};
use crate::floor::{self, FloorReport};
pub use crate::nodes::Memory;
use crate::nodes::{self, CpuMeter, NodeReport};
use crate::process::Target;
use crate::sender::{SendStats, Sender};
use crate::setup::{self, Layout};
use crate::stats::{Percentiles, summarize};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Users, one WebSocket each.
    pub users: usize,
    /// Channels; users are spread evenly over them.
    pub channels: usize,
    /// Send rates (messages per second), one step each, in order.
    pub rates: Vec<f64>,
    /// Seconds each step sends.
    pub step_secs: f64,
    /// Seconds of warm-up at the first rate before the steps (0: none).
    pub warmup_secs: f64,
    /// Connects in flight at once.
    pub connect_in_flight: usize,
    /// Send requests in flight at once.
    pub send_in_flight: usize,
    /// HTTP clients (connection pools) the sends spread over.
    pub http_clients: usize,
    /// Longest wait for a step's deliveries after its last answer (seconds).
    pub drain_secs: f64,
    /// Wait after the connects before reading RSS (presence events settle).
    pub settle_secs: f64,
    /// Floor round trips.
    pub floor_round_trips: usize,
    /// Floor frame size in bytes.
    pub floor_frame_bytes: usize,
    /// A step is sustained when its delivery p99 is below this (ms) with every delivery in.
    pub p99_limit_ms: f64,
    /// Run every rate even after a step that was not sustained.
    pub keep_going: bool,
    /// Latency from each message's scheduled send instant instead of its request's start.
    pub from_schedule: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            users: 1_000,
            channels: 10,
            rates: vec![100.0, 500.0, 1_000.0],
            step_secs: 10.0,
            warmup_secs: 3.0,
            connect_in_flight: 200,
            send_in_flight: 256,
            http_clients: 8,
            drain_secs: 10.0,
            settle_secs: 3.0,
            floor_round_trips: 10_000,
            floor_frame_bytes: 300,
            p99_limit_ms: 100.0,
            keep_going: false,
            from_schedule: false,
        }
    }
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// Target rate (messages per second).
    pub rate: f64,
    /// Whether this is the warm-up (never counts as sustained).
    pub warmup: bool,
    /// What the sends did.
    pub send: SendStats,
    /// Messages per second actually started.
    pub achieved_rate: f64,
    /// Pushes of this step's messages received.
    pub delivered: usize,
    /// Of those, pushes received on another node than the one the message was sent
    /// through (compare with `send.cross_node_expected`).
    pub cross_node_delivered: usize,
    /// Delivery latency (send instant → push parsed by the receiving socket).
    pub latency: Percentiles,
    /// Sockets that ended during the step.
    pub dropped: usize,
    /// Server CPU over the step and its drain, in % of one core: all nodes together (when
    /// every node's pid is known).
    pub server_cpu_pct: Option<f64>,
    /// Each node's CPU over the same time, in node order (`None` without its pid).
    pub node_cpu_pct: Vec<Option<f64>>,
    /// This tool's CPU over the same time, in % of one core.
    pub tool_cpu_pct: Option<f64>,
    /// Delivered all expected pushes, p99 under the limit, no errors, no drops.
    pub sustained: bool,
}

/// A whole run's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Users (sockets wanted).
    pub users: usize,
    /// Channels.
    pub channels: usize,
    /// Members of the largest channel.
    pub members_per_channel: usize,
    /// Seconds each step sent.
    pub step_secs: f64,
    /// The p99 limit of a sustained step (ms).
    pub p99_limit_ms: f64,
    /// Whether latency runs from scheduled instants (else from request starts).
    pub from_schedule: bool,
    /// Seconds to create the users and channels.
    pub setup_secs: f64,
    /// The connects.
    pub connect: ConnectStats,
    /// Server memory, all nodes together, when every node's pid is known.
    pub memory: Option<Memory>,
    /// Each node: its URL, pid, sockets and memory (one entry with one node).
    pub nodes: Vec<NodeReport>,
    /// Warm-up and steps, in order.
    pub steps: Vec<StepReport>,
    /// The loopback echo floor.
    pub floor: FloorReport,
    /// The highest rate sustained by it and every lower step.
    pub highest_sustained_rate: Option<f64>,
    /// Sockets that ended during the whole run, and the first reasons.
    pub dropped: usize,
    /// The first reasons sockets ended.
    pub drop_reasons: Vec<String>,
    /// `/proc/loadavg` at the start and at the end.
    pub loadavg: (String, String),
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Runs the floor, the setup, the connects and the steps against the nodes `targets`
/// (one, or several serving the same app from one database): the sockets and the sends are
/// spread over them ([`Layout::node_of`], [`Layout::send_node`]).
pub async fn run(targets: &[Target], cfg: &Config) -> anyhow::Result<Report> {
    let Some(target) = targets.first() else {
        anyhow::bail!("no server to run against");
    };
    if targets.iter().any(|t| t.app.app_id != target.app.app_id) {
        anyhow::bail!("every node must serve the same app");
    }
    if cfg.channels == 0 || cfg.users < cfg.channels {
        anyhow::bail!("every channel needs a member: --users must be at least --channels (≥ 1)");
    }
    if cfg.rates.iter().any(|r| !(r.is_finite() && *r > 0.0)) || cfg.step_secs <= 0.0 {
        anyhow::bail!("rates and --step-secs must be positive");
    }
    let load_start = loadavg();
    let floor = floor::measure(cfg.floor_round_trips, cfg.floor_frame_bytes).await?;
    let layout = Layout {
        users: cfg.users,
        channels: cfg.channels.max(1),
    };
    let started = Instant::now();
    setup::create(&reqwest::Client::new(), target, layout).await?;
    let setup_secs = started.elapsed().as_secs_f64();
    let tokens = (0..cfg.users)
        .map(|i| setup::user_token(&target.app, &Layout::user_id(i), 6 * 3600))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let node_of: Vec<usize> = (0..cfg.users)
        .map(|i| layout.node_of(i, targets.len()))
        .collect();
    let ws_urls: Vec<String> = targets.iter().map(Target::ws_url).collect();
    let rss_before = nodes::rss_kb(targets)?;
    let shared = Arc::new(Shared::default());
    let (held, connect) =
        connect_all(&ws_urls, &tokens, &node_of, cfg.connect_in_flight, &shared).await;
    tokio::time::sleep(Duration::from_secs_f64(cfg.settle_secs)).await;
    let node_reports = nodes::reports(targets, &rss_before, &connect.per_node)?;
    let memory = nodes::total_memory(&node_reports);

    let base_urls: Vec<String> = targets.iter().map(|t| t.base_url.clone()).collect();
    let mut sender = Sender::new(
        &base_urls,
        Arc::new(tokens),
        layout,
        cfg.http_clients,
        cfg.send_in_flight,
        cfg.from_schedule,
    )?;
    let mut plan: Vec<(f64, f64, bool)> = Vec::new();
    if cfg.warmup_secs > 0.0
        && let Some(&first) = cfg.rates.first()
    {
        plan.push((first, cfg.warmup_secs, true));
    }
    plan.extend(cfg.rates.iter().map(|&r| (r, cfg.step_secs, false)));
    let mut steps = Vec::new();
    for planned in plan.into_iter().enumerate() {
        let step = run_step(&mut sender, &shared, cfg, targets, planned).await;
        let failed = !step.warmup && !step.sustained;
        steps.push(step);
        if failed && !cfg.keep_going {
            break;
        }
    }
    let highest_sustained_rate = steps
        .iter()
        .filter(|s| !s.warmup)
        .take_while(|s| s.sustained)
        .map(|s| s.rate)
        .fold(None, |best: Option<f64>, r| {
            Some(best.map_or(r, |b| b.max(r)))
        });
    let dropped = shared.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let drop_reasons = shared
        .drop_reasons
        .lock()
        .map(|r| r.clone())
        .unwrap_or_default();
    drop(held);
    Ok(Report {
        users: cfg.users,
        channels: layout.channels,
        members_per_channel: (0..layout.channels)
            .map(|j| layout.member_count(j))
            .max()
            .unwrap_or(0),
        step_secs: cfg.step_secs,
        p99_limit_ms: cfg.p99_limit_ms,
        from_schedule: cfg.from_schedule,
        setup_secs,
        connect,
        memory,
        nodes: node_reports,
        steps,
        floor,
        highest_sustained_rate,
        dropped,
        drop_reasons,
        loadavg: (load_start, loadavg()),
    })
}

/// Sends one step, then waits until its deliveries are in (or `drain_secs` pass).
async fn run_step(
    sender: &mut Sender,
    shared: &Shared,
    cfg: &Config,
    targets: &[Target],
    (index, (rate, secs, warmup)): (usize, (f64, f64, bool)),
) -> StepReport {
    let dropped_before = shared.dropped.load(std::sync::atomic::Ordering::Relaxed);
    let cpu = CpuMeter::start(targets);
    let send = sender.run_step(index, rate, secs).await;
    let deadline = Instant::now() + Duration::from_secs_f64(cfg.drain_secs);
    while shared.recorder.count(index) < send.expected_deliveries && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu.stop();
    let (samples, cross_node_delivered) = shared.recorder.take(index);
    let latency = summarize(samples);
    let dropped = shared.dropped.load(std::sync::atomic::Ordering::Relaxed) - dropped_before;
    let errors = send.rate_limited + send.http_errors + send.transport_errors;
    let sustained = !warmup
        && latency.count == send.expected_deliveries
        && latency.p99_ms < cfg.p99_limit_ms
        && errors == 0
        && dropped == 0;
    StepReport {
        rate,
        warmup,
        achieved_rate: send.sent.saturating_sub(1) as f64 / send.send_secs.max(1e-9),
        delivered: latency.count,
        cross_node_delivered,
        send,
        latency,
        dropped,
        server_cpu_pct: cpu.servers,
        node_cpu_pct: cpu.nodes,
        tool_cpu_pct: cpu.tool,
        sustained,
    }
}
