//! A small shop with a Ghesta checkout, served by tiny_http on one thread.
//!
//! It is what a shop's backend does with the SDK, and no more:
//!
//! - `GET /`: the product page, with a "pay with Ghesta" link;
//! - `GET /checkout/ORDER` (or `/checkout`): creates the payment, stores the [`Pending`] record by the
//!   order id, and answers `303` to Ghesta's installment page;
//! - `POST /ghesta/callback` (or `GET` with a query): reads the callback, finds the stored
//!   record by the callback's clientRefId, asks the settlement ([`Client::settle`]) what to
//!   do, and answers a receipt page. The callback is only the browser's claim: PayPing's
//!   verify and report decide. A cancelled callback releases nothing by itself: the page
//!   shows the cart, and the order is released only if PayPing's report says so.
//!
//! Every step is also sent as an [`Event`] on a channel, so the demo can print it and a test
//! can wait for it.
//!
//! The example and `tests/browser.rs` both compile this file; each uses a part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ghesta_blocking::Client;
use ghesta_core::{
    Amount, Callback, ClientRefId, Description, MAX_CALLBACK_BYTES, Mobile, NewPayment, PayerName,
    Pending, ReturnUrl, Verdict, VerifyOutcome,
};

/// The path PayPing sends the buyer back to.
pub(crate) const CALLBACK_PATH: &str = "/ghesta/callback";

/// The one product the shop sells.
pub(crate) const PRODUCT: &str = "Kashan rug, 2x3 m";
/// Its price in Toman.
pub(crate) const PRICE_TOMAN: u64 = 250_000;

/// How the shop is set up.
pub(crate) struct ShopOptions {
    /// Where to listen (a loopback address in the demo and tests).
    pub(crate) listen: SocketAddr,
    /// The return URL PayPing sends the buyer back to; `None`: this shop's own
    /// `http://ADDR/ghesta/callback` (accepted for loopback addresses only).
    pub(crate) return_url: Option<String>,
    /// The buyer's mobile number (a real shop asks the buyer; Ghesta needs it).
    pub(crate) mobile: String,
}

/// Something that happened in the shop, in order.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// A payment was created for an order and the buyer sent to pay.
    Created {
        /// The order id (sent as clientRefId).
        order: String,
        /// The payment code.
        code: String,
        /// The create answer's `X-PayPingRequest-ID`.
        request_id: Option<String>,
        /// Where the buyer is sent.
        redirect: String,
    },
    /// Creating the payment failed.
    CreateFailed {
        /// The order id.
        order: String,
        /// Why.
        error: String,
    },
    /// The buyer came back to the return URL.
    CallbackReceived {
        /// The order the callback names (its clientRefId).
        order: Option<String>,
        /// The payment code.
        code: String,
        /// The refId, or `None` for a payment the buyer did not complete.
        ref_id: Option<String>,
    },
    /// A request to the return URL that is not a valid callback.
    CallbackRefused {
        /// Why.
        error: String,
    },
    /// An order reached its end.
    Finished {
        /// The order id.
        order: String,
        /// How it ended.
        outcome: Outcome,
    },
}

/// How an order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// PayPing proved the payment, verified by this callback: ship the order.
    Paid {
        /// Amount in Toman, as verify answered.
        toman: u64,
        /// The payment reference.
        ref_id: String,
        /// The masked card number verify answered.
        card: Option<String>,
        /// Verify's `X-PayPingRequest-ID`.
        request_id: Option<String>,
    },
    /// PayPing proved the payment, verified earlier: ship if not shipped yet.
    AlreadyPaid {
        /// The payment reference.
        ref_id: String,
    },
    /// PayPing's report says the payment was cancelled or failed (never the callback
    /// alone): the order is released; nothing was verified.
    Cancelled,
    /// Not settled yet (a cancelled callback PayPing's report does not confirm, or a
    /// payment PayPing has not proven): the order stays open, the buyer sees the cart.
    Open {
        /// Why, as the settlement says.
        why: String,
    },
    /// PayPing did not prove the payment, or the callback did not match the stored order.
    NotPaid {
        /// Why, as the SDK's error says.
        error: String,
    },
}

/// A running shop. Dropping it stops the server and joins its thread.
pub(crate) struct Shop {
    url: String,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    core: Arc<ShopCore>,
    events: Receiver<Event>,
}

/// What the request handler shares with the [`Shop`] handle.
struct ShopCore {
    client: Client,
    return_url: ReturnUrl,
    mobile: Mobile,
    /// Pending payments by order id. A real shop keeps `serde_json::to_string(&pending)`
    /// in its database instead.
    orders: Mutex<HashMap<String, Pending>>,
    next_order: AtomicU64,
    events: Mutex<Sender<Event>>,
}

