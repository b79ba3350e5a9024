//! What the end-to-end suites share: a sandbox, clients configured for it, orders, the
//! buyer's callback as a shop parses it, and a clock the client and the sandbox share.
//!
//! Each test binary uses part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ghesta_blocking::{Client, ClientBuilder, Clock, Error, RetryPolicy};
use ghesta_core::{
    Amount, BaseUrl, Callback, CancelledCallback, ClientRefId, CompletedCallback, Config, Gateway,
    Mobile, NewPayment, PayPingCode, Pending, ReturnUrl, Token,
};
use ghesta_sandbox::{CallbackForm, Options, PaymentState, Sandbox};

pub(crate) const TOMAN: u32 = 250_000;

/// Never delivered to: the tests play the buyer through the sandbox's own API. The query
/// string is PayPing's to keep.
pub(crate) const RETURN_URL: &str = "http://127.0.0.1:9/payping/callback?shop=7";

pub(crate) fn start() -> Sandbox {
    Sandbox::start(Options::default()).expect("sandbox starts")
}

/// The sandbox as API and gateway, new payments on `gateway`.
pub(crate) fn config(sb: &Sandbox, gateway: Gateway) -> Config {
    Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
        .with_gateway(gateway)
}

/// A client with quick retries (the default waits are for production).
pub(crate) fn builder(sb: &Sandbox, gateway: Gateway) -> ClientBuilder {
    Client::builder(config(sb, gateway))
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
}

pub(crate) fn client(sb: &Sandbox, gateway: Gateway) -> Client {
    builder(sb, gateway).build()
}

/// A client that tries once.
pub(crate) fn one_shot(sb: &Sandbox, gateway: Gateway) -> Client {
    builder(sb, gateway)
        .retry_policy(RetryPolicy::never())
        .build()
}

pub(crate) fn payment(order: &str) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(TOMAN.into()).unwrap(),
        ReturnUrl::new(RETURN_URL).unwrap(),
        ClientRefId::new(order).unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

pub(crate) fn create(client: &Client, order: &str) -> Pending {
    client.create(payment(order)).expect("create")
}

/// The callback as the shop's server would parse it from the form the buyer's browser
/// posts (to the return URL as created, query string kept).
pub(crate) fn parse(form: &CallbackForm) -> Callback {
    assert_eq!(form.return_url, RETURN_URL);
    Callback::from_form(form.body.as_bytes()).expect("the sandbox's callback form parses")
}

pub(crate) fn completed(form: &CallbackForm) -> CompletedCallback {
    match parse(form) {
        Callback::Completed(c) => c,
        Callback::Cancelled(c) => panic!("expected a completed callback, got {c:?}"),
    }
}

pub(crate) fn cancelled(form: &CallbackForm) -> CancelledCallback {
    match parse(form) {
        Callback::Cancelled(c) => c,
        Callback::Completed(c) => panic!("expected a cancelled callback, got {c:?}"),
    }
}

/// A created and approved payment: the stored record and the callback.
pub(crate) fn approved(sb: &Sandbox, client: &Client, order: &str) -> (Pending, CompletedCallback) {
    let pending = create(client, order);
    let form = sb.approve(pending.code().as_str()).expect("buyer approves");
    (pending, completed(&form))
}

pub(crate) fn state(sb: &Sandbox, pending: &Pending) -> PaymentState {
    sb.payment(pending.code().as_str())
        .expect("known payment")
        .state
}

/// The PayPing code of a rejected call, or a panic naming what came instead.
pub(crate) fn rejected_code<T: std::fmt::Debug>(result: Result<T, Error>) -> PayPingCode {
    match result {
        Err(Error::Core(ghesta_core::Error::Rejected(rejection))) => {
            rejection.code().expect("a rejection with a code")
        }
        other => panic!("expected a PayPing rejection, got {other:?}"),
    }
}

/// The buyer opens the payment's gateway page (the redirect URL), as a browser would.
pub(crate) fn open_gateway(pending: &Pending) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let answer = agent
        .get(pending.redirect_url().as_str())
        .call()
        .expect("the gateway page answers");
    answer.status().as_u16()
}

/// A clock the client and the sandbox share: real time plus whatever the client slept,
/// and a sleep moves the sandbox's clock by as much instead of waiting. A client on it
/// walks through a ten-minute window in milliseconds, and both sides agree on the time.
/// Clones share the time: give one to the client, keep one to move time with.
#[derive(Debug, Clone)]
pub(crate) struct SharedClock {
    advance_url: String,
    start: SystemTime,
    started: Instant,
    slept: Arc<Mutex<Duration>>,
}

impl SharedClock {
    pub(crate) fn of(sb: &Sandbox) -> SharedClock {
        SharedClock {
            advance_url: format!("{}/__sandbox/clock/advance", sb.base_url()),
            start: SystemTime::now(),
            started: Instant::now(),
            slept: Arc::new(Mutex::new(Duration::ZERO)),
        }
    }
}

impl Clock for SharedClock {
    fn now(&self) -> SystemTime {
        self.start + self.started.elapsed() + *self.slept.lock().unwrap()
    }

    fn sleep(&self, wait: Duration) {
        let answer = ureq::post(&format!("{}?millis={}", self.advance_url, wait.as_millis()))
            .send_empty()
            .expect("the sandbox clock advances");
        assert_eq!(answer.status().as_u16(), 200);
        *self.slept.lock().unwrap() += wait;
    }
}
