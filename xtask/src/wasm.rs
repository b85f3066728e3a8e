//! The web SDK's Rust half: installs what a wasm build needs (idempotently: the rustup
//! target, clang for SQLite's C code, the wasm-bindgen CLI at exactly the version in
//! Cargo.lock), lints chat-core and chat-wasm for wasm32, runs the store tests on wasm under
//! Node, and builds the wasm-bindgen package that `@onyxchat/core` loads
//! (`packages-js/core/wasm/`, generated, not committed).
//!
//! The package's wasm goes through `wasm-opt -Oz` from the npm package `binaryen` (a pinned
//! devDependency of packages-js/core; Debian's binaryen 108 writes modules that fail to
//! load). Optimising takes minutes on 2 cores, so its output is cached in
//! `target/wasm-opt/` under the SHA-256 of its input, the flags and binaryen's pinned
//! version: an unchanged wasm is never optimised twice. The last input is kept there too
//! (`chat_wasm_bg.input.wasm`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

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

/// Builds chat-wasm (profile `wasm-release`), runs wasm-bindgen into
/// `packages-js/core/wasm/` and optimises the wasm there (see [`optimise`]).
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
    optimise(&out.join("chat_wasm_bg.wasm"))?;
    Ok(out)
}

/// The optimisation flags (part of the cache key).
const WASM_OPT_FLAGS: &[&str] = &["-Oz"];

/// Replaces `wasm` by its `wasm-opt -Oz` output: from the cache when this exact input was
/// optimised before, else by running binaryen's wasm-opt (installed with the workspace's
/// npm packages) and caching the result.
pub(crate) fn optimise(wasm: &Path) -> anyhow::Result<()> {
    let input = fs::read(wasm).with_context(|| format!("reading {}", wasm.display()))?;
    // The key: the binaryen version pinned in packages-js/core/package.json, the flags and
    // the input.
    let core_manifest = fs::read_to_string(workspace_root().join("packages-js/core/package.json"))?;
    let binaryen = core_manifest
        .lines()
        .find(|l| l.trim_start().starts_with("\"binaryen\""))
        .context("binaryen is not a devDependency of packages-js/core")?;
    let mut hasher = Sha256::new();
    hasher.update(binaryen.trim().as_bytes());
    hasher.update([0]);
    hasher.update(WASM_OPT_FLAGS.join(" ").as_bytes());
    hasher.update([0]);
    hasher.update(&input);
    let key = format!("{:x}", hasher.finalize());
    let cache = workspace_root().join("target/wasm-opt");
    let cached = cache.join("chat_wasm_bg.wasm");
    let stamp = cache.join("input.sha256");
    let hit = cached.exists() && fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == key);
    if hit {
        eprintln!(
            "xtask: wasm-opt: input unchanged, using {}",
            cached.display()
        );
    } else {
        crate::web::ensure_node_packages()?;
        let wasm_opt = workspace_root().join("node_modules/.bin/wasm-opt");
        if !wasm_opt.exists() {
            bail!(
                "{} is missing: it comes from the npm package binaryen, a devDependency of packages-js/core",
                wasm_opt.display()
            );
        }
        fs::create_dir_all(&cache)?;
        let _ = fs::remove_file(&stamp);
        let partial = cache.join("chat_wasm_bg.partial.wasm");
        let started = std::time::Instant::now();
        let mut args: Vec<String> = WASM_OPT_FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.extend([
            wasm.to_string_lossy().into_owned(),
            "-o".into(),
            partial.to_string_lossy().into_owned(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&wasm_opt.to_string_lossy(), &args)?;
        fs::rename(&partial, &cached)?;
        // Kept for comparing sizes (docs/BENCHMARKS.md).
        fs::write(cache.join("chat_wasm_bg.input.wasm"), &input)?;
        fs::write(&stamp, &key)?;
        eprintln!(
            "xtask: wasm-opt took {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    fs::copy(&cached, wasm)
        .with_context(|| format!("copying {} to {}", cached.display(), wasm.display()))?;
    let after = fs::metadata(wasm)?.len();
    eprintln!(
        "xtask: chat_wasm_bg.wasm: {} bytes before wasm-opt, {after} after ({:+.1} %)",
        input.len(),
        (after as f64 / input.len() as f64 - 1.0) * 100.0
    );
    Ok(())
}
