//! The client's typed errors. Each says what went wrong in terms the app can act on;
//! lower layers' errors are carried, not flattened into strings.
//!
//! Rules: every [`ClientError`] has exactly one [`ErrorKind`] ([`ClientError::kind`]), the
//! one list of kinds an app can switch on. Bindings (chat-ffi's `ChatError`, chat-wasm's
//! `kind` strings, `@onyxchat/core`'s `ChatErrorKind`) map from it with one exhaustive
//! `match`, so a new kind does not compile until every binding handles it. A kind's wire
//! name ([`ErrorKind::as_str`]) never changes once published; a test pins each one and
//! checks that `packages-js/core/src/errors.ts` lists exactly these.

use std::fmt;

use chat_protocol::ErrorCode;
use uuid::Uuid;

use super::token::TokenError;
use crate::cache::CacheError;
use crate::net::NetworkError;
use crate::outbox::{OpId, OutboxError};

/// Errors of [`ChatClient`](super::ChatClient) calls. Switch on [`kind`](Self::kind).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The local database failed (see [`CacheError`] for corrupt or too-new files).
    #[error("local cache: {0}")]
    Cache(#[from] CacheError),
    /// The operation was refused before being queued (e.g. an invalid reaction type or
    /// channel id, or a retry of an item in flight). Never [`OutboxError::UnknownOp`]:
    /// that becomes [`ClientError::UnknownOperation`].
    #[error("invalid operation: {0}")]
    Outbox(OutboxError),
    /// An argument is invalid (the message says which and why). Nothing was stored.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The message is not in the local cache (edit, delete, react and jump need it).
    #[error("message {0} is not cached")]
    MessageNotFound(Uuid),
    /// No outbox item with this id (already completed or discarded): what
    /// [`retry`](super::ChatClient::retry) and [`discard`](super::ChatClient::discard) of an
    /// unknown id return.
    #[error("no outbox item {0}")]
    UnknownOperation(OpId),
    /// A call that needs the server could not reach it.
    #[error(transparent)]
    Network(#[from] NetworkError),
    /// The server refused a call that needs it (history paging, sync).
    #[error("server refused the request ({status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error code, if any.
        code: Option<ErrorCode>,
        /// The server's message.
        message: String,
    },
    /// No token could be obtained.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The client was shut down.
    #[error("the client is shut down")]
    Closed,
}

impl From<OutboxError> for ClientError {
    /// An unknown op id is [`ClientError::UnknownOperation`]; every other outbox refusal is
    /// [`ClientError::Outbox`].
    fn from(e: OutboxError) -> Self {
        match e {
            OutboxError::UnknownOp(op) => Self::UnknownOperation(op),
            other => Self::Outbox(other),
        }
    }
}

