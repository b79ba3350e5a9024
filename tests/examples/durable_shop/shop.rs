//! The shop: tiny_http on one thread for the buyer's browser, a sweeper thread for the
//! callbacks that never come, both settling orders through the store's conditional update.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use ghesta_blocking::{Client, Recovered};
use ghesta_core::{
    Amount, Callback, ClientRefId, MAX_CALLBACK_BYTES, Mobile, NewPayment, ReturnUrl, VerifyOutcome,
};

use crate::store::{Result, State, Store};

/// The path PayPing sends the buyer back to.
pub(crate) const CALLBACK_PATH: &str = "/callback";

/// The price of the one thing the shop sells, in Toman.
const PRICE_TOMAN: u64 = 250_000;

/// How often the sweeper looks for overdue orders.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// A test hook, off unless set: after a verify returns and before its result is stored, print
/// `verified ORDER; storing` and wait, so a test can kill the process exactly there.
const PAUSE_BEFORE_STORE: &str = "DURABLE_SHOP_PAUSE_BEFORE_STORE";

/// Lines on standard output, one per thing that happened, flushed at once: what a person
/// reads and what the tests wait for.
#[derive(Clone, Default)]
pub(crate) struct Say(Arc<Mutex<()>>);

impl Say {
    pub(crate) fn line(&self, text: impl std::fmt::Display) {
        let _guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }
}

pub(crate) struct Settings {
    pub(crate) db: PathBuf,
    pub(crate) listen: std::net::SocketAddr,
    pub(crate) return_url: Option<String>,
    pub(crate) recover_after: Duration,
}

/// A running shop; dropping it stops both threads.
pub(crate) struct Shop {
    url: String,
    server: Arc<tiny_http::Server>,
    threads: Vec<JoinHandle<()>>,
    stop: Option<Sender<()>>,
}

struct Core {
    client: Client,
    return_url: ReturnUrl,
    db: PathBuf,
    say: Say,
    pause_before_store: bool,
}

