//! Records that know their merchant: the key is stored only when there is one, records
//! stored before keys existed load as the default merchant's, and every step of a record
//! refuses another merchant's configuration before a request exists.

use std::time::{Duration, SystemTime};

use ghesta_core::http;
use ghesta_core::{
    Amount, Callback, CancelPayment, ClientRefId, Config, CreatePayment, Error, Exchange, Field,
    Gateway, MerchantKey, Mobile, NewPayment, Pending, RefId, RefundPayment, ReturnUrl, Token,
    VerifyPayment,
};

const OLD_V2: &str = include_str!("data/records/pending-0.1.0.json");
const KEYLESS_V3: &str = include_str!("data/records/pending-v3-keyless.json");

fn key(name: &str) -> MerchantKey {
    MerchantKey::new(name).unwrap()
}

fn config(token: &str) -> Config {
    Config::new(Token::new(token).unwrap())
}

/// Every step of `pending` with `config`: Ok(()) when each built its request.
fn every_step(config: &Config, pending: &Pending) -> Vec<Result<(), Error>> {
    let callback = match pending.gateway().protocol() {
        ghesta_core::Protocol::V2 => format!(
            "code={}&refid=555&clientrefid={}",
            pending.code(),
            pending.client_ref_id()
        ),
        _ => format!(
            "status=1&errorCode=&data=%7B%22paymentCode%22%3A%22{}%22%2C%22paymentRefId%22%3A555%2C%22amount%22%3A250000%2C%22clientRefId%22%3A%22{}%22%7D",
            pending.code(),
            pending.client_ref_id()
        ),
    };
    let Callback::Completed(completed) = Callback::from_form(callback.as_bytes()).unwrap() else {
        unreachable!()
    };
    let ref_id = RefId::new("555").unwrap();
    let now = SystemTime::now();
    let mut steps = vec![
        VerifyPayment::new(config, pending, &completed).and_then(|v| v.to_request().map(drop)),
        VerifyPayment::from_ref_id(config, pending, ref_id.clone())
            .and_then(|v| v.to_request().map(drop)),
        CancelPayment::new(config, pending).to_request().map(drop),
    ];
    if pending.is_reversible() {
        steps.push(
            RefundPayment::new(config, pending, &ref_id, now, now)
                .and_then(|r| r.to_request().map(drop)),
        );
    }
    steps
}

fn refused_naming(steps: Vec<Result<(), Error>>, record: Option<&str>, given: Option<&str>) {
    for step in steps {
        let err = step.unwrap_err();
        let Error::WrongMerchant {
            record: r,
            config: c,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(r.as_ref().map(MerchantKey::as_str), record);
        assert_eq!(c.as_ref().map(MerchantKey::as_str), given);
        let message = err.to_string();
        for name in [record, given] {
            let name = name.unwrap_or("the default merchant");
            assert!(message.contains(name), "{message}");
        }
        assert!(message.contains("nothing was sent"), "{message}");
        assert!(!err.is_retryable());
    }
}

#[test]
fn records_stored_without_a_key_are_the_default_merchants() {
    let keyed = config("token-a").with_merchant(key("shop-a"));
    for stored in [OLD_V2, KEYLESS_V3] {
        let pending: Pending = serde_json::from_str(stored).unwrap();
        assert_eq!(pending.merchant(), None);
        // The default merchant (a config without a key) finishes it...
        for step in every_step(&config("token-default"), &pending) {
            step.unwrap();
        }
        // ...a keyed config does not, before any request exists.
        refused_naming(every_step(&keyed, &pending), None, Some("shop-a"));
    }
    // The keyless record of today's format is written as it was read: no key field, so a
    // reader that predates keys reads what the default merchant writes.
    let pending: Pending = serde_json::from_str(KEYLESS_V3).unwrap();
    let written: serde_json::Value = serde_json::to_value(&pending).unwrap();
    let stored: serde_json::Value = serde_json::from_str(KEYLESS_V3).unwrap();
    assert_eq!(written, stored);
}

#[test]
fn create_records_the_configs_merchant_and_only_it_finishes_the_record() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
        let a = config("token-a")
            .with_merchant(key("shop-a"))
            .with_gateway(gateway);
        let b = config("token-b")
            .with_merchant(key("shop-b"))
            .with_gateway(gateway);
        let body = match gateway.protocol() {
            ghesta_core::Protocol::V2 => r#"{"code":"C1"}"#,
            _ => r#"{"paymentCode":"C1"}"#,
        };
        let mut payment = NewPayment::new(
            Amount::from_toman(250_000).unwrap(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            ClientRefId::new("order-1").unwrap(),
            Mobile::new("09123456789").unwrap(),
        );
        if gateway == Gateway::PayPingV3 {
            payment = payment.with_reversible(true);
        }
        let pending =
            CreatePayment::new(&a, payment, SystemTime::UNIX_EPOCH + Duration::from_secs(1))
                .parse_response(http::Response::new(body.as_bytes().to_vec()))
                .unwrap();
        assert_eq!(pending.merchant(), Some(&key("shop-a")));
        let stored = serde_json::to_string(&pending).unwrap();
        assert!(stored.contains(r#""merchant":"shop-a""#), "{stored}");
        let back: Pending = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, pending);

        for step in every_step(&a, &pending) {
            step.unwrap();
        }
        // The same token under another key is still another merchant's config: the key,
        // not the token, names the merchant.
        let a_renamed = config("token-a").with_merchant(key("shop-b"));
        refused_naming(every_step(&b, &pending), Some("shop-a"), Some("shop-b"));
        refused_naming(
            every_step(&a_renamed, &pending),
            Some("shop-a"),
            Some("shop-b"),
        );
        refused_naming(
            every_step(&config("token-a"), &pending),
            Some("shop-a"),
            None,
        );
    }
    // The default merchant's record carries no key field.
    let pending = CreatePayment::new(
        &config("t"),
        NewPayment::new(
            Amount::from_toman(250_000).unwrap(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            ClientRefId::new("order-1").unwrap(),
            Mobile::new("09123456789").unwrap(),
        ),
        SystemTime::UNIX_EPOCH,
    )
    .parse_response(http::Response::new(br#"{"code":"C1"}"#.to_vec()))
    .unwrap();
    assert!(
        !serde_json::to_string(&pending)
            .unwrap()
            .contains("merchant")
    );
}

#[test]
fn a_stored_key_is_checked_as_it_is_read() {
    for bad in ["", " shop-a", "shop\u{202E}a", &"k".repeat(65)] {
        let stored = OLD_V2.replacen(
            '{',
            &format!("{{\"merchant\":{},", serde_json::to_string(bad).unwrap()),
            1,
        );
        let err = serde_json::from_str::<Pending>(&stored).unwrap_err();
        assert!(err.to_string().contains("merchant key"), "{bad:?}: {err}");
    }
    assert_eq!(
        MerchantKey::new("shop-a ").unwrap_err().field(),
        Field::MerchantKey
    );
    let stored = OLD_V2.replacen('{', r#"{"merchant":"shop-a","#, 1);
    let pending: Pending = serde_json::from_str(&stored).unwrap();
    assert_eq!(pending.merchant(), Some(&key("shop-a")));
}

#[test]
fn the_key_is_a_name_and_debug_of_a_keyed_config_hides_the_token() {
    let config = config("secret-token-value").with_merchant(key("shop-a"));
    let debug = format!("{config:?}");
    assert!(debug.contains("shop-a"), "{debug}");
    assert!(!debug.contains("secret-token-value"), "{debug}");
}
