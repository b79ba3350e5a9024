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
//! It traces as `ghesta-blocking`'s `tracing` feature does, with the same span and field
//! names (see [`trace`] and ghesta-blocking's README, "Tracing"): a `payping.call` span per
//! exchange, a debug event per attempt with the core's decision, info outcomes, warn
//! give-ups; never a request, header, body or error text, so never the token.
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
use tracing::Instrument;

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
    let span = trace::call(exchange);
    let mut attempt = 1;
    async move {
        loop {
            // A request the core cannot build was never sent: nothing to retry.
            let request = exchange.to_request()?;
            let seen = trace::Attempt::start(attempt, &request);
            let sent = port.send(request).await;
            let status = sent.as_ref().ok().map(|answer| answer.status().as_u16());
            let (error, decision) = match sent {
                // The core scrubs the token from the answer as it reads it.
                Ok(answer) => match exchange.parse_response(answer) {
                    Ok(output) => {
                        seen.succeeded(status);
                        return Ok(output);
                    }
                    Err(error) => {
                        let failure = Failure::Answered(&error);
                        let decision = policy.decide(kind, attempt, failure, port.now(), deadline);
                        (ShopError::Core(error), decision)
                    }
                },
                Err(error) => {
                    let decision =
                        policy.decide(kind, attempt, error.failure(), port.now(), deadline);
                    (ShopError::Send(error), decision)
                }
            };
            seen.failed(status, &error, decision);
            match decision {
                Decision::Stop => return Err(error),
                Decision::RetryAfter(wait) => port.sleep(wait).await,
            }
            attempt += 1;
        }
    }
    // The span follows the future across awaits, whichever thread polls it.
    .instrument(span)
    .await
}

/// Step 1: create the payment; the shop stores the record (here: returns it).
pub(crate) async fn create(
    config: &Config,
    order: NewPayment,
    policy: &RetryPolicy,
) -> Result<Pending, ShopError> {
    let create = CreatePayment::new(config, order, SystemTime::now());
    let result = exchange(&Hyper, &create, policy, None).await;
    if let Ok(pending) = &result {
        trace::created(pending);
    }
    result
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
    let result = exchange(&Hyper, &verify, policy, Some(deadline)).await;
    if let Ok(outcome) = &result {
        trace::verified(outcome);
    }
    result
}

/// The shop withdraws an unpaid payment (after the buyer cancelled, say).
pub(crate) async fn cancel(
    config: &Config,
    pending: &Pending,
    policy: &RetryPolicy,
) -> Result<Cancelled, ShopError> {
    let result = exchange(&Hyper, &CancelPayment::new(config, pending), policy, None).await;
    if let Ok(cancelled) = &result {
        trace::cancelled(cancelled);
    }
    result
}

/// PayPing's report of the payment.
pub(crate) async fn report(
    config: &Config,
    pending: &Pending,
    policy: &RetryPolicy,
) -> Result<PaymentReport, ShopError> {
    let report = ReportPayment::new(config, pending.code());
    let result = exchange(&Hyper, &report, policy, None).await;
    if let Ok(report) = &result {
        trace::reported(report);
    }
    result
}

/// What the shop tells `tracing`: the spans, fields and levels of `ghesta-blocking`'s
/// `tracing` feature, from the same information (the exchange's kind, protocol and payment;
/// each attempt's status, the core's error and decision; the outcome). Only values picked
/// one by one: never a request, a header, a body or an error's text.
pub(crate) mod trace {
    use std::time::Instant;

    use ghesta_core::{
        Cancelled, Decision, Exchange, ExchangeKind, HttpRequest, PaymentReport, Pending, Protocol,
        RequestId, VerifyOutcome,
    };
    use tracing::field::Empty;
    use tracing::{Span, debug, info, warn};

    use super::{SendError, ShopError};

    /// The span of one exchange, with its attempts' HTTP fields to fill.
    pub(crate) fn call<E: Exchange>(exchange: &E) -> Span {
        tracing::info_span!(
            "payping.call",
            payping.exchange = kind(exchange.kind()),
            payping.protocol = protocol(exchange.protocol()),
            payping.payment_code = exchange.payment_code().map(|c| c.as_str()),
            payping.client_ref_id = exchange.client_ref_id().map(|c| c.as_str()),
            http.request.method = Empty,
            server.address = Empty,
            server.port = Empty,
            url.path = Empty,
        )
    }

    /// One attempt being timed.
    pub(crate) struct Attempt {
        number: u32,
        started: Instant,
    }

    impl Attempt {
        /// Starts attempt `number`; the first names the request in the current span
        /// (method, host, port, path: never the query, headers or body).
        pub(crate) fn start(number: u32, request: &HttpRequest) -> Self {
            let span = Span::current();
            if number == 1 && !span.is_disabled() {
                let uri = request.uri();
                span.record("http.request.method", request.method().as_str())
                    .record("server.address", uri.host())
                    .record("server.port", uri.port_u16())
                    .record("url.path", uri.path());
            }
            Self {
                number,
                started: Instant::now(),
            }
        }

