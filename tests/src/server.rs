//! The HTTP server: a tokio runtime the sandbox owns on a thread of its own, its accept loop,
//! one hyper HTTP/1.1 connection task per accepted socket, and the dispatch from a request to a face's handler
//! (with the injected faults applied) and back to bytes.
//!
//! Every accepted connection is served by its own task for as long as it lives, however many
//! arrive at once: a keep-alive connection waits for nothing but its own requests.

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, HOST, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::answer::Answer;
use crate::faults::{self, Fault};
use crate::route::{Route, Routed};
use crate::shared::Shared;
use crate::util::lock;
use crate::wire::{Cut, Wire};
use crate::{api_v2, api_v3, control, gateway, pages, report};

/// Largest request body read; larger bodies answer 400 `{"body": ...}`.
const MAX_BODY: usize = 64 * 1024;
/// At most this many control requests run at once on the blocking pool.
const MAX_BLOCKING_THREADS: usize = 16;
/// How long a client may take to finish its TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long stopping waits for control requests still running (a callback delivery to a
/// slow shop); they are left to finish on their own after that.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// The running server. Dropping it stops accepting, drops every connection and joins the
/// runtime's threads.
pub(crate) struct Server {
    stop: Option<oneshot::Sender<()>>,
    owner: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `listener` (already bound) on a new runtime: HTTPS with `tls`, else plain HTTP.
    pub(crate) fn start(
        listener: std::net::TcpListener,
        shared: Arc<Shared>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> io::Result<Server> {
        // One thread runs every connection: a handler's work is microseconds, and with no
        // hand-off between threads a call waits for one wake-up, not two (measured on 2
        // loaded cores: 14% to 40% less time per round trip than 2 worker threads, and about
        // as many calls a second from 4 client threads). Handlers never block it: a delay is a timer, and the
        // control endpoints (which may POST a callback to a shop) run on the blocking pool.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(MAX_BLOCKING_THREADS)
            .thread_name("ghesta-sandbox-blocking")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = listener.set_nonblocking(true).and_then(|()| {
            let _entered = runtime.enter();
            TcpListener::from_std(listener)
        });
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                // Never blocks, so it is safe wherever `start` was called from.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        runtime.spawn(accept_loop(listener, shared, tls.map(TlsAcceptor::from)));
        let (stop, stopped) = oneshot::channel();
        // The runtime runs, and dies, on a thread of its own: the caller's thread is the
        // caller's, and shutting a runtime down blocks, which is not allowed on an async
        // thread (a sandbox may be dropped on one).
        let owner = thread::Builder::new()
            .name("ghesta-sandbox".into())
            .spawn(move || run_until_stopped(runtime, stopped))?;
        Ok(Server {
            stop: Some(stop),
            owner: Some(owner),
        })
    }
}

fn run_until_stopped(runtime: Runtime, stopped: oneshot::Receiver<()>) {
    // Runs the accept loop and every connection until the `Server` drops the stop sender.
    let _ = runtime.block_on(stopped);
    // Drops the accept loop and every connection task (closing their sockets), then joins
    // the blocking pool's threads.
    runtime.shutdown_timeout(STOP_GRACE);
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(owner) = self.owner.take() {
            let _ = owner.join();
        }
    }
}

/// Accepts connections until the runtime shuts down, each served by a task of its own.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsAcceptor>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // The client gave up before we took the connection: nothing to serve.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(_) => {
                // e.g. out of file descriptors: back off a little instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::clone(&shared);
        match tls.clone() {
            None => tokio::spawn(serve_plain(stream, shared)),
            Some(tls) => tokio::spawn(async move {
                // Answers are small and written at once: do not hold their last segment back.
                let _ = stream.set_nodelay(true);
                let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream));
                // A client that fails the handshake (it does not trust the certificate, or
                // is not speaking TLS) has been told by rustls's alert; nothing to serve.
                if let Ok(Ok(stream)) = handshake.await {
                    shared.tls_handshakes.fetch_add(1, Ordering::Relaxed);
                    serve_connection(stream, shared).await;
                }
            }),
        };
    }
}

