//! Full-text search for JS: `search` (a page: local hits first, then the server's) and
//! `searchLocal` (the local hits alone, instant). The rules are chat-core's
//! (`client/search.rs`); conversion only.

use chat_core::client::SearchQuery;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::client::{WasmClient, cid, promise};
use crate::error::to_js as error_to_js;
use crate::values::to_js;

fn query(text: String, cid_text: Option<String>, limit: u32) -> Result<SearchQuery, JsValue> {
    Ok(SearchQuery {
        text,
        cid: cid_text.as_deref().map(cid).transpose()?,
        limit,
    })
}

#[wasm_bindgen]
impl WasmClient {
    /// One page of a search of `text` in `cid` (or everywhere), `limit` hits per part:
    /// local hits first, then the server's; offline, the local hits alone with
    /// `server.type = "not_reached"`. Pass the page's `next` as `cursor` for the next.
    #[wasm_bindgen(unchecked_return_type = "Promise<SearchPage>")]
    pub fn search(
        &self,
        text: String,
        cid: Option<String>,
        limit: u32,
        cursor: Option<String>,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let q = query(text, cid, limit)?;
            let page = client.search(q, cursor).await.map_err(error_to_js)?;
            Ok(to_js(&page))
        })
    }

    /// The local hits alone (the first `limit`, best first): instant, offline too.
    #[wasm_bindgen(js_name = searchLocal, unchecked_return_type = "Promise<SearchHit[]>")]
    pub fn search_local(&self, text: String, cid: Option<String>, limit: u32) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let q = query(text, cid, limit)?;
            let hits = client.search_local(q).await.map_err(error_to_js)?;
            Ok(to_js(&hits))
        })
    }
}
