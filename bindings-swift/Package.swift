// swift-tools-version: 5.10
// 5.10 (Xcode 15.3+) at least: the generated bindings use `nonisolated(unsafe)`.
// The OnyxChat Swift package: one module, OnyxChat (the uniffi-generated bindings plus the
// hand-written Swift layer), over the Rust core shipped as the OnyxChatFFI XCFramework.
import PackageDescription

let package = Package(
    name: "OnyxChat",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "OnyxChat", targets: ["OnyxChat"]),
    ],
    targets: [
        // The Rust core: libchat_ffi.a for every Apple slice plus the OnyxChatFFI C module,
        // built by `cargo xtask xcframework`. A release points at the uploaded zip instead:
        //   .binaryTarget(
        //       name: "OnyxChatFFI",
        //       url: "https://…/OnyxChatFFI.xcframework.zip",
        //       checksum: "<the checksum `cargo xtask xcframework` prints>"
        //   ),
        .binaryTarget(name: "OnyxChatFFI", path: "OnyxChatFFI.xcframework"),
        // Generated (Sources/OnyxChat/Generated, written by `cargo xtask swift-bindings`) and
        // hand-written Swift compile into this one module, as both are package com.onyxchat in Kotlin.
        .target(
            name: "OnyxChat",
            dependencies: ["OnyxChatFFI"],
            path: "Sources/OnyxChat",
            linkerSettings: [
                // What the Rust static library needs from the SDK: CoreFoundation for the time
                // zone lookup (chrono's iana-time-zone); Security and SystemConfiguration are
                // what reqwest/rustls-based crates commonly reach for on Apple platforms.
                .linkedFramework("CoreFoundation"),
                .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"),
            ]
        ),
        .testTarget(
            name: "OnyxChatTests",
            dependencies: ["OnyxChat"],
            path: "Tests/OnyxChatTests"
        ),
    ]
)
