//! Report: the request, part by part, and every answer.

use super::*;

#[test]
fn report_request_is_a_bodiless_get_of_the_code() {
    let exchange = report();
    assert_eq!(exchange.kind(), ExchangeKind::Report);
    assert_request(
        &exchange.to_request().unwrap(),
        Method::GET,
        "https://api.payping.ir/v1/report/82a4f72b91",
        None,
    );
}

/// An instance of the spec's `PaymentDetailsViewModel` with every property filled in,
/// built from the schema itself so no field of the spec is forgotten.
fn full_report_body() -> Value {
    let spec = spec();
    let mut body = serde_json::Map::new();
    for (key, property) in &spec.schemas["PaymentDetailsViewModel"].properties.0 {
        let value = match (key.as_str(), property.kind.as_str()) {
            ("amount", _) => json!(1_250_000),
            ("clientRefId", _) => json!(CLIENT_REF_ID),
            ("payerIdentity", _) => json!("09123456789"),
            ("invoiceNo", _) => json!("1234567890"),
            ("isBlocked", _) => json!(false),
            (_, "integer") => json!(12_500),
            (_, "boolean") => json!(true),
            (_, "string") if property.format.as_deref() == Some("date-time") => {
                json!("2025-11-30T05:00:00Z")
            }
            (_, "string") => json!("text"),
            (key, kind) => panic!("{key} has type {kind} the test does not know"),
        };
        body.insert(key.clone(), value);
    }
    Value::Object(body)
}

#[test]
fn report_200_with_every_field_of_the_spec() {
    let body = full_report_body();
    assert_eq!(
        body.as_object().unwrap().len(),
        17,
        "all of PaymentDetailsViewModel"
    );
    let report = report()
        .parse_response(answer(200, serde_json::to_vec(&body).unwrap()))
        .unwrap();
    assert_eq!(report.code().as_str(), CODE);
    assert!(report.is_paid());
    assert_eq!(report.amount(), Some(amount(TOMAN)));
    assert_eq!(report.wire_amount(), Some(1_250_000));
    assert_eq!(report.requested_at(), Some("2025-11-30T05:00:00Z"));
    assert_eq!(report.paid_at(), Some("2025-11-30T05:00:00Z"));
    assert_eq!(report.client_ref_id(), Some(CLIENT_REF_ID));
    assert_eq!(report.invoice_no(), Some("1234567890"));
    assert_eq!(report.payer_identity(), Some("09123456789"));
    assert_eq!(report.request_id(), request_id().as_ref());
    assert!(report.confirms(&pending()));
}

#[test]
fn report_200_with_nothing_is_unpaid() {
    for body in ["{}", r#"{"isPaid":null,"amount":null}"#] {
        let report = report().parse_response(answer(200, body)).unwrap();
        assert!(!report.is_paid());
        assert_eq!(report.amount(), None);
        assert_eq!(report.wire_amount(), None);
        assert_eq!(report.client_ref_id(), None);
        assert!(!report.confirms(&pending()));
    }
}

#[test]
fn report_200_of_the_wrong_shape_is_malformed() {
    for (body, rule) in [
        (r#"{"isPaid":"true"}"#, "boolean"),
        (r#"{"isPaid":1}"#, "boolean"),
        (r#"{"amount":-1}"#, "u64"),
        (r#"{"amount":18446744073709551616}"#, "u64"),
        (r#"{"amount":1250000.5}"#, "u64"),
        (r#"{"amount":"1250000"}"#, "u64"),
        (r#"{"clientRefId":42}"#, "expected a string"),
        (r#"{"reqDate":0}"#, "expected a string"),
        (r#"{"amount":1250000,"isPaid":tr"#, "EOF"),
        ("[]", "object"),
        ("[1250000,true]", "object"),
        (r#"{"isPaid":false,"isPaid":true}"#, "`isPaid`"),
        ("", "empty"),
        // "not a JSON object" or, from a one-pass reader, serde's "expected value".
        (NGINX_502, "JSON object|expected value"),
    ] {
        let error = report().parse_response(answer(200, body)).unwrap_err();
        assert_malformed(&error, 200, body.as_bytes(), rule);
    }
}

#[test]
fn report_keeps_an_amount_that_is_no_valid_amount() {
    let report = report()
        .parse_response(answer(200, r#"{"amount":5,"isPaid":true}"#))
        .unwrap();
    assert_eq!(report.wire_amount(), Some(5));
    assert_eq!(report.amount(), None);
    assert!(!report.confirms(&pending()));
}

#[test]
fn report_confirms_only_the_stored_payment() {
    let pending = pending();
    let confirms = |body: Value| {
        report()
            .parse_response(answer(200, serde_json::to_vec(&body).unwrap()))
            .unwrap()
            .confirms(&pending)
    };
    assert!(confirms(json!({"isPaid": true, "amount": 1_250_000})));
    assert!(confirms(
        json!({"isPaid": true, "amount": 1_250_000, "clientRefId": CLIENT_REF_ID})
    ));
    assert!(!confirms(json!({"isPaid": false, "amount": 1_250_000})));
    assert!(!confirms(json!({"isPaid": true, "amount": 1_250_001})));
    assert!(!confirms(json!({"isPaid": true, "amount": 12_500_000})));
    assert!(!confirms(json!({"isPaid": true})));
    assert!(!confirms(
        json!({"isPaid": true, "amount": 1_250_000, "clientRefId": "order-1043"})
    ));
    let other_code = ReportPayment::new(&config(), &PaymentCode::new("other").unwrap())
        .parse_response(answer(200, r#"{"isPaid":true,"amount":1250000}"#))
        .unwrap();
    assert!(!other_code.confirms(&pending));
}

#[test]
fn report_in_rial_mode_reads_the_amount_in_rial() {
    let report = ReportPayment::new(&rial_config(), &code())
        .parse_response(answer(200, r#"{"amount":12500000,"isPaid":true}"#))
        .unwrap();
    assert_eq!(report.amount(), Some(amount(TOMAN)));
    assert!(report.confirms(&pending_with(&rial_config(), TOMAN)));
    assert!(!report.confirms(&pending()));
}
