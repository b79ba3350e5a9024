//! Shared state, request routing, the PayPing API handlers and fault application.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::{Map, Value};
use tiny_http::{Header, Method, Request, Response, Server, StatusCode};

use crate::faults::{self, Fault, FaultRule, Route};
use crate::pages;
use crate::proxy::{self, Relay};
use crate::state::{ApiError, BuyerAction, NewPayment, PaymentState, Store};
use crate::util::{code_message, lock, mix};
use crate::{DEFAULT_FAILURE_CODE, SandboxError};

/// Largest request body read; larger bodies answer 400 `{"body": ...}`.
const MAX_BODY: usize = 64 * 1024;
const MIN_AMOUNT: u64 = 100;
const MAX_AMOUNT: u64 = 50_000_000;

pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// The settings the running sandbox needs.
pub(crate) struct Config {
    pub(crate) token: String,
    pub(crate) extra_tokens: Vec<String>,
    pub(crate) verify_window: Duration,
    pub(crate) expired_code: u32,
}

/// The sandbox clock: wall time at start, plus elapsed real time, plus an advance offset.
pub(crate) struct Clock {
    base: SystemTime,
    started: Instant,
    offset: Mutex<Duration>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            base: SystemTime::now(),
            started: Instant::now(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.base + self.started.elapsed() + *lock(&self.offset)
    }

    pub(crate) fn advance(&self, by: Duration) {
        *lock(&self.offset) += by;
    }
}

/// Everything the threads share.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) store: Mutex<Store>,
    pub(crate) clock: Clock,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    pub(crate) counts: [AtomicU64; 5],
    pub(crate) connections: AtomicU64,
    pub(crate) relay: Relay,
    answers: AtomicU64,
    seed: u64,
    stopping: Mutex<bool>,
    stop_cv: Condvar,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Shared {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = mix(nanos ^ u64::from(std::process::id()));
        Shared {
            config,
            store: Mutex::new(Store::new(seed)),
            clock: Clock::new(),
            faults: Mutex::new(Vec::new()),
            counts: Default::default(),
            connections: AtomicU64::new(0),
            relay: Relay::default(),
            answers: AtomicU64::new(0),
            seed,
            stopping: Mutex::new(false),
            stop_cv: Condvar::new(),
        }
    }

    fn next_request_id(&self) -> String {
        let n = self.answers.fetch_add(1, Ordering::Relaxed) + 1;
        format!("sbx-{n}-{:012x}", mix(n ^ self.seed) >> 16)
    }

    pub(crate) fn is_stopping(&self) -> bool {
        *lock(&self.stopping)
    }

    pub(crate) fn stop(&self) {
        *lock(&self.stopping) = true;
        self.stop_cv.notify_all();
        self.relay.wake_all();
    }

    /// Sleeps, but wakes up early when the sandbox stops.
    fn sleep(&self, d: Duration) {
        let guard = lock(&self.stopping);
        let _ = self
            .stop_cv
            .wait_timeout_while(guard, d, |stopping| !*stopping);
    }

    /// The token of an `Authorization: Bearer <token>` header, if the sandbox knows it.
    fn authorize<'a>(&'a self, header: Option<&str>) -> Option<&'a str> {
        let value = header?.trim();
        let (scheme, token) = value.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let token = token.trim();
        std::iter::once(&self.config.token)
            .chain(&self.config.extra_tokens)
            .find(|t| t.as_str() == token)
            .map(String::as_str)
    }
}

/// An answer before it is written.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body: Vec<u8>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Whether to send `X-PayPingRequest-ID` (not on a proxy's 502 page).
    pub(crate) request_id: bool,
}

