//! The native SDKs' tasks: the Kotlin suite (generated + hand-written Kotlin compiled with
//! kotlinc and run with JUnit on the JVM against the host `libchat_ffi` and the real
//! chat-server), regenerating the committed Swift sources (or checking they are current),
//! and building the XCFramework on a Mac.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::swift;
use crate::tools::ensure_kotlin_tools;
use crate::{run, workspace_root};

/// Where `build_host_artifacts` puts the host build (debug profile).
pub(crate) fn host_dir() -> PathBuf {
    workspace_root().join("target/debug")
}

/// The host build of chat-ffi (debug), as the JVM loads it and bindgen reads it.
pub(crate) fn host_library() -> PathBuf {
    host_dir().join(format!(
        "{}chat_ffi{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Runs the workspace's `uniffi-bindgen` on the host library.
fn generate(language: &str, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        fs::remove_dir_all(out).with_context(|| format!("clearing {}", out.display()))?;
    }
    let library = host_library().to_string_lossy().into_owned();
    let out = out.to_string_lossy().into_owned();
    let bindgen = host_dir().join(format!("uniffi-bindgen{}", std::env::consts::EXE_SUFFIX));
    run(
        &bindgen.to_string_lossy(),
        &[
            "generate",
            "--library",
            &library,
            "--language",
            language,
            "--out-dir",
            &out,
            "--no-format",
        ],
    )
}

/// Builds every host artifact the native suites use (`libchat_ffi`, `uniffi-bindgen`,
/// `chat-server`) in one invocation whose feature set equals `cargo test --workspace`'s:
/// `--workspace --all-targets` turns on the same dev-dependency features, so after the
/// Rust tests this compiles only what they did not (bins, benches), never the whole
/// dependency graph again under another feature set. A `cargo build -p chat-ffi` here
/// used to recompile ~60 crates twice over and fill the disk of a CI machine.
pub(crate) fn build_host_artifacts() -> anyhow::Result<()> {
    run(
        "cargo",
        &["build", "--workspace", "--all-targets", "--locked"],
    )
}

/// Appends every `.kt` file under `dir` to `into`.
pub(crate) fn kotlin_sources(dir: &Path, into: &mut Vec<String>) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            kotlin_sources(&path, into)?;
        } else if path.extension().is_some_and(|e| e == "kt") {
            into.push(path.to_string_lossy().into_owned());
        }
    }
    Ok(())
}

/// A `:`-separated class path.
pub(crate) fn classpath(parts: &[PathBuf]) -> String {
    parts
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

/// The Kotlin suite: checks the host `libchat_ffi.so` is 16 KB-page aligned, compiles
/// bindings-kotlin (generated + hand-written + the JVM tests) and runs it against a real
/// chat-server; prints `kotlin: N passed, N failed`.
pub(crate) fn kotlin_suite() -> anyhow::Result<()> {
    let tools = ensure_kotlin_tools()?;
    build_host_artifacts()?;
    // chat-ffi/build.rs links Linux like Android: the check runs on the library tested here.
    crate::android::check_16k_pages(&host_library())?;
    let root = workspace_root();
    let work = root.join("target/kotlin");
    let generated = work.join("generated");
    generate("kotlin", &generated)?;

    let classes = work.join("classes");
    if classes.exists() {
        fs::remove_dir_all(&classes)?;
    }
    let mut sources = Vec::new();
    for dir in [
        generated.clone(),
        root.join("bindings-kotlin/src/main/kotlin"),
        root.join("bindings-kotlin/src/jvmTest/kotlin"),
    ] {
        kotlin_sources(&dir, &mut sources)?;
    }
    let compile_cp = classpath(&tools.compile_classpath);
    let classes_arg = classes.to_string_lossy().into_owned();
    let mut args = vec!["-nowarn", "-cp", &compile_cp, "-d", &classes_arg];
    args.extend(sources.iter().map(String::as_str));
    run(&tools.kotlinc.to_string_lossy(), &args)?;

    let mut runtime = vec![classes];
    runtime.extend(tools.compile_classpath);
    runtime.extend(tools.runtime_classpath);
    let library_dir = host_dir();
    eprintln!("xtask: $ java com.onyxchat.RunTestsKt (JUnit, bindings-kotlin/src/jvmTest)");
    let status = Command::new("java")
        .arg(format!("-Djna.library.path={}", library_dir.display()))
        .arg("-cp")
        .arg(classpath(&runtime))
        .arg("com.onyxchat.RunTestsKt")
        .env("ONYXCHAT_SERVER_BIN", library_dir.join("chat-server"))
        .current_dir(&root)
        .status()
        .context("starting java")?;
    if !status.success() {
        bail!("the Kotlin suite failed ({status})");
    }
    Ok(())
}

/// Where the committed Swift sources go: (generated file, its destination).
fn swift_outputs(generated: &Path) -> Vec<(PathBuf, PathBuf)> {
    let package = swift::package_dir();
    let (header, module_map) = swift::generated_header_paths();
    vec![
        (
            generated.join("OnyxChat.swift"),
            package.join("Sources/OnyxChat/Generated/OnyxChat.swift"),
        ),
        (generated.join("OnyxChatFFI.h"), header),
        (generated.join("OnyxChatFFI.modulemap"), module_map),
    ]
}

/// Regenerates bindings-swift's generated sources from chat-ffi; with `check`, only
/// verifies that the committed ones are current (CI runs this).
pub(crate) fn swift_bindings(check: bool) -> anyhow::Result<()> {
    build_host_artifacts()?;
    let generated = workspace_root().join("target/swift-bindings");
    generate("swift", &generated)?;
    let mut stale = Vec::new();
    for (from, to) in swift_outputs(&generated) {
        let fresh = fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        if fs::read(&to).ok().as_deref() == Some(fresh.as_slice()) {
            continue;
        }
        if check {
            stale.push(to.display().to_string());
        } else {
            if let Some(dir) = to.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&to, fresh).with_context(|| format!("writing {}", to.display()))?;
            eprintln!("xtask: wrote {}", to.display());
        }
    }
    if !stale.is_empty() {
        bail!(
            "the generated Swift sources are stale (run `cargo xtask swift-bindings` and commit): {}",
            stale.join(", ")
        );
    }
    Ok(())
}

