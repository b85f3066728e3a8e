//! The async runtime seam: spawning tasks, timers and the engine's own thread, so the
//! same engine runs on tokio natively and on the browser's event loop in wasm
//! (`wasm32-unknown-unknown`, where tokio's runtime and timers do not exist). Everything
//! else in chat-core uses only runtime-independent pieces (`tokio::sync` channels,
//! `tokio::select!`).

use std::future::Future;
use std::time::Duration;

#[cfg(not(target_arch = "wasm32"))]
pub use tokio::time::Instant;
#[cfg(target_arch = "wasm32")]
pub use wasmtimer::std::Instant;

/// Runs `fut` in the background (a tokio task natively, a microtask-driven local future
/// in the browser: wasm is single-threaded, so nothing there needs `Send`).
pub fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    #[cfg(not(target_arch = "wasm32"))]
    drop(tokio::spawn(fut));
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(fut);
}

/// Where the engine's network I/O runs: the runtime the client was built on (natively),
/// the browser's event loop (wasm). The engine itself runs elsewhere (see [`run_engine`]),
/// so a request never waits behind one of its commits.
#[derive(Clone)]
pub(crate) struct Spawner {
    #[cfg(not(target_arch = "wasm32"))]
    handle: Option<tokio::runtime::Handle>,
}

impl Spawner {
    /// The runtime of the calling task (natively: none outside a runtime, and then I/O
    /// runs on the engine's own thread).
    pub(crate) fn current() -> Self {
        Self {
            #[cfg(not(target_arch = "wasm32"))]
            handle: tokio::runtime::Handle::try_current().ok(),
        }
    }

    /// Runs `fut` in the background there.
    pub(crate) fn spawn(&self, fut: impl Future<Output = ()> + Send + 'static) {
        #[cfg(not(target_arch = "wasm32"))]
        if let Some(handle) = &self.handle {
            drop(handle.spawn(fut));
            return;
        }
        spawn(fut);
    }
}

/// Runs the engine's driver, whose every step commits to SQLite (an `fsync` each).
///
/// Natively it gets a thread of its own with a single-threaded runtime for its channels
/// and timers: a commit never blocks one of the app's runtime workers — nor the request
/// the step just spawned, which would otherwise wait in that worker's next-task slot —
/// and needs no `block_in_place` hand-over (18 µs of a 220 µs local echo, BENCHMARKS §3).
/// The database work never runs on the caller's (UI) thread either. The thread ends when
/// `driver` returns (shutdown, or every client handle dropped).
///
/// In the browser (one thread) it is a local future on the event loop.
pub(crate) fn run_engine(driver: impl Future<Output = ()> + Send + 'static) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let started = std::thread::Builder::new()
            .name("onyxchat-engine".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build()
                {
                    Ok(runtime) => runtime.block_on(driver),
                    // No runtime, no engine: the client's calls answer `Closed`.
                    Err(_) => drop(driver),
                }
            });
        // No thread (the process is out of them): the same — calls answer `Closed`.
        drop(started);
    }
    #[cfg(target_arch = "wasm32")]
    wasm_bindgen_futures::spawn_local(driver);
}

/// Waits until `deadline`.
pub async fn sleep_until(deadline: Instant) {
    #[cfg(not(target_arch = "wasm32"))]
    tokio::time::sleep_until(deadline).await;
    #[cfg(target_arch = "wasm32")]
    wasmtimer::tokio::sleep_until(deadline).await;
}

/// `fut`'s output, or `None` if it takes longer than `limit`.
pub async fn timeout<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    #[cfg(not(target_arch = "wasm32"))]
    return tokio::time::timeout(limit, fut).await.ok();
    #[cfg(target_arch = "wasm32")]
    return wasmtimer::tokio::timeout(limit, fut).await.ok();
}
