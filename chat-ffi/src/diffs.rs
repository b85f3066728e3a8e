//! The diff enums that live lists cross the FFI with. uniffi has no generics, so each
//! item type gets its own enum; one macro writes them all (and their conversion from
//! chat-core's `ListDiff`), so they cannot drift apart.

use chat_core::live::ListDiff;

use crate::types::{ChannelItem, MemberItem, MessageItem, ReadReceipt};

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

macro_rules! list_diff {
    ($(#[$doc:meta])* $name:ident, $item:ty, $convert:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, uniffi::Enum)]
        pub enum $name {
            /// The whole list (always the first change delivered).
            Reset {
                /// Every item, in order.
                items: Vec<$item>,
            },
            /// `item` is inserted at `index`.
            Insert {
                /// Where.
                index: u32,
                /// The new item.
                item: $item,
            },
            /// The item at `index` changed.
            Update {
                /// Where.
                index: u32,
                /// Its new value.
                item: $item,
            },
            /// The item at `index` is removed.
            Remove {
                /// Where.
                index: u32,
            },
        }

        /// Converts one delivered batch.
        pub(crate) fn $convert<T: Into<$item>>(batch: Vec<ListDiff<T>>) -> Vec<$name> {
            batch
                .into_iter()
                .map(|d| match d {
                    ListDiff::Reset { items } => $name::Reset {
                        items: items.into_iter().map(Into::into).collect(),
                    },
                    ListDiff::Insert { index: i, item } => $name::Insert {
                        index: index(i),
                        item: item.into(),
                    },
                    ListDiff::Update { index: i, item } => $name::Update {
                        index: index(i),
                        item: item.into(),
                    },
                    ListDiff::Remove { index: i } => $name::Remove { index: index(i) },
                })
                .collect()
        }
    };
}

list_diff!(
    /// One change to a message list (a window or a thread). Apply a batch's changes in
    /// order.
    MessageDiff,
    MessageItem,
    message_diffs
);
list_diff!(
    /// One change to the channel list. Apply a batch's changes in order.
    ChannelDiff,
    ChannelItem,
    channel_diffs
);
list_diff!(
    /// One change to a channel's read receipts. Apply a batch's changes in order.
    ReadReceiptDiff,
    ReadReceipt,
    receipt_diffs
);
list_diff!(
    /// One change to a channel's member list. Apply a batch's changes in order.
    MemberDiff,
    MemberItem,
    member_diffs
);
