//! What can go wrong in an exchange, and whether retrying can help.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::amount::Amount;
use crate::code::PayPingCode;
use crate::invalid::InvalidInput;

/// The header PayPing puts on every answer; PayPing support asks for it.
pub const REQUEST_ID_HEADER: &str = "X-PayPingRequest-ID";

/// Longest request id kept; a real one is a GUID.
const MAX_REQUEST_ID: usize = 128;
/// How much of an unparseable body an error keeps.
pub(crate) const SNIPPET_BYTES: usize = 256;
/// How many entries of a 400 body are kept, and how long each message may be.
const MAX_ENTRIES: usize = 16;
const MAX_MESSAGE_BYTES: usize = 512;

/// PayPing's `X-PayPingRequest-ID` for one answer: quote it to PayPing support.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// Reads the id from a response's headers, if present and printable.
    pub fn from_headers(headers: &http::HeaderMap) -> Option<Self> {
        // HeaderMap lookups by &str are case-insensitive.
        let value = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?.trim();
        if value.is_empty() || value.len() > MAX_REQUEST_ID {
            return None;
        }
        Some(Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestId").field(&self.0).finish()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest `Retry-After` taken at its word; a larger one is read as "a day".
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Reads a `Retry-After` header in its delta-seconds form (`Retry-After: 120`).
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

/// Formats an optional request id as a suffix for error messages.
struct IdSuffix<'a>(&'a Option<RequestId>);

impl fmt::Display for IdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (PayPing request id {id})"),
            None => Ok(()),
        }
    }
}

/// The start of a body that could not be parsed, bounded and safe to log.
#[derive(Clone, PartialEq, Eq)]
pub struct BodySnippet {
    text: String,
    total_len: usize,
}

impl BodySnippet {
    /// Keeps at most 256 bytes of `body` (on a character boundary), invalid UTF-8 replaced,
    /// control characters (newlines too, which could forge log lines) shown as spaces.
    pub fn of(body: &[u8]) -> Self {
        let head = &body[..body.len().min(SNIPPET_BYTES)];
        let text = String::from_utf8_lossy(head)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Self {
            text,
            total_len: body.len(),
        }
    }

    /// The kept text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The whole body's length in bytes.
    pub fn total_len(&self) -> usize {
        self.total_len
    }
}

impl fmt::Debug for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodySnippet({:?}, {} bytes)", self.text, self.total_len)
    }
}

impl fmt::Display for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_len == 0 {
            return f.write_str("an empty body");
        }
        write!(f, "{:?}", self.text)?;
        if self.total_len > SNIPPET_BYTES {
            write!(f, "... ({} bytes in all)", self.total_len)?;
        }
        Ok(())
    }
}

/// What one entry of PayPing's 400 body is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorKey {
    /// A payment error code, such as `{"15": "..."}`.
    Code(PayPingCode),
    /// A field that failed PayPing's model validation, such as `{"amount": "..."}`.
    Field(String),
}

impl fmt::Display for ErrorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "code {code}"),
            Self::Field(field) => write!(f, "field {field:?}"),
        }
    }
}

/// One entry of PayPing's 400 body: a key and PayPing's message (usually Persian), as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEntry {
    /// What the entry is keyed by.
    pub key: ErrorKey,
    /// PayPing's message, as received (bounded to 512 bytes).
    pub message: String,
}

/// PayPing refused the request (status 400, a JSON object of codes or field names to
/// messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: StatusCode,
    entries: Vec<ErrorEntry>,
    request_id: Option<RequestId>,
}

impl Rejection {
    /// The first payment error code in the body, if any (the one to act on).
    pub fn code(&self) -> Option<PayPingCode> {
        self.entries.iter().find_map(|e| match e.key {
            ErrorKey::Code(code) => Some(code),
            ErrorKey::Field(_) => None,
        })
    }

    /// Every entry, in the order PayPing sent them.
    pub fn entries(&self) -> &[ErrorEntry] {
        &self.entries
    }

