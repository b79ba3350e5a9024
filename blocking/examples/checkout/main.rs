//! The README's demo: a whole Ghesta checkout, printed step by step.
//!
//! ```text
//! cargo run -p ghesta-blocking --example checkout             # embedded sandbox, two payments
//! cargo run -p ghesta-blocking --example checkout -- --serve  # click through it in a browser
//! cargo run -p ghesta-blocking --example checkout -- --gateway v3  # the same on PayPing v3
//! cargo run -p ghesta-blocking --example checkout -- --tls    # the sandbox over HTTPS
//! ```
//!
//! `--gateway ghesta|v2|v3` (or `CHECKOUT_GATEWAY`; the flag wins) chooses where new
//! payments go: Ghesta's installment page (the default), PayPing's v2 card page, or
//! PayPing's v3 API and start page. The steps printed are the same for each.
//!
//! With no settings it starts the sandbox (`ghesta-sandbox`) and a small shop (`shop.rs`) on
//! 127.0.0.1, and plays a buyer over HTTP: one payment approved, one cancelled. It exits 0
//! only if the first ended verified and the second cancelled without a verify. The shop
//! settles each callback with `Client::settle`: a cancelled callback is only the browser's
//! word, so the order is released when PayPing's report says cancelled, never on the
//! callback alone. With `--tls`
//! the sandbox serves HTTPS, as PayPing does, with a certificate made at start; the client
//! trusts its CA through `HttpSettings::with_root_certificates_pem`.
//!
//! With `PAYPING_API_URL` set (and `PAYPING_GATEWAY_URL`, `PAYPING_TOKEN`; see
//! `ghesta_core::Config::from_env`) it starts no sandbox: it creates one payment there and
//! prints the page to open; a person pays; the shop receives the callback on its return URL
//! and verifies. `CHECKOUT_LISTEN` sets the shop's address (default `127.0.0.1:0`),
//! `CHECKOUT_RETURN_URL` the public return URL (PayPing requires https outside loopback),
//! `CHECKOUT_MOBILE` the buyer's mobile number. It exits 0 only if the payment was verified.

mod shop;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ghesta_blocking::{Client, HttpSettings};
use ghesta_core::{BaseUrl, Config, ENV_API_URL, Gateway, Token};
use ghesta_sandbox::{Options, Sandbox, Tls};

use shop::{Event, Outcome, Shop, ShopOptions};

/// How long the demo waits for the shop to report a step. Every step is local and quick;
/// this only keeps a broken run from hanging.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the live mode waits for a person to pay: the verify window is 10 minutes after
/// payment, so a quarter of an hour covers filling the page in and paying.
const PERSON_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// A buyer's mobile number for the sandbox (any valid one will do there).
const SANDBOX_MOBILE: &str = "09123456789";

/// The environment variable naming the gateway when `--gateway` is not given.
const ENV_GATEWAY: &str = "CHECKOUT_GATEWAY";

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// What the command line asked for.
struct Args {
    serve: bool,
    /// `--tls`: the sandbox serves HTTPS.
    tls: bool,
    /// From `--gateway`, if given.
    gateway: Option<Gateway>,
}

/// Reads the arguments; `Err` is the message to print before exiting 2, `Ok(None)` help.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        serve: false,
        tls: false,
        gateway: None,
    };
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        match name.as_str() {
            "--serve" if inline.is_none() => parsed.serve = true,
            "--tls" if inline.is_none() => parsed.tls = true,
            "--gateway" => {
                let value = inline
                    .or_else(|| args.next())
                    .ok_or("--gateway needs ghesta, v2 or v3")?;
                let gateway = value.parse().map_err(|e| format!("--gateway: {e}"))?;
                parsed.gateway = Some(gateway);
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(parsed))
}

/// The gateway: the flag, else `CHECKOUT_GATEWAY`, else Ghesta.
fn gateway(flag: Option<Gateway>) -> Result<Gateway, String> {
    if let Some(gateway) = flag {
        return Ok(gateway);
    }
    match std::env::var(ENV_GATEWAY) {
        Ok(value) => value.parse().map_err(|e| format!("{ENV_GATEWAY}: {e}")),
        Err(std::env::VarError::NotPresent) => Ok(Gateway::default()),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{ENV_GATEWAY} is not valid UTF-8")),
    }
}

