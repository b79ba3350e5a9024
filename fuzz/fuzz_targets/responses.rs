//! Every answer parser (create, verify, cancel, report, and the error bodies behind them) on
//! an arbitrary status, headers (`X-PayPingRequest-ID` among them) and body.
//!
//! Input shape: the status on the first line, `name: value` lines, an empty line, the body.
//!
//! Holds, each against the body as serde_json reads it (never against what the SDK stored):
//! no panic; a created payment comes from a 200 object naming one string code, the code the
//! redirect carries, and no error code; a verified payment from a 200 object naming the
//! stored amount (250,000 Toman, or 2,500,000 for a Rial record) exactly once and no error
//! code; an amount mismatch from a 200 naming that other amount; "already verified" from a
//! 400 object naming code 15 and nothing else; a cancel only from 200 or 204 without error
//! codes; a report from a 200 object, and it confirms the record only when it says paid,
//! for the stored amount, for no other order; every error keeps the status and request id,
//! and its message stays bounded. No success is read from a body with a key twice in any
//! case (`amount` beside `Amount`), a padded code, or an error-code key that is not a
//! canonical decimal. v3's verify of a v3 record: verified only from a 200 naming the stored
//! amount (and, when it names one, the record's code); already verified only from a 409
//! whose `metaData.code` is 110 and whose earlier record names no other amount or code;
//! "in progress" only from 202 or 502. v3's create: a record from a 200 object naming one
//! string `paymentCode`, sending the buyer to the start page of that code: the answer's
//! `url` when it is exactly that page on `api.payping.ir` or `api.payping.io`, else the one
//! built on the configured API host; and the record reads back unchanged.
#![no_main]

use ghesta_core::http::{self, HeaderMap, StatusCode};
use ghesta_core::{
    CancelPayment, Config, CreatePayment, Error, Exchange, Gateway, Pending, RefId, ReportPayment,
    VerifyOutcome, VerifyPayment,
};
use ghesta_fuzz::{at_path, count_any_case, entries, is_unpadded, names_error_code, only};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// The stored payment's amount on the wire, written out here rather than read back from
/// the SDK: 250,000 Toman.
const TOMAN: u64 = 250_000;
const RIAL: u64 = 2_500_000;

fn response<'a>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &'a [u8],
) -> http::Response<&'a [u8]> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers.clone();
    response
}

/// The body's entries (the values of `checked` read), for a result the SDK may only give
/// from a JSON object without error codes.
fn object(body: &[u8], checked: &[&str], what: &str) -> Vec<(String, Value)> {
    let entries =
        entries(body, checked).unwrap_or_else(|| panic!("{what} from a body that is no object"));
    assert!(
        !names_error_code(&entries),
        "{what} from a body naming an error code"
    );
    entries
}

fn verify(
    config: &Config,
    pending: &Pending,
    wire: u64,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let form = b"code=82a4f72&refid=555&clientrefid=order-7";
    let Ok(ghesta_core::Callback::Completed(callback)) = ghesta_core::Callback::from_form(form)
    else {
        unreachable!("a documented callback parses");
    };
    let exchange = VerifyPayment::new(config, pending, &callback).expect("matching callback");
    match exchange.parse_response(response(status, headers, body)) {
        Ok(VerifyOutcome::Verified(_)) => {
            assert_eq!(status, StatusCode::OK);
            let object = object(body, &["amount"], "a verified payment");
            let amount = only(&object, "amount").and_then(Value::as_u64);
            assert_eq!(amount, Some(wire), "verified for {object:?}");
            // A reader that ignores case must not see a second amount.
            assert_eq!(count_any_case(&object, "amount"), 1, "{object:?}");
        }
        Ok(VerifyOutcome::AlreadyVerified(_)) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            let object = entries(body, &[]).expect("code 15 came from a JSON object");
            assert_eq!(object.len(), 1, "15 and nothing else: {object:?}");
            // Exactly `15`: `015` or ` 15 ` is a field name, never "already verified".
            assert_eq!(object[0].0, "15", "{object:?}");
        }
        Err(Error::AmountMismatch { received, .. }) => {
            assert_eq!(status, StatusCode::OK);
            let object = object(body, &["amount"], "an amount mismatch");
            assert_eq!(
                only(&object, "amount").and_then(Value::as_u64),
                Some(received)
            );
            assert_ne!(received, wire);
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, headers),
    }
}

