//! `Client::recover` over a scripted transport: report, decision, verify, one outcome.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Client, Error, Recovered};
use ghesta_core::PaymentStatus;

fn client_at(script: &Script, clock: &FakeClock) -> Client {
    Client::builder(config())
        .transport(script.transport())
        .clock(clock.clone())
        .build()
}

/// A record created at the fake clock's start, and a clock `minutes` later.
fn at(minutes: u64) -> FakeClock {
    let clock = FakeClock::default();
    ghesta_blocking::Clock::sleep(&clock, Duration::from_secs(minutes * 60));
    clock
}

fn report(status: i64) -> String {
    format!(r#"{{"amount":250000,"clientRefId":"order-7","refId":"555","paymentStatus":{status}}}"#)
}

fn record() -> ghesta_core::Pending {
    let config = config();
    ghesta_core::Exchange::parse_response(
        &ghesta_core::CreatePayment::new(&config, new_payment(), FakeClock::start()),
        answer(200, r#"{"code":"82a4f72"}"#),
    )
    .unwrap()
}

#[test]
fn paid_and_waiting_is_verified_with_the_reports_ref() {
    let script = Script::new([Ok(answer(200, &report(5))), Ok(answer(200, VERIFIED))]);
    let got = client_at(&script, &at(3)).recover(&record()).unwrap();
    assert!(matches!(&got, Recovered::Verified(v) if v.ref_id().as_str() == "555"));
    assert!(got.is_paid() && got.is_final());
    let seen = script.seen();
    assert_eq!(script.paths(), ["/v1/report/82a4f72", "/v2/pay/verify"]);
    let body: serde_json::Value = serde_json::from_slice(&seen[1].2).unwrap();
    assert_eq!(body, serde_json::json!({"refId": "555", "amount": 250000}));
}

#[test]
fn racing_the_callback_the_second_verify_sees_already_verified() {
    let script = Script::new([Ok(answer(200, &report(5))), Ok(answer(400, ALREADY))]);
    let got = client_at(&script, &at(3)).recover(&record()).unwrap();
    assert_eq!(got, Recovered::AlreadyVerified);
    assert!(got.is_paid());
}

#[test]
fn nothing_is_verified_unless_the_buyer_paid_inside_the_window() {
    for (status, minutes, expected) in [
        (1, 3, Recovered::AlreadyVerified),
        (2, 3, Recovered::StillOpen(PaymentStatus::OnGateway)),
        (0, 3, Recovered::StillOpen(PaymentStatus::Created)),
        (3, 3, Recovered::NotPaid(PaymentStatus::Cancelled)),
        (4, 3, Recovered::NotPaid(PaymentStatus::BankVerifyFailed)),
        (5, 11, Recovered::TooLate),
        (2, 11, Recovered::TooLate),
    ] {
        let script = Script::new([Ok(answer(200, &report(status)))]);
        let got = client_at(&script, &at(minutes)).recover(&record()).unwrap();
        assert_eq!(got, expected, "status {status} at {minutes} min");
        assert_eq!(script.seen().len(), 1, "only the report was asked");
    }
}

#[test]
fn a_report_of_another_amount_is_an_error_and_verifies_nothing() {
    let script = Script::new([Ok(answer(
        200,
        r#"{"amount":1,"refId":"555","paymentStatus":5}"#,
    ))]);
    let err = client_at(&script, &at(3)).recover(&record()).unwrap_err();
    assert!(
        matches!(
            err.as_core(),
            Some(ghesta_core::Error::ReportMismatch {
                field: ghesta_core::Field::Amount,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(!matches!(err, Error::Transport(_)));
    assert_eq!(script.seen().len(), 1);
}
