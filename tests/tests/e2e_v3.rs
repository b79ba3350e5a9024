//! End to end on PayPing v3: the SDK (`ghesta-blocking` over `ghesta-core`, configured with
//! `Gateway::PayPingV3`) against the sandbox's v3 face on 127.0.0.1, through what a shop
//! meets: paid, cancelled, failed, a lost answer, "verification in progress", a forged
//! callback, refunds, deletes, the move from v2, and one client shared by many threads.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Client, Error, RetryPolicy};
use ghesta_core::{
    Callback, CompletedCallback, Field, Gateway, PayPingCode, Pending, Protocol, RefundRefusal,
    VerifyOutcome,
};
use ghesta_sandbox::{ApiVersion, CallbackForm, Fault, PaymentState, Route, Sandbox, Times};

const V3: Gateway = Gateway::PayPingV3;

/// The `data` member of a v3 callback form, as JSON.
fn data(form: &CallbackForm) -> serde_json::Value {
    serde_json::from_str(form.get("data").expect("a data field")).expect("data is JSON")
}

#[test]
fn approved_payment_is_verified_with_the_full_record() {
    let sb = start();
    let client = client(&sb, V3);
    let pending = create(&client, "v3-order-1");
    assert_eq!(pending.protocol(), Protocol::V3);
    let code = pending.code().as_str();
    // PayPing's v3 codes: 26 characters of Crockford base32, upper case.
    assert_eq!(code.len(), 26, "{code}");
    assert!(
        code.bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
        "{code}"
    );
    assert_eq!(
        pending.redirect_url().as_str(),
        format!("{}/v3/pay/start/{code}", sb.base_url())
    );
    let fees = pending.fees().expect("v3 create answers the fees");
    assert_eq!(fees.gateway_amount(), Some(u64::from(TOMAN)));
    assert_eq!(fees.business_wage(), Some(u64::from(TOMAN / 100)));
    let snapshot = sb.payment(code).unwrap();
    assert_eq!(snapshot.version, ApiVersion::V3);
    assert_eq!(snapshot.state, PaymentState::Created);

    assert_eq!(
        open_gateway(&pending),
        200,
        "the start page serves the buttons"
    );
    let form = sb.approve(code).unwrap();
    assert_eq!(form.get("status"), Some("1"));
    assert_eq!(form.get("errorCode"), Some(""));
    assert!(data(&form)["paymentRefId"].is_u64(), "an integer, not text");
    let callback = completed(&form);
    assert_eq!(callback.protocol(), Protocol::V3);
    assert_eq!(callback.amount(), Some(u64::from(TOMAN)));

    let VerifyOutcome::Verified(paid) = client.verify(&pending, &callback).unwrap() else {
        panic!("expected Verified");
    };
    assert_eq!(paid.code(), pending.code());
    assert_eq!(paid.ref_id(), callback.ref_id());
    assert_eq!(paid.amount().toman(), TOMAN);
    assert_eq!(paid.card_number(), callback.card_number());
    assert_eq!(paid.card_hash(), callback.card_hash());
    assert!(paid.paid_at().is_some(), "v3 answers payedDate");
    assert!(paid.request_id().is_some());
    let snapshot = sb.payment(code).unwrap();
    assert_eq!(snapshot.state, PaymentState::Verified);
    assert_eq!(snapshot.verify_count, 1);
}

#[test]
fn cancelled_by_the_buyer_is_status_0_without_a_code() {
    let sb = start();
    let client = client(&sb, V3);
    let pending = create(&client, "v3-order-2");
    let form = sb.cancel_as_buyer(pending.code().as_str()).unwrap();
    assert_eq!(form.get("status"), Some("0"));
    assert_eq!(data(&form).get("paymentRefId"), None);
    let callback = cancelled(&form);
    assert_eq!(callback.code(), pending.code());
    assert_eq!(callback.client_ref_id(), Some(pending.client_ref_id()));
    assert_eq!(callback.error_code(), None);
    assert_eq!(sb.requests_seen().verify, 0, "nothing to verify");
    assert_eq!(state(&sb, &pending), PaymentState::CancelledByBuyer);
}

#[test]
fn a_failure_carries_its_error_code() {
    let sb = start();
    let client = client(&sb, V3);
    let pending = create(&client, "v3-order-3");
    let form = sb.fail(pending.code().as_str(), 127).unwrap();
    assert_eq!(form.get("status"), Some("0"));
    assert_eq!(form.get("errorCode"), Some("127"));
    let callback = cancelled(&form);
    assert_eq!(callback.error_code(), Some(PayPingCode::from_number(127)));
    assert_eq!(state(&sb, &pending), PaymentState::Failed { code: 127 });
    let report = client.report(pending.code()).unwrap();
    assert_eq!(report.status(), Some(ghesta_core::PaymentStatus::Cancelled));
    assert!(!report.is_paid());
}

