//! Per-request transport rules, applied before the router sees a request: the URI length
//! cap (JSON `414`), the connection's [`Peer`] in the request's extensions, and
//! `connection: close` on every response whose request body was not read to its end.
//!
//! A handler may answer before reading the body (`401`, `415`, `429`, ...). hyper then
//! cannot reuse the connection, because the unread rest of the body would be parsed as the
//! next request, so it closes the connection after the response. Saying so in the response
//! (`connection: close`) lets the client open a new connection for its next request
//! instead of writing it into a closing one.

use std::convert::Infallible;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use chat_protocol::ErrorCode;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::{Bytes, Incoming};
use tower::Service;

use super::MAX_URI_BYTES;
use super::caps::ConnPermit;
use crate::api::ApiError;

/// The connection a request arrived on: the peer's address and the connection's place
/// under the connection caps (a WebSocket takes it along when it upgrades).
#[derive(Debug, Clone)]
pub struct Peer {
    ip: IpAddr,
    permit: Arc<ConnPermit>,
}

impl Peer {
    /// A peer holding `permit`.
    pub fn new(ip: IpAddr, permit: ConnPermit) -> Self {
        Self {
            ip,
            permit: Arc::new(permit),
        }
    }

    /// The peer's address.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The connection's place under the caps, to hold as long as the connection lives.
    pub fn permit(&self) -> Arc<ConnPermit> {
        self.permit.clone()
    }
}

/// A request body that records whether it was read to its end.
struct Tracked {
    inner: Incoming,
    done: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if frame.is_none() || self.inner.is_end_stream() {
            self.done.store(true, Ordering::Release);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serves one request of `peer` with `router`.
pub async fn handle(
    mut router: Router,
    peer: Peer,
    req: Request<Incoming>,
) -> Result<Response, Infallible> {
    let done = Arc::new(AtomicBool::new(req.body().is_end_stream()));
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    let mut response = if uri_len > MAX_URI_BYTES {
        ApiError::new(
            ErrorCode::UriTooLong,
            format!("the request URI is longer than {MAX_URI_BYTES} bytes"),
        )
        .into_response()
    } else {
        let mut req = req.map(|inner| {
            Body::new(Tracked {
                inner,
                done: done.clone(),
            })
        });
        req.extensions_mut().insert(peer);
        router.call(req).await?
    };
    if !done.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(response)
}
