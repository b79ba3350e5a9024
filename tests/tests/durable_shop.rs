//! The durable shop (`examples/durable_shop`) as a child process against the sandbox: a
//! payment whose callback never comes is verified by the sweeper; a shop killed with
//! SIGKILL at each step of the settlement (after the create, after the callback's verify,
//! after the report, before the shipment is stored) and restarted on the same database
//! ships every paid order once, never an unpaid one, and releases none, a forged cancel
//! after the restart included; the callback and the sweeper racing on one payment ship it
//! once; and under load (8 threads x 50 payments), with a third of the callbacks dropped,
//! every paid order is verified and shipped exactly once (`tests/settlement.rs` adds forged
//! callbacks to that load). An order paid twice (two tabs, both paid) ships once and its
//! other payment is refunded (v3) or alerted for a refund by hand (v2/Ghesta), once: with
//! both callbacks in turn, racing, found by the sweeper, found after a restart; and a
//! database of the previous schema (one payment per order) is migrated and settled.
//!
//! These tests run the example's binary: `cargo test -p ghesta-sandbox` builds it, a
//! `--test` filter alone does not (build it with `cargo build -p ghesta-sandbox --example
//! durable_shop` first).

mod shop_process;

use std::sync::Barrier;

use ghesta_core::{Gateway, Protocol};
use ghesta_sandbox::{CallbackForm, Options, PaymentState, Sandbox};

use shop_process::*;

const GATEWAYS: [Gateway; 2] = [Gateway::Ghesta, Gateway::PayPingV3];

#[test]
fn a_callback_that_never_comes_is_verified_by_the_sweeper() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new("sweeper");
        let mut shop = ShopProcess::start(&sandbox, &db.0, free_port(), gateway, None);
        let code = shop.checkout("order-1");
        sandbox.approve(&code).unwrap(); // paid; the form is never delivered
        shop.wait_for(|l| l.starts_with("paid order-1 via sweeper"));
        shop.wait_for(|l| l == "ship order-1");
        assert_eq!(
            order_state(&db.0, "order-1"),
            ("paid".into(), 1),
            "{gateway}"
        );
    }
}

#[test]
fn a_shop_killed_after_the_redirect_settles_the_callback_after_restart() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new("restart");
        let listen = free_port();
        let mut shop = ShopProcess::start(&sandbox, &db.0, listen, gateway, None);
        let code = shop.checkout("order-1");
        shop.kill();
        let form = sandbox.approve(&code).unwrap();
        let mut restarted = ShopProcess::start(&sandbox, &db.0, listen, gateway, None);
        let delivered = sandbox.deliver(&form).unwrap();
        assert_eq!(delivered.status, 200, "{gateway}: {}", delivered.body);
        restarted.wait_for(|l| l == "ship order-1");
        assert_eq!(
            order_state(&db.0, "order-1"),
            ("paid".into(), 1),
            "{gateway}"
        );
    }
}

#[test]
fn a_shop_killed_between_verify_and_storing_is_settled_once_by_its_sweeper() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new("verified");
        let listen = free_port();
        let mut shop = ShopProcess::start(&sandbox, &db.0, listen, gateway, Some("ship"));
        let code = shop.checkout("order-1");
        let form = sandbox.approve(&code).unwrap();
        std::thread::scope(|s| {
            // The browser's POST waits while the shop holds at the hook: deliver it aside.
            s.spawn(|| {
                let _ = sandbox.deliver(&form); // cut short by the kill
            });
            shop.wait_for(|l| l == "paused after ship");
            shop.kill(); // verified at PayPing, not stored here
        });
        assert_eq!(order_state(&db.0, "order-1").0, "pending");
        let mut restarted = ShopProcess::start(&sandbox, &db.0, listen, gateway, None);
        restarted.wait_for(|l| l.starts_with("paid order-1 via sweeper"));
        assert_eq!(
            order_state(&db.0, "order-1"),
            ("paid".into(), 1),
            "{gateway}"
        );
    }
}

