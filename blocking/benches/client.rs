//! What the blocking client costs over the wire, beside raw ureq doing the same by hand.
//!
//! Everything runs against a [`Sandbox`] on 127.0.0.1 over keep-alive connections:
//!
//! 1. **Round trip** (criterion group `round_trip`): create, then verify, through the
//!    [`Client`] (`sdk`) and through a ureq [`Agent`](ureq::Agent) with the same settings
//!    sending the same bytes with serde_json and serde_urlencoded (`raw_ureq`). The buyer's
//!    approval between the two is a library call on the sandbox (no HTTP) and is left out
//!    of the timed part of both sides.
//! 2. **Paired round trip**: the same two sides alternating call for call, so load from
//!    other work on a shared machine hits both alike; medians and their ratio.
//! 1. and 2. again on **PayPing v3** (criterion group `round_trip_v3`): the client configured
//!    with `Gateway::PayPingV3`, and the raw agent sending v3's bodies by hand, reading the
//!    `data` JSON inside the callback form and checking the verify answer's code and amount
//!    as the SDK does.
//! 3. **Connections**: TCP connections the sandbox accepted for 1,000 sequential calls
//!    through one client, and through one raw agent.
//! 4. **Throughput**: calls per second with 1, 2 and 4 threads sharing one client, and one
//!    raw agent; each side three times, alternating, median of each. Bounded by count
//!    (1,500 round trips a thread) and by time (2 s a run). On a small machine the sandbox (hyper
//!    on two runtime threads, in the same process) shares the cores and sets the ceiling.
//! 5. **Over TLS** (criterion group `tls`, and a paired run): the sandbox serving HTTPS
//!    with a certificate made at start, both sides trusting its CA. The round trip of 1 and 2
//!    again (`sdk_round_trip`, `raw_ureq_round_trip`); one create on a kept-alive TLS
//!    connection (`call_reused`) beside one that opens a new TCP connection and makes a TLS
//!    handshake first (`call_fresh_tls`) and one that opens a new plain TCP connection
//!    (`call_fresh_tcp`, on a plain sandbox): what keep-alive saves. And the TCP connections
//!    and TLS handshakes for 1,000 sequential calls through one client.
//!
//! 6. **v2's report binding** (criterion group `v2_binding`, and a paired run): the verify
//!    exchange alone (`verify_plain`, what parts 1 to 5 time on both sides) beside
//!    `Client::verify` (`verify_bound`), which on v2 also asks the report of the record's
//!    code to bind the refid; and the requests each sends, counted at the sandbox.
//!    `CLIENT_BENCH_ONLY_BINDING=1` runs this part alone.
//!
//! ```text
//! cargo bench -p ghesta-blocking --bench client
//! ```
//!
//! Each part uses a fresh sandbox and at most 4 connections at once.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use ghesta_blocking::{
    Client, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_IDLE_CONNECTIONS,
    DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT, HttpSettings,
};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, CompletedCallback, Config, Gateway, Mobile, NewPayment,
    Pending, ReturnUrl, Token, VerifyOutcome, VerifyPayment,
};
use ghesta_sandbox::{CallbackForm, Options, Sandbox, Tls};
use serde::{Deserialize, Serialize};

const TOMAN: u32 = 250_000;
const MOBILE: &str = "09123456789";
/// Never delivered to: the sandbox plays the buyer as a library call.
const RETURN_URL: &str = "http://127.0.0.1:9/ghesta/callback";

/// One shop order id per call, unique across the whole run (the sandbox accepts duplicates,
/// but distinct ids keep the two sides' payments apart).
fn order() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("order-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------
// The SDK side

fn client(sandbox: &Sandbox) -> Client {
    client_with(sandbox, HttpSettings::default(), Gateway::default())
}

fn client_on(sandbox: &Sandbox, gateway: Gateway) -> Client {
    client_with(sandbox, HttpSettings::default(), gateway)
}

/// Every default but `settings` and `gateway`; over HTTPS, the sandbox's CA is trusted
/// beside the built-in roots, as a shop behind a TLS-inspecting proxy trusts the proxy's.
fn client_with(sandbox: &Sandbox, mut settings: HttpSettings, gateway: Gateway) -> Client {
    let config = Config::new(Token::new(sandbox.token()).expect("token"))
        .with_api_url(BaseUrl::api(sandbox.base_url()).expect("api url"))
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url()).expect("gateway url"))
        .with_gateway(gateway);
    if let Some(ca) = sandbox.ca_certificate_pem() {
        settings = settings.with_root_certificates_pem(ca).expect("the CA");
    }
    // Every default, as a shop would build it.
    Client::builder(config).http_settings(settings).build()
}