impl Shop {
    /// Binds and starts serving; returns once the address is bound.
    pub(crate) fn start(
        client: Client,
        options: ShopOptions,
    ) -> Result<Shop, Box<dyn std::error::Error + Send + Sync>> {
        let server = tiny_http::Server::http(options.listen)?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or("the shop's server has no IP address")?;
        let url = format!("http://{addr}");
        let return_url = match options.return_url {
            Some(url) => ReturnUrl::new(&url)?,
            None => ReturnUrl::new(&format!("{url}{CALLBACK_PATH}"))?,
        };
        let (sender, events) = mpsc::channel();
        let core = Arc::new(ShopCore {
            client,
            return_url,
            mobile: Mobile::new(&options.mobile)?,
            orders: Mutex::new(HashMap::new()),
            next_order: AtomicU64::new(1001),
            events: Mutex::new(sender),
        });
        let server = Arc::new(server);
        let thread = {
            let (server, core) = (Arc::clone(&server), Arc::clone(&core));
            thread::Builder::new().name("shop".into()).spawn(move || {
                for request in server.incoming_requests() {
                    core.handle(request);
                }
            })?
        };
        Ok(Shop {
            url,
            server,
            thread: Some(thread),
            core,
            events,
        })
    }

    /// `http://HOST:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The checkout URL for a new order with this id.
    pub(crate) fn checkout_url(&self, order: &str) -> String {
        format!("{}/checkout/{order}", self.url)
    }

    /// The return URL the shop gives PayPing.
    pub(crate) fn return_url(&self) -> &str {
        self.core.return_url.as_str()
    }

    /// Creates the payment of an order directly (what `GET /checkout` does), for a demo that
    /// has no browser: the buyer opens the returned [`Event::Created`]'s redirect.
    pub(crate) fn create(&self, order: &str) -> Event {
        self.core.create(order)
    }

    /// The next event, waiting at most `timeout`; `None` if none came.
    pub(crate) fn next_event(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }

