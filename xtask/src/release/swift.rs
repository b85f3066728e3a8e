//! Release packaging of the Swift distribution: the Swift package apps add with SwiftPM.
//!
//! Rules:
//! - `out/swift/OnyxChat/` is a complete Swift package repository tree: a root-level
//!   `Package.swift`, `Sources/` (the generated bindings and the hand-written layer; the C
//!   module: the generated header and the Linux module map), `README.md` and `LICENSE`.
//!   Nothing else: no tests, no XCFramework binary.
//! - Its `Package.swift` is bindings-swift's, with the one local `binaryTarget(path:)` replaced by
//!   `binaryTarget(url:checksum:)` at the release asset
//!   `<repository>/releases/download/v<version>/OnyxChatFFI.xcframework.zip` and the test
//!   target left out; every other line is the contributors' manifest, so the two cannot drift.
//! - The checksum (SwiftPM's: the SHA-256 of the zip) is computed over
//!   `bindings-swift/OnyxChatFFI.xcframework.zip` when `cargo xtask xcframework` built it (macOS),
//!   and otherwise over `OnyxChatFFI.xcframework.zip.PLACEHOLDER`, a file that says so: the
//!   release workflow runs this on macOS after building the XCFramework, so a published
//!   manifest always carries the real checksum.
//! - Checked before anything is returned: the url names the version's tag, the checksum is 64
//!   hex digits, every target's folder exists and every folder of `Sources/` is a target, the
//!   tree holds exactly the expected files, the tarball lists the same files, and the
//!   hand-written Swift (the tree's and bindings-swift's tests) parses (`swift::check_swift_syntax`:
//!   no Swift compiler exists here, so this is a parse, not a build), and its C module, built
//!   with clang through the Linux module map and linked against the host `libchat_ffi`,
//!   answers the contract version and every API checksum its generated Swift expects.
//! - Produced: `OnyxChat-swift-<version>.tar.gz` (the tree), the tree's `Package.swift`, and the
//!   XCFramework zip when there is one.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use sha2::{Digest, Sha256};

use crate::swift::{self, FFI_HEADER, FFI_MODULE, FFI_MODULE_DIR, copy_tree, relative_files};
use crate::workspace_root;

/// The XCFramework zip's file name (the release asset and the binary target's url).
const ZIP_NAME: &str = "OnyxChatFFI.xcframework.zip";

/// Written instead of the zip where no XCFramework can be built (any host but macOS).
const PLACEHOLDER_NAME: &str = "OnyxChatFFI.xcframework.zip.PLACEHOLDER";

/// The local binary target line of bindings-swift/Package.swift that a release replaces.
const LOCAL_BINARY_TARGET: &str = "let coreTarget: Target = .binaryTarget(name: \"OnyxChatFFI\", path: \"OnyxChatFFI.xcframework\")";

/// Builds the Swift distribution into `out/swift/` and checks it, including that its Swift (and
/// bindings-swift's tests) parse and that its C module matches the host-built core (see
/// `swift::probe`); returns the produced files.
pub(crate) fn package(out: &Path, version: &str) -> anyhow::Result<Vec<PathBuf>> {
    let produced = assemble(out, version)?;
    let mut swift_files = swift::hand_written_swift(&out.join("swift/OnyxChat"))?;
    swift_files.extend(
        swift::hand_written_swift(&swift::package_dir())?
            .into_iter()
            .filter(|f| f.components().any(|c| c.as_os_str() == "Tests")),
    );
    swift::check_swift_syntax(&swift_files)?;
    // The distribution's C module and generated Swift against the core built from the same
    // sources (a no-op build when the suite already built it).
    if Command::new("clang").arg("--version").output().is_err() {
        crate::tools::apt_install(&["clang"])?;
    }
    crate::bindings::build_host_artifacts()?;
    swift::probe::check(&out.join("swift/OnyxChat"), &crate::bindings::host_dir())?;
    Ok(produced)
}

