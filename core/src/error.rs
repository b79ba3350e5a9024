//! What can go wrong in an exchange, and whether retrying can help.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::amount::Amount;
use crate::code::PayPingCode;
use crate::gateway::Protocol;
use crate::invalid::InvalidInput;
use crate::rejection::Rejection;
use crate::request_id::{IdSuffix, RequestId};
use crate::snippet::{BodySnippet, SNIPPET_BYTES, truncate};
use crate::text::PaymentCode;
use crate::wire;

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
        /// Which field differs (`code` or `clientRefId`).
        field: &'static str,
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
    /// (`ghesta-blocking` does, by default).
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
        /// Which field differs (`code`, `amount` or `clientRefId`).
        field: &'static str,
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
        status: Option<crate::report::PaymentStatus>,
        /// The report answer's request id.
        request_id: Option<RequestId>,
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

impl Error {
    /// Whether sending the same request again can help: 5xx, PayPing's "try again" codes
    /// (11, 25, 29, 49), 408/429, and a success or 5xx answer whose body could not be read
    /// (cut off on the way). A 4xx body that cannot be read will read no better next time.
    ///
    /// This says nothing of whether a retry is *safe*: a create that is retried may create
    /// a second payment. `ghesta-blocking`'s retry policy decides that per exchange.
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
            | Self::RefundRefused(_) => None,
        }
    }

    /// How long the answer asked the client to wait before trying again: its `Retry-After`
    /// header, in the delta-seconds form (the date form needs a clock the core does not
    /// read, and is ignored), on a 5xx or other unexpected status.
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

    /// The error for an answer whose status is not a success.
    pub(crate) fn from_failure(
        protocol: Protocol,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<RequestId>,
    ) -> Self {
        match protocol {
            Protocol::V2 => Self::from_v2_failure(status, body, retry_after, request_id),
            Protocol::V3 => Self::from_v3_failure(status, body, retry_after, request_id),
        }
    }

    fn from_v2_failure(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<RequestId>,
    ) -> Self {
        match status.as_u16() {
            400 => match wire::v2::errors::read(body) {
                Ok(entries) if !entries.is_empty() => {
                    Self::Rejected(Rejection::new(status, entries, request_id))
                }
                Ok(_) => Self::malformed(status, "an empty error object", body, request_id),
                Err(reason) => Self::malformed(status, reason, body, request_id),
            },
            _ => Self::by_status(status, body, retry_after, request_id),
        }
    }

    /// v3 answers errors with problem details; its `paypingTraceId` is the id PayPing
    /// support asks for, so it becomes the request id of whatever error the status gives.
    fn from_v3_failure(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<RequestId>,
    ) -> Self {
        let problem = wire::v3::errors::read(body);
        let request_id = RequestId::prefer_trace_id(
            problem.as_ref().ok().and_then(|p| p.trace_id.clone()),
            request_id,
        );
        match status.as_u16() {
            400 | 406 | 409 | 422 => match problem {
                Ok(problem) if !problem.is_empty() => {
                    Self::Rejected(Rejection::from_problem(status, problem, request_id))
                }
                Ok(_) => Self::malformed(status, "an empty problem", body, request_id),
                Err(reason) => Self::malformed(status, reason, body, request_id),
            },
            _ => Self::by_status(status, body, retry_after, request_id),
        }
    }

    /// The statuses both protocols read alike.
    fn by_status(
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
    use crate::rejection::ErrorKey;

    fn id() -> Option<RequestId> {
        Some(RequestId("req-1".into()))
    }

    #[test]
    fn entries_keep_order_codes_fields_and_unknowns() {
        let body = r#"{"amount":"مبلغ نامعتبر","15":"قبلا تایید شده","77":"جدید","x":3}"#;
        let Error::Rejected(r) = Error::from_failure(
            Protocol::V2,
            StatusCode::BAD_REQUEST,
            body.as_bytes(),
            None,
            id(),
        ) else {
            panic!("expected a rejection");
        };
        assert_eq!(r.code(), Some(PayPingCode::AlreadyVerified));
        let keys: Vec<_> = r.entries().iter().map(|e| e.key.clone()).collect();
        assert_eq!(
            keys,
            [
                ErrorKey::Field("amount".into()),
                ErrorKey::Code(PayPingCode::AlreadyVerified),
                ErrorKey::Code(PayPingCode::Other(77)),
                ErrorKey::Field("x".into()),
            ]
        );
        assert_eq!(r.entries()[3].message, "3");
        assert_eq!(r.message(), Some("مبلغ نامعتبر"));
        assert_eq!(r.request_id().map(RequestId::as_str), Some("req-1"));
    }

    #[test]
    fn statuses_map_to_variants() {
        let e = |s: u16, b: &str| {
            Error::from_failure(
                Protocol::V2,
                StatusCode::from_u16(s).unwrap(),
                b.as_bytes(),
                None,
                None,
            )
        };
        assert!(matches!(e(401, ""), Error::Unauthorized { .. }));
        assert!(matches!(e(403, ""), Error::Unauthorized { .. }));
        assert!(matches!(e(404, ""), Error::NotFound { .. }));
        assert!(matches!(e(500, ""), Error::Unavailable { .. }));
        assert!(matches!(e(502, "<html>"), Error::Unavailable { .. }));
        assert!(matches!(e(302, ""), Error::UnexpectedStatus { .. }));
        assert!(matches!(e(400, "<html>"), Error::MalformedResponse { .. }));
        assert!(matches!(e(400, "{}"), Error::MalformedResponse { .. }));
        assert!(matches!(e(400, "[1]"), Error::MalformedResponse { .. }));
        assert!(matches!(
            e(400, r#"{"1":"a"} x"#),
            Error::MalformedResponse { .. }
        ));
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

    #[test]
    fn retryable() {
        let e = |s: u16, b: &str| {
            Error::from_failure(
                Protocol::V2,
                StatusCode::from_u16(s).unwrap(),
                b.as_bytes(),
                None,
                None,
            )
        };
        assert!(e(503, "").is_retryable());
        assert!(e(400, r#"{"25":"x"}"#).is_retryable());
        assert!(!e(400, r#"{"47":"x"}"#).is_retryable());
        assert!(!e(401, "").is_retryable());
        assert!(e(429, "").is_retryable());
        assert!(
            !e(400, "<html>").is_retryable(),
            "a 4xx that cannot be read will not improve"
        );
        let cut = Error::malformed(StatusCode::OK, "EOF", b"{\"amo", None);
        assert!(
            cut.is_retryable(),
            "a 200 cut short may read whole next time"
        );
    }

    #[test]
    fn messages_are_bounded() {
        let body = format!(r#"{{"{}":"{}"}}"#, "k".repeat(2000), "م".repeat(2000));
        let Error::Rejected(r) = Error::from_failure(
            Protocol::V2,
            StatusCode::BAD_REQUEST,
            body.as_bytes(),
            None,
            None,
        ) else {
            panic!("expected a rejection");
        };
        assert!(r.entries()[0].message.len() <= 512);
        let many: String = (0..100)
            .map(|i| format!(r#""{i}":"m""#))
            .collect::<Vec<_>>()
            .join(",");
        let Error::Rejected(r) = Error::from_failure(
            Protocol::V2,
            StatusCode::BAD_REQUEST,
            format!("{{{many}}}").as_bytes(),
            None,
            None,
        ) else {
            panic!("expected a rejection");
        };
        assert_eq!(r.entries().len(), 16);
    }

    #[test]
    fn retry_after_is_kept_only_where_it_means_later() {
        let e = Error::from_failure(
            Protocol::V2,
            StatusCode::SERVICE_UNAVAILABLE,
            b"",
            Some(Duration::from_secs(3)),
            None,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = Error::from_failure(
            Protocol::V2,
            StatusCode::BAD_REQUEST,
            br#"{"25":"x"}"#,
            Some(Duration::from_secs(3)),
            None,
        );
        assert_eq!(
            e.retry_after(),
            None,
            "only statuses that mean 'later' carry it"
        );
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
