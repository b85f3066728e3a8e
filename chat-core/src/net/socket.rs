//! The WebSocket seam: a [`Connector`] opens a socket and hands back a [`SocketHandle`], two
//! channels — text frames out, [`SocketEvent`]s in. Channels instead of a socket trait keep
//! every platform's implementation small (a task that pumps tokio-tungstenite natively,
//! the `WebSocket` callbacks in the browser) and let tests wrap the real one.

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::{BoxFuture, NetworkError};

/// What the socket reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// A text frame.
    Text(String),
    /// The socket closed. `code` is the close frame's code; `None` when the connection
    /// dropped without one (reset, EOF, a protocol error). Nothing follows.
    Closed {
        /// The WebSocket close code, if a close frame arrived.
        code: Option<u16>,
        /// The close reason, or what went wrong.
        reason: String,
    },
}

/// An open socket. Dropping `outgoing` closes it.
#[derive(Debug)]
pub struct SocketHandle {
    /// Text frames to send, in order.
    pub outgoing: UnboundedSender<String>,
    /// Frames received, then exactly one [`SocketEvent::Closed`].
    pub incoming: UnboundedReceiver<SocketEvent>,
}

/// Opens WebSockets.
pub trait Connector: Send + Sync + 'static {
    /// Opens a socket to `url` (`ws://…` or `wss://…`); resolves once it is open.
    fn connect(&self, url: &str) -> BoxFuture<Result<SocketHandle, NetworkError>>;
}

/// The realtime endpoint for a server base URL (`http(s)://host[:port][/prefix]`).
pub fn websocket_url(server_url: &str) -> String {
    let base = server_url.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}/connection/websocket")
}

#[cfg(target_arch = "wasm32")]
pub use super::socket_web::BrowserConnector;
#[cfg(not(target_arch = "wasm32"))]
pub use native::TungsteniteConnector;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use futures_util::{SinkExt, StreamExt};
    use tokio::sync::mpsc::unbounded_channel;
    use tokio_tungstenite::tungstenite::Message;

    use super::{BoxFuture, Connector, NetworkError, SocketEvent, SocketHandle};

    /// The native [`Connector`]: tokio-tungstenite, one task per socket.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct TungsteniteConnector;

    impl Connector for TungsteniteConnector {
        fn connect(&self, url: &str) -> BoxFuture<Result<SocketHandle, NetworkError>> {
            let url = url.to_owned();
            Box::pin(async move {
                let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
                    .await
                    .map_err(|e| NetworkError(format!("websocket connect: {e}")))?;
                let (mut sink, mut stream) = ws.split();
                let (out_tx, mut out_rx) = unbounded_channel::<String>();
                let (in_tx, in_rx) = unbounded_channel();
                tokio::spawn(async move {
                    let closed = loop {
                        tokio::select! {
                            out = out_rx.recv() => match out {
                                Some(text) => {
                                    if let Err(e) = sink.send(Message::text(text)).await {
                                        break SocketEvent::Closed { code: None, reason: e.to_string() };
                                    }
                                }
                                None => {
                                    // The client dropped the socket: close it properly.
                                    let _ = sink.send(Message::Close(None)).await;
                                    let _ = sink.close().await;
                                    return;
                                }
                            },
                            frame = stream.next() => match frame {
                                Some(Ok(Message::Text(text))) => {
                                    if in_tx.send(SocketEvent::Text(text.to_string())).is_err() {
                                        return;
                                    }
                                }
                                Some(Ok(Message::Close(frame))) => {
                                    break SocketEvent::Closed {
                                        code: frame.as_ref().map(|f| u16::from(f.code)),
                                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                                    };
                                }
                                // Pings are answered by tungstenite; the protocol has no
                                // binary frames.
                                Some(Ok(_)) => {}
                                Some(Err(e)) => break SocketEvent::Closed { code: None, reason: e.to_string() },
                                None => break SocketEvent::Closed { code: None, reason: "connection closed".into() },
                            },
                        }
                    };
                    let _ = in_tx.send(closed);
                });
                Ok(SocketHandle {
                    outgoing: out_tx,
                    incoming: in_rx,
                })
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::websocket_url;

    /// `wss://` is spoken: against a server that is not TLS, the connect fails in the TLS
    /// handshake (a build without TLS fails before, with "TLS support not compiled in").
    #[cfg(not(target_arch = "wasm32"))]
    #[tokio::test]
    async fn wss_urls_are_connected_over_tls() {
        use super::{Connector, TungsteniteConnector};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            if let Ok((mut tcp, _)) = listener.accept().await {
                use tokio::io::AsyncWriteExt;
                let _ = tcp.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let err = TungsteniteConnector
            .connect(&format!(
                "wss://127.0.0.1:{}/connection/websocket",
                addr.port()
            ))
            .await
            .expect_err("not a TLS server");
        // rustls read the plain-text answer as a TLS record.
        assert!(err.0.contains("InvalidContentType"), "{err}");
    }

    #[test]
    fn the_endpoint_follows_the_server_url() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8787"),
            "ws://127.0.0.1:8787/connection/websocket"
        );
        assert_eq!(
            websocket_url("https://chat.example.com/api/"),
            "wss://chat.example.com/api/connection/websocket"
        );
    }
}
