//! Connections and transport: a hostile client must not exhaust the server or make it
//! hang for others. The rules this module owns (docs/protocol.md, "Connections and
//! transport"):
//!
//! - Connections over the total or per-address cap are shed at once with a JSON error and
//!   `connection: close`, and `/healthz` keeps answering other clients (`http`).
//! - A request head must arrive within the header timeout, or the connection is cut
//!   (`http`).
//! - A response to a request whose body was not read says `connection: close` (`http`).
//! - 414 and 431 (and hyper's 400) answers have JSON bodies (`http`).
//! - A WebSocket frame over 64 KiB closes with 3501; a client that stops reading gets 3008
//!   once it reads again (`ws`).
//! - WebSockets are capped overall (503) and per user (3504); connects are rate-limited per
//!   address (429) and per user (3013) (`ws`).
//! - A user flapping connections costs its peers one online/offline pair (`ws`).
//!
//! Every test sets small limits through `ServerConfig::transport` so it stays cheap.

mod http;
mod raw;
mod ws;
