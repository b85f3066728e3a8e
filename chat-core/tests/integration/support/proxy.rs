//! A fault-injecting TCP proxy between the realtime client (WebSocket + HTTP) and a real
//! chat-server in end-to-end tests: the client connects to [`FaultProxy::addr`], and the test
//! refuses, stalls, delays or cuts its connections, so reconnects, timeouts and half-received
//! frames are tested on real sockets rather than a mocked transport.
//!
//! Forwarding is byte-exact, one task per direction of each connection, on tokio's `net`,
//! `sync` and `time` features only. Each control is a `watch` channel whose sender lives in
//! the handle: dropping the last handle stops the listener and every connection.

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

/// Bytes read at most per chunk.
const CHUNK: usize = 16 * 1024;
/// Chunks one direction holds (stalled or delayed) before it stops reading, pushing back.
const MAX_HELD: usize = 64;

/// What the proxy does with traffic; switch with [`FaultProxy::set_mode`] at any time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Forward everything as it arrives.
    Pass,
    /// Accept new connections and close them at once, like a dead host behind a load
    /// balancer. Live connections keep flowing.
    Refuse,
    /// Accept new connections but forward nothing in either direction, on new or live
    /// connections; what was held flows, in order, once the mode changes.
    Stall,
    /// Forward every chunk this long after it was read, in order. Chunks are pipelined: a
    /// stream is late by the delay, not by the delay per chunk.
    Delay(Duration),
}

/// A running proxy to one target; clones are cheap handles, and dropping the last one stops it.
#[derive(Clone)]
pub struct FaultProxy {
    inner: Arc<Inner>,
}

/// The controls' senders: the proxy's tasks hold only receivers, and stop when these drop.
struct Inner {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    /// Bumped by every [`FaultProxy::cut_all`].
    cut: watch::Sender<u64>,
    /// Bumped by every [`FaultProxy::cut_mid_frame`].
    mid_frame: watch::Sender<u64>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    live: AtomicUsize,
    total: AtomicUsize,
}

/// A task's view of the proxy. A connection's `cut` and `mid_frame` report only later calls.
#[derive(Clone)]
struct Signals {
    mode: watch::Receiver<Mode>,
    cut: watch::Receiver<u64>,
    mid_frame: watch::Receiver<u64>,
    counters: Arc<Counters>,
}

impl FaultProxy {
    /// Listens on an ephemeral port of 127.0.0.1 and forwards every connection to `target`,
    /// starting in [`Mode::Pass`]. Needs a running tokio runtime.
    pub async fn start(target: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let inner = Arc::new(Inner {
            addr: listener.local_addr()?,
            mode: watch::Sender::new(Mode::Pass),
            cut: watch::Sender::new(0),
            mid_frame: watch::Sender::new(0),
            counters: Arc::default(),
        });
        let signals = Signals {
            mode: inner.mode.subscribe(),
            cut: inner.cut.subscribe(),
            mid_frame: inner.mid_frame.subscribe(),
            counters: inner.counters.clone(),
        };
        tokio::spawn(accept_loop(listener, target, signals));
        Ok(FaultProxy { inner })
    }

    /// The address clients connect to instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// Switches the mode; takes effect on the next chunk or connection.
    pub fn set_mode(&self, mode: Mode) {
        self.inner.mode.send_replace(mode);
    }

    /// Abruptly closes both sides of every live connection: peers read EOF or a reset,
    /// never a protocol-level close. Connections accepted afterwards follow the mode, and so
    /// do connections still waiting in the listener's backlog: wait for a round trip or for
    /// [`FaultProxy::live_connections`] before cutting a connection just opened.
    pub fn cut_all(&self) {
        self.inner.cut.send_modify(|calls| *calls += 1);
    }

    /// On every live connection, forwards only the first half of the next server→client
    /// chunk (at least one byte of a chunk of two or more) and then closes both sides, as a
    /// connection dying in the middle of a WebSocket frame. Later connections are unaffected.
    pub fn cut_mid_frame(&self) {
        self.inner.mid_frame.send_modify(|calls| *calls += 1);
    }

    /// Connections currently proxied (refused ones never count).
    pub fn live_connections(&self) -> usize {
        self.inner.counters.live.load(Ordering::SeqCst)
    }

    /// Connections accepted since start, refused ones included.
    pub fn total_connections(&self) -> usize {
        self.inner.counters.total.load(Ordering::SeqCst)
    }
}

