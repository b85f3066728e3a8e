//! The user's own channel settings (hide, mute, archive), channel deletion, the channel
//! list with options and the total unread value, for JS. Conversion only: the rules
//! (optimistic, durable, synced to the user's own devices) are chat-core's.

use chat_core::client::{ChannelQuery, ChannelSort, Inclusion};
use chat_protocol::ChannelType;
use js_sys::{Function, Promise};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::client::{WasmClient, cid, promise};
use crate::error::to_js as error_to_js;
use crate::live::{WasmSubscription, pump};
use crate::values::from_js;

/// `"include"`, `"exclude"` or `"only"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JsInclusion {
    Include,
    Exclude,
    Only,
}

impl From<JsInclusion> for Inclusion {
    fn from(i: JsInclusion) -> Self {
        match i {
            JsInclusion::Include => Self::Include,
            JsInclusion::Exclude => Self::Exclude,
            JsInclusion::Only => Self::Only,
        }
    }
}

/// `"last_message"` or `"unread"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum JsSort {
    LastMessage,
    Unread,
}

/// The options of `watchChannelList` (every field optional: chat-core's default list).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsChannelQuery {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default, rename = "type")]
    kind: Option<ChannelType>,
    #[serde(default)]
    unread_only: bool,
    #[serde(default)]
    hidden: Option<JsInclusion>,
    #[serde(default)]
    muted: Option<JsInclusion>,
    #[serde(default)]
    archived: Option<JsInclusion>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    sort: Option<JsSort>,
}

impl From<JsChannelQuery> for ChannelQuery {
    fn from(q: JsChannelQuery) -> Self {
        let mut query = ChannelQuery::new(q.limit.unwrap_or(30));
        query.kind = q.kind;
        query.unread_only = q.unread_only;
        if let Some(h) = q.hidden {
            query.hidden = h.into();
        }
        if let Some(m) = q.muted {
            query.muted = m.into();
        }
        if let Some(a) = q.archived {
            query.archived = a.into();
        }
        query.text = q.text;
        query.sort = match q.sort {
            Some(JsSort::Unread) => ChannelSort::Unread,
            _ => ChannelSort::LastMessage,
        };
        query
    }
}

#[wasm_bindgen]
impl WasmClient {
    /// Hides a channel until its next new message (`false`: shows it), as a queued
    /// operation (it leaves the default list at once); resolves with the operation id.
    #[wasm_bindgen(js_name = hideChannel, unchecked_return_type = "Promise<string>")]
    pub fn hide_channel(&self, cid: String, hidden: bool) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .hide_channel(&self::cid(&cid)?, hidden)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Mutes a channel (`false`: unmutes), as a queued operation (it leaves the total
    /// unread at once); resolves with the operation id.
    #[wasm_bindgen(js_name = muteChannel, unchecked_return_type = "Promise<string>")]
    pub fn mute_channel(&self, cid: String, muted: bool) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .mute_channel(&self::cid(&cid)?, muted)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Archives a channel (`false`: un-archives), as a queued operation; resolves with the
    /// operation id.
    #[wasm_bindgen(js_name = archiveChannel, unchecked_return_type = "Promise<string>")]
    pub fn archive_channel(&self, cid: String, archived: bool) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .archive_channel(&self::cid(&cid)?, archived)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Deletes a channel for everyone (owners and admins), as a queued operation (it
    /// leaves the channel list at once); resolves with the operation id.
    #[wasm_bindgen(js_name = deleteChannel, unchecked_return_type = "Promise<string>")]
    pub fn delete_channel(&self, cid: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .delete_channel(&self::cid(&cid)?)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// The channel list with options (`ChannelListQuery`); `callback(diffs)`.
    #[wasm_bindgen(js_name = watchChannelList, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_channel_list(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelListQuery")] query: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<ChannelItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let query: JsChannelQuery = if query.is_undefined() || query.is_null() {
                JsChannelQuery::default()
            } else {
                from_js("query", query)?
            };
            let list = client
                .channel_list(ChannelQuery::from(query))
                .await
                .map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(list, callback)))
        })
    }

    /// The total unread counts over the channels not muted; `callback(total)` (the
    /// current value first, then each change).
    #[wasm_bindgen(js_name = watchTotalUnread, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_total_unread(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(total: TotalUnread) => void")] callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let live = client.total_unread().await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(live.updates(), callback)))
        })
    }
}
