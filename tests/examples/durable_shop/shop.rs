//! The shop: tiny_http served by a small pool of threads for the buyers' browsers, and a
//! sweeper thread for the callbacks that never come. Both ask the SDK's settlement what to
//! do with a payment and act on its verdict through the store's conditional updates.
//!
//! An order may have several payments (a buyer with two tabs open, a create retried): each
//! checkout of an order not yet settled creates one more. Each is settled on its own; the
//! first one proven pays the order and ships it (`paid_by`, set once); any other one proven
//! is paid twice: refunded where reversible (v3), else a person is alerted, once, to refund
//! it by hand. The order ships once either way.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use ghesta_blocking::{Client, Merchants};
use ghesta_core::{
    Amount, Callback, ClientRefId, MAX_CALLBACK_BYTES, MerchantKey, Mobile, NewPayment, Paid,
    PaymentCode, Pending, Protocol, ReturnUrl, Settlement, Verdict,
};

use crate::store::{Db, Due, Lease, Moved, Order, PaymentState, Result, State, Store};

/// The path PayPing sends the buyer back to.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// The price of the one thing the shop sells, in Toman.
const PRICE_TOMAN: u64 = 250_000;

/// The most payments one order gets: a buyer may open checkout in a few tabs, but a client
/// that keeps asking must not make PayPing payments (and rows) without end.
const MAX_PAYMENTS_PER_ORDER: u64 = 8;

/// How often the sweeper looks for overdue orders.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// Threads settling the overdue orders: one order whose verify PayPing keeps "in progress"
/// (minutes) holds one of them, never the others' orders, whose verify windows run.
const SWEEPERS: usize = 4;

/// Threads serving requests: a callback's settlement may wait minutes on PayPing (a verify
/// answered "in progress"), and it holds only its own thread, never another buyer's
/// checkout.
const WORKERS: usize = 8;

/// A test hook, off unless set: `DURABLE_SHOP_PAUSE=create|verify|report|ship` stops the
/// first flow that reaches that step (after PayPing answered the create, the verify or the
/// report; or after the verdict and before the shipment is stored), prints `paused after
/// STEP`, and waits there forever, so a test can kill the process exactly at that step.
/// Other flows go on.
pub(crate) const PAUSE: &str = "DURABLE_SHOP_PAUSE";

/// Lines on standard output, one per thing that happened, flushed at once: what a person
/// reads and what the tests wait for.
#[derive(Clone, Default)]
pub(crate) struct Say {
    lock: Arc<Mutex<()>>,
    /// Whether a flow has stopped at the test hook already.
    paused: Arc<AtomicBool>,
}

impl Say {
    pub(crate) fn line(&self, text: impl std::fmt::Display) {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// The test hook: the first flow to get here says where and never returns; any later
    /// one goes on (so the test sees exactly one flow stopped, and the others run).
    pub(crate) fn pause_once(&self, step: &str) {
        if self.paused.swap(true, Ordering::SeqCst) {
            return;
        }
        self.line(format_args!("paused after {step}"));
        loop {
            thread::park();
        }
    }
}

pub(crate) struct Settings {
    pub(crate) db: Db,
    pub(crate) listen: std::net::SocketAddr,
    pub(crate) return_url: Option<String>,
    pub(crate) recover_after: Duration,
    /// The sweepers' claim on the orders they settle (stored on PostgreSQL only).
    pub(crate) lease: Lease,
    /// Where [`PAUSE`] stops, if set.
    pub(crate) pause: Option<String>,
}

/// A running shop; dropping it stops every thread.
pub(crate) struct Shop {
    url: String,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
    stop: Option<Sender<()>>,
}

struct Core {
    /// Every merchant the shop serves, on one connection pool: a record is finished by
    /// its own merchant's client ([`Merchants::for_record`]).
    merchants: Merchants,
    return_url: ReturnUrl,
    db: Db,
    lease: Lease,
    say: Say,
    pause_before_ship: bool,
}

/// Who settled an order, as the events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum By {
    Callback,
    Sweeper,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            Self::Callback => "callback",
            Self::Sweeper => "sweeper",
        }
    }
}

