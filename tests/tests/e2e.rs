//! End to end: the SDK (`ghesta-blocking` over `ghesta-core`) against the sandbox on
//! 127.0.0.1, through every outcome a shop meets: paid, cancelled, failed, verified twice,
//! forged, tampered, too late, cancelled by the shop; every network fault; the retries; and
//! one client shared by many threads.
//!
//! Faults are asserted by the error's variant, never by elapsed time: the short timeouts
//! only keep the suite quick. Amounts are checked against what the sandbox holds and what
//! its answers said on the wire, never against the SDK's own result (which carries the
//! amount the shop stored).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ghesta_blocking::{
    Client, ClientBuilder, Error, HttpSettings, RetryPolicy, Transport, TransportError,
    UreqTransport,
};
use ghesta_core::{
    Amount, BaseUrl, Callback, CancelledCallback, ClientRefId, CompletedCallback, Config, Field,
    HttpRequest, HttpResponse, Mobile, NewPayment, PayPingCode, Pending, ReturnUrl, Token,
    VerifyOutcome,
};
use ghesta_sandbox::{CallbackForm, Fault, Options, PaymentState, Route, Sandbox, Times};
use serde_json::Value;

const TOMAN: u32 = 250_000;

/// Never delivered to: the tests play the buyer through the sandbox's own API.
const RETURN_URL: &str = "http://127.0.0.1:9/ghesta/callback";

/// The client's whole-call timeout where a delayed answer must time out. Only those tests
/// use it, so a loaded machine cannot turn an expected answer into a timeout.
const SHORT_TIMEOUT: Duration = Duration::from_millis(500);

fn start() -> Sandbox {
    Sandbox::start(Options::default()).expect("sandbox starts")
}

fn config(sb: &Sandbox) -> Config {
    Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
}

/// A client with quick retries (the default waits are for production).
fn builder(sb: &Sandbox) -> ClientBuilder {
    Client::builder(config(sb))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
}

fn client(sb: &Sandbox) -> Client {
    builder(sb).build()
}

/// A client that tries once: for asserting what each fault becomes.
fn one_shot(sb: &Sandbox) -> Client {
    builder(sb).retry_policy(RetryPolicy::never()).build()
}

/// A client that tries once and waits only [`SHORT_TIMEOUT`]: for delayed answers.
fn impatient(sb: &Sandbox) -> Client {
    builder(sb)
        .timeout(SHORT_TIMEOUT)
        .retry_policy(RetryPolicy::never())
        .build()
}

fn payment(order: &str) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(TOMAN.into()).unwrap(),
        ReturnUrl::new(RETURN_URL).unwrap(),
        ClientRefId::new(order).unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

/// The verify answers a client received, as serde_json reads them from the wire: the oracle
/// a verified amount is checked against (never the SDK's own `Verified`, which holds the
/// amount the shop stored).
#[derive(Clone, Default)]
struct VerifyAnswers(Arc<Mutex<Vec<Value>>>);

