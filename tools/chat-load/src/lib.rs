//! chat-load: a load generator for `chat-server`.
//!
//! It holds N authenticated WebSockets (one per user, users spread evenly over M channels),
//! sends messages through REST at fixed rates, and measures how many pushes arrive and how
//! late, next to a floor measured in the same run (a raw loopback WebSocket echo). The
//! server is one node (SQLite or PostgreSQL) or several nodes on one PostgreSQL database
//! sharing realtime through NATS: then the sockets and the sends are spread over the nodes
//! so that each channel's members sit on different nodes, and the pushes that crossed from
//! one node to another are counted exactly, like every other push.
//!
//! - [`process`]: the server processes (spawned or attached), their RSS and CPU time, the
//!   fd limit.
//! - [`nodes`]: per-node sockets, memory and CPU, and their totals.
//! - [`setup`]: users, channels and user tokens, through the server-side REST API.
//! - [`conns`]: the N sockets: bounded concurrent connects, one reader task per socket.
//! - [`sender`]: messages at a fixed rate through a pool of HTTP clients.
//! - [`stats`]: the shared clock, latency samples and percentiles.
//! - [`floor`]: the loopback echo floor.
//! - [`run`](mod@run): one whole run (setup, connects, ramp) and its [`run::Report`].
//! - [`report`]: the report as a markdown table.

pub mod conns;
pub mod floor;
pub mod nodes;
pub mod process;
pub mod report;
pub mod run;
pub mod sender;
pub mod setup;
pub mod stats;

pub use process::{SpawnedServer, Target};
pub use run::{Config, Report, run};
