//! The adversarial suite: chat-server as a hostile client meets it. Every row of the
//! "Security model" tables in docs/protocol.md has a test here, and each test failed
//! before the fix it guards. One module per area:
//!
//! - `app_limits`: an app's own rate limits are set with its server-side credentials
//!   only, bounded, and apply to its users only.
//! - `channel_state`: a member's own settings (hide, mute, archive) are changed by that
//!   member alone, with well-formed bodies only, and never leak to other members.
//! - `conversations`: who may create, open, join and take over a channel (distinct 1:1 and
//!   group conversations, get-or-create, adding members without consent).
//! - `transport`: timeouts, connection caps, load shedding, WebSocket limits and close codes,
//!   connect rate limits.
//! - `read_cost`: sync and other per-user reads cost what the user's own data costs, never
//!   the size of the app (query plans pinned).
//! - `search`: a search reads only the caller's current channels of the caller's app; its
//!   text, page size and cursor are bounded.
//! - `send_batch`: batch sends grant nothing a single send does not; their size and rate
//!   limits.
//! - `web`: CORS, static files, tokens' time claims, dev mode, existence oracles.
//! - `ops`: metrics off the API port with bounded series, request ids, readiness.

mod app_limits;
mod channel_state;
mod conversations;
mod ops;
mod read_cost;
mod search;
mod send_batch;
mod transport;
mod web;