impl Answer {
    pub(crate) fn empty(status: u16) -> Answer {
        Answer {
            status,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
            request_id: true,
        }
    }

    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                status,
                content_type: Some(JSON),
                body,
                headers: Vec::new(),
                request_id: true,
            },
            Err(_) => Answer::empty(500),
        }
    }

    pub(crate) fn html(status: u16, page: String) -> Answer {
        Answer {
            status,
            content_type: Some(HTML),
            body: page.into_bytes(),
            headers: Vec::new(),
            request_id: true,
        }
    }

    /// 400 `{key: message, ...}`.
    fn fields(errors: Vec<(&str, String)>) -> Answer {
        let map: Map<String, Value> = errors
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        Answer::json(400, &map)
    }

    fn api_error(e: ApiError) -> Answer {
        match e {
            ApiError::Unauthorized => Answer::empty(401),
            ApiError::Code(code) => {
                Answer::fields(vec![(&code.to_string(), code_message(code).to_owned())])
            }
        }
    }
}

/// What a request asks for.
enum Target {
    Api(Route, Op),
    Control,
    NotFound,
    MethodNotAllowed(&'static str),
}

enum Op {
    Create,
    Verify,
    Cancel(String),
    Report(String),
    GatewayPage(String),
    GatewayAction(String, String),
}

fn classify(method: &Method, path: &str) -> Target {
    let path = if path.len() > 1 {
        path.strip_suffix('/').unwrap_or(path)
    } else {
        path
    };
    if path == "/__sandbox" || path.starts_with("/__sandbox/") {
        return Target::Control;
    }
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Target::NotFound;
    }
    let (allowed, target) = match segs.as_slice() {
        ["v2", "pay"] => (Method::Post, Target::Api(Route::Create, Op::Create)),
        ["v2", "pay", "verify"] => (Method::Post, Target::Api(Route::Verify, Op::Verify)),
        ["v2", "pay", "gotoipg", code] => (
            Method::Get,
            Target::Api(Route::Gateway, Op::GatewayPage((*code).to_owned())),
        ),
        ["v2", "pay", code] => (
            Method::Delete,
            Target::Api(Route::Cancel, Op::Cancel((*code).to_owned())),
        ),
        ["v1", "report", code] => (
            Method::Get,
            Target::Api(Route::Report, Op::Report((*code).to_owned())),
        ),
        ["installment", code] => (
            Method::Get,
            Target::Api(Route::Gateway, Op::GatewayPage((*code).to_owned())),
        ),
        [
            "installment",
            code,
            action @ ("approve" | "cancel" | "fail"),
        ] => (
            Method::Post,
            Target::Api(
                Route::Gateway,
                Op::GatewayAction((*code).to_owned(), (*action).to_owned()),
            ),
        ),
        _ => return Target::NotFound,
    };
    if *method == allowed {
        target
    } else {
        Target::MethodNotAllowed(match allowed {
            Method::Get => "GET",
            Method::Delete => "DELETE",
            _ => "POST",
        })
    }
}

/// Runs on its own thread: takes requests from tiny_http and handles each on a new thread,
/// so a delayed answer never holds up another request.
pub(crate) fn dispatch_loop(shared: Arc<Shared>, server: Arc<Server>) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let req = match server.recv() {
            Ok(req) => req,
            Err(_) if shared.is_stopping() => break,
            Err(_) => continue,
        };
        if shared.is_stopping() {
            drop(req);
            break;
        }
        if let Some(&from) = req.remote_addr() {
            // The connection is running on a tiny_http thread: the watchdog can stop waiting.
            shared.relay.served(from);
        }
        handlers.retain(|h| !h.is_finished());
        let shared2 = Arc::clone(&shared);
        handlers.push(thread::spawn(move || handle(&shared2, req)));
    }
    for h in handlers {
        let _ = h.join();
    }
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .iter()
        .find(|h| h.field.as_str().as_str().eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Reads at most `MAX_BODY` bytes; `None` when the body is larger or unreadable.
fn read_body(req: &mut Request) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let n = req
        .as_reader()
        .take(MAX_BODY as u64 + 1)
        .read_to_end(&mut body)
        .ok()?;
    (n <= MAX_BODY).then_some(body)
}

