//! chat-server's integration tests, one binary (one link instead of one per file; tests of
//! every module run concurrently on the harness's threads), each against a real server
//! (in-process from the `chat-test` harness, or the `chat-server` binary in `cli`):
//!
//! - `api_rest`, `api_messages`, `api_sync`: every REST endpoint, messages, threads,
//!   reactions and read state, and `/v1/sync`.
//! - `realtime`, `centrifuge_interop`: `/connection/websocket` in the raw Centrifuge JSON
//!   protocol, and with the official Centrifuge Rust client.
//! - `cli`: the binary as users run it (`app create`, `token`, `serve --dev`).
//! - `cli_limits`: the binary's rate-limit options (`serve --write-rate-per-user` and the
//!   rest, `app limits` on SQLite and PostgreSQL).
//! - `conformance`, `store_conformance`: the storage conformance suite every `Store`
//!   backend expands, and its expansions for SQLite and PostgreSQL.
//! - `backend_parity`: one script on SQLite and on PostgreSQL, every sync page compared.
//! - `postgres`: what only the PostgreSQL backend must prove (commit order under
//!   concurrent writers on several nodes, idempotent sends across nodes, the binary on a
//!   database), against the test cluster in `ONYXCHAT_TEST_DATABASE_URL`.
//! - `nats`: several nodes on one PostgreSQL database sharing realtime events and presence
//!   through the NATS broker in `ONYXCHAT_TEST_NATS_URL` (fan-out, presence across nodes,
//!   a dead node's users going offline within the bound).
//! - `shared_limits`: rate limits shared by the nodes of one PostgreSQL database (the
//!   limiter's statement against its algorithm, exact under concurrency, one burst for a
//!   user whose requests alternate between two nodes).
//! - `postgres_read_cost`: every hot query of the PostgreSQL backend is an index range of
//!   the user's own data, on a big, skewed app's data before and after `ANALYZE`.
//! - `security`: the adversarial suite (every row of docs/protocol.md's security tables).
//!
//! Rules: a test owns everything it starts (its server on an ephemeral port, its temporary
//! directories, its child processes), so tests never share process state; nothing here
//! sets environment variables or the current directory. Run one suite with
//! `cargo test -p chat-server --test integration <module>::`.

mod conformance;

mod api_messages;
mod api_rest;
mod api_sync;
mod backend_parity;
mod centrifuge_interop;
pub mod cli;
mod cli_limits;
mod nats;
pub mod ops;
pub mod postgres;
mod postgres_read_cost;
mod realtime;
mod security;
mod shared_limits;
pub mod store_conformance;
