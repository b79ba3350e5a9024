//! A shop a crash cannot hurt: orders and the `Pending` record of each of their payments in
//! SQLite, every order settled exactly once whichever path (or whichever of its payments)
//! settles it, on PayPing's word only, an order paid twice never keeping the second payment,
//! and a sweeper that settles the payments whose callback never came.
//!
//! ```text
//! cargo run -p ghesta-sandbox --example durable_shop              # the demo, embedded sandbox
//! cargo run -p ghesta-sandbox --example durable_shop -- --serve   # keep serving
//! ```
//!
//! The demo starts the sandbox and the shop on 127.0.0.1 and plays two buyers: one whose
//! callback arrives, and one who pays and closes the tab (the callback is never delivered).
//! The sweeper finds the second order overdue, asks PayPing's report, verifies with its
//! refId, and ships it. It exits 0 only if both orders were paid and shipped once.
//!
//! **How an order is settled.** Every checkout of an order creates a payment (`/checkout/ORDER`
//! again while the order is pending: a second tab, or a create retried, makes a second
//! payment, up to 8; an order already settled refuses it), and each payment is settled on
//! its own.
//! The callback handler (8 threads: one slow verify holds only its own) asks
//! `Client::settle` for the payment the callback names; the sweeper hands every open
//! payment created `--recover-after` ago (every one of an order, and those of an order
//! another payment already paid) to one of 4 threads, which asks `Client::recover` (a
//! payment whose verify PayPing keeps "in progress" holds one of them, never the payments
//! behind it). A payment of an order already paid by another is settled with
//! `Settlement::paid_by(THAT_CODE)`. Both act on the verdict the same way:
//!
//! | verdict | the order becomes | lines printed |
//! |---|---|---|
//! | `Ship` | `paid` by this payment (`paid_by`), one shipment (a conditional update, `... WHERE paid_by IS NULL`: shipped once); if another payment won it, as `PaidTwice` | `paid ORDER via callback\|sweeper ref REF`, `ship ORDER` (or `already settled ORDER (BY)`) |
//! | `PaidTwice` | unchanged: shipped once, for the other payment; this payment is refunded (a reversible v3 payment), else (v2 and Ghesta have no refund by API, or the refund failed) marked `alerted`, never alerted again, for a person to refund by hand from PayPing's panel | `refunded ORDER ref REF (paid twice)`, or `alert ORDER paid twice: refund REF by hand` (after `error: refunding ORDER ref REF (BY): ERROR` if a refund failed) |
//! | `Wait` | unchanged; the buyer reads "being confirmed"; the sweeper asks again next round | `confirming ORDER: WHY` (callback only) |
//! | `Release` | `released` (PayPing's word only: a callback never releases), once no other payment of the order is open | `released ORDER via BY (STATUS)` |
//! | `NeedsAttention` | `attention`: the sweeper skips it; a person looks | `attention ORDER (BY): ERROR` |
//! | `PaidAfterRelease` | `refunded` (a reversible v3 payment), else `paid` and shipped after all | `refunded ORDER ref REF (paid after release)`, or `alert ORDER paid after release: shipped after all (WHY)` then `paid ...`, `ship ORDER` |
//!
//! A callback that is not the order's (`CallbackMismatch`) changes nothing: `refused
//! callback ORDER: ERROR`. Every settlement a callback starts prints `settling ORDER
//! (callback)` first. A released order is not swept (PayPing takes money only when the shop
//! verifies, and a payment nobody verifies it voids and returns); its own completed callback
//! is settled with `released(true)`, which is how `PaidAfterRelease` is reached.
//!
//! Options: `--db PATH` keeps the orders in the SQLite file PATH across runs (default: a
//! new temporary file; a file of the previous schema, one payment per order, is migrated
//! in place: `store.rs`); `--db postgres://USER@HOST:PORT/DB` (or `DATABASE_URL`) keeps them
//! in PostgreSQL, where any number of shop processes share them (`pg.rs`: claims with
//! `FOR UPDATE SKIP LOCKED` and a lease, no session state, so PgBouncer's transaction
//! pooling works); `--lease SECS` how long a sweeper's claim on a payment lasts there
//! (default 120); `--recover-after SECS` (or `CHECKOUT_RECOVER_AFTER_SECS`) is how long after the
//! redirect an unpaid order is swept (default 120; the demo uses 1); `--verify-window SECS`
//! the verify window the shop assumes (default PayPing's 10 minutes; the tests shorten it);
//! `--listen ADDR` (or `CHECKOUT_LISTEN`); `--gateway ghesta|v2|v3` (or `CHECKOUT_GATEWAY`).
//!
//! **Several merchants.** `--merchant KEY[:ghesta|v2|v3]` (repeatable) serves another
//! PayPing account beside the default one (`PAYPING_TOKEN`): its token is read from
//! `PAYPING_TOKEN_<KEY>` (the key upper-cased, `-` as `_`; never from the command line), its
//! gateway is the one named or the shop's. Every merchant shares one connection pool. A
//! buyer checks out with `/checkout/ORDER?merchant=KEY`; the record keeps the key, and the
//! callback and the sweeper settle it with that merchant's client only (a record of a
//! merchant the shop no longer serves is set aside: `attention ORDER: this shop serves no
//! merchant ...`).
//!
//! With `PAYPING_API_URL` (and `PAYPING_GATEWAY_URL`, `PAYPING_TOKEN`) set it starts no
//! sandbox. Without `--serve` it creates one order there, prints the page to pay on, and
//! exits 0 once the order is paid, by its callback (`CHECKOUT_RETURN_URL` is the public
//! return URL) or, if that never comes, by the sweeper. With `--serve` it serves until
//! killed, printing one line per event (above), and `listening on http://ADDR` (then, on
//! PostgreSQL, `lease owner OWNER`: whose claims are this process's) and `created ORDER CODE
//! URL`.
//!
//! A test hook, `DURABLE_SHOP_PAUSE=create|verify|report|ship`, stops the first flow that
//! reaches that step (PayPing's answer to the create, verify or report received; or the
//! shipment about to be stored), prints `paused after STEP` and hangs, for a test to kill
//! the process there; the other flows go on.

