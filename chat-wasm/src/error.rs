//! chat-core's errors as JS `Error`s: `name` is `"ChatError"`, `kind` is the wire name of
//! the error's chat-core [`ErrorKind`] ([`ErrorKind::as_str`]: `invalid_input`,
//! `invalid_operation`, `message_not_found`, `unknown_operation`, `network`, `server`,
//! `token_unavailable`, `token_refused`, `cache`, `closed`, the same kinds as chat-ffi's
//! `ChatError`), with `status`/`code` for `server` and `id` for the not-found kinds.
//! `@onyxchat/core` turns them into its `ChatError` class. [`to_js`] decides each kind's
//! fields in one exhaustive `match`, so a new kind does not compile until it is handled.

use chat_core::client::{ClientError, ErrorKind};
use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

fn error(kind: ErrorKind, message: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let e = Error::new(message);
    e.set_name("ChatError");
    let _ = Reflect::set(&e, &"kind".into(), &kind.as_str().into());
    for (key, value) in fields {
        let _ = Reflect::set(&e, &(*key).into(), value);
    }
    e.into()
}

/// An `invalid_input` error (bad arguments from JS).
pub(crate) fn invalid_input(message: &str) -> JsValue {
    error(ErrorKind::InvalidInput, message, &[])
}

/// The JS error for a chat-core error.
pub(crate) fn to_js(e: ClientError) -> JsValue {
    let message = e.to_string();
    let kind = e.kind();
    let fields = match kind {
        ErrorKind::MessageNotFound | ErrorKind::UnknownOperation => {
            let id = e.subject_id().map(|id| id.to_string()).unwrap_or_default();
            vec![("id", id.into())]
        }
        ErrorKind::Server => {
            let (status, code) = e.server_status().unwrap_or_default();
            let code = code
                .and_then(|c| serde_json::to_value(c).ok())
                .and_then(|v| v.as_str().map(str::to_owned));
            vec![
                ("status", status.into()),
                ("code", code.map_or(JsValue::NULL, Into::into)),
            ]
        }
        ErrorKind::InvalidInput
        | ErrorKind::InvalidOperation
        | ErrorKind::Network
        | ErrorKind::TokenUnavailable
        | ErrorKind::TokenRefused
        | ErrorKind::Cache
        | ErrorKind::Closed => Vec::new(),
    };
    error(kind, &message, &fields)
}
