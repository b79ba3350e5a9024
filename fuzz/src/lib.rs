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
    Error, Exchange, Gateway, MAX_CALLBACK_BYTES, Mobile, NewPayment, Pending, Protocol, RequestId,
    ReturnUrl, SECOND_API_URL, SECOND_GATEWAY_URL, Token,
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

/// The token every fuzzed configuration holds.
pub const TOKEN: &str = "fuzz-token";

/// Production settings with a fixed test token.
pub fn production() -> Config {
    Config::new(Token::new(TOKEN).expect("a constant token is valid"))
}

/// A sandbox-like configuration: loopback gateway under a path prefix, a proxied API, Rial.
pub fn sandbox() -> Config {
    production()
        .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw/").expect("constant base"))
        .with_api_url(BaseUrl::api("https://proxy.example/pp").expect("constant base"))
        .with_amount_unit(AmountUnit::Rial)
}

/// A shop on PayPing's second host: `payping.io` pages, the `api.payping.io` API.
pub fn second_host() -> Config {
    production()
        .with_gateway_url(BaseUrl::gateway(SECOND_GATEWAY_URL).expect("constant base"))
        .with_api_url(BaseUrl::api(SECOND_API_URL).expect("constant base"))
}

/// `pending` stored as a shop stores it, with its `redirect_url` replaced by `redirect`
/// when one is given, and read back.
pub fn read_back(pending: &Pending, redirect: Option<&str>) -> Result<Pending, String> {
    let mut stored = serde_json::to_value(pending).expect("a record serialises");
    if let Some(redirect) = redirect {
        stored["redirect_url"] = redirect.into();
    }
    serde_json::from_value(stored).map_err(|e| e.to_string())
}

