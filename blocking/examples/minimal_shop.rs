//! The smallest shop: the four steps on tiny_http, orders in a map, nothing else. Run, it pays
//! one order and cancels another on an embedded sandbox, and exits 0 if one shipped and one was
//! released; `-- --serve`, or `PAYPING_TOKEN`, `_API_URL` and `_GATEWAY_URL` set, keep serving.

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use ghesta_blocking::Client;
use ghesta_core::http::{Request, Response};
use ghesta_core::{Amount, BaseUrl, Callback, ClientRefId, Config, ENV_API_URL, Mobile};
use ghesta_core::{MAX_CALLBACK_BYTES, NewPayment, Pending, ReturnUrl, Token, Verdict};
use ghesta_sandbox::{Options, Sandbox};

type Failure = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unpaid,
    Paid,
    Released,
}

struct Shop {
    client: Client,
    return_url: ReturnUrl,
    /// By order id (sent as clientRefId). A real shop keeps them in its database.
    orders: Mutex<HashMap<String, (Pending, State)>>,
}

impl Shop {
    /// Serves on 127.0.0.1, each request on its own thread: `settle` can block for minutes
    /// while PayPing answers "in progress", and a one-thread server would hold every buyer
    /// behind it (or answer "being confirmed" at once and settle on a worker thread).
    fn start(client: Client) -> Result<Arc<Shop>, Failure> {
        let server = tiny_http::Server::http("127.0.0.1:0")?;
        let addr = server.server_addr().to_ip().ok_or("no IP address")?;
        println!("shop on http://{addr}: open /checkout/ORDER");
        let return_url = ReturnUrl::new(&format!("http://{addr}/callback"))?;
        let shop = Arc::new(Shop {
            client,
            return_url,
            orders: Mutex::default(),
        });
        let served = Arc::clone(&shop);
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let shop = Arc::clone(&served);
                std::thread::spawn(move || shop.handle(request));
            }
        });
        Ok(shop)
    }
    /// tiny_http -> `http::Request` (the body capped: a huge one is refused), and back.
    fn handle(&self, mut request: tiny_http::Request) {
        let (mut body, cap) = (Vec::new(), MAX_CALLBACK_BYTES as u64 + 1);
        let read = request.as_reader().take(cap).read_to_end(&mut body);
        let mut built = Request::builder().method(request.method().as_str());
        for header in request.headers() {
            built = built.header(header.field.as_str().as_str(), header.value.as_str());
        }
        let answer = match (read, built.uri(request.url()).body(body)) {
            (Ok(_), Ok(request)) if request.uri().path() == "/callback" => self.callback(&request),
            (Ok(_), Ok(request)) => self.checkout(request.uri().path()),
            _ => Err("not a request".into()),
        };
        let (parts, body) = answer.unwrap_or_else(|e| text(400, e)).into_parts();
        let mut answer =
            tiny_http::Response::from_data(body).with_status_code(parts.status.as_u16());
        for (name, value) in &parts.headers {
            let header = tiny_http::Header::from_bytes(name.as_str(), value.as_bytes());
            answer.add_header(header.expect("the SDK's headers are ASCII"));
        }
        let _ = request.respond(answer); // the browser may be gone
    }
    /// Steps 1 and 2 (`/checkout/ORDER`): create the payment, store it by order id, 303.
    fn checkout(&self, path: &str) -> Result<Response<Vec<u8>>, Failure> {
        let order = path.strip_prefix("/checkout/").ok_or("no such page")?;
        if self.orders().contains_key(order) {
            return Ok(text(409, format!("order {order} has a payment already")));
        }
        let pending = self.client.create(NewPayment::new(
            Amount::from_toman(250_000)?,
            self.return_url.clone(),
            ClientRefId::new(order)?,
            Mobile::new("09123456789")?, // the buyer's, asked at checkout
        ))?;
        let redirect = pending.redirect_url().to_response();
        self.orders().insert(order.into(), (pending, State::Unpaid));
        Ok(redirect)
    }
    /// Steps 3 and 4: the callback is only the browser's word (anyone can post one, a
    /// "cancelled" one too): `settle` asks PayPing, and its verdict decides.
    fn callback(&self, request: &Request<Vec<u8>>) -> Result<Response<Vec<u8>>, Failure> {
        let callback = Callback::from_request(request)?;
        let order = callback.client_ref_id().map_or("", |id| id.as_str());
        let Some((pending, State::Unpaid)) = self.orders().get(order).cloned() else {
            // Unknown, or settled: a released order's late payment is left to PayPing to return.
            return Ok(text(200, format!("order {order}: not an unpaid order")));
        };
        let verdict = self.client.settle(&pending, &callback)?; // Err: not this order's
        let mut orders = self.orders(); // only an unpaid order moves: it ships once
        let state = &mut orders.get_mut(order).expect("stored at checkout").1;
        let (to, status, says) = match (verdict, *state) {
            (Verdict::Ship(_), State::Unpaid) => (State::Paid, 200, "paid: shipping it"),
            (Verdict::Ship(_), State::Paid) => (State::Paid, 200, "paid"),
            (Verdict::Release(_), State::Unpaid) => (State::Released, 200, "not paid"),
            // Not proven yet, or forged: a sweeper settles it (`Client::recover`, durable_shop).
            (Verdict::Wait(_), now) => (now, 200, "being confirmed"),
            // NeedsAttention, or paid after its release (refund it, or ship after all).
            (_, now) => (now, 500, "a person must look at it in PayPing's panel"),
        };
        *state = to;
        Ok(text(status, format!("order {order}: {says}")))
    }
    fn orders(&self) -> MutexGuard<'_, HashMap<String, (Pending, State)>> {
        self.orders.lock().unwrap()
    }
}

fn text(status: u16, body: impl ToString) -> Response<Vec<u8>> {
    let mut response = Response::new(body.to_string().into_bytes());
    *response.status_mut() = status.try_into().expect("a status code");
    response
}

fn main() -> Result<(), Failure> {
    let sandbox = Sandbox::start(Options::default())?;
    let config = Config::new(Token::new(sandbox.token())?)
        .with_api_url(BaseUrl::api(sandbox.base_url())?)
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url())?); // the buyer's page
    // With PAYPING_API_URL set: PayPing (or your own sandbox) from PAYPING_TOKEN, PAYPING_*_URL.
    let live = std::env::var_os(ENV_API_URL).is_some();
    let shop = Shop::start(Client::new(if live { Config::from_env()? } else { config }))?;
    while live || std::env::args().any(|arg| arg == "--serve") {
        std::thread::park();
    }
    // The buyers: one pays, one cancels; the sandbox posts each callback to the shop.
    shop.checkout("/checkout/order-1")?;
    shop.checkout("/checkout/order-2")?;
    let payments = sandbox.payments(); // in the order they were created
    let (one, two) = (&payments[0].code, &payments[1].code);
    println!("{:?}", sandbox.deliver(&sandbox.approve(one)?)?);
    println!("{:?}", sandbox.deliver(&sandbox.cancel_as_buyer(two)?)?);
    assert_eq!(shop.orders()["order-1"].1, State::Paid);
    assert_eq!(shop.orders()["order-2"].1, State::Released);
    Ok(())
}
