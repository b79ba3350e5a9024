//! A stateful emulator of PayPing's payment API and Ghesta's installment gateway.
//!
//! Like stripe-mock, but stateful: a payment created here can be paid on a gateway page,
//! verified once (a second verify answers "already verified": v2's code 15, v3's 409 with
//! code 110), refunded (v3), expire when its verify window passes on a
//! clock you can advance, and be hit by network faults you switch on. It speaks the wire
//! protocol only, so any PayPing client can run against it; the SDK's end-to-end suite does.
//!
//! The API and the buyer's gateway pages are served on one address, plain HTTP, by default
//! `127.0.0.1` on a free port; HTTPS on request ([`Options::tls`]), with a certificate made at
//! start whose CA [`Sandbox::ca_certificate_pem`] gives to trust.
//!
//! # Starting it
//!
//! From a test:
//!
//! ```
//! use ghesta_sandbox::{Options, Sandbox};
//!
//! let sandbox = Sandbox::start(Options::default())?;
//! let base = sandbox.base_url(); // "http://127.0.0.1:PORT"
//! let token = sandbox.token(); // send as `Authorization: Bearer <token>`
//! # let _ = (base, token);
//! drop(sandbox); // stops the server and joins its threads
//! # Ok::<(), ghesta_sandbox::SandboxError>(())
//! ```
//!
//! As a program, for a shop under development:
//!
//! ```text
//! cargo run -p ghesta-sandbox -- --listen 127.0.0.1:8080 --token TOKEN
//! ```
//!
//! It prints `listening on http://ADDR` as its first line and serves until killed. Options:
//! `--listen ADDR` (default `127.0.0.1:0`), `--token TOKEN` (default
//! [`DEFAULT_TOKEN`]), `--extra-token TOKEN` (repeatable: [`Options::extra_token`]),
//! `--verify-window-secs N`, `--already-verified-keys pascal|camel`
//! ([`Options::already_verified_keys`]), `--no-report-v3-codes`
//! ([`Options::report_v3_codes`]), `--allow-remote` (needed to listen on a
//! non-loopback address), `--tls` (HTTPS with a certificate made at start; the first line then
//! says `https://`) with `--ca-out PATH` (where to write the CA to trust), or `--tls-cert FILE
//! --tls-key FILE` (HTTPS with your PEM certificate chain and key), `--help`.
//!
//! # The API it serves
//!
//! One payment lifecycle ([`PaymentState`]) behind two wire faces, PayPing v2 and v3: one
//! state machine decides every verify, cancel and refund and says why it refuses in
//! PayPing's terms, and each face answers that in its own codes and writes its own callback
//! form. A
//! payment belongs to the API it was created on ([`ApiVersion`]): v2's calls do not see a
//! v3 payment (26, 44) and v3's refuse a v2 one (124). The report and the gateway pages
//! serve both.
//!
//! ## PayPing v2
//!
//! | method, path | what |
//! |---|---|
//! | `POST /v2/pay` | create; JSON `amount`, `returnUrl`, `payerIdentity`, `payerName`, `description`, `clientRefId`; answers `{"code": ...}` |
//! | `POST /v2/pay/verify` | verify; JSON `refId`, `amount`; answers `amount`, `cardNumber`, `cardHashPan` |
//! | `DELETE /v2/pay/{code}` | the shop cancels a payment code; 200, empty body |
//! | `GET /v1/report/{code}` | PayPing's `PaymentDetailsViewModel` |
//! | `GET /installment/{code}?type=ghesta`, `GET /v2/pay/gotoipg/{code}` | the buyer's gateway page with buttons `#approve`, `#cancel`, `#fail` |
//! | `POST /installment/{code}/{approve,cancel,fail}` | the buyer's action; answers a page that auto-POSTs the callback form to `returnUrl` (button `#continue` without JavaScript) |
//!
//! ## PayPing v3
//!
//! | method, path | what |
//! |---|---|
//! | `POST /v3/pay` | create; JSON `amount`, `returnUrl`, `clientRefId` (required, a JSON string), `payerIdentity`, `payerName`, `description`, `isReversible`; answers `paymentCode`, `url` (the start page here), `amount`, `gatewayAmount`, `payerWage`, `businessWage`, `paypingVat` |
//! | `GET /v3/pay/start/{paymentCode}` | the buyer's gateway page, the same buttons as v2's |
//! | `POST /v3/pay/verify` | verify; JSON `paymentRefId` (integer), `paymentCode`, `amount`; answers the record: `amount`, `cardNumber`, `cardHashPan`, `clientRefId`, `paymentRefId`, `code`, `payedDate`, `gatewayAmount`, `payerWage`, `businessWage`, `paypingVat` |
//! | `DELETE /v3/pay` | the shop deletes a payment code, JSON `{"paymentCode"}`; 204, empty body |
//! | `POST /v3/pay/reverse` | refund, JSON `paymentRefId`, `paymentCode`; 200 `{"paymentCode", "paymentRefId", "amount"}` |
//!
//! v3's callback form is `status` (`1` paid, `0` not), `errorCode` (empty when paid or
//! cancelled by the buyer) and `data`, a JSON string: `clientRefId`, `paymentCode`,
//! `amount`, `gatewayAmount`, and when paid `paymentRefId` (a number), `cardNumber`,
//! `cardHashPan`. It is POSTed to `returnUrl` as given, query string included.
//!
//! v3's errors are problem details, status 400 unless said otherwise:
//! `{"type", "title", "status", "detail", "instance", "paypingTraceId", "metaData": {"code",
//! "errors": [{"message"}]}}`, with `paypingTraceId` equal to the answer's
//! `X-PayPingRequest-ID`. A second verify of a verified payment is 409 (title
//! `ConflictException`) with `metaData.code` 110 and the earlier result in
//! `metaData.message`, written as PayPing's doc example writes it: PascalCase keys `Amount`,
//! `PayerWage`, `BusinessWage`, `GatewayAmount`, `CardNumber`, `CardHashPan`, `ClientRefId`,
//! `PaymentRefId`, `Code`, `PayedDate` (as `2024-08-03 10:30:00Z`); with
//! [`Options::already_verified_keys`]`(`[`KeyCase::Camel`]`)` it is the 200 answer's record
//! instead. 401 is empty, as on v2.
//!
//! Every answer carries `X-PayPingRequest-ID` (except an injected [`Fault::HtmlBadGateway`],
//! which plays a proxy in front of PayPing). JSON answers are
//! `application/json; charset=utf-8`. Errors are 400 with a JSON object mapping a PayPing
//! code, or a field name, to a Persian message, e.g. `{"15":"این تراکنش قبلا تایید شده است"}`.
//! A missing or unknown token is 401 with an empty body. An unknown path is 404 (empty), a
//! known path with the wrong method 405 (with `Allow`).
//!
//! # Control endpoints (for tests; under `/__sandbox/`, no auth, JSON)
//!
//! | method, path | what |
//! |---|---|
//! | `POST /__sandbox/payments/{code}/approve[?deliver=true]` | act as the buyer; answers `{"returnUrl", "fields": [[name, value], ...], "body", "delivery": null or {"status", "body"}}` |
//! | `POST /__sandbox/payments/{code}/cancel[?deliver=true]` | same, buyer cancels |
//! | `POST /__sandbox/payments/{code}/fail[?code=N][&deliver=true]` | same, payment fails with code N (default 39 on v2, 127 on v3) |
//! | `GET /__sandbox/payments[?token=TOKEN]`, `GET /__sandbox/payments/{code}` | payments (with `token`, only that merchant's: see [`Sandbox::payments_of`]) with `state`, `version`, `refId`, `verifyCount`, `createdAt`, `paidAt`, `verifiedAt`, `opened`, `reversible`, ... |
//! | `POST /__sandbox/clock/advance?seconds=N` (or `?millis=N`), `GET /__sandbox/clock` | move the sandbox clock forward; read it |
//! | `GET /__sandbox/connections` | `{"accepted": N}`, TCP connections accepted |
//! | `GET /__sandbox/requests` | requests seen per route: `{"create": N, "verify": N, ...}` |
//! | `POST /__sandbox/faults` | inject a fault, e.g. `{"route":"verify","kind":"status","status":503,"times":1}` |
//! | `DELETE /__sandbox/faults` | remove all faults |
//!
//! Fault JSON: `route` is `create`, `verify`, `cancel`, `report`, `gateway` or `refund`;
//! `kind` is `delay` (with `millis`), `status` (with `status`), `html_bad_gateway`,
//! `close_mid_answer`, `truncated_body`, `oversized_body` (with `bytes`, default 1 MiB),
//! `malformed_json` or `in_progress` (v3's "verification still in progress", with
//! `status`, default 202); `times` is a number, `"once"` (the default) or `"always"`.
//! With `deliver=true` the sandbox POSTs the callback form to `returnUrl` itself (loopback
//! hosts only; refused before the buyer acts otherwise) and reports the shop's answer.
//!
//! # Faults
//!
//! [`Sandbox::inject`] (or `POST /__sandbox/faults`) makes the next matching requests of a
//! [`Route`] go wrong; see [`Fault`] for each kind and whether the request is still
//! processed. "Processed" faults change state exactly as a normal request would, so
//! [`Fault::CloseMidAnswer`] on verify is "the payment is verified, but the shop never heard".
//!
//! # How it serves
//!
//! The sandbox runs [hyper](https://docs.rs/hyper)'s HTTP/1.1 server on a tokio runtime of
//! its own: one thread runs every connection, and a small pool of threads runs the control
//! endpoints (a callback delivery blocks). A test or a shop using it needs no async code. Its accept loop counts every TCP connection it accepts
//! ([`Sandbox::connections_accepted`], whether or not a request follows) and serves each on
//! a task of its own for as long as the client keeps it open: any number of clients may open
//! keep-alive connections at once and every one is answered. A delay fault is a timer, so
//! it holds up only its own request. Header names in normal answers are written in lower
//! case, as hyper writes them (HTTP header names are case-insensitive); the two faults that
//! break framing write their bytes as given, `X-PayPingRequest-ID` included.
//!
//! Dropping the [`Sandbox`] closes every connection at once (a request in a delay fault is
//! never answered) and joins the server's threads. A callback delivery still running then
//! gets a second to finish.
//!
//! # Behaviour
//!
//! Where PayPing's public material is silent, the sandbox chose:
//!
//! - **Amounts** are Toman, integers in 100 ..= 50,000,000 for create and verify; anything
//!   else (missing, fractional, out of range) is 400 `{"amount": ...}`.
//! - **Field names** in request JSON match ignoring ASCII case (PayPing's model binding is
//!   case-insensitive); unknown members are ignored; `null` counts as absent. A body that is
//!   not a JSON object (or over 64 KiB) is 400 `{"body": ...}`. `returnUrl` and `refId` must
//!   be non-empty strings (else 400 with that field name); `returnUrl` is not otherwise
//!   checked, as PayPing's code 38 depends on the merchant's registered site.
//! - **Duplicate `clientRefId`** is accepted: PayPing documents no code for it.
//! - **Auth**: `Authorization: Bearer <token>`, scheme in any case. The primary token and any
//!   extra tokens ([`Options::extra_token`]) are all valid, one merchant each; a payment
//!   belongs to the token that created it, and every route is that merchant's alone: to
//!   another token the payment is unknown (report and v2 cancel 26, every v3 call 122), except
//!   v2's verify, which answers 46 as PayPing documents ("the token that created the payment
//!   differs from the token verifying it") and changes nothing.
//! - **Codes and refIds are matched byte for byte**: never trimmed nor re-cased, so a padded
//!   code is another code, hence unknown (26, 44 or 122). A blank one is missing (400, as
//!   ASP.NET's `[Required]` says).
//! - **Verify checks, in order**: 401; field validation; refId unknown (or a v3 payment's):
//!   44; other token: 46; cancelled by the buyer or by the shop: 1; failed: the failure's code; already verified:
//!   15; expired: the expired code; verify window passed (sandbox clock after paid time plus
//!   window, default 10 minutes): the expired code (default 39) and the payment becomes
//!   [`PaymentState::Expired`]; amount differs: 47 (state unchanged, a correct verify within
//!   the window still works); otherwise 200 and [`PaymentState::Verified`].
//! - **refIds** are nine-digit numbers, given when the buyer acts. A buyer cancel also gets
//!   one internally (see [`PaymentSnapshot::ref_id`]) but the callback's `refid` is empty;
//!   verify with that refId answers 1, with an empty refId 400 `{"refId": ...}`.
//! - **Buyer failure** defaults to code 39 ([`DEFAULT_FAILURE_CODE`]); its callback carries a
//!   refId and empty card fields, and verify of that refId answers the failure's code.
//! - **Cancel by the shop** (`DELETE`): unknown code (or another merchant's, or a v3
//!   payment's) 26, verified 15; a
//!   created or paid payment becomes [`PaymentState::CancelledByShop`] (its gateway page then
//!   answers 409, its verify 1); a payment already void (buyer-cancelled, failed, expired,
//!   cancelled) answers 200 and keeps its state.
//! - **Reports** (both protocols, to the merchant that created the payment; any other token
//!   gets 26 as for an unknown code; with [`Options::report_v3_codes`]`(false)` a v3
//!   payment's report is 404 with an empty body): `isPaid` is true only once verified; `payDate`,
//!   `invoiceNo` and `refId` (the refId; a number for a v3 payment's paymentRefId) and
//!   `rrn` (the masked card) are set once the buyer approved, else null; `paymentStatus` is
//!   0 created, 2 the buyer opened its gateway page, 5 paid and waiting for the shop's
//!   verify, 1 verified (also once refunded, with `isRefund` true), 3 cancelled by the
//!   buyer or the shop or failed at the gateway, 4 paid but voided (not verified within the
//!   window; a paid payment stays 5 past the window until a verify is tried, which voids
//!   it); `wage` 0, `ipgName` `"Ghesta"` (v2) or `"PayPing"` (v3), `clientId`
//!   `"sandbox"`, `platform`/`browser` null. Dates are RFC 3339 UTC from the sandbox clock.
//! - **Payment codes**: v2's are 13 lowercase alphanumerics; v3's 26 characters of
//!   Crockford base32, upper case, ULID-like (the creation time in milliseconds, then 80
//!   bits); both unique per sandbox (a bijective mix of a counter and a per-instance seed).
//!   **Request ids** are `sbx-<counter>-<12 hex>`.
//! - **v3 create**: `clientRefId` is required and must be a JSON string, `isReversible` a
//!   boolean; anything invalid is code 101 with one message per field. Fees: the merchant
//!   pays a 1% `businessWage` plus 10% `paypingVat` on it; `payerWage` 0, so
//!   `gatewayAmount` is the amount.
//! - **v3 verify checks, in order**: 401; field validation (101); unknown code, or another
//!   merchant's, 122; a v2 payment 124; the buyer has not acted 121; `paymentRefId` not the
//!   payment's 133; cancelled by the buyer 127; failed 121; cancelled by the shop, expired or
//!   refunded 131; already verified 409/110; verify window passed 131 (and the payment
//!   becomes [`PaymentState::Expired`]); amount differs 137 (state unchanged); otherwise 200
//!   and [`PaymentState::Verified`].
//! - **v3 delete** (`DELETE /v3/pay`): 122, 124 as verify; a payment whose gateway page the
//!   buyer never opened becomes [`PaymentState::CancelledByShop`] (204, again 204); once the
//!   buyer reached the gateway (opened the page, or acted), 129. The 129 keeps `metaData`
//!   so a client can tell it from other refusals.
//! - **v3 reverse**: 122, 124 as verify; `paymentRefId` not the payment's 133; not created
//!   reversible 134; not verified (or refunded already) 131; more than 30 minutes after
//!   verify on the sandbox clock 135; otherwise [`PaymentState::Refunded`].
//! - **v3 buyer failure** defaults to `errorCode` 127 ([`DEFAULT_V3_FAILURE_CODE`]); a buyer
//!   cancel sends `status` 0 and an empty `errorCode`.
//! - **Cards**: `603799******NNNN` and a 64-hex-digit `cardHashPan`, derived from the refId.
//! - **Gateway pages** of a payment no longer in [`PaymentState::Created`] answer 409; unknown
//!   codes 404; both are HTML.
//! - **Paying late**: an unpaid payment never expires (PayPing documents no expiry of a
//!   payment code), so the buyer may approve, cancel or fail it however long after its
//!   creation. The verify window runs from the payment, not from the create: a buyer who pays
//!   30 minutes after the create can be verified until 30 minutes plus the window; report
//!   status 5 until then and after (until a verify is tried).
//! - **Clock**: wall time at start, plus real elapsed time, plus whatever
//!   [`Sandbox::advance`] added.
#![forbid(unsafe_code)]
// On docs.rs (nightly, `--cfg docsrs`): each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod answer;
mod api_v2;
mod api_v3;
mod body;
mod buyer;
mod control;
mod delivery;
mod error;
mod faults;
mod gateway;
mod pages;
mod report;
mod route;
mod server;
mod shared;
mod state;
mod tls;
mod util;
mod wire;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use api_v2::DEFAULT_FAILURE_CODE;
pub use api_v3::DEFAULT_V3_FAILURE_CODE;
pub use buyer::CallbackForm;
pub use delivery::Delivery;
pub use error::SandboxError;
pub use faults::{Fault, Times};
pub use route::Route;
pub use shared::KeyCase;
pub use state::{ApiVersion, PaymentSnapshot, PaymentState};
pub use tls::Tls;

