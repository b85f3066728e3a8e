//! The binary's rate-limit options, as operators use them:
//!
//! - **Server-wide limits** (`serve --write-rate-per-user`, `--write-burst-per-user`,
//!   `--read-rate-per-user`, `--read-burst-per-user`; their environment variables and
//!   config keys): a server started with low limits answers `429` with `Retry-After` once
//!   a user's burst is spent, writes and reads apart; a rate of 0 is no limit; bad values
//!   are refused at start, naming the flag.
//! - **Per-app limits** (`app limits --app ID [--writes R[/B]] [--reads R[/B]]
//!   [--clear-writes] [--clear-reads]`): sets and clears an app's own limits, keeping its
//!   origins, printing the settings, refusing out-of-bounds values; on SQLite
//!   (`--data-dir`, then enforced by a server started on it) and on PostgreSQL
//!   (`--database-url`, the cluster named by `ONYXCHAT_TEST_DATABASE_URL`).

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use chat_test::free_port;

use crate::cli::serve_must_refuse;

const BIN: &str = env!("CARGO_BIN_EXE_chat-server");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON a successful command printed.
fn printed(out: &Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A server process, stopped with SIGTERM when dropped.
struct Served {
    child: Child,
    base: String,
    http: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.wait();
    }
}

/// Starts `serve` with `args` and `env` on a free port; returns once it answers.
fn serve(args: &[&str], env: &[(&str, &str)]) -> Served {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(BIN)
        .args(["serve", "--addr", &addr])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        rt: tokio::runtime::Runtime::new().unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let healthz = format!("{}/healthz", served.base);
    while served
        .rt
        .block_on(served.http.get(&healthz).send())
        .is_err()
    {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

impl Served {
    /// `method path` with `token`: the status, `Retry-After` and the body.
    fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Option<u64>, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse().ok());
            (status, retry, resp.json().await.unwrap_or(Value::Null))
        })
    }

    /// Creates channel `messaging:<id>` as the token's user: one write.
    fn write(&self, token: &str, id: &str) -> (StatusCode, Option<u64>, Value) {
        self.call(
            token,
            reqwest::Method::POST,
            "/v1/channels",
            Some(json!({"type": "messaging", "id": id, "members": []})),
        )
    }

    /// `GET /v1/unread`: one read.
    fn read(&self, token: &str) -> (StatusCode, Option<u64>, Value) {
        self.call(token, reqwest::Method::GET, "/v1/unread", None)
    }
}

/// Asserts a `429 rate_limited` with a `Retry-After` matching the body.
fn assert_limited((status, retry, body): (StatusCode, Option<u64>, Value)) {
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let retry = retry.expect("Retry-After");
    assert!(retry >= 1, "{retry}");
    assert_eq!(body["retry_after_secs"], retry, "{body}");
}

/// An app and a token of alice in the data directory `data`.
fn app_and_token(data: &str) -> (String, String) {
    let creds = printed(&run(&[
        "app",
        "create",
        "--name",
        "limits",
        "--data-dir",
        data,
    ]));
    let app = creds["app_id"].as_str().unwrap().to_owned();
    let out = run(&[
        "token",
        "--app",
        &app,
        "--user",
        "alice",
        "--data-dir",
        data,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (
        app,
        String::from_utf8(out.stdout).unwrap().trim().to_owned(),
    )
}

#[test]
fn serve_enforces_the_server_wide_limits_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let (_, token) = app_and_token(data);
    // writes from flags, reads from the environment
    let server = serve(
        &[
            "--data-dir",
            data,
            "--write-rate-per-user",
            "0.01",
            "--write-burst-per-user",
            "2",
        ],
        &[
            ("ONYXCHAT_READ_RATE_PER_USER", "0.01"),
            ("ONYXCHAT_READ_BURST_PER_USER", "3"),
        ],
    );
    for i in 0..2 {
        let (s, _, body) = server.write(&token, &format!("w{i}"));
        assert_eq!(s, StatusCode::CREATED, "write {i}: {body}");
    }
    assert_limited(server.write(&token, "w2"));
    // reads have a bucket of their own, untouched by the writes
    for i in 0..3 {
        let (s, _, body) = server.read(&token);
        assert_eq!(s, StatusCode::OK, "read {i}: {body}");
    }
    assert_limited(server.read(&token));
    drop(server);

    // from a config file: writes off (rate 0), reads limited; the environment still wins
    let config = dir.path().join("chat-server.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = \"{data}\"\nwrite_rate_per_user = 0\nread_rate_per_user = 0.01\n\
             read_burst_per_user = 50\n"
        ),
    )
    .unwrap();
    let server = serve(
        &["--config", config.to_str().unwrap()],
        &[("ONYXCHAT_READ_BURST_PER_USER", "2")],
    );
    for i in 0..30 {
        let (s, _, body) = server.write(&token, &format!("free{i}"));
        assert_eq!(
            s,
            StatusCode::CREATED,
            "write {i} with writes unlimited: {body}"
        );
    }
    for _ in 0..2 {
        assert_eq!(server.read(&token).0, StatusCode::OK);
    }
    assert_limited(server.read(&token));
    drop(server);

    // bad values are refused at start, naming the flag
    for (bad, flag) in [
        ("--write-burst-per-user=0", "--write-burst-per-user"),
        ("--read-rate-per-user=-1", "--read-rate-per-user"),
    ] {
        let mut command = Command::new(BIN);
        command.args(["serve", "--addr", "127.0.0.1:0", "--data-dir", data, bad]);
        let out = serve_must_refuse(command);
        assert!(!out.status.success(), "{bad} accepted");
        assert!(stderr(&out).contains(flag), "{bad}: {}", stderr(&out));
    }
}

