//! `WasmClient`: chat-core's client for JS. Every call returns a `Promise` (work runs on
//! the worker's event loop); ids and cids are strings; the host's token function returns a
//! `Promise<string>` and rejects with an error named `TokenRefusedError` when the user is
//! signed out (any other rejection means "try again later").

use std::future::Future;

use chat_core::client::{self as core, ChatClient, NewMessage as CoreNewMessage, TokenError};
use chat_core::outbox::OpId;
use chat_protocol::{
    Cid, CreateChannelRequest, MemberRole, UpdateChannelRequest, UpdateMessageRequest,
};
use js_sys::{Function, Promise, Reflect};
use send_wrapper::SendWrapper;
use uuid::Uuid;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::error::{invalid_input, to_js as error_to_js};
use crate::storage::{Storage, install_opfs};
use crate::values::{NewMessage, OpenOptions, from_js, to_js};

/// The host's token function as chat-core's provider.
struct JsTokens(SendWrapper<Function>);

impl core::TokenProvider for JsTokens {
    fn fetch_token(&self) -> core::BoxFuture<Result<String, TokenError>> {
        let called = self.0.call0(&JsValue::NULL);
        Box::pin(SendWrapper::new(async move {
            let value = called.map_err(|e| refusal_or_unavailable(&e))?;
            let value = JsFuture::from(Promise::resolve(&value))
                .await
                .map_err(|e| refusal_or_unavailable(&e))?;
            value.as_string().ok_or_else(|| {
                TokenError::Unavailable("the token function returned no string".into())
            })
        }))
    }
}

fn refusal_or_unavailable(e: &JsValue) -> TokenError {
    let name = Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string());
    let message = Reflect::get(e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    if name.as_deref() == Some("TokenRefusedError") {
        TokenError::Refused(message)
    } else {
        TokenError::Unavailable(message)
    }
}

pub(crate) fn cid(text: &str) -> Result<Cid, JsValue> {
    text.parse()
        .map_err(|e| invalid_input(&format!("channel id {text:?}: {e}")))
}

pub(crate) fn uuid(what: &str, text: &str) -> Result<Uuid, JsValue> {
    Uuid::parse_str(text).map_err(|e| invalid_input(&format!("{what} {text:?}: {e}")))
}

/// A promise of `fut`'s value (converted with `to_js`) or of its typed error.
pub(crate) fn promise<T, F>(fut: F) -> Promise
where
    F: Future<Output = Result<T, JsValue>> + 'static,
    T: Into<JsValue>,
{
    future_to_promise(async move { fut.await.map(Into::into) })
}

/// A promise that settles with nothing or a typed error.
fn unit(fut: impl Future<Output = core::ClientResult<()>> + 'static) -> Promise {
    promise(async move {
        fut.await.map_err(error_to_js)?;
        Ok(JsValue::UNDEFINED)
    })
}

/// The OnyxChat client inside the worker.
#[wasm_bindgen]
pub struct WasmClient {
    pub(crate) inner: ChatClient,
    storage: Storage,
}