impl Shop {
    pub(crate) fn start(merchants: Merchants, settings: Settings, say: Say) -> Result<Shop> {
        let server = Arc::new(tiny_http::Server::http(settings.listen)?);
        let addr = server.server_addr().to_ip().ok_or("no IP address")?;
        let url = format!("http://{addr}");
        let return_url = match &settings.return_url {
            Some(url) => ReturnUrl::new(url)?,
            None => ReturnUrl::new(&format!("{url}{CALLBACK_PATH}"))?,
        };
        let core = Arc::new(Core {
            merchants,
            return_url,
            db: settings.db.clone(),
            lease: settings.lease.clone(),
            say,
            pause_before_ship: settings.pause.as_deref() == Some("ship"),
        });
        let stopping = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for n in 0..WORKERS {
            let (server, core, stopping) = (
                Arc::clone(&server),
                Arc::clone(&core),
                Arc::clone(&stopping),
            );
            threads.push(
                thread::Builder::new()
                    .name(format!("shop-{n}"))
                    .spawn(move || core.serve(&server, &stopping))?,
            );
        }
        let (stop, stopped) = mpsc::channel();
        let sweeping = {
            let core = Arc::clone(&core);
            let after = settings.recover_after;
            thread::Builder::new()
                .name("sweeper".into())
                .spawn(move || Core::sweep(&core, after, &stopped))?
        };
        threads.push(sweeping);
        Ok(Shop {
            url,
            server,
            threads,
            stopping,
            stop: Some(stop),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.stop.take();
        // Each unblock wakes one waiting worker.
        for _ in 0..WORKERS {
            self.server.unblock();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Core {
    /// One worker: takes requests off the shared queue until the shop stops.
    fn serve(&self, server: &tiny_http::Server, stopping: &AtomicBool) {
        let mut store = match self.db.store() {
            Ok(store) => store,
            Err(e) => return self.say.line(format_args!("error: {e}")),
        };
        while !stopping.load(Ordering::SeqCst) {
            match server.recv() {
                Ok(request) => self.handle(&mut store, request),
                // Unblocked to stop, or a failed accept: look at the flag again.
                Err(_) => continue,
            }
        }
    }

    fn handle(&self, store: &mut Store, mut request: tiny_http::Request) {
        let url = request.url().to_owned();
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let path = path.to_owned();
        let (status, body) = if let Some(order) = path.strip_prefix("/checkout/") {
            match self.checkout(store, order, query) {
                Ok(redirect) => {
                    let mut response = tiny_http::Response::from_string("continue to payment")
                        .with_status_code(303);
                    if let Ok(h) = tiny_http::Header::from_bytes("Location", redirect.as_bytes()) {
                        response.add_header(h);
                    }
                    let _ = request.respond(response);
                    return;
                }
                Err(e) => (502, format!("could not create the payment: {e}")),
            }
        } else if let Some(order) = path.strip_prefix("/orders/") {
            match (store.order(order), store.shipments(order)) {
                (Ok(Some(Order { state, .. })), Ok(shipments)) => {
                    (200, format!("{state:?} shipments={shipments}"))
                }
                (Ok(None), _) => (404, "no such order".into()),
                (Err(e), _) | (_, Err(e)) => (500, e.to_string()),
            }
        } else if path == CALLBACK_PATH {
            self.callback(store, &mut request)
        } else {
            (404, "not found".into())
        };
        let _ = request.respond(tiny_http::Response::from_string(body).with_status_code(status));
    }

    /// The client of the merchant a checkout names (`?merchant=KEY`; none: the default
    /// merchant).
    fn merchant_of(&self, query: &str) -> Result<&Client> {
        let named = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == "merchant")
            .map(|(_, value)| percent_encoding::percent_decode_str(value).decode_utf8())
            .transpose()?
            .map(MerchantKey::new)
            .transpose()?;
        self.merchants
            .get(named.as_ref())
            .ok_or_else(|| format!("this shop serves no merchant {named:?}").into())
    }

    /// The client that finishes `order`'s payment: its own merchant's, by the key the
    /// record carries. None when the shop no longer serves that merchant (its config was
    /// removed): the order is set aside for a person, never settled with another token.
    fn client_for(&self, store: &mut Store, order: &str, pending: &Pending) -> Option<&Client> {
        let client = self.merchants.for_record(pending);
        if client.is_none()
            && store
                .needs_attention(order, pending.code(), "merchant")
                .ok()
                == Some(Moved::Yes)
        {
            self.say.line(format_args!(
                "attention {order}: this shop serves no merchant {:?}",
                pending.merchant()
            ));
        }
        client
    }

    fn checkout(&self, store: &mut Store, order: &str, query: &str) -> Result<String> {
        let valid = !order.is_empty()
            && order.len() <= 64
            && order
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err("an order id is 1-64 letters, digits or dashes".into());
        }
        // Another payment for an order still pending (a second tab, a create retried): the
        // buyer may pay both, and the settlement sees to it (paid twice). None for an order
        // settled already: it takes no more money.
        match store.order(order)? {
            None => {}
            Some(Order {
                state: State::Pending,
                payments,
                ..
            }) if payments < MAX_PAYMENTS_PER_ORDER => {}
            Some(Order {
                state: State::Pending,
                ..
            }) => {
                return Err(format!(
                    "order {order} has {MAX_PAYMENTS_PER_ORDER} payments already: pay one of them"
                )
                .into());
            }
            Some(Order { state, .. }) => {
                return Err(format!("order {order} is {}: nothing to pay", state.as_str()).into());
            }
        }
        let client = self.merchant_of(query)?;
        // v3 payments are created reversible: one PayPing proves after the shop released
        // the order can be given back instead of shipped.
        let reversible = client.config().gateway().protocol() == Protocol::V3;
        let pending = client.create(
            NewPayment::new(
                Amount::from_toman(PRICE_TOMAN)?,
                self.return_url.clone(),
                ClientRefId::new(order)?,
                Mobile::new("09123456789")?,
            )
            .with_reversible(reversible),
        )?;
        store.insert(order, &pending)?;
        let redirect = pending.redirect_url().to_string();
        self.say.line(format_args!(
            "created {order} {} {redirect}",
            pending.code()
        ));
        Ok(redirect)
    }

    fn callback(&self, store: &mut Store, request: &mut tiny_http::Request) -> (u16, String) {
        let mut body = Vec::new();
        let limit = u64::try_from(MAX_CALLBACK_BYTES + 1).unwrap_or(u64::MAX);
        if request
            .as_reader()
            .take(limit)
            .read_to_end(&mut body)
            .is_err()
        {
            return (400, "unreadable body".into());
        }
        let mut builder = http::Request::builder()
            .method(request.method().as_str())
            .uri(request.url());
        for header in request.headers() {
            builder = builder.header(header.field.as_str().as_str(), header.value.as_str());
        }
        let Ok(http_request) = builder.body(body) else {
            return (400, "not a valid request".into());
        };
        let callback = match Callback::from_request(&http_request) {
            Ok(callback) => callback,
            Err(e) => return (e.status().as_u16(), e.to_string()),
        };
        let Some(order) = callback.client_ref_id().map(|id| id.as_str().to_owned()) else {
            return (400, "the callback names no order".into());
        };
        let (order_now, payment) =
            match (store.order(&order), store.payment(&order, callback.code())) {
                (Ok(Some(found)), Ok(Some(payment))) => (found, payment),
                (Ok(_), Ok(_)) => return (404, "no such order".into()),
                (Err(e), _) | (_, Err(e)) => return (500, e.to_string()),
            };
        let Order { state, paid_by, .. } = order_now;
        let pending = payment.pending;
        // The order paid by another payment: this one, proven, is paid twice.
        let twice = paid_by.filter(|code| code != pending.code());
        match (state, payment.state) {
            (State::Paid, PaymentState::Refunded) => {
                return (
                    200,
                    format!("order {order} is paid; this second payment is refunded"),
                );
            }
            (State::Paid, PaymentState::Alerted) => {
                return (
                    200,
                    format!("order {order} is paid; this second payment will be refunded"),
                );
            }
            (
                State::Paid,
                PaymentState::Open | PaymentState::Attention | PaymentState::Released,
            ) if twice.is_some() => {}
            (State::Pending | State::Attention, _) => {}
            (State::Released, _) if matches!(callback, Callback::Completed(_)) => {}
            (State::Released, _) => return (200, format!("order {order} was not paid")),
            (State::Paid, _) => return (200, format!("order {order} is paid, thank you")),
            (State::Refunded, _) => return (200, format!("order {order} was refunded")),
        }
        let Some(client) = self.client_for(store, &order, &pending) else {
            return (500, format!("order {order}: we are checking your payment"));
        };
        self.say.line(format_args!("settling {order} (callback)"));
        // The callback is the browser's claim, never proof: anyone can post one, a
        // cancelled one included. The settlement asks PayPing and decides.
        let settlement = match (state, &twice) {
            (State::Pending | State::Attention, _) => client.settle(&pending, &callback),
            // Another payment paid the order: a proof of this one is `PaidTwice`.
            (State::Paid, Some(first)) => Settlement::new(client.config(), &pending)
                .with_callback(&callback, SystemTime::now())
                .map(|s| client.drive(s.paid_by(first)))
                .map_err(ghesta_blocking::Error::from),
            // A released order (with a completed callback, above) is watched only through
            // its own callback: a payment PayPing proves now came after the release.
            _ => Settlement::new(client.config(), &pending)
                .with_callback(&callback, SystemTime::now())
                .map(|s| client.drive(s.released(true)))
                .map_err(ghesta_blocking::Error::from),
        };
        match settlement {
            Ok(verdict) => self.act(client, store, &order, &pending, verdict, By::Callback),
            // Not this order's callback (forged or misrouted): nothing was sent, and the
            // order is untouched; the sweeper settles it from PayPing's report.
            Err(e) => {
                self.say.line(format_args!("refused callback {order}: {e}"));
                (400, format!("this is not order {order}'s payment: {e}"))
            }
        }
    }

    /// Does what the settlement decided, once whichever path decided it; returns what the
    /// buyer is told.
    fn act(
        &self,
        client: &Client,
        store: &mut Store,
        order: &str,
        pending: &Pending,
        verdict: Verdict,
        by: By,
    ) -> (u16, String) {
        let by_name = by.as_str();
        let stored = |result: Result<Moved>| {
            result.unwrap_or_else(|e| {
                self.say.line(format_args!("error: storing {order}: {e}"));
                Moved::No(None)
            })
        };
        match verdict {
            Verdict::Ship(paid) => {
                if self.pause_before_ship {
                    // Only a test sets the hook, and kills the process here.
                    self.say.pause_once("ship");
                }
                let ref_id = ref_of(&paid);
                match stored(store.ship(order, pending.code(), &ref_id, by_name)) {
                    Moved::Yes => {
                        self.say
                            .line(format_args!("paid {order} via {by_name} ref {ref_id}"));
                        self.say.line(format_args!("ship {order}"));
                        (200, format!("order {order} is paid, thank you"))
                    }
                    // The sweeper released it while this verify was on its way: the money
                    // came after the release.
                    Moved::No(Some(State::Released)) => {
                        self.after_release(client, store, order, pending, &paid, by)
                    }
                    // Another payment of the order won the conditional update (two tabs
                    // settled at once): this one is paid twice.
                    Moved::No(Some(State::Paid)) if self.paid_by_another(store, order, pending) => {
                        self.paid_twice(client, store, order, pending, &paid, by)
                    }
                    Moved::No(state) => {
                        self.say
                            .line(format_args!("already settled {order} ({by_name})"));
                        (200, format!("order {order} is {state:?}"))
                    }
                }
            }
            Verdict::PaidAfterRelease(paid) => {
                self.after_release(client, store, order, pending, &paid, by)
            }
            Verdict::PaidTwice(paid) => self.paid_twice(client, store, order, pending, &paid, by),
            // PayPing's word: cancelled, failed, voided, or never paid in the window. The
            // order is released once none of its payments may still pay it.
            Verdict::Release(release) => {
                match stored(store.release(order, pending.code(), by_name)) {
                    Moved::Yes => {
                        self.say.line(format_args!(
                            "released {order} via {by_name} ({:?})",
                            release.status()
                        ));
                        (200, format!("order {order} was not paid"))
                    }
                    Moved::No(state) => (200, format!("order {order} is {state:?}")),
                }
            }
            Verdict::NeedsAttention(attention) => {
                if stored(store.needs_attention(order, pending.code(), by_name)) == Moved::Yes {
                    self.say.line(format_args!(
                        "attention {order} ({by_name}): {}",
                        attention.error()
                    ));
                }
                (
                    200,
                    format!("order {order}: we are checking your payment with PayPing"),
                )
            }
            // Not settled yet: the buyer is told so, and the sweeper finishes it.
            Verdict::Wait(waiting) => {
                if by == By::Callback {
                    self.say
                        .line(format_args!("confirming {order}: {waiting:?}"));
                }
                (
                    200,
                    format!("order {order}: your payment is being confirmed"),
                )
            }
            other => {
                self.say.line(format_args!(
                    "attention {order}: a verdict this shop does not know: {other:?}"
                ));
                (200, format!("order {order}: we are checking your payment"))
            }
        }
    }

    /// PayPing proved a payment for an order the shop had released: the buyer's money is
    /// taken and the stock is back on the shelf. A reversible (v3) payment is refunded;
    /// anything else is shipped after all, since the buyer paid for it and only a person
    /// can undo the release (restock, or refund from PayPing's panel): the alert tells them.
    fn after_release(
        &self,
        client: &Client,
        store: &mut Store,
        order: &str,
        pending: &Pending,
        paid: &Paid,
        by: By,
    ) -> (u16, String) {
        let why = match paid.ref_id() {
            Some(ref_id) if pending.is_reversible() => {
                // Claimed first, so that two paths never refund it twice.
                match store.claim_refund(order, pending.code(), by.as_str()) {
                    Ok(Moved::Yes) => {}
                    Ok(Moved::No(state)) => return (200, format!("order {order} is {state:?}")),
                    Err(e) => return (500, format!("order {order}: {e}")),
                }
                // The verify that proved it happened just now (or, for one found verified,
                // shortly before): PayPing checks its own refund window.
                match client.refund(pending, ref_id, SystemTime::now()) {
                    Ok(_) => {
                        self.say.line(format_args!(
                            "refunded {order} ref {ref_id} (paid after release)"
                        ));
                        return (
                            200,
                            format!("order {order} was cancelled; your payment is refunded"),
                        );
                    }
                    Err(e) => format!("the refund failed: {e}"),
                }
            }
            _ => "the payment is not reversible".to_owned(),
        };
        let ref_id = ref_of(paid);
        match store.ship_after_release(order, pending.code(), &ref_id) {
            Ok(Moved::Yes) => {
                self.say.line(format_args!(
                    "alert {order} paid after release: shipped after all ({why})"
                ));
                self.say.line(format_args!(
                    "paid {order} via {} ref {ref_id}",
                    by.as_str()
                ));
                self.say.line(format_args!("ship {order}"));
                (200, format!("order {order} is paid, thank you"))
            }
            // Another payment was shipped after the release first: this one is paid twice.
            Ok(Moved::No(Some(State::Paid))) if self.paid_by_another(store, order, pending) => {
                self.paid_twice(client, store, order, pending, paid, by)
            }
            Ok(Moved::No(state)) => (200, format!("order {order} is {state:?}")),
            Err(e) => {
                self.say.line(format_args!(
                    "alert {order} paid after release, not stored: {e} ({why})"
                ));
                (500, format!("order {order}: {e}"))
            }
        }
    }

    /// Whether `order` is paid by another payment than `pending`'s.
    fn paid_by_another(&self, store: &mut Store, order: &str, pending: &Pending) -> bool {
        match store.order(order) {
            Ok(Some(Order {
                paid_by: Some(code),
                ..
            })) => &code != pending.code(),
            Ok(_) => false,
            Err(e) => {
                self.say.line(format_args!("error: reading {order}: {e}"));
                false
            }
        }
    }

    /// PayPing proved a payment of an order another payment already paid (and shipped): the
    /// buyer paid twice. The order is not shipped again, and the money is not kept: a
    /// reversible (v3) payment is refunded; any other (v2 and Ghesta have no refund by API),
    /// or one whose refund failed, is marked so and a person is alerted, once, to refund it
    /// by hand from PayPing's panel.
    fn paid_twice(
        &self,
        client: &Client,
        store: &mut Store,
        order: &str,
        pending: &Pending,
        paid: &Paid,
        by: By,
    ) -> (u16, String) {
        let code = pending.code();
        let ref_id = ref_of(paid);
        if let (Some(verified), true) = (paid.ref_id(), pending.is_reversible()) {
            // Claimed first, so that two paths never refund it twice.
            match store.move_payment(code, PaymentState::Refunded, &PaymentState::UNSETTLED) {
                Ok(true) => {}
                Ok(false) => return (200, format!("order {order} is paid, thank you")),
                Err(e) => return (500, format!("order {order}: {e}")),
            }
            // The verify that proved it happened just now (or, for one found verified,
            // shortly before): PayPing checks its own refund window.
            match client.refund(pending, verified, SystemTime::now()) {
                Ok(_) => {
                    self.say
                        .line(format_args!("refunded {order} ref {ref_id} (paid twice)"));
                    return (
                        200,
                        format!("order {order} was already paid; this payment is refunded"),
                    );
                }
                Err(e) => {
                    self.say.line(format_args!(
                        "error: refunding {order} ref {ref_id} ({}): {e}",
                        by.as_str()
                    ));
                    match store.move_payment(code, PaymentState::Alerted, &[PaymentState::Refunded])
                    {
                        Ok(true) => self.say.line(format_args!(
                            "alert {order} paid twice: refund {ref_id} by hand"
                        )),
                        Ok(false) => {}
                        Err(e) => self.say.line(format_args!("error: storing {order}: {e}")),
                    }
                }
            }
        } else {
            match store.move_payment(code, PaymentState::Alerted, &PaymentState::UNSETTLED) {
                // Marked once: neither the sweeper nor a callback alerts it again.
                Ok(true) => self.say.line(format_args!(
                    "alert {order} paid twice: refund {ref_id} by hand"
                )),
                Ok(false) => {}
                Err(e) => return (500, format!("order {order}: {e}")),
            }
        }
        (
            200,
            format!("order {order} was already paid; this payment will be refunded"),
        )
    }

    /// Every `SWEEP_EVERY`, hands the open payments created at least `after` ago to the
    /// [`SWEEPERS`], each payment on its own: every open payment of an order, not only its
    /// latest, and those of an order another payment already paid (settled with `paid_by`:
    /// a second payment proven is paid twice). One payment's failure is its verdict, never
    /// the end of the round, and one slow payment holds one sweeper only. A payment being
    /// settled is not handed out again until its pass ends; one that waits is asked again
    /// next round; one that needs attention is not asked again.
    ///
    /// On PostgreSQL, where other processes sweep the same payments, each round first claims
    /// (a lease, committed before PayPing is asked) as many payments as there are free
    /// sweepers, never one another process holds; a settled payment loses its claim with its
    /// state, one that waits is given back, and one whose process died is claimed again
    /// when the lease expires.
    ///
    /// Released orders are not swept: PayPing takes a buyer's money only when the shop
    /// verifies, and nothing verifies a released order but its own callback (settled with
    /// `released(true)`); a payment nobody verifies PayPing voids and returns itself.
    fn sweep(core: &Arc<Core>, after: Duration, stopped: &Receiver<()>) {
        let mut store = match core.db.store() {
            Ok(store) => store,
            Err(e) => return core.say.line(format_args!("error: sweeper: {e}")),
        };
        let in_flight = Arc::new(Mutex::new(HashSet::new()));
        let (jobs, queue) = mpsc::channel::<Due>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..SWEEPERS {
            let (worker, queue, in_flight) =
                (Arc::clone(core), Arc::clone(&queue), Arc::clone(&in_flight));
            let spawned = thread::Builder::new()
                .name(format!("sweeper-{n}"))
                .spawn(move || worker.settle_overdue(&queue, &in_flight));
            if let Err(e) = spawned {
                core.say.line(format_args!("error: sweeper: {e}"));
            }
        }
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SWEEP_EVERY) {
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            // Claim only what the sweepers are free to settle now: a claimed payment waits
            // for no other one, and its lease runs while it is being settled.
            let free = SWEEPERS.saturating_sub(lock(&in_flight).len());
            let due =
                match store.claim_overdue(now.saturating_sub(after.as_secs()), free, &core.lease) {
                    Ok(due) => due,
                    Err(e) => {
                        core.say.line(format_args!("error: sweeper: {e}"));
                        continue;
                    }
                };
            for payment in due {
                if lock(&in_flight).insert(payment.pending.code().clone())
                    && jobs.send(payment).is_err()
                {
                    return;
                }
            }
        }
        // Dropping `jobs` ends the sweepers once their passes are over; the shop does not
        // wait for a pass PayPing keeps "in progress".
    }

    /// One sweeper: settles the payments handed to it, one at a time, until the shop stops.
    fn settle_overdue(
        &self,
        queue: &Mutex<Receiver<Due>>,
        in_flight: &Mutex<HashSet<PaymentCode>>,
    ) {
        let mut store = match self.db.store() {
            Ok(store) => store,
            Err(e) => return self.say.line(format_args!("error: sweeper: {e}")),
        };
        loop {
            let job = lock(queue).recv();
            let Ok(Due {
                order,
                pending,
                paid_by,
            }) = job
            else {
                return;
            };
            if let Some(client) = self.client_for(&mut store, &order, &pending) {
                let verdict = match &paid_by {
                    // Another payment paid the order: a proof of this one is `PaidTwice`.
                    Some(first) => {
                        client.drive(Settlement::new(client.config(), &pending).paid_by(first))
                    }
                    None => client.recover(&pending),
                };
                self.act(client, &mut store, &order, &pending, verdict, By::Sweeper);
            }
            // Settled payments lost their lease with their state; one that waits is given
            // back for the next round (if this fails, the lease expires by itself).
            if let Err(e) = store.unclaim(pending.code(), &self.lease, SWEEP_EVERY) {
                self.say.line(format_args!("error: sweeper: {e}"));
            }
            lock(in_flight).remove(pending.code());
        }
    }
}

/// A mutex's guard; a thread that panicked while holding it left nothing half-done here.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The reference a shipment is stored with.
fn ref_of(paid: &Paid) -> String {
    paid.ref_id()
        .map_or_else(|| "(verified earlier)".to_owned(), ToString::to_string)
}
