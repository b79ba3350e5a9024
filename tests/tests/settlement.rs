//! Paid once, on PayPing's word (issue 20), end to end against the sandbox on 127.0.0.1:
//! each of the seven ways the SDK and its durable shop lost money, on both protocols where
//! it applies, through the client (`Client::settle`, `Client::recover`, `Client::verify`)
//! and through the durable shop (`examples/durable_shop`) as a child process; then the
//! shop under load with forged callbacks.
//!
//! Each test names the behaviour of main (95bab5b) it catches. The durable-shop tests run
//! the example's binary, which `cargo test -p ghesta-sandbox` builds (a `--test` filter alone
//! does not: `cargo build -p ghesta-sandbox --example durable_shop` first).

mod common;
mod shop_process;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use common::*;
use ghesta_blocking::{Clock, Error, HttpSettings, Transport, UreqTransport};
use ghesta_core::{
    Callback, Gateway, HttpRequest, HttpResponse, PaymentStatus, Pending, Proof, Protocol, Verdict,
    VerifyOutcome, Waiting,
};
use ghesta_sandbox::{CallbackForm, Fault, PaymentState, Route, Times};
use serde_json::Value;
use shop_process::*;

/// Ghesta's installment page (v2) and PayPing's v3.
const GATEWAYS: [Gateway; 2] = [Gateway::Ghesta, Gateway::PayPingV3];

// ---------------------------------------------------------------------------------------
// Forged forms.

/// The `data` member of a v3 callback form, as JSON.
fn data(form: &CallbackForm) -> Value {
    serde_json::from_str(form.get("data").expect("a data field")).expect("data is JSON")
}

/// The form of order A's payment, re-addressed to order B (B's code and order id): what a
/// buyer who paid A posts to claim B, which costs the same.
fn twin_body(a: &CallbackForm, b: &Pending) -> String {
    let fields: Vec<(String, String)> = a
        .fields
        .iter()
        .map(|(name, value)| {
            let value = match name.as_str() {
                "code" => b.code().to_string(),
                "clientrefid" => b.client_ref_id().to_string(),
                "data" => {
                    let mut data = data(a);
                    data["paymentCode"] = b.code().as_str().into();
                    data["clientRefId"] = b.client_ref_id().as_str().into();
                    data.to_string()
                }
                _ => value.clone(),
            };
            (name.clone(), value)
        })
        .collect();
    serde_urlencoded::to_string(fields).unwrap()
}

/// An unsigned "cancelled" callback naming `order`, as anyone can post it (issue 20's
/// forms: v2 `code=anything&refid=&clientrefid=ORDER`, v3 `status=0`).
fn forged_cancel_body(gateway: Gateway, order: &str) -> String {
    match gateway.protocol() {
        Protocol::V3 => serde_urlencoded::to_string([
            ("status", "0"),
            ("errorCode", ""),
            (
                "data",
                &serde_json::json!({ "paymentCode": "anything", "clientRefId": order }).to_string(),
            ),
        ])
        .unwrap(),
        _ => format!("code=anything&refid=&clientrefid={order}"),
    }
}

fn callback_of(body: &str) -> Callback {
    Callback::from_form(body.as_bytes()).expect("the forged form parses")
}

fn shipped(verdict: &Verdict) -> bool {
    matches!(verdict, Verdict::Ship(_) | Verdict::PaidAfterRelease(_))
}

// ---------------------------------------------------------------------------------------
// 1. One payment, two orders.

#[test]
fn a_twin_callback_carrying_another_orders_refid_never_ships_its_order() {
    // main: v2's verify of B with A's refid answered `Verified` (PayPing verified A's
    // payment), and A's own callback then `AlreadyVerified`: both shipped.
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let a = create(&client, "twin-a");
        let a_form = sb.approve(a.code().as_str()).unwrap();
        let b = create(&client, "twin-b");
        let verdict = client
            .settle(&b, &callback_of(&twin_body(&a_form, &b)))
            .unwrap();
        assert!(!shipped(&verdict), "{gateway}: B shipped: {verdict:?}");
        let verdict = client.settle(&a, &parse(&a_form)).unwrap();
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );
        assert_eq!(
            client.recover(&b),
            Verdict::Wait(Waiting::StillOpen(PaymentStatus::Created)),
            "{gateway}: B is still unpaid"
        );
        assert_eq!(state(&sb, &b), PaymentState::Created, "{gateway}");
    }
}