/// v3's verify of the stored v3 record (code `P1`, 250,000 Toman): a verified payment only
/// from a 200 object naming the stored amount once in any case and no other code; already
/// verified only from a 409 whose `metaData.code` is 110, and whose earlier record, when it
/// names an amount or a code, names the stored ones; "in progress" only from 202 or 502.
fn verify_v3(status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let config = ghesta_fuzz::production().with_gateway(Gateway::PayPingV3);
    let pending = ghesta_fuzz::pending_v3();
    let exchange = VerifyPayment::from_ref_id(&config, &pending, RefId::new("7781").expect("id"))
        .expect("an integer refId");
    match exchange.parse_response(response(status, headers, body)) {
        Ok(VerifyOutcome::Verified(_)) => {
            assert_eq!(status, StatusCode::OK);
            let object =
                entries(body, &["amount", "code"]).expect("a verified record is an object");
            assert_eq!(count_any_case(&object, "amount"), 1, "{object:?}");
            assert_eq!(only(&object, "amount").and_then(Value::as_u64), Some(TOMAN));
            assert!(count_any_case(&object, "code") <= 1, "{object:?}");
            if let Some(code) = only(&object, "code") {
                assert_eq!(code.as_str(), Some("P1"), "{object:?}");
            }
        }
        Ok(VerifyOutcome::AlreadyVerified(_)) => {
            assert_eq!(status, StatusCode::CONFLICT);
            let code = at_path(body, &["metaData", "code"]);
            assert_eq!(code.as_ref().and_then(Value::as_u64), Some(110));
            // The earlier record, when it names an amount or a code, names the stored ones.
            if let Some(amount) = at_path(body, &["metaData", "message", "amount"]) {
                assert_eq!(amount.as_u64(), Some(TOMAN), "{amount}");
            }
            if let Some(code) = at_path(body, &["metaData", "message", "code"]) {
                assert_eq!(code.as_str(), Some("P1"), "{code}");
            }
        }
        Err(Error::VerifyInProgress { .. }) => {
            assert!(matches!(status.as_u16(), 202 | 502), "{status}");
        }
        Err(e) => ghesta_fuzz::check_v3_error(&e, status, headers, body),
    }
}

