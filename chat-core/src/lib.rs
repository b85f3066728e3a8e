//! chat-core: the OnyxChat offline-first engine shared by every platform.
//!
//! Floors, from the ground up (docs/architecture.md draws them; `layers.rs` checks that
//! no import runs up a floor):
//! - [`net`], [`clock`], [`backoff`]: the I/O seams (HTTP [`net::Transport`], WebSocket
//!   [`net::Connector`]), time as the machines see it ([`clock::Millis`]), retry timing
//!   and the seeded PRNG.
//! - [`cache`]: the local SQLite cache — synced entities, the sync cursor and the durable
//!   outbox — with numbered migrations. Sync pages are applied in one transaction together
//!   with the cursor they cover.
//! - [`outbox`]: the sans-I/O outbox engine — per-channel FIFO of local mutations,
//!   coalescing, error classification and retry with backoff — driven by inputs
//!   (API results, clock ticks) and returning effects, so it runs deterministically in tests.
//! - [`sync`]: the sans-I/O sync driver — pulls `/v1/sync` page by page, never moving the
//!   cursor past what is applied, with resets, token refresh and retry with backoff.
//! - [`realtime`]: the WebSocket connection as a sans-I/O state machine (connect,
//!   catch-up, reconnect with backoff, watchdog, token renewal).
//! - [`live`]: live queries — lists delivered as an initial reset then minimal diffs, with
//!   the outbox laid over the cache so the UI shows the user's actions at once.
//! - `engine` (private): the one owner of the cache and the machines, and the driver (on
//!   a thread of its own) that is the only road to the network.
//! - [`client`]: [`client::ChatClient`], the facade an app holds.

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