    /// Waits (at most `timeout`) for the order to finish, returning its outcome; other events
    /// on the way are passed to `seen`.
    pub(crate) fn wait_finished(
        &self,
        order: &str,
        timeout: Duration,
        mut seen: impl FnMut(&Event),
    ) -> Option<Outcome> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let event = self.next_event(left)?;
            seen(&event);
            if let Event::Finished { order: o, outcome } = event
                && o == order
            {
                return Some(outcome);
            }
        }
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ShopCore {
    fn emit(&self, event: Event) {
        // Nobody listening (the demo stopped reading) is not the shop's problem.
        let _ = self
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(event);
    }

    fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self, mut request: tiny_http::Request) {
        let is_get = *request.method() == tiny_http::Method::Get;
        let target = path(request.url()).to_owned();
        let answer = if target == CALLBACK_PATH {
            match to_http(&mut request) {
                Ok(http_request) => self.callback(&http_request),
                Err(error) => page(400, "Bad request", &error),
            }
        } else if !is_get {
            page(405, "Method not allowed", "Only GET is served here.")
        } else if target == "/" {
            home()
        } else if target == "/checkout" {
            self.checkout(None)
        } else if let Some(order) = target.strip_prefix("/checkout/") {
            self.checkout(Some(order))
        } else {
            page(404, "Not found", "There is nothing here.")
        };
        // The browser may have gone away; nothing to do about it.
        let _ = request.respond(to_tiny(answer));
    }

    /// `GET /checkout[/ORDER]`: create, store, redirect. Without an order id the shop numbers
    /// the order itself; a given one must be letters, digits, `-` or `_` (so it needs no
    /// decoding from the path).
    fn checkout(&self, requested: Option<&str>) -> http::Response<Vec<u8>> {
        let order = match requested {
            Some(id) if is_order_id(id) => id.to_owned(),
            Some(_) => return page(400, "Bad order id", "Use letters, digits, - and _."),
            None => format!("order-{}", self.next_order.fetch_add(1, Ordering::Relaxed)),
        };
        match self.create(&order) {
            Event::Created { .. } => {
                let orders = self.orders();
                match orders.get(&order) {
                    Some(pending) => pending.redirect_url().to_response(),
                    None => page(500, "Order lost", "The order was not stored."),
                }
            }
            Event::CreateFailed { error, .. } => page(502, "Payment not started", &error),
            _ => page(500, "Unexpected", "The shop is confused."),
        }
    }

    fn create(&self, order: &str) -> Event {
        let event = match self.try_create(order) {
            Ok(pending) => {
                let event = Event::Created {
                    order: order.to_owned(),
                    code: pending.code().as_str().to_owned(),
                    request_id: pending.request_id().map(|id| id.as_str().to_owned()),
                    redirect: pending.redirect_url().as_str().to_owned(),
                };
                self.orders().insert(order.to_owned(), pending);
                event
            }
            Err(error) => Event::CreateFailed {
                order: order.to_owned(),
                error,
            },
        };
        self.emit(event.clone());
        event
    }

    fn try_create(&self, order: &str) -> Result<Pending, String> {
        if self.orders().contains_key(order) {
            return Err(format!("order {order} already has a payment"));
        }
        let payment = NewPayment::new(
            Amount::from_toman(PRICE_TOMAN).map_err(|e| e.to_string())?,
            self.return_url.clone(),
            ClientRefId::new(order).map_err(|e| e.to_string())?,
            self.mobile.clone(),
        )
        .with_payer_name(PayerName::new("Sara Ahmadi").map_err(|e| e.to_string())?)
        .with_description(Description::new(PRODUCT).map_err(|e| e.to_string())?);
        self.client.create(payment).map_err(|e| e.to_string())
    }

    /// The buyer is back: parse, look up, verify, answer a receipt.
    fn callback(&self, request: &http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        let callback = match Callback::from_request(request) {
            Ok(callback) => callback,
            Err(error) => {
                let text = error.to_string();
                self.emit(Event::CallbackRefused {
                    error: text.clone(),
                });
                return page(error.status().as_u16(), "Not a payment callback", &text);
            }
        };
        let order = callback.client_ref_id().map(|id| id.as_str().to_owned());
        self.emit(Event::CallbackReceived {
            order: order.clone(),
            code: callback.code().as_str().to_owned(),
            ref_id: match &callback {
                Callback::Completed(c) => Some(c.ref_id().as_str().to_owned()),
                Callback::Cancelled(_) => None,
            },
        });
        // The callback is only the browser's claim: the order is looked up by its id, and the
        // stored record (not the callback) decides what is verified.
        let Some(order) = order else {
            return page(400, "Unknown order", "The callback names no order.");
        };
        let Some(pending) = self.orders().get(&order).cloned() else {
            return page(404, "Unknown order", &format!("No order {order} here."));
        };
        let outcome = settle(&self.client, &pending, &callback);
        let answer = receipt(&order, &outcome);
        self.emit(Event::Finished { order, outcome });
        answer
    }
}

/// Asks the settlement what the callback means for the order: a verify of its reference
/// proven by PayPing (on v2 through the report), or PayPing's report for a cancelled one.
fn settle(client: &Client, pending: &Pending, callback: &Callback) -> Outcome {
    let verdict = match client.settle(pending, callback) {
        Ok(verdict) => verdict,
        // Not this order's callback: nothing was sent, the order is untouched.
        Err(error) => {
            return Outcome::NotPaid {
                error: error.to_string(),
            };
        }
    };
    match verdict {
        Verdict::Ship(paid) => match paid.outcome() {
            Some(VerifyOutcome::Verified(verified)) => Outcome::Paid {
                toman: verified.amount().toman().into(),
                ref_id: verified.ref_id().as_str().to_owned(),
                card: verified.card_number().map(|c| c.as_str().to_owned()),
                request_id: verified.request_id().map(|id| id.as_str().to_owned()),
            },
            _ => Outcome::AlreadyPaid {
                ref_id: paid
                    .ref_id()
                    .map_or_else(|| "(verified earlier)".to_owned(), |r| r.to_string()),
            },
        },
        // PayPing's word, asked by the settlement: a callback alone never gets here.
        Verdict::Release(_) => Outcome::Cancelled,
        Verdict::Wait(waiting) => Outcome::Open {
            why: format!("{waiting:?}"),
        },
        Verdict::NeedsAttention(attention) => Outcome::NotPaid {
            error: attention.error().to_string(),
        },
        // This shop releases nothing itself, so a payment after a release cannot come.
        other => Outcome::NotPaid {
            error: format!("{other:?}"),
        },
    }
}

fn is_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The path of a request target, without its query.
fn path(target: &str) -> &str {
    target.split_once('?').map_or(target, |(p, _)| p)
}

