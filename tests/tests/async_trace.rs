//! The async example traces as `ghesta-blocking`'s `tracing` feature does (the same span and
//! field names), and never logs a secret: everything captured at TRACE over a checkout on
//! v2 and v3 through a port that echoes the token back in its first answer to each path.

#[path = "../examples/async_checkout/settle.rs"]
mod settle;
#[allow(dead_code)]
#[path = "../examples/async_checkout/shop.rs"]
mod shop;

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, Config, Gateway, HttpRequest, HttpResponse, Mobile,
    NewPayment, RetryPolicy, ReturnUrl, Token, VerifyOutcome, VerifyPayment,
};
use ghesta_sandbox::{Options, Sandbox};
use shop::{Hyper, Port, SendError};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

const TOKEN: &str = "tok-ASYNC-S3CRET-0b7c1e5f";

/// Every span, record and event as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\nSPAN {}", attrs.metadata().name());
        attrs.record(&mut Fields(&mut text));
    }
    fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        text.push_str("\nRECORD");
        values.record(&mut Fields(&mut text));
    }
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\nEVENT {}", event.metadata().level());
        event.record(&mut Fields(&mut text));
    }
}

/// hyper to the sandbox, but the first request to each path is answered 503 with the
/// request's `Authorization` header and body echoed in the body and the request-id header.
#[derive(Default)]
struct Echoing(Mutex<HashSet<String>>);

impl Port for Echoing {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, SendError> {
        if !self
            .0
            .lock()
            .unwrap()
            .insert(request.uri().path().to_owned())
        {
            return Hyper.send(request).await;
        }
        let auth = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = String::from_utf8_lossy(request.body()).into_owned();
        Ok(http::Response::builder()
            .status(503)
            .header("X-PayPingRequest-ID", auth.clone())
            .body(format!(r#"{{"echo":{auth:?},"request":{body:?}}}"#).into_bytes())
            .unwrap())
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn sleep(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
}

/// Create, the buyer pays, verify (each through the echo first); returns the secrets.
fn checkout(gateway: Gateway) -> Vec<String> {
    let sb = Sandbox::start(Options::default().token(TOKEN)).expect("sandbox starts");
    let config = Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
        .with_gateway(gateway);
    let policy = RetryPolicy::default()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .with_retry_create(true);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let port = Echoing::default();
    let order = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("http://127.0.0.1:9/cb").unwrap(),
        ClientRefId::new("async-order").unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    let create = ghesta_core::CreatePayment::new(&config, order, SystemTime::now());
    let pending = runtime
        .block_on(shop::exchange(&port, &create, &policy, None))
        .expect("created after the echo");
    shop::trace::created(&pending);
    // The buyer pays (the sandbox's own control call, outside the runtime).
    let form = sb.approve(pending.code().as_str()).unwrap();
    let Callback::Completed(callback) = Callback::from_form(form.body.as_bytes()).unwrap() else {
        panic!("approved")
    };
    let verify = VerifyPayment::new(&config, &pending, &callback).unwrap();
    let deadline = config.verify_deadline(SystemTime::now());
    let outcome = runtime
        .block_on(shop::exchange(&port, &verify, &policy, Some(deadline)))
        .expect("verified after the echo");
    shop::trace::verified(&outcome);
    // The callback again, settled: already verified, proven (v2: through the report).
    let verdict = runtime
        .block_on(settle::settle(
            &port,
            &config,
            &pending,
            Some((&Callback::Completed(callback.clone()), SystemTime::now())),
            &policy,
        ))
        .expect("the record's own callback");
    assert!(
        matches!(verdict, ghesta_core::Verdict::Ship(_)),
        "{verdict:?}"
    );
    let mut secrets = vec![TOKEN.to_owned(), form.body.clone()];
    if let VerifyOutcome::Verified(v) = &outcome {
        secrets.extend(v.card_number().map(|c| c.as_str().to_owned()));
        secrets.extend(v.card_hash().map(|c| c.as_str().to_owned()));
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

fn traced(gateway: Gateway) -> (String, Vec<String>) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry()
        .with(capture.clone())
        .with(tracing_subscriber::filter::LevelFilter::TRACE);
    // The runtime is current-thread: everything runs on this thread, under this subscriber.
    let secrets = tracing::subscriber::with_default(subscriber, || checkout(gateway));
    let text = capture.0.lock().unwrap().clone();
    (text, secrets)
}

#[test]
fn the_async_shop_traces_like_the_blocking_client_and_logs_no_secret() {
    for (gateway, protocol) in [(Gateway::Ghesta, "v2"), (Gateway::PayPingV3, "v3")] {
        let (text, secrets) = traced(gateway);
        for expected in [
            "SPAN payping.call",
            "payping.exchange=create",
            "payping.exchange=verify",
            &format!("payping.protocol={protocol}"),
            "payping.client_ref_id=async-order",
            "payping.payment_code=",
            "http.request.method=POST",
            "server.address=127.0.0.1",
            "url.path=/v",
            "http.response.status_code=503",
            "payping.retry=retry",
            "payping.retry_wait_ms=",
            "payping.latency_ms=",
            "payping.outcome=created",
            "payping.outcome=verified",
            "SPAN payping.settle",
            "payping.verdict=ship",
        ] {
            assert!(text.contains(expected), "{expected:?} not traced:\n{text}");
        }
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{secret:?} was logged:\n{text}"
            );
        }
        let lower = text.to_ascii_lowercase();
        for leak in ["s3cret", "authorization", "bearer"] {
            assert!(!lower.contains(leak), "{leak:?} was logged:\n{text}");
        }
    }
}