#[test]
fn a_lost_verify_answer_is_already_verified_with_the_earlier_result() {
    let sb = start();
    let client = client(&sb, V3);
    let (pending, callback) = approved(&sb, &client, "v3-order-4");
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let VerifyOutcome::AlreadyVerified(earlier) = client.verify(&pending, &callback).unwrap()
    else {
        panic!("expected AlreadyVerified after the lost answer");
    };
    // The 409's metaData.message is the first verify's record.
    assert_eq!(earlier.code(), pending.code());
    assert_eq!(earlier.amount().toman(), TOMAN);
    assert_eq!(earlier.card_number(), callback.card_number());
    assert_eq!(earlier.card_hash(), callback.card_hash());
    assert!(earlier.paid_at().is_some());
    assert!(earlier.request_id().is_some(), "the 409's paypingTraceId");
    assert_eq!(sb.requests_seen().verify, 2);
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(
        (snapshot.state, snapshot.verify_count),
        (PaymentState::Verified, 2)
    );
}

#[test]
fn in_progress_twice_then_verified_inside_the_window() {
    for status in [202, 502] {
        let sb = start();
        let client = client(&sb, V3);
        let (pending, callback) = approved(&sb, &client, "v3-order-5");
        sb.inject(Route::Verify, Fault::InProgress { status }, Times::N(2));
        assert!(
            matches!(
                client.verify(&pending, &callback).unwrap(),
                VerifyOutcome::Verified(_)
            ),
            "{status}"
        );
        assert_eq!(sb.requests_seen().verify, 3, "{status}");
        // The two answers in progress were not processed: one verify reached the payment.
        assert_eq!(sb.payment(pending.code().as_str()).unwrap().verify_count, 1);
    }
}

#[test]
fn in_progress_until_the_window_closes_is_a_typed_error_and_no_success() {
    let sb = start();
    let clock = SharedClock::of(&sb);
    // Waits of 30 s to 60 s on a clock that moves the sandbox's: ten minutes in a few calls.
    let client = builder(&sb, V3)
        .clock(clock)
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_secs(30), Duration::from_secs(60)),
        )
        .build();
    let (pending, callback) = approved(&sb, &client, "v3-order-6");
    sb.inject(
        Route::Verify,
        Fault::InProgress { status: 202 },
        Times::Always,
    );
    let err = client.verify(&pending, &callback).unwrap_err();
    match &err {
        Error::Core(ghesta_core::Error::VerifyInProgress { status, .. }) => {
            assert_eq!(status.as_u16(), 202);
        }
        other => panic!("expected VerifyInProgress, got {other:?}"),
    }
    let tries = sb.requests_seen().verify;
    assert!(
        tries > 4,
        "retried past max_attempts while the window was open: {tries}"
    );
    assert!(tries < 25, "stopped at the window: {tries}");
    assert_eq!(state(&sb, &pending), PaymentState::Paid, "never verified");
    // The client gave up at its deadline, its last wait cut to end there; a minute later
    // PayPing answers again and the window is over: refused, and the payment voided.
    sb.advance(Duration::from_secs(60));
    sb.clear_faults();
    let code = rejected_code(one_shot(&sb, V3).verify(&pending, &callback));
    assert_eq!(code.number(), 131);
    assert_eq!(state(&sb, &pending), PaymentState::Expired);
}

/// The form with one member of `data` replaced, as a forger would post it.
fn forged(form: &CallbackForm, key: &str, value: serde_json::Value) -> CompletedCallback {
    let mut data = data(form);
    data[key] = value;
    let body = serde_urlencoded::to_string([
        ("status", "1"),
        ("errorCode", ""),
        ("data", &data.to_string()),
    ])
    .unwrap();
    match Callback::from_form(body.as_bytes()).unwrap() {
        Callback::Completed(c) => c,
        Callback::Cancelled(c) => panic!("forged form parsed as cancelled: {c:?}"),
    }
}

