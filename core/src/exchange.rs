//! The one shape every PayPing call has: build a request, parse its answer.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use serde::Serialize;

use crate::config::Config;
use crate::error::Error;
use crate::gateway::Protocol;
use crate::request_id::RequestId;
use crate::scrub::Scrubbed;
use crate::wire::json::{self, BodyError, Fields, names_error_code};

/// A request as the core builds it: an `http::Request` with a byte body.
pub type HttpRequest = http::Request<Vec<u8>>;
/// A response as a transport hands it back: an `http::Response` with a byte body.
pub type HttpResponse = http::Response<Vec<u8>>;

/// Which PayPing call an exchange is, whatever the protocol; a retry policy decides by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeKind {
    /// Creates a payment. Not idempotent: a retry may create a second one.
    Create,
    /// Verifies a payment: idempotent in effect (a second verify answers "already
    /// verified").
    Verify,
    /// Cancels a payment code the buyer should no longer use.
    Cancel,
    /// Reads what PayPing knows of a payment: read-only.
    Report,
    /// Refunds a verified payment (v3). Not idempotent: retried only when PayPing says the
    /// refund is still in progress.
    Refund,
}

/// One PayPing call, free of any transport.
///
/// [`Exchange::to_request`] gives the exact request to send; a transport sends it, reads
/// the answer, and hands it to [`Exchange::parse_response`]. Anything that can send an
/// `http::Request` can drive every exchange through this one trait.
///
/// ```
/// use ghesta_core::{Amount, ClientRefId, Config, CreatePayment, Exchange, Mobile, NewPayment,
///     ReturnUrl, Token};
/// use std::time::SystemTime;
///
/// let config = Config::new(Token::new("token")?);
/// let payment = NewPayment::new(
///     Amount::from_toman(250_000)?,
///     ReturnUrl::new("https://shop.example/callback")?,
///     ClientRefId::new("order-7")?,
///     Mobile::new("09123456789")?,
/// );
/// let exchange = CreatePayment::new(&config, payment, SystemTime::now());
///
/// // Any transport: here, a closure that answers as PayPing would.
/// let send = |request: http::Request<Vec<u8>>| {
///     assert_eq!(request.uri(), "https://api.payping.ir/v2/pay");
///     http::Response::builder().status(200).body(br#"{"code":"82a4f72"}"#.to_vec())
/// };
/// let pending = exchange.parse_response(send(exchange.to_request()?)?)?;
/// assert_eq!(pending.code().as_str(), "82a4f72");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The trait is sealed: only this crate's exchanges implement it, since only they can build
/// its errors. A driver stays generic over it (`fn execute<E: Exchange>(...)`), and a new
/// method can be added without a breaking release.
pub trait Exchange: sealed::Sealed {
    /// What a successful answer gives.
    type Output;

    /// Which call this is.
    fn kind(&self) -> ExchangeKind;

    /// The request to send: method, URL, headers and JSON body exactly as PayPing expects.
    ///
    /// It can be built any number of times (a retry sends the same bytes again).
    fn to_request(&self) -> Result<HttpRequest, Error>;

    /// Reads PayPing's answer. Never panics, whatever the status, headers or body.
    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<Self::Output, Error>;
}

/// The seal: a public trait in a private module, so no other crate can name it.
pub(crate) mod sealed {
    /// Implemented by this crate's exchanges only.
    #[allow(unreachable_pub)]
    pub trait Sealed {}

    impl Sealed for crate::CreatePayment {}
    impl Sealed for crate::VerifyPayment {}
    impl Sealed for crate::CancelPayment {}
    impl Sealed for crate::ReportPayment {}
    impl Sealed for crate::RefundPayment {}
}

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// A request to `config`'s API with PayPing's headers and, for POST, a JSON body.
pub(crate) fn api_request(
    config: &Config,
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<HttpRequest, Error> {
    let mut url = String::with_capacity(config.api_url().as_str().len() + path.len());
    url.push_str(config.api_url().as_str());
    url.push_str(path);
    let mut builder = http::Request::builder()
        .method(method)
        .uri(url)
        .header(ACCEPT, APPLICATION_JSON)
        .header(AUTHORIZATION, config.token().authorization().clone());
    let bytes = match body {
        Some(body) => {
            builder = builder.header(CONTENT_TYPE, APPLICATION_JSON);
            serde_json::to_vec(body).map_err(|e| internal(&e))?
        }
        None => Vec::new(),
    };
    builder.body(bytes).map_err(|e| internal(&e))
}

/// Building a request from validated values cannot fail; if it ever does, say so plainly
/// (a bug, not retryable) rather than panic in a payment path.
#[cold]
fn internal(e: &dyn std::fmt::Display) -> Error {
    Error::internal(e)
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

/// The parts of an answer every parser needs.
#[derive(Clone)]
pub(crate) struct Answer<'a> {
    pub(crate) protocol: Protocol,
    pub(crate) status: StatusCode,
    pub(crate) body: &'a [u8],
    pub(crate) request_id: Option<RequestId>,
    headers: &'a http::HeaderMap,
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
            request_id: RequestId::from_headers(response.headers()),
            headers: response.headers(),
        }
    }

    /// The typed error for a status other than a success, read as its protocol writes
    /// errors.
    pub(crate) fn failure(self) -> Error {
        let retry_after = retry_after(self.headers);
        Error::from_failure(
            self.protocol,
            self.status,
            self.body,
            retry_after,
            self.request_id,
        )
    }

    /// v3's "verification still in progress" (202, or 502): call verify again.
    pub(crate) fn in_progress(self) -> Error {
        let retry_after = retry_after(self.headers);
        let trace_id = crate::wire::v3::errors::read(self.body)
            .ok()
            .and_then(|p| p.trace_id);
        Error::VerifyInProgress {
            status: self.status,
            retry_after,
            request_id: RequestId::prefer_trace_id(trace_id, self.request_id),
        }
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
        Error::malformed(self.status, reason, self.body, self.request_id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_header_in_seconds() {
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
    }
}
