//! chat-core's integration tests, one binary (one link instead of one per file; tests of
//! every module run concurrently on the harness's threads). Each module is one suite,
//! against the real chat-server in-process unless it says otherwise:
//!
//! - `cache_sync`, `sync_driver`: the cache and the sync driver; replicas equal the
//!   server's views, failures apply nothing, resets keep unsent work.
//! - `client`, `distinct`: `ChatClient` end to end (outbox, sync, paging, tokens) and
//!   distinct conversations.
//! - `engine_blocking`: the engine's disk waits never stop the runtime's other tasks.
//! - `crash_safety`: a child process killed with `SIGKILL` while it sends (this binary
//!   re-executes itself as the child).
//! - `engine_sim`: three clients doing seeded random operations with injected faults.
//! - `outbox_engine`, `outbox_sim`: the sans-I/O outbox engine, under a simulated server.
//! - `outbox_live`: `ChatClient::live_outbox` and the outbox held while the network is
//!   reported unreachable.
//! - `realtime`, `realtime_chaos`, `realtime_props`, `proxy_selftest`: realtime delivery,
//!   under a fault-injecting proxy, property tests of the frame decoder and of pushed
//!   changes, and the proxy's own checks.
//! - `stars`: stars end to end (offline, restart, other device, refusal) and the starred
//!   list beyond the cached window.
//! - `two_nodes`: two chat-server nodes on one PostgreSQL database through NATS, clients on
//!   each behind a test load balancer: what one does reaches the other live, and a node
//!   killed mid-send loses nothing (needs `ONYXCHAT_TEST_DATABASE_URL` and
//!   `ONYXCHAT_TEST_NATS_URL`, which `cargo xtask test` sets).
//!
//! Rules: a test owns everything it starts (its server on an ephemeral port, its temporary
//! directories, its runtime), so tests never share process state; knobs are environment
//! variables read, never set (`SIM_SEED`, `OUTBOX_SEED`, `CHAOS_SEED`, `CRASH_SEED`, ...);
//! helpers shared by several modules live in [`support`] or in the `chat-test` crate.
//! Run one suite with `cargo test -p chat-core --test integration <module>::`.

mod support;

mod cache_sync;
mod call_order;
mod channel_list;
mod channel_state;
mod client;
mod crash_safety;
mod distinct;
mod engine_blocking;
mod engine_sim;
mod members;
mod outbox_engine;
mod outbox_live;
mod outbox_sim;
mod proxy_selftest;
mod quotes;
mod realtime;
mod realtime_chaos;
mod realtime_props;
mod search;
mod stars;
mod sync_driver;
mod two_nodes;
