//! chat-ffi: chat-core for Kotlin (Android, JVM) and Swift (iOS) through uniffi.
//!
//! Conversion only — every behaviour lives in chat-core, so each platform gets it once:
//! - [`FfiClient`]: the client object, wrapped by the hand-written `ChatClient` of
//!   bindings-kotlin and bindings-swift. Its async calls run on the crate's own tokio
//!   runtime, so hosts need no Rust runtime of their own;
//! - live queries cross as listener callbacks receiving batches of diffs (a `Reset`
//!   first) and return a [`Subscription`] that cancels on `cancel()`/`close()` or when the
//!   host's GC drops it; listeners are called from a background thread, never under a lock, and a
//!   slow listener never blocks the engine;
//! - times cross as chat-protocol's `Timestamp`, a custom type the hosts see as their
//!   instant type (`java.time.Instant`, `Date`);
//! - errors cross as the typed [`ChatError`], one variant per chat-core error kind.

mod channel_state;
mod client;
mod diffs;
mod error;
mod live;
mod outbox;
mod runtime;
mod search;
mod starred;
mod subscription;
mod time;
mod types;

pub use channel_state::{
    ChannelListQuery, ChannelSort, Inclusion, TotalUnread, TotalUnreadListener,
};
pub use client::{ClientConfig, FfiClient, FfiTokenProvider};
pub use diffs::{ChannelDiff, MemberDiff, MessageDiff, ReadReceiptDiff};
pub use error::{ChatError, TokenFetchError};
pub use live::MessageWindow;
pub use outbox::{
    ChannelKind, ChannelUpdate, ClientStatus, MemberRole, NewChannel, OutboxEntry, OutboxState,
};
pub use search::{SearchHit, SearchPage, SearchServerPart, TextRange};
pub use starred::StarredList;
pub use subscription::{
    ChannelListListener, ConnectionListener, MemberListListener, MessageListListener,
    OutboxListener, PresenceListener, ReadReceiptListener, Subscription, TypingListener,
};
pub use types::*;

uniffi::setup_scaffolding!();