#[test]
fn the_callback_and_the_sweeper_racing_ship_once_and_the_buyer_sees_no_error() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new("race");
    // Recover at once: the sweeper (every 250 ms) and the callback race for every order.
    let mut shop =
        ShopProcess::start_with(&sandbox, &db.0, free_port(), Gateway::Ghesta, None, "0");
    for n in 0..20 {
        let order = format!("race-{n}");
        let code = shop.checkout(&order);
        let form = sandbox.approve(&code).unwrap();
        let delivered = sandbox.deliver(&form).unwrap();
        assert_eq!(delivered.status, 200, "{order}: {}", delivered.body);
        shop.wait_for(|l| l == format!("ship {order}"));
        assert_eq!(order_state(&db.0, &order), ("paid".into(), 1));
    }
}

#[test]
fn under_load_with_a_third_of_the_callbacks_dropped_every_paid_order_ships_once() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new("load");
    let mut shop = ShopProcess::start(&sandbox, &db.0, free_port(), Gateway::Ghesta, None);
    let orders: Vec<String> = (0..8 * 50).map(|n| format!("load-{n}")).collect();
    std::thread::scope(|s| {
        for (thread, chunk) in orders.chunks(50).enumerate() {
            let (sandbox, url) = (&sandbox, shop.url.clone());
            s.spawn(move || {
                for (n, order) in chunk.iter().enumerate() {
                    let code = checkout_code(&url, order);
                    let form = sandbox.approve(&code).unwrap();
                    // A third of the buyers close the tab: no callback.
                    if (thread * 50 + n) % 3 != 0 {
                        let delivered = sandbox.deliver(&form).unwrap();
                        assert_eq!(delivered.status, 200, "{order}: {}", delivered.body);
                    }
                }
            });
        }
    });
    let mut shipped = std::collections::HashSet::new();
    while shipped.len() < orders.len() {
        let line = shop.wait_for(|l| l.starts_with("ship "));
        assert!(shipped.insert(line.clone()), "{line} twice");
    }
    for order in &orders {
        assert_eq!(order_state(&db.0, order), ("paid".into(), 1), "{order}");
    }
    let verified = sandbox
        .payments()
        .iter()
        .filter(|p| p.state.name() == "verified")
        .count();
    assert_eq!(
        verified,
        orders.len(),
        "every payment verified at PayPing once"
    );
}

