//! A small shop on a blocking server (tiny_http): checkout page, redirect to Ghesta, and the
//! callback verified with this crate.
//!
//! ```text
//! cargo run -p ghesta-blocking --example shop                # with an embedded sandbox
//! cargo run -p ghesta-blocking --example shop -- --self-test # play one purchase, then exit
//! ```
//!
//! Without `PAYPING_TOKEN` it starts the PayPing sandbox (`ghesta-sandbox`) on 127.0.0.1 and
//! points the client at it: open the printed URL, press a "pay" button, approve or cancel
//! on the sandbox's installment page, and its form brings you back to the shop, which
//! verifies. With `PAYPING_TOKEN` (and optionally `PAYPING_API_URL`, `PAYPING_GATEWAY_URL`)
//! it talks to that PayPing instead; `SHOP_RETURN_URL` must then be the public https URL of
//! `/ghesta/callback`. `SHOP_LISTEN` sets the address (default `127.0.0.1:0`),
//! `SHOP_BUYER_MOBILE` the buyer's mobile (a real shop knows it from the buyer's account).
//!
//! The flow, in `handle`:
//!
//! 1. `POST /checkout/{item}`: `client.create`, store the `Pending` by clientRefId, answer
//!    the core's 303 (`RedirectUrl::to_response`).
//! 2. `POST` (or `GET`) `/ghesta/callback`: the tiny_http request becomes an
//!    `http::Request`, `Callback::from_request` parses it, the `Pending` is looked up by
//!    the callback's clientRefId, `client.verify` decides, and the page says what happened.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use ghesta_blocking::{Client, Error};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, Config, MAX_CALLBACK_BYTES, Mobile, NewPayment,
    Pending, ReturnUrl, Token, VerifyOutcome,
};
use ghesta_sandbox::{Options, Sandbox};

/// What the shop sells: (name, price in Toman).
const ITEMS: [(&str, u64); 3] = [
    ("Samovar, brass", 4_800_000),
    ("Persian rug, 2 x 3 m", 38_500_000),
    ("Saffron, 10 g", 950_000),
];
/// Threads answering requests; one slow verify must not stop the checkout page.
const WORKERS: usize = 4;

/// Where an order stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OrderState {
    AwaitingPayment,
    Paid,
    Cancelled,
}

struct Order {
    item: &'static str,
    pending: Pending,
    state: OrderState,
}

/// The shop: one client (cloned into every worker), and orders in memory by clientRefId.
struct Shop {
    client: Client,
    return_url: ReturnUrl,
    mobile: Mobile,
    orders: Mutex<HashMap<String, Order>>,
    next_order: Mutex<u64>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let listen: SocketAddr = std::env::var("SHOP_LISTEN")
        .unwrap_or_else(|_| "127.0.0.1:0".to_owned())
        .parse()?;
    let server = Arc::new(tiny_http::Server::http(listen).map_err(|e| e.to_string())?);
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or("the shop is not listening on an IP address")?;

    // PayPing from the environment, or a sandbox of our own.
    let (client, sandbox) = if std::env::var_os(ghesta_core::ENV_TOKEN).is_some() && !self_test {
        (Client::from_env()?, None)
    } else {
        let sandbox = Sandbox::start(Options::default())?;
        let config = Config::new(Token::new(sandbox.token())?)
            .with_api_url(BaseUrl::api(sandbox.base_url())?)
            .with_gateway_url(BaseUrl::gateway(sandbox.base_url())?);
        println!("PayPing sandbox at {}", sandbox.base_url());
        (Client::new(config), Some(sandbox))
    };
    let return_url = match std::env::var("SHOP_RETURN_URL") {
        Ok(url) => ReturnUrl::new(&url)?,
        Err(_) => ReturnUrl::new(&format!("http://{addr}/ghesta/callback"))?,
    };
    let mobile = Mobile::new(
        &std::env::var("SHOP_BUYER_MOBILE").unwrap_or_else(|_| "09123456789".to_owned()),
    )?;
    let shop = Arc::new(Shop {
        client,
        return_url,
        mobile,
        orders: Mutex::new(HashMap::new()),
        next_order: Mutex::new(1),
    });

    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (server, shop) = (Arc::clone(&server), Arc::clone(&shop));
            thread::spawn(move || {
                while let Ok(request) = server.recv() {
                    shop.serve(request);
                }
            })
        })
        .collect();
    println!("shop at http://{addr}/");

    if self_test {
        // Exiting the process stops the workers.
        return play_one_purchase(addr, sandbox.as_ref().ok_or("no sandbox")?);
    }
    for worker in workers {
        let _ = worker.join();
    }
    Ok(())
}

