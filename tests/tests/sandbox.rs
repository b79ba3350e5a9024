//! The sandbox driven over the wire, as a PayPing client (or a raw socket) sees it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ghesta_sandbox::{
    DEFAULT_FAILURE_CODE, Fault, Options, PaymentState, Route, Sandbox, SandboxError, Times,
};
use serde_json::{Value, json};
use ureq::http::Request;

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

#[test]
fn create_happy_path_and_validation() {
    let sb = start();
    let code = create(&sb, 10_000);
    assert!(code.len() >= 8 && code.chars().all(|c| c.is_ascii_alphanumeric()));
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::Created);
    assert_eq!(p.amount, 10_000);
    assert_eq!(p.client_ref_id.as_deref(), Some("order-42"));
    assert_ne!(code, create(&sb, 10_000), "codes are unique");

    let url = format!("{}/v2/pay", sb.base_url());
    let ag = agent();
    let good = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/x"});
    let a = try_call(&ag, "POST", &url, None, Some(&good)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));
    assert!(a.request_id.is_some());
    let a = try_call(&ag, "POST", &url, Some("wrong"), Some(&good)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));

    // The scheme is case-insensitive.
    let r = Request::post(&url)
        .header("Authorization", format!("bearer {}", sb.token()))
        .body(good.to_string())
        .unwrap();
    assert_eq!(to_answer(ag.run(r).unwrap()).unwrap().status, 200);

    for amount in [
        json!(99),
        json!(50_000_001),
        json!("1000"),
        json!(100.5),
        json!(null),
    ] {
        let a = call(
            &sb,
            "POST",
            "/v2/pay",
            Some(&json!({"amount": amount, "returnUrl": "http://x/"})),
        );
        assert_eq!(error_code(&a), "amount", "{amount}");
    }
    for amount in [100, 50_000_000] {
        let body = json!({"amount": amount, "returnUrl": "http://x/"});
        assert_eq!(call(&sb, "POST", "/v2/pay", Some(&body)).status, 200);
    }
    let a = call(&sb, "POST", "/v2/pay", Some(&json!({"amount": 1000})));
    assert_eq!(error_code(&a), "returnUrl");
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": ""})),
    );
    assert_eq!(error_code(&a), "returnUrl");
    let a = call(&sb, "POST", "/v2/pay", Some(&json!({})));
    let v = a.json();
    assert!(
        v.get("amount").is_some() && v.get("returnUrl").is_some(),
        "{v}"
    );

    let r = Request::post(&url)
        .header("Authorization", format!("Bearer {}", sb.token()))
        .body("{\"amount\": ")
        .unwrap();
    let a = to_answer(ag.run(r).unwrap()).unwrap();
    assert_eq!(error_code(&a), "body");

    // Duplicate clientRefId is accepted.
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://x/", "clientRefId": "order-42"})),
    );
    assert_eq!(a.status, 200);
}

#[test]
fn verify_success_then_already_verified_and_reports() {
    let sb = start();
    let code = create(&sb, 25_000);

    let report = call(&sb, "GET", &format!("/v1/report/{code}"), None);
    assert_eq!(report.status, 200);
    let r = report.json();
    assert_eq!(r["amount"], 25_000);
    assert_eq!(r["isPaid"], false);
    assert_eq!(r["payDate"], Value::Null);
    assert_eq!(r["invoiceNo"], Value::Null);
    assert_eq!(r["clientRefId"], "order-42");
    assert_eq!(r["name"], "Sara <Ahmadi>");
    assert_eq!(r["ipgName"], "Ghesta");
    assert!(r["reqDate"].as_str().unwrap().ends_with('Z'));

    let form = sb.approve(&code).unwrap();
    let ref_id = form.get("refid").unwrap().to_owned();
    assert_eq!(ref_id.len(), 9);
    assert!(ref_id.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);

    let a = verify(&sb, &ref_id, 25_000);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    let v = a.json();
    assert_eq!(v["amount"], 25_000);
    assert_eq!(v["cardNumber"].as_str(), form.get("cardnumber"));
    assert!(
        v["cardNumber"]
            .as_str()
            .unwrap()
            .starts_with("603799******")
    );
    let hash = v["cardHashPan"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);

    let again = verify(&sb, &ref_id, 25_000);
    assert_eq!(error_code(&again), "15");
    assert_eq!(again.json()["15"], "این تراکنش قبلا تایید شده است");
    assert_eq!(sb.payment(&code).unwrap().verify_count, 2);

    let r = call(&sb, "GET", &format!("/v1/report/{code}"), None).json();
    assert_eq!(r["isPaid"], true);
    assert_eq!(r["invoiceNo"], ref_id.as_str());
    assert!(r["payDate"].as_str().is_some());
    assert_eq!(r["rrn"].as_str(), form.get("cardnumber"));

    let a = call(&sb, "GET", "/v1/report/nosuchcode", None);
    assert_eq!(error_code(&a), "26");
}

