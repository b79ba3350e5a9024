//! The four PayPing exchanges on the wire: each request compared part by part with the one
//! PayPing's spec describes (and checked against the spec's schemas, kept in
//! `tests/data/payping-spec-constraints.json`), and each answer PayPing or a proxy in front
//! of it can give parsed into the exact result or [`Error`] variant.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use ghesta_core::http::{self, HeaderMap, Method, StatusCode};
use ghesta_core::{
    Amount, AmountUnit, BaseUrl, BodySnippet, Callback, CancelPayment, ClientRefId,
    CompletedCallback, Config, CreatePayment, Description, ErrorKey, Exchange, ExchangeKind,
    MAX_TOMAN, MIN_TOMAN, Mobile, NewPayment, PayPingCode, PayerName, PaymentCode, Pending,
    REQUEST_ID_HEADER, RefId, ReportPayment, RequestId, ReturnUrl, Token, VerifyOutcome,
    VerifyPayment,
};
use ghesta_core::{Error, HttpRequest};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Value, json};

const TOKEN: &str = "pp-test-token-6f1c0a";
const ID: &str = "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";
const CODE: &str = "82a4f72b91";
const REF_ID: &str = "1234567890";
const CLIENT_REF_ID: &str = "order-1042";
const TOMAN: u64 = 1_250_000;

// ---------------------------------------------------------------------------------------
// The spec's schemas and a checker small enough to trust by reading.
// ---------------------------------------------------------------------------------------

const SPEC: &str = include_str!("data/payping-spec-constraints.json");

#[derive(Deserialize)]
struct Spec {
    #[serde(rename = "_source")]
    source: String,
    schemas: HashMap<String, Schema>,
}

#[derive(Deserialize)]
struct Schema {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: Vec<String>,
    properties: Ordered<Property>,
}

#[derive(Deserialize)]
struct Property {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    minimum: Option<i64>,
    #[serde(default)]
    maximum: Option<i64>,
}

/// A JSON object's entries in document order (serde_json's `Value` may sort its keys).
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

fn spec() -> Spec {
    serde_json::from_str(SPEC).expect("the spec constraints file is valid JSON")
}

/// Every way `body` breaks the spec's schema `name`: a required field missing, a field the
/// spec does not know (which also catches wrong casing), a wrong JSON type, an integer out
/// of `int32` or of the schema's minimum/maximum, or fields out of the spec's order.
fn schema_problems(name: &str, body: &[u8]) -> Vec<String> {
    let spec = spec();
    let schema = &spec.schemas[name];
    assert_eq!(schema.kind, "object");
    let Ok(fields) = serde_json::from_slice::<Ordered<Value>>(body) else {
        return vec![format!(
            "not a JSON object: {}",
            String::from_utf8_lossy(body)
        )];
    };
    let mut problems = Vec::new();
    for required in &schema.required {
        if !fields.0.iter().any(|(k, _)| k == required) {
            problems.push(format!("{required}: required but missing"));
        }
    }
    let mut last_position = 0;
    for (key, value) in &fields.0 {
        let Some(position) = schema.properties.0.iter().position(|(k, _)| k == key) else {
            problems.push(format!("{key}: not a field of {name}"));
            continue;
        };
        if position < last_position {
            problems.push(format!("{key}: out of the spec's field order"));
        }
        last_position = position;
        let property = &schema.properties.0[position].1;
        match property.kind.as_str() {
            "string" if !value.is_string() => problems.push(format!("{key}: not a string")),
            "boolean" if !value.is_boolean() => problems.push(format!("{key}: not a boolean")),
            "integer" => {
                let n = value
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| value.as_u64().map(i128::from));
                let Some(n) = n else {
                    problems.push(format!("{key}: not an integer"));
                    continue;
                };
                if property.format.as_deref() == Some("int32") && i32::try_from(n).is_err() {
                    problems.push(format!("{key}: {n} does not fit int32"));
                }
                if property.minimum.is_some_and(|min| n < i128::from(min)) {
                    problems.push(format!("{key}: {n} is below the minimum"));
                }
                if property.maximum.is_some_and(|max| n > i128::from(max)) {
                    problems.push(format!("{key}: {n} is above the maximum"));
                }
            }
            "string" | "boolean" => {}
            other => problems.push(format!("{key}: the checker does not know type {other}")),
        }
    }
    problems
}

