//! [`FfiClient`], chat-core's client across the FFI: the builder's essentials as a
//! [`ClientConfig`], the host's token source as a [`FfiTokenProvider`], and chat-core's
//! calls with ids as strings. The `Ffi` prefix leaves the plain names (`ChatClient`,
//! `TokenProvider`) to the idiomatic Kotlin and Swift layers in the same package/module.
//! Every async call runs on the crate's runtime (`runtime.rs`).

use std::sync::Arc;

use chat_core::client::{self as core, ChatClient as CoreClient};
use chat_protocol::{Cid, UpdateMessageRequest};
use uuid::Uuid;

use crate::error::{ChatError, TokenFetchError};
use crate::outbox::{
    ChannelKind, ChannelUpdate, ClientStatus, MemberRole, NewChannel, OutboxEntry,
};
use crate::runtime::run;
use crate::types::{Draft, MemberItem, NewMessage};

/// Where tokens come from: the host asks its backend for a fresh user token. Called on a
/// background thread; it may block.
#[uniffi::export(with_foreign)]
pub trait FfiTokenProvider: Send + Sync {
    /// A fresh token for the client's user.
    fn fetch_token(&self) -> Result<String, TokenFetchError>;
}

/// How to build a client.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// The chat server (`https://chat.example.com`).
    pub server_url: String,
    /// The app id.
    pub app_id: String,
    /// The user this client acts as.
    pub user_id: String,
    /// Where the cache lives (the app's files directory). Without it the cache is kept in
    /// memory and nothing survives the client.
    pub data_dir: Option<String>,
}

struct HostTokens(Arc<dyn FfiTokenProvider>);

impl core::TokenProvider for HostTokens {
    fn fetch_token(&self) -> core::BoxFuture<Result<String, core::TokenError>> {
        let provider = self.0.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || provider.fetch_token())
                .await
                .map_err(|e| core::TokenError::Unavailable(format!("token provider failed: {e}")))?
                .map_err(Into::into)
        })
    }
}

pub(crate) fn cid(text: &str) -> Result<Cid, ChatError> {
    text.parse().map_err(|e| ChatError::InvalidInput {
        reason: format!("channel id {text:?}: {e}"),
    })
}

pub(crate) fn uuid(what: &str, text: &str) -> Result<Uuid, ChatError> {
    Uuid::parse_str(text).map_err(|e| ChatError::InvalidInput {
        reason: format!("{what} {text:?}: {e}"),
    })
}

/// The OnyxChat client.
#[derive(uniffi::Object)]
pub struct FfiClient {
    pub(crate) inner: CoreClient,
}

impl std::fmt::Debug for FfiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FfiClient").finish_non_exhaustive()
    }
}

#[uniffi::export]
impl FfiClient {
    /// Opens the user's cache and starts the client (instant: no network needed).
    #[uniffi::constructor]
    pub async fn open(
        config: ClientConfig,
        tokens: Arc<dyn FfiTokenProvider>,
    ) -> Result<Arc<Self>, ChatError> {
        run(async move {
            let mut builder =
                CoreClient::builder(&config.server_url, &config.app_id, &config.user_id)
                    .token_provider(HostTokens(tokens));
            if let Some(dir) = config.data_dir {
                builder = builder.data_dir(dir);
            }
            let inner = builder.build().await?;
            Ok(Arc::new(Self { inner }))
        })
        .await
    }

    /// The user this client acts as.
    pub fn user_id(&self) -> String {
        self.inner.user_id().to_owned()
    }

