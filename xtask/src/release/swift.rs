//! Release packaging for one platform (see `release/mod.rs`). Not written yet.

use std::path::{Path, PathBuf};

/// Builds this platform's release artifacts into `out` and checks their contents.
pub(crate) fn package(_out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::bail!("not written yet")
}
