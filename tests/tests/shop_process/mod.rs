//! The durable shop (`examples/durable_shop`) as a child process, for the suites that drive
//! it: started on a database and a port, its printed events read as they come, killed with
//! SIGKILL, restarted on the same database.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use ghesta_core::Gateway;
use ghesta_sandbox::Sandbox;

/// How long any one event may take to show: every step is local.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// The example's binary, which `cargo test` builds beside the tests.
pub(crate) fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe.parent().and_then(Path::parent).expect("target/debug");
    dir.join("examples").join("durable_shop")
}

/// A v2 (Ghesta) payment of 250,000 Toman for `order`, made straight at `sandbox` as an
/// earlier release of the shop would have (its return URL is never called), for tests that
/// write a database by hand.
pub(crate) fn payment_for(sandbox: &Sandbox, order: &str) -> ghesta_core::Pending {
    use ghesta_blocking::Client;
    use ghesta_core::{Amount, BaseUrl, ClientRefId, Config, Mobile, NewPayment, ReturnUrl, Token};

    let client = Client::new(
        Config::new(Token::new(sandbox.token()).expect("the sandbox's token"))
            .with_api_url(BaseUrl::api(sandbox.base_url()).expect("a loopback base"))
            .with_gateway_url(BaseUrl::gateway(sandbox.base_url()).expect("a loopback base")),
    );
    client
        .create(NewPayment::new(
            Amount::from_toman(250_000).expect("an amount in range"),
            ReturnUrl::new("http://127.0.0.1:9/callback").expect("a loopback URL"),
            ClientRefId::new(order).expect("an order id"),
            Mobile::new("09123456789").expect("a mobile"),
        ))
        .expect("the sandbox creates the payment")
}

/// A free loopback port, so a restarted shop listens where the callback is sent.
pub(crate) fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// The buyer opens `{shop}/checkout/{order}`: the shop creates the payment and answers 303
/// to its page, whose last path segment is the payment code.
pub(crate) fn checkout_code(shop: &str, order: &str) -> String {
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

pub(crate) struct ShopProcess {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far, awaited or not.
    pub(crate) seen: Vec<String>,
    pub(crate) url: String,
}

/// How a shop process is started, beyond its sandbox, database and port.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Launch<'a> {
    pub(crate) gateway: Gateway,
    /// `DURABLE_SHOP_PAUSE`: the step to stop at.
    pub(crate) pause: Option<&'a str>,
    /// `--recover-after` seconds.
    pub(crate) recover_after: &'a str,
    /// `--verify-window` seconds, if not PayPing's ten minutes.
    pub(crate) verify_window: Option<&'a str>,
}

impl Launch<'_> {
    pub(crate) fn on(gateway: Gateway) -> Launch<'static> {
        Launch {
            gateway,
            pause: None,
            recover_after: "1",
            verify_window: None,
        }
    }
}

impl ShopProcess {
    pub(crate) fn start(
        sandbox: &Sandbox,
        db: &Path,
        listen: SocketAddr,
        gateway: Gateway,
        pause: Option<&str>,
    ) -> Self {
        Self::start_with(sandbox, db, listen, gateway, pause, "1")
    }

    /// As [`ShopProcess::start`], recovering orders `recover_after` seconds after checkout.
    pub(crate) fn start_with(
        sandbox: &Sandbox,
        db: &Path,
        listen: SocketAddr,
        gateway: Gateway,
        pause: Option<&str>,
        recover_after: &str,
    ) -> Self {
        Self::launch(
            sandbox,
            db,
            listen,
            Launch {
                gateway,
                pause,
                recover_after,
                verify_window: None,
            },
        )
    }

    pub(crate) fn launch(
        sandbox: &Sandbox,
        db: &Path,
        listen: SocketAddr,
        how: Launch<'_>,
    ) -> Self {
        Self::launch_with(sandbox, db, listen, how, |_| {})
    }

    /// As [`ShopProcess::launch`], on any `--db` (a SQLite path or a `postgres://` URL),
    /// with `extra` arguments.
    pub(crate) fn launch_on(
        sandbox: &Sandbox,
        db: impl AsRef<std::ffi::OsStr>,
        listen: SocketAddr,
        how: Launch<'_>,
        extra: &[&str],
    ) -> Self {
        Self::launch_with(sandbox, db, listen, how, |command| {
            command.args(extra);
        })
    }

