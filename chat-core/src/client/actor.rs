//! The driver task: owns the [`Engine`] and runs its event loop — app commands, finished
//! network I/O and timer wake-ups in, one engine step each — and performs the engine's
//! [`Io`] requests on spawned tasks, so the engine never waits for the network and the app
//! never waits for the engine longer than one local transaction.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::engine::{Engine, Io, IoTag};
use super::token::{SharedTokenProvider, TokenError};
use super::transport::{HttpReply, NetworkError, Transport};
use crate::outbox::Millis;

/// A unit of work for the engine, run on the driver task.
pub(crate) type Job = Box<dyn FnOnce(&mut Engine, Millis) + Send>;

/// What the driver task receives from the client handles.
pub(crate) enum Command {
    /// Run this on the engine.
    Run(Job),
    /// Stop: drop the engine (closing the database), then answer.
    Shutdown(oneshot::Sender<()>),
}

/// What the driver publishes about authentication for calls made on the app's tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenState {
    /// The current token.
    pub token: Option<String>,
    /// Authentication stopped until `refresh_token`.
    pub stopped: bool,
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
}

/// Runs the engine until shutdown or until every client handle is dropped.
pub(crate) async fn run(
    mut engine: Engine,
    mut commands: UnboundedReceiver<Command>,
    transport: Arc<dyn Transport>,
    tokens: SharedTokenProvider,
    token_out: watch::Sender<TokenState>,
) {
    let clock = Clock::new();
    let (done_tx, mut done_rx) = unbounded_channel::<Done>();
    loop {
        engine.pump(clock.now());
        token_out.send_if_modified(|t| {
            let current = TokenState {
                token: engine.token().map(str::to_owned),
                stopped: engine.auth_stopped(),
            };
            let changed = *t != current;
            *t = current;
            changed
        });
        for io in engine.take_io() {
            let done = done_tx.clone();
            match io {
                Io::Http { tag, request } => {
                    let fut = transport.execute(request);
                    tokio::spawn(async move {
                        let _ = done.send(Done::Http(tag, fut.await));
                    });
                }
                Io::FetchToken => {
                    let fut = tokens.fetch_token();
                    tokio::spawn(async move {
                        let _ = done.send(Done::Token(fut.await));
                    });
                }
            }
        }
        let wake = engine.next_wakeup().map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            |m| clock.instant(m),
        );
        tokio::select! {
            command = commands.recv() => match command {
                Some(Command::Run(job)) => job(&mut engine, clock.now()),
                Some(Command::Shutdown(reply)) => {
                    engine.close();
                    drop(engine);
                    let _ = reply.send(());
                    return;
                }
                None => {
                    engine.close();
                    return;
                }
            },
            Some(done) = done_rx.recv() => match done {
                Done::Http(tag, result) => engine.on_http(tag, result, clock.now()),
                Done::Token(result) => engine.on_token(result, clock.now()),
            },
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}
