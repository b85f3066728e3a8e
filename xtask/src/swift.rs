//! The Swift package's C layer: where the OnyxChatFFI header and module maps live, how an
//! XCFramework slice's `Headers/` is assembled, and the checks of both.
//!
//! Rules:
//! - One generated header, `bindings-swift/Sources/OnyxChatFFI/OnyxChatFFI.h`, next to the Linux
//!   module map (`module.modulemap`, committed: the system library target Package.swift declares
//!   on Linux, linking `chat_ffi`). The uniffi module map for Apple platforms is committed apart,
//!   as `bindings-swift/Generated/OnyxChatFFI.modulemap`, so no directory ever holds two module
//!   maps declaring `OnyxChatFFI` (clang loads the module maps found beside a header).
//! - The XCFramework's headers sit in `Headers/OnyxChatFFI/` (the header and the Apple module
//!   map as `module.modulemap`), never at the root of `Headers/`: every binary framework built
//!   with a root-level `module.modulemap` lands in the same `include/module.modulemap` of the
//!   build products, and Xcode fails with "Multiple commands produce …/include/module.modulemap".
//!   Clang finds `OnyxChatFFI/module.modulemap` under a header search path by the module's name,
//!   so `import OnyxChatFFI` works unchanged.
//! - `assemble_headers` builds the directory `xcodebuild -create-xcframework -headers` receives
//!   (it copies that directory's contents into each slice's `Headers/`); `cargo test -p xtask`
//!   assembles one slice that way on any host and checks it, and `cargo xtask xcframework`
//!   checks the real slices after `xcodebuild`.

pub(crate) mod probe;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};

use crate::workspace_root;

/// The C module's (and the binary target's) name.
pub(crate) const FFI_MODULE: &str = "OnyxChatFFI";

/// The generated header's file name.
pub(crate) const FFI_HEADER: &str = "OnyxChatFFI.h";

/// The C module's directory (the header and the Linux module map), relative to `bindings-swift/`.
pub(crate) const FFI_MODULE_DIR: &str = "Sources/OnyxChatFFI";

/// The uniffi module map for Apple platforms, relative to `bindings-swift/`.
pub(crate) const APPLE_MODULE_MAP: &str = "Generated/OnyxChatFFI.modulemap";

/// `bindings-swift/`.
pub(crate) fn package_dir() -> PathBuf {
    workspace_root().join("bindings-swift")
}

/// Where `cargo xtask swift-bindings` writes the generated header and the uniffi module map.
pub(crate) fn generated_header_paths() -> (PathBuf, PathBuf) {
    let package = package_dir();
    (
        package.join(FFI_MODULE_DIR).join(FFI_HEADER),
        package.join(APPLE_MODULE_MAP),
    )
}

/// Writes the XCFramework's headers directory into `into` (emptied first): `OnyxChatFFI/` with
/// the generated header and the Apple module map as `module.modulemap`. Returns `into`, the
/// directory to hand to `xcodebuild -create-xcframework -headers`.
pub(crate) fn assemble_headers(into: &Path) -> anyhow::Result<PathBuf> {
    if into.exists() {
        fs::remove_dir_all(into)?;
    }
    let module = into.join(FFI_MODULE);
    fs::create_dir_all(&module)?;
    let (header, module_map) = generated_header_paths();
    fs::copy(&header, module.join(FFI_HEADER))
        .with_context(|| format!("copying {}", header.display()))?;
    fs::copy(&module_map, module.join("module.modulemap"))
        .with_context(|| format!("copying {}", module_map.display()))?;
    Ok(into.to_path_buf())
}

