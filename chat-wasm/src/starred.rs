//! The starred list for JS: `watchStarred` opens chat-core's live starred list and pumps
//! its diff batches into a JS callback (`live.rs`'s pump); the returned `WasmStarred`
//! grows it. Conversion only.

use chat_core::client::StarredControl;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use crate::client::{WasmClient, promise};
use crate::error::to_js as error_to_js;
use crate::live::{WasmSubscription, pump};

/// The user's starred messages, live: delivers to its callback and grows on request.
#[wasm_bindgen]
pub struct WasmStarred {
    control: StarredControl,
    subscription: WasmSubscription,
}

#[wasm_bindgen]
impl WasmStarred {
    /// Shows one more page of older starred messages; resolves `false` once the oldest is
    /// shown.
    #[wasm_bindgen(js_name = loadMore, unchecked_return_type = "Promise<boolean>")]
    pub fn load_more(&self) -> Promise {
        let control = self.control.clone();
        promise(async move {
            Ok(JsValue::from(
                control.load_more().await.map_err(error_to_js)?,
            ))
        })
    }

    /// Stops delivering (idempotent).
    pub fn cancel(&mut self) {
        self.subscription.cancel();
    }

    /// Whether it still delivers.
    #[wasm_bindgen(getter, js_name = isActive)]
    pub fn is_active(&self) -> bool {
        self.subscription.is_active()
    }
}

#[wasm_bindgen]
impl WasmClient {
    /// The user's starred messages across channels, most recently sent first (the cached
    /// list at once, the newest `page` fetched behind it); `callback(diffs)`.
    #[wasm_bindgen(js_name = watchStarred, unchecked_return_type = "Promise<WasmStarred>")]
    pub fn watch_starred(
        &self,
        page: u32,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<MessageItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let list = client.starred(page).await.map_err(error_to_js)?;
            let control = list.control();
            let stop = pump(list, callback);
            Ok(WasmStarred {
                control,
                subscription: WasmSubscription::new(stop),
            })
        })
    }
}
