//! [`LiveSource`]: every live query as one shape, "the next delivery, until it ends" — what
//! the platform bindings (chat-ffi, chat-wasm) pump into host callbacks, so they share one
//! definition instead of each wrapping every query type.

use std::future::Future;

use super::{ListDiff, LiveList, LiveValue};

/// Something that delivers values until it ends (`None`).
pub trait LiveSource: Send + 'static {
    /// What one delivery is.
    type Item: Send + 'static;
    /// Waits for the next delivery; `None` once the query ended (client shut down).
    fn next(&mut self) -> impl Future<Output = Option<Self::Item>> + Send;
}

impl<T: Clone + Send + Sync + 'static> LiveSource for LiveList<T> {
    type Item = Vec<ListDiff<T>>;
    fn next(&mut self) -> impl Future<Output = Option<Self::Item>> + Send {
        LiveList::next(self)
    }
}

/// A [`LiveValue`] as a source: its current value first, then each change (see
/// [`LiveValue::updates`]).
#[derive(Debug)]
pub struct Updates<T> {
    value: LiveValue<T>,
    started: bool,
}

impl<T: Clone> LiveValue<T> {
    /// This value as a [`LiveSource`]: the current value first, then each change.
    pub fn updates(self) -> Updates<T> {
        Updates {
            value: self,
            started: false,
        }
    }
}

impl<T: Clone + Send + Sync + 'static> LiveSource for Updates<T> {
    type Item = T;
    async fn next(&mut self) -> Option<T> {
        if !std::mem::replace(&mut self.started, true) {
            return Some(self.value.current());
        }
        self.value.changed().await
    }
}
