//! The `/v1/sync` cursor. Opaque to clients; to the server it is a position in the app's
//! change stream plus, while a multi-page sync is under way, the state of that sync.
//!
//! Encodings (`{cid}` is written with `.` instead of `:`; ids cannot contain `.`):
//! - `v1:{epoch}:{seq}` — everything up to `seq` is delivered; the next call starts a sync.
//! - `v1:{epoch}:{seq}:{snap}` — mid-sync: limited channels were sent as of `snap`; changes
//!   stream on from `seq`.
//! - `v1:{epoch}:{seq}:{snap}:l:{cid}` — mid-sync, still sending limited channels after `cid`.
//! - `v1:{epoch}:{snap}:b:{cid}` — mid-bootstrap: channels after `cid` remain.

use chat_protocol::Cid;

/// Which part of a sync a cursor continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPhase {
    /// Streaming changes (or, with no snapshot, about to start a new sync).
    Stream,
    /// Bootstrapping: channels with a cid after this one remain.
    Bootstrap {
        /// Last cid sent.
        after: Cid,
    },
    /// Sending limited channels: those with a cid after this one remain.
    Limited {
        /// Last cid sent.
        after: Cid,
    },
}

/// A decoded sync cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPosition {
    /// The app epoch the cursor was issued in.
    pub epoch: String,
    /// Changes up to this seq are delivered (bootstrap: the snapshot seq).
    pub seq: u64,
    /// Mid-sync: the seq as of which limited channels were (or are being) sent.
    pub snapshot: Option<u64>,
    /// The phase the cursor continues.
    pub phase: SyncPhase,
}

fn cid_out(cid: &Cid) -> String {
    cid.to_string().replacen(':', ".", 1)
}

fn cid_in(s: &str) -> Option<Cid> {
    s.replacen('.', ":", 1).parse().ok()
}

impl SyncPosition {
    /// A settled position: everything up to `seq` delivered.
    pub fn at(epoch: impl Into<String>, seq: u64) -> Self {
        Self {
            epoch: epoch.into(),
            seq,
            snapshot: None,
            phase: SyncPhase::Stream,
        }
    }

    /// Encodes the cursor.
    pub fn encode(&self) -> String {
        let (e, p) = (&self.epoch, self.seq);
        match (&self.phase, self.snapshot) {
            (SyncPhase::Stream, None) => format!("v1:{e}:{p}"),
            (SyncPhase::Stream, Some(s)) => format!("v1:{e}:{p}:{s}"),
            (SyncPhase::Limited { after }, s) => {
                format!("v1:{e}:{p}:{}:l:{}", s.unwrap_or(p), cid_out(after))
            }
            (SyncPhase::Bootstrap { after }, _) => format!("v1:{e}:{p}:b:{}", cid_out(after)),
        }
    }

    /// Decodes a cursor made by [`SyncPosition::encode`]; `None` if malformed.
    pub fn decode(cursor: &str) -> Option<Self> {
        let parts: Vec<&str> = cursor.split(':').collect();
        if parts.len() < 3 || parts[0] != "v1" {
            return None;
        }
        let epoch = parts[1];
        if epoch.is_empty() || !epoch.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let seq: u64 = parts[2].parse().ok()?;
        let (snapshot, phase) = match &parts[3..] {
            [] => (None, SyncPhase::Stream),
            [snap] => (Some(snap.parse().ok()?), SyncPhase::Stream),
            ["b", cid] => (
                None,
                SyncPhase::Bootstrap {
                    after: cid_in(cid)?,
                },
            ),
            [snap, "l", cid] => (
                Some(snap.parse().ok()?),
                SyncPhase::Limited {
                    after: cid_in(cid)?,
                },
            ),
            _ => return None,
        };
        Some(Self {
            epoch: epoch.to_owned(),
            seq,
            snapshot,
            phase,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let cid: Cid = "team:general".parse().unwrap();
        for pos in [
            SyncPosition::at("ab1", 7),
            SyncPosition {
                snapshot: Some(9),
                ..SyncPosition::at("ab1", 7)
            },
            SyncPosition {
                snapshot: Some(9),
                phase: SyncPhase::Limited { after: cid.clone() },
                ..SyncPosition::at("ab1", 7)
            },
            SyncPosition {
                phase: SyncPhase::Bootstrap { after: cid },
                ..SyncPosition::at("ab1", 7)
            },
        ] {
            assert_eq!(SyncPosition::decode(&pos.encode()), Some(pos));
        }
        for bad in [
            "",
            "v1",
            "v2:a:1",
            "v1::1",
            "v1:a-b:1",
            "v1:a:x",
            "v1:a:5:x",
            "v1:a:1:b:nope",
            "v1:a:1:2:l",
            "v1:a:1:2:3:4",
        ] {
            assert_eq!(SyncPosition::decode(bad), None, "{bad}");
        }
    }
}
