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
//! - **Stored records** load only with their own code's page, on PayPing's hosts
//!   (`payping.ir` and its second host `payping.io`, each page on the host the SDK builds it
//!   on) or a loopback sandbox. A v3 record on another payment's start page is refused; on
//!   a page of another shape on PayPing's domain, it loads with its own start page instead.

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
    /// A callback form checked against a stored v3 payment (code `P1`, order-7, 250,000).
    VerifyFromV3(String),
    /// A value a shop builds.
    Value(Value),
    /// A `Pending` record read back from the shop's store (JSON).
    Stored(String),
}

#[derive(Clone, Copy)]
enum Step {
    Create,
    Verify,
    Cancel,
    Report,
    /// The same steps of a payment on PayPing v3, and its refund.
    CreateV3,
    VerifyV3,
    CancelV3,
    Refund,
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
    /// An API base URL, as given.
    ApiUrl(&'static str),
}

/// What running an input gave.
#[derive(Debug)]
enum Got {
    Callback(Result<Callback, CallbackError>),
    Created(Result<Pending, Error>),
    Verified(Result<VerifyOutcome, Error>),
    Cancelled(Result<Cancelled, Error>),
    Refunded(Result<ghesta_core::Refunded, Error>),
    Report(Result<PaymentReport, Error>),
    VerifyBuilt(Result<(), Error>),
    /// The normalised value, or the field and rule that refused it.
    Value(Result<String, (Field, Rule)>),
    /// The record read back, or serde's message (which names the field and the rule).
    Stored(Result<Pending, String>),
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

fn config_v3() -> Config {
    config().with_gateway(ghesta_core::Gateway::PayPingV3)
}

fn create_v3() -> CreatePayment {
    CreatePayment::new(
        &config_v3(),
        payment().with_reversible(true),
        SystemTime::UNIX_EPOCH,
    )
}

/// The v3 record a shop holds: code P1, order-7, 250,000 Toman, reversible.
fn pending_v3() -> Pending {
    create_v3()
        .parse_response(http::Response::new(br#"{"paymentCode":"P1"}"#.to_vec()))
        .unwrap()
}

fn verify_v3() -> VerifyPayment {
    let form = v3_form(
        "1",
        "",
        r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-7","amount":250000}"#,
    );
    match Callback::from_form(form.as_bytes()) {
        Ok(Callback::Completed(callback)) => {
            VerifyPayment::new(&config_v3(), &pending_v3(), &callback).unwrap()
        }
        other => panic!("not a completed v3 callback: {other:?}"),
    }
}

fn refund_v3() -> ghesta_core::RefundPayment {
    let at = SystemTime::UNIX_EPOCH;
    ghesta_core::RefundPayment::new(
        &config_v3(),
        &pending_v3(),
        &ghesta_core::RefId::new("7781").unwrap(),
        at,
        at,
    )
    .unwrap()
}

/// v3's callback form: `status`, `errorCode`, and `data` (JSON), form-encoded.
fn v3_form(status: &str, error_code: &str, data: &str) -> String {
    serde_urlencoded::to_string([
        ("status", status),
        ("errorCode", error_code),
        ("data", data),
    ])
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
                Step::Cancel => Got::Cancelled(
                    CancelPayment::new(&config(), &pending()).parse_response(response),
                ),
                Step::Report => {
                    Got::Report(ReportPayment::new(&config(), &code).parse_response(response))
                }
                Step::CreateV3 => Got::Created(create_v3().parse_response(response)),
                Step::VerifyV3 => Got::Verified(verify_v3().parse_response(response)),
                Step::CancelV3 => Got::Cancelled(
                    CancelPayment::new(&config_v3(), &pending_v3()).parse_response(response),
                ),
                Step::Refund => Got::Refunded(refund_v3().parse_response(response)),
            }
        }
        Input::VerifyFromV3(form) => Got::VerifyBuilt(match Callback::from_form(form.as_bytes()) {
            Ok(Callback::Completed(callback)) => {
                VerifyPayment::new(&config_v3(), &pending_v3(), &callback).map(|_| ())
            }
            other => panic!("{form} is not a completed callback: {other:?}"),
        }),
        Input::VerifyFrom(form) => Got::VerifyBuilt(
            VerifyPayment::new(&config(), &pending(), &completed(form)).map(|_| ()),
        ),
        Input::Stored(json) => {
            Got::Stored(serde_json::from_str::<Pending>(&json).map_err(|e| e.to_string()))
        }
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
                    Value::ApiUrl(url) => {
                        ghesta_core::BaseUrl::api(url).map(|b| b.as_str().to_owned())
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
            form(b"code=82a4f72&refid=+%20&clientrefid=order-7") => C(Err(CallbackError::InvalidField { name: "refid", source })) if source.rule() == &Rule::Blank,
            "PayPing never sends a blank refid; mangled or forged, it is refused, not read as a cancellation"
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
            Input::VerifyFrom("code=82a4f72&refid=555") => V(Err(Error::CallbackMismatch { field: Field::ClientRefId, .. })),
            "the callback must name the order it claims to pay"
        "callback for another order":
            Input::VerifyFrom("code=82a4f72&refid=555&clientrefid=order-8") => V(Err(Error::CallbackMismatch { field: Field::ClientRefId, .. })),
            "a forged or misrouted callback never reaches PayPing"
        "callback for another code":
            Input::VerifyFrom("code=ffff0000&refid=555&clientrefid=order-7") => V(Err(Error::CallbackMismatch { field: Field::PaymentCode, .. })),
            "the code must be the stored payment's"
        "callback with the clientrefid in another case":
            Input::VerifyFrom("code=82a4f72&refid=555&clientrefid=ORDER-7") => V(Err(Error::CallbackMismatch { field: Field::ClientRefId, .. })),
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
            answer(S, 400, r#"{"15":"a","15":"b"}"#) => G(Err(Error::MalformedResponse { reason, .. })) if reason.contains("appears twice"),
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
            Input::Value(Value::Mobile("0912\u{202e}3456789")) => G(Ok(m)) if m == "09123456789",
            "phones paste direction marks into numbers; they carry no digit and are dropped"
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

// ---------------------------------------------------------------------------------------
// Hardening (issue 9): stored records, blank and padded identifiers, case-twin keys,
// canonical error-code keys, impossible ports, mobiles pasted from a phone.

/// The record [`pending`] gives, stored in 0.1.0's shape (no gateway), with its redirect
/// (and code) replaced.
fn stored(code: &str, redirect: &str) -> Input {
    let mut record: serde_json::Value = serde_json::to_value(pending()).unwrap();
    record["code"] = code.into();
    record["redirect_url"] = redirect.into();
    record.as_object_mut().unwrap().remove("gateway");
    Input::Stored(record.to_string())
}

/// The same, stored by this release: naming its `gateway`.
fn stored_on(gateway: &str, code: &str, redirect: &str) -> Input {
    let Input::Stored(json) = stored(code, redirect) else {
        unreachable!()
    };
    let mut record: serde_json::Value = serde_json::from_str(&json).unwrap();
    record["gateway"] = gateway.into();
    Input::Stored(record.to_string())
}

/// The serde message of a record refused for `field` breaking `rule`.
fn refused_for(message: &str, field: Field, rule: &Rule) -> bool {
    message.starts_with(&format!("invalid {field}: {rule}"))
}

const OWN_PAGE: &str = "https://payping.ir/installment/82a4f72?type=ghesta";

#[test]
fn stored_records() {
    use Got::Stored as G;
    check(rows! {
        "a record stored by 0.1.0":
            Input::Stored(include_str!("data/records/pending-0.1.0.json").into()) => G(Ok(p))
                if p.code().as_str() == "82a4f72" && p.client_ref_id().as_str() == "order-7"
                    && p.amount().toman() == 250_000 && p.redirect_url().as_str() == OWN_PAGE
                    && p.request_id().is_some(),
            "shops keep records across releases; an honest one always loads"
        "a sandbox record stored by 0.1.0, in Rial, with an odd code":
            Input::Stored(include_str!("data/records/pending-0.1.0-sandbox-rial.json").into()) => G(Ok(p))
                if p.code().as_str() == "X7kd-29/ab c" && p.wire_unit() == ghesta_core::AmountUnit::Rial,
            "a loopback base with the code encoded as the SDK encodes it is the record's own page"
        "a 0.1.0 record without a request id":
            Input::Stored(include_str!("data/records/pending-0.1.0.json").replace(",\n  \"request_id\": \"6f1c2d3e-0000-4000-8000-000000000001\"", "")) => G(Ok(p)) if p.request_id().is_none(),
            "the request id was optional in 0.1.0"
        "the record's own page, PayPing's card page":
            stored("82a4f72", "https://api.payping.ir/v2/pay/gotoipg/82a4f72") => G(Ok(_)),
            "the plain gateway is the other page v2 gives"
        "redirect to another https host":
            stored("82a4f72", "https://evil.example/installment/82a4f72?type=ghesta") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "whoever writes the store must not send buyers anywhere"
        "redirect to a look-alike host":
            stored("82a4f72", "https://payping.ir.evil.example/installment/82a4f72?type=ghesta") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "the host is compared whole"
        "redirect to PayPing's host under another path":
            stored("82a4f72", "https://payping.ir/evil/installment/82a4f72?type=ghesta") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "PayPing's page has no prefix"
        "redirect to the page of another code":
            stored("82a4f72", "https://payping.ir/installment/someone-else?type=ghesta") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "a buyer would pay for another payment"
        "code changed, redirect kept":
            stored("9999999", OWN_PAGE) => G(Err(m)) if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "the record disagrees with itself"
        "redirect with an extra query":
            stored("82a4f72", "https://payping.ir/installment/82a4f72?type=ghesta&next=https://evil.example") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "no page the SDK gives has it"
        "redirect over plain http to PayPing":
            stored("82a4f72", "http://payping.ir/installment/82a4f72?type=ghesta") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::InsecureScheme),
            "plain http only on loopback"
        "a record naming Ghesta with PayPing's card page":
            stored_on("ghesta", "82a4f72", "https://api.payping.ir/v2/pay/gotoipg/82a4f72") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "the page must be the recorded gateway's"
        "a v3 record on its start page":
            stored_on("payping_v3", "82a4f72", "https://api.payping.ir/v3/pay/start/82a4f72") => G(Ok(p))
                if p.gateway() == ghesta_core::Gateway::PayPingV3,
            "v3's page for the record's code"
        "a 0.1.0-shaped record on v3's start page":
            stored("82a4f72", "https://api.payping.ir/v3/pay/start/82a4f72") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "a record without a gateway is v2: 0.1.0 spoke nothing else"
        "a v3 record sent elsewhere":
            stored_on("payping_v3", "82a4f72", "https://evil.example/v3/pay/start/82a4f72") => G(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "only PayPing's domain or the SDK's own start page"
        "a reversible v2 record":
            Input::Stored(serde_json::to_string(&pending()).unwrap().replacen('{', r#"{"reversible":true,"#, 1)) => G(Err(m))
                if refused_for(m, Field::Reversible, &Rule::NotOnThisGateway),
            "only v3 payments are created reversible"
        "an unknown gateway":
            stored_on("payping_v9", "82a4f72", OWN_PAGE) => G(Err(m)) if m.contains("unknown variant"),
            "a record from a future release is not guessed at"
        "a padded code in the record":
            stored(" 82a4f72", "https://payping.ir/installment/%2082a4f72?type=ghesta") => G(Err(m))
                if refused_for(m, Field::PaymentCode, &Rule::Padded),
            "PayPing never gives a padded code"
    });
}

#[test]
fn blank_and_padded_identifiers() {
    check(rows! {
        "create answer with a blank code":
            answer(Step::Create, 200, r#"{"code":"   "}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. }))
                if reason.starts_with("invalid payment code: it is only whitespace"),
            "it would give the redirect /installment/%20%20%20"
        "create answer with a padded code":
            answer(Step::Create, 200, r#"{"code":" 82a4f72 "}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. }))
                if reason.starts_with("invalid payment code: it starts or ends with whitespace"),
            "PayPing never pads a code"
        "callback with a padded refid":
            form(b"code=82a4f72&refid=+123456789+&clientrefid=order-7") => Got::Callback(Err(CallbackError::InvalidField { name: "refid", source }))
                if source.rule() == &Rule::Padded,
            "verify would send \" 123456789 \""
        "callback with a no-break space after the refid":
            form(b"code=82a4f72&refid=123456789%C2%A0&clientrefid=order-7") => Got::Callback(Err(CallbackError::InvalidField { name: "refid", source }))
                if source.rule() == &Rule::Padded,
            "Unicode whitespace is whitespace"
        "callback with a padded code":
            form(b"code=+82a4f72&refid=555&clientrefid=order-7") => Got::Callback(Err(CallbackError::InvalidField { name: "code", source }))
                if source.rule() == &Rule::Padded,
            "never trimmed into a match with the record"
        "callback with a padded clientrefid":
            form(b"code=82a4f72&refid=555&clientrefid=order-7+") => Got::Callback(Err(CallbackError::InvalidField { name: "clientrefid", source }))
                if source.rule() == &Rule::Padded,
            "the shop looks its record up by it"
        "cancelled callback with a blank clientrefid":
            form(b"code=82a4f72&refid=&clientrefid=+") => Got::Callback(Err(CallbackError::InvalidField { name: "clientrefid", source }))
                if source.rule() == &Rule::Blank,
            "malformed input stays malformed, even on a cancellation"
        "report with a padded clientRefId":
            answer(Step::Report, 200, r#"{"amount":250000,"isPaid":true,"clientRefId":" order-7"}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. }))
                if reason.starts_with("invalid client reference: it starts or ends with whitespace"),
            "it cannot be compared with the shop's own"
        "report with an empty clientRefId":
            answer(Step::Report, 200, r#"{"amount":250000,"isPaid":true,"clientRefId":""}"#) => Got::Report(Ok(r)) if r.client_ref_id().is_none(),
            "empty reads as absent, as null does"
        "a shop's padded clientRefId":
            Input::Value(Value::ClientRefId("order-7 ")) => Got::Value(Err((Field::ClientRefId, Rule::Padded))),
            "PayPing would echo it padded, and the callback would be refused"
    });
}

#[test]
fn case_twin_keys_in_answers() {
    check(rows! {
        "verify amount beside Amount":
            answer(Step::Verify, 200, r#"{"amount":250000,"Amount":1}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("differs only in case from `amount`"),
            "a reader that ignores case sees another amount; the answer says two things"
        "verify Amount first":
            answer(Step::Verify, 200, r#"{"AMOUNT":1,"amount":250000}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("differs only in case"),
            "order does not matter"
        "verify cardNumber twice in two cases":
            answer(Step::Verify, 200, r#"{"amount":250000,"cardNumber":"6037","CardNumber":"5022"}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("`cardNumber`"),
            "every documented key, not only the amount"
        "create code beside Code":
            answer(Step::Create, 200, r#"{"code":"82a4f72","Code":"evil"}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("differs only in case from `code`"),
            "which page would the buyer be sent to?"
        "report isPaid beside IsPaid":
            answer(Step::Report, 200, r#"{"amount":250000,"isPaid":false,"IsPaid":true}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("`isPaid`"),
            "paid or not paid: read as neither"
        "report amount twice":
            answer(Step::Report, 200, r#"{"amount":250000,"amount":1}"#) => Got::Report(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("duplicate field `amount`"),
            "the report is read as strictly as verify now"
        "400 field keys in two cases":
            answer(Step::Verify, 400, r#"{"amount":"a","Amount":"b"}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("appears twice"),
            "an error body is held to the same rule"
        "400 code 15 beside itself in a verify":
            answer(Step::Verify, 400, r#"{"15":"a","15":"a"}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("appears twice"),
            "even the same code twice is not PayPing's answer; never already-verified"
    });
}

/// A rejection whose one entry is keyed by the field `key`, naming no code.
fn field_only(r: &ghesta_core::Rejection, key: &str) -> bool {
    r.code().is_none()
        && r.entries().len() == 1
        && r.entries()[0].key == ErrorKey::Field(key.into())
}

#[test]
fn error_code_keys_are_canonical_decimals() {
    check(rows! {
        "400 with key 015":
            answer(Step::Verify, 400, r#"{"015":"x"}"#) => Got::Verified(Err(Error::Rejected(r))) if field_only(r, "015"),
            "only [1-9][0-9]* names a code; 015 is no already-verified"
        "400 with key ` 15 `":
            answer(Step::Verify, 400, r#"{" 15 ":"x"}"#) => Got::Verified(Err(Error::Rejected(r))) if field_only(r, " 15 "),
            "padding makes it a field name"
        "400 with key +15":
            answer(Step::Verify, 400, r#"{"+15":"x"}"#) => Got::Verified(Err(Error::Rejected(r))) if field_only(r, "+15"),
            "a sign makes it a field name"
        "400 with key 0":
            answer(Step::Verify, 400, r#"{"0":"x"}"#) => Got::Verified(Err(Error::Rejected(r))) if field_only(r, "0"),
            "PayPing's codes start at 1"
        "400 with key 15":
            answer(Step::Verify, 400, r#"{"15":"x"}"#) => Got::Verified(Ok(VerifyOutcome::AlreadyVerified(_))),
            "the canonical key still means already verified"
        "200 verify with key 015":
            answer(Step::Verify, 200, r#"{"amount":250000,"015":"x"}"#) => Got::Verified(Ok(VerifyOutcome::Verified(_))),
            "015 is an unknown field, not an error code beside a success"
        "200 create with key 47":
            answer(Step::Create, 200, r#"{"code":"82a4f72","47":"x"}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. }))
                if reason.contains("error codes"),
            "a canonical code beside a success is still read as neither"
    });
}

#[test]
fn impossible_ports() {
    use Got::Value as G;
    check(rows! {
        "return URL on port 99999":
            Input::Value(Value::ReturnUrl("https://shop.example:99999/")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "no TCP port is above 65535; it must not reach PayPing"
        "return URL on port 65536":
            Input::Value(Value::ReturnUrl("https://shop.example:65536/cb")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "one past the last port"
        "return URL on port 8a":
            Input::Value(Value::ReturnUrl("https://shop.example:8a/cb")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "a port is digits"
        "return URL on port 0":
            Input::Value(Value::ReturnUrl("https://shop.example:0/cb")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "nothing listens on port 0"
        "return URL with an empty port":
            Input::Value(Value::ReturnUrl("https://shop.example:/cb")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "say the port or leave the colon out"
        "loopback return URL on port 70000":
            Input::Value(Value::ReturnUrl("http://[::1]:70000/cb")) => G(Err((Field::ReturnUrl, Rule::InvalidPort))),
            "IPv6 hosts get the same rule"
        "return URL on port 65535":
            Input::Value(Value::ReturnUrl("https://shop.example:65535/cb")) => G(Ok(_)),
            "the last port is a port"
        "API base URL on port 70000":
            Input::Value(Value::ApiUrl("https://api.payping.ir:70000")) => G(Err((Field::ApiUrl, Rule::InvalidPort))),
            "base URLs too"
    });
}

#[test]
fn mobiles_pasted_from_a_phone() {
    use Got::Value as G;
    check(rows! {
        "mobile between left-to-right marks":
            Input::Value(Value::Mobile("\u{200e}09123456789\u{200e}")) => G(Ok(m)) if m == "09123456789",
            "a Persian-locale phone wraps a copied number in LRMs"
        "Persian mobile in an isolate with joiners":
            Input::Value(Value::Mobile("\u{2067}۰۹۱۲\u{200c}۳۴۵\u{200d}۶۷۸۹\u{2069}")) => G(Ok(m)) if m == "09123456789",
            "isolates and zero-width joiners carry no digit"
        "mobile after a byte-order mark":
            Input::Value(Value::Mobile("\u{feff}+98 912 345 6789")) => G(Ok(m)) if m == "09123456789",
            "a BOM from a pasted file"
        "mobile in an embedding":
            Input::Value(Value::Mobile("\u{202b}0912 345 6789\u{202c}")) => G(Ok(m)) if m == "09123456789",
            "embeddings and their pop"
        "ten digits without the 0":
            Input::Value(Value::Mobile("9123456789")) => G(Ok(m)) if m == "09123456789",
            "contact apps store the national number without its trunk 0"
        "ten Persian digits without the 0":
            Input::Value(Value::Mobile("۹۱۲۳۴۵۶۷۸۹")) => G(Ok(m)) if m == "09123456789",
            "the same in Persian digits"
        "ten digits that are not a mobile":
            Input::Value(Value::Mobile("2188887777")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "a landline without its 0 is still a landline"
        "mobile with a word joiner":
            Input::Value(Value::Mobile("0912\u{2060}3456789")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "only the listed marks are dropped"
        "only marks":
            Input::Value(Value::Mobile("\u{200e}\u{200f}\u{200b}")) => G(Err((Field::Mobile, Rule::NotAMobile))),
            "no digits, no number"
    });
}

// ---------------------------------------------------------------------------------------
// PayPing v3 (issue 11): its callback, its answers, and a record that follows its protocol.

/// `text` percent-encoded for a form value.
fn percent(text: &str) -> String {
    serde_urlencoded::to_string([("", text)]).unwrap()[1..].to_owned()
}

fn v3_callback(status: &str, error_code: &str, data: &str) -> Input {
    Input::Form(v3_form(status, error_code, data).into_bytes())
}

const V3_PAID: &str =
    r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-7","amount":250000}"#;

/// A v3 answer with its trace id, as PayPing's problem details carry it.
fn problem(status: u16, code: Option<u32>, message: &str) -> String {
    let meta = match code {
        Some(code) => {
            format!(r#","metaData":{{"code":{code},"errors":[{{"message":"{message}"}}]}}"#)
        }
        None => String::new(),
    };
    format!(
        r#"{{"type":"https://datatracker.ietf.org/doc/html/rfc7231","title":"ValidationException","status":{status},"instance":"/v3/pay","paypingTraceId":"0HN50ATIAS006:00000002"{meta}}}"#
    )
}

fn trace_kept(id: &Option<ghesta_core::RequestId>) -> bool {
    id.as_ref().map(|id| id.as_str()) == Some("0HN50ATIAS006:00000002")
}

fn v3_code(r: &ghesta_core::Rejection, n: u32) -> bool {
    r.code().map(PayPingCode::number) == Some(n)
}

const V3_RECORD: &str = r#"{"amount":250000,"cardNumber":"603799******1234","cardHashPan":"9f86","clientRefId":"order-7","paymentRefId":7781,"code":"P1","payedDate":"2026-11-30T05:03:00Z","payerWage":0,"businessWage":0,"gatewayAmount":250000,"paypingVat":0}"#;

#[test]
fn v3_callbacks() {
    use Got::Callback as C;
    check(rows! {
        "v3 paid":
            v3_callback("1", "", V3_PAID) => C(Ok(Callback::Completed(c)))
                if c.protocol() == ghesta_core::Protocol::V3 && c.ref_id().as_str() == "7781" && c.amount() == Some(250_000),
            "status 1 with data: a claim verify decides"
        "v3 not paid, with its code":
            v3_callback("0", "127", r#"{"paymentCode":"P1","clientRefId":"order-7"}"#) => C(Ok(Callback::Cancelled(c)))
                if c.error_code().map(PayPingCode::number) == Some(127),
            "status 0 is the buyer not paying, never an error"
        "v3 not paid, no code":
            v3_callback("0", "", r#"{"paymentCode":"P1"}"#) => C(Ok(Callback::Cancelled(c))) if c.error_code().is_none(),
            "an empty errorCode is no code"
        "v3 keys in another case":
            form(format!("STATUS=1&ErrorCode=&Data={}", percent(V3_PAID)).as_bytes()) => C(Ok(Callback::Completed(_))),
            "form keys are matched without regard to case, as v2's are"
        "both protocols in one form":
            form(format!("code=P1&refid=1&status=1&data={}", percent(V3_PAID)).as_bytes()) => C(Err(CallbackError::MixedProtocols)),
            "a form that speaks both says two things"
        "a v2 key beside v3's, empty":
            form(format!("status=1&errorCode=&refid=&data={}", percent(V3_PAID)).as_bytes()) => C(Err(CallbackError::MixedProtocols)),
            "presence is enough: which reader would be right?"
        "status 2":
            v3_callback("2", "", V3_PAID) => C(Err(CallbackError::Malformed { name: "status", .. })),
            "only 1 and 0 are documented"
        "status ` 1`":
            v3_callback(" 1", "", V3_PAID) => C(Err(CallbackError::Malformed { name: "status", .. })),
            "never trimmed into a payment"
        "status missing":
            form(format!("errorCode=&data={}", percent(V3_PAID)).as_bytes()) => C(Err(CallbackError::MissingField { name: "status" })),
            "no status, no outcome"
        "paid with an error code":
            v3_callback("1", "127", V3_PAID) => C(Err(CallbackError::Malformed { name: "errorCode", .. })),
            "paid and failed at once is read as neither"
        "errorCode that is no number":
            v3_callback("0", "oops", r#"{"paymentCode":"P1"}"#) => C(Err(CallbackError::Malformed { name: "errorCode", .. })),
            "codes are canonical decimals, as in error bodies"
        "errorCode 0127":
            v3_callback("0", "0127", r#"{"paymentCode":"P1"}"#) => C(Err(CallbackError::Malformed { name: "errorCode", .. })),
            "a leading zero makes it no code"
        "data missing":
            form(b"status=1&errorCode=") => C(Err(CallbackError::MissingField { name: "data" })),
            "the payment is named inside data"
        "data not JSON":
            v3_callback("1", "", "paymentCode=P1") => C(Err(CallbackError::Malformed { name: "data", .. })),
            "data is a JSON string"
        "data a JSON array":
            v3_callback("1", "", r#"["P1",7781]"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "an object, not fields by position"
        "data with trailing text":
            v3_callback("1", "", &format!("{V3_PAID} x")) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "one whole JSON value"
        "data with paymentCode twice":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentCode":"P2","paymentRefId":1}"#) => C(Err(CallbackError::Malformed { name: "data", reason })) if reason.contains("duplicate field `paymentCode`"),
            "which payment is it?"
        "data with a case twin":
            v3_callback("1", "", r#"{"paymentCode":"P1","PaymentCode":"P2","paymentRefId":1}"#) => C(Err(CallbackError::Malformed { name: "data", reason })) if reason.contains("differs only in case"),
            "a reader ignoring case sees another payment"
        "data with a PascalCase key alone":
            v3_callback("1", "", r#"{"PaymentCode":"P1","paymentRefId":1}"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "the documented spelling only"
        "paymentRefId as a string":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":"7781"}"#) => C(Err(CallbackError::Malformed { name: "data", reason })) if reason.starts_with("`paymentRefId`"),
            "an integer, and the error names the key"
        "paymentRefId negative":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":-1}"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "no negative reference"
        "paymentRefId 0":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":0}"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "0 names no payment"
        "paymentRefId a float":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":7781.5}"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "a whole number"
        "paid without paymentRefId":
            v3_callback("1", "", r#"{"paymentCode":"P1","amount":250000}"#) => C(Err(CallbackError::MissingField { name: "paymentRefId" })),
            "nothing to verify"
        "data without paymentCode":
            v3_callback("1", "", r#"{"paymentRefId":7781}"#) => C(Err(CallbackError::MissingField { name: "paymentCode" })),
            "the record is looked up by it"
        "padded paymentCode in data":
            v3_callback("1", "", r#"{"paymentCode":" P1","paymentRefId":7781}"#) => C(Err(CallbackError::InvalidField { name: "paymentCode", source })) if source.rule() == &Rule::Padded,
            "the issue-9 rules hold inside data too"
        "amount as a string":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":1,"amount":"250000"}"#) => C(Err(CallbackError::Malformed { name: "data", .. })),
            "amounts are integers"
        "a bidi control in the card number":
            v3_callback("1", "", r#"{"paymentCode":"P1","paymentRefId":1,"cardNumber":"6037\u202e99"}"#) => C(Err(CallbackError::InvalidField { name: "cardNumber", .. })),
            "display spoofing, as in v2"
        "data nested 10,000 deep":
            v3_callback("1", "", &format!(r#"{{"x":{}{}}}"#, "[".repeat(10_000), "]".repeat(10_000))) => C(Err(CallbackError::TooLarge { .. } | CallbackError::Malformed { name: "data", .. })),
            "capped or refused, never a stack overflow"
        "the early flat shape":
            form(b"Status=1&PaymentRefId=7781&PaymentCode=P1") => C(Err(CallbackError::Malformed { name: "data", .. } | CallbackError::MissingField { name: "data" })),
            "a 2024 pre-release shape nothing maintained sends"
    });
}

#[test]
fn v3_verify_building() {
    use Got::VerifyBuilt as V;
    check(rows! {
        "v3 callback for its record":
            Input::VerifyFromV3(v3_form("1", "", V3_PAID)) => V(Ok(())),
            "code, clientRefId and amount agree"
        "v3 callback for another amount":
            Input::VerifyFromV3(v3_form("1", "", r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-7","amount":1000}"#)) => V(Err(Error::CallbackMismatch { field: Field::Amount, .. })),
            "refused before any request: the buyer paid another amount"
        "v3 callback for another code":
            Input::VerifyFromV3(v3_form("1", "", r#"{"paymentCode":"P2","paymentRefId":7781,"clientRefId":"order-7","amount":250000}"#)) => V(Err(Error::CallbackMismatch { field: Field::PaymentCode, .. })),
            "another payment's callback"
        "v3 callback for another order":
            Input::VerifyFromV3(v3_form("1", "", r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-8","amount":250000}"#)) => V(Err(Error::CallbackMismatch { field: Field::ClientRefId, .. })),
            "misrouted or forged"
        "v2 callback for a v3 record":
            Input::VerifyFromV3("code=P1&refid=7781&clientrefid=order-7".into()) => V(Err(Error::CallbackMismatch { field: Field::Protocol, .. })),
            "a record is verified from its own protocol's form only"
        "v3 callback for a v2 record":
            Input::VerifyFrom("status=1&errorCode=&data=%7B%22paymentCode%22%3A%2282a4f72%22%2C%22paymentRefId%22%3A555%2C%22clientRefId%22%3A%22order-7%22%7D") => V(Err(Error::CallbackMismatch { field: Field::Protocol, .. })),
            "and the other way round"
    });
}

#[test]
fn v3_answers() {
    use Step::{CancelV3, CreateV3, Refund, VerifyV3};
    check(rows! {
        "v3 create 200":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","url":"https://api.payping.ir/v3/pay/start/P1","amount":250000,"gatewayAmount":252500,"payerWage":2500,"businessWage":0,"paypingVat":0}"#) => Got::Created(Ok(p))
                if p.gateway() == ghesta_core::Gateway::PayPingV3 && p.fees().and_then(|f| f.gateway_amount()) == Some(252_500),
            "the code, the page and the fees are kept"
        "v3 create with v2's answer":
            answer(CreateV3, 200, r#"{"code":"82a4f72"}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. })) if reason.contains("paymentCode"),
            "v3's create answers paymentCode"
        "v3 create for another amount":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","amount":1000}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. })) if reason.contains("amount 1000"),
            "the buyer would be asked for another amount"
        "v3 create url on another host":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","url":"https://evil.example/pay"}"#) => Got::Created(Ok(p))
                if p.redirect_url().as_str() == "https://api.payping.ir/v3/pay/start/P1",
            "a page off PayPing's domain is not trusted; the start page is built"
        "v3 create url of another shape on PayPing's domain":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","url":"https://pay.payping.ir/P1"}"#) => Got::Created(Ok(p))
                if p.redirect_url().as_str() == "https://api.payping.ir/v3/pay/start/P1",
            "nothing in another shape says which payment it opens: a record could not keep it, so the start page is built"
        "v3 create url: the start page of another payment":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","url":"https://api.payping.ir/v3/pay/start/P2"}"#) => Got::Created(Ok(p))
                if p.redirect_url().as_str() == "https://api.payping.ir/v3/pay/start/P1",
            "the buyer is sent to the payment the record verifies"
        "v3 create url: the start page on PayPing's second host":
            answer(CreateV3, 200, r#"{"paymentCode":"P1","url":"https://api.payping.io/v3/pay/start/P1"}"#) => Got::Created(Ok(p))
                if p.redirect_url().as_str() == "https://api.payping.io/v3/pay/start/P1",
            "payping.io is PayPing's too, and the page is the code's own"
        "v3 create paymentCode as a number":
            answer(CreateV3, 200, r#"{"paymentCode":123}"#) => Got::Created(Err(Error::MalformedResponse { reason, .. })) if reason.starts_with("`paymentCode`"),
            "a string, and the error names the key"
        "v3 create 400 problem":
            answer(CreateV3, 400, &problem(400, Some(105), "آدرس بازگشت نامعتبر")) => Got::Created(Err(Error::Rejected(r)))
                if v3_code(r, 105) && trace_kept(&r.request_id().cloned()) && r.title() == Some("ValidationException"),
            "problem details keep the code, the message, the title and the trace id"
        "v3 verify 200":
            answer(VerifyV3, 200, V3_RECORD) => Got::Verified(Ok(VerifyOutcome::Verified(v)))
                if v.card_number().is_some() && v.paid_at() == Some("2026-11-30T05:03:00Z"),
            "the full record"
        "v3 verify 200 for another amount":
            answer(VerifyV3, 200, &V3_RECORD.replace("\"amount\":250000", "\"amount\":1")) => Got::Verified(Err(Error::AmountMismatch { received: 1, .. })),
            "never a success for another amount"
        "v3 verify 200 for another code":
            answer(VerifyV3, 200, &V3_RECORD.replace("\"code\":\"P1\"", "\"code\":\"P9\"")) => Got::Verified(Err(Error::CodeMismatch { .. })),
            "v3 names the payment it verified: it must be this one"
        "v3 verify 200 without an amount":
            answer(VerifyV3, 200, r#"{"code":"P1"}"#) => Got::Verified(Err(Error::MalformedResponse { reason, .. })) if reason.contains("amount"),
            "no amount, no proof"
        "v3 verify 200 with Amount beside amount":
            answer(VerifyV3, 200, &V3_RECORD.replace("\"amount\":250000", "\"amount\":250000,\"Amount\":1")) => Got::Verified(Err(Error::MalformedResponse { .. })),
            "case twins in a 200 are refused, as in v2"
        "v3 verify 202":
            answer(VerifyV3, 202, "") => Got::Verified(Err(e @ Error::VerifyInProgress { .. })) if e.is_retryable(),
            "still in progress: verify again, never a success or a final failure"
        "v3 verify 502 HTML":
            answer(VerifyV3, 502, NGINX_502) => Got::Verified(Err(Error::VerifyInProgress { .. })),
            "PayPing documents 502 as in progress too"
        "v3 verify 409/110 camelCase":
            answer(VerifyV3, 409, &format!(r#"{{"title":"Conflict","status":409,"paypingTraceId":"0HN50ATIAS006:00000002","metaData":{{"code":110,"message":{V3_RECORD}}}}}"#)) => Got::Verified(Ok(VerifyOutcome::AlreadyVerified(a)))
                if a.card_number().is_some() && trace_kept(&a.request_id().cloned()),
            "a lost verify answer comes back with the earlier result"
        "v3 verify 409/110 PascalCase":
            answer(VerifyV3, 409, r#"{"title":"Conflict","metaData":{"code":110,"message":{"Amount":250000,"CardNumber":"603799******1234","Code":"P1","PaymentRefId":7781,"PayedDate":"2026-11-30T05:03:00Z"}}}"#) => Got::Verified(Ok(VerifyOutcome::AlreadyVerified(a)))
                if a.paid_at() == Some("2026-11-30T05:03:00Z"),
            "PayPing's example writes the earlier result in PascalCase"
        "v3 verify 409/110 in PascalCase all through":
            answer(VerifyV3, 409, r#"{"Title":"Conflict","MetaData":{"Code":110,"Message":{"amount":250000}}}"#) => Got::Verified(Ok(VerifyOutcome::AlreadyVerified(_))),
            "problem details are read without regard to case"
        "v3 verify 409/110 for another amount":
            answer(VerifyV3, 409, r#"{"metaData":{"code":110,"message":{"Amount":1,"Code":"P1"}}}"#) => Got::Verified(Err(Error::AmountMismatch { received: 1, .. })),
            "an earlier verify of another amount is no reason to ship"
        "v3 verify 409/110 for another code":
            answer(VerifyV3, 409, r#"{"metaData":{"code":110,"message":{"amount":250000,"code":"P9"}}}"#) => Got::Verified(Err(Error::CodeMismatch { .. })),
            "nor one of another payment"
        "v3 verify 409/110 with a case twin":
            answer(VerifyV3, 409, r#"{"metaData":{"code":110,"message":{"amount":250000,"Amount":1}}}"#) => Got::Verified(Err(Error::Rejected(_) | Error::MalformedResponse { .. })),
            "two amounts: never already-verified"
        "v3 verify 409/110 without a record":
            answer(VerifyV3, 409, r#"{"metaData":{"code":110,"message":"قبلا تایید شده"}}"#) => Got::Verified(Ok(VerifyOutcome::AlreadyVerified(a))) if a.message() == "قبلا تایید شده",
            "the message alone still says already verified"
        "v3 verify 409 another code":
            answer(VerifyV3, 409, &problem(409, Some(126), "conflict")) => Got::Verified(Err(Error::Rejected(r))) if v3_code(r, 126),
            "any other 409 is a conflict, not a success"
        "v3 verify 409 without metaData":
            answer(VerifyV3, 409, &problem(409, None, "")) => Got::Verified(Err(Error::Rejected(r))) if r.code().is_none(),
            "no code 110, no already-verified"
        "v3 verify 400 code 110":
            answer(VerifyV3, 400, &problem(400, Some(110), "done")) => Got::Verified(Err(Error::Rejected(_))),
            "already-verified is a 409, not a 400 that says 110"
        "v3 verify 400 code 155":
            answer(VerifyV3, 400, &problem(400, Some(155), "in progress")) => Got::Verified(Err(e @ Error::Rejected(_))) if e.is_retryable(),
            "155: verify in progress, worth a retry"
        "v3 verify 500 problem":
            answer(VerifyV3, 500, &problem(500, Some(108), "internal")) => Got::Verified(Err(Error::Unavailable { request_id, .. })) if trace_kept(request_id),
            "a 5xx is unavailable, with the trace id kept"
        "v3 verify 400 empty":
            answer(VerifyV3, 400, "") => Got::Verified(Err(Error::MalformedResponse { .. })),
            "nothing said is not a refusal"
        "v3 verify 400 empty object":
            answer(VerifyV3, 400, "{}") => Got::Verified(Err(Error::MalformedResponse { reason, .. })) if reason.contains("empty problem"),
            "a problem that says nothing"
        "v3 verify 400 truncated":
            answer(VerifyV3, 400, r#"{"title":"Valid"#) => Got::Verified(Err(Error::MalformedResponse { .. })),
            "cut short on the way"
        "v3 verify 400 metaData.code as text":
            answer(VerifyV3, 400, r#"{"metaData":{"code":"101"}}"#) => Got::Verified(Err(Error::MalformedResponse { .. })),
            "a code is a number"
        "v3 verify 400 trace id with a newline":
            answer(VerifyV3, 400, "{\"paypingTraceId\":\"a\\nX-Forged: 1\",\"metaData\":{\"code\":101}}") => Got::Verified(Err(Error::Rejected(r)))
                if r.request_id().map(|id| id.as_str()) == Some(REQUEST_ID),
            "a trace id that could forge log lines is dropped; the header's id stays"
        "v3 verify 400 with 100 messages":
            answer(VerifyV3, 400, &format!(r#"{{"metaData":{{"code":101,"errors":[{}]}}}}"#, vec![r#"{"message":"m"}"#; 100].join(","))) => Got::Verified(Err(Error::Rejected(r))) if r.entries().len() == 16,
            "bounded"
        "v3 verify 401":
            answer(VerifyV3, 401, "") => Got::Verified(Err(Error::Unauthorized { .. })),
            "the token, as in v2"
        "v3 cancel 204":
            answer(CancelV3, 204, "") => Got::Cancelled(Ok(_)),
            "what v3 documents"
        "v3 cancel 400 code 129":
            answer(CancelV3, 400, &problem(400, Some(129), "sent to the gateway")) => Got::Cancelled(Err(Error::Rejected(r))) if v3_code(r, 129),
            "too late to cancel: the buyer reached the gateway"
        "v3 cancel 406 without metaData":
            answer(CancelV3, 406, r#"{"title":"Not Acceptable","detail":"no"}"#) => Got::Cancelled(Err(Error::Rejected(r)))
                if r.entries()[0].key == ErrorKey::Problem && r.message() == Some("no"),
            "plain problem details keep their detail"
        "v3 refund 200":
            answer(Refund, 200, "") => Got::Refunded(Ok(_)),
            "refunded"
        "v3 refund 400 code 134":
            answer(Refund, 400, &problem(400, Some(134), "not reversible")) => Got::Refunded(Err(Error::Rejected(r))) if r.code() == Some(PayPingCode::V3NotReversible),
            "PayPing's own word that it is not reversible"
        "v3 refund 400 code 135":
            answer(Refund, 400, &problem(400, Some(135), "late")) => Got::Refunded(Err(Error::Rejected(r))) if r.code() == Some(PayPingCode::V3ReverseWindowExpired),
            "the window passed on PayPing's clock"
        "v3 refund 400 code 156":
            answer(Refund, 400, &problem(400, Some(156), "in progress")) => Got::Refunded(Err(e @ Error::Rejected(_))) if e.is_retryable(),
            "in progress: the one refund error worth a retry"
    });
}

// ---------------------------------------------------------------------------------------
// PayPing's second host and a stored v3 page bound to its code (issue 22).

/// The record create gives for `gateway` through a shop configured for PayPing's second
/// host (`payping.io` pages, `api.payping.io` API), stored as the shop stores it.
fn stored_second_host(gateway: ghesta_core::Gateway) -> Input {
    let config = config()
        .with_gateway_url(ghesta_core::BaseUrl::gateway(ghesta_core::SECOND_GATEWAY_URL).unwrap())
        .with_api_url(ghesta_core::BaseUrl::api(ghesta_core::SECOND_API_URL).unwrap())
        .with_gateway(gateway);
    let answer = match gateway.protocol() {
        ghesta_core::Protocol::V2 => r#"{"code":"82a4f72"}"#,
        _ => r#"{"paymentCode":"82a4f72"}"#,
    };
    let pending = CreatePayment::new(&config, payment(), SystemTime::UNIX_EPOCH)
        .parse_response(http::Response::new(answer.as_bytes().to_vec()))
        .unwrap();
    Input::Stored(serde_json::to_string(&pending).unwrap())
}

/// Whether a record read back sends the buyer to `page`, on `gateway`.
fn reads_back_to(p: &Pending, gateway: ghesta_core::Gateway, page: &str) -> bool {
    p.gateway() == gateway && p.redirect_url().as_str() == page
}

#[test]
fn second_host_and_v3_pages() {
    use Got::Stored as S;
    use ghesta_core::Gateway::{Ghesta, PayPingV2, PayPingV3};
    check(rows! {
        "a Ghesta record made on payping.io":
            stored_second_host(Ghesta) => S(Ok(p))
                if reads_back_to(p, Ghesta, "https://payping.io/installment/82a4f72?type=ghesta"),
            "PayPing's second host is PayPing's: a shop on it must be able to verify what it stored"
        "a v2 card record made on api.payping.io":
            stored_second_host(PayPingV2) => S(Ok(p))
                if reads_back_to(p, PayPingV2, "https://api.payping.io/v2/pay/gotoipg/82a4f72"),
            "the card page lives on the second host's API host"
        "a v3 record made on api.payping.io":
            stored_second_host(PayPingV3) => S(Ok(p))
                if reads_back_to(p, PayPingV3, "https://api.payping.io/v3/pay/start/82a4f72"),
            "v3's start page on the second host"
        "a 0.1.0-shaped record on payping.io":
            stored("82a4f72", "https://payping.io/installment/82a4f72?type=ghesta") => S(Ok(p))
                if reads_back_to(p, Ghesta, "https://payping.io/installment/82a4f72?type=ghesta"),
            "a record without a gateway says by its page which it is, on either host"
        "Ghesta's page on the second host's API host":
            stored("82a4f72", "https://api.payping.io/installment/82a4f72?type=ghesta") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "each page on the host the SDK builds it on, as on payping.ir"
        "the card page on the second host's page host":
            stored("82a4f72", "https://payping.io/v2/pay/gotoipg/82a4f72") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "PayPing's card page lives on its API host"
        "a look-alike of the second host":
            stored("82a4f72", "https://payping.io.evil.example/installment/82a4f72?type=ghesta") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "the host is compared whole on payping.io too"
        "a subdomain of the second host":
            stored("82a4f72", "https://x.payping.io/installment/82a4f72?type=ghesta") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "only the documented hosts, no other host under the domain"
        "a v3 record on the start page of another payment":
            stored_on("payping_v3", "82a4f72", "https://api.payping.ir/v3/pay/start/someone-else") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "whoever writes the store must not send buyers to pay someone else's payment on PayPing's own host"
        "a v3 record on the second host's start page of another payment":
            stored_on("payping_v3", "82a4f72", "https://api.payping.io/v3/pay/start/someone-else") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "the same on payping.io"
        "a v3 record on the start route in another case":
            stored_on("payping_v3", "82a4f72", "https://api.payping.ir/V3/PAY/START/someone-else") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "PayPing's routing ignores case, so the start route is found in any case"
        "a v3 record on a page of another shape on PayPing's domain":
            stored_on("payping_v3", "82a4f72", "https://pay.payping.ir/someone-else") => S(Ok(p))
                if reads_back_to(p, PayPingV3, "https://api.payping.ir/v3/pay/start/82a4f72"),
            "nothing ties such a page to the record's code: the start page built from the code replaces it"
        "a v3 record on a page of another shape on payping.io":
            stored_on("payping_v3", "82a4f72", "https://pay.payping.io/82a4f72") => S(Ok(p))
                if reads_back_to(p, PayPingV3, "https://api.payping.io/v3/pay/start/82a4f72"),
            "the start page is built on the deployment the page was on: a shop on payping.io may not reach payping.ir"
        "a loopback page under a base ending in a slash":
            stored("82a4f72", "http://127.0.0.1:9//installment/82a4f72?type=ghesta") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectHost),
            "no base the SDK takes ends in `/`: the path would be another one, even on a sandbox"
        "a v3 record on a loopback page of another shape":
            stored_on("payping_v3", "82a4f72", "http://127.0.0.1:9/pay/82a4f72") => S(Err(m))
                if refused_for(m, Field::RedirectUrl, &Rule::RedirectMismatch),
            "the sandbox's base cannot be told from such a page, so no start page can be built"
    });
}
