//! Building the typed values from what a shop's user typed, and the requests built from them.
//!
//! Input shape, one value a line: amount, mobile, return URL, clientRefId, payer name,
//! description, payment code, refId. The amount line is read as a decimal number when it is
//! one, else its first eight bytes are the number (so every `u64` is reachable).
//!
//! Holds: no panic; an accepted amount is in 100..=50,000,000 Toman and round-trips through
//! Rial, the wire units and its stored form; an accepted mobile matches `^09[0-9]{9}$` and
//! normalises to itself; an accepted return URL is https, or http on a loopback host, with
//! no user info or fragment and only an IPv6 address in brackets; the create and verify requests built from accepted values are
//! JSON objects with exactly the spec's fields and types.
#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use ghesta_core::http;
use ghesta_core::{
    Amount, AmountUnit, ClientRefId, Config, CreatePayment, Description, Exchange, MAX_TOMAN,
    MIN_TOMAN, Mobile, NewPayment, PayerName, PaymentCode, RefId, ReturnUrl, VerifyPayment,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fn number(line: &[u8]) -> u64 {
    if let Some(n) = std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()) {
        return n;
    }
    let mut bytes = [0u8; 8];
    let n = line.len().min(8);
    bytes[..n].copy_from_slice(&line[..n]);
    u64::from_le_bytes(bytes)
}

fn check_amount(n: u64) -> Option<Amount> {
    let toman = Amount::from_toman(n);
    assert_eq!(
        toman.is_ok(),
        (u64::from(MIN_TOMAN)..=u64::from(MAX_TOMAN)).contains(&n)
    );
    let rial = Amount::from_rial(n);
    assert_eq!(
        rial.is_ok(),
        n.is_multiple_of(10) && Amount::from_toman(n / 10).is_ok()
    );
    for amount in [&toman, &rial].into_iter().flatten() {
        assert!((MIN_TOMAN..=MAX_TOMAN).contains(&amount.toman()));
        assert_eq!(amount.rial(), u64::from(amount.toman()) * 10);
        assert_eq!(Amount::from_rial(amount.rial()).as_ref(), Ok(amount));
        for unit in [AmountUnit::Toman, AmountUnit::Rial] {
            assert_eq!(
                Amount::from_unit(amount.in_unit(unit), unit).as_ref(),
                Ok(amount)
            );
        }
        let stored = serde_json::to_string(amount).expect("an amount serialises");
        assert_eq!(
            serde_json::from_str::<Amount>(&stored).ok().as_ref(),
            Some(amount)
        );
    }
    toman.ok()
}

fn check_mobile(text: &str) -> Option<Mobile> {
    let mobile = Mobile::new(text).ok()?;
    let s = mobile.as_str();
    assert!(
        s.len() == 11 && s.starts_with("09") && s.bytes().all(|b| b.is_ascii_digit()),
        "{text:?} became {s:?}"
    );
    assert_eq!(Mobile::new(s).as_ref(), Ok(&mobile));
    Some(mobile)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.octets()[0] == 127)
        || bare.and_then(|h| h.parse::<Ipv6Addr>().ok()) == Some(Ipv6Addr::LOCALHOST)
}

fn check_return_url(text: &str) -> Option<ReturnUrl> {
    let url = ReturnUrl::new(text).ok()?;
    assert_eq!(url.as_str(), text);
    let uri: http::Uri = text.parse().expect("an accepted return URL parses");
    let scheme = uri.scheme_str().expect("absolute").to_ascii_lowercase();
    let authority = uri.authority().expect("absolute");
    assert!(!authority.as_str().contains('@'), "{text}");
    assert!(!text.contains('#'), "{text}");
    assert!(!authority.host().is_empty(), "{text}");
    // RFC 3986: only an IP literal goes in brackets; browsers take only IPv6 there.
    if let Some(literal) = authority.host().strip_prefix('[') {
        let literal = literal.strip_suffix(']').expect("a closed bracket");
        assert!(literal.parse::<Ipv6Addr>().is_ok(), "{text}");
    }
    assert!(
        scheme == "https" || (scheme == "http" && is_loopback(authority.host())),
        "{text}"
    );
    Some(url)
}