/// Buys the first item as a browser would, approves it on the sandbox, and checks the shop
/// says it is paid.
fn play_one_purchase(
    shop: SocketAddr,
    sandbox: &Sandbox,
) -> Result<(), Box<dyn std::error::Error>> {
    let agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .new_agent();
    let answer = agent
        .post(&format!("http://{shop}/checkout/0"))
        .send_empty()?;
    let location = answer
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .ok_or("checkout did not redirect")?;
    println!("checkout redirected to {location}");
    let code = location
        .parse::<http::Uri>()?
        .path()
        .rsplit('/')
        .next()
        .ok_or("no payment code in the redirect")?
        .to_owned();
    let form = sandbox.approve(&code)?;
    let delivery = sandbox.deliver(&form)?;
    println!("callback answered {}", delivery.status);
    if delivery.status != 200 || !delivery.body.contains("Paid") {
        return Err(format!("the shop did not confirm the payment: {}", delivery.body).into());
    }
    // The buyer's browser posts the form again (a reload): verify answers 15.
    let again = sandbox.deliver(&form)?;
    if again.status != 200 || !again.body.contains("already") {
        return Err(format!("a replayed callback was not recognised: {}", again.body).into());
    }
    println!("self-test passed");
    Ok(())
}

impl Shop {
    fn serve(&self, mut request: tiny_http::Request) {
        let response = match to_http(&mut request) {
            Ok(req) => self.handle(&req),
            Err(status) => page(status, "Bad request", "The request could not be read."),
        };
        let _ = request.respond(to_tiny(response));
    }

    fn handle(&self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let path = request.uri().path();
        match (request.method().as_str(), path) {
            ("GET", "/") => self.checkout_page(),
            ("POST", p) if p.starts_with("/checkout/") => self.checkout(&p["/checkout/".len()..]),
            (_, "/ghesta/callback") => self.callback(request),
            _ => page(404, "Not found", "There is nothing here."),
        }
    }

    fn checkout_page(&self) -> http::Response<Vec<u8>> {
        let mut body = String::from("<p>Pay in installments with Ghesta (قسطا).</p><ul>");
        for (i, (name, toman)) in ITEMS.iter().enumerate() {
            body.push_str(&format!(
                "<li>{} — {} Toman <form method=\"post\" action=\"/checkout/{i}\" \
                 style=\"display:inline\"><button id=\"buy-{i}\">Pay with Ghesta</button></form></li>",
                escape(name),
                toman
            ));
        }
        body.push_str("</ul>");
        page(200, "Shop", &body)
    }

    /// Step 1: create the payment, keep it, send the buyer to Ghesta.
    fn checkout(&self, item: &str) -> http::Response<Vec<u8>> {
        let Some(&(name, toman)) = item.parse::<usize>().ok().and_then(|i| ITEMS.get(i)) else {
            return page(404, "Not found", "No such item.");
        };
        let order_id = {
            let mut next = self
                .next_order
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *next += 1;
            format!("order-{}", *next - 1)
        };
        let payment = match (Amount::from_toman(toman), ClientRefId::new(&order_id)) {
            (Ok(amount), Ok(id)) => {
                NewPayment::new(amount, self.return_url.clone(), id, self.mobile.clone())
            }
            _ => return page(500, "Error", "The order could not be prepared."),
        };
        match self.client.create(payment) {
            Ok(pending) => {
                let redirect = pending.redirect_url().to_response();
                self.orders().insert(
                    order_id,
                    Order {
                        item: name,
                        pending,
                        state: OrderState::AwaitingPayment,
                    },
                );
                redirect
            }
            Err(e) => failure("The payment could not be started", &e),
        }
    }

