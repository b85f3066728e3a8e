//! The tokio runtime every chat-ffi client runs on: created once per process, two worker
//! threads. Async exports hand their work to it and await the result, so the host's
//! executor (Kotlin coroutines, Swift tasks) never needs to be a tokio runtime.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("onyxchat")
            .enable_all()
            .build()
            .expect("the OnyxChat runtime starts")
    })
}

/// Runs `fut` on the runtime and waits for it from any executor.
pub(crate) async fn run<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
    match runtime().spawn(fut).await {
        Ok(value) => value,
        // A panic inside chat-core: re-raise it on the caller's side (uniffi turns it
        // into a host exception) rather than hide it.
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Spawns `fut` on the runtime (listener pumps).
pub(crate) fn spawn(fut: impl Future<Output = ()> + Send + 'static) -> tokio::task::JoinHandle<()> {
    runtime().spawn(fut)
}