/// How the demo names a gateway.
fn label(gateway: Gateway) -> &'static str {
    match gateway {
        Gateway::PayPingV3 => "PayPing v3",
        Gateway::PayPingV2 => "PayPing v2",
        _ => "Ghesta",
    }
}

/// What the buyer sees there.
fn page_name(gateway: Gateway) -> &'static str {
    match gateway {
        Gateway::Ghesta => "the installment page",
        Gateway::PayPingV2 => "PayPing's payment page",
        _ => "PayPing's v3 start page",
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("{message}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let gateway = match gateway(args.gateway) {
        Ok(gateway) => gateway,
        Err(message) => {
            eprintln!("{message}\n\n{}", usage());
            return ExitCode::from(2);
        }
    };
    let live = std::env::var_os(ENV_API_URL).is_some();
    let result = match (live, args.serve) {
        (true, _) => live_payment(gateway),
        (false, true) => serve_sandbox(gateway, args.tls),
        (false, false) => sandbox_demo(gateway, args.tls),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> &'static str {
    "usage: cargo run -p ghesta-blocking --example checkout [-- --serve] [--gateway G] [--tls]\n\n\
     Without settings: runs one approved and one cancelled payment against an embedded\n\
     sandbox and exits 0 if both ended as they should. --serve keeps the shop and the\n\
     sandbox running for a browser. --tls serves the sandbox over HTTPS (a certificate\n\
     made at start, whose CA the client trusts).\n\n\
     --gateway ghesta|v2|v3 (or CHECKOUT_GATEWAY): where new payments go: Ghesta's\n\
     installment page (default), PayPing's v2 page, or PayPing's v3 API.\n\n\
     With PAYPING_API_URL, PAYPING_GATEWAY_URL and PAYPING_TOKEN set: creates one payment\n\
     there, prints the page to open, waits for the callback and verifies it.\n\
     CHECKOUT_LISTEN (default 127.0.0.1:0), CHECKOUT_RETURN_URL, CHECKOUT_MOBILE."
}

/// One line of output: a label column, then the text.
fn step(label: &str, text: impl std::fmt::Display) {
    println!("  {label:<10} {text}");
}

/// A client and a shop in front of a fresh embedded sandbox (over HTTPS with `tls`).
fn sandbox_shop(gateway: Gateway, tls: bool) -> Result<(Sandbox, Shop), Failure> {
    let options = if tls {
        Options::default().tls(Tls::Generated)
    } else {
        Options::default()
    };
    let sandbox = Sandbox::start(options)?;
    let config = Config::new(Token::new(sandbox.token())?)
        .with_api_url(BaseUrl::api(sandbox.base_url())?)
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url())?)
        .with_gateway(gateway);
    let mut http = HttpSettings::default();
    if let Some(ca) = sandbox.ca_certificate_pem() {
        // What a shop behind a TLS-inspecting proxy does with the proxy's CA.
        http = http.with_root_certificates_pem(ca)?;
    }
    let shop = Shop::start(
        Client::builder(config).http_settings(http).build(),
        ShopOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            return_url: None,
            mobile: SANDBOX_MOBILE.to_owned(),
        },
    )?;
    Ok((sandbox, shop))
}

/// The default run: one approved and one cancelled payment.
fn sandbox_demo(gateway: Gateway, tls: bool) -> Result<bool, Failure> {
    let (sandbox, shop) = sandbox_shop(gateway, tls)?;
    println!(
        "{} checkout demo: an embedded sandbox, no token, no network\n",
        label(gateway)
    );
    step("sandbox", sandbox.base_url());
    step("shop", shop.url());
    step("gateway", format!("{gateway} ({})", page_name(gateway)));
    let buyer = Buyer::new(gateway, sandbox.ca_certificate_pem())?;

    println!("\nPayment 1: the buyer approves");
    let paid = buyer.checkout(&sandbox, &shop, "order-1001", BuyerChoice::Approve)?;
    let paid_ok = matches!(paid, Outcome::Paid { .. });

    println!("\nPayment 2: the buyer cancels");
    let cancelled = buyer.checkout(&sandbox, &shop, "order-1002", BuyerChoice::Cancel)?;
    let verifies = sandbox.requests_seen().verify;
    let cancelled_ok = cancelled == Outcome::Cancelled && verifies == 1;

    println!();
    if paid_ok && cancelled_ok {
        println!("Both payments ended as they should: one verified, one cancelled unverified.");
        Ok(true)
    } else {
        println!(
            "Something went wrong: payment 1 {}, payment 2 {} ({verifies} verify request(s) \
             seen, expected 1).",
            describe(&paid),
            describe(&cancelled)
        );
        Ok(false)
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Paid { .. } => "verified".into(),
        Outcome::AlreadyPaid { .. } => "already verified".into(),
        Outcome::Cancelled => "cancelled".into(),
        Outcome::Open { why } => format!("open, not confirmed yet ({why})"),
        Outcome::NotPaid { error } => format!("not paid ({error})"),
    }
}

