//! [`SimTransport`]: the real reqwest transport with seeded faults. Every request draws
//! its fate from a [`SplitMix64`] seeded with the scenario seed, the client's index and
//! the client's request counter: fail before sending (a network error; the server never
//! sees the request), lose the reply after the server answered (mutating requests only),
//! a delay of 0 to 20 ms, or pass. Restarting a client bumps its generation: a request of
//! the stopped client still waiting out its delay is dropped, as if the process had died
//! with it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_core::backoff::SplitMix64;
use chat_core::client::{
    BoxFuture, HttpMethod, HttpReply, HttpRequest, NetworkError, ReqwestTransport, Transport,
};

/// Chance that a request fails before it is sent.
pub const FAIL_BEFORE_SENDING: f64 = 0.15;
/// Chance that a mutating request's reply is lost after the server applied it.
pub const LOSE_REPLY: f64 = 0.10;
/// Largest injected delay.
pub const MAX_DELAY_MS: u64 = 20;

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Fails with a network error without reaching the server.
    FailBeforeSending,
    /// Reaches the server; its reply is replaced with a network error.
    LoseReply,
    /// Goes through.
    Pass,
}

/// The fate and delay of request number `n` of client `client` in scenario `seed`: a
/// pure function, so a seed always injects the same faults into the same request.
pub fn decide(seed: u64, client: u64, n: u64, method: HttpMethod) -> (Fate, Duration) {
    let mut rng = SplitMix64::new(
        seed ^ client.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ n.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    // Always three draws, so the decision does not depend on earlier branches.
    let fail = rng.chance(FAIL_BEFORE_SENDING);
    let lose = rng.chance(LOSE_REPLY);
    let delay = Duration::from_millis(rng.below(MAX_DELAY_MS + 1));
    let fate = if fail {
        Fate::FailBeforeSending
    } else if lose && method != HttpMethod::Get {
        Fate::LoseReply
    } else {
        Fate::Pass
    };
    (fate, delay)
}

/// Counters of what the transport did.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Requests the client made.
    pub requests: AtomicU64,
    /// Failed before sending (injected).
    pub failed: AtomicU64,
    /// Replies lost after the server answered (injected).
    pub lost: AtomicU64,
    /// Requests refused because the client was offline.
    pub offline: AtomicU64,
    /// Requests of a stopped client generation, dropped after their delay.
    pub dropped: AtomicU64,
}

/// See the [module documentation](self).
pub struct SimTransport {
    inner: ReqwestTransport,
    seed: u64,
    client: u64,
    counter: AtomicU64,
    faults: AtomicBool,
    offline: AtomicBool,
    generation: Arc<AtomicU64>,
    in_flight: Arc<AtomicUsize>,
    pub stats: Arc<NetStats>,
    /// Every request and its fate, when tracing.
    pub log: Option<Mutex<Vec<String>>>,
}

impl SimTransport {
    /// A transport for client number `client` of scenario `seed`, with faults on.
    pub fn new(base: &str, seed: u64, client: u64, trace: bool) -> Arc<Self> {
        Arc::new(Self {
            inner: ReqwestTransport::new(base).expect("reqwest transport"),
            seed,
            client,
            counter: AtomicU64::new(0),
            faults: AtomicBool::new(true),
            offline: AtomicBool::new(false),
            generation: Arc::new(AtomicU64::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            stats: Arc::new(NetStats::default()),
            log: trace.then(|| Mutex::new(Vec::new())),
        })
    }

    /// Turns fault injection (failures, lost replies, delays) on or off.
    pub fn set_faults(&self, on: bool) {
        self.faults.store(on, Ordering::SeqCst);
    }

    /// Cuts (or restores) the network: every request fails at once.
    pub fn set_offline(&self, offline: bool) {
        self.offline.store(offline, Ordering::SeqCst);
    }

    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::SeqCst)
    }

    /// The client was stopped: requests of the old generation still waiting are dropped.
    pub fn next_generation(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Requests started and not finished yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }
}

/// Counts a request as in flight until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Transport for SimTransport {
    fn execute(&self, request: HttpRequest) -> BoxFuture<Result<HttpReply, NetworkError>> {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let (fate, delay) = if self.faults.load(Ordering::SeqCst) {
            decide(self.seed, self.client, n, request.method)
        } else {
            (Fate::Pass, Duration::ZERO)
        };
        let offline = self.is_offline();
        if let Some(log) = &self.log {
            let what = if offline { "offline" } else { "" };
            log.lock().unwrap().push(format!(
                "#{n} {:?} {} {fate:?} {delay:?} {what}",
                request.method, request.path
            ));
        }
        if offline {
            self.stats.offline.fetch_add(1, Ordering::Relaxed);
            return Box::pin(async { Err(NetworkError("offline".into())) });
        }
        let guard = InFlight::new(&self.in_flight);
        let generation = self.generation.clone();
        let started = generation.load(Ordering::SeqCst);
        let stats = self.stats.clone();
        // reqwest sends nothing before the future is polled.
        let send = self.inner.execute(request);
        Box::pin(async move {
            let _guard = guard;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if generation.load(Ordering::SeqCst) != started {
                stats.dropped.fetch_add(1, Ordering::Relaxed);
                return Err(NetworkError("the client stopped".into()));
            }
            match fate {
                Fate::FailBeforeSending => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    Err(NetworkError("injected: connection failed".into()))
                }
                Fate::LoseReply => {
                    let reply = send.await;
                    stats.lost.fetch_add(1, Ordering::Relaxed);
                    Err(NetworkError(format!(
                        "injected: reply lost (server answered {:?})",
                        reply.map(|r| r.status)
                    )))
                }
                Fate::Pass => send.await,
            }
        })
    }
}
