//! The client: one transport, one retry policy, every exchange.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ghesta_core::{
    Callback, CancelPayment, Cancelled, CompletedCallback, Config, ConfigError, CreatePayment,
    Decision, Exchange, Failure, NewPayment, Next, PaymentCode, PaymentReport, Pending, RefId,
    RefundPayment, Refunded, ReportPayment, RetryPolicy, Settlement, Verdict, VerifyOutcome,
    VerifyPayment, confirm_verified,
};

use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::trace;
use crate::transport::{HttpSettings, Transport, UreqTransport};

/// A blocking PayPing client: create, verify, cancel, refund, report, and any other
/// [`Exchange`], on PayPing v2 or v3 (the config's gateway for new payments, the record's for
/// the rest).
///
/// It is `Send + Sync + Clone`; clones share one transport (for the default
/// [`UreqTransport`], one keep-alive pool), so build one per process and clone it into
/// threads and handlers. Defaults: 10 s to connect, 30 s per call, answers capped at 64 KiB,
/// redirects never followed, error statuses read as answers, `User-Agent:
/// ghesta-blocking/<version>`, the [`RetryPolicy::default`] (verify, cancel and report
/// retried, create not).
///
/// ```no_run
/// use ghesta_blocking::Client;
///
/// // PAYPING_TOKEN; for a sandbox, PAYPING_API_URL *and* PAYPING_GATEWAY_URL (with the API
/// // URL alone, the buyer would be sent to the real payping.ir).
/// let client = Client::from_env()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Beside the shared parts, not among them: [`Client::with_config`] makes a client of
    /// another merchant on the same transport without copying anything but a reference.
    config: Config,
}

/// What every client of one pool shares, whatever its merchant.
struct Inner {
    transport: Box<dyn Transport>,
    retry: RetryPolicy,
    clock: Box<dyn Clock>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Config's Debug redacts the token.
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`] with other settings than the defaults.
///
/// ```
/// use std::time::Duration;
/// use ghesta_blocking::{Client, RetryPolicy};
/// use ghesta_core::{BaseUrl, Config, Token};
///
/// // A local sandbox: its API, and its pages for the buyer (else the real payping.ir).
/// let config = Config::new(Token::new("my-token")?)
///     .with_api_url(BaseUrl::api("http://127.0.0.1:8080")?)
///     .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:8080")?);
/// let client = Client::builder(config)
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(20))
///     .max_response_bytes(16 * 1024)
///     .user_agent("my-shop/1.4 (shop@example.com)")
///     .retry_policy(RetryPolicy::default().with_max_attempts(3).with_jitter_seed(std::process::id().into()))
///     .build();
/// assert_eq!(client.retry_policy().max_attempts(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    config: Config,
    http: HttpSettings,
    transport: Option<Box<dyn Transport>>,
    retry: RetryPolicy,
    clock: Box<dyn Clock>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("http", &self.http)
            .field("custom_transport", &self.transport.is_some())
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// How long connecting may take (10 s by default). Applies to the ureq transport only.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_connect_timeout(timeout);
        self
    }

    /// How long one attempt may take in all (30 s by default). Applies to the ureq
    /// transport only; retries add their own attempts and waits.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.http = self.http.with_timeout(timeout);
        self
    }

    /// The largest answer body read (64 KiB by default). Applies to the ureq transport only.
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.http = self.http.with_max_response_bytes(bytes);
        self
    }

    /// The `User-Agent` header (`ghesta-blocking/<version>` by default). Applies to the
    /// ureq transport only.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http = self.http.with_user_agent(user_agent);
        self
    }

    /// All ureq transport settings at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ghesta_blocking::{Client, HttpSettings};
    /// use ghesta_core::{Config, Token};
    ///
    /// let settings = HttpSettings::default().with_timeout(Duration::from_secs(10));
    /// let client = Client::builder(Config::new(Token::new("t")?)).http_settings(settings).build();
    /// # let _ = client;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_settings(mut self, settings: HttpSettings) -> Self {
        self.http = settings;
        self
    }

    /// Sends through `transport` instead of ureq (the HTTP settings above then do not
    /// apply: the transport keeps its own timeouts, cap and redirect rule).
    ///
    /// ```
    /// use ghesta_blocking::{Client, HttpSettings, UreqTransport};
    /// use ghesta_core::{Config, Token};
    ///
    /// // One pool shared by two clients with different tokens.
    /// let transport = UreqTransport::new(&HttpSettings::default());
    /// let shop_a = Client::builder(Config::new(Token::new("token-a")?)).transport(transport.clone()).build();
    /// let shop_b = Client::builder(Config::new(Token::new("token-b")?)).transport(transport).build();
    /// # let _ = (shop_a, shop_b);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(Box::new(transport));
        self
    }

    /// When to retry ([`RetryPolicy::default`] by default).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Whether create is retried (off by default); see [`RetryPolicy::with_retry_create`].
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, Token};
    ///
    /// let client = Client::builder(Config::new(Token::new("t")?)).retry_create(true).build();
    /// assert!(client.retry_policy().retry_create());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_create(mut self, retry: bool) -> Self {
        self.retry = self.retry.with_retry_create(retry);
        self
    }

    /// The clock read for `created_at`, callback arrival and retry deadlines, and used to
    /// sleep between attempts ([`SystemClock`] by default). Tests pass one that does not
    /// really wait.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use ghesta_blocking::{Client, Clock};
    /// use ghesta_core::*;
    ///
    /// /// Always the same instant; sleeping returns at once.
    /// struct Frozen;
    /// impl Clock for Frozen {
    ///     fn now(&self) -> SystemTime { SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) }
    ///     fn sleep(&self, _: Duration) {}
    /// }
    ///
    /// let client = Client::builder(Config::new(Token::new("t")?))
    ///     .transport(|_: HttpRequest| http::Response::builder().body(br#"{"code":"c1"}"#.to_vec()))
    ///     .clock(Frozen)
    ///     .build();
    /// let pending = client.create(NewPayment::new(
    ///     Amount::from_toman(1_000)?,
    ///     ReturnUrl::new("https://shop.example/cb")?,
    ///     ClientRefId::new("o-1")?,
    ///     Mobile::new("09123456789")?,
    /// ))?;
    /// assert_eq!(pending.created_at(), Frozen.now());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The client.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, Token};
    ///
    /// let client = Client::builder(Config::new(Token::new("t")?)).build();
    /// # let _ = client;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Client {
        let transport = self
            .transport
            .unwrap_or_else(|| Box::new(UreqTransport::new(&self.http)));
        Client {
            inner: Arc::new(Inner {
                transport,
                retry: self.retry,
                clock: self.clock,
            }),
            config: self.config,
        }
    }
}

