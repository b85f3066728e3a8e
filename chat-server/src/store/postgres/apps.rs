//! Apps (tenants) and users.

use chat_protocol::{AppCredentials, AppSettings, User, UserInput};

use super::conn::{Conn, Tx};
use super::rows::{self, USER_COLS, now_ms};
use crate::store::{AppRecord, StoreError, StoreResult, random_token};

/// Creates an app with random credentials and a fresh sync epoch.
pub async fn create_app(conn: &Conn, name: &str) -> StoreResult<AppCredentials> {
    let creds = AppCredentials {
        app_id: format!("app_{}", random_token(12).to_lowercase()),
        api_key: format!("key_{}", random_token(20)),
        api_secret: random_token(48),
    };
    let inserted = conn
        .exec(
            "INSERT INTO apps (id, name, api_key, api_secret, epoch, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            &[
                &creds.app_id,
                &name,
                &creds.api_key,
                &creds.api_secret,
                &random_token(8),
                &now_ms(),
            ],
        )
        .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "an app named {name:?} already exists"
        )));
    }
    Ok(creds)
}

/// Looks up an app by one of its unique columns.
pub async fn app_where(conn: &Conn, column: &str, value: &str) -> StoreResult<Option<AppRecord>> {
    let sql = match column {
        "id" => "SELECT id, name, api_key, api_secret FROM apps WHERE id = $1",
        "name" => "SELECT id, name, api_key, api_secret FROM apps WHERE name = $1",
        "api_key" => "SELECT id, name, api_key, api_secret FROM apps WHERE api_key = $1",
        other => return Err(StoreError::Backend(format!("no app lookup by {other}"))),
    };
    match conn.opt(sql, &[&value]).await? {
        None => Ok(None),
        Some(r) => Ok(Some(AppRecord {
            id: rows::get(&r, 0)?,
            name: rows::get(&r, 1)?,
            api_key: rows::get(&r, 2)?,
            api_secret: rows::get(&r, 3)?,
        })),
    }
}

/// Creates or replaces user profiles (creation time is kept).
pub async fn upsert_users(w: &mut Tx, users: Vec<UserInput>) -> StoreResult<Vec<User>> {
    let now = now_ms();
    let sql = format!(
        "INSERT INTO users (app_id, id, name, image, custom, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (app_id, id) DO UPDATE SET name = excluded.name, \
         image = excluded.image, custom = excluded.custom, updated_at = excluded.updated_at \
         RETURNING {USER_COLS}"
    );
    let mut out = Vec::with_capacity(users.len());
    for u in users {
        let custom = serde_json::to_string(&u.custom)?;
        let row = w
            .one(&sql, &[&w.app, &u.id, &u.name, &u.image, &custom, &now])
            .await?;
        out.push(rows::user(&row)?);
    }
    Ok(out)
}

/// Creates a bare user row if missing.
///
/// It emits no change and takes no seq, so it runs on its own (autocommit), outside the
/// app's write lock: its foreign key takes a `KEY SHARE` lock on the app's row, which does
/// not wait for a writer's `NO KEY UPDATE` (see [`super::conn::Tx::begin`]). A connect
/// burst of users new to a node used to queue every connect on the app's writes.
pub async fn ensure_user(c: &Conn, app: &str, user: &str) -> StoreResult<()> {
    c.exec(
        "INSERT INTO users (app_id, id, custom, created_at, updated_at) \
         VALUES ($1, $2, '{}', $3, $3) ON CONFLICT (app_id, id) DO NOTHING",
        &[&app, &user, &now_ms()],
    )
    .await?;
    Ok(())
}

/// Users by id, in the order asked; unknown ids are skipped.
pub async fn get_users(conn: &Conn, app: &str, ids: &[String]) -> StoreResult<Vec<User>> {
    let sql = format!(
        "SELECT {USER_COLS} FROM users AS u \
         JOIN UNNEST($2::TEXT[]) WITH ORDINALITY AS want (id, n) ON u.id = want.id \
         WHERE u.app_id = $1 ORDER BY want.n"
    );
    conn.all(&sql, &[&app, &ids])
        .await?
        .iter()
        .map(rows::user)
        .collect()
}

/// The ids in `ids` that are not users of the app, in the order given.
pub async fn unknown_users(conn: &Conn, app: &str, ids: &[String]) -> StoreResult<Vec<String>> {
    let rows = conn
        .all(
            "SELECT want.id FROM UNNEST($2::TEXT[]) WITH ORDINALITY AS want (id, n) \
             WHERE NOT EXISTS (SELECT 1 FROM users AS u WHERE u.app_id = $1 AND u.id = want.id) \
             ORDER BY want.n",
            &[&app, &ids],
        )
        .await?;
    rows.iter().map(|r| rows::get(r, 0)).collect()
}

/// The app's settings; `NotFound` for an unknown app.
pub async fn app_settings(conn: &Conn, app: &str) -> StoreResult<AppSettings> {
    let row = conn
        .opt(
            "SELECT cors_origins, rate_limits FROM apps WHERE id = $1",
            &[&app],
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("app {app}")))?;
    let origins: &str = rows::get(&row, 0)?;
    let limits: &str = rows::get(&row, 1)?;
    Ok(AppSettings {
        cors_origins: serde_json::from_str(origins)?,
        rate_limits: serde_json::from_str(limits)?,
    })
}

/// Replaces the app's settings; `NotFound` for an unknown app.
pub async fn set_app_settings(
    conn: &Conn,
    app: &str,
    settings: &AppSettings,
) -> StoreResult<AppSettings> {
    let origins = serde_json::to_string(&settings.cors_origins)?;
    let limits = serde_json::to_string(&settings.rate_limits)?;
    let changed = conn
        .exec(
            "UPDATE apps SET cors_origins = $2, rate_limits = $3 WHERE id = $1",
            &[&app, &origins, &limits],
        )
        .await?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("app {app}")));
    }
    app_settings(conn, app).await
}

/// Every app's allowed CORS origins, as (app id, origin) pairs.
pub async fn all_cors_origins(conn: &Conn) -> StoreResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for row in conn
        .all(
            "SELECT id, cors_origins FROM apps WHERE cors_origins <> '[]' ORDER BY id",
            &[],
        )
        .await?
    {
        let app: String = rows::get(&row, 0)?;
        let origins: &str = rows::get(&row, 1)?;
        for origin in serde_json::from_str::<Vec<String>>(origins)? {
            out.push((app.clone(), origin));
        }
    }
    Ok(out)
}

/// The app's sync epoch and its current `seq` (committed); `NotFound` for an unknown app.
pub async fn epoch_and_seq(conn: &Conn, app: &str) -> StoreResult<(String, u64)> {
    let row = conn
        .opt("SELECT epoch, seq FROM apps WHERE id = $1", &[&app])
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("app {app}")))?;
    Ok((rows::get(&row, 0)?, rows::rev(&row, 1)?))
}

/// A trivial query: whether the database answers (`/readyz`).
pub async fn ping(conn: &Conn) -> StoreResult<()> {
    conn.one("SELECT 1", &[]).await.map(drop)
}