impl VerifyAnswers {
    fn bodies(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

/// A client whose transport records each 200 verify answer after passing its body through
/// `rewrite` (a proxy between the shop and PayPing that changes what PayPing said).
fn client_recording(sb: &Sandbox, answers: &VerifyAnswers, rewrite: fn(&mut Value)) -> Client {
    let ureq = UreqTransport::new(&HttpSettings::default().with_timeout(Duration::from_secs(10)));
    let answers = answers.clone();
    let transport = move |request: HttpRequest| -> Result<HttpResponse, TransportError> {
        let verify = request.uri().path() == "/v2/pay/verify";
        let mut response = ureq.send(request)?;
        if verify && response.status() == 200 {
            let mut body: Value =
                serde_json::from_slice(response.body()).expect("the sandbox answers JSON");
            rewrite(&mut body);
            *response.body_mut() = serde_json::to_vec(&body).unwrap();
            answers.0.lock().unwrap().push(body);
        }
        Ok(response)
    };
    builder(sb).transport(transport).build()
}

fn create(client: &Client, order: &str) -> Pending {
    client.create(payment(order)).expect("create")
}

/// The callback as the shop's server would parse it from the form the buyer's browser posts.
fn parse(form: &CallbackForm) -> Callback {
    assert_eq!(form.return_url, RETURN_URL);
    Callback::from_form(form.body.as_bytes()).expect("the sandbox's callback form parses")
}

fn completed(form: &CallbackForm) -> CompletedCallback {
    match parse(form) {
        Callback::Completed(c) => c,
        Callback::Cancelled(c) => panic!("expected a completed callback, got {c:?}"),
    }
}

fn cancelled(form: &CallbackForm) -> CancelledCallback {
    match parse(form) {
        Callback::Cancelled(c) => c,
        Callback::Completed(c) => panic!("expected a cancelled callback, got {c:?}"),
    }
}

/// A created and approved payment: the stored record and the callback.
fn approved(sb: &Sandbox, client: &Client, order: &str) -> (Pending, CompletedCallback) {
    let pending = create(client, order);
    let form = sb.approve(pending.code().as_str()).expect("buyer approves");
    (pending, completed(&form))
}

fn state(sb: &Sandbox, pending: &Pending) -> PaymentState {
    sb.payment(pending.code().as_str())
        .expect("known payment")
        .state
}

/// The PayPing code of a rejected call, or a panic naming what came instead.
fn rejected_code(result: Result<VerifyOutcome, Error>) -> PayPingCode {
    match result {
        Err(Error::Core(ghesta_core::Error::Rejected(rejection))) => {
            rejection.code().expect("a rejection with a code")
        }
        other => panic!("expected a PayPing rejection, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The flows a shop meets.

#[test]
fn approved_payment_is_verified_once() {
    let sb = start();
    let answers = VerifyAnswers::default();
    let client = client_recording(&sb, &answers, |_| {});
    let pending = create(&client, "order-1");
    assert_eq!(
        pending.redirect_url().as_str(),
        format!(
            "{}/installment/{}?type=ghesta",
            sb.base_url(),
            pending.code()
        )
    );
    assert!(
        pending.request_id().is_some(),
        "create keeps the request id"
    );
    assert_eq!(state(&sb, &pending), PaymentState::Created);

    let form = sb.approve(pending.code().as_str()).unwrap();
    let callback = completed(&form);
    assert_eq!(callback.code(), pending.code());
    assert_eq!(callback.client_ref_id(), Some(pending.client_ref_id()));

    let VerifyOutcome::Verified(paid) = client.verify(&pending, &callback).unwrap() else {
        panic!("expected Verified");
    };
    // Verified only because the answer named the amount the sandbox holds for the payment.
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(answers.bodies().len(), 1);
    assert_eq!(answers.bodies()[0]["amount"], snapshot.amount);
    assert_eq!(paid.ref_id(), callback.ref_id());
    assert_eq!(
        paid.card_number().map(|c| c.as_str()),
        form.get("cardnumber")
    );
    assert!(paid.request_id().is_some());
    assert_eq!(snapshot.state, PaymentState::Verified);
    assert_eq!(snapshot.verify_count, 1);
    assert_eq!(snapshot.client_ref_id.as_deref(), Some("order-1"));
    assert_eq!(snapshot.amount, TOMAN);
}

/// A proxy between the shop and PayPing (or a PayPing bug) answers verify with 200 for
/// another amount: the shop gets an amount mismatch naming the number on the wire, never a
/// verified payment, although the sandbox did verify.
#[test]
fn a_verify_answer_for_another_amount_is_never_verified() {
    let sb = start();
    let answers = VerifyAnswers::default();
    let client = client_recording(&sb, &answers, |body| {
        body["amount"] = Value::from(body["amount"].as_u64().unwrap() * 10);
    });
    let (pending, callback) = approved(&sb, &client, "order-x10");
    let result = client.verify(&pending, &callback);
    let answered = answers.bodies()[0]["amount"].as_u64().unwrap();
    match result {
        Err(Error::Core(ghesta_core::Error::AmountMismatch { received, .. })) => {
            assert_eq!(received, answered);
        }
        other => panic!("expected an amount mismatch, got {other:?}"),
    }
    assert_eq!(
        u64::from(sb.payment(pending.code().as_str()).unwrap().amount) * 10,
        answered
    );
    assert_eq!(
        answers.bodies().len(),
        1,
        "an amount mismatch is never retried"
    );
}

#[test]
fn cancelled_by_the_buyer_is_never_verified() {
    let sb = start();
    let client = client(&sb);
    let pending = create(&client, "order-2");
    let form = sb.cancel_as_buyer(pending.code().as_str()).unwrap();
    assert_eq!(form.get("refid"), Some(""));
    let callback = cancelled(&form);
    assert_eq!(callback.code(), pending.code());
    assert_eq!(callback.client_ref_id(), Some(pending.client_ref_id()));
    // A cancelled callback has no refId: the client's verify cannot even be called with it.
    assert_eq!(sb.requests_seen().verify, 0);
    assert_eq!(state(&sb, &pending), PaymentState::CancelledByBuyer);
    let report = client.report(pending.code()).unwrap();
    assert!(!report.is_paid());
    assert!(!report.confirms(&pending));
}

#[test]
fn failed_payment_verifies_to_its_failure_code() {
    let sb = start();
    let client = client(&sb);
    let pending = create(&client, "order-3");
    let form = sb.fail(pending.code().as_str(), 12).unwrap();
    let callback = completed(&form);
    let code = rejected_code(client.verify(&pending, &callback));
    assert_eq!(code, PayPingCode::from_number(12));
    assert_eq!(state(&sb, &pending), PaymentState::Failed { code: 12 });
    // Not retryable: the sandbox saw exactly one verify.
    assert_eq!(sb.requests_seen().verify, 1);
}

#[test]
fn second_verify_is_already_verified() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-4");
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    let VerifyOutcome::AlreadyVerified(earlier) = client.verify(&pending, &callback).unwrap()
    else {
        panic!("expected AlreadyVerified");
    };
    assert_eq!(earlier.ref_id(), callback.ref_id());
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(snapshot.verify_count, 2);
    assert_eq!(snapshot.state, PaymentState::Verified);
}

/// Re-encodes a callback form with one field changed, as a forger would post it.
fn forged(form: &CallbackForm, field: &str, value: &str) -> CompletedCallback {
    let fields: Vec<(&str, &str)> = form
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), if k == field { value } else { v.as_str() }))
        .collect();
    let body = serde_urlencoded::to_string(&fields).unwrap();
    match Callback::from_form(body.as_bytes()).unwrap() {
        Callback::Completed(c) => c,
        Callback::Cancelled(c) => panic!("forged form parsed as cancelled: {c:?}"),
    }
}

#[test]
fn forged_callbacks_are_refused_before_any_request() {
    let sb = start();
    let client = client(&sb);
    let pending = create(&client, "order-5");
    let other = create(&client, "order-6");
    let form = sb.approve(pending.code().as_str()).unwrap();

    // Another payment's code with this order's refId, and this payment with another order.
    for (field, value, expected) in [
        ("code", other.code().as_str(), Field::PaymentCode),
        ("clientrefid", "order-6", Field::ClientRefId),
    ] {
        match client.verify(&pending, &forged(&form, field, value)) {
            Err(Error::Core(ghesta_core::Error::CallbackMismatch {
                field: got,
                expected: stored,
                received,
            })) => {
                assert_eq!(got, expected);
                assert_eq!(received, value);
                assert_ne!(stored, value);
            }
            other => panic!("expected CallbackMismatch for {field}, got {other:?}"),
        }
    }
    assert_eq!(sb.requests_seen().verify, 0, "nothing was sent");
    assert_eq!(state(&sb, &pending), PaymentState::Paid);
    // The genuine callback still verifies.
    assert!(matches!(
        client.verify(&pending, &completed(&form)).unwrap(),
        VerifyOutcome::Verified(_)
    ));
}

#[test]
fn tampered_stored_amount_is_amount_mismatch_47() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-7");
    // Someone lowered the amount in the shop's stored record.
    let mut stored: serde_json::Value = serde_json::to_value(&pending).unwrap();
    stored["amount"] = serde_json::json!({ "toman": 1_000 });
    let tampered: Pending = serde_json::from_value(stored).unwrap();
    assert_eq!(tampered.amount().toman(), 1_000);

