//! Settling over HTTP, on both protocols, when the callback never reached the shop
//! (`Client::recover`): shipped when PayPing proves the payment, left to wait while the
//! buyer is on the gateway, released only on PayPing's word, and never stopped by one bad
//! order.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::Clock;
use ghesta_core::{Attention, Gateway, PaymentStatus, Proof, Verdict, Waiting};
use ghesta_sandbox::PaymentState;

/// Ghesta's installment page (v2) and PayPing's v3.
const GATEWAYS: [Gateway; 2] = [Gateway::Ghesta, Gateway::PayPingV3];

#[test]
fn a_paid_payment_whose_callback_was_lost_is_shipped_from_the_report() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let pending = create(&client, "lost-callback");
        // The buyer pays; the form is never posted to the shop.
        let form = sb.approve(pending.code().as_str()).unwrap();
        let Verdict::Ship(paid) = client.recover(&pending) else {
            panic!("{gateway}: expected Ship");
        };
        assert!(paid.verified_now(), "{gateway}");
        // The refId came from the report, and is the one the lost callback carried.
        assert_eq!(paid.ref_id(), Some(completed(&form).ref_id()), "{gateway}");
        assert_eq!(state(&sb, &pending), PaymentState::Verified, "{gateway}");
        let seen = sb.requests_seen();
        assert_eq!((seen.report, seen.verify), (1, 1), "{gateway}");
        // Asked again: PayPing's report says verified; nothing is verified twice.
        let Verdict::Ship(again) = client.recover(&pending) else {
            panic!("{gateway}: expected Ship again");
        };
        assert_eq!(again.proof(), Proof::ReportVerified, "{gateway}");
        assert_eq!(sb.payment(pending.code().as_str()).unwrap().verify_count, 1);
    }
}

#[test]
fn a_buyer_on_the_gateway_page_waits() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let pending = create(&client, "on-the-page");
        assert_eq!(
            client.recover(&pending),
            Verdict::Wait(Waiting::StillOpen(PaymentStatus::Created)),
            "{gateway}"
        );
        assert_eq!(open_gateway(&pending), 200, "{gateway}");
        assert_eq!(
            client.recover(&pending),
            Verdict::Wait(Waiting::StillOpen(PaymentStatus::OnGateway)),
            "{gateway}"
        );
        assert_eq!(sb.requests_seen().verify, 0, "{gateway}");
    }
}

#[test]
fn a_cancelled_or_failed_payment_is_released_on_paypings_word() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let by_buyer = create(&client, "cancelled");
        sb.cancel_as_buyer(by_buyer.code().as_str()).unwrap();
        assert!(
            matches!(client.recover(&by_buyer), Verdict::Release(r) if r.status() == PaymentStatus::Cancelled),
            "{gateway}"
        );
        let failed = create(&client, "failed");
        sb.fail(failed.code().as_str(), 12).unwrap();
        assert!(
            matches!(client.recover(&failed), Verdict::Release(_)),
            "{gateway}"
        );
        assert_eq!(sb.requests_seen().verify, 0, "{gateway}");
    }
}

#[test]
fn a_buyer_who_paid_late_in_the_window_is_verified_after_it() {
    // PayPing counts the verify window from the payment: paid at minute 9, still
    // verifiable at minute 10:01 (status 5 is never too late to try).
    for gateway in GATEWAYS {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let client = builder(&sb, gateway).clock(clock.clone()).build();
        let pending = create(&client, "late-payer");
        clock.sleep(Duration::from_secs(9 * 60));
        sb.approve(pending.code().as_str()).unwrap();
        clock.sleep(Duration::from_secs(61));
        let verdict = client.recover(&pending);
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );
        assert_eq!(state(&sb, &pending), PaymentState::Verified, "{gateway}");
    }
}

#[test]
fn a_payment_left_unverified_past_its_window_is_released_when_paypings_verify_refuses() {
    for gateway in GATEWAYS {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let client = builder(&sb, gateway).clock(clock.clone()).build();
        let pending = create(&client, "too-late");
        sb.approve(pending.code().as_str()).unwrap();
        // Eleven minutes pass for the shop and for PayPing alike.
        clock.sleep(Duration::from_secs(11 * 60));
        let verdict = client.recover(&pending);
        assert!(
            matches!(verdict, Verdict::Release(r) if r.status() == PaymentStatus::BankVerifyFailed),
            "{gateway}: {verdict:?}"
        );
        let seen = sb.requests_seen();
        // Report (5), verify (refused: voided), report (4).
        assert_eq!((seen.report, seen.verify), (2, 1), "{gateway}");
        assert_eq!(state(&sb, &pending), PaymentState::Expired, "{gateway}");
    }
}

#[test]
fn one_bad_order_never_stops_the_sweep() {
    // A record PayPing's report does not know (answered 400, code 26: permanent) sits before
    // a paid order whose callback was lost; a sweep over both ships the paid one.
    for gateway in [Gateway::Ghesta] {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let client = builder(&sb, gateway).clock(clock.clone()).build();
        let paid = create(&client, "paid");
        sb.approve(paid.code().as_str()).unwrap();
        let mut unknown: serde_json::Value = serde_json::to_value(&paid).unwrap();
        unknown["code"] = "nosuchcode".into();
        unknown["client_ref_id"] = "bad".into();
        let base = sb.base_url();
        unknown["redirect_url"] = format!("{base}/installment/nosuchcode?type=ghesta").into();
        let unknown: ghesta_core::Pending = serde_json::from_value(unknown).unwrap();
        let mut verdicts = Vec::new();
        for pending in [&unknown, &paid] {
            verdicts.push(client.recover(pending));
        }
        assert!(
            matches!(verdicts[0], Verdict::Wait(Waiting::ReportFailed(_))),
            "{verdicts:?}"
        );
        assert!(matches!(verdicts[1], Verdict::Ship(_)), "{verdicts:?}");
        // Once no payment of it could still be verified, the bad one needs a person.
        clock.sleep(Duration::from_secs(21 * 60));
        let verdict = client.recover(&unknown);
        let Verdict::NeedsAttention(Attention::StillFailing(error)) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!(error.code().map(|c| c.number()), Some(26));
    }
}

#[test]
fn a_v3_payment_the_report_does_not_serve_needs_a_person() {
    // Whether PayPing's report answers v3 codes is unconfirmed: where it answers 404, no
    // sweep can prove or release the payment, and says so rather than waiting forever.
    let sb =
        ghesta_sandbox::Sandbox::start(ghesta_sandbox::Options::default().report_v3_codes(false))
            .expect("sandbox");
    let v3 = client(&sb, Gateway::PayPingV3);
    let pending = create(&v3, "v3-no-report");
    sb.approve(pending.code().as_str()).unwrap();
    let verdict = v3.recover(&pending);
    let Verdict::NeedsAttention(Attention::Unconfirmable(error)) = verdict else {
        panic!("{verdict:?}")
    };
    assert!(
        matches!(error, ghesta_core::Error::NotFound { .. }),
        "{error:?}"
    );
    assert_eq!(
        sb.requests_seen().verify,
        0,
        "nothing verified without proof to bind it"
    );
    // A v2 payment on the same sandbox is reported, and shipped.
    let client_v2 = client(&sb, Gateway::Ghesta);
    let on_v2 = create(&client_v2, "v2-reported");
    sb.approve(on_v2.code().as_str()).unwrap();
    assert!(matches!(client_v2.recover(&on_v2), Verdict::Ship(_)));
}