/// The SDK's create: validated values in, the record to store out.
fn sdk_create(client: &Client, order: &str) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(TOMAN.into()).expect("amount"),
        ReturnUrl::new(RETURN_URL).expect("return url"),
        ClientRefId::new(order).expect("order id"),
        Mobile::new(MOBILE).expect("mobile"),
    );
    client.create(payment).expect("create")
}

/// The SDK's verify exchange: the callback form as the shop's server receives it, checked
/// against the stored record, then verified: the same work as the raw side. (v2's report
/// binding, which `Client::verify` adds, is measured apart: part 6.)
fn sdk_verify(client: &Client, pending: &Pending, form: &CallbackForm) {
    let exchange = VerifyPayment::new(client.config(), pending, &completed(form)).expect("match");
    match client.execute(&exchange).expect("verify") {
        VerifyOutcome::Verified(paid) => assert_eq!(paid.amount().toman(), TOMAN),
        other => panic!("expected verified, got {other:?}"),
    }
}

/// `Client::verify`: the verify, and on v2 the report of the record's code that binds the
/// refid to it.
fn sdk_verify_bound(client: &Client, pending: &Pending, form: &CallbackForm) {
    match client.verify(pending, &completed(form)).expect("verify") {
        VerifyOutcome::Verified(paid) => assert_eq!(paid.amount().toman(), TOMAN),
        other => panic!("expected verified, got {other:?}"),
    }
}

fn completed(form: &CallbackForm) -> CompletedCallback {
    match Callback::from_form(form.body.as_bytes()).expect("callback") {
        Callback::Completed(callback) => callback,
        Callback::Cancelled(_) => panic!("the sandbox approved, the callback must be completed"),
    }
}

// ---------------------------------------------------------------------------------------
// 6. v2's report binding: Client::verify beside the verify exchange alone

/// One approved payment (untimed), then its verify, bound or plain; returns the verify's time.
fn binding_trip(sandbox: &Sandbox, client: &Client, bound: bool) -> Duration {
    let pending = sdk_create(client, &order());
    let form = sandbox.approve(pending.code().as_str()).expect("approve");
    let start = Instant::now();
    if bound {
        sdk_verify_bound(client, &pending, black_box(&form));
    } else {
        sdk_verify(client, &pending, black_box(&form));
    }
    start.elapsed()
}

/// The criterion group `v2_binding`, a paired run, and the requests each side sends.
fn binding_part(c: &mut Criterion, dir: &Path, started: SystemTime, rounds: usize) {
    let sandbox = Sandbox::start(Options::default()).expect("sandbox");
    let client = client(&sandbox);
    let mut group = c.benchmark_group("v2_binding");
    group.sample_size(40);
    group.bench_function("verify_plain", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| binding_trip(&sandbox, &client, false))
                .sum()
        })
    });
    group.bench_function("verify_bound", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| binding_trip(&sandbox, &client, true))
                .sum()
        })
    });
    group.finish();
    let (mut plain, mut bound) = (Vec::new(), Vec::new());
    for i in 0..rounds {
        if i % 2 == 0 {
            plain.push(binding_trip(&sandbox, &client, false));
            bound.push(binding_trip(&sandbox, &client, true));
        } else {
            bound.push(binding_trip(&sandbox, &client, true));
            plain.push(binding_trip(&sandbox, &client, false));
        }
    }
    // Requests per verify, counted at the sandbox.
    let requests = |bound: bool| {
        let before = sandbox.requests_seen();
        binding_trip(&sandbox, &client, bound);
        let after = sandbox.requests_seen();
        (after.verify - before.verify, after.report - before.report)
    };
    let (plain_requests, bound_requests) = (requests(false), requests(true));
    assert_eq!(
        plain_requests,
        (1, 0),
        "the exchange alone sends one verify"
    );
    assert_eq!(
        bound_requests,
        (1, 1),
        "Client::verify adds one report on v2"
    );
    let us =
        |ns: Option<f64>| ns.map_or_else(|| "-".to_owned(), |ns| format!("{:.1} µs", ns / 1e3));
    let (plain_c, bound_c) = (
        criterion_median(dir, "v2_binding", "verify_plain", started),
        criterion_median(dir, "v2_binding", "verify_bound", started),
    );
    let (plain_p, bound_p) = (median_ns(&mut plain), median_ns(&mut bound));
    println!();
    println!(
        "| v2 verify, keep-alive | verify exchange alone | Client::verify (bound by the report) | ratio |"
    );
    println!("|---|---:|---:|---:|");
    println!("| requests (verify, report) | {plain_requests:?} | {bound_requests:?} | |");
    println!(
        "| criterion median | {} | {} | {} |",
        us(plain_c),
        us(bound_c),
        plain_c
            .zip(bound_c)
            .map_or_else(|| "-".to_owned(), |(p, b)| format!("{:.3}", b / p))
    );
    println!(
        "| paired median (alternating) | {} | {} | {:.3} |",
        us(Some(plain_p)),
        us(Some(bound_p)),
        bound_p / plain_p
    );
}

