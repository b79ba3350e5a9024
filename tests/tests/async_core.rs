//! ghesta-core under an async stack: every exchange of the checkout sent by hyper's client
//! on tokio (`examples/async_checkout/shop.rs`), against the sandbox on 127.0.0.1. No
//! ghesta-blocking, and nothing blocking on the runtime: the sandbox starts before it (it
//! runs its own) and the buyer is played over HTTP through its control endpoints.
//!
//! Each scenario is one function of the gateway, so PayPing v3 is one more call with
//! `Gateway::PayPingV3` once the sandbox speaks v3. Each is bounded by [`BOUND`]; nothing
//! waits on a timer except the retry loop's own backoff.

#[allow(dead_code)] // the example's buyer; not every helper is used here
#[path = "../examples/async_checkout/buyer.rs"]
mod buyer;
#[allow(dead_code)]
#[path = "../examples/async_checkout/settle.rs"]
mod settle;
#[allow(dead_code)]
#[path = "../examples/async_checkout/shop.rs"]
mod shop;

use std::future::Future;
use std::time::{Duration, SystemTime};

use ghesta_core::http::{StatusCode, header};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, CompletedCallback, Config, Gateway, Mobile, NewPayment,
    PayPingCode, Pending, RetryPolicy, ReturnUrl, Token, Verdict, VerifyOutcome,
};
use ghesta_sandbox::{Fault, Options, PaymentState, Route, Sandbox, Times};

use buyer::Choice;
use shop::{SendError, ShopError};

/// The most any scenario may take; a hang fails the test instead of stalling the suite.
const BOUND: Duration = Duration::from_secs(60);

/// The first wait of [`quick`].
const FIRST_WAIT: Duration = Duration::from_millis(10);

/// The core's rules with quick waits: the default waits are for production.
fn quick() -> RetryPolicy {
    RetryPolicy::default().with_backoff(FIRST_WAIT, Duration::from_millis(50))
}

/// Starts the sandbox (outside any runtime: it owns its own), then runs `scenario` on a
/// fresh current-thread tokio runtime, bounded by [`BOUND`].
fn on_tokio<F, Fut>(scenario: F)
where
    F: FnOnce(Sandbox) -> Fut,
    Fut: Future<Output = ()>,
{
    let sandbox = Sandbox::start(Options::default()).expect("sandbox starts");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(BOUND, scenario(sandbox))
            .await
            .expect("the scenario ends within its bound");
    });
}

fn config(sb: &Sandbox, gateway: Gateway) -> Config {
    Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
        .with_gateway(gateway)
}

fn order(id: &str) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("http://127.0.0.1:9/ghesta/callback").unwrap(),
        ClientRefId::new(id).unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

fn state(sb: &Sandbox, pending: &Pending) -> PaymentState {
    sb.payment(pending.code().as_str()).expect("known").state
}

/// Create, redirect (the page it names is served), and the buyer's choice: the record and
/// the callback the shop reads.
async fn created_and_chosen(
    sb: &Sandbox,
    config: &Config,
    id: &str,
    choice: Choice,
) -> (Pending, Callback) {
    let pending = shop::create(config, order(id), &quick())
        .await
        .expect("create");
    let redirect = shop::redirect(&pending);
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    let location = redirect.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(location, pending.redirect_url().as_str());
    assert_eq!(buyer::open(location).await.expect("page"), StatusCode::OK);
    let form = buyer::choose(sb.base_url(), pending.code().as_str(), choice)
        .await
        .expect("the buyer chooses");
    (pending, shop::callback(&form).expect("callback parses"))
}

