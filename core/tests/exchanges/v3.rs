//! PayPing v3 beside v2 (its own helpers: a payment of 250,000 Toman on each gateway): each v3 request compared part by part with the one PayPing
//! documents, the record deciding the protocol (a payment created on v2 finishes on v2
//! after the shop switched to v3), and the flows a v3 shop writes.

use std::time::{Duration, SystemTime};

use ghesta_core::http::Method;
use ghesta_core::{
    Amount, Callback, CancelPayment, ClientRefId, Config, CreatePayment, Error, Exchange, Gateway,
    Mobile, NewPayment, Pending, Protocol, RefId, RefundPayment, RefundRefusal, ReportPayment,
    ReturnUrl, VerifyOutcome, VerifyPayment,
};
use serde_json::{Value, json};

use super::{answer, assert_request};

fn config(gateway: Gateway) -> Config {
    super::config().with_gateway(gateway)
}

fn payment() -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/ghesta/callback?order=1042").unwrap(),
        ClientRefId::new("1042").unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

fn pending_on(config: &Config, reversible: bool) -> Pending {
    let create = CreatePayment::new(
        config,
        payment().with_reversible(reversible),
        SystemTime::UNIX_EPOCH,
    );
    let body = match config.gateway().protocol() {
        Protocol::V2 => r#"{"code":"82a4f72"}"#,
        _ => r#"{"paymentCode":"01K2YQYESEQGNMCVFPQ9VC96YF"}"#,
    };
    create.parse_response(answer(200, body)).unwrap()
}

#[test]
fn create_v3_request_is_camel_case_with_a_string_client_ref_id() {
    let config = config(Gateway::PayPingV3);
    let plain = CreatePayment::new(&config, payment(), SystemTime::UNIX_EPOCH);
    assert_request(
        &plain.to_request().unwrap(),
        Method::POST,
        "https://api.payping.ir/v3/pay",
        Some(json!({
            "amount": 250000,
            "payerIdentity": "09123456789",
            "returnUrl": "https://shop.example/ghesta/callback?order=1042",
            "clientRefId": "1042",
        })),
    );
    let reversible = CreatePayment::new(
        &config,
        payment().with_reversible(true),
        SystemTime::UNIX_EPOCH,
    );
    assert_request(
        &reversible.to_request().unwrap(),
        Method::POST,
        "https://api.payping.ir/v3/pay",
        Some(json!({
            "amount": 250000,
            "payerIdentity": "09123456789",
            "returnUrl": "https://shop.example/ghesta/callback?order=1042",
            "clientRefId": "1042",
            "isReversible": true,
        })),
    );
}

#[test]
fn a_reversible_payment_on_v2_is_refused_before_any_request() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV2] {
        let create = CreatePayment::new(
            &config(gateway),
            payment().with_reversible(true),
            SystemTime::UNIX_EPOCH,
        );
        assert!(
            matches!(create.to_request(), Err(Error::Invalid(e)) if e.field() == ghesta_core::Field::Reversible),
            "{gateway}"
        );
    }
}

#[test]
fn create_v3_answer_makes_a_v3_record_that_reads_back() {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, true);
    assert_eq!(pending.gateway(), Gateway::PayPingV3);
    assert_eq!(pending.protocol(), Protocol::V3);
    assert!(pending.is_reversible());
    assert_eq!(
        pending.redirect_url().as_str(),
        "https://api.payping.ir/v3/pay/start/01K2YQYESEQGNMCVFPQ9VC96YF"
    );
    let stored = serde_json::to_string(&pending).unwrap();
    let record: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(record["gateway"], "payping_v3");
    assert_eq!(record["reversible"], true);
    assert_eq!(serde_json::from_str::<Pending>(&stored).unwrap(), pending);
}

#[test]
fn each_gateway_creates_on_its_protocol_and_redirects_to_its_page() {
    for (gateway, path, page) in [
        (
            Gateway::Ghesta,
            "/v2/pay",
            "https://payping.ir/installment/82a4f72?type=ghesta",
        ),
        (
            Gateway::PayPingV2,
            "/v2/pay",
            "https://api.payping.ir/v2/pay/gotoipg/82a4f72",
        ),
        (
            Gateway::PayPingV3,
            "/v3/pay",
            "https://api.payping.ir/v3/pay/start/01K2YQYESEQGNMCVFPQ9VC96YF",
        ),
    ] {
        let config = config(gateway);
        let create = CreatePayment::new(&config, payment(), SystemTime::UNIX_EPOCH);
        assert_eq!(create.to_request().unwrap().uri().path(), path, "{gateway}");
        let pending = pending_on(&config, false);
        assert_eq!(pending.redirect_url().as_str(), page, "{gateway}");
        assert_eq!(pending.gateway(), gateway);
    }
}