    /// PayPing's message for the first entry.
    pub fn message(&self) -> Option<&str> {
        self.entries.first().map(|e| e.message.as_str())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The request id of the answer.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PayPing refused the request with status {}",
            self.status.as_u16()
        )?;
        for (i, entry) in self.entries.iter().enumerate() {
            let sep = if i == 0 { ": " } else { "; " };
            write!(f, "{sep}{} {:?}", entry.key, entry.message)?;
        }
        write!(f, "{}", IdSuffix(&self.request_id))
    }
}

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
            Self::Unavailable { .. } => true,
            Self::MalformedResponse { status, .. } => {
                status.is_success() || status.is_server_error()
            }
            Self::UnexpectedStatus { status, .. } => {
                *status == StatusCode::TOO_MANY_REQUESTS || *status == StatusCode::REQUEST_TIMEOUT
            }
            Self::Rejected(rejection) => rejection.code().is_some_and(PayPingCode::is_retryable),
            Self::Invalid(_)
            | Self::CallbackMismatch { .. }
            | Self::Unauthorized { .. }
            | Self::NotFound { .. }
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
            | Self::AmountMismatch { request_id, .. } => request_id.as_ref(),
            Self::Invalid(_) | Self::CallbackMismatch { .. } => None,
        }
    }

    /// The HTTP status of the answer this error came from, if any.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Rejected(r) => Some(r.status()),
            Self::Unauthorized { status, .. }
            | Self::Unavailable { status, .. }
            | Self::UnexpectedStatus { status, .. }
            | Self::MalformedResponse { status, .. } => Some(*status),
            Self::NotFound { .. } => Some(StatusCode::NOT_FOUND),
            Self::AmountMismatch { .. } => Some(StatusCode::OK),
            Self::Invalid(_) | Self::CallbackMismatch { .. } => None,
        }
    }

    /// How long the answer asked the client to wait before trying again: its `Retry-After`
    /// header, in the delta-seconds form (the date form needs a clock the core does not
    /// read, and is ignored), on a 5xx or other unexpected status.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } | Self::UnexpectedStatus { retry_after, .. } => {
                *retry_after
            }
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
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<RequestId>,
    ) -> Self {
        match status.as_u16() {
            400 => match parse_entries(body) {
                Ok(entries) if !entries.is_empty() => Self::Rejected(Rejection {
                    status,
                    entries,
                    request_id,
                }),
                Ok(_) => Self::malformed(status, "an empty error object", body, request_id),
                Err(reason) => Self::malformed(status, reason, body, request_id),
            },
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

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Reads PayPing's 400 body: a JSON object of code or field name to message, in order.
pub(crate) fn parse_entries(body: &[u8]) -> Result<Vec<ErrorEntry>, String> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};

    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<ErrorEntry>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of codes or field names to messages")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            // Every key seen, in ASCII lower case: a key twice, or twice in different case
            // (`amount` and `Amount`), says two things about one field and is read as
            // neither. Bounded by the body, which the transport caps.
            let mut seen = std::collections::HashSet::new();
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                if !seen.insert(key.to_ascii_lowercase()) {
                    return Err(serde::de::Error::custom(format_args!(
                        "the key {key:?} appears twice (keys that differ only in case count as \
                         the same key)"
                    )));
                }
                if entries.len() == MAX_ENTRIES {
                    continue; // read the rest so the JSON is still checked, keep none of it
                }
                let mut message = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                truncate(&mut message, MAX_MESSAGE_BYTES);
                let key = match code_in_key(&key) {
                    Some(n) => ErrorKey::Code(PayPingCode::from_number(n)),
                    None => {
                        let mut field = key;
                        truncate(&mut field, MAX_MESSAGE_BYTES);
                        ErrorKey::Field(field)
                    }
                };
                entries.push(ErrorEntry { key, message });
            }
            Ok(entries)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    let entries = (&mut de)
        .deserialize_map(Entries)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(entries)
}