/// Assembles and checks the distribution (everything but the syntax check, which needs a tool
/// from npm); returns the produced files.
fn assemble(out: &Path, version: &str) -> anyhow::Result<Vec<PathBuf>> {
    let source = swift::package_dir();
    let dist = out.join("swift");
    if dist.exists() {
        fs::remove_dir_all(&dist)?;
    }
    let tree = dist.join("OnyxChat");
    fs::create_dir_all(&tree)?;

    let mut produced = Vec::new();
    let built_zip = source.join(ZIP_NAME);
    let checksummed = if built_zip.is_file() {
        let zip = dist.join(ZIP_NAME);
        fs::copy(&built_zip, &zip)?;
        produced.push(zip.clone());
        zip
    } else {
        let placeholder = dist.join(PLACEHOLDER_NAME);
        fs::write(
            &placeholder,
            format!(
                "PLACEHOLDER for {ZIP_NAME} (OnyxChat {version}): no XCFramework was built on this \
                 host (`cargo xtask xcframework` needs macOS). The checksum in Package.swift is this \
                 file's; the release workflow rebuilds the distribution on macOS with the real zip.\n"
            ),
        )?;
        eprintln!(
            "xtask: no {} (macOS only): Package.swift's checksum is over {}",
            built_zip.display(),
            placeholder.display()
        );
        placeholder
    };
    let checksum = format!("{:x}", Sha256::digest(fs::read(&checksummed)?));

    copy_tree(&source.join("Sources"), &tree.join("Sources"))?;
    fs::copy(source.join("README.md"), tree.join("README.md"))?;
    fs::copy(workspace_root().join("LICENSE"), tree.join("LICENSE"))?;
    let url = release_url(&workspace_repository()?, version);
    let local = fs::read_to_string(source.join("Package.swift"))?;
    let manifest = distribution_manifest(&local, version, &url, &checksum)?;
    let manifest_path = tree.join("Package.swift");
    fs::write(&manifest_path, &manifest)?;

    check_manifest(&manifest, version, &tree)?;
    check_tree(&tree, &source)?;
    swift::check_linux_module(&tree)?;

    let tarball = dist.join(format!("OnyxChat-swift-{version}.tar.gz"));
    tar(&dist, &tarball)?;
    check_tarball(&tarball, &tree)?;
    produced.push(tarball);
    produced.push(manifest_path);
    eprintln!(
        "xtask: swift distribution {version}: {} (binary target {url}, checksum {checksum})",
        tree.display()
    );
    Ok(produced)
}

/// The XCFramework zip's release download url: the GitHub release asset of tag `v<version>`.
pub(crate) fn release_url(repository: &str, version: &str) -> String {
    format!(
        "{}/releases/download/v{version}/{ZIP_NAME}",
        repository.trim_end_matches('/')
    )
}

/// The workspace's `repository` (`[workspace.package]` in the root `Cargo.toml`).
fn workspace_repository() -> anyhow::Result<String> {
    let manifest = fs::read_to_string(workspace_root().join("Cargo.toml"))?;
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[workspace.package]";
        } else if in_package && let Some(rest) = line.strip_prefix("repository") {
            let value = rest.trim_start().trim_start_matches('=').trim();
            return Ok(value.trim_matches('"').to_owned());
        }
    }
    bail!("no repository in [workspace.package] of Cargo.toml")
}

/// bindings-swift's `Package.swift` (`local`) as the release's: its header comment replaced, the
/// local binary target replaced by the url and checksum, the test target left out.
pub(crate) fn distribution_manifest(
    local: &str,
    version: &str,
    url: &str,
    checksum: &str,
) -> anyhow::Result<String> {
    let (head, body) = local
        .split_once("import PackageDescription\n")
        .context("bindings-swift/Package.swift has no `import PackageDescription`")?;
    let tools = head
        .lines()
        .next()
        .filter(|l| l.starts_with("// swift-tools-version:"))
        .context("bindings-swift/Package.swift must start with `// swift-tools-version:`")?;
    ensure!(
        body.matches(LOCAL_BINARY_TARGET).count() == 1,
        "bindings-swift/Package.swift must declare `{LOCAL_BINARY_TARGET}` once"
    );
    let remote = format!(
        "let coreTarget: Target = .binaryTarget(\n    name: \"{FFI_MODULE}\",\n    \
         url: \"{url}\",\n    checksum: \"{checksum}\"\n)"
    );
    let body = body.replace(LOCAL_BINARY_TARGET, &remote);
    let test_start = body
        .find("        .testTarget(")
        .context("bindings-swift/Package.swift has no `.testTarget(`")?;
    let test_len = body[test_start..]
        .find("        ),\n")
        .context("the `.testTarget(` of bindings-swift/Package.swift does not end with `),`")?;
    let body = format!(
        "{}{}",
        &body[..test_start],
        &body[test_start + test_len + "        ),\n".len()..]
    );
    Ok(format!(
        "{tools}\n\
         // OnyxChat {version} for Swift Package Manager, assembled by `cargo xtask release` from\n\
         // bindings-swift/Package.swift: the Rust core is the release's OnyxChatFFI XCFramework\n\
         // (Apple platforms) or the host's libchat_ffi.so (Linux). Do not edit: regenerate.\n\
         import PackageDescription\n{body}"
    ))
}

/// A quoted argument after `key:` on `line`, e.g. `name: "OnyxChat"` → `OnyxChat`.
fn argument<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(&format!("{key}: \""))? + key.len() + 3;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// The arguments of each `kind` call in `manifest` (up to its first `)`; target declarations
/// here hold no nested calls before their name, path, url and checksum).
fn declaration<'a>(manifest: &'a str, kind: &'a str) -> impl Iterator<Item = &'a str> {
    manifest
        .split(kind)
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap_or(rest))
}