/// One order paid, one never paid; the shop is killed with SIGKILL at `step` of the paid
/// order's settlement (the test hook parks the flow there) and restarted on the same
/// database, where a forged cancel and the buyer's refreshed callback also arrive. The
/// paid order ships exactly once, the unpaid one never, and nothing is released.
fn killed_at(gateway: Gateway, step: &str) {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new(&format!("kill-{gateway}-{step}"));
    let listen = free_port();
    // v3's callback sends no report (its verify names the payment): the sweeper's does.
    let by_sweeper = step == "report" && gateway.protocol() == ghesta_core::Protocol::V3;
    let first = Launch {
        pause: Some(step),
        recover_after: if by_sweeper { "0" } else { "3600" },
        ..Launch::on(gateway)
    };
    let mut shop = ShopProcess::launch(&sandbox, &db.0, listen, first);
    let mut orphan = None;
    let form = if step == "create" {
        // PayPing created the payment; the shop dies before storing the order.
        std::thread::scope(|s| {
            let url = shop.url.clone();
            s.spawn(move || {
                let _ = std::panic::catch_unwind(|| checkout_code(&url, "order-1"));
            });
            shop.wait_for(|l| l == "paused after create");
            orphan = sandbox.payments().first().map(|p| p.code.clone());
            shop.kill();
        });
        None
    } else {
        if !by_sweeper {
            shop.checkout("unpaid");
        }
        let code = shop.checkout("order-1");
        let form = sandbox.approve(&code).unwrap();
        std::thread::scope(|s| {
            if !by_sweeper {
                // The browser's POST hangs at the hook; the kill cuts it.
                s.spawn(|| {
                    let _ = sandbox.deliver(&form);
                });
            }
            shop.wait_for(|l| l == format!("paused after {step}"));
            shop.kill();
        });
        Some(form)
    };
    let mut restarted = ShopProcess::launch(
        &sandbox,
        &db.0,
        listen,
        Launch {
            recover_after: "0",
            ..Launch::on(gateway)
        },
    );
    let form = match form {
        Some(form) => form,
        // The buyer tries again: a new payment for the order.
        None => {
            let code = restarted.checkout("order-1");
            sandbox.approve(&code).unwrap()
        }
    };
    if by_sweeper || step == "create" {
        restarted.checkout("unpaid");
    }
    let forged = match gateway.protocol() {
        ghesta_core::Protocol::V3 => {
            "status=0&errorCode=&data=%7B%22paymentCode%22%3A%22x%22%2C%22clientRefId%22%3A%22order-1%22%7D"
        }
        _ => "code=anything&refid=&clientrefid=order-1",
    };
    let (status, body) = restarted.post_callback(forged);
    assert_eq!(status, 200, "{gateway} {step}: {body}");
    let delivered = sandbox.deliver(&form).unwrap();
    assert_eq!(
        delivered.status, 200,
        "{gateway} {step}: {}",
        delivered.body
    );
    restarted.wait_for(|l| l == "ship order-1");
    let what = format!("{gateway}, killed after {step}");
    assert_eq!(order_state(&db.0, "order-1"), ("paid".into(), 1), "{what}");
    assert_eq!(
        order_state(&db.0, "unpaid"),
        ("pending".into(), 0),
        "{what}"
    );
    // A second delivery (a refresh) finds it paid; nothing ships twice.
    assert_eq!(sandbox.deliver(&form).unwrap().status, 200, "{what}");
    assert_eq!(order_state(&db.0, "order-1"), ("paid".into(), 1), "{what}");
    let printed = restarted.read_printed();
    assert!(
        !printed.iter().any(|l| l.starts_with("released ")),
        "{what}: {printed:?}"
    );
    assert_eq!(
        printed.iter().filter(|l| l.starts_with("ship ")).count(),
        1,
        "{what}: {printed:?}"
    );
    if let Some(orphan) = orphan {
        // The payment whose order was never stored: never verified, never shipped.
        let state = sandbox.payment(&orphan).unwrap().state;
        assert_eq!(state, ghesta_sandbox::PaymentState::Created, "{what}");
    }
}

#[test]
fn a_shop_killed_at_each_step_of_the_settlement_ships_once_after_restart() {
    for gateway in GATEWAYS {
        for step in ["create", "verify", "report", "ship"] {
            killed_at(gateway, step);
        }
    }
}

/// The line the shop prints for the payment of `order` that did not pay it: refunded where
/// reversible (v3), else a person is alerted to refund it by hand.
fn paid_twice_line(gateway: Gateway, order: &str, ref_id: &str) -> String {
    match gateway.protocol() {
        Protocol::V3 => format!("refunded {order} ref {ref_id} (paid twice)"),
        _ => format!("alert {order} paid twice: refund {ref_id} by hand"),
    }
}

/// Waits for the shop to settle `order`, paid by both `codes`, and checks it: shipped
/// once, by one payment; the other refunded at PayPing (v3) or marked and alerted (v2).
/// Returns what to name the case in messages.
fn paid_twice_settled(
    sandbox: &Sandbox,
    shop: &mut ShopProcess,
    db: &std::path::Path,
    gateway: Gateway,
    order: &str,
    codes: [&str; 2],
) -> String {
    let what = format!("{gateway} {order}");
    let line = shop.wait_for(|l| {
        l.starts_with(&format!("refunded {order} ")) || l.starts_with(&format!("alert {order} "))
    });
    let (_, paid_by) = payments_of(db, order);
    let paid_by = paid_by.expect("paid by a payment");
    let other = *codes
        .iter()
        .find(|c| **c != paid_by)
        .unwrap_or_else(|| panic!("{what}: paid by {paid_by}, not one of {codes:?}"));
    let other_ref = sandbox.payment(other).unwrap().ref_id.unwrap();
    assert_eq!(line, paid_twice_line(gateway, order, &other_ref), "{what}");
    assert_eq!(order_state(db, order), ("paid".into(), 1), "{what}");
    let (expected_other, at_payping) = match gateway.protocol() {
        Protocol::V3 => ("refunded", PaymentState::Refunded),
        _ => ("alerted", PaymentState::Verified),
    };
    let mut expected = vec![
        (paid_by.clone(), "paid".to_owned()),
        (other.to_owned(), expected_other.to_owned()),
    ];
    expected.sort();
    assert_eq!(payments_of(db, order).0, expected, "{what}");
    assert_eq!(
        sandbox.payment(&paid_by).unwrap().state,
        PaymentState::Verified,
        "{what}"
    );
    assert_eq!(sandbox.payment(other).unwrap().state, at_payping, "{what}");
    what
}

