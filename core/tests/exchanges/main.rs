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
    CompletedCallback, Config, CreatePayment, Description, ErrorKey, Exchange, ExchangeKind, Field,
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

mod cancel;
mod create;
mod errors;
mod pending;
mod report;
mod requests;
mod spec;
mod v3;
mod verify;

use errors::{NGINX_502, assert_malformed};
use spec::{schema_problems, spec};

// ---------------------------------------------------------------------------------------
// Builders and answers, shared by every step's file.
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

/// Compares a built request with the expected one part by part: method, URL, PayPing's
/// headers (the token compared, and marked sensitive so `Debug` never shows it), and the
/// JSON body with exact keys, casing and types (`serde_json::Value` equality: `"1042"` is
/// not `1042`), or no body at all.
fn assert_request(request: &HttpRequest, method: Method, url: &str, body: Option<Value>) {
    assert_eq!(request.method(), method, "method");
    assert_eq!(request.uri(), url, "URL");
    assert_headers(request, body.is_some());
    if let Some(expected) = body {
        let sent: Value = serde_json::from_slice(request.body()).expect("a JSON body");
        assert_eq!(sent, expected, "body of {method} {url}");
    }
}

fn body_text(request: &HttpRequest) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}
