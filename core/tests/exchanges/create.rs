//! Create: the request, part by part, and every answer.

use super::*;

#[test]
fn create_request_is_the_one_the_spec_describes() {
    let exchange = create(&config(), TOMAN);
    assert_eq!(exchange.kind(), ExchangeKind::Create);
    let request = exchange.to_request().unwrap();
    assert_eq!(request.method(), Method::POST);
    assert_eq!(request.uri(), "https://api.payping.ir/v2/pay");
    assert_headers(&request, true);
    let parsed: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(
        parsed,
        json!({
            "amount": 1_250_000,
            "payerIdentity": "09123456789",
            "payerName": "زهرا محمدی",
            "description": "سفارش ۱۰۴۲",
            "returnUrl": "https://shop.example/ghesta/callback?order=1042",
            "clientRefId": "order-1042",
        })
    );
    // Field order and casing as in the spec; Persian text and `/` unescaped.
    assert_eq!(
        body_text(&request),
        r#"{"amount":1250000,"payerIdentity":"09123456789","payerName":"زهرا محمدی","description":"سفارش ۱۰۴۲","returnUrl":"https://shop.example/ghesta/callback?order=1042","clientRefId":"order-1042"}"#
    );
    assert_eq!(
        schema_problems("CreatePaymentViewModel", request.body()),
        Vec::<String>::new()
    );
    // A retry sends the same bytes.
    let again = exchange.to_request().unwrap();
    assert_eq!(again.body(), request.body());
    assert_eq!(again.uri(), request.uri());
}

#[test]
fn create_request_leaves_out_optional_fields_rather_than_sending_null() {
    let exchange = CreatePayment::new(&config(), minimal_payment(100), created_at());
    let request = exchange.to_request().unwrap();
    assert_eq!(
        body_text(&request),
        r#"{"amount":100,"payerIdentity":"09123456789","returnUrl":"https://shop.example/ghesta/callback?order=1042","clientRefId":"order-1042"}"#
    );
    assert_eq!(
        schema_problems("CreatePaymentViewModel", request.body()),
        Vec::<String>::new()
    );
}

#[test]
fn create_200_gives_the_pending_record() {
    let pending = create(&config(), TOMAN)
        .parse_response(answer(200, r#"{"code":"82a4f72b91"}"#))
        .unwrap();
    assert_eq!(pending.code().as_str(), CODE);
    assert_eq!(pending.client_ref_id().as_str(), CLIENT_REF_ID);
    assert_eq!(pending.amount(), amount(TOMAN));
    assert_eq!(pending.wire_unit(), AmountUnit::Toman);
    assert_eq!(pending.created_at(), created_at());
    assert_eq!(
        pending.redirect_url().as_str(),
        "https://payping.ir/installment/82a4f72b91?type=ghesta"
    );
    assert_eq!(pending.request_id(), request_id().as_ref());
}

#[test]
fn create_200_ignores_extra_fields() {
    let body = r#"{"url":"https://payping.ir/x","code":"82a4f72b91","expire":600,"x":{"y":[1]}}"#;
    let pending = create(&config(), TOMAN)
        .parse_response(answer(200, body))
        .unwrap();
    assert_eq!(pending.code().as_str(), CODE);
}

#[test]
fn create_200_that_is_not_a_payment_result_is_malformed() {
    let exchange = create(&config(), TOMAN);
    for (body, rule) in [
        ("", "empty"),
        ("<html><body>OK</body></html>", "expected value"),
        (r#"{"code":"82a4f"#, "EOF"),
        (r#"{"code":123}"#, "expected a string"),
        (r#"{"code":null}"#, "expected a string"),
        (r#"{"code":["82a4f72b91"]}"#, "expected a string"),
        (r#"["82a4f72b91"]"#, "JSON object"),
        (r#"{"code":"82a4f72b91","code":"ffff"}"#, "`code`"),
        (r#""82a4f72b91""#, "JSON object"),
        ("{}", "missing field `code`"),
        // PayPing v3's answer shape is not v2's.
        (
            r#"{"paymentCode":"82a4f72b91","url":"https://x"}"#,
            "missing field `code`",
        ),
        // Codes that cannot be a payment code.
        (r#"{"code":""}"#, "empty"),
        (r#"{"code":".."}"#, "`..`"),
        (r#"{"code":"a\nb"}"#, "control"),
        (r#"{"code":"a\u202eb"}"#, "control"),
    ] {
        let error = exchange.parse_response(answer(200, body)).unwrap_err();
        assert_malformed(&error, 200, body.as_bytes(), rule);
    }
    let long = format!(r#"{{"code":"{}"}}"#, "a".repeat(65));
    let error = exchange
        .parse_response(answer(200, long.as_str()))
        .unwrap_err();
    assert_malformed(&error, 200, long.as_bytes(), "longer than 64");
}

#[test]
fn create_400_code_15_is_a_plain_rejection() {
    // Only verify gives 15 its own outcome.
    let error = create(&config(), TOMAN)
        .parse_response(answer(400, r#"{"15":"قبلا تایید شده"}"#))
        .unwrap_err();
    assert_eq!(error.code(), Some(PayPingCode::AlreadyVerified));
}

#[test]
fn create_with_another_gateway_url_redirects_there() {
    let config = config().with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9090").unwrap());
    let pending = create(&config, TOMAN)
        .parse_response(answer(200, r#"{"code":"a b/c"}"#))
        .unwrap();
    assert_eq!(
        pending.redirect_url().as_str(),
        "http://127.0.0.1:9090/installment/a%20b%2Fc?type=ghesta"
    );
}
