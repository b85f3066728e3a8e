//! Time as the sans-I/O machines see it: [`Millis`], a point on the driver's monotonic
//! clock. The outbox, sync and realtime machines never read a clock; the driver passes
//! `now` with every input, so a simulation controls time completely and a seed replays
//! exactly. Times mean nothing across restarts: nothing persisted holds one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point on the driver's monotonic clock: milliseconds since an epoch the driver picks
/// (typically process start). The engine never reads a clock; it only compares and adds
/// the values it is given. Times are therefore meaningless across restarts, which is why
/// the persisted form of an item holds no time (see [`PersistedItem`](crate::outbox::PersistedItem)).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }

    /// The time from `earlier` to `self` (zero if `earlier` is later).
    pub fn saturating_since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}
