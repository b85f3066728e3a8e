//! Times across the FFI: chat-protocol's [`Timestamp`] is a uniffi custom type over
//! `i64` milliseconds since the Unix epoch, so hosts see their platform's instant type
//! (Kotlin `java.time.Instant`, Swift `Date`; the mapping is in `chat-ffi/uniffi.toml`)
//! and never a raw number. Rules: only wall-clock instants use it (durations stay
//! numbers with a unit suffix); lifting a value chrono cannot represent is an error, never
//! a silent clamp.

use chat_protocol::Timestamp;

uniffi::custom_type!(Timestamp, i64, {
    remote,
    lower: |t| t.millis(),
    try_lift: |ms| Timestamp::from_millis(ms)
        .ok_or_else(|| uniffi::deps::anyhow::anyhow!("time out of range: {ms} ms since the epoch")),
});
