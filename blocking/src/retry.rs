//! When to send a failed request again: a pure function of the failure, the attempt and the
//! time, so every decision is testable without a clock.

use std::time::{Duration, SystemTime};

use ghesta_core::{ExchangeKind, PayPingCode};

use crate::error::Error;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Give up and return the error.
    Stop,
    /// Wait this long, then send the same request again.
    RetryAfter(Duration),
}

/// When the client retries a failed call, and how long it waits in between.
///
/// The default: up to **4 attempts** in all, waiting 250 ms, 500 ms, 1 s (doubling, capped
/// at 4 s), for failures that [`Error::is_retryable`] calls retryable (timeouts, failed or
/// lost connections, 5xx, PayPing's "try again" codes 11, 25, 29 and 49, unreadable
/// answers). Verify, cancel and report are retried; **create is not** unless
/// [`RetryPolicy::with_retry_create`] opts in, because a create whose answer was lost may have
/// made a payment, and a second one would be another payment. A retry whose wait would end
/// at or past the deadline (for verify, [`Config::verify_deadline`] of the callback's
/// arrival) is not attempted.
///
/// Waits are deterministic; [`RetryPolicy::with_jitter_seed`] spreads them out when many
/// processes retry together.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ghesta_blocking::{Decision, Error, RetryPolicy, TransportError};
/// use ghesta_core::ExchangeKind;
///
/// let policy = RetryPolicy::default();
/// let timeout = Error::Transport(TransportError::timeout("whole call"));
/// let now = SystemTime::UNIX_EPOCH;
///
/// assert_eq!(
///     policy.decide(ExchangeKind::Verify, 1, &timeout, now, None),
///     Decision::RetryAfter(Duration::from_millis(250))
/// );
/// // Out of attempts.
/// assert_eq!(policy.decide(ExchangeKind::Verify, 4, &timeout, now, None), Decision::Stop);
/// // The wait would end past the deadline.
/// let deadline = now + Duration::from_millis(100);
/// assert_eq!(policy.decide(ExchangeKind::Verify, 1, &timeout, now, Some(deadline)), Decision::Stop);
/// // Create is not retried by default.
/// assert_eq!(policy.decide(ExchangeKind::Create, 1, &timeout, now, None), Decision::Stop);
/// ```
///
/// [`Config::verify_deadline`]: ghesta_core::Config::verify_deadline
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    retry_create: bool,
    jitter_seed: Option<u64>,
}

