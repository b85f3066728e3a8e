//! JSON bodies for the errors hyper answers on its own.
//!
//! hyper parses request heads before any of our code runs. When a head is malformed (400),
//! larger than [`super::MAX_HEAD_BYTES`] or has too many headers (431), hyper writes a
//! bodiless response itself and closes the connection; it has no hook to change that
//! response. [`JsonHeadErrors`] wraps the connection's socket and replaces exactly such a
//! write, a whole `HTTP/1.1 400|414|431` head with `content-length: 0` and nothing after it,
//! by the same status with the JSON `{code, message}` body every other error has and
//! `connection: close`. Every other write passes through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use chat_protocol::{ErrorBody, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A socket whose hyper-made bodiless error responses get JSON bodies.
#[derive(Debug)]
pub struct JsonHeadErrors<T> {
    inner: T,
    /// A replacement being written: its bytes, how many are out, and the length of the
    /// write it stands for.
    replacing: Option<(Vec<u8>, usize, usize)>,
}

impl<T> JsonHeadErrors<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            replacing: None,
        }
    }
}

/// The code and message for a status hyper answers without a body.
fn error_for(status: u16) -> Option<ErrorBody> {
    let (code, message) = match status {
        400 => (
            ErrorCode::ValidationFailed,
            "malformed HTTP request".to_owned(),
        ),
        414 => (
            ErrorCode::UriTooLong,
            "the request URI is too long".to_owned(),
        ),
        431 => (
            ErrorCode::HeadersTooLarge,
            format!(
                "the request head is larger than {} bytes or has too many headers",
                super::MAX_HEAD_BYTES
            ),
        ),
        _ => return None,
    };
    Some(ErrorBody::new(code, message))
}

/// If `buf` is exactly a bodiless `HTTP/1.1` 400, 414 or 431 response head, the response
/// to write instead.
fn replacement(buf: &[u8]) -> Option<Vec<u8>> {
    let rest = buf.strip_prefix(b"HTTP/1.1 ")?;
    if !buf.ends_with(b"\r\n\r\n") || rest.len() < 4 || rest[3] != b' ' {
        return None;
    }
    let status: u16 = std::str::from_utf8(&rest[..3]).ok()?.parse().ok()?;
    let body = error_for(status)?;
    let head = std::str::from_utf8(buf).ok()?;
    // The head must end at the first blank line (nothing after it) and declare no body.
    if head.find("\r\n\r\n")? + 4 != head.len()
        || !head
            .lines()
            .any(|l| l.eq_ignore_ascii_case("content-length: 0"))
    {
        return None;
    }
    let status_line = head.lines().next()?;
    let json = serde_json::to_string(&body).ok()?;
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{json}",
            json.len()
        )
        .into_bytes(),
    )
}

impl<T: AsyncWrite + Unpin> JsonHeadErrors<T> {
    /// Writes the pending replacement; `Ready(Ok(len))` (the replaced write's length) when
    /// all of it is out.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        loop {
            let Some((bytes, done, len)) = &mut self.replacing else {
                return Poll::Ready(Ok(0));
            };
            if *done == bytes.len() {
                let len = *len;
                self.replacing = None;
                return Poll::Ready(Ok(len));
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *done += n;
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonHeadErrors<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonHeadErrors<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // After `Pending` the caller retries with the same bytes: keep the replacement.
        if self.replacing.is_none()
            && let Some(bytes) = replacement(buf)
        {
            self.replacing = Some((bytes, 0, buf.len()));
        }
        if self.replacing.is_some() {
            return self.poll_replacement(cx);
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // hyper writes its bodiless error head as one buffer.
        let mut nonempty = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(first), None) = (nonempty.next(), nonempty.next())
            && (self.replacing.is_some() || replacement(first).is_some())
        {
            return self.poll_write(cx, first);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_bodiless_parse_error_heads() {
        let head =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = String::from_utf8(replacement(head).unwrap()).unwrap();
        let (head_out, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head_out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head_out.contains(&format!("content-length: {}", body.len())));
        assert!(head_out.contains("connection: close"));
        let parsed: ErrorBody = serde_json::from_str(body).unwrap();
        assert_eq!(parsed.code, ErrorCode::HeadersTooLarge);
        // Our own responses (with a body), other statuses and body bytes pass through.
        assert!(replacement(b"HTTP/1.1 431 X\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").is_none());
        assert!(replacement(b"HTTP/1.1 400 B\r\ncontent-length: 0\r\n\r\nGET /").is_none());
        assert!(replacement(b"{\"code\":\"x\"}").is_none());
    }
}
