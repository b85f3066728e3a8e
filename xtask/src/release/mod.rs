//! `cargo xtask release --dry-run`: builds every artifact of a release into
//! `target/release-artifacts/` and checks their contents, exactly as the release workflow
//! (`.github/workflows/release.yml`) does from a tag before it publishes them.
//!
//! Rules:
//! - One version for everything: the workspace's `version` in `Cargo.toml`. Every npm
//!   package, the Kotlin publication (`bindings-kotlin/gradle.properties`) and the Swift
//!   distribution carry the same one; a mismatch fails the release before anything is built.
//! - Each platform's packaging lives in its own file (`npm`, `jvm`, `swift`) and returns the
//!   files it produced; each checks its own artifact's contents and fails loudly on a
//!   missing or extra piece.
//! - `SHA256SUMS` lists every produced file (`sha256sum -c` format), so a release can be
//!   verified by anyone who downloads it.
//! - `--dry-run` builds the native library as shipped (a release build of chat-ffi alone).
//!   `cargo xtask test` runs the same packaging and checks through [`check`] on what the
//!   suites already built ([`Mode::Suite`]: the npm packages, the debug host library) (a release build costs ~5 min on a
//!   fresh 2-core machine; what is checked — contents, versions, that the jar loads — does
//!   not depend on the profile).
//! - `--dry-run` stops there; publishing (npm, Maven, the Swift package repository) needs
//!   credentials and happens only in the release workflow.

mod jvm;
pub(crate) mod npm;
mod swift;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::workspace_root;

/// What the packaging builds first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Everything as shipped: the wasm package and both npm packages' `dist/`, and a release
    /// build of chat-ffi alone for the JVM jar.
    Release,
    /// What the suites of `cargo xtask test` already built: the npm packages as they are,
    /// the debug host library in the jar.
    Suite,
}

/// `cargo xtask release [--dry-run]`.
pub(crate) fn release(args: &[String]) -> anyhow::Result<()> {
    if !args.iter().any(|a| a == "--dry-run") {
        bail!(
            "publishing happens in .github/workflows/release.yml from a tag; \
             run `cargo xtask release --dry-run` to build and check the artifacts here"
        );
    }
    build(Mode::Release)
}

/// The release's packaging and checks as `cargo xtask test` runs them (see the module doc).
pub(crate) fn check() -> anyhow::Result<()> {
    build(Mode::Suite)
}

fn build(mode: Mode) -> anyhow::Result<()> {
    let version = workspace_version()?;
    let out = workspace_root().join("target/release-artifacts");
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out)?;
    let mut files = match mode {
        Mode::Release => npm::package(&out, &version)?,
        Mode::Suite => npm::pack(&out, &version)?,
    };
    files.extend(jvm::package(&out, &version, mode)?);
    files.extend(swift::package(&out, &version)?);
    let sums = write_checksums(&out, &files)?;
    eprintln!(
        "xtask: release {version} (dry run): {} artifacts in {}, checksums in {}",
        files.len(),
        out.display(),
        sums.display()
    );
    Ok(())
}

/// `cargo xtask swift-package`: only the Swift distribution, into `target/release-artifacts/swift/`
/// (the macOS workflows run it after `cargo xtask xcframework`, so its manifest carries the
/// checksum of the real zip).
pub(crate) fn swift_package() -> anyhow::Result<()> {
    let out = workspace_root().join("target/release-artifacts");
    std::fs::create_dir_all(&out)?;
    for file in swift::package(&out, &workspace_version()?)? {
        eprintln!("xtask: produced {}", file.display());
    }
    Ok(())
}

/// The workspace's version (`[workspace.package] version` in the root `Cargo.toml`).
pub(crate) fn workspace_version() -> anyhow::Result<String> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(rest) = line.strip_prefix("version") {
            let value = rest.trim_start().trim_start_matches('=').trim();
            return Ok(value.trim_matches('"').to_owned());
        }
    }
    bail!("no version in [workspace.package] of Cargo.toml")
}

/// Writes `SHA256SUMS` for `files` (paths relative to `out`), returning its path.
fn write_checksums(out: &Path, files: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let mut text = String::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.strip_prefix(out).unwrap_or(file);
        writeln!(
            text,
            "{:x}  {}",
            Sha256::digest(&bytes),
            name.to_string_lossy()
        )?;
    }
    let path = out.join("SHA256SUMS");
    std::fs::write(&path, text)?;
    Ok(path)
}
