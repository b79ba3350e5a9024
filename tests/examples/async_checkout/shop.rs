//! An async shop's side of PayPing: ghesta-core driven by hyper's client on tokio.
//!
//! The whole port is [`send`]: the core's `http::Request<Vec<u8>>` goes out over hyper, the
//! answer comes back as an `http::Response<Vec<u8>>`, every rule a transport must keep kept
//! (error statuses are answers, redirects are not followed, time and size are bounded).
//! [`exchange`] is the retry loop around it, and decides nothing itself: it says how an
//! attempt failed ([`SendError::failure`] classes what got no answer; the core reads what
//! did), asks the core's [`RetryPolicy::decide`], and sleeps with `tokio::time::sleep`, so it
//! follows the same rules as `ghesta-blocking` (create never repeated once it may have
//! arrived, refunds only on "in progress", verify in progress asked until
//! [`Config::verify_deadline`], jitter, `Retry-After`). Nothing here blocks a runtime thread.
//!
//! Shared by `examples/async_checkout/main.rs` and `tests/async_core.rs`.

use std::time::{Duration, SystemTime};

use ghesta_core::http::{self, HeaderValue, header};
use ghesta_core::{
    Callback, CancelPayment, Cancelled, CompletedCallback, Config, CreatePayment, Decision,
    Exchange, Failure, HttpRequest, HttpResponse, NewPayment, PaymentReport, Pending,
    ReportPayment, RetryPolicy, VerifyOutcome, VerifyPayment,
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
    /// The connection could not be made: nothing was sent.
    #[error("could not connect to PayPing: {0}")]
    Connect(#[source] std::io::Error),
    /// The server closed the connection during the TLS handshake, before the request was
    /// written: nothing was sent. This example's [`send`] speaks plain HTTP and never says
    /// it; a shop's TLS connector (tokio-rustls) maps a handshake ending in an early EOF here,
    /// and the conformance tests' scripted port does.
    #[allow(dead_code)]
    #[error("the TLS handshake with PayPing was cut short")]
    TlsHandshakeCut,
    /// The server's certificate was refused (untrusted, expired, for another host): where a
    /// shop's TLS connector maps its certificate errors (not said by this plain-HTTP example).
    #[allow(dead_code)]
    #[error("PayPing's certificate was refused: {0}")]
    Certificate(String),
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

impl SendError {
    /// How far the request got, for the core's retry rules: nothing sent, sent without an
    /// answer, or refused for a cause another try will not fix.
    pub(crate) fn failure(&self) -> Failure<'static> {
        match self {
            Self::Connect(_) | Self::TlsHandshakeCut => Failure::NotSent,
            // An answer that is not HTTP will not be HTTP next time.
            Self::Http(e) if e.is_parse() => Failure::RefusedForCause,
            // The connection broke after the request may have been written.
            Self::Http(_) | Self::Timeout => Failure::SentNoAnswer,
            Self::Unsupported(_) | Self::Certificate(_) | Self::TooLarge => {
                Failure::RefusedForCause
            }
        }
    }
}

/// Why a step failed: no answer, or an answer the core refused or reported.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ShopError {
    /// The request got no answer.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The core built no request, or read the answer as an error.
    #[error(transparent)]
    Core(#[from] ghesta_core::Error),
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

/// What the retry loop needs from the world: a way to send, the time, a way to wait. The
/// checkout uses [`Hyper`]; a test passes a scripted one that answers from a list and moves
/// its own clock instead of sleeping.
pub(crate) trait Port {
    /// Sends one request; the whole answer, whatever its status, or why none came.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, SendError>;
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Waits `wait` without blocking the runtime.
    async fn sleep(&self, wait: Duration);
}

/// The real world: [`send`] over hyper, the system clock, tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Hyper;

impl Port for Hyper {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, SendError> {
        send(request).await
    }

    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    async fn sleep(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

/// Sends `exchange`'s request through `port` and reads its answer, sending it again while the
/// core's `policy` says so; `deadline` is verify's ([`Config::verify_deadline`]), `None` for
/// the other calls.
///
/// The loop decides nothing: a create whose answer was lost is not sent again, one whose
/// connection was refused is, a verify in progress is asked until the deadline, because
/// [`RetryPolicy::decide`] says so for every driver alike.
pub(crate) async fn exchange<E: Exchange>(
    port: &impl Port,
    exchange: &E,
    policy: &RetryPolicy,
    deadline: Option<SystemTime>,
) -> Result<E::Output, ShopError> {
    let kind = exchange.kind();
    let mut attempt = 1;
    loop {
        // A request the core cannot build was never sent: nothing to retry.
        let request = exchange.to_request()?;
        let (error, decision) = match port.send(request).await {
            // The core scrubs the token from the answer as it reads it.
            Ok(answer) => match exchange.parse_response(answer) {
                Ok(output) => return Ok(output),
                Err(error) => {
                    let failure = Failure::Answered(&error);
                    let decision = policy.decide(kind, attempt, failure, port.now(), deadline);
                    (ShopError::Core(error), decision)
                }
            },
            Err(error) => {
                let decision = policy.decide(kind, attempt, error.failure(), port.now(), deadline);
                (ShopError::Send(error), decision)
            }
        };
        match decision {
            Decision::Stop => return Err(error),
            Decision::RetryAfter(wait) => port.sleep(wait).await,
        }
        attempt += 1;
    }
}

/// Step 1: create the payment; the shop stores the record (here: returns it).
pub(crate) async fn create(
    config: &Config,
    order: NewPayment,
    policy: &RetryPolicy,
) -> Result<Pending, ShopError> {
    let create = CreatePayment::new(config, order, SystemTime::now());
    exchange(&Hyper, &create, policy, None).await
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
    policy: &RetryPolicy,
) -> Result<VerifyOutcome, ShopError> {
    let verify = VerifyPayment::new(config, pending, callback)?;
    let deadline = config.verify_deadline(received_at);
    exchange(&Hyper, &verify, policy, Some(deadline)).await
}

/// The shop withdraws an unpaid payment (after the buyer cancelled, say).
pub(crate) async fn cancel(
    config: &Config,
    pending: &Pending,
    policy: &RetryPolicy,
) -> Result<Cancelled, ShopError> {
    exchange(&Hyper, &CancelPayment::new(config, pending), policy, None).await
}

/// PayPing's report of the payment.
pub(crate) async fn report(
    config: &Config,
    pending: &Pending,
    policy: &RetryPolicy,
) -> Result<PaymentReport, ShopError> {
    let report = ReportPayment::new(config, pending.code());
    exchange(&Hyper, &report, policy, None).await
}
