#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// On docs.rs (nightly, `--cfg docsrs`): each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub use ghesta_core;

mod client;
mod clock;
mod error;
mod merchants;
mod trace;
mod transport;

pub use client::{Client, ClientBuilder};
pub use clock::{Clock, SystemClock};
pub use error::{Error, InvalidCertificate, Result, TransportError};
/// The core's retry rules, which this client follows: re-exported so that
/// `ghesta_blocking::RetryPolicy` names the same type as `ghesta_core::RetryPolicy`.
pub use ghesta_core::{
    DEFAULT_INITIAL_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY, Decision, Failure, RetryPolicy,
};
pub use merchants::Merchants;
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IDLE_CONNECTIONS, DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, HttpSettings, Transport,
    UreqTransport,
};

/// The project README's examples, compiled and run as doc tests so they never go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
