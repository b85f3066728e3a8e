// swift-tools-version: 5.10
// 5.10 (Xcode 15.3+) at least: the generated bindings use `nonisolated(unsafe)`.
// The OnyxChat Swift package for contributors: one module, OnyxChat (the uniffi-generated
// bindings plus the hand-written Swift layer), over the Rust core. Apps install the release
// distribution instead (`cargo xtask release --dry-run` assembles it: the same sources, with
// the XCFramework as a downloaded `binaryTarget(url:checksum:)`; see README.md).
import PackageDescription

#if os(Linux)
// Linux: the Rust core as a system library, the host build of chat-ffi (`libchat_ffi.so`):
// `Sources/OnyxChatFFI/module.modulemap` points at the generated header and links `chat_ffi`,
// found through LIBRARY_PATH when linking and LD_LIBRARY_PATH when running.
let coreTarget: Target = .systemLibrary(name: "OnyxChatFFI", path: "Sources/OnyxChatFFI")
let coreLinkerSettings: [LinkerSetting] = []
#else
// Apple platforms: libchat_ffi.a for every Apple slice plus the OnyxChatFFI C module
// (Headers/OnyxChatFFI/), built by `cargo xtask xcframework`.
let coreTarget: Target = .binaryTarget(name: "OnyxChatFFI", path: "OnyxChatFFI.xcframework")
// What the Rust static library needs from the SDK: CoreFoundation for the time zone lookup
// (chrono's iana-time-zone); Security and SystemConfiguration are what reqwest/rustls-based
// crates commonly reach for on Apple platforms.
let coreLinkerSettings: [LinkerSetting] = [
    .linkedFramework("CoreFoundation"),
    .linkedFramework("Security"),
    .linkedFramework("SystemConfiguration"),
]
#endif

let package = Package(
    name: "OnyxChat",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "OnyxChat", targets: ["OnyxChat"]),
    ],
    targets: [
        coreTarget,
        // Generated (Sources/OnyxChat/Generated, written by `cargo xtask swift-bindings`) and
        // hand-written Swift compile into this one module, as both are package com.onyxchat in Kotlin.
        .target(
            name: "OnyxChat",
            dependencies: ["OnyxChatFFI"],
            path: "Sources/OnyxChat",
            linkerSettings: coreLinkerSettings
        ),
        .testTarget(
            name: "OnyxChatTests",
            dependencies: ["OnyxChat"],
            path: "Tests/OnyxChatTests"
        ),
    ]
)
