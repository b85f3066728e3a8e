//! OnyxChat's test harness, shared by the integration tests and benches of chat-core,
//! chat-server and chat-ffi (a `[dev-dependencies]` entry of each; never published).
//!
//! - [`TestServer`]: the real chat-server started in-process on an ephemeral port with a
//!   temporary data directory, creating apps and users through its admin API.
//! - [`Api`]: a small JSON REST client acting as a user (a bearer token) or as the app's
//!   backend (api key and secret).
//! - [`token`] and [`expired_token`]: user tokens as the app's backend mints them.
//! - [`fixtures`]: ids, cids, query encoding and local messages.
//! - [`workload`]: a deterministic random workload of REST writes.
//! - [`nodes`]: several nodes on one PostgreSQL database through NATS (the test cluster
//!   and broker, a fresh database, a node that can be killed abruptly).
//!
//! Rules: the harness speaks to the server only as a client would (HTTP) or through
//! chat-server's public API (the store, to create apps or compact the log), and to the
//! test PostgreSQL cluster only to create a test's database; it never
//! depends on chat-core, whose tests use it (a dev-dependency cycle would give those
//! tests two distinct copies of chat-core's types). Whatever needs chat-core's types
//! (fault-injecting transports, cache replica checks) lives in chat-core's own tests.
//! Every helper asserts what it needs (a failed request panics with the server's answer),
//! so a test reads as its scenario.

pub mod api;
pub mod fixtures;
pub mod nodes;
pub mod server;
pub mod token;
pub mod workload;

pub use api::Api;
pub use fixtures::{cid, free_port, local_message, new_id, urlencode};
pub use nodes::KillableNode;
pub use server::TestServer;
pub use token::{expired_token, token};