async fn approved(sb: &Sandbox, config: &Config, id: &str) -> (Pending, CompletedCallback) {
    match created_and_chosen(sb, config, id, Choice::Approve).await {
        (pending, Callback::Completed(callback)) => (pending, callback),
        (_, other) => panic!("approved came back {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The scenarios, each a function of the gateway.

/// The async loop over the core's settlement ships an order on PayPing's proof of its own
/// payment only. v2: a forged twin callback (order B's code with paid order A's refid, the
/// same price) ships nothing for B; a forged "cancelled" form for A releases nothing, and
/// the pass it starts finds A paid and ships it; A's genuine callback then ships it again
/// (already verified: the shop's conditional update ships once).
async fn settled_on_proof_only(sb: Sandbox) {
    let config = config(&sb, Gateway::Ghesta);
    let (a, a_callback) = approved(&sb, &config, "order-a").await;
    let b = shop::create(&config, order("order-b"), &quick())
        .await
        .expect("create b");
    let forged = format!(
        "code={}&refid={}&clientrefid=order-b",
        b.code(),
        a_callback.ref_id()
    );
    let forged = Callback::from_form(forged.as_bytes()).expect("form");
    let now = SystemTime::now();
    let verdict = settle::settle(&shop::Hyper, &config, &b, Some((&forged, now)), &quick())
        .await
        .expect("a well-formed callback of b");
    assert!(
        matches!(verdict, Verdict::Wait(_)),
        "b is unpaid: {verdict:?}"
    );
    let cancel = Callback::from_form(b"code=anything&refid=&clientrefid=order-a").expect("form");
    let verdict = settle::settle(&shop::Hyper, &config, &a, Some((&cancel, now)), &quick())
        .await
        .expect("a cancelled form is only a hint");
    assert!(
        matches!(verdict, Verdict::Ship(_)),
        "a is paid: {verdict:?}"
    );
    let genuine = Callback::Completed(a_callback);
    let verdict = settle::settle(&shop::Hyper, &config, &a, Some((&genuine, now)), &quick())
        .await
        .expect("a's own callback");
    assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
    assert_eq!(state(&sb, &b), PaymentState::Created);
}

/// Create, redirect, callback, verify, report: paid, and confirmed.
async fn approve(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) = approved(&sb, &config, "order-approve").await;
    let outcome = shop::verify(&config, &pending, &callback, SystemTime::now(), &quick())
        .await
        .expect("verify");
    let VerifyOutcome::Verified(paid) = outcome else {
        panic!("the first verify: {outcome:?}");
    };
    assert_eq!(paid.amount(), pending.amount());
    assert_eq!(state(&sb, &pending), PaymentState::Verified);
    let report = shop::report(&config, &pending, &quick())
        .await
        .expect("report");
    assert!(report.is_paid() && report.confirms(&pending));
}

/// The buyer cancels: no verify is sent; the shop withdraws the code, and the report says
/// unpaid.
async fn cancel(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) =
        created_and_chosen(&sb, &config, "order-cancel", Choice::Cancel).await;
    let Callback::Cancelled(cancelled) = callback else {
        panic!("a cancel came back {callback:?}");
    };
    assert_eq!(cancelled.code(), pending.code());
    let done = shop::cancel(&config, &pending, &quick()).await;
    match gateway.protocol() {
        // v2 withdraws a code at any time before payment.
        ghesta_core::Protocol::V2 => assert_eq!(done.expect("cancel").code(), pending.code()),
        // v3 refuses once the buyer reached the gateway (129): the code is spent anyway.
        _ => match done {
            Err(shop::ShopError::Core(e)) => {
                assert_eq!(e.code(), Some(ghesta_core::PayPingCode::V3AlreadyOnGateway));
            }
            other => panic!("v3 refuses a code that went to the gateway: {other:?}"),
        },
    }
    let report = shop::report(&config, &pending, &quick())
        .await
        .expect("report");
    assert!(!report.is_paid() && !report.confirms(&pending));
    assert_eq!(sb.requests_seen().get(Route::Verify), 0);
}

/// The verify answer is lost (the connection closes mid-answer, after PayPing verified): the
/// core's policy sends it again (a verify may be repeated), and the shop hears "already
/// verified", never a second payment.
async fn lost_verify_answer(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) = approved(&sb, &config, "order-lost").await;
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let outcome = shop::verify(&config, &pending, &callback, SystemTime::now(), &quick())
        .await
        .expect("verified on the second try");
    assert!(
        matches!(outcome, VerifyOutcome::AlreadyVerified(_)),
        "{outcome:?}"
    );
    assert_eq!(state(&sb, &pending), PaymentState::Verified);
    assert_eq!(sb.requests_seen().get(Route::Verify), 2);
}

/// A create whose answer is lost is not sent again: it may have made a payment, and a second
/// would be another.
async fn lost_create_answer(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    sb.inject(Route::Create, Fault::CloseMidAnswer, Times::Once);
    let lost = shop::create(&config, order("order-lost-create"), &quick()).await;
    assert!(
        matches!(lost, Err(ShopError::Send(SendError::Http(_)))),
        "a cut answer is a lost connection: {lost:?}"
    );
    assert_eq!(sb.requests_seen().get(Route::Create), 1, "one try only");
}

/// Two 503s: the loop asks the core's error (retryable), sleeps, and the third try verifies.
async fn unavailable_then_verified(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) = approved(&sb, &config, "order-503").await;
    sb.inject(Route::Verify, Fault::Status(503), Times::N(2));
    let outcome = shop::verify(&config, &pending, &callback, SystemTime::now(), &quick())
        .await
        .expect("verified on the third try");
    assert!(matches!(outcome, VerifyOutcome::Verified(_)), "{outcome:?}");
    assert_eq!(sb.requests_seen().get(Route::Verify), 3);
}