/// Whether `path` is a dot file (`.DS_Store`, editor state): never copied, listed or shipped.
fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Copies the directory `from` to `to` (created), recursively, leaving dot files out.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        if is_hidden(&entry.path()) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Every file under `dir` but dot files, as sorted paths relative to it (with `/`).
pub(crate) fn relative_files(dir: &Path) -> anyhow::Result<Vec<String>> {
    fn walk(root: &Path, dir: &Path, into: &mut Vec<String>) -> anyhow::Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            if is_hidden(&path) {
                continue;
            } else if path.is_dir() {
                walk(root, &path, into)?;
            } else {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                into.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// Checks one XCFramework slice's `Headers/`: exactly `OnyxChatFFI/OnyxChatFFI.h` and
/// `OnyxChatFFI/module.modulemap`, the module map declaring `module OnyxChatFFI` over that
/// header, and nothing at the root (no `module.modulemap` to collide with other frameworks).
pub(crate) fn check_slice_headers(headers: &Path) -> anyhow::Result<()> {
    let files = relative_files(headers)?;
    let expected = vec![
        format!("{FFI_MODULE}/{FFI_HEADER}"),
        format!("{FFI_MODULE}/module.modulemap"),
    ];
    ensure!(
        files == expected,
        "{}: expected exactly {expected:?} (headers in a subdirectory named after the module), found {files:?}",
        headers.display()
    );
    let map_path = headers.join(FFI_MODULE).join("module.modulemap");
    let map = fs::read_to_string(&map_path)?;
    check_module_map(&map, FFI_HEADER).with_context(|| map_path.display().to_string())?;
    let header = fs::read_to_string(headers.join(FFI_MODULE).join(FFI_HEADER))?;
    ensure!(
        header.contains("RustBuffer") && header.contains("ffi_chat_ffi_"),
        "{FFI_HEADER} is not the uniffi header of chat-ffi"
    );
    Ok(())
}

/// Checks every slice of a built XCFramework (`ios-arm64/`, `ios-arm64_x86_64-simulator/`,
/// `macos-arm64_x86_64/`): each has its static library and the `Headers/` layout above.
pub(crate) fn check_xcframework_headers(xcframework: &Path) -> anyhow::Result<()> {
    let mut slices = 0;
    for entry in fs::read_dir(xcframework)? {
        let slice = entry?.path();
        if !slice.is_dir() {
            continue;
        }
        ensure!(
            slice.join("libchat_ffi.a").is_file(),
            "{}: no libchat_ffi.a",
            slice.display()
        );
        check_slice_headers(&slice.join("Headers"))?;
        slices += 1;
    }
    ensure!(
        slices == 3,
        "{}: expected 3 slices (iOS, simulator, macOS), found {slices}",
        xcframework.display()
    );
    Ok(())
}

/// Checks a module map: one `module OnyxChatFFI` (not a `framework module`) whose only header
/// is `header`.
pub(crate) fn check_module_map(map: &str, header: &str) -> anyhow::Result<()> {
    let declared: Vec<&str> = map
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("module ") && l.ends_with('{'))
        .collect();
    ensure!(
        declared == [format!("module {FFI_MODULE} {{")],
        "expected one `module {FFI_MODULE} {{` declaration, found {declared:?}"
    );
    let headers: Vec<&str> = map
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("header "))
        .map(|h| h.trim().trim_matches('"'))
        .collect();
    ensure!(
        headers == [header],
        "expected the one header {header:?}, found {headers:?}"
    );
    Ok(())
}

/// Checks the C module directory of `package` (bindings-swift or the distribution): exactly the
/// generated header and the Linux module map, which declares `module OnyxChatFFI` over that
/// header and links `chat_ffi`.
pub(crate) fn check_linux_module(package: &Path) -> anyhow::Result<()> {
    let dir = package.join(FFI_MODULE_DIR);
    let files = relative_files(&dir)?;
    ensure!(
        files == [FFI_HEADER, "module.modulemap"],
        "{}: expected only {FFI_HEADER} and module.modulemap, found {files:?}",
        dir.display()
    );
    let map = fs::read_to_string(dir.join("module.modulemap"))?;
    check_module_map(&map, FFI_HEADER)
        .with_context(|| format!("{FFI_MODULE_DIR}/module.modulemap"))?;
    ensure!(
        map.lines().any(|l| l.trim() == "link \"chat_ffi\""),
        "{FFI_MODULE_DIR}/module.modulemap must `link \"chat_ffi\"`"
    );
    Ok(())
}

/// The pinned ast-grep, whose built-in tree-sitter Swift grammar parses the hand-written Swift.
const AST_GREP: &str = "@ast-grep/cli@0.51.1";

/// An ast-grep rule reporting every node the Swift grammar could not parse.
const SYNTAX_RULE: &str = "id: swift-syntax-error
language: swift
severity: error
message: Swift syntax error (tree-sitter-swift could not parse this)
rule:
  kind: ERROR
