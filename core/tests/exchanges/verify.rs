//! Verify: the request, part by part, and every answer.

use super::*;

#[test]
fn verify_request_is_the_one_the_spec_describes() {
    let exchange = verify();
    assert_eq!(exchange.kind(), ExchangeKind::Verify);
    // A driver's logs and traces name the payment a verify concerns.
    assert_eq!(exchange.payment_code(), Some(&code()));
    let request = exchange.to_request().unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri(), "https://api.payping.ir/v2/pay/verify");
    assert_headers(&request, true);
    let parsed: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(parsed, json!({"refId": REF_ID, "amount": 1_250_000}));
    assert_eq!(
        body_text(&request),
        r#"{"refId":"1234567890","amount":1250000}"#
    );
    assert_eq!(
        schema_problems("VerifyPaymentViewModel", request.body()),
        Vec::<String>::new()
    );
}

#[test]
fn verify_200_for_the_stored_amount_is_verified() {
    let body =
        r#"{"amount":1250000,"cardNumber":"603799******1234","cardHashPan":"E3B0C44298FC1C14"}"#;
    let outcome = verify().parse_response(answer(200, body)).unwrap();
    assert_eq!(outcome.code().as_str(), CODE);
    assert_eq!(outcome.request_id(), request_id().as_ref());
    let VerifyOutcome::Verified(verified) = outcome else {
        panic!("expected Verified");
    };
    assert_eq!(verified.amount(), amount(TOMAN));
    assert_eq!(verified.ref_id().as_str(), REF_ID);
    assert_eq!(verified.code().as_str(), CODE);
    assert_eq!(
        verified.card_number().map(|c| c.as_str()),
        Some("603799******1234")
    );
    assert_eq!(
        verified.card_hash().map(|c| c.as_str()),
        Some("E3B0C44298FC1C14")
    );
    assert_eq!(verified.request_id(), request_id().as_ref());
}

#[test]
fn verify_200_without_or_with_empty_card_fields_and_with_extras() {
    for body in [
        r#"{"amount":1250000}"#,
        r#"{"amount":1250000,"cardNumber":"","cardHashPan":""}"#,
        r#"{"amount":1250000,"cardNumber":null,"cardHashPan":null}"#,
        r#"{"isPaid":true,"amount":1250000,"refId":"x","wage":12,"extra":{"a":[1,2]}}"#,
    ] {
        let outcome = verify().parse_response(answer(200, body)).unwrap();
        let VerifyOutcome::Verified(verified) = outcome else {
            panic!("expected Verified for {body}");
        };
        assert_eq!(verified.card_number(), None, "{body}");
        assert_eq!(verified.card_hash(), None, "{body}");
    }
}