/// Every line printed so far about `order` that ships it or settles a payment paid twice
/// (a checkout of `marker` is asked first: the shop printed everything before it).
fn settled_lines(shop: &mut ShopProcess, order: &str, marker: &str) -> Vec<String> {
    shop.checkout(marker);
    shop.read_printed()
        .iter()
        .filter(|l| {
            *l == &format!("ship {order}")
                || l.starts_with(&format!("refunded {order} "))
                || l.starts_with(&format!("alert {order} "))
        })
        .cloned()
        .collect()
}

/// The buyer opens checkout of `order` in two tabs: two payments, both paid.
fn two_tabs(sandbox: &Sandbox, shop: &mut ShopProcess, order: &str) -> [(String, CallbackForm); 2] {
    let first = shop.checkout(order);
    let second = shop.checkout(order);
    assert_ne!(first, second, "two payments");
    [first, second].map(|code| {
        let form = sandbox.approve(&code).unwrap();
        (code, form)
    })
}

#[test]
fn an_order_paid_in_two_tabs_ships_once_and_the_second_payment_is_refunded_or_alerted() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new(&format!("twice-{gateway}"));
        // Callbacks only: the sweeper would settle nothing for an hour.
        let mut shop = ShopProcess::start_with(&sandbox, &db.0, free_port(), gateway, None, "3600");
        let [(a, form_a), (b, form_b)] = two_tabs(&sandbox, &mut shop, "order-1");
        let delivered = sandbox.deliver(&form_a).unwrap();
        assert_eq!(delivered.status, 200, "{gateway}: {}", delivered.body);
        shop.wait_for(|l| l == "ship order-1");
        let delivered = sandbox.deliver(&form_b).unwrap();
        assert_eq!(delivered.status, 200, "{gateway}: {}", delivered.body);
        let what = paid_twice_settled(&sandbox, &mut shop, &db.0, gateway, "order-1", [&a, &b]);
        assert_eq!(
            payments_of(&db.0, "order-1").1.as_deref(),
            Some(a.as_str()),
            "{what}"
        );
        // Both buyers' refreshes: nothing ships, nothing is refunded or alerted again.
        for form in [&form_a, &form_b] {
            assert_eq!(sandbox.deliver(form).unwrap().status, 200, "{what}");
        }
        let lines = settled_lines(&mut shop, "order-1", "marker");
        assert_eq!(lines.len(), 2, "{what}: {lines:?}");
        // A third tab opened now: the order takes no more money.
        let payments = sandbox.payments().len();
        let answer = ureq::get(&format!("{}/checkout/order-1", shop.url))
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .call()
            .unwrap();
        assert_ne!(answer.status(), 303, "{what}");
        assert_eq!(
            sandbox.payments().len(),
            payments,
            "{what}: no payment created"
        );
    }
}

#[test]
fn two_payments_of_one_order_verified_at_once_ship_it_once() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new(&format!("twice-race-{gateway}"));
        let mut shop = ShopProcess::start_with(&sandbox, &db.0, free_port(), gateway, None, "3600");
        for n in 0..4 {
            let order = format!("race-{n}");
            let tabs = two_tabs(&sandbox, &mut shop, &order);
            // Both callbacks at once: both settlements read the order unpaid, both verify,
            // and the conditional update lets one ship.
            let barrier = Barrier::new(2);
            std::thread::scope(|s| {
                for (_, form) in &tabs {
                    let (sandbox, barrier) = (&sandbox, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let delivered = sandbox.deliver(form).unwrap();
                        assert_eq!(delivered.status, 200, "{}", delivered.body);
                    });
                }
            });
            let codes = [tabs[0].0.as_str(), tabs[1].0.as_str()];
            let what = paid_twice_settled(&sandbox, &mut shop, &db.0, gateway, &order, codes);
            let lines = settled_lines(&mut shop, &order, &format!("marker-{n}"));
            assert_eq!(lines.len(), 2, "{what}: {lines:?}");
        }
    }
}