#[test]
fn verify_amount_mismatch_unknown_ref_and_other_token() {
    let sb = start();
    let code = create(&sb, 5_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();

    assert_eq!(error_code(&verify(&sb, &ref_id, 5_001)), "47");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);
    assert_eq!(error_code(&verify(&sb, "123", 5_000)), "44");
    assert_eq!(error_code(&verify(&sb, &ref_id, 50)), "amount");
    let a = call(
        &sb,
        "POST",
        "/v2/pay/verify",
        Some(&json!({"amount": 5000})),
    );
    assert_eq!(error_code(&a), "refId");

    let url = format!("{}/v2/pay/verify", sb.base_url());
    let body = json!({"refId": ref_id, "amount": 5_000});
    let a = try_call(&agent(), "POST", &url, Some("other-token"), Some(&body)).unwrap();
    assert_eq!(error_code(&a), "46");
    let a = try_call(&agent(), "POST", &url, None, Some(&body)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));
    let del = format!("{}/v2/pay/{code}", sb.base_url());
    let a = try_call(&agent(), "DELETE", &del, Some("other-token"), None).unwrap();
    assert_eq!(error_code(&a), "46");

    // The correct verify still works within the window.
    assert_eq!(verify(&sb, &ref_id, 5_000).status, 200);
}

#[test]
fn buyer_cancel_and_failure_answer_their_codes() {
    let sb = start();
    let code = create(&sb, 1_000);
    let form = sb.cancel_as_buyer(&code).unwrap();
    assert_eq!(form.get("code"), Some(code.as_str()));
    assert_eq!(form.get("refid"), Some(""));
    assert_eq!(form.get("clientrefid"), Some("order-42"));
    assert_eq!(form.get("cardnumber"), Some(""));
    assert_eq!(form.get("cardhashpan"), Some(""));
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::CancelledByBuyer);
    assert_eq!(
        error_code(&verify(&sb, p.ref_id.as_deref().unwrap(), 1_000)),
        "1"
    );
    assert!(matches!(
        sb.approve(&code),
        Err(SandboxError::NotPayable {
            state: PaymentState::CancelledByBuyer,
            ..
        })
    ));

    let code = create(&sb, 1_000);
    let form = sb.fail(&code, 4).unwrap();
    let ref_id = form.get("refid").unwrap();
    assert!(!ref_id.is_empty());
    assert_eq!(form.get("cardnumber"), Some(""));
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Failed { code: 4 }
    );
    assert_eq!(error_code(&verify(&sb, ref_id, 1_000)), "4");

    let code = create(&sb, 1_000);
    let ref_id = sb
        .fail(&code, DEFAULT_FAILURE_CODE)
        .unwrap()
        .get("refid")
        .unwrap()
        .to_owned();
    assert_eq!(error_code(&verify(&sb, &ref_id, 1_000)), "39");

    assert!(matches!(
        sb.approve("nope"),
        Err(SandboxError::UnknownPayment { .. })
    ));
}

#[test]
fn verify_window_expires_on_the_advanced_clock() {
    let sb = Sandbox::start(Options::default().verify_window(Duration::from_secs(60))).unwrap();
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    sb.advance(Duration::from_secs(61));
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "39");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Expired);
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "39");

    let sb = Sandbox::start(Options::default().expired_code(48)).unwrap();
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    sb.advance(Duration::from_secs(9 * 60));
    assert_eq!(verify(&sb, &ref_id, 2_000).status, 200);
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    // Over HTTP this time.
    let a = call(&sb, "POST", "/__sandbox/clock/advance?seconds=601", None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "48");
}

