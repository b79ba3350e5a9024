//! The durable shop (`examples/durable_shop`) as a child process against the sandbox: a
//! payment whose callback never comes is verified by the sweeper; a shop killed with
//! SIGKILL (after the redirect, or after verify and before storing) and restarted on the
//! same database settles every order once; the callback and the sweeper racing on one
//! payment ship it once; and under load (8 threads x 50 payments), with a third of the
//! callbacks dropped, every paid order is verified and shipped exactly once.

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