#[test]
fn spec_constraints_name_their_source_and_hold_the_documented_facts() {
    let spec = spec();
    assert!(spec.source.contains("payping/API-Documents"));
    assert!(spec.source.contains("spec/openapi.json"));
    for name in [
        "CreatePaymentViewModel",
        "VerifyPaymentViewModel",
        "PaymentResult",
        "VerifyResult",
        "PaymentDetailsViewModel",
    ] {
        assert!(spec.schemas.contains_key(name), "{name}");
    }
    let create = &spec.schemas["CreatePaymentViewModel"];
    assert_eq!(create.required, ["amount", "returnUrl"]);
    let keys: Vec<_> = create
        .properties
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "amount",
            "payerIdentity",
            "payerName",
            "description",
            "returnUrl",
            "clientRefId"
        ]
    );
    let amount = &create.properties.0[0].1;
    assert_eq!(amount.kind, "integer");
    // The crate's bounds are the spec's.
    assert_eq!(amount.minimum, Some(i64::from(MIN_TOMAN)));
    assert_eq!(amount.maximum, Some(i64::from(MAX_TOMAN)));
    assert_eq!(
        spec.schemas["VerifyPaymentViewModel"].required,
        ["amount", "refId"]
    );
}

/// The checker must be able to fail, or the tests that use it prove nothing.
#[test]
fn schema_checker_finds_each_kind_of_problem() {
    let create = "CreatePaymentViewModel";
    assert_eq!(
        schema_problems(create, br#"{"amount":100,"returnUrl":"https://a.example"}"#),
        Vec::<String>::new()
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100}"#),
        ["returnUrl: required but missing"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100,"ReturnUrl":"x","returnUrl":"x"}"#),
        ["ReturnUrl: not a field of CreatePaymentViewModel"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":"100","returnUrl":7}"#),
        ["amount: not an integer", "returnUrl: not a string"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100.5,"returnUrl":"x"}"#),
        ["amount: not an integer"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":99,"returnUrl":"x"}"#),
        ["amount: 99 is below the minimum"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":3000000000,"returnUrl":"x"}"#),
        [
            "amount: 3000000000 does not fit int32",
            "amount: 3000000000 is above the maximum"
        ]
    );
    assert_eq!(
        schema_problems(create, br#"{"returnUrl":"x","amount":100}"#),
        ["amount: out of the spec's field order"]
    );
    assert_eq!(
        schema_problems("VerifyPaymentViewModel", b"[1]"),
        ["not a JSON object: [1]"]
    );
}

// ---------------------------------------------------------------------------------------
// Builders and answers.
// ---------------------------------------------------------------------------------------

fn config() -> Config {
    Config::new(Token::new(TOKEN).unwrap())
}

fn rial_config() -> Config {
    config().with_amount_unit(AmountUnit::Rial)
}

fn created_at() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_478_800)
}

fn amount(toman: u64) -> Amount {
    Amount::from_toman(toman).unwrap()
}

fn minimal_payment(toman: u64) -> NewPayment {
    NewPayment::new(
        amount(toman),
        ReturnUrl::new("https://shop.example/ghesta/callback?order=1042").unwrap(),
        ClientRefId::new(CLIENT_REF_ID).unwrap(),
        // As a buyer types it: Persian digits and spaces.
        Mobile::new("۰۹۱۲ ۳۴۵ ۶۷۸۹").unwrap(),
    )
}

fn full_payment(toman: u64) -> NewPayment {
    minimal_payment(toman)
        .with_payer_name(PayerName::new("زهرا محمدی").unwrap())
        .with_description(Description::new("سفارش ۱۰۴۲").unwrap())
}

fn create(config: &Config, toman: u64) -> CreatePayment {
    CreatePayment::new(config, full_payment(toman), created_at())
}

/// An answer as PayPing gives it: status, body, and its request id header.
fn answer(status: u16, body: impl Into<Vec<u8>>) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header(REQUEST_ID_HEADER, ID)
        .body(body.into())
        .unwrap()
}

fn request_id() -> Option<RequestId> {
    let mut headers = HeaderMap::new();
    headers.insert(REQUEST_ID_HEADER, ID.parse().unwrap());
    RequestId::from_headers(&headers)
}

fn pending_with(config: &Config, toman: u64) -> Pending {
    let exchange = create(config, toman);
    exchange
        .parse_response(answer(200, format!(r#"{{"code":"{CODE}"}}"#)))
        .unwrap()
}

fn pending() -> Pending {
    pending_with(&config(), TOMAN)
}

/// A record of `config`'s gateway whose payment code is `code`.
fn pending_of(config: &Config, code: &PaymentCode) -> Pending {
    let body = serde_json::json!({ "code": code.as_str() }).to_string();
    create(config, TOMAN)
        .parse_response(answer(200, body))
        .unwrap()
}

fn callback(form: &str) -> CompletedCallback {
    match Callback::from_form(form.as_bytes()).unwrap() {
        Callback::Completed(callback) => callback,
        Callback::Cancelled(c) => panic!("expected a completed callback, got {c:?}"),
    }
}

fn good_callback() -> CompletedCallback {
    callback(&format!(
        "code={CODE}&refid={REF_ID}&clientrefid={CLIENT_REF_ID}&cardnumber=&cardhashpan="
    ))
}

fn verify_with(config: &Config, pending: &Pending) -> VerifyPayment {
    VerifyPayment::new(config, pending, &good_callback()).unwrap()
}

fn verify() -> VerifyPayment {
    verify_with(&config(), &pending())
}

fn code() -> PaymentCode {
    PaymentCode::new(CODE).unwrap()
}

fn cancel() -> CancelPayment {
    CancelPayment::new(&config(), &pending_of(&config(), &code()))
}

fn report() -> ReportPayment {
    ReportPayment::new(&config(), &code())
}

/// Checks the headers PayPing expects, and no others: `Accept` and `Authorization` always,
/// `Content-Type` only with a body.
fn assert_headers(request: &HttpRequest, has_body: bool) {
    let headers = request.headers();
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["authorization"], format!("Bearer {TOKEN}").as_str());
    assert!(
        headers["authorization"].is_sensitive(),
        "http must hide the token from Debug"
    );
    if has_body {
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers.len(), 3, "{headers:?}");
    } else {
        assert!(!headers.contains_key("content-type"));
        assert_eq!(headers.len(), 2, "{headers:?}");
        assert!(request.body().is_empty());
    }
}

fn body_text(request: &HttpRequest) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Requests, part by part.
// ---------------------------------------------------------------------------------------

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
fn verify_request_is_the_one_the_spec_describes() {
    let exchange = verify();
    assert_eq!(exchange.kind(), ExchangeKind::Verify);
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
fn cancel_request_is_a_bodiless_delete_of_the_code() {
    let exchange = cancel();
    assert_eq!(exchange.kind(), ExchangeKind::Cancel);
    let request = exchange.to_request().unwrap();
    assert_eq!(request.method(), Method::DELETE);
    assert_eq!(request.uri(), "https://api.payping.ir/v2/pay/82a4f72b91");
    assert_headers(&request, false);
}

#[test]
fn report_request_is_a_bodiless_get_of_the_code() {
    let exchange = report();
    assert_eq!(exchange.kind(), ExchangeKind::Report);
    let request = exchange.to_request().unwrap();
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri(), "https://api.payping.ir/v1/report/82a4f72b91");
    assert_headers(&request, false);
}

#[test]
fn a_code_stays_one_path_segment() {
    let odd = PaymentCode::new("a/../b?c=d#e f%").unwrap();
    let cancel = CancelPayment::new(&config(), &pending_of(&config(), &odd))
        .to_request()
        .unwrap();
    assert_eq!(
        cancel.uri(),
        "https://api.payping.ir/v2/pay/a%2F..%2Fb%3Fc%3Dd%23e%20f%25"
    );
    assert_eq!(cancel.uri().query(), None);
    let report = ReportPayment::new(&config(), &odd).to_request().unwrap();
    assert_eq!(
        report.uri(),
        "https://api.payping.ir/v1/report/a%2F..%2Fb%3Fc%3Dd%23e%20f%25"
    );
    let persian = PaymentCode::new("کد").unwrap();
    let report = ReportPayment::new(&config(), &persian)
        .to_request()
        .unwrap();
    assert_eq!(report.uri().path(), "/v1/report/%DA%A9%D8%AF");
}

#[test]
fn requests_go_to_the_configured_api_url() {
    let sandbox = config().with_api_url(BaseUrl::api("http://127.0.0.1:8080/").unwrap());
    let pending = pending_with(&sandbox, TOMAN);
    let uris = [
        create(&sandbox, TOMAN).to_request().unwrap().uri().clone(),
        verify_with(&sandbox, &pending)
            .to_request()
            .unwrap()
            .uri()
            .clone(),
        CancelPayment::new(&sandbox, &pending_of(&sandbox, &code()))
            .to_request()
            .unwrap()
            .uri()
            .clone(),
        ReportPayment::new(&sandbox, &code())
            .to_request()
            .unwrap()
            .uri()
            .clone(),
    ];
    assert_eq!(
        uris.map(|u| u.to_string()),
        [
            "http://127.0.0.1:8080/v2/pay",
            "http://127.0.0.1:8080/v2/pay/verify",
            "http://127.0.0.1:8080/v2/pay/82a4f72b91",
            "http://127.0.0.1:8080/v1/report/82a4f72b91",
        ]
    );
    let proxied = config().with_api_url(BaseUrl::api("https://proxy.example/payping").unwrap());
    assert_eq!(
        create(&proxied, TOMAN).to_request().unwrap().uri(),
        "https://proxy.example/payping/v2/pay"
    );
}

#[test]
fn the_token_shows_only_in_the_authorization_header() {
    let request = create(&config(), TOMAN).to_request().unwrap();
    let shown = [
        format!("{request:?}"),
        format!("{:?}", create(&config(), TOMAN)),
        format!("{:?}", verify()),
        format!("{:?}", cancel()),
        format!("{:?}", report()),
        format!("{:?}", config()),
    ];
    for text in shown {
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[test]
fn every_request_body_fits_the_spec_in_toman() {
    let config = config();
    for toman in [
        u64::from(MIN_TOMAN),
        101,
        5_000_000,
        5_000_001,
        u64::from(MAX_TOMAN),
    ] {
        for payment in [minimal_payment(toman), full_payment(toman)] {
            let body = CreatePayment::new(&config, payment, created_at())
                .to_request()
                .unwrap()
                .into_body();
            assert_eq!(
                schema_problems("CreatePaymentViewModel", &body),
                Vec::<String>::new(),
                "{toman}"
            );
        }
        let body = verify_with(&config, &pending_with(&config, toman))
            .to_request()
            .unwrap()
            .into_body();
        assert_eq!(
            schema_problems("VerifyPaymentViewModel", &body),
            Vec::<String>::new(),
            "{toman}"
        );
    }
}

/// Rial mode exists because Ghesta's guide claims PayPing takes Rial; PayPing's spec (all
/// amounts in Toman, 100..=50,000,000) and its own Ghesta plugin say Toman, so Rial is off
/// by default. In Rial mode the wire number is ten times the Toman amount, and so breaks
/// the spec's Toman range for amounts above 5,000,000 Toman: only in Rial mode.
#[test]
fn rial_mode_sends_ten_times_and_only_it_exceeds_the_spec_range() {
    assert_eq!(
        config().amount_unit(),
        AmountUnit::Toman,
        "Toman by default"
    );
    let rial = rial_config();
    let wire = |config: &Config, toman: u64| -> (Value, Value) {
        let create: Value =
            serde_json::from_slice(create(config, toman).to_request().unwrap().body()).unwrap();
        let verify: Value = serde_json::from_slice(
            verify_with(config, &pending_with(config, toman))
                .to_request()
                .unwrap()
                .body(),
        )
        .unwrap();
        (create["amount"].clone(), verify["amount"].clone())
    };
    assert_eq!(wire(&rial, 12_345), (json!(123_450), json!(123_450)));
    assert_eq!(wire(&config(), 12_345), (json!(12_345), json!(12_345)));

    for toman in [100, 5_000_000] {
        let body = create(&rial, toman).to_request().unwrap().into_body();
        assert_eq!(
            schema_problems("CreatePaymentViewModel", &body),
            Vec::<String>::new()
        );
    }
    let max = u64::from(MAX_TOMAN);
    let create_body = create(&rial, max).to_request().unwrap().into_body();
    assert_eq!(
        schema_problems("CreatePaymentViewModel", &create_body),
        ["amount: 500000000 is above the maximum"]
    );
    let verify_body = verify_with(&rial, &pending_with(&rial, max))
        .to_request()
        .unwrap()
        .into_body();
    assert_eq!(
        schema_problems("VerifyPaymentViewModel", &verify_body),
        ["amount: 500000000 is above the maximum"]
    );
    let toman_body = create(&config(), max).to_request().unwrap().into_body();
    assert_eq!(
        schema_problems("CreatePaymentViewModel", &toman_body),
        Vec::<String>::new()
    );
}

// ---------------------------------------------------------------------------------------
// Answers every exchange shares: errors by status, request ids, snippets.
// ---------------------------------------------------------------------------------------

/// Parses `response` with each of the four exchanges, each expecting an error.
#[test]
fn retry_after_is_kept_on_statuses_that_mean_later() {
    for status in [503, 429] {
        let mut response = answer(status, "");
        response
            .headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("7"));
        for (kind, error) in errors_of_all(&response) {
            assert_eq!(
                error.retry_after(),
                Some(Duration::from_secs(7)),
                "{kind:?} {status}"
            );
        }
    }
    let mut response = answer(400, r#"{"25":"later"}"#);
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("7"));
    for (kind, error) in errors_of_all(&response) {
        assert_eq!(
            error.retry_after(),
            None,
            "{kind:?}: a 400 names its own code"
        );
    }
}

fn errors_of_all(response: &http::Response<Vec<u8>>) -> Vec<(ExchangeKind, Error)> {
    fn err<E: Exchange>(exchange: &E, response: &http::Response<Vec<u8>>) -> (ExchangeKind, Error)
    where
        E::Output: fmt::Debug,
    {
        let kind = exchange.kind();
        match exchange.parse_response(response.clone()) {
            Err(error) => (kind, error),
            Ok(output) => panic!("{kind:?} accepted {response:?} as {output:?}"),
        }
    }
    vec![
        err(&create(&config(), TOMAN), response),
        err(&verify(), response),
        err(&cancel(), response),
        err(&report(), response),
    ]
}

const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[test]
fn status_401_and_403_with_empty_bodies_are_unauthorized() {
    for status in [401, 403] {
        for (kind, error) in errors_of_all(&answer(status, "")) {
            assert_eq!(
                error,
                Error::Unauthorized {
                    status: StatusCode::from_u16(status).unwrap(),
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert!(!error.is_retryable());
            assert!(!error.to_string().contains(TOKEN));
            assert!(error.to_string().contains(ID), "{error}");
        }
    }
}

#[test]
fn status_404_is_not_found() {
    for body in ["", r#"{"message":"not found"}"#] {
        for (kind, error) in errors_of_all(&answer(404, body)) {
            assert_eq!(
                error,
                Error::NotFound {
                    request_id: request_id()
                },
                "{kind:?}"
            );
            assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
            assert!(!error.is_retryable());
        }
    }
}

#[test]
fn status_5xx_is_unavailable_and_retryable() {
    for (status, body) in [(500, ""), (503, "Service Unavailable"), (502, NGINX_502)] {
        for (kind, error) in errors_of_all(&answer(status, body)) {
            assert_eq!(
                error,
                Error::Unavailable {
                    status: StatusCode::from_u16(status).unwrap(),
                    snippet: BodySnippet::of(body.as_bytes()),
                    retry_after: None,
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert!(error.is_retryable(), "{kind:?} {status}");
        }
    }
}

#[test]
fn a_proxy_html_page_is_kept_as_a_bounded_log_safe_snippet() {
    let big = format!("{NGINX_502}{}", "<!-- padding -->\n".repeat(2000));
    let Error::Unavailable { snippet, .. } = &errors_of_all(&answer(504, big.as_str()))[0].1 else {
        panic!("expected Unavailable");
    };
    assert_eq!(snippet.total_len(), big.len());
    assert!(snippet.as_str().len() <= 256);
    assert!(
        snippet
            .as_str()
            .starts_with("<html>  <head><title>502 Bad Gateway")
    );
    assert!(!snippet.as_str().contains(['\r', '\n']));
    let Error::Unavailable { snippet, .. } = &errors_of_all(&answer(502, NGINX_502))[1].1 else {
        panic!("expected Unavailable");
    };
    assert!(snippet.as_str().contains("nginx"));
}

#[test]
fn other_statuses_are_unexpected_and_redirects_are_not_followed() {
    for (status, retryable) in [(302, false), (301, false), (405, false), (429, true)] {
        let mut response = answer(status, "moved");
        response
            .headers_mut()
            .insert("location", "https://evil.example/".parse().unwrap());
        for (kind, error) in errors_of_all(&response) {
            assert_eq!(
                error,
                Error::UnexpectedStatus {
                    status: StatusCode::from_u16(status).unwrap(),
                    snippet: BodySnippet::of(b"moved"),
                    retry_after: None,
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert_eq!(error.is_retryable(), retryable, "{status}");
        }
    }
}

fn rejection(error: &Error) -> &ghesta_core::Rejection {
    match error {
        Error::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn status_400_with_a_code_map() {
    let body = r#"{"26":"کد پرداخت پیدا نشد"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{kind:?}");
        assert_eq!(r.code(), Some(PayPingCode::PaymentCodeNotFound));
        assert_eq!(r.message(), Some("کد پرداخت پیدا نشد"));
        assert_eq!(r.entries().len(), 1);
        assert_eq!(r.request_id(), request_id().as_ref());
        assert_eq!(error.code(), Some(PayPingCode::PaymentCodeNotFound));
        assert_eq!(error.request_id(), request_id().as_ref());
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_a_field_map() {
    let body = r#"{"amount":"مبلغ باید بین 100 تا 50000000 باشد"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        assert_eq!(r.code(), None, "{kind:?}");
        assert_eq!(r.entries()[0].key, ErrorKey::Field("amount".into()));
        assert_eq!(r.message(), Some("مبلغ باید بین 100 تا 50000000 باشد"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_several_keys_keeps_them_in_order() {
    let body =
        r#"{"returnUrl":"آدرس نامعتبر","amount":"مبلغ نامعتبر","12":"خطای بانک","25":"موقتا"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        let keys: Vec<_> = r.entries().iter().map(|e| e.key.clone()).collect();
        assert_eq!(
            keys,
            [
                ErrorKey::Field("returnUrl".into()),
                ErrorKey::Field("amount".into()),
                ErrorKey::Code(PayPingCode::BankInternalError),
                ErrorKey::Code(PayPingCode::TemporarilyUnavailable),
            ],
            "{kind:?}"
        );
        // The first code is the one to act on; 12 is not a "try again" code.
        assert_eq!(r.code(), Some(PayPingCode::BankInternalError));
        assert_eq!(r.message(), Some("آدرس نامعتبر"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_an_unknown_code_keeps_it() {
    for (kind, error) in errors_of_all(&answer(400, r#"{"77":"خطای جدید"}"#)) {
        assert_eq!(error.code(), Some(PayPingCode::Other(77)), "{kind:?}");
        assert_eq!(rejection(&error).message(), Some("خطای جدید"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_a_try_again_code_is_retryable() {
    for number in [11, 25, 29, 49] {
        let body = format!(r#"{{"{number}":"دوباره تلاش کنید"}}"#);
        for (kind, error) in errors_of_all(&answer(400, body)) {
            assert_eq!(error.code().map(PayPingCode::number), Some(number));
            assert!(error.is_retryable(), "{kind:?} {number}");
        }
    }
}

/// Asserts a [`Error::MalformedResponse`] with this status, the answer's request id, a
/// snippet of `body`, and a reason naming `rule` (the rule the body breaks: a body refused
/// for another reason proves nothing about that rule; `|` separates wordings that name it).
fn assert_malformed(error: &Error, status: u16, body: &[u8], rule: &str) {
    match error {
        Error::MalformedResponse {
            status: got,
            reason,
            snippet,
            request_id: id,
        } => {
            assert_eq!(got.as_u16(), status);
            assert!(!reason.is_empty() && reason.len() <= 256, "{reason}");
            let named = rule.split('|').any(|rule| reason.contains(rule));
            assert!(named, "{body:?}: {reason:?} does not name {rule:?}");
            assert_eq!(snippet, &BodySnippet::of(body));
            assert_eq!(id, &request_id());
            // A body cut short on a success or 5xx may read whole next time; a 4xx will not.
            let retryable = (200..300).contains(&status) || status >= 500;
            assert_eq!(error.is_retryable(), retryable, "{body:?}");
        }
        other => panic!("expected MalformedResponse for {body:?}, got {other:?}"),
    }
}

#[test]
fn status_400_bodies_that_are_not_error_maps_are_malformed() {
    for (body, rule) in [
        ("", "EOF"),
        ("{}", "empty error object"),
        ("[]", "object"),
        (r#"["15"]"#, "object"),
        (r#""15""#, "object"),
        (r#"{"15":"قبلا"#, "EOF"),
        (r#"{"15":"x"} trailing"#, "trailing"),
        ("<html><body>Bad Request</body></html>", "expected value"),
        ("null", "object"),
    ] {
        for (kind, error) in errors_of_all(&answer(400, body)) {
            assert_malformed(&error, 400, body.as_bytes(), rule);
            let _ = kind;
        }
    }
}

#[test]
fn a_missing_or_unprintable_request_id_is_none_and_any_header_case_is_read() {
    let plain = http::Response::builder()
        .status(401)
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&plain) {
        assert_eq!(error.request_id(), None);
    }
    let lower = http::Response::builder()
        .status(401)
        .header("x-paypingrequest-id", "abc")
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&lower) {
        assert_eq!(error.request_id().map(RequestId::as_str), Some("abc"));
    }
    let long = http::Response::builder()
        .status(401)
        .header(REQUEST_ID_HEADER, "a".repeat(10_000))
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&long) {
        assert_eq!(error.request_id(), None, "an overlong id is dropped");
    }
}

// ---------------------------------------------------------------------------------------
// Create.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Verify.
// ---------------------------------------------------------------------------------------

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
            field: "code",
            expected: CODE.into(),
            received: "ffff000011".into(),
        }
    );
    assert_eq!(
        mismatch("code=82a4f72b91&refid=1&clientrefid=order-1043"),
        Error::CallbackMismatch {
            field: "clientRefId",
            expected: CLIENT_REF_ID.into(),
            received: "order-1043".into(),
        }
    );
    // Case matters: the shop's own reference is compared exactly.
    assert_eq!(
        mismatch("code=82a4f72b91&refid=1&clientrefid=ORDER-1042"),
        Error::CallbackMismatch {
            field: "clientRefId",
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
                field: "clientRefId",
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

// ---------------------------------------------------------------------------------------
// Cancel.
// ---------------------------------------------------------------------------------------

#[test]
fn cancel_200_or_204_is_cancelled_whatever_the_body() {
    for (status, body) in [(200, ""), (204, ""), (200, "{}"), (200, "<html>ok</html>")] {
        let cancelled = cancel().parse_response(answer(status, body)).unwrap();
        assert_eq!(cancelled.code().as_str(), CODE);
        assert_eq!(cancelled.request_id(), request_id().as_ref());
    }
}

#[test]
fn cancel_of_an_unknown_or_paid_code_is_refused() {
    let error = cancel()
        .parse_response(answer(400, r#"{"26":"کد پرداخت پیدا نشد"}"#))
        .unwrap_err();
    assert_eq!(error.code(), Some(PayPingCode::PaymentCodeNotFound));
    assert_eq!(
        cancel().parse_response(answer(404, "")).unwrap_err(),
        Error::NotFound {
            request_id: request_id()
        }
    );
}

// ---------------------------------------------------------------------------------------
// Report.
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// The stored record.
// ---------------------------------------------------------------------------------------

#[test]
fn pending_round_trips_through_json() {
    let with_id = pending();
    let rial = pending_with(&rial_config(), u64::from(MAX_TOMAN));
    let without_id = create(&config(), 100)
        .parse_response(
            http::Response::builder()
                .status(200)
                .body(br#"{"code":"x"}"#.to_vec())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(without_id.request_id(), None);
    for pending in [with_id, rial, without_id] {
        let stored = serde_json::to_string(&pending).unwrap();
        let loaded: Pending = serde_json::from_str(&stored).unwrap();
        assert_eq!(loaded, pending, "{stored}");
        // And a verify built from the loaded record sends what the original would.
        assert_eq!(
            VerifyPayment::from_ref_id(&config(), &loaded, RefId::new("1").unwrap())
                .unwrap()
                .to_request()
                .unwrap()
                .body(),
            VerifyPayment::from_ref_id(&config(), &pending, RefId::new("1").unwrap())
                .unwrap()
                .to_request()
                .unwrap()
                .body()
        );
    }
}

#[test]
fn pending_names_the_unit_in_its_stored_form() {
    let stored = serde_json::to_value(pending_with(&rial_config(), TOMAN)).unwrap();
    assert_eq!(stored["amount"], json!({"toman": 1_250_000}));
    assert_eq!(stored["wire_unit"], json!("rial"));
    assert_eq!(stored["code"], json!(CODE));
    assert_eq!(stored["client_ref_id"], json!(CLIENT_REF_ID));
    assert_eq!(stored["request_id"], json!(ID));
}

#[test]
fn a_tampered_stored_record_does_not_load() {
    let stored = serde_json::to_value(pending()).unwrap();
    let tampered = |field: &str, value: Value| {
        let mut record = stored.clone();
        match value {
            Value::Null => {
                record.as_object_mut().unwrap().remove(field);
            }
            value => record[field] = value,
        }
        serde_json::from_value::<Pending>(record)
    };
    for (field, value) in [
        ("amount", json!({"toman": 5})),
        ("amount", json!({"toman": 50_000_001})),
        ("amount", json!({"toman": -1})),
        ("amount", json!({"rial": 12_500_000})),
        ("amount", json!(1_250_000)),
        ("amount", Value::Null),
        ("code", json!("")),
        ("code", json!("..")),
        ("code", json!("82a4\nf72")),
        ("code", json!(42)),
        ("code", Value::Null),
        ("client_ref_id", json!("")),
        ("client_ref_id", json!("order\u{202e}1042")),
        ("wire_unit", json!("dollar")),
        ("wire_unit", json!("Toman")),
        ("redirect_url", json!("http://evil.example/installment/x")),
        ("redirect_url", json!("javascript:alert(1)")),
        ("redirect_url", json!("")),
        ("created_at", json!("yesterday")),
    ] {
        assert!(
            tampered(field, value.clone()).is_err(),
            "{field} = {value} must not load"
        );
    }
    assert!(
        tampered("request_id", Value::Null).is_ok(),
        "request id is optional"
    );
}