    /// As [`ShopProcess::launch`], on any `--db`, with more arguments or variables set by
    /// `more`.
    pub(crate) fn launch_with(
        sandbox: &Sandbox,
        db: impl AsRef<std::ffi::OsStr>,
        listen: SocketAddr,
        how: Launch<'_>,
        more: impl FnOnce(&mut Command),
    ) -> Self {
        let mut command = Command::new(binary());
        command
            .args([
                "--serve",
                "--recover-after",
                how.recover_after,
                "--gateway",
                how.gateway.as_str(),
            ])
            .arg("--db")
            .arg(db)
            .arg("--listen")
            .arg(listen.to_string())
            .env("PAYPING_API_URL", sandbox.base_url())
            .env("PAYPING_GATEWAY_URL", sandbox.base_url())
            .env("PAYPING_TOKEN", sandbox.token())
            .env_remove("CHECKOUT_RETURN_URL")
            .env_remove("DATABASE_URL")
            .env_remove("CHECKOUT_RECOVER_AFTER_SECS")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(window) = how.verify_window {
            command.args(["--verify-window", window]);
        }
        match how.pause {
            Some(step) => command.env("DURABLE_SHOP_PAUSE", step),
            None => command.env_remove("DURABLE_SHOP_PAUSE"),
        };
        more(&mut command);
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
            seen: Vec::new(),
            url: String::new(),
        };
        let first = shop.wait_for(|l| l.starts_with("listening on "));
        shop.url = first.trim_start_matches("listening on ").to_owned();
        shop
    }

    /// The next line `matches` accepts, within [`WAIT`]; every line is kept in `seen`.
    pub(crate) fn wait_for(&mut self, matches: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if matches(&line) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "the shop never said what was awaited: {e}; it said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// The next line, if one comes within `wait` (kept in `seen` too).
    pub(crate) fn next_line(&mut self, wait: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(wait).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Reads the lines printed so far into `seen`, waiting for none.
    pub(crate) fn read_printed(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// The buyer opens the checkout link; returns the payment code.
    pub(crate) fn checkout(&mut self, order: &str) -> String {
        let code = checkout_code(&self.url, order);
        self.wait_for(|l| l.starts_with(&format!("created {order} ")));
        code
    }

    /// POSTs a callback form (`application/x-www-form-urlencoded`) to the shop's return
    /// URL, as a browser (or a forger) would: the shop's status and body.
    pub(crate) fn post_callback(&self, body: &str) -> (u16, String) {
        post_callback(&self.url, body)
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no destructor, no flush, as a crash.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("the shop is running");
        let _ = self.child.wait();
    }
}

/// POSTs a callback form to `{shop}/callback`.
pub(crate) fn post_callback(shop: &str, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(WAIT))
        .build()
        .into();
    let mut answer = agent
        .post(&format!("{shop}/callback"))
        .content_type("application/x-www-form-urlencoded")
        .send(body)
        .expect("the shop answers");
    let status = answer.status().as_u16();
    (
        status,
        answer.body_mut().read_to_string().unwrap_or_default(),
    )
}

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The order's state and shipments, read from the database as another process would.
pub(crate) fn order_state(db: &Path, order: &str) -> (String, u64) {
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

pub(crate) struct TempDb(pub(crate) PathBuf);

impl TempDb {
    pub(crate) fn new(name: &str) -> Self {
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

/// Every payment of an order (its code and state) and the code that paid it, read from the
/// database as another process would.
pub(crate) fn payments_of(db: &Path, order: &str) -> (Vec<(String, String)>, Option<String>) {
    let db = rusqlite::Connection::open(db).expect("the database");
    let mut query = db
        .prepare("SELECT code, state FROM payments WHERE order_id = ?1 ORDER BY code")
        .expect("the payments table");
    let payments = query
        .query_map([order], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("payments")
        .map(Result::unwrap)
        .collect();
    let paid_by = db
        .query_row("SELECT paid_by FROM orders WHERE id = ?1", [order], |r| {
            r.get(0)
        })
        .expect("the order exists");
    (payments, paid_by)
}
