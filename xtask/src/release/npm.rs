//! Release packaging of the npm artifacts: `@onyxchat/core` and `@onyxchat/react` as the
//! tarballs `npm publish` would upload.
//!
//! Rules:
//! - [`package`] builds what the tarballs hold (the wasm package, both packages' `dist/`)
//!   and then packs them; [`pack`] only packs, for callers that just built them (the
//!   consumer-app test).
//! - Each package's `version` must be the release version, and `@onyxchat/react`'s peer
//!   range on `@onyxchat/core` must be `^<version>`: one version for everything.
//! - Packing goes through `npm pack`, so each package's `prepack` script runs (it refuses
//!   a package without its built files and copies the root LICENSE in); then each
//!   tarball's listing (`tar -tzf`) must hold every file a consumer needs and nothing
//!   outside the package's root files and its shipped directories, and
//!   `@onyxchat/react`'s modules must start with `"use client"`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{run, wasm, web, workspace_root};

/// One npm package of the release.
struct NpmPackage {
    /// The package's name on npm.
    name: &'static str,
    /// Its directory under the workspace root.
    dir: &'static str,
    /// Files its tarball must contain (paths inside the tarball).
    required: &'static [&'static str],
    /// Where every file of the tarball must be (exact paths, or directories ending in `/`).
    allowed: &'static [&'static str],
}

/// The files every package ships at its root.
const ROOT_FILES: [&str; 3] = [
    "package/package.json",
    "package/README.md",
    "package/LICENSE",
];

const PACKAGES: [NpmPackage; 2] = [
    NpmPackage {
        name: "@onyxchat/core",
        dir: "packages-js/core",
        required: &[
            "package/package.json",
            "package/README.md",
            "package/LICENSE",
            "package/dist/index.js",
            "package/dist/index.d.ts",
            "package/dist/engine.js",
            "package/dist/worker.js",
            "package/wasm/chat_wasm.js",
            "package/wasm/chat_wasm.d.ts",
            "package/wasm/chat_wasm_bg.wasm",
        ],
        allowed: &["package/dist/", "package/wasm/"],
    },
    NpmPackage {
        name: "@onyxchat/react",
        dir: "packages-js/react",
        required: &[
            "package/package.json",
            "package/README.md",
            "package/LICENSE",
            "package/dist/index.js",
            "package/dist/index.d.ts",
            "package/dist/theme.css",
        ],
        allowed: &["package/dist/", "package/src/"],
    },
];

/// Builds both packages and packs them into `out`; returns the two tarballs.
pub(crate) fn package(out: &Path, version: &str) -> anyhow::Result<Vec<PathBuf>> {
    wasm::ensure_wasm_tools()?;
    wasm::build_wasm_package()?;
    web::ensure_node_packages()?;
    for p in &PACKAGES {
        run("npm", &["run", "build", "-w", p.name])?;
    }
    pack(out, version)
}

/// Packs the already built packages into `out` with `npm pack` and checks the tarballs;
/// returns their paths (core first).
pub(crate) fn pack(out: &Path, version: &str) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out)?;
    let root = workspace_root();
    let mut tarballs = Vec::new();
    for p in &PACKAGES {
        let dir = root.join(p.dir);
        let found = field(&dir, "version")?;
        if found != version {
            bail!(
                "{} is at version {found}, the release is {version}: set \"version\" in {}/package.json",
                p.name,
                p.dir
            );
        }
        let stem = p.name.trim_start_matches('@').replace('/', "-");
        let tarball = out.join(format!("{stem}-{version}.tgz"));
        let _ = std::fs::remove_file(&tarball);
        eprintln!("xtask: $ npm pack ({})", p.name);
        let status = Command::new("npm")
            .args(["pack", "--silent", "--pack-destination"])
            .arg(out)
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .context("starting npm pack")?;
        if !status.success() || !tarball.exists() {
            bail!("`npm pack` of {} failed ({status})", p.name);
        }
        check_listing(p, &tarball)?;
        tarballs.push(tarball);
    }
    let peer = field(
        &root.join("packages-js/react"),
        "peerDependencies.@onyxchat/core",
    )?;
    if peer != format!("^{version}") {
        bail!("@onyxchat/react's peer range on @onyxchat/core is {peer:?}, not \"^{version}\"");
    }
    let first_line = tar_output(&[
        "-xzOf",
        &tarballs[1].to_string_lossy(),
        "package/dist/index.js",
    ])?;
    if !first_line.starts_with("\"use client\";") {
        bail!("@onyxchat/react's dist/index.js does not start with \"use client\"");
    }
    Ok(tarballs)
}

/// A string field of `dir/package.json` (`a.b` for nested; read by Node).
fn field(dir: &Path, path: &str) -> anyhow::Result<String> {
    let keys: Vec<String> = path.splitn(2, '.').map(|k| format!("[{k:?}]")).collect();
    let script = format!(
        "const v = require('./package.json'){}; if (typeof v !== 'string') process.exit(3); process.stdout.write(v)",
        keys.concat()
    );
    let output = Command::new("node")
        .args(["-e", &script])
        .current_dir(dir)
        .output()
        .context("starting node")?;
    if !output.status.success() {
        bail!("{}/package.json has no string {path}", dir.display());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn tar_output(args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("tar")
        .args(args)
        .output()
        .context("starting tar")?;
    if !output.status.success() {
        bail!(
            "`tar {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Fails unless the tarball lists every required file.
fn check_listing(p: &NpmPackage, tarball: &Path) -> anyhow::Result<()> {
    let listing = tar_output(&["-tzf", &tarball.to_string_lossy()])?;
    let files: Vec<&str> = listing.lines().collect();
    let missing: Vec<&str> = p
        .required
        .iter()
        .copied()
        .filter(|f| !files.contains(f))
        .collect();
    if !missing.is_empty() {
        bail!(
            "{} is missing {} (in {})",
            p.name,
            missing.join(", "),
            tarball.display()
        );
    }
    let extra: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| !ROOT_FILES.contains(f) && !p.allowed.iter().any(|a| f.starts_with(a)))
        .collect();
    if !extra.is_empty() {
        bail!(
            "{} ships files it should not: {} (check \"files\" in its package.json)",
            p.name,
            extra.join(", ")
        );
    }
    eprintln!(
        "xtask: {}: {} files, {} bytes",
        tarball.display(),
        files.len(),
        std::fs::metadata(tarball)?.len()
    );
    Ok(())
}