/// A 503 whose retry would end past the verify deadline is not retried: the core's error
/// comes back at once, and the payment is still there to verify.
async fn no_retry_past_the_deadline(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) = approved(&sb, &config, "order-deadline").await;
    sb.inject(Route::Verify, Fault::Status(503), Times::Always);
    // The callback "arrived" so long ago that its deadline is closer than the first wait.
    let received_at = SystemTime::now() - config.verify_window() + FIRST_WAIT / 2;
    let error = shop::verify(&config, &pending, &callback, received_at, &quick())
        .await
        .expect_err("503 throughout");
    assert!(
        matches!(&error, ShopError::Core(e) if e.is_retryable() && e.code().is_none()),
        "{error:?}"
    );
    assert_eq!(sb.requests_seen().get(Route::Verify), 1, "one try only");
    assert_eq!(state(&sb, &pending), PaymentState::Paid);
}

/// A refusal (code 15 is an outcome; a forged amount is 47) is not retryable: one try.
async fn refusals_are_not_retried(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let (pending, callback) = approved(&sb, &config, "order-refused").await;
    let tampered: Pending = {
        let mut record: serde_json::Value = serde_json::to_value(&pending).unwrap();
        record["amount"] = serde_json::json!({ "toman": 250_001 });
        serde_json::from_value(record).unwrap()
    };
    let error = shop::verify(&config, &tampered, &callback, SystemTime::now(), &quick())
        .await
        .expect_err("amount 47");
    assert!(
        matches!(&error, ShopError::Core(e) if e.code() == Some(PayPingCode::AmountMismatch) && !e.is_retryable()),
        "{error:?}"
    );
    assert_eq!(sb.requests_seen().get(Route::Verify), 1);
}

/// An answer over the transport's cap is refused at the cap, not read whole.
async fn oversized_answer(sb: Sandbox, gateway: Gateway) {
    let config = config(&sb, gateway);
    let pending = shop::create(&config, order("order-big"), &quick())
        .await
        .expect("create");
    sb.inject(
        Route::Report,
        Fault::OversizedBody(1024 * 1024),
        Times::Once,
    );
    let error = shop::report(&config, &pending, &quick())
        .await
        .expect_err("over the cap");
    assert!(
        matches!(error, ShopError::Send(SendError::TooLarge)),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------
// PayPing v2 (Ghesta's installment gateway). v3: the same calls with Gateway::PayPingV3.

#[test]
fn v2_approve() {
    on_tokio(|sb| approve(sb, Gateway::Ghesta));
}

#[test]
fn v2_cancel() {
    on_tokio(|sb| cancel(sb, Gateway::Ghesta));
}

#[test]
fn v2_lost_verify_answer_is_recovered_as_already_verified() {
    on_tokio(|sb| lost_verify_answer(sb, Gateway::Ghesta));
}

#[test]
fn v2_a_lost_create_answer_is_not_retried() {
    on_tokio(|sb| lost_create_answer(sb, Gateway::Ghesta));
}

#[test]
fn v2_503_is_retried_by_the_loop() {
    on_tokio(|sb| unavailable_then_verified(sb, Gateway::Ghesta));
}

#[test]
fn v2_no_retry_past_the_verify_deadline() {
    on_tokio(|sb| no_retry_past_the_deadline(sb, Gateway::Ghesta));
}

#[test]
fn v2_refusals_are_not_retried() {
    on_tokio(|sb| refusals_are_not_retried(sb, Gateway::Ghesta));
}

#[test]
fn v2_an_oversized_answer_is_refused_at_the_cap() {
    on_tokio(|sb| oversized_answer(sb, Gateway::Ghesta));
}

#[test]
fn v2_the_async_settlement_ships_on_proof_only() {
    on_tokio(settled_on_proof_only);
}

// The same scenarios on PayPing v3: the same code, another gateway.

#[test]
fn v3_approve() {
    on_tokio(|sb| approve(sb, Gateway::PayPingV3));
}

#[test]
fn v3_cancel() {
    on_tokio(|sb| cancel(sb, Gateway::PayPingV3));
}

#[test]
fn v3_lost_verify_answer_is_recovered_as_already_verified() {
    on_tokio(|sb| lost_verify_answer(sb, Gateway::PayPingV3));
}

#[test]
fn v3_a_lost_create_answer_is_not_retried() {
    on_tokio(|sb| lost_create_answer(sb, Gateway::PayPingV3));
}

#[test]
fn v3_503_is_retried_by_the_loop() {
    on_tokio(|sb| unavailable_then_verified(sb, Gateway::PayPingV3));
}

#[test]
fn v3_no_retry_past_the_verify_deadline() {
    on_tokio(|sb| no_retry_past_the_deadline(sb, Gateway::PayPingV3));
}