    /// Sends a message; returns its id once it is stored and shown (state `Pending`).
    pub async fn send_message(
        &self,
        cid: String,
        message: NewMessage,
    ) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let mut draft = core::NewMessage::text(message.text);
        if let Some(parent) = message.parent_id {
            draft = draft.in_thread(uuid("parent id", &parent)?);
        }
        draft.quoted_message_id = message
            .quoted_message_id
            .map(|q| uuid("quoted message id", &q))
            .transpose()?;
        draft.mentioned_users = message.mentioned_users;
        draft.attachments = message
            .attachments
            .iter()
            .map(|a| {
                serde_json::from_str(a).map_err(|e| ChatError::InvalidInput {
                    reason: format!("attachment is not JSON: {e}"),
                })
            })
            .collect::<Result<_, _>>()?;
        run(async move { Ok(client.send_message(&cid, draft).await?.to_string()) }).await
    }

    /// Edits a message's text (shown at once).
    pub async fn edit_message(&self, id: String, text: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &id)?;
        let update = UpdateMessageRequest {
            text: Some(text),
            ..Default::default()
        };
        run(async move {
            client.edit_message(id, update).await.map(|_| ())?;
            Ok(())
        })
        .await
    }

    /// Deletes a message (shown deleted at once).
    pub async fn delete_message(&self, id: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &id)?;
        run(async move {
            client.delete_message(id).await?;
            Ok(())
        })
        .await
    }

    /// Adds the user's reaction `kind` (shown at once; reverted if refused).
    pub async fn add_reaction(&self, message_id: String, kind: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id)?;
        run(async move {
            client.add_reaction(id, &kind).await?;
            Ok(())
        })
        .await
    }

    /// Removes the user's reaction `kind`.
    pub async fn remove_reaction(&self, message_id: String, kind: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id)?;
        run(async move {
            client.remove_reaction(id, &kind).await?;
            Ok(())
        })
        .await
    }

    /// Stars (saves) a message for the user (shown at once; reverted if refused).
    pub async fn star_message(&self, message_id: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id)?;
        run(async move {
            client.star_message(id).await?;
            Ok(())
        })
        .await
    }

    /// Unstars a message (shown at once; a star not sent yet is cancelled).
    pub async fn unstar_message(&self, message_id: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = uuid("message id", &message_id)?;
        run(async move {
            client.unstar_message(id).await?;
            Ok(())
        })
        .await
    }

    /// Marks a channel read (unread counts drop at once).
    pub async fn mark_read(&self, cid: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move {
            client.mark_read(&cid).await?;
            Ok(())
        })
        .await
    }

    /// Renames a channel or changes its image (owners and admins), as a queued
    /// operation: the channel list shows it at once. Returns the operation id.
    pub async fn update_channel(
        &self,
        cid: String,
        update: ChannelUpdate,
    ) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move {
            Ok(client
                .update_channel(&cid, update.into())
                .await?
                .to_string())
        })
        .await
    }

    /// Adds members with the default role (moderators and above), as a queued operation:
    /// they show at once in the member list, `pending` until confirmed.
    pub async fn add_members(
        &self,
        cid: String,
        user_ids: Vec<String>,
    ) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move {
            let ids: Vec<&str> = user_ids.iter().map(String::as_str).collect();
            Ok(client.add_members(&cid, &ids).await?.to_string())
        })
        .await
    }

    /// Gives a member a new role, as a queued operation.
    pub async fn set_member_role(
        &self,
        cid: String,
        user_id: String,
        role: MemberRole,
    ) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move {
            Ok(client
                .set_member_role(&cid, &user_id, role.into())
                .await?
                .to_string())
        })
        .await
    }

    /// Removes a member (moderators and above), as a queued operation.
    pub async fn remove_member(&self, cid: String, user_id: String) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.remove_member(&cid, &user_id).await?.to_string()) }).await
    }

    /// Leaves a channel, as a queued operation: it leaves the channel list at once.
    pub async fn leave_channel(&self, cid: String) -> Result<String, ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        run(async move { Ok(client.leave_channel(&cid).await?.to_string()) }).await
    }

    /// Retries a failed operation (for a failed message, its id).
    pub async fn retry(&self, op_id: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = chat_core::outbox::OpId(uuid("operation id", &op_id)?);
        run(async move { Ok(client.retry(id).await?) }).await
    }

    /// Gives up a queued or failed operation.
    pub async fn discard(&self, op_id: String) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let id = chat_core::outbox::OpId(uuid("operation id", &op_id)?);
        run(async move { Ok(client.discard(id).await?) }).await
    }

    /// Creates a channel; returns its cid. Works offline: messages may be sent to the cid
    /// at once. With `distinct`, opens the conversation of exactly these members (see
    /// [`ChatClient::open_distinct_channel`]).
    pub async fn create_channel(&self, channel: NewChannel) -> Result<String, ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.create_channel(channel.into()).await?.to_string()) }).await
    }

    /// Opens (creating it if needed) the distinct conversation between the current user and
    /// `members`: a direct message with one member, a fixed group with several. Its cid is
    /// derived from the member set, so it is the same for every member and known offline.
    pub async fn open_distinct_channel(
        &self,
        kind: ChannelKind,
        members: Vec<String>,
        name: Option<String>,
    ) -> Result<String, ChatError> {
        let client = self.inner.clone();
        run(async move {
            Ok(client
                .open_distinct_channel(kind.into(), members, name)
                .await?
                .to_string())
        })
        .await
    }

    /// Stores what the user is writing in `cid` (in the thread of `parent_id`), so it
    /// survives a restart; a blank text deletes it. Sending there deletes it. Local.
    pub async fn set_draft(
        &self,
        cid: String,
        parent_id: Option<String>,
        text: String,
    ) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move {
            let cid = self::cid(&cid)?;
            let parent = parent_id
                .map(|p| uuid("thread parent id", &p))
                .transpose()?;
            Ok(client.set_draft(&cid, parent, &text).await?)
        })
        .await
    }

    /// The draft of `cid` (in the thread of `parent_id`), to put back in the composer.
    pub async fn draft(
        &self,
        cid: String,
        parent_id: Option<String>,
    ) -> Result<Option<Draft>, ChatError> {
        let client = self.inner.clone();
        run(async move {
            let cid = self::cid(&cid)?;
            let parent = parent_id
                .map(|p| uuid("thread parent id", &p))
                .transpose()?;
            Ok(client.draft(&cid, parent).await?.map(Into::into))
        })
        .await
    }

    /// Suggestions for an `@` mention in `cid`: members whose id starts with `prefix`
    /// (case-insensitive), most recently active first, at most `limit`. Local, offline too.
    pub async fn mention_candidates(
        &self,
        cid: String,
        prefix: String,
        limit: u32,
    ) -> Result<Vec<MemberItem>, ChatError> {
        let client = self.inner.clone();
        run(async move {
            let cid = self::cid(&cid)?;
            Ok(client
                .mention_candidates(&cid, &prefix, limit)
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    /// Every queued operation, oldest first (for an "unsent" screen).
    pub async fn outbox(&self) -> Result<Vec<OutboxEntry>, ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.outbox().await?.into_iter().map(Into::into).collect()) }).await
    }

    /// The engine's state (outbox size, sync, auth, realtime).
    pub async fn status(&self) -> Result<ClientStatus, ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.status().await?.into()) }).await
    }

    /// Reconnects realtime now (after the server refused the connection, or to skip
    /// the backoff wait).
    pub async fn reconnect(&self) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.reconnect().await?) }).await
    }

    /// Syncs now and waits until done.
    pub async fn sync(&self) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.sync().await?) }).await
    }

    /// Network reachability, from the OS.
    pub async fn set_network_reachable(&self, reachable: bool) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.set_network_reachable(reachable).await?) }).await
    }

    /// The app moved to the foreground (`true`) or the background.
    pub async fn set_foreground(&self, foreground: bool) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.set_foreground(foreground).await?) }).await
    }

    /// Asks the token provider for a new token (after `TokenRefused`).
    pub async fn refresh_token(&self) -> Result<(), ChatError> {
        let client = self.inner.clone();
        run(async move { Ok(client.refresh_token().await?) }).await
    }

    /// The user is typing in `cid`, in the thread of `parent_id` when given (call on each
    /// keystroke; throttled).
    pub async fn start_typing(
        &self,
        cid: String,
        parent_id: Option<String>,
    ) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let parent = parent_id.map(|p| uuid("parent_id", &p)).transpose()?;
        run(async move { Ok(client.start_typing(&cid, parent).await?) }).await
    }

    /// The user stopped typing in `cid` (in the thread of `parent_id`, when given).
    pub async fn stop_typing(
        &self,
        cid: String,
        parent_id: Option<String>,
    ) -> Result<(), ChatError> {
        let client = self.inner.clone();
        let cid = self::cid(&cid)?;
        let parent = parent_id.map(|p| uuid("parent_id", &p)).transpose()?;
        run(async move { Ok(client.stop_typing(&cid, parent).await?) }).await
    }

    /// Stops the client; queued work stays in the outbox for the next start.
    pub async fn shutdown(&self) {
        let client = self.inner.clone();
        run(async move { client.shutdown().await }).await;
    }
}