#[test]
fn shop_cancel_then_verify_answers_1() {
    let sb = start();
    let code = create(&sb, 3_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    let a = call(&sb, "DELETE", &format!("/v2/pay/{code}"), None);
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::CancelledByShop
    );
    assert_eq!(error_code(&verify(&sb, &ref_id, 3_000)), "1");

    let code = create(&sb, 3_000);
    assert_eq!(
        call(&sb, "DELETE", &format!("/v2/pay/{code}"), None).status,
        200
    );
    assert!(sb.approve(&code).is_err());
    let page = call(
        &sb,
        "GET",
        &format!("/installment/{code}?type=ghesta"),
        None,
    );
    assert_eq!(page.status, 409);

    let a = call(&sb, "DELETE", "/v2/pay/nosuchcode", None);
    assert_eq!(error_code(&a), "26");

    let code = create(&sb, 3_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    assert_eq!(verify(&sb, &ref_id, 3_000).status, 200);
    let a = call(&sb, "DELETE", &format!("/v2/pay/{code}"), None);
    assert_eq!(error_code(&a), "15");
}

#[test]
fn every_answer_carries_a_request_id() {
    let sb = start();
    let code = create(&sb, 1_000);
    let base = sb.base_url().to_owned();
    let ag = agent();
    let mut ids = Vec::new();
    let cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("POST", "/v2/pay".into(), None, 401),
        ("GET", "/v2/pay".into(), Some(sb.token()), 405),
        ("GET", "/nowhere".into(), Some(sb.token()), 404),
        ("GET", format!("/v1/report/{code}"), Some(sb.token()), 200),
        ("GET", format!("/installment/{code}"), None, 200),
        ("GET", "/__sandbox/payments".into(), None, 200),
        ("POST", "/v2/pay/verify".into(), Some(sb.token()), 400),
    ];
    for (method, path, token, status) in cases {
        let a = try_call(&ag, method, &format!("{base}{path}"), token, None).unwrap();
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        let id = a
            .request_id
            .unwrap_or_else(|| panic!("{method} {path}: no id"));
        assert!(id.starts_with("sbx-"));
        ids.push(id);
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "ids are unique");
}

#[test]
fn gateway_pages_show_the_payment_and_buttons() {
    let sb = start();
    let code = create(&sb, 1_250_000);
    for path in [
        format!("/installment/{code}?type=ghesta"),
        format!("/v2/pay/gotoipg/{code}"),
    ] {
        let a = call(&sb, "GET", &path, None);
        assert_eq!(a.status, 200);
        assert_eq!(a.content_type.as_deref(), Some("text/html; charset=utf-8"));
        let html = &a.body;
        assert!(html.contains("lang=\"fa\" dir=\"rtl\""));
        assert!(html.contains("1,250,000"));
        assert!(html.contains("data-amount=\"1250000\""));
        assert!(html.contains("09120000000"));
        assert!(html.contains("Sara &lt;Ahmadi&gt;"), "escaped");
        assert!(html.contains("order 42"));
        for action in ["approve", "cancel", "fail"] {
            assert!(html.contains(&format!("<button id=\"{action}\"")));
            assert!(html.contains(&format!(
                "<form method=\"post\" action=\"/installment/{code}/{action}\">"
            )));
        }
    }
    let a = call(&sb, "GET", "/installment/nosuchcode", None);
    assert_eq!(a.status, 404);
    assert!(a.body.contains("<html"));
}