async fn accept_loop(listener: TcpListener, target: SocketAddr, mut signals: Signals) {
    loop {
        let client = tokio::select! {
            changed = signals.cut.changed() => match changed {
                Ok(()) => continue, // a cut_all: live connections see it themselves
                Err(_) => return,   // the last handle dropped
            },
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue, // e.g. the client gave up before it was accepted
            },
        };
        signals.counters.total.fetch_add(1, Ordering::SeqCst);
        if *signals.mode.borrow() == Mode::Refuse {
            continue; // dropping `client` closes it
        }
        signals.cut.mark_unchanged();
        signals.mid_frame.mark_unchanged();
        signals.counters.live.fetch_add(1, Ordering::SeqCst);
        let conn = Conn {
            kill: watch::Sender::new(false),
            counters: signals.counters.clone(),
        };
        tokio::spawn(connect(client, target, signals.clone(), conn));
    }
}

/// What both directions of a connection share; it is live until both have ended.
struct Conn {
    /// Set by either direction when the whole connection must close.
    kill: watch::Sender<bool>,
    counters: Arc<Counters>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Connects to the target and starts a pump per direction; a failed connect closes the
/// client. A cut during the connect is not missed: the pumps' receivers report it.
async fn connect(client: TcpStream, target: SocketAddr, signals: Signals, conn: Conn) {
    let Ok(upstream) = TcpStream::connect(target).await else {
        return;
    };
    for stream in [&client, &upstream] {
        let _ = stream.set_nodelay(true);
    }
    let (client_rx, client_tx) = client.into_split();
    let (upstream_rx, upstream_tx) = upstream.into_split();
    let conn = Arc::new(conn);
    tokio::spawn(pump(
        client_rx,
        upstream_tx,
        signals.clone(),
        false,
        conn.clone(),
    ));
    tokio::spawn(pump(upstream_rx, client_tx, signals, true, conn));
}

/// Forwards one direction of a connection until EOF (then half-closes `to`, leaving the
/// other direction open) or until the connection is cut or fails (then closes both).
/// `to_client` is the server→client direction, the one `cut_mid_frame` cuts.
async fn pump(
    from: OwnedReadHalf,
    to: OwnedWriteHalf,
    mut signals: Signals,
    to_client: bool,
    conn: Arc<Conn>,
) {
    let mut kill = conn.kill.subscribe();
    let mut held: VecDeque<(Instant, Vec<u8>)> = VecDeque::new();
    let mut buf = vec![0; CHUNK];
    let mut eof = false;
    let finished = loop {
        if eof && held.is_empty() {
            break true;
        }
        // The handlers below read the mode again: it may have changed since.
        let stalled = *signals.mode.borrow_and_update() == Mode::Stall;
        let due = held.front().map(|(at, _)| *at);
        tokio::select! {
            () = stopped(&mut signals.cut, &mut kill) => break false,
            // Re-evaluates stall and delay; a dropped handle also ends `stopped`.
            _ = signals.mode.changed() => {}
            // Errors are left to `try_read`.
            _ = from.readable(), if !eof && held.len() < MAX_HELD => {
                match from.try_read(&mut buf) {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        let at = match *signals.mode.borrow() {
                            Mode::Delay(delay) => Instant::now() + delay,
                            _ => Instant::now(),
                        };
                        held.push_back((at, buf[..n].to_vec()));
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => break false,
                }
            }
            () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() && !stalled => {
                if *signals.mode.borrow() == Mode::Stall {
                    continue;
                }
                let (_, mut chunk) = held.pop_front().expect("a due chunk is held");
                let cut_here = to_client && signals.mid_frame.has_changed().unwrap_or(false);
                if cut_here {
                    chunk.truncate(chunk.len() / 2);
                }
                let written = tokio::select! {
                    written = write_all(&to, &chunk) => written.is_ok(),
                    () = stopped(&mut signals.cut, &mut kill) => false,
                };
                if cut_here || !written {
                    break false;
                }
            }
        }
    };
    if !finished {
        conn.kill.send_replace(true);
    }
    // Dropping the halves closes this direction; the sockets close once both pumps end.
}

/// Resolves once the connection must close: cut, the proxy dropped, or the other side ended.
async fn stopped(cut: &mut watch::Receiver<u64>, kill: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = cut.changed() => {}
        _ = kill.wait_for(|killed| *killed) => {}
    }
}

async fn write_all(to: &OwnedWriteHalf, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        to.writable().await?;
        match to.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