/// Reads a tiny_http request into an `http::Request` for [`Callback::from_request`]: method,
/// target and content type, and at most one byte more than a callback may hold (so an
/// oversized body is refused as too large, not cut to something that parses).
fn to_http(request: &mut tiny_http::Request) -> Result<http::Request<Vec<u8>>, String> {
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_CALLBACK_BYTES + 1).unwrap_or(u64::MAX);
    request
        .as_reader()
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|e| format!("could not read the request: {e}"))?;
    let mut builder = http::Request::builder()
        .method(request.method().as_str())
        .uri(request.url());
    for header in request.headers() {
        if header.field.equiv("content-type") {
            builder = builder.header(http::header::CONTENT_TYPE, header.value.as_str());
        }
    }
    builder
        .body(body)
        .map_err(|e| format!("not a valid request: {e}"))
}

/// Turns an `http::Response` (as the core builds them) into tiny_http's.
fn to_tiny(response: http::Response<Vec<u8>>) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let (parts, body) = response.into_parts();
    let mut answer = tiny_http::Response::from_data(body).with_status_code(parts.status.as_u16());
    for (name, value) in &parts.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_str(), value.as_bytes()) {
            answer.add_header(header);
        }
    }
    answer
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Thousands separated by commas, as prices are shown.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// An amount in Toman as the demo prints it.
pub(crate) fn toman(n: u64) -> String {
    format!("{} Toman", grouped(n))
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f7f7f5;color:#1f2937;\
margin:0;display:flex;min-height:100vh;align-items:center;justify-content:center}\
main{background:#fff;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.08);padding:2rem;\
max-width:28rem;width:100%}h1{font-size:1.3rem;margin:0 0 1rem}dl{display:grid;\
grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#6b7280}dd{margin:0}\
a.button{display:inline-block;background:#059669;color:#fff;border-radius:8px;\
padding:.6rem 1.2rem;text-decoration:none}";

fn html(status: u16, title: &str, main: &str) -> http::Response<Vec<u8>> {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{main}\n</main>\n\
         </body>\n</html>\n",
        escape(title)
    );
    let mut response = http::Response::new(body.into_bytes());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// A page with a heading and one paragraph.
fn page(status: u16, title: &str, text: &str) -> http::Response<Vec<u8>> {
    html(
        status,
        title,
        &format!(
            "<h1 id=\"result\">{}</h1>\n<p id=\"detail\">{}</p>",
            escape(title),
            escape(text)
        ),
    )
}

fn home() -> http::Response<Vec<u8>> {
    html(
        200,
        "Demo shop",
        &format!(
            "<h1>{}</h1>\n<p>{}, in instalments with Ghesta.</p>\n\
             <p><a class=\"button\" id=\"buy\" href=\"/checkout\">Pay with Ghesta</a></p>",
            escape(PRODUCT),
            toman(PRICE_TOMAN)
        ),
    )
}

/// The page the buyer sees after the callback.
fn receipt(order: &str, outcome: &Outcome) -> http::Response<Vec<u8>> {
    let (status, title, rows) = match outcome {
        Outcome::Paid {
            toman: amount,
            ref_id,
            card,
            ..
        } => (
            200,
            "Payment verified",
            vec![
                ("Amount", toman(*amount)),
                ("Reference", ref_id.clone()),
                ("Card", card.clone().unwrap_or_else(|| "—".into())),
            ],
        ),
        Outcome::AlreadyPaid { ref_id } => (
            200,
            "Payment already verified",
            vec![("Reference", ref_id.clone())],
        ),
        Outcome::Cancelled => (
            200,
            "Payment cancelled",
            vec![
                ("Note", "PayPing says nothing was charged.".to_owned()),
                ("Your cart", format!("{PRODUCT}, {}", toman(PRICE_TOMAN))),
            ],
        ),
        Outcome::Open { .. } => (
            200,
            "Payment not confirmed yet",
            vec![
                (
                    "Note",
                    "Your order is kept: if you paid, it is confirmed with PayPing shortly."
                        .to_owned(),
                ),
                ("Your cart", format!("{PRODUCT}, {}", toman(PRICE_TOMAN))),
            ],
        ),
        Outcome::NotPaid { error } => (402, "Payment not verified", vec![("Why", error.clone())]),
    };
    let mut main = format!(
        "<h1 id=\"result\">{}</h1>\n<dl>\n<dt>Order</dt><dd id=\"order\">{}</dd>\n",
        escape(title),
        escape(order)
    );
    for (label, value) in rows {
        main.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(label),
            escape(&value)
        ));
    }
    main.push_str("</dl>\n<p><a href=\"/\">Back to the shop</a></p>");
    html(status, title, &main)
}
