//! PayPing's v2 API as the sandbox serves it: the route table and the handlers. Each handler
//! parses the request, calls the payment [`Store`](crate::state::Store) and renders an
//! [`Answer`]; the payments' rules live in [`crate::state`], so another protocol version is
//! another module like this one over the same state.

use std::time::SystemTime;

use hyper::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::answer::{Answer, Routed};
use crate::faults::Route;
use crate::shared::Shared;
use crate::state::{ApiError, ApiVersion, NewPayment, PaymentState};
use crate::util::{lock, rfc3339};

const MIN_AMOUNT: u64 = 100;
const MAX_AMOUNT: u64 = 50_000_000;

/// A v2 API call, parsed from its method and path.
pub(crate) enum Call {
    Create,
    Verify,
    Cancel(String),
    Report(String),
}

/// The v2 API's routes; `segments` is the path split at `/`, without empty segments.
pub(crate) fn route(method: &Method, segments: &[&str]) -> Routed<Call> {
    let (allowed, route, call) = match segments {
        ["v2", "pay"] => (Method::POST, Route::Create, Call::Create),
        ["v2", "pay", "verify"] => (Method::POST, Route::Verify, Call::Verify),
        ["v2", "pay", code] => (
            Method::DELETE,
            Route::Cancel,
            Call::Cancel((*code).to_owned()),
        ),
        ["v1", "report", code] => (Method::GET, Route::Report, Call::Report((*code).to_owned())),
        _ => return Routed::Unknown,
    };
    Routed::check(method, allowed, route, call)
}

/// What the call answers, after authorization (any valid token; PayPing's rules for which
/// token may act on which payment are in the store).
pub(crate) fn answer(
    shared: &Shared,
    call: Call,
    authorization: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    let Some(token) = shared.authorize(authorization) else {
        return Answer::api_error(ApiError::Unauthorized);
    };
    let now = shared.clock.now();
    match call {
        Call::Create => create(shared, token, body, now),
        Call::Verify => verify(shared, token, body, now),
        Call::Cancel(code) => match lock(&shared.store).cancel_by_shop(token, &code) {
            Ok(()) => Answer::empty(200),
            Err(e) => Answer::api_error(e),
        },
        Call::Report(code) => report(shared, &code),
    }
}

/// Parses a JSON object body, or the 400 answer for a body that is not one.
pub(crate) fn parse_object(body: Option<&[u8]>) -> Result<Map<String, Value>, Answer> {
    let bad = |msg: &str| Answer::fields(vec![("body", msg.to_owned())]);
    let body = body.ok_or_else(|| bad("بدنه درخواست بیش از حد بزرگ است"))?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(bad("بدنه درخواست باید یک شیء JSON باشد")),
        Err(_) => Err(bad("بدنه درخواست JSON معتبر نیست")),
    }
}

/// A member by name, ignoring ASCII case (as PayPing's model binding does); null is absent.
pub(crate) fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

const AMOUNT_MSG: &str = "مبلغ الزامی است و باید عددی صحیح بین ۱۰۰ تا ۵۰٬۰۰۰٬۰۰۰ تومان باشد";