#[test]
fn approve_page_auto_submits_the_callback_form() {
    let sb = start();
    let code = create(&sb, 7_000);
    let a = call(&sb, "POST", &format!("/installment/{code}/approve"), None);
    assert_eq!(a.status, 200, "{}", a.body);
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::Paid);
    let html = &a.body;
    assert!(html.contains(
        "method=\"post\" action=\"http://127.0.0.1:9/back\" \
         enctype=\"application/x-www-form-urlencoded\""
    ));
    let ref_id = p.ref_id.unwrap();
    for (name, value) in [
        ("code", code.as_str()),
        ("refid", ref_id.as_str()),
        ("clientrefid", "order-42"),
    ] {
        assert!(html.contains(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">"
        )));
    }
    assert!(html.contains("name=\"cardnumber\" value=\"603799******"));
    assert!(html.contains("name=\"cardhashpan\" value=\""));
    assert!(html.contains("id=\"continue\""));
    assert!(html.contains(".submit()"));
    // The page is no longer payable afterwards.
    let again = call(&sb, "POST", &format!("/installment/{code}/approve"), None);
    assert_eq!(again.status, 409);

    let code = create(&sb, 7_000);
    let a = call(
        &sb,
        "POST",
        &format!("/installment/{code}/fail?code=6"),
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Failed { code: 6 }
    );
    let code = create(&sb, 7_000);
    let a = call(&sb, "POST", &format!("/installment/{code}/cancel"), None);
    assert!(a.body.contains("name=\"refid\" value=\"\""));
}

/// What the shop received: method, path, content type, body.
type Received = (String, String, Option<String>, String);

/// A one-request shop: returns what it received.
fn shop() -> (String, thread::JoinHandle<Received>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/payping/callback", server.server_addr());
    let h = thread::spawn(move || {
        let mut req = server
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .expect("the sandbox delivered no callback within 20 s");
        let mut body = String::new();
        req.as_reader().read_to_string(&mut body).unwrap();
        let ct = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Type"))
            .map(|h| h.value.to_string());
        let got = (req.method().to_string(), req.url().to_owned(), ct, body);
        req.respond(tiny_http::Response::from_string("thanks").with_status_code(200))
            .unwrap();
        got
    });
    (url, h)
}

#[test]
fn deliver_posts_the_exact_form_to_the_shop() {
    let sb = start();
    let (url, shop_thread) = shop();
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": url, "clientRefId": "a b&c"})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let form = sb.approve(&code).unwrap();
    assert_eq!(form.return_url, url);
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["code", "refid", "clientrefid", "cardnumber", "cardhashpan"]
    );
    let delivery = sb.deliver(&form).unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, "thanks"));
    let (method, path, ct, body) = shop_thread.join().unwrap();
    assert_eq!(method, "POST");
    assert_eq!(path, "/payping/callback");
    assert_eq!(ct.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(body, form.body);
    let parsed: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    assert_eq!(parsed, form.fields);
    assert_eq!(form.get("clientrefid"), Some("a b&c"));

    // Over HTTP, with delivery.
    let (url, shop_thread) = shop();
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": url})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/cancel?deliver=true"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["delivery"]["status"], 200);
    assert_eq!(v["fields"][1], json!(["refid", ""]));
    let (_, _, _, body) = shop_thread.join().unwrap();
    assert_eq!(body, v["body"].as_str().unwrap());

    // Never to a remote host; refused before the buyer acts.
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://example.com/back"})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/approve?deliver=true"),
        None,
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("loopback"), "{}", a.body);
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Created);
    let form = sb.approve(&code).unwrap();
    let err = sb.deliver(&form).unwrap_err();
    assert!(matches!(err, SandboxError::NotLoopback { .. }), "{err}");
    assert!(err.to_string().contains("loopback"));
}

/// Sends one raw HTTP/1.1 request and reads until EOF (failing on a hang).
fn raw_exchange(sb: &Sandbox, request: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(sb.local_addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    match s.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("no EOF: {e}; got {:?}", String::from_utf8_lossy(&got)),
    }
    got
}

fn raw_verify(sb: &Sandbox, ref_id: &str, amount: u32) -> String {
    let body = json!({"refId": ref_id, "amount": amount}).to_string();
    format!(
        "POST /v2/pay/verify HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        sb.token(),
        body.len()
    )
}

fn approved(sb: &Sandbox, amount: u32) -> (String, String) {
    let code = create(sb, amount);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    (code, ref_id)
}

