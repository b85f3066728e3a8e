//! `--static-dir` serves the web app and nothing hidden next to it.

use chat_test::TestServer;

#[tokio::test]
async fn hidden_files_next_to_the_web_app_are_never_served() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<title>app</title>").unwrap();
    std::fs::create_dir(web.path().join("assets")).unwrap();
    std::fs::write(web.path().join("assets/app.js"), "app()").unwrap();
    // What a careless `serve --static-dir .` would sit next to: a data directory from an
    // earlier run (the server refuses to start on one inside, see tests/cli.rs), a git
    // checkout and an env file.
    for (path, content) in [
        (".onyxchat/chat.db", "SQLite format 3 api_secret"),
        (".onyxchat/chat.db-wal", "api_secret"),
        (".git/config", "[core]"),
        (".env", "SECRET=1"),
        ("assets/.env", "SECRET=2"),
    ] {
        let file = web.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    let root = web.path().to_owned();
    let t = TestServer::start_with(|c| c.static_dir = Some(root)).await;
    let get = |path: &str| {
        let url = format!("{}{path}", t.server.base_url());
        let http = t.http.clone();
        async move {
            let r = http.get(url).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(get("/").await, (200, "<title>app</title>".into()));
    assert_eq!(get("/assets/app.js").await, (200, "app()".into()));
    assert_eq!(get("/some/client/route").await.1, "<title>app</title>");
    for path in [
        "/.onyxchat/chat.db",
        "/.onyxchat/chat.db-wal",
        "/%2eonyxchat/chat.db",
        "/%2Eonyxchat%2Fchat.db",
        "/.git/config",
        "/.env",
        "/assets/.env",
        "/assets/%2eenv",
        "/assets/../.env",
        "/.onyxchat/",
    ] {
        let (status, body) = get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains("\"not_found\""), "{path}: {body}");
        assert!(
            !body.contains("SECRET") && !body.contains("api_secret"),
            "{path}"
        );
    }
}
