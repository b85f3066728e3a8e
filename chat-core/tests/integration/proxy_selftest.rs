//! Self-test of the fault-injecting proxy in `support/proxy.rs`, against small TCP
//! servers started here: each control is shown to do what it says, and each test would fail
//! if its control did nothing, so the realtime tests can trust the faults they inject.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::proxy::{FaultProxy, Mode};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep, timeout};

/// The longest anything that should happen promptly may take.
const PROMPT: Duration = Duration::from_secs(2);
/// How long "nothing arrives" is watched for.
const QUIET: Duration = Duration::from_millis(200);

/// What the echo server has seen.
#[derive(Default)]
struct EchoStats {
    /// Its connections not yet closed by the peer.
    open: AtomicUsize,
    /// Bytes received over all connections.
    received: AtomicUsize,
}

/// A TCP echo server: every connection gets back what it sends.
async fn echo_server() -> (SocketAddr, Arc<EchoStats>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stats = Arc::new(EchoStats::default());
    let server_stats = stats.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let stats = server_stats.clone();
            stats.open.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0; 64 * 1024];
                while let Ok(n @ 1..) = read_some(&stream, &mut buf).await {
                    stats.received.fetch_add(n, Ordering::SeqCst);
                    if write_all(&stream, &buf[..n]).await.is_err() {
                        break;
                    }
                }
                stats.open.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    (addr, stats)
}

/// An echo server and a proxy in front of it.
async fn proxied_echo() -> (FaultProxy, Arc<EchoStats>) {
    let (echo, stats) = echo_server().await;
    (FaultProxy::start(echo).await.unwrap(), stats)
}

async fn connect(addr: SocketAddr) -> TcpStream {
    let stream = timeout(PROMPT, TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

async fn read_some(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match stream.try_read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            read => return read,
        }
    }
}

async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        stream.writable().await?;
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads exactly `n` bytes; fails the test on EOF or if they do not arrive promptly.
async fn read_exactly(stream: &TcpStream, n: usize) -> Vec<u8> {
    let read = async {
        let mut got = Vec::with_capacity(n);
        let mut buf = vec![0; 64 * 1024];
        while got.len() < n {
            let want = (n - got.len()).min(buf.len());
            let k = read_some(stream, &mut buf[..want]).await.unwrap();
            assert!(k > 0, "EOF after {} of {n} bytes", got.len());
            got.extend_from_slice(&buf[..k]);
        }
        got
    };
    timeout(PROMPT, read)
        .await
        .expect("bytes did not arrive in time")
}

/// Reads until EOF or a reset and returns what arrived first; fails the test if the
/// connection stays open.
async fn read_to_close(stream: &TcpStream) -> Vec<u8> {
    let read = async {
        let mut got = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            match read_some(stream, &mut buf).await {
                Ok(0) => return got,
                Ok(k) => got.extend_from_slice(&buf[..k]),
                Err(e) => {
                    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset};
                    assert!(matches!(
                        e.kind(),
                        ConnectionReset | ConnectionAborted | BrokenPipe
                    ));
                    return got;
                }
            }
        }
    };
    timeout(PROMPT, read)
        .await
        .expect("the connection was not closed")
}

/// Sends `bytes` and reads back as many.
async fn round_trip(stream: &TcpStream, bytes: &[u8]) -> Vec<u8> {
    write_all(stream, bytes).await.unwrap();
    read_exactly(stream, bytes.len()).await
}