impl Shop {
    pub(crate) fn start(client: Client, settings: Settings, say: Say) -> Result<Shop> {
        Store::open(&settings.db)?; // creates the tables before any thread uses them
        let server = Arc::new(tiny_http::Server::http(settings.listen)?);
        let addr = server.server_addr().to_ip().ok_or("no IP address")?;
        let url = format!("http://{addr}");
        let return_url = match &settings.return_url {
            Some(url) => ReturnUrl::new(url)?,
            None => ReturnUrl::new(&format!("{url}{CALLBACK_PATH}"))?,
        };
        let core = Arc::new(Core {
            client,
            return_url,
            db: settings.db.clone(),
            say,
            pause_before_store: std::env::var_os(PAUSE_BEFORE_STORE).is_some(),
        });
        let (stop, stopped) = mpsc::channel();
        let serving = {
            let (server, core) = (Arc::clone(&server), Arc::clone(&core));
            thread::Builder::new().name("shop".into()).spawn(move || {
                let store = match Store::open(&core.db) {
                    Ok(store) => store,
                    Err(e) => return core.say.line(format_args!("error: {e}")),
                };
                let mut store = store;
                for request in server.incoming_requests() {
                    core.handle(&mut store, request);
                }
            })?
        };
        let sweeping = {
            let core = Arc::clone(&core);
            let after = settings.recover_after;
            thread::Builder::new()
                .name("sweeper".into())
                .spawn(move || core.sweep(after, &stopped))?
        };
        Ok(Shop {
            url,
            server,
            threads: vec![serving, sweeping],
            stop: Some(stop),
        })
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        self.stop.take();
        self.server.unblock();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Core {
    fn handle(&self, store: &mut Store, mut request: tiny_http::Request) {
        let url = request.url().to_owned();
        let path = url.split('?').next().unwrap_or("").to_owned();
        let (status, body) = if let Some(order) = path.strip_prefix("/checkout/") {
            match self.checkout(store, order) {
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
            match (store.get(order), store.shipments(order)) {
                (Ok(Some((state, _))), Ok(shipments)) => {
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

    fn checkout(&self, store: &Store, order: &str) -> Result<String> {
        let valid = !order.is_empty()
            && order.len() <= 64
            && order
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            return Err("an order id is 1-64 letters, digits or dashes".into());
        }
        let pending = self.client.create(NewPayment::new(
            Amount::from_toman(PRICE_TOMAN)?,
            self.return_url.clone(),
            ClientRefId::new(order)?,
            Mobile::new("09123456789")?,
        ))?;
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
        let pending = match store.get(&order) {
            Ok(Some((State::Pending, pending))) => pending,
            Ok(Some((state, _))) => return (200, format!("order {order} is {state:?}")),
            Ok(None) => return (404, "no such order".into()),
            Err(e) => return (500, e.to_string()),
        };
        let completed = match callback {
            Callback::Completed(completed) => completed,
            Callback::Cancelled(_) => {
                if store
                    .settle(&order, State::Cancelled, "callback")
                    .unwrap_or(false)
                {
                    self.say.line(format_args!("cancelled {order}"));
                }
                return (200, format!("order {order} was not paid"));
            }
        };
        self.say.line(format_args!("verifying {order}"));
        match self.client.verify(&pending, &completed) {
            Ok(outcome) => {
                let ref_id = match &outcome {
                    VerifyOutcome::Verified(v) => v.ref_id().to_string(),
                    VerifyOutcome::AlreadyVerified(a) => a.ref_id().to_string(),
                };
                self.store_paid(store, &order, &ref_id, "callback");
                (200, format!("order {order} is paid, thank you"))
            }
            Err(e) => (502, format!("payment not confirmed: {e}")),
        }
    }

    /// Settles a paid order once, whichever path verified it.
    fn store_paid(&self, store: &mut Store, order: &str, ref_id: &str, by: &str) {
        if self.pause_before_store {
            self.say.line(format_args!("verified {order}; storing"));
            // Only a test sets the hook, and kills the process here.
            thread::sleep(Duration::from_secs(3600));
        }
        match store.settle_paid(order, ref_id, by) {
            Ok(true) => {
                self.say
                    .line(format_args!("paid {order} via {by} ref {ref_id}"));
                self.say.line(format_args!("ship {order}"));
            }
            Ok(false) => self
                .say
                .line(format_args!("already settled {order} ({by})")),
            Err(e) => self.say.line(format_args!("error: storing {order}: {e}")),
        }
    }

    /// Every `SWEEP_EVERY`, recovers the pending orders created at least `after` ago.
    fn sweep(&self, after: Duration, stopped: &Receiver<()>) {
        let mut store = match Store::open(&self.db) {
            Ok(store) => store,
            Err(e) => return self.say.line(format_args!("error: sweeper: {e}")),
        };
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SWEEP_EVERY) {
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let due = match store.overdue(now.saturating_sub(after.as_secs())) {
                Ok(due) => due,
                Err(e) => {
                    self.say.line(format_args!("error: sweeper: {e}"));
                    continue;
                }
            };
            for (order, pending) in due {
                match self.client.recover(&pending) {
                    Ok(Recovered::Verified(paid)) => {
                        self.store_paid(&mut store, &order, paid.ref_id().as_str(), "sweeper");
                    }
                    Ok(Recovered::AlreadyVerified) => {
                        self.store_paid(&mut store, &order, "(verified earlier)", "sweeper");
                    }
                    Ok(Recovered::NotPaid(status)) => {
                        if store
                            .settle(&order, State::Cancelled, "sweeper")
                            .unwrap_or(false)
                        {
                            self.say
                                .line(format_args!("cancelled {order} ({status:?})"));
                        }
                    }
                    Ok(Recovered::StillOpen(_)) => {}
                    Ok(_) => {
                        if store
                            .settle(&order, State::Expired, "sweeper")
                            .unwrap_or(false)
                        {
                            self.say.line(format_args!("expired {order}"));
                        }
                    }
                    Err(e) => self
                        .say
                        .line(format_args!("error: recovering {order}: {e}")),
                }
            }
        }
    }
}