async fn serve_connection<S>(stream: S, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let cut = Cut::default();
    let io = TokioIo::new(Wire::new(stream, cut.clone()));
    let service = service_fn(move |request| {
        let (shared, cut) = (Arc::clone(&shared), cut.clone());
        async move { Ok::<_, Infallible>(handle(&shared, &cut, request).await) }
    });
    // An error here is the client's (it went away) or a fault's cut: either way the
    // connection is over and there is nobody to tell.
    let _ = http1::Builder::new().serve_connection(io, service).await;
}

/// The socket of a plain-HTTP connection, served as is.
async fn serve_plain(stream: TcpStream, shared: Arc<Shared>) {
    // Answers are small and written at once: do not hold their last segment back.
    let _ = stream.set_nodelay(true);
    serve_connection(stream, shared).await;
}

/// What a request asks for, by path and method.
enum Target {
    Control,
    Call(Route, Call),
    WrongMethod(String),
    NotFound,
}

/// A call to one of the faces.
enum Call {
    V2(api_v2::Call),
    V3(api_v3::Call),
    Report(report::Call),
    Gateway(gateway::Call),
}

/// The first face whose route table knows the path.
fn first_face(method: &Method, segments: &[&str]) -> Routed<Call> {
    fn into<C>(routed: Routed<C>, wrap: impl FnOnce(C) -> Call) -> Routed<Call> {
        match routed {
            Routed::Call(route, call) => Routed::Call(route, wrap(call)),
            Routed::WrongMethod(m) => Routed::WrongMethod(m),
            Routed::Unknown => Routed::Unknown,
        }
    }
    into(gateway::route(method, segments), Call::Gateway)
        .or_else(|| into(api_v3::route(method, segments), Call::V3))
        .or_else(|| into(report::route(method, segments), Call::Report))
        .or_else(|| into(api_v2::route(method, segments), Call::V2))
}

fn target(method: &Method, path: &str) -> Target {
    if path == "/__sandbox" || path.starts_with("/__sandbox/") {
        return Target::Control;
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Target::NotFound;
    }
    match first_face(method, &segments) {
        Routed::Call(route, call) => Target::Call(route, call),
        Routed::WrongMethod(m) => Target::WrongMethod(m),
        Routed::Unknown => Target::NotFound,
    }
}

/// How an answer leaves the sandbox.
enum Outcome {
    /// Written by hyper.
    Answer(Answer),
    /// These bytes, then the connection closes (a fault that breaks HTTP framing).
    Cut(Vec<u8>),
}

/// One line per request for a developer watching the sandbox (`--log info`): what was
/// asked and answered, never a header (the `Authorization` one holds the token), a query
/// or a body (callbacks, card numbers).
fn log(method: &Method, path: &str, outcome: &Outcome, rid: &str, started: Instant) {
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Outcome::Answer(answer) => tracing::info!(
            http.request.method = %method,
            url.path = path,
            http.response.status_code = answer.status,
            sandbox.request_id = rid,
            sandbox.latency_ms = latency_ms,
            "answered",
        ),
        Outcome::Cut(_) => tracing::info!(
            http.request.method = %method,
            url.path = path,
            sandbox.request_id = rid,
            sandbox.latency_ms = latency_ms,
            "answer cut short (fault)",
        ),
    }
}

async fn handle(
    shared: &Arc<Shared>,
    cut: &Cut,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let rid = shared.next_request_id();
    let started = Instant::now();
    let (head, body) = request.into_parts();
    // `None` when over the limit or unreadable: the handlers answer 400 `{"body": ...}`.
    let body: Option<Bytes> = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .ok()
        .map(|b| b.to_bytes());
    let path = head.uri.path();
    let query = head.uri.query().unwrap_or("");
    let outcome = match target(&head.method, path) {
        Target::NotFound => Outcome::Answer(Answer::empty(404)),
        Target::WrongMethod(allow) => {
            let mut a = Answer::empty(405);
            a.headers.push(("Allow", allow));
            Outcome::Answer(a)
        }
        Target::Control => {
            let shared = Arc::clone(shared);
            let (method, path, query) = (head.method.clone(), path.to_owned(), query.to_owned());
            // It may deliver a callback to a shop, which blocks; and it runs seldom.
            let run = move || control::handle(&shared, &method, &path, &query, body.as_deref());
            Outcome::Answer(
                tokio::task::spawn_blocking(run)
                    .await
                    .unwrap_or_else(|_| Answer::empty(500)),
            )
        }
        Target::Call(route, call) => {
            let authorization = head
                .headers
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            shared.counts[route.index()].fetch_add(1, Ordering::Relaxed);
            let fault = faults::take(&mut lock(&shared.faults), route);
            if let Some(fault) = &fault {
                tracing::debug!(sandbox.request_id = %rid, sandbox.fault = ?fault, "fault injected");
            }
            let host = head.headers.get(HOST).and_then(|v| v.to_str().ok());
            let run = || match call {
                Call::V2(call) => api_v2::answer(shared, call, authorization, body.as_deref()),
                Call::V3(call) => {
                    let request = api_v3::Request {
                        authorization,
                        body: body.as_deref(),
                        host,
                        path,
                        trace_id: &rid,
                    };
                    api_v3::answer(shared, call, request)
                }
                Call::Report(call) => report::answer(shared, call, authorization),
                Call::Gateway(call) => gateway::answer(shared, call, query),
            };
            apply(fault, run, &rid).await
        }
    };
    log(&head.method, path, &outcome, &rid, started);
    match outcome {
        Outcome::Answer(a) => render(a, &rid),
        Outcome::Cut(bytes) => {
            cut.after(bytes);
            // Never sent: the wire writes the cut in its place.
            Response::new(Full::default())
        }
    }
}

