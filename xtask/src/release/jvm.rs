//! Release packaging of the JVM artifact: `onyxchat-jvm-<version>-linux-x86-64.jar` (the
//! platform-neutral Kotlin layer and the generated bindings, compiled with kotlinc as the
//! Kotlin suite does, plus the release `libchat_ffi.so` at JNA's resource path
//! `linux-x86-64/`) and its POM.
//!
//! Rules:
//! - The version is the workspace's and must equal `VERSION_NAME` of bindings-kotlin's
//!   `gradle.properties` (the Android publication); dependency versions (JNA,
//!   kotlinx-coroutines) come from its `gradle/libs.versions.toml`, so both publications
//!   agree; kotlin-stdlib is the compiler's.
//! - The native library is a release build of chat-ffi alone (no bindgen code, linked for
//!   16 KB pages and checked like the Android ones); `cargo xtask test` packs the debug
//!   host library instead ([`Mode::Suite`]), checked the same way.
//! - The jar is checked, not trusted: the library and the main classes are in it, nothing
//!   Android- or test-only is, the manifest carries the version, and a smoke program opens a
//!   client from the jar alone (no `-Djna.library.path`), proving JNA finds the library
//!   inside it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};

use super::Mode;
use crate::bindings::{build_host_artifacts, classpath, host_dir, kotlin_sources};
use crate::tools::ensure_kotlin_tools;
use crate::{run, workspace_root};

/// JNA's resource prefix for Linux on x86-64, where it looks for bundled libraries.
const JNA_PREFIX: &str = "linux-x86-64";

/// Entries the jar must contain (besides the library).
const REQUIRED: &[&str] = &[
    "META-INF/MANIFEST.MF",
    "com/onyxchat/ChatClient.class",
    "com/onyxchat/FfiClient.class",
    "com/onyxchat/MessageList.class",
    "com/onyxchat/LifecycleBinder.class",
    "com/onyxchat/ChannelListModel.class",
    "com/onyxchat/MessageListModel.class",
];

/// Prefixes of entries it must not contain: Android-only sources, the JVM tests.
const FORBIDDEN: &[&str] = &[
    "com/onyxchat/android/",
    "com/onyxchat/TestServer",
    "org/junit/",
];

/// Builds the JVM jar and its POM into `out` and checks them; returns both paths.
pub(crate) fn package(out: &Path, version: &str, mode: Mode) -> anyhow::Result<Vec<PathBuf>> {
    let root = workspace_root();
    let kotlin = root.join("bindings-kotlin");
    let gradle_version = property(&kotlin.join("gradle.properties"), "VERSION_NAME")?;
    ensure!(
        gradle_version == version,
        "bindings-kotlin/gradle.properties has VERSION_NAME={gradle_version}, the workspace {version}"
    );
    let catalog = kotlin.join("gradle/libs.versions.toml");
    let jna = property(&catalog, "jna")?;
    let coroutines = property(&catalog, "kotlinx-coroutines")?;

    let tools = ensure_kotlin_tools()?;
    if mode == Mode::Release {
        run(
            "cargo",
            &["build", "--release", "--locked", "-p", "chat-ffi", "--lib"],
        )?;
    }
    // The host build the native suites use (a no-op after them): it holds uniffi-bindgen.
    // `cargo build -p uniffi-bindgen` alone would recompile its dependencies under another
    // feature set.
    build_host_artifacts()?;
    let library = match mode {
        Mode::Release => root.join("target/release/libchat_ffi.so"),
        Mode::Suite => host_dir().join("libchat_ffi.so"),
    };
    crate::android::check_16k_pages(&library)?;

    let work = root.join("target/jvm-release");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    let generated = work.join("generated");
    let bindgen = host_dir().join("uniffi-bindgen");
    run(
        &bindgen.to_string_lossy(),
        &[
            "generate",
            "--library",
            &library.to_string_lossy(),
            "--language",
            "kotlin",
            "--out-dir",
            &generated.to_string_lossy(),
            "--no-format",
        ],
    )?;

    // Compile what apps use (not the tests, not src/android) against JNA and coroutines.
    let classes = work.join("classes");
    let mut sources = Vec::new();
    kotlin_sources(&generated, &mut sources)?;
    kotlin_sources(&kotlin.join("src/main/kotlin"), &mut sources)?;
    let compile: Vec<PathBuf> = tools
        .compile_classpath
        .iter()
        .filter(|p| !p.to_string_lossy().contains("junit"))
        .cloned()
        .collect();
    kotlinc(&tools.kotlinc, &compile, &classes, &sources)?;
    fs::create_dir_all(classes.join(JNA_PREFIX))?;
    fs::copy(&library, classes.join(JNA_PREFIX).join("libchat_ffi.so"))?;

    let manifest = work.join("MANIFEST.MF");
    fs::write(
        &manifest,
        format!(
            "Implementation-Title: OnyxChat for the JVM (Linux x86-64)\n\
             Implementation-Version: {version}\n\
             Implementation-Vendor: OnyxChat\n\
             Automatic-Module-Name: com.onyxchat\n"
        ),
    )?;
    fs::create_dir_all(out)?;
    let jar = out.join(format!("onyxchat-jvm-{version}-{JNA_PREFIX}.jar"));
    run(
        "jar",
        &[
            "--create",
            "--file",
            &jar.to_string_lossy(),
            "--manifest",
            &manifest.to_string_lossy(),
            "-C",
            &classes.to_string_lossy(),
            ".",
        ],
    )?;
    let stdlib_version = fs::read_to_string(tools.kotlinc.with_file_name("../build.txt"))
        .context("reading kotlinc's build.txt")?
        .trim()
        .to_owned();
    let pom = out.join(format!("onyxchat-jvm-{version}.pom"));
    fs::write(&pom, pom_xml(version, &jna, &coroutines, &stdlib_version))?;

    check_contents(&jar, &work, version)?;
    smoke_test(&jar, &work, version, &tools)?;
    eprintln!(
        "xtask: {} ({} bytes) and {} checked",
        jar.display(),
        fs::metadata(&jar)?.len(),
        pom.display()
    );
    Ok(vec![jar, pom])
}