// ---------------------------------------------------------------------------------------
// The baseline: ureq by hand

/// A hand-written client: one agent with the SDK's settings, typed serde bodies.
struct Raw {
    agent: ureq::Agent,
    create_url: String,
    verify_url: String,
    create_v3_url: String,
    verify_v3_url: String,
    authorization: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateV3Answer {
    payment_code: String,
    #[allow(dead_code)] // read, as the SDK reads it
    url: Option<String>,
}

/// v3's callback form: `status`, `errorCode`, and `data`, a JSON string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormV3 {
    status: String,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DataV3 {
    payment_code: String,
    payment_ref_id: u64,
    client_ref_id: String,
    amount: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyV3Body<'a> {
    payment_ref_id: u64,
    payment_code: &'a str,
    amount: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyV3Answer {
    amount: u64,
    code: String,
    #[allow(dead_code)] // read, as the SDK reads it
    card_number: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    amount: u64,
    payer_identity: &'a str,
    return_url: &'a str,
    client_ref_id: &'a str,
}

#[derive(Deserialize)]
struct CreateAnswer {
    code: String,
}

#[derive(Deserialize)]
struct Form {
    code: String,
    refid: String,
    clientrefid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyBody<'a> {
    ref_id: &'a str,
    amount: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyAnswer {
    amount: u64,
    #[allow(dead_code)] // read, as the SDK reads it
    card_number: Option<String>,
}

impl Raw {
    fn new(sandbox: &Sandbox) -> Self {
        // The same settings as the SDK's UreqTransport with its defaults.
        let mut config = ureq::Agent::config_builder();
        if let Some(ca) = sandbox.ca_certificate_pem() {
            // Only the sandbox's CA (the SDK adds it to Mozilla's roots): the roots are read
            // once per agent, at its first handshake, never per call.
            use ureq::tls::{Certificate, RootCerts, TlsConfig};
            let ca = Certificate::from_pem(ca.as_bytes()).expect("the CA");
            config = config.tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::new_with_certs(&[ca]))
                    .build(),
            );
        }
        let agent = config
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT))
            .timeout_global(Some(DEFAULT_TIMEOUT))
            .user_agent(DEFAULT_USER_AGENT)
            .max_idle_connections_per_host(DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST)
            .max_idle_connections(DEFAULT_MAX_IDLE_CONNECTIONS)
            .build()
            .new_agent();
        Self {
            agent,
            create_url: format!("{}/v2/pay", sandbox.base_url()),
            verify_url: format!("{}/v2/pay/verify", sandbox.base_url()),
            create_v3_url: format!("{}/v3/pay", sandbox.base_url()),
            verify_v3_url: format!("{}/v3/pay/verify", sandbox.base_url()),
            authorization: format!("Bearer {}", sandbox.token()),
        }
    }

    /// POSTs `body` as JSON with PayPing's headers; the status and the capped body.
    fn post(&self, url: &str, body: &impl Serialize) -> (u16, Vec<u8>) {
        let bytes = serde_json::to_vec(body).expect("json");
        let response = self
            .agent
            .post(url)
            .header("Accept", "application/json")
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(&bytes[..])
            .expect("send");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .with_config()
            .limit(DEFAULT_MAX_RESPONSE_BYTES)
            .read_to_vec()
            .expect("body");
        (status, body)
    }

    fn create(&self, order: &str) -> String {
        let (status, body) = self.post(
            &self.create_url,
            &CreateBody {
                amount: TOMAN.into(),
                payer_identity: MOBILE,
                return_url: RETURN_URL,
                client_ref_id: order,
            },
        );
        assert_eq!(status, 200);
        serde_json::from_slice::<CreateAnswer>(&body)
            .expect("answer")
            .code
    }

    fn verify(&self, code: &str, order: &str, form: &CallbackForm) {
        let form: Form = serde_urlencoded::from_str(&form.body).expect("form");
        assert!(form.code == code && form.clientrefid == order);
        let (status, body) = self.post(
            &self.verify_url,
            &VerifyBody {
                ref_id: &form.refid,
                amount: TOMAN.into(),
            },
        );
        assert_eq!(status, 200);
        let answer: VerifyAnswer = serde_json::from_slice(&body).expect("answer");
        assert_eq!(answer.amount, u64::from(TOMAN));
    }

    fn create_v3(&self, order: &str) -> String {
        let (status, body) = self.post(
            &self.create_v3_url,
            &CreateBody {
                amount: TOMAN.into(),
                payer_identity: MOBILE,
                return_url: RETURN_URL,
                client_ref_id: order,
            },
        );
        assert_eq!(status, 200);
        serde_json::from_slice::<CreateV3Answer>(&body)
            .expect("answer")
            .payment_code
    }

    /// The v3 callback checked as the SDK checks it (code, order, amount), then verified
    /// and the answer's code and amount checked.
    fn verify_v3(&self, code: &str, order: &str, form: &CallbackForm) {
        let form: FormV3 = serde_urlencoded::from_str(&form.body).expect("form");
        assert_eq!(form.status, "1");
        let data: DataV3 = serde_json::from_str(&form.data).expect("data");
        assert!(
            data.payment_code == code
                && data.client_ref_id == order
                && data.amount == u64::from(TOMAN)
        );
        let (status, body) = self.post(
            &self.verify_v3_url,
            &VerifyV3Body {
                payment_ref_id: data.payment_ref_id,
                payment_code: code,
                amount: TOMAN.into(),
            },
        );
        assert_eq!(status, 200);
        let answer: VerifyV3Answer = serde_json::from_slice(&body).expect("answer");
        assert!(answer.amount == u64::from(TOMAN) && answer.code == code);
    }
}