/// Apple targets of the XCFramework, grouped by slice (each group is lipo'd together).
const APPLE_SLICES: &[(&str, &[&str])] = &[
    ("ios", &["aarch64-apple-ios"]),
    (
        "ios-simulator",
        &["aarch64-apple-ios-sim", "x86_64-apple-ios"],
    ),
    ("macos", &["aarch64-apple-darwin", "x86_64-apple-darwin"]),
];

/// Builds `bindings-swift/OnyxChatFFI.xcframework` (and its zip, printing the SwiftPM
/// checksum) from release static libraries of every Apple target. macOS with Xcode only.
pub(crate) fn xcframework() -> anyhow::Result<()> {
    if !cfg!(target_os = "macos") {
        bail!(
            "`cargo xtask xcframework` needs macOS with Xcode (xcodebuild, lipo); \
             .github/workflows/swift.yml runs it on a macOS runner"
        );
    }
    swift_bindings(false)?;
    let root = workspace_root();
    let work = root.join("target/xcframework");
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(&work)?;
    let targets: Vec<&str> = APPLE_SLICES
        .iter()
        .flat_map(|(_, t)| t.iter().copied())
        .collect();
    let mut add = vec!["target", "add"];
    add.extend(&targets);
    run("rustup", &add)?;

    // Headers/OnyxChatFFI/{OnyxChatFFI.h,module.modulemap} in every slice (see swift.rs).
    let headers = swift::assemble_headers(&work.join("headers"))?;
    let output = root.join("bindings-swift/OnyxChatFFI.xcframework");
    if output.exists() {
        fs::remove_dir_all(&output)?;
    }
    let mut create: Vec<String> = vec!["-create-xcframework".into()];
    for (slice, slice_targets) in APPLE_SLICES {
        let mut libs = Vec::new();
        for target in *slice_targets {
            run(
                "cargo",
                &[
                    "build",
                    "--release",
                    "--locked",
                    "-p",
                    "chat-ffi",
                    "--target",
                    target,
                ],
            )?;
            libs.push(
                root.join("target")
                    .join(target)
                    .join("release/libchat_ffi.a")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        let fat = work.join(slice).join("libchat_ffi.a");
        fs::create_dir_all(work.join(slice))?;
        let fat_arg = fat.to_string_lossy().into_owned();
        let mut lipo = vec!["-create", "-output", &fat_arg];
        lipo.extend(libs.iter().map(String::as_str));
        run("lipo", &lipo)?;
        create.extend([
            "-library".into(),
            fat_arg,
            "-headers".into(),
            headers.to_string_lossy().into_owned(),
        ]);
    }
    create.extend(["-output".into(), output.to_string_lossy().into_owned()]);
    let create: Vec<&str> = create.iter().map(String::as_str).collect();
    run("xcodebuild", &create)?;
    swift::check_xcframework_headers(&output)?;

    let zip = root.join("bindings-swift/OnyxChatFFI.xcframework.zip");
    let _ = fs::remove_file(&zip);
    let zip_arg = zip.to_string_lossy().into_owned();
    run(
        "ditto",
        &[
            "-c",
            "-k",
            "--sequesterRsrc",
            "--keepParent",
            &output.to_string_lossy(),
            &zip_arg,
        ],
    )?;
    run(
        "swift",
        &[
            "package",
            "--package-path",
            "bindings-swift",
            "compute-checksum",
            &zip_arg,
        ],
    )
}