#[test]
fn the_durable_shop_ships_a_once_and_b_never_for_one_payment() {
    // main: the durable shop verified B's twin callback and shipped both orders.
    for gateway in GATEWAYS {
        let sb = start();
        let db = TempDb::new("twin");
        let mut shop = ShopProcess::launch(&sb, &db.0, free_port(), Launch::on(gateway));
        let a = shop.checkout("twin-a");
        shop.checkout("twin-b");
        let a_form = sb.approve(&a).unwrap();
        let b = stored_pending(&db.0, "twin-b");
        let (status, body) = shop.post_callback(&twin_body(&a_form, &b));
        assert_eq!(status, 200, "{gateway}: {body}");
        assert!(!body.contains("paid"), "{gateway}: {body}");
        assert_eq!(sb.deliver(&a_form).unwrap().status, 200, "{gateway}");
        shop.wait_for(|l| l == "ship twin-a");
        assert_eq!(
            order_state(&db.0, "twin-a"),
            ("paid".into(), 1),
            "{gateway}"
        );
        assert_eq!(
            order_state(&db.0, "twin-b"),
            ("pending".into(), 0),
            "{gateway}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 2. A paying buyer released.

#[test]
fn a_buyer_who_pays_at_minute_9_is_shipped_at_minute_10_01() {
    // main: `recover` counted the window from the create and answered `TooLate` at 10:01
    // (the README: release the order), though PayPing still verifies a payment of 9:00.
    for gateway in GATEWAYS {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let client = builder(&sb, gateway).clock(clock.clone()).build();
        let by_callback = create(&client, "late-callback");
        let by_sweeper = create(&client, "late-sweeper");
        clock.sleep(Duration::from_secs(9 * 60));
        let form = sb.approve(by_callback.code().as_str()).unwrap();
        sb.approve(by_sweeper.code().as_str()).unwrap();
        clock.sleep(Duration::from_secs(61));
        let verdict = client.settle(&by_callback, &parse(&form)).unwrap();
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );
        let verdict = client.recover(&by_sweeper);
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );
        for pending in [&by_callback, &by_sweeper] {
            assert_eq!(state(&sb, pending), PaymentState::Verified, "{gateway}");
        }
    }
}

#[test]
fn the_durable_shop_never_releases_an_order_whose_verify_is_in_progress() {
    // main: while the callback's verify got 202s, the sweeper found the order past the
    // shop's window (counted from the create) and expired it; the verify then succeeded,
    // the money was taken, and nothing shipped ("already settled").
    //
    // The shop assumes a 5 s window (PayPing's stays 10 minutes, counted from the
    // payment): past 5 s from the create, main's sweeper says "too late". The wait below is
    // for the shop's own clock to pass that point, which is what is tested, not a
    // synchronisation.
    let window = Duration::from_secs(5);
    let sb = start();
    let db = TempDb::new("in-progress");
    let mut shop = ShopProcess::launch(
        &sb,
        &db.0,
        free_port(),
        Launch {
            recover_after: "0",
            verify_window: Some("5"),
            ..Launch::on(Gateway::PayPingV3)
        },
    );
    let code = shop.checkout("order-1");
    let created = sb.payment(&code).unwrap().created_at;
    sb.inject(
        Route::Verify,
        Fault::InProgress { status: 202 },
        Times::Always,
    );
    let form = sb.approve(&code).unwrap();
    std::thread::scope(|s| {
        let delivery = s.spawn(|| sb.deliver(&form).unwrap());
        shop.wait_for(|l| l == "settling order-1 (callback)");
        let past = created + window + Duration::from_millis(500);
        while let Ok(left) = past.duration_since(SystemTime::now()) {
            std::thread::sleep(left);
        }
        // A report the sweeper asks past the window, while the verify is still held: the
        // status is 5, and that is never a reason to release.
        let reports = sb.requests_seen().report;
        let asked_by = SystemTime::now() + WAIT;
        while sb.requests_seen().report <= reports {
            assert!(
                SystemTime::now() < asked_by,
                "the sweeper never asked again"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        sb.clear_faults();
        shop.wait_for(|l| l == "ship order-1");
        let delivered = delivery.join().unwrap();
        assert_eq!(delivered.status, 200, "{}", delivered.body);
    });
    assert_eq!(order_state(&db.0, "order-1"), ("paid".into(), 1));
    let printed = shop.read_printed();
    assert!(
        !printed.iter().any(|l| l.starts_with("released order-1")),
        "{printed:?}"
    );
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);
}

// ---------------------------------------------------------------------------------------
// 3. A stranger cancels a buyer's order.

#[test]
fn a_forged_cancel_releases_nothing_and_the_real_payment_ships() {
    // main: the durable shop released ("cancelled") the order on the unsigned callback;
    // the buyer's real payment then found it cancelled and was never verified.
    for gateway in GATEWAYS {
        let sb = start();
        let client = client(&sb, gateway);
        let pending = create(&client, "order-1");
        let forged = callback_of(&forged_cancel_body(gateway, "order-1"));
        assert_eq!(
            client.settle(&pending, &forged).unwrap(),
            Verdict::Wait(Waiting::StillOpen(PaymentStatus::Created)),
            "{gateway}"
        );
        let form = sb.approve(pending.code().as_str()).unwrap();
        let verdict = client.settle(&pending, &parse(&form)).unwrap();
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );

        let db = TempDb::new("forged-cancel");
        let mut shop = ShopProcess::launch(&sb, &db.0, free_port(), Launch::on(gateway));
        let code = shop.checkout("order-2");
        let (status, body) = shop.post_callback(&forged_cancel_body(gateway, "order-2"));
        assert_eq!(status, 200, "{gateway}: {body}");
        assert_eq!(
            order_state(&db.0, "order-2"),
            ("pending".into(), 0),
            "{gateway}"
        );
        let form = sb.approve(&code).unwrap();
        assert_eq!(sb.deliver(&form).unwrap().status, 200, "{gateway}");
        shop.wait_for(|l| l == "ship order-2");
        assert_eq!(
            order_state(&db.0, "order-2"),
            ("paid".into(), 1),
            "{gateway}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 4. One bad order stops every recovery.

/// The record the shop stored for `order`.
fn stored_pending(db: &std::path::Path, order: &str) -> Pending {
    let db = rusqlite::Connection::open(db).unwrap();
    let json: String = db
        .query_row("SELECT pending FROM orders WHERE id = ?1", [order], |r| {
            r.get(0)
        })
        .unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn one_bad_order_never_stops_the_durable_shops_sweep() {
    // main: the durable shop re-asked an order whose report answers 400/26 every 250 ms,
    // forever, and never settled it.
    for gateway in GATEWAYS {
        let sb = start();
        let db = TempDb::new("bad-order");
        // The sweeper stays out until the bad order is in place.
        let listen = free_port();
        let mut shop = ShopProcess::launch(
            &sb,
            &db.0,
            listen,
            Launch {
                recover_after: "3600",
                ..Launch::on(gateway)
            },
        );
        let code = shop.checkout("order-1");
        shop.kill();
        // A record PayPing's report does not know, created an hour ago (before order-1, so
        // swept first): no payment of it could still be verified.
        let mut bad = serde_json::to_value(stored_pending(&db.0, "order-1")).unwrap();
        bad["code"] = "nosuchcode".into();
        bad["client_ref_id"] = "bad-1".into();
        let page = bad["redirect_url"]
            .as_str()
            .unwrap()
            .replace(&code, "nosuchcode");
        bad["redirect_url"] = page.into();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let secs = hour_ago
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        bad["created_at"] = serde_json::json!({ "secs_since_epoch": secs, "nanos_since_epoch": 0 });
        let bad: Pending = serde_json::from_value(bad).unwrap();
        rusqlite::Connection::open(&db.0)
            .unwrap()
            .execute(
                "INSERT INTO orders (id, pending, state, created_unix) VALUES ('bad-1', ?1, 'pending', ?2)",
                rusqlite::params![serde_json::to_string(&bad).unwrap(), secs],
            )
            .unwrap();
        sb.approve(&code).unwrap(); // paid; the callback never comes
        let mut shop = ShopProcess::launch(
            &sb,
            &db.0,
            listen,
            Launch {
                recover_after: "0",
                ..Launch::on(gateway)
            },
        );
        // In either order: the sweepers settle them side by side.
        for said in ["attention bad-1 (sweeper)", "ship order-1"] {
            if !shop.read_printed().iter().any(|l| l.starts_with(said)) {
                shop.wait_for(|l| l.starts_with(said));
            }
        }
        assert_eq!(
            order_state(&db.0, "bad-1"),
            ("attention".into(), 0),
            "{gateway}"
        );
        assert_eq!(
            order_state(&db.0, "order-1"),
            ("paid".into(), 1),
            "{gateway}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 5. Verify gives up early.

/// A v3 problem answer of `status` with `metaData.code` `code` (and the earlier record, if
/// any), as PayPing writes it.
fn problem(
    status: u16,
    code: u32,
    retry_after: Option<u64>,
    earlier: Option<Value>,
) -> HttpResponse {
    let mut meta = serde_json::json!({ "code": code, "errors": [{ "message": "scripted" }] });
    if let Some(earlier) = earlier {
        meta["message"] = earlier;
    }
    let body = serde_json::json!({
        "type": "about:blank",
        "title": "scripted",
        "status": status,
        "detail": "scripted",
        "instance": "/v3/pay/verify",
        "paypingTraceId": "scripted-1",
        "metaData": meta,
    });
    let mut answer = http::Response::builder()
        .status(status)
        .header("content-type", "application/problem+json")
        .header("X-PayPingRequest-ID", "scripted-1");
    if let Some(secs) = retry_after {
        answer = answer.header("Retry-After", secs.to_string());
    }
    answer.body(serde_json::to_vec(&body).unwrap()).unwrap()
}

/// A transport to the sandbox in which the first `n` verifies are answered by `script`
/// instead (never reaching the sandbox).
fn scripted_verifies(
    n: u32,
    script: impl Fn() -> HttpResponse + Send + Sync + 'static,
) -> (impl Transport + 'static, Arc<AtomicU32>) {
    let http = UreqTransport::new(&HttpSettings::default().with_timeout(Duration::from_secs(10)));
    let answered = Arc::new(AtomicU32::new(0));
    let count = Arc::clone(&answered);
    let transport = move |request: HttpRequest| {
        if request.uri().path().ends_with("/verify") && count.fetch_add(1, Ordering::SeqCst) < n {
            return Ok(script());
        }
        http.send(request)
    };
    (transport, answered)
}

#[test]
fn in_progress_is_retried_until_the_deadline_whatever_its_retry_after() {
    // main (and this branch's blocking retry policy): a 202 asking for more than the
    // policy's longest wait (4 s) ended verify at once; a 400/155 was retried only within
    // the attempt budget (4).
    for (status, retry_after, times) in [(202, Some(10), 2), (502, Some(30), 1), (400, None, 6)] {
        let sb = start();
        let clock = SharedClock::of(&sb);
        let (transport, answered) =
            scripted_verifies(times, move || problem(status, 155, retry_after, None));
        let client = builder(&sb, Gateway::PayPingV3)
            .transport(transport)
            .clock(clock.clone())
            .build();
        let pending = create(&client, "slow");
        let form = sb.approve(pending.code().as_str()).unwrap();
        let before = clock.now();
        let verdict = client.settle(&pending, &parse(&form)).unwrap();
        assert!(matches!(verdict, Verdict::Ship(_)), "{status}: {verdict:?}");
        assert_eq!(answered.load(Ordering::SeqCst), times + 1, "{status}");
        if let Some(secs) = retry_after {
            let waited = clock.now().duration_since(before).unwrap();
            assert!(
                waited >= Duration::from_secs(secs * u64::from(times)),
                "{status}: the Retry-After was honoured: {waited:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// 6. One slow verify freezes the shop.

#[test]
fn one_slow_verify_never_delays_another_buyers_checkout() {
    // main: the durable shop served every request on one thread; a verify retrying 202s
    // held it, and the next buyer's checkout waited until it timed out.
    let sb = start();
    let db = TempDb::new("slow-verify");
    let mut shop = ShopProcess::launch(
        &sb,
        &db.0,
        free_port(),
        Launch {
            recover_after: "3600",
            ..Launch::on(Gateway::PayPingV3)
        },
    );
    let code = shop.checkout("order-a");
    sb.inject(
        Route::Verify,
        Fault::InProgress { status: 202 },
        Times::Always,
    );
    let form = sb.approve(&code).unwrap();
    std::thread::scope(|s| {
        let delivery = s.spawn(|| sb.deliver(&form).unwrap());
        shop.wait_for(|l| l == "settling order-a (callback)");
        // The first buyer's verify is held by 202s (retried for up to ten minutes); the
        // second buyer's checkout is answered now, within a short timeout.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into();
        let answer = agent
            .get(&format!("{}/checkout/order-b", shop.url))
            .call()
            .expect("the second checkout is answered while the first verify is held");
        assert_eq!(answer.status(), 303);
        assert!(
            sb.requests_seen().verify >= 1 && !delivery.is_finished(),
            "the first verify was still held"
        );
        sb.clear_faults();
        shop.wait_for(|l| l == "ship order-a");
        assert_eq!(delivery.join().unwrap().status, 200);
    });
    assert_eq!(order_state(&db.0, "order-a"), ("paid".into(), 1));
    assert_eq!(order_state(&db.0, "order-b"), ("pending".into(), 0));
}

#[test]
fn one_held_sweep_never_delays_another_orders_sweep() {
    // main (a sweeper settling one order at a time): one order whose verify PayPing kept
    // "in progress" held every overdue order behind it, for minutes of their own verify
    // windows. Here the test hook parks the first verify for ever.
    for gateway in GATEWAYS {
        let sb = start();
        let db = TempDb::new("held-sweep");
        let mut shop = ShopProcess::launch(
            &sb,
            &db.0,
            free_port(),
            Launch {
                pause: Some("verify"),
                recover_after: "0",
                ..Launch::on(gateway)
            },
        );
        let held = shop.checkout("held");
        sb.approve(&held).unwrap(); // paid; the callback never comes
        shop.wait_for(|l| l == "paused after verify");
        let next = shop.checkout("next");
        sb.approve(&next).unwrap();
        shop.wait_for(|l| l == "ship next");
        assert_eq!(order_state(&db.0, "next"), ("paid".into(), 1), "{gateway}");
        assert_eq!(
            order_state(&db.0, "held"),
            ("pending".into(), 0),
            "{gateway}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 7. v3 answers that omit the code.

/// A scripted verify answer.
type Script = fn() -> HttpResponse;

fn amount_only() -> HttpResponse {
    http::Response::builder()
        .status(200)
        .body(br#"{"amount":250000}"#.to_vec())
        .unwrap()
}

fn conflict_without_the_record() -> HttpResponse {
    problem(409, 110, None, None)
}

#[test]
fn v3_answers_without_the_code_count_only_when_the_report_confirms_them() {
    // main: a 200 `{"amount":250000}` and a 409/110 without the earlier record were taken
    // as verified (the latter "already verified": ship unless shipped), with no report.
    let scripts: [(&str, Script); 2] = [
        ("200 amount only", amount_only),
        ("409/110 without the record", conflict_without_the_record),
    ];
    for (name, script) in scripts {
        // Unpaid order B: the answer is scripted (the sandbox never sees the verify), and
        // PayPing's report of B says nothing was paid.
        let sb = start();
        let (transport, _) = scripted_verifies(u32::MAX, script);
        let client = builder(&sb, Gateway::PayPingV3)
            .transport(transport)
            .build();
        let b = create(&client, "omits-b");
        let body = serde_urlencoded::to_string([
            ("status", "1"),
            ("errorCode", ""),
            (
                "data",
                &serde_json::json!({
                    "paymentCode": b.code().as_str(),
                    "paymentRefId": 99_999,
                    "clientRefId": "omits-b",
                    "amount": TOMAN,
                })
                .to_string(),
            ),
        ])
        .unwrap();
        let forged = callback_of(&body);
        let verdict = client.settle(&b, &forged).unwrap();
        assert!(!shipped(&verdict), "{name}: {verdict:?}");
        let Callback::Completed(forged) = &forged else {
            panic!("a completed callback")
        };
        match client.verify(&b, forged) {
            Err(Error::Core(ghesta_core::Error::NotThisPayment { .. })) => {}
            other => panic!("{name}: expected NotThisPayment, got {other:?}"),
        }
        assert!(
            sb.requests_seen().report >= 2,
            "{name}: the report was asked"
        );

        // Paid order A, verified at PayPing: the same answer is bound by the report.
        let a = create(&client, "omits-a");
        let form = sb.approve(a.code().as_str()).unwrap();
        let earlier = one_shot(&sb, Gateway::PayPingV3).verify(&a, &completed(&form));
        assert!(
            matches!(earlier, Ok(VerifyOutcome::Verified(_))),
            "{earlier:?}"
        );
        match client.settle(&a, &parse(&form)).unwrap() {
            Verdict::Ship(paid) => assert_ne!(paid.proof(), Proof::VerifyNamedPayment, "{name}"),
            other => panic!("{name}: expected Ship, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Under load, with forged callbacks.

/// Every order the shop holds: id, state, shipments.
fn every_order(db: &std::path::Path) -> Vec<(String, String, u64)> {
    let db = rusqlite::Connection::open(db).unwrap();
    let mut query = db
        .prepare(
            "SELECT id, state, (SELECT COUNT(*) FROM shipments WHERE order_id = orders.id)
             FROM orders ORDER BY id",
        )
        .unwrap();
    query
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// 8 threads x 50 orders. Order `n` is paid unless `n % 4 == 3`; a paid order's callback
/// is dropped when `n % 3 == 0` (the sweeper settles it); an unpaid order gets a forged
/// twin callback carrying the paid order `n - 1`'s refid (same price); a paid order with
/// `n % 4 == 1` first gets a forged cancel.
fn load(gateway: Gateway) {
    const THREADS: usize = 8;
    const EACH: usize = 50;
    let sb = start();
    let db = TempDb::new(&format!("settle-load-{gateway}"));
    let mut shop = ShopProcess::launch(&sb, &db.0, free_port(), Launch::on(gateway));
    let paid = |n: usize| n % 4 != 3;
    std::thread::scope(|s| {
        for thread in 0..THREADS {
            let (sb, db, url) = (&sb, &db, shop.url.clone());
            s.spawn(move || {
                let mut previous: Option<CallbackForm> = None;
                for n in thread * EACH..(thread + 1) * EACH {
                    let order = format!("load-{n}");
                    let code = checkout_code(&url, &order);
                    if n % 4 == 1 {
                        let (status, body) =
                            post_callback(&url, &forged_cancel_body(gateway, &order));
                        assert_eq!(status, 200, "{order}: {body}");
                    }
                    if !paid(n) {
                        // n - 1 is paid (n % 4 == 2) and in this thread's range.
                        let twin_of = previous.as_ref().expect("the paid order before");
                        let b = stored_pending(&db.0, &order);
                        let (status, body) = post_callback(&url, &twin_body(twin_of, &b));
                        assert!(status == 200 || status == 400, "{order}: {status} {body}");
                        continue;
                    }
                    let form = sb.approve(&code).unwrap();
                    if n % 3 != 0 {
                        let delivered = sb.deliver(&form).unwrap();
                        assert_eq!(delivered.status, 200, "{order}: {}", delivered.body);
                    }
                    previous = Some(form);
                }
            });
        }
    });
    let paid_orders = (0..THREADS * EACH).filter(|n| paid(*n)).count();
    let mut shipped = std::collections::HashSet::new();
    while shipped.len() < paid_orders {
        let line = shop.wait_for(|l| l.starts_with("ship "));
        assert!(shipped.insert(line.clone()), "{gateway}: {line} twice");
    }
    let orders = every_order(&db.0);
    assert_eq!(orders.len(), THREADS * EACH, "{gateway}");
    for (order, state, shipments) in orders {
        let n: usize = order.trim_start_matches("load-").parse().unwrap();
        let expected = if paid(n) { ("paid", 1) } else { ("pending", 0) };
        assert_eq!((state.as_str(), shipments), expected, "{gateway}: {order}");
    }
    for payment in sb.payments() {
        let n: usize = payment
            .client_ref_id
            .as_deref()
            .unwrap()
            .trim_start_matches("load-")
            .parse()
            .unwrap();
        let expected = if paid(n) {
            PaymentState::Verified
        } else {
            PaymentState::Created
        };
        assert_eq!(payment.state, expected, "{gateway}: load-{n}");
    }
    let printed = shop.read_printed();
    assert!(
        !printed
            .iter()
            .any(|l| l.starts_with("released ") || l.starts_with("alert ")),
        "{gateway}: {printed:?}"
    );
}

#[test]
fn under_load_with_forged_callbacks_every_paid_order_ships_once_and_no_other() {
    // main: the forged twins shipped their unpaid orders (v2), and the forged cancels
    // released paid ones, whose real callback then found them cancelled.
    for gateway in GATEWAYS {
        load(gateway);
    }
}

// ---------------------------------------------------------------------------------------
// A payment proven after the release.

#[test]
fn a_payment_proven_after_the_release_is_refunded_or_shipped_with_an_alert() {
    // main: the durable shop answered a callback for a released ("expired") order with its
    // state and verified nothing; a payment verified after the release was only logged.
    // The shop assumes a 1 s window: the sweeper releases the unpaid order on PayPing's
    // word (never paid once the window passed); the buyer, still on the page (PayPing's
    // window is longer), then pays.
    for gateway in GATEWAYS {
        let sb = start();
        let db = TempDb::new("after-release");
        let mut shop = ShopProcess::launch(
            &sb,
            &db.0,
            free_port(),
            Launch {
                recover_after: "0",
                verify_window: Some("1"),
                ..Launch::on(gateway)
            },
        );
        let code = shop.checkout("order-1");
        shop.wait_for(|l| l.starts_with("released order-1 via sweeper"));
        assert_eq!(
            order_state(&db.0, "order-1"),
            ("released".into(), 0),
            "{gateway}"
        );
        let form = sb.approve(&code).unwrap();
        let delivered = sb.deliver(&form).unwrap();
        assert_eq!(delivered.status, 200, "{gateway}: {}", delivered.body);
        let state = sb.payment(&code).unwrap().state;
        match gateway.protocol() {
            // v3 payments are created reversible: the money goes back.
            Protocol::V3 => {
                shop.wait_for(|l| l.starts_with("refunded order-1 ref "));
                assert_eq!(order_state(&db.0, "order-1"), ("refunded".into(), 0));
                assert_eq!(state, PaymentState::Refunded);
            }
            // v2 has no refund: shipped after all, and a person is told.
            _ => {
                shop.wait_for(|l| l.starts_with("alert order-1 paid after release"));
                shop.wait_for(|l| l == "ship order-1");
                assert_eq!(order_state(&db.0, "order-1"), ("paid".into(), 1));
                assert_eq!(state, PaymentState::Verified);
            }
        }
    }
}