use server::Server;
use shared::{Config, Shared};
use util::lock;

/// The primary token when [`Options::token`] is not set.
pub const DEFAULT_TOKEN: &str = "sandbox-token";

/// Requests seen per route since start (every request routed there, including those
/// answered 401, 400 or by a fault).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestCounts {
    /// `POST /v2/pay`, `POST /v3/pay`.
    pub create: u64,
    /// `POST /v2/pay/verify`, `POST /v3/pay/verify`.
    pub verify: u64,
    /// `DELETE /v2/pay/{code}`, `DELETE /v3/pay`.
    pub cancel: u64,
    /// `GET /v1/report/{code}`.
    pub report: u64,
    /// Gateway pages and buyer actions.
    pub gateway: u64,
    /// `POST /v3/pay/reverse`.
    pub refund: u64,
}

impl RequestCounts {
    /// The count of one route.
    pub fn get(&self, route: Route) -> u64 {
        match route {
            Route::Create => self.create,
            Route::Verify => self.verify,
            Route::Cancel => self.cancel,
            Route::Report => self.report,
            Route::Gateway => self.gateway,
            Route::Refund => self.refund,
        }
    }
}

/// How to start a [`Sandbox`].
///
/// ```
/// use std::time::Duration;
/// use ghesta_sandbox::Options;
///
/// let options = Options::default()
///     .token("shop-token")
///     .extra_token("other-merchant")
///     .verify_window(Duration::from_secs(15 * 60))
///     .expired_code(39);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    token: String,
    extra_tokens: Vec<String>,
    verify_window: Duration,
    expired_code: u32,
    already_verified_keys: KeyCase,
    report_v3_codes: bool,
    listen: SocketAddr,
    tls: Option<Tls>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            token: DEFAULT_TOKEN.to_owned(),
            extra_tokens: Vec::new(),
            verify_window: Duration::from_secs(10 * 60),
            expired_code: DEFAULT_FAILURE_CODE,
            already_verified_keys: KeyCase::Pascal,
            report_v3_codes: true,
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: None,
        }
    }
}