/// What the buyer presses on the installment page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BuyerChoice {
    Approve,
    Cancel,
}

/// A buyer's browser, played over HTTP: it does not follow redirects by itself, so each hop
/// can be shown.
struct Buyer {
    agent: ureq::Agent,
    gateway: Gateway,
}

impl Buyer {
    /// A browser (for `gateway`'s pages) that also trusts `ca_pem` (the sandbox's, over
    /// HTTPS).
    fn new(gateway: Gateway, ca_pem: Option<&str>) -> Result<Buyer, Failure> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(STEP_TIMEOUT));
        if let Some(pem) = ca_pem {
            use ureq::tls::{Certificate, RootCerts, TlsConfig};
            let ca = Certificate::from_pem(pem.as_bytes())?;
            let tls = TlsConfig::builder().root_certs(RootCerts::new_with_certs(&[ca]));
            #[cfg(feature = "native-tls")]
            let tls = tls.provider(ureq::tls::TlsProvider::NativeTls);
            config = config.tls_config(tls.build());
        }
        Ok(Buyer {
            agent: config.build().new_agent(),
            gateway,
        })
    }

    /// GET a page; its status, `Location` and body (bounded).
    fn get(&self, url: &str) -> Result<(u16, Option<String>, String), Failure> {
        let mut answer = self.agent.get(url).call()?;
        let location = answer
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = answer
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()?;
        Ok((answer.status().as_u16(), location, body))
    }

    /// One checkout from the shop's button to the receipt.
    fn checkout(
        &self,
        sandbox: &Sandbox,
        shop: &Shop,
        order: &str,
        choice: BuyerChoice,
    ) -> Result<Outcome, Failure> {
        print_order(order);

        // The buyer presses "pay": the shop creates the payment and redirects.
        let checkout = shop.checkout_url(order);
        let (status, location, _) = self.get(&checkout)?;
        step("checkout", format!("GET {checkout} -> {status}"));
        let code = match shop.next_event(STEP_TIMEOUT) {
            Some(Event::Created {
                code, request_id, ..
            }) => {
                step(
                    "payment",
                    format!(
                        "code {code}, request id {}",
                        request_id.as_deref().unwrap_or("none")
                    ),
                );
                code
            }
            Some(Event::CreateFailed { error, .. }) => {
                return Err(format!("create failed: {error}").into());
            }
            other => return Err(format!("the shop did not create the payment ({other:?})").into()),
        };
        let redirect = location.ok_or("the shop's checkout answered no Location")?;
        step("redirect", &redirect);

        // The browser follows the redirect to the gateway's page.
        let page_name = page_name(self.gateway);
        let (status, _, page) = self.get(&redirect)?;
        if status != 200 || !page.contains("id=\"approve\"") {
            return Err(format!("{page_name} answered {status} without an Approve button").into());
        }
        step(
            "gateway",
            format!("GET -> {status}, {page_name} with Approve and Cancel"),
        );

        // The buyer presses a button. The sandbox plays what the page does next: PayPing's
        // page makes the browser POST the callback form to the shop's return URL.
        let action = match choice {
            BuyerChoice::Approve => "approve",
            BuyerChoice::Cancel => "cancel",
        };
        let control = format!(
            "{}/__sandbox/payments/{code}/{action}?deliver=true",
            sandbox.base_url()
        );
        let mut answer = self.agent.post(&control).send_empty()?;
        let text = answer
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()?;
        if !answer.status().is_success() {
            return Err(format!("the sandbox refused the buyer's {action}: {text}").into());
        }
        let acted: serde_json::Value = serde_json::from_str(&text)?;
        let ref_id = sent_ref_id(&acted["fields"]);
        match choice {
            BuyerChoice::Approve => step("buyer", format!("presses Approve (refid {ref_id})")),
            BuyerChoice::Cancel => step("buyer", "presses Cancel (the callback carries no refid)"),
        }
        let delivered = acted["delivery"]["status"].as_u64().unwrap_or(0);

        // What the shop saw and did.
        let outcome = shop.wait_finished(order, STEP_TIMEOUT, |event| match event {
            Event::CallbackReceived { ref_id, .. } => step(
                "callback",
                format!(
                    "POST {} ({})",
                    shop.return_url(),
                    ref_id
                        .as_deref()
                        .map_or("cancelled, no refid".to_owned(), |r| format!("refid {r}"))
                ),
            ),
            Event::CallbackRefused { error } => step("callback", format!("refused: {error}")),
            _ => {}
        });
        let outcome = outcome.ok_or("the shop never finished the order")?;
        match &outcome {
            Outcome::Paid {
                toman,
                card,
                request_id,
                ..
            } => step(
                "verify",
                format!(
                    "verified: {}, card {}, request id {}",
                    shop::toman(*toman),
                    card.as_deref().unwrap_or("none"),
                    request_id.as_deref().unwrap_or("none")
                ),
            ),
            Outcome::AlreadyPaid { ref_id } => {
                step("verify", format!("already verified (refid {ref_id})"))
            }
            Outcome::Cancelled => step(
                "report",
                "PayPing says cancelled: the order is released (nothing to verify)",
            ),
            Outcome::Open { why } => step(
                "report",
                format!("PayPing has not settled it: the order stays open ({why})"),
            ),
            Outcome::NotPaid { error } => step("verify", format!("refused: {error}")),
        }
        step(
            "receipt",
            format!(
                "the shop answered the browser {delivered}: {}",
                describe(&outcome)
            ),
        );
        let state = sandbox
            .payment(&code)
            .map_or("unknown".to_owned(), |p| p.state.name().to_owned());
        step(
            "state",
            format!("the sandbox holds payment {code} as {state}"),
        );
        Ok(outcome)
    }
}

