//! An async shop's side of PayPing: ghesta-core driven by hyper's client on tokio.
//!
//! The whole port is [`send`]: the core's `http::Request<Vec<u8>>` goes out over hyper, the
//! answer comes back as an `http::Response<Vec<u8>>`, every rule a transport must keep kept
//! (error statuses are answers, redirects are not followed, time and size are bounded).
//! [`exchange`] is the retry loop around it: it asks the core's error whether another try can
//! help ([`ghesta_core::Error::is_retryable`], [`ghesta_core::Error::retry_after`]) and stops
//! before the verify deadline ([`Config::verify_deadline`]), sleeping with
//! `tokio::time::sleep`. Nothing here blocks a runtime thread.
//!
//! Shared by `examples/async_checkout/main.rs` and `tests/async_core.rs`.

use std::time::{Duration, SystemTime};

use ghesta_core::http::{self, HeaderValue, header};
use ghesta_core::{
    Callback, CancelPayment, Cancelled, CompletedCallback, Config, CreatePayment, Exchange,
    ExchangeKind, HttpRequest, HttpResponse, NewPayment, PaymentReport, Pending, ReportPayment,
    VerifyOutcome, VerifyPayment,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The largest answer read: PayPing's answers are a few hundred bytes.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// How long one request may take, connect to last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    /// This example speaks plain HTTP only (the sandbox on 127.0.0.1); a shop talking to
    /// PayPing puts a TLS connector (hyper-rustls) where the `TcpStream` is.
    #[error("`{0}` is not an http:// URL this example can reach; add a TLS connector for https")]
    Unsupported(String),
    /// The connection could not be made.
    #[error("could not connect to PayPing: {0}")]
    Connect(#[source] std::io::Error),
    /// The connection broke, or the answer was not HTTP: PayPing may have acted on the
    /// request (a lost verify answer is recovered by verifying again).
    #[error("the connection to PayPing failed: {0}")]
    Http(#[from] hyper::Error),
    /// The answer was larger than [`MAX_BODY`].
    #[error("PayPing's answer was over {MAX_BODY} bytes; refused")]
    TooLarge,
    /// No whole answer within [`REQUEST_TIMEOUT`].
    #[error("no answer from PayPing within {REQUEST_TIMEOUT:?}")]
    Timeout,
}

/// Why a step failed: no answer, or an answer the core refused or reported.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShopError {
    /// The request got no answer.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The core built no request, or read the answer as an error.
    #[error(transparent)]
    PayPing(#[from] ghesta_core::Error),
}

/// Sends one request with hyper's HTTP/1.1 client on its own connection, and reads its
/// answer whole, within [`REQUEST_TIMEOUT`] and [`MAX_BODY`].
///
/// One connection per exchange keeps this short: a shop makes a handful of PayPing calls
/// per order. `hyper_util::client::legacy::Client` (with hyper-rustls) pools them instead.
pub(crate) async fn send(request: HttpRequest) -> Result<HttpResponse, SendError> {
    tokio::time::timeout(REQUEST_TIMEOUT, send_unbounded(request))
        .await
        .map_err(|_| SendError::Timeout)?
}

async fn send_unbounded(request: HttpRequest) -> Result<HttpResponse, SendError> {
    let (mut parts, body) = request.into_parts();
    let unsupported = || SendError::Unsupported(parts.uri.to_string());
    if parts.uri.scheme() != Some(&http::uri::Scheme::HTTP) {
        return Err(unsupported());
    }
    let authority = parts.uri.authority().ok_or_else(unsupported)?.clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let stream = TcpStream::connect((host, authority.port_u16().unwrap_or(80)))
        .await
        .map_err(SendError::Connect)?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection runs beside the request; aborted when this call ends or is cancelled.
    let driver = AbortOnDrop(tokio::spawn(connection));

    // HTTP/1.1 wants the path in the request line and the authority in `Host`.
    let host_header = HeaderValue::from_str(authority.as_str()).map_err(|_| unsupported())?;
    parts.headers.insert(header::HOST, host_header);
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|_| unsupported())?;
    let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));

    // hyper never follows a redirect: a 3xx comes back as an answer, and the token stays.
    let (parts, body) = sender.send_request(request).await?.into_parts();
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| match e.downcast::<hyper::Error>() {
            Ok(e) => SendError::Http(*e),
            Err(_) => SendError::TooLarge,
        })?
        .to_bytes();
    drop(driver);
    Ok(http::Response::from_parts(parts, body.to_vec()))
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How many times, and how far apart, [`exchange`] tries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    /// Tries in all, the first included.
    pub(crate) attempts: u32,
    /// The wait after the first failure; doubled after each, up to `max_wait`.
    pub(crate) first_wait: Duration,
    /// The longest wait; an answer asking (`Retry-After`) for more is not retried.
    pub(crate) max_wait: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 3,
            first_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(4),
        }
    }
}

