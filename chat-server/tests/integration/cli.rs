//! The `chat-server` binary as users run it: `app create`, `token`, and `serve --dev`
//! (a real process on a free port, shut down with SIGTERM).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat_test::free_port;

const BIN: &str = env!("CARGO_BIN_EXE_chat-server");

#[test]
fn app_create_and_token_print_machine_readable_output() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = Command::new(BIN)
        .args(["app", "create", "--name", "shop", "--data-dir", data])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds: chat_protocol::AppCredentials = serde_json::from_slice(&out.stdout).unwrap();
    assert!(creds.app_id.starts_with("app_") && creds.api_secret.len() >= 32);
    // names are unique
    let dup = Command::new(BIN)
        .args(["app", "create", "--name", "shop", "--data-dir", data])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    let out = Command::new(BIN)
        .args([
            "token",
            "--app",
            &creds.app_id,
            "--user",
            "alice",
            "--ttl-secs",
            "120",
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let claims =
        chat_server::auth::verify_user_token(&token, &creds.app_id, &creds.api_secret).unwrap();
    assert_eq!(claims.sub, "alice");
    assert!((claims.exp - claims.iat - 120).abs() <= 1);
    let bad = Command::new(BIN)
        .args([
            "token",
            "--app",
            "app_nope",
            "--user",
            "a",
            "--data-dir",
            data,
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn serve_dev_prints_working_credentials_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>demo</title>",
    )
    .unwrap();
    std::fs::write(web.path().join("app.js"), "console.log('demo')").unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--dev",
            "--addr",
            &addr,
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--static-dir",
            web.path().to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut tokens = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokens.len() < 4 && Instant::now() < deadline {
        let line = lines.next().expect("output").unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() == 2 && words[1].starts_with("eyJ") {
            tokens.push((words[0].to_owned(), words[1].to_owned()));
        }
    }
    assert_eq!(
        tokens.iter().map(|(u, _)| u.as_str()).collect::<Vec<_>>(),
        ["alice", "bob", "carol", "dave"]
    );
    // a second server on the same data directory refuses to start
    let second = Command::new(BIN)
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!second.status.success());
    assert!(String::from_utf8_lossy(&second.stderr).contains("already serving"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let body: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/v1/sync"))
            .bearer_auth(&tokens[1].1)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let cids: Vec<&str> = body["limited"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"]["cid"].as_str().unwrap())
        .collect();
    // Alice & Bob's conversation is the distinct channel of the pair: the cid any SDK
    // derives for it (Cid::distinct), flagged distinct on the wire.
    let dm = chat_protocol::Cid::distinct(chat_protocol::ChannelType::Messaging, "bob", &["alice"]);
    assert_eq!(cids, [dm.to_string().as_str(), "team:general"]);
    assert_eq!(body["limited"][0]["channel"]["distinct"], true);
    assert_eq!(body["limited"][1]["channel"]["distinct"], false);
    // The demo app: its files, its index.html for client routes, JSON errors under /v1,
    // and the dev session with the printed tokens.
    let get = |path: &str| {
        let url = format!("http://{addr}{path}");
        rt.block_on(async move {
            let reply = reqwest::get(url).await.unwrap();
            (reply.status().as_u16(), reply.text().await.unwrap())
        })
    };
    assert_eq!(get("/").1, "<!doctype html><title>demo</title>");
    assert_eq!(get("/app.js").1, "console.log('demo')");
    assert_eq!(
        get("/channels/general").1,
        "<!doctype html><title>demo</title>"
    );
    let (status, body) = get("/v1/no-such-route");
    assert_eq!(status, 404);
    assert!(body.contains("not_found"), "{body}");
    let (status, session) = get("/v1/dev/session");
    assert_eq!(status, 200);
    let session: serde_json::Value = serde_json::from_str(&session).unwrap();
    let served: Vec<(String, String)> = session["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["id"].as_str().unwrap().to_owned(),
                u["token"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(served, tokens);
    assert_eq!(
        session["app_id"].as_str().unwrap(),
        chat_server::auth::unverified_app(&tokens[0].1).unwrap()
    );
    // SIGTERM → graceful exit
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    // a second --dev start on the same data dir reuses the demo app
    let again = Command::new(BIN)
        .args([
            "serve",
            "--dev",
            "--addr",
            &format!("127.0.0.1:{}", free_port()),
            "--data-dir",
            dir.path().to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut again = again;
    let mut lines = BufReader::new(again.stdout.take().unwrap()).lines();
    let app_line = lines
        .find(|l| l.as_ref().is_ok_and(|l| l.contains("app_id")))
        .unwrap()
        .unwrap();
    let _ = again.kill();
    let _ = again.wait();
    let app_id = app_line.split_whitespace().last().unwrap();
    let claims_app = chat_server::auth::unverified_app(&tokens[0].1).unwrap();
    assert_eq!(app_id, claims_app);
}

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a `serve` that must refuse to start: waits at most 20 s, and a server that started
/// anyway is killed and reported (instead of hanging the test).
pub(crate) fn serve_must_refuse(mut command: Command) -> std::process::Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started instead of refusing");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn app_cors_edits_the_allowed_origins_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = run(&["app", "create", "--name", "web", "--data-dir", data]);
    let creds: chat_protocol::AppCredentials = serde_json::from_slice(&out.stdout).unwrap();
    let app = creds.app_id.as_str();
    let cors = |extra: &[&str]| {
        let mut args = vec!["app", "cors", "--app", app, "--data-dir", data];
        args.extend_from_slice(extra);
        run(&args)
    };
    let settings = |out: &std::process::Output| -> serde_json::Value {
        assert!(out.status.success(), "{}", stderr(out));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(settings(&cors(&[]))["cors_origins"], serde_json::json!([]));
    let out = cors(&[
        "--allow",
        "https://App.example.com:443",
        "--allow",
        "http://localhost:5173",
    ]);
    assert_eq!(
        settings(&out)["cors_origins"],
        serde_json::json!(["https://app.example.com", "http://localhost:5173"])
    );
    let out = cors(&["--remove", "https://app.example.com"]);
    assert_eq!(
        settings(&out)["cors_origins"],
        serde_json::json!(["http://localhost:5173"])
    );
    for bad in [
        "*",
        "https://*.example.com",
        "https://app.example.com/path",
        "example.com",
    ] {
        let out = cors(&["--allow", bad]);
        assert!(!out.status.success(), "{bad} was accepted");
        assert!(stderr(&out).contains("origin"), "{bad}: {}", stderr(&out));
    }
    let out = cors(&["--clear"]);
    assert_eq!(settings(&out)["cors_origins"], serde_json::json!([]));
    let out = run(&["app", "cors", "--app", "app_nope", "--data-dir", data]);
    assert!(!out.status.success());
    // tokens longer than the server accepts are not minted
    let out = run(&[
        "token",
        "--app",
        app,
        "--user",
        "alice",
        "--ttl-secs",
        "2592001",
        "--data-dir",
        data,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("30 days"), "{}", stderr(&out));
}

#[test]
fn serve_refuses_a_static_dir_that_holds_the_data_dir() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<title>app</title>").unwrap();
    // `serve --static-dir .` from a folder holding the default ./.onyxchat
    let mut command = Command::new(BIN);
    command.current_dir(web.path()).args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{}", free_port()),
        "--static-dir",
        ".",
    ]);
    let out = serve_must_refuse(command);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("contains the data directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dev_mode_listens_only_on_loopback_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    for addr in ["0.0.0.0:0", "[::]:0"] {
        let mut command = Command::new(BIN);
        command.args([
            "serve",
            "--dev",
            "--addr",
            addr,
            "--data-dir",
            dir.path().to_str().unwrap(),
        ]);
        let out = serve_must_refuse(command);
        assert!(!out.status.success(), "{addr}");
        assert!(
            stderr(&out).contains("--dev-allow-remote"),
            "{addr}: {}",
            stderr(&out)
        );
    }
    // the flag only makes sense with --dev
    let out = run(&["serve", "--dev-allow-remote", "--addr", "127.0.0.1:0"]);
    assert!(!out.status.success());
}

#[test]
fn serve_reads_its_options_from_the_environment_and_refuses_bad_ones() {
    let out = Command::new(BIN)
        .arg("serve")
        .env("ONYXCHAT_MAX_WEBSOCKETS", "many")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--max-websockets"),
        "{}",
        stderr(&out)
    );
}

/// Also: `serve` takes its address and data directory from the environment.
#[test]
fn serve_writes_json_log_lines_that_carry_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(BIN)
        // The address and data directory from the environment, as a container would.
        .args(["serve", "--log-format", "json"])
        .env("ONYXCHAT_ADDR", &addr)
        .env("ONYXCHAT_DATA_DIR", dir.path())
        .env("RUST_LOG", "info,chat_server=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Until the server answers.
    loop {
        let sent = rt.block_on(
            http.get(format!("http://{addr}/healthz"))
                .header("x-request-id", "trace-me-42")
                .send(),
        );
        if sent.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut found = None;
    while found.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx.recv_timeout(left).expect("a log line for the request");
        let entry: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        if entry["span"]["id"] == "trace-me-42" {
            found = Some(entry);
        }
    }
    let entry = found.unwrap();
    assert_eq!(entry["span"]["route"], "/healthz", "{entry}");
    assert_eq!(entry["fields"]["status"], 200, "{entry}");
    assert!(
        entry["timestamp"].is_string() && entry["level"] == "DEBUG",
        "{entry}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// `--config FILE`: `serve` takes its options from a TOML file, an environment variable
/// wins over the file (and a flag over both), and an unknown key or a bad value is refused
/// with the key's name.
#[test]
fn serve_reads_a_config_file_below_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file_port = free_port();
    let env_port = free_port();
    let config = dir.path().join("chat-server.toml");
    std::fs::write(
        &config,
        format!(
            "addr = \"127.0.0.1:{file_port}\"\ndata_dir = \"{}\"\nmax_websockets = 20000\n",
            data.display()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let answers = |port: u16| {
        rt.block_on(async {
            reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
                .await
                .is_ok_and(|r| r.status() == 200)
        })
    };
    let serve = |env_addr: Option<String>| {
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--config"])
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(addr) = env_addr {
            command.env("ONYXCHAT_ADDR", addr);
        }
        command.spawn().unwrap()
    };
    let stop = |mut child: std::process::Child| {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    };
    let wait_until = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !answers(port) {
            assert!(Instant::now() < deadline, "nothing answers on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    // From the file: its address, its data directory.
    let child = serve(None);
    wait_until(file_port);
    assert!(data.join("chat.db").is_file());
    stop(child);
    // The environment wins over the file.
    let child = serve(Some(format!("127.0.0.1:{env_port}")));
    wait_until(env_port);
    assert!(!answers(file_port));
    stop(child);
    // Unknown keys and bad values are refused, naming the key.
    for (text, key) in [
        ("max_sockets = 3\n", "max_sockets"),
        ("max_websockets = \"many\"\n", "max_websockets"),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = run(&["serve", "--config", config.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(key), "{}", stderr(&out));
    }
}