/// `key = value` / `key=value` of a properties or TOML file, quotes removed.
fn property(file: &Path, key: &str) -> anyhow::Result<String> {
    let text = fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=')
            && k.trim() == key
        {
            return Ok(v.trim().trim_matches('"').to_owned());
        }
    }
    bail!("no `{key}` in {}", file.display())
}

fn kotlinc(kotlinc: &Path, cp: &[PathBuf], to: &Path, sources: &[String]) -> anyhow::Result<()> {
    let cp = classpath(cp);
    let to = to.to_string_lossy().into_owned();
    let mut args = vec!["-nowarn", "-cp", &cp, "-d", &to];
    args.extend(sources.iter().map(String::as_str));
    run(&kotlinc.to_string_lossy(), &args)
}

/// The Maven POM of the jar (the jar itself is the `linux-x86-64` classifier). Dependencies
/// are compile-scoped: the public API exposes JNA types and coroutines' `Flow`.
fn pom_xml(version: &str, jna: &str, coroutines: &str, stdlib: &str) -> String {
    let dependency = |group: &str, artifact: &str, v: &str| {
        format!(
            "    <dependency>\n      <groupId>{group}</groupId>\n      <artifactId>{artifact}</artifactId>\n      \
             <version>{v}</version>\n    </dependency>\n"
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.onyxchat</groupId>
  <artifactId>onyxchat-jvm</artifactId>
  <version>{version}</version>
  <name>OnyxChat for the JVM</name>
  <description>OnyxChat offline-first chat SDK for the JVM: a Kotlin API over the Rust core (native library per platform as a classifier jar).</description>
  <url>https://github.com/onyxchat/onyxchat</url>
  <licenses>
    <license>
      <name>Apache-2.0</name>
      <url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>
      <distribution>repo</distribution>
    </license>
  </licenses>
  <developers>
    <developer>
      <id>onyxchat</id>
      <name>The OnyxChat developers</name>
      <url>https://github.com/onyxchat</url>
    </developer>
  </developers>
  <scm>
    <url>https://github.com/onyxchat/onyxchat</url>
    <connection>scm:git:https://github.com/onyxchat/onyxchat.git</connection>
    <developerConnection>scm:git:ssh://git@github.com/onyxchat/onyxchat.git</developerConnection>
  </scm>
  <dependencies>
{}{}{}  </dependencies>
</project>
"#,
        dependency("net.java.dev.jna", "jna", jna),
        dependency(
            "org.jetbrains.kotlinx",
            "kotlinx-coroutines-core-jvm",
            coroutines
        ),
        dependency("org.jetbrains.kotlin", "kotlin-stdlib", stdlib),
    )
}

/// The jar holds the library and the main classes, nothing Android- or test-only, and its
/// manifest names `version`.
fn check_contents(jar: &Path, work: &Path, version: &str) -> anyhow::Result<()> {
    let listing = Command::new("jar")
        .arg("--list")
        .arg("--file")
        .arg(jar)
        .output()
        .context("starting jar --list")?;
    ensure!(listing.status.success(), "jar --list failed");
    let entries: Vec<String> = String::from_utf8(listing.stdout)?
        .lines()
        .map(str::to_owned)
        .collect();
    let library = format!("{JNA_PREFIX}/libchat_ffi.so");
    for needed in REQUIRED.iter().copied().chain([library.as_str()]) {
        ensure!(
            entries.iter().any(|e| e == needed),
            "{} lacks {needed}",
            jar.display()
        );
    }
    if let Some(extra) = entries
        .iter()
        .find(|e| FORBIDDEN.iter().any(|f| e.starts_with(f)))
    {
        bail!("{} must not contain {extra}", jar.display());
    }
    let unpacked = work.join("unpacked");
    fs::create_dir_all(&unpacked)?;
    let status = Command::new("jar")
        .arg("--extract")
        .arg("--file")
        .arg(jar)
        .arg("META-INF/MANIFEST.MF")
        .current_dir(&unpacked)
        .status()
        .context("starting jar --extract")?;
    ensure!(status.success(), "jar --extract failed");
    let manifest = fs::read_to_string(unpacked.join("META-INF/MANIFEST.MF"))?;
    ensure!(
        manifest
            .lines()
            .any(|l| l.trim() == format!("Implementation-Version: {version}")),
        "the jar's manifest does not carry version {version}:\n{manifest}"
    );
    Ok(())
}

/// Compiles and runs a program that opens a client from the jar alone: JNA must find
/// `libchat_ffi.so` inside it (no `-Djna.library.path`, no `LD_LIBRARY_PATH`).
fn smoke_test(
    jar: &Path,
    work: &Path,
    version: &str,
    tools: &crate::tools::KotlinTools,
) -> anyhow::Result<()> {
    let dir = work.join("smoke");
    fs::create_dir_all(&dir)?;
    let source = dir.join("Smoke.kt");
    fs::write(
        &source,
        r#"import com.onyxchat.ChatClient
import com.onyxchat.TokenProvider
import kotlinx.coroutines.runBlocking

fun main() = runBlocking {
    val client = ChatClient.connect("http://127.0.0.1:9", "smoke", "smoke-user", null, TokenProvider { "unused" })
    val library = com.sun.jna.NativeLibrary.getInstance("chat_ffi").file
    val version = ChatClient::class.java.`package`.implementationVersion
    println("onyxchat-smoke user=${client.userId} version=$version library=$library")
    client.close()
}
"#,
    )?;
    let mut cp = vec![jar.to_path_buf()];
    cp.extend(
        tools
            .compile_classpath
            .iter()
            .filter(|p| !p.to_string_lossy().contains("junit"))
            .cloned(),
    );
    let classes = dir.join("classes");
    kotlinc(
        &tools.kotlinc,
        &cp,
        &classes,
        &[source.to_string_lossy().into_owned()],
    )?;
    cp.insert(0, classes);
    cp.extend(
        tools
            .runtime_classpath
            .iter()
            .filter(|p| p.to_string_lossy().contains("kotlin-stdlib"))
            .cloned(),
    );
    eprintln!("xtask: $ java -cp <jar, stdlib, jna, coroutines> SmokeKt");
    let output = Command::new("java")
        .arg("-cp")
        .arg(classpath(&cp))
        .arg("SmokeKt")
        .env_remove("LD_LIBRARY_PATH")
        .current_dir(&dir)
        .output()
        .context("starting java")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "the smoke program failed:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("onyxchat-smoke "))
        .with_context(|| format!("no smoke line in:\n{stdout}"))?;
    eprintln!("xtask: {line}");
    ensure!(
        line.contains("user=smoke-user") && line.contains(&format!("version={version} ")),
        "unexpected smoke result: {line}"
    );
    let target = workspace_root()
        .join("target")
        .to_string_lossy()
        .into_owned();
    ensure!(
        !line.contains(&format!("library={target}")),
        "the library was loaded from the build directory, not from the jar: {line}"
    );
    Ok(())
}