fn v3_callback(data: Value) -> ghesta_core::CompletedCallback {
    let form = serde_urlencoded::to_string([
        ("status", "1"),
        ("errorCode", ""),
        ("data", &data.to_string()),
    ])
    .unwrap();
    match Callback::from_form(form.as_bytes()).unwrap() {
        Callback::Completed(callback) => callback,
        other => panic!("{other:?}"),
    }
}

fn paid_callback() -> ghesta_core::CompletedCallback {
    v3_callback(json!({
        "clientRefId": "1042",
        "paymentCode": "01K2YQYESEQGNMCVFPQ9VC96YF",
        "paymentRefId": 7781,
        "amount": 250000,
        "gatewayAmount": 252500,
        "cardNumber": "603799******1234",
        "cardHashPan": "9f86",
    }))
}

#[test]
fn verify_v3_request_sends_an_integer_ref_the_code_and_the_stored_amount() {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, false);
    let verify = VerifyPayment::new(&config, &pending, &paid_callback()).unwrap();
    assert_eq!(verify.protocol(), Protocol::V3);
    assert_request(
        &verify.to_request().unwrap(),
        Method::POST,
        "https://api.payping.ir/v3/pay/verify",
        Some(json!({
            "paymentRefId": 7781,
            "paymentCode": "01K2YQYESEQGNMCVFPQ9VC96YF",
            "amount": 250000,
        })),
    );
}

#[test]
fn a_v3_ref_that_is_no_integer_is_refused_before_any_request() {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, false);
    for bad in ["abc", "12a", "0", "-5", "99999999999999999999999"] {
        assert!(
            matches!(
                VerifyPayment::from_ref_id(&config, &pending, RefId::new(bad).unwrap()),
                Err(Error::Invalid(e)) if e.rule() == &ghesta_core::Rule::NotAnInteger
            ),
            "{bad}"
        );
    }
}

#[test]
fn cancel_v3_is_a_delete_with_the_code_in_a_json_body() {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, false);
    assert_request(
        &CancelPayment::new(&config, &pending).to_request().unwrap(),
        Method::DELETE,
        "https://api.payping.ir/v3/pay",
        Some(json!({ "paymentCode": "01K2YQYESEQGNMCVFPQ9VC96YF" })),
    );
}

