//! The parts of PayPing's answer every reader needs, and the refusal a failure status is.

use std::time::Duration;

use http::StatusCode;

use crate::error::Error;
use crate::gateway::Protocol;
use crate::request_id::RequestId;
use crate::scrub::Scrubbed;
use crate::wire::json::{self, BodyError, Fields, names_error_code};

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

/// The parts of an answer every parser needs.
#[derive(Clone)]
pub(crate) struct Answer<'a> {
    pub(crate) protocol: Protocol,
    pub(crate) status: StatusCode,
    pub(crate) body: &'a [u8],
    headers: &'a http::HeaderMap,
    /// v3's `paypingTraceId`, once a body gave one: it is the id PayPing support asks for.
    trace_id: Option<RequestId>,
}

impl<'a> Answer<'a> {
    /// The parts of `response`, which must have been scrubbed of the token first: so no
    /// error built from an answer can hold it, whatever the driver.
    pub(crate) fn of<B: AsRef<[u8]>>(
        response: &'a http::Response<Scrubbed<B>>,
        protocol: Protocol,
    ) -> Self {
        Self {
            protocol,
            status: response.status(),
            body: response.body().as_ref(),
            headers: response.headers(),
            trace_id: None,
        }
    }

    /// The answer's request id: v3's trace id once the body gave one, else the
    /// `X-PayPingRequest-ID` header. The header is read when asked, not before: an answer
    /// whose trace id replaces it never copies it.
    pub(crate) fn request_id(&self) -> Option<RequestId> {
        self.trace_id
            .clone()
            .or_else(|| RequestId::from_headers(self.headers))
    }

    /// The request id, the answer read.
    pub(crate) fn into_request_id(self) -> Option<RequestId> {
        self.trace_id
            .or_else(|| RequestId::from_headers(self.headers))
    }

    /// The same answer, whose request id is `trace_id` when it is a usable one.
    pub(crate) fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        if let Some(id) = RequestId::from_trace_id(trace_id) {
            self.trace_id = Some(id);
        }
        self
    }

    /// How long the answer asked to wait (`Retry-After` in seconds), if it said.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        retry_after(self.headers)
    }

    /// The error for a status both protocols read alike (401, 403, 404, 5xx, the rest).
    pub(crate) fn by_status(self) -> Error {
        let retry_after = self.retry_after();
        let (status, body) = (self.status, self.body);
        Error::by_status(status, body, retry_after, self.into_request_id())
    }

    /// Reads a success body's fields in one pass, refusing one that also names an error
    /// code (see [`json`]).
    pub(crate) fn fields<F: Fields>(&self) -> Result<F, Error> {
        if self.body.is_empty() {
            return Err(self.malformed("the body is empty"));
        }
        json::read(self.body).map_err(|e: BodyError| self.malformed(e))
    }

    /// A success whose body also names PayPing error codes (`{"15": ...}`) says two things
    /// at once, so it is read as neither. No documented success body has a numeric key.
    pub(crate) fn refuse_error_codes(&self) -> Result<(), Error> {
        if names_error_code(self.body) {
            return Err(self.malformed("a success status with PayPing error codes in the body"));
        }
        Ok(())
    }

    pub(crate) fn malformed(&self, reason: impl std::fmt::Display) -> Error {
        Error::malformed(self.status, reason, self.body, self.request_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trace_id_is_preferred_to_the_header() {
        let response = http::Response::builder()
            .header("x-paypingrequest-id", "header-id")
            .body(Scrubbed::Clean(&b""[..]))
            .expect("a response");
        let answer = || Answer::of(&response, Protocol::V3);
        let id = |answer: Answer<'_>| answer.into_request_id().map(|id| id.0);
        assert_eq!(id(answer()).as_deref(), Some("header-id"));
        assert_eq!(
            id(answer().with_trace_id(None)).as_deref(),
            Some("header-id")
        );
        let traced = answer().with_trace_id(Some("0HN50:2".to_owned()));
        assert_eq!(
            traced.request_id().map(|id| id.0).as_deref(),
            Some("0HN50:2")
        );
        assert_eq!(id(traced).as_deref(), Some("0HN50:2"));
        let bare = http::Response::new(Scrubbed::Clean(&b""[..]));
        assert_eq!(Answer::of(&bare, Protocol::V3).into_request_id(), None);
    }

    #[test]
    fn retry_after_header_in_seconds() {
        let mut h = http::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", http::HeaderValue::from_static(" 120 "));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        // Up to a day is taken at its word; anything longer is read as a day.
        let day = Duration::from_secs(86_400);
        for (asked, read) in [("86400", day), ("86401", day), ("99999999999", day)] {
            h.insert("retry-after", http::HeaderValue::from_static(asked));
            assert_eq!(retry_after(&h), Some(read), "{asked}");
        }
        for ignored in ["Wed, 21 Oct 2015 07:28:00 GMT", "-5", "1.5", ""] {
            h.insert("retry-after", http::HeaderValue::from_static(ignored));
            assert_eq!(retry_after(&h), None, "{ignored}");
        }
    }
}
