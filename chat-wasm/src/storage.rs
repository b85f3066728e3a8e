//! Where the cache lives in the browser. OPFS through SQLite's SyncAccessHandle-pool VFS
//! (installed once per worker as the default VFS) keeps the cache and the outbox across
//! reloads; it needs a dedicated Worker in a secure context. Where OPFS is unavailable
//! (private windows of some browsers, the main thread, old browsers) the cache is kept in
//! memory and the client says so. Each app user has a pool (and OPFS directory) of their
//! own, so tabs signed in as different users never compete for one; within a pool, one
//! connection per database: the JS package makes sure only one tab's worker opens it (see
//! packages-js/core's leader).

use sqlite_wasm_vfs::sahpool::{OpfsSAHPoolCfgBuilder, install};

/// Where a client's cache is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Persistent, in the origin's private file system.
    Opfs,
    /// In memory: lost when the worker ends. `reason` says why OPFS was not used.
    Memory {
        /// Why OPFS was not used.
        reason: String,
    },
}

impl Storage {
    /// `"opfs"` or `"memory"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Opfs => "opfs",
            Self::Memory { .. } => "memory",
        }
    }
}

/// `text` with every character outside `[A-Za-z0-9_-]` replaced by `_` (ids are already
/// restricted; this keeps the directory name safe whatever they become).
fn file_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Installs `user_id`'s OPFS pool (directory `.onyxchat-<app>-<user>`) as the default VFS
/// (idempotent within a worker).
pub async fn install_opfs(app_id: &str, user_id: &str) -> Result<(), String> {
    let name = format!("onyxchat-{}-{}", file_part(app_id), file_part(user_id));
    let config = OpfsSAHPoolCfgBuilder::new()
        .vfs_name(&name)
        .directory(&format!(".{name}"))
        .build();
    install::<sqlite_wasm_rs::WasmOsCallback>(&config, true)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
