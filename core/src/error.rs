//! What can go wrong in an exchange, and whether retrying can help.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::amount::Amount;
use crate::code::PayPingCode;
use crate::invalid::{Field, InvalidInput};
use crate::rejection::Rejection;
use crate::request_id::{IdSuffix, RequestId};
use crate::snippet::{BodySnippet, SNIPPET_BYTES, truncate};
use crate::text::{MerchantKey, PaymentCode};

/// The error of an exchange: building its request or reading PayPing's answer.
///
/// Every variant that comes from an answer carries the answer's [`RequestId`] when PayPing
/// sent one; [`Error::request_id`] finds it. [`Error::is_retryable`] says whether sending
/// the same request again can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value given to the SDK failed validation; fix it, do not retry.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),

    /// A callback does not belong to the pending payment it was checked against: its code or
    /// clientRefId differs. Nothing was sent. Treat it as a forged or misrouted callback:
    /// show the buyer an error and do not ship the order.
    #[error(
        "the callback's {field} {received:?} does not match the pending payment's {expected:?}; \
         it may be forged, nothing was sent to PayPing"
    )]
    CallbackMismatch {
        /// Which field differs: [`Field::Protocol`] (a form of the other protocol),
        /// [`Field::PaymentCode`], [`Field::ClientRefId`] or [`Field::Amount`] (the amount
        /// a v3 callback names).
        field: Field,
        /// What the pending payment holds.
        expected: String,
        /// What the callback carried.
        received: String,
    },

    /// PayPing answered 400 with its error codes or field messages.
    #[error("{0}")]
    Rejected(Rejection),

    /// PayPing answered 401 or 403: the token is wrong, expired, lacks the scope
    /// (`pay:write`, or `pay:read` for reports), or was approved under 10 minutes ago.
    #[error(
        "PayPing refused the token with status {}: check PAYPING_TOKEN, its scope, and that it \
         was approved more than 10 minutes ago{}", status.as_u16(), IdSuffix(request_id)
    )]
    Unauthorized {
        /// 401 or 403.
        status: StatusCode,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// PayPing answered 404: the payment code (or the API URL) is unknown.
    #[error(
        "PayPing answered 404 not found: check the payment code and the API URL{}",
        IdSuffix(request_id)
    )]
    NotFound {
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// PayPing, or a proxy in front of it, answered a 5xx status: retry later.
    #[error("PayPing is unavailable (status {}): retry later; body: {snippet}{}", status.as_u16(), IdSuffix(request_id))]
    Unavailable {
        /// The 5xx status.
        status: StatusCode,
        /// The start of the body (often an HTML page from a proxy).
        snippet: BodySnippet,
        /// How long the answer asked to wait (`Retry-After` in seconds), if it said.
        retry_after: Option<Duration>,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// An answer with a status this exchange does not expect (a redirect, 405, 429, ...).
    /// Redirects are never followed: the token must not travel to another host.
    #[error("PayPing answered an unexpected status {}; body: {snippet}{}", status.as_u16(), IdSuffix(request_id))]
    UnexpectedStatus {
        /// The status.
        status: StatusCode,
        /// The start of the body.
        snippet: BodySnippet,
        /// How long the answer asked to wait (`Retry-After` in seconds, on a 429), if it
        /// said.
        retry_after: Option<Duration>,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// An answer whose body could not be read as the JSON PayPing documents (truncated,
    /// HTML, wrong types, numbers out of range). On verify, the payment may have been
    /// verified anyway: retrying is safe (a second verify answers "already verified").
    #[error("could not read PayPing's answer (status {}): {reason}; body: {snippet}{}", status.as_u16(), IdSuffix(request_id))]
    MalformedResponse {
        /// The status.
        status: StatusCode,
        /// What was wrong, bounded.
        reason: String,
        /// The start of the body.
        snippet: BodySnippet,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// PayPing v3 answered verify with 202 (or 502): the verification is still in progress.
    /// Not a success and not a failure: verify again, within the verify window
    /// ([`RetryPolicy::decide`](crate::RetryPolicy::decide) says to, until the deadline).
    #[error(
        "PayPing is still verifying the payment (status {}): verify again within the verify \
         window{}",
        status.as_u16(),
        IdSuffix(request_id)
    )]
    VerifyInProgress {
        /// 202 or 502.
        status: StatusCode,
        /// How long the answer asked to wait (`Retry-After` in seconds), if it said.
        retry_after: Option<Duration>,
        /// The answer's request id (v3's `paypingTraceId` when it sent one).
        request_id: Option<RequestId>,
    },

    /// Verify answered for another payment code than the record's (v3 names the code it
    /// verified). This is not a success: do not ship; contact PayPing support.
    #[error(
        "verify answered for payment {received:?} but the record is {expected}; do not ship, \
         contact PayPing support{}",
        IdSuffix(request_id)
    )]
    CodeMismatch {
        /// The record's payment code.
        expected: PaymentCode,
        /// The code PayPing answered (bounded).
        received: String,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },

    /// PayPing's report is not of the stored payment: another code, amount or order.
    /// Nothing is to be verified from it; treat the payment as unknown and look at it in
    /// PayPing's panel.
    #[error(
        "the report's {field} {received:?} does not match the pending payment's {expected:?}; \
         nothing was verified from it{}",
        IdSuffix(request_id)
    )]
    ReportMismatch {
        /// Which field differs: [`Field::PaymentCode`], [`Field::Amount`] or
        /// [`Field::ClientRefId`].
        field: Field,
        /// What the pending payment holds.
        expected: String,
        /// What the report says.
        received: String,
        /// The report answer's request id.
        request_id: Option<RequestId>,
    },

    /// No answer arrived: the driver's transport failed (a timeout, a refused or lost
    /// connection, TLS), in the driver's words. The request may or may not have reached
    /// PayPing; a verify or report may be sent again (a settlement asks again later).
    #[error("no answer from PayPing: {reason}; it may or may not have arrived, settle again later")]
    NoAnswer {
        /// What the driver said, bounded.
        reason: String,
    },

    /// Verify succeeded for a payment reference, but PayPing's report of the record's own
    /// code does not show it paid with that reference: the reference belongs to another
    /// payment (a forged callback can carry another order's refid at the same price, and
    /// v2's verify names no payment). This is not a success for the record: do not ship it.
    #[error(
        "verify succeeded for reference {verified}, but PayPing's report of payment {code} does \
         not show it paid with that reference (status {}): it is another payment's; do not ship \
         this order{}",
        status.map_or_else(|| "none".to_owned(), |s| s.number().to_string()),
        IdSuffix(request_id)
    )]
    NotThisPayment {
        /// The record's payment code.
        code: PaymentCode,
        /// The reference that was verified.
        verified: crate::text::RefId,
        /// The status PayPing's report gives, if it gave one.
        status: Option<crate::status::PaymentStatus>,
        /// The report answer's request id.
        request_id: Option<RequestId>,
    },

    /// A stored payment of one merchant was to be verified, cancelled, refunded or settled
    /// with the configuration (the token) of another: refused before any request, since
    /// PayPing would answer for the other merchant's account (code 46, or its report of
    /// another payment). Finish the record with the `Config` whose
    /// [`merchant`](crate::Config::merchant) is the record's
    /// ([`Pending::merchant`](crate::Pending::merchant); `None` is the default merchant).
    #[error(
        "payment {code} belongs to {} but was given the configuration of {}; nothing was \
         sent: finish it with its own merchant's configuration (look it up by Pending::merchant)",
        MerchantName(record.as_ref()),
        MerchantName(config.as_ref())
    )]
    WrongMerchant {
        /// The record's payment code.
        code: PaymentCode,
        /// The merchant the record belongs to (`None`: the default merchant).
        record: Option<MerchantKey>,
        /// The merchant of the configuration it was given (`None`: the default merchant).
        config: Option<MerchantKey>,
    },

    /// A refund that cannot succeed was refused before anything was sent.
    #[error("the payment cannot be refunded: {0}; nothing was sent")]
    RefundRefused(RefundRefusal),

    /// The SDK could not build a request from values it had already checked. This is a bug
    /// in the SDK, not an answer from PayPing: nothing was sent, and sending again cannot
    /// help. Please report it with the reason.
    #[error(
        "the SDK could not build the request ({reason}); nothing was sent. This is a bug in ghesta-core: please report it"
    )]
    Internal {
        /// What failed, bounded.
        reason: String,
    },

    /// Verify answered 200 for another amount than the one stored. This is not a success:
    /// do not ship the order; contact PayPing support with the request id.
    #[error(
        "verify answered 200 for {received} but the payment is for {expected} (wire unit); \
         do not ship, contact PayPing support{}",
        IdSuffix(request_id)
    )]
    AmountMismatch {
        /// The stored amount.
        expected: Amount,
        /// The number PayPing answered, in the wire unit.
        received: u64,
        /// The answer's request id.
        request_id: Option<RequestId>,
    },
}

