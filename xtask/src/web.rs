//! The web SDK's JS half: installs Node packages (npm workspaces at the repo root:
//! packages-js/core, packages-js/react, examples/web, tests/web) and Chromium from the
//! system's packages, idempotently; builds the packages and the demo app; runs the vitest
//! suites and the browser end-to-end tests against the real chat-server.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::tools::apt_install;
use crate::{run, workspace_root};

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Node and npm, and the workspace's packages (`npm ci` when node_modules is missing or
/// older than package-lock.json).
pub(crate) fn ensure_node_packages() -> anyhow::Result<()> {
    if !succeeds("npm", &["--version"]) {
        apt_install(&["nodejs", "npm"])?;
    }
    let root = workspace_root();
    let lock = root.join("package-lock.json");
    let installed = root.join("node_modules/.package-lock.json");
    let fresh = match (modified(&lock), modified(&installed)) {
        (Some(lock), Some(installed)) => installed >= lock,
        _ => false,
    };
    if !fresh {
        run("npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    Ok(())
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// The system Chromium the browser tests drive (never a downloaded browser).
const CHROMIUM: &str = "/usr/bin/chromium";

/// Chromium from the system's packages.
pub(crate) fn ensure_chromium() -> anyhow::Result<()> {
    if !Path::new(CHROMIUM).exists() {
        apt_install(&["chromium"])?;
    }
    Ok(())
}

/// Runs an npm script of the root package with extra environment.
pub(crate) fn npm_script(script: &str, env: &[(&str, String)]) -> anyhow::Result<()> {
    eprintln!("xtask: $ npm run {script}");
    let status = Command::new("npm")
        .args(["run", script])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting npm run {script}"))?;
    if !status.success() {
        bail!("`npm run {script}` failed ({status})");
    }
    Ok(())
}