fn amount_of(obj: &Map<String, Value>, errors: &mut Vec<(&'static str, String)>) -> u32 {
    match member(obj, "amount").and_then(Value::as_u64) {
        Some(a) if (MIN_AMOUNT..=MAX_AMOUNT).contains(&a) => a as u32,
        _ => {
            errors.push(("amount", AMOUNT_MSG.to_owned()));
            0
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<String> {
    match member(obj, name) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push((name, format!("مقدار {name} باید متن (string) باشد")));
            None
        }
    }
}

fn required_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> String {
    match member(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            errors.push((name, format!("مقدار {name} الزامی است")));
            String::new()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    amount: u32,
    req_date: String,
    pay_date: Option<String>,
    is_request: bool,
    is_paid: bool,
    description: Option<&'a str>,
    payer_identity: Option<&'a str>,
    platform: Option<&'a str>,
    browser: Option<&'a str>,
    rrn: Option<&'a str>,
    client_id: &'a str,
    client_ref_id: Option<&'a str>,
    invoice_no: Option<&'a str>,
    wage: u32,
    ipg_name: &'a str,
    is_blocked: bool,
    name: Option<&'a str>,
    /// The refId (v3's paymentRefId) once the buyer paid: text for a v2 payment, a number
    /// for a v3 one, as each protocol writes it.
    ref_id: Option<Value>,
    payment_status: u8,
    is_refund: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyAnswer<'a> {
    amount: u32,
    card_number: &'a str,
    card_hash_pan: &'a str,
}

fn create(shared: &Shared, token: &str, body: Option<&[u8]>, now: SystemTime) -> Answer {
    let obj = match parse_object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let amount = amount_of(&obj, &mut errors);
    let return_url = required_string(&obj, "returnUrl", &mut errors);
    let new = NewPayment {
        amount,
        return_url,
        payer_identity: optional_string(&obj, "payerIdentity", &mut errors),
        payer_name: optional_string(&obj, "payerName", &mut errors),
        description: optional_string(&obj, "description", &mut errors),
        client_ref_id: optional_string(&obj, "clientRefId", &mut errors),
        version: ApiVersion::V2,
        reversible: false,
    };
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let code = lock(&shared.store).create(token, new, now);
    let mut answer = Map::new();
    answer.insert("code".to_owned(), Value::String(code));
    Answer::json(200, &answer)
}

fn verify(shared: &Shared, token: &str, body: Option<&[u8]>, now: SystemTime) -> Answer {
    let obj = match parse_object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let ref_id = required_string(&obj, "refId", &mut errors);
    let amount = amount_of(&obj, &mut errors);
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let result = lock(&shared.store).verify(
        token,
        ref_id.trim(),
        amount,
        now,
        shared.config.verify_window,
        shared.config.expired_code,
    );
    match result {
        Ok(v) => Answer::json(
            200,
            &VerifyAnswer {
                amount: v.amount,
                card_number: &v.card_number,
                card_hash_pan: &v.card_hash_pan,
            },
        ),
        Err(e) => Answer::api_error(e),
    }
}

fn report(shared: &Shared, code: &str) -> Answer {
    let store = lock(&shared.store);
    let Some(p) = store.get(code) else {
        return Answer::api_error(ApiError::Code(26));
    };
    let s = &p.snap;
    let paid = s.paid_at.is_some();
    let ref_id = s
        .ref_id
        .as_deref()
        .filter(|_| paid)
        .map(|r| match s.version {
            ApiVersion::V3 => r
                .parse::<u64>()
                .map_or_else(|_| Value::from(r), Value::from),
            _ => Value::from(r),
        });
    Answer::json(
        200,
        &Report {
            amount: s.amount,
            req_date: rfc3339(s.created_at),
            pay_date: s.paid_at.map(rfc3339),
            is_request: false,
            is_paid: s.state == PaymentState::Verified,
            description: s.description.as_deref(),
            payer_identity: s.payer_identity.as_deref(),
            platform: None,
            browser: None,
            rrn: p.card_number.as_deref(),
            client_id: "sandbox",
            client_ref_id: s.client_ref_id.as_deref(),
            invoice_no: if paid { s.ref_id.as_deref() } else { None },
            wage: 0,
            ipg_name: match s.version {
                ApiVersion::V3 => "PayPing",
                _ => "Ghesta",
            },
            is_blocked: false,
            name: s.payer_name.as_deref(),
            ref_id,
            payment_status: payment_status(s),
            is_refund: s.state == PaymentState::Refunded,
        },
    )
}

/// The report's `paymentStatus`: 0 created, 1 verified (a refund keeps it, with `isRefund`),
/// 2 the buyer opened the gateway, 3 cancelled (by the buyer or the shop) or failed at the
/// gateway, 4 paid but voided (not verified in time), 5 paid and waiting for the shop.
fn payment_status(s: &crate::PaymentSnapshot) -> u8 {
    match s.state {
        PaymentState::Created if s.opened => 2,
        PaymentState::Created => 0,
        PaymentState::Verified | PaymentState::Refunded => 1,
        PaymentState::CancelledByBuyer
        | PaymentState::CancelledByShop
        | PaymentState::Failed { .. } => 3,
        PaymentState::Expired => 4,
        PaymentState::Paid => 5,
    }
}