impl Options {
    /// The primary token (default [`DEFAULT_TOKEN`]).
    pub fn token(mut self, token: impl Into<String>) -> Options {
        self.token = token.into();
        self
    }

    /// Another valid token, as if of another merchant. Each merchant sees only the payments
    /// it created: another merchant's is unknown to the report (26), to v2's cancel (26) and
    /// to every v3 call (122); v2's verify names it with code 46, as PayPing documents.
    /// [`Sandbox::payments_of`] lists one merchant's payments.
    ///
    /// ```
    /// use ghesta_sandbox::{Options, Sandbox};
    ///
    /// let sandbox = Sandbox::start(Options::default().extra_token("second-shop"))?;
    /// assert!(sandbox.payments_of("second-shop").is_empty());
    /// # Ok::<(), ghesta_sandbox::SandboxError>(())
    /// ```
    pub fn extra_token(mut self, token: impl Into<String>) -> Options {
        self.extra_tokens.push(token.into());
        self
    }

    /// How long after the buyer paid verify still succeeds (default 10 minutes).
    pub fn verify_window(mut self, window: Duration) -> Options {
        self.verify_window = window;
        self
    }

    /// The code verify answers once the window has passed (default 39).
    pub fn expired_code(mut self, code: u32) -> Options {
        self.expired_code = code;
        self
    }