#[test]
fn verify_200_for_another_amount_is_an_amount_mismatch() {
    for received in [1_249_999, 1_250_001, 125_000, 12_500_000, 0] {
        let body = format!(r#"{{"amount":{received},"cardNumber":"603799******1234"}}"#);
        let error = verify().parse_response(answer(200, body)).unwrap_err();
        assert_eq!(
            error,
            Error::AmountMismatch {
                expected: amount(TOMAN),
                received,
                request_id: request_id(),
            }
        );
        assert!(!error.is_retryable(), "never retry into a wrong amount");
        assert_eq!(error.status(), Some(StatusCode::OK));
    }
}

#[test]
fn verify_200_numbers_out_of_range_or_of_the_wrong_type_are_malformed() {
    for (body, rule) in [
        (r#"{"amount":-1250000}"#, "u64"),
        (r#"{"amount":18446744073709551616}"#, "u64"),
        (r#"{"amount":1250000.5}"#, "u64"),
        (r#"{"amount":1250000.0}"#, "u64"),
        (r#"{"amount":1.25e6}"#, "u64"),
        (r#"{"amount":"1250000"}"#, "u64"),
        (r#"{"amount":null}"#, "u64"),
        (r#"{"amount":true}"#, "u64"),
        (
            r#"{"cardNumber":"603799******1234"}"#,
            "missing field `amount`",
        ),
        // serde's derived structs take an array of the fields in order; PayPing sends objects.
        ("[1250000]", "JSON object"),
        (r#"[1250000,"603799******1234","ab"]"#, "JSON object"),
        // A duplicate key is ambiguous: which amount was verified?
        (r#"{"amount":1250000,"amount":1}"#, "`amount`"),
        (r#"{"amount":1,"amount":1250000}"#, "`amount`"),
        (r#"{"amount":12500"#, "EOF"),
        ("<html><body>OK</body></html>", "expected value"),
        ("", "empty"),
    ] {
        let error = verify().parse_response(answer(200, body)).unwrap_err();
        assert_malformed(&error, 200, body.as_bytes(), rule);
    }
}

#[test]
fn verify_200_with_mangled_card_fields_is_still_verified() {
    // PayPing has verified the payment by the time it answers 200 for the right amount: a
    // card field of the wrong type or with a control character is dropped, never turned
    // into an error that would make the shop refuse a paid order.
    for body in [
        r#"{"amount":1250000,"cardNumber":6037991234,"cardHashPan":"ab"}"#,
        r#"{"amount":1250000,"cardNumber":"6037\n99","cardHashPan":["x"]}"#,
    ] {
        let VerifyOutcome::Verified(v) = verify().parse_response(answer(200, body)).unwrap() else {
            panic!("expected Verified for {body}");
        };
        assert_eq!(v.amount(), amount(TOMAN));
        assert_eq!(v.card_number(), None, "{body}");
    }
}

#[test]
fn verify_400_code_15_is_already_verified() {
    let outcome = verify()
        .parse_response(answer(400, r#"{"15":"این تراکنش قبلا تایید شده است"}"#))
        .unwrap();
    assert_eq!(outcome.request_id(), request_id().as_ref());
    let VerifyOutcome::AlreadyVerified(already) = outcome else {
        panic!("expected AlreadyVerified");
    };
    assert_eq!(already.code().as_str(), CODE);
    assert_eq!(already.ref_id().as_str(), REF_ID);
    assert_eq!(already.amount(), amount(TOMAN));
    assert_eq!(already.message(), "این تراکنش قبلا تایید شده است");
    assert_eq!(already.request_id(), request_id().as_ref());
}

#[test]
fn verify_400_other_payment_codes_are_rejections() {
    for (number, code) in [
        (1, PayPingCode::CancelledByBuyer),
        (39, PayPingCode::PaymentFailedRefunded),
        (44, PayPingCode::InvalidRefId),
        (46, PayPingCode::TokenMismatch),
        (47, PayPingCode::AmountMismatch),
    ] {
        let body = format!(r#"{{"{number}":"پیام"}}"#);
        let error = verify().parse_response(answer(400, body)).unwrap_err();
        assert_eq!(error.code(), Some(code));
        assert!(!error.is_retryable());
    }
}

#[test]
fn a_forged_callback_is_refused_before_any_request() {
    let pending = pending();
    let mismatch =
        |form: &str| VerifyPayment::new(&config(), &pending, &callback(form)).unwrap_err();
    assert_eq!(
        mismatch("code=ffff000011&refid=1&clientrefid=order-1042"),
        Error::CallbackMismatch {
            field: Field::PaymentCode,
            expected: CODE.into(),
            received: "ffff000011".into(),
        }
    );
    assert_eq!(
        mismatch("code=82a4f72b91&refid=1&clientrefid=order-1043"),
        Error::CallbackMismatch {
            field: Field::ClientRefId,
            expected: CLIENT_REF_ID.into(),
            received: "order-1043".into(),
        }
    );
    // Case matters: the shop's own reference is compared exactly.
    assert_eq!(
        mismatch("code=82a4f72b91&refid=1&clientrefid=ORDER-1042"),
        Error::CallbackMismatch {
            field: Field::ClientRefId,
            expected: CLIENT_REF_ID.into(),
            received: "ORDER-1042".into(),
        }
    );
    for missing in [
        "code=82a4f72b91&refid=1",
        "code=82a4f72b91&refid=1&clientrefid=",
    ] {
        assert_eq!(
            mismatch(missing),
            Error::CallbackMismatch {
                field: Field::ClientRefId,
                expected: CLIENT_REF_ID.into(),
                received: String::new(),
            }
        );
    }
    let error = mismatch("code=82a4f72b91&refid=1&clientrefid=order-1043");
    assert!(!error.is_retryable());
    assert_eq!(error.status(), None);
    assert_eq!(error.request_id(), None);
}

#[test]
fn verify_sends_the_unit_stored_in_pending_whatever_the_config_says_later() {
    // Created in Rial mode: the record remembers Rial.
    let rial_pending = pending_with(&rial_config(), TOMAN);
    assert_eq!(rial_pending.wire_unit(), AmountUnit::Rial);
    let create_body: Value =
        serde_json::from_slice(create(&rial_config(), TOMAN).to_request().unwrap().body()).unwrap();
    assert_eq!(create_body["amount"], json!(12_500_000));
    for later in [rial_config(), config()] {
        let exchange = verify_with(&later, &rial_pending);
        let body: Value = serde_json::from_slice(exchange.to_request().unwrap().body()).unwrap();
        assert_eq!(body, json!({"refId": REF_ID, "amount": 12_500_000}));
        // PayPing answers in the same unit; the Toman number would be a mismatch.
        let outcome = exchange
            .parse_response(answer(200, r#"{"amount":12500000}"#))
            .unwrap();
        assert!(matches!(outcome, VerifyOutcome::Verified(v) if v.amount() == amount(TOMAN)));
        assert_eq!(
            exchange
                .parse_response(answer(200, r#"{"amount":1250000}"#))
                .unwrap_err(),
            Error::AmountMismatch {
                expected: amount(TOMAN),
                received: 1_250_000,
                request_id: request_id(),
            }
        );
    }
    // And the other way round: created in Toman, verified under a Rial config.
    let exchange = verify_with(&rial_config(), &pending());
    let body: Value = serde_json::from_slice(exchange.to_request().unwrap().body()).unwrap();
    assert_eq!(body["amount"], json!(1_250_000));
}

#[test]
fn verify_from_a_ref_id_sends_the_stored_amount() {
    let exchange =
        VerifyPayment::from_ref_id(&config(), &pending(), RefId::new("999").unwrap()).unwrap();
    assert_eq!(
        body_text(&exchange.to_request().unwrap()),
        r#"{"refId":"999","amount":1250000}"#
    );
    assert_eq!(exchange.code(), pending().code());
    assert_eq!(exchange.amount(), pending().amount());
    assert_eq!(exchange.ref_id().as_str(), "999");
}

/// v2's verify takes a refId and an amount and answers with the amount alone: no answer of
/// it names which payment was verified, so none says it named this record's (issue 20:
/// another order's refid at the same price verifies that order's payment).
#[test]
fn no_v2_verify_answer_names_the_payment() {
    for (status, body) in [
        (200, r#"{"amount":1250000}"#.to_owned()),
        (
            200,
            r#"{"amount":1250000,"cardNumber":"603799******1234","cardHashPan":"E3B0"}"#.to_owned(),
        ),
        // A `code` beside the amount is no v2 field: it names nothing.
        (200, format!(r#"{{"amount":1250000,"code":"{CODE}"}}"#)),
        (400, r#"{"15":"این تراکنش قبلا تایید شده است"}"#.to_owned()),
    ] {
        let outcome = verify()
            .parse_response(answer(status, body.clone()))
            .unwrap();
        assert!(!outcome.names_payment(), "{status} {body}");
        match &outcome {
            VerifyOutcome::Verified(v) => assert!(!v.names_payment(), "{body}"),
            VerifyOutcome::AlreadyVerified(v) => assert!(!v.names_payment(), "{body}"),
        }
    }
}
