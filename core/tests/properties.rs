//! Properties of the round trips and parsers, checked on stable with proptest so that
//! `cargo test` covers what the nightly fuzz targets in `fuzz/` explore at length:
//!
//! - a callback built from valid values, sent in any key case and order, parses to those
//!   values, and `to_form()` parses back to the same callback;
//! - a payment code stays one percent-encoded path segment of every URL it is placed in;
//! - amounts round-trip between Toman, Rial and the wire units;
//! - a valid mobile typed with Persian or Arabic-Indic digits, separators and any country
//!   prefix normalises to `09xxxxxxxxx`;
//! - create and verify bodies are JSON objects with exactly the spec's fields and types;
//! - no parser panics on arbitrary bytes or statuses;
//! - PayPing's documented answers and callback forms, unchanged or with one mutation each,
//!   reach every outcome (each is counted, and each must be reached), and every result is
//!   checked against the bytes read by serde_json or serde_urlencoded alone, never against
//!   what the SDK stored: a verified payment is one whose answer names the stored amount
//!   exactly once, a created one names the code it gives, "already verified" is a 400 naming
//!   code 15 and nothing else, an accepted callback says what its form says, and a verify is
//!   only built for a form naming the stored code and order.

use std::time::SystemTime;

use ghesta_core::http::{self, StatusCode};
use ghesta_core::{
    Amount, AmountUnit, BaseUrl, Callback, CancelPayment, ClientRefId, Config, CreatePayment,
    Description, Exchange, MAX_TOMAN, MIN_TOMAN, Mobile, NewPayment, PayerName, PaymentCode,
    Pending, RedirectUrl, RefId, ReportPayment, ReturnUrl, Token, VerifyOutcome, VerifyPayment,
};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{Map, Value};

/// Enough cases to find a broken rule, few enough that the suite stays fast.
fn cases() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

fn config() -> Config {
    Config::new(Token::new("property-token").unwrap())
}

/// A loopback gateway and a proxied API under path prefixes, amounts in Rial.
fn sandbox() -> Config {
    config()
        .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw/").unwrap())
        .with_api_url(BaseUrl::api("https://proxy.example/pp").unwrap())
        .with_amount_unit(AmountUnit::Rial)
}

// ---------------------------------------------------------------------------------------
// Strategies.

/// Text without control, format (bidi, ZWNJ), surrogate or unassigned characters, plus
/// the characters that matter to URLs and forms.
fn text(max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "\\PC",
        Just("&".to_owned()),
        Just("=".to_owned()),
        Just("+".to_owned()),
        Just("%".to_owned()),
        Just("/".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(" ".to_owned()),
        Just(".".to_owned()),
        Just("۱".to_owned()),
    ];
    prop::collection::vec(piece, 1..=max).prop_map(|p| p.concat())
}

/// An identifier PayPing could send: never blank, never padded with whitespace.
fn ident(max: usize) -> impl Strategy<Value = String> {
    text(max).prop_filter("not blank or padded", |s| s.trim() == s)
}

fn code() -> impl Strategy<Value = String> {
    ident(24).prop_filter("not a dot segment", |c| c != "." && c != "..")
}

fn ref_id() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9]{1,12}", ident(16)]
}

fn optional(max: usize) -> impl Strategy<Value = Option<String>> {
    prop::option::of(text(max))
}

/// A key spelled in a random mix of upper and lower case.
fn any_case(key: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), key.len()).prop_map(move |upper| {
        key.chars()
            .zip(upper)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

fn any_json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (0u64..60_000_000).prop_map(Value::from),
        Just(Value::from(250_000u64)),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(json_key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "code",
            "amount",
            "cardNumber",
            "cardHashPan",
            "isPaid",
            "reqDate",
            "payDate",
            "clientRefId",
            "invoiceNo",
            "payerIdentity",
            "15",
            "1",
            "47",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,8}",
    ]
}

/// A body: arbitrary bytes, or a JSON object with PayPing's field names and any values.
fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::btree_map(json_key(), any_json_value(), 0..6)
            .prop_map(|m| { serde_json::to_vec(&Value::Object(m.into_iter().collect())).unwrap() }),
    ]
}

fn any_status() -> impl Strategy<Value = StatusCode> {
    prop_oneof![
        prop::sample::select(vec![200u16, 204, 400, 401, 403, 404, 500, 502, 503]),
        100u16..1000,
    ]
    .prop_map(|n| StatusCode::from_u16(n).unwrap())
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A record of `config`'s gateway for `code`, as create's answer gives it.
fn pending_with(config: &Config, code: &PaymentCode) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/ghesta/callback").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    let answer = serde_json::to_vec(&serde_json::json!({ "code": code.as_str() })).unwrap();
    CreatePayment::new(config, payment, SystemTime::UNIX_EPOCH)
        .parse_response(http::Response::new(answer))
        .unwrap()
}