/// Runs `app limits --app APP` with `extra` on the store `store` names (`--data-dir …` or
/// `--database-url …`).
fn limits(store: &[&str], app: &str, extra: &[&str]) -> Output {
    let mut args = vec!["app", "limits", "--app", app];
    args.extend_from_slice(store);
    args.extend_from_slice(extra);
    run(&args)
}

/// The `app limits` script both backends run: set, keep, clear, refuse.
fn edit_limits(store: &[&str], app: &str) {
    // keeps the app's origins
    let mut cors = vec!["app", "cors", "--app", app, "--allow", "https://a.example"];
    cors.extend_from_slice(store);
    printed(&run(&cors));
    assert_eq!(
        printed(&limits(store, app, &[])),
        json!({"cors_origins": ["https://a.example"]})
    );
    let out = limits(store, app, &["--writes", "5/20"]);
    assert_eq!(
        printed(&out),
        json!({"cors_origins": ["https://a.example"],
               "rate_limits": {"writes": {"per_second": 5.0, "burst": 20}}})
    );
    // a rate alone: bursts of 5 × the rate, rounded up; the other limit is kept
    let out = limits(store, app, &["--reads", "0.5"]);
    assert_eq!(
        printed(&out)["rate_limits"],
        json!({"writes": {"per_second": 5.0, "burst": 20},
               "reads": {"per_second": 0.5, "burst": 3}})
    );
    let out = limits(store, app, &["--clear-writes", "--reads", "100/1000"]);
    assert_eq!(
        printed(&out)["rate_limits"],
        json!({"reads": {"per_second": 100.0, "burst": 1000}})
    );
    assert_eq!(
        printed(&limits(store, app, &[]))["rate_limits"],
        json!({"reads": {"per_second": 100.0, "burst": 1000}}),
        "stored"
    );
    for (bad, says) in [
        (&["--writes", "0"][..], "per_second"),
        (&["--writes", "20000"][..], "per_second"),
        (&["--reads", "5/0"][..], "burst"),
        (&["--reads", "fast"][..], "rate"),
        (&["--writes", "1/1", "--clear-writes"][..], "--clear-writes"),
    ] {
        let out = limits(store, app, bad);
        assert!(!out.status.success(), "{bad:?} accepted");
        assert!(stderr(&out).contains(says), "{bad:?}: {}", stderr(&out));
    }
    assert!(!limits(store, "app_nope", &[]).status.success());
    let out = limits(store, app, &["--clear-writes", "--clear-reads"]);
    assert_eq!(
        printed(&out),
        json!({"cors_origins": ["https://a.example"]})
    );
}

#[test]
fn app_limits_edits_an_app_s_own_limits_on_sqlite_and_a_server_enforces_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (app, token) = app_and_token(data);
    edit_limits(&["--data-dir", data], &app);
    // the app's own write limit wins over the server's default
    printed(&limits(
        &["--data-dir", data],
        &app,
        &["--writes", "0.01/1"],
    ));
    let server = serve(&["--data-dir", data], &[]);
    assert_eq!(server.write(&token, "one").0, StatusCode::CREATED);
    assert_limited(server.write(&token, "two"));
    assert_eq!(server.read(&token).0, StatusCode::OK, "reads: the server's");
}

#[test]
fn app_limits_edits_an_app_s_own_limits_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(chat_test::nodes::fresh_database());
    let store = ["--database-url", url.as_str()];
    let mut create = vec!["app", "create", "--name", "pg-limits"];
    create.extend_from_slice(&store);
    let creds = printed(&run(&create));
    let app = creds["app_id"].as_str().unwrap();
    edit_limits(&store, app);
    printed(&limits(&store, app, &["--writes", "2/4"]));
    // what a node of the database reads
    let settings = rt.block_on(async {
        let pg = chat_server::store::postgres::PgStore::connect(
            &url,
            1,
            std::sync::Arc::new(chat_server::realtime::InProcessHub::new()),
            chat_server::store::SyncSettings::default(),
        )
        .await
        .unwrap();
        chat_server::store::Store::app_settings(&pg, app)
            .await
            .unwrap()
    });
    let writes = settings.rate_limits.writes.expect("stored");
    assert_eq!((writes.per_second, writes.burst), (2.0, 4));
    assert_eq!(settings.rate_limits.reads, None);
}
