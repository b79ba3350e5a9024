//! What the client tells `tracing` (the `tracing` feature): a span per call, an event per
//! attempt, the outcome. Without the feature every function here is an empty inline one, so
//! the client's code reads the same and no tracing code is compiled.
//!
//! Never a secret: only values picked one by one are recorded (kinds, codes, statuses,
//! request ids, timings). Never a request or a response, their headers or bodies, an error's
//! text (it may quote PayPing's answer), a callback, a card number or hash, or the token.
//! `tests/tracing.rs` captures everything at TRACE to hold this.

#[cfg(feature = "tracing")]
pub(crate) use on::*;

#[cfg(not(feature = "tracing"))]
pub(crate) use off::*;

#[cfg(feature = "tracing")]
mod on {
    use std::time::Instant;

    use ghesta_core::{
        Attention, Cancelled, Decision, Exchange, ExchangeKind, PaymentReport, Pending, Proof,
        Protocol, Refunded, RequestId, Verdict, VerifyOutcome, Waiting,
    };
    use tracing::field::Empty;
    use tracing::{Span, debug, info, warn};

    use crate::error::{Error, TransportError};

    /// The span of one call (every attempt of one exchange), entered while it runs.
    pub(crate) struct Call {
        span: tracing::span::EnteredSpan,
    }

    /// Opens the span of a call to `exchange`; the HTTP fields are filled by its first
    /// attempt.
    pub(crate) fn call<E: Exchange>(exchange: &E) -> Call {
        let span = tracing::info_span!(
            "payping.call",
            payping.exchange = kind(exchange.kind()),
            payping.protocol = protocol(exchange.protocol()),
            payping.payment_code = exchange.payment_code().map(|c| c.as_str()),
            payping.client_ref_id = exchange.client_ref_id().map(|c| c.as_str()),
            http.request.method = Empty,
            server.address = Empty,
            server.port = Empty,
            url.path = Empty,
        );
        Call {
            span: span.entered(),
        }
    }

    /// One attempt being timed.
    pub(crate) struct Attempt {
        number: u32,
        started: Instant,
        status: Option<u16>,
    }

    impl Call {
        /// Starts attempt `number` of `request` (the first one names the request in the
        /// span: method, host, port, path; never the query, headers or body).
        pub(crate) fn attempt(&self, number: u32, request: &ghesta_core::HttpRequest) -> Attempt {
            if number == 1 && !self.span.is_disabled() {
                let uri = request.uri();
                self.span
                    .record("http.request.method", request.method().as_str())
                    .record("server.address", uri.host())
                    .record("server.port", uri.port_u16())
                    .record("url.path", uri.path());
            }
            Attempt {
                number,
                started: Instant::now(),
                status: None,
            }
        }
    }

    impl Attempt {
        /// An answer came: its status. Not its request id: the answer is not scrubbed of
        /// the token yet (the core does that as it reads it), so the id is taken from what
        /// the core read (the error here, the output in the outcome).
        pub(crate) fn answered(&mut self, response: &ghesta_core::HttpResponse) {
            self.status = Some(response.status().as_u16());
        }

        /// The attempt succeeded: the call's last event (the outcome, with PayPing's
        /// request id, follows from the method that made the call).
        pub(crate) fn succeeded(self) {
            debug!(
                payping.attempt = self.number,
                http.request.resend_count = self.number - 1,
                http.response.status_code = self.status,
                payping.latency_ms = self.latency_ms(),
                "PayPing answered",
            );
        }

