//! PayPing's refusal of a request: its error codes and field messages, as sent.

use std::fmt;

use http::StatusCode;

use crate::code::PayPingCode;
use crate::request_id::{IdSuffix, RequestId};

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
    pub(crate) fn new(
        status: StatusCode,
        entries: Vec<ErrorEntry>,
        request_id: Option<RequestId>,
    ) -> Self {
        Self {
            status,
            entries,
            request_id,
        }
    }

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
