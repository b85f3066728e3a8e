//! OnyxChat wire protocol: every type that crosses the network between `chat-server`
//! and the SDKs (REST bodies, `/v1/sync` diffs and the Centrifuge-protocol realtime frames).
//!
//! This crate is the contract. Its JSON shape is pinned by snapshot tests
//! (`tests/snapshots`), so any change to it is a deliberate, reviewed change.
//! It has no I/O and builds for every SDK target (native, iOS, Android, wasm).

pub mod error;
pub mod ids;
pub mod limits;
pub mod models;
pub mod realtime;
pub mod requests;
pub mod search;
pub mod sync;
pub mod time;
pub mod token;

pub use error::{ErrorAction, ErrorBody, ErrorCode};
pub use ids::{Cid, IdError};
pub use models::*;
pub use requests::*;
pub use search::*;
pub use sync::*;
pub use time::Timestamp;
