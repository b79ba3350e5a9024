//! The durable shop (`examples/durable_shop`) as a child process against the sandbox: a
//! payment whose callback never comes is verified by the sweeper; a shop killed with
//! SIGKILL (after the redirect, or after verify and before storing) and restarted on the
//! same database settles every order once; the callback and the sweeper racing on one
//! payment ship it once; and under load (8 threads x 50 payments), with a third of the
//! callbacks dropped, every paid order is verified and shipped exactly once.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use ghesta_core::Gateway;
use ghesta_sandbox::{Options, Sandbox};

/// How long any one event may take to show: every step is local.
const WAIT: Duration = Duration::from_secs(60);

/// The example's binary, which `cargo test` builds beside the tests.
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/debug");
    dir.join("examples").join("durable_shop")
}

/// A free loopback port, so a restarted shop listens where the callback is sent.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// The buyer opens `{shop}/checkout/{order}`: the shop creates the payment and answers 303
/// to its page, whose last path segment is the payment code.
fn checkout_code(shop: &str, order: &str) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .into();
    let answer = agent
        .get(&format!("{shop}/checkout/{order}"))
        .call()
        .expect("the shop answers");
    assert_eq!(answer.status(), 303, "checkout of {order}");
    let page = answer.headers()["location"].to_str().unwrap().to_owned();
    let path = page.split('?').next().unwrap();
    let segment = path.rsplit('/').next().unwrap();
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .unwrap()
        .into_owned()
}

struct ShopProcess {
    child: Child,
    lines: Receiver<String>,
    url: String,
}

impl ShopProcess {
    fn start(
        sandbox: &Sandbox,
        db: &Path,
        listen: SocketAddr,
        gateway: Gateway,
        pause: Option<&str>,
    ) -> Self {
        Self::start_with(sandbox, db, listen, gateway, pause, "1")
    }

    /// As [`ShopProcess::start`], recovering orders `recover_after` seconds after checkout.
    fn start_with(
        sandbox: &Sandbox,
        db: &Path,
        listen: SocketAddr,
        gateway: Gateway,
        pause: Option<&str>,
        recover_after: &str,
    ) -> Self {
        let mut command = Command::new(binary());
        command
            .args([
                "--serve",
                "--recover-after",
                recover_after,
                "--gateway",
                gateway.as_str(),
            ])
            .arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(listen.to_string())
            .env("PAYPING_API_URL", sandbox.base_url())
            .env("PAYPING_GATEWAY_URL", sandbox.base_url())
            .env("PAYPING_TOKEN", sandbox.token())
            .env_remove("CHECKOUT_RETURN_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        match pause {
            Some(step) => command.env("DURABLE_SHOP_PAUSE", step),
            None => command.env_remove("DURABLE_SHOP_PAUSE"),
        };
        let mut child = command.spawn().expect("the durable_shop example is built");
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut shop = ShopProcess {
            child,
            lines,
            url: String::new(),
        };
        let first = shop.wait_for(|l| l.starts_with("listening on "));
        shop.url = first.trim_start_matches("listening on ").to_owned();
        shop
    }

    /// The next line `matches` accepts, within [`WAIT`]; earlier lines are kept in `seen`.
    fn wait_for(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if matches(&line) => return line,
                Ok(_) => {}
                Err(e) => panic!("the shop never said what was awaited: {e}"),
            }
        }
    }

    /// The buyer opens the checkout link; returns the payment code.
    fn checkout(&mut self, order: &str) -> String {
        let code = checkout_code(&self.url, order);
        self.wait_for(|l| l.starts_with(&format!("created {order} ")));
        code
    }

    /// SIGKILL: no destructor, no flush, as a crash.
    fn kill(mut self) {
        self.child.kill().expect("the shop is running");
        let _ = self.child.wait();
    }
}

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The order's state and shipments, read from the database as another process would.
fn order_state(db: &Path, order: &str) -> (String, u64) {
    let db = rusqlite::Connection::open(db).expect("the database");
    let state: String = db
        .query_row("SELECT state FROM orders WHERE id = ?1", [order], |r| {
            r.get(0)
        })
        .expect("the order exists");
    let shipments: u64 = db
        .query_row(
            "SELECT COUNT(*) FROM shipments WHERE order_id = ?1",
            [order],
            |r| r.get(0),
        )
        .expect("shipments");
    (state, shipments)
}

struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "durable-{name}-{}-{:?}.sqlite",
            std::process::id(),
            std::thread::current().id()
        ));
        let db = TempDb(path);
        db.clean();
        db
    }

    fn clean(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        self.clean();
    }
}

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
