//! `cargo xtask release [--dry-run]`: builds every artifact a release ships, into
//! `target/release-artifacts/`, checks each one's contents, and writes `SHA256SUMS`.
//!
//! Rules:
//! - One version for every artifact (the workspace's `version`); a mismatch fails the build.
//! - Each platform's packaging lives in its own file and returns the files it produced:
//!   `npm.rs` (the two npm tarballs), `jvm.rs` (the JVM jar with natives and its Maven
//!   layout), `swift.rs` (the Swift distribution tree, without the XCFramework binary here).
//! - `--dry-run` builds and checks locally (run by `cargo xtask test`); publishing happens
//!   only in `.github/workflows/release.yml`, from a tag.

mod jvm;
mod npm;
mod swift;

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::workspace_root;

/// Where the artifacts of one `release` run go (cleared first).
pub(crate) fn artifacts_dir() -> PathBuf {
    workspace_root().join("target/release-artifacts")
}

/// Builds and checks every artifact; with `dry_run == false` refuses to run outside CI.
pub(crate) fn release(dry_run: bool) -> anyhow::Result<()> {
    if !dry_run {
        bail!(
            "publishing runs in .github/workflows/release.yml from a tag; run `cargo xtask release --dry-run` here"
        );
    }
    let out = artifacts_dir();
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    std::fs::create_dir_all(&out)?;
    let mut produced: Vec<PathBuf> = Vec::new();
    produced.extend(npm::package(&out)?);
    produced.extend(jvm::package(&out)?);
    produced.extend(swift::package(&out)?);
    report(&out, &produced)
}

fn report(out: &Path, produced: &[PathBuf]) -> anyhow::Result<()> {
    for path in produced {
        eprintln!(
            "xtask: release artifact {}",
            path.strip_prefix(out).unwrap_or(path).display()
        );
    }
    Ok(())
}
