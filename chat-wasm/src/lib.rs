//! chat-wasm: chat-core for browsers through wasm-bindgen, run inside a dedicated Web
//! Worker (`@onyxchat/core` starts it). Conversion only — every behaviour lives in
//! chat-core:
//! - [`storage`]: the cache on OPFS through SQLite's SyncAccessHandle-pool VFS, or in
//!   memory where OPFS is unavailable (reported through `WasmClient.storage`);
//! - [`client`]: `WasmClient`, chat-core's client with promise-returning calls and the
//!   host's token function;
//! - [`live`]: live queries delivering chat-core's diff batches to JS callbacks, with
//!   cancellable subscriptions and pageable message windows;
//! - [`error`]: chat-core's error kinds as JS `Error`s with a `kind` (never one generic
//!   string);
//! - `marks`: `performance.mark`s of the start-up phases (OPFS pool, cache open).
//!
//! Values cross as plain JS objects with chat-core's serde shape (the wire format's
//! snake_case field names, RFC 3339 times), so the JS SDK sees what the REST API returns.
//! On targets other than wasm32 the crate is empty.

#![cfg(target_arch = "wasm32")]

pub mod channel_state;
pub mod client;
pub mod error;
pub mod live;
mod marks;
pub mod search;
pub mod starred;
pub mod storage;
mod typescript;
#[cfg(test)]
mod typescript_tests;
mod values;

pub use client::WasmClient;
pub use live::{WasmSubscription, WasmWindow};
pub use starred::WasmStarred;
