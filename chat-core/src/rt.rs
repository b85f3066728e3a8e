//! The async runtime seam: spawning tasks, timers and work that blocks its thread, so the
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

/// Runs `f`, which blocks its thread (SQLite commits: an `fsync` each), without holding
/// up the runtime's other tasks. On a multi-threaded tokio runtime the worker hands its
/// queued tasks to another thread first ([`tokio::task::block_in_place`]): otherwise a
/// task spawned just before — the request that carries a message, which tokio keeps in
/// the worker's next-task slot where no other worker may steal it — waits for the whole
/// commit, and two blocked workers stall every socket and timer of the app (and, in one
/// process, of the server). Elsewhere (a current-thread runtime, the browser) `f` just runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    #[cfg(not(target_arch = "wasm32"))]
    if tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread)
    {
        return tokio::task::block_in_place(f);
    }
    f()
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
