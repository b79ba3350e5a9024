//! What ghesta-core costs on a shop's checkout path, step by step, each step beside a
//! baseline written by hand with the same crates (serde_json, serde_urlencoded, http,
//! percent-encoding) doing the same work.
//!
//! Both sides of a step run in one criterion group, so their ratio comes from one run on
//! one machine state; absolute times on a shared machine mean little, ratios mean more.
//! A counting global allocator gives the heap allocations per operation of each side.
//!
//! ```text
//! cargo bench -p ghesta-core --bench steps
//! cargo bench -p ghesta-core --bench steps -- --measurement-time 5   # steadier
//! cargo bench -p ghesta-core --bench steps -- callback                 # one step
//! ```
//!
//! At the end it prints a Markdown table: criterion's medians and their ratio; a paired
//! timing (both sides alternating in short batches, so load on a shared machine hits both
//! alike) and its ratio; and the allocations per operation of each side.

// The counting allocator below needs `unsafe impl GlobalAlloc`. The workspace denies
// unsafe code (library crates forbid it in lib.rs); this bench binary is the one exception.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, Criterion};
use ghesta_core::http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use ghesta_core::http::{self, HeaderValue, Method, StatusCode};
use ghesta_core::{
    Amount, Callback, ClientRefId, Config, CreatePayment, Description, Exchange, Gateway, Mobile,
    NewPayment, PayerName, PaymentCode, Pending, RedirectUrl, ReturnUrl, Token, VerifyOutcome,
    VerifyPayment,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------
// Allocation counting

/// The system allocator, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is a relaxed counter increment.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Average allocations (and reallocations) made by `routine`, its input built beforehand and
/// its output dropped afterwards, neither counted.
fn allocations_per_op<I, O>(mut setup: impl FnMut() -> I, mut routine: impl FnMut(I) -> O) -> f64 {
    const RUNS: u64 = 1_000;
    // One run first: lazy one-time work (a shared buffer promoted on first clone) is not
    // the per-operation cost.
    drop(routine(setup()));
    let mut total = 0;
    for _ in 0..RUNS {
        let input = setup();
        let before = ALLOCATIONS.load(Ordering::Relaxed);
        let output = black_box(routine(black_box(input)));
        total += ALLOCATIONS.load(Ordering::Relaxed) - before;
        drop(output);
    }
    total as f64 / RUNS as f64
}

// ---------------------------------------------------------------------------------------
// The data of one typical checkout

const TOKEN: &str = "6d1f0c9e5b2a4f3e8d7c6b5a49382716f0e1d2c3b4a5968778695a4b3c2d1e0f";
const GATEWAY: &str = "https://payping.ir";
const CODE: &str = "82a4f72c9e";
const REF_ID: &str = "3248573921";
const CLIENT_REF_ID: &str = "order-1042";
const TOMAN: u64 = 1_250_000;
const MOBILE: &str = "09123456789";
const PAYER: &str = "زهرا محمدی";
const DESCRIPTION: &str = "سفارش ۱۰۴۲";
const RETURN_URL: &str = "https://shop.example/ghesta/callback";
const REQUEST_ID: &str = "0HN7Q2V1J5K3M:00000001";

/// The form PayPing makes the buyer's browser post back: five short fields.
const CALLBACK: &[u8] = b"code=82a4f72c9e&refid=3248573921&clientrefid=order-1042\
    &cardnumber=603799******1234\
    &cardhashpan=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
const CREATE_ANSWER: &[u8] = br#"{"code":"82a4f72c9e"}"#;
const VERIFY_ANSWER: &[u8] = br#"{"amount":1250000,"cardNumber":"603799******1234","cardHashPan":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"}"#;
/// A typical refusal: code 26, "payment code not found", in Persian as PayPing sends it.
const ERROR_ANSWER: &[u8] = r#"{"26":"کد پرداخت یافت نشد"}"#.as_bytes();

fn config() -> Config {
    Config::new(Token::new(TOKEN).expect("token"))
}

fn new_payment() -> NewPayment {
    NewPayment::new(
        Amount::from_toman(TOMAN).expect("amount"),
        ReturnUrl::new(RETURN_URL).expect("return url"),
        ClientRefId::new(CLIENT_REF_ID).expect("client ref id"),
        Mobile::new(MOBILE).expect("mobile"),
    )
    .with_payer_name(PayerName::new(PAYER).expect("payer"))
    .with_description(Description::new(DESCRIPTION).expect("description"))
}

fn answer(status: u16, body: &'static [u8]) -> http::Response<&'static [u8]> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .header("X-PayPingRequest-ID", REQUEST_ID)
        .body(body)
        .expect("response")
}

// ---------------------------------------------------------------------------------------
// The hand-rolled baseline: plain structs, the same crates, no checks beyond the wire's.

const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// What a shop writing it by hand keeps: owned fields, a prebuilt Authorization header.
#[derive(Clone)]
struct PlainOrder {
    amount: u64,
    mobile: String,
    payer_name: String,
    description: String,
    return_url: String,
    client_ref_id: String,
}

fn plain_order() -> PlainOrder {
    PlainOrder {
        amount: TOMAN,
        mobile: MOBILE.to_owned(),
        payer_name: PAYER.to_owned(),
        description: DESCRIPTION.to_owned(),
        return_url: RETURN_URL.to_owned(),
        client_ref_id: CLIENT_REF_ID.to_owned(),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainCreateBody<'a> {
    amount: u64,
    payer_identity: &'a str,
    payer_name: &'a str,
    description: &'a str,
    return_url: &'a str,
    client_ref_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainVerifyBody<'a> {
    ref_id: &'a str,
    amount: u64,
}

#[derive(Deserialize)]
struct PlainCreateAnswer {
    #[allow(dead_code)] // read, as the SDK reads it
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainVerifyAnswer {
    amount: u64,
    card_number: Option<String>,
    card_hash_pan: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainCallback {
    code: String,
    refid: String,
    clientrefid: String,
    cardnumber: String,
    cardhashpan: String,
}

/// What a hand-rolled shop stores between create and verify.
struct PlainPending {
    code: String,
    client_ref_id: String,
    amount: u64,
}

fn plain_request(
    authorization: &HeaderValue,
    url: &'static str,
    body: &impl Serialize,
) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(Method::POST)
        .uri(url)
        .header(ACCEPT, APPLICATION_JSON)
        .header(AUTHORIZATION, authorization.clone())
        .header(CONTENT_TYPE, APPLICATION_JSON)
        .body(serde_json::to_vec(body).expect("json"))
        .expect("request")
}

fn plain_request_id(response: &http::Response<&[u8]>) -> Option<String> {
    response
        .headers()
        .get("X-PayPingRequest-ID")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// RFC 3986 unreserved characters stay; everything else is escaped (the SDK's set).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

// ---------------------------------------------------------------------------------------
// Measuring one step

/// What one step measured besides criterion's own estimates.
struct Row {
    step: &'static str,
    /// Paired medians (ns per operation): SDK, baseline.
    paired: Option<(f64, f64)>,
    sdk_allocs: f64,
    baseline_allocs: f64,
}

/// Times `routine` over `inputs` (built beforehand), outputs dropped afterwards: ns per op.
fn batch<I, O>(inputs: Vec<I>, outputs: &mut Vec<O>, routine: &mut impl FnMut(I) -> O) -> f64 {
    let n = inputs.len();
    let start = Instant::now();
    for input in inputs {
        outputs.push(black_box(routine(black_box(input))));
    }
    let elapsed = start.elapsed();
    outputs.clear();
    elapsed.as_nanos() as f64 / n as f64
}

fn median_of(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Medians (ns per op) of SDK and baseline timed in alternating short batches, so that
/// a build starting on the shared machine slows both sides alike. Criterion times one side
/// after the other, and its ratio moves with the load; this one moves far less.
fn paired<I, O, J, P>(
    sdk_setup: &mut impl FnMut() -> I,
    sdk: &mut impl FnMut(I) -> O,
    baseline_setup: &mut impl FnMut() -> J,
    baseline: &mut impl FnMut(J) -> P,
) -> (f64, f64) {
    const ROUNDS: usize = 2_000;
    const BATCH: usize = 64;
    let mut sdk_outputs = Vec::with_capacity(BATCH);
    let mut baseline_outputs = Vec::with_capacity(BATCH);
    let mut sdk_times = Vec::with_capacity(ROUNDS);
    let mut baseline_times = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let sdk_inputs = (0..BATCH).map(|_| sdk_setup()).collect();
        let baseline_inputs = (0..BATCH).map(|_| baseline_setup()).collect();
        // Alternate which side goes first: neither always runs on a warmer cache.
        if round % 2 == 0 {
            sdk_times.push(batch(sdk_inputs, &mut sdk_outputs, sdk));
            baseline_times.push(batch(baseline_inputs, &mut baseline_outputs, baseline));
        } else {
            baseline_times.push(batch(baseline_inputs, &mut baseline_outputs, baseline));
            sdk_times.push(batch(sdk_inputs, &mut sdk_outputs, sdk));
        }
    }
    (median_of(sdk_times), median_of(baseline_times))
}

/// Runs one step: both sides in one criterion group (`<name>/sdk`, `<name>/baseline`), then
/// the paired timing and the allocation counts. Each side's input is built outside the
/// timing and its output dropped outside it, so a step's figure is the work of the step.
fn step<I, O, J, P>(
    c: &mut Criterion,
    benchmarking: bool,
    name: &'static str,
    (mut sdk_setup, mut sdk): (impl FnMut() -> I, impl FnMut(I) -> O),
    (mut baseline_setup, mut baseline): (impl FnMut() -> J, impl FnMut(J) -> P),
) -> Row {
    let mut group = c.benchmark_group(name);
    group.bench_function("sdk", |b| {
        b.iter_batched(&mut sdk_setup, &mut sdk, BatchSize::SmallInput)
    });
    group.bench_function("baseline", |b| {
        b.iter_batched(&mut baseline_setup, &mut baseline, BatchSize::SmallInput)
    });
    group.finish();
    Row {
        step: name,
        paired: benchmarking
            .then(|| paired(&mut sdk_setup, &mut sdk, &mut baseline_setup, &mut baseline)),
        sdk_allocs: allocations_per_op(&mut sdk_setup, &mut sdk),
        baseline_allocs: allocations_per_op(&mut baseline_setup, &mut baseline),
    }
}

// ---------------------------------------------------------------------------------------
// The steps

fn steps(c: &mut Criterion, benchmarking: bool) -> Vec<Row> {
    let config = config();
    let authorization = HeaderValue::try_from(format!("Bearer {TOKEN}")).expect("header");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let order = plain_order();
    let create = CreatePayment::new(&config, new_payment(), now);
    let pending: Pending = create
        .parse_response(answer(200, CREATE_ANSWER))
        .expect("pending");
    let Ok(Callback::Completed(callback)) = Callback::from_form(CALLBACK) else {
        panic!("the typical callback must parse as completed");
    };
    assert_eq!(callback.ref_id().as_str(), REF_ID);
    let verify = VerifyPayment::new(&config, &pending, &callback).expect("verify");
    let plain_pending = PlainPending {
        code: CODE.to_owned(),
        client_ref_id: CLIENT_REF_ID.to_owned(),
        amount: TOMAN,
    };
    let plain_callback: PlainCallback = serde_urlencoded::from_bytes(CALLBACK).expect("form");
    let code = PaymentCode::new(CODE).expect("code");
    let create_body = |order: &PlainOrder| {
        let body = PlainCreateBody {
            amount: order.amount,
            payer_identity: &order.mobile,
            payer_name: &order.payer_name,
            description: &order.description,
            return_url: &order.return_url,
            client_ref_id: &order.client_ref_id,
        };
        plain_request(&authorization, "https://api.payping.ir/v2/pay", &body)
    };
    let verify_body = || {
        let body = PlainVerifyBody {
            ref_id: &plain_callback.refid,
            amount: plain_pending.amount,
        };
        plain_request(
            &authorization,
            "https://api.payping.ir/v2/pay/verify",
            &body,
        )
    };
    let none = || ();
    let mut rows = Vec::new();

    // 1. Create: the exchange built from the shop's order, then its request.
    rows.push(step(
        c,
        benchmarking,
        "create_request",
        (new_payment, |payment| {
            let exchange = CreatePayment::new(&config, payment, now);
            let request = exchange.to_request().expect("request");
            (exchange, request)
        }),
        (
            || order.clone(),
            |order: PlainOrder| {
                let request = create_body(&order);
                (order, request)
            },
        ),
    ));

    // 1b. Create: the request alone, from an exchange already built (a retry).
    rows.push(step(
        c,
        benchmarking,
        "create_to_request",
        (none, |()| create.to_request().expect("request")),
        (none, |()| create_body(&order)),
    ));

    // 2. Verify: the exchange built from the stored record and the callback (checked
    //    against each other), then its request.
    rows.push(step(
        c,
        benchmarking,
        "verify_request",
        (none, |()| {
            let exchange = VerifyPayment::new(&config, &pending, &callback).expect("verify");
            let request = exchange.to_request().expect("request");
            (exchange, request)
        }),
        (none, |()| {
            assert!(
                plain_callback.code == plain_pending.code
                    && plain_callback.clientrefid == plain_pending.client_ref_id
            );
            verify_body()
        }),
    ));

    // 2b. Verify: the request alone, from an exchange already built (a retry).
    rows.push(step(
        c,
        benchmarking,
        "verify_to_request",
        (none, |()| verify.to_request().expect("request")),
        (none, |()| verify_body()),
    ));

    // 3. Create's answer: the SDK gives the record to store (code checked, redirect URL and
    //    request id kept); the baseline reads the code and the request id.
    rows.push(step(
        c,
        benchmarking,
        "parse_create",
        (
            || answer(200, CREATE_ANSWER),
            |response| create.parse_response(response).expect("pending"),
        ),
        (
            || answer(200, CREATE_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let parsed: PlainCreateAnswer =
                    serde_json::from_slice(response.body()).expect("json");
                (parsed, plain_request_id(&response))
            },
        ),
    ));

    // 4. Verify's answer: amount compared with the stored one, card fields kept.
    rows.push(step(
        c,
        benchmarking,
        "parse_verify",
        (
            || answer(200, VERIFY_ANSWER),
            |response| verify.parse_response(response).expect("verified"),
        ),
        (
            || answer(200, VERIFY_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let parsed: PlainVerifyAnswer =
                    serde_json::from_slice(response.body()).expect("json");
                assert_eq!(parsed.amount, plain_pending.amount);
                (parsed, plain_request_id(&response))
            },
        ),
    ));

    // 3b/4b. The same two answers against a baseline that does the same work by hand:
    //    besides reading the JSON, it builds the record the SDK hands back (for create: the
    //    code, a copy of the clientRefId, the redirect URL, the request id; for verify: the
    //    code and refId beside the card fields). Steps 3 and 4 compare with the least a
    //    parse can cost; these compare with the least *this* step can cost.
    rows.push(step(
        c,
        benchmarking,
        "parse_create_same_work",
        (
            || answer(200, CREATE_ANSWER),
            |response| create.parse_response(response).expect("pending"),
        ),
        (
            || answer(200, CREATE_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let parsed: PlainCreateAnswer =
                    serde_json::from_slice(response.body()).expect("json");
                let redirect = format!(
                    "https://payping.ir/installment/{}?type=ghesta",
                    utf8_percent_encode(&parsed.code, SEGMENT)
                );
                let client_ref_id = order.client_ref_id.clone();
                (parsed, client_ref_id, redirect, plain_request_id(&response))
            },
        ),
    ));
    rows.push(step(
        c,
        benchmarking,
        "parse_verify_same_work",
        (
            || answer(200, VERIFY_ANSWER),
            |response| verify.parse_response(response).expect("verified"),
        ),
        (
            || answer(200, VERIFY_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let parsed: PlainVerifyAnswer =
                    serde_json::from_slice(response.body()).expect("json");
                assert_eq!(parsed.amount, plain_pending.amount);
                let ids = (plain_pending.code.clone(), plain_callback.refid.clone());
                (parsed, ids, plain_request_id(&response))
            },
        ),
    ));

    // 5. An error answer: 400 with PayPing's object of code to message.
    rows.push(step(
        c,
        benchmarking,
        "parse_error",
        (
            || answer(400, ERROR_ANSWER),
            |response| create.parse_response(response).expect_err("refused"),
        ),
        (
            || answer(400, ERROR_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::BAD_REQUEST);
                let parsed: HashMap<String, String> =
                    serde_json::from_slice(response.body()).expect("json");
                (parsed, plain_request_id(&response))
            },
        ),
    ));

    // 6. The callback form: the SDK refuses duplicates, bad escapes and invalid values;
    //    the baseline takes what serde_urlencoded gives.
    rows.push(step(
        c,
        benchmarking,
        "callback",
        (none, |()| {
            Callback::from_form(black_box(CALLBACK)).expect("callback")
        }),
        (none, |()| {
            serde_urlencoded::from_bytes::<PlainCallback>(black_box(CALLBACK)).expect("form")
        }),
    ));

    // 7. The redirect URL: Ghesta's installment page with the code as one path segment.
    rows.push(step(
        c,
        benchmarking,
        "redirect_url",
        (none, |()| RedirectUrl::ghesta(&config, black_box(&code))),
        (none, |()| {
            format!(
                "{GATEWAY}/installment/{}?type=ghesta",
                utf8_percent_encode(black_box(CODE), SEGMENT)
            )
        }),
    ));

    rows.extend(v3_steps(c, benchmarking));
    rows
}

// ---------------------------------------------------------------------------------------
// PayPing v3: the same checkout over `/v3/pay`, each step beside a baseline that does the
// same work by hand, checks included.

const V3_CODE: &str = "01K2YQYESEQGNMCVFPQ9VC96YF";
const V3_REF_ID: u64 = 3_248_573_921;
const V3_START_PAGE: &str = "https://api.payping.ir/v3/pay/start/";
const V3_CREATE_ANSWER: &[u8] = br#"{"paymentCode":"01K2YQYESEQGNMCVFPQ9VC96YF","url":"https://api.payping.ir/v3/pay/start/01K2YQYESEQGNMCVFPQ9VC96YF","amount":1250000,"gatewayAmount":1262500,"payerWage":12500,"businessWage":0,"paypingVat":0}"#;
/// A 200 verify: the whole record, as PayPing's schema lists it.
const V3_VERIFY_ANSWER: &[u8] = br#"{"amount":1250000,"cardNumber":"603799******1234","cardHashPan":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08","clientRefId":"order-1042","paymentRefId":3248573921,"code":"01K2YQYESEQGNMCVFPQ9VC96YF","payedDate":"2026-11-30T05:03:00Z","payerWage":0,"businessWage":0,"gatewayAmount":1250000,"paypingVat":0}"#;
/// A 409 with code 110: verified before, the earlier record in PascalCase as PayPing's
/// documentation shows it.
const V3_ALREADY_ANSWER: &[u8] = br#"{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.10","title":"Conflict","status":409,"paypingTraceId":"0HN50ATIAS006:00000002","metaData":{"code":110,"message":{"Amount":1250000,"CardNumber":"603799******1234","CardHashPan":"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08","Code":"01K2YQYESEQGNMCVFPQ9VC96YF","PaymentRefId":3248573921,"PayedDate":"2026-11-30T05:03:00Z"}}}"#;

/// v3's callback form: `status`, `errorCode` and `data`, a JSON string (251 bytes).
fn v3_callback_form() -> Vec<u8> {
    let data = serde_json::json!({
        "clientRefId": CLIENT_REF_ID,
        "paymentCode": V3_CODE,
        "paymentRefId": V3_REF_ID,
        "amount": TOMAN,
        "gatewayAmount": TOMAN + 12_500,
        "cardNumber": "603799******1234",
        "cardHashPan": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
    });
    serde_urlencoded::to_string([
        ("status", "1"),
        ("errorCode", ""),
        ("data", &data.to_string()),
    ])
    .expect("form")
    .into_bytes()
}

/// The SDK's text rules, by hand: non-empty, unpadded, bounded, no control characters.
fn plain_text_ok(value: &str, max: usize) -> bool {
    !value.is_empty()
        && value.trim() == value
        && value.len() <= max
        && !value.bytes().any(|b| b.is_ascii_control())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlainV3VerifyBody<'a> {
    payment_ref_id: u64,
    payment_code: &'a str,
    amount: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainV3Created {
    payment_code: String,
    url: Option<String>,
    amount: Option<u64>,
    gateway_amount: Option<u64>,
    payer_wage: Option<u64>,
    business_wage: Option<u64>,
    payping_vat: Option<u64>,
}

/// The fields of a verified record the SDK keeps or checks (amount, code, card fields,
/// payment date); the others are skipped on both sides.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainV3Record {
    amount: u64,
    code: Option<String>,
    card_number: Option<String>,
    card_hash_pan: Option<String>,
    payed_date: Option<String>,
}

/// The 409's earlier record: PascalCase as documented, camelCase as the schema says.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainV3Earlier {
    #[serde(alias = "amount")]
    amount: Option<u64>,
    #[serde(alias = "code")]
    code: Option<String>,
    #[serde(alias = "cardNumber")]
    card_number: Option<String>,
    #[serde(alias = "cardHashPan")]
    card_hash_pan: Option<String>,
    #[serde(alias = "payedDate")]
    payed_date: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainV3Problem {
    title: Option<String>,
    payping_trace_id: Option<String>,
    meta_data: Option<PlainV3Meta>,
}

#[derive(Deserialize)]
struct PlainV3Meta {
    code: Option<u32>,
    message: Option<PlainV3Earlier>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlainV3Form {
    status: String,
    error_code: String,
    data: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read, as the SDK reads it
struct PlainV3Data {
    client_ref_id: Option<String>,
    payment_code: String,
    payment_ref_id: u64,
    amount: Option<u64>,
    gateway_amount: Option<u64>,
    card_number: Option<String>,
    card_hash_pan: Option<String>,
}

/// What the hand-written v3 callback keeps: the data, and the refId as text.
#[allow(dead_code)] // kept, as the SDK keeps it
struct PlainV3Callback {
    data: PlainV3Data,
    ref_id: String,
}

/// The v3 callback by hand: the form, its status and error code checked, `data` read as
/// JSON, its values checked as the SDK checks them.
fn plain_v3_callback(form: &[u8]) -> PlainV3Callback {
    let form: PlainV3Form = serde_urlencoded::from_bytes(form).expect("form");
    assert!(form.status == "1" && form.error_code.is_empty(), "paid");
    let data: PlainV3Data = serde_json::from_str(&form.data).expect("data");
    assert!(plain_text_ok(&data.payment_code, 128));
    assert!(
        data.client_ref_id
            .as_deref()
            .is_none_or(|id| plain_text_ok(id, 128))
    );
    assert!(
        data.card_number
            .as_deref()
            .is_none_or(|v| plain_text_ok(v, 64))
    );
    assert!(
        data.card_hash_pan
            .as_deref()
            .is_none_or(|v| plain_text_ok(v, 128))
    );
    assert_ne!(data.payment_ref_id, 0);
    let ref_id = data.payment_ref_id.to_string();
    PlainV3Callback { data, ref_id }
}

fn v3_steps(c: &mut Criterion, benchmarking: bool) -> Vec<Row> {
    let config = config().with_gateway(Gateway::PayPingV3);
    let authorization = HeaderValue::try_from(format!("Bearer {TOKEN}")).expect("header");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let order = plain_order();
    let create = CreatePayment::new(&config, new_payment(), now);
    let pending: Pending = create
        .parse_response(answer(200, V3_CREATE_ANSWER))
        .expect("pending");
    assert_eq!(pending.code().as_str(), V3_CODE);
    let form = v3_callback_form();
    let Ok(Callback::Completed(callback)) = Callback::from_form(&form) else {
        panic!("the typical v3 callback must parse as completed");
    };
    let verify = VerifyPayment::new(&config, &pending, &callback).expect("verify");
    assert!(matches!(
        verify.parse_response(answer(409, V3_ALREADY_ANSWER)),
        Ok(VerifyOutcome::AlreadyVerified(_))
    ));
    let plain_pending = PlainPending {
        code: V3_CODE.to_owned(),
        client_ref_id: CLIENT_REF_ID.to_owned(),
        amount: TOMAN,
    };
    let plain_callback = plain_v3_callback(&form);
    let create_body = |order: &PlainOrder| {
        let body = PlainCreateBody {
            amount: order.amount,
            payer_identity: &order.mobile,
            payer_name: &order.payer_name,
            description: &order.description,
            return_url: &order.return_url,
            client_ref_id: &order.client_ref_id,
        };
        plain_request(&authorization, "https://api.payping.ir/v3/pay", &body)
    };
    let none = || ();
    let mut rows = Vec::new();

    // v3 1. Create: the exchange built from the shop's order, then its request.
    rows.push(step(
        c,
        benchmarking,
        "v3_create_request",
        (new_payment, |payment| {
            let exchange = CreatePayment::new(&config, payment, now);
            let request = exchange.to_request().expect("request");
            (exchange, request)
        }),
        (
            || order.clone(),
            |order: PlainOrder| {
                let request = create_body(&order);
                (order, request)
            },
        ),
    ));

    // v3 2. Create's answer: code checked, the amount PayPing created compared with the one
    //    sent, the page it named kept only as the code's start page on one of PayPing's API
    //    hosts (else the start page built), fees, a copy of the clientRefId and the request
    //    id kept.
    rows.push(step(
        c,
        benchmarking,
        "v3_parse_create",
        (
            || answer(200, V3_CREATE_ANSWER),
            |response| create.parse_response(response).expect("pending"),
        ),
        (
            || answer(200, V3_CREATE_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let parsed: PlainV3Created = serde_json::from_slice(response.body()).expect("json");
                assert!(plain_text_ok(&parsed.payment_code, 128));
                assert!(parsed.amount.is_none_or(|a| a == order.amount));
                // The named page is kept only when it is the start page of this code on
                // one of PayPing's two API hosts; else the start page is built.
                let own_page = |url: &str| {
                    let Some((start, mut rest)) = url.split_at_checked(V3_START_PAGE.len()) else {
                        return false;
                    };
                    let on_api_host = start.eq_ignore_ascii_case(V3_START_PAGE)
                        || start.eq_ignore_ascii_case("https://api.payping.io/v3/pay/start/");
                    on_api_host
                        && utf8_percent_encode(&parsed.payment_code, SEGMENT)
                            .all(|chunk| rest.strip_prefix(chunk).map(|r| rest = r).is_some())
                        && rest.is_empty()
                };
                let redirect = match parsed.url.as_deref() {
                    Some(url) if own_page(url) => url.to_owned(),
                    _ => format!(
                        "{V3_START_PAGE}{}",
                        utf8_percent_encode(&parsed.payment_code, SEGMENT)
                    ),
                };
                let client_ref_id = order.client_ref_id.clone();
                (parsed, client_ref_id, redirect, plain_request_id(&response))
            },
        ),
    ));

    // v3 3. Verify: the exchange built from the stored record and the callback (code,
    //    clientRefId and amount checked against each other, the refId a whole number),
    //    then its request.
    rows.push(step(
        c,
        benchmarking,
        "v3_verify_request",
        (none, |()| {
            let exchange = VerifyPayment::new(&config, &pending, &callback).expect("verify");
            let request = exchange.to_request().expect("request");
            (exchange, request)
        }),
        (none, |()| {
            let data = &plain_callback.data;
            assert!(
                data.payment_code == plain_pending.code
                    && data.client_ref_id.as_deref() == Some(&*plain_pending.client_ref_id)
                    && data.amount.is_none_or(|a| a == plain_pending.amount)
            );
            let payment_ref_id: u64 = plain_callback.ref_id.parse().expect("integer");
            assert_ne!(payment_ref_id, 0);
            let body = PlainV3VerifyBody {
                payment_ref_id,
                payment_code: &plain_pending.code,
                amount: plain_pending.amount,
            };
            plain_request(
                &authorization,
                "https://api.payping.ir/v3/pay/verify",
                &body,
            )
        }),
    ));

    // v3 4. Verify's 200: the record's amount and code compared with the stored ones, card
    //    fields checked and kept, the payment date kept, the ids beside them.
    rows.push(step(
        c,
        benchmarking,
        "v3_parse_verify",
        (
            || answer(200, V3_VERIFY_ANSWER),
            |response| verify.parse_response(response).expect("verified"),
        ),
        (
            || answer(200, V3_VERIFY_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::OK);
                let record: PlainV3Record = serde_json::from_slice(response.body()).expect("json");
                assert_eq!(record.amount, plain_pending.amount);
                assert!(
                    record
                        .code
                        .as_deref()
                        .is_none_or(|c| c == plain_pending.code)
                );
                let card = record
                    .card_number
                    .as_deref()
                    .filter(|v| plain_text_ok(v, 64))
                    .map(str::to_owned);
                let hash = record
                    .card_hash_pan
                    .as_deref()
                    .filter(|v| plain_text_ok(v, 128))
                    .map(str::to_owned);
                let ids = (plain_pending.code.clone(), plain_callback.ref_id.clone());
                (record, card, hash, ids, plain_request_id(&response))
            },
        ),
    ));

    // v3 5. Verify's 409 with code 110: verified before. The earlier record (PascalCase)
    //    checked like a 200's, its card fields and date kept, the trace id preferred.
    rows.push(step(
        c,
        benchmarking,
        "v3_parse_409",
        (
            || answer(409, V3_ALREADY_ANSWER),
            |response| verify.parse_response(response).expect("already verified"),
        ),
        (
            || answer(409, V3_ALREADY_ANSWER),
            |response: http::Response<&[u8]>| {
                assert_eq!(response.status(), StatusCode::CONFLICT);
                let problem: PlainV3Problem =
                    serde_json::from_slice(response.body()).expect("json");
                let meta = problem.meta_data.expect("metaData");
                assert_eq!(meta.code, Some(110));
                let earlier = meta.message.expect("earlier record");
                assert_eq!(earlier.amount, Some(plain_pending.amount));
                assert!(
                    earlier
                        .code
                        .as_deref()
                        .is_none_or(|c| c == plain_pending.code)
                );
                let card = earlier
                    .card_number
                    .as_deref()
                    .filter(|v| plain_text_ok(v, 64))
                    .map(str::to_owned);
                let hash = earlier
                    .card_hash_pan
                    .as_deref()
                    .filter(|v| plain_text_ok(v, 128))
                    .map(str::to_owned);
                let request_id = problem
                    .payping_trace_id
                    .clone()
                    .or_else(|| plain_request_id(&response));
                let ids = (plain_pending.code.clone(), plain_callback.ref_id.clone());
                (earlier, card, hash, ids, request_id, problem.title)
            },
        ),
    ));

    // v3 6. The callback form: status and errorCode checked, `data` read as JSON, its
    //    values checked; the SDK also refuses duplicates, bad escapes and case twins.
    rows.push(step(
        c,
        benchmarking,
        "v3_callback",
        (none, |()| {
            Callback::from_form(black_box(&form)).expect("callback")
        }),
        (none, |()| plain_v3_callback(black_box(&form))),
    ));

    rows
}

// ---------------------------------------------------------------------------------------
// The report

/// Where criterion writes its estimates: `<target>/criterion`, found from this binary's
/// path (`<target>/<profile>/deps/steps-<hash>`).
fn output_directory() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median (ns) criterion measured for `group/function` in this run, if it ran.
fn median(dir: &Path, group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let file = dir.join(group).join(function).join("new/estimates.json");
    if std::fs::metadata(&file).ok()?.modified().ok()? < since {
        return None; // left from an earlier run: this run filtered the step out
    }
    let estimates: serde_json::Value = serde_json::from_slice(&std::fs::read(file).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

fn main() {
    let started = SystemTime::now();
    // `cargo bench` passes --bench; `cargo test --benches` does not, and then criterion runs
    // each routine once as a test, and so does this file (allocations still counted).
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let dir = output_directory();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let rows = steps(&mut criterion, benchmarking);
    criterion.final_summary();

    println!();
    println!(
        "| step | SDK median | baseline median | ratio | paired SDK | paired baseline | paired ratio | allocs SDK | allocs baseline |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let ns = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} ns"));
        let ratio = |a: Option<f64>, b: Option<f64>| {
            a.zip(b)
                .map_or_else(|| "-".to_owned(), |(a, b)| format!("{:.2}", a / b))
        };
        let sdk = median(&dir, row.step, "sdk", started);
        let baseline = median(&dir, row.step, "baseline", started);
        let (paired_sdk, paired_baseline) = row.paired.unzip();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.step,
            ns(sdk),
            ns(baseline),
            ratio(sdk, baseline),
            ns(paired_sdk),
            ns(paired_baseline),
            ratio(paired_sdk, paired_baseline),
            row.sdk_allocs,
            row.baseline_allocs,
        );
    }
}
