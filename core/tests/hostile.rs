//! # What the SDK refuses, and why
//!
//! A shop's return URL is open to the internet: anyone can POST to it, and a proxy between
//! the shop and PayPing can answer anything. This file is the catalogue of hostile inputs
//! and what `ghesta-core` does with each: the exact typed error (or outcome), with a
//! one-line reason. Read it as documentation; run it as a test.
//!
//! Each row is `name: input => expected pattern, "why"`. The pattern is matched with
//! `matches!`, so a row pins the variant and the fields that matter, never just `is_err`; a
//! `MalformedResponse` row names its rule in the reason (`because`), so a body that also
//! breaks another rule cannot pass it for the wrong reason.
//!
//! The rules the rows add up to:
//! - **Callbacks** are capped at [`MAX_CALLBACK_BYTES`], must be well-formed
//!   `application/x-www-form-urlencoded` UTF-8 (POST) or a query (GET), and are refused
//!   when ambiguous: a key twice in any case or spelling, a malformed escape anywhere.
//!   Values never carry control or bidirectional formatting characters. Unknown keys are
//!   ignored; the callback never decides an amount.
//! - **Answers** are read strictly: a success needs the documented JSON object with the
//!   documented types; a body that says two things (a success with error codes, code 15
//!   beside another code) is read as neither; proxies' pages become typed errors that keep
//!   the status, the request id and a bounded snippet.
//! - **Values** a shop builds (amount, mobile, return URL, identifiers) are checked once,
//!   so an invalid one never reaches the wire.

use std::time::SystemTime;

use ghesta_core::http;
use ghesta_core::{
    Amount, Callback, CallbackError, CancelPayment, Cancelled, ClientRefId, Config, CreatePayment,
    Error, ErrorKey, Exchange, Field, MAX_CALLBACK_BYTES, Mobile, NewPayment, PayPingCode,
    PaymentCode, PaymentReport, Pending, ReportPayment, ReturnUrl, Rule, Token, VerifyOutcome,
    VerifyPayment,
};

// ---------------------------------------------------------------------------------------
// The machinery: an input, what running it gave, and a row tying the two with a reason.

