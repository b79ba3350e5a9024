//! The sandbox driven over the wire, as a PayPing client (or a raw socket) sees it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ghesta_sandbox::{
    CallbackForm, DEFAULT_FAILURE_CODE, Fault, KeyCase, Options, PaymentState, Route, Sandbox,
    SandboxError, Times,
};
use serde_json::{Value, json};
use ureq::http::Request;

mod already_verified;
mod api;
mod binary;
mod connections;
mod control;
mod exact_codes;
mod faults;
mod merchants;
mod pages;
mod paying_late;
mod report;

use faults::{approved, raw_verify};

struct Answer {
    status: u16,
    request_id: Option<String>,
    content_type: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// Waits until `ready` holds, failing the test after `bound`: the sandbox has no event for
/// "a request arrived", so its counters are polled, but a wait never hangs.
fn wait_for(what: &str, bound: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + bound;
    while !ready() {
        assert!(Instant::now() < deadline, "{what}: not within {bound:?}");
        thread::yield_now();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        // v3's DELETE carries a JSON body.
        .allow_non_standard_methods(true)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

fn to_answer(mut r: ureq::http::Response<ureq::Body>) -> Result<Answer, ureq::Error> {
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request_id = header("X-PayPingRequest-ID");
    let content_type = header("Content-Type");
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .with_config()
        .limit(8 * 1024 * 1024)
        .read_to_string()?;
    Ok(Answer {
        status,
        request_id,
        content_type,
        body,
    })
}

/// One API call; `token` None sends no Authorization header.
fn try_call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, ureq::Error> {
    let mut b = Request::builder()
        .method(method)
        .uri(url)
        .header("Accept", "application/json");
    if let Some(t) = token {
        b = b.header("Authorization", format!("Bearer {t}"));
    }
    let r = match body {
        Some(v) => agent.run(
            b.header("Content-Type", "application/json")
                .body(v.to_string())
                .unwrap(),
        )?,
        None => agent.run(b.body(()).unwrap())?,
    };
    to_answer(r)
}

fn call(sb: &Sandbox, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let url = format!("{}{path}", sb.base_url());
    try_call(&agent(), method, &url, Some(sb.token()), body).unwrap()
}

fn create(sb: &Sandbox, amount: u32) -> String {
    let a = call(
        sb,
        "POST",
        "/v2/pay",
        Some(&json!({
            "amount": amount,
            "returnUrl": "http://127.0.0.1:9/back",
            "payerIdentity": "09120000000",
            "payerName": "Sara <Ahmadi>",
            "description": "order 42",
            "clientRefId": "order-42",
        })),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["code"].as_str().unwrap().to_owned()
}

fn verify(sb: &Sandbox, ref_id: &str, amount: u32) -> Answer {
    call(
        sb,
        "POST",
        "/v2/pay/verify",
        Some(&json!({"refId": ref_id, "amount": amount})),
    )
}

fn start() -> Sandbox {
    Sandbox::start(Options::default().extra_token("other-token")).unwrap()
}

fn error_code(a: &Answer) -> String {
    assert_eq!(a.status, 400, "{}", a.body);
    let v = a.json();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "{}", a.body);
    obj.keys().next().unwrap().clone()
}

/// The token the second merchant of [`start`] uses.
const OTHER: &str = "other-token";

/// One API call as the merchant with `token`.
fn call_as(sb: &Sandbox, token: &str, method: &str, path: &str, body: Option<&Value>) -> Answer {
    let url = format!("{}{path}", sb.base_url());
    try_call(&agent(), method, &url, Some(token), body).unwrap()
}

/// A v2 payment of the merchant with `token`.
fn create_as(sb: &Sandbox, token: &str, amount: u32) -> String {
    let body = json!({"amount": amount, "returnUrl": "http://127.0.0.1:9/back"});
    let a = call_as(sb, token, "POST", "/v2/pay", Some(&body));
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["code"].as_str().unwrap().to_owned()
}

/// A v3 payment of the merchant with `token`, reversible.
fn create_v3_as(sb: &Sandbox, token: &str, amount: u32) -> String {
    let body = json!({
        "amount": amount,
        "returnUrl": "http://127.0.0.1:9/back",
        "clientRefId": "order-3",
        "isReversible": true,
    });
    let a = call_as(sb, token, "POST", "/v3/pay", Some(&body));
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["paymentCode"].as_str().unwrap().to_owned()
}

/// The `paymentRefId` a v3 callback form carries.
fn payment_ref_id(form: &CallbackForm) -> u64 {
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    data["paymentRefId"].as_u64().expect("a paid v3 callback")
}

/// `POST /v3/pay/verify` as the merchant with `token`.
fn verify_v3_as(sb: &Sandbox, token: &str, code: &str, ref_id: u64, amount: u32) -> Answer {
    let body = json!({"paymentCode": code, "paymentRefId": ref_id, "amount": amount});
    call_as(sb, token, "POST", "/v3/pay/verify", Some(&body))
}

/// A v3 problem's `metaData.code`, with its status.
fn problem_code(a: &Answer) -> (u16, u64) {
    let code = a.json()["metaData"]["code"]
        .as_u64()
        .unwrap_or_else(|| panic!("not a v3 problem: {} {}", a.status, a.body));
    (a.status, code)
}

/// The report of `code` as the merchant with `token`.
fn report_as(sb: &Sandbox, token: &str, code: &str) -> Answer {
    call_as(sb, token, "GET", &format!("/v1/report/{code}"), None)
}
