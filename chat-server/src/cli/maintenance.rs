//! `chat-server compact` (purge old removal tombstones, raise the sync horizon) and
//! `chat-server token` (mint a user token for development).

use anyhow::bail;
use chat_server::auth::{MAX_TOKEN_LIFETIME_SECS, mint_user_token};

use super::store::{StoreArgs, existing_app};

/// The options of `compact`.
#[derive(clap::Args)]
pub struct CompactArgs {
    /// App id.
    #[arg(long)]
    app: String,
    /// Purge tombstones with `rev` below this seq (see the `seq` of a sync cursor).
    #[arg(long)]
    before_seq: u64,
    #[command(flatten)]
    store: StoreArgs,
}

/// The options of `token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// App id.
    #[arg(long)]
    app: String,
    /// User id.
    #[arg(long)]
    user: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 86_400)]
    ttl_secs: u64,
    #[command(flatten)]
    store: StoreArgs,
}

/// `compact`: purges the app's tombstones below `--before-seq`.
pub async fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let CompactArgs {
        app,
        before_seq,
        store,
    } = args;
    let store = store.open().await?;
    existing_app(store.as_ref(), &app).await?;
    if i64::try_from(before_seq).is_err() {
        bail!("--before-seq is out of range");
    }
    store.compact(&app, before_seq).await?;
    eprintln!("compacted {app}: cursors before seq {before_seq} now reset");
    Ok(())
}

/// `token`: prints a user token, creating the user if needed.
pub async fn token(args: TokenArgs) -> anyhow::Result<()> {
    let TokenArgs {
        app,
        user,
        ttl_secs,
        store,
    } = args;
    chat_protocol::ids::validate_user_id(&user)?;
    if !i64::try_from(ttl_secs).is_ok_and(|t| t <= MAX_TOKEN_LIFETIME_SECS) {
        bail!(
            "--ttl-secs {ttl_secs}: the server refuses tokens living longer than \
             {MAX_TOKEN_LIFETIME_SECS} seconds (30 days)"
        );
    }
    let store = store.open().await?;
    let record = existing_app(store.as_ref(), &app).await?;
    store.ensure_user(&record.id, &user).await?;
    println!(
        "{}",
        mint_user_token(&record.id, &record.api_secret, &user, ttl_secs)
    );
    Ok(())
}