fn handle(shared: &Shared, mut req: Request) {
    let rid = shared.next_request_id();
    let method = req.method().clone();
    let url = req.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let body = read_body(&mut req);
    let auth = header(&req, "Authorization").map(str::to_owned);
    match classify(&method, path) {
        Target::NotFound => respond(req, Answer::empty(404), &rid),
        Target::MethodNotAllowed(allow) => {
            let mut a = Answer::empty(405);
            a.headers.push(("Allow", allow.to_owned()));
            respond(req, a, &rid);
        }
        Target::Control => {
            let a = crate::control::handle(shared, &method, path, query, body.as_deref());
            respond(req, a, &rid);
        }
        Target::Api(route, op) => {
            shared.counts[route.index()].fetch_add(1, Ordering::Relaxed);
            let fault = faults::take(&mut lock(&shared.faults), route);
            let run = || api(shared, op, auth.as_deref(), query, body.as_deref());
            match fault {
                None => respond(req, run(), &rid),
                Some(Fault::Delay(d)) => {
                    shared.sleep(d);
                    respond(req, run(), &rid);
                }
                Some(Fault::Status(status)) => respond(req, Answer::empty(status), &rid),
                Some(Fault::HtmlBadGateway) => {
                    let mut a = Answer::html(502, pages::BAD_GATEWAY.to_owned());
                    a.content_type = Some("text/html");
                    a.request_id = false;
                    a.headers.push(("Server", "nginx".to_owned()));
                    respond(req, a, &rid);
                }
                Some(fault) => send_faulty(shared, req, run(), &fault, &rid),
            }
        }
    }
}

fn make_header(name: &str, value: &str) -> Option<Header> {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).ok()
}

fn respond(req: Request, a: Answer, rid: &str) {
    let mut resp = Response::from_data(a.body).with_status_code(StatusCode(a.status));
    let server = a
        .headers
        .iter()
        .find(|(k, _)| *k == "Server")
        .map_or("ghesta-sandbox", |(_, v)| v.as_str());
    let mut headers = vec![make_header("Server", server)];
    if a.request_id {
        headers.push(make_header("X-PayPingRequest-ID", rid));
    }
    if let Some(ct) = a.content_type {
        headers.push(make_header("Content-Type", ct));
    }
    for (k, v) in a.headers.iter().filter(|(k, _)| *k != "Server") {
        headers.push(make_header(k, v));
    }
    for h in headers.into_iter().flatten() {
        resp.add_header(h);
    }
    let _ = req.respond(resp);
}

/// The status line and headers of `a`, framed by hand for the faults that break framing.
fn raw_head(a: &Answer, rid: &str, content_length: usize) -> Vec<u8> {
    let reason = StatusCode(a.status).default_reason_phrase();
    let mut s = format!(
        "HTTP/1.1 {} {reason}\r\nServer: ghesta-sandbox\r\n",
        a.status
    );
    if a.request_id {
        s.push_str(&format!("X-PayPingRequest-ID: {rid}\r\n"));
    }
    if let Some(ct) = a.content_type {
        s.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in &a.headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
    s.into_bytes()
}

fn send_faulty(shared: &Shared, req: Request, a: Answer, fault: &Fault, rid: &str) {
    match fault {
        Fault::CloseMidAnswer => {
            let head = raw_head(&a, rid, a.body.len());
            let cut = (head.len() / 2).max(1);
            proxy::sever(shared, req, &head[..cut]);
        }
        Fault::TruncatedBody => {
            let claimed = a.body.len().max(2);
            let mut raw = raw_head(&a, rid, claimed);
            raw.extend_from_slice(&a.body[..a.body.len() / 2]);
            proxy::sever(shared, req, &raw);
        }
        Fault::OversizedBody(size) => respond(req, oversized(a, *size), rid),
        Fault::MalformedJson => {
            let text = String::from_utf8_lossy(&a.body).into_owned();
            let broken = if text.len() < 4 {
                "{\"code\": ".to_owned()
            } else {
                let mut cut = text.len() / 2;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text[..cut].to_owned()
            };
            let mut b = Answer::empty(200);
            b.content_type = Some(JSON);
            b.body = broken.into_bytes();
            respond(req, b, rid);
        }
        // Handled before processing.
        _ => respond(req, a, rid),
    }
}

/// Pads an answer to `size` bytes: a `"padding"` member in the JSON object (an HTML comment
/// for pages).
fn oversized(mut a: Answer, size: usize) -> Answer {
    if a.content_type == Some(HTML) {
        let have = a.body.len() + "<!---->".len();
        a.body.extend_from_slice(b"<!--");
        a.body
            .extend(std::iter::repeat_n(b'x', size.saturating_sub(have)));
        a.body.extend_from_slice(b"-->");
        return a;
    }
    let mut obj = match serde_json::from_slice::<Value>(&a.body) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    obj.insert("padding".to_owned(), Value::String(String::new()));
    let have = serde_json::to_vec(&obj).map(|v| v.len()).unwrap_or(0);
    obj.insert(
        "padding".to_owned(),
        Value::String("x".repeat(size.saturating_sub(have))),
    );
    let mut b = Answer::json(a.status, &obj);
    b.headers = a.headers;
    b
}

/// Parses a JSON object body, or the 400 answer for a body that is not one.
fn parse_object(body: Option<&[u8]>) -> Result<Map<String, Value>, Answer> {
    let bad = |msg: &str| Answer::fields(vec![("body", msg.to_owned())]);
    let body = body.ok_or_else(|| bad("بدنه درخواست بیش از حد بزرگ است"))?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(bad("بدنه درخواست باید یک شیء JSON باشد")),
        Err(_) => Err(bad("بدنه درخواست JSON معتبر نیست")),
    }
}

