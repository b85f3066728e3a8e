//! The uniffi bindings generator, built from the workspace so its version always matches
//! the `uniffi` crate the library uses:
//! `cargo run -p chat-ffi --bin uniffi-bindgen -- generate --library <libchat_ffi.so> --language kotlin --out-dir <dir>`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
