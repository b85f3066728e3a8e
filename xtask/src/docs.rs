//! `cargo xtask docs`: the generated API references, in `target/api-docs/`.
//!
//! - Rust: rustdoc of `chat-core` (the SDK an app embeds) and `chat-protocol` (the wire
//!   types), warnings denied, so a broken intra-doc link fails here and in the release
//!   workflow rather than on the published site.
//! - The release workflow publishes `target/api-docs/` as the project's API reference site;
//!   each package README links its part.

use crate::{run_with_env, workspace_root};

/// Builds every API reference into `target/api-docs/`.
pub(crate) fn api_docs() -> anyhow::Result<()> {
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
    let out = workspace_root().join("target/api-docs");
    std::fs::create_dir_all(&out)?;
    let rust = out.join("rust");
    if rust.exists() {
        std::fs::remove_dir_all(&rust)?;
    }
    copy_dir(&workspace_root().join("target/doc"), &rust)?;
    eprintln!("xtask: API references in {}", out.display());
    Ok(())
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
