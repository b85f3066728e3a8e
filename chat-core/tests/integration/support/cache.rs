//! The cache's side of the harness (the rest is the `chat-test` crate): a file cache per
//! user, a sync driver that feeds `/v1/sync` pages into a [`Cache`], a dump of every cache
//! row. The replica check is its sibling [`super::replica`].
//!
//! Rules: only what needs chat-core's types lives here (chat-test must not depend on
//! chat-core); every helper asserts what it needs and panics with the server's answer.

use chat_core::cache::Cache;
use chat_protocol::SyncResponse;
use chat_test::Api;
use reqwest::StatusCode;

/// Pulls `/v1/sync` from the cache's cursor to the end, applying every page; returns the
/// pages.
pub async fn sync(cache: &mut Cache, api: &Api, limit: u32) -> Vec<SyncResponse> {
    let mut pages = Vec::new();
    loop {
        let (status, body) = api
            .sync_page(cache.cursor().unwrap().as_deref(), limit)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: SyncResponse = serde_json::from_value(body).expect("sync page decodes");
        cache.apply_sync_page(&page).expect("page applies");
        let more = page.has_more;
        pages.push(page);
        if !more {
            return pages;
        }
    }
}

/// Every row of every cache table, read through a second connection.
pub fn dump(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).expect("open");
    let mut out = Vec::new();
    for table in [
        "sync_state",
        "channels",
        "members",
        "reads",
        "messages",
        "reactions",
        "flags",
        "outbox",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
            .expect("select");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                let cols: Vec<String> = (0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                    .collect();
                Ok(format!("{table}: {}", cols.join(" | ")))
            })
            .expect("query");
        out.extend(rows.map(Result::unwrap));
    }
    out
}

/// A file cache in `dir` owned by `user`, and its path.
pub fn cache_for(dir: &tempfile::TempDir, user: &str) -> (Cache, std::path::PathBuf) {
    let path = dir.path().join(format!("{user}.db"));
    let mut cache = Cache::open(&path).unwrap();
    cache.set_user(user).unwrap();
    (cache, path)
}
