//! The OnyxChat task runner.
//!
//! - `cargo xtask test`: every suite — format check, clippy with warnings denied, and all
//!   Rust tests (unit, snapshot, store conformance, server integration, third-party
//!   Centrifuge client interop; the store conformance suite on SQLite and on a throwaway
//!   PostgreSQL cluster; several chat-server nodes through a throwaway NATS broker).
//!   Installs what it needs (rustup components, PostgreSQL, nats-server) idempotently.
//!   Then the Kotlin suite (bindings-kotlin on the JVM against the real server, tools
//!   installed idempotently) and a check that the committed Swift sources are current.
//!   Then the web SDK: wasm lints and store tests on wasm, the wasm package, the JS
//!   packages' builds and vitest suites, and the browser end-to-end tests (headless
//!   Chromium against the real server; screenshots in target/e2e-artifacts).
//! - `cargo xtask demo`: the main job — builds the wasm package, the JS packages and the
//!   demo web app, and runs `chat-server serve --dev` serving it on http://127.0.0.1:8787,
//!   with the demo users and tokens printed.
//! - `cargo xtask kotlin-test`: only the Kotlin suite.
//! - `cargo xtask postgres`: a throwaway PostgreSQL cluster for running the Rust tests by
//!   hand (export the `ONYXCHAT_TEST_DATABASE_URL` it prints), until Enter.
//! - `cargo xtask nats`: a throwaway NATS broker for the several-nodes tests (export the
//!   `ONYXCHAT_TEST_NATS_URL` it prints), until Enter.
//! - `cargo xtask swift-bindings [--check]`: regenerates bindings-swift's generated
//!   sources (or checks they are current).
//! - `cargo xtask xcframework`: builds bindings-swift's XCFramework (macOS with Xcode).
//! - `cargo xtask docs`: the API references (rustdoc, warnings denied) in target/api-docs.
//! - `cargo xtask swift-package`: only the Swift part of `release --dry-run` (the Swift
//!   distribution, with the real XCFramework checksum after `xcframework` on macOS).
//! - `cargo xtask check-16k <lib.so>...`: fails unless each library loads on 16 KB-page
//!   Android devices (the Kotlin suite checks the host `libchat_ffi.so` the same way).

mod android;
mod bindings;
mod consumers;
mod docs;
mod nats;
mod postgres;
mod release;
mod swift;
mod tools;
mod wasm;
mod web;

use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("demo") => demo(&args[1..]),
        Some("kotlin-test") => bindings::kotlin_suite(),
        Some("postgres") => postgres::serve(&args[1..]),
        Some("nats") => nats::serve(),
        Some("swift-bindings") => {
            bindings::swift_bindings(args.get(1).is_some_and(|a| a == "--check"))
        }
        Some("xcframework") => bindings::xcframework(),
        Some("docs") => docs::api_docs(),
        Some("check-16k") => check_16k(&args[1..]),
        Some("release") => release::release(&args[1..]),
        Some("swift-package") => release::swift_package(),
        Some("wasm") => {
            wasm::ensure_wasm_tools().and_then(|()| wasm::build_wasm_package().map(drop))
        }
        _ => {
            eprintln!("usage: cargo xtask <test|demo|kotlin-test|swift-bindings|xcframework>");
            eprintln!(
                "  test            run every suite (fmt, clippy -D warnings, all tests, Kotlin)"
            );
            eprintln!(
                "  demo            build the web demo and serve it with chat-server --dev on http://127.0.0.1:8787"
            );
            eprintln!("  kotlin-test     run the Kotlin (JVM) suite of bindings-kotlin");
            eprintln!(
                "  postgres        start a throwaway PostgreSQL for the tests (prints its URL; --durable: for benchmarks)"
            );
            eprintln!(
                "  nats            start a throwaway NATS broker for the tests (prints its URL)"
            );
            eprintln!(
                "  swift-bindings  regenerate bindings-swift's generated sources (--check: verify)"
            );
            eprintln!("  xcframework     build bindings-swift/OnyxChatFFI.xcframework (macOS)");
            eprintln!(
                "  swift-package   assemble and check the Swift distribution (target/release-artifacts/swift)"
            );
            eprintln!("  wasm            build chat-wasm into packages-js/core/wasm");
            eprintln!("  docs            build the API references into target/api-docs");
            eprintln!(
                "  check-16k SO..  fail unless every LOAD segment of each .so is 16 KB-aligned"
            );
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

/// `cargo xtask check-16k <lib.so>...`: the 16 KB page check on any built libraries.
fn check_16k(paths: &[String]) -> anyhow::Result<()> {
    if paths.is_empty() {
        bail!("usage: cargo xtask check-16k <lib.so>...");
    }
    for path in paths {
        android::check_16k_pages(std::path::Path::new(path))?;
    }
    Ok(())
}

/// Runs a command from the workspace root, failing on a non-zero exit.
pub(crate) fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    run_with_env(program, args, &[])
}

/// [`run`] with extra environment variables.
pub(crate) fn run_with_env(
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> anyhow::Result<()> {
    eprintln!("xtask: $ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

pub(crate) fn workspace_root() -> std::path::PathBuf {
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
    {
        // The store conformance suite runs on PostgreSQL too; several nodes share one
        // database through the broker.
        let cluster = postgres::Cluster::start(false)?;
        let broker = nats::Broker::start()?;
        run_with_env(
            "cargo",
            &["test", "--workspace", "--locked"],
            &[
                (postgres::URL_VAR, &cluster.url),
                (nats::URL_VAR, &broker.url),
            ],
        )?;
    }
    bindings::swift_bindings(true)?;
    bindings::kotlin_suite()?;
    wasm::ensure_wasm_tools()?;
    wasm::wasm_clippy()?;
    wasm::wasm_tests()?;
    wasm::build_wasm_package()?;
    web::ensure_node_packages()?;
    web::npm_script("build:js", &[])?;
    docs::js_docs()?;
    let server_bin = bindings::host_dir().join("chat-server");
    let server_env = [(
        "ONYXCHAT_SERVER_BIN",
        server_bin.to_string_lossy().into_owned(),
    )];
    web::npm_script("test:js", &server_env)?;
    web::ensure_chromium()?;
    web::npm_script("test:e2e", &server_env)?;
    consumers::consumer_apps(&server_bin)?;
    release::check()?;
    eprintln!("xtask: all suites passed");
    Ok(())
}

fn demo(extra: &[String]) -> anyhow::Result<()> {
    ensure_components()?;
    wasm::ensure_wasm_tools()?;
    wasm::build_wasm_package()?;
    web::ensure_node_packages()?;
    web::npm_script("build:js", &[])?;
    let root = workspace_root();
    let data_dir = root.join(".onyxchat").join("demo");
    let data_dir = data_dir.to_string_lossy().into_owned();
    let web_dir = root
        .join("examples/web/dist")
        .to_string_lossy()
        .into_owned();
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
        "--static-dir",
        &web_dir,
    ];
    args.extend(extra.iter().map(String::as_str));
    run("cargo", &args)
}