#[wasm_bindgen]
impl WasmClient {
    /// Opens the user's cache (OPFS when available) and starts the client. `options`:
    /// `{ serverUrl, appId, userId, storage?: "auto" | "opfs" | "memory" }`.
    #[wasm_bindgen(unchecked_return_type = "Promise<WasmClient>")]
    pub fn open(
        #[wasm_bindgen(unchecked_param_type = "OpenOptions")] options: JsValue,
        #[wasm_bindgen(unchecked_param_type = "() => Promise<string>")] fetch_token: Function,
    ) -> Promise {
        let tokens = JsTokens(SendWrapper::new(fetch_token));
        promise(async move {
            let options: OpenOptions = from_js("options", options)?;
            let storage = match options.storage.as_deref().unwrap_or("auto") {
                "memory" => Storage::Memory {
                    reason: "memory storage was requested".into(),
                },
                "opfs" => {
                    install_opfs(&options.app_id, &options.user_id)
                        .await
                        .map_err(|e| {
                            error_to_js(core::ClientError::Cache(
                                chat_core::cache::CacheError::Invalid(format!(
                                    "OPFS is unavailable: {e}"
                                )),
                            ))
                        })?;
                    Storage::Opfs
                }
                "auto" => match install_opfs(&options.app_id, &options.user_id).await {
                    Ok(()) => Storage::Opfs,
                    Err(reason) => Storage::Memory { reason },
                },
                other => return Err(invalid_input(&format!("unknown storage {other:?}"))),
            };
            crate::marks::mark("storage-ready");
            let mut builder =
                ChatClient::builder(&options.server_url, &options.app_id, &options.user_id)
                    .token_provider(tokens);
            if storage == Storage::Opfs {
                builder = builder.data_dir("/onyxchat");
            }
            let inner = builder.build().await.map_err(error_to_js)?;
            crate::marks::mark("cache-open");
            Ok(WasmClient { inner, storage })
        })
    }

    /// `"opfs"` (persistent) or `"memory"` (lost on reload).
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> String {
        self.storage.name().to_owned()
    }

    /// Why the cache is in memory, if it is.
    #[wasm_bindgen(getter, js_name = storageNote)]
    pub fn storage_note(&self) -> Option<String> {
        match &self.storage {
            Storage::Opfs => None,
            Storage::Memory { reason } => Some(reason.clone()),
        }
    }