#[test]
fn an_order_paid_twice_whose_callbacks_never_come_is_settled_by_the_sweeper() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new(&format!("twice-sweep-{gateway}"));
        // The sweeper settles every open payment at once (it finds both in one round).
        let mut shop = ShopProcess::start_with(&sandbox, &db.0, free_port(), gateway, None, "0");
        let [(a, _), (b, _)] = two_tabs(&sandbox, &mut shop, "order-1"); // no callback
        let what = paid_twice_settled(&sandbox, &mut shop, &db.0, gateway, "order-1", [&a, &b]);
        // A payment made after: once the sweeper ships it, it has swept the order's
        // payments again; none is settled twice.
        let later = shop.checkout("later");
        sandbox.approve(&later).unwrap();
        shop.wait_for(|l| l == "ship later");
        let lines = settled_lines(&mut shop, "order-1", "marker");
        assert_eq!(lines.len(), 2, "{what}: {lines:?}");
    }
}

#[test]
fn the_second_payment_of_an_order_paid_before_a_restart_is_found_by_the_sweeper() {
    for gateway in GATEWAYS {
        let sandbox = Sandbox::start(Options::default()).unwrap();
        let db = TempDb::new(&format!("twice-restart-{gateway}"));
        let listen = free_port();
        let mut shop = ShopProcess::start_with(&sandbox, &db.0, listen, gateway, None, "3600");
        let [(a, form_a), (b, _)] = two_tabs(&sandbox, &mut shop, "order-1");
        assert_eq!(sandbox.deliver(&form_a).unwrap().status, 200, "{gateway}");
        shop.wait_for(|l| l == "ship order-1");
        shop.kill();
        // The second tab's callback never comes; the restarted shop's sweeper settles the
        // open payment of the paid order, with the code that paid it.
        let mut restarted = ShopProcess::start_with(&sandbox, &db.0, listen, gateway, None, "0");
        let what = paid_twice_settled(
            &sandbox,
            &mut restarted,
            &db.0,
            gateway,
            "order-1",
            [&a, &b],
        );
        let later = restarted.checkout("later");
        sandbox.approve(&later).unwrap();
        restarted.wait_for(|l| l == "ship later");
        let lines = settled_lines(&mut restarted, "order-1", "marker");
        // The shipment was printed by the first process.
        assert_eq!(lines.len(), 1, "{what}: {lines:?}");
    }
}

/// The tables as the shop created them before an order could have several payments.
const PREVIOUS_SCHEMA: &str = "
    CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        pending TEXT NOT NULL,
        state TEXT NOT NULL,
        created_unix INTEGER NOT NULL,
        ref_id TEXT,
        settled_by TEXT
    );
    CREATE TABLE shipments (
        order_id TEXT PRIMARY KEY REFERENCES orders(id),
        ref_id TEXT NOT NULL
    );";

