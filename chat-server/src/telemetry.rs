//! Prometheus metrics: the one list of what the server measures, and the process-wide
//! recorder that holds it.
//!
//! Rules:
//! - Every metric is named here ([`names`]) with its labels; label values come from closed
//!   sets (a route's *template*, an HTTP method, a status code, a store operation kind),
//!   never from user input, so a hostile client cannot grow the series without bound.
//! - Recording is always on; without a recorder it costs building the labels and a no-op
//!   call. The recorder is installed once per process, by the first server started with
//!   `metrics_addr` ([`install`]); several in-process servers (tests) share it.
//! - Metrics are served only on the separate metrics listener (`--metrics-addr`), never on
//!   the public API port: they describe the whole deployment, not one app.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};

/// Metric names (each documented with its labels).
pub mod names {
    /// Counter, labels `route`, `method`, `status`: HTTP requests answered.
    pub const HTTP_REQUESTS: &str = "onyxchat_http_requests_total";
    /// Histogram (seconds), labels `route`, `method`: time to answer an HTTP request.
    pub const HTTP_DURATION: &str = "onyxchat_http_request_duration_seconds";
    /// Gauge: realtime WebSocket sessions open now.
    pub const WS_CONNECTIONS: &str = "onyxchat_websocket_connections";
    /// Counter, label `kind` (`durable` | `ephemeral`): publications pushed to sockets.
    pub const PUSHES: &str = "onyxchat_pushes_total";
    /// Counter: `/v1/sync` pages served.
    pub const SYNC_PAGES: &str = "onyxchat_sync_pages_total";
    /// Histogram (seconds), label `op` (`write` | `read`): store transactions, including
    /// the wait for a connection.
    pub const STORE_DURATION: &str = "onyxchat_store_duration_seconds";
    /// Gauge: store writes waiting for the single writer (the write queue's depth).
    pub const STORE_WRITES_WAITING: &str = "onyxchat_store_writes_waiting";
}

/// Histogram buckets (seconds): 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
pub fn install() -> Result<PrometheusHandle, BuildError> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let recorder = PrometheusBuilder::new()
        .set_buckets(BUCKETS)?
        .build_recorder();
    let handle = recorder.handle();
    // Another thread may have won the race: keep the first handle and recorder.
    if HANDLE.set(handle).is_ok() {
        metrics::set_global_recorder(recorder)?;
        describe();
    }
    Ok(HANDLE.get().cloned().expect("set above"))
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        names::HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        names::HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request."
    );
    describe_gauge!(
        names::WS_CONNECTIONS,
        "Realtime WebSocket sessions open now."
    );
    describe_counter!(names::PUSHES, "Publications pushed to WebSocket sessions.");
    describe_counter!(names::SYNC_PAGES, "/v1/sync pages served.");
    describe_histogram!(
        names::STORE_DURATION,
        Unit::Seconds,
        "Store transactions, waiting included."
    );
    describe_gauge!(
        names::STORE_WRITES_WAITING,
        "Store writes waiting for the single writer."
    );
}

/// The Prometheus text exposition of everything recorded (empty before [`install`]).
pub fn render() -> String {
    HANDLE.get().map_or_else(String::new, |h| {
        h.run_upkeep();
        h.render()
    })
}

/// Records one answered HTTP request (`route`: the matched template, or `unmatched`).
pub fn http_request(route: String, method: &'static str, status: u16, took: Duration) {
    counter!(names::HTTP_REQUESTS, "route" => route.clone(), "method" => method,
        "status" => status.to_string())
    .increment(1);
    histogram!(names::HTTP_DURATION, "route" => route, "method" => method)
        .record(took.as_secs_f64());
}

/// Holds a gauge one higher until dropped: an open WebSocket session
/// ([`InGauge::sessions`]), a store write waiting for the writer ([`InGauge::waiting_writes`]).
#[derive(Debug)]
pub struct InGauge(&'static str);

impl InGauge {
    fn enter(name: &'static str) -> Self {
        gauge!(name).increment(1.0);
        Self(name)
    }

    /// A WebSocket session opened.
    pub fn sessions() -> Self {
        Self::enter(names::WS_CONNECTIONS)
    }

    /// A store write starts waiting for the writer.
    pub fn waiting_writes() -> Self {
        Self::enter(names::STORE_WRITES_WAITING)
    }
}

impl Drop for InGauge {
    fn drop(&mut self) {
        gauge!(self.0).decrement(1.0);
    }
}

/// Records `durable` and `ephemeral` publications pushed to one socket.
pub fn pushed(durable: u64, ephemeral: u64) {
    if durable > 0 {
        counter!(names::PUSHES, "kind" => "durable").increment(durable);
    }
    if ephemeral > 0 {
        counter!(names::PUSHES, "kind" => "ephemeral").increment(ephemeral);
    }
}

/// Records a served sync page.
pub fn sync_page() {
    counter!(names::SYNC_PAGES).increment(1);
}

/// Records a store transaction (`op`: `write` or `read`).
pub fn store_op(op: &'static str, took: Duration) {
    histogram!(names::STORE_DURATION, "op" => op).record(took.as_secs_f64());
}
