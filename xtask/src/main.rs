//! The OnyxChat task runner.
//!
//! - `cargo xtask test`: every suite — format check, clippy with warnings denied, and all
//!   Rust tests (unit, snapshot, store conformance, server integration, third-party
//!   Centrifuge client interop). Installs what it needs (rustup components) idempotently.
//! - `cargo xtask demo`: the main job — builds and runs `chat-server serve --dev` on
//!   http://127.0.0.1:8787 with the demo app, users and tokens printed.

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <test|demo>");
            eprintln!("  test   run every suite (fmt, clippy -D warnings, all tests)");
            eprintln!("  demo   run chat-server --dev on http://127.0.0.1:8787");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command from the workspace root, failing on a non-zero exit.
fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| ".".into())
}

/// Installs rustup components if missing (idempotent; a no-op when present).
fn ensure_components() -> anyhow::Result<()> {
    for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        let present = Command::new("cargo")
            .args([probe, "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !present {
            run("rustup", &["component", "add", component])?;
        }
    }
    Ok(())
}

fn test() -> anyhow::Result<()> {
    ensure_components()?;
    run("cargo", &["fmt", "--all", "--", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    run("cargo", &["test", "--workspace", "--locked"])?;
    eprintln!("xtask: all suites passed");
    Ok(())
}

fn demo(extra: &[String]) -> anyhow::Result<()> {
    let data_dir = workspace_root().join(".onyxchat").join("demo");
    let data_dir = data_dir.to_string_lossy().into_owned();
    let mut args = vec![
        "run",
        "--release",
        "--locked",
        "-p",
        "chat-server",
        "--",
        "serve",
        "--dev",
        "--addr",
        "127.0.0.1:8787",
        "--data-dir",
        &data_dir,
    ];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}
