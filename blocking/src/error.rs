//! What a call through the client can end in: a transport failure, PayPing's answer, input
//! refused before anything was sent, or a report that contradicts an "already verified".

use std::fmt;
use std::io;

use ghesta_core::http::StatusCode;
use ghesta_core::{InvalidInput, PayPingCode, RequestId};

/// The result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest detail kept from a transport's own error message.
const MAX_DETAIL_BYTES: usize = 512;

/// Why a request did not get a complete answer from PayPing.
///
/// Each variant is one thing a shop may handle differently; [`TransportError::is_retryable`]
/// says whether sending again can help. The `detail` strings come from the HTTP stack and
/// are bounded; they never hold the token (it only travels in a header the stacks do not
/// echo in their errors).
///
/// A [`Transport`](crate::Transport) returns it; `From` conversions exist for
/// [`std::io::Error`] (classified by its kind), `http::Error` and `ureq::Error`, so a
/// closure transport can use `?` on any of them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A timeout expired: connecting, or the whole call. PayPing may have acted on the
    /// request anyway (a verify may have succeeded): retry verify, never blindly create.
    #[error("the request to PayPing timed out ({detail})")]
    Timeout {
        /// Which timeout, as the HTTP stack said.
        detail: String,
    },
    /// No connection could be made: refused, unreachable, name not resolved. Nothing was
    /// sent.
    #[error("could not connect to PayPing: {detail}")]
    Connect {
        /// The HTTP stack's reason.
        detail: String,
    },
    /// The connection was reset or closed before the whole answer arrived. The request may
    /// have been processed.
    #[error("the connection to PayPing was closed before the answer was complete: {detail}")]
    ConnectionLost {
        /// The HTTP stack's reason.
        detail: String,
    },
    /// The TLS handshake or certificate check failed. Retrying will not help: check the
    /// system clock, a proxy that intercepts TLS, or the API URL.
    #[error("TLS with PayPing failed: {detail}")]
    Tls {
        /// The TLS library's reason.
        detail: String,
    },
    /// The answer's body is larger than the configured cap; it was not read further.
    #[error("PayPing's answer is larger than the {limit} byte cap; it was not read")]
    BodyTooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The answer is not valid HTTP/1.1 (a broken proxy, or not an HTTP server).
    #[error("PayPing's answer is not valid HTTP: {detail}")]
    Protocol {
        /// The HTTP stack's reason.
        detail: String,
    },
    /// Another I/O error on the connection.
    #[error("I/O error talking to PayPing: {detail}")]
    Io {
        /// The I/O error.
        detail: String,
    },
    /// The request could not be sent for a reason that retrying will not fix (a bad URL, a
    /// setting the HTTP stack refuses).
    #[error("the request could not be sent: {detail}")]
    Other {
        /// The HTTP stack's reason.
        detail: String,
    },
}

impl TransportError {
    /// Whether sending the same request again can help: timeouts, failed or lost
    /// connections, broken HTTP and other I/O errors. TLS failures, an oversized answer and
    /// requests the stack refuses are not retried.
    ///
    /// ```
    /// use ghesta_blocking::TransportError;
    ///
    /// assert!(TransportError::timeout("connect").is_retryable());
    /// assert!(TransportError::connection_lost("reset by peer").is_retryable());
    /// assert!(!TransportError::tls("certificate expired").is_retryable());
    /// assert!(!TransportError::BodyTooLarge { limit: 65536 }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Timeout { .. }
            | Self::Connect { .. }
            | Self::ConnectionLost { .. }
            | Self::Protocol { .. }
            | Self::Io { .. } => true,
            Self::Tls { .. } | Self::BodyTooLarge { .. } | Self::Other { .. } => false,
        }
    }

    /// [`TransportError::Timeout`] with a bounded `detail`. Every constructor below keeps
    /// at most 512 bytes of its detail.
    ///
    /// ```
    /// use ghesta_blocking::TransportError;
    ///
    /// let e = TransportError::timeout("x".repeat(10_000));
    /// assert!(matches!(&e, TransportError::Timeout { detail } if detail.len() == 512));
    /// let e = TransportError::connect("connection refused");
    /// assert_eq!(e.to_string(), "could not connect to PayPing: connection refused");
    /// ```
    pub fn timeout(detail: impl fmt::Display) -> Self {
        Self::Timeout {
            detail: bounded(detail),
        }
    }

    /// [`TransportError::Connect`] with a bounded `detail`.
    pub fn connect(detail: impl fmt::Display) -> Self {
        Self::Connect {
            detail: bounded(detail),
        }
    }

    /// [`TransportError::ConnectionLost`] with a bounded `detail`.
    pub fn connection_lost(detail: impl fmt::Display) -> Self {
        Self::ConnectionLost {
            detail: bounded(detail),
        }
    }

    /// [`TransportError::Tls`] with a bounded `detail`.
    pub fn tls(detail: impl fmt::Display) -> Self {
        Self::Tls {
            detail: bounded(detail),
        }
    }

    /// [`TransportError::Protocol`] with a bounded `detail`.
    pub fn protocol(detail: impl fmt::Display) -> Self {
        Self::Protocol {
            detail: bounded(detail),
        }
    }

    /// [`TransportError::Other`] with a bounded `detail`.
    pub fn other(detail: impl fmt::Display) -> Self {
        Self::Other {
            detail: bounded(detail),
        }
    }
}

