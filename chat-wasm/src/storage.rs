//! Where the cache lives in the browser. OPFS through SQLite's SyncAccessHandle-pool VFS
//! (installed once per worker as the default VFS) keeps the cache and the outbox across
//! reloads; it needs a dedicated Worker in a secure context. Where OPFS is unavailable
//! (private windows of some browsers, the main thread, old browsers) the cache is kept in
//! memory and the client says so. The pool holds one connection per database: the JS
//! package makes sure only one tab's worker opens it (see packages-js/core's leader).

use sqlite_wasm_vfs::sahpool::{OpfsSAHPoolCfgBuilder, install};

/// The OPFS directory of the pool.
const DIRECTORY: &str = ".onyxchat";

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

/// Installs the OPFS pool as the default VFS (idempotent within a worker).
pub async fn install_opfs() -> Result<(), String> {
    let config = OpfsSAHPoolCfgBuilder::new()
        .vfs_name("onyxchat-opfs")
        .directory(DIRECTORY)
        .build();
    install::<sqlite_wasm_rs::WasmOsCallback>(&config, true)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