#[test]
fn a_callback_with_another_amount_or_code_is_refused_before_verify() {
    let sb = start();
    let client = client(&sb, V3);
    let pending = create(&client, "v3-order-7");
    let other = create(&client, "v3-order-8");
    let form = sb.approve(pending.code().as_str()).unwrap();
    for (key, value, field) in [
        ("amount", serde_json::json!(1_000), Field::Amount),
        (
            "paymentCode",
            serde_json::json!(other.code().as_str()),
            Field::PaymentCode,
        ),
    ] {
        match client.verify(&pending, &forged(&form, key, value.clone())) {
            Err(Error::Core(ghesta_core::Error::CallbackMismatch { field: got, .. })) => {
                assert_eq!(got, field)
            }
            other => panic!("expected CallbackMismatch on {field}, got {other:?}"),
        }
    }
    assert_eq!(sb.requests_seen().verify, 0, "nothing was sent");
    assert_eq!(state(&sb, &pending), PaymentState::Paid);
    assert!(matches!(
        client.verify(&pending, &completed(&form)).unwrap(),
        VerifyOutcome::Verified(_)
    ));
}

#[test]
fn a_wrong_amount_or_ref_reaching_the_sandbox_is_137_or_133() {
    // What the sandbox does when a client skips the checks: the stored record tampered.
    let sb = start();
    let client = one_shot(&sb, V3);
    let (pending, callback) = approved(&sb, &client, "v3-order-9");
    let mut stored = serde_json::to_value(&pending).unwrap();
    stored["amount"] = serde_json::json!({ "toman": 1_000 });
    let tampered: Pending = serde_json::from_value(stored).unwrap();
    let verify = ghesta_core::VerifyPayment::from_ref_id(
        client.config(),
        &tampered,
        callback.ref_id().clone(),
    )
    .unwrap();
    assert_eq!(rejected_code(client.execute(&verify)).number(), 137);
    let wrong_ref = ghesta_core::VerifyPayment::from_ref_id(
        client.config(),
        &pending,
        ghesta_core::RefId::new("123456789").unwrap(),
    )
    .unwrap();
    assert_eq!(rejected_code(client.execute(&wrong_ref)).number(), 133);
    assert_eq!(state(&sb, &pending), PaymentState::Paid, "nothing changed");
}

/// A reversible payment, verified now; the record, the callback and when.
fn verified_reversible(
    sb: &Sandbox,
    client: &Client,
    order: &str,
) -> (Pending, CompletedCallback, std::time::SystemTime) {
    let pending = client
        .create(payment(order).with_reversible(true))
        .expect("create");
    assert!(pending.is_reversible());
    let callback = completed(&sb.approve(pending.code().as_str()).unwrap());
    let verified_at = std::time::SystemTime::now();
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    (pending, callback, verified_at)
}

#[test]
fn a_refund_inside_the_window_refunds() {
    let sb = start();
    let client = client(&sb, V3);
    let (pending, callback, verified_at) = verified_reversible(&sb, &client, "v3-order-10");
    sb.advance(Duration::from_secs(29 * 60));
    let refunded = client
        .refund(&pending, callback.ref_id(), verified_at)
        .unwrap();
    assert_eq!(refunded.code(), pending.code());
    assert!(refunded.request_id().is_some());
    assert_eq!(state(&sb, &pending), PaymentState::Refunded);
    // Refunded once: a second refund and a verify are refused.
    assert_eq!(
        rejected_code(client.refund(&pending, callback.ref_id(), verified_at)).number(),
        131
    );
    assert_eq!(
        rejected_code(client.verify(&pending, &callback)).number(),
        131
    );
}

#[test]
fn a_refund_after_the_window_is_refused_by_the_client_and_by_the_sandbox() {
    let sb = start();
    let client = client(&sb, V3);
    let (pending, callback, verified_at) = verified_reversible(&sb, &client, "v3-order-11");
    sb.advance(Duration::from_secs(30 * 60 + 1));
    // Stored as verified 30 minutes ago: the client knows the window passed, sends nothing.
    let stored_verified_at = verified_at - Duration::from_secs(30 * 60 + 1);
    match client.refund(&pending, callback.ref_id(), stored_verified_at) {
        Err(Error::Core(ghesta_core::Error::RefundRefused(RefundRefusal::WindowPassed))) => {}
        other => panic!("expected RefundRefused(WindowPassed), got {other:?}"),
    }
    assert_eq!(sb.requests_seen().refund, 0);
    // A shop whose stored verify time is wrong asks anyway: the sandbox's clock says 135.
    assert_eq!(
        rejected_code(client.refund(&pending, callback.ref_id(), verified_at)).number(),
        135
    );
    assert_eq!(sb.requests_seen().refund, 1, "135 is not retried");
    assert_eq!(
        state(&sb, &pending),
        PaymentState::Verified,
        "still the shop's"
    );
}