// ---------------------------------------------------------------------------------------
// One round trip, the approval left out of the time

/// Create, approve (untimed), verify; returns the time of create and verify.
fn sdk_round_trip(sandbox: &Sandbox, client: &Client) -> Duration {
    let order = order();
    let start = Instant::now();
    let pending = sdk_create(client, black_box(&order));
    let created = start.elapsed();
    let form = sandbox.approve(pending.code().as_str()).expect("approve");
    let start = Instant::now();
    sdk_verify(client, &pending, black_box(&form));
    created + start.elapsed()
}

fn raw_round_trip(sandbox: &Sandbox, raw: &Raw) -> Duration {
    let order = order();
    let start = Instant::now();
    let code = raw.create(black_box(&order));
    let created = start.elapsed();
    let form = sandbox.approve(&code).expect("approve");
    let start = Instant::now();
    raw.verify(&code, &order, black_box(&form));
    created + start.elapsed()
}

fn raw_round_trip_v3(sandbox: &Sandbox, raw: &Raw) -> Duration {
    let order = order();
    let start = Instant::now();
    let code = raw.create_v3(black_box(&order));
    let created = start.elapsed();
    let form = sandbox.approve(&code).expect("approve");
    let start = Instant::now();
    raw.verify_v3(&code, &order, black_box(&form));
    created + start.elapsed()
}

/// Which protocol a round trip speaks: the client is configured for it; the raw side
/// picks its functions by it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wire {
    V2,
    V3,
}

fn raw_trip(wire: Wire, sandbox: &Sandbox, raw: &Raw) -> Duration {
    match wire {
        Wire::V2 => raw_round_trip(sandbox, raw),
        Wire::V3 => raw_round_trip_v3(sandbox, raw),
    }
}