";

/// Parses `files` (Swift) and fails on any syntax error: with no Swift toolchain on the machine,
/// this is the check that hand-written Swift and the manifests are at least well-formed
/// (balanced braces and parentheses, complete statements). It does not type-check, and the
/// grammar does not know every attribute uniffi emits, so generated Swift is not passed here.
/// Installs ast-grep from npm into `target/tools/ast-grep` once (idempotent).
pub(crate) fn check_swift_syntax(files: &[PathBuf]) -> anyhow::Result<()> {
    let prefix = workspace_root().join("target/tools/ast-grep");
    let binary = prefix.join("node_modules/.bin/ast-grep");
    if !binary.exists() {
        if std::process::Command::new("npm")
            .arg("--version")
            .output()
            .is_err()
        {
            crate::tools::apt_install(&["npm"])?;
        }
        let prefix_arg = prefix.to_string_lossy().into_owned();
        crate::run(
            "npm",
            &[
                "install",
                "--prefix",
                &prefix_arg,
                "--no-save",
                "--no-audit",
                "--no-fund",
                AST_GREP,
            ],
        )?;
    }
    let rule = prefix.join("swift-syntax.yml");
    fs::write(&rule, SYNTAX_RULE)?;
    let status = std::process::Command::new(&binary)
        .arg("scan")
        .arg("--rule")
        .arg(&rule)
        .args(files)
        .status()
        .with_context(|| format!("starting {}", binary.display()))?;
    ensure!(
        status.success(),
        "Swift syntax errors (ast-grep, tree-sitter-swift) in {} files checked: see above",
        files.len()
    );
    eprintln!("xtask: {} Swift files parse cleanly", files.len());
    Ok(())
}

/// The hand-written Swift of `package` (bindings-swift or the distribution): `Package.swift` and
/// every `.swift` file under `Sources/` and `Tests/` except the generated ones.
pub(crate) fn hand_written_swift(package: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = vec![package.join("Package.swift")];
    for dir in ["Sources", "Tests"] {
        if !package.join(dir).is_dir() {
            continue;
        }
        for file in relative_files(&package.join(dir))? {
            if file.ends_with(".swift") && !file.contains("/Generated/") {
                files.push(package.join(dir).join(file));
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Copies `headers` into `slice/Headers/` the way `xcodebuild -create-xcframework -library …
    /// -headers <headers>` does (the directory's contents, recursively), returning `slice/Headers`.
    fn assemble_slice_headers(headers: &Path, slice: &Path) -> anyhow::Result<PathBuf> {
        let into = slice.join("Headers");
        if into.exists() {
            fs::remove_dir_all(&into)?;
        }
        copy_tree(headers, &into)?;
        Ok(into)
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = workspace_root().join("target/xtask-tests").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_slice_gets_its_headers_in_a_module_subdirectory() {
        let work = scratch("slice");
        let assembled = assemble_headers(&work.join("headers")).unwrap();
        let headers = assemble_slice_headers(&assembled, &work.join("ios-arm64")).unwrap();
        check_slice_headers(&headers).unwrap();
        assert!(!headers.join("module.modulemap").exists());
    }

    #[test]
    fn a_root_level_module_map_is_refused() {
        let work = scratch("flat-slice");
        let assembled = assemble_headers(&work.join("headers")).unwrap();
        let flat = assembled.join(FFI_MODULE);
        let headers = assemble_slice_headers(&flat, &work.join("ios-arm64")).unwrap();
        let error = check_slice_headers(&headers).unwrap_err().to_string();
        assert!(error.contains("subdirectory"), "{error}");
    }

    #[test]
    fn a_framework_module_or_another_header_is_refused() {
        let framework = "framework module OnyxChatFFI {\n    header \"OnyxChatFFI.h\"\n}";
        assert!(check_module_map(framework, FFI_HEADER).is_err());
        let other = "module OnyxChatFFI {\n    header \"Other.h\"\n}";
        assert!(check_module_map(other, FFI_HEADER).is_err());
    }

    #[test]
    fn the_linux_module_declares_the_generated_header() {
        check_linux_module(&package_dir()).unwrap();
    }
}