impl Retry {
    /// No retry: one try.
    pub(crate) fn never() -> Self {
        Self {
            attempts: 1,
            ..Self::default()
        }
    }
}

/// Sends `exchange`'s request and reads its answer, trying again while the core's error
/// says another try can help and `deadline` (verify's, from [`Config::verify_deadline`])
/// leaves time for it.
///
/// A create is never tried again (its lost answer may have made a payment, and a second
/// would be another), nor a refund. An answer that never came ([`SendError`]) is returned
/// as is: a verify may be sent again (the repeat answers "already verified").
pub(crate) async fn exchange<E: Exchange>(
    exchange: &E,
    retry: Retry,
    deadline: Option<SystemTime>,
) -> Result<E::Output, ShopError> {
    let repeatable = matches!(
        exchange.kind(),
        ExchangeKind::Verify | ExchangeKind::Cancel | ExchangeKind::Report
    );
    let mut wait = retry.first_wait;
    let mut attempt = 1;
    loop {
        let answer = send(exchange.to_request()?).await?;
        let error = match exchange.parse_response(answer) {
            Ok(output) => return Ok(output),
            Err(error) => error,
        };
        if !repeatable || !error.is_retryable() || attempt >= retry.attempts {
            return Err(error.into());
        }
        let pause = match error.retry_after() {
            Some(asked) if asked > retry.max_wait => return Err(error.into()),
            Some(asked) => asked.max(wait),
            None => wait,
        };
        // A retry that would start after the deadline cannot verify: PayPing has voided
        // the payment by then. The error comes back now, while there is time to act on it.
        let resume = SystemTime::now().checked_add(pause);
        if deadline.is_some_and(|deadline| resume.is_none_or(|resume| resume >= deadline)) {
            return Err(error.into());
        }
        tokio::time::sleep(pause).await;
        wait = (wait * 2).min(retry.max_wait);
        attempt += 1;
    }
}

/// Step 1: create the payment; the shop stores the record (here: returns it).
pub(crate) async fn create(config: &Config, order: NewPayment) -> Result<Pending, ShopError> {
    let create = CreatePayment::new(config, order, SystemTime::now());
    exchange(&create, Retry::never(), None).await
}

/// Step 2: the answer a shop's handler gives the buyer: a 303 to the payment page.
pub(crate) fn redirect(pending: &Pending) -> http::Response<Vec<u8>> {
    pending.redirect_url().to_response()
}

/// Step 3: the callback form, as the shop's handler receives it at the return URL.
pub(crate) fn callback(form: &[u8]) -> Result<Callback, ghesta_core::CallbackError> {
    Callback::from_form(form)
}

/// Step 4: verify, from the stored record, before the deadline counted from when the
/// callback arrived.
pub(crate) async fn verify(
    config: &Config,
    pending: &Pending,
    callback: &CompletedCallback,
    received_at: SystemTime,
    retry: Retry,
) -> Result<VerifyOutcome, ShopError> {
    let verify = VerifyPayment::new(config, pending, callback)?;
    exchange(&verify, retry, Some(config.verify_deadline(received_at))).await
}

/// The shop withdraws an unpaid payment (after the buyer cancelled, say).
pub(crate) async fn cancel(
    config: &Config,
    pending: &Pending,
    retry: Retry,
) -> Result<Cancelled, ShopError> {
    exchange(&CancelPayment::new(config, pending), retry, None).await
}

/// PayPing's report of the payment.
pub(crate) async fn report(
    config: &Config,
    pending: &Pending,
    retry: Retry,
) -> Result<PaymentReport, ShopError> {
    exchange(&ReportPayment::new(config, pending.code()), retry, None).await
}