/// A member by name, ignoring ASCII case (as PayPing's model binding does); null is absent.
fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

const AMOUNT_MSG: &str = "مبلغ الزامی است و باید عددی صحیح بین ۱۰۰ تا ۵۰٬۰۰۰٬۰۰۰ تومان باشد";

fn amount_of(obj: &Map<String, Value>, errors: &mut Vec<(&'static str, String)>) -> u32 {
    match member(obj, "amount").and_then(Value::as_u64) {
        Some(a) if (MIN_AMOUNT..=MAX_AMOUNT).contains(&a) => a as u32,
        _ => {
            errors.push(("amount", AMOUNT_MSG.to_owned()));
            0
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<String> {
    match member(obj, name) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push((name, format!("مقدار {name} باید متن (string) باشد")));
            None
        }
    }
}

fn required_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> String {
    match member(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            errors.push((name, format!("مقدار {name} الزامی است")));
            String::new()
        }
    }
}

pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    amount: u32,
    req_date: String,
    pay_date: Option<String>,
    is_request: bool,
    is_paid: bool,
    description: Option<&'a str>,
    payer_identity: Option<&'a str>,
    platform: Option<&'a str>,
    browser: Option<&'a str>,
    rrn: Option<&'a str>,
    client_id: &'a str,
    client_ref_id: Option<&'a str>,
    invoice_no: Option<&'a str>,
    wage: u32,
    ipg_name: &'a str,
    is_blocked: bool,
    name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyAnswer<'a> {
    amount: u32,
    card_number: &'a str,
    card_hash_pan: &'a str,
}

fn api(shared: &Shared, op: Op, auth: Option<&str>, query: &str, body: Option<&[u8]>) -> Answer {
    match op {
        Op::GatewayPage(code) => gateway_page(shared, &code),
        Op::GatewayAction(code, action) => gateway_action(shared, &code, &action, query),
        op => {
            let Some(token) = shared.authorize(auth) else {
                return Answer::api_error(ApiError::Unauthorized);
            };
            match op {
                Op::Create => create(shared, token, body),
                Op::Verify => verify(shared, token, body),
                Op::Cancel(code) => match lock(&shared.store).cancel_by_shop(token, &code) {
                    Ok(()) => Answer::empty(200),
                    Err(e) => Answer::api_error(e),
                },
                Op::Report(code) => report(shared, &code),
                Op::GatewayPage(_) | Op::GatewayAction(..) => Answer::empty(500),
            }
        }
    }
}

