//! Live queries for JS: each `watch*` call opens a chat-core live query and pumps its
//! deliveries into a JS callback on the worker's event loop: diff batches (`{type:
//! "reset" | "insert" | "update" | "remove", …}`, a reset first) for lists, whole values
//! for typing, presence, the connection and the outbox. `WasmSubscription.cancel()` (or `free()`)
//! ends it; `WasmWindow` also pages a message window.

use chat_core::client::WindowControl;
use chat_core::live::LiveSource;
use js_sys::{Function, Promise};
use serde::Serialize;
use tokio::sync::oneshot;
use wasm_bindgen::prelude::*;

use crate::client::{WasmClient, cid, promise, uuid};
use crate::error::to_js as error_to_js;
use crate::values::to_js;

/// Pumps `source` into `callback` until the source ends or the returned sender is
/// dropped or used. A callback that throws is reported on the console; delivery goes on.
pub(crate) fn pump<S: LiveSource>(source: S, callback: Function) -> oneshot::Sender<()>
where
    S::Item: Serialize,
{
    pump_mapped(source, |item| item, callback)
}

/// [`pump`], delivering `convert(item)`.
fn pump_mapped<S: LiveSource, U: Serialize>(
    mut source: S,
    convert: impl Fn(S::Item) -> U + 'static,
    callback: Function,
) -> oneshot::Sender<()> {
    let (stop, mut stopped) = oneshot::channel::<()>();
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            let item = tokio::select! {
                _ = &mut stopped => return,
                item = source.next() => item,
            };
            let Some(item) = item else { return };
            if let Err(e) = callback.call1(&JsValue::NULL, &to_js(&convert(item))) {
                web_sys_console_error(&e);
            }
        }
    });
    stop
}

fn web_sys_console_error(e: &JsValue) {
    let console = js_sys::Reflect::get(&js_sys::global(), &"console".into());
    if let Ok(console) = console
        && let Ok(error) = js_sys::Reflect::get(&console, &"error".into())
        && let Ok(error) = error.dyn_into::<Function>()
    {
        let _ = error.call2(&console, &"OnyxChat: a live query callback threw".into(), e);
    }
}

/// A running live query.
#[wasm_bindgen]
pub struct WasmSubscription {
    stop: Option<oneshot::Sender<()>>,
}

#[wasm_bindgen]
impl WasmSubscription {
    /// Stops delivering (idempotent).
    pub fn cancel(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Whether it still delivers.
    #[wasm_bindgen(getter, js_name = isActive)]
    pub fn is_active(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| !s.is_closed())
    }
}

impl WasmSubscription {
    pub(crate) fn new(stop: oneshot::Sender<()>) -> Self {
        Self { stop: Some(stop) }
    }
}

/// A live message window: delivers to its callback and pages through the history.
#[wasm_bindgen]
pub struct WasmWindow {
    control: WindowControl,
    subscription: WasmSubscription,
}

#[wasm_bindgen]
impl WasmWindow {
    /// Shows one more page of older messages; resolves `false` at the start of the channel.
    #[wasm_bindgen(js_name = loadOlder, unchecked_return_type = "Promise<boolean>")]
    pub fn load_older(&self) -> Promise {
        let control = self.control.clone();
        promise(async move {
            Ok(JsValue::from(
                control.load_older().await.map_err(error_to_js)?,
            ))
        })
    }

    /// Moves one page towards the newest; resolves `true` once at the newest again.
    #[wasm_bindgen(js_name = loadNewer, unchecked_return_type = "Promise<boolean>")]
    pub fn load_newer(&self) -> Promise {
        let control = self.control.clone();
        promise(async move {
            Ok(JsValue::from(
                control.load_newer().await.map_err(error_to_js)?,
            ))
        })
    }

    /// Centres the window on a message.
    #[wasm_bindgen(js_name = jumpTo, unchecked_return_type = "Promise<void>")]
    pub fn jump_to(&self, message_id: String) -> Promise {
        let control = self.control.clone();
        let id = uuid("message id", &message_id);
        promise(async move {
            control.jump_to(id?).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
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
    /// A live window on a channel's newest `page` messages; `callback(diffs)`.
    #[wasm_bindgen(js_name = watchMessages, unchecked_return_type = "Promise<WasmWindow>")]
    pub fn watch_messages(
        &self,
        cid: String,
        page: u32,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<MessageItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let window = client.messages(&cid, page).await.map_err(error_to_js)?;
            let control = window.control();
            let stop = pump(window, callback);
            Ok(WasmWindow {
                control,
                subscription: WasmSubscription::new(stop),
            })
        })
    }

    /// A thread's replies, oldest first; `callback(diffs)`.
    #[wasm_bindgen(js_name = watchThread, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_thread(
        &self,
        parent_id: String,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<MessageItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let parent = uuid("parent id", &parent_id)?;
            let list = client.thread(parent).await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(list, callback)))
        })
    }

    /// The channel list (the first `limit` by activity); `callback(diffs)`.
    #[wasm_bindgen(js_name = watchChannels, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_channels(
        &self,
        limit: u32,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<ChannelItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let list = client.channel_list(limit).await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(list, callback)))
        })
    }

    /// A channel's read receipts; `callback(diffs)`.
    #[wasm_bindgen(js_name = watchReadReceipts, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_read_receipts(
        &self,
        cid: String,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<ReadReceipt>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let list = client.read_receipts(&cid).await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(list, callback)))
        })
    }

    /// A channel's member list (role, online, last read; queued member changes shown at
    /// once); `callback(diffs)`.
    #[wasm_bindgen(js_name = watchMembers, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_members(
        &self,
        cid: String,
        #[wasm_bindgen(unchecked_param_type = "(diffs: ListDiff<MemberItem>[]) => void")]
        callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let list = client.members(&cid).await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(list, callback)))
        })
    }

    /// Every queued operation, oldest first; `callback(items)` (the current list first,
    /// then each change: items appear, change state and leave).
    #[wasm_bindgen(js_name = watchOutbox, unchecked_return_type = "Promise<WasmSubscription>")]
    pub fn watch_outbox(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(items: OutboxItem[]) => void")] callback: Function,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let live = client.live_outbox().await.map_err(error_to_js)?;
            Ok(WasmSubscription::new(pump(live.updates(), callback)))
        })
    }

    /// Who else is typing in `cid`; `callback(users)` (the current list first).
    #[wasm_bindgen(js_name = watchTyping)]
    pub fn watch_typing(
        &self,
        cid: String,
        callback: Function,
    ) -> Result<WasmSubscription, JsValue> {
        let watch = self.inner.typing(&self::cid(&cid)?);
        Ok(WasmSubscription::new(pump(watch, callback)))
    }

    /// Who is online; `callback(userIds)` (the current set first).
    #[wasm_bindgen(js_name = watchPresence)]
    pub fn watch_presence(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(online: string[]) => void")] callback: Function,
    ) -> WasmSubscription {
        let updates = self.inner.presence().updates();
        WasmSubscription::new(pump_mapped(updates, |p| p.online_users(), callback))
    }

    /// The connection state; `callback(state)` (the current one first).
    #[wasm_bindgen(js_name = watchConnection)]
    pub fn watch_connection(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(state: ConnectionState) => void")]
        callback: Function,
    ) -> WasmSubscription {
        WasmSubscription::new(pump(self.inner.connection_state().updates(), callback))
    }
}
