//! The web SDK's Rust half: installs what a wasm build needs (idempotently: the rustup
//! target, clang for SQLite's C code, the wasm-bindgen CLI at exactly the version in
//! Cargo.lock), lints chat-core and chat-wasm for wasm32, runs the store tests on wasm under
//! Node, and builds the wasm-bindgen package that `@onyxchat/core` loads
//! (`packages-js/core/wasm/`, generated, not committed).

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::tools::apt_install;
use crate::{run, workspace_root};

const TARGET: &str = "wasm32-unknown-unknown";

fn output(program: &str, args: &[&str]) -> Option<String> {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

/// The `wasm-bindgen` crate version pinned by Cargo.lock (the CLI must match it exactly).
fn locked_wasm_bindgen_version() -> anyhow::Result<String> {
    let lock = fs::read_to_string(workspace_root().join("Cargo.lock"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
        {
            return Ok(version.to_owned());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

/// Installs the wasm toolchain pieces that are missing.
pub(crate) fn ensure_wasm_tools() -> anyhow::Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if !installed.lines().any(|l| l.trim() == TARGET) {
        run("rustup", &["target", "add", TARGET])?;
    }
    if output("clang", &["--version"]).is_none() {
        apt_install(&["clang"])?;
    }
    if output("node", &["--version"]).is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    let version = locked_wasm_bindgen_version()?;
    let current = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if current.split_whitespace().nth(1) != Some(version.as_str()) {
        run(
            "cargo",
            &[
                "install",
                "wasm-bindgen-cli",
                "--version",
                &version,
                "--force",
            ],
        )?;
    }
    Ok(())
}

/// Clippy with warnings denied on the wasm32 builds of chat-core and chat-wasm.
pub(crate) fn wasm_clippy() -> anyhow::Result<()> {
    for (package, targets) in [("chat-core", "--lib"), ("chat-wasm", "--all-targets")] {
        run(
            "cargo",
            &[
                "clippy", "--locked", "--target", TARGET, "-p", package, targets, "--", "-D",
                "warnings",
            ],
        )?;
    }
    Ok(())
}

/// chat-wasm's tests (the store on wasm) under Node with wasm-bindgen-test-runner.
pub(crate) fn wasm_tests() -> anyhow::Result<()> {
    eprintln!(
        "xtask: $ cargo test -p chat-wasm --target {TARGET} (wasm-bindgen-test-runner, Node)"
    );
    let status = Command::new("cargo")
        .args(["test", "--locked", "-p", "chat-wasm", "--target", TARGET])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .current_dir(workspace_root())
        .status()
        .context("starting cargo test")?;
    if !status.success() {
        bail!("the wasm tests failed ({status})");
    }
    Ok(())
}

/// Builds chat-wasm (profile `wasm-release`) and runs wasm-bindgen into `packages-js/core/wasm/`.
pub(crate) fn build_wasm_package() -> anyhow::Result<PathBuf> {
    run(
        "cargo",
        &[
            "build",
            "--locked",
            "--profile",
            "wasm-release",
            "-p",
            "chat-wasm",
            "--target",
            TARGET,
        ],
    )?;
    let root = workspace_root();
    let wasm = root.join(format!("target/{TARGET}/wasm-release/chat_wasm.wasm"));
    let out = root.join("packages-js/core/wasm");
    if out.exists() {
        fs::remove_dir_all(&out)?;
    }
    run(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--out-dir",
            &out.to_string_lossy(),
            "--out-name",
            "chat_wasm",
            &wasm.to_string_lossy(),
        ],
    )?;
    Ok(out)
}
