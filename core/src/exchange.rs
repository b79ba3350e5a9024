//! The one shape every PayPing call has: build a request, parse its answer.

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::Serialize;

use crate::config::Config;
use crate::error::Error;
use crate::gateway::Protocol;
use crate::text::{ClientRefId, PaymentCode};

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

    /// The protocol whose answers this call reads (a report is a v1 route with v2's
    /// answers: [`Protocol::V2`]). For logs and traces.
    fn protocol(&self) -> Protocol;

    /// The payment this call is about: every call but create, whose code is PayPing's
    /// answer. For logs and traces: a driver names the payment without reading the request.
    fn payment_code(&self) -> Option<&PaymentCode>;

    /// The shop's reference for the payment, where the call carries it (create). For logs
    /// and traces.
    fn client_ref_id(&self) -> Option<&ClientRefId> {
        None
    }

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
    /// Implemented by this crate's exchanges only, each beside its `Exchange` impl.
    #[allow(unreachable_pub)]
    pub trait Sealed {}
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