/// Asserts nothing arrives on `stream` for [`QUIET`].
async fn assert_quiet(stream: &TcpStream, what: &str) {
    let mut buf = [0; 64];
    let read = timeout(QUIET, read_some(stream, &mut buf)).await;
    assert!(read.is_err(), "{what}: read {read:?} while stalled");
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let wait = async {
        while !condition() {
            sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(PROMPT, wait)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_forwards_bytes_exactly_both_ways() {
    let (proxy, _) = proxied_echo().await;
    let client = connect(proxy.addr()).await;
    assert_eq!(round_trip(&client, b"hello").await, b"hello");

    // 1 MiB, more than the socket buffers hold, streamed both ways at once.
    let data = pattern(1 << 20);
    let (written, echoed) =
        tokio::join!(write_all(&client, &data), read_exactly(&client, data.len()));
    written.unwrap();
    assert!(echoed == data, "the echo differs from what was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_count_accepted_and_live_connections() {
    let (proxy, _) = proxied_echo().await;
    assert_eq!(
        (proxy.live_connections(), proxy.total_connections()),
        (0, 0)
    );
    let a = connect(proxy.addr()).await;
    round_trip(&a, b"a").await;
    let b = connect(proxy.addr()).await;
    round_trip(&b, b"b").await;
    assert_eq!(
        (proxy.live_connections(), proxy.total_connections()),
        (2, 2)
    );

    drop(a);
    eventually("a closed client to stop being live", || {
        proxy.live_connections() == 1
    })
    .await;

    proxy.set_mode(Mode::Refuse);
    let refused = connect(proxy.addr()).await;
    read_to_close(&refused).await;
    assert_eq!(
        (proxy.live_connections(), proxy.total_connections()),
        (1, 3)
    );

    drop(b);
    eventually("no live connections", || proxy.live_connections() == 0).await;
    assert_eq!(proxy.total_connections(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_closes_new_connections_at_once_and_keeps_live_ones() {
    let (proxy, echo) = proxied_echo().await;
    let live = connect(proxy.addr()).await;
    round_trip(&live, b"before").await;

    proxy.set_mode(Mode::Refuse);
    let refused = connect(proxy.addr()).await;
    assert_eq!(
        read_to_close(&refused).await,
        b"",
        "a refused connection got bytes"
    );
    assert_eq!(
        echo.open.load(Ordering::SeqCst),
        1,
        "a refused connection reached the server"
    );
    assert_eq!(round_trip(&live, b"still flowing").await, b"still flowing");

    proxy.set_mode(Mode::Pass);
    let again = connect(proxy.addr()).await;
    assert_eq!(round_trip(&again, b"after").await, b"after");
}

/// Both directions of a live connection are held, against a server the test drives itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_holds_a_live_connection_both_ways_until_pass() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let proxy = FaultProxy::start(listener.local_addr().unwrap())
        .await
        .unwrap();
    let client = connect(proxy.addr()).await;
    let (server, _) = timeout(PROMPT, listener.accept()).await.unwrap().unwrap();
    write_all(&client, b"up").await.unwrap();
    assert_eq!(read_exactly(&server, 2).await, b"up");

    proxy.set_mode(Mode::Stall);
    write_all(&client, b"up while stalled").await.unwrap();
    write_all(&server, b"down while stalled").await.unwrap();
    tokio::join!(
        assert_quiet(&server, "client to server"),
        assert_quiet(&client, "server to client"),
    );

    proxy.set_mode(Mode::Pass);
    assert_eq!(read_exactly(&server, 16).await, b"up while stalled");
    assert_eq!(read_exactly(&client, 18).await, b"down while stalled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stall_holds_new_connections_until_pass() {
    let (proxy, echo) = proxied_echo().await;
    proxy.set_mode(Mode::Stall);
    let client = connect(proxy.addr()).await;
    write_all(&client, b"held").await.unwrap();
    assert_quiet(&client, "a new connection").await;
    assert_eq!(
        echo.received.load(Ordering::SeqCst),
        0,
        "bytes reached the server"
    );

    proxy.set_mode(Mode::Pass);
    assert_eq!(read_exactly(&client, 4).await, b"held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_holds_every_chunk_in_order() {
    let (proxy, _) = proxied_echo().await;
    let client = connect(proxy.addr()).await;
    round_trip(&client, b"warm").await;

    let delay = Duration::from_millis(150);
    proxy.set_mode(Mode::Delay(delay));
    let start = Instant::now();
    round_trip(&client, b"x").await;
    let elapsed = start.elapsed();
    // Both the request and its echo are delayed.
    assert!(
        elapsed >= 2 * delay,
        "a delayed round trip took only {elapsed:?}"
    );

    for chunk in [b"1", b"2", b"3"] {
        write_all(&client, chunk).await.unwrap();
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(read_exactly(&client, 3).await, b"123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_all_closes_both_sides_of_live_connections_only() {
    let (proxy, echo) = proxied_echo().await;
    let a = connect(proxy.addr()).await;
    round_trip(&a, b"a").await;
    let b = connect(proxy.addr()).await;
    round_trip(&b, b"b").await;

    proxy.cut_all();
    assert_eq!(read_to_close(&a).await, b"");
    assert_eq!(read_to_close(&b).await, b"");
    eventually("the server side to close", || {
        echo.open.load(Ordering::SeqCst) == 0
    })
    .await;
    eventually("no live connections", || proxy.live_connections() == 0).await;

    let after = connect(proxy.addr()).await;
    assert_eq!(round_trip(&after, b"after").await, b"after");
    assert_eq!(
        (proxy.live_connections(), proxy.total_connections()),
        (1, 3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_mid_frame_forwards_part_of_the_next_chunk_then_closes() {
    let (proxy, echo) = proxied_echo().await;
    let client = connect(proxy.addr()).await;
    round_trip(&client, b"warm").await;

    proxy.cut_mid_frame();
    // A connection opened after the call is not cut.
    let later = connect(proxy.addr()).await;
    assert_eq!(round_trip(&later, b"later").await, b"later");
    let data = pattern(1000);
    write_all(&client, &data).await.unwrap();
    let got = read_to_close(&client).await;
    assert!(
        !got.is_empty() && got.len() < data.len(),
        "received {} bytes",
        got.len()
    );
    assert!(
        got == data[..got.len()],
        "the partial echo is not a prefix of the data"
    );
    eventually("the server side to close", || {
        echo.open.load(Ordering::SeqCst) == 1
    })
    .await;

    assert!(round_trip(&later, &data).await == data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_handle_stops_the_proxy() {
    let (proxy, echo) = proxied_echo().await;
    let addr = proxy.addr();
    let client = connect(addr).await;
    round_trip(&client, b"a").await;

    drop(proxy.clone());
    assert_eq!(
        round_trip(&client, b"clone dropped").await,
        b"clone dropped"
    );

    drop(proxy);
    assert_eq!(read_to_close(&client).await, b"");
    eventually("the server side to close", || {
        echo.open.load(Ordering::SeqCst) == 0
    })
    .await;
    let refused = async {
        while TcpStream::connect(addr).await.is_ok() {
            sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(PROMPT, refused)
        .await
        .expect("the listener still accepts");
}
