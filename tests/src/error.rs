//! What can go wrong when driving the sandbox from a test or a program.

use crate::state::PaymentState;

/// What can go wrong when driving the sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// Binding or starting the server failed.
    #[error("sandbox could not start: {0}")]
    Io(#[from] std::io::Error),
    /// No payment has this code.
    #[error("unknown payment code {code:?}")]
    UnknownPayment {
        /// The code asked for.
        code: String,
    },
    /// The buyer can act only on a payment in [`PaymentState::Created`].
    #[error("payment {code:?} is no longer payable (state {state:?})")]
    NotPayable {
        /// The payment's code.
        code: String,
        /// Its current state.
        state: PaymentState,
    },
    /// The sandbox delivers callbacks only to loopback hosts.
    #[error(
        "refusing to deliver the callback to {url:?}: the sandbox only delivers to loopback \
         hosts (127.0.0.0/8, ::1, localhost)"
    )]
    NotLoopback {
        /// The return URL.
        url: String,
    },
    /// The return URL cannot be delivered to (unparseable, or not plain `http`).
    #[error("cannot deliver the callback to {url:?}: {reason}")]
    InvalidReturnUrl {
        /// The return URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Sending the callback to the shop failed (connection refused, timeout, ...).
    #[error("delivering the callback to {url:?} failed: {source}")]
    Delivery {
        /// The return URL.
        url: String,
        /// The transport error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The certificate or key to serve HTTPS with is unusable.
    #[error("sandbox cannot serve HTTPS: {reason}")]
    Tls {
        /// What is wrong with it.
        reason: String,
    },
    /// Encoding the callback form failed.
    #[error("could not encode the callback form: {reason}")]
    Encoding {
        /// Why.
        reason: String,
    },
}