fn round_trips(c: &mut Criterion, wire: Wire, sandbox: &Sandbox, client: &Client, raw: &Raw) {
    let mut group = c.benchmark_group(match wire {
        Wire::V2 => "round_trip",
        Wire::V3 => "round_trip_v3",
    });
    group.sample_size(40);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sdk", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sdk_round_trip(sandbox, client)).sum())
    });
    group.bench_function("raw_ureq", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| raw_trip(wire, sandbox, raw)).sum())
    });
    group.finish();
}

/// Medians of `rounds` round trips of each side, alternating one for one.
fn paired(wire: Wire, sandbox: &Sandbox, client: &Client, raw: &Raw, rounds: usize) -> (f64, f64) {
    let mut sdk = Vec::with_capacity(rounds);
    let mut baseline = Vec::with_capacity(rounds);
    for i in 0..rounds {
        // Alternate which goes first, so neither always follows the other.
        if i % 2 == 0 {
            sdk.push(sdk_round_trip(sandbox, client));
            baseline.push(raw_trip(wire, sandbox, raw));
        } else {
            baseline.push(raw_trip(wire, sandbox, raw));
            sdk.push(sdk_round_trip(sandbox, client));
        }
    }
    (median_ns(&mut sdk), median_ns(&mut baseline))
}

fn median_ns(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    samples[samples.len() / 2].as_nanos() as f64
}

// ---------------------------------------------------------------------------------------
// Connections and throughput

/// TCP connections a fresh sandbox accepts for `calls` sequential calls (creates and
/// verifies alternating) through one client (`sdk`) or one raw agent.
fn connections(calls: usize, sdk: bool) -> u64 {
    let sandbox = Sandbox::start(Options::default()).expect("sandbox");
    if sdk {
        let client = client(&sandbox);
        for _ in 0..calls / 2 {
            sdk_round_trip(&sandbox, &client);
        }
    } else {
        let raw = Raw::new(&sandbox);
        for _ in 0..calls / 2 {
            raw_round_trip(&sandbox, &raw);
        }
    }
    let seen = sandbox.requests_seen();
    assert_eq!((seen.create + seen.verify) as usize, calls);
    sandbox.connections_accepted()
}

/// Calls per second of `threads` threads sharing one client (`sdk`) or one agent, each
/// doing round trips until `per_thread` are done or `budget` has passed.
fn throughput(threads: usize, per_thread: usize, budget: Duration, sdk: bool) -> (f64, u64) {
    let sandbox = Sandbox::start(Options::default()).expect("sandbox");
    let client = client(&sandbox);
    let raw = Raw::new(&sandbox);
    let calls = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                for _ in 0..per_thread {
                    if start.elapsed() > budget {
                        break;
                    }
                    if sdk {
                        sdk_round_trip(&sandbox, &client);
                    } else {
                        raw_round_trip(&sandbox, &raw);
                    }
                    calls.fetch_add(2, Ordering::Relaxed);
                }
            });
        }
    });
    let elapsed = start.elapsed().as_secs_f64();
    let calls = calls.load(Ordering::Relaxed);
    (calls as f64 / elapsed, sandbox.connections_accepted())
}

// ---------------------------------------------------------------------------------------
// Over TLS

fn tls_sandbox() -> Sandbox {
    Sandbox::start(Options::default().tls(Tls::Generated)).expect("sandbox over TLS")
}

/// The criterion group `tls`: round trips over TLS, and one call on a kept-alive connection
/// beside one that connects (and shakes hands) first.
fn tls_group(c: &mut Criterion, sandbox: &Sandbox, client: &Client, raw: &Raw) {
    // With no idle connection kept, every call opens a new one: TCP connect (and TLS
    // handshake), the call, close.
    let fresh = || HttpSettings::default().with_max_idle_connections_per_host(0);
    let fresh_tls = client_with(sandbox, fresh(), Gateway::default());
    let plain = Sandbox::start(Options::default()).expect("plain sandbox");
    let fresh_tcp = client_with(&plain, fresh(), Gateway::default());
    let one_call = |client: &Client| {
        sdk_create(client, black_box(&order()));
    };

    let mut group = c.benchmark_group("tls");
    group.sample_size(40);
    group.bench_function("sdk_round_trip", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| sdk_round_trip(sandbox, client)).sum())
    });
    group.bench_function("raw_ureq_round_trip", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| raw_round_trip(sandbox, raw)).sum())
    });
    group.bench_function("call_reused", |b| b.iter(|| one_call(client)));
    let (before, calls) = (sandbox.tls_handshakes(), std::cell::Cell::new(0));
    group.bench_function("call_fresh_tls", |b| {
        b.iter(|| {
            calls.set(calls.get() + 1);
            one_call(&fresh_tls)
        })
    });
    // What this measures: one handshake a call.
    assert_eq!(sandbox.tls_handshakes() - before, calls.get());
    group.bench_function("call_fresh_tcp", |b| b.iter(|| one_call(&fresh_tcp)));
    group.finish();
}

