//! `POST /v3/pay/reverse`: the refund body.

use serde::Serialize;

use crate::text::PaymentCode;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    payment_ref_id: u64,
    payment_code: &'a str,
}

/// The body refunding payment `code`, verified as `payment_ref_id`.
pub(crate) fn body(payment_ref_id: u64, code: &PaymentCode) -> Body<'_> {
    Body {
        payment_ref_id,
        payment_code: code.as_str(),
    }
}