/// Runs the request under `fault`: processed or not, then answered whole or broken.
async fn apply(fault: Option<Fault>, run: impl FnOnce() -> Answer, rid: &str) -> Outcome {
    let Some(fault) = fault else {
        return Outcome::Answer(run());
    };
    match fault {
        Fault::Delay(d) => {
            tokio::time::sleep(d).await;
            Outcome::Answer(run())
        }
        Fault::Status(status) => Outcome::Answer(Answer::empty(status)),
        Fault::HtmlBadGateway => {
            let mut a = Answer::html(502, pages::BAD_GATEWAY.to_owned());
            a.content_type = Some("text/html");
            a.request_id = false;
            a.headers.push(("Server", "nginx".to_owned()));
            Outcome::Answer(a)
        }
        Fault::CloseMidAnswer => {
            let a = run();
            let head = raw_head(&a, rid, a.body.len());
            let half = (head.len() / 2).max(1);
            Outcome::Cut(head[..half].to_vec())
        }
        Fault::TruncatedBody => {
            let a = run();
            let claimed = a.body.len().max(2);
            let mut raw = raw_head(&a, rid, claimed);
            raw.extend_from_slice(&a.body[..a.body.len() / 2]);
            Outcome::Cut(raw)
        }
        Fault::OversizedBody(size) => Outcome::Answer(faults::oversized(run(), size)),
        Fault::MalformedJson => Outcome::Answer(faults::malformed(&run())),
        Fault::InProgress { status } => Outcome::Answer(api_v3::in_progress(status, rid)),
    }
}

/// The answer as hyper writes it (it adds `content-length` and `date`).
fn render(a: Answer, rid: &str) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers: Vec<(&str, &str)> = vec![("Server", a.server())];
    if a.request_id {
        headers.push(("X-PayPingRequest-ID", rid));
    }
    if let Some(ct) = a.content_type {
        headers.push(("Content-Type", ct));
    }
    headers.extend(
        a.headers
            .iter()
            .filter(|(k, _)| *k != "Server")
            .map(|(k, v)| (*k, v.as_str())),
    );
    let mut response = Response::new(Full::default());
    *response.status_mut() = status;
    for (name, value) in headers {
        // Every name and value here is the sandbox's own ASCII; one that is not is dropped
        // rather than answered with a panic.
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    *response.body_mut() = Full::new(Bytes::from(a.body));
    response
}

/// The status line and headers of `a`, framed by hand for the faults that break framing.
fn raw_head(a: &Answer, rid: &str, content_length: usize) -> Vec<u8> {
    let reason = StatusCode::from_u16(a.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut s = format!(
        "HTTP/1.1 {} {reason}\r\nServer: {}\r\n",
        a.status,
        a.server()
    );
    if a.request_id {
        s.push_str(&format!("X-PayPingRequest-ID: {rid}\r\n"));
    }
    if let Some(ct) = a.content_type {
        s.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in a.headers.iter().filter(|(k, _)| *k != "Server") {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str(&format!("Content-Length: {content_length}\r\n\r\n"));
    s.into_bytes()
}
