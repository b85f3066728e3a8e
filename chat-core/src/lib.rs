//! chat-core: the OnyxChat offline-first engine shared by every platform.
//!
//! Layers (see docs/architecture.md as it grows):
//! - [`cache`]: the local SQLite cache — synced entities, the sync cursor and the durable
//!   outbox — with numbered migrations. Sync pages are applied in one transaction together
//!   with the cursor they cover.
//! - [`outbox`]: the sans-I/O outbox engine — per-channel FIFO of local mutations,
//!   coalescing, error classification and retry with backoff — driven by inputs
//!   (API results, clock ticks) and returning effects, so it runs deterministically in tests.
//! - [`sync`]: the sans-I/O sync driver — pulls `/v1/sync` page by page, never moving the
//!   cursor past what is applied, with resets, token refresh and retry with backoff.
//! - [`live`]: live queries — lists delivered as an initial reset then minimal diffs, with
//!   the outbox laid over the cache so the UI shows the user's actions at once.
//! - [`realtime`]: the WebSocket connection as a sans-I/O state machine (connect,
//!   catch-up, reconnect with backoff, watchdog, token renewal) behind a small socket seam.
//! - [`client`]: [`client::ChatClient`], which runs all of the above on a driver task with
//!   an HTTP transport and a token provider.

pub mod backoff;
pub mod cache;
pub mod client;
pub mod clock;
mod engine;
#[cfg(test)]
mod layers;
pub mod live;
pub mod net;
pub mod outbox;
pub mod realtime;
mod rt;
pub mod sync;
