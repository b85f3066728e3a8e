//! Authentication: the app hands the client a [`TokenProvider`] — a callback returning a
//! fresh user JWT, typically from the app's own backend. The client asks for a token when
//! it first needs the network and again whenever the server answers `401`; requests wait
//! (queued work stays queued) until a token arrives.

use std::future::Future;
use std::sync::Arc;

use crate::net::BoxFuture;

/// Why no token could be obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Temporarily unavailable (e.g. the app's backend is unreachable): asked again later.
    #[error("token temporarily unavailable: {0}")]
    Unavailable(String),
    /// The user is signed out or not allowed: the client stops asking until
    /// [`ChatClient::refresh_token`](super::ChatClient::refresh_token) is called.
    #[error("token refused: {0}")]
    Refused(String),
}

/// Supplies user JWTs for the chat server.
pub trait TokenProvider: Send + Sync + 'static {
    /// Returns a fresh token for the client's user.
    fn fetch_token(&self) -> BoxFuture<Result<String, TokenError>>;
}

/// Any `Fn() -> impl Future<Output = Result<String, TokenError>>` is a token provider.
impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, TokenError>> + Send + 'static,
{
    fn fetch_token(&self) -> BoxFuture<Result<String, TokenError>> {
        Box::pin(self())
    }
}

/// A shared token provider.
pub(crate) type SharedTokenProvider = Arc<dyn TokenProvider>;

/// A provider that always returns the same token (tests, or short-lived demo sessions).
pub fn static_token(token: impl Into<String>) -> impl TokenProvider {
    let token: Arc<str> = token.into().into();
    move || {
        let token = token.clone();
        async move { Ok(token.to_string()) }
    }
}
