//! The body of `POST /v2/pay` and `POST /v3/pay`: both protocols spell the same fields the
//! same way, and v3 adds `isReversible`.

use serde::Serialize;

use crate::amount::AmountUnit;
use crate::new_payment::NewPayment;
use crate::text::{Description, PayerName};

/// The request body, in the order PayPing's spec lists the fields (`clientRefId` always a
/// JSON string: PayPing's own v3 plugins were fixed for sending it as a number).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    amount: u64,
    payer_identity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    return_url: &'a str,
    client_ref_id: &'a str,
    /// v3 only, and sent only when asked for: a payment must be created reversible to be
    /// refunded. (v2 has no refund: its create refuses a reversible payment before this, so
    /// a v2 body never carries the key.)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_reversible: bool,
}

/// The body for `payment`, its amount in `unit`.
pub(crate) fn body(payment: &NewPayment, unit: AmountUnit) -> Body<'_> {
    Body {
        amount: payment.amount().in_unit(unit),
        payer_identity: payment.mobile().as_str(),
        payer_name: payment.payer_name().map(PayerName::as_str),
        description: payment.description().map(Description::as_str),
        return_url: payment.return_url().as_str(),
        client_ref_id: payment.client_ref_id().as_str(),
        is_reversible: payment.is_reversible(),
    }
}