    /// The user this client acts as.
    #[wasm_bindgen(getter, js_name = userId)]
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_owned()
    }

    /// Sends a message (`{ text, parentId?, quotedMessageId?, mentionedUsers?,
    /// attachments? }`); resolves with its id once it is stored and shown.
    #[wasm_bindgen(js_name = sendMessage, unchecked_return_type = "Promise<string>")]
    pub fn send_message(
        &self,
        cid: String,
        #[wasm_bindgen(unchecked_param_type = "NewMessage")] message: JsValue,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let m: NewMessage = from_js("message", message)?;
            let mut draft = CoreNewMessage::text(m.text)
                .mentioning(m.mentioned_users)
                .with_attachments(m.attachments);
            if let Some(parent) = m.parent_id {
                draft = draft.in_thread(uuid("parent id", &parent)?);
            }
            if let Some(quoted) = m.quoted_message_id {
                draft = draft.quoting(uuid("quoted message id", &quoted)?);
            }
            let id = client
                .send_message(&cid, draft)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(id.to_string()))
        })
    }

    /// Edits a message's text.
    #[wasm_bindgen(js_name = editMessage, unchecked_return_type = "Promise<void>")]
    pub fn edit_message(&self, id: String, text: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &id);
        promise(async move {
            let update = UpdateMessageRequest {
                text: Some(text),
                ..Default::default()
            };
            client
                .edit_message(id?, update)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes a message.
    #[wasm_bindgen(js_name = deleteMessage, unchecked_return_type = "Promise<void>")]
    pub fn delete_message(&self, id: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &id);
        promise(async move {
            client.delete_message(id?).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Adds the user's reaction `kind`.
    #[wasm_bindgen(js_name = addReaction, unchecked_return_type = "Promise<void>")]
    pub fn add_reaction(&self, message_id: String, kind: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id);
        promise(async move {
            client.add_reaction(id?, &kind).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Stars (saves) a message for the user (shown at once; reverted if refused).
    #[wasm_bindgen(js_name = starMessage, unchecked_return_type = "Promise<void>")]
    pub fn star_message(&self, message_id: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id);
        promise(async move {
            client.star_message(id?).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Unstars a message (shown at once; a star not sent yet is cancelled).
    #[wasm_bindgen(js_name = unstarMessage, unchecked_return_type = "Promise<void>")]
    pub fn unstar_message(&self, message_id: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id);
        promise(async move {
            client.unstar_message(id?).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Removes the user's reaction `kind`.
    #[wasm_bindgen(js_name = removeReaction, unchecked_return_type = "Promise<void>")]
    pub fn remove_reaction(&self, message_id: String, kind: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id);
        promise(async move {
            client
                .remove_reaction(id?, &kind)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Marks a channel read.
    #[wasm_bindgen(js_name = markRead, unchecked_return_type = "Promise<void>")]
    pub fn mark_read(&self, cid: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            client
                .mark_read(&self::cid(&cid)?)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Creates a channel (`{ type, id?, name?, image?, members?, distinct? }`, the REST
    /// API's shape); resolves with its cid. Works offline. With `distinct: true` the cid is
    /// derived from the member set and this user (`messaging:!members-…`).
    #[wasm_bindgen(js_name = createChannel, unchecked_return_type = "Promise<string>")]
    pub fn create_channel(
        &self,
        #[wasm_bindgen(unchecked_param_type = "NewChannel")] request: JsValue,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let request: CreateChannelRequest = from_js("channel", request)?;
            let cid = client.create_channel(request).await.map_err(error_to_js)?;
            Ok(JsValue::from(cid.to_string()))
        })
    }

    /// Renames a channel or changes its image (`{ name?, image? }`; owners and admins), as
    /// a queued operation shown at once; resolves with the operation id.
    #[wasm_bindgen(js_name = updateChannel, unchecked_return_type = "Promise<string>")]
    pub fn update_channel(
        &self,
        cid: String,
        #[wasm_bindgen(unchecked_param_type = "ChannelUpdate")] update: JsValue,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let update: UpdateChannelRequest = from_js("update", update)?;
            let op = client
                .update_channel(&self::cid(&cid)?, update)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Adds members with the default role (moderators and above), as a queued operation
    /// (they show at once, `pending`); resolves with the operation id.
    #[wasm_bindgen(js_name = addMembers, unchecked_return_type = "Promise<string>")]
    pub fn add_members(&self, cid: String, user_ids: Vec<String>) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
            let op = client
                .add_members(&self::cid(&cid)?, &ids)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Gives a member a new role (`"admin"`, `"moderator"`, `"member"`), as a queued
    /// operation; resolves with the operation id.
    #[wasm_bindgen(js_name = setMemberRole, unchecked_return_type = "Promise<string>")]
    pub fn set_member_role(
        &self,
        cid: String,
        user_id: String,
        #[wasm_bindgen(unchecked_param_type = "MemberRole")] role: JsValue,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let role: MemberRole = from_js("role", role)?;
            let op = client
                .set_member_role(&self::cid(&cid)?, &user_id, role)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Removes a member (moderators and above), as a queued operation; resolves with the
    /// operation id.
    #[wasm_bindgen(js_name = removeMember, unchecked_return_type = "Promise<string>")]
    pub fn remove_member(&self, cid: String, user_id: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .remove_member(&self::cid(&cid)?, &user_id)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Leaves a channel, as a queued operation (it leaves the channel list at once);
    /// resolves with the operation id.
    #[wasm_bindgen(js_name = leaveChannel, unchecked_return_type = "Promise<string>")]
    pub fn leave_channel(&self, cid: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let op = client
                .leave_channel(&self::cid(&cid)?)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::from(op.to_string()))
        })
    }

    /// Retries a failed operation (for a failed message, its id).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn retry(&self, op_id: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("operation id", &op_id);
        promise(async move {
            client.retry(OpId(id?)).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Gives up a queued or failed operation.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn discard(&self, op_id: String) -> Promise {
        let client = self.inner.clone();
        let id = uuid("operation id", &op_id);
        promise(async move {
            client.discard(OpId(id?)).await.map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Stores what the user is writing in `cid` (in the thread of `parentId`), so it
    /// survives a reload; a blank text deletes it. Sending there deletes it. Local.
    #[wasm_bindgen(js_name = setDraft, unchecked_return_type = "Promise<void>")]
    pub fn set_draft(&self, cid: String, parent_id: Option<String>, text: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let parent = parent_id
                .map(|p| uuid("thread parent id", &p))
                .transpose()?;
            client
                .set_draft(&self::cid(&cid)?, parent, &text)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The draft of `cid` (in the thread of `parentId`), or `null`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Draft | null>")]
    pub fn draft(&self, cid: String, parent_id: Option<String>) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let parent = parent_id
                .map(|p| uuid("thread parent id", &p))
                .transpose()?;
            let found = client
                .draft(&self::cid(&cid)?, parent)
                .await
                .map_err(error_to_js)?;
            Ok(to_js(&found))
        })
    }

    /// Suggestions for an `@` mention in `cid`: members whose id starts with `prefix`
    /// (case-insensitive), most recently active first, at most `limit`. Local, offline too.
    #[wasm_bindgen(js_name = mentionCandidates, unchecked_return_type = "Promise<MemberItem[]>")]
    pub fn mention_candidates(&self, cid: String, prefix: String, limit: u32) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let found = client
                .mention_candidates(&self::cid(&cid)?, &prefix, limit)
                .await
                .map_err(error_to_js)?;
            Ok(to_js(&found))
        })
    }

    /// Every queued operation, oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<OutboxItem[]>")]
    pub fn outbox(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move { Ok(to_js(&client.outbox().await.map_err(error_to_js)?)) })
    }

    /// The engine's state.
    #[wasm_bindgen(unchecked_return_type = "Promise<EngineStatus>")]
    pub fn status(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move { Ok(to_js(&client.status().await.map_err(error_to_js)?)) })
    }

    /// Syncs now and resolves when done.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn sync(&self) -> Promise {
        let client = self.inner.clone();
        unit(async move { client.sync().await })
    }

    /// Network reachability (from `online`/`offline` events).
    #[wasm_bindgen(js_name = setNetworkReachable, unchecked_return_type = "Promise<void>")]
    pub fn set_network_reachable(&self, reachable: bool) -> Promise {
        let client = self.inner.clone();
        unit(async move { client.set_network_reachable(reachable).await })
    }

    /// Page visibility (`true`: visible).
    #[wasm_bindgen(js_name = setForeground, unchecked_return_type = "Promise<void>")]
    pub fn set_foreground(&self, foreground: bool) -> Promise {
        let client = self.inner.clone();
        unit(async move { client.set_foreground(foreground).await })
    }

    /// Reconnects realtime now.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reconnect(&self) -> Promise {
        let client = self.inner.clone();
        unit(async move { client.reconnect().await })
    }

    /// Asks the token function again (after it refused).
    #[wasm_bindgen(js_name = refreshToken, unchecked_return_type = "Promise<void>")]
    pub fn refresh_token(&self) -> Promise {
        let client = self.inner.clone();
        unit(async move { client.refresh_token().await })
    }

    /// The user is typing in `cid` (in the thread of `parent_id`, if given).
    #[wasm_bindgen(js_name = startTyping, unchecked_return_type = "Promise<void>")]
    pub fn start_typing(&self, cid: String, parent_id: Option<String>) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let parent = parent_id.map(|p| uuid("parent id", &p)).transpose()?;
            client
                .start_typing(&cid, parent)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The user stopped typing.
    #[wasm_bindgen(js_name = stopTyping, unchecked_return_type = "Promise<void>")]
    pub fn stop_typing(&self, cid: String, parent_id: Option<String>) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let cid = self::cid(&cid)?;
            let parent = parent_id.map(|p| uuid("parent id", &p)).transpose()?;
            client
                .stop_typing(&cid, parent)
                .await
                .map_err(error_to_js)?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The connection state now.
    #[wasm_bindgen(js_name = connectionState, unchecked_return_type = "ConnectionState")]
    pub fn connection_state(&self) -> JsValue {
        to_js(&self.inner.connection_state().current())
    }

    /// Stops the client and closes the database (queued work stays for the next start).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn shutdown(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            client.shutdown().await;
            Ok(JsValue::UNDEFINED)
        })
    }
}
