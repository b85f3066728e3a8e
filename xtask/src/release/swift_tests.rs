//! Tests of the Swift distribution: the tree is complete and its manifest right, and each check
//! refuses what it exists to refuse.

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/xtask-tests").join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const CHECKSUM: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn local_manifest() -> String {
    fs::read_to_string(swift::package_dir().join("Package.swift")).unwrap()
}

#[test]
fn the_distribution_is_a_complete_swift_package() {
    let out = scratch("release-swift");
    let files = assemble(&out, "9.8.7").unwrap();
    let tree = out.join("swift/OnyxChat");
    let tarball = out.join("swift/OnyxChat-swift-9.8.7.tar.gz");
    assert!(files.contains(&tarball), "{files:?}");
    assert!(files.contains(&tree.join("Package.swift")), "{files:?}");
    for file in &files {
        assert!(file.is_file(), "{}", file.display());
    }

    let found = relative_files(&tree).unwrap();
    for required in [
        "Package.swift",
        "README.md",
        "LICENSE",
        "Sources/OnyxChat/Generated/OnyxChat.swift",
        "Sources/OnyxChat/ChatClient.swift",
        "Sources/OnyxChat/ChatModel.swift",
        "Sources/OnyxChatFFI/module.modulemap",
        "Sources/OnyxChatFFI/OnyxChatFFI.h",
    ] {
        assert!(
            found.iter().any(|f| f == required),
            "{required} missing: {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|f| f.starts_with("Tests/") || f.starts_with("Generated/")),
        "{found:?}"
    );

    let manifest = fs::read_to_string(tree.join("Package.swift")).unwrap();
    let url =
        "https://example.invalid/onyxchat/releases/download/v9.8.7/OnyxChatFFI.xcframework.zip";
    assert!(manifest.contains(&format!("url: \"{url}\"")), "{manifest}");
    let zip = out.join("swift").join(ZIP_NAME);
    let summed = if zip.is_file() {
        zip
    } else {
        out.join("swift").join(PLACEHOLDER_NAME)
    };
    let expected = format!("{:x}", Sha256::digest(fs::read(&summed).unwrap()));
    assert!(
        manifest.contains(&format!("checksum: \"{expected}\"")),
        "{manifest}"
    );
    assert!(
        manifest.contains(".systemLibrary(name: \"OnyxChatFFI\""),
        "{manifest}"
    );
    assert!(
        !manifest.contains("OnyxChatFFI.xcframework\")"),
        "{manifest}"
    );
}

#[test]
fn the_distribution_manifest_is_the_local_one_with_a_remote_binary_and_no_tests() {
    let local = local_manifest();
    let manifest =
        distribution_manifest(&local, "1.2.3", "https://x.invalid/v1.2.3/z", CHECKSUM).unwrap();
    assert!(
        manifest.starts_with("// swift-tools-version: 5.10\n"),
        "{manifest}"
    );
    assert!(!manifest.contains(".testTarget("), "{manifest}");
    assert!(!manifest.contains(LOCAL_BINARY_TARGET), "{manifest}");
    assert!(
        manifest.contains(".linkedFramework(\"Security\")"),
        "{manifest}"
    );
    assert!(manifest.contains("#if os(Linux)"), "{manifest}");
    // Everything but the binary target and the test target is unchanged.
    let (_, local_body) = local.split_once("import PackageDescription\n").unwrap();
    let kept = local_body
        .split(".testTarget(")
        .next()
        .unwrap()
        .split(LOCAL_BINARY_TARGET)
        .nth(1)
        .unwrap();
    assert!(manifest.contains(kept.trim_end()), "{manifest}");
}

/// A distribution tree with the real sources and `manifest` as its Package.swift.
fn tree_with(name: &str, manifest: &str) -> PathBuf {
    let tree = scratch(name);
    copy_tree(&swift::package_dir().join("Sources"), &tree.join("Sources")).unwrap();
    fs::write(tree.join("Package.swift"), manifest).unwrap();
    tree
}

#[test]
fn the_manifest_check_refuses_a_wrong_url_checksum_or_target() {
    let url =
        "https://example.invalid/onyxchat/releases/download/v1.2.3/OnyxChatFFI.xcframework.zip";
    let good = distribution_manifest(&local_manifest(), "1.2.3", url, CHECKSUM).unwrap();
    let tree = tree_with("manifest-check", &good);
    check_manifest(&good, "1.2.3", &tree).unwrap();

    let other_version = check_manifest(&good, "1.2.4", &tree)
        .unwrap_err()
        .to_string();
    assert!(other_version.contains("v1.2.4"), "{other_version}");
    let short = good.replace(CHECKSUM, &CHECKSUM[..63]);
    assert!(
        check_manifest(&short, "1.2.3", &tree)
            .unwrap_err()
            .to_string()
            .contains("64")
    );
    let upper = good.replace(CHECKSUM, &CHECKSUM.to_uppercase());
    assert!(check_manifest(&upper, "1.2.3", &tree).is_err());
    let local = good.replace(
        &format!("url: \"{url}\""),
        "path: \"OnyxChatFFI.xcframework\"",
    );
    assert!(check_manifest(&local, "1.2.3", &tree).is_err());
    let renamed = good.replace(
        "name: \"OnyxChat\",\n            dependencies",
        "name: \"Onyx\",\n            dependencies",
    );
    assert_ne!(renamed, good);
    assert!(check_manifest(&renamed, "1.2.3", &tree).is_err());

    fs::create_dir_all(tree.join("Sources/Stray")).unwrap();
    let stray = check_manifest(&good, "1.2.3", &tree)
        .unwrap_err()
        .to_string();
    assert!(stray.contains("Stray"), "{stray}");
}

#[test]
fn the_hand_written_swift_excludes_the_generated_bindings() {
    let files = swift::hand_written_swift(&swift::package_dir()).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.strip_prefix(swift::package_dir())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(names.contains(&"Package.swift".to_owned()), "{names:?}");
    assert!(
        names.contains(&"Sources/OnyxChat/SystemEvents.swift".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"Tests/OnyxChatTests/TestServer.swift".to_owned()),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.contains("Generated")), "{names:?}");
}
