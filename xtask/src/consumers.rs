//! The consumer-app test: the npm packages as an app developer gets them. Packs
//! `@onyxchat/core` and `@onyxchat/react` (release::npm::pack, the release's own packing
//! and checks) and runs `tests/consumers/run.mjs`, which installs the tarballs into fresh
//! Vite 8, Vite 7, webpack 5 (React 18.3) and Next.js apps under `target/consumers/`,
//! builds and serves each, and opens it in headless Chromium against a real chat-server
//! (plus the Vite dev servers, without any optimizeDeps config).
//!
//! Rules: run after the packages are built (`build:js`) and the browser is installed; the
//! apps' installs are `npm ci` from committed lockfiles, skipped when nothing changed, with
//! downloads cached in ~/.npm.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::release::{npm, workspace_version};
use crate::workspace_root;

/// Packs both packages into `target/consumers/tarballs/` and runs the consumer apps.
pub(crate) fn consumer_apps(server_bin: &Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let root = workspace_root();
    let tarballs = root.join("target/consumers/tarballs");
    let version = workspace_version()?;
    let packed = npm::pack(&tarballs, &version)?;
    for (file, name) in packed
        .iter()
        .zip(["onyxchat-core.tgz", "onyxchat-react.tgz"])
    {
        std::fs::copy(file, tarballs.join(name))
            .with_context(|| format!("copying {}", file.display()))?;
    }
    eprintln!("xtask: $ node tests/consumers/run.mjs");
    let status = Command::new("node")
        .arg("tests/consumers/run.mjs")
        .arg("--tarballs")
        .arg(&tarballs)
        .env("ONYXCHAT_SERVER_BIN", server_bin)
        .current_dir(&root)
        .status()
        .context("starting node")?;
    if !status.success() {
        bail!("the consumer apps failed ({status})");
    }
    eprintln!(
        "xtask: consumer apps took {:.0} s (packing included)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
