//! The `ghesta-sandbox` program as a shop in another language meets it: started as a process,
//! driven over HTTP with plain JSON (no SDK type), as its README's curl lines do.
//!
//! By default the binary cargo built for this test run; `.ci/run` installs it with `cargo
//! install --path tests --root DIR` and runs this test again with `GHESTA_SANDBOX_BIN` set to
//! the installed program, so what `cargo install` gives is what is tested.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

const TOKEN: &str = "shop-token";

/// The program under test.
fn program() -> String {
    std::env::var("GHESTA_SANDBOX_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_ghesta-sandbox").to_owned())
}

/// The program, killed when dropped (a failing test must not leave it running).
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the program on a free port and returns it with its base URL, read from the first
/// line it prints (within 20 s, on a thread, so a silent program fails instead of hanging).
fn start() -> (Running, String) {
    let mut child = Running(
        Command::new(program())
            .args(["--token", TOKEN])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program())),
    );
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the program printed no line within 20 s")
        .unwrap();
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    (child, base)
}

/// One HTTP call; the status and the body as text.
fn call_text(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let answer = match (method, body) {
        ("GET", None) => {
            let mut r = agent.get(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            r.call()
        }
        ("POST", body) => {
            let mut r = agent.post(url);
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            match body {
                Some(b) => r
                    .header("Content-Type", "application/json")
                    .send(b.to_string().as_bytes()),
                None => r.send_empty(),
            }
        }
        (m, b) => panic!("no such call in this test: {m} {b:?}"),
    };
    let mut answer = answer.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}

/// One HTTP call; the status and the body as JSON (`null` when empty).
fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let (status, text) = call_text(method, url, token, body);
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {url}: {e}: {text}"))
    };
    (status, json)
}

/// The value of `name` in the callback form a control endpoint answered.
fn field<'a>(form: &'a Value, name: &str) -> &'a str {
    form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f[0] == name)
        .unwrap_or_else(|| panic!("no {name} in {form}"))[1]
        .as_str()
        .unwrap()
}

#[test]
fn v2_create_approve_verify_then_already_verified() {
    let (_program, s) = start();
    let (status, created) = call(
        "POST",
        &format!("{s}/v2/pay"),
        Some(TOKEN),
        Some(
            json!({"amount": 15000, "returnUrl": "http://127.0.0.1:9/callback",
                    "clientRefId": "order-1"}),
        ),
    );
    assert_eq!(status, 200, "{created}");
    let code = created["code"].as_str().unwrap();

    // Ghesta's installment page, where the buyer would click "approve".
    let (status, page) = call_text(
        "GET",
        &format!("{s}/installment/{code}?type=ghesta"),
        None,
        None,
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"approve\""), "{page}");

    let (status, form) = call(
        "POST",
        &format!("{s}/__sandbox/payments/{code}/approve"),
        None,
        None,
    );
    assert_eq!(status, 200, "{form}");
    assert_eq!(field(&form, "code"), code);
    let refid = field(&form, "refid");

    let verify = json!({"refId": refid, "amount": 15000});
    let (status, verified) = call(
        "POST",
        &format!("{s}/v2/pay/verify"),
        Some(TOKEN),
        Some(verify.clone()),
    );
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["amount"], 15000);
    // The program keeps state: a second verify is PayPing's "already verified", code 15.
    let (status, again) = call(
        "POST",
        &format!("{s}/v2/pay/verify"),
        Some(TOKEN),
        Some(verify),
    );
    assert_eq!(status, 400, "{again}");
    assert!(again.get("15").is_some(), "{again}");
}

#[test]
fn v3_create_approve_verify_and_a_late_verify_after_the_clock_moves() {
    let (_program, s) = start();
    let mut codes = Vec::new();
    for order in ["order-2", "order-3"] {
        let (status, created) = call(
            "POST",
            &format!("{s}/v3/pay"),
            Some(TOKEN),
            Some(
                json!({"amount": 15000, "returnUrl": "http://127.0.0.1:9/callback",
                        "clientRefId": order}),
            ),
        );
        assert_eq!(status, 200, "{created}");
        let code = created["paymentCode"].as_str().unwrap().to_owned();
        assert_eq!(
            created["url"].as_str().unwrap(),
            format!("{s}/v3/pay/start/{code}")
        );
        let (status, form) = call(
            "POST",
            &format!("{s}/__sandbox/payments/{code}/approve"),
            None,
            None,
        );
        assert_eq!(status, 200, "{form}");
        assert_eq!(field(&form, "status"), "1");
        let data: Value = serde_json::from_str(field(&form, "data")).unwrap();
        codes.push((code, data["paymentRefId"].as_u64().unwrap()));
    }
    let verify = |(code, refid): &(String, u64)| {
        call(
            "POST",
            &format!("{s}/v3/pay/verify"),
            Some(TOKEN),
            Some(json!({"paymentRefId": refid, "paymentCode": code, "amount": 15000})),
        )
    };
    let (status, record) = verify(&codes[0]);
    assert_eq!(status, 200, "{record}");
    assert_eq!(record["code"], codes[0].0.as_str());
    assert_eq!(record["clientRefId"], "order-2");

    // Past the ten-minute window on the program's clock, the other payment is void (131).
    let (status, clock) = call(
        "POST",
        &format!("{s}/__sandbox/clock/advance?seconds=601"),
        None,
        None,
    );
    assert_eq!(status, 200, "{clock}");
    let (status, late) = verify(&codes[1]);
    assert_eq!(status, 400, "{late}");
    assert_eq!(late["metaData"]["code"], 131, "{late}");
}

#[test]
fn help_lists_every_option() {
    let out = Command::new(program()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    // The options main.rs parses; the README's table shows the same.
    for option in [
        "--listen",
        "--token",
        "--extra-token",
        "--verify-window-secs",
        "--already-verified-keys",
        "--no-report-v3-codes",
        "--allow-remote",
        "--tls",
        "--ca-out",
        "--tls-cert",
        "--tls-key",
        "--help",
    ] {
        assert!(
            help.contains(option),
            "--help does not list {option}:\n{help}"
        );
    }
}
