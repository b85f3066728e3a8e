//! Decoding server frames and encoding client commands of the realtime protocol (the
//! Centrifuge v2 JSON subset of docs/protocol.md, "Realtime"). Pure functions: a frame
//! either decodes completely into [`ServerMessage`]s or is rejected with a
//! [`FrameError`], so a malformed frame can never half-apply.

use chat_protocol::SyncChange;
use chat_protocol::realtime::{
    Command, ConnectInfo, ConnectRequest, EphemeralEvent, RealtimeEvent, RefreshRequest, Reply,
    ReplyError,
};

/// Largest server frame accepted (the server batches up to 64 pushes of at most a few
/// KiB each; anything far larger is not a frame of this protocol).
pub const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;

/// One decoded server message.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// `{}`: the server's ping; answer with [`pong`].
    Ping,
    /// The answer to `connect`.
    Connected {
        /// The command id answered.
        id: u32,
        /// Seconds until the token expires (0: no expiry announced).
        ttl: u32,
        /// Seconds between server pings.
        ping: u32,
        /// The connection's starting point.
        info: ConnectInfo,
    },
    /// The answer to `refresh`.
    Refreshed {
        /// The command id answered.
        id: u32,
        /// Seconds until the new token expires.
        ttl: u32,
    },
    /// A command failed.
    Error {
        /// The command id answered.
        id: u32,
        /// What went wrong.
        error: ReplyError,
    },
    /// A durable change (the same object `/v1/sync` returns).
    Change {
        /// The change.
        change: SyncChange,
        /// Its position in the connection's stream of durable changes (1, 2, …; 0 from a
        /// server that does not number them).
        offset: u64,
    },
    /// A typing or presence event.
    Ephemeral(EphemeralEvent),
}

/// A server frame that is not valid protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Larger than [`MAX_FRAME_BYTES`].
    #[error("frame of {0} bytes is too large")]
    TooLarge(usize),
    /// A line is not a valid reply object.
    #[error("undecodable frame line {line}: {reason}")]
    Malformed {
        /// 1-based line within the frame.
        line: usize,
        /// The decoder's message.
        reason: String,
    },
    /// A reply that carries nothing this client asked for or understands.
    #[error("unexpected reply on line {line}: {reason}")]
    Unexpected {
        /// 1-based line within the frame.
        line: usize,
        /// What was wrong.
        reason: String,
    },
}

/// Decodes one text frame: one or more JSON objects separated by `\n` (blank lines are
/// allowed). All or nothing: any bad line rejects the whole frame.
pub fn decode_frame(text: &str) -> Result<Vec<ServerMessage>, FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(text.len()));
    }
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with('{') {
            return Err(FrameError::Malformed {
                line: line_no,
                reason: "not a JSON object".into(),
            });
        }
        let reply: Reply = serde_json::from_str(line).map_err(|e| FrameError::Malformed {
            line: line_no,
            reason: e.to_string(),
        })?;
        out.push(classify(reply).map_err(|reason| FrameError::Unexpected {
            line: line_no,
            reason,
        })?);
    }
    if out.is_empty() {
        return Err(FrameError::Malformed {
            line: 1,
            reason: "empty frame".into(),
        });
    }
    Ok(out)
}

fn classify(reply: Reply) -> Result<ServerMessage, String> {
    if reply.is_ping() {
        return Ok(ServerMessage::Ping);
    }
    let Reply {
        id,
        error,
        connect,
        refresh,
        push,
    } = reply;
    let parts = usize::from(error.is_some())
        + usize::from(connect.is_some())
        + usize::from(refresh.is_some())
        + usize::from(push.is_some());
    if parts != 1 {
        return Err(format!("expected exactly one result, found {parts}"));
    }
    if let Some(push) = push {
        if id != 0 {
            return Err("a push must not carry an id".into());
        }
        let offset = push.publication.offset;
        return Ok(match push.publication.data {
            RealtimeEvent::Change(change) => ServerMessage::Change { change, offset },
            RealtimeEvent::Ephemeral(event) if offset == 0 => ServerMessage::Ephemeral(event),
            RealtimeEvent::Ephemeral(_) => {
                return Err("an ephemeral event must not carry an offset".into());
            }
        });
    }
    if id == 0 {
        return Err("a reply must carry the id of its command".into());
    }
    Ok(if let Some(error) = error {
        ServerMessage::Error { id, error }
    } else if let Some(c) = connect {
        ServerMessage::Connected {
            id,
            ttl: if c.expires { c.ttl } else { 0 },
            ping: c.ping,
            info: c.data,
        }
    } else if let Some(r) = refresh {
        ServerMessage::Refreshed {
            id,
            ttl: if r.expires { r.ttl } else { 0 },
        }
    } else {
        unreachable!("exactly one part is set")
    })
}