    let code = rejected_code(client.verify(&tampered, &callback));
    assert_eq!(code, PayPingCode::AmountMismatch);
    assert_eq!(state(&sb, &pending), PaymentState::Paid, "nothing changed");
    // The true record still verifies within the window.
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
}

#[test]
fn verify_after_the_window_is_code_39_and_expired() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-8");
    sb.advance(Duration::from_secs(10 * 60 + 1));
    let code = rejected_code(client.verify(&pending, &callback));
    assert_eq!(code, PayPingCode::PaymentFailedRefunded);
    assert_eq!(code.number(), 39);
    assert_eq!(state(&sb, &pending), PaymentState::Expired);
    assert_eq!(sb.requests_seen().verify, 1, "39 is not retried");
}

#[test]
fn cancel_by_the_shop_then_verify_is_code_1() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-9");
    let cancelled = client.cancel(&pending).unwrap();
    assert_eq!(cancelled.code(), pending.code());
    assert_eq!(state(&sb, &pending), PaymentState::CancelledByShop);
    let code = rejected_code(client.verify(&pending, &callback));
    assert_eq!(code, PayPingCode::CancelledByBuyer);
    assert_eq!(code.number(), 1);
}

#[test]
fn report_confirms_only_after_verify() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-10");
    let before = client.report(pending.code()).unwrap();
    assert!(!before.is_paid());
    assert!(!before.confirms(&pending));

    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    let after = client.report(pending.code()).unwrap();
    assert!(after.is_paid());
    assert!(after.confirms(&pending));
    assert_eq!(after.amount().map(|a| a.toman()), Some(TOMAN));
    assert_eq!(after.client_ref_id(), Some("order-10"));
    assert_eq!(after.invoice_no(), Some(callback.ref_id().as_str()));
    assert!(after.request_id().is_some());
    // Another payment's record is not confirmed by this report.
    let other = create(&client, "order-11");
    assert!(!after.confirms(&other));
}

