//! Fault injection: each fault, its counts, and what it leaves of the state.

use super::*;

/// Sends one raw HTTP/1.1 request and reads until EOF (failing on a hang).
pub(crate) fn raw_exchange(sb: &Sandbox, request: &str) -> Vec<u8> {
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

pub(crate) fn raw_verify(sb: &Sandbox, ref_id: &str, amount: u32) -> String {
    let body = json!({"refId": ref_id, "amount": amount}).to_string();
    format!(
        "POST /v2/pay/verify HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        sb.token(),
        body.len()
    )
}

pub(crate) fn approved(sb: &Sandbox, amount: u32) -> (String, String) {
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
