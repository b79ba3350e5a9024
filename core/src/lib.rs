#![doc = include_str!("../README.md")]
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
mod fees;
mod gateway;
mod invalid;
mod mobile;
mod new_payment;
mod pending;
mod redirect;
mod refund;
mod rejection;
mod report;
mod request_id;
mod retry;
mod scrub;
mod settle;
mod snippet;
mod status;
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
    ENV_GATEWAY_URL, ENV_TOKEN, SECOND_API_URL, SECOND_GATEWAY_URL,
};
pub use create::CreatePayment;
pub use error::{Error, RefundRefusal};
pub use exchange::{Exchange, ExchangeKind, HttpRequest, HttpResponse};
pub use fees::Fees;
pub use gateway::{Gateway, Protocol, UnknownGateway};
pub use invalid::{Field, InvalidInput, Rule};
pub use mobile::Mobile;
pub use new_payment::NewPayment;
pub use pending::Pending;
pub use redirect::RedirectUrl;
pub use refund::{REFUND_WINDOW, RefundPayment, Refunded};
pub use rejection::{ErrorEntry, ErrorKey, Rejection};
pub use report::{PaymentReport, ReportPayment};
pub use request_id::{REQUEST_ID_HEADER, RequestId};
pub use retry::{
    DEFAULT_INITIAL_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY, Decision, Failure, RetryPolicy,
};
pub use settle::{
    Attention, MAX_EXCHANGES, Next, Paid, Proof, Release, Settlement, Verdict, Waiting,
    confirm_verified,
};
pub use snippet::BodySnippet;
pub use status::PaymentStatus;
pub use text::{
    CardHash, CardNumber, ClientRefId, Description, MerchantKey, PayerName, PaymentCode, RefId,
};
pub use token::Token;
pub use url::{BaseUrl, ReturnUrl};
pub use verify::{AlreadyVerified, Verified, VerifyOutcome, VerifyPayment};
