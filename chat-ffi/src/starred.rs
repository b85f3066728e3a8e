//! The starred list across the FFI: [`FfiClient::watch_starred`] opens chat-core's live
//! starred list and pumps it into a host listener (`live.rs`'s pump); the returned
//! [`StarredList`] grows it while the pump keeps running. Conversion only.

use std::sync::Arc;

use chat_core::client::StarredControl;

use crate::client::FfiClient;
use crate::diffs::message_diffs;
use crate::error::ChatError;
use crate::live::pump;
use crate::runtime::run;
use crate::subscription::{MessageListListener, Subscription};

/// The user's starred messages, live (most recently sent first): delivers to its
/// listener and grows on request. Ends on `cancel()`, `close()` or when released by the
/// GC.
#[derive(Debug, uniffi::Object)]
pub struct StarredList {
    control: StarredControl,
    subscription: Arc<Subscription>,
}

#[uniffi::export]
impl StarredList {
    /// Shows one more page of older starred messages (from the cache, else fetched);
    /// `false` once the oldest is shown.
    pub async fn load_more(&self) -> Result<bool, ChatError> {
        let control = self.control.clone();
        run(async move { Ok(control.load_more().await?) }).await
    }

    /// Stops delivering (idempotent).
    pub fn cancel(&self) {
        self.subscription.cancel();
    }

    /// Whether the list still delivers.
    pub fn is_active(&self) -> bool {
        self.subscription.is_active()
    }
}

#[uniffi::export]
impl FfiClient {
    /// The user's starred messages across channels, most recently sent first, with
    /// pending stars and unstars applied, delivered to `listener` (the cached list at
    /// once, the newest `page` fetched behind it); grow it with the returned
    /// [`StarredList`].
    pub async fn watch_starred(
        &self,
        page: u32,
        listener: Arc<dyn MessageListListener>,
    ) -> Result<Arc<StarredList>, ChatError> {
        let client = self.inner.clone();
        let list = run(async move { client.starred(page).await }).await?;
        let control = list.control();
        let task = pump(list, message_diffs, move |d| listener.on_diffs(d));
        Ok(Arc::new(StarredList {
            control,
            subscription: Subscription::new(task),
        }))
    }
}