/// Classifies an I/O error by its kind, so a closure transport over any stack gets the
/// same retry decisions as the ureq one.
impl From<io::Error> for TransportError {
    fn from(e: io::Error) -> Self {
        use io::ErrorKind as K;
        match e.kind() {
            K::TimedOut | K::WouldBlock => Self::timeout(&e),
            K::ConnectionRefused
            | K::NotFound
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NotConnected => Self::connect(&e),
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                Self::connection_lost(&e)
            }
            K::InvalidData => Self::protocol(&e),
            _ => Self::Io {
                detail: bounded(&e),
            },
        }
    }
}

/// A request or response the `http` crate refused to build: not retryable.
impl From<ghesta_core::http::Error> for TransportError {
    fn from(e: ghesta_core::http::Error) -> Self {
        Self::other(e)
    }
}

impl From<std::convert::Infallible> for TransportError {
    fn from(e: std::convert::Infallible) -> Self {
        match e {}
    }
}

/// A PEM given to [`HttpSettings::with_root_certificates_pem`](crate::HttpSettings::with_root_certificates_pem)
/// holds no certificate to trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the root certificate PEM cannot be used: {reason}; give one or more \
     -----BEGIN CERTIFICATE----- blocks"
)]
pub struct InvalidCertificate {
    reason: String,
}

impl InvalidCertificate {
    #[cfg_attr(not(any(feature = "rustls", feature = "native-tls")), allow(dead_code))]
    pub(crate) fn new(reason: impl fmt::Display) -> Self {
        Self {
            reason: bounded(reason),
        }
    }
}

/// Keeps at most [`MAX_DETAIL_BYTES`] of a message, on a character boundary.
pub(crate) fn bounded(detail: impl fmt::Display) -> String {
    let mut s = detail.to_string();
    if s.len() > MAX_DETAIL_BYTES {
        let mut end = MAX_DETAIL_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The error of a client call.
///
/// Three kinds of failure stay apart, because a shop acts differently on each:
///
/// - [`Error::Transport`]: no complete answer arrived (timeout, connection, TLS, size cap).
///   For verify the payment may have been verified anyway; the client retries verify by
///   default, and a later verify answers "already verified".
/// - [`Error::PayPing`]: PayPing (or a proxy in front of it) answered, and the answer is
///   an error: a PayPing code, 401, 5xx, an unreadable body, an amount mismatch.
/// - [`Error::Invalid`] and [`Error::CallbackMismatch`]: refused before anything was sent.
/// - [`Error::Internal`]: a bug in the SDK; nothing was sent.
///
/// No variant holds the token; `Debug` and `Display` are safe to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No complete answer arrived.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// PayPing answered with an error (see [`ghesta_core::Error`] for every case).
    #[error(transparent)]
    PayPing(ghesta_core::Error),

    /// A value given to the SDK failed validation; nothing was sent. Fix it, do not retry.
    #[error(transparent)]
    Invalid(InvalidInput),

    /// The callback does not belong to the pending payment (its code or clientRefId
    /// differs); nothing was sent. Treat it as forged or misrouted: do not ship.
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

    /// A refund that cannot succeed (a v2 payment, one not created reversible, or past the
    /// 30-minute window) was refused; nothing was sent.
    #[error("the payment cannot be refunded: {0}; nothing was sent")]
    RefundRefused(ghesta_core::RefundRefusal),

    /// The SDK could not build the request from values it had already checked: a bug in the
    /// SDK, not an answer from PayPing. Nothing was sent and it is never retried; please
    /// report it with the reason.
    #[error(
        "the SDK could not build the request ({reason}); nothing was sent. This is a bug in \
         ghesta-core: please report it"
    )]
    Internal {
        /// What failed, bounded.
        reason: String,
    },
}

