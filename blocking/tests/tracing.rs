//! Never a secret in a log: everything the client tells `tracing` (every span, field, record
//! and message, at TRACE) over whole checkouts on v2 and v3 against the sandbox, through
//! retries, refusals, a dead server and a proxy that echoes the request (its `Authorization`
//! header and body) back in its answers' bodies and headers. Neither the token, nor an
//! `Authorization` header, nor a card number or hash, nor a callback body may appear.
//!
//! The same capture shows the spans and fields the README lists are there.

use std::collections::HashSet;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ghesta_blocking::{
    Client, HttpSettings, RetryPolicy, Transport, TransportError, UreqTransport,
};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, Config, Gateway, HttpRequest, HttpResponse, Mobile,
    NewPayment, PaymentCode, ReturnUrl, Token, Verdict, VerifyOutcome,
};
use ghesta_sandbox::{CallbackForm, Fault, Options, Route, Sandbox, Times};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Long and distinctive, so that any piece of it found in the capture is a leak.
const TOKEN: &str = "tok-TRACE-S3CRET-5d1e9a77c2";

/// Every span, record and event, as text: names, levels, targets, fields and messages.
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
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        let meta = attrs.metadata();
        let _ = write!(
            text,
            "\nSPAN {id:?} {} {} {}",
            meta.level(),
            meta.target(),
            meta.name()
        );
        attrs.record(&mut Fields(&mut text));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\nRECORD {id:?}");
        values.record(&mut Fields(&mut text));
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = self.0.lock().unwrap();
        let meta = event.metadata();
        let scope = ctx
            .current_span()
            .id()
            .map(|id| format!("{id:?}"))
            .unwrap_or_default();
        let _ = write!(
            text,
            "\nEVENT {} {} in {scope}",
            meta.level(),
            meta.target()
        );
        event.record(&mut Fields(&mut text));
    }
}

/// The one capture of this test binary, installed process-wide (the sandbox's server threads
/// log into it too) at TRACE.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let subscriber = tracing_subscriber::registry()
            .with(capture.clone())
            .with(tracing_subscriber::filter::LevelFilter::TRACE);
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    })
}

/// A proxy in front of the sandbox that answers the first request to each path 503 with the
/// request echoed back: its `Authorization` header and body in the body and in a header
/// PayPing's request id is read from. Later requests go through.
struct EchoingProxy {
    to: UreqTransport,
    echoed: Mutex<HashSet<String>>,
}

impl Transport for EchoingProxy {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if !self
            .echoed
            .lock()
            .unwrap()
            .insert(request.uri().path().to_owned())
        {
            return self.to.send(request);
        }
        let auth = request.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = String::from_utf8_lossy(request.body()).into_owned();
        let echo = format!(r#"{{"echo":{:?},"request":{:?}}}"#, auth, body);
        Ok(http::Response::builder()
            .status(503)
            .header("X-PayPingRequest-ID", auth.clone())
            .header("X-Echo-Authorization", auth)
            .body(echo.into_bytes())
            .unwrap())
    }
}

fn config(sb: &Sandbox, gateway: Gateway) -> Config {
    Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
        .with_gateway(gateway)
}

fn client(sb: &Sandbox, gateway: Gateway) -> Client {
    Client::builder(config(sb, gateway))
        .transport(EchoingProxy {
            to: UreqTransport::new(&HttpSettings::default()),
            echoed: Mutex::default(),
        })
        // Create too, so that the echo before it is retried.
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
                .with_retry_create(true),
        )
        .build()
}

fn payment(order: &str) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("http://127.0.0.1:9/callback").unwrap(),
        ClientRefId::new(order).unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