/// Attempts in all, by default.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
/// The first wait, by default.
pub const DEFAULT_INITIAL_DELAY: Duration = Duration::from_millis(250);
/// The longest wait, by default.
pub const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(4);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_delay: DEFAULT_INITIAL_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
            retry_create: false,
            jitter_seed: None,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one attempt per call.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use ghesta_blocking::{Decision, Error, RetryPolicy, TransportError};
    /// let timeout = Error::Transport(TransportError::timeout("t"));
    /// let never = RetryPolicy::never();
    /// let now = SystemTime::UNIX_EPOCH;
    /// assert_eq!(never.decide(ghesta_core::ExchangeKind::Verify, 1, &timeout, now, None), Decision::Stop);
    /// ```
    pub fn never() -> Self {
        Self::default().with_max_attempts(1)
    }

    /// At most `attempts` attempts in all, the first included (0 counts as 1).
    ///
    /// ```
    /// # use ghesta_blocking::RetryPolicy;
    /// assert_eq!(RetryPolicy::default().with_max_attempts(6).max_attempts(), 6);
    /// assert_eq!(RetryPolicy::default().with_max_attempts(0).max_attempts(), 1);
    /// ```
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Waits `initial` after the first failure, doubling after each, never more than `max`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ghesta_blocking::RetryPolicy;
    /// let policy = RetryPolicy::default().with_backoff(Duration::from_secs(1), Duration::from_secs(3));
    /// assert_eq!(policy.delay(1), Duration::from_secs(1));
    /// assert_eq!(policy.delay(2), Duration::from_secs(2));
    /// assert_eq!(policy.delay(3), Duration::from_secs(3));
    /// ```
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max.max(initial);
        self
    }

    /// Whether create is retried too (off by default). Turn it on only if a duplicate
    /// payment is acceptable to you or you reconcile by clientRefId: a create whose answer
    /// was lost may have created a payment already.
    ///
    /// ```
    /// # use std::time::SystemTime;
    /// # use ghesta_blocking::{Decision, Error, RetryPolicy, TransportError};
    /// let reset = Error::Transport(TransportError::connection_lost("reset"));
    /// let policy = RetryPolicy::default().with_retry_create(true);
    /// let decision = policy.decide(ghesta_core::ExchangeKind::Create, 1, &reset, SystemTime::UNIX_EPOCH, None);
    /// assert!(matches!(decision, Decision::RetryAfter(_)));
    /// ```
    #[must_use]
    pub fn with_retry_create(mut self, retry: bool) -> Self {
        self.retry_create = retry;
        self
    }

    /// Spreads each wait over its upper half, deterministically from `seed` and the attempt
    /// number. Give each process its own seed (its id, its start time) so that processes
    /// hit by the same outage do not retry in step.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ghesta_blocking::RetryPolicy;
    /// let policy = RetryPolicy::default().with_jitter_seed(42);
    /// let wait = policy.delay(2);
    /// assert!(wait >= Duration::from_millis(250) && wait <= Duration::from_millis(500));
    /// assert_eq!(wait, policy.delay(2)); // same seed, same wait
    /// ```
    #[must_use]
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The number of attempts in all.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Whether create is retried.
    pub fn retry_create(&self) -> bool {
        self.retry_create
    }

    /// The wait after attempt number `attempt` (1 for the first) failed.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use ghesta_blocking::RetryPolicy;
    /// let policy = RetryPolicy::default();
    /// assert_eq!(policy.delay(1), Duration::from_millis(250));
    /// assert_eq!(policy.delay(3), Duration::from_secs(1));
    /// assert_eq!(policy.delay(30), Duration::from_secs(4)); // capped
    /// ```
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let full = self
            .initial_delay
            .checked_mul(1 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        match self.jitter_seed {
            None => full,
            Some(seed) => {
                let half = full / 2;
                let spread = u64::try_from((full - half).as_nanos()).unwrap_or(u64::MAX);
                let offset = mix(seed ^ u64::from(attempt)) % spread.saturating_add(1);
                half + Duration::from_nanos(offset)
            }
        }
    }

    /// Whether exchanges of `kind` are retried at all.
    ///
    /// ```
    /// use ghesta_blocking::RetryPolicy;
    /// use ghesta_core::ExchangeKind;
    ///
    /// let policy = RetryPolicy::default();
    /// assert!(policy.retries(ExchangeKind::Verify) && policy.retries(ExchangeKind::Report));
    /// assert!(!policy.retries(ExchangeKind::Create));
    /// ```
    pub fn retries(&self, kind: ExchangeKind) -> bool {
        match kind {
            ExchangeKind::Create => self.retry_create,
            ExchangeKind::Verify | ExchangeKind::Cancel | ExchangeKind::Report => true,
            // Only while PayPing says the refund is in progress (code 156): see `decide`.
            ExchangeKind::Refund => true,
            // A kind this version does not know may not be idempotent.
            _ => false,
        }
    }

    /// What to do after attempt number `attempt` (1 for the first) of a `kind` exchange
    /// failed with `error`, at `now`, with the call due by `deadline` if it has one.
    ///
    /// Retries only when the kind is retried, the error is retryable, attempts remain, and
    /// `now` plus the wait is before the deadline. Reads no clock.
    ///
    /// Two exceptions: PayPing v3's "verification still in progress" (202/502) is retried
    /// past the attempt budget until the deadline (verify's window), since only a verify
    /// inside the window counts; and a refund is retried only on PayPing's code 156 (refund
    /// in progress), since a refund whose answer was lost may have been made.
    ///
    /// The wait is the backoff [`delay`](RetryPolicy::delay), or the answer's
    /// `Retry-After` when that is longer; an answer asking for more than the policy's
    /// longest wait (4 s by default) is not retried: the error comes back at once rather
    /// than a thread sleeping for as long as a server asks.
    pub fn decide(
        &self,
        kind: ExchangeKind,
        attempt: u32,
        error: &Error,
        now: SystemTime,
        deadline: Option<SystemTime>,
    ) -> Decision {
        let retryable = match kind {
            // A refund is not idempotent: a lost answer may have refunded already. Only
            // PayPing's own "refund in progress" (156) is worth the same request again.
            ExchangeKind::Refund => error.code() == Some(PayPingCode::V3ReverseInProgress),
            _ => error.is_retryable(),
        };
        // v3's "verification in progress" is retried for as long as the verify window
        // allows, past the attempt budget, but only when there is a deadline to stop at.
        let in_progress = deadline.is_some()
            && matches!(
                error.as_payping(),
                Some(ghesta_core::Error::VerifyInProgress { .. })
            );
        if !self.retries(kind) || !retryable || (attempt >= self.max_attempts && !in_progress) {
            return Decision::Stop;
        }
        let wait = match error.retry_after() {
            Some(asked) if asked > self.max_delay => return Decision::Stop,
            Some(asked) => asked.max(self.delay(attempt)),
            None => self.delay(attempt),
        };
        if let Some(deadline) = deadline {
            match now.checked_add(wait) {
                Some(resume) if resume < deadline => {}
                _ => return Decision::Stop,
            }
        }
        Decision::RetryAfter(wait)
    }
}