fn object(request: &http::Request<Vec<u8>>) -> Map<String, Value> {
    assert_eq!(request.method(), http::Method::POST);
    assert_eq!(request.headers()["content-type"], "application/json");
    assert_eq!(request.headers()["accept"], "application/json");
    assert_eq!(request.headers()["authorization"], "Bearer fuzz-token");
    match serde_json::from_slice(request.body()).expect("the body is JSON") {
        Value::Object(map) => map,
        other => panic!("the body is not an object: {other}"),
    }
}

fn check_requests(
    config: &Config,
    payment: &NewPayment,
    code: Option<&str>,
    ref_id: Option<RefId>,
) {
    let create = CreatePayment::new(config, payment.clone(), SystemTime::UNIX_EPOCH);
    let request = create.to_request().expect("valid values make a request");
    assert_eq!(
        request.uri().to_string(),
        format!("{}/v2/pay", config.api_url())
    );
    let body = object(&request);
    let wire = payment.amount().in_unit(config.amount_unit());
    assert_eq!(body["amount"], Value::from(wire));
    assert_eq!(body["payerIdentity"], payment.mobile().as_str());
    assert_eq!(body["returnUrl"], payment.return_url().as_str());
    assert_eq!(body["clientRefId"], payment.client_ref_id().as_str());
    assert_eq!(
        body.get("payerName").and_then(Value::as_str),
        payment.payer_name().map(PayerName::as_str)
    );
    assert_eq!(
        body.get("description").and_then(Value::as_str),
        payment.description().map(Description::as_str)
    );
    let optional =
        usize::from(payment.payer_name().is_some()) + usize::from(payment.description().is_some());
    assert_eq!(body.len(), 4 + optional, "{body:?}");

    let (Some(code), Some(ref_id)) = (code, ref_id) else {
        return;
    };
    // The core scrubs the token from every answer it reads: a code holding it would read
    // back redacted (by design; no real code holds a token).
    if code.contains(ghesta_fuzz::TOKEN) {
        return;
    }
    let answer = serde_json::to_vec(&serde_json::json!({ "code": code })).expect("JSON");
    let pending = create
        .parse_response(http::Response::new(answer))
        .expect("a create answer with a valid code");
    assert_eq!(pending.code().as_str(), code);
    let verify = VerifyPayment::from_ref_id(config, &pending, ref_id.clone()).expect("a v2 refId");
    let request = verify.to_request().expect("valid values make a request");
    assert_eq!(
        request.uri().to_string(),
        format!("{}/v2/pay/verify", config.api_url())
    );
    let body = object(&request);
    assert_eq!(body.len(), 2, "{body:?}");
    assert_eq!(body["refId"], ref_id.as_str());
    assert_eq!(body["amount"], Value::from(wire));
}

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|b| *b == b'\n');
    let mut next = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let amount_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let _ = next();
    let amount = check_amount(number(amount_line));
    let mobile = check_mobile(&next());
    let return_url = check_return_url(&next());
    let client_ref = ClientRefId::new(next());
    let payer_name = PayerName::new(next()).ok();
    let description = Description::new(next()).ok();
    let code = next();
    let code = PaymentCode::new(code.as_str()).ok().map(|_| code);
    let ref_id = RefId::new(next()).ok();

    let (Some(amount), Some(mobile), Some(return_url), Ok(client_ref)) =
        (amount, mobile, return_url, client_ref)
    else {
        return;
    };
    let mut payment = NewPayment::new(amount, return_url, client_ref, mobile);
    if let Some(name) = payer_name {
        payment = payment.with_payer_name(name);
    }
    if let Some(description) = description {
        payment = payment.with_description(description);
    }
    check_requests(
        &ghesta_fuzz::production(),
        &payment,
        code.as_deref(),
        ref_id.clone(),
    );
    check_requests(&ghesta_fuzz::sandbox(), &payment, code.as_deref(), ref_id);
});