        pub(crate) fn succeeded(self, status: Option<u16>) {
            debug!(
                payping.attempt = self.number,
                http.request.resend_count = self.number - 1,
                http.response.status_code = status,
                payping.latency_ms = self.latency_ms(),
                "PayPing answered",
            );
        }

        /// A failed attempt and the core's decision; a stop is the outcome: PayPing
        /// refusing (info) or giving up (warn). The request id is the core's (read from a
        /// scrubbed answer), never the raw header.
        pub(crate) fn failed(self, status: Option<u16>, error: &ShopError, decision: Decision) {
            let wait_ms = match decision {
                Decision::RetryAfter(wait) => {
                    Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
                }
                Decision::Stop => None,
            };
            let core = match error {
                ShopError::Core(e) => Some(e),
                ShopError::Send(_) => None,
            };
            let status = core.and_then(|e| e.status()).map(|s| s.as_u16()).or(status);
            let code = core.and_then(|e| e.code()).map(|c| c.number());
            let request_id = core.and_then(|e| e.request_id()).map(RequestId::as_str);
            debug!(
                payping.attempt = self.number,
                http.request.resend_count = self.number - 1,
                http.response.status_code = status,
                payping.error_code = code,
                payping.request_id = request_id,
                payping.latency_ms = self.latency_ms(),
                error.type = error_type(error),
                payping.retry = if wait_ms.is_some() { "retry" } else { "stop" },
                payping.retry_wait_ms = wait_ms,
                "PayPing attempt failed",
            );
            if wait_ms.is_some() {
                return;
            }
            if core.is_some_and(|e| !e.is_retryable()) {
                info!(
                    payping.outcome = "refused",
                    payping.attempts = self.number,
                    http.response.status_code = status,
                    payping.error_code = code,
                    payping.request_id = request_id,
                    error.type = error_type(error),
                    "PayPing refused the call",
                );
            } else {
                warn!(
                    payping.outcome = "gave_up",
                    payping.attempts = self.number,
                    http.response.status_code = status,
                    payping.error_code = code,
                    payping.request_id = request_id,
                    error.type = error_type(error),
                    "PayPing call failed; not retrying",
                );
            }
        }

        fn latency_ms(&self) -> f64 {
            self.started.elapsed().as_secs_f64() * 1000.0
        }
    }

    pub(crate) fn created(pending: &Pending) {
        info!(
            payping.outcome = "created",
            payping.payment_code = pending.code().as_str(),
            payping.client_ref_id = pending.client_ref_id().as_str(),
            payping.gateway = pending.gateway().as_str(),
            payping.request_id = pending.request_id().map(RequestId::as_str),
            "payment created",
        );
    }

    pub(crate) fn verified(outcome: &VerifyOutcome) {
        let (name, ref_id, message) = match outcome {
            VerifyOutcome::Verified(v) => ("verified", v.ref_id(), "payment verified"),
            VerifyOutcome::AlreadyVerified(v) => {
                ("already_verified", v.ref_id(), "payment already verified")
            }
        };
        info!(
            payping.outcome = name,
            payping.payment_code = outcome.code().as_str(),
            payping.ref_id = ref_id.as_str(),
            payping.names_payment = outcome.names_payment(),
            payping.request_id = outcome.request_id().map(RequestId::as_str),
            "{message}",
        );
    }

    pub(crate) fn cancelled(cancelled: &Cancelled) {
        info!(
            payping.outcome = "cancelled",
            payping.payment_code = cancelled.code().as_str(),
            payping.request_id = cancelled.request_id().map(RequestId::as_str),
            "payment cancelled",
        );
    }

    pub(crate) fn reported(report: &PaymentReport) {
        info!(
            payping.outcome = "reported",
            payping.payment_code = report.code().as_str(),
            payping.payment_status = report.status().map(|s| s.number()),
            payping.is_paid = report.is_paid(),
            payping.request_id = report.request_id().map(RequestId::as_str),
            "payment reported",
        );
    }

    /// A short, fixed name for what went wrong: never the error's text.
    fn error_type(error: &ShopError) -> &'static str {
        match error {
            ShopError::Core(_) => "answer",
            ShopError::Send(send) => match send {
                SendError::Unsupported(_) => "unsupported",
                SendError::Connect(_) => "connect",
                SendError::TlsHandshakeCut => "tls_handshake_cut",
                SendError::Certificate(_) => "tls",
                SendError::Http(_) => "connection_lost",
                SendError::TooLarge => "body_too_large",
                SendError::Timeout => "timeout",
            },
        }
    }

    fn kind(kind: ExchangeKind) -> &'static str {
        match kind {
            ExchangeKind::Create => "create",
            ExchangeKind::Verify => "verify",
            ExchangeKind::Cancel => "cancel",
            ExchangeKind::Report => "report",
            ExchangeKind::Refund => "refund",
            _ => "other",
        }
    }

    fn protocol(protocol: Protocol) -> &'static str {
        match protocol {
            Protocol::V2 => "v2",
            Protocol::V3 => "v3",
            _ => "other",
        }
    }
}