fn create(shared: &Shared, token: &str, body: Option<&[u8]>) -> Answer {
    let obj = match parse_object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let amount = amount_of(&obj, &mut errors);
    let return_url = required_string(&obj, "returnUrl", &mut errors);
    let new = NewPayment {
        amount,
        return_url,
        payer_identity: optional_string(&obj, "payerIdentity", &mut errors),
        payer_name: optional_string(&obj, "payerName", &mut errors),
        description: optional_string(&obj, "description", &mut errors),
        client_ref_id: optional_string(&obj, "clientRefId", &mut errors),
    };
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let now = shared.clock.now();
    let code = lock(&shared.store).create(token, new, now);
    let mut answer = Map::new();
    answer.insert("code".to_owned(), Value::String(code));
    Answer::json(200, &answer)
}

fn verify(shared: &Shared, token: &str, body: Option<&[u8]>) -> Answer {
    let obj = match parse_object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let ref_id = required_string(&obj, "refId", &mut errors);
    let amount = amount_of(&obj, &mut errors);
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let now = shared.clock.now();
    let result = lock(&shared.store).verify(
        token,
        ref_id.trim(),
        amount,
        now,
        shared.config.verify_window,
        shared.config.expired_code,
    );
    match result {
        Ok(v) => Answer::json(
            200,
            &VerifyAnswer {
                amount: v.amount,
                card_number: &v.card_number,
                card_hash_pan: &v.card_hash_pan,
            },
        ),
        Err(e) => Answer::api_error(e),
    }
}

fn report(shared: &Shared, code: &str) -> Answer {
    let store = lock(&shared.store);
    let Some(p) = store.get(code) else {
        return Answer::api_error(ApiError::Code(26));
    };
    let s = &p.snap;
    let paid = s.paid_at.is_some();
    Answer::json(
        200,
        &Report {
            amount: s.amount,
            req_date: rfc3339(s.created_at),
            pay_date: s.paid_at.map(rfc3339),
            is_request: false,
            is_paid: s.state == PaymentState::Verified,
            description: s.description.as_deref(),
            payer_identity: s.payer_identity.as_deref(),
            platform: None,
            browser: None,
            rrn: p.card_number.as_deref(),
            client_id: "sandbox",
            client_ref_id: s.client_ref_id.as_deref(),
            invoice_no: if paid { s.ref_id.as_deref() } else { None },
            wage: 0,
            ipg_name: "Ghesta",
            is_blocked: false,
            name: s.payer_name.as_deref(),
        },
    )
}

fn not_found_page() -> Answer {
    Answer::html(
        404,
        pages::message(
            "پرداخت پیدا نشد",
            "کد پرداخت معتبر نیست (payment code not found).",
        ),
    )
}

fn not_payable_page(state: PaymentState) -> Answer {
    Answer::html(
        409,
        pages::message(
            "این پرداخت دیگر قابل پرداخت نیست",
            &format!(
                "This payment is no longer payable (state: {}).",
                state.name()
            ),
        ),
    )
}

fn gateway_page(shared: &Shared, code: &str) -> Answer {
    let store = lock(&shared.store);
    match store.get(code) {
        None => not_found_page(),
        Some(p) if p.snap.state != PaymentState::Created => not_payable_page(p.snap.state),
        Some(p) => Answer::html(200, pages::gateway(&p.snap)),
    }
}

/// The `code` query parameter of a fail action (39 when absent).
pub(crate) fn failure_code(query: &str) -> Result<u32, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
    match pairs.iter().find(|(k, _)| k == "code") {
        None => Ok(DEFAULT_FAILURE_CODE),
        Some((_, v)) => v
            .parse()
            .map_err(|_| format!("code must be a non-negative integer, got {v:?}")),
    }
}

fn gateway_action(shared: &Shared, code: &str, action: &str, query: &str) -> Answer {
    let action = match action {
        "approve" => BuyerAction::Approve,
        "cancel" => BuyerAction::Cancel,
        _ => match failure_code(query) {
            Ok(c) => BuyerAction::Fail(c),
            Err(e) => return Answer::html(400, pages::message("درخواست نامعتبر", &e)),
        },
    };
    let now = shared.clock.now();
    let result = lock(&shared.store).buyer_action(code, action, now);
    match result {
        Ok(form) => Answer::html(200, pages::callback(&form)),
        Err(SandboxError::NotPayable { state, .. }) => not_payable_page(state),
        Err(_) => not_found_page(),
    }
}
