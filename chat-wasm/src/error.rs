//! chat-core's errors as JS `Error`s: `name` is `"ChatError"`, `kind` is one of
//! `invalid_input`, `invalid_operation`, `message_not_found`, `unknown_operation`,
//! `network`, `server`, `token_unavailable`, `token_refused`, `cache`, `closed` (the
//! same kinds as chat-ffi's `ChatError`), with `status`/`code` for `server` and `id` for
//! the not-found kinds. `@onyxchat/core` turns them into its `ChatError` class.

use chat_core::client::{ClientError, TokenError};
use chat_core::outbox::OutboxError;
use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

fn error(kind: &str, message: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let e = Error::new(message);
    e.set_name("ChatError");
    let _ = Reflect::set(&e, &"kind".into(), &kind.into());
    for (key, value) in fields {
        let _ = Reflect::set(&e, &(*key).into(), value);
    }
    e.into()
}

/// An `invalid_input` error (bad arguments from JS).
pub(crate) fn invalid_input(message: &str) -> JsValue {
    error("invalid_input", message, &[])
}

/// The JS error for a chat-core error.
pub(crate) fn to_js(e: ClientError) -> JsValue {
    let message = e.to_string();
    match e {
        ClientError::InvalidInput(_) => error("invalid_input", &message, &[]),
        ClientError::Outbox(OutboxError::UnknownOp(op)) | ClientError::UnknownOperation(op) => {
            error(
                "unknown_operation",
                &message,
                &[("id", op.to_string().into())],
            )
        }
        ClientError::Outbox(_) => error("invalid_operation", &message, &[]),
        ClientError::MessageNotFound(id) => error(
            "message_not_found",
            &message,
            &[("id", id.to_string().into())],
        ),
        ClientError::Network(_) => error("network", &message, &[]),
        ClientError::Server { status, code, .. } => {
            let code = code
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|v| v.as_str().map(str::to_owned));
            error(
                "server",
                &message,
                &[
                    ("status", status.into()),
                    ("code", code.map_or(JsValue::NULL, Into::into)),
                ],
            )
        }
        ClientError::Token(TokenError::Unavailable(_)) => error("token_unavailable", &message, &[]),
        ClientError::Token(TokenError::Refused(_)) => error("token_refused", &message, &[]),
        ClientError::Cache(_) => error("cache", &message, &[]),
        ClientError::Closed => error("closed", &message, &[]),
    }
}
