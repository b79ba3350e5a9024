//! What every connection and the library handle share: settings, the payments, the clock,
//! the injected faults and the counters. Nothing here knows about HTTP.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::faults::FaultRule;
use crate::state::Store;
use crate::util::{lock, mix};

/// How the keys of the earlier result in a v3 409/110 are written
/// ([`Options::already_verified_keys`](crate::Options::already_verified_keys)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyCase {
    /// `Amount`, `CardNumber`, `Code`, `PaymentRefId`, `PayedDate`, ...: as PayPing's doc
    /// example of the 409 shows it (the default).
    #[default]
    Pascal,
    /// `amount`, `cardNumber`, `code`, ...: as v3's schema says, the 200 answer's record.
    Camel,
}

/// The settings the running sandbox needs.
pub(crate) struct Config {
    pub(crate) token: String,
    pub(crate) extra_tokens: Vec<String>,
    pub(crate) verify_window: Duration,
    pub(crate) expired_code: u32,
    pub(crate) already_verified_keys: KeyCase,
    /// Whether the report answers for payments created on v3 (else 404).
    pub(crate) report_v3_codes: bool,
    /// `https` when the sandbox serves TLS: the scheme of the pages it names in answers.
    pub(crate) scheme: &'static str,
}

/// The sandbox clock: wall time at start, plus elapsed real time, plus an advance offset.
pub(crate) struct Clock {
    base: SystemTime,
    started: Instant,
    offset: Mutex<Duration>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            base: SystemTime::now(),
            started: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.base + self.started.elapsed() + *lock(&self.offset)
    }

    pub(crate) fn advance(&self, by: Duration) {
        *lock(&self.offset) += by;
    }
}

/// Everything the server's tasks and the [`crate::Sandbox`] handle share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Mutex<Store>,
    pub(crate) clock: Clock,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    /// Requests seen per [`crate::Route`], by [`crate::Route::index`].
    pub(crate) counts: [AtomicU64; 6],
    /// TCP connections accepted.
    pub(crate) connections: AtomicU64,
    /// TLS handshakes completed.
    pub(crate) tls_handshakes: AtomicU64,
    answers: AtomicU64,
    seed: u64,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = mix(nanos ^ u64::from(std::process::id()));
        Shared {
            config,
            store: Mutex::new(Store::new(seed)),
            clock: Clock::new(),
            faults: Mutex::new(Vec::new()),
            counts: Default::default(),
            connections: AtomicU64::new(0),
            tls_handshakes: AtomicU64::new(0),
            answers: AtomicU64::new(0),
            seed,
        }
    }

    /// The next `X-PayPingRequest-ID`: `sbx-<counter>-<12 hex>`.
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.answers.fetch_add(1, Ordering::Relaxed) + 1;
        format!("sbx-{n}-{:012x}", mix(n ^ self.seed) >> 16)
    }

    /// The token of an `Authorization: Bearer <token>` header, if the sandbox knows it.
    pub(crate) fn authorize<'a>(&'a self, header: Option<&str>) -> Option<&'a str> {
        let value = header?.trim();
        let (scheme, token) = value.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        self.token(token.trim())
    }

    /// Whether `token` is one of the sandbox's merchants.
    pub(crate) fn knows_token(&self, token: &str) -> bool {
        self.token(token).is_some()
    }

    fn token<'a>(&'a self, token: &str) -> Option<&'a str> {
        std::iter::once(&self.config.token)
            .chain(&self.config.extra_tokens)
            .find(|t| t.as_str() == token)
            .map(String::as_str)
    }
}
