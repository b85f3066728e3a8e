//! The uniffi bindings generator of the workspace, in a crate of its own so that chat-ffi's
//! shipped libraries (`libchat_ffi.so` per Android ABI, `libchat_ffi.a` per Apple target)
//! carry none of its code and cross builds of chat-ffi never compile it.
//!
//! Rules: its `uniffi` version is the one chat-ffi uses (same requirement, one lock file),
//! so the generated code always matches the scaffolding in the library it reads:
//! `cargo run -p uniffi-bindgen -- generate --library <libchat_ffi.so> --language kotlin --out-dir <dir>`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