/// What must never be logged: the form's whole body and its card fields (v2's `cardnumber`
/// and `cardhashpan`; v3's inside `data`).
fn form_secrets(form: &CallbackForm) -> Vec<String> {
    let mut secrets = vec![form.body.clone()];
    for (name, value) in &form.fields {
        match name.as_str() {
            "cardnumber" | "cardhashpan" => secrets.push(value.clone()),
            "data" => {
                secrets.push(value.clone());
                let data: serde_json::Value = serde_json::from_str(value).unwrap();
                for key in ["cardNumber", "cardHashPan"] {
                    if let Some(v) = data[key].as_str() {
                        secrets.push(v.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    secrets
}

fn outcome_secrets(outcome: &VerifyOutcome) -> Vec<String> {
    let (number, hash) = match outcome {
        VerifyOutcome::Verified(v) => (v.card_number(), v.card_hash()),
        VerifyOutcome::AlreadyVerified(v) => (v.card_number(), v.card_hash()),
    };
    number
        .map(|n| n.as_str().to_owned())
        .into_iter()
        .chain(hash.map(|h| h.as_str().to_owned()))
        .collect()
}

/// A whole checkout on `gateway`: created, paid, settled (retried through the echo and
/// "verification in progress"), verified again, refused, cancelled by the buyer and
/// released, a dead server given up on. Returns what must not be logged.
fn checkout(gateway: Gateway, order: &str) -> Vec<String> {
    let sb = Sandbox::start(Options::default().token(TOKEN)).expect("sandbox starts");
    let client = client(&sb, gateway);
    let mut secrets = vec![TOKEN.to_owned()];

    let pending = client
        .create(payment(order))
        .expect("create, after the echo");
    let form = sb.approve(pending.code().as_str()).unwrap();
    secrets.extend(form_secrets(&form));
    let callback = Callback::from_form(form.body.as_bytes()).unwrap();
    let busy = match gateway {
        Gateway::PayPingV3 => Fault::InProgress { status: 202 },
        _ => Fault::HtmlBadGateway,
    };
    sb.inject(Route::Verify, busy, Times::Once);
    match client.settle(&pending, &callback).unwrap() {
        Verdict::Ship(paid) => {
            secrets.extend(paid.outcome().map(outcome_secrets).unwrap_or_default());
        }
        other => panic!("expected to ship, got {other:?}"),
    }
    let Callback::Completed(completed) = callback else {
        panic!("an approved payment's callback is completed")
    };
    let again = client
        .verify(&pending, &completed)
        .expect("already verified");
    assert!(matches!(again, VerifyOutcome::AlreadyVerified(_)));
    secrets.extend(outcome_secrets(&again));

    // Refused: a code PayPing does not know.
    client
        .report(&PaymentCode::new("NOSUCHCODE1").unwrap())
        .unwrap_err();

    // Cancelled by the buyer, released on the report's word (retried through a 502).
    let cancelled = client.create(payment(&format!("{order}-c"))).unwrap();
    let form = sb.cancel_as_buyer(cancelled.code().as_str()).unwrap();
    secrets.extend(form_secrets(&form));
    sb.inject(Route::Report, Fault::HtmlBadGateway, Times::Once);
    let callback = Callback::from_form(form.body.as_bytes()).unwrap();
    assert!(matches!(
        client.settle(&cancelled, &callback).unwrap(),
        Verdict::Release(_)
    ));

    // A payment the shop cancels.
    let dropped = client.create(payment(&format!("{order}-d"))).unwrap();
    client.cancel(&dropped).unwrap();

    // Nobody listening: retried, then given up.
    let dead = Client::builder(
        config(&sb, gateway).with_api_url(BaseUrl::api("http://127.0.0.1:9").unwrap()),
    )
    .retry_policy(
        RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(2)),
    )
    .build();
    dead.report(pending.code()).unwrap_err();

    secrets.retain(|s| !s.is_empty());
    secrets
}

fn assert_clean(text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret:?} was logged:\n{text}"
        );
    }
    // Any piece of the token, however quoted, and any header that carries it.
    assert!(
        !text.contains("S3CRET"),
        "part of the token was logged:\n{text}"
    );
    let lower = text.to_ascii_lowercase();
    assert!(
        !lower.contains("authorization"),
        "an Authorization header was logged:\n{text}"
    );
    assert!(
        !lower.contains("bearer"),
        "a bearer credential was logged:\n{text}"
    );
}

fn assert_traced(text: &str, protocol: &str) {
    for expected in [
        "payping.call",
        "payping.settle",
        &format!("payping.protocol={protocol}"),
        "payping.exchange=create",
        "payping.exchange=verify",
        "payping.exchange=report",
        "payping.exchange=cancel",
        "http.request.method=POST",
        "server.address=127.0.0.1",
        "url.path=/v",
        "http.response.status_code=503",
        "payping.retry=retry",
        "payping.retry_wait_ms=",
        "payping.latency_ms=",
        "payping.outcome=created",
        "payping.outcome=verified",
        "payping.outcome=already_verified",
        "payping.outcome=refused",
        "payping.outcome=cancelled",
        "payping.outcome=gave_up",
        "error.type=connect",
        "payping.verdict=ship",
        "payping.verdict=release",
        "payping.client_ref_id=",
        "payping.payment_code=",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} was not traced:\n{text}"
        );
    }
}

#[test]
fn a_v2_checkout_logs_no_secret() {
    let capture = capture();
    let secrets = checkout(Gateway::Ghesta, "trace-v2");
    let text = capture.0.lock().unwrap().clone();
    assert_traced(&text, "v2");
    assert_clean(&text, &secrets);
}

#[test]
fn a_v3_checkout_logs_no_secret() {
    let capture = capture();
    let secrets = checkout(Gateway::PayPingV3, "trace-v3");
    let text = capture.0.lock().unwrap().clone();
    assert_traced(&text, "v3");
    assert_clean(&text, &secrets);
}
