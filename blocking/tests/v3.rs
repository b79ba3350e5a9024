//! The client on PayPing v3, over a scripted closure transport and a fake clock: one set of
//! methods for both protocols; "verification in progress" retried inside the verify window
//! and never past it; a refund retried only while PayPing says it is in progress.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Client, Error, TransportError};
use ghesta_core::{
    Callback, CompletedCallback, Config, CreatePayment, Exchange, Gateway, PayPingCode, Pending,
    RefId, RefundRefusal, VerifyOutcome,
};

fn v3_config() -> Config {
    config().with_gateway(Gateway::PayPingV3)
}

fn client_on(config: Config, script: &Script, clock: &FakeClock) -> Client {
    Client::builder(config)
        .transport(script.transport())
        .clock(clock.clone())
        .build()
}

fn v3_pending(reversible: bool) -> Pending {
    CreatePayment::new(
        &v3_config(),
        new_payment().with_reversible(reversible),
        FakeClock::start(),
    )
    .parse_response(answer(200, r#"{"paymentCode":"P1"}"#))
    .unwrap()
}

fn v3_callback() -> CompletedCallback {
    let data =
        r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-7","amount":250000}"#;
    let form =
        serde_urlencoded::to_string([("status", "1"), ("errorCode", ""), ("data", data)]).unwrap();
    match Callback::from_form(form.as_bytes()).unwrap() {
        Callback::Completed(c) => c,
        Callback::Cancelled(_) => unreachable!(),
    }
}

const V3_VERIFIED: &str = r#"{"amount":250000,"code":"P1","cardNumber":"603799******1234"}"#;

#[test]
fn create_verify_cancel_on_v3_through_the_same_methods() {
    let script = Script::new([
        Ok(answer(200, r#"{"paymentCode":"P1","amount":250000}"#)),
        Ok(answer(200, V3_VERIFIED)),
        Ok(answer(204, "")),
    ]);
    let client = client_on(v3_config(), &script, &FakeClock::default());
    let pending = client.create(new_payment()).unwrap();
    assert_eq!(pending.gateway(), Gateway::PayPingV3);
    let outcome = client.verify(&pending, &v3_callback()).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(v) if v.card_number().is_some()));
    client.cancel(&pending).unwrap();
    let methods_and_paths: Vec<_> = script
        .seen()
        .into_iter()
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(
        methods_and_paths,
        ["POST /v3/pay", "POST /v3/pay/verify", "DELETE /v3/pay"]
    );
}

#[test]
fn verify_in_progress_is_retried_inside_the_window_then_verified() {
    let script = Script::new([
        Ok(answer(202, "")),
        Ok(answer(502, "<html>bad gateway</html>")),
        Ok(answer(202, "")),
        Ok(answer(202, "")),
        Ok(answer(200, V3_VERIFIED)),
    ]);
    let clock = FakeClock::default();
    let client = client_on(v3_config(), &script, &clock);
    let outcome = client.verify(&v3_pending(false), &v3_callback()).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(_)));
    assert_eq!(
        script.seen().len(),
        5,
        "in progress is retried past the 4-attempt budget while the window is open"
    );
}