/// TCP connections and TLS handshakes a fresh TLS sandbox sees for `calls` sequential calls
/// through one client.
fn tls_connections(calls: usize) -> (u64, u64) {
    let sandbox = tls_sandbox();
    let client = client(&sandbox);
    for _ in 0..calls / 2 {
        sdk_round_trip(&sandbox, &client);
    }
    let seen = sandbox.requests_seen();
    assert_eq!((seen.create + seen.verify) as usize, calls);
    (sandbox.connections_accepted(), sandbox.tls_handshakes())
}

/// Runs the TLS part and prints its tables.
fn tls_part(criterion: &mut Criterion, dir: &Path, started: SystemTime, benchmarking: bool) {
    let sandbox = tls_sandbox();
    let client = client(&sandbox);
    let raw = Raw::new(&sandbox);
    tls_group(criterion, &sandbox, &client, &raw);
    let (paired_sdk, paired_raw) = paired(
        Wire::V2,
        &sandbox,
        &client,
        &raw,
        if benchmarking { 2_000 } else { 4 },
    );
    drop((client, raw, sandbox));
    let calls = if benchmarking { 1_000 } else { 10 };
    let (connections, handshakes) = tls_connections(calls);

    let median = |function| criterion_median(dir, "tls", function, started);
    let us =
        |ns: Option<f64>| ns.map_or_else(|| "-".to_owned(), |ns| format!("{:.1} µs", ns / 1e3));
    println!();
    println!("| over TLS | SDK | raw ureq | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| create + verify, paired median (alternating) | {} | {} | {:.3} |",
        us(Some(paired_sdk)),
        us(Some(paired_raw)),
        paired_sdk / paired_raw
    );
    println!(
        "| create + verify, criterion median | {} | {} | {} |",
        us(median("sdk_round_trip")),
        us(median("raw_ureq_round_trip")),
        median("sdk_round_trip")
            .zip(median("raw_ureq_round_trip"))
            .map_or_else(|| "-".to_owned(), |(a, b)| format!("{:.3}", a / b))
    );
    println!();
    println!("| one create through the SDK (criterion median) | time |");
    println!("|---|---:|");
    println!(
        "| kept-alive TLS connection | {} |",
        us(median("call_reused"))
    );
    println!(
        "| new TCP connection + TLS handshake | {} |",
        us(median("call_fresh_tls"))
    );
    println!(
        "| new TCP connection, plain HTTP | {} |",
        us(median("call_fresh_tcp"))
    );
    println!();
    println!(
        "| {calls} sequential calls over TLS, one client | TCP connections | TLS handshakes |"
    );
    println!("|---|---:|---:|");
    println!("| fresh sandbox | {connections} | {handshakes} |");
}

// ---------------------------------------------------------------------------------------
// The report

