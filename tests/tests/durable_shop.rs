//! The durable shop (`examples/durable_shop`) as a child process against the sandbox: a
//! payment whose callback never comes is verified by the sweeper; a shop killed with
//! SIGKILL at each step of the settlement (after the create, after the callback's verify,
//! after the report, before the shipment is stored) and restarted on the same database
//! ships every paid order once, never an unpaid one, and releases none, a forged cancel
//! after the restart included; the callback and the sweeper racing on one payment ship it
//! once; and under load (8 threads x 50 payments), with a third of the callbacks dropped,
//! every paid order is verified and shipped exactly once (`tests/settlement.rs` adds forged
//! callbacks to that load).
//!
//! These tests run the example's binary: `cargo test -p ghesta-sandbox` builds it, a
//! `--test` filter alone does not (build it with `cargo build -p ghesta-sandbox --example
//! durable_shop` first).

mod shop_process;

use ghesta_core::Gateway;
use ghesta_sandbox::{Options, Sandbox};

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
