//! Serving a web app (`--static-dir`) at `/`: files as they are, the app's `index.html` for
//! other paths, and never anything hidden. A path with a segment starting with `.` (after
//! percent-decoding: `.onyxchat`, `.git`, `.env`, `..`) answers `404 not_found`, and a data
//! directory inside the static directory is refused at start ([`check_static_dir`]), so
//! the database and its WAL (every app's `api_secret`) can never be downloaded.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chat_protocol::ErrorCode;
use tower_http::services::{ServeDir, ServeFile};

use super::error::ApiError;

/// Why a static directory cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum StaticDirError {
    /// The directory has no `index.html`.
    #[error("--static-dir {0}: no index.html there")]
    NoIndex(PathBuf),
    /// The data directory lies inside the static directory.
    #[error(
        "--static-dir {static_dir} contains the data directory {data_dir}: its database holds \
         every app's api_secret; serve a directory that holds only the web app"
    )]
    ContainsData {
        /// The static directory.
        static_dir: PathBuf,
        /// The data directory.
        data_dir: PathBuf,
    },
    /// A directory could not be resolved.
    #[error("resolving {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Checks a static directory before serving it: it must hold an `index.html` and must not
/// contain the data directory (which must exist: the server creates it first).
pub fn check_static_dir(static_dir: &Path, data_dir: &Path) -> Result<(), StaticDirError> {
    if !static_dir.join("index.html").is_file() {
        return Err(StaticDirError::NoIndex(static_dir.to_owned()));
    }
    let resolve =
        |p: &Path| std::fs::canonicalize(p).map_err(|e| StaticDirError::Io(p.to_owned(), e));
    let (root, data) = (resolve(static_dir)?, resolve(data_dir)?);
    if data.starts_with(&root) {
        return Err(StaticDirError::ContainsData {
            static_dir: static_dir.to_owned(),
            data_dir: data_dir.to_owned(),
        });
    }
    Ok(())
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Whether a request path names something hidden: a segment (after percent-decoding, and
/// split on both `/` and `\`) that starts with `.`.
pub fn is_hidden(path: &str) -> bool {
    path.split('/').any(|segment| {
        percent_decode(segment)
            .split(|b| *b == b'/' || *b == b'\\')
            .any(|part| part.first() == Some(&b'.'))
    })
}

async fn hide_dotfiles(req: Request, next: Next) -> Response {
    if is_hidden(req.uri().path()) {
        return ApiError::new(ErrorCode::NotFound, "no such file").into_response();
    }
    next.run(req).await
}

/// The service serving `dir`.
pub fn service(dir: &Path) -> Router {
    Router::new()
        .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html"))))
        .layer(axum::middleware::from_fn(hide_dotfiles))
}

#[cfg(test)]
mod tests {
    use super::is_hidden;

    #[test]
    fn hidden_paths() {
        for p in [
            "/.onyxchat/chat.db",
            "/.onyxchat/chat.db-wal",
            "/%2eonyxchat/chat.db",
            "/%2Eenv",
            "/assets/.git/config",
            "/a/%2e%2e/b",
            "/a%2f.env",
            "/a%5c.env",
            "/..",
        ] {
            assert!(is_hidden(p), "{p}");
        }
        for p in [
            "/",
            "/index.html",
            "/assets/app.js",
            "/a.b/c",
            "/chat/general",
        ] {
            assert!(!is_hidden(p), "{p}");
        }
    }
}
