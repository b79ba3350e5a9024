//! End to end over HTTPS, as PayPing is only ever reached: the SDK's default build (rustls)
//! against the sandbox serving a certificate it made at start, trusted through
//! `HttpSettings::with_root_certificates_pem`. The happy path, a lost verify answer, eight
//! threads sharing one client, and keep-alive: many calls, one handshake.
//!
//! The plain-HTTP suite (`e2e.rs`) covers every outcome and fault; these are the ones whose
//! behaviour TLS could change (a cut inside a TLS stream, a pooled TLS connection).

use std::time::Duration;

use ghesta_blocking::{Client, HttpSettings, RetryPolicy};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, CompletedCallback, Config, Mobile, NewPayment, Pending,
    ReturnUrl, Token, VerifyOutcome,
};
use ghesta_sandbox::{Fault, Options, PaymentState, Route, Sandbox, Times, Tls};

const TOMAN: u32 = 250_000;
/// Never delivered to: the tests play the buyer through the sandbox's own API.
const RETURN_URL: &str = "http://127.0.0.1:9/ghesta/callback";

fn start() -> Sandbox {
    let sb = Sandbox::start(Options::default().tls(Tls::Generated)).expect("sandbox starts");
    assert!(sb.base_url().starts_with("https://"), "{}", sb.base_url());
    sb
}

/// A client that trusts the sandbox's CA, with quick retries.
fn client(sb: &Sandbox) -> Client {
    let config = Config::new(Token::new(sb.token()).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap());
    let settings = HttpSettings::default()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(10))
        .with_root_certificates_pem(sb.ca_certificate_pem().expect("a generated CA"))
        .unwrap();
    Client::builder(config)
        .http_settings(settings)
        .retry_policy(
            RetryPolicy::default()
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .build()
}

fn payment(order: &str) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(TOMAN.into()).unwrap(),
        ReturnUrl::new(RETURN_URL).unwrap(),
        ClientRefId::new(order).unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

/// A created and approved payment: the stored record and the callback.
fn approved(sb: &Sandbox, client: &Client, order: &str) -> (Pending, CompletedCallback) {
    let pending = client.create(payment(order)).expect("create");
    let form = sb.approve(pending.code().as_str()).expect("buyer approves");
    match Callback::from_form(form.body.as_bytes()).expect("callback parses") {
        Callback::Completed(c) => (pending, c),
        Callback::Cancelled(c) => panic!("expected a completed callback, got {c:?}"),
    }
}

#[test]
fn approved_payment_is_verified_once_over_https() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "tls-order-1");
    assert!(
        pending
            .redirect_url()
            .as_str()
            .starts_with(&format!("{}/installment/", sb.base_url()))
    );
    let VerifyOutcome::Verified(paid) = client.verify(&pending, &callback).unwrap() else {
        panic!("expected Verified");
    };
    assert_eq!(paid.amount().toman(), TOMAN);
    assert_eq!(paid.ref_id(), callback.ref_id());
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(snapshot.state, PaymentState::Verified);
    assert_eq!(snapshot.verify_count, 1);
    assert_eq!((sb.connections_accepted(), sb.tls_handshakes()), (1, 1));
}

/// The verify answer is cut inside the TLS stream: the client sees a lost connection (not a
/// TLS failure), retries on a new connection and handshake, and reads "already verified".
#[test]
fn a_lost_verify_answer_is_recovered_over_https() {
    let sb = start();
    let client = client(&sb);
    let (pending, callback) = approved(&sb, &client, "tls-order-2");
    sb.inject(Route::Verify, Fault::CloseMidAnswer, Times::Once);
    let VerifyOutcome::AlreadyVerified(earlier) = client.verify(&pending, &callback).unwrap()
    else {
        panic!("expected AlreadyVerified after the lost answer");
    };
    assert_eq!(earlier.amount().toman(), TOMAN);
    assert_eq!(sb.requests_seen().verify, 2);
    let snapshot = sb.payment(pending.code().as_str()).unwrap();
    assert_eq!(snapshot.state, PaymentState::Verified);
    assert_eq!(snapshot.verify_count, 2);
    // The cut connection is not reused: a second one, a second handshake.
    assert_eq!((sb.connections_accepted(), sb.tls_handshakes()), (2, 2));
}

/// Eight threads share one client for 50 payments each, over TLS.
#[test]
fn eight_threads_share_one_client_for_400_payments_over_https() {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let sb = start();
    let client = client(&sb);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (sb, client) = (&sb, client.clone());
            scope.spawn(move || {
                for i in 0..EACH {
                    let (pending, callback) = approved(sb, &client, &format!("tls-{t}-{i}"));
                    match client.verify(&pending, &callback) {
                        Ok(VerifyOutcome::Verified(paid)) => {
                            assert_eq!(paid.amount().toman(), TOMAN)
                        }
                        other => panic!("thread {t} payment {i}: {other:?}"),
                    }
                }
            });
        }
    });
    let payments = sb.payments();
    assert_eq!(payments.len(), THREADS * EACH);
    assert!(
        payments
            .iter()
            .all(|p| p.state == PaymentState::Verified && p.verify_count == 1)
    );
    let seen = sb.requests_seen();
    assert_eq!((seen.create, seen.verify), (400, 400));
    let (connections, handshakes) = (sb.connections_accepted(), sb.tls_handshakes());
    println!("{connections} connections, {handshakes} TLS handshakes for 800 requests");
    // As over plain HTTP: at most one pooled connection a thread (slack for one replaced),
    // and every connection made its one handshake.
    assert!(connections <= THREADS as u64 + 2, "{connections}");
    assert_eq!(handshakes, connections);
}

/// 1,000 sequential create+verify calls on one client: one connection, one handshake. A
/// count at the sandbox, not a timing (BENCHMARKS.md has what the handshake costs).
#[test]
fn a_thousand_payments_on_one_client_make_one_handshake() {
    const PAYMENTS: usize = 1_000;
    let sb = start();
    let client = client(&sb);
    for i in 0..PAYMENTS {
        let (pending, callback) = approved(&sb, &client, &format!("seq-{i}"));
        assert!(matches!(
            client.verify(&pending, &callback),
            Ok(VerifyOutcome::Verified(_))
        ));
    }
    let seen = sb.requests_seen();
    assert_eq!((seen.create, seen.verify), (1_000, 1_000));
    assert_eq!(sb.connections_accepted(), 1);
    assert_eq!(sb.tls_handshakes(), 1);
}