#[test]
fn close_mid_answer_loses_the_answer_but_keeps_the_state() {
    let sb = start();
    let (code, ref_id) = approved(&sb, 1_000);
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let got = raw_exchange(&sb, &raw_verify(&sb, &ref_id, 1_000));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
    assert!(!text.contains("\r\n\r\n"), "headers incomplete: {text:?}");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);

    // As ureq sees it, on a keep-alive connection already in use.
    let (code, ref_id) = approved(&sb, 1_000);
    let ag = agent();
    let url = format!("{}/v2/pay/verify", sb.base_url());
    let report = format!("{}/v1/report/{code}", sb.base_url());
    assert_eq!(
        try_call(&ag, "GET", &report, Some(sb.token()), None)
            .unwrap()
            .status,
        200
    );
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let body = json!({"refId": ref_id, "amount": 1_000});
    let err = try_call(&ag, "POST", &url, Some(sb.token()), Some(&body));
    assert!(err.is_err(), "the answer must be lost");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);
    // The retry learns it was verified already.
    let a = try_call(&ag, "POST", &url, Some(sb.token()), Some(&body)).unwrap();
    assert_eq!(error_code(&a), "15");
}

#[test]
fn truncated_body_ends_early() {
    let sb = start();
    let (code, ref_id) = approved(&sb, 1_000);
    sb.inject(Route::Verify, Fault::TruncatedBody, Times::Once);
    let got = raw_exchange(&sb, &raw_verify(&sb, &ref_id, 1_000));
    let text = String::from_utf8(got).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("complete headers");
    assert!(head.starts_with("HTTP/1.1 200 OK"));
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(body.len() < len, "{} of {len}", body.len());
    assert!(head.contains("X-PayPingRequest-ID: sbx-"));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);

    let (_, ref_id) = approved(&sb, 1_000);
    sb.inject(Route::Verify, Fault::TruncatedBody, Times::Once);
    let url = format!("{}/v2/pay/verify", sb.base_url());
    let body = json!({"refId": ref_id, "amount": 1_000});
    assert!(try_call(&agent(), "POST", &url, Some(sb.token()), Some(&body)).is_err());
}

#[test]
fn status_bad_gateway_oversized_and_malformed_faults() {
    let sb = start();
    let (code, ref_id) = approved(&sb, 1_000);

    sb.inject(Route::Verify, Fault::Status(503), Times::Once);
    let a = verify(&sb, &ref_id, 1_000);
    assert_eq!((a.status, a.body.as_str()), (503, ""));
    assert!(a.request_id.is_some());
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Paid,
        "not processed"
    );

    sb.inject(Route::Verify, Fault::HtmlBadGateway, Times::Once);
    let a = verify(&sb, &ref_id, 1_000);
    assert_eq!(a.status, 502);
    assert!(a.body.contains("502 Bad Gateway") && a.body.contains("nginx"));
    assert!(a.content_type.unwrap().starts_with("text/html"));
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Paid,
        "not processed"
    );

    sb.inject(Route::Verify, Fault::OversizedBody(1 << 20), Times::Once);
    let a = verify(&sb, &ref_id, 1_000);
    assert_eq!(a.status, 200);
    assert_eq!(a.body.len(), 1 << 20);
    assert_eq!(a.json()["amount"], 1_000);
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);

    sb.inject(Route::Create, Fault::MalformedJson, Times::Once);
    let before = sb.payments().len();
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"})),
    );
    assert_eq!(a.status, 200);
    assert!(a.body.starts_with('{'));
    assert!(
        serde_json::from_str::<Value>(&a.body).is_err(),
        "{}",
        a.body
    );
    assert_eq!(sb.payments().len(), before + 1, "processed");

    sb.inject(Route::Cancel, Fault::MalformedJson, Times::Once);
    let code2 = create(&sb, 1_000);
    let a = call(&sb, "DELETE", &format!("/v2/pay/{code2}"), None);
    assert_eq!(a.body, "{\"code\": ");
}

