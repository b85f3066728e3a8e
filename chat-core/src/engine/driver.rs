//! The driver (the engine thread's loop): owns the [`Engine`] and runs its event loop — app commands, finished
//! network I/O and timer wake-ups in, one engine step each — and performs the engine's
//! [`Io`] requests on spawned tasks, so the engine never waits for the network and the app
//! never waits for the engine longer than one local transaction. This is the only code
//! that calls the [`Transport`], the token provider or a [`Connector`]: the one road from
//! any call to the network.
//!
//! Each engine step (the event, then [`Engine::pump`]) commits to SQLite, so the driver
//! runs on a thread of its own ([`rt::run_engine`]) and its I/O on the app's runtime
//! ([`rt::Spawner`]): no `fsync` ever holds a runtime worker, or the request a step just
//! spawned. Callers are answered at the end of the step, after its live-query diffs
//! ([`Engine::answer`]).

use std::sync::Arc;
use std::time::Duration;

use std::collections::HashMap;

use crate::rt::{self, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::oneshot;

use super::{Engine, Io, IoTag};
use crate::client::token::{SharedTokenProvider, TokenError};
use crate::clock::Millis;
use crate::net::{Connector, HttpReply, NetworkError, SocketEvent, SocketHandle, Transport};

/// A unit of work for the engine, run on its thread.
pub(crate) type Job = Box<dyn FnOnce(&mut Engine, Millis) + Send>;

/// What the driver receives from the client handles.
pub(crate) enum Command {
    /// Run this on the engine.
    Run(Job),
    /// Stop: drop the engine (closing the database), then answer.
    Shutdown(oneshot::Sender<()>),
}

/// The engine's monotonic clock (milliseconds since the driver started).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        Millis(u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    fn instant(&self, at: Millis) -> Instant {
        self.base + Duration::from_millis(at.0)
    }
}

enum Done {
    Http(IoTag, Result<HttpReply, NetworkError>),
    Token(Result<String, TokenError>),
    /// A socket opened (its sender), or failed to open.
    SocketOpened(u64, Result<UnboundedSender<String>, NetworkError>),
    Socket(u64, SocketEvent),
}

/// What the driver performs I/O with.
pub(crate) struct Services {
    pub transport: Arc<dyn Transport>,
    pub tokens: SharedTokenProvider,
    /// The WebSocket connector and endpoint, when realtime is on.
    pub realtime: Option<(Arc<dyn Connector>, String)>,
    /// Where the I/O runs.
    pub spawner: rt::Spawner,
}

/// Runs the engine until shutdown or until every client handle is dropped.
pub(crate) async fn run(
    mut engine: Engine,
    mut commands: UnboundedReceiver<Command>,
    services: Services,
) {
    let Services {
        transport,
        tokens,
        realtime,
        spawner,
    } = services;
    let clock = Clock::new();
    let (done_tx, mut done_rx) = unbounded_channel::<Done>();
    let mut sockets: HashMap<u64, UnboundedSender<String>> = HashMap::new();
    engine.start_realtime(clock.now());
    // The event received last, handled at the top of the next turn.
    let mut event: Option<Event> = None;
    loop {
        // One engine step: the event, then the machines.
        if let Some(event) = event.take() {
            on_event(&mut engine, &mut sockets, event, &clock);
        }
        engine.pump(clock.now());
        let io = engine.take_io();
        for io in io {
            let done = done_tx.clone();
            match io {
                Io::Http { tag, request } => {
                    let fut = transport.execute(request);
                    spawner.spawn(async move {
                        let _ = done.send(Done::Http(tag, fut.await));
                    });
                }
                Io::FetchToken => {
                    let fut = tokens.fetch_token();
                    spawner.spawn(async move {
                        let _ = done.send(Done::Token(fut.await));
                    });
                }
                Io::OpenSocket { socket } => {
                    let Some((connector, url)) = &realtime else {
                        continue;
                    };
                    let fut = connector.connect(url);
                    spawner.spawn(async move {
                        // The engine gives up sooner (its connect timeout); this only
                        // bounds how long an abandoned attempt lingers.
                        let opened = rt::timeout(Duration::from_secs(60), fut)
                            .await
                            .unwrap_or_else(|| Err(NetworkError("connect timed out".into())));
                        match opened {
                            Ok(handle) => {
                                let SocketHandle {
                                    outgoing,
                                    mut incoming,
                                } = handle;
                                if done.send(Done::SocketOpened(socket, Ok(outgoing))).is_err() {
                                    return;
                                }
                                while let Some(event) = incoming.recv().await {
                                    if done.send(Done::Socket(socket, event)).is_err() {
                                        return;
                                    }
                                }
                            }
                            Err(e) => {
                                let _ = done.send(Done::SocketOpened(socket, Err(e)));
                            }
                        }
                    });
                }
                Io::SocketSend { socket, text } => {
                    if let Some(tx) = sockets.get(&socket) {
                        let _ = tx.send(text);
                    }
                }
                // Dropping the sender closes the socket.
                Io::CloseSocket { socket } => {
                    sockets.remove(&socket);
                }
            }
        }
        let wake = engine.next_wakeup().map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            |m| clock.instant(m),
        );
        let next = tokio::select! {
            command = commands.recv() => Event::Command(command),
            Some(done) = done_rx.recv() => Event::Done(done),
            () = rt::sleep_until(wake) => Event::Wake,
        };
        match next {
            Event::Command(Some(Command::Shutdown(reply))) => {
                engine.close();
                drop(sockets);
                drop(engine);
                let _ = reply.send(());
                return;
            }
            Event::Command(None) => {
                engine.close();
                drop(engine);
                return;
            }
            next => event = Some(next),
        }
    }
}

/// What woke the driver.
enum Event {
    /// A command from a client handle (`None`: every handle is gone).
    Command(Option<Command>),
    /// Finished I/O.
    Done(Done),
    /// A timer the engine asked for.
    Wake,
}

/// Hands one event (not a shutdown) to the engine.
fn on_event(
    engine: &mut Engine,
    sockets: &mut HashMap<u64, UnboundedSender<String>>,
    event: Event,
    clock: &Clock,
) {
    match event {
        Event::Command(Some(Command::Run(job))) => {
            job(engine, clock.now());
        }
        Event::Command(_) | Event::Wake => {}
        Event::Done(done) => match done {
            Done::Http(tag, result) => {
                engine.on_http(tag, result, clock.now());
            }
            Done::Token(result) => engine.on_token(result, clock.now()),
            Done::SocketOpened(socket, Ok(tx)) => {
                // A socket the engine gave up on while it was opening is dropped
                // (closed) here.
                if engine.socket_opened(socket, clock.now()) {
                    sockets.insert(socket, tx);
                }
            }
            Done::SocketOpened(socket, Err(e)) => {
                engine.socket_closed(socket, None, &e.0, clock.now());
            }
            Done::Socket(socket, SocketEvent::Text(text)) => {
                engine.socket_frame(socket, &text, clock.now());
            }
            Done::Socket(socket, SocketEvent::Closed { code, reason }) => {
                sockets.remove(&socket);
                engine.socket_closed(socket, code, &reason, clock.now());
            }
        },
    }
}
