//! Fixtures shared by the integration tests: a payment, a fake clock, a scripted closure
//! transport and a loopback HTTP server speaking raw bytes.
#![allow(dead_code, unreachable_pub)] // each test file uses a different part

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime};

use ghesta_blocking::{Clock, TransportError};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, CompletedCallback, Config, CreatePayment, Exchange,
    HttpRequest, HttpResponse, Mobile, NewPayment, Pending, ReturnUrl, Token,
};

/// Long enough to be scrubbed from echoed answers, distinctive enough to search for.
pub const TOKEN: &str = "tok-S3CRET-9f2c41d7e0a8";

pub fn config() -> Config {
    Config::new(Token::new(TOKEN).unwrap())
}

pub fn config_at(addr: SocketAddr) -> Config {
    config().with_api_url(BaseUrl::api(&format!("http://{addr}")).unwrap())
}

pub fn new_payment() -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/ghesta/callback").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
}

/// A payment PayPing answered with code `82a4f72`, as the shop would have stored it.
pub fn pending(config: &Config) -> Pending {
    let create = CreatePayment::new(config, new_payment(), SystemTime::UNIX_EPOCH);
    create
        .parse_response(http::Response::new(br#"{"code":"82a4f72"}"#.to_vec()))
        .unwrap()
}

pub fn callback() -> CompletedCallback {
    match Callback::from_form(b"code=82a4f72&refid=555&clientrefid=order-7").unwrap() {
        Callback::Completed(c) => c,
        Callback::Cancelled(_) => unreachable!(),
    }
}

/// An answer with a request id.
pub fn answer(status: u16, body: &str) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("X-PayPingRequest-ID", "req-1")
        .body(body.as_bytes().to_vec())
        .unwrap()
}

pub const VERIFIED: &str =
    r#"{"amount":250000,"cardNumber":"603799******1234","cardHashPan":"ab"}"#;
pub const ALREADY: &str = r#"{"15":"این تراکنش قبلا تایید شده است"}"#;
/// PayPing's report of the record's code after its verify: paid, with the callback's refid.
/// v2's verify names no payment, so the client asks it after every v2 verify.
#[allow(dead_code)]
pub const BOUND_REPORT: &str =
    r#"{"amount":250000,"clientRefId":"order-7","refId":"555","paymentStatus":1}"#;

/// A clock whose `sleep` only moves its time and records the wait.
#[derive(Clone, Default)]
pub struct FakeClock {
    state: Arc<Mutex<(Duration, Vec<Duration>)>>,
}

impl FakeClock {
    pub fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    pub fn sleeps(&self) -> Vec<Duration> {
        self.state.lock().unwrap().1.clone()
    }
}

impl Clock for FakeClock {
    fn now(&self) -> SystemTime {
        Self::start() + self.state.lock().unwrap().0
    }

    fn sleep(&self, wait: Duration) {
        let mut s = self.state.lock().unwrap();
        s.0 += wait;
        s.1.push(wait);
    }
}

/// (method, path, body) of a request a closure transport saw.
pub type Sent = (String, String, Vec<u8>);

/// A closure transport answering from a script, recording every request.
#[derive(Clone, Default)]
pub struct Script {
    answers: Arc<Mutex<VecDeque<Result<HttpResponse, TransportError>>>>,
    seen: Arc<Mutex<Vec<Sent>>>,
}

impl Script {
    pub fn new(answers: impl IntoIterator<Item = Result<HttpResponse, TransportError>>) -> Self {
        let s = Self::default();
        s.answers.lock().unwrap().extend(answers);
        s
    }

    /// The transport: a plain closure, as a user would write one.
    pub fn transport(
        &self,
    ) -> impl Fn(HttpRequest) -> Result<HttpResponse, TransportError> + Send + Sync + 'static {
        let me = self.clone();
        move |request: HttpRequest| {
            me.seen.lock().unwrap().push((
                request.method().to_string(),
                request.uri().path().to_owned(),
                request.body().clone(),
            ));
            me.answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("the client sent more requests than the script has answers")
        }
    }

    /// (method, path, body) of each request sent.
    pub fn seen(&self) -> Vec<Sent> {
        self.seen.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.seen().into_iter().map(|(_, p, _)| p).collect()
    }
}

/// A request as the loopback server read it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the loopback server does with one request.
pub enum Action {
    /// Writes these bytes, then closes the connection.
    Raw(Vec<u8>),
    /// Closes the connection after reading the request (a lost answer).
    Close,
    /// Closes the connection with the request still unread, so the kernel sends a reset.
    Reset,
    /// Keeps the connection open and says nothing until the server is dropped.
    Hang,
    /// Answers several requests in turn on one kept-alive connection with these bodies
    /// (status 200).
    KeepAlive(Vec<&'static [u8]>),
}

/// A complete response with `Connection: close`.
pub fn http_answer(status: u16, reason: &str, extra_headers: &str, body: &[u8]) -> Action {
    let mut raw = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\
         X-PayPingRequest-ID: loop-1\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    Action::Raw(raw)
}

/// A loopback server on 127.0.0.1 answering the n-th connection with `script[n]`, one
/// request per connection.
pub struct Server {
    pub addr: SocketAddr,
    pub requests: Receiver<Seen>,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    hang_release: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(script: Vec<Action>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, requests) = mpsc::channel();
        let (hang_release, hang_wait) = mpsc::channel::<()>();
        let hang_wait = Arc::new(Mutex::new(hang_wait));
        let accepted = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            thread::spawn(move || {
                let mut script = script.into_iter();
                let mut handlers = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let action = script.next().unwrap_or(Action::Close);
                    let (tx, hang_wait) = (tx.clone(), hang_wait.clone());
                    handlers.push(thread::spawn(move || {
                        handle(stream, action, &tx, &hang_wait);
                    }));
                }
                for h in handlers {
                    let _ = h.join();
                }
            })
        };
        Self {
            addr,
            requests,
            accepted,
            stop,
            hang_release: Some(hang_release),
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Every request read so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.requests.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        drop(self.hang_release.take()); // wakes hanging handlers
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn handle(mut stream: TcpStream, action: Action, tx: &Sender<Seen>, hang: &Mutex<Receiver<()>>) {
    if let Action::Reset = action {
        // Wait for the request to arrive, leave it unread, and close: the kernel answers
        // unread data with a reset.
        let _ = stream.peek(&mut [0u8; 1]);
        return;
    }
    let Some(seen) = read_request(&mut stream) else {
        return;
    };
    let _ = tx.send(seen);
    match action {
        Action::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Write);
            // Drain so that closing does not reset before the client read the answer.
            let _ = stream.read_to_end(&mut Vec::new());
        }
        Action::Close => {
            let _ = stream.shutdown(Shutdown::Both);
        }
        Action::Hang => {
            let _ = hang.lock().unwrap().recv();
        }
        Action::KeepAlive(bodies) => {
            for (i, body) in bodies.into_iter().enumerate() {
                // The first request was read above.
                if i > 0 {
                    match read_request(&mut stream) {
                        Some(next) => {
                            let _ = tx.send(next);
                        }
                        None => return,
                    }
                }
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
                if stream.write_all(head.as_bytes()).is_err() || stream.write_all(body).is_err() {
                    return;
                }
            }
        }
        Action::Reset => unreachable!(),
    }
}

/// Reads one request (head and a Content-Length body); bounded, test-grade parsing.
fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let path = request_line.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length.min(64 * 1024) {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}
