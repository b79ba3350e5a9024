//! PayPing's report, `GET /v1/report/{code}`: one payment's details, for either protocol's
//! payments (an option makes it answer 404 for v3 ones), to the merchant that created it only.
//! Its errors are v2's.

use hyper::Method;
use serde::Serialize;
use serde_json::Value;

use crate::answer::Answer;
use crate::api_v2;
use crate::route::{Route, Routed};
use crate::shared::Shared;
use crate::state::{ApiVersion, PaymentSnapshot, PaymentState};
use crate::util::{lock, rfc3339};

/// A report call: the payment code, exactly as in the path.
pub(crate) struct Call(String);

/// The report's route: `GET /v1/report/{code}`.
pub(crate) fn route(method: &Method, segments: &[&str]) -> Routed<Call> {
    match segments {
        ["v1", "report", code] => {
            Routed::check(method, Method::GET, Route::Report, Call((*code).to_owned()))
        }
        _ => Routed::Unknown,
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

/// What the report answers, after authorization.
pub(crate) fn answer(shared: &Shared, call: Call, authorization: Option<&str>) -> Answer {
    let Some(token) = shared.authorize(authorization) else {
        return Answer::unauthorized();
    };
    let Call(code) = call;
    let store = lock(&shared.store);
    let p = match store.read(token, &code) {
        Ok(p) => p,
        // Another merchant's payment is answered as an unknown code: the report shows
        // nothing of it, not even that it exists.
        Err(_) => return api_v2::refused(api_v2::UNKNOWN_CODE),
    };
    if p.snap.version == ApiVersion::V3 && !shared.config.report_v3_codes {
        return Answer::empty(404);
    }
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
fn payment_status(s: &PaymentSnapshot) -> u8 {
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