/// SplitMix64's finaliser: a well-spread hash of a seed, no randomness crate needed.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The time source and the sleeper of a client, injectable so retry tests run without real
/// waits.
///
/// The client reads [`Clock::now`] for `created_at`, for a callback's arrival time (when not
/// given) and before each retry decision, and calls [`Clock::sleep`] between attempts. A
/// test clock advances its time in `sleep` instead of waiting:
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, SystemTime};
/// use ghesta_blocking::Clock;
///
/// #[derive(Default)]
/// struct FakeClock(Mutex<Duration>);
///
/// impl Clock for FakeClock {
///     fn now(&self) -> SystemTime {
///         SystemTime::UNIX_EPOCH + *self.0.lock().unwrap()
///     }
///     fn sleep(&self, wait: Duration) {
///         *self.0.lock().unwrap() += wait;
///     }
/// }
///
/// let clock = FakeClock::default();
/// clock.sleep(Duration::from_secs(3));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(3));
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Blocks the calling thread for `wait`.
    fn sleep(&self, wait: Duration);
}

/// The real clock: [`SystemTime::now`] and [`std::thread::sleep`].
///
/// ```
/// use ghesta_blocking::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::SystemTime::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, wait: Duration) {
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TransportError;
    use ghesta_core::http::StatusCode;

    const T0: SystemTime = SystemTime::UNIX_EPOCH;

    fn answer(status: u16, body: &str) -> Error {
        // Errors from real answers, through the core's own parser.
        let config = ghesta_core::Config::new(ghesta_core::Token::new("t").unwrap());
        let code = ghesta_core::PaymentCode::new("c").unwrap();
        let report = ghesta_core::ReportPayment::new(&config, &code);
        let response = http::Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .body(body.as_bytes())
            .unwrap();
        ghesta_core::Exchange::parse_response(&report, response)
            .unwrap_err()
            .into()
    }

    fn unavailable_for(retry_after: &str) -> Error {
        let config = ghesta_core::Config::new(ghesta_core::Token::new("t").unwrap());
        let code = ghesta_core::PaymentCode::new("c").unwrap();
        let report = ghesta_core::ReportPayment::new(&config, &code);
        let response = http::Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .header("retry-after", retry_after)
            .body(&b""[..])
            .unwrap();
        ghesta_core::Exchange::parse_response(&report, response)
            .unwrap_err()
            .into()
    }

    #[test]
    fn retry_after_is_honoured_within_the_longest_wait() {
        let p = RetryPolicy::default(); // 250 ms first wait, 4 s longest
        let decide = |e: &Error, deadline| p.decide(ExchangeKind::Verify, 1, e, T0, deadline);
        assert_eq!(
            decide(&unavailable_for("2"), None),
            Decision::RetryAfter(Duration::from_secs(2)),
            "longer than the backoff: the server's wait"
        );
        assert_eq!(
            decide(&unavailable_for("0"), None),
            Decision::RetryAfter(Duration::from_millis(250)),
            "shorter: the backoff still applies"
        );
        assert_eq!(
            decide(&unavailable_for("5"), None),
            Decision::Stop,
            "over 4 s"
        );
        let deadline = Some(T0 + Duration::from_secs(1));
        assert_eq!(
            decide(&unavailable_for("2"), deadline),
            Decision::Stop,
            "past the deadline"
        );
    }

    fn timeout() -> Error {
        TransportError::timeout("t").into()
    }

    fn retries(policy: &RetryPolicy, kind: ExchangeKind, error: &Error) -> bool {
        matches!(
            policy.decide(kind, 1, error, T0, None),
            Decision::RetryAfter(_)
        )
    }

    #[test]
    fn budget_counts_every_attempt() {
        let p = RetryPolicy::default();
        let waits: Vec<_> = (1..=5)
            .map(|n| p.decide(ExchangeKind::Verify, n, &timeout(), T0, None))
            .collect();
        assert_eq!(
            waits,
            [
                Decision::RetryAfter(Duration::from_millis(250)),
                Decision::RetryAfter(Duration::from_millis(500)),
                Decision::RetryAfter(Duration::from_millis(1000)),
                Decision::Stop,
                Decision::Stop,
            ]
        );
        let p = RetryPolicy::default().with_max_attempts(2);
        assert!(matches!(
            p.decide(ExchangeKind::Verify, 1, &timeout(), T0, None),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            p.decide(ExchangeKind::Verify, 2, &timeout(), T0, None),
            Decision::Stop
        );
        assert!(!retries(
            &RetryPolicy::never(),
            ExchangeKind::Verify,
            &timeout()
        ));
    }

    #[test]
    fn deadline_bounds_the_wait() {
        let p = RetryPolicy::default();
        let at = |ms: u64| T0 + Duration::from_millis(ms);
        // The wait (250 ms) must end strictly before the deadline.
        assert_eq!(
            p.decide(ExchangeKind::Verify, 1, &timeout(), T0, Some(at(251))),
            Decision::RetryAfter(Duration::from_millis(250))
        );
        assert_eq!(
            p.decide(ExchangeKind::Verify, 1, &timeout(), T0, Some(at(250))),
            Decision::Stop
        );
        // Already past it.
        assert_eq!(
            p.decide(ExchangeKind::Verify, 1, &timeout(), at(900), Some(at(600))),
            Decision::Stop
        );
        // The second wait (500 ms) is measured from the time passed in.
        assert_eq!(
            p.decide(ExchangeKind::Verify, 2, &timeout(), at(300), Some(at(700))),
            Decision::Stop
        );
        assert_eq!(
            p.decide(ExchangeKind::Verify, 2, &timeout(), at(300), Some(at(801))),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn kinds() {
        let p = RetryPolicy::default();
        for kind in [
            ExchangeKind::Verify,
            ExchangeKind::Cancel,
            ExchangeKind::Report,
        ] {
            assert!(retries(&p, kind, &timeout()), "{kind:?}");
        }
        assert!(!retries(&p, ExchangeKind::Create, &timeout()));
        assert!(retries(
            &p.clone().with_retry_create(true),
            ExchangeKind::Create,
            &timeout()
        ));
    }

    #[test]
    fn payping_codes_and_statuses() {
        let p = RetryPolicy::default();
        for code in [11, 25, 29, 49] {
            let e = answer(400, &format!(r#"{{"{code}":"x"}}"#));
            assert!(retries(&p, ExchangeKind::Verify, &e), "code {code}");
        }
        for code in [1, 15, 26, 39, 44, 46, 47, 77] {
            let e = answer(400, &format!(r#"{{"{code}":"x"}}"#));
            assert!(!retries(&p, ExchangeKind::Verify, &e), "code {code}");
        }
        for status in [500, 502, 503, 504] {
            assert!(retries(&p, ExchangeKind::Verify, &answer(status, "<html>")));
        }
        for status in [401, 403, 404, 302] {
            assert!(!retries(&p, ExchangeKind::Verify, &answer(status, "")));
        }
        // An unreadable 200 may hide a verify that happened: retrying is safe.
        assert!(retries(&p, ExchangeKind::Verify, &answer(200, "{")));
    }

    #[test]
    fn transport_failures() {
        let p = RetryPolicy::default();
        let yes = [
            TransportError::timeout("t"),
            TransportError::connect("refused"),
            TransportError::connection_lost("reset"),
            TransportError::protocol("garbage"),
        ];
        for e in yes {
            assert!(
                retries(&p, ExchangeKind::Verify, &e.clone().into()),
                "{e:?}"
            );
        }
        let no = [
            TransportError::tls("bad certificate"),
            TransportError::BodyTooLarge { limit: 10 },
            TransportError::other("bad uri"),
        ];
        for e in no {
            assert!(
                !retries(&p, ExchangeKind::Verify, &e.clone().into()),
                "{e:?}"
            );
        }
        let invalid: Error = ghesta_core::Amount::from_toman(1).unwrap_err().into();
        assert!(!retries(&p, ExchangeKind::Verify, &invalid));
    }

    #[test]
    fn backoff_is_capped_and_jitter_stays_in_range() {
        let p = RetryPolicy::default()
            .with_backoff(Duration::from_millis(100), Duration::from_millis(700));
        let waits: Vec<_> = (1..=5).map(|n| p.delay(n)).collect();
        assert_eq!(waits, [100, 200, 400, 700, 700].map(Duration::from_millis));
        assert_eq!(p.delay(u32::MAX), Duration::from_millis(700));
        for seed in 0..50 {
            let j = p.clone().with_jitter_seed(seed);
            for n in 1..=6 {
                let full = p.delay(n);
                let w = j.delay(n);
                assert!(w >= full / 2 && w <= full, "seed {seed} attempt {n}: {w:?}");
                assert_eq!(w, j.delay(n));
            }
        }
        let spread: std::collections::HashSet<_> = (0..50)
            .map(|s| p.clone().with_jitter_seed(s).delay(3))
            .collect();
        assert!(spread.len() > 10, "jitter should spread waits");
        // A zero backoff stays zero, with or without jitter.
        let zero = RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO);
        assert_eq!(zero.delay(3), Duration::ZERO);
        assert_eq!(zero.with_jitter_seed(7).delay(3), Duration::ZERO);
    }
}