#[test]
fn a_wrong_token_is_unauthorized_and_never_shown() {
    let sb = start();
    let secret = "not-the-sandbox-token-7f3a";
    let config = Config::new(Token::new(secret).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap());
    let client = Client::builder(config)
        .retry_policy(RetryPolicy::never())
        .build();
    let err = client.create(payment("order-12")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(ghesta_core::Error::Unauthorized { status, .. }) if status == 401
        ),
        "{err:?}"
    );
    for shown in [format!("{err}"), format!("{err:?}"), format!("{client:?}")] {
        assert!(!shown.contains(secret), "the token leaked: {shown}");
    }
}

// ---------------------------------------------------------------------------------------
// Every fault ends in its typed error, within the client's timeout.

/// Injects `fault` on every verify and runs one verify with a client that tries once
/// (with the short timeout for a delay, so the delay outlasts it).
fn verify_under(fault: Fault) -> (Sandbox, Error) {
    let sb = start();
    let (pending, callback) = approved(&sb, &client(&sb), "order-f");
    let verifier = if matches!(fault, Fault::Delay(_)) {
        impatient(&sb)
    } else {
        one_shot(&sb)
    };
    sb.inject(Route::Verify, fault, Times::Always);
    let err = verifier
        .verify(&pending, &callback)
        .expect_err("the fault makes verify fail");
    (sb, err)
}

