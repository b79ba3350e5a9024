//! # ghesta-blocking
//!
//! A blocking client for **Ghesta** (قسطا), the buy-now-pay-later gateway Iranian shops
//! reach through PayPing: it drives [`ghesta_core`]'s exchanges over ureq 3.
//!
//! ```no_run
//! use ghesta_blocking::Client;
//! use ghesta_core::*;
//!
//! let client = Client::from_env()?; // PAYPING_TOKEN
//!
//! // Order placed: create, store the Pending by clientRefId, redirect the buyer.
//! let pending = client.create(NewPayment::new(
//!     Amount::from_toman(250_000)?,
//!     ReturnUrl::new("https://shop.example/ghesta/callback")?,
//!     ClientRefId::new("order-7")?,
//!     Mobile::new("09123456789")?,
//! ))?;
//! let redirect = pending.redirect_url().to_response(); // 303 to Ghesta's page
//!
//! // PayPing calls back: parse, load the Pending, verify.
//! # let request = http::Request::post("/").body(Vec::<u8>::new())?;
//! if let Callback::Completed(callback) = Callback::from_request(&request)? {
//!     match client.verify(&pending, &callback)? {
//!         VerifyOutcome::Verified(_) => { /* ship */ }
//!         VerifyOutcome::AlreadyVerified(_) => { /* ship unless shipped */ }
//!     }
//! }
//! # let _ = redirect;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Safe by default
//!
//! A [`Client`] connects within 10 s, finishes a call within 30 s, reads at most 64 KiB of an
//! answer, never follows a redirect (the token must not travel to another host), reads
//! PayPing's error statuses as answers so their codes are kept, keeps up to 16 idle
//! keep-alive connections per host for the threads that share it, and sends `User-Agent:
//! ghesta-blocking/<version>`. Each is a [`ClientBuilder`] setting. The token never appears
//! in an [`Error`], even when a server echoes it back.
//!
//! ## Retries
//!
//! [`RetryPolicy`] is a pure function of (kind, attempt, error, now, deadline): verify,
//! cancel and report are retried on timeouts, lost connections, 5xx and PayPing's "try
//! again" codes, up to 4 attempts and never past verify's deadline, waiting at least as long
//! as an answer's `Retry-After` asks (and not at all when it asks for more than the longest
//! wait); create is not retried unless asked. A verify whose first answer was lost comes back as
//! [`VerifyOutcome::AlreadyVerified`](ghesta_core::VerifyOutcome::AlreadyVerified), which
//! [`ClientBuilder::confirm_with_report`] can check against PayPing's report.
//!
//! ## Any HTTP stack
//!
//! [`Transport`] is one method; every closure `Fn(HttpRequest) -> Result<HttpResponse, E>`
//! implements it, so tests and other stacks plug in with [`Client::with_transport`].
//!
//! ## Features
//!
//! - `rustls` (default): TLS through rustls with Mozilla's roots.
//! - `native-tls`: TLS through the system's library and roots (wins over `rustls`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub use ghesta_core;

mod client;
mod error;
mod redact;
mod retry;
mod transport;

pub use client::{Client, ClientBuilder};
pub use error::{Error, Result, TransportError};
pub use retry::{
    Clock, DEFAULT_INITIAL_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY, Decision, RetryPolicy,
    SystemClock,
};
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IDLE_CONNECTIONS, DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, HttpSettings, Transport,
    UreqTransport,
};

/// The README's examples (the core's quick start and this crate's), compiled and run as doc
/// tests so they never go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