/// A merchant as an error names it: its key, or the default merchant.
struct MerchantName<'a>(Option<&'a MerchantKey>);

impl fmt::Display for MerchantName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(key) => write!(f, "merchant {:?}", key.as_str()),
            None => f.write_str("the default merchant (no key)"),
        }
    }
}

impl Error {
    /// Whether sending the same request again can help: 5xx, PayPing's "try again" codes
    /// (11, 25, 29, 49), 408/429, and a success or 5xx answer whose body could not be read
    /// (cut off on the way). A 4xx body that cannot be read will read no better next time.
    ///
    /// This says nothing of whether a retry is *safe*: a create that is retried may create
    /// a second payment. [`RetryPolicy::decide`](crate::RetryPolicy::decide) decides that per
    /// exchange, for every driver; ask it rather than this.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } | Self::VerifyInProgress { .. } | Self::NoAnswer { .. } => {
                true
            }
            Self::MalformedResponse { status, .. } => {
                status.is_success() || status.is_server_error()
            }
            Self::UnexpectedStatus { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Rejected(rejection) => rejection.code().is_some_and(PayPingCode::is_retryable),
            Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::Internal { .. }
            | Self::RefundRefused(_)
            | Self::WrongMerchant { .. }
            | Self::Unauthorized { .. }
            | Self::NotFound { .. }
            | Self::CodeMismatch { .. }
            | Self::ReportMismatch { .. }
            | Self::NotThisPayment { .. }
            | Self::AmountMismatch { .. } => false,
        }
    }

    /// The `X-PayPingRequest-ID` of the answer this error came from, if any.
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::Rejected(r) => r.request_id(),
            Self::Unauthorized { request_id, .. }
            | Self::NotFound { request_id }
            | Self::Unavailable { request_id, .. }
            | Self::UnexpectedStatus { request_id, .. }
            | Self::MalformedResponse { request_id, .. }
            | Self::VerifyInProgress { request_id, .. }
            | Self::CodeMismatch { request_id, .. }
            | Self::ReportMismatch { request_id, .. }
            | Self::NotThisPayment { request_id, .. }
            | Self::AmountMismatch { request_id, .. } => request_id.as_ref(),
            Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::Internal { .. }
            | Self::NoAnswer { .. }
            | Self::WrongMerchant { .. }
            | Self::RefundRefused(_) => None,
        }
    }

    /// The HTTP status of the answer this error came from, if any.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected(r) => Some(r.status()),
            Self::Unauthorized { status, .. }
            | Self::Unavailable { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::MalformedResponse { status, .. }
            | Self::VerifyInProgress { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Self::AmountMismatch { .. }
            | Self::CodeMismatch { .. }
            | Self::ReportMismatch { .. }
            | Self::NotThisPayment { .. } => Some(StatusCode::OK),
            Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::Internal { .. }
            | Self::NoAnswer { .. }
            | Self::WrongMerchant { .. }
            | Self::RefundRefused(_) => None,
        }
    }

    /// How long the answer asked the client to wait before trying again: its `Retry-After`
    /// header, in the delta-seconds form (the date form needs a clock the core does not
    /// read, and is ignored), on a 5xx, another unexpected status, or v3's "in progress".
    /// [`RetryPolicy::decide`](crate::RetryPolicy::decide) waits at least this long.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. }
            | Self::UnexpectedStatus { retry_after, .. }
            | Self::VerifyInProgress { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The PayPing error code, for a [`Error::Rejected`] answer that carried one.
    pub fn code(&self) -> Option<PayPingCode> {
        match self {
            Self::Rejected(r) => r.code(),
            _ => None,
        }
    }

    /// The error for a call that got no answer, from the driver's description of its
    /// failure (bounded; a driver must not put the token in it).
    ///
    /// ```
    /// let e = ghesta_core::Error::no_answer("timed out after 30 s");
    /// assert!(e.is_retryable() && e.status().is_none());
    /// assert!(e.to_string().contains("timed out"));
    /// ```
    #[cold]
    pub fn no_answer(reason: impl fmt::Display) -> Self {
        let mut reason = reason.to_string();
        truncate(&mut reason, SNIPPET_BYTES);
        Self::NoAnswer { reason }
    }

    /// A request the SDK could not build: a bug, said plainly rather than a panic in a
    /// payment path.
    #[cold]
    pub(crate) fn internal(reason: impl fmt::Display) -> Self {
        let mut reason = reason.to_string();
        truncate(&mut reason, SNIPPET_BYTES);
        Self::Internal { reason }
    }

    pub(crate) fn malformed(
        status: StatusCode,
        reason: impl fmt::Display,
        body: &[u8],
        request_id: Option<RequestId>,
    ) -> Self {
        let mut reason = reason.to_string();
        truncate(&mut reason, SNIPPET_BYTES);
        Self::MalformedResponse {
            status,
            reason,
            snippet: BodySnippet::of(body),
            request_id,
        }
    }

    /// The error for a failure status both protocols read alike: 401 and 403, 404, 5xx, and
    /// any other status as unexpected.
    pub(crate) fn by_status(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<RequestId>,
    ) -> Self {
        match status.as_u16() {
            401 | 403 => Self::Unauthorized { status, request_id },
            404 => Self::NotFound { request_id },
            500..=599 => Self::Unavailable {
                status,
                snippet: BodySnippet::of(body),
                retry_after,
                request_id,
            },
            _ => Self::UnexpectedStatus {
                status,
                snippet: BodySnippet::of(body),
                retry_after,
                request_id,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatches_name_their_field_in_words() {
        let callback = Error::CallbackMismatch {
            field: Field::ClientRefId,
            expected: "order-7".into(),
            received: "order-8".into(),
        };
        assert!(
            callback
                .to_string()
                .starts_with(r#"the callback's client reference "order-8" does not match"#),
            "{callback}"
        );
        let report = Error::ReportMismatch {
            field: Field::PaymentCode,
            expected: "P1".into(),
            received: "P2".into(),
            request_id: None,
        };
        assert!(
            report
                .to_string()
                .starts_with(r#"the report's payment code "P2" does not match"#),
            "{report}"
        );
    }

    #[test]
    fn a_bug_is_not_a_retryable_answer() {
        let bug = Error::internal("x".repeat(1000));
        assert!(!bug.is_retryable(), "sending a bug again cannot help");
        assert_eq!(bug.status(), None, "PayPing sent no status");
        assert_eq!(bug.request_id(), None);
        let Error::Internal { reason } = &bug else {
            panic!("{bug:?}");
        };
        assert!(reason.len() <= SNIPPET_BYTES);
        assert!(bug.to_string().contains("bug in ghesta-core"));
    }
}

/// Why a refund was refused before anything was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RefundRefusal {
    /// The payment was created on PayPing v2, which has no refund.
    #[error("it was created on PayPing v2, which has no refund; refund it from PayPing's panel")]
    NotV3,
    /// The payment was not created reversible ([`NewPayment::with_reversible`]).
    ///
    /// [`NewPayment::with_reversible`]: crate::NewPayment::with_reversible
    #[error("it was not created reversible (NewPayment::with_reversible)")]
    NotReversible,
    /// More than 30 minutes have passed since verify.
    #[error("PayPing refunds only within 30 minutes of verify, and that window has passed")]
    WindowPassed,
}
