//! Browsers, files and tokens (docs/protocol.md "Security model", "Browsers, files and
//! tokens"). The rules this module owns:
//!
//! - `cors`: a page of another origin may use the API and the WebSocket only when the app
//!   allows that origin; preflights are answered for origins some app allows; app
//!   settings are for server-side credentials, validated, `*` only in dev mode.
//! - `static_files`: `--static-dir` never serves hidden paths (`.onyxchat`, `.env`, …),
//!   however they are spelled.
//! - `tokens`: `nbf`/`iat` in the future and lifetimes over 30 days are refused.
//! - `oracles`: an outsider cannot tell an existing channel or message from a missing
//!   one, and the starred list's anchor cannot probe other users' messages.
//!
//! The CLI's rules (`--dev` only on loopback, a static dir holding the data dir, `app
//! cors`) are tested against the binary in `tests/cli.rs`.

mod cors;
mod oracles;
mod static_files;
mod tokens;