/// Where criterion writes its estimates: `<target>/criterion`, found from this binary's
/// path (`<target>/<profile>/deps/client-<hash>`).
fn output_directory() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median (ns) criterion measured for `group/function` in this run, if it ran.
fn criterion_median(dir: &Path, group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let file = dir.join(group).join(function).join("new/estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < since {
        return None; // left from an earlier run: this run filtered it out
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn main() {
    let started = SystemTime::now();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then every part
    // runs a handful of calls as a smoke test.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let dir = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(2))
        .configure_from_args();

    let rounds = if benchmarking { 2_000 } else { 4 };
    // Part 6 alone, for a quick look at what the binding costs.
    if std::env::var_os("CLIENT_BENCH_ONLY_BINDING").is_some() {
        binding_part(&mut criterion, &dir, started, rounds);
        return;
    }
    let sandbox = Sandbox::start(Options::default()).expect("sandbox");
    let client = client(&sandbox);
    let raw = Raw::new(&sandbox);
    round_trips(&mut criterion, Wire::V2, &sandbox, &client, &raw);
    let (paired_sdk, paired_raw) = paired(Wire::V2, &sandbox, &client, &raw, rounds);
    drop((client, raw, sandbox));

    // The same on PayPing v3, on a fresh sandbox.
    let sandbox = Sandbox::start(Options::default()).expect("sandbox");
    let client = client_on(&sandbox, Gateway::PayPingV3);
    let raw = Raw::new(&sandbox);
    round_trips(&mut criterion, Wire::V3, &sandbox, &client, &raw);
    criterion.final_summary();
    let (paired_sdk_v3, paired_raw_v3) = paired(Wire::V3, &sandbox, &client, &raw, rounds);
    assert!(
        sandbox
            .payments()
            .iter()
            .all(|p| p.version == ghesta_sandbox::ApiVersion::V3),
        "the v3 part ran on v3"
    );
    drop((client, raw, sandbox));

    let calls = if benchmarking { 1_000 } else { 10 };
    let sdk_connections = connections(calls, true);
    let raw_connections = connections(calls, false);

    let (per_thread, budget) = if benchmarking {
        (1_500, Duration::from_secs(2))
    } else {
        (2, Duration::from_secs(1))
    };
    // Each side ROUNDS times, alternating, and the median of each: one run on a loaded
    // machine can be slowed by anything.
    const ROUNDS: usize = 3;
    let throughputs: Vec<_> = [1, 2, 4]
        .into_iter()
        .map(|threads| {
            let (mut sdk, mut raw) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                sdk.push(throughput(threads, per_thread, budget, true));
                raw.push(throughput(threads, per_thread, budget, false));
            }
            sdk.sort_by(|a, b| a.0.total_cmp(&b.0));
            raw.sort_by(|a, b| a.0.total_cmp(&b.0));
            (threads, sdk[ROUNDS / 2], raw[ROUNDS / 2])
        })
        .collect();

    let us =
        |ns: Option<f64>| ns.map_or_else(|| "-".to_owned(), |ns| format!("{:.1} µs", ns / 1e3));
    let ratio = |a: Option<f64>, b: Option<f64>| {
        a.zip(b)
            .map_or_else(|| "-".to_owned(), |(a, b)| format!("{:.3}", a / b))
    };
    let sdk = criterion_median(&dir, "round_trip", "sdk", started);
    let baseline = criterion_median(&dir, "round_trip", "raw_ureq", started);
    println!();
    println!("| create + verify over keep-alive | SDK | raw ureq | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| criterion median | {} | {} | {} |",
        us(sdk),
        us(baseline),
        ratio(sdk, baseline)
    );
    println!(
        "| paired median (alternating) | {} | {} | {} |",
        us(Some(paired_sdk)),
        us(Some(paired_raw)),
        ratio(Some(paired_sdk), Some(paired_raw))
    );
    let sdk_v3 = criterion_median(&dir, "round_trip_v3", "sdk", started);
    let baseline_v3 = criterion_median(&dir, "round_trip_v3", "raw_ureq", started);
    println!();
    println!("| create + verify over keep-alive, PayPing v3 | SDK | raw ureq | ratio |");
    println!("|---|---:|---:|---:|");
    println!(
        "| criterion median | {} | {} | {} |",
        us(sdk_v3),
        us(baseline_v3),
        ratio(sdk_v3, baseline_v3)
    );
    println!(
        "| paired median (alternating) | {} | {} | {} |",
        us(Some(paired_sdk_v3)),
        us(Some(paired_raw_v3)),
        ratio(Some(paired_sdk_v3), Some(paired_raw_v3))
    );
    println!();
    println!("| TCP connections for {calls} sequential calls | SDK | raw ureq |");
    println!("|---|---:|---:|");
    println!("| one client / one agent | {sdk_connections} | {raw_connections} |");
    println!();
    println!(
        "| threads sharing one client | SDK calls/s (median of {ROUNDS}) | raw ureq calls/s | ratio | connections SDK / raw |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for (threads, (sdk, sdk_conns), (raw, raw_conns)) in throughputs {
        println!(
            "| {threads} | {sdk:.0} | {raw:.0} | {:.3} | {sdk_conns} / {raw_conns} |",
            sdk / raw
        );
    }

    tls_part(&mut criterion, &dir, started, benchmarking);
    binding_part(&mut criterion, &dir, started, rounds);
}
