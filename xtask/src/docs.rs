//! `cargo xtask docs`: the generated API references, in `target/api-docs/`.
//!
//! - Rust: rustdoc of `chat-core` (the SDK an app embeds) and `chat-protocol` (the wire
//!   types), warnings denied, so a broken intra-doc link fails here and in the release
//!   workflow rather than on the published site.
//! - JS: TypeDoc of `@onyxchat/core` and `@onyxchat/react` (each package's `typedoc.json`,
//!   warnings as errors) into `js/core` and `js/react`; react's links into core point at
//!   `../core`.
//! - The release workflow publishes `target/api-docs/` as the project's API reference site;
//!   each package README links its part.

use crate::{run, run_with_env, swift, web, workspace_root};

/// Builds every API reference into `target/api-docs/`.
pub(crate) fn api_docs() -> anyhow::Result<()> {
    rust_docs()?;
    js_docs()?;
    eprintln!("xtask: API references in {}", out_dir().display());
    Ok(())
}

fn out_dir() -> std::path::PathBuf {
    workspace_root().join("target/api-docs")
}

/// rustdoc of chat-core and chat-protocol, warnings denied, into `rust/`.
fn rust_docs() -> anyhow::Result<()> {
    run_with_env(
        "cargo",
        &[
            "doc",
            "--locked",
            "--no-deps",
            "-p",
            "chat-core",
            "-p",
            "chat-protocol",
        ],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    let rust = out_dir().join("rust");
    if rust.exists() {
        std::fs::remove_dir_all(&rust)?;
    }
    swift::copy_tree(&workspace_root().join("target/doc"), &rust)
}

/// TypeDoc of both npm packages, warnings as errors, into `js/core` and `js/react` (about
/// 15 s; `cargo xtask test` runs it so a broken doc link fails there).
pub(crate) fn js_docs() -> anyhow::Result<()> {
    web::ensure_node_packages()?;
    for package in ["core", "react"] {
        let dest = out_dir().join("js").join(package);
        let dest = dest.to_string_lossy();
        run(
            "npx",
            &[
                "typedoc",
                "--options",
                &format!("packages-js/{package}/typedoc.json"),
                "--out",
                &dest,
            ],
        )?;
    }
    Ok(())
}
