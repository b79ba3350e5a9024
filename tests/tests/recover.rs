//! Recovery over HTTP, on both protocols: a payment whose callback never reached the shop
//! is settled from PayPing's report (`Client::recover`): verified when the buyer paid,
//! still open while the buyer is on the gateway, not paid when cancelled, too late once
//! the verify window has passed.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Clock, Recovered};
use ghesta_core::{Gateway, PaymentStatus};
use ghesta_sandbox::PaymentState;

/// Ghesta's installment page (v2) and PayPing's v3.
const GATEWAYS: [Gateway; 2] = [Gateway::Ghesta, Gateway::PayPingV3];

#[test]
fn a_paid_payment_whose_callback_was_lost_is_verified_from_the_report() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let pending = create(&client, "lost-callback");
        // The buyer pays; the form is never posted to the shop.
        let form = sb.approve(pending.code().as_str()).unwrap();
        assert_eq!(
            sb.payment(pending.code().as_str()).unwrap().state,
            PaymentState::Paid
        );
        let Recovered::Verified(paid) = client.recover(&pending).unwrap() else {
            panic!("{gateway}: expected Verified");
        };
        assert_eq!(paid.code(), pending.code());
        assert_eq!(paid.amount().toman(), TOMAN);
        // The refId came from the report, and is the one the lost callback carried.
        assert_eq!(paid.ref_id(), completed(&form).ref_id(), "{gateway}");
        assert_eq!(state(&sb, &pending), PaymentState::Verified, "{gateway}");
        let seen = sb.requests_seen();
        assert_eq!((seen.report, seen.verify), (1, 1), "{gateway}");
        // Asked again (or the late callback verifies): already verified, nothing doubled.
        assert_eq!(
            client.recover(&pending).unwrap(),
            Recovered::AlreadyVerified
        );
        assert_eq!(sb.payment(pending.code().as_str()).unwrap().verify_count, 1);
    }
}

#[test]
fn a_buyer_on_the_gateway_page_is_still_open() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let pending = create(&client, "on-the-page");
        assert_eq!(
            client.recover(&pending).unwrap(),
            Recovered::StillOpen(PaymentStatus::Created),
            "{gateway}"
        );
        assert_eq!(open_gateway(&pending), 200, "{gateway}");
        assert_eq!(
            client.recover(&pending).unwrap(),
            Recovered::StillOpen(PaymentStatus::OnGateway),
            "{gateway}"
        );
        assert_eq!(sb.requests_seen().verify, 0, "{gateway}");
    }
}

#[test]
fn a_cancelled_or_failed_payment_is_not_paid() {
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let by_buyer = create(&client, "cancelled");
        sb.cancel_as_buyer(by_buyer.code().as_str()).unwrap();
        assert_eq!(
            client.recover(&by_buyer).unwrap(),
            Recovered::NotPaid(PaymentStatus::Cancelled),
            "{gateway}"
        );
        let failed = create(&client, "failed");
        sb.fail(failed.code().as_str(), 12).unwrap();
        assert_eq!(
            client.recover(&failed).unwrap(),
            Recovered::NotPaid(PaymentStatus::Cancelled),
            "{gateway}"
        );
        assert_eq!(sb.requests_seen().verify, 0, "{gateway}");
    }
}

#[test]
fn past_the_window_is_too_late_and_nothing_is_verified() {
    for gateway in GATEWAYS {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let client = builder(&sb, gateway).clock(clock.clone()).build();
        let pending = create(&client, "too-late");
        sb.approve(pending.code().as_str()).unwrap();
        // Eleven minutes pass for the shop and for PayPing alike.
        clock.sleep(Duration::from_secs(11 * 60));
        assert_eq!(
            client.recover(&pending).unwrap(),
            Recovered::TooLate,
            "{gateway}"
        );
        let seen = sb.requests_seen();
        assert_eq!((seen.report, seen.verify), (1, 0), "{gateway}");
        assert_eq!(state(&sb, &pending), PaymentState::Paid, "{gateway}");
    }
}