fn pending(config: &Config) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/ghesta/callback").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    CreatePayment::new(config, payment, SystemTime::UNIX_EPOCH)
        .parse_response(http::Response::new(br#"{"code":"82a4f72"}"#.to_vec()))
        .unwrap()
}

fn assert_one_segment(url: &str, host: &str, prefix: &str, query: Option<&str>, code: &str) {
    assert!(!url.contains('#'), "{url}");
    let uri: http::Uri = url.parse().unwrap();
    assert_eq!(uri.host(), Some(host), "{url}");
    assert_eq!(uri.query(), query, "{url}");
    let segment = uri.path().strip_prefix(prefix).unwrap();
    assert!(!segment.contains('/'), "{url}");
    assert_eq!(percent_decode_str(segment).decode_utf8().unwrap(), code);
}

fn json_object(request: &http::Request<Vec<u8>>) -> Map<String, Value> {
    assert_eq!(request.headers()["content-type"], "application/json");
    match serde_json::from_slice(request.body()).unwrap() {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(cases())]

    /// Any valid callback, in any key case and order, with unknown keys around it, parses to
    /// its values; `to_form()` then parses back to the same callback, as a form and a query.
    #[test]
    fn callback_round_trips(
        code in code(),
        ref_id in prop::option::of(ref_id()),
        client_ref_id in prop::option::of(ident(32)),
        card_number in optional(16),
        card_hash in optional(32),
        keys in (any_case("code"), any_case("refid"), any_case("clientrefid"),
                 any_case("cardnumber"), any_case("cardhashpan")),
        order in Just((0..6).collect::<Vec<usize>>()).prop_shuffle(),
    ) {
        let mut pairs = [
            (keys.0, Some(code.clone())),
            (keys.1, ref_id.clone()),
            (keys.2, client_ref_id.clone()),
            (keys.3, card_number.clone()),
            (keys.4, card_hash.clone()),
            ("utm_source".to_owned(), Some("x&y=z".to_owned())),
        ];
        let shuffled: Vec<(String, String)> = order
            .iter()
            .filter_map(|i| {
                let (key, value) = std::mem::take(&mut pairs[*i]);
                value.map(|v| (key, v))
            })
            .collect();
        let form = serde_urlencoded::to_string(&shuffled).unwrap();
        let callback = Callback::from_form(form.as_bytes()).unwrap();

        prop_assert_eq!(callback.code().as_str(), code.as_str());
        prop_assert_eq!(callback.client_ref_id().map(ClientRefId::as_str), client_ref_id.as_deref());
        match &callback {
            Callback::Completed(c) => {
                prop_assert_eq!(Some(c.ref_id().as_str()), ref_id.as_deref());
                prop_assert_eq!(c.card_number().map(|v| v.as_str()), card_number.as_deref());
                prop_assert_eq!(c.card_hash().map(|v| v.as_str()), card_hash.as_deref());
            }
            Callback::Cancelled(_) => prop_assert!(ref_id.is_none()),
        }
        let again = callback.to_form();
        prop_assert_eq!(Callback::from_form(again.as_bytes()), Ok(callback.clone()));
        prop_assert_eq!(Callback::from_query(&again), Ok(callback));
    }

    /// Whatever the code, every URL it goes into keeps host and path prefix, and the code
    /// is one segment that decodes back to it.
    #[test]
    fn codes_stay_in_their_segment(code in text(64)) {
        let Ok(payment_code) = PaymentCode::new(code.as_str()) else {
            prop_assert!(code == "." || code == ".." || code.trim() != code);
            return Ok(());
        };
        for (config, gateway, gw_prefix, api, api_prefix) in [
            (config(), "payping.ir", "/", "api.payping.ir", "/"),
            (sandbox(), "127.0.0.1", "/gw/", "proxy.example", "/pp/"),
        ] {
            let ghesta = RedirectUrl::ghesta(&config, &payment_code);
            assert_one_segment(ghesta.as_str(), gateway, &format!("{gw_prefix}installment/"), Some("type=ghesta"), &code);
            let payping = RedirectUrl::payping(&config, &payment_code);
            assert_one_segment(payping.as_str(), api, &format!("{api_prefix}v2/pay/gotoipg/"), None, &code);
            let cancel = CancelPayment::new(&config, &pending_with(&config, &payment_code)).to_request().unwrap();
            assert_one_segment(&cancel.uri().to_string(), api, &format!("{api_prefix}v2/pay/"), None, &code);
            let report = ReportPayment::new(&config, &payment_code).to_request().unwrap();
            assert_one_segment(&report.uri().to_string(), api, &format!("{api_prefix}v1/report/"), None, &code);
            let stored = serde_json::to_string(&ghesta).unwrap();
            prop_assert_eq!(serde_json::from_str::<RedirectUrl>(&stored).unwrap(), ghesta.clone());
            let response = ghesta.to_response();
            prop_assert_eq!(&response.headers()["location"], ghesta.as_str());
        }
    }

    /// Toman and Rial describe the same amount both ways; the range is exactly the spec's.
    #[test]
    fn amounts_round_trip(toman in u64::from(MIN_TOMAN)..=u64::from(MAX_TOMAN), any in any::<u64>()) {
        let amount = Amount::from_toman(toman).unwrap();
        prop_assert_eq!(u64::from(amount.toman()), toman);
        prop_assert_eq!(amount.rial(), toman * 10);
        prop_assert_eq!(Amount::from_rial(amount.rial()), Ok(amount));
        for unit in [AmountUnit::Toman, AmountUnit::Rial] {
            prop_assert_eq!(Amount::from_unit(amount.in_unit(unit), unit), Ok(amount));
        }
        let in_range = (u64::from(MIN_TOMAN)..=u64::from(MAX_TOMAN)).contains(&any);
        prop_assert_eq!(Amount::from_toman(any).is_ok(), in_range);
        prop_assert_eq!(
            Amount::from_rial(any).is_ok(),
            any % 10 == 0 && (u64::from(MIN_TOMAN)..=u64::from(MAX_TOMAN)).contains(&(any / 10))
        );
    }

    /// A valid mobile, typed with any mix of digit scripts, separators and prefixes,
    /// normalises to `09` and its nine digits.
    #[test]
    fn mobiles_normalise(
        digits in "[0-9]{9}",
        scripts in prop::collection::vec(0..3u8, 11),
        prefix in prop::sample::select(vec!["0", "+98", "0098", "98", "+98 ", "0098-"]),
        separators in prop::collection::vec(prop::sample::select(vec!["", "", " ", "-", "\u{a0}"]), 11),
        padding in prop::sample::select(vec!["", " ", "  "]),
    ) {
        let script = |c: char, s: u8| -> char {
            let d = c.to_digit(10).unwrap();
            match s {
                0 => c,
                1 => char::from_u32(u32::from('۰') + d).unwrap(),
                _ => char::from_u32(u32::from('٠') + d).unwrap(),
            }
        };
        let mut typed = String::from(padding);
        for (i, c) in prefix.chars().enumerate() {
            typed.push(if c.is_ascii_digit() { script(c, scripts[i % 11]) } else { c });
        }
        for (i, c) in format!("9{digits}").chars().enumerate() {
            typed.push_str(separators[i]);
            typed.push(script(c, scripts[i]));
        }
        typed.push_str(padding);
        let mobile = Mobile::new(&typed);
        prop_assert_eq!(mobile.map(|m| m.as_str().to_owned()), Ok(format!("09{digits}")), "{}", typed);
    }

    /// Create and verify bodies are JSON objects with exactly the spec's fields and types.
    #[test]
    fn request_bodies_follow_the_spec(
        toman in u64::from(MIN_TOMAN)..=u64::from(MAX_TOMAN),
        digits in "[0-9]{9}",
        path in "[a-z0-9/]{0,20}",
        client_ref_id in ident(32),
        name in optional(32),
        description in optional(64),
        code in code(),
        ref_id in ref_id(),
        rial in any::<bool>(),
    ) {
        let config = if rial { sandbox() } else { config() };
        let mut payment = NewPayment::new(
            Amount::from_toman(toman).unwrap(),
            ReturnUrl::new(&format!("https://shop.example/{path}")).unwrap(),
            ClientRefId::new(client_ref_id.as_str()).unwrap(),
            Mobile::new(&format!("09{digits}")).unwrap(),
        );
        if let Some(name) = &name {
            payment = payment.with_payer_name(PayerName::new(name.as_str()).unwrap());
        }
        if let Some(description) = &description {
            payment = payment.with_description(Description::new(description.as_str()).unwrap());
        }
        let wire = if rial { toman * 10 } else { toman };
        let create = CreatePayment::new(&config, payment, SystemTime::UNIX_EPOCH);
        let body = json_object(&create.to_request().unwrap());
        let mut expected = Map::new();
        expected.insert("amount".into(), Value::from(wire));
        expected.insert("payerIdentity".into(), Value::from(format!("09{digits}")));
        expected.insert("returnUrl".into(), Value::from(format!("https://shop.example/{path}")));
        expected.insert("clientRefId".into(), Value::from(client_ref_id));
        if let Some(name) = name {
            expected.insert("payerName".into(), Value::from(name));
        }
        if let Some(description) = description {
            expected.insert("description".into(), Value::from(description));
        }
        prop_assert_eq!(&body, &expected);
        prop_assert!(body["amount"].is_u64());

        let answer_body = serde_json::to_vec(&serde_json::json!({ "code": code })).unwrap();
        let pending = create.parse_response(http::Response::new(answer_body)).unwrap();
        prop_assert_eq!(pending.code().as_str(), code.as_str());
        let verify = VerifyPayment::from_ref_id(&config, &pending, RefId::new(ref_id.as_str()).unwrap()).unwrap();
        let body = json_object(&verify.to_request().unwrap());
        let mut expected = Map::new();
        expected.insert("refId".into(), Value::from(ref_id));
        expected.insert("amount".into(), Value::from(wire));
        prop_assert_eq!(body, expected);
    }

    /// No parser panics on any status and body, and every result they give passes the
    /// independent oracle of [`Answers::check`] (arbitrary bytes rarely reach a success: the
    /// documented answers below do).
    #[test]
    fn parsers_never_panic(status in any_status(), body in any_body()) {
        let _ = Callback::from_form(&body);
        let answers = Answers::new();
        answers.check(status.as_u16(), &body, None, &mut Tally::default())?;
    }
}

/// The worst case of the property above, exactly: the longest base URL with the longest
/// code (64 four-byte characters, 12 bytes each once encoded) still makes a record that
/// reads back from storage. (A stored redirect must be on PayPing's host or a loopback one,
/// so the long base is a loopback sandbox with a long path prefix.)
#[test]
fn the_longest_redirect_still_reads_back() {
    let mut base = String::from("http://127.0.0.1:9/");
    base.extend(std::iter::repeat_n('a', 1024 - base.len()));
    let config = config().with_gateway_url(BaseUrl::gateway(&base).unwrap());
    let code = "𝄞".repeat(PaymentCode::MAX_CHARS);
    let payment = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/cb").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    let answer = serde_json::to_vec(&serde_json::json!({ "code": code })).unwrap();
    let pending = CreatePayment::new(&config, payment, SystemTime::UNIX_EPOCH)
        .parse_response(http::Response::new(answer))
        .unwrap();
    assert!(pending.redirect_url().as_str().len() > 1024 + 768);
    let stored = serde_json::to_string(&pending).unwrap();
    assert_eq!(serde_json::from_str::<Pending>(&stored).unwrap(), pending);
}

// ---------------------------------------------------------------------------------------
// Documented answers and callbacks with one mutation each, against an independent oracle.
//
// Arbitrary bytes almost never make a success, so a property fed only with them leaves the
// success rules unchecked. Here every case starts from an answer or a callback form as
// PayPing documents it, gets at most one mutation, and goes through every parser. What a
// parser gives is then checked against the bytes themselves, read with serde_json and
// serde_urlencoded alone: a success must be what those bytes say, never what the SDK
// stored. The test counts the outcomes each case reached and fails when one is never
// reached, so a rule cannot turn into dead code unnoticed.

/// The stored payment every answer is read for: 250,000 Toman, so 250,000 on the wire in
/// Toman and 2,500,000 in Rial. These numbers are the oracle's, written out, not read back
/// from the SDK.
const STORED_TOMAN: u64 = 250_000;
const STORED_RIAL: u64 = 2_500_000;
const STORED_CODE: &str = "82a4f72";
const STORED_ORDER: &str = "order-7";
const ANSWER_ID: &str = "prop-req-1";

/// The top-level entries of a JSON object, in order and with repeats (serde_json's `Map`
/// would merge them), read by serde_json alone; `None` when the body is not one object.
/// Only the values of the keys in `checked` are read; others are `Null` (skipped unread, as
/// the SDK skips them).
fn entries(body: &[u8], checked: &[&str]) -> Option<Vec<(String, Value)>> {
    struct Entries<'c>(&'c [&'c str]);
    impl<'de> serde::de::Visitor<'de> for Entries<'_> {
        type Value = Vec<(String, Value)>;
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
                    Value::Null
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

/// The values of `key` (exactly as spelled) among `entries`.
fn values<'a>(entries: &'a [(String, Value)], key: &str) -> Vec<&'a Value> {
    entries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// The one value of `key`, when the object names it exactly once.
fn only<'a>(entries: &'a [(String, Value)], key: &str) -> Option<&'a Value> {
    match values(entries, key)[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// A key naming one of PayPing's error codes (`{"15": "..."}`): a decimal number without
/// sign, padding or leading zero, of at most 9 digits. No documented success body has one.
/// (Keys the SDK reads more strictly, such as `" 47 "`, only make it refuse more.)
fn is_code_key(key: &str) -> bool {
    let digits = key.as_bytes();
    matches!(digits.first(), Some(b'1'..=b'9'))
        && digits.len() <= 9
        && digits.iter().all(u8::is_ascii_digit)
}

/// Each outcome a case reached, and how many cases reached it.
#[derive(Default, Debug)]
struct Tally(std::collections::BTreeMap<&'static str, usize>);

impl Tally {
    fn add(&mut self, outcome: &'static str) {
        *self.0.entry(outcome).or_default() += 1;
    }
}

/// Every exchange an answer is read by: create, verify (Toman and Rial records), cancel and
/// report.
struct Answers {
    toman: Config,
    rial: Config,
}

impl Answers {
    fn new() -> Self {
        Self {
            toman: config(),
            rial: config().with_amount_unit(AmountUnit::Rial),
        }
    }

    /// Reads `status` and `body` with every exchange and checks each result against the
    /// bytes. `documented`, when the answer was not mutated, says what it must give.
    fn check(
        &self,
        status: u16,
        body: &[u8],
        documented: Option<&Documented>,
        tally: &mut Tally,
    ) -> Result<(), TestCaseError> {
        let response = || {
            http::Response::builder()
                .status(status)
                .header("X-PayPingRequest-ID", ANSWER_ID)
                .body(body)
                .unwrap()
        };
        // The body as each exchange's oracle reads it (only the values it checks).
        let read = |checked: &[&str]| {
            let object = entries(body, checked);
            let names_code = object
                .as_ref()
                .is_some_and(|e| e.iter().any(|(k, _)| is_code_key(k)));
            (object, names_code)
        };
        let error_keeps_the_answer = |e: &ghesta_core::Error| -> Result<(), TestCaseError> {
            prop_assert_eq!(
                e.request_id().map(|id| id.as_str()),
                Some(ANSWER_ID),
                "{:?}",
                e
            );
            prop_assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{:?}", e);
            Ok(())
        };

        // Create: a payment only from a 200 naming one string code, the code it names.
        let (object, names_code) = read(&["code"]);
        let create = CreatePayment::new(
            &self.toman,
            NewPayment::new(
                Amount::from_toman(STORED_TOMAN).unwrap(),
                ReturnUrl::new("https://shop.example/cb").unwrap(),
                ClientRefId::new(STORED_ORDER).unwrap(),
                Mobile::new("09123456789").unwrap(),
            ),
            SystemTime::UNIX_EPOCH,
        );
        match create.parse_response(response()) {
            Ok(pending) => {
                tally.add("create: pending");
                prop_assert_eq!(status, 200);
                let object = object
                    .as_deref()
                    .expect("a created payment came from an object");
                prop_assert!(!names_code, "an error code under a success: {:?}", object);
                let code = only(object, "code").and_then(Value::as_str);
                prop_assert_eq!(code, Some(pending.code().as_str()), "{:?}", object);
            }
            Err(e) => {
                tally.add(match e {
                    ghesta_core::Error::Rejected(_) => "create: rejected",
                    ghesta_core::Error::MalformedResponse { .. } => "create: malformed",
                    _ => "create: other error",
                });
                error_keeps_the_answer(&e)?;
                // The payment-code rules themselves are checked by `codes_stay_in_their_segment`.
                if let Some(Documented::Created { code }) = documented {
                    prop_assert!(
                        PaymentCode::new(code.as_str()).is_err(),
                        "a documented create answer was refused: {:?}",
                        e
                    );
                }
            }
        }

        // Verify, for a record created in Toman and one created in Rial.
        let (object, names_code) = read(&["amount"]);
        for (config, wire, unit) in [
            (&self.toman, STORED_TOMAN, AmountUnit::Toman),
            (&self.rial, STORED_RIAL, AmountUnit::Rial),
        ] {
            let pending = pending(config);
            let verify =
                VerifyPayment::from_ref_id(config, &pending, RefId::new("555").unwrap()).unwrap();
            let outcome = verify.parse_response(response());
            match &outcome {
                Ok(VerifyOutcome::Verified(_)) => {
                    tally.add("verify: verified");
                    prop_assert_eq!(status, 200);
                    let object = object
                        .as_deref()
                        .expect("a verified payment came from an object");
                    prop_assert!(!names_code, "an error code under a success: {:?}", object);
                    // The proof of payment is the answer naming the stored amount, once.
                    let amount = only(object, "amount").and_then(Value::as_u64);
                    prop_assert_eq!(amount, Some(wire), "{:?}", object);
                }
                Ok(VerifyOutcome::AlreadyVerified(_)) => {
                    tally.add("verify: already verified");
                    prop_assert_eq!(status, 400);
                    let object = object.as_deref().expect("code 15 came from an object");
                    prop_assert_eq!(object.len(), 1, "15 and nothing else: {:?}", object);
                    prop_assert_eq!(object[0].0.trim().parse::<u32>(), Ok(15), "{:?}", object);
                }
                Err(ghesta_core::Error::AmountMismatch {
                    received,
                    request_id,
                    ..
                }) => {
                    tally.add("verify: amount mismatch");
                    prop_assert_eq!(status, 200);
                    let object = object.as_deref().expect("an amount came from an object");
                    prop_assert_eq!(
                        only(object, "amount").and_then(Value::as_u64),
                        Some(*received)
                    );
                    prop_assert_ne!(*received, wire);
                    prop_assert_eq!(request_id.as_ref().map(|id| id.as_str()), Some(ANSWER_ID));
                }
                Err(e) => {
                    tally.add(match e {
                        ghesta_core::Error::Rejected(_) => "verify: rejected",
                        ghesta_core::Error::MalformedResponse { .. } => "verify: malformed",
                        _ => "verify: other error",
                    });
                    error_keeps_the_answer(e)?;
                }
            }
            match documented {
                Some(Documented::Verified { unit: answered, .. }) if *answered == unit => {
                    prop_assert!(
                        matches!(outcome, Ok(VerifyOutcome::Verified(_))),
                        "{:?}",
                        outcome
                    );
                }
                Some(Documented::Verified { .. }) => prop_assert!(
                    matches!(outcome, Err(ghesta_core::Error::AmountMismatch { .. })),
                    "{:?}",
                    outcome
                ),
                Some(Documented::Refused { key: "15" }) => prop_assert!(
                    matches!(outcome, Ok(VerifyOutcome::AlreadyVerified(_))),
                    "{:?}",
                    outcome
                ),
                _ => {}
            }
        }

        // Cancel: done only on 200 or 204, and never when the body names an error code.
        let (object, names_code) = read(&[]);
        let stored = pending(&self.toman);
        assert_eq!(stored.code().as_str(), STORED_CODE);
        match CancelPayment::new(&self.toman, &stored).parse_response(response()) {
            Ok(_) => {
                tally.add("cancel: cancelled");
                prop_assert!(matches!(status, 200 | 204), "{}", status);
                prop_assert!(!names_code, "an error code under a success: {:?}", object);
            }
            Err(e) => {
                tally.add("cancel: error");
                error_keeps_the_answer(&e)?;
                if let Some(Documented::Cancelled { .. }) = documented {
                    prop_assert!(false, "a documented cancel answer was refused: {:?}", e);
                }
            }
        }

        // Report: read from a 200 object; it confirms the record only when the answer says
        // paid, for the stored amount, and names no other order.
        let (object, names_code) = read(&["amount", "isPaid", "clientRefId"]);
        for (config, wire) in [(&self.toman, STORED_TOMAN), (&self.rial, STORED_RIAL)] {
            let pending = pending(config);
            match ReportPayment::new(config, stored.code()).parse_response(response()) {
                Ok(report) => {
                    let object = object.as_deref().expect("a report came from an object");
                    prop_assert_eq!(status, 200);
                    prop_assert!(!names_code, "an error code under a success: {:?}", object);
                    if report.confirms(&pending) {
                        tally.add("report: confirms");
                        prop_assert_eq!(only(object, "isPaid"), Some(&Value::Bool(true)));
                        prop_assert_eq!(only(object, "amount").and_then(Value::as_u64), Some(wire));
                        let order = values(object, "clientRefId");
                        // An empty or null clientRefId names no order (PayPing sends them for
                        // payments created without one); any other must be the record's.
                        prop_assert!(
                            order.iter().all(|o| o.is_null()
                                || o.as_str() == Some("")
                                || o.as_str() == Some(STORED_ORDER)),
                            "{:?}",
                            object
                        );
                    } else {
                        tally.add("report: does not confirm");
                    }
                    if let Some(Documented::Report { paid, unit, .. }) = documented {
                        let same_unit = config.amount_unit() == *unit;
                        prop_assert_eq!(report.confirms(&pending), *paid && same_unit);
                    }
                }
                Err(e) => {
                    tally.add("report: error");
                    error_keeps_the_answer(&e)?;
                    if let Some(Documented::Report { .. }) = documented {
                        prop_assert!(false, "a documented report was refused: {:?}", e);
                    }
                }
            }
        }
        Ok(())
    }
}

/// An answer as PayPing's spec documents it.
#[derive(Debug, Clone)]
enum Documented {
    /// 200 `{"code": ...}`.
    Created { code: String },
    /// 200 `{"amount": ..., "cardNumber": ..., "cardHashPan": ...}` for a record in `unit`.
    Verified { unit: AmountUnit, cards: bool },
    /// 400 `{key: message}`: a payment code, or a field PayPing's validation names.
    Refused { key: &'static str },
    /// 200 or 204 with no body.
    Cancelled { status: u16 },
    /// 200 `PaymentDetailsViewModel` for the stored payment, in `unit`.
    Report {
        unit: AmountUnit,
        paid: bool,
        order: bool,
    },
    /// A status with the body PayPing or a proxy sends with it.
    Failure { status: u16, body: &'static str },
}

impl Documented {
    fn status(&self) -> u16 {
        match self {
            Self::Created { .. } | Self::Verified { .. } | Self::Report { .. } => 200,
            Self::Refused { .. } => 400,
            Self::Cancelled { status } | Self::Failure { status, .. } => *status,
        }
    }

    fn wire(unit: AmountUnit) -> u64 {
        match unit {
            AmountUnit::Toman => STORED_TOMAN,
            _ => STORED_RIAL,
        }
    }

    /// The body: the entries of a JSON object, or raw bytes.
    fn body(&self) -> Body {
        let text = |s: &str| Value::from(s);
        match self {
            Self::Created { code } => Body::Object(vec![("code".into(), text(code))]),
            Self::Verified { unit, cards } => {
                let mut e = vec![("amount".into(), Value::from(Self::wire(*unit)))];
                if *cards {
                    e.push(("cardNumber".into(), text("603799******1234")));
                    e.push(("cardHashPan".into(), text("9f86d081884c7d65")));
                }
                Body::Object(e)
            }
            Self::Refused { key } => Body::Object(vec![((*key).into(), text("پیام پی‌پینگ"))]),
            Self::Cancelled { .. } => Body::Raw(Vec::new()),
            Self::Report { unit, paid, order } => {
                let mut e = vec![
                    ("amount".into(), Value::from(Self::wire(*unit))),
                    ("isPaid".into(), Value::Bool(*paid)),
                    ("reqDate".into(), text("2026-11-30T05:00:00Z")),
                    ("invoiceNo".into(), text("555")),
                ];
                if *order {
                    e.push(("clientRefId".into(), text(STORED_ORDER)));
                }
                if *paid {
                    e.push(("payDate".into(), text("2026-11-30T05:03:00Z")));
                }
                Body::Object(e)
            }
            Self::Failure { body, .. } => Body::Raw(body.as_bytes().to_vec()),
        }
    }
}

/// A body before it is written: object entries (repeats kept) or raw bytes.
#[derive(Debug, Clone)]
enum Body {
    Object(Vec<(String, Value)>),
    Raw(Vec<u8>),
}

impl Body {
    fn to_bytes(&self) -> Vec<u8> {
        match self {
            Self::Raw(bytes) => bytes.clone(),
            Self::Object(entries) => {
                let fields: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
                    .collect();
                format!("{{{}}}", fields.join(",")).into_bytes()
            }
        }
    }
}

/// One change to a documented answer.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Another status, same body.
    Status(u16),
    /// An error-code key added at a position.
    CodeKey(usize, &'static str),
    /// The amount (added if absent) replaced by this value.
    Amount(Value),
    /// The code (added if absent) replaced by this value.
    Code(Value),
    /// An entry dropped.
    Drop(usize),
    /// An entry repeated with another value.
    Repeat(usize, Value),
    /// A key's first letter upper-cased.
    Recase(usize),
    /// A value replaced by one of another type.
    Retype(usize, Value),
    /// An unknown key added.
    Extra(String, Value),
    /// The object put in an array, or under a key.
    Wrapped(bool),
    /// The bytes cut at a position.
    Truncated(usize),
    /// Bytes after the JSON.
    Trailing(&'static str),
}

impl Mutation {
    fn apply(&self, status: u16, body: Body) -> (u16, Vec<u8>) {
        let Body::Object(mut e) = body else {
            return match self {
                Self::Status(s) => (*s, body.to_bytes()),
                Self::Truncated(at) => {
                    let mut b = body.to_bytes();
                    b.truncate(at % (b.len() + 1));
                    (status, b)
                }
                Self::Trailing(t) => {
                    let mut b = body.to_bytes();
                    b.extend_from_slice(t.as_bytes());
                    (status, b)
                }
                _ => (status, body.to_bytes()),
            };
        };
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
        let set = |e: &mut Vec<(String, Value)>, key: &str, value: &Value| match e
            .iter_mut()
            .find(|(k, _)| k == key)
        {
            Some(entry) => entry.1 = value.clone(),
            None => e.push((key.to_owned(), value.clone())),
        };
        let mut status = status;
        match self {
            Self::None => {}
            Self::Status(s) => status = *s,
            Self::CodeKey(i, key) => e.insert(i % (e.len() + 1), ((*key).into(), Value::from("x"))),
            Self::Amount(v) => set(&mut e, "amount", v),
            Self::Code(v) => set(&mut e, "code", v),
            Self::Drop(i) => {
                if !e.is_empty() {
                    e.remove(at(*i, e.len()));
                }
            }
            Self::Repeat(i, v) => {
                if !e.is_empty() {
                    let key = e[at(*i, e.len())].0.clone();
                    e.push((key, v.clone()));
                }
            }
            Self::Recase(i) => {
                if !e.is_empty() {
                    let i = at(*i, e.len());
                    let mut key = e[i].0.clone();
                    if let Some(first) = key.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    e[i].0 = key;
                }
            }
            Self::Retype(i, v) => {
                if !e.is_empty() {
                    let i = at(*i, e.len());
                    e[i].1 = v.clone();
                }
            }
            Self::Extra(k, v) => e.push((k.clone(), v.clone())),
            Self::Wrapped(in_array) => {
                let inner = Body::Object(e).to_bytes();
                let inner = String::from_utf8(inner).unwrap();
                let b = if *in_array {
                    format!("[{inner}]")
                } else {
                    format!(r#"{{"data":{inner}}}"#)
                };
                return (status, b.into_bytes());
            }
            Self::Truncated(at) => {
                let mut b = Body::Object(e).to_bytes();
                b.truncate(at % (b.len() + 1));
                return (status, b);
            }
            Self::Trailing(t) => {
                let mut b = Body::Object(e).to_bytes();
                b.extend_from_slice(t.as_bytes());
                return (status, b);
            }
        }
        (status, Body::Object(e).to_bytes())
    }
}

fn documented() -> impl Strategy<Value = Documented> {
    let unit = prop_oneof![Just(AmountUnit::Toman), Just(AmountUnit::Rial)];
    prop_oneof![
        3 => prop_oneof![Just(STORED_CODE.to_owned()), code()]
            .prop_map(|code| Documented::Created { code }),
        4 => (unit.clone(), any::<bool>()).prop_map(|(unit, cards)| Documented::Verified { unit, cards }),
        3 => prop::sample::select(vec!["15", "15", "15", "1", "25", "47", "999", "amount"])
            .prop_map(|key| Documented::Refused { key }),
        2 => prop::sample::select(vec![200u16, 204]).prop_map(|status| Documented::Cancelled { status }),
        3 => (unit, any::<bool>(), any::<bool>())
            .prop_map(|(unit, paid, order)| Documented::Report { unit, paid, order }),
        1 => prop::sample::select(vec![
            (401u16, ""),
            (403, ""),
            (404, ""),
            (429, "slow down"),
            (500, ""),
            (502, "<html><body>502 Bad Gateway</body></html>"),
            (503, r#"{"message":"down"}"#),
        ])
        .prop_map(|(status, body)| Documented::Failure { status, body }),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let other_value = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(250_000.0)),
        Just(Value::from("250000")),
        Just(Value::from(vec![Value::from(250_000u64)])),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    let amount = prop_oneof![
        Just(Value::from(STORED_TOMAN + 1)),
        Just(Value::from(STORED_TOMAN - 1)),
        Just(Value::from(STORED_TOMAN / 10)),
        Just(Value::from(STORED_RIAL)),
        Just(Value::from(STORED_RIAL * 10)),
        Just(Value::from(0u64)),
        Just(Value::from(u64::MAX)),
        any::<u64>().prop_map(Value::from),
        other_value.clone(),
    ];
    prop_oneof![
        12 => Just(Mutation::None),
        1 => prop::sample::select(vec![200u16, 201, 204, 302, 400, 401, 403, 404, 429, 500, 503])
            .prop_map(Mutation::Status),
        1 => (any::<usize>(), prop::sample::select(vec!["15", "47", "25", "1", "999"]))
            .prop_map(|(i, k)| Mutation::CodeKey(i, k)),
        2 => amount.prop_map(Mutation::Amount),
        1 => prop_oneof![Just(Value::from("")), Just(Value::from("..")), Just(Value::from("a\nb")),
                         other_value.clone(), text(8).prop_map(Value::from)]
            .prop_map(Mutation::Code),
        1 => any::<usize>().prop_map(Mutation::Drop),
        1 => (any::<usize>(), other_value.clone()).prop_map(|(i, v)| Mutation::Repeat(i, v)),
        1 => any::<usize>().prop_map(Mutation::Recase),
        1 => (any::<usize>(), other_value.clone()).prop_map(|(i, v)| Mutation::Retype(i, v)),
        1 => (prop_oneof![Just("url".to_owned()), Just("expire".to_owned()), json_key()], other_value)
            .prop_map(|(k, v)| Mutation::Extra(k, v)),
        1 => any::<bool>().prop_map(Mutation::Wrapped),
        1 => any::<usize>().prop_map(Mutation::Truncated),
        1 => prop::sample::select(vec![" ", "\n", "{}", " x", ",", "]"]).prop_map(Mutation::Trailing),
    ]
}

/// A callback form as PayPing posts it (its five keys, in its order).
#[derive(Debug, Clone)]
struct DocumentedForm {
    code: String,
    /// Empty when the buyer cancelled.
    ref_id: String,
    order: String,
    cards: bool,
}

impl DocumentedForm {
    fn pairs(&self) -> Vec<(String, String)> {
        let (card, hash) = if self.cards {
            ("603799******1234", "9f86d081884c7d65")
        } else {
            ("", "")
        };
        [
            ("code", self.code.as_str()),
            ("refid", &self.ref_id),
            ("clientrefid", &self.order),
            ("cardnumber", card),
            ("cardhashpan", hash),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }
}

/// One change to a documented callback form.
#[derive(Debug, Clone)]
enum FormMutation {
    None,
    /// A pair dropped.
    Drop(usize),
    /// A pair repeated, its key in upper case, with another value.
    Repeat(usize, String),
    /// A value emptied.
    Empty(usize),
    /// A value replaced (any text, control and bidi characters included).
    Value(usize, String),
    /// A key's case changed (keys match without regard to case).
    Recase(usize),
    /// An unknown pair added.
    Extra(String, String),
    /// Raw bytes appended to the encoded form: bad escapes, invalid UTF-8, separators.
    Bytes(&'static [u8]),
}

impl FormMutation {
    fn apply(&self, mut pairs: Vec<(String, String)>) -> Vec<u8> {
        let n = pairs.len();
        match self {
            Self::None | Self::Bytes(_) => {}
            Self::Drop(i) => {
                pairs.remove(i % n);
            }
            Self::Repeat(i, v) => {
                let key = pairs[i % n].0.to_ascii_uppercase();
                pairs.push((key, v.clone()));
            }
            Self::Empty(i) => pairs[i % n].1.clear(),
            Self::Value(i, v) => pairs[i % n].1 = v.clone(),
            Self::Recase(i) => pairs[i % n].0.make_ascii_uppercase(),
            Self::Extra(k, v) => pairs.insert(1, (k.clone(), v.clone())),
        }
        let mut body = serde_urlencoded::to_string(&pairs).unwrap().into_bytes();
        if let Self::Bytes(bytes) = self {
            body.extend_from_slice(bytes);
        }
        body
    }
}

fn documented_form() -> impl Strategy<Value = DocumentedForm> {
    (
        prop_oneof![4 => Just(STORED_CODE.to_owned()), 1 => code()],
        prop_oneof![3 => "[1-9][0-9]{0,11}", 1 => Just(String::new())],
        prop_oneof![4 => Just(STORED_ORDER.to_owned()), 1 => text(12)],
        any::<bool>(),
    )
        .prop_map(|(code, ref_id, order, cards)| DocumentedForm {
            code,
            ref_id,
            order,
            cards,
        })
}

fn form_mutation() -> impl Strategy<Value = FormMutation> {
    let value = prop_oneof![
        text(12),
        Just("82a4f72 ".to_owned()),
        Just("order-\u{202e}7".to_owned()),
        Just("5\u{0}5".to_owned()),
        Just(" ".to_owned()),
        Just("a".repeat(65)),
    ];
    prop_oneof![
        10 => Just(FormMutation::None),
        1 => any::<usize>().prop_map(FormMutation::Drop),
        1 => (any::<usize>(), value.clone()).prop_map(|(i, v)| FormMutation::Repeat(i, v)),
        1 => any::<usize>().prop_map(FormMutation::Empty),
        2 => (any::<usize>(), value.clone()).prop_map(|(i, v)| FormMutation::Value(i, v)),
        1 => any::<usize>().prop_map(FormMutation::Recase),
        1 => ("[a-z_]{1,8}", value).prop_map(|(k, v)| FormMutation::Extra(k, v)),
        1 => prop::sample::select(vec![
            &b"&x=%zz"[..], b"%4", b"&refid=%FF", b"&junk=%FF", b"\xC3\x28", b"&", b";x=1", b"&=",
        ])
        .prop_map(FormMutation::Bytes),
    ]
}

/// Parses `body` as a callback, builds a verify from it for the stored payment, and checks
/// both against the form read by serde_urlencoded alone.
fn check_form(
    body: &[u8],
    documented: Option<&DocumentedForm>,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let parsed = Callback::from_form(body);
    let callback = match parsed {
        Ok(callback) => callback,
        Err(e) => {
            tally.add("callback: refused");
            if let Some(form) = documented {
                // Only a value its own type refuses (checked by the value properties) can
                // make a documented form fail.
                let refused = PaymentCode::new(form.code.as_str()).is_err()
                    || ClientRefId::new(form.order.as_str()).is_err()
                    || (!form.ref_id.is_empty() && RefId::new(form.ref_id.as_str()).is_err());
                prop_assert!(refused, "{:?}: {}", form, e);
            }
            return Ok(());
        }
    };
    // What the form says, read without the SDK.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).expect("an accepted callback is a form");
    // Lossy only for what the SDK never reads (unknown keys, a cancelled form's card fields).
    let text = String::from_utf8_lossy(body);
    let escapes_well_formed = body.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || body
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    prop_assert!(
        escapes_well_formed,
        "a malformed escape was accepted: {}",
        text
    );
    let field = |name: &str| -> Result<Option<&str>, TestCaseError> {
        let found: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        prop_assert!(
            found.len() <= 1,
            "{} given {} times: {}",
            name,
            found.len(),
            text
        );
        Ok(found.first().copied().filter(|v| !v.is_empty()))
    };
    prop_assert_eq!(field("code")?, Some(callback.code().as_str()));
    prop_assert_eq!(
        field("clientrefid")?,
        callback.client_ref_id().map(ClientRefId::as_str)
    );
    let ref_id = field("refid")?.filter(|r| !r.trim().is_empty());
    match &callback {
        Callback::Completed(completed) => {
            tally.add("callback: completed");
            prop_assert_eq!(ref_id, Some(completed.ref_id().as_str()));
            prop_assert_eq!(
                field("cardnumber")?,
                completed.card_number().map(|c| c.as_str())
            );
            prop_assert_eq!(
                field("cardhashpan")?,
                completed.card_hash().map(|c| c.as_str())
            );
            // A verify is only built for the stored payment's own code and order.
            let config = config();
            match VerifyPayment::new(&config, &pending(&config), completed) {
                Ok(verify) => {
                    tally.add("verify built");
                    prop_assert_eq!(field("code")?, Some(STORED_CODE));
                    prop_assert_eq!(field("clientrefid")?, Some(STORED_ORDER));
                    let sent = json_object(&verify.to_request().unwrap());
                    prop_assert_eq!(sent.get("refId").and_then(Value::as_str), ref_id);
                    prop_assert_eq!(
                        sent.get("amount").and_then(Value::as_u64),
                        Some(STORED_TOMAN)
                    );
                }
                Err(e) => {
                    tally.add("verify refused: not this payment");
                    prop_assert!(
                        matches!(e, ghesta_core::Error::CallbackMismatch { .. }),
                        "{:?}",
                        e
                    );
                    let ours = field("code")? == Some(STORED_CODE)
                        && field("clientrefid")? == Some(STORED_ORDER);
                    prop_assert!(
                        !ours,
                        "the stored payment's own callback was refused: {}",
                        text
                    );
                }
            }
        }
        Callback::Cancelled(_) => {
            tally.add("callback: cancelled");
            prop_assert_eq!(ref_id, None);
        }
    }
    if let Some(form) = documented {
        prop_assert_eq!(
            matches!(callback, Callback::Completed(_)),
            !form.ref_id.is_empty()
        );
    }
    Ok(())
}

/// Every outcome the documented answers and forms must reach, each in at least
/// [`MIN_REACHED`] results.
const OUTCOMES: &[&str] = &[
    "create: pending",
    "create: rejected",
    "create: malformed",
    "create: other error",
    "verify: verified",
    "verify: already verified",
    "verify: amount mismatch",
    "verify: rejected",
    "verify: malformed",
    "verify: other error",
    "cancel: cancelled",
    "cancel: error",
    "report: confirms",
    "report: does not confirm",
    "report: error",
    "callback: completed",
    "callback: cancelled",
    "callback: refused",
    "verify built",
    "verify refused: not this payment",
];
const MIN_REACHED: usize = 10;

/// Documented answers and callback forms, each unchanged or with one mutation, through
/// every parser: each result is checked against the bytes (see [`Answers::check`] and
/// [`check_form`]), and every outcome must be reached. Run with `--nocapture` to see how
/// many results reached each.
#[test]
fn documented_answers_and_forms_reach_every_outcome() {
    const CASES: u32 = 1024;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let answers = Answers::new();
    let strategy = (documented(), mutation(), documented_form(), form_mutation());
    let result = runner.run(&strategy, |(doc, change, form, form_change)| {
        let mut tally = tally.borrow_mut();
        let (status, body) = change.apply(doc.status(), doc.body());
        let unchanged = matches!(change, Mutation::None).then_some(&doc);
        answers.check(status, &body, unchanged, &mut tally)?;
        let body = form_change.apply(form.pairs());
        let unchanged = matches!(form_change, FormMutation::None).then_some(&form);
        check_form(&body, unchanged, &mut tally)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let tally = tally.into_inner();
    println!(
        "results reached over {CASES} cases (each case: 1 create, 2 verify, 1 cancel, 2 report, 1 callback):"
    );
    for (outcome, n) in &tally.0 {
        println!("  {outcome:<34} {n:>5}");
    }
    for outcome in OUTCOMES {
        let n = tally.0.get(outcome).copied().unwrap_or(0);
        assert!(
            n >= MIN_REACHED,
            "{outcome:?} reached by {n} results only: {tally:?}"
        );
    }
    let unlisted: Vec<_> = tally.0.keys().filter(|k| !OUTCOMES.contains(k)).collect();
    assert!(
        unlisted.is_empty(),
        "outcomes missing from OUTCOMES: {unlisted:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 9's rules, each a property whose oracle is the rule written out here: a key twice
// in any case, a padded identifier, a stored record naming another page.

/// A 200 (or `status`) answer with `body`.
fn ok_answer(status: StatusCode, body: &[u8]) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(body.to_vec());
    *response.status_mut() = status;
    response
}

/// A spelling of `key` that differs from it in case somewhere.
fn case_twin(key: &'static str) -> impl Strategy<Value = String> {
    any_case(key).prop_filter("differs in case", move |k| k != key)
}

/// Whitespace PayPing never puts around an identifier (controls are refused for another
/// reason, so only printable spaces here).
fn padding() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(" "), Just("\u{a0}"), Just("\u{3000}"), Just("  ")]
}

proptest! {
    #![proptest_config(cases())]

    /// `{"amount": X, "Amount": Y}` (in either order, any case) says two amounts: never a
    /// verified payment, whatever the two numbers are; and `{"code":..,"Code":..}` never a
    /// created one.
    #[test]
    fn a_case_twin_of_a_documented_key_is_never_read(
        twin in prop_oneof![case_twin("amount"), case_twin("cardNumber"), case_twin("cardHashPan")],
        other in any::<u32>(),
        twin_first in any::<bool>(),
        code_twin in case_twin("code"),
    ) {
        let config = config();
        let pending = pending(&config);
        let exact = format!(r#""amount":{}"#, 250_000);
        let twin_pair = format!(r#""{twin}":{other}"#);
        let body = if twin_first {
            format!("{{{twin_pair},{exact}}}")
        } else {
            format!("{{{exact},{twin_pair}}}")
        };
        let verify = VerifyPayment::from_ref_id(&config, &pending, RefId::new("555").unwrap()).unwrap();
        let outcome = verify.parse_response(ok_answer(StatusCode::OK, body.as_bytes()));
        prop_assert!(outcome.is_err(), "{} was read: {:?}", body, outcome);

        let body = format!(r#"{{"code":"82a4f72","{code_twin}":"evil"}}"#);
        let created = CreatePayment::new(&config, NewPayment::new(
            pending.amount(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            pending.client_ref_id().clone(),
            Mobile::new("09123456789").unwrap(),
        ), SystemTime::UNIX_EPOCH).parse_response(ok_answer(StatusCode::OK, body.as_bytes()));
        prop_assert!(created.is_err(), "{} was read", body);
    }

    /// A code, refId or clientRefId with whitespace around it is refused wherever it is
    /// read, never trimmed, never read as a cancellation.
    #[test]
    fn padded_identifiers_are_refused_everywhere(
        id in ident(16),
        before in padding(),
        after in padding(),
        at_start in any::<bool>(),
        at_end in any::<bool>(),
    ) {
        prop_assume!(at_start || at_end);
        let padded = format!(
            "{}{id}{}",
            if at_start { before } else { "" },
            if at_end { after } else { "" }
        );
        prop_assert!(PaymentCode::new(padded.as_str()).is_err());
        prop_assert!(RefId::new(padded.as_str()).is_err());
        prop_assert!(ClientRefId::new(padded.as_str()).is_err());
        let form = |code: &str, refid: &str, order: &str| {
            serde_urlencoded::to_string([("code", code), ("refid", refid), ("clientrefid", order)]).unwrap()
        };
        for body in [
            form(&padded, "555", "order-7"),
            form("82a4f72", &padded, "order-7"),
            form("82a4f72", "555", &padded),
        ] {
            let read = Callback::from_form(body.as_bytes());
            prop_assert!(read.is_err(), "{} was read as {:?}", body, read);
        }
        let config = config();
        let answer_body = serde_json::to_vec(&serde_json::json!({ "code": padded })).unwrap();
        let created = CreatePayment::new(&config, NewPayment::new(
            Amount::from_toman(250_000).unwrap(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            ClientRefId::new("order-7").unwrap(),
            Mobile::new("09123456789").unwrap(),
        ), SystemTime::UNIX_EPOCH).parse_response(ok_answer(StatusCode::OK, &answer_body));
        prop_assert!(created.is_err(), "a padded code made a record");
    }

    /// A stored record (0.1.0's shape: no gateway) loads only when its redirect is a page
    /// the SDK gives for its own code: Ghesta's installment page on payping.ir or payping.io,
    /// PayPing's v2 card page on api.payping.ir or api.payping.io (https, no path prefix,
    /// exactly their query), or either page on a loopback sandbox under any prefix. A v3
    /// record keeps only its own start page on those API hosts (or a loopback one); any other
    /// page on the start route is refused, and any other page https on PayPing's domain (no
    /// other port) reads back as the start page of its code on that deployment's API host.
    /// The oracle is those sentences.
    #[test]
    fn a_stored_record_loads_only_with_its_own_page(
        scheme in prop_oneof![Just("https"), Just("http")],
        host in prop_oneof![
            Just("payping.ir"), Just("api.payping.ir"), Just("evil.example"),
            Just("payping.ir.evil.example"), Just("127.0.0.1:9"), Just("payping.ir:8443"),
            Just("payping.io"), Just("api.payping.io"), Just("payping.io.evil.example"),
            Just("pay.payping.io"),
        ],
        prefix in prop_oneof![Just(""), Just("/x")],
        page in prop_oneof![
            Just("/installment/"), Just("/v2/pay/gotoipg/"), Just("/v3/pay/start/"), Just("/pay/"),
        ],
        own_code in any::<bool>(),
        query in prop_oneof![Just("?type=ghesta"), Just(""), Just("?type=ghesta&next=x")],
        v3 in any::<bool>(),
    ) {
        let record = pending(&config());
        let segment = if own_code { record.code().as_str() } else { "someone-else" };
        let url = format!("{scheme}://{host}{prefix}{page}{segment}{query}");
        let mut stored: Value = serde_json::to_value(&record).unwrap();
        stored["redirect_url"] = url.clone().into();
        if v3 {
            stored["gateway"] = "payping_v3".into();
        } else {
            stored.as_object_mut().unwrap().remove("gateway");
        }

        let at_root = scheme == "https" && prefix.is_empty();
        let on_loopback = host == "127.0.0.1:9";
        let (should_load, instead) = if v3 {
            let start_page = page == "/v3/pay/start/" && query.is_empty();
            let api_host = host == "api.payping.ir" || host == "api.payping.io";
            let kept = own_code && start_page && ((at_root && api_host) || on_loopback);
            let domain = ["payping.ir", "payping.io"]
                .into_iter()
                .find(|d| host == *d || host.ends_with(&format!(".{d}")));
            let rebuilt = match domain {
                Some(domain) if scheme == "https" && page != "/v3/pay/start/" => {
                    Some(format!("https://api.{domain}/v3/pay/start/{}", record.code().as_str()))
                }
                _ => None,
            };
            (kept || rebuilt.is_some(), rebuilt.filter(|_| !kept))
        } else {
            let ghesta_page = page == "/installment/" && query == "?type=ghesta";
            let card_page = page == "/v2/pay/gotoipg/" && query.is_empty();
            let own_page = own_code && (ghesta_page || card_page);
            let on_payping = at_root
                && (((host == "payping.ir" || host == "payping.io") && ghesta_page)
                    || ((host == "api.payping.ir" || host == "api.payping.io") && card_page));
            (own_page && (on_payping || on_loopback), None)
        };

        let loaded = serde_json::from_value::<Pending>(stored);
        if let Ok(loaded) = &loaded {
            let expected = instead.as_deref().unwrap_or(&url);
            prop_assert_eq!(loaded.redirect_url().as_str(), expected);
        }
        prop_assert_eq!(loaded.is_ok(), should_load, "{} -> {:?}", url, loaded.err());
    }
}