/// One hostile input.
enum Input {
    /// A callback body, as `Callback::from_form` reads it.
    Form(Vec<u8>),
    /// A whole callback request, as `Callback::from_request` reads it.
    Request(Box<http::Request<Vec<u8>>>),
    /// PayPing's (or a proxy's) answer to one step, with `X-PayPingRequest-ID: req-1`.
    Answer(Step, u16, Vec<u8>),
    /// A callback form checked against the stored payment by `VerifyPayment::new`.
    VerifyFrom(&'static str),
    /// A value a shop builds.
    Value(Value),
}

#[derive(Clone, Copy)]
enum Step {
    Create,
    Verify,
    Cancel,
    Report,
}

enum Value {
    Toman(u64),
    Rial(u64),
    Mobile(&'static str),
    ReturnUrl(&'static str),
    ClientRefId(&'static str),
    Code(&'static str),
    /// A gateway base URL `https://shop.example/` padded to this many bytes.
    GatewayUrl(usize),
}

/// What running an input gave.
#[derive(Debug)]
enum Got {
    Callback(Result<Callback, CallbackError>),
    Created(Result<Pending, Error>),
    Verified(Result<VerifyOutcome, Error>),
    Cancelled(Result<Cancelled, Error>),
    Report(Result<PaymentReport, Error>),
    VerifyBuilt(Result<(), Error>),
    /// The normalised value, or the field and rule that refused it.
    Value(Result<String, (Field, Rule)>),
}

struct Row {
    name: &'static str,
    input: Input,
    expected: &'static str,
    check: fn(&Got) -> bool,
    why: &'static str,
}

/// `name: input => pattern [if guard], "why"`, one per row.
macro_rules! rows {
    ($($name:literal: $input:expr => $pat:pat $(if $guard:expr)?, $why:literal)*) => {
        vec![$(Row {
            name: $name,
            input: $input,
            expected: stringify!($pat $(if $guard)?),
            check: |got| matches!(got, $pat $(if $guard)?),
            why: $why,
        },)*]
    };
}

const REQUEST_ID: &str = "req-1";

fn config() -> Config {
    Config::new(Token::new("hostile-test-token").unwrap())
}

fn payment() -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/ghesta/callback").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

fn create() -> CreatePayment {
    CreatePayment::new(&config(), payment(), SystemTime::UNIX_EPOCH)
}

/// The record a shop holds: code 82a4f72, order-7, 250,000 Toman.
fn pending() -> Pending {
    create()
        .parse_response(http::Response::new(br#"{"code":"82a4f72"}"#.to_vec()))
        .unwrap()
}

fn completed(form: &str) -> ghesta_core::CompletedCallback {
    match Callback::from_form(form.as_bytes()) {
        Ok(Callback::Completed(callback)) => callback,
        other => panic!("{form} is not a completed callback: {other:?}"),
    }
}

fn verify() -> VerifyPayment {
    VerifyPayment::new(
        &config(),
        &pending(),
        &completed("code=82a4f72&refid=555&clientrefid=order-7"),
    )
    .unwrap()
}

fn run(input: Input) -> Got {
    match input {
        Input::Form(body) => Got::Callback(Callback::from_form(&body)),
        Input::Request(request) => Got::Callback(Callback::from_request(&*request)),
        Input::Answer(step, status, body) => {
            let response = http::Response::builder()
                .status(status)
                .header("X-PayPingRequest-ID", REQUEST_ID)
                .body(body)
                .unwrap();
            let code = pending().code().clone();
            match step {
                Step::Create => Got::Created(create().parse_response(response)),
                Step::Verify => Got::Verified(verify().parse_response(response)),
                Step::Cancel => {
                    Got::Cancelled(CancelPayment::new(&config(), &code).parse_response(response))
                }
                Step::Report => {
                    Got::Report(ReportPayment::new(&config(), &code).parse_response(response))
                }
            }
        }
        Input::VerifyFrom(form) => Got::VerifyBuilt(
            VerifyPayment::new(&config(), &pending(), &completed(form)).map(|_| ()),
        ),
        Input::Value(value) => {
            let refused = |e: ghesta_core::InvalidInput| (e.field(), e.rule().clone());
            Got::Value(
                match value {
                    Value::Toman(n) => Amount::from_toman(n).map(|a| a.toman().to_string()),
                    Value::Rial(n) => Amount::from_rial(n).map(|a| a.toman().to_string()),
                    Value::Mobile(s) => Mobile::new(s).map(|m| m.as_str().to_owned()),
                    Value::ReturnUrl(s) => ReturnUrl::new(s).map(|u| u.as_str().to_owned()),
                    Value::ClientRefId(s) => ClientRefId::new(s).map(String::from),
                    Value::Code(s) => PaymentCode::new(s).map(String::from),
                    Value::GatewayUrl(len) => {
                        let mut url = String::from("https://shop.example/");
                        url.extend(std::iter::repeat_n('a', len.saturating_sub(url.len())));
                        ghesta_core::BaseUrl::gateway(&url).map(|b| b.as_str().to_owned())
                    }
                }
                .map_err(refused),
            )
        }
    }
}

/// Runs every row; a failure report names the row, what it expected, what it got and why.
fn check(rows: Vec<Row>) {
    let mut names = std::collections::HashSet::new();
    let mut failures = Vec::new();
    for row in rows {
        assert!(names.insert(row.name), "two rows are named {:?}", row.name);
        let got = run(row.input);
        if !(row.check)(&got) {
            failures.push(format!(
                "{}\n  expected: {}\n  got:      {got:?}\n  why:      {}",
                row.name, row.expected, row.why
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// Input builders, short so the rows stay one idea each.

fn form(body: &[u8]) -> Input {
    Input::Form(body.to_vec())
}

fn post(content_type: Option<&[u8]>, body: &[u8]) -> Input {
    let mut request = http::Request::post("/ghesta/callback");
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Input::Request(Box::new(request.body(body.to_vec()).unwrap()))
}

fn request(method: &str, uri: &str) -> Input {
    Input::Request(Box::new(
        http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b"code=82a4f72&refid=555".to_vec())
            .unwrap(),
    ))
}

fn answer(step: Step, status: u16, body: &str) -> Input {
    Input::Answer(step, status, body.as_bytes().to_vec())
}

const GOOD: &[u8] = b"code=82a4f72&refid=555&clientrefid=order-7";
const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const ALREADY: &str = r#"{"15":"این تراکنش قبلا تایید شده است"}"#;

fn padded_to(len: usize) -> Vec<u8> {
    let mut body = b"code=82a4f72&pad=".to_vec();
    body.resize(len, b'a');
    body
}

fn nested(depth: usize) -> String {
    format!(r#"{{"1":{}{}}}"#, "[".repeat(depth), "]".repeat(depth))
}

/// Whether an error's reason names the rule a row is about (a row that fails for another
/// reason proves nothing about its rule).
fn because(reason: &str, rule: &str) -> bool {
    reason.contains(rule)
}

fn id_kept(id: &Option<ghesta_core::RequestId>) -> bool {
    id.as_ref().map(|id| id.as_str()) == Some(REQUEST_ID)
}

// ---------------------------------------------------------------------------------------
// The catalogue.

#[test]
fn callback_bodies() {
    use CallbackError as E;
    use Got::Callback as C;
    check(rows! {
        "empty body":
            form(b"") => C(Err(E::Empty)),
            "a form with nothing in it names no payment"
        "whitespace-only body":
            form(b" \r\n\t") => C(Err(E::Empty)),
            "blank is empty, not a form with one odd key"
        "body one byte over the cap":
            Input::Form(padded_to(MAX_CALLBACK_BYTES + 1)) => C(Err(E::TooLarge { limit: MAX_CALLBACK_BYTES })),
            "the real form is five short fields; a bigger one is refused unread"
        "body exactly at the cap":
            Input::Form(padded_to(MAX_CALLBACK_BYTES)) => C(Ok(Callback::Cancelled(_))),
            "the cap is inclusive; unknown keys (pad) are ignored"
        "invalid UTF-8 escaped in code":
            form(b"code=%FF%FE&refid=1") => C(Err(E::InvalidUtf8 { name: "code" })),
            "a value is text; bytes that are not UTF-8 are refused, never replaced lossily"
        "invalid UTF-8 raw in refid":
            form(b"code=82a4f72&refid=\xC3\x28") => C(Err(E::InvalidUtf8 { name: "refid" })),
            "raw bytes get the same rule as escaped ones"
        "invalid UTF-8 in an unknown key's value":
            form(b"code=82a4f72&junk=%FF") => C(Ok(Callback::Cancelled(_))),
            "unknown keys are ignored whatever they hold"
        "bad percent-escape %zz":
            form(b"code=82a4f72&refid=%zz") => C(Err(E::BadPercentEncoding { offset: 19 })),
            "a lenient decoder keeps %zz as text; two parsers disagreeing is how forgeries pass"
        "truncated percent-escape at the end":
            form(b"code=82a4f72&refid=12%4") => C(Err(E::BadPercentEncoding { offset: 21 })),
            "an escape needs two hex digits"
        "bad escape in an unknown key":
            form(b"code=82a4f72&x%=1") => C(Err(E::BadPercentEncoding { offset: 14 })),
            "the whole body must be well-formed, not only the keys we read"
        "duplicate code":
            form(b"code=82a4f72&refid=1&code=evil") => C(Err(E::DuplicateField { name: "code" })),
            "which code is meant is ambiguous; PHP takes the last, others the first"
        "duplicate refid, one empty":
            form(b"code=82a4f72&refid=&refid=555") => C(Err(E::DuplicateField { name: "refid" })),
            "cancelled or completed would depend on which one a parser keeps"
        "duplicate in another case":
            form(b"code=82a4f72&CODE=evil") => C(Err(E::DuplicateField { name: "code" })),
            "keys match without regard to case, so this is the same key twice"
        "duplicate spelled with an escape":
            form(b"code=82a4f72&c%6Fde=evil") => C(Err(E::DuplicateField { name: "code" })),
            "keys are compared decoded; an escape cannot smuggle a second code"
        "mixed-case keys":
            form(b"Code=82a4f72&RefId=555&ClientRefId=order-7") => C(Ok(Callback::Completed(_))),
            "PayPing's side is case-insensitive; be tolerant on what is received"
        "missing code":
            form(b"refid=555&clientrefid=order-7") => C(Err(E::MissingField { name: "code" })),
            "without a code the callback names no payment"
        "empty code":
            form(b"code=&refid=555") => C(Err(E::MissingField { name: "code" })),
            "empty is the same as missing"
        "missing refid":
            form(b"code=82a4f72&clientrefid=order-7") => C(Ok(Callback::Cancelled(_))),
            "no payment reference: the buyer did not complete the payment"
        "empty refid":
            form(b"code=82a4f72&refid=&clientrefid=order-7") => C(Ok(Callback::Cancelled(_))),
            "what PayPing sends for a cancelled payment"
        "blank refid":
            form(b"code=82a4f72&refid=+%20&clientrefid=order-7") => C(Ok(Callback::Cancelled(_))),
            "spaces are no reference either"
        "missing clientrefid":
            form(b"code=82a4f72&refid=555") => C(Ok(Callback::Completed(c))) if c.client_ref_id().is_none(),
            "parsed, but verify refuses it against the stored order (see verify_building)"
        "missing cardnumber":
            form(b"code=82a4f72&refid=555&clientrefid=order-7&cardhashpan=ab") => C(Ok(Callback::Completed(c))) if c.card_number().is_none(),
            "card fields are informational; verify's answer is authoritative"
        "missing cardhashpan":
            form(b"code=82a4f72&refid=555&clientrefid=order-7&cardnumber=603799******1234") => C(Ok(Callback::Completed(c))) if c.card_hash().is_none(),
            "card fields are informational; verify's answer is authoritative"
        "JSON body where a form is expected":
            form(br#"{"code":"82a4f72","refid":"555"}"#) => C(Err(E::MissingField { name: "code" })),
            "read as a form it is one unknown key; nothing is guessed from JSON"
        "multipart body where a form is expected":
            form(b"--XyZ\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\n82a4f72\r\n--XyZ--") => C(Err(E::MissingField { name: "code" })),
            "multipart is not parsed; its parts are not form fields"
        "raw NUL byte in code":
            form(b"code=82a\x00f72&refid=1") => C(Err(E::InvalidField { name: "code", source })) if source.rule() == &Rule::ControlCharacter,
            "NUL truncates strings in C libraries and databases downstream"
        "escaped NUL in refid":
            form(b"code=82a4f72&refid=555%00") => C(Err(E::InvalidField { name: "refid", source })) if source.rule() == &Rule::ControlCharacter,
            "decoding must not let a control character in"
        "newline in clientrefid":
            form(b"code=82a4f72&refid=1&clientrefid=order-7%0D%0AX-Forged:1") => C(Err(E::InvalidField { name: "clientrefid", source })) if source.rule() == &Rule::ControlCharacter,
            "CR/LF would forge log lines or headers where the value is echoed"
        "right-to-left override in clientrefid":
            form(b"code=82a4f72&refid=1&clientrefid=order-%E2%80%AE7") => C(Err(E::InvalidField { name: "clientrefid", source })) if source.rule() == &Rule::ControlCharacter,
            "bidi overrides make an order id display as another one in an admin panel"
        "left-to-right isolate in code":
            form(b"code=%E2%81%A682a4f72&refid=1") => C(Err(E::InvalidField { name: "code", source })) if source.rule() == &Rule::ControlCharacter,
            "U+2066..U+2069 isolates spoof display the same way"
        "Arabic letter mark in refid":
            form(b"code=82a4f72&refid=%D8%9C555") => C(Err(E::InvalidField { name: "refid", source })) if source.rule() == &Rule::ControlCharacter,
            "U+061C is a bidi mark too"
        "zero-width non-joiner in clientrefid":
            form("code=82a4f72&refid=1&clientrefid=سفارش%E2%80%8Cها".as_bytes()) => C(Ok(Callback::Completed(_))),
            "ZWNJ is ordinary Persian text, not a spoof"
        "Persian digits in refid":
            form("code=82a4f72&refid=۵۵۵&clientrefid=order-7".as_bytes()) => C(Ok(Callback::Completed(c))) if c.ref_id().as_str() == "۵۵۵",
            "kept exactly as sent, never converted: PayPing's verify decides what it means"
        "code longer than 64 characters":
            Input::Form(format!("code={}&refid=1", "a".repeat(65)).into_bytes()) => C(Err(E::InvalidField { name: "code", source })) if source.rule() == &Rule::TooLong { max: 64 },
            "every value is bounded"
        "code that is a dot segment":
            form(b"code=..&refid=1") => C(Err(E::InvalidField { name: "code", source })) if source.rule() == &Rule::DotSegment,
            "`..` in a URL path means the parent directory"
        "amount in the callback":
            form(b"code=82a4f72&refid=555&clientrefid=order-7&amount=100") => C(Ok(Callback::Completed(_))),
            "ignored: the callback carries no amount; verify sends the stored one"
        "plus as space":
            form(b"code=82a4f72&refid=555&clientrefid=order+7") => C(Ok(Callback::Completed(c))) if c.client_ref_id().map(ClientRefId::as_str) == Some("order 7"),
            "form encoding: `+` is a space, so it cannot match order-7 by accident"
        "semicolon as a separator":
            form(b"code=82a4f72;refid=555") => C(Ok(Callback::Cancelled(c))) if c.code().as_str() == "82a4f72;refid=555",
            "only `&` separates pairs; the code then matches no stored payment"
        "equals sign inside a value":
            form(b"code=82a4f72&refid=5=5") => C(Ok(Callback::Completed(c))) if c.ref_id().as_str() == "5=5",
            "a pair splits at its first `=`, as every form parser does"
    });
}

#[test]
fn callback_requests() {
    use CallbackError as E;
    use Got::Callback as C;
    check(rows! {
        "PUT":
            request("PUT", "/ghesta/callback") => C(Err(E::MethodNotAllowed { method })) if method == "PUT",
            "PayPing sends POST (v2) or GET (v1); anything else is not a callback"
        "HEAD with a query":
            request("HEAD", "/cb?code=82a4f72&refid=555") => C(Err(E::MethodNotAllowed { .. })),
            "HEAD is not GET, whatever the query holds"
        "POST without a content type":
            post(None, GOOD) => C(Err(E::UnsupportedContentType { received: None })),
            "the body's encoding is unknown"
        "POST as JSON":
            post(Some(b"application/json"), br#"{"code":"82a4f72"}"#) => C(Err(E::UnsupportedContentType { received: Some(t) })) if t == "application/json",
            "PayPing posts a form, never JSON"
        "POST as multipart":
            post(Some(b"multipart/form-data; boundary=XyZ"), b"--XyZ--") => C(Err(E::UnsupportedContentType { .. })),
            "PayPing posts a urlencoded form"
        "POST as text/plain":
            post(Some(b"text/plain"), GOOD) => C(Err(E::UnsupportedContentType { .. })),
            "a form must say it is one"
        "POST in Latin-1":
            post(Some(b"application/x-www-form-urlencoded; charset=ISO-8859-1"), GOOD) => C(Err(E::UnsupportedContentType { .. })),
            "only UTF-8 (or its ASCII subset) decodes unambiguously"
        "POST with a non-UTF-8 content type":
            post(Some(b"application/x-www-form-urlencoded; charset=\xFF"), GOOD) => C(Err(E::UnsupportedContentType { .. })),
            "a header that is not text is no content type"
        "POST with quoted UTF-8 charset":
            post(Some(b"application/x-www-form-urlencoded; charset=\"UTF-8\""), GOOD) => C(Ok(Callback::Completed(_))),
            "a quoted parameter is the same parameter"
        "POST with two content types":
            Input::Request(Box::new(http::Request::post("/cb").header("content-type", "application/x-www-form-urlencoded").header("content-type", "application/json").body(GOOD.to_vec()).unwrap())) => C(Err(E::UnsupportedContentType { received: Some(t) })) if t == "application/x-www-form-urlencoded, application/json",
            "frameworks disagree on which of two content types counts; refused, never guessed"
        "POST with the form content type twice":
            Input::Request(Box::new(http::Request::post("/cb").header("content-type", "application/x-www-form-urlencoded").header("content-type", "application/x-www-form-urlencoded").body(GOOD.to_vec()).unwrap())) => C(Err(E::UnsupportedContentType { .. })),
            "a repeated header is not a media type, even when both copies agree"
        "POST with an upper-case content type":
            post(Some(b"APPLICATION/X-WWW-FORM-URLENCODED"), GOOD) => C(Ok(Callback::Completed(_))),
            "media types are case-insensitive"
        "POST with the form in the query and an empty body":
            Input::Request(Box::new(http::Request::post("/cb?code=82a4f72&refid=555").header("content-type", "application/x-www-form-urlencoded").body(Vec::new()).unwrap())) => C(Err(E::Empty)),
            "a POST is read from its body only; the return URL's own query is the shop's"
        "POST with an oversized body":
            Input::Request(Box::new(http::Request::post("/cb").header("content-type", "application/x-www-form-urlencoded").body(padded_to(MAX_CALLBACK_BYTES + 1)).unwrap())) => C(Err(E::TooLarge { .. })),
            "the cap holds whatever the transport let through"
        "GET with the form in the query":
            Input::Request(Box::new(http::Request::get("/cb?code=82a4f72&refid=555&clientrefid=order-7").body(Vec::new()).unwrap())) => C(Ok(Callback::Completed(_))),
            "PayPing v1 called back with a query; both plugins read it"
        "GET without a query":
            Input::Request(Box::new(http::Request::get("/cb").body(Vec::new()).unwrap())) => C(Err(E::Empty)),
            "no query, no callback"
        "GET with a body and no query":
            Input::Request(Box::new(http::Request::get("/cb").body(GOOD.to_vec()).unwrap())) => C(Err(E::Empty)),
            "a GET is read from its query only"
        "GET with an oversized query":
            Input::Request(Box::new(http::Request::get(format!("/cb?code=82a4f72&pad={}", "a".repeat(MAX_CALLBACK_BYTES))).body(Vec::new()).unwrap())) => C(Err(E::TooLarge { .. })),
            "the cap applies to queries too"
    });
}

#[test]
fn verify_building() {
    use Got::VerifyBuilt as V;
    check(rows! {
        "callback without clientrefid":
            Input::VerifyFrom("code=82a4f72&refid=555") => V(Err(Error::CallbackMismatch { field: "clientRefId", .. })),
            "the callback must name the order it claims to pay"
        "callback for another order":
            Input::VerifyFrom("code=82a4f72&refid=555&clientrefid=order-8") => V(Err(Error::CallbackMismatch { field: "clientRefId", .. })),
            "a forged or misrouted callback never reaches PayPing"
        "callback for another code":
            Input::VerifyFrom("code=ffff0000&refid=555&clientrefid=order-7") => V(Err(Error::CallbackMismatch { field: "code", .. })),
            "the code must be the stored payment's"
        "callback with the clientrefid in another case":
            Input::VerifyFrom("code=82a4f72&refid=555&clientrefid=ORDER-7") => V(Err(Error::CallbackMismatch { field: "clientRefId", .. })),
            "values compare exactly; only keys are case-insensitive"
        "matching callback":
            Input::VerifyFrom("code=82a4f72&refid=555&clientrefid=order-7") => V(Ok(())),
            "the one callback that may be verified"
    });
}

#[test]
fn create_answers() {
    use Got::Created as G;
    use Step::Create as S;
    check(rows! {
        "empty 200":
            answer(S, 200, "") => G(Err(Error::MalformedResponse { status, reason, request_id, .. })) if status.as_u16() == 200 && because(reason, "empty") && id_kept(request_id),
            "no code, no payment; the request id is kept for support"
        "200 with an error body":
            answer(S, 200, ALREADY) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "a success status does not make an error object a payment code"
        "200 with a code and an error code":
            answer(S, 200, r#"{"code":"82a4f72","25":"retry"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "an answer that says two things is read as neither"
        "200 with an empty code":
            answer(S, 200, r#"{"code":""}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "empty"),
            "an empty code names nothing"
        "200 with a numeric code":
            answer(S, 200, r#"{"code":82}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "expected a string"),
            "the spec's code is a string"
        "200 with a NUL in the code":
            answer(S, 200, r#"{"code":"82a\u0000f72"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "control"),
            "JSON escapes get the same character rules as form values"
        "200 with a dot-segment code":
            answer(S, 200, r#"{"code":".."}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "`..`"),
            "it would turn the redirect into the parent directory"
        "200 with the code twice":
            answer(S, 200, r#"{"code":"82a4f72","code":"evil"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "`code`"),
            "duplicate keys are ambiguous in JSON too"
        "200 with the code in an array":
            answer(S, 200, r#"["82a4f72"]"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "JSON object"),
            "only the documented object shape is read"
        "200 HTML page":
            answer(S, 200, NGINX_502) => G(Err(Error::MalformedResponse { snippet, .. })) if snippet.as_str().starts_with("<html>"),
            "a captive portal or proxy page; the snippet shows what came"
        "nginx 502 page":
            answer(S, 502, NGINX_502) => G(Err(Error::Unavailable { status, request_id, .. })) if status.as_u16() == 502 && id_kept(request_id),
            "a proxy's page is a typed, retryable error, not a parse panic"
        "nginx 504 page":
            answer(S, 504, &NGINX_502.replace("502 Bad Gateway", "504 Gateway Time-out")) => G(Err(Error::Unavailable { .. })),
            "same for a gateway time-out"
        "400 HTML page":
            answer(S, 400, NGINX_502) => G(Err(Error::MalformedResponse { status, .. })) if status.as_u16() == 400,
            "a 400 must carry PayPing's error object to say what was wrong"
        "400 with an empty object":
            answer(S, 400, "{}") => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "empty error object"),
            "a refusal that names no reason is not a rejection we can act on"
        "400 field validation":
            answer(S, 400, r#"{"amount":"مبلغ نامعتبر است"}"#) => G(Err(Error::Rejected(r))) if r.entries()[0].key == ErrorKey::Field("amount".into()),
            "model validation names the field"
        "400 nested past JSON's depth limit":
            answer(S, 400, &nested(10_000)) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "recursion limit"),
            "deep nesting is refused at serde_json's recursion limit, never a stack overflow"
        "401 with an empty body":
            answer(S, 401, "") => G(Err(Error::Unauthorized { .. })),
            "a token approved under 10 minutes ago answers 401 with nothing"
        "302 to another host":
            answer(S, 302, "") => G(Err(Error::UnexpectedStatus { status, .. })) if status.as_u16() == 302,
            "redirects are never followed: the token must not travel"
        "429":
            answer(S, 429, "slow down") => G(Err(Error::UnexpectedStatus { .. })),
            "undocumented, but retryable"
    });
}

#[test]
fn verify_answers() {
    use Got::Verified as G;
    use Step::Verify as S;
    check(rows! {
        "200 documented":
            answer(S, 200, r#"{"amount":250000,"cardNumber":"603799******1234","cardHashPan":"ab"}"#) => G(Ok(VerifyOutcome::Verified(_))),
            "the only proof of payment"
        "empty 200":
            answer(S, 200, "") => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "empty"),
            "no amount, no proof; retrying is safe (a second verify answers 15)"
        "200 with an error body":
            answer(S, 200, ALREADY) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "code 15 under a 200 is not the documented already-verified answer"
        "200 with an amount and an error code":
            answer(S, 200, r#"{"amount":250000,"47":"مبلغ نادرست"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "a success that also says amount mismatch is no success"
        "negative amount":
            answer(S, 200, r#"{"amount":-250000}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "amounts are unsigned"
        "fractional amount":
            answer(S, 200, r#"{"amount":250000.5}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "floating point"),
            "amounts are whole Toman"
        "integral float amount":
            answer(S, 200, r#"{"amount":250000.0}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "floating point"),
            "the spec's amount is an integer; a float is not rounded into one"
        "exponent amount":
            answer(S, 200, r#"{"amount":2.5e5}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "floating point"),
            "same rule for exponent notation"
        "string amount":
            answer(S, 200, r#"{"amount":"250000"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "a string is not the integer the spec documents"
        "amount beyond 64 bits":
            answer(S, 200, r#"{"amount":18446744073709551616}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "never wrapped or saturated into a number that could match"
        "amount at u64::MAX":
            answer(S, 200, r#"{"amount":18446744073709551615}"#) => G(Err(Error::AmountMismatch { received: u64::MAX, .. })),
            "read exactly, and it is not the stored amount"
        "amount in Persian digits":
            answer(S, 200, r#"{"amount":۲۵۰۰۰۰}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "expected value"),
            "not JSON; digits are never converted in an answer"
        "another amount":
            answer(S, 200, r#"{"amount":25000}"#) => G(Err(Error::AmountMismatch { received: 25000, request_id, .. })) if id_kept(request_id),
            "a 200 for another amount is not a payment of this order"
        "the amount in Rial":
            answer(S, 200, r#"{"amount":2500000}"#) => G(Err(Error::AmountMismatch { received: 2_500_000, .. })),
            "units are never guessed: the configured unit must match"
        "no amount":
            answer(S, 200, r#"{"cardNumber":"603799******1234"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "missing field `amount`"),
            "the amount is what proves the payment"
        "amount twice":
            answer(S, 200, r#"{"amount":250000,"amount":1}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "`amount`"),
            "which amount was paid is ambiguous"
        "mixed-case amount key":
            answer(S, 200, r#"{"Amount":250000}"#) => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "`amount`"),
            "answers are read exactly as documented (lower camel case)"
        "NUL in the card number":
            answer(S, 200, r#"{"amount":250000,"cardNumber":"6037\u0000"}"#) => G(Ok(VerifyOutcome::Verified(v))) if v.card_number().is_none(),
            "PayPing has verified by now: the bad card field is dropped, the paid order stands"
        "card number of the wrong type":
            answer(S, 200, r#"{"amount":250000,"cardNumber":6037991234}"#) => G(Ok(VerifyOutcome::Verified(v))) if v.card_number().is_none(),
            "the same: cosmetic fields never turn a verified payment into an error"
        "400 code 15":
            answer(S, 400, ALREADY) => G(Ok(VerifyOutcome::AlreadyVerified(a))) if id_kept(&a.request_id().cloned()),
            "verified before (lost answer or replay): its own outcome, never a plain success"
        "400 code 15 beside another code":
            answer(S, 400, r#"{"15":"قبلا تایید شده","47":"مبلغ نادرست"}"#) => G(Err(Error::Rejected(r))) if r.entries().len() == 2,
            "ambiguous: already verified and amount mismatch; an error, never a reason to ship"
        "400 code 15 twice":
            answer(S, 400, r#"{"15":"a","15":"b"}"#) => G(Err(Error::Rejected(_))),
            "a duplicated key is not the documented answer"
        "400 field error beside code 15":
            answer(S, 400, r#"{"amount":"نامعتبر","15":"قبلا"}"#) => G(Err(Error::Rejected(_))),
            "15 alone means already verified; with a validation error it does not"
        "400 code 1":
            answer(S, 400, r#"{"1":"لغو شد"}"#) => G(Err(e)) if e.code() == Some(PayPingCode::CancelledByBuyer) && !e.is_retryable(),
            "the buyer cancelled; retrying cannot help"
        "400 code 25":
            answer(S, 400, r#"{"25":"موقتا در دسترس نیست"}"#) => G(Err(e @ Error::Rejected(r))) if r.code() == Some(PayPingCode::TemporarilyUnavailable) && e.is_retryable(),
            "PayPing says try again"
        "400 undocumented code":
            answer(S, 400, r#"{"999":"new"}"#) => G(Err(e)) if e.code() == Some(PayPingCode::Other(999)),
            "unknown codes are kept, not dropped"
        "400 array":
            answer(S, 400, "[15]") => G(Err(Error::MalformedResponse { reason, .. })) if because(reason, "expected an object"),
            "the error body is an object"
        "503 JSON":
            answer(S, 503, r#"{"message":"down"}"#) => G(Err(e @ Error::Unavailable { status, .. })) if status.as_u16() == 503 && e.is_retryable(),
            "unavailable: retry later"
        "404":
            answer(S, 404, "") => G(Err(Error::NotFound { .. })),
            "unknown code or wrong API URL"
    });
}

#[test]
fn cancel_and_report_answers() {
    use Step::{Cancel, Report};
    check(rows! {
        "cancel 200 empty":
            answer(Cancel, 200, "") => Got::Cancelled(Ok(_)),
            "what the spec documents"
        "cancel 204":
            answer(Cancel, 204, "") => Got::Cancelled(Ok(_)),
            "no content means the same"
        "cancel 200 with an error body":
            answer(Cancel, 200, r#"{"26":"کد پرداخت یافت نشد"}"#) => Got::Cancelled(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "an error object under a 200 did not cancel anything"
        "cancel 201":
            answer(Cancel, 201, "") => Got::Cancelled(Err(Error::UnexpectedStatus { .. })),
            "only the documented statuses succeed"
        "report amount beyond 64 bits":
            answer(Report, 200, r#"{"amount":18446744073709551616,"isPaid":true}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "never wrapped into a number that could match"
        "report amount negative":
            answer(Report, 200, r#"{"amount":-1,"isPaid":true}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "amounts are unsigned"
        "report amount as a string":
            answer(Report, 200, r#"{"amount":"250000","isPaid":true}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. })) if because(reason, "u64"),
            "the spec's amount is an integer"
        "report isPaid as a string":
            answer(Report, 200, r#"{"amount":250000,"isPaid":"true"}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. })) if because(reason, "boolean"),
            "a string is not a boolean; \"false\" would read as true in a lenient parser"
        "report 200 with an error body":
            answer(Report, 200, ALREADY) => Got::Report(Err(Error::MalformedResponse { reason, .. })) if because(reason, "error codes"),
            "an error object is not a report saying \"unpaid\""
        "report amount out of range":
            answer(Report, 200, r#"{"amount":5,"isPaid":true}"#) => Got::Report(Ok(r)) if r.amount().is_none() && r.wire_amount() == Some(5) && !r.confirms(&pending()),
            "kept as sent for the record, but it confirms nothing"
    });
}

#[test]
fn values_a_shop_builds() {
    use Got::Value as G;
    check(rows! {
        "mobile in Persian digits with separators":
            Input::Value(Value::Mobile("۰۹۱۲ ۳۴۵-۶۷۸۹")) => G(Ok(m)) if m == "09123456789",
            "buyers type Persian digits; normalised once"
        "mobile in Arabic-Indic digits with +98":
            Input::Value(Value::Mobile("+٩٨ ٩١٢ ٣٤٥ ٦٧٨٩")) => G(Ok(m)) if m == "09123456789",
            "same for Arabic-Indic digits and the country prefix"
        "mobile in full-width digits":
            Input::Value(Value::Mobile("０９１２３４５６７８９")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "only the digits Iranian keyboards produce are converted"
        "mobile with a right-to-left override":
            Input::Value(Value::Mobile("0912\u{202e}3456789")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "a bidi control is not a separator"
        "mobile with a NUL":
            Input::Value(Value::Mobile("0912\u{0}3456789")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "a control character is not a separator"
        "landline":
            Input::Value(Value::Mobile("021 8888 7777")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "Ghesta identifies the buyer by mobile"
        "amount below the minimum":
            Input::Value(Value::Toman(99)) => G(Err((Field::Amount, Rule::OutOfRange { got: 99, .. }))),
            "PayPing accepts 100..=50,000,000 Toman"
        "amount above the maximum":
            Input::Value(Value::Toman(50_000_001)) => G(Err((Field::Amount, Rule::OutOfRange { .. }))),
            "the spec's maximum"
        "amount at u64::MAX":
            Input::Value(Value::Toman(u64::MAX)) => G(Err((Field::Amount, Rule::OutOfRange { got: u64::MAX, .. }))),
            "never truncated to 32 bits"
        "Rial amount that is not whole Toman":
            Input::Value(Value::Rial(1_250_005)) => G(Err((Field::Amount, Rule::NotWholeToman { rial: 1_250_005 }))),
            "never rounded silently"
        "return URL over plain http":
            Input::Value(Value::ReturnUrl("http://shop.example/cb")) => G(Err((Field::ReturnUrl, Rule::InsecureScheme))),
            "the buyer's browser would show a security error and the payment fail"
        "return URL on localhost. (trailing dot)":
            Input::Value(Value::ReturnUrl("http://localhost./cb")) => G(Err((Field::ReturnUrl, Rule::InsecureScheme))),
            "only exact loopback names get plain http"
        "return URL on short-form 127.1":
            Input::Value(Value::ReturnUrl("http://127.1/cb")) => G(Err((Field::ReturnUrl, Rule::InsecureScheme))),
            "resolvers disagree on short forms; only dotted-quad loopback counts"
        "return URL on IPv4-mapped loopback":
            Input::Value(Value::ReturnUrl("http://[::ffff:127.0.0.1]/cb")) => G(Err((Field::ReturnUrl, Rule::InsecureScheme))),
            "not ::1; conservative on what counts as loopback"
        "return URL with user info":
            Input::Value(Value::ReturnUrl("https://shop.example@evil.example/cb")) => G(Err((Field::ReturnUrl, Rule::UserInfo))),
            "`user@host` hides the real host from a reader"
        "return URL with a fragment":
            Input::Value(Value::ReturnUrl("https://shop.example/cb#x")) => G(Err((Field::ReturnUrl, Rule::Fragment))),
            "a fragment never reaches the server"
        "return URL javascript:":
            Input::Value(Value::ReturnUrl("javascript:alert(1)")) => G(Err((Field::ReturnUrl, Rule::NotAbsoluteUrl))),
            "not a URL PayPing can send a browser to"
        "clientRefId with a bidi isolate":
            Input::Value(Value::ClientRefId("order-\u{2067}7")) => G(Err((Field::ClientRefId, Rule::ControlCharacter))),
            "the shop's own ids get the callback's rules"
        "gateway base URL over 1 KiB":
            Input::Value(Value::GatewayUrl(4096)) => G(Err((Field::GatewayUrl, Rule::TooLong { max: 1024 }))),
            "a redirect on it with the longest code would pass 2 KiB, and a stored record would not read back"
        "payment code `.`":
            Input::Value(Value::Code(".")) => G(Err((Field::PaymentCode, Rule::DotSegment))),
            "it would name the directory in a URL path"
    });
}
