//! # ghesta-core
//!
//! The transport-free core of the Rust SDK for **Ghesta** (قسطا), the buy-now-pay-later
//! gateway Iranian shops reach through PayPing's payment API.
//!
//! Every PayPing call is an [`Exchange`]: a value that builds the exact
//! `http::Request<Vec<u8>>` PayPing expects and parses the `http::Response` it gets back
//! into a typed result. The crate opens no socket, starts no thread and reads no clock
//! (time is a parameter), so any HTTP stack can drive it: `ghesta-blocking` does so over
//! ureq, and a closure is enough in a test.
//!
//! ## The four steps
//!
//! 1. **create**: [`CreatePayment`] sends the order; its answer is a [`Pending`] record to
//!    store (it is `Serialize`/`Deserialize`).
//! 2. **redirect**: send the buyer to [`Pending::redirect_url`], Ghesta's installment page
//!    ([`RedirectUrl::to_response`] makes the 303 for a server).
//! 3. **callback**: PayPing sends the buyer back to the return URL with a form;
//!    [`Callback::from_request`] reads it, refusing anything ambiguous.
//! 4. **verify**: [`VerifyPayment`], built from the stored record and the callback, is the
//!    only proof of payment. It must happen within [`Config::verify_window`] of the callback.
//!
//! [`CancelPayment`] withdraws a payment code; [`ReportPayment`] reads what PayPing knows of a
//! payment, for reconciliation.
//!
//! ## Where this crate differs from Ghesta's guide
//!
//! Ghesta's guide (v1.02) is wrong in places; PayPing's own spec and plugins win:
//! amounts are **Toman**, not Rial ([`Amount`], [`AmountUnit`]); the verify window is
//! **10 minutes**, not 15 ([`DEFAULT_VERIFY_WINDOW`]); the redirect is **https**
//! ([`RedirectUrl`]); callbacks arrive as POST forms *or* GET queries ([`Callback`]); and
//! errors are JSON objects of code to message, or empty, or a proxy's HTML page ([`Error`]).
//!
//! ## Example: the whole flow with a closure as the transport
//!
//! ```
//! use std::time::SystemTime;
//! use ghesta_core::*;
//!
//! // Stands in for an HTTP client: answers as PayPing would.
//! fn send(request: HttpRequest) -> HttpResponse {
//!     let body: &[u8] = match request.uri().path() {
//!         "/v2/pay" => br#"{"code":"82a4f72"}"#,
//!         "/v2/pay/verify" => br#"{"amount":250000,"cardNumber":"603799******1234","cardHashPan":"9f86"}"#,
//!         _ => b"",
//!     };
//!     http::Response::builder()
//!         .header("X-PayPingRequest-ID", "0f1e2d")
//!         .body(body.to_vec())
//!         .unwrap()
//! }
//!
//! let config = Config::new(Token::new("my-payping-token")?);
//!
//! // 1. create
//! let payment = NewPayment::new(
//!     Amount::from_toman(250_000)?,
//!     ReturnUrl::new("https://shop.example/ghesta/callback")?,
//!     ClientRefId::new("order-7")?,
//!     Mobile::new("0912 345 6789")?,
//! );
//! let create = CreatePayment::new(&config, payment, SystemTime::now());
//! let pending = create.parse_response(send(create.to_request()?))?;
//!
//! // 2. redirect
//! let redirect = pending.redirect_url().to_response();
//! assert_eq!(redirect.headers()["location"], "https://payping.ir/installment/82a4f72?type=ghesta");
//!
//! // 3. callback
//! let request = http::Request::post("/ghesta/callback")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .body(b"code=82a4f72&refid=555&clientrefid=order-7&cardnumber=&cardhashpan=".to_vec())?;
//! let callback = match Callback::from_request(&request)? {
//!     Callback::Completed(callback) => callback,
//!     Callback::Cancelled(_) => return Ok(()), // show the cart again
//! };
//!
//! // 4. verify
//! let verify = VerifyPayment::new(&config, &pending, &callback)?;
//! match verify.parse_response(send(verify.to_request()?))? {
//!     VerifyOutcome::Verified(paid) => assert_eq!(paid.amount().toman(), 250_000),
//!     VerifyOutcome::AlreadyVerified(_) => { /* verified earlier: ship if not shipped */ }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub use http;

mod amount;
mod callback;
mod cancel;
mod code;
mod config;
mod create;
mod error;
mod exchange;
mod invalid;
mod mobile;
mod pending;
mod redirect;
mod rejection;
mod report;
mod request_id;
mod snippet;
mod text;
mod token;
mod url;
mod verify;
mod wire;

pub use amount::{Amount, AmountUnit, MAX_TOMAN, MIN_TOMAN};
pub use callback::{
    Callback, CallbackError, CancelledCallback, CompletedCallback, MAX_CALLBACK_BYTES,
};
pub use cancel::{CancelPayment, Cancelled};
pub use code::PayPingCode;
pub use config::{
    Config, ConfigError, DEFAULT_API_URL, DEFAULT_GATEWAY_URL, DEFAULT_VERIFY_WINDOW, ENV_API_URL,
    ENV_GATEWAY_URL, ENV_TOKEN,
};
pub use create::{CreatePayment, NewPayment};
pub use error::Error;
pub use exchange::{Exchange, ExchangeKind, HttpRequest, HttpResponse};
pub use invalid::{Field, InvalidInput, Rule};
pub use mobile::Mobile;
pub use pending::Pending;
pub use redirect::RedirectUrl;
pub use rejection::{ErrorEntry, ErrorKey, Rejection};
pub use report::{PaymentReport, ReportPayment};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use snippet::BodySnippet;
pub use text::{CardHash, CardNumber, ClientRefId, Description, PayerName, PaymentCode, RefId};
pub use token::Token;
pub use url::{BaseUrl, ReturnUrl};
pub use verify::{AlreadyVerified, Verified, VerifyOutcome, VerifyPayment};
