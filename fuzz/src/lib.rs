//! What the fuzz targets share: how an input is carved into parts, the configurations and
//! records the exchanges are built from, and the checks every result must pass.
//!
//! Inputs are line-shaped text rather than `arbitrary`-encoded structs, so the committed
//! seed corpus reads like what arrives on the wire (a start line, `name: value` header
//! lines, a blank line, a body) and the dictionaries' tokens land where they matter. This
//! only cuts a test input into pieces; every piece goes through `http`'s own constructors,
//! and pieces `http` refuses are skipped, as the brief for these targets asks.

use std::time::SystemTime;

use ghesta_core::http::{self, HeaderMap, HeaderName, HeaderValue};
use ghesta_core::{
    Amount, AmountUnit, BaseUrl, Callback, CallbackError, ClientRefId, Config, CreatePayment,
    Error, Exchange, MAX_CALLBACK_BYTES, Mobile, NewPayment, Pending, RequestId, ReturnUrl, Token,
};

/// The most header lines a target builds; more say nothing new and only slow a run.
const MAX_HEADERS: usize = 32;

/// A fuzz input cut into a start line, header lines and a body.
pub struct Carved<'a> {
    /// The first line (a status, or `METHOD URI`), without its line end.
    pub start: &'a [u8],
    /// The header lines before the first empty line, split at their first `:`.
    pub headers: Vec<(&'a [u8], &'a [u8])>,
    /// Everything after the first empty line.
    pub body: &'a [u8],
}

fn line_end(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Cuts `data` into a start line, header lines and a body. Lines without `:` are skipped.
pub fn carve(data: &[u8]) -> Carved<'_> {
    let (start, mut rest) = split_line(data);
    let mut headers = Vec::new();
    loop {
        if rest.is_empty() {
            break;
        }
        let (line, next) = split_line(rest);
        rest = next;
        if line.is_empty() {
            break;
        }
        if let Some(colon) = line.iter().position(|b| *b == b':') {
            let value = &line[colon + 1..];
            let value = value.strip_prefix(b" ").unwrap_or(value);
            headers.push((&line[..colon], value));
        }
    }
    Carved {
        start,
        headers,
        body: rest,
    }
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|b| *b == b'\n') {
        Some(i) => (line_end(&data[..i]), &data[i + 1..]),
        None => (line_end(data), &[]),
    }
}

/// The header lines `http` accepts, in order (repeats kept, as a server would see them).
pub fn header_map(lines: &[(&[u8], &[u8])]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in lines.iter().take(MAX_HEADERS) {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

/// Production settings with a fixed test token.
pub fn production() -> Config {
    Config::new(Token::new("fuzz-token").expect("a constant token is valid"))
}

/// A sandbox-like configuration: loopback gateway under a path prefix, a proxied API, Rial.
pub fn sandbox() -> Config {
    production()
        .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw/").expect("constant base"))
        .with_api_url(BaseUrl::api("https://proxy.example/pp").expect("constant base"))
        .with_amount_unit(AmountUnit::Rial)
}

/// The record a shop holds after creating a 250,000 Toman payment for `order-7`.
pub fn pending(config: &Config) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(250_000).expect("in range"),
        ReturnUrl::new("https://shop.example/ghesta/callback").expect("https"),
        ClientRefId::new("order-7").expect("short"),
        Mobile::new("09123456789").expect("a mobile"),
    );
    let create = CreatePayment::new(config, payment, SystemTime::UNIX_EPOCH);
    let answer = http::Response::new(&br#"{"code":"82a4f72"}"#[..]);
    create
        .parse_response(answer)
        .expect("a documented create answer")
}

/// What must hold for any callback result: an accepted callback re-encodes with
/// [`Callback::to_form`] and parses (as a form and as a query) to the same value; a refusal
/// maps to one of the four statuses a shop answers with and its message stays bounded.
pub fn check_callback(result: &Result<Callback, CallbackError>) {
    match result {
        Ok(callback) => {
            let form = callback.to_form();
            assert!(form.len() <= MAX_CALLBACK_BYTES, "to_form outgrew the cap");
            assert_eq!(Callback::from_form(form.as_bytes()).as_ref(), Ok(callback));
            assert_eq!(Callback::from_query(&form).as_ref(), Ok(callback));
            let _ = callback.to_string();
        }
        Err(e) => {
            assert!(
                matches!(e.status().as_u16(), 400 | 405 | 413 | 415),
                "{e:?}"
            );
            assert!(e.to_string().len() <= 2048, "unbounded message: {e}");
        }
    }
}

/// What must hold for any error read from an answer: it keeps the answer's status and
/// request id, and its message stays bounded whatever the body was.
pub fn check_error(error: &Error, status: http::StatusCode, headers: &HeaderMap) {
    let id = RequestId::from_headers(headers);
    assert_eq!(error.request_id(), id.as_ref(), "{error:?}");
    if !matches!(error, Error::AmountMismatch { .. }) {
        assert_eq!(error.status(), Some(status), "{error:?}");
    }
    assert!(
        !matches!(error, Error::Invalid(_) | Error::CallbackMismatch { .. }),
        "an answer cannot make an input error: {error:?}"
    );
    assert!(error.to_string().len() <= 128 * 1024, "unbounded message");
}
