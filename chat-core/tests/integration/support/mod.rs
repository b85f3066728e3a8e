//! The chat-core side of the test harness: whatever needs chat-core's types, which the
//! shared `chat-test` crate (the server, the REST client, tokens, fixtures) must not
//! depend on.
//!
//! - [`cache`]: a file cache per user, the sync driver over REST, a dump of every row.
//! - [`replica`]: the check that a cache equals the server's REST views.
//! - [`client`]: clients with a fault-switching transport, fast retries, bounded waits.
//! - [`proxy`]: a fault-injecting TCP proxy for realtime tests.

pub mod cache;
pub mod client;
pub mod proxy;
pub mod replica;
