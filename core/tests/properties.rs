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
//! - no parser panics on arbitrary bytes or statuses, and a success is only ever read from
//!   the documented status.

use std::time::SystemTime;

use ghesta_core::http::{self, StatusCode};
use ghesta_core::{
    Amount, AmountUnit, BaseUrl, Callback, CancelPayment, ClientRefId, Config, CreatePayment,
    Description, Exchange, MAX_TOMAN, MIN_TOMAN, Mobile, NewPayment, PayerName, PaymentCode,
    Pending, RedirectUrl, RefId, ReportPayment, ReturnUrl, Token, VerifyOutcome, VerifyPayment,
};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;
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

fn answer(status: StatusCode, body: &[u8]) -> http::Response<&[u8]> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    response
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

    /// No parser panics on any status and body; a success only comes from the documented
    /// status, and a verified payment is always for the stored amount.
    #[test]
    fn parsers_never_panic(status in any_status(), body in any_body()) {
        let _ = Callback::from_form(&body);
        let config = config();
        let pending = pending(&config);
        let created = CreatePayment::new(&config, NewPayment::new(
            pending.amount(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            pending.client_ref_id().clone(),
            Mobile::new("09123456789").unwrap(),
        ), SystemTime::UNIX_EPOCH).parse_response(answer(status, &body));
        if let Err(e) = &created {
            prop_assert_eq!(e.status(), Some(status));
        } else {
            prop_assert_eq!(status, StatusCode::OK);
        }
        let verify = VerifyPayment::from_ref_id(&config, &pending, RefId::new("555").unwrap()).unwrap();
        match verify.parse_response(answer(status, &body)) {
            Ok(VerifyOutcome::Verified(v)) => {
                prop_assert_eq!(status, StatusCode::OK);
                prop_assert_eq!(v.amount(), pending.amount());
            }
            Ok(VerifyOutcome::AlreadyVerified(_)) => prop_assert_eq!(status, StatusCode::BAD_REQUEST),
            Err(e) => prop_assert!(e.status().is_some()),
        }
        if CancelPayment::new(&config, &pending).parse_response(answer(status, &body)).is_ok() {
            prop_assert!(matches!(status.as_u16(), 200 | 204));
        }
        if ReportPayment::new(&config, pending.code()).parse_response(answer(status, &body)).is_ok() {
            prop_assert_eq!(status, StatusCode::OK);
        }
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