mod pg;
mod shop;
mod sqlite;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use ghesta_blocking::{Client, HttpSettings, Merchants, Transport, UreqTransport};
use ghesta_core::{BaseUrl, Config, ENV_API_URL, Gateway, HttpRequest, MerchantKey, Token};
use ghesta_sandbox::{Options, Sandbox};

use shop::{Say, Settings, Shop};
use store::{Db, Lease, Result, State, Store};

struct Args {
    serve: bool,
    db: Option<String>,
    lease: Option<Duration>,
    recover_after: Option<Duration>,
    listen: Option<std::net::SocketAddr>,
    gateway: Option<Gateway>,
    verify_window: Option<Duration>,
    /// The other merchants served, each with its gateway if it has its own.
    merchants: Vec<(MerchantKey, Option<Gateway>)>,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("durable_shop: {e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("durable_shop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<Option<Args>> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let mut args = Args {
        serve: false,
        db: env("DATABASE_URL"),
        lease: None,
        recover_after: env("CHECKOUT_RECOVER_AFTER_SECS")
            .map(|s| s.trim().parse().map(Duration::from_secs))
            .transpose()?,
        listen: env("CHECKOUT_LISTEN").map(|s| s.parse()).transpose()?,
        gateway: env("CHECKOUT_GATEWAY").map(|s| s.parse()).transpose()?,
        verify_window: None,
        merchants: Vec::new(),
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--serve" => args.serve = true,
            "--db" => args.db = Some(value()?),
            "--lease" => args.lease = Some(Duration::from_secs(value()?.parse()?)),
            "--recover-after" => {
                args.recover_after = Some(Duration::from_secs(value()?.parse()?));
            }
            "--listen" => args.listen = Some(value()?.parse()?),
            "--gateway" => args.gateway = Some(value()?.parse()?),
            "--verify-window" => {
                args.verify_window = Some(Duration::from_secs(value()?.parse()?));
            }
            "--merchant" => {
                let value = value()?;
                let (key, gateway) = match value.split_once(':') {
                    Some((key, gateway)) => (key, Some(gateway.parse()?)),
                    None => (value.as_str(), None),
                };
                args.merchants.push((MerchantKey::new(key)?, gateway));
            }
            "-h" | "--help" => {
                println!(
                    "usage: durable_shop [--serve] [--db PATH|postgres://URL] [--lease SECS] \
                     [--recover-after SECS] [--verify-window SECS] [--listen ADDR] \
                     [--gateway ghesta|v2|v3] [--merchant KEY[:ghesta|v2|v3]]..."
                );
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    Ok(Some(args))
}

/// A temporary database that is removed when dropped.
struct TempDb(PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn run(args: Args) -> Result<bool> {
    let say = Say::default();
    let live = std::env::var_os(ENV_API_URL).is_some();
    let tokens = args
        .merchants
        .iter()
        .map(|(key, _)| merchant_token(key))
        .collect::<Result<Vec<_>>>()?;
    let sandbox = if live {
        None
    } else {
        let options = tokens
            .iter()
            .fold(Options::default(), |o, token| o.extra_token(token.as_str()));
        Some(Sandbox::start(options)?)
    };
    let mut config = match &sandbox {
        None => Config::from_env()?,
        Some(sb) => Config::new(Token::new(sb.token())?)
            .with_api_url(BaseUrl::api(sb.base_url())?)
            .with_gateway_url(BaseUrl::gateway(sb.base_url())?),
    };
    if let Some(gateway) = args.gateway {
        config = config.with_gateway(gateway);
    }
    if let Some(window) = args.verify_window {
        config = config.with_verify_window(window)?;
    }
    let temp = TempDb(std::env::temp_dir().join(format!(
        "durable-shop-{}-{}.sqlite",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    )));
    let db = Db::open(
        &args
            .db
            .clone()
            .unwrap_or_else(|| temp.0.display().to_string()),
    )?;
    let demo = !live && !args.serve;
    // Who holds this process's claims on PostgreSQL: unique per process start.
    let lease_owner = format!(
        "pid{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let settings = Settings {
        db: db.clone(),
        listen: args.listen.unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        return_url: std::env::var("CHECKOUT_RETURN_URL").ok(),
        recover_after: args.recover_after.unwrap_or(if demo {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(120)
        }),
        lease: Lease {
            owner: lease_owner.clone(),
            length: args.lease.unwrap_or(DEFAULT_LEASE),
        },
        pause: std::env::var(shop::PAUSE).ok(),
    };
    let exchange_hook = ["create", "verify", "report"]
        .into_iter()
        .find(|step| settings.pause.as_deref() == Some(*step));
    let client = match exchange_hook {
        Some(step) => Client::builder(config)
            .transport(pausing(step, say.clone()))
            .build(),
        None => Client::new(config),
    };
    // The default merchant (PAYPING_TOKEN) and every other one, on the one pool.
    let mut merchants = Merchants::new(&client).with(client.config().clone());
    for ((key, gateway), token) in args.merchants.iter().zip(&tokens) {
        let base = client.config();
        let config = Config::new(Token::new(token)?)
            .with_api_url(base.api_url().clone())
            .with_gateway_url(base.gateway_url().clone())
            .with_amount_unit(base.amount_unit())
            .with_gateway(gateway.unwrap_or(base.gateway()))
            .with_verify_window(base.verify_window())?
            .with_merchant(key.clone());
        merchants.insert(config);
    }
    let shop = Shop::start(merchants, settings, say.clone())?;
    say.line(format_args!("listening on {}", shop.url()));
    if let Db::Postgres(_) = db {
        say.line(format_args!("lease owner {lease_owner}"));
    }
    if args.serve {
        loop {
            std::thread::park();
        }
    }
    match &sandbox {
        Some(sb) => demo_run(sb, &shop, &db),
        None => live_run(&shop, &db, &say),
    }
}

/// A merchant's token, from `PAYPING_TOKEN_<KEY>` (never the command line, where any user
/// of the machine could read it).
fn merchant_token(key: &MerchantKey) -> Result<String> {
    let name: String = key
        .as_str()
        .chars()
        .map(|c| match c {
            '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let name = format!("PAYPING_TOKEN_{name}");
    std::env::var(&name).map_err(|_| format!("merchant {key}: set {name} to its token").into())
}

/// The test hook's transport: sends as usual, and once PayPing has answered the exchange
/// named `step`, says so and never returns (the test kills the process there).
fn pausing(step: &'static str, say: Say) -> impl Transport + 'static {
    let http = UreqTransport::new(&HttpSettings::default());
    move |request: HttpRequest| {
        let path = request.uri().path().to_owned();
        let this = if path.starts_with("/v1/report/") {
            "report"
        } else if path.ends_with("/verify") {
            "verify"
        } else if request.method() == "POST" && (path == "/v2/pay" || path == "/v3/pay") {
            "create"
        } else {
            ""
        };
        let answer = http.send(request);
        if this == step {
            say.pause_once(step);
        }
        answer
    }
}

/// How long a sweeper's claim on a payment lasts unless `--lease` says otherwise: longer than
/// a settlement normally takes (a report and a verify, each cut off at 30 s), so that a live
/// process is rarely overtaken; a process that dies holding it loses its payments to the
/// other processes this long after.
const DEFAULT_LEASE: Duration = Duration::from_secs(120);

/// How long the demo waits for an order to settle: every step is local; this only keeps a
/// broken run from hanging.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

fn demo_run(sandbox: &Sandbox, shop: &Shop, db: &Db) -> Result<bool> {
    let agent = agent();
    let mut store = db.store()?;
    let mut ok = true;
    for (order, deliver) in [("order-1", true), ("order-2", false)] {
        let code = checkout(&agent, shop, order)?;
        let form = sandbox.approve(&code)?;
        if deliver {
            sandbox.deliver(&form)?;
        } else {
            println!("(the buyer of {order} paid and closed the tab: no callback)");
        }
        ok &= wait_paid_once(&mut store, order)?;
    }
    Ok(ok)
}

fn live_run(shop: &Shop, db: &Db, say: &Say) -> Result<bool> {
    let order = format!("order-{}", std::process::id());
    let redirect = checkout_redirect(&agent(), shop, &order)?;
    say.line(format_args!("pay at: {redirect}"));
    let mut store = db.store()?;
    // The verify window is 10 minutes after payment; a quarter of an hour covers paying.
    let deadline = Instant::now() + Duration::from_secs(15 * 60);
    while Instant::now() < deadline {
        match store.order(&order)?.map(|o| o.state) {
            Some(State::Paid) => return Ok(store.shipments(&order)? == 1),
            Some(State::Pending) => std::thread::sleep(Duration::from_millis(500)),
            other => {
                say.line(format_args!("order {order} ended {other:?}"));
                return Ok(false);
            }
        }
    }
    Ok(false)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The buyer opens the checkout link: the shop creates the payment and sends them on.
fn checkout_redirect(agent: &ureq::Agent, shop: &Shop, order: &str) -> Result<String> {
    let answer = agent
        .get(&format!("{}/checkout/{order}", shop.url()))
        .call()?;
    if answer.status() != 303 {
        return Err(format!("checkout answered {}", answer.status()).into());
    }
    Ok(answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or("no location")?
        .to_owned())
}

/// The payment code the shop created for `order` (the last segment of its page).
fn checkout(agent: &ureq::Agent, shop: &Shop, order: &str) -> Result<String> {
    let redirect = checkout_redirect(agent, shop, order)?;
    let page = redirect.split('?').next().unwrap_or("");
    let segment = page.rsplit('/').next().ok_or("no code in the page")?;
    Ok(percent_encoding::percent_decode_str(segment)
        .decode_utf8()?
        .into_owned())
}

/// Waits until `order` is paid, and says whether it shipped exactly once.
fn wait_paid_once(store: &mut Store, order: &str) -> Result<bool> {
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while Instant::now() < deadline {
        if store.order(order)?.map(|o| o.state) == Some(State::Paid) {
            return Ok(store.shipments(order)? == 1);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(false)
}