#[test]
fn verify_in_progress_until_the_window_closes_is_an_error_never_a_success() {
    // A 10 s window: waits of 0.25, 0.5, 1, 2, 4 s, then the last one cut to end at the
    // deadline, where the answer is final.
    let config = v3_config()
        .with_verify_window(Duration::from_secs(10))
        .unwrap();
    let script = Script::new((0..50).map(|_| Ok(answer(202, ""))));
    let clock = FakeClock::default();
    let client = client_on(config, &script, &clock);
    let err = client
        .verify(&v3_pending(false), &v3_callback())
        .unwrap_err();
    assert!(
        matches!(
            err.as_core(),
            Some(ghesta_core::Error::VerifyInProgress { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        clock.sleeps(),
        [250, 500, 1000, 2000, 4000, 2250]
            .map(Duration::from_millis)
            .to_vec(),
        "the last wait ends at the window's end"
    );
    let waited: Duration = clock.sleeps().iter().sum();
    assert_eq!(waited, Duration::from_secs(10));
    assert_eq!(script.seen().len(), 7);
}

/// Issue 20: a 202 asking for longer than the policy's longest wait (4 s) ended verify at
/// once, though only a verify inside the window counts.
#[test]
fn verify_in_progress_is_retried_whatever_its_retry_after() {
    let asks_long = || {
        Ok(http::Response::builder()
            .status(202)
            .header("retry-after", "30")
            .body(Vec::new())
            .unwrap())
    };
    let script = Script::new([asks_long(), asks_long(), Ok(answer(200, V3_VERIFIED))]);
    let clock = FakeClock::default();
    let client = client_on(v3_config(), &script, &clock);
    let outcome = client.verify(&v3_pending(false), &v3_callback()).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(_)), "{outcome:?}");
    assert_eq!(
        clock.sleeps(),
        [Duration::from_secs(30), Duration::from_secs(30)],
        "PayPing's wait, honoured"
    );
}

#[test]
fn verify_in_progress_without_a_deadline_keeps_the_attempt_budget() {
    let script = Script::new((0..10).map(|_| Ok(answer(202, ""))));
    let client = client_on(v3_config(), &script, &FakeClock::default());
    let pending = v3_pending(false);
    let verify =
        ghesta_core::VerifyPayment::new(client.config(), &pending, &v3_callback()).unwrap();
    client.execute(&verify).unwrap_err();
    assert_eq!(script.seen().len(), 4, "no deadline, no endless loop");
}

#[test]
fn a_refund_is_retried_only_while_payping_says_it_is_in_progress() {
    let in_progress = r#"{"metaData":{"code":156,"errors":[{"message":"در حال انجام"}]}}"#;
    let script = Script::new([Ok(answer(400, in_progress)), Ok(answer(200, ""))]);
    let clock = FakeClock::default();
    let client = client_on(v3_config(), &script, &clock);
    let ref_id = RefId::new("7781").unwrap();
    client
        .refund(&v3_pending(true), &ref_id, FakeClock::start())
        .unwrap();
    assert_eq!(script.paths(), ["/v3/pay/reverse", "/v3/pay/reverse"]);

    // A lost answer may have refunded already: not retried.
    let script = Script::new([Err(TransportError::connection_lost("reset"))]);
    let client = client_on(v3_config(), &script, &clock);
    let err = client
        .refund(&v3_pending(true), &ref_id, FakeClock::start())
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)));
    assert_eq!(script.seen().len(), 1);

    // Nor is PayPing's "not reversible".
    let script = Script::new([Ok(answer(400, r#"{"metaData":{"code":134}}"#))]);
    let client = client_on(v3_config(), &script, &clock);
    let err = client
        .refund(&v3_pending(true), &ref_id, FakeClock::start())
        .unwrap_err();
    assert_eq!(err.code(), Some(PayPingCode::V3NotReversible));
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn refunds_that_cannot_succeed_send_nothing() {
    let script = Script::new([]);
    let clock = FakeClock::default();
    let client = client_on(v3_config(), &script, &clock);
    let ref_id = RefId::new("7781").unwrap();
    let long_ago = FakeClock::start() - Duration::from_secs(31 * 60);
    for (pending, verified_at, why) in [
        (
            v3_pending(false),
            FakeClock::start(),
            RefundRefusal::NotReversible,
        ),
        (v3_pending(true), long_ago, RefundRefusal::WindowPassed),
        (pending(&config()), FakeClock::start(), RefundRefusal::NotV3),
    ] {
        let err = client.refund(&pending, &ref_id, verified_at).unwrap_err();
        assert!(
            matches!(err, Error::Core(ghesta_core::Error::RefundRefused(got)) if got == why),
            "{err:?}"
        );
        assert!(!err.is_retryable());
    }
    assert!(script.seen().is_empty());
}

#[test]
fn a_v2_record_is_verified_on_v2_by_a_client_switched_to_v3() {
    let script = Script::new([Ok(answer(200, VERIFIED))]);
    let client = client_on(v3_config(), &script, &FakeClock::default());
    let outcome = client.verify(&pending(&config()), &callback()).unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(_)));
    assert_eq!(script.paths(), ["/v2/pay/verify"]);
}
