//! Apps (tenants) and users.

use chat_protocol::{AppCredentials, AppSettings, User, UserInput};
use rusqlite::{Connection, OptionalExtension, params};

use super::Tx;
use super::rows::{self, USER_COLS, now_ms};
use crate::store::{AppRecord, StoreError, StoreResult, random_token};

/// Creates an app with random credentials and a fresh sync epoch.
pub fn create_app(conn: &mut Connection, name: &str) -> StoreResult<AppCredentials> {
    let creds = AppCredentials {
        app_id: format!("app_{}", random_token(12).to_lowercase()),
        api_key: format!("key_{}", random_token(20)),
        api_secret: random_token(48),
    };
    let inserted = conn.execute(
        "INSERT INTO apps (id, name, api_key, api_secret, epoch, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name) DO NOTHING",
        params![
            creds.app_id,
            name,
            creds.api_key,
            creds.api_secret,
            random_token(8),
            now_ms()
        ],
    )?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "an app named {name:?} already exists"
        )));
    }
    Ok(creds)
}

/// Looks up an app by one of its unique columns.
pub fn app_where(conn: &Connection, column: &str, value: &str) -> StoreResult<Option<AppRecord>> {
    let sql = match column {
        "id" => "SELECT id, name, api_key, api_secret FROM apps WHERE id = ?1",
        "name" => "SELECT id, name, api_key, api_secret FROM apps WHERE name = ?1",
        "api_key" => "SELECT id, name, api_key, api_secret FROM apps WHERE api_key = ?1",
        other => return Err(StoreError::Backend(format!("no app lookup by {other}"))),
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params![value], |r| {
            Ok(AppRecord {
                id: r.get(0)?,
                name: r.get(1)?,
                api_key: r.get(2)?,
                api_secret: r.get(3)?,
            })
        })
        .optional()?)
}

/// Creates or replaces user profiles (creation time is kept).
pub fn upsert_users(w: &mut Tx<'_>, users: Vec<UserInput>) -> StoreResult<Vec<User>> {
    let now = now_ms();
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let custom = serde_json::to_string(&u.custom)?;
        let sql = format!(
            "INSERT INTO users (app_id, id, name, image, custom, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
             ON CONFLICT (app_id, id) DO UPDATE SET name = excluded.name, \
             image = excluded.image, custom = excluded.custom, updated_at = excluded.updated_at \
             RETURNING {USER_COLS}"
        );
        let user = w.tx.prepare_cached(&sql)?.query_row(
            params![w.app, u.id, u.name, u.image, custom, now],
            rows::user,
        )?;
        out.push(user);
    }
    Ok(out)
}

/// Creates a bare user row if missing.
pub fn ensure_user(w: &mut Tx<'_>, user: &str) -> StoreResult<()> {
    w.tx.prepare_cached(
        "INSERT INTO users (app_id, id, custom, created_at, updated_at) \
         VALUES (?1, ?2, '{}', ?3, ?3) ON CONFLICT (app_id, id) DO NOTHING",
    )?
    .execute(params![w.app, user, now_ms()])?;
    Ok(())
}

/// Users by id, in the order asked; unknown ids are skipped.
pub fn get_users(conn: &Connection, app: &str, ids: &[String]) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT {USER_COLS} FROM users WHERE app_id = ?1 AND id = ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut out = Vec::new();
    for id in ids {
        if let Some(u) = stmt.query_row(params![app, id], rows::user).optional()? {
            out.push(u);
        }
    }
    Ok(out)
}

/// The ids in `ids` that are not users of the app.
pub fn unknown_users(conn: &Connection, app: &str, ids: &[String]) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT 1 FROM users WHERE app_id = ?1 AND id = ?2")?;
    let mut missing = Vec::new();
    for id in ids {
        if !stmt.exists(params![app, id])? {
            missing.push(id.clone());
        }
    }
    Ok(missing)
}

/// The app's settings; `NotFound` for an unknown app.
pub fn app_settings(conn: &Connection, app: &str) -> StoreResult<AppSettings> {
    let (origins, limits): (String, String) = conn
        .prepare_cached("SELECT cors_origins, rate_limits FROM apps WHERE id = ?1")?
        .query_row(params![app], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("app {app}")))?;
    Ok(AppSettings {
        cors_origins: serde_json::from_str(&origins)?,
        rate_limits: serde_json::from_str(&limits)?,
    })
}

/// Replaces the app's settings; `NotFound` for an unknown app.
pub fn set_app_settings(
    conn: &Connection,
    app: &str,
    settings: &AppSettings,
) -> StoreResult<AppSettings> {
    let changed = conn
        .prepare_cached("UPDATE apps SET cors_origins = ?2, rate_limits = ?3 WHERE id = ?1")?
        .execute(params![
            app,
            serde_json::to_string(&settings.cors_origins)?,
            serde_json::to_string(&settings.rate_limits)?
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("app {app}")));
    }
    app_settings(conn, app)
}

/// Every app's allowed CORS origins, as (app id, origin) pairs.
pub fn all_cors_origins(conn: &Connection) -> StoreResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stmt =
        conn.prepare_cached("SELECT id, cors_origins FROM apps WHERE cors_origins != '[]'")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (app, origins) = row?;
        for origin in serde_json::from_str::<Vec<String>>(&origins)? {
            out.push((app.clone(), origin));
        }
    }
    Ok(out)
}