#[test]
fn delay_past_the_timeout_is_a_timeout() {
    // The sandbox wakes delayed requests when it is dropped, so the delay can be long.
    // A client that ignored its timeout would still fail, after the delay: the verify must
    // end within a generous bound of SHORT_TIMEOUT (20 times), far below the delay.
    const BOUND: Duration = Duration::from_secs(10);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(verify_under(Fault::Delay(Duration::from_secs(30))));
    });
    let (_sb, err) = rx
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("verify outlived its {SHORT_TIMEOUT:?} timeout by {BOUND:?}"));
    assert!(
        matches!(err, Error::Transport(TransportError::Timeout { .. })),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn status_500_and_503_are_unavailable() {
    for status in [500, 503] {
        let (_sb, err) = verify_under(Fault::Status(status));
        match &err {
            Error::Core(ghesta_core::Error::Unavailable { status: got, .. }) => {
                assert_eq!(got.as_u16(), status);
            }
            other => panic!("expected Unavailable for {status}, got {other:?}"),
        }
        assert!(err.request_id().is_some(), "the sandbox sent a request id");
        assert!(err.is_retryable());
    }
}

#[test]
fn a_proxy_html_502_is_unavailable_with_its_page() {
    let (_sb, err) = verify_under(Fault::HtmlBadGateway);
    match &err {
        Error::Core(ghesta_core::Error::Unavailable {
            status,
            snippet,
            request_id,
            ..
        }) => {
            assert_eq!(status.as_u16(), 502);
            assert!(snippet.as_str().contains("502 Bad Gateway"), "{snippet:?}");
            assert!(request_id.is_none(), "the proxy sends no request id");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[test]
fn close_mid_answer_is_a_lost_connection() {
    let (sb, err) = verify_under(Fault::CloseMidAnswer);
    assert!(
        matches!(err, Error::Transport(TransportError::ConnectionLost { .. })),
        "{err:?}"
    );
    assert!(err.is_retryable());
    // The sandbox processed it: the payment is verified though the shop never heard.
    assert_eq!(sb.payments()[0].state, PaymentState::Verified);
}

#[test]
fn truncated_body_is_a_lost_connection() {
    let (_sb, err) = verify_under(Fault::TruncatedBody);
    assert!(
        matches!(err, Error::Transport(TransportError::ConnectionLost { .. })),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[test]
fn oversized_body_stops_at_the_64_kib_cap() {
    for bytes in [64 * 1024 + 1, 1024 * 1024] {
        let (_sb, err) = verify_under(Fault::OversizedBody(bytes));
        assert!(
            matches!(
                err,
                Error::Transport(TransportError::BodyTooLarge { limit: 65_536 })
            ),
            "{bytes} bytes: {err:?}"
        );
        assert!(!err.is_retryable());
    }
}

#[test]
fn a_body_at_the_cap_is_read() {
    // The sandbox pads the real answer to exactly this size: still valid, still verified.
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-cap");
    sb.inject(Route::Verify, Fault::OversizedBody(64 * 1024), Times::Once);
    assert!(matches!(
        one_shot(&sb).verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
}

#[test]
fn malformed_json_is_a_malformed_response() {
    let (_sb, err) = verify_under(Fault::MalformedJson);
    match &err {
        Error::Core(ghesta_core::Error::MalformedResponse { status, .. }) => {
            assert_eq!(status.as_u16(), 200);
        }
        other => panic!("expected MalformedResponse, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[test]
fn faults_on_create_report_and_cancel_are_typed_too() {
    let sb = start();
    let client = one_shot(&sb);
    sb.inject(Route::Create, Fault::HtmlBadGateway, Times::Once);
    let err = client.create(payment("order-c1")).unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502), "{err:?}");
    assert_eq!(sb.payments().len(), 0, "a proxy error creates nothing");

    let pending = create(&client, "order-c2");
    sb.inject(Route::Report, Fault::MalformedJson, Times::Once);
    let err = client.report(pending.code()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(ghesta_core::Error::MalformedResponse { .. })
        ),
        "{err:?}"
    );

    sb.inject(
        Route::Cancel,
        Fault::Delay(Duration::from_secs(30)),
        Times::Once,
    );
    let err = impatient(&sb).cancel(&pending).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Timeout { .. })),
        "{err:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Retries.

#[test]
fn verify_retries_a_503_and_succeeds() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-r1");
    sb.inject(Route::Verify, Fault::Status(503), Times::Once);
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    assert_eq!(sb.requests_seen().verify, 2);
    assert_eq!(sb.payment(pending.code().as_str()).unwrap().verify_count, 1);
}

#[test]
fn create_is_not_retried_by_default() {
    let sb = start();
    let client = client(&sb);
    sb.inject(Route::Create, Fault::Status(503), Times::Once);
    let err = client.create(payment("order-r2")).unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(sb.requests_seen().create, 1);
}

#[test]
fn a_lost_verify_answer_is_recovered_as_already_verified() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "order-r3");
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let VerifyOutcome::AlreadyVerified(earlier) = client.verify(&pending, &callback).unwrap()
    else {
        panic!("expected AlreadyVerified after the lost answer");
    };
    assert_eq!(earlier.ref_id(), callback.ref_id());
    let seen = sb.requests_seen();
    assert_eq!(seen.verify, 2);
    assert_eq!(seen.report, 0, "no confirmation asked for");
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(snapshot.state, PaymentState::Verified);
    assert_eq!(snapshot.verify_count, 2);
}

#[test]
fn a_lost_verify_answer_is_confirmed_by_the_report() {
    let sb = start();
    let client = builder(&sb).confirm_with_report(true).build();
    let (pending, callback) = approved(&sb, &client, "order-r4");
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::AlreadyVerified(_)
    ));
    let seen = sb.requests_seen();
    assert_eq!((seen.verify, seen.report), (2, 1));
}

#[test]
fn already_verified_that_the_report_contradicts_is_an_error() {
    // "Already verified" for a record whose amount the report does not show.
    let sb = start();
    let client = builder(&sb).confirm_with_report(true).build();
    let (pending, callback) = approved(&sb, &client, "order-r5");
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    let mut stored: serde_json::Value = serde_json::to_value(&pending).unwrap();
    stored["amount"] = serde_json::json!({ "toman": 1_000 });
    let tampered: Pending = serde_json::from_value(stored).unwrap();
    // The sandbox checks "already verified" before the amount, as its docs say.
    match client.verify(&tampered, &callback) {
        Err(Error::ReportContradicts {
            is_paid,
            reported_amount,
            expected_amount,
            ..
        }) => {
            assert!(is_paid);
            assert_eq!(reported_amount, Some(u64::from(TOMAN)));
            assert_eq!(expected_amount, 1_000);
        }
        other => panic!("expected ReportContradicts, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// One client, many threads.

/// Eight threads share one client (and its pool of keep-alive connections) for 50 payments
/// each. Their first calls open up to eight connections at once.
#[test]
fn eight_threads_share_one_client_for_400_payments() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let sb = start();
    let client = client(&sb);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (sb, client) = (&sb, client.clone());
            scope.spawn(move || {
                for i in 0..EACH {
                    let (pending, callback) = approved(sb, &client, &format!("order-{t}-{i}"));
                    match client.verify(&pending, &callback) {
                        Ok(VerifyOutcome::Verified(_)) => {}
                        other => panic!("thread {t} payment {i}: {other:?}"),
                    }
                }
            });
        }
    });
    let payments = sb.payments();
    assert_eq!(payments.len(), THREADS * EACH);
    for p in &payments {
        assert_eq!(p.state, PaymentState::Verified, "{p:?}");
        assert_eq!(p.amount, TOMAN, "{p:?}");
        assert_eq!(p.verify_count, 1, "{p:?}");
    }
    let mut orders: Vec<_> = payments.iter().map(|p| p.client_ref_id.clone()).collect();
    orders.sort();
    orders.dedup();
    assert_eq!(orders.len(), THREADS * EACH, "no payment lost or doubled");
    let seen = sb.requests_seen();
    assert_eq!((seen.create, seen.verify), (400, 400));
    let connections = sb.connections_accepted();
    println!("{connections} TCP connections for 800 requests from {THREADS} threads");
    // Keep-alive is shared across threads and the pool keeps up to 16 idle connections per
    // host, so each thread's calls reuse one of at most THREADS connections (with ureq's own
    // default of 3 idle connections, 8 threads opened 106..134).
    // The slack covers a pooled connection that ureq finds dead or idle past 15 s and
    // replaces, which a badly stalled machine could cause.
    assert!(
        connections <= THREADS as u64 + 2,
        "{connections} connections"
    );
}

/// 64 shops, each with a client of its own, open their connections at the same moment (a
/// barrier releases their first calls together), make 20 calls each over that keep-alive
/// connection (10 payments created and verified) and keep it open until every shop is done.
/// Every call is answered on the first try, on one connection a client. A sandbox that
/// served a fixed number of connections at a time, or lost one in a burst, leaves some
/// shops unanswered: they fail by their client's timeout.
#[test]
fn a_burst_of_64_keep_alive_clients_is_all_answered() {
    const CLIENTS: usize = 64;
    const PAYMENTS: usize = 10;
    let sb = start();
    let start_together = std::sync::Barrier::new(CLIENTS);
    let done_together = std::sync::Barrier::new(CLIENTS);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (sb, start_together, done_together) = (&sb, &start_together, &done_together);
                scope.spawn(move || {
                    // Built before the barrier, so the first calls leave together.
                    let client = one_shot(sb);
                    start_together.wait();
                    let result = (0..PAYMENTS).try_for_each(|i| {
                        let order = format!("burst-{c}-{i}");
                        let pending = client
                            .create(payment(&order))
                            .map_err(|e| format!("client {c} create {i}: {e}"))?;
                        let form = sb.approve(pending.code().as_str()).expect("buyer approves");
                        match client.verify(&pending, &completed(&form)) {
                            Ok(VerifyOutcome::Verified(_)) => Ok(()),
                            other => Err(format!("client {c} verify {i}: {other:?}")),
                        }
                    });
                    // The connection stays open (in the client's pool) until all are done,
                    // failed ones included, so no shop's exit frees room for another.
                    done_together.wait();
                    drop(client);
                    result
                })
            })
            .collect();
        threads
            .into_iter()
            .filter_map(|t| t.join().expect("client thread").err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );
    let seen = sb.requests_seen();
    let calls = (CLIENTS * PAYMENTS) as u64;
    assert_eq!((seen.create, seen.verify), (calls, calls));
    assert!(
        sb.payments()
            .iter()
            .all(|p| p.state == PaymentState::Verified && p.verify_count == 1)
    );
    assert_eq!(sb.connections_accepted(), CLIENTS as u64);
}
