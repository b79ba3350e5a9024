//! PayPing's request id: the one thing its support asks for.

use std::fmt;

/// The header PayPing puts on every answer; PayPing support asks for it.
pub const REQUEST_ID_HEADER: &str = "X-PayPingRequest-ID";

/// Longest request id kept; a real one is a GUID.
const MAX_REQUEST_ID: usize = 128;

/// PayPing's id for one answer, to quote to PayPing support: the `X-PayPingRequest-ID`
/// header, or v3's `paypingTraceId` from an error body.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RequestId(pub(crate) String);

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

    /// v3's `paypingTraceId`, which PayPing support asks for, as a request id (the body's
    /// reader keeps only a usable one).
    pub(crate) fn from_trace_id(trace_id: Option<String>) -> Option<Self> {
        // Moved when already trimmed (as PayPing sends it): a copy per error answer saved.
        trace_id.map(|id| match id.trim() {
            trimmed if trimmed.len() == id.len() => Self(id),
            trimmed => Self(trimmed.to_owned()),
        })
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

/// Formats an optional request id as a suffix for error messages.
pub(crate) struct IdSuffix<'a>(pub(crate) &'a Option<RequestId>);

impl fmt::Display for IdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (PayPing request id {id})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_trace_id_is_trimmed() {
        let id =
            |trace: Option<&str>| RequestId::from_trace_id(trace.map(str::to_owned)).map(|id| id.0);
        assert_eq!(
            id(Some("0HN50ATIAS006:00000002")).as_deref(),
            Some("0HN50ATIAS006:00000002")
        );
        assert_eq!(id(Some("  0HN50:2 \t")).as_deref(), Some("0HN50:2"));
        assert_eq!(id(None), None);
    }
}