impl Error {
    /// Whether sending the same request again can help: a retryable transport failure, or
    /// a PayPing answer that [`ghesta_core::Error::is_retryable`] says is (5xx, codes 11, 25,
    /// 29, 49, an unreadable answer).
    ///
    /// ```
    /// use ghesta_blocking::{Error, TransportError};
    ///
    /// assert!(Error::Transport(TransportError::timeout("global")).is_retryable());
    /// let invalid = ghesta_core::Amount::from_toman(1).unwrap_err(); // under 100 Toman
    /// assert!(!Error::from(invalid).is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => e.is_retryable(),
            Self::PayPing(e) => e.is_retryable(),
            Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::Internal { .. }
            | Self::RefundRefused(_) => false,
        }
    }

    /// The `X-PayPingRequest-ID` of the answer this error came from: quote it to PayPing
    /// support. `None` when no answer arrived or PayPing sent none.
    ///
    /// The example also shows [`Error::status`], [`Error::code`], [`Error::as_payping`] and
    /// [`Error::as_transport`] on a PayPing answer.
    ///
    /// ```
    /// use ghesta_blocking::{Client, RetryPolicy};
    /// use ghesta_core::*;
    ///
    /// let client = Client::builder(Config::new(Token::new("t")?))
    ///     .transport(|_: HttpRequest| {
    ///         http::Response::builder()
    ///             .status(400)
    ///             .header("X-PayPingRequest-ID", "req-7")
    ///             .body(r#"{"26":"کد پرداخت یافت نشد"}"#.as_bytes().to_vec())
    ///     })
    ///     .build();
    /// let err = client.report(&PaymentCode::new("nope")?).unwrap_err();
    /// assert_eq!(err.request_id().map(|id| id.as_str()), Some("req-7"));
    /// assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
    /// assert_eq!(err.code(), Some(PayPingCode::PaymentCodeNotFound));
    /// assert!(err.as_payping().is_some());
    /// assert!(err.as_transport().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::PayPing(e) => e.request_id(),
            Self::Transport(_)
            | Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::RefundRefused(_)
            | Self::Internal { .. } => None,
        }
    }

    /// The HTTP status of PayPing's answer, when the error is one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::PayPing(e) => e.status(),
            _ => None,
        }
    }

    /// How long PayPing's answer asked to wait before trying again (`Retry-After`, on a 5xx
    /// or 429), if it said; [`RetryPolicy`](crate::RetryPolicy) waits at least that long.
    ///
    /// ```
    /// use ghesta_blocking::{Error, TransportError};
    /// assert_eq!(Error::Transport(TransportError::timeout("global")).retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::PayPing(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The PayPing error code, when PayPing answered with one.
    pub fn code(&self) -> Option<PayPingCode> {
        match self {
            Self::PayPing(e) => e.code(),
            _ => None,
        }
    }

    /// The transport failure, when that is what this is.
    ///
    /// ```
    /// use ghesta_blocking::{Error, TransportError};
    ///
    /// let err = Error::from(TransportError::BodyTooLarge { limit: 65536 });
    /// assert!(matches!(err.as_transport(), Some(TransportError::BodyTooLarge { .. })));
    /// assert!(err.request_id().is_none() && err.status().is_none() && err.code().is_none());
    /// ```
    pub fn as_transport(&self) -> Option<&TransportError> {
        match self {
            Self::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// The same failure as the core names it, for the core's [`Settlement`]: a transport
    /// failure becomes [`ghesta_core::Error::NoAnswer`] with its description.
    ///
    /// [`Settlement`]: ghesta_core::Settlement
    ///
    /// ```
    /// use ghesta_blocking::{Error, TransportError};
    /// let core = Error::Transport(TransportError::timeout("global")).into_core();
    /// assert!(matches!(core, ghesta_core::Error::NoAnswer { .. }));
    /// assert!(core.is_retryable());
    /// ```
    pub fn into_core(self) -> ghesta_core::Error {
        match self {
            Self::Transport(e) => ghesta_core::Error::no_answer(e),
            Self::PayPing(e) => e,
            Self::Invalid(e) => ghesta_core::Error::Invalid(e),
            Self::CallbackMismatch {
                field,
                expected,
                received,
            } => ghesta_core::Error::CallbackMismatch {
                field,
                expected,
                received,
            },
            Self::RefundRefused(why) => ghesta_core::Error::RefundRefused(why),
            Self::Internal { reason } => ghesta_core::Error::Internal { reason },
        }
    }

    /// PayPing's error answer, when that is what this is.
    pub fn as_payping(&self) -> Option<&ghesta_core::Error> {
        match self {
            Self::PayPing(e) => Some(e),
            _ => None,
        }
    }
}

/// Sorts the core's errors: input refused before sending apart from PayPing's answers.
impl From<ghesta_core::Error> for Error {
    fn from(e: ghesta_core::Error) -> Self {
        match e {
            ghesta_core::Error::Invalid(invalid) => Self::Invalid(invalid),
            ghesta_core::Error::CallbackMismatch {
                field,
                expected,
                received,
            } => Self::CallbackMismatch {
                field,
                expected,
                received,
            },
            ghesta_core::Error::Internal { reason } => Self::Internal { reason },
            ghesta_core::Error::RefundRefused(why) => Self::RefundRefused(why),
            answer => Self::PayPing(answer),
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Self::Invalid(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_kinds_are_classified() {
        let k = |kind: io::ErrorKind| TransportError::from(io::Error::from(kind));
        assert!(matches!(
            k(io::ErrorKind::TimedOut),
            TransportError::Timeout { .. }
        ));
        assert!(matches!(
            k(io::ErrorKind::ConnectionRefused),
            TransportError::Connect { .. }
        ));
        assert!(matches!(
            k(io::ErrorKind::ConnectionReset),
            TransportError::ConnectionLost { .. }
        ));
        assert!(matches!(
            k(io::ErrorKind::UnexpectedEof),
            TransportError::ConnectionLost { .. }
        ));
        assert!(matches!(
            k(io::ErrorKind::PermissionDenied),
            TransportError::Io { .. }
        ));
        assert!(k(io::ErrorKind::ConnectionReset).is_retryable());
        assert!(!TransportError::tls("bad certificate").is_retryable());
        assert!(!TransportError::BodyTooLarge { limit: 1 }.is_retryable());
    }

    #[test]
    fn details_are_bounded() {
        let e = TransportError::other("é".repeat(1000));
        let TransportError::Other { detail } = e else {
            unreachable!()
        };
        assert!(detail.len() <= MAX_DETAIL_BYTES);
    }

    #[test]
    fn core_errors_are_sorted() {
        let invalid = ghesta_core::Amount::from_toman(1).unwrap_err();
        assert!(matches!(
            Error::from(ghesta_core::Error::Invalid(invalid)),
            Error::Invalid(_)
        ));
        let mismatch = ghesta_core::Error::CallbackMismatch {
            field: "code",
            expected: "a".into(),
            received: "b".into(),
        };
        assert!(matches!(
            Error::from(mismatch),
            Error::CallbackMismatch { field: "code", .. }
        ));
        // A bug in the core is neither PayPing's answer nor worth a retry.
        let bug = Error::from(ghesta_core::Error::Internal { reason: "x".into() });
        assert!(matches!(&bug, Error::Internal { reason } if reason == "x"));
        assert!(!bug.is_retryable());
        assert!(bug.status().is_none() && bug.as_payping().is_none());
    }
}