/// Checks a distribution `Package.swift`: the binary target's url names `v<version>` and the
/// zip, its checksum is 64 hex digits, and the targets and the tree's `Sources/` folders match.
pub(crate) fn check_manifest(manifest: &str, version: &str, tree: &Path) -> anyhow::Result<()> {
    let binary = declaration(manifest, ".binaryTarget(")
        .next()
        .context("Package.swift declares no binaryTarget")?;
    ensure!(
        argument(binary, "name") == Some(FFI_MODULE),
        "the binary target must be named {FFI_MODULE}"
    );
    ensure!(
        argument(binary, "path").is_none(),
        "the binary target must be remote (url:), not a local path"
    );
    let url = argument(binary, "url").context("the binary target has no url")?;
    ensure!(
        url.starts_with("https://") && url.ends_with(&format!("/v{version}/{ZIP_NAME}")),
        "the binary target's url {url:?} must be https and end with /v{version}/{ZIP_NAME}"
    );
    let checksum = argument(binary, "checksum").context("the binary target has no checksum")?;
    ensure!(
        checksum.len() == 64
            && checksum
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "the checksum {checksum:?} must be 64 lowercase hex digits (SHA-256)"
    );
    ensure!(
        !manifest.contains(".testTarget("),
        "the distribution has no tests: Package.swift must not declare a test target"
    );

    // Every declared target with a folder: name → path.
    let mut folders = BTreeSet::new();
    for kind in [".target(", ".systemLibrary("] {
        for call in declaration(manifest, kind) {
            let name = argument(call, "name").context("a target without a name")?;
            let path = argument(call, "path")
                .with_context(|| format!("target {name} has no explicit path"))?;
            ensure!(
                path == format!("Sources/{name}"),
                "target {name} must live in Sources/{name}, not {path}"
            );
            ensure!(tree.join(path).is_dir(), "target {name}: {path} is missing");
            folders.insert(name.to_owned());
        }
    }
    let mut present = BTreeSet::new();
    for entry in fs::read_dir(tree.join("Sources"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            present.insert(entry.file_name().to_string_lossy().into_owned());
        }
    }
    ensure!(
        folders == present,
        "targets {folders:?} do not match the folders of Sources/ {present:?}"
    );
    ensure!(
        folders.contains("OnyxChat") && folders.contains(FFI_MODULE),
        "expected the targets OnyxChat and {FFI_MODULE}, found {folders:?}"
    );
    Ok(())
}

/// Checks the tree holds exactly the expected files: Package.swift, README.md, LICENSE, every
/// file of bindings-swift/Sources (the Swift sources, the generated header, the Linux module map).
fn check_tree(tree: &Path, source: &Path) -> anyhow::Result<()> {
    let mut expected: Vec<String> = ["LICENSE", "Package.swift", "README.md"]
        .map(String::from)
        .to_vec();
    for file in relative_files(&source.join("Sources"))? {
        expected.push(format!("Sources/{file}"));
    }
    expected.sort();
    let found = relative_files(tree)?;
    ensure!(
        found == expected,
        "the Swift distribution tree {} holds {found:?}, expected {expected:?}",
        tree.display()
    );
    for required in [
        "Sources/OnyxChat/Generated/OnyxChat.swift".to_owned(),
        "Sources/OnyxChat/ChatClient.swift".to_owned(),
        format!("{FFI_MODULE_DIR}/module.modulemap"),
        format!("{FFI_MODULE_DIR}/{FFI_HEADER}"),
    ] {
        ensure!(
            found.contains(&required),
            "the distribution misses {required}"
        );
    }
    for file in found.iter().filter(|f| f.starts_with("Sources/OnyxChat/")) {
        ensure!(
            file.ends_with(".swift"),
            "unexpected non-Swift file {file} in Sources/OnyxChat"
        );
    }
    Ok(())
}

/// `tar -czf tarball -C dist OnyxChat`.
fn tar(dist: &Path, tarball: &Path) -> anyhow::Result<()> {
    let status = Command::new("tar")
        .arg("-czf")
        .arg(tarball)
        .arg("-C")
        .arg(dist)
        .arg("OnyxChat")
        .status()
        .context("starting tar")?;
    ensure!(status.success(), "tar failed ({status})");
    Ok(())
}

/// Checks the tarball lists exactly the tree's files, under `OnyxChat/`.
fn check_tarball(tarball: &Path, tree: &Path) -> anyhow::Result<()> {
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(tarball)
        .output()
        .context("starting tar")?;
    ensure!(listing.status.success(), "tar -tzf failed");
    let mut listed: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect();
    listed.sort();
    let expected: Vec<String> = relative_files(tree)?
        .into_iter()
        .map(|f| format!("OnyxChat/{f}"))
        .collect();
    ensure!(
        listed == expected,
        "{} lists {listed:?}, expected {expected:?}",
        tarball.display()
    );
    Ok(())
}

#[cfg(test)]
#[path = "swift_tests.rs"]
mod tests;