    /// How the earlier result inside v3's 409/110 ("already verified") writes its keys:
    /// [`KeyCase::Pascal`] by default (`Amount`, `CardNumber`, `Code`, `PaymentRefId`,
    /// `PayedDate`, ... as PayPing's doc example shows, `PayedDate` as
    /// `2024-08-03 10:30:00Z`), or [`KeyCase::Camel`] (the 200 answer's record, as v3's
    /// schema says). A client should read either.
    ///
    /// ```
    /// use ghesta_sandbox::{KeyCase, Options};
    ///
    /// let schema_case = Options::default().already_verified_keys(KeyCase::Camel);
    /// # let _ = schema_case;
    /// ```
    pub fn already_verified_keys(mut self, case: KeyCase) -> Options {
        self.already_verified_keys = case;
        self
    }

    /// Whether `GET /v1/report/{code}` answers for payments created on v3 (default `true`).
    /// With `false` it answers 404 with an empty body for them, as PayPing would if its v1
    /// report knew only v2 codes (whether it serves v3 codes is unconfirmed); v2 payments are
    /// reported as before.
    ///
    /// ```
    /// use ghesta_sandbox::Options;
    ///
    /// let v2_only_report = Options::default().report_v3_codes(false);
    /// # let _ = v2_only_report;
    /// ```
    pub fn report_v3_codes(mut self, serve: bool) -> Options {
        self.report_v3_codes = serve;
        self
    }

