//! PayPing's refusal of a request: its error codes and field messages, as sent.

use std::fmt;

use http::StatusCode;

use crate::code::PayPingCode;
use crate::request_id::{IdSuffix, RequestId};

/// What one entry of PayPing's error answer is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKey {
    /// A payment error code: v2's `{"15": "..."}`, or v3's `metaData.code` beside one of
    /// its `errors[].message`.
    Code(PayPingCode),
    /// A field that failed PayPing's model validation, such as v2's `{"amount": "..."}`.
    Field(String),
    /// v3 problem details without a code: the entry is its `detail` (or `title`).
    Problem,
}

impl fmt::Display for ErrorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(code) => write!(f, "code {code}"),
            Self::Field(field) => write!(f, "field {field:?}"),
            Self::Problem => f.write_str("problem"),
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

/// PayPing refused the request: v2's 400 (a JSON object of codes or field names to
/// messages), or v3's problem details (`metaData.code` and `errors[].message`, or a `title`
/// and `detail`), under 400, 406, 409 or 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: StatusCode,
    entries: Vec<ErrorEntry>,
    request_id: Option<RequestId>,
    title: Option<String>,
}

impl Rejection {
    pub(crate) fn new(
        status: StatusCode,
        entries: Vec<ErrorEntry>,
        request_id: Option<RequestId>,
    ) -> Self {
        Self {
            status,
            entries,
            request_id,
            title: None,
        }
    }

    /// The same refusal with v3's problem `title`.
    pub(crate) fn with_title(self, title: Option<String>) -> Self {
        Self { title, ..self }
    }

    /// v3's problem `title` (such as `ValidationException`), when the answer had one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The first payment error code in the body, if any (the one to act on).
    pub fn code(&self) -> Option<PayPingCode> {
        self.entries.iter().find_map(|e| match e.key {
            ErrorKey::Code(code) => Some(code),
            ErrorKey::Field(_) | ErrorKey::Problem => None,
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
