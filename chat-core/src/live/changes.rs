//! What a live-query refresh starts from: the geometry of a message window ([`Window`])
//! and what changed in an engine step ([`Changed`]), which decides how much a refresh
//! re-reads (see `registry.rs`). Merging two changes keeps the larger one.

use chat_protocol::Timestamp;

use crate::cache::CachedMessage;

/// Which slice of a channel's history a message window shows: the newest `limit`
/// top-level messages created before `end` (`None`: up to the newest, following new
/// messages as they arrive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    /// Messages shown.
    pub limit: u32,
    /// How many messages one `load_older`/`load_newer` step adds.
    pub page: u32,
    /// The most messages kept: beyond it the window slides instead of growing.
    pub max: u32,
    /// Exclusive upper bound (server `created_at`); `None` = live at the newest message.
    pub end: Option<Timestamp>,
}

/// What changed since the last refresh.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) enum Changed {
    /// Nothing.
    #[default]
    Nothing,
    /// Only the outbox (item states): the cached rows are the same.
    Overlay,
    /// Only new local echoes were stored, with their send items; `overlay` says whether
    /// other outbox items changed too.
    Echoes {
        /// The echoes, in enqueue order.
        echoes: Vec<CachedMessage>,
        /// Other outbox items changed (the overlay of other rows must be recomputed).
        overlay: bool,
    },
    /// Anything else: re-run the queries.
    Rows,
}

impl Changed {
    /// Merges another change into this one.
    pub(crate) fn add(&mut self, other: Changed) {
        *self = match (std::mem::take(self), other) {
            (Self::Rows, _) | (_, Self::Rows) => Self::Rows,
            (
                Self::Echoes {
                    echoes: mut a,
                    overlay: oa,
                },
                Self::Echoes {
                    echoes: b,
                    overlay: ob,
                },
            ) => {
                a.extend(b);
                Self::Echoes {
                    echoes: a,
                    overlay: oa || ob,
                }
            }
            (Self::Echoes { echoes, overlay }, other)
            | (other, Self::Echoes { echoes, overlay }) => Self::Echoes {
                echoes,
                overlay: overlay || other == Self::Overlay,
            },
            (Self::Overlay, _) | (_, Self::Overlay) => Self::Overlay,
            (Self::Nothing, Self::Nothing) => Self::Nothing,
        };
    }
}