    /// Where to listen (default `127.0.0.1:0`, a free port). The library does not refuse
    /// non-loopback addresses; the binary does unless `--allow-remote` is given.
    pub fn listen(mut self, addr: SocketAddr) -> Options {
        self.listen = addr;
        self
    }

    /// Serve HTTPS with this certificate instead of plain HTTP (the default); see
    /// [`Sandbox::ca_certificate_pem`] for what to trust.
    pub fn tls(mut self, tls: Tls) -> Options {
        self.tls = Some(tls);
        self
    }
}

/// A running sandbox. Dropping it closes its connections, stops the server and joins its
/// threads.
///
/// ```
/// use ghesta_sandbox::{Options, PaymentState, Sandbox};
///
/// let sandbox = Sandbox::start(Options::default())?;
/// let agent = ureq::Agent::config_builder()
///     .http_status_as_error(false)
///     .build()
///     .new_agent();
/// let mut answer = agent
///     .post(&format!("{}/v2/pay", sandbox.base_url()))
///     .header("Authorization", &format!("Bearer {}", sandbox.token()))
///     .header("Content-Type", "application/json")
///     .send(r#"{"amount":10000,"returnUrl":"http://127.0.0.1:9/back"}"#)
///     .unwrap();
/// let body: serde_json::Value =
///     serde_json::from_str(&answer.body_mut().read_to_string().unwrap()).unwrap();
/// let code = body["code"].as_str().unwrap();
///
/// let form = sandbox.approve(code)?;
/// assert_eq!(form.get("code"), Some(code));
/// assert_eq!(sandbox.payment(code).unwrap().state, PaymentState::Paid);
/// # Ok::<(), ghesta_sandbox::SandboxError>(())
/// ```
pub struct Sandbox {
    shared: Arc<Shared>,
    addr: SocketAddr,
    base_url: String,
    ca_pem: Option<String>,
    /// Stops and joins on drop.
    _server: Server,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Binds and starts serving; returns once the address is bound (connections made from
    /// then on are accepted).
    pub fn start(options: Options) -> Result<Sandbox, SandboxError> {
        let listener = TcpListener::bind(options.listen)?;
        let addr = listener.local_addr()?;
        let scheme = if options.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let shared = Arc::new(Shared::new(Config {
            token: options.token,
            extra_tokens: options.extra_tokens,
            verify_window: options.verify_window,
            expired_code: options.expired_code,
            already_verified_keys: options.already_verified_keys,
            report_v3_codes: options.report_v3_codes,
            scheme,
        }));
        let host = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let identity = match &options.tls {
            Some(tls) => Some(tls::identity(tls, addr.ip())?),
            None => None,
        };
        let ca_pem = identity.as_ref().and_then(|i| i.ca_pem.clone());
        let server = Server::start(listener, Arc::clone(&shared), identity.map(|i| i.config))?;
        Ok(Sandbox {
            shared,
            addr,
            base_url: format!("{scheme}://{}", SocketAddr::new(host, addr.port())),
            ca_pem,
            _server: server,
        })
    }

    /// `http://HOST:PORT` (`https://` with [`Options::tls`]), where both the API and the
    /// gateway pages are served (an unspecified listen address is shown as loopback).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the certificate made at start with
    /// [`Tls::Generated`]: trust it to connect over HTTPS. `None` for plain HTTP, and for a
    /// [`Tls::Given`] certificate (its CA is the caller's).
    ///
    /// ```
    /// use ghesta_sandbox::{Options, Sandbox, Tls};
    ///
    /// let sandbox = Sandbox::start(Options::default().tls(Tls::Generated))?;
    /// assert!(sandbox.base_url().starts_with("https://127.0.0.1:"));
    /// let ca = sandbox.ca_certificate_pem().expect("made at start");
    /// assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<(), ghesta_sandbox::SandboxError>(())
    /// ```
    pub fn ca_certificate_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The primary token.
    pub fn token(&self) -> &str {
        &self.shared.config.token
    }

    /// The buyer approves: the payment becomes [`PaymentState::Paid`] with a refId and card.
    pub fn approve(&self, code: &str) -> Result<CallbackForm, SandboxError> {
        self.buyer(code, state::BuyerAction::Approve)
    }

    /// The buyer cancels: [`PaymentState::CancelledByBuyer`]; the callback's `refid` and card
    /// fields are empty.
    pub fn cancel_as_buyer(&self, code: &str) -> Result<CallbackForm, SandboxError> {
        self.buyer(code, state::BuyerAction::Cancel)
    }

    /// The payment fails at the gateway with `error_code` (e.g. [`DEFAULT_FAILURE_CODE`]):
    /// [`PaymentState::Failed`]; the callback carries a refId whose verify answers that code.
    pub fn fail(&self, code: &str, error_code: u32) -> Result<CallbackForm, SandboxError> {
        self.buyer(code, state::BuyerAction::Fail(Some(error_code)))
    }

    fn buyer(&self, code: &str, action: state::BuyerAction) -> Result<CallbackForm, SandboxError> {
        let now = self.shared.clock.now();
        buyer::act(&mut lock(&self.shared.store), code, action, now)
    }

    /// POSTs the form to its `returnUrl` as the buyer's browser would
    /// (`application/x-www-form-urlencoded`), and returns the shop's answer. Only `http` URLs
    /// on loopback hosts (127.0.0.0/8, `::1`, `localhost`); redirects are not followed.
    pub fn deliver(&self, form: &CallbackForm) -> Result<Delivery, SandboxError> {
        delivery::deliver_form(form)
    }

    /// Moves the sandbox clock forward (verify windows and report dates follow it).
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Every payment, in creation order.
    pub fn payments(&self) -> Vec<PaymentSnapshot> {
        lock(&self.shared.store).snapshots()
    }

    /// The payments the merchant with this token created, in creation order (empty for a
    /// token the sandbox does not know). Over HTTP: `GET /__sandbox/payments?token=TOKEN`.
    ///
    /// ```
    /// use ghesta_sandbox::{Options, Sandbox};
    ///
    /// let sandbox = Sandbox::start(Options::default().extra_token("second-shop"))?;
    /// // ... both merchants create payments over the API ...
    /// let mine = sandbox.payments_of(sandbox.token());
    /// let theirs = sandbox.payments_of("second-shop");
    /// assert_eq!(mine.len() + theirs.len(), sandbox.payments().len());
    /// # Ok::<(), ghesta_sandbox::SandboxError>(())
    /// ```
    pub fn payments_of(&self, token: &str) -> Vec<PaymentSnapshot> {
        lock(&self.shared.store).snapshots_of(token)
    }

    /// One payment by code.
    pub fn payment(&self, code: &str) -> Option<PaymentSnapshot> {
        lock(&self.shared.store).get(code).map(|p| p.snap.clone())
    }

    /// TCP connections accepted on the sandbox's address since start, whether or not a
    /// request followed. Keep-alive reuse shows up as fewer connections than requests.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// TLS handshakes completed since start (0 for plain HTTP). A client that keeps its
    /// connections alive makes one per connection, however many calls it sends.
    pub fn tls_handshakes(&self) -> u64 {
        self.shared.tls_handshakes.load(Ordering::Relaxed)
    }

    /// Makes the next matching requests on `route` go wrong (see [`Fault`]). Rules apply in
    /// injection order, one fault per request.
    ///
    /// ```
    /// use ghesta_sandbox::{Fault, Options, Route, Sandbox, Times};
    ///
    /// let sandbox = Sandbox::start(Options::default())?;
    /// sandbox.inject(Route::Verify, Fault::Status(503), Times::Once);
    /// sandbox.inject(Route::Create, Fault::CloseMidAnswer, Times::N(2));
    /// sandbox.clear_faults();
    /// # Ok::<(), ghesta_sandbox::SandboxError>(())
    /// ```
    pub fn inject(&self, route: Route, fault: Fault, times: Times) {
        lock(&self.shared.faults).push(faults::FaultRule::new(route, fault, times));
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Requests seen per route since start.
    pub fn requests_seen(&self) -> RequestCounts {
        let c = |r: Route| self.shared.counts[r.index()].load(Ordering::Relaxed);
        RequestCounts {
            create: c(Route::Create),
            verify: c(Route::Verify),
            cancel: c(Route::Cancel),
            report: c(Route::Report),
            gateway: c(Route::Gateway),
            refund: c(Route::Refund),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::io::Write;
    use std::net::TcpStream;

    use super::*;

    /// Threads of this process named by the sandbox's server (Linux shows the first 15
    /// bytes of a name: `ghesta-sandbox`, and `ghesta-sandbox-` for the blocking pool's).
    fn server_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .filter(|name| name.starts_with("ghesta-sandbox"))
            .count()
    }

    /// The only test in this binary that starts a sandbox, so every such thread is its own.
    #[test]
    fn drop_leaves_no_server_thread_behind() {
        let sandbox = Sandbox::start(Options::default()).expect("starts");
        // A control request (run on the blocking pool) and an API request held in a delay.
        let agent = ureq::Agent::new_with_defaults();
        let clock = agent
            .get(&format!("{}/__sandbox/clock", sandbox.base_url()))
            .call()
            .expect("control endpoint");
        assert_eq!(clock.status(), 200);
        sandbox.inject(
            Route::Report,
            Fault::Delay(Duration::from_secs(60)),
            Times::Once,
        );
        let mut held = TcpStream::connect(sandbox.local_addr()).expect("connects");
        held.write_all(b"GET /v1/report/x HTTP/1.1\r\nHost: sandbox\r\n\r\n")
            .expect("sends");
        while sandbox.requests_seen().report == 0 {
            std::thread::yield_now();
        }
        // The runtime's thread and the blocking pool's thread that served the control call.
        assert!(server_threads() >= 2, "{} server threads", server_threads());
        drop(sandbox);
        assert_eq!(server_threads(), 0);
    }
}