/// The PayPing code a key of an error object names: only a canonical decimal
/// (`[1-9][0-9]*`, no sign, spaces or leading zeros) names one. `"015"` is a field name, not
/// code 15 ("already verified"): a loose reading could turn a proxy's odd key into a reason
/// to ship.
pub(crate) fn code_in_key(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    let canonical =
        matches!(bytes.first(), Some(b'1'..=b'9')) && bytes.iter().all(u8::is_ascii_digit);
    if !canonical {
        return None;
    }
    key.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Option<RequestId> {
        Some(RequestId("req-1".into()))
    }

    #[test]
    fn entries_keep_order_codes_fields_and_unknowns() {
        let body = r#"{"amount":"مبلغ نامعتبر","15":"قبلا تایید شده","77":"جدید","x":3}"#;
        let Error::Rejected(r) =
            Error::from_failure(StatusCode::BAD_REQUEST, body.as_bytes(), None, id())
        else {
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
            Error::from_failure(StatusCode::from_u16(s).unwrap(), b.as_bytes(), None, None)
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
    fn retryable() {
        let e = |s: u16, b: &str| {
            Error::from_failure(StatusCode::from_u16(s).unwrap(), b.as_bytes(), None, None)
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
    fn snippet_is_bounded_and_log_safe() {
        let body = format!("<html>\r\nX-Forged: yes\n{}", "é".repeat(500));
        let s = BodySnippet::of(body.as_bytes());
        assert!(s.as_str().len() <= SNIPPET_BYTES);
        assert!(!s.as_str().contains('\n'));
        assert_eq!(s.total_len(), body.len());
        assert!(s.to_string().contains("bytes in all"));
        assert_eq!(BodySnippet::of(b"").to_string(), "an empty body");
        assert!(BodySnippet::of(&[0xff, 0xfe]).as_str().contains('\u{fffd}'));
    }

    #[test]
    fn messages_are_bounded() {
        let body = format!(r#"{{"{}":"{}"}}"#, "k".repeat(2000), "م".repeat(2000));
        let Error::Rejected(r) =
            Error::from_failure(StatusCode::BAD_REQUEST, body.as_bytes(), None, None)
        else {
            panic!("expected a rejection");
        };
        assert!(r.entries()[0].message.len() <= MAX_MESSAGE_BYTES);
        let many: String = (0..100)
            .map(|i| format!(r#""{i}":"m""#))
            .collect::<Vec<_>>()
            .join(",");
        let Error::Rejected(r) = Error::from_failure(
            StatusCode::BAD_REQUEST,
            format!("{{{many}}}").as_bytes(),
            None,
            None,
        ) else {
            panic!("expected a rejection");
        };
        assert_eq!(r.entries().len(), MAX_ENTRIES);
    }

    #[test]
    fn retry_after_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", http::HeaderValue::from_static(" 120 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        h.insert("retry-after", http::HeaderValue::from_static("99999999999"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        for ignored in ["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1.5", ""] {
            h.insert("retry-after", http::HeaderValue::from_static(ignored));
            assert_eq!(retry_after(&h), None, "{ignored}");
        }
        let e = Error::from_failure(
            StatusCode::SERVICE_UNAVAILABLE,
            b"",
            Some(Duration::from_secs(3)),
            None,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = Error::from_failure(
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

    #[test]
    fn request_id_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(RequestId::from_headers(&h), None);
        h.insert(
            "X-PayPingRequest-ID",
            http::HeaderValue::from_static("abc-123"),
        );
        assert_eq!(RequestId::from_headers(&h).unwrap().as_str(), "abc-123");
        h.insert(
            "X-PayPingRequest-ID",
            http::HeaderValue::from_str(&"a".repeat(500)).unwrap(),
        );
        assert_eq!(RequestId::from_headers(&h), None);
    }
}
