//! Release packaging of the jvm artifacts (owned by the helper that builds it).

use std::path::{Path, PathBuf};

/// Builds the jvm artifacts into `out` and checks their contents.
pub(crate) fn package(_out: &Path, _version: &str) -> anyhow::Result<Vec<PathBuf>> {
    anyhow::bail!("jvm packaging is not built yet")
}