    /// Steps 3 and 4: read the callback, find the order, verify.
    fn callback(&self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let callback = match Callback::from_request(request) {
            Ok(c) => c,
            Err(e) => return page(e.status().as_u16(), "Bad callback", &escape(&e.to_string())),
        };
        let Some(order_id) = callback.client_ref_id().map(|id| id.as_str().to_owned()) else {
            return page(400, "Bad callback", "The callback names no order.");
        };
        let Some((pending, item)) = self
            .orders()
            .get(&order_id)
            .map(|o| (o.pending.clone(), o.item))
        else {
            return page(404, "Unknown order", "This shop has no such order.");
        };
        let callback = match callback {
            Callback::Completed(c) => c,
            Callback::Cancelled(cancelled) => {
                // The callback is unsigned: only a cancel naming this order's own payment
                // code, for an order not yet paid, changes anything.
                if cancelled.code() == pending.code() {
                    let mut orders = self.orders();
                    if let Some(o) = orders.get_mut(&order_id) {
                        if o.state == OrderState::AwaitingPayment {
                            o.state = OrderState::Cancelled;
                        }
                    }
                }
                return page(
                    200,
                    "Payment cancelled",
                    "You did not complete the payment. <a href=\"/\">Back to the shop</a>",
                );
            }
        };
        // Not holding the lock while PayPing answers (and retries).
        match self.client.verify(&pending, &callback) {
            Ok(VerifyOutcome::Verified(paid)) => {
                self.set_state(&order_id, OrderState::Paid);
                let body = format!(
                    "Paid: {} for {} Toman (order {}, reference {}). Thank you!",
                    escape(item),
                    paid.amount().toman(),
                    escape(&order_id),
                    escape(paid.ref_id().as_str())
                );
                page(200, "Paid", &body)
            }
            Ok(VerifyOutcome::AlreadyVerified(_)) => {
                // Verified earlier (a reload, or our first answer was lost): ship once.
                let was = self.set_state(&order_id, OrderState::Paid);
                let body = if was == Some(OrderState::Paid) {
                    format!(
                        "Order {} was already paid and confirmed.",
                        escape(&order_id)
                    )
                } else {
                    format!(
                        "Paid: order {} (PayPing had already verified it).",
                        escape(&order_id)
                    )
                };
                page(200, "Paid", &body)
            }
            Err(e) => failure("The payment could not be verified", &e),
        }
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets an order's state; returns the one it had.
    fn set_state(&self, order_id: &str, state: OrderState) -> Option<OrderState> {
        self.orders()
            .get_mut(order_id)
            .map(|o| std::mem::replace(&mut o.state, state))
    }
}

/// An error page; the request id is what PayPing support asks for.
fn failure(what: &str, e: &Error) -> http::Response<Vec<u8>> {
    eprintln!("shop: {what}: {e}");
    let mut body = format!("{what}: {}.", escape(&e.to_string()));
    if let Some(id) = e.request_id() {
        body.push_str(&format!(" PayPing request id: {}.", escape(id.as_str())));
    }
    if e.is_retryable() {
        body.push_str(" Please try again in a moment.");
    }
    page(502, "Payment problem", &body)
}

fn page(status: u16, title: &str, body: &str) -> http::Response<Vec<u8>> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{0}</title>\
         <h1>{0}</h1>{body}</html>",
        escape(title)
    );
    http::Response::builder()
        .status(status)
        .header("content-type", "text/html; charset=utf-8")
        .body(html.into_bytes())
        .unwrap_or_default()
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// tiny_http's request as an `http::Request`, its body capped at what a callback may be.
fn to_http(request: &mut tiny_http::Request) -> Result<http::Request<Vec<u8>>, u16> {
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.url());
    for header in request.headers() {
        builder = builder.header(header.field.as_str().as_str(), header.value.as_str());
    }
    let mut body = Vec::new();
    let cap = u64::try_from(MAX_CALLBACK_BYTES + 1).unwrap_or(u64::MAX);
    request
        .as_reader()
        .take(cap)
        .read_to_end(&mut body)
        .map_err(|_| 400u16)?;
    if body.len() > MAX_CALLBACK_BYTES {
        return Err(413);
    }
    builder.body(body).map_err(|_| 400)
}

/// An `http::Response` as tiny_http's.
fn to_tiny(response: http::Response<Vec<u8>>) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let (parts, body) = response.into_parts();
    let mut tiny = tiny_http::Response::from_data(body).with_status_code(parts.status.as_u16());
    for (name, value) in &parts.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_str(), value.as_bytes()) {
            tiny.add_header(header);
        }
    }
    tiny
}