/// What kind of failure a [`ClientError`] is: the one list apps (and every binding) switch
/// on. Adding a kind is a breaking change for every binding, on purpose: chat-ffi and
/// chat-wasm match on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument is invalid (a malformed cid or id, an empty text, a broken content
    /// limit). Fix the input; nothing was stored.
    InvalidInput,
    /// Not possible in the current state (e.g. retrying an operation in flight, an invalid
    /// reaction type or channel id for the outbox).
    InvalidOperation,
    /// The message is not in the local cache (edit, delete, react and jump need it).
    MessageNotFound,
    /// No outbox item has this id (already completed or discarded): treat as done.
    UnknownOperation,
    /// The server could not be reached; try again when online.
    Network,
    /// The server refused the request (see its status and code).
    Server,
    /// No token for now; the client asks the provider again later.
    TokenUnavailable,
    /// The token provider refused (the user is signed out): sign in again.
    TokenRefused,
    /// The local database failed (damaged, or written by a newer SDK).
    Cache,
    /// The client was shut down.
    Closed,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 10] = [
        Self::InvalidInput,
        Self::InvalidOperation,
        Self::MessageNotFound,
        Self::UnknownOperation,
        Self::Network,
        Self::Server,
        Self::TokenUnavailable,
        Self::TokenRefused,
        Self::Cache,
        Self::Closed,
    ];

    /// The kind's stable wire name (`"message_not_found"`): the `kind` of a web
    /// `ChatError`, and what logs print.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::InvalidOperation => "invalid_operation",
            Self::MessageNotFound => "message_not_found",
            Self::UnknownOperation => "unknown_operation",
            Self::Network => "network",
            Self::Server => "server",
            Self::TokenUnavailable => "token_unavailable",
            Self::TokenRefused => "token_refused",
            Self::Cache => "cache",
            Self::Closed => "closed",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ClientError {
    /// The server refused a call with `status` and, if it sent one, an error body.
    pub(crate) fn server(status: u16, body: Option<chat_protocol::ErrorBody>) -> Self {
        Self::Server {
            status,
            code: body.as_ref().map(|b| b.code),
            message: body.map(|b| b.message).unwrap_or_default(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Cache(_) => ErrorKind::Cache,
            // Not produced (see `From<OutboxError>`), but classified the same if built by hand.
            Self::Outbox(OutboxError::UnknownOp(_)) => ErrorKind::UnknownOperation,
            Self::Outbox(_) => ErrorKind::InvalidOperation,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::MessageNotFound(_) => ErrorKind::MessageNotFound,
            Self::UnknownOperation(_) => ErrorKind::UnknownOperation,
            Self::Network(_) => ErrorKind::Network,
            Self::Server { .. } => ErrorKind::Server,
            Self::Token(TokenError::Unavailable(_)) => ErrorKind::TokenUnavailable,
            Self::Token(TokenError::Refused(_)) => ErrorKind::TokenRefused,
            Self::Closed => ErrorKind::Closed,
        }
    }

    /// What went wrong, without the kind's prefix: the invalid argument's explanation, the
    /// lower layer's message, or the server's message (the whole message for the kinds
    /// that carry no text: not found, unknown operation, closed).
    pub fn reason(&self) -> String {
        match self {
            Self::Cache(e) => e.to_string(),
            Self::Outbox(e) => e.to_string(),
            Self::InvalidInput(reason)
            | Self::Network(NetworkError(reason))
            | Self::Server {
                message: reason, ..
            }
            | Self::Token(TokenError::Unavailable(reason) | TokenError::Refused(reason)) => {
                reason.clone()
            }
            Self::MessageNotFound(_) | Self::UnknownOperation(_) | Self::Closed => self.to_string(),
        }
    }

    /// The id the error is about: the message's for [`ErrorKind::MessageNotFound`], the
    /// operation's for [`ErrorKind::UnknownOperation`].
    pub fn subject_id(&self) -> Option<Uuid> {
        match self {
            Self::MessageNotFound(id) => Some(*id),
            Self::UnknownOperation(op) | Self::Outbox(OutboxError::UnknownOp(op)) => Some(op.0),
            _ => None,
        }
    }

    /// The HTTP status and the server's error code, for [`ErrorKind::Server`].
    pub fn server_status(&self) -> Option<(u16, Option<ErrorCode>)> {
        match self {
            Self::Server { status, code, .. } => Some((*status, *code)),
            _ => None,
        }
    }
}

/// `Result` with [`ClientError`].
pub type ClientResult<T> = Result<T, ClientError>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Exhaustive on purpose: a new kind fails to compile here until its wire name is
    /// pinned (and listed in `ErrorKind::ALL`, checked below).
    fn pinned(kind: ErrorKind) -> (usize, &'static str) {
        match kind {
            ErrorKind::InvalidInput => (0, "invalid_input"),
            ErrorKind::InvalidOperation => (1, "invalid_operation"),
            ErrorKind::MessageNotFound => (2, "message_not_found"),
            ErrorKind::UnknownOperation => (3, "unknown_operation"),
            ErrorKind::Network => (4, "network"),
            ErrorKind::Server => (5, "server"),
            ErrorKind::TokenUnavailable => (6, "token_unavailable"),
            ErrorKind::TokenRefused => (7, "token_refused"),
            ErrorKind::Cache => (8, "cache"),
            ErrorKind::Closed => (9, "closed"),
        }
    }

    #[test]
    fn every_kind_has_its_pinned_wire_name() {
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(pinned(kind), (i, kind.as_str()), "{kind:?}");
            assert_eq!(kind.to_string(), kind.as_str());
        }
        // `pinned` numbers every kind 0..n, so ALL (checked above entry by entry) holds
        // each exactly once only if it has n entries.
        let n = ErrorKind::ALL.iter().map(|k| pinned(*k).0).max().unwrap() + 1;
        assert_eq!(ErrorKind::ALL.len(), n);
    }

    /// The `"…"` strings of the block of `source` that starts at `start` and ends at `end`.
    fn quoted_in(source: &str, start: &str, end: &str) -> Vec<String> {
        let from = source
            .find(start)
            .unwrap_or_else(|| panic!("{start} not found"));
        let block = &source[from + start.len()..];
        let block = &block[..block.find(end).unwrap_or_else(|| panic!("{end} not found"))];
        block
            .lines()
            .map(|l| l.trim())
            .filter(|l| !l.starts_with("/*") && !l.starts_with('*') && !l.starts_with("//"))
            .flat_map(|l| l.split('"').skip(1).step_by(2).map(str::to_owned))
            .collect()
    }

    #[test]
    fn the_web_sdk_names_exactly_these_kinds() {
        let ts = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../packages-js/core/src/errors.ts"),
        )
        .expect("packages-js/core/src/errors.ts");
        let rust: Vec<String> = ErrorKind::ALL
            .iter()
            .map(|k| k.as_str().to_owned())
            .collect();
        assert_eq!(
            quoted_in(&ts, "export type ChatErrorKind =", ";"),
            rust,
            "ChatErrorKind in errors.ts"
        );
        assert_eq!(
            quoted_in(
                &ts,
                "const KINDS: ReadonlySet<string> = new Set<ChatErrorKind>([",
                "]);"
            ),
            rust,
            "KINDS in errors.ts"
        );
    }

    #[test]
    fn unknown_op_ids_become_unknown_operation() {
        let op = OpId(Uuid::now_v7());
        let e = ClientError::from(OutboxError::UnknownOp(op));
        assert!(
            matches!(e, ClientError::UnknownOperation(o) if o == op),
            "{e:?}"
        );
        assert_eq!(e.kind(), ErrorKind::UnknownOperation);
        assert_eq!(e.subject_id(), Some(op.0));
        let in_flight = ClientError::from(OutboxError::InFlight(op));
        assert_eq!(in_flight.kind(), ErrorKind::InvalidOperation);
        assert_eq!(in_flight.subject_id(), None);
    }

    #[test]
    fn kinds_reasons_and_fields() {
        let server = ClientError::Server {
            status: 403,
            code: Some(ErrorCode::NotAMember),
            message: "not a member".into(),
        };
        assert_eq!(server.kind(), ErrorKind::Server);
        assert_eq!(server.reason(), "not a member");
        assert_eq!(
            server.server_status(),
            Some((403, Some(ErrorCode::NotAMember)))
        );
        let refused = ClientError::Token(TokenError::Refused("signed out".into()));
        assert_eq!(refused.kind(), ErrorKind::TokenRefused);
        assert_eq!(refused.reason(), "signed out");
        let unavailable = ClientError::Token(TokenError::Unavailable("later".into()));
        assert_eq!(unavailable.kind(), ErrorKind::TokenUnavailable);
        let offline = ClientError::Network(NetworkError("refused".into()));
        assert_eq!(
            (offline.kind(), offline.reason().as_str()),
            (ErrorKind::Network, "refused")
        );
        assert_eq!(offline.server_status(), None);
        let input = ClientError::InvalidInput("text is empty".into());
        assert_eq!(
            (input.kind(), input.reason().as_str()),
            (ErrorKind::InvalidInput, "text is empty")
        );
        let id = Uuid::now_v7();
        let missing = ClientError::MessageNotFound(id);
        assert_eq!(missing.kind(), ErrorKind::MessageNotFound);
        assert_eq!(missing.subject_id(), Some(id));
        assert_eq!(ClientError::Closed.kind(), ErrorKind::Closed);
    }
}