#[test]
fn a_database_of_the_previous_schema_is_migrated_and_its_open_orders_settled() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new("previous-schema");
    let create = |order: &str| shop_process::payment_for(&sandbox, order);
    // One order waiting for its payment, one paid and shipped; the paid one's payment was
    // approved, and a sweeper that took it for open would verify it now.
    let (open, paid) = (create("old-open"), create("old-paid"));
    sandbox.approve(paid.code().as_str()).unwrap();
    {
        let old = rusqlite::Connection::open(&db.0).unwrap();
        old.execute_batch(PREVIOUS_SCHEMA).unwrap();
        for (order, pending, state) in [("old-open", &open, "pending"), ("old-paid", &paid, "paid")]
        {
            old.execute(
                "INSERT INTO orders (id, pending, state, created_unix) VALUES (?1, ?2, ?3, 0)",
                (order, serde_json::to_string(pending).unwrap(), state),
            )
            .unwrap();
        }
        old.execute(
            "INSERT INTO shipments (order_id, ref_id) VALUES ('old-paid', '1')",
            [],
        )
        .unwrap();
    }
    let mut shop =
        ShopProcess::start_with(&sandbox, &db.0, free_port(), Gateway::Ghesta, None, "0");
    let (open_code, paid_code) = (open.code().to_string(), paid.code().to_string());
    assert_eq!(
        payments_of(&db.0, "old-paid"),
        (
            vec![(paid_code.clone(), "paid".into())],
            Some(paid_code.clone())
        )
    );
    assert_eq!(
        payments_of(&db.0, "old-open"),
        (vec![(open_code.clone(), "open".into())], None)
    );
    sandbox.approve(&open_code).unwrap();
    shop.wait_for(|l| l.starts_with("paid old-open via sweeper"));
    shop.wait_for(|l| l == "ship old-open");
    assert_eq!(order_state(&db.0, "old-open"), ("paid".into(), 1));
    assert_eq!(order_state(&db.0, "old-paid"), ("paid".into(), 1));
    // The paid order's payment was not swept again.
    assert_eq!(
        sandbox.payment(&paid_code).unwrap().state,
        PaymentState::Paid
    );
    // A restart finds the migrated database as it left it.
    shop.kill();
    let _again = ShopProcess::start(&sandbox, &db.0, free_port(), Gateway::Ghesta, None);
    assert_eq!(
        payments_of(&db.0, "old-open"),
        (vec![(open_code.clone(), "paid".into())], Some(open_code))
    );
}

#[test]
fn a_second_v3_payment_whose_refund_is_refused_is_alerted_once_for_a_refund_by_hand() {
    use ghesta_sandbox::{Fault, Route, Times};

    let gateway = Gateway::PayPingV3;
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new("twice-refund-refused");
    // Callbacks only: which payment pays the order is the test's choice.
    let mut shop = ShopProcess::start_with(&sandbox, &db.0, free_port(), gateway, None, "3600");
    sandbox.inject(Route::Refund, Fault::Status(400), Times::Always);
    let [(a, form_a), (b, form_b)] = two_tabs(&sandbox, &mut shop, "order-1");
    assert_eq!(sandbox.deliver(&form_a).unwrap().status, 200);
    shop.wait_for(|l| l == "ship order-1");
    assert_eq!(sandbox.deliver(&form_b).unwrap().status, 200);
    let b_ref = sandbox.payment(&b).unwrap().ref_id.unwrap();
    shop.wait_for(|l| l.starts_with(&format!("error: refunding order-1 ref {b_ref} ")));
    shop.wait_for(|l| l == format!("alert order-1 paid twice: refund {b_ref} by hand"));
    let mut expected = vec![(a.clone(), "paid".into()), (b.clone(), "alerted".into())];
    expected.sort();
    assert_eq!(payments_of(&db.0, "order-1"), (expected, Some(a)));
    assert_eq!(sandbox.payment(&b).unwrap().state, PaymentState::Verified);
    // A refresh does not alert it again (nor does the sweeper: it is no longer open).
    assert_eq!(sandbox.deliver(&form_b).unwrap().status, 200);
    let lines = settled_lines(&mut shop, "order-1", "marker");
    assert_eq!(lines.len(), 2, "{lines:?}");
}

#[test]
fn a_client_that_keeps_opening_checkout_gets_a_few_payments_not_endless_ones() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let db = TempDb::new("many-tabs");
    let mut shop =
        ShopProcess::start_with(&sandbox, &db.0, free_port(), Gateway::Ghesta, None, "3600");
    // The shop's cap (8 payments per order).
    for _ in 0..8 {
        shop.checkout("order-1");
    }
    for _ in 0..3 {
        let answer = ureq::get(&format!("{}/checkout/order-1", shop.url))
            .config()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .call()
            .unwrap();
        assert_ne!(answer.status(), 303);
    }
    assert_eq!(
        sandbox.payments().len(),
        8,
        "no payment created past the cap"
    );
    assert_eq!(payments_of(&db.0, "order-1").0.len(), 8);
}
