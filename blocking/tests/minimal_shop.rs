//! The minimal shop (`examples/minimal_shop.rs`) as a process, as a developer runs it: its
//! demo on the embedded sandbox ships the paid order and releases the cancelled one; against
//! a sandbox of the test's (`PAYPING_*` set) a forged callback, cancelled or completed,
//! neither ships nor releases its order and the real payment then ships once; and a verify
//! PayPing holds up holds only its own request, never the next buyer's checkout.
//!
//! These tests run the example's binary: `cargo test -p ghesta-blocking` builds it, a
//! `--test` filter alone does not (`cargo build -p ghesta-blocking --example minimal_shop`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use ghesta_sandbox::{Fault, Options, PaymentState, Route, Sandbox, Times};

/// Every step is local; this only bounds a broken run.
const WAIT: Duration = Duration::from_secs(60);

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/debug");
    let binary = dir.join("examples").join("minimal_shop");
    assert!(
        binary.exists(),
        "{} is missing: cargo build -p ghesta-blocking --example minimal_shop",
        binary.display()
    );
    binary
}

/// The shop's process and its stdout, line by line; killed on drop.
struct Shop {
    child: Child,
    lines: Receiver<String>,
}

impl Shop {
    fn spawn(command: &mut Command) -> Shop {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("the example starts");
        let stdout = child.stdout.take().expect("piped");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        Shop { child, lines }
    }

    /// Against the test's sandbox: the shop serves until killed.
    fn serving(sandbox: &Sandbox) -> (Shop, String) {
        let shop = Shop::spawn(
            Command::new(binary())
                .env("PAYPING_API_URL", sandbox.base_url())
                .env("PAYPING_GATEWAY_URL", sandbox.base_url())
                .env("PAYPING_TOKEN", sandbox.token()),
        );
        let first = shop.line();
        let url = first
            .strip_prefix("shop on ")
            .and_then(|rest| rest.split_once(": "))
            .map(|(url, _)| url.to_owned())
            .expect("the shop says where it listens");
        (shop, url)
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(WAIT)
            .expect("the shop prints a line")
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(timeout))
        .build()
        .into()
}

/// `GET /checkout/ORDER`: the status and where it sends the buyer.
fn checkout(shop: &str, order: &str, timeout: Duration) -> Result<(u16, String), ureq::Error> {
    let answer = agent(timeout)
        .get(&format!("{shop}/checkout/{order}"))
        .call()?;
    let location = answer
        .headers()
        .get("location")
        .map_or_else(String::new, |l| l.to_str().unwrap().to_owned());
    Ok((answer.status().as_u16(), location))
}

/// POSTs a callback form to the shop, as a browser (or anyone) can.
fn post(shop: &str, form: &str) -> (u16, String) {
    let mut answer = agent(WAIT)
        .post(&format!("{shop}/callback"))
        .content_type("application/x-www-form-urlencoded")
        .send(form)
        .expect("the shop answers the callback");
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}

#[test]
fn the_demo_ships_the_paid_order_and_releases_the_cancelled_one() {
    let mut shop = Shop::spawn(
        Command::new(binary())
            .env_remove("PAYPING_API_URL")
            .env_remove("PAYPING_GATEWAY_URL")
            .env_remove("PAYPING_TOKEN"),
    );
    assert!(shop.line().starts_with("shop on http://127.0.0.1:"));
    assert!(shop.line().contains("order order-1: paid: shipping it"));
    assert!(shop.line().contains("order order-2: not paid"));
    let status = shop.child.wait().expect("the demo exits");
    assert!(status.success(), "{status}");
}

#[test]
fn a_forged_callback_neither_ships_nor_releases_and_the_real_payment_ships_once() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let (_shop, url) = Shop::serving(&sandbox);
    let (status, page) = checkout(&url, "order-7", WAIT).unwrap();
    assert_eq!(status, 303);
    assert!(page.starts_with(sandbox.base_url()), "{page}");
    let code = sandbox.payments()[0].code.clone();

    // Anyone can post "cancelled" for order-7: PayPing's report says it is open, so the
    // order is kept (not released), and the buyer can still pay.
    let forged_cancel = format!("code={code}&refid=&clientrefid=order-7");
    assert_eq!(
        post(&url, &forged_cancel),
        (200, "order order-7: being confirmed".into())
    );
    // A "paid" one with a made-up reference: PayPing proves nothing, nothing ships.
    let forged_paid = format!("code={code}&refid=123456789&clientrefid=order-7");
    assert_eq!(
        post(&url, &forged_paid),
        (200, "order order-7: being confirmed".into())
    );
    assert_eq!(sandbox.payment(&code).unwrap().state, PaymentState::Created);

    let form = sandbox.approve(&code).unwrap();
    let delivered = sandbox.deliver(&form).unwrap();
    assert_eq!(delivered.body, "order order-7: paid: shipping it");
    assert_eq!(
        sandbox.payment(&code).unwrap().state,
        PaymentState::Verified
    );
    // The same callback again (a reload): settled, not shipped twice.
    let again = sandbox.deliver(&form).unwrap();
    assert_eq!(again.body, "order order-7: not an unpaid order");
}

#[test]
fn a_verify_payping_holds_up_holds_only_its_own_request() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    let (shop, url) = Shop::serving(&sandbox);
    assert_eq!(checkout(&url, "order-1", WAIT).unwrap().0, 303);
    let form = sandbox.approve(&sandbox.payments()[0].code).unwrap();
    // PayPing takes its time over this verify; the buyer's browser waits for its page.
    sandbox.inject(
        Route::Verify,
        Fault::Delay(Duration::from_secs(120)),
        Times::Once,
    );
    let base = sandbox.base_url().to_owned();
    std::thread::scope(|s| {
        s.spawn(|| sandbox.deliver(&form));
        while sandbox.requests_seen().verify == 0 {
            std::thread::yield_now();
        }
        // The next buyer's checkout is answered meanwhile (one thread would hold it behind
        // the verify for two minutes).
        let answered = checkout(&url, "order-2", Duration::from_secs(10));
        drop(shop); // ends the held callback's connection, and with it the delivery
        let (status, page) = answered.expect("the checkout is answered while a verify waits");
        assert_eq!(status, 303);
        assert!(page.starts_with(&base), "{page}");
    });
}