/// The refId the callback form carries: v2's `refid` field, or v3's `paymentRefId` inside
/// the `data` JSON; empty when there is none (a cancel).
fn sent_ref_id(fields: &serde_json::Value) -> String {
    let field = |name: &str| {
        fields.as_array().and_then(|fields| {
            fields
                .iter()
                .find(|pair| pair[0] == name)
                .and_then(|pair| pair[1].as_str())
        })
    };
    if let Some(ref_id) = field("refid") {
        return ref_id.to_owned();
    }
    field("data")
        .and_then(|data| serde_json::from_str::<serde_json::Value>(data).ok())
        .and_then(|data| data["paymentRefId"].as_u64())
        .map_or_else(String::new, |id| id.to_string())
}

/// `--serve`: the sandbox and the shop stay up for a person with a browser.
fn serve_sandbox(gateway: Gateway, tls: bool) -> Result<bool, Failure> {
    let (sandbox, shop) = sandbox_shop(gateway, tls)?;
    println!(
        "{} checkout demo, serving until interrupted (Ctrl-C)\n",
        label(gateway)
    );
    step(
        "shop",
        format!("{}/  <- open this in a browser", shop.url()),
    );
    step("sandbox", sandbox.base_url());
    if sandbox.ca_certificate_pem().is_some() {
        step(
            "note",
            "the sandbox's certificate is signed by a CA made at start: the browser warns \
             once (accept it, or trust the CA) before the installment page",
        );
    }
    println!();
    loop {
        if let Some(event) = shop.next_event(Duration::from_secs(3600)) {
            print_event(&event);
        }
    }
}

fn print_event(event: &Event) {
    match event {
        Event::Created {
            order,
            code,
            redirect,
            ..
        } => step(
            "payment",
            format!("{order}: code {code}, buyer sent to {redirect}"),
        ),
        Event::CreateFailed { order, error } => {
            step("payment", format!("{order}: create failed: {error}"))
        }
        Event::CallbackReceived { order, ref_id, .. } => step(
            "callback",
            format!(
                "{}: {}",
                order.as_deref().unwrap_or("no order"),
                ref_id
                    .as_deref()
                    .map_or("cancelled, no refid".to_owned(), |r| format!("refid {r}"))
            ),
        ),
        Event::CallbackRefused { error } => step("callback", format!("refused: {error}")),
        Event::Finished { order, outcome } => {
            step("verify", format!("{order}: {}", describe(outcome)))
        }
    }
}

