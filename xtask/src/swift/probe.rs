//! The C module probe: what a Swift toolchain would find first, checked with clang alone.
//!
//! Rules:
//! - A C program imports `OnyxChatFFI` as a clang module through a package's Linux module map
//!   (`Sources/OnyxChatFFI/module.modulemap`, exactly what the Linux system library target
//!   hands to swiftc), is linked against the host `libchat_ffi` and run.
//! - It calls the uniffi contract version and every API checksum function the generated Swift
//!   checks when it loads (`uniffiEnsureInitialized`), and compares them with the values that
//!   Swift expects: a mismatch is the "UniFFI API checksum mismatch" an app would crash on.
//! - Implicit function declarations are errors, so every symbol comes from the module.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail, ensure};

use crate::workspace_root;

/// What the generated Swift expects of the library: (contract version, [(function, value)]).
pub(crate) type Expectations = (u32, Vec<(String, u16)>);

/// Reads the contract version and the API checksums from the generated Swift.
pub(crate) fn expectations(swift: &str) -> anyhow::Result<Expectations> {
    let contract = swift
        .lines()
        .find_map(|l| l.trim().strip_prefix("let bindings_contract_version = "))
        .context("no `let bindings_contract_version = ` in the generated Swift")?
        .trim()
        .parse()?;
    let mut checksums = Vec::new();
    for line in swift.lines() {
        let Some(rest) = line.trim().strip_prefix("if (uniffi_") else {
            continue;
        };
        let Some((name, value)) = rest.split_once("() != ") else {
            continue;
        };
        let value = value.trim_end_matches(['{', ' ', ')']);
        checksums.push((format!("uniffi_{name}"), value.parse()?));
    }
    ensure!(
        !checksums.is_empty(),
        "no API checksum checks in the generated Swift"
    );
    Ok((contract, checksums))
}

/// The probe's C source for `expected`.
pub(crate) fn source(expected: &Expectations) -> String {
    let (contract, checksums) = expected;
    let mut c = String::from(
        "#pragma clang module import OnyxChatFFI\n#include <stdio.h>\n\nint main(void) {\n    int failures = 0;\n",
    );
    let _ = writeln!(
        c,
        "    if (ffi_chat_ffi_uniffi_contract_version() != {contract}u) {{\n        \
         printf(\"contract version %u, the Swift expects {contract}\\n\", \
         ffi_chat_ffi_uniffi_contract_version());\n        failures++;\n    }}"
    );
    for (function, value) in checksums {
        let _ = writeln!(
            c,
            "    if ({function}() != {value}) {{\n        \
             printf(\"{function}: %u, the Swift expects {value}\\n\", (unsigned) {function}());\n        \
             failures++;\n    }}"
        );
    }
    let _ = writeln!(
        c,
        "    printf(\"%d of {} checks failed\\n\", failures);\n    return failures != 0;\n}}",
        checksums.len() + 1
    );
    c
}

/// Builds and runs the probe for `package` (bindings-swift or the distribution): its Linux
/// module map and its generated Swift, against the host library in `library_dir`.
pub(crate) fn check(package: &Path, library_dir: &Path) -> anyhow::Result<()> {
    let swift = fs::read_to_string(package.join("Sources/OnyxChat/Generated/OnyxChat.swift"))?;
    let expected = expectations(&swift)?;
    let work = workspace_root().join("target/swift-probe");
    if work.exists() {
        fs::remove_dir_all(&work)?;
    }
    fs::create_dir_all(&work)?;
    let probe_c = work.join("probe.c");
    fs::write(&probe_c, source(&expected))?;
    let module_map = package.join(super::FFI_MODULE_DIR).join("module.modulemap");
    let probe = work.join("probe");
    let compiled = Command::new("clang")
        .arg("-fmodules")
        .arg(format!(
            "-fmodules-cache-path={}",
            work.join("cache").display()
        ))
        .arg(format!("-fmodule-map-file={}", module_map.display()))
        .arg("-Werror=implicit-function-declaration")
        .arg(&probe_c)
        .arg("-L")
        .arg(library_dir)
        .arg("-lchat_ffi")
        .arg(format!("-Wl,-rpath,{}", library_dir.display()))
        .arg("-o")
        .arg(&probe)
        .status()
        .context("starting clang")?;
    ensure!(
        compiled.success(),
        "the OnyxChatFFI module ({}) did not compile or link with clang",
        module_map.display()
    );
    let ran = Command::new(&probe)
        .env("LD_LIBRARY_PATH", library_dir)
        .env("DYLD_LIBRARY_PATH", library_dir)
        .output()
        .context("running the probe")?;
    let report = String::from_utf8_lossy(&ran.stdout);
    if !ran.status.success() {
        bail!(
            "libchat_ffi in {} does not match the generated Swift of {}:\n{report}",
            library_dir.display(),
            package.display()
        );
    }
    eprintln!(
        "xtask: OnyxChatFFI module of {}: contract {} and {} API checksums match libchat_ffi",
        package.display(),
        expected.0,
        expected.1.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expectations_are_read_from_the_generated_swift() {
        let swift = fs::read_to_string(
            super::super::package_dir().join("Sources/OnyxChat/Generated/OnyxChat.swift"),
        )
        .unwrap();
        let (contract, checksums) = expectations(&swift).unwrap();
        assert!(contract > 0);
        let checked = swift
            .lines()
            .filter(|l| l.contains("if (uniffi_") && l.contains("() != "))
            .count();
        assert_eq!(checksums.len(), checked);
        assert!(
            checksums
                .iter()
                .any(|(f, _)| f == "uniffi_chat_ffi_checksum_method_fficlient_add_reaction")
        );
        let c = source(&(contract, checksums.clone()));
        for (function, value) in &checksums {
            assert!(
                c.contains(&format!("if ({function}() != {value})")),
                "{function}"
            );
        }
    }
}