fuzz_target!(|data: &[u8]| {
    // The core scrubs the token from every answer before reading it (a header holding it is
    // dropped, the body's copies replaced: core/src/scrub.rs and its tests). These oracles
    // read the raw bytes, so an answer holding the fuzz token, which libFuzzer finds within
    // seconds, is outside what they describe.
    let token = ghesta_fuzz::TOKEN.as_bytes();
    if data.windows(token.len()).any(|w| w == token) {
        return;
    }
    let carved = ghesta_fuzz::carve(data);
    let Some(status) = std::str::from_utf8(carved.start)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
    else {
        return;
    };
    let headers = ghesta_fuzz::header_map(&carved.headers);
    let body = carved.body;
    let config = ghesta_fuzz::production();
    let pending = ghesta_fuzz::pending(&config);

    let create = CreatePayment::new(&config, new_payment(), std::time::SystemTime::UNIX_EPOCH);
    match create.parse_response(response(status, &headers, body)) {
        Ok(created) => {
            assert_eq!(status, StatusCode::OK);
            let object = object(body, &["code"], "a created payment");
            let code = only(&object, "code").and_then(Value::as_str);
            assert_eq!(count_any_case(&object, "code"), 1, "{object:?}");
            assert!(code.is_some_and(is_unpadded), "{object:?}");
            assert_eq!(code, Some(created.code().as_str()), "{object:?}");
            // The buyer is sent to the installment page of the code PayPing gave.
            let url = created.redirect_url().as_str();
            let segment = url
                .strip_prefix("https://payping.ir/installment/")
                .and_then(|rest| rest.strip_suffix("?type=ghesta"))
                .unwrap_or_else(|| panic!("not the installment page: {url}"));
            let decoded = percent_decode_str(segment).decode_utf8().expect("UTF-8");
            assert_eq!(Some(&*decoded), code, "{url}");
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }

    verify(&config, &pending, TOMAN, status, &headers, body);
    let sandbox = ghesta_fuzz::sandbox();
    verify(
        &sandbox,
        &ghesta_fuzz::pending(&sandbox),
        RIAL,
        status,
        &headers,
        body,
    );

    verify_v3(status, &headers, body);
    create_v3(status, &headers, body);

    let cancel = CancelPayment::new(&config, &pending);
    match cancel.parse_response(response(status, &headers, body)) {
        Ok(_) => {
            assert!(matches!(status.as_u16(), 200 | 204));
            let codes = entries(body, &[]).is_some_and(|e| names_error_code(&e));
            assert!(!codes, "cancelled by a body naming an error code");
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }

    let report = ReportPayment::new(&config, pending.code());
    match report.parse_response(response(status, &headers, body)) {
        Ok(details) => {
            assert_eq!(status, StatusCode::OK);
            let object = object(body, &["amount", "isPaid", "clientRefId"], "a report");
            if details.confirms(&pending) {
                assert_eq!(only(&object, "isPaid"), Some(&Value::Bool(true)));
                assert_eq!(only(&object, "amount").and_then(Value::as_u64), Some(TOMAN));
                let mut orders = object.iter().filter(|(k, _)| k == "clientRefId");
                assert!(
                    orders.all(|(_, v)| v.as_str() == Some("order-7")),
                    "{object:?}"
                );
            }
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }
});

/// v3's start page on PayPing's two API hosts, written out here.
const START_PAGES: [&str; 2] = [
    "https://api.payping.ir/v3/pay/start/",
    "https://api.payping.io/v3/pay/start/",
];

/// v3's create on production: see the oracle in the file's docs.
fn create_v3(status: StatusCode, headers: &HeaderMap, body: &[u8]) {
    let config = ghesta_fuzz::production().with_gateway(Gateway::PayPingV3);
    let create = CreatePayment::new(&config, new_payment(), std::time::SystemTime::UNIX_EPOCH);
    match create.parse_response(response(status, headers, body)) {
        Ok(created) => {
            assert_eq!(status, StatusCode::OK);
            let object = entries(body, &["paymentCode", "url"]).expect("a created record");
            assert_eq!(count_any_case(&object, "paymentCode"), 1, "{object:?}");
            let code = only(&object, "paymentCode").and_then(Value::as_str);
            assert_eq!(code, Some(created.code().as_str()), "{object:?}");
            let url = created.redirect_url().as_str();
            let segment = START_PAGES
                .iter()
                .find_map(|start| {
                    let head = url.get(..start.len())?;
                    head.eq_ignore_ascii_case(start)
                        .then(|| &url[start.len()..])
                })
                .unwrap_or_else(|| panic!("not a start page: {url}"));
            assert!(!segment.contains(['/', '?', '#']), "{url}");
            let decoded = percent_decode_str(segment).decode_utf8().expect("UTF-8");
            assert_eq!(Some(&*decoded), code, "{url}");
            let answered = only(&object, "url").and_then(Value::as_str);
            if answered != Some(url) {
                assert_eq!(
                    url,
                    format!("https://api.payping.ir/v3/pay/start/{segment}")
                );
            }
            assert_eq!(
                ghesta_fuzz::read_back(&created, None).as_ref(),
                Ok(&created)
            );
        }
        Err(e) => ghesta_fuzz::check_v3_error(&e, status, headers, body),
    }
}

fn new_payment() -> ghesta_core::NewPayment {
    use ghesta_core::{Amount, ClientRefId, Mobile, NewPayment, ReturnUrl};
    NewPayment::new(
        Amount::from_toman(TOMAN).expect("in range"),
        ReturnUrl::new("https://shop.example/ghesta/callback").expect("https"),
        ClientRefId::new("order-7").expect("short"),
        Mobile::new("09123456789").expect("a mobile"),
    )
}