#[test]
fn times_once_n_always_and_clear() {
    let sb = start();
    let path = "/v1/report/x";
    sb.inject(Route::Report, Fault::Status(500), Times::Once);
    assert_eq!(call(&sb, "GET", path, None).status, 500);
    assert_eq!(call(&sb, "GET", path, None).status, 400);

    sb.inject(Route::Report, Fault::Status(503), Times::N(2));
    assert_eq!(call(&sb, "GET", path, None).status, 503);
    assert_eq!(call(&sb, "GET", path, None).status, 503);
    assert_eq!(call(&sb, "GET", path, None).status, 400);

    sb.inject(Route::Report, Fault::Status(500), Times::Always);
    for _ in 0..3 {
        assert_eq!(call(&sb, "GET", path, None).status, 500);
    }
    // Other routes are untouched.
    create(&sb, 1_000);
    sb.clear_faults();
    assert_eq!(call(&sb, "GET", path, None).status, 400);
    assert_eq!(sb.requests_seen().report, 9);
    assert_eq!(sb.requests_seen().get(Route::Create), 1);

    // Over HTTP.
    let a = call(
        &sb,
        "POST",
        "/__sandbox/faults",
        Some(&json!({"route": "report", "kind": "status", "status": 503, "times": 1})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(call(&sb, "GET", path, None).status, 503);
    assert_eq!(call(&sb, "GET", path, None).status, 400);
    let a = call(
        &sb,
        "POST",
        "/__sandbox/faults",
        Some(&json!({"route": "report", "kind": "html_bad_gateway", "times": "always"})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(call(&sb, "GET", path, None).status, 502);
    assert_eq!(call(&sb, "DELETE", "/__sandbox/faults", None).status, 200);
    assert_eq!(call(&sb, "GET", path, None).status, 400);
    let a = call(
        &sb,
        "POST",
        "/__sandbox/faults",
        Some(&json!({"route": "nowhere", "kind": "status", "status": 503})),
    );
    assert_eq!(a.status, 400);
    let counts = call(&sb, "GET", "/__sandbox/requests", None).json();
    assert_eq!(counts["report"], 13);
}

/// A verify held in a delay does not hold up a create: the create is answered while the
/// verify still waits. Ordering, not timing, is asserted; the delay only has to outlast a
/// create on a loaded machine, by far.
#[test]
fn a_delayed_request_does_not_block_others() {
    const DELAY: Duration = Duration::from_secs(5);
    let sb = start();
    let (_, ref_id) = approved(&sb, 1_000);
    sb.inject(Route::Verify, Fault::Delay(DELAY), Times::Once);
    let (tx, rx) = mpsc::channel();
    thread::scope(|s| {
        s.spawn(|| {
            let a = verify(&sb, &ref_id, 1_000);
            tx.send(()).unwrap();
            assert_eq!(a.status, 200);
        });
        wait_for(
            "the verify reached the sandbox",
            Duration::from_secs(20),
            || sb.requests_seen().verify > 0,
        );
        create(&sb, 1_000);
        assert!(
            rx.try_recv().is_err(),
            "the create waited for the delayed verify"
        );
        // The verify is answered after its delay, within a generous bound.
        rx.recv_timeout(DELAY + Duration::from_secs(20))
            .expect("the delayed verify is answered");
    });
}

#[test]
fn keep_alive_calls_share_one_connection() {
    let sb = start();
    let ag = agent();
    let url = format!("{}/v1/report/nosuchcode", sb.base_url());
    for _ in 0..1000 {
        let a = try_call(&ag, "GET", &url, Some(sb.token()), None).unwrap();
        assert_eq!(a.status, 400);
    }
    assert_eq!(sb.connections_accepted(), 1);
    let c = try_call(
        &ag,
        "GET",
        &format!("{}/__sandbox/connections", sb.base_url()),
        None,
        None,
    )
    .unwrap();
    assert_eq!(c.json()["accepted"], 1);
    // A fresh agent is a new connection.
    try_call(&agent(), "GET", &url, Some(sb.token()), None).unwrap();
    assert_eq!(sb.connections_accepted(), 2);
}

#[test]
fn eight_threads_create_concurrently() {
    let sb = start();
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let ag = agent();
                let url = format!("{}/v2/pay", sb.base_url());
                let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"});
                for _ in 0..20 {
                    let a = try_call(&ag, "POST", &url, Some(sb.token()), Some(&body)).unwrap();
                    assert_eq!(a.status, 200, "{}", a.body);
                }
            });
        }
    });
    let payments = sb.payments();
    assert_eq!(payments.len(), 160);
    let mut codes: Vec<_> = payments.iter().map(|p| p.code.clone()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 160);
}