/// What must hold for a v3 record stored with its page replaced, whatever the code:
/// another payment's start page is refused; a page of another shape on the deployment's
/// domain reads back as the start page of the record's own code on that deployment's API
/// host (`api` below); the record itself reads back unchanged.
pub fn check_v3_pages(pending: &Pending, api: &str, domain: &str) {
    assert_eq!(read_back(pending, None).as_ref(), Ok(pending));
    let own = pending.code().as_str();
    let other = if own == "P9" { "P8" } else { "P9" };
    let refused = read_back(pending, Some(&format!("{api}/v3/pay/start/{other}")));
    assert!(
        refused.is_err(),
        "another payment's page loaded: {refused:?}"
    );
    let loaded = read_back(pending, Some(&format!("https://pay.{domain}/pay/{other}")))
        .expect("a page of another shape on PayPing's domain falls back");
    assert_eq!(loaded.redirect_url(), pending.redirect_url());
    assert_eq!(loaded.code(), pending.code());
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

/// The record a shop holds after creating a reversible 250,000 Toman payment for `order-7`
/// on PayPing v3, code `P1`.
pub fn pending_v3() -> Pending {
    let config = production().with_gateway(Gateway::PayPingV3);
    let payment = NewPayment::new(
        Amount::from_toman(250_000).expect("in range"),
        ReturnUrl::new("https://shop.example/ghesta/callback").expect("https"),
        ClientRefId::new("order-7").expect("short"),
        Mobile::new("09123456789").expect("a mobile"),
    )
    .with_reversible(true);
    let create = CreatePayment::new(&config, payment, SystemTime::UNIX_EPOCH);
    let answer = http::Response::new(&br#"{"paymentCode":"P1"}"#[..]);
    create
        .parse_response(answer)
        .expect("a documented v3 create answer")
}

/// How many keys of `entries` equal `key` without regard to ASCII case: more than one is
/// an answer that says two things, which the SDK must never read as a success.
pub fn count_any_case(entries: &[(String, serde_json::Value)], key: &str) -> usize {
    entries
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(key))
        .count()
}

/// The value of `key` in a JSON object, matched without regard to ASCII case, when exactly
/// one key matches.
pub fn any_case<'a>(value: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    let object = value.as_object()?;
    let mut found = object.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
    match (found.next(), found.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

/// The value at `path` in a JSON body, each key matched without regard to ASCII case, read
/// the way the SDK reads: values off the path are skipped unread (a string there may even
/// hold invalid UTF-8). `None` when the body is not JSON objects down the path, or a key on
/// the path is missing or appears twice in any case.
pub fn at_path(body: &[u8], path: &[&str]) -> Option<serde_json::Value> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

    struct Walk<'p>(&'p [&'p str]);
    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = Option<serde_json::Value>;
        fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
            match self.0.split_first() {
                None => serde::Deserialize::deserialize(de).map(Some),
                Some(_) => de.deserialize_any(self),
            }
        }
    }
    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = Option<serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (key, rest) = self.0.split_first().expect("a path to walk");
            let mut found = None;
            let mut count = 0;
            while let Some(k) = map.next_key::<String>()? {
                if k.eq_ignore_ascii_case(key) {
                    count += 1;
                    found = map.next_value_seed(Walk(rest))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(if count == 1 { found } else { None })
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Walk(path).deserialize(&mut de).ok()?;
    de.end().ok()?;
    value
}

/// Whether an identifier is one PayPing could send: not blank, not padded with whitespace.
pub fn is_unpadded(id: &str) -> bool {
    !id.trim().is_empty() && id.trim() == id
}

/// The top-level entries of a JSON object, in order and with repeats (serde_json's `Map`
/// would merge them), read by serde_json alone: the oracle an answer's result is checked
/// against. `None` when the body is not one JSON object. Only the values of the keys in
/// `checked` are read; others are `Null` (skipped unread, as the SDK skips them).
pub fn entries(body: &[u8], checked: &[&str]) -> Option<Vec<(String, serde_json::Value)>> {
    struct Entries<'c>(&'c [&'c str]);
    impl<'de> serde::de::Visitor<'de> for Entries<'_> {
        type Value = Vec<(String, serde_json::Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                // Only the values checked are read: like any JSON reader, the SDK skips the
                // others without decoding their strings.
                let value = if self.0.contains(&key.as_str()) {
                    map.next_value()?
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    serde_json::Value::Null
                };
                entries.push((key, value));
            }
            Ok(entries)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let entries = serde::Deserializer::deserialize_map(&mut de, Entries(checked)).ok()?;
    de.end().ok()?;
    Some(entries)
}

/// The one value of `key` (spelled exactly), when the object names it exactly once.
pub fn only<'a>(
    entries: &'a [(String, serde_json::Value)],
    key: &str,
) -> Option<&'a serde_json::Value> {
    let mut found = entries.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
    match (found.next(), found.next()) {
        (Some(value), None) => Some(value),
        _ => None,
    }
}

/// Whether an object names one of PayPing's error codes: a key that is a decimal number
/// without sign, padding or leading zero, of at most 9 digits. No documented success body
/// has one. (Keys the SDK reads more strictly only make it refuse more.)
pub fn names_error_code(entries: &[(String, serde_json::Value)]) -> bool {
    entries.iter().any(|(key, _)| {
        let digits = key.as_bytes();
        matches!(digits.first(), Some(b'1'..=b'9'))
            && digits.len() <= 9
            && digits.iter().all(u8::is_ascii_digit)
    })
}

/// What must hold for an accepted callback, read from `form` (the body or query it came
/// from) by serde_urlencoded alone: every `%` starts a two-hex-digit escape; each of the
/// protocols' keys appears at most once in any case, and never keys of both protocols; the
/// identifiers are never blank or padded; v2: the code, clientrefid and (when completed)
/// refid and card fields are the form's, a completed callback has a refid and a cancelled
/// one none; v3: `status` is 1 (completed) or 0 (cancelled), `data` (read by serde_json) is
/// an object naming the code once (in any case) and, when completed, the refId as an integer
/// and the amount it claims. And it round-trips: `to_form()` parses back to it.
pub fn check_accepted(form: &[u8], callback: &Callback) {
    let escapes_well_formed = form.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || form
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    assert!(escapes_well_formed, "a malformed escape was accepted");
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(form).expect("an accepted callback is a form");
    let present = |name: &str| pairs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let field = |name: &str| -> Option<&str> {
        let mut found = pairs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
        let first = found.next();
        assert!(found.next().is_none(), "{name} given twice was accepted");
        first.map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    };
    let v2_keys = ["code", "refid", "clientrefid", "cardnumber", "cardhashpan"];
    let v3_keys = ["status", "errorcode", "data"];
    let has_v2 = v2_keys.iter().any(|k| present(k));
    let has_v3 = v3_keys.iter().any(|k| present(k));
    assert!(!(has_v2 && has_v3), "a form of both protocols was accepted");
    assert!(is_unpadded(callback.code().as_str()), "a padded code");
    if let Some(id) = callback.client_ref_id() {
        assert!(is_unpadded(id.as_str()), "a padded clientRefId");
    }
    if let Callback::Completed(c) = callback {
        assert!(is_unpadded(c.ref_id().as_str()), "a padded refId");
    }
    match callback.protocol() {
        Protocol::V2 => {
            assert!(has_v2 && !has_v3);
            assert_eq!(field("code"), Some(callback.code().as_str()));
            assert_eq!(
                field("clientrefid"),
                callback.client_ref_id().map(|c| c.as_str())
            );
            match callback {
                Callback::Completed(c) => {
                    assert_eq!(field("refid"), Some(c.ref_id().as_str()));
                    assert_eq!(field("cardnumber"), c.card_number().map(|v| v.as_str()));
                    assert_eq!(field("cardhashpan"), c.card_hash().map(|v| v.as_str()));
                }
                Callback::Cancelled(_) => assert_eq!(field("refid"), None),
            }
        }
        _ => {
            assert!(has_v3 && !has_v2);
            let data: serde_json::Value =
                serde_json::from_str(field("data").expect("v3 data")).expect("data is JSON");
            let code = any_case(&data, "paymentCode").and_then(|v| v.as_str());
            assert_eq!(code, Some(callback.code().as_str()), "{data}");
            match callback {
                Callback::Completed(c) => {
                    assert_eq!(field("status"), Some("1"));
                    assert_eq!(field("errorcode"), None, "paid beside an error code");
                    let ref_id = any_case(&data, "paymentRefId").and_then(|v| v.as_u64());
                    assert_eq!(
                        ref_id.map(|n| n.to_string()).as_deref(),
                        Some(c.ref_id().as_str())
                    );
                    assert_eq!(
                        any_case(&data, "amount").and_then(|v| v.as_u64()),
                        c.amount()
                    );
                }
                Callback::Cancelled(_) => assert_eq!(field("status"), Some("0")),
            }
        }
    }
    let again = callback.to_form();
    assert!(again.len() <= MAX_CALLBACK_BYTES, "to_form outgrew the cap");
    assert_eq!(Callback::from_form(again.as_bytes()).as_ref(), Ok(callback));
}

/// What must hold for a refused callback: its message stays bounded whatever the input.
pub fn check_refused(error: &CallbackError) {
    assert!(
        error.to_string().len() <= 2048,
        "unbounded message: {error}"
    );
}

/// What must hold for any error read from a v3 answer: it keeps the answer's status (a
/// mismatch is a 200 or a 409), its request id is the header's or a `paypingTraceId` the
/// body names, and its message stays bounded whatever the body was.
pub fn check_v3_error(error: &Error, status: http::StatusCode, headers: &HeaderMap, body: &[u8]) {
    if let Some(id) = error.request_id() {
        let from_header = RequestId::from_headers(headers).is_some_and(|h| h == *id);
        let in_body = body
            .windows(id.as_str().len().max(1))
            .any(|w| w == id.as_str().as_bytes());
        assert!(from_header || in_body, "an id from nowhere: {error:?}");
    }
    match error {
        Error::AmountMismatch { .. } | Error::CodeMismatch { .. } => {
            assert!(matches!(status.as_u16(), 200 | 409), "{error:?}");
        }
        _ => assert_eq!(error.status(), Some(status), "{error:?}"),
    }
    assert!(
        !matches!(error, Error::Invalid(_) | Error::CallbackMismatch { .. }),
        "an answer cannot make an input error: {error:?}"
    );
    assert!(error.to_string().len() <= 128 * 1024, "unbounded message");
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