impl Client {
    /// A client for `config` with every default (ureq, rustls or native-tls, the default
    /// retry policy). For a sandbox, set its API URL and its gateway URL: with the API URL
    /// alone, buyers are sent to the real payping.ir.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{BaseUrl, Config, Token};
    ///
    /// let config = Config::new(Token::new("sandbox-token")?)
    ///     .with_api_url(BaseUrl::api("http://127.0.0.1:8080")?)
    ///     .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:8080")?);
    /// let client = Client::new(config);
    /// let for_a_thread = client.clone(); // same connection pool
    /// std::thread::spawn(move || drop(for_a_thread)).join().unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(config: Config) -> Self {
        Self::builder(config).build()
    }

    /// A client configured from the environment: `PAYPING_TOKEN` (required),
    /// `PAYPING_API_URL` and `PAYPING_GATEWAY_URL` (see [`Config::from_env`]). For a sandbox
    /// set both URLs: with `PAYPING_API_URL` alone, buyers are sent to the real payping.ir.
    ///
    /// ```
    /// # use ghesta_blocking::Client;
    /// // With PAYPING_TOKEN unset this says which variable to set (never a token's value).
    /// if let Err(e) = Client::from_env() {
    ///     assert!(e.to_string().contains("PAYPING_TOKEN"));
    /// }
    /// ```
    pub fn from_env() -> std::result::Result<Self, ConfigError> {
        Config::from_env().map(Self::new)
    }

    /// A client sending through `transport`: a closure, or another HTTP stack.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, HttpRequest, PaymentCode, Token};
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    ///     http::Response::builder()
    ///         .status(200)
    ///         .body(br#"{"amount":250000,"isPaid":true}"#.to_vec())
    /// });
    /// let report = client.report(&PaymentCode::new("82a4f72")?)?;
    /// assert!(report.is_paid());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_transport(config: Config, transport: impl Transport + 'static) -> Self {
        Self::builder(config).transport(transport).build()
    }

    /// A builder for `config`, to change any default.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder {
            config,
            http: HttpSettings::default(),
            transport: None,
            retry: RetryPolicy::default(),
            clock: Box::new(SystemClock),
        }
    }

    /// The configuration every exchange is built from.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, Token};
    ///
    /// let client = Client::new(Config::new(Token::new("t")?));
    /// assert_eq!(client.config().api_url().as_str(), "https://api.payping.ir");
    /// assert_eq!(client.retry_policy().max_attempts(), 4);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A client for another merchant's `config` (another PayPing account: its own token,
    /// perhaps its own gateway) on this client's transport, retry policy and clock: one
    /// connection pool for every merchant of the process. It copies nothing but two
    /// reference counts, so it is cheap enough to call per request.
    ///
    /// The token is not shared: every exchange is built from its own client's config and
    /// carries that token in its own request, so a payment is never sent with another
    /// merchant's. Give each merchant a [`MerchantKey`](ghesta_core::MerchantKey)
    /// ([`Config::with_merchant`]) and a stored payment is refused, before any request, by a
    /// client of another merchant ([`ghesta_core::Error::WrongMerchant`]); [`Merchants`]
    /// picks the client of a record's merchant.
    ///
    /// [`Merchants`]: crate::Merchants
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, MerchantKey, Token};
    ///
    /// let pool = Client::new(Config::new(Token::new("token-of-the-marketplace")?));
    /// let tehran = pool.with_config(
    ///     Config::new(Token::new("token-of-tehran")?).with_merchant(MerchantKey::new("shop-tehran")?),
    /// );
    /// assert_eq!(tehran.config().merchant().map(MerchantKey::as_str), Some("shop-tehran"));
    /// assert_eq!(pool.config().merchant(), None); // unchanged
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_config(&self, config: Config) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            config,
        }
    }

    /// Whether `self` and `other` share one transport (one connection pool), as clones and
    /// [`Client::with_config`] do.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::{Config, Token};
    ///
    /// let a = Client::new(Config::new(Token::new("a")?));
    /// assert!(a.shares_transport(&a.with_config(Config::new(Token::new("b")?))));
    /// assert!(!a.shares_transport(&Client::new(Config::new(Token::new("a")?))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shares_transport(&self, other: &Client) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Creates a payment (`POST /v2/pay`), stamped with the client clock's time; store the
    /// [`Pending`] it returns and send the buyer to [`Pending::redirect_url`].
    ///
    /// Not retried unless [`ClientBuilder::retry_create`] opts in.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     assert_eq!(request.uri(), "https://api.payping.ir/v2/pay");
    ///     http::Response::builder().body(br#"{"code":"82a4f72"}"#.to_vec())
    /// });
    /// let pending = client.create(NewPayment::new(
    ///     Amount::from_toman(250_000)?,
    ///     ReturnUrl::new("https://shop.example/ghesta/callback")?,
    ///     ClientRefId::new("order-7")?,
    ///     Mobile::new("09123456789")?,
    /// ))?;
    /// assert_eq!(pending.redirect_url().as_str(), "https://payping.ir/installment/82a4f72?type=ghesta");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(&self, payment: NewPayment) -> Result<Pending> {
        self.create_at(payment, self.inner.clock.now())
    }

    /// Like [`Client::create`], with `created_at` given by the caller.
    ///
    /// ```
    /// # use ghesta_blocking::Client;
    /// # use ghesta_core::*;
    /// # let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    /// #     http::Response::builder().body(br#"{"code":"82a4f72"}"#.to_vec())
    /// # });
    /// # let payment = NewPayment::new(Amount::from_toman(250_000)?,
    /// #     ReturnUrl::new("https://shop.example/cb")?, ClientRefId::new("order-7")?,
    /// #     Mobile::new("09123456789")?);
    /// let at = std::time::SystemTime::UNIX_EPOCH;
    /// let pending = client.create_at(payment, at)?;
    /// assert_eq!(pending.created_at(), at);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_at(&self, payment: NewPayment, created_at: SystemTime) -> Result<Pending> {
        let result = self.execute(&CreatePayment::new(self.config(), payment, created_at));
        trace::done(&result);
        result
    }

    /// Verifies a payment whose callback arrived now, and proves it is the record's. See
    /// [`Client::verify_received_at`]. A shop's callback handler usually wants
    /// [`Client::settle`], which also says what to do when the answer is not a proof.
    ///
    /// It can block for minutes: PayPing v3's "verification in progress" is asked again until
    /// the verify window closes, so a server with few threads verifies off the request
    /// thread. An error after the retries (the network, PayPing's 5xx) says nothing about the
    /// payment: leave the order as it is, and let the sweeper ([`Client::recover`]) settle it
    /// from PayPing's report.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # let pending: Pending = serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#)?;
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     let body: &[u8] = match request.uri().path() {
    ///         "/v2/pay/verify" => {
    ///             assert_eq!(request.body().as_slice(), br#"{"refId":"555","amount":250000}"#);
    ///             br#"{"amount":250000,"cardNumber":"603799******1234"}"#
    ///         }
    ///         // v2's verify names no payment: the report of the record's code binds the refid.
    ///         _ => br#"{"amount":250000,"clientRefId":"order-7","refId":"555","paymentStatus":1}"#,
    ///     };
    ///     http::Response::builder().body(body.to_vec())
    /// });
    /// let Callback::Completed(callback) = Callback::from_form(b"code=82a4f72&refid=555&clientrefid=order-7")?
    ///     else { return Ok(()) };
    /// match client.verify(&pending, &callback)? {
    ///     VerifyOutcome::Verified(paid) => assert_eq!(paid.amount().toman(), 250_000),
    ///     VerifyOutcome::AlreadyVerified(_) => { /* ship only if not shipped yet */ }
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(&self, pending: &Pending, callback: &CompletedCallback) -> Result<VerifyOutcome> {
        self.verify_received_at(pending, callback, self.inner.clock.now())
    }

    /// Verifies a payment whose callback arrived at `received_at`, and proves the answer is
    /// the record's payment.
    ///
    /// A callback that does not match `pending` is refused and nothing is sent
    /// ([`ghesta_core::Error::CallbackMismatch`]). Retryable failures are retried while the
    /// policy allows and never past [`Config::verify_deadline`]`(received_at)`; PayPing's
    /// "still verifying" answers until that deadline (see [`RetryPolicy::decide`]). An answer lost on the way and retried
    /// comes back as [`VerifyOutcome::AlreadyVerified`].
    ///
    /// **The proof.** v2's verify sends `{refId, amount}` and names no payment: a forged
    /// callback carrying another order's refid (same price) verifies *that* payment. So
    /// whenever the answer does not name the record's code and amount (every v2 answer; v3
    /// answers that omit either), the client asks PayPing's report of the record's code
    /// ([`confirm_verified`]): paid, and with the verified reference where it names one. If it
    /// does not bind, the result is [`ghesta_core::Error::NotThisPayment`] (do not ship).
    /// This costs one report call per v2 verify (the token needs `pay:read`).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # let pending: Pending = serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#)?;
    ///
    /// // A forged callback: order-7's code, another payment's refid at the same price.
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     let body: &[u8] = match request.uri().path() {
    ///         "/v2/pay/verify" => br#"{"amount":250000}"#, // PayPing verified *a* payment
    ///         _ => br#"{"amount":250000,"clientRefId":"order-7","paymentStatus":2}"#, // not this one
    ///     };
    ///     http::Response::builder().body(body.to_vec())
    /// });
    /// let Callback::Completed(callback) = Callback::from_form(b"code=82a4f72&refid=999&clientrefid=order-7")?
    ///     else { return Ok(()) };
    /// let received = SystemTime::now() - Duration::from_secs(60);
    /// let err = client.verify_received_at(&pending, &callback, received).unwrap_err();
    /// assert!(matches!(err.as_core(), Some(Error::NotThisPayment { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_received_at(
        &self,
        pending: &Pending,
        callback: &CompletedCallback,
        received_at: SystemTime,
    ) -> Result<VerifyOutcome> {
        let exchange = VerifyPayment::new(self.config(), pending, callback)?;
        let deadline = self.config().verify_deadline(received_at);
        let outcome = self.execute_before(&exchange, Some(deadline))?;
        if !outcome.names_payment() {
            let report = self.report(pending.code())?;
            confirm_verified(pending, exchange.ref_id(), &report)
                .inspect_err(trace::contradiction)?;
        }
        trace::done::<_, ()>(&Ok(&outcome));
        Ok(outcome)
    }

    /// Settles an order from its buyer's callback: verifies the callback's reference,
    /// proves it is the record's payment, and says what to do with the order
    /// ([`Settlement`] decides; this runs its exchanges with the client's retries).
    ///
    /// The only error is a callback that does not belong to `pending`
    /// ([`ghesta_core::Error::CallbackMismatch`]: forged or misrouted; nothing was sent).
    /// Everything else is a [`Verdict`]: [`Verdict::Ship`] (once: the sweeper may reach it
    /// too), [`Verdict::Wait`] (tell the buyer the payment is being confirmed; the sweeper
    /// finishes; a verify or report that failed on the network after its retries is this
    /// too), [`Verdict::Release`] (on PayPing's word only: a cancelled callback is as
    /// unauthenticated as any other, and alone never releases), or
    /// [`Verdict::NeedsAttention`]. After a release, a new payment for the order takes a
    /// fresh clientRefId (see [`Release`](ghesta_core::Release)).
    ///
    /// It may block for minutes while PayPing answers "still verifying": a server with few
    /// threads settles off the request thread, or answers "being confirmed" at once.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # let pending: Pending = serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#)?;
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     let body: &[u8] = match request.uri().path() {
    ///         "/v2/pay/verify" => br#"{"amount":250000}"#,
    ///         _ => br#"{"amount":250000,"clientRefId":"order-7","refId":"555","paymentStatus":1}"#,
    ///     };
    ///     http::Response::builder().body(body.to_vec())
    /// });
    /// let callback = Callback::from_form(b"code=82a4f72&refid=555&clientrefid=order-7")?;
    /// match client.settle(&pending, &callback)? {
    ///     Verdict::Ship(paid) => assert!(paid.verified_now()), // mark paid where still unpaid
    ///     Verdict::Wait(_) => { /* "being confirmed"; the sweeper finishes */ }
    ///     Verdict::Release(_) => { /* PayPing says it will not be paid */ }
    ///     other => panic!("{other:?}"), // PaidAfterRelease, NeedsAttention: see Verdict
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn settle(&self, pending: &Pending, callback: &Callback) -> Result<Verdict> {
        let now = self.inner.clock.now();
        let settlement = Settlement::new(self.config(), pending).with_callback(callback, now)?;
        Ok(self.drive(settlement))
    }

    /// Runs a [`Settlement`] to its verdict: sends each exchange it names (retried as the
    /// policy says, verify until its deadline), hands back each answer or error, and
    /// returns what to do with the order. Never fails: a failure is part of the verdict
    /// ([`Verdict::Wait`] while a payment could still be verified, then
    /// [`Verdict::NeedsAttention`]).
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # let pending: Pending = serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#)?;
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    ///     // The report: the buyer cancelled on PayPing's page.
    ///     http::Response::builder().body(br#"{"amount":250000,"paymentStatus":3}"#.to_vec())
    /// });
    /// // The shop had released the order already; PayPing agrees.
    /// let settlement = Settlement::new(client.config(), &pending).released(true);
    /// assert!(matches!(client.drive(settlement), Verdict::Release(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drive(&self, mut settlement: Settlement) -> Verdict {
        let _settling = trace::settle(settlement.pending()).entered();
        loop {
            match settlement.next(self.inner.clock.now()) {
                Next::Verify { exchange, deadline } => {
                    let result = self
                        .execute_before(&exchange, Some(deadline))
                        .map_err(Error::into_core);
                    trace::done(&result);
                    settlement.verify_answered(&exchange, result);
                }
                Next::Report(exchange) => {
                    let result = self.execute(&exchange).map_err(Error::into_core);
                    settlement.report_answered(result);
                }
                Next::Done(verdict) => {
                    trace::verdict(&verdict);
                    return verdict;
                }
                // A step this version does not know: nothing proven, ask again later.
                _ => return Verdict::Wait(ghesta_core::Waiting::NotProven),
            }
        }
    }

    /// Cancels a payment's code so the buyer can no longer pay it, on the protocol that
    /// created the payment.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     assert_eq!(request.method(), "DELETE");
    ///     http::Response::builder().status(200).body(Vec::new())
    /// });
    /// client.cancel(&pending())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self, pending: &Pending) -> Result<Cancelled> {
        let result = self.execute(&CancelPayment::new(self.config(), pending));
        trace::done(&result);
        result
    }

    /// Refunds a verified PayPing v3 payment to the payer's card: one created reversible
    /// ([`NewPayment::with_reversible`]), verified as `ref_id` at `verified_at` (the
    /// client's clock then), within [`REFUND_WINDOW`] of it. Anything else is refused
    /// before a request exists (the core's
    /// [`RefundRefused`](ghesta_core::Error::RefundRefused)). A refund that may have reached
    /// PayPing is retried only while PayPing says it is in progress (code 156): one whose
    /// answer was lost may have been made, so check PayPing's panel before asking again. One
    /// that never left (a refused connection) is sent again.
    ///
    /// [`REFUND_WINDOW`]: ghesta_core::REFUND_WINDOW
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use ghesta_blocking::{Client, Error};
    /// use ghesta_core::*;
    /// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"P1","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman","gateway":"payping_v3","reversible":true,
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://api.payping.ir/v3/pay/start/P1"}"#).unwrap() }
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |request: HttpRequest| {
    ///     assert_eq!(request.uri().path(), "/v3/pay/reverse");
    ///     http::Response::builder().status(200).body(Vec::new())
    /// });
    /// let refunded = client.refund(&pending(), &RefId::new("7781")?, SystemTime::now())?;
    /// assert_eq!(refunded.code().as_str(), "P1");
    ///
    /// // Past the window: refused, nothing sent.
    /// let err = client.refund(&pending(), &RefId::new("7781")?, SystemTime::UNIX_EPOCH).unwrap_err();
    /// assert!(matches!(err, Error::Core(ghesta_core::Error::RefundRefused(RefundRefusal::WindowPassed))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refund(
        &self,
        pending: &Pending,
        ref_id: &RefId,
        verified_at: SystemTime,
    ) -> Result<Refunded> {
        let now = self.inner.clock.now();
        let refund = RefundPayment::new(self.config(), pending, ref_id, verified_at, now)?;
        let result = self.execute(&refund);
        trace::done(&result);
        result
    }

    /// Settles an order whose callback has not come, from PayPing's report: the sweeper's
    /// call. A payment waiting for the shop (report status 5) is verified with the report's
    /// reference whatever the time (PayPing counts the window from the payment), and proven
    /// as [`Client::settle`] proves it. Call it for every order still unpaid some minutes after
    /// the redirect; `tests/examples/durable_shop` runs such a sweeper.
    ///
    /// It never fails, so one bad order cannot stop a sweep: a report that cannot be had is
    /// [`Verdict::Wait`] while a payment could still be verified, then
    /// [`Verdict::NeedsAttention`] with the error. It is safe beside the real callback:
    /// whichever verifies second sees "already verified", and both reach [`Verdict::Ship`],
    /// so a shop that marks an order paid once (a conditional update) ships once.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    /// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
    ///
    /// struct Frozen;
    /// impl ghesta_blocking::Clock for Frozen {
    ///     fn now(&self) -> std::time::SystemTime { std::time::UNIX_EPOCH + std::time::Duration::from_secs(120) }
    ///     fn sleep(&self, _: std::time::Duration) {}
    /// }
    /// let verified = std::sync::atomic::AtomicBool::new(false);
    /// let client = Client::builder(Config::new(Token::new("t")?))
    ///     .transport(move |request: HttpRequest| {
    ///         let body: &[u8] = match request.uri().path() {
    ///             "/v1/report/82a4f72" if verified.load(std::sync::atomic::Ordering::SeqCst) => {
    ///                 br#"{"amount":250000,"refId":"555","paymentStatus":1}"#
    ///             }
    ///             "/v1/report/82a4f72" => br#"{"amount":250000,"refId":"555","paymentStatus":5}"#,
    ///             _ => {
    ///                 verified.store(true, std::sync::atomic::Ordering::SeqCst);
    ///                 br#"{"amount":250000}"#
    ///             }
    ///         };
    ///         http::Response::builder().body(body.to_vec())
    ///     })
    ///     .clock(Frozen)
    ///     .build();
    /// match client.recover(&pending()) {
    ///     Verdict::Ship(paid) => assert_eq!(paid.ref_id().map(RefId::as_str), Some("555")),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recover(&self, pending: &Pending) -> Verdict {
        self.drive(Settlement::new(self.config(), pending))
    }

    /// What PayPing knows of a payment (`GET /v1/report/{code}`; the token needs
    /// `pay:read`), for reconciliation.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    ///     http::Response::builder()
    ///         .header("X-PayPingRequest-ID", "req-9")
    ///         .body(br#"{"amount":250000,"isPaid":true,"clientRefId":"order-7"}"#.to_vec())
    /// });
    /// let report = client.report(&PaymentCode::new("82a4f72")?)?;
    /// assert!(report.is_paid());
    /// assert_eq!(report.request_id().map(|id| id.as_str()), Some("req-9"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn report(&self, code: &PaymentCode) -> Result<PaymentReport> {
        let result = self.execute(&ReportPayment::new(self.config(), code));
        trace::done(&result);
        result
    }

    /// Runs any exchange: sends its request, parses the answer, retries as the policy says
    /// (with no deadline). A new exchange in the core needs no new code here.
    ///
    /// ```
    /// use ghesta_blocking::Client;
    /// use ghesta_core::*;
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    ///     http::Response::builder().body(br#"{"amount":250000,"isPaid":false}"#.to_vec())
    /// });
    /// let exchange = ReportPayment::new(client.config(), &PaymentCode::new("82a4f72")?);
    /// let report: PaymentReport = client.execute(&exchange)?;
    /// assert!(!report.is_paid());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute<E: Exchange>(&self, exchange: &E) -> Result<E::Output> {
        self.execute_before(exchange, None)
    }

    /// Like [`Client::execute`], with no retry whose wait would end at or past `deadline`.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use ghesta_blocking::{Client, Error};
    /// use ghesta_core::*;
    ///
    /// let client = Client::with_transport(Config::new(Token::new("t")?), |_: HttpRequest| {
    ///     http::Response::builder().status(503).body(Vec::new())
    /// });
    /// let exchange = ReportPayment::new(client.config(), &PaymentCode::new("82a4f72")?);
    /// // The deadline has passed: one attempt, no retry.
    /// let err = client.execute_before(&exchange, Some(SystemTime::UNIX_EPOCH)).unwrap_err();
    /// assert_eq!(err.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute_before<E: Exchange>(
        &self,
        exchange: &E,
        deadline: Option<SystemTime>,
    ) -> Result<E::Output> {
        let inner = &*self.inner;
        let kind = exchange.kind();
        let call = trace::call(exchange);
        let mut attempt = 1;
        loop {
            // Built anew each attempt: `http::Request` is not `Clone`, and the core promises
            // the same bytes every time. A request the core cannot build was never sent.
            let request = exchange.to_request()?;
            let mut seen = call.attempt(attempt, &request);
            // How the attempt failed decides whether it may go again: the core's rules.
            let decide = |failure: Failure<'_>| {
                let now = inner.clock.now();
                inner.retry.decide(kind, attempt, failure, now, deadline)
            };
            let sent = inner.transport.send(request);
            if let Ok(response) = &sent {
                seen.answered(response);
            }
            let (error, decision) = match sent {
                // The core scrubs the token from the answer as it reads it.
                Ok(response) => match exchange.parse_response(response) {
                    Ok(output) => {
                        seen.succeeded();
                        return Ok(output);
                    }
                    Err(error) => {
                        let decision = decide(Failure::Answered(&error));
                        (Error::Core(error), decision)
                    }
                },
                Err(error) => {
                    let decision = decide(error.failure());
                    (Error::Transport(error), decision)
                }
            };
            seen.failed(&error, decision);
            match decision {
                Decision::Stop => return Err(error),
                Decision::RetryAfter(wait) => {
                    inner.clock.sleep(wait);
                    attempt += 1;
                }
            }
        }
    }
}
