//! Recovering a payment whose callback never came: every report status, inside and past
//! the verify window, and reports that are not of the record.

use std::time::{Duration, SystemTime};

use ghesta_core::http;
use ghesta_core::{
    Amount, ClientRefId, Config, CreatePayment, Error, Exchange, Field, Gateway, Mobile,
    NewPayment, PaymentStatus, Pending, Protocol, Recovery, ReportPayment, ReturnUrl, Token,
};

fn config(gateway: Gateway) -> Config {
    Config::new(Token::new("t").unwrap()).with_gateway(gateway)
}

const CREATED: u64 = 1_764_478_800;

fn pending(config: &Config) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/cb").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    let body: &[u8] = match config.gateway().protocol() {
        Protocol::V2 => br#"{"code":"82a4f72"}"#,
        _ => br#"{"paymentCode":"82a4f72"}"#,
    };
    CreatePayment::new(
        config,
        payment,
        SystemTime::UNIX_EPOCH + Duration::from_secs(CREATED),
    )
    .parse_response(http::Response::new(body.to_vec()))
    .unwrap()
}

fn decide(config: &Config, report: &str, minutes_after: u64) -> Result<Recovery, Error> {
    let pending = pending(config);
    let report = ReportPayment::new(config, pending.code())
        .parse_response(http::Response::new(report.as_bytes().to_vec()))
        .unwrap();
    let now = pending.created_at() + Duration::from_secs(minutes_after * 60);
    Recovery::decide(config, &pending, &report, now)
}

fn report(status: i64) -> String {
    format!(
        r#"{{"amount":250000,"isPaid":{},"clientRefId":"order-7","refId":"7781","paymentStatus":{status}}}"#,
        status == 1
    )
}

#[test]
fn each_status_inside_and_past_the_window() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
        let config = config(gateway);
        for (status, inside, past) in [
            (0, "StillOpen(Created)", "TooLate"),
            (1, "AlreadyVerified", "AlreadyVerified"),
            (2, "StillOpen(OnGateway)", "TooLate"),
            (3, "NotPaid(Cancelled)", "NotPaid(Cancelled)"),
            (4, "NotPaid(BankVerifyFailed)", "NotPaid(BankVerifyFailed)"),
            (5, "Verify", "TooLate"),
            (42, "StillOpen(Unknown(42))", "TooLate"),
        ] {
            for (minutes, expected) in [(3, inside), (10, past), (60, past)] {
                let got = decide(&config, &report(status), minutes).unwrap();
                let name = match &got {
                    Recovery::Verify(verify) => {
                        assert_eq!(verify.ref_id().as_str(), "7781");
                        assert_eq!(verify.protocol(), gateway.protocol());
                        "Verify".to_owned()
                    }
                    other => format!("{other:?}"),
                };
                assert_eq!(name, expected, "{gateway} status {status} at {minutes} min");
            }
        }
    }
}

#[test]
fn the_verify_it_builds_sends_the_reports_ref_and_the_stored_amount() {
    let config = config(Gateway::Ghesta);
    let Recovery::Verify(verify) = decide(&config, &report(5), 2).unwrap() else {
        panic!("status 5 inside the window verifies");
    };
    let request = verify.to_request().unwrap();
    assert_eq!(request.uri().path(), "/v2/pay/verify");
    let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "refId": "7781", "amount": 250000 })
    );
}

#[test]
fn a_report_of_another_payment_verifies_nothing() {
    let config = config(Gateway::Ghesta);
    for (report, field) in [
        (
            r#"{"amount":1000,"clientRefId":"order-7","refId":"1","paymentStatus":5}"#,
            Field::Amount,
        ),
        (
            r#"{"clientRefId":"order-7","refId":"1","paymentStatus":5}"#,
            Field::Amount,
        ),
        (
            r#"{"amount":250000,"clientRefId":"order-8","refId":"1","paymentStatus":5}"#,
            Field::ClientRefId,
        ),
    ] {
        match decide(&config, report, 2) {
            Err(Error::ReportMismatch { field: got, .. }) => assert_eq!(got, field, "{report}"),
            other => panic!("{report}: {other:?}"),
        }
    }
}

#[test]
fn awaiting_verify_without_a_ref_waits_and_an_old_report_reads_by_is_paid() {
    let config = config(Gateway::Ghesta);
    assert!(matches!(
        decide(&config, r#"{"amount":250000,"paymentStatus":5}"#, 2).unwrap(),
        Recovery::StillOpen(PaymentStatus::AwaitingVerify)
    ));
    assert!(matches!(
        decide(&config, r#"{"amount":250000,"isPaid":true}"#, 2).unwrap(),
        Recovery::AlreadyVerified
    ));
    assert!(matches!(
        decide(&config, r#"{"amount":250000,"isPaid":false}"#, 2).unwrap(),
        Recovery::StillOpen(PaymentStatus::Created)
    ));
}

#[test]
fn a_v3_report_ref_that_is_no_integer_is_refused() {
    let config = config(Gateway::PayPingV3);
    let report = r#"{"amount":250000,"refId":"x-1","paymentStatus":5}"#;
    assert!(matches!(decide(&config, report, 2), Err(Error::Invalid(_))));
}
