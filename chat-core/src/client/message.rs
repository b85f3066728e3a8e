//! [`NewMessage`]: what the app hands [`ChatClient::send_message`](super::ChatClient::send_message).

use serde_json::Value;
use uuid::Uuid;

/// A message to send. Build it with [`NewMessage::text`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewMessage {
    /// The text (at most 5 000 characters).
    pub text: String,
    /// App-defined attachment objects (at most 30).
    pub attachments: Vec<Value>,
    /// Thread root, to send a thread reply.
    pub parent_id: Option<Uuid>,
    /// A message to quote.
    pub quoted_message_id: Option<Uuid>,
    /// Mentioned user ids (at most 100).
    pub mentioned_users: Vec<String>,
}

impl NewMessage {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Sends it as a reply in the thread of `parent_id`.
    pub fn in_thread(mut self, parent_id: Uuid) -> Self {
        self.parent_id = Some(parent_id);
        self
    }

    /// Quotes `message_id`.
    pub fn quoting(mut self, message_id: Uuid) -> Self {
        self.quoted_message_id = Some(message_id);
        self
    }

    /// Adds attachments.
    pub fn with_attachments(mut self, attachments: Vec<Value>) -> Self {
        self.attachments = attachments;
        self
    }

    /// Mentions users.
    pub fn mentioning(mut self, users: Vec<String>) -> Self {
        self.mentioned_users = users;
        self
    }
}
