//! PayPing's API v3, as its OpenAPI document (tag "Payment-v3") and the official plugins
//! maintained in 2024-25 spell it: camelCase JSON, a callback form of `status`, `errorCode`
//! and `data` (a JSON string), and RFC 7807 problem details for errors.

pub(crate) mod callback;
pub(crate) mod create;
pub(crate) mod errors;
pub(crate) mod record;
pub(crate) mod refund;
pub(crate) mod verify;

use serde::Serialize;

use crate::wire::Page;

/// `POST`: creates a payment.
pub(crate) const CREATE_PATH: &str = "/v3/pay";
/// `POST`: verifies a payment.
pub(crate) const VERIFY_PATH: &str = "/v3/pay/verify";
/// `DELETE` with a JSON body naming the code: cancels a payment code.
pub(crate) const CANCEL_PATH: &str = "/v3/pay";
/// `POST`: refunds a verified, reversible payment.
pub(crate) const REVERSE_PATH: &str = "/v3/pay/reverse";

/// PayPing's v3 payment page, on the API host.
pub(crate) const START_PAGE: Page = Page {
    before_code: "/v3/pay/start/",
    after_code: "",
};

/// `DELETE /v3/pay`'s body.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CancelBody<'a> {
    payment_code: &'a str,
}

/// The body cancelling `code`.
pub(crate) fn cancel_body(code: &crate::text::PaymentCode) -> CancelBody<'_> {
    CancelBody {
        payment_code: code.as_str(),
    }
}
