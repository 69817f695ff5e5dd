//! Tests of the real binary on port 0 with a temporary data file: restart,
//! SIGKILL during concurrent writes, and graceful shutdown. Every process
//! a test starts is stopped by PID, also when the test fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running `cascade-control-plane` process.
struct Server {
    child: Child,
    base: String,
    token: String,
}

impl Server {
    /// Starts the binary on `data` and waits for its listening log line.
    fn start(data: &Path, token_file: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cascade-control-plane"))
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data")
            .arg(data)
            .arg("--log-format")
            .arg("json")
            .arg("--bootstrap-token-file")
            .arg(token_file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let parsed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if parsed["fields"]["message"] == "listening" {
                    let addr = parsed["fields"]["addr"].as_str().unwrap_or("").to_owned();
                    let _ = sender.send(addr);
                }
            }
        });
        let addr = match receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the binary did not log its listening address");
            }
        };
        let token = std::fs::read_to_string(token_file)
            .expect("bootstrap token file")
            .trim()
            .to_owned();
        Server {
            child,
            base: format!("http://{addr}"),
            token,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends SIGTERM and waits up to 30 s for the process to exit.
    fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the binary did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("data/cascade.redb"), dir.join("token"))
}

async fn send(
    client: &reqwest::Client,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = client
        .request(method, server.url(path))
        .bearer_auth(&server.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_restart_keeps_data_and_revision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, token_file) = paths(dir.path());
    let client = reqwest::Client::new();

    let mut server = Server::start(&data, &token_file);
    let flag = json!({"key": "dark-mode", "type": "string", "default": "off"});
    let created = send(
        &client,
        &server,
        reqwest::Method::POST,
        "/v1/flags",
        Some(flag),
    )
    .await;
    assert_eq!(created.status(), 201);
    let health: Value = client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    let revision = health["revision"].as_u64().expect("revision");
    assert!(server.terminate().success());

    std::fs::remove_file(&token_file).expect("remove token file");
    std::fs::write(&token_file, &server.token).expect("keep token for restart");
    let old_token = server.token.clone();
    let mut server = Server::start(&data, &token_file);
    assert_eq!(
        server.token, old_token,
        "a second bootstrap token was written"
    );
    let health: Value = client
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    assert_eq!(health["revision"], json!(revision));
    let flag = send(
        &client,
        &server,
        reqwest::Method::GET,
        "/v1/flags/dark-mode",
        None,
    )
    .await;
    assert_eq!(flag.status(), 200);
    let snapshot = send(&client, &server, reqwest::Method::GET, "/v1/snapshot", None).await;
    assert_eq!(
        snapshot.headers()["etag"],
        format!("\"r{revision}\"").as_str()
    );
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_keeps_every_acknowledged_write() {
    const WRITERS: usize = 8;
    const MAX_WRITES_EACH: usize = 500;
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, token_file) = paths(dir.path());
    let client = reqwest::Client::new();
    let mut server = Server::start(&data, &token_file);
    let tenant = json!({"id": "t", "display_name": "T"});
    assert_eq!(
        send(
            &client,
            &server,
            reqwest::Method::POST,
            "/v1/tenants",
            Some(tenant)
        )
        .await
        .status(),
        201
    );
    let flag = json!({"key": "f", "type": "integer", "default": 0});
    assert_eq!(
        send(
            &client,
            &server,
            reqwest::Method::POST,
            "/v1/flags",
            Some(flag)
        )
        .await
        .status(),
        201
    );

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let base = server.base.clone();
    let token = server.token.clone();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let acknowledged = acknowledged.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..MAX_WRITES_EACH {
                let user = format!("w{writer}-{i}");
                let url = format!("{base}/v1/tenants/t/users/{user}/flags/f");
                let sent = client
                    .put(url)
                    .bearer_auth(&token)
                    .json(&json!({"value": i}))
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status().is_success() => {
                        acked.push((user, i));
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(response) => panic!("write rejected: {}", response.status()),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    // Kill once some writes are acknowledged and the rest are in flight.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::SeqCst) < 100 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().expect("reap");
    let mut acked = Vec::new();
    for writer in writers {
        acked.extend(writer.await.expect("writer"));
    }
    assert!(
        acked.len() >= 100,
        "only {} writes were acknowledged",
        acked.len()
    );

    let server = Server::start(&data, &token_file);
    let mut audited = std::collections::HashSet::new();
    let mut path = "/v1/audit?target=tenants/t/users&limit=1000".to_owned();
    loop {
        let page: Value = send(&client, &server, reqwest::Method::GET, &path, None)
            .await
            .json()
            .await
            .expect("json");
        for record in page["items"].as_array().expect("items") {
            audited.insert(record["target"].as_str().unwrap_or("").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/audit?target=tenants/t/users&limit=1000&cursor={cursor}")
            }
            None => break,
        }
    }
    let users: Value = send(
        &client,
        &server,
        reqwest::Method::GET,
        "/v1/tenants/t/users?limit=1000",
        None,
    )
    .await
    .json()
    .await
    .expect("json");
    let mut stored = std::collections::HashMap::new();
    let mut page = users;
    loop {
        for item in page["items"].as_array().expect("items") {
            stored.insert(
                item["user"].as_str().unwrap_or("").to_owned(),
                item["value"].clone(),
            );
        }
        let Some(cursor) = page["next_cursor"].as_str() else {
            break;
        };
        let path = format!("/v1/tenants/t/users?limit=1000&cursor={cursor}");
        page = send(&client, &server, reqwest::Method::GET, &path, None)
            .await
            .json()
            .await
            .expect("json");
    }
    for (user, value) in &acked {
        assert_eq!(
            stored.get(user),
            Some(&json!(value)),
            "acknowledged write of {user} lost"
        );
        let target = format!("tenants/t/users/{user}/flags/f");
        assert!(audited.contains(&target), "no audit record for {target}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_long_poll_and_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (data, token_file) = paths(dir.path());
    let client = reqwest::Client::new();
    let mut server = Server::start(&data, &token_file);
    let first = send(&client, &server, reqwest::Method::GET, "/v1/snapshot", None).await;
    let etag = first.headers()["etag"].to_str().expect("etag").to_owned();

    let poll = client
        .get(server.url("/v1/snapshot?wait=60"))
        .bearer_auth(&server.token)
        .header("if-none-match", &etag)
        .send();
    let poll = tokio::spawn(poll);
    // Let the poll reach the server before the signal; either order must
    // end with a clean exit.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.terminate();
        drop(server);
        status
    })
    .await
    .expect("terminate");
    assert!(status.success(), "exit status {status}");
    if let Ok(Ok(response)) = poll.await {
        assert_eq!(response.status(), 304);
    }
}
