//! Small values the tests build: message ids, cids, query encoding, local messages, free
//! ports.
//!
//! Rules: pure functions of their arguments (plus the clock and UUIDv7's randomness), no
//! I/O; a malformed input is a bug in the test and panics.

use chat_protocol::{Cid, Message, Timestamp};
use uuid::Uuid;

/// A fresh client-generated message id (a UUIDv7, as the SDK makes them).
pub fn new_id() -> String {
    Uuid::now_v7().to_string()
}

/// Parses a cid (`type:id`).
pub fn cid(s: &str) -> Cid {
    s.parse().unwrap()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A local echo as the SDK builds it before sending.
pub fn local_message(id: Uuid, cid: &str, user: &str, text: &str) -> Message {
    Message {
        id,
        cid: cid.parse().unwrap(),
        user_id: user.into(),
        text: text.into(),
        attachments: vec![],
        parent_id: None,
        quoted_message_id: None,
        mentioned_users: vec![],
        reaction_counts: Default::default(),
        reply_count: 0,
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        edited_at: None,
        deleted_at: None,
        rev: 0,
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for a server started as a process
/// with `--addr`).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
