//! Links chat-ffi's shared library for 16 KB memory pages on Android and Linux.
//!
//! Rules: Android 15+ devices may use 16 KB pages and Google Play requires apps targeting
//! them to ship `.so` files whose LOAD segments are aligned to at least 16 KB; NDKs before
//! r28 link with 4 KB. The flag is passed for Linux too, so `cargo xtask kotlin-test`
//! checks the same property on the host library (`xtask/src/android.rs`). Only the cdylib
//! gets it: the static library and the rlib are not linked here.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "android" || os == "linux" {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
    }
}