#[test]
fn a_payment_not_created_reversible_is_not_refunded() {
    let sb = start();
    let client = client(&sb, V3);
    let (pending, callback) = approved(&sb, &client, "v3-order-12");
    let verified_at = std::time::SystemTime::now();
    assert!(matches!(
        client.verify(&pending, &callback).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    match client.refund(&pending, callback.ref_id(), verified_at) {
        Err(Error::Core(ghesta_core::Error::RefundRefused(RefundRefusal::NotReversible))) => {}
        other => panic!("expected RefundRefused(NotReversible), got {other:?}"),
    }
    assert_eq!(sb.requests_seen().refund, 0);
    // A record that claims otherwise reaches the sandbox, which says 134.
    let mut stored = serde_json::to_value(&pending).unwrap();
    stored["reversible"] = serde_json::json!(true);
    let claims: Pending = serde_json::from_value(stored).unwrap();
    assert_eq!(
        rejected_code(client.refund(&claims, callback.ref_id(), verified_at)).number(),
        134
    );
    assert_eq!(state(&sb, &pending), PaymentState::Verified);
}

#[test]
fn a_payment_is_deleted_before_the_gateway_and_not_after() {
    let sb = start();
    let client = client(&sb, V3);
    let before = create(&client, "v3-order-13");
    let deleted = client.cancel(&before).unwrap();
    assert_eq!(deleted.code(), before.code());
    assert_eq!(state(&sb, &before), PaymentState::CancelledByShop);
    assert_eq!(open_gateway(&before), 409, "its page is gone");

    let opened = create(&client, "v3-order-14");
    assert_eq!(open_gateway(&opened), 200);
    assert_eq!(rejected_code(client.cancel(&opened)).number(), 129);
    assert_eq!(state(&sb, &opened), PaymentState::Created, "still payable");

    let (paid, _) = approved(&sb, &client, "v3-order-15");
    assert_eq!(rejected_code(client.cancel(&paid)).number(), 129);
    assert_eq!(state(&sb, &paid), PaymentState::Paid);
}

#[test]
fn a_payment_created_on_v2_is_verified_on_v2_after_the_switch_to_v3() {
    let sb = start();
    let on_v2 = client(&sb, Gateway::PayPingV2);
    let pending = create(&on_v2, "v2-then-v3");
    assert_eq!(pending.protocol(), Protocol::V2);
    let form = sb.approve(pending.code().as_str()).unwrap();
    assert!(form.get("refid").is_some(), "a v2 callback form");

    // The shop restarts configured for v3; the stored record still says v2.
    let switched = client(&sb, V3);
    let stored = serde_json::to_string(&pending).unwrap();
    let pending: Pending = serde_json::from_str(&stored).unwrap();
    assert!(matches!(
        switched.verify(&pending, &completed(&form)).unwrap(),
        VerifyOutcome::Verified(_)
    ));
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(snapshot.version, ApiVersion::V2);
    assert_eq!(snapshot.state, PaymentState::Verified);
    // New payments go to v3.
    let next = create(&switched, "after-the-switch");
    assert_eq!(next.protocol(), Protocol::V3);
    assert_eq!(
        sb.payment(next.code().as_str()).unwrap().version,
        ApiVersion::V3
    );
}

#[test]
fn eight_threads_share_one_client_for_400_v3_payments() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let sb = start();
    let client = client(&sb, V3);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (sb, client) = (&sb, client.clone());
            scope.spawn(move || {
                for i in 0..EACH {
                    let (pending, callback) = approved(sb, &client, &format!("v3-{t}-{i}"));
                    match client.verify(&pending, &callback) {
                        Ok(VerifyOutcome::Verified(paid)) => {
                            assert_eq!(paid.amount().toman(), TOMAN);
                            assert_eq!(paid.code(), pending.code());
                        }
                        other => panic!("thread {t} payment {i}: {other:?}"),
                    }
                }
            });
        }
    });
    let payments = sb.payments();
    assert_eq!(payments.len(), THREADS * EACH);
    for p in &payments {
        assert_eq!(p.version, ApiVersion::V3, "{p:?}");
        assert_eq!(p.state, PaymentState::Verified, "{p:?}");
        assert_eq!(p.verify_count, 1, "{p:?}");
    }
    let mut orders: Vec<_> = payments.iter().map(|p| p.client_ref_id.clone()).collect();
    orders.sort();
    orders.dedup();
    assert_eq!(orders.len(), THREADS * EACH, "no payment lost or doubled");
    let mut codes: Vec<_> = payments.iter().map(|p| p.code.clone()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), THREADS * EACH, "every code distinct");
    let seen = sb.requests_seen();
    assert_eq!((seen.create, seen.verify), (400, 400));
}
