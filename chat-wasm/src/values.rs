//! Values in and out of JS: serde objects through serde-wasm-bindgen in the JSON-compatible
//! shape (maps as plain objects, 64-bit integers as numbers), and the option objects the
//! calls take.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

use crate::error::invalid_input;

/// A Rust value as a plain JS value.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A JS argument as `T`, or an `invalid_input` error naming `what`.
pub(crate) fn from_js<T: DeserializeOwned>(what: &str, value: JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| invalid_input(&format!("{what}: {e}")))
}

/// The options of `WasmClient.open`.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OpenOptions {
    pub server_url: String,
    pub app_id: String,
    pub user_id: String,
    /// `"auto"` (default: OPFS, else memory), `"opfs"` (fail without it) or `"memory"`.
    #[serde(default)]
    pub storage: Option<String>,
}

/// A message to send.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewMessage {
    pub text: String,
    #[serde(default)]
    pub parent_id: Option<String>,
    #[serde(default)]
    pub quoted_message_id: Option<String>,
    #[serde(default)]
    pub mentioned_users: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<serde_json::Value>,
}
