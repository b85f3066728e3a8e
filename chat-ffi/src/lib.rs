//! chat-ffi: chat-core for Kotlin (Android, JVM) and Swift (iOS) through uniffi.
//!
//! Conversion only — every behaviour lives in chat-core, so each platform gets it once:
//! - [`ChatClient`]: the client object (async calls, run on the crate's own tokio
//!   runtime, so hosts need no Rust runtime of their own);
//! - live queries cross as listener callbacks receiving batches of diffs (a `Reset`
//!   first) and return a [`Subscription`] that cancels on `cancel()`/`close()` or when the
//!   host's GC drops it; listeners are called from a background thread, never under a lock, and a
//!   slow listener never blocks the engine;
//! - errors cross as the typed [`ChatError`], one variant per chat-core error kind.

mod client;
mod error;
mod runtime;
mod subscription;
mod types;

pub use client::{ChatClient, ClientConfig, TokenProvider};
pub use error::{ChatError, TokenFetchError};
pub use subscription::{
    ChannelListListener, ConnectionListener, MessageListListener, Subscription,
};
pub use types::*;

uniffi::setup_scaffolding!();