/// With `PAYPING_API_URL` set: one payment on a real (or separately run) PayPing.
fn live_payment(gateway: Gateway) -> Result<bool, Failure> {
    let config = Config::from_env()?.with_gateway(gateway);
    let listen: SocketAddr = match std::env::var("CHECKOUT_LISTEN") {
        Ok(addr) => addr
            .parse()
            .map_err(|e| format!("CHECKOUT_LISTEN {addr:?}: {e}"))?,
        Err(_) => SocketAddr::from(([127, 0, 0, 1], 0)),
    };
    let mobile = std::env::var("CHECKOUT_MOBILE")
        .map_err(|_| "set CHECKOUT_MOBILE to the buyer's mobile number (PayPing needs it)")?;
    println!("{} checkout against {}\n", label(gateway), config.api_url());
    let shop = Shop::start(
        Client::new(config),
        ShopOptions {
            listen,
            return_url: std::env::var("CHECKOUT_RETURN_URL").ok(),
            mobile,
        },
    )?;
    step("shop", shop.url());
    step("return", shop.return_url());
    let order = format!(
        "demo-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    print_order(&order);
    match shop.create(&order) {
        Event::Created {
            code,
            request_id,
            redirect,
            ..
        } => {
            step(
                "payment",
                format!(
                    "code {code}, request id {}",
                    request_id.as_deref().unwrap_or("none")
                ),
            );
            step(
                "open",
                format!(
                    "{redirect}  <- pay here within {} minutes",
                    PERSON_TIMEOUT.as_secs() / 60
                ),
            );
        }
        Event::CreateFailed { error, .. } => {
            step("payment", format!("create failed: {error}"));
            return Ok(false);
        }
        other => return Err(format!("unexpected {other:?}").into()),
    }
    // `create` also sent the Created event; it was printed above.
    let outcome = shop.wait_finished(&order, PERSON_TIMEOUT, |event| {
        if !matches!(event, Event::Created { .. }) {
            print_event(event);
        }
    });
    match outcome {
        Some(outcome) => Ok(matches!(
            outcome,
            Outcome::Paid { .. } | Outcome::AlreadyPaid { .. }
        )),
        None => {
            step("verify", "no callback arrived in time");
            Ok(false)
        }
    }
}

/// The order line both modes print first.
fn print_order(order: &str) {
    step(
        "order",
        format!(
            "{order}: {}, {}",
            shop::PRODUCT,
            shop::toman(shop::PRICE_TOMAN)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn the_gateway_comes_from_the_flag_in_either_form() {
        for (list, expected) in [
            (&["--gateway", "v3"][..], Some(Gateway::PayPingV3)),
            (&["--gateway=V2"], Some(Gateway::PayPingV2)),
            (&["--serve", "--gateway", "ghesta"], Some(Gateway::Ghesta)),
            (&[], None),
        ] {
            let parsed = args(list).unwrap().unwrap();
            assert_eq!(parsed.gateway, expected, "{list:?}");
        }
        assert!(args(&["--gateway"]).is_err());
        assert!(args(&["--gateway", "v4"]).err().unwrap().contains("v4"));
        assert!(args(&["--serve=yes"]).is_err());
        assert!(args(&["--help"]).unwrap().is_none());
        // The flag wins over the environment, whatever it holds.
        assert_eq!(gateway(Some(Gateway::PayPingV3)), Ok(Gateway::PayPingV3));
    }

    #[test]
    fn the_ref_id_is_read_from_either_callback_form() {
        let v2 = serde_json::json!([["code", "c"], ["refid", "555"]]);
        assert_eq!(sent_ref_id(&v2), "555");
        let v3 = serde_json::json!([
            ["status", "1"],
            ["errorCode", ""],
            ["data", "{\"paymentCode\":\"C\",\"paymentRefId\":7781}"]
        ]);
        assert_eq!(sent_ref_id(&v3), "7781");
        let cancelled = serde_json::json!([["status", "0"], ["data", "{\"paymentCode\":\"C\"}"]]);
        assert_eq!(sent_ref_id(&cancelled), "");
    }
}
