//! The browser's [`Connector`]: the DOM `WebSocket`, its callbacks feeding the incoming
//! channel and a local task draining the outgoing one. Dropping the outgoing sender closes
//! the socket and releases the callbacks.

use std::cell::RefCell;
use std::rc::Rc;

use send_wrapper::SendWrapper;
use tokio::sync::mpsc::unbounded_channel;
use tokio::sync::oneshot;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::{BoxFuture, NetworkError};
use super::{Connector, SocketEvent, SocketHandle};

/// The browser [`Connector`] (the default in wasm builds).
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserConnector;

/// 1005 (no status) and 1006 (abnormal closure) are reported by browsers when no close
/// frame arrived: the same as a dropped connection natively.
fn close_code(event: &CloseEvent) -> Option<u16> {
    match event.code() {
        1005 | 1006 => None,
        code => Some(code),
    }
}

impl Connector for BrowserConnector {
    fn connect(&self, url: &str) -> BoxFuture<Result<SocketHandle, NetworkError>> {
        let url = url.to_owned();
        // The browser is single-threaded: these futures never leave their thread.
        Box::pin(SendWrapper::new(async move {
            let ws = WebSocket::new(&url)
                .map_err(|e| NetworkError(format!("websocket {url}: {e:?}")))?;
            let (in_tx, in_rx) = unbounded_channel();
            let (open_tx, open_rx) = oneshot::channel::<Result<(), String>>();
            let open_tx = Rc::new(RefCell::new(Some(open_tx)));

            let opened = open_tx.clone();
            let on_open = Closure::<dyn FnMut()>::new(move || {
                if let Some(tx) = opened.borrow_mut().take() {
                    let _ = tx.send(Ok(()));
                }
            });
            let frames = in_tx.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                // The protocol has text frames only.
                if let Some(text) = e.data().as_string() {
                    let _ = frames.send(SocketEvent::Text(text));
                }
            });
            let opening = open_tx;
            let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                if let Some(tx) = opening.borrow_mut().take() {
                    let _ = tx.send(Err(format!("closed while opening ({})", e.code())));
                    return;
                }
                let _ = in_tx.send(SocketEvent::Closed {
                    code: close_code(&e),
                    reason: e.reason(),
                });
            });
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            let release = move |ws: &WebSocket| {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
                let _ = ws.close();
            };

            match open_rx.await {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    release(&ws);
                    return Err(NetworkError(format!("websocket connect: {reason}")));
                }
                Err(_) => {
                    release(&ws);
                    return Err(NetworkError("websocket connect: abandoned".into()));
                }
            }
            let (out_tx, mut out_rx) = unbounded_channel::<String>();
            wasm_bindgen_futures::spawn_local(async move {
                while let Some(text) = out_rx.recv().await {
                    if ws.send_with_str(&text).is_err() {
                        break;
                    }
                }
                // The client dropped the socket (or it failed): close it and let the
                // callbacks go.
                release(&ws);
                drop((on_open, on_message, on_close));
            });
            Ok(SocketHandle {
                outgoing: out_tx,
                incoming: in_rx,
            })
        }))
    }
}