/// Reads the head of one answer on a keep-alive connection: up to the blank line ending
/// the headers, failing after `timeout`. The connection stays open.
fn read_answer_head(s: &mut TcpStream, timeout: Duration) -> std::io::Result<String> {
    s.set_read_timeout(Some(timeout))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// A burst of new keep-alive connections, each sending its first request at once, must all
/// be answered while the others stay open: a server that serves connections from a fixed
/// pool of threads, or loses a wake-up in a burst, leaves some unanswered until another
/// connection closes. Several rounds, each on a fresh sandbox.
#[test]
fn a_burst_of_keep_alive_connections_is_all_served() {
    const CONNECTIONS: usize = 12;
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        let sb = start();
        let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"}).to_string();
        let request = format!(
            "POST /v2/pay HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            sb.token(),
            body.len()
        );
        // Connected back to back from one thread: the tightest burst. Every connection stays
        // open (as a client's pool keeps it) until all have been answered or timed out.
        let mut conns: Vec<TcpStream> = (0..CONNECTIONS)
            .map(|_| TcpStream::connect(sb.local_addr()).unwrap())
            .collect();
        for c in &mut conns {
            c.write_all(request.as_bytes()).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let heads: Vec<_> = conns
            .iter_mut()
            .map(|c| {
                let left = deadline.saturating_duration_since(Instant::now());
                read_answer_head(c, left.max(Duration::from_millis(1)))
            })
            .collect();
        let unanswered = heads.iter().filter(|h| h.is_err()).count();
        assert_eq!(
            unanswered, 0,
            "round {round}: {unanswered} of {CONNECTIONS} unanswered"
        );
        for head in heads {
            let head = head.unwrap();
            assert!(head.starts_with("HTTP/1.1 200"), "round {round}: {head:?}");
        }
        // Each connection is counted once, and nothing but the requests as requests.
        let seen = sb.requests_seen();
        let n = CONNECTIONS as u64;
        assert_eq!(
            (
                seen.create,
                seen.verify,
                seen.cancel,
                seen.report,
                seen.gateway
            ),
            (n, 0, 0, 0, 0)
        );
        assert_eq!(sb.connections_accepted(), n);
    }
}

#[test]
fn control_endpoints_list_and_act() {
    let sb = start();
    let code = create(&sb, 4_000);
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/approve"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["returnUrl"], "http://127.0.0.1:9/back");
    assert_eq!(v["fields"][0], json!(["code", code]));
    assert_eq!(v["delivery"], Value::Null);
    let list = call(&sb, "GET", "/__sandbox/payments", None).json();
    assert_eq!(list[0]["state"], "paid");
    assert_eq!(list[0]["refId"], v["fields"][1][1]);
    let code2 = create(&sb, 4_000);
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code2}/fail?code=12"),
        None,
    );
    assert_eq!(a.status, 200);
    let one = call(&sb, "GET", &format!("/__sandbox/payments/{code2}"), None).json();
    assert_eq!(
        (one["state"].as_str(), one["failureCode"].as_u64()),
        (Some("failed"), Some(12))
    );
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code2}/approve"),
        None,
    );
    assert_eq!(a.status, 409);
    let a = call(&sb, "POST", "/__sandbox/payments/nope/approve", None);
    assert_eq!(a.status, 404);
    let a = call(&sb, "GET", "/__sandbox/clock", None);
    assert!(a.json()["now"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn drop_is_prompt_with_open_connections() {
    let sb = start();
    let (_, ref_id) = approved(&sb, 1_000);
    // An idle keep-alive connection, and a request stuck in a long delay.
    let ag = agent();
    try_call(
        &ag,
        "GET",
        &format!("{}/v1/report/x", sb.base_url()),
        Some(sb.token()),
        None,
    )
    .unwrap();
    sb.inject(
        Route::Verify,
        Fault::Delay(Duration::from_secs(60)),
        Times::Once,
    );
    let mut s = TcpStream::connect(sb.local_addr()).unwrap();
    s.write_all(raw_verify(&sb, &ref_id, 1_000).as_bytes())
        .unwrap();
    wait_for(
        "the verify reached the sandbox",
        Duration::from_secs(20),
        || sb.requests_seen().verify > 0,
    );
    // Dropping must not wait out the 60 s delay: a generous bound, well under it.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        drop(sb);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("dropping the sandbox waited for the delayed request");
}

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

#[test]
fn binary_prints_the_listening_line() {
    let mut child = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
            .args(["--listen", "127.0.0.1:0", "--token", "bin-token"])
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