#[test]
fn report_is_the_v1_route_for_both_protocols() {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, false);
    assert_request(
        &ReportPayment::new(&config, pending.code())
            .to_request()
            .unwrap(),
        Method::GET,
        "https://api.payping.ir/v1/report/01K2YQYESEQGNMCVFPQ9VC96YF",
        None,
    );
    let report = ReportPayment::new(&config, pending.code())
        .parse_response(answer(
            200,
            r#"{"amount":250000,"isPaid":false,"refId":7781,"paymentStatus":5}"#,
        ))
        .unwrap();
    assert_eq!(report.ref_id().map(RefId::as_str), Some("7781"));
    assert_eq!(
        report.status(),
        Some(ghesta_core::PaymentStatus::AwaitingVerify)
    );
    let bare = ReportPayment::new(&config, pending.code())
        .parse_response(answer(200, r#"{"amount":250000}"#))
        .unwrap();
    assert_eq!(
        (bare.ref_id(), bare.status()),
        (None, None),
        "absent is tolerated"
    );
    let odd = ReportPayment::new(&config, pending.code())
        .parse_response(answer(200, r#"{"paymentStatus":42,"refId":"x7"}"#))
        .unwrap();
    assert_eq!(odd.status(), Some(ghesta_core::PaymentStatus::Unknown(42)));
    assert!(
        ReportPayment::new(&config, pending.code())
            .parse_response(answer(200, r#"{"paymentStatus":"5"}"#))
            .is_err(),
        "a status is a number"
    );
}

#[test]
fn refund_is_v3_reversible_and_inside_its_window_or_refused_before_any_request() {
    let v3 = config(Gateway::PayPingV3);
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(3600);
    let ref_id = RefId::new("7781").unwrap();
    let refund = |pending: &Pending, now: SystemTime| {
        RefundPayment::new(&v3, pending, &ref_id, at, now).map(|r| r.to_request().unwrap())
    };
    let reversible = pending_on(&v3, true);
    assert_request(
        &refund(&reversible, at + Duration::from_secs(60)).unwrap(),
        Method::POST,
        "https://api.payping.ir/v3/pay/reverse",
        Some(json!({ "paymentRefId": 7781, "paymentCode": "01K2YQYESEQGNMCVFPQ9VC96YF" })),
    );
    assert!(refund(&reversible, at + Duration::from_secs(29 * 60 + 59)).is_ok());
    for (pending, now, why) in [
        (
            pending_on(&config(Gateway::Ghesta), false),
            at,
            RefundRefusal::NotV3,
        ),
        (pending_on(&v3, false), at, RefundRefusal::NotReversible),
        (
            reversible.clone(),
            at + Duration::from_secs(30 * 60),
            RefundRefusal::WindowPassed,
        ),
    ] {
        assert!(
            matches!(refund(&pending, now), Err(Error::RefundRefused(got)) if got == why),
            "{why}"
        );
    }
}

/// A shop created a payment on v2, switched to v3, and the callback then arrives: the
/// record decides, so verify and cancel speak v2.
#[test]
fn a_v2_payment_finishes_on_v2_after_the_shop_switched_to_v3() {
    let before = config(Gateway::Ghesta);
    let stored = serde_json::to_string(&pending_on(&before, false)).unwrap();
    let after = config(Gateway::PayPingV3);
    let pending: Pending = serde_json::from_str(&stored).unwrap();
    let Callback::Completed(callback) =
        Callback::from_form(b"code=82a4f72&refid=555&clientrefid=1042").unwrap()
    else {
        unreachable!()
    };
    let verify = VerifyPayment::new(&after, &pending, &callback).unwrap();
    assert_request(
        &verify.to_request().unwrap(),
        Method::POST,
        "https://api.payping.ir/v2/pay/verify",
        Some(json!({ "refId": "555", "amount": 250000 })),
    );
    let outcome = verify
        .parse_response(answer(200, r#"{"amount":250000}"#))
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(_)));
    assert_eq!(
        CancelPayment::new(&after, &pending)
            .to_request()
            .unwrap()
            .uri(),
        "https://api.payping.ir/v2/pay/82a4f72"
    );
    // And the record stored by 0.1.0, with no gateway field, does the same.
    let old: Pending =
        serde_json::from_str(include_str!("../data/records/pending-0.1.0.json")).unwrap();
    assert_eq!(old.gateway(), Gateway::Ghesta);
    let Callback::Completed(callback) =
        Callback::from_form(b"code=82a4f72&refid=555&clientrefid=order-7").unwrap()
    else {
        unreachable!()
    };
    let verify = VerifyPayment::new(&after, &old, &callback).unwrap();
    assert_eq!(verify.to_request().unwrap().uri().path(), "/v2/pay/verify");
}

#[test]
fn a_callback_round_trips_through_to_form_in_both_protocols() {
    let v3 = Callback::Completed(paid_callback());
    assert_eq!(Callback::from_form(v3.to_form().as_bytes()).unwrap(), v3);
    let form = serde_urlencoded::to_string([
        ("status", "0"),
        ("errorCode", "127"),
        ("data", r#"{"paymentCode":"P1","clientRefId":"1042"}"#),
    ])
    .unwrap();
    let cancelled = Callback::from_form(form.as_bytes()).unwrap();
    assert_eq!(
        Callback::from_form(cancelled.to_form().as_bytes()).unwrap(),
        cancelled
    );
    let v2 = Callback::from_form(b"code=82a4f72&refid=555&clientrefid=1042").unwrap();
    assert_eq!(v2.protocol(), Protocol::V2);
    assert_eq!(Callback::from_form(v2.to_form().as_bytes()).unwrap(), v2);
}

#[test]
fn create_v3_keeps_each_fee_in_its_own_field() {
    // Four different numbers, so that no fee can be read into another's place.
    let config = config(Gateway::PayPingV3);
    let body = r#"{"paymentCode":"P1","amount":250000,"gatewayAmount":252500,"payerWage":2000,"businessWage":500,"paypingVat":90}"#;
    let pending = CreatePayment::new(&config, payment(), SystemTime::UNIX_EPOCH)
        .parse_response(answer(200, body))
        .unwrap();
    let fees = pending.fees().expect("the answer named fees");
    assert_eq!(
        (
            fees.gateway_amount(),
            fees.payer_wage(),
            fees.business_wage(),
            fees.payping_vat()
        ),
        (Some(252_500), Some(2_000), Some(500), Some(90))
    );
    let stored = serde_json::to_string(&pending).unwrap();
    assert_eq!(serde_json::from_str::<Pending>(&stored).unwrap(), pending);
    // An answer that names no fee gives no fees, not four empty ones.
    let bare = CreatePayment::new(&config, payment(), SystemTime::UNIX_EPOCH)
        .parse_response(answer(200, r#"{"paymentCode":"P1"}"#))
        .unwrap();
    assert_eq!(bare.fees(), None);
    assert!(!serde_json::to_string(&bare).unwrap().contains("fees"));
}

const V3_CODE: &str = "01K2YQYESEQGNMCVFPQ9VC96YF";

fn v3_verify() -> VerifyPayment {
    let config = config(Gateway::PayPingV3);
    let pending = pending_on(&config, false);
    VerifyPayment::new(&config, &pending, &paid_callback()).unwrap()
}

/// v3's "already verified" 409, its earlier record (PascalCase, as PayPing's documentation
/// writes it) given as `earlier`, or none.
fn already_409(earlier: Option<Value>) -> String {
    let mut meta = json!({"code": 110, "errors": [{"message": "پرداخت قبلا انجام شده"}]});
    if let Some(record) = earlier {
        meta["message"] = record;
    }
    json!({"title": "Conflict", "status": 409, "paypingTraceId": "0HN5:1", "metaData": meta})
        .to_string()
}

/// A lost verify's answer comes back as the 409's earlier record: the card, its hash and
/// the payment's date are the earlier verify's, in either case PayPing writes its keys.
#[test]
fn an_already_verified_409_carries_the_earlier_card_hash_and_date() {
    for record in [
        json!({"Amount": 250000, "Code": V3_CODE, "CardNumber": "603799******1234",
               "CardHashPan": "9f86d081", "PayedDate": "2026-11-30T05:03:00Z"}),
        json!({"amount": 250000, "code": V3_CODE, "cardNumber": "603799******1234",
               "cardHashPan": "9f86d081", "payedDate": "2026-11-30T05:03:00Z"}),
    ] {
        let outcome = v3_verify()
            .parse_response(answer(409, already_409(Some(record.clone()))))
            .unwrap_or_else(|e| panic!("{record}: {e}"));
        let VerifyOutcome::AlreadyVerified(already) = outcome else {
            panic!("{record}: {outcome:?}");
        };
        assert_eq!(
            already.card_number().map(|c| c.as_str()),
            Some("603799******1234")
        );
        assert_eq!(already.card_hash().map(|c| c.as_str()), Some("9f86d081"));
        assert_eq!(already.paid_at(), Some("2026-11-30T05:03:00Z"));
    }
    // An earlier record without them: none.
    let outcome = v3_verify()
        .parse_response(answer(
            409,
            already_409(Some(json!({"Amount": 250000, "Code": V3_CODE}))),
        ))
        .unwrap();
    let VerifyOutcome::AlreadyVerified(already) = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(already.card_number(), None);
    assert_eq!(already.card_hash(), None);
    assert_eq!(already.paid_at(), None);
}

/// Issue 20, item 7: a v3 answer proves the payment is this record's only when it names
/// both the record's code and its amount. One that omits either is still verified (PayPing
/// said so), but says it did not name the payment, so the settlement asks the report.
#[test]
fn a_v3_answer_names_the_payment_only_with_both_its_code_and_amount() {
    let named = json!({"Amount": 250000, "Code": V3_CODE, "CardNumber": "603799******1234"});
    for (status, body, names) in [
        (
            200,
            json!({"amount": 250000, "code": V3_CODE}).to_string(),
            true,
        ),
        (
            200,
            json!({"amount": 250000, "code": V3_CODE, "cardNumber": "603799******1234"})
                .to_string(),
            true,
        ),
        (200, json!({"amount": 250000}).to_string(), false),
        (409, already_409(Some(named)), true),
        (
            409,
            already_409(Some(json!({"amount": 250000, "code": V3_CODE}))),
            true,
        ),
        (409, already_409(None), false),
        (409, already_409(Some(json!({"Amount": 250000}))), false),
        (409, already_409(Some(json!({"Code": V3_CODE}))), false),
        (
            409,
            already_409(Some(json!({"CardNumber": "603799******1234"}))),
            false,
        ),
    ] {
        let outcome = v3_verify()
            .parse_response(answer(status, body.clone()))
            .unwrap_or_else(|e| panic!("{status} {body}: {e}"));
        assert_eq!(outcome.names_payment(), names, "{status} {body}");
        match (&outcome, status) {
            (VerifyOutcome::Verified(v), 200) => assert_eq!(v.names_payment(), names),
            (VerifyOutcome::AlreadyVerified(v), 409) => assert_eq!(v.names_payment(), names),
            _ => panic!("{status} {body}: {outcome:?}"),
        }
    }
}

/// Naming another payment or amount is never "not named": it is the mismatch it was.
#[test]
fn a_v3_answer_naming_another_payment_or_amount_is_still_refused() {
    for (status, body) in [
        (200, json!({"amount": 250000, "code": "OTHER"}).to_string()),
        (200, json!({"amount": 1, "code": V3_CODE}).to_string()),
        (200, json!({"amount": 1}).to_string()),
        (
            409,
            already_409(Some(json!({"Amount": 250000, "Code": "OTHER"}))),
        ),
        (409, already_409(Some(json!({"Code": "OTHER"})))),
        (409, already_409(Some(json!({"Amount": 1})))),
    ] {
        let error = v3_verify()
            .parse_response(answer(status, body.clone()))
            .expect_err(&body);
        assert!(
            matches!(
                error,
                Error::CodeMismatch { .. } | Error::AmountMismatch { .. }
            ),
            "{status} {body}: {error:?}"
        );
    }
}