        /// The attempt failed with `error`, and the policy decided `decision`. A stop is the
        /// call's outcome: PayPing refusing (info), or giving up (warn).
        pub(crate) fn failed(self, error: &Error, decision: Decision) {
            let wait_ms = match decision {
                Decision::RetryAfter(wait) => Some(millis(wait)),
                Decision::Stop => None,
            };
            let request_id = error.request_id().map(RequestId::as_str);
            let status = error.status().map(|s| s.as_u16()).or(self.status);
            let code = error.code().map(|c| c.number());
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
            let refused = matches!(error, Error::Core(_)) && !error.is_retryable();
            if refused {
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

    fn millis(wait: std::time::Duration) -> u64 {
        u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
    }

    /// A short, fixed name for what went wrong: never the error's text.
    fn error_type(error: &Error) -> &'static str {
        match error {
            Error::Core(_) => "answer",
            Error::Transport(transport) => match transport {
                TransportError::Connect { .. } => "connect",
                TransportError::TlsHandshakeCut { .. } => "tls_handshake_cut",
                TransportError::Timeout { .. } => "timeout",
                TransportError::ConnectionLost { .. } => "connection_lost",
                TransportError::Io { .. } => "io",
                TransportError::Tls { .. } => "tls",
                TransportError::Protocol { .. } => "protocol",
                TransportError::BodyTooLarge { .. } => "body_too_large",
                TransportError::Other { .. } => "other",
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

    /// A call's successful outcome, at info.
    pub(crate) trait Outcome {
        /// Emits the event.
        fn trace(&self);
    }

    /// Emits the outcome of a call that succeeded (a failure was traced as it stopped).
    pub(crate) fn done<T: Outcome, E>(result: &Result<T, E>) {
        if let Ok(output) = result {
            output.trace();
        }
    }

    impl<T: Outcome> Outcome for &T {
        fn trace(&self) {
            (**self).trace();
        }
    }

    /// A verify PayPing answered whose payment its report does not confirm.
    pub(crate) fn contradiction(error: &ghesta_core::Error) {
        warn!(
            payping.outcome = "contradiction",
            http.response.status_code = error.status().map(|s| s.as_u16()),
            payping.error_code = error.code().map(|c| c.number()),
            payping.request_id = error.request_id().map(RequestId::as_str),
            "PayPing's verify and report disagree: do not ship; contact PayPing support",
        );
    }

    impl Outcome for Pending {
        fn trace(&self) {
            info!(
                payping.outcome = "created",
                payping.payment_code = self.code().as_str(),
                payping.client_ref_id = self.client_ref_id().as_str(),
                payping.gateway = self.gateway().as_str(),
                payping.request_id = self.request_id().map(RequestId::as_str),
                "payment created",
            );
        }
    }

    impl Outcome for VerifyOutcome {
        fn trace(&self) {
            let (outcome, ref_id) = match self {
                VerifyOutcome::Verified(v) => ("verified", v.ref_id()),
                VerifyOutcome::AlreadyVerified(v) => ("already_verified", v.ref_id()),
            };
            info!(
                payping.outcome = outcome,
                payping.payment_code = self.code().as_str(),
                payping.ref_id = ref_id.as_str(),
                payping.names_payment = self.names_payment(),
                payping.request_id = self.request_id().map(RequestId::as_str),
                "payment {}",
                if outcome == "verified" {
                    "verified"
                } else {
                    "already verified"
                },
            );
        }
    }

    impl Outcome for Cancelled {
        fn trace(&self) {
            info!(
                payping.outcome = "cancelled",
                payping.payment_code = self.code().as_str(),
                payping.request_id = self.request_id().map(RequestId::as_str),
                "payment cancelled",
            );
        }
    }

    impl Outcome for Refunded {
        fn trace(&self) {
            info!(
                payping.outcome = "refunded",
                payping.payment_code = self.code().as_str(),
                payping.request_id = self.request_id().map(RequestId::as_str),
                "payment refunded",
            );
        }
    }

    impl Outcome for PaymentReport {
        fn trace(&self) {
            info!(
                payping.outcome = "reported",
                payping.payment_code = self.code().as_str(),
                payping.payment_status = self.status().map(|s| s.number()),
                payping.is_paid = self.is_paid(),
                payping.request_id = self.request_id().map(RequestId::as_str),
                "payment reported",
            );
        }
    }

    /// The span of one settlement (its verifies and reports nest in it).
    pub(crate) fn settle(pending: &Pending) -> Span {
        tracing::info_span!(
            "payping.settle",
            payping.payment_code = pending.code().as_str(),
            payping.client_ref_id = pending.client_ref_id().as_str(),
            payping.protocol = protocol(pending.protocol()),
            payping.gateway = pending.gateway().as_str(),
        )
    }

    /// The settlement's verdict: info to ship, release or wait; warn for a payment after a
    /// release and for what needs a person.
    pub(crate) fn verdict(verdict: &Verdict) {
        match verdict {
            Verdict::Ship(paid) => info!(
                payping.verdict = "ship",
                payping.proof = proof(paid.proof()),
                payping.ref_id = paid.ref_id().map(|r| r.as_str()),
                payping.verified_now = paid.verified_now(),
                "settled: ship the order",
            ),
            Verdict::Release(release) => info!(
                payping.verdict = "release",
                payping.payment_status = release.status().number(),
                "settled: release the order",
            ),
            Verdict::Wait(waiting) => {
                let (why, error) = match waiting {
                    Waiting::StillOpen(_) => ("still_open", None),
                    Waiting::VerifyFailed(e) => ("verify_failed", Some(e)),
                    Waiting::ReportFailed(e) => ("report_failed", Some(e)),
                    Waiting::NotProven => ("not_proven", None),
                    _ => ("other", None),
                };
                info!(
                    payping.verdict = "wait",
                    payping.waiting = why,
                    http.response.status_code = error.and_then(|e| e.status()).map(|s| s.as_u16()),
                    payping.error_code = error.and_then(|e| e.code()).map(|c| c.number()),
                    payping.request_id = error.and_then(|e| e.request_id()).map(RequestId::as_str),
                    "not settled yet: settle again later",
                );
            }
            Verdict::PaidAfterRelease(paid) => warn!(
                payping.verdict = "paid_after_release",
                payping.proof = proof(paid.proof()),
                payping.ref_id = paid.ref_id().map(|r| r.as_str()),
                "paid after the order was released: refund, or ship after all",
            ),
            Verdict::NeedsAttention(attention) => {
                let why = match attention {
                    Attention::Contradiction(_) => "contradiction",
                    Attention::Unconfirmable(_) => "unconfirmable",
                    Attention::StillFailing(_) => "still_failing",
                    _ => "other",
                };
                let error = attention.error();
                warn!(
                    payping.verdict = "needs_attention",
                    payping.attention = why,
                    http.response.status_code = error.status().map(|s| s.as_u16()),
                    payping.error_code = error.code().map(|c| c.number()),
                    payping.request_id = error.request_id().map(RequestId::as_str),
                    "needs a person: look at the payment in PayPing's panel",
                );
            }
            _ => info!(payping.verdict = "other", "settled"),
        }
    }

    fn proof(proof: Proof) -> &'static str {
        match proof {
            Proof::VerifyNamedPayment => "verify_named_payment",
            Proof::ReportBound => "report_bound",
            Proof::ReportVerified => "report_verified",
            _ => "other",
        }
    }
}

#[cfg(not(feature = "tracing"))]
mod off {
    use ghesta_core::{Decision, Exchange, HttpRequest, HttpResponse, Pending, Verdict};

    use crate::error::Error;

    pub(crate) struct Call;
    pub(crate) struct Attempt;
    pub(crate) struct Settle;

    #[inline(always)]
    pub(crate) fn call<E: Exchange>(_: &E) -> Call {
        Call
    }

    impl Call {
        #[inline(always)]
        pub(crate) fn attempt(&self, _: u32, _: &HttpRequest) -> Attempt {
            Attempt
        }
    }

    impl Attempt {
        #[inline(always)]
        pub(crate) fn answered(&mut self, _: &HttpResponse) {}
        #[inline(always)]
        pub(crate) fn succeeded(self) {}
        #[inline(always)]
        pub(crate) fn failed(self, _: &Error, _: Decision) {}
    }

    #[inline(always)]
    pub(crate) fn done<T, E>(_: &Result<T, E>) {}

    #[inline(always)]
    pub(crate) fn contradiction(_: &ghesta_core::Error) {}

    impl Settle {
        #[inline(always)]
        pub(crate) fn entered(self) -> Self {
            self
        }
    }

    #[inline(always)]
    pub(crate) fn settle(_: &Pending) -> Settle {
        Settle
    }

    #[inline(always)]
    pub(crate) fn verdict(_: &Verdict) {}
}
