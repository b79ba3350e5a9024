//! What a call through the client can end in: a transport failure, the core's error (PayPing's
//! answer, or input refused before anything was sent), or a report that contradicts an
//! "already verified".

use std::fmt;
use std::io;

use ghesta_core::http::StatusCode;
use ghesta_core::{Failure, InvalidInput, PayPingCode, PaymentCode, RequestId};

/// The result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest detail kept from a transport's own error message.
const MAX_DETAIL_BYTES: usize = 512;

/// Why a request did not get a complete answer from PayPing.
///
/// Each variant is one thing a shop may handle differently; [`TransportError::failure`] says
/// how far the request got (the class the core's [`RetryPolicy`](ghesta_core::RetryPolicy)
/// decides by), and [`TransportError::is_retryable`] whether sending again can help. The `detail` strings come from the HTTP stack and
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
    /// The server closed the connection in the middle of the TLS handshake, before any
    /// request byte was sent (an overloaded server or proxy shedding connections). Nothing
    /// reached PayPing: sending again is safe, create included. If it persists, the port may
    /// not serve TLS.
    #[error("the TLS handshake with PayPing was cut short: {detail}")]
    TlsHandshakeCut {
        /// What the TLS stack saw.
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
    /// How far the request got, as the core's retry rules class it. Nothing reached PayPing
    /// ([`Failure::NotSent`]) after [`Connect`](Self::Connect) (refused, unreachable, name not
    /// resolved) and [`TlsHandshakeCut`](Self::TlsHandshakeCut). PayPing may have acted on the
    /// request ([`Failure::SentNoAnswer`]) after [`Timeout`](Self::Timeout),
    /// [`ConnectionLost`](Self::ConnectionLost) and [`Io`](Self::Io); a timeout while
    /// connecting counts here too, as the stacks do not always say which phase timed out. The
    /// next try would fail alike ([`Failure::RefusedForCause`]) after [`Tls`](Self::Tls) (a
    /// certificate refused), [`Protocol`](Self::Protocol) (not HTTP),
    /// [`BodyTooLarge`](Self::BodyTooLarge) and [`Other`](Self::Other).
    ///
    /// ```
    /// use ghesta_blocking::TransportError;
    /// use ghesta_core::Failure;
    ///
    /// assert!(matches!(TransportError::connect("refused").failure(), Failure::NotSent));
    /// assert!(matches!(TransportError::tls_handshake_cut("eof").failure(), Failure::NotSent));
    /// assert!(matches!(TransportError::timeout("global").failure(), Failure::SentNoAnswer));
    /// assert!(matches!(TransportError::tls("expired").failure(), Failure::RefusedForCause));
    /// ```
    pub fn failure(&self) -> Failure<'static> {
        match self {
            Self::Connect { .. } | Self::TlsHandshakeCut { .. } => Failure::NotSent,
            Self::Timeout { .. } | Self::ConnectionLost { .. } | Self::Io { .. } => {
                Failure::SentNoAnswer
            }
            Self::Tls { .. }
            | Self::Protocol { .. }
            | Self::BodyTooLarge { .. }
            | Self::Other { .. } => Failure::RefusedForCause,
        }
    }

    /// Whether sending the same request again can help: what never left, and what got no
    /// answer (timeouts, lost connections, other I/O errors). Whether it is also *safe*
    /// depends on the exchange: the client's [`RetryPolicy`](ghesta_core::RetryPolicy)
    /// decides that. TLS and protocol failures, an oversized answer and requests the stack
    /// refuses are not retried.
    ///
    /// ```
    /// use ghesta_blocking::TransportError;
    ///
    /// assert!(TransportError::timeout("connect").is_retryable());
    /// assert!(TransportError::connection_lost("reset by peer").is_retryable());
    /// assert!(TransportError::tls_handshake_cut("eof").is_retryable());
    /// assert!(!TransportError::tls("certificate expired").is_retryable());
    /// assert!(!TransportError::protocol("not HTTP").is_retryable());
    /// assert!(!TransportError::BodyTooLarge { limit: 65536 }.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(self.failure(), Failure::NotSent | Failure::SentNoAnswer)
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

    /// [`TransportError::TlsHandshakeCut`] with a bounded `detail`.
    pub fn tls_handshake_cut(detail: impl fmt::Display) -> Self {
        Self::TlsHandshakeCut {
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
/// - [`Error::Core`]: the core's error ([`ghesta_core::Error`]), the same whichever driver
///   sends: PayPing (or a proxy in front of it) answered with an error (a PayPing code, 401,
///   5xx, an unreadable body, an amount mismatch), or the call was refused before anything
///   was sent (invalid input, a callback that does not match its payment, a refund that
///   cannot succeed, a bug).
/// - [`Error::ReportContradicts`], the one verify-specific outcome: PayPing said "already
///   verified" but its report of the payment does not confirm it.
///
/// No variant holds the token; `Debug` and `Display` are safe to log.
///
/// ```
/// use ghesta_blocking::{Client, Error, RetryPolicy};
/// use ghesta_core::*;
///
/// let client = Client::builder(Config::new(Token::new("t")?))
///     .transport(|_: HttpRequest| http::Response::builder().status(503).body(Vec::new()))
///     .retry_policy(RetryPolicy::never())
///     .build();
/// match client.report(&PaymentCode::new("82a4f72")?) {
///     Err(Error::Core(ghesta_core::Error::Unavailable { .. })) => { /* try later */ }
///     Err(Error::Core(other)) => panic!("{other}"),
///     Err(other) => panic!("{other}"),
///     Ok(_) => unreachable!(),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No complete answer arrived.
    #[error(transparent)]
    Transport(#[from] TransportError),

    /// The core's error: PayPing answered with an error, or the call was refused before
    /// anything was sent (see [`ghesta_core::Error`] for every case).
    #[error(transparent)]
    Core(#[from] ghesta_core::Error),

    /// Verify answered "already verified" (code 15), but PayPing's report of the payment
    /// does not confirm it: not paid, or paid for another amount or order. Do not ship;
    /// contact PayPing support with the request id.
    #[error(
        "PayPing says payment {code} was already verified, but its report does not confirm it \
         (paid: {is_paid}, amount: {}, expected {expected_amount}); do not ship{}",
        reported_amount.map_or_else(|| "none".to_owned(), |a| a.to_string()),
        request_id.as_ref().map_or_else(String::new, |id| format!(" (PayPing request id {id})"))
    )]
    ReportContradicts {
        /// The payment code.
        code: PaymentCode,
        /// Whether the report says the payment is paid.
        is_paid: bool,
        /// The amount the report gives, in the wire unit.
        reported_amount: Option<u64>,
        /// The stored amount, in the wire unit.
        expected_amount: u64,
        /// The report answer's request id.
        request_id: Option<RequestId>,
    },
}

impl Error {
    /// Whether sending the same request again can help: a retryable transport failure, or
    /// a core error that [`ghesta_core::Error::is_retryable`] says is (5xx, PayPing's "try
    /// again" codes, an unreadable answer).
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
            Self::Core(e) => e.is_retryable(),
            Self::ReportContradicts { .. } => false,
        }
    }

    /// The `X-PayPingRequest-ID` of the answer this error came from: quote it to PayPing
    /// support. `None` when no answer arrived or PayPing sent none.
    ///
    /// The example also shows [`Error::status`], [`Error::code`], [`Error::as_core`] and
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
    /// assert!(err.as_core().is_some());
    /// assert!(err.as_transport().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::Core(e) => e.request_id(),
            Self::ReportContradicts { request_id, .. } => request_id.as_ref(),
            Self::Transport(_) => None,
        }
    }

    /// The HTTP status of PayPing's answer, when the error is one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Core(e) => e.status(),
            _ => None,
        }
    }

    /// How long PayPing's answer asked to wait before trying again (`Retry-After`, on a 5xx,
    /// 429 or v3's 202 "in progress"), if it said; the client's
    /// [`RetryPolicy`](crate::RetryPolicy) waits at least that long.
    ///
    /// ```
    /// use ghesta_blocking::{Error, TransportError};
    /// assert_eq!(Error::Transport(TransportError::timeout("global")).retry_after(), None);
    /// ```
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Core(e) => e.retry_after(),
            _ => None,
        }
    }

    /// The PayPing error code, when PayPing answered with one.
    pub fn code(&self) -> Option<PayPingCode> {
        match self {
            Self::Core(e) => e.code(),
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

    /// The core's error, when that is what this is.
    pub fn as_core(&self) -> Option<&ghesta_core::Error> {
        match self {
            Self::Core(e) => Some(e),
            _ => None,
        }
    }
}

/// Input refused before anything was sent: the core's [`ghesta_core::Error::Invalid`].
impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Self::Core(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(kind: io::ErrorKind) -> TransportError {
        TransportError::from(io::Error::from(kind))
    }

    #[test]
    fn io_kinds_are_classified() {
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
    fn transport_failures_are_classed_by_how_far_the_request_got() {
        let class = |e: TransportError| e.failure();
        for not_sent in [
            TransportError::connect("refused"),
            TransportError::tls_handshake_cut("eof"),
            k(io::ErrorKind::ConnectionRefused),
        ] {
            assert!(
                matches!(class(not_sent.clone()), Failure::NotSent),
                "{not_sent:?}"
            );
            assert!(not_sent.is_retryable());
        }
        for lost in [
            TransportError::timeout("global"),
            TransportError::connection_lost("reset"),
            k(io::ErrorKind::PermissionDenied),
        ] {
            assert!(
                matches!(class(lost.clone()), Failure::SentNoAnswer),
                "{lost:?}"
            );
            assert!(lost.is_retryable());
        }
        for refused in [
            TransportError::tls("bad certificate"),
            TransportError::protocol("not HTTP"),
            TransportError::BodyTooLarge { limit: 1 },
            TransportError::other("bad uri"),
        ] {
            assert!(
                matches!(class(refused.clone()), Failure::RefusedForCause),
                "{refused:?}"
            );
            assert!(!refused.is_retryable());
        }
    }

    #[test]
    fn input_refused_before_sending_is_the_cores_error() {
        let invalid = ghesta_core::Amount::from_toman(1).unwrap_err();
        let err = Error::from(invalid.clone());
        assert_eq!(err, Error::Core(invalid.into()));
        assert!(!err.is_retryable());
        assert!(err.status().is_none() && err.as_transport().is_none());
    }
}