/// The `connect` command.
pub fn connect(id: u32, token: &str) -> String {
    encode(&Command {
        id,
        connect: Some(ConnectRequest {
            token: token.to_owned(),
            name: "onyxchat-core".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            other: Default::default(),
        }),
        ..Command::default()
    })
}

/// The `refresh` command.
pub fn refresh(id: u32, token: &str) -> String {
    encode(&Command {
        id,
        refresh: Some(RefreshRequest {
            token: token.to_owned(),
        }),
        ..Command::default()
    })
}

/// The answer to a server ping.
pub fn pong() -> String {
    "{}".to_owned()
}

fn encode(command: &Command) -> String {
    // Strings and maps of strings: serializing cannot fail.
    serde_json::to_string(command).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGE: &str = r#"{"push":{"channel":"chat:user:bob","pub":{"data":{"seq":7,"kind":"read","data":{"cid":"team:a","user_id":"ann","last_read_message_id":null,"last_read_at":"2024-01-01T00:00:00.000Z","rev":7}}}}}"#;

    #[test]
    fn a_batched_frame_decodes_in_order() {
        let text = format!(
            "{{}}\n{CHANGE}\n{}\n",
            r#"{"push":{"channel":"chat:user:bob","pub":{"data":{"kind":"presence","data":{"user_id":"ann","online":true}}}}}"#
        );
        let messages = decode_frame(&text).unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[0], ServerMessage::Ping);
        assert!(
            matches!(&messages[1], ServerMessage::Change { change, offset: 0 } if change.seq == 7)
        );
        assert!(matches!(&messages[2], ServerMessage::Ephemeral(_)));
    }

    #[test]
    fn connect_and_refresh_replies_decode() {
        let connect = r#"{"id":1,"connect":{"client":"c","version":"0.1.0","expires":true,"ttl":60,"subs":{"chat:user:bob":{}},"ping":25,"pong":true,"data":{"user_id":"bob","epoch":"e","seq":64}}}"#;
        match &decode_frame(connect).unwrap()[0] {
            ServerMessage::Connected {
                id,
                ttl,
                ping,
                info,
            } => {
                assert_eq!((*id, *ttl, *ping, info.seq), (1, 60, 25, 64));
            }
            other => panic!("{other:?}"),
        }
        let refresh =
            r#"{"id":2,"refresh":{"client":"c","version":"0.1.0","expires":true,"ttl":30}}"#;
        assert_eq!(
            decode_frame(refresh).unwrap(),
            [ServerMessage::Refreshed { id: 2, ttl: 30 }]
        );
        let error = r#"{"id":1,"error":{"code":109,"message":"token expired"}}"#;
        assert!(matches!(
            &decode_frame(error).unwrap()[0],
            ServerMessage::Error { id: 1, error } if error.code == 109
        ));
    }

    #[test]
    fn one_bad_line_rejects_the_whole_frame() {
        for bad in [
            format!("{CHANGE}\nnot json"),
            format!("{CHANGE}\n{{\"id\":3}}"),
            r#"{"id":0,"error":{"code":1,"message":"x"}}"#.to_owned(),
            r#"{"id":4,"push":{"channel":"c","pub":{"data":{"kind":"presence","data":{"user_id":"a","online":true}}}}}"#.to_owned(),
            r#"{"push":{"channel":"c","pub":{"data":{"seq":1,"kind":"message","data":{}}}}}"#.to_owned(),
            "[]".to_owned(),
            "\n\n".to_owned(),
        ] {
            assert!(decode_frame(&bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn commands_encode_as_the_protocol_says() {
        assert_eq!(pong(), "{}");
        let connect: serde_json::Value = serde_json::from_str(&connect(1, "jwt")).unwrap();
        assert_eq!(connect["id"], 1);
        assert_eq!(connect["connect"]["token"], "jwt");
        let refresh: serde_json::Value = serde_json::from_str(&refresh(5, "new")).unwrap();
        assert_eq!(refresh["refresh"]["token"], "new");
    }
}
