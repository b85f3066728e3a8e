//! The live outbox: the items of [`ChatClient::live_outbox`](crate::client::ChatClient::live_outbox),
//! published as a `watch` value.
//!
//! Rules: the outbox only bumps its [`revision`](crate::outbox::Outbox::revision) when it
//! changes; the item list is rebuilt at the end of an engine step (after the step's
//! live-query diffs, before its answers), only when the revision moved since the last
//! publication and someone holds a receiver, and published only when it differs. So a step
//! costs nothing more while nobody watches (the local echo pays one comparison), many
//! changes in one step make one publication, and a slow reader sees only the newest list
//! (`watch` keeps one value). A new watcher gets the list rebuilt at subscription.

use tokio::sync::watch;

use crate::outbox::Outbox;
use crate::outbox::OutboxItem;

/// See the [module documentation](self).
pub(crate) struct OutboxFeed {
    out: watch::Sender<Vec<OutboxItem>>,
    /// The outbox revision last published (`None`: never).
    published: Option<u64>,
}

impl Default for OutboxFeed {
    fn default() -> Self {
        Self {
            out: watch::Sender::new(Vec::new()),
            published: None,
        }
    }
}

impl OutboxFeed {
    /// A receiver of the items, holding the current list.
    pub(crate) fn subscribe(&mut self, outbox: &Outbox) -> watch::Receiver<Vec<OutboxItem>> {
        let rx = self.out.subscribe();
        self.publish(outbox);
        rx
    }

    /// Publishes the items if the outbox changed since the last publication and someone
    /// watches.
    pub(crate) fn publish(&mut self, outbox: &Outbox) {
        let revision = outbox.revision();
        if self.published == Some(revision) || self.out.receiver_count() == 0 {
            return;
        }
        self.published = Some(revision);
        let items = items(outbox);
        self.out.send_if_modified(|now| {
            let changed = *now != items;
            if changed {
                *now = items;
            }
            changed
        });
    }
}

/// Every queued operation, oldest first, as the client shows it.
pub(crate) fn items(outbox: &Outbox) -> Vec<OutboxItem> {
    outbox.items().into_iter().map(Into::into).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::test_support::{outbox, send};

    #[test]
    fn the_list_is_built_only_while_watched_and_only_when_the_outbox_moved() {
        let mut ob = outbox();
        let mut feed = OutboxFeed::default();
        send(&mut ob, "team:a", 1);
        feed.publish(&ob);
        assert_eq!(feed.published, None, "nobody watches: nothing built");

        let mut rx = feed.subscribe(&ob);
        assert_eq!(
            rx.borrow_and_update().len(),
            1,
            "a new watcher gets the list now"
        );
        feed.publish(&ob);
        assert!(
            !rx.has_changed().unwrap(),
            "unchanged revision: nothing published"
        );

        send(&mut ob, "team:a", 2);
        send(&mut ob, "team:b", 3);
        feed.publish(&ob);
        assert!(rx.has_changed().unwrap());
        assert_eq!(
            rx.borrow_and_update().len(),
            3,
            "two changes, one publication"
        );

        drop(rx);
        send(&mut ob, "team:c", 4);
        let before = feed.published;
        feed.publish(&ob);
        assert_eq!(
            feed.published, before,
            "the last watcher left: nothing built"
        );
    }
}
