//! The `ghesta-sandbox` binary: its flags and its first line.

use super::*;

/// The sandbox binary as a child process, killed when dropped (a failing test must not
/// leave it running).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args` to its exit and returns what it printed; a binary still
/// running after 20 s (one that started serving instead of refusing) fails the test.
fn run_binary(args: &[&str]) -> std::process::Output {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut status = None;
    wait_for(
        &format!("ghesta-sandbox {args:?} exits"),
        Duration::from_secs(20),
        || {
            status = child.0.try_wait().unwrap();
            status.is_some()
        },
    );
    // It has exited: what it printed (a few lines) is all in the pipes.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    std::process::Output {
        status: status.unwrap(),
        stdout,
        stderr,
    }
}

/// Starts the binary with `args` and returns it with the address of its first line.
fn serving(args: &[&str]) -> (Child, String) {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Read on a thread, so that a binary that never prints fails the test instead of
    // hanging it.
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the binary printed no line within 20 s")
        .unwrap();
    let addr = line
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .trim_end();
    let addr = addr.to_owned();
    (child, addr)
}

#[test]
fn binary_prints_the_listening_line() {
    let (child, addr) = serving(&["--listen", "127.0.0.1:0", "--token", "bin-token"]);
    assert!(addr.starts_with("127.0.0.1:"));
    let url = format!("http://{addr}/v2/pay");
    let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"});
    let a = try_call(&agent(), "POST", &url, Some("bin-token"), Some(&body)).unwrap();
    drop(child);
    assert_eq!(a.status, 200, "{}", a.body);

    let out = run_binary(&["--listen", "0.0.0.0:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
    let out = run_binary(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--verify-window-secs"));
}

#[test]
fn binary_flags_for_merchants_the_409_and_the_report() {
    let (child, addr) = serving(&[
        "--extra-token",
        "second",
        "--already-verified-keys",
        "camel",
        "--no-report-v3-codes",
    ]);
    let base = format!("http://{addr}");
    let api = |method: &str, path: &str, body: Option<&Value>| {
        try_call(
            &agent(),
            method,
            &format!("{base}{path}"),
            Some("second"),
            body,
        )
        .unwrap()
    };
    let created = api(
        "POST",
        "/v3/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://127.0.0.1/", "clientRefId": "b"})),
    );
    assert_eq!(
        created.status, 200,
        "the extra token is a merchant: {}",
        created.body
    );
    let code = created.json()["paymentCode"].as_str().unwrap().to_owned();
    let report = api("GET", &format!("/v1/report/{code}"), None);
    assert_eq!(report.status, 404, "no report of v3 codes");
    let approved = try_call(
        &agent(),
        "POST",
        &format!("{base}/__sandbox/payments/{code}/approve"),
        None,
        None,
    )
    .unwrap();
    let data: Value =
        serde_json::from_str(approved.json()["fields"][2][1].as_str().unwrap()).unwrap();
    let body = json!({"paymentCode": code, "paymentRefId": data["paymentRefId"], "amount": 1000});
    assert_eq!(api("POST", "/v3/pay/verify", Some(&body)).status, 200);
    let again = api("POST", "/v3/pay/verify", Some(&body));
    drop(child);
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json()["metaData"]["message"]["code"],
        code.as_str(),
        "camelCase"
    );

    let out = run_binary(&["--already-verified-keys", "snake"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--already-verified-keys"));
    let out = run_binary(&["--extra-token", ""]);
    assert!(!out.status.success());
}

#[test]
fn binary_logs_each_request_with_log_and_never_the_token_or_a_body() {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(["--token", "bin-S3CRET-token", "--log", "info"])
            .env_remove("RUST_LOG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The whole log, read to its end (the binary killed) on a thread.
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut log = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut log);
        let _ = tx.send(log);
    });
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .unwrap();
    let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/", "description": "card 6037991234567890"});
    let url = format!("http://{addr}/v2/pay");
    let a = try_call(
        &agent(),
        "POST",
        &url,
        Some("bin-S3CRET-token"),
        Some(&body),
    )
    .unwrap();
    assert_eq!(a.status, 200, "{}", a.body);
    let report = format!("http://{addr}/v1/report/nosuchcode");
    let _ = try_call(&agent(), "GET", &report, Some("wrong-S3CRET"), None).unwrap();
    // Each line is written before its answer: all are in the pipe once the answers came.
    drop(child);
    let log = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    assert!(
        log.contains("http.request.method=POST")
            && log.contains("url.path=\"/v2/pay\"")
            && log.contains("http.response.status_code=200")
            && log.contains("sandbox.latency_ms="),
        "{log}"
    );
    assert!(log.contains("url.path=\"/v1/report/nosuchcode\""), "{log}");
    for secret in [
        "S3CRET",
        "6037991234567890",
        "returnUrl",
        "Bearer",
        "uthorization",
    ] {
        assert!(!log.contains(secret), "{secret:?} was logged:\n{log}");
    }
}
