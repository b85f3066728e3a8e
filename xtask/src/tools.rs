//! Installs what the Kotlin suite needs, idempotently (each step is skipped when its
//! result is already present): a JDK, JNA and JUnit 4 from the system's packages, and the
//! Kotlin compiler from npm into `target/tools/kotlin` (the version pinned in
//! ../shared/TOOLCHAIN.md: 2.4.20, which ships the coroutines jar too).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::{run, workspace_root};

/// The pinned Kotlin compiler.
const KOTLIN_COMPILER: &str = "kotlin-compiler@2.4.20";

/// Where the system packages put the jars.
const JAVA_SHARE: &str = "/usr/share/java";

/// Paths of everything the Kotlin suite compiles and runs with.
pub(crate) struct KotlinTools {
    /// `kotlinc`.
    pub kotlinc: PathBuf,
    /// Jars for compiling: JNA, kotlinx-coroutines, JUnit.
    pub compile_classpath: Vec<PathBuf>,
    /// Extra jars for running: the Kotlin stdlib and Hamcrest.
    pub runtime_classpath: Vec<PathBuf>,
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `apt-get install -y <packages>`, through sudo when not root; refreshes the package
/// lists once if the first attempt fails (a fresh image has none).
pub(crate) fn apt_install(packages: &[&str]) -> anyhow::Result<()> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    let (program, prefix): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["-n", "apt-get"])
    };
    let mut install: Vec<&str> = prefix.to_vec();
    install.extend(["install", "-y", "--no-install-recommends"]);
    install.extend(packages);
    if run(program, &install).is_ok() {
        return Ok(());
    }
    let mut update: Vec<&str> = prefix.to_vec();
    update.push("update");
    run(program, &update)?;
    run(program, &install).with_context(|| format!("installing {}", packages.join(" ")))
}

fn jar(name: &str) -> PathBuf {
    Path::new(JAVA_SHARE).join(name)
}

/// Makes sure the JDK, the jars and kotlinc are present; returns their paths.
pub(crate) fn ensure_kotlin_tools() -> anyhow::Result<KotlinTools> {
    let mut packages = Vec::new();
    if !succeeds("java", &["-version"]) {
        packages.push("default-jdk-headless");
    }
    if !jar("jna.jar").exists() {
        packages.push("libjna-java");
    }
    if !jar("junit4.jar").exists() || !jar("hamcrest-core.jar").exists() {
        packages.push("junit4");
    }
    if !packages.is_empty() {
        apt_install(&packages)?;
    }

    let prefix = workspace_root().join("target/tools/kotlin");
    let home = prefix.join("node_modules/kotlin-compiler");
    let kotlinc = home.join("bin/kotlinc");
    if !kotlinc.exists() {
        if !succeeds("npm", &["--version"]) {
            apt_install(&["npm"])?;
        }
        let prefix_arg = prefix.to_string_lossy().into_owned();
        run(
            "npm",
            &[
                "install",
                "--prefix",
                &prefix_arg,
                "--no-save",
                "--no-audit",
                "--no-fund",
                KOTLIN_COMPILER,
            ],
        )?;
    }
    let lib = home.join("lib");
    let tools = KotlinTools {
        kotlinc,
        compile_classpath: vec![
            jar("jna.jar"),
            lib.join("kotlinx-coroutines-core-jvm.jar"),
            jar("junit4.jar"),
        ],
        runtime_classpath: vec![lib.join("kotlin-stdlib.jar"), jar("hamcrest-core.jar")],
    };
    for path in tools
        .compile_classpath
        .iter()
        .chain(&tools.runtime_classpath)
        .chain([&tools.kotlinc])
    {
        if !path.exists() {
            bail!(
                "{} is missing after installing the Kotlin tools",
                path.display()
            );
        }
    }
    Ok(tools)
}
