//! PayPing's API v2 (and the v1 report), as its OpenAPI document and official plugins spell
//! it: camelCase JSON, a lower-case callback form, and error bodies keyed by code.

pub(crate) mod callback;
pub(crate) mod create;
pub(crate) mod errors;
pub(crate) mod report;
pub(crate) mod verify;

use crate::wire::Page;

/// `POST`: creates a payment.
pub(crate) const CREATE_PATH: &str = "/v2/pay";
/// `POST`: verifies a payment.
pub(crate) const VERIFY_PATH: &str = "/v2/pay/verify";
/// `DELETE` + the code as one segment: cancels a payment code.
pub(crate) const CANCEL_PATH: &str = "/v2/pay/";
/// `GET` + the code as one segment: what PayPing knows of a payment (a v1 route v2 uses).
pub(crate) const REPORT_PATH: &str = "/v1/report/";

/// Ghesta's installment page, on the gateway host.
pub(crate) const GHESTA_PAGE: Page = Page {
    before_code: "/installment/",
    after_code: "?type=ghesta",
};

/// PayPing's card payment page, on the API host.
pub(crate) const IPG_PAGE: Page = Page {
    before_code: "/v2/pay/gotoipg/",
    after_code: "",
};
