//! One table of retry scenarios, run through both drivers: the blocking `Client` over a
//! scripted transport, and the async checkout's loop (`examples/async_checkout/shop.rs`,
//! [`shop::exchange`]) over a scripted port. Both ask the core's `RetryPolicy`, so each
//! scenario must send the same requests, wait the same waits and end alike in both.
//!
//! Nothing sleeps: each driver's clock is the script's, which moves when told to wait. The
//! table compares the drivers' loops, so verify runs through `Client::execute_before` with
//! the deadline `Client::verify` uses: what settles an order on top of the loop is the
//! settlement's business, not the transport's.

#[allow(dead_code)] // the async checkout's steps; the table drives its loop
#[path = "../examples/async_checkout/shop.rs"]
mod shop;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use ghesta_blocking::{Client, Clock, TransportError};
use ghesta_core::{
    Amount, Callback, ClientRefId, CompletedCallback, Config, CreatePayment, Exchange, Failure,
    Gateway, HttpRequest, HttpResponse, Mobile, NewPayment, PaymentCode, Pending, RefId,
    RefundPayment, ReportPayment, RetryPolicy, ReturnUrl, Token, VerifyOutcome, VerifyPayment,
    http,
};
use shop::{SendError, ShopError};

/// When every scenario starts: the callback's arrival, and the refund's verify.
const T0: SystemTime = SystemTime::UNIX_EPOCH;

/// What the network does with one request.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// PayPing answers: status, `Retry-After`, body.
    Answer(u16, Option<&'static str>, &'static str),
    /// The connection is refused: nothing was sent.
    NotSent,
    /// The server closes the connection in the middle of the TLS handshake: nothing was sent.
    HandshakeCut,
    /// The request went out; the answer never came (a timeout, a reset).
    SentNoAnswer,
    /// The server's certificate is refused.
    CertificateRefused,
}

/// The call a scenario makes.
#[derive(Debug, Clone, Copy)]
enum Call {
    Create(Gateway),
    /// A verify whose callback arrived at [`T0`], with this verify window in seconds.
    Verify(Gateway, u64),
    Refund,
    Report,
}

/// How a call ended, in words both drivers share.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// It succeeded: what it gave.
    Done(&'static str),
    /// No answer: the class of the last failure.
    NoAnswer(&'static str),
    /// PayPing's last answer was an error with this status.
    Answered(u16),
}

/// What a driver did: every request (method and path), every wait, and the end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Trace {
    requests: Vec<String>,
    waits: Vec<Duration>,
    outcome: Outcome,
}

struct Scenario {
    name: &'static str,
    call: Call,
    steps: &'static [Step],
    /// The request every attempt sends, and how many attempts.
    request: &'static str,
    attempts: usize,
    waits_ms: &'static [u64],
    outcome: Outcome,
}

const V2_VERIFIED: &str = r#"{"amount":250000,"cardNumber":"603799******1234"}"#;
const V3_VERIFIED: &str = r#"{"amount":250000,"code":"P1","cardNumber":"603799******1234"}"#;
const ALREADY: &str = r#"{"15":"این تراکنش قبلا تایید شده است"}"#;
const REFUND_IN_PROGRESS: &str = r#"{"metaData":{"code":156,"errors":[{"message":"x"}]}}"#;

const TABLE: &[Scenario] = &[
    Scenario {
        name: "503 then 200",
        call: Call::Verify(Gateway::Ghesta, 600),
        steps: &[
            Step::Answer(503, None, "<html>busy</html>"),
            Step::Answer(200, None, V2_VERIFIED),
        ],
        request: "POST /v2/pay/verify",
        attempts: 2,
        waits_ms: &[250],
        outcome: Outcome::Done("verified"),
    },
    Scenario {
        name: "202 twice then 200",
        call: Call::Verify(Gateway::PayPingV3, 600),
        steps: &[
            Step::Answer(202, None, ""),
            Step::Answer(202, None, ""),
            Step::Answer(200, None, V3_VERIFIED),
        ],
        request: "POST /v3/pay/verify",
        attempts: 3,
        waits_ms: &[250, 500],
        outcome: Outcome::Done("verified"),
    },
    Scenario {
        name: "a lost verify answer, then already verified",
        call: Call::Verify(Gateway::Ghesta, 600),
        steps: &[Step::SentNoAnswer, Step::Answer(400, None, ALREADY)],
        request: "POST /v2/pay/verify",
        attempts: 2,
        waits_ms: &[250],
        outcome: Outcome::Done("already verified"),
    },
    Scenario {
        name: "Retry-After is honoured",
        call: Call::Report,
        steps: &[
            Step::Answer(503, Some("3"), ""),
            Step::Answer(200, None, r#"{"amount":250000,"isPaid":true}"#),
        ],
        request: "GET /v1/report/P1",
        attempts: 2,
        waits_ms: &[3000],
        outcome: Outcome::Done("reported"),
    },
    Scenario {
        name: "a Retry-After over the longest wait stops other answers",
        call: Call::Report,
        steps: &[Step::Answer(503, Some("30"), "")],
        request: "GET /v1/report/P1",
        attempts: 1,
        waits_ms: &[],
        outcome: Outcome::Answered(503),
    },
    Scenario {
        name: "in progress asking for 30 s is asked again after 30 s",
        call: Call::Verify(Gateway::PayPingV3, 600),
        steps: &[
            Step::Answer(202, Some("30"), ""),
            Step::Answer(200, None, V3_VERIFIED),
        ],
        request: "POST /v3/pay/verify",
        attempts: 2,
        waits_ms: &[30_000],
        outcome: Outcome::Done("verified"),
    },
    Scenario {
        name: "in progress until the window closes",
        call: Call::Verify(Gateway::PayPingV3, 10),
        steps: &[Step::Answer(202, None, ""); 7],
        request: "POST /v3/pay/verify",
        attempts: 7,
        waits_ms: &[250, 500, 1000, 2000, 4000, 2250],
        outcome: Outcome::Answered(202),
    },
    Scenario {
        name: "refund 156, then 200",
        call: Call::Refund,
        steps: &[
            Step::Answer(400, None, REFUND_IN_PROGRESS),
            Step::Answer(200, None, ""),
        ],
        request: "POST /v3/pay/reverse",
        attempts: 2,
        waits_ms: &[250],
        outcome: Outcome::Done("refunded"),
    },
    Scenario {
        name: "a refund whose answer was lost is not sent again",
        call: Call::Refund,
        steps: &[Step::SentNoAnswer],
        request: "POST /v3/pay/reverse",
        attempts: 1,
        waits_ms: &[],
        outcome: Outcome::NoAnswer("sent, no answer"),
    },
    Scenario {
        name: "a create whose answer was lost is not sent again",
        call: Call::Create(Gateway::Ghesta),
        steps: &[Step::SentNoAnswer],
        request: "POST /v2/pay",
        attempts: 1,
        waits_ms: &[],
        outcome: Outcome::NoAnswer("sent, no answer"),
    },
    Scenario {
        name: "a create whose TLS handshake was cut short is sent again",
        call: Call::Create(Gateway::Ghesta),
        steps: &[
            Step::HandshakeCut,
            Step::Answer(200, None, r#"{"code":"P1"}"#),
        ],
        request: "POST /v2/pay",
        attempts: 2,
        waits_ms: &[250],
        outcome: Outcome::Done("created"),
    },
    Scenario {
        name: "a create whose connection was refused is sent again",
        call: Call::Create(Gateway::PayPingV3),
        steps: &[
            Step::NotSent,
            Step::NotSent,
            Step::Answer(200, None, r#"{"paymentCode":"P1"}"#),
        ],
        request: "POST /v3/pay",
        attempts: 3,
        waits_ms: &[250, 500],
        outcome: Outcome::Done("created"),
    },
    Scenario {
        name: "a refused certificate is never retried",
        call: Call::Verify(Gateway::Ghesta, 600),
        steps: &[Step::CertificateRefused],
        request: "POST /v2/pay/verify",
        attempts: 1,
        waits_ms: &[],
        outcome: Outcome::NoAnswer("refused for cause"),
    },
];

// ---------------------------------------------------------------------------------------
// The script both drivers run against.

#[derive(Default)]
struct World {
    steps: VecDeque<Step>,
    requests: Vec<String>,
    elapsed: Duration,
    waits: Vec<Duration>,
}

/// A network that answers from a list and a clock that moves only when a driver waits.
#[derive(Clone)]
struct Scripted(Arc<Mutex<World>>);

impl Scripted {
    fn new(steps: &[Step]) -> Scripted {
        Scripted(Arc::new(Mutex::new(World {
            steps: steps.iter().copied().collect(),
            ..World::default()
        })))
    }

    /// Records `request` and says what happens to it.
    fn next(&self, request: &HttpRequest) -> Step {
        let mut world = self.0.lock().unwrap();
        world
            .requests
            .push(format!("{} {}", request.method(), request.uri().path()));
        world
            .steps
            .pop_front()
            .expect("the driver sent more requests than the script holds")
    }

    fn trace(&self, outcome: Outcome) -> Trace {
        let world = self.0.lock().unwrap();
        Trace {
            requests: world.requests.clone(),
            waits: world.waits.clone(),
            outcome,
        }
    }

    fn now(&self) -> SystemTime {
        T0 + self.0.lock().unwrap().elapsed
    }

    fn wait(&self, wait: Duration) {
        let mut world = self.0.lock().unwrap();
        world.elapsed += wait;
        world.waits.push(wait);
    }
}

fn answer(status: u16, retry_after: Option<&str>, body: &str) -> HttpResponse {
    let mut answer = http::Response::builder().status(status);
    if let Some(seconds) = retry_after {
        answer = answer.header("retry-after", seconds);
    }
    answer.body(body.as_bytes().to_vec()).unwrap()
}

/// The blocking driver's side: its transport errors and its clock.
impl Clock for Scripted {
    fn now(&self) -> SystemTime {
        Scripted::now(self)
    }

    fn sleep(&self, wait: Duration) {
        self.wait(wait);
    }
}

impl Scripted {
    fn transport(
        &self,
    ) -> impl Fn(HttpRequest) -> Result<HttpResponse, TransportError> + Send + Sync + use<> {
        let world = self.clone();
        move |request| match world.next(&request) {
            Step::Answer(status, retry_after, body) => Ok(answer(status, retry_after, body)),
            Step::NotSent => Err(TransportError::connect("connection refused")),
            Step::HandshakeCut => Err(TransportError::tls_handshake_cut("early EOF")),
            Step::SentNoAnswer => Err(TransportError::connection_lost("reset by peer")),
            Step::CertificateRefused => Err(TransportError::tls("the certificate has expired")),
        }
    }
}

/// The async driver's side: its send errors and its clock.
impl shop::Port for Scripted {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, SendError> {
        match self.next(&request) {
            Step::Answer(status, retry_after, body) => Ok(answer(status, retry_after, body)),
            Step::NotSent => Err(SendError::Connect(
                std::io::ErrorKind::ConnectionRefused.into(),
            )),
            Step::HandshakeCut => Err(SendError::TlsHandshakeCut),
            Step::SentNoAnswer => Err(SendError::Timeout),
            Step::CertificateRefused => {
                Err(SendError::Certificate("the certificate has expired".into()))
            }
        }
    }

    fn now(&self) -> SystemTime {
        Scripted::now(self)
    }

    async fn sleep(&self, wait: Duration) {
        self.wait(wait);
    }
}

// ---------------------------------------------------------------------------------------
// The records and exchanges the calls need.

fn config(gateway: Gateway, window_secs: u64) -> Config {
    Config::new(Token::new("conformance-token").unwrap())
        .with_gateway(gateway)
        .with_verify_window(Duration::from_secs(window_secs))
        .unwrap()
}

fn order(gateway: Gateway) -> NewPayment {
    NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/cb").unwrap(),
        ClientRefId::new("order-7").unwrap(),
        Mobile::new("09123456789").unwrap(),
    )
    .with_reversible(gateway == Gateway::PayPingV3)
}

/// The record PayPing's create gave, code `P1`.
fn pending(config: &Config) -> Pending {
    let body: &[u8] = match config.gateway() {
        Gateway::PayPingV3 => br#"{"paymentCode":"P1"}"#,
        _ => br#"{"code":"P1"}"#,
    };
    CreatePayment::new(config, order(config.gateway()), T0)
        .parse_response(http::Response::new(body))
        .unwrap()
}

fn callback(gateway: Gateway) -> CompletedCallback {
    let form = match gateway {
        Gateway::PayPingV3 => {
            let data = r#"{"paymentCode":"P1","paymentRefId":7781,"clientRefId":"order-7","amount":250000}"#;
            serde_urlencoded::to_string([("status", "1"), ("errorCode", ""), ("data", data)])
                .unwrap()
        }
        _ => "code=P1&refid=7781&clientrefid=order-7".to_owned(),
    };
    match Callback::from_form(form.as_bytes()).unwrap() {
        Callback::Completed(callback) => callback,
        Callback::Cancelled(_) => unreachable!(),
    }
}

fn verified(outcome: &VerifyOutcome) -> &'static str {
    match outcome {
        VerifyOutcome::Verified(_) => "verified",
        VerifyOutcome::AlreadyVerified(_) => "already verified",
    }
}

fn class(failure: Failure<'_>) -> &'static str {
    match failure {
        Failure::NotSent => "not sent",
        Failure::SentNoAnswer => "sent, no answer",
        Failure::RefusedForCause => "refused for cause",
        _ => "answered",
    }
}

fn answered(error: &ghesta_core::Error) -> Outcome {
    Outcome::Answered(error.status().map_or(0, |status| status.as_u16()))
}

// ---------------------------------------------------------------------------------------
// The two drivers.

fn blocking(call: Call, steps: &[Step]) -> Trace {
    let world = Scripted::new(steps);
    // The default policy: the one both drivers ship with.
    let client_for = |config: Config| {
        Client::builder(config)
            .transport(world.transport())
            .clock(world.clone())
            .build()
    };
    let ended = |result: Result<&'static str, ghesta_blocking::Error>| match result {
        Ok(done) => Outcome::Done(done),
        Err(ghesta_blocking::Error::Transport(e)) => Outcome::NoAnswer(class(e.failure())),
        Err(ghesta_blocking::Error::Core(e)) => answered(&e),
        Err(other) => panic!("{other:?}"),
    };
    let outcome = match call {
        Call::Create(gateway) => {
            let client = client_for(config(gateway, 600));
            ended(client.create(order(gateway)).map(|_| "created"))
        }
        Call::Verify(gateway, window) => {
            let config = config(gateway, window);
            let client = client_for(config.clone());
            let verify =
                VerifyPayment::new(&config, &pending(&config), &callback(gateway)).unwrap();
            let deadline = config.verify_deadline(T0);
            ended(
                client
                    .execute_before(&verify, Some(deadline))
                    .map(|o| verified(&o)),
            )
        }
        Call::Refund => {
            let config = config(Gateway::PayPingV3, 600);
            let client = client_for(config.clone());
            let ref_id = RefId::new("7781").unwrap();
            ended(
                client
                    .refund(&pending(&config), &ref_id, T0)
                    .map(|_| "refunded"),
            )
        }
        Call::Report => {
            let client = client_for(config(Gateway::Ghesta, 600));
            ended(
                client
                    .report(&PaymentCode::new("P1").unwrap())
                    .map(|_| "reported"),
            )
        }
    };
    world.trace(outcome)
}

fn asynchronous(call: Call, steps: &[Step]) -> Trace {
    let world = Scripted::new(steps);
    let policy = RetryPolicy::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    async fn run<E: Exchange>(
        world: &Scripted,
        exchange: &E,
        policy: &RetryPolicy,
        deadline: Option<SystemTime>,
        done: impl FnOnce(E::Output) -> &'static str,
    ) -> Outcome {
        match shop::exchange(world, exchange, policy, deadline).await {
            Ok(output) => Outcome::Done(done(output)),
            Err(ShopError::Send(e)) => Outcome::NoAnswer(class(e.failure())),
            Err(ShopError::Core(e)) => answered(&e),
        }
    }
    let outcome = runtime.block_on(async {
        match call {
            Call::Create(gateway) => {
                let create = CreatePayment::new(&config(gateway, 600), order(gateway), world.now());
                run(&world, &create, &policy, None, |_| "created").await
            }
            Call::Verify(gateway, window) => {
                let config = config(gateway, window);
                let verify =
                    VerifyPayment::new(&config, &pending(&config), &callback(gateway)).unwrap();
                let deadline = Some(config.verify_deadline(T0));
                run(&world, &verify, &policy, deadline, |o| verified(&o)).await
            }
            Call::Refund => {
                let config = config(Gateway::PayPingV3, 600);
                let ref_id = RefId::new("7781").unwrap();
                let refund =
                    RefundPayment::new(&config, &pending(&config), &ref_id, T0, world.now())
                        .unwrap();
                run(&world, &refund, &policy, None, |_| "refunded").await
            }
            Call::Report => {
                let config = config(Gateway::Ghesta, 600);
                let report = ReportPayment::new(&config, &PaymentCode::new("P1").unwrap());
                run(&world, &report, &policy, None, |_| "reported").await
            }
        }
    });
    world.trace(outcome)
}

#[test]
fn both_drivers_follow_the_same_rules() {
    for scenario in TABLE {
        let expected = Trace {
            requests: vec![scenario.request.to_owned(); scenario.attempts],
            waits: scenario
                .waits_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
            outcome: scenario.outcome.clone(),
        };
        let blocking = blocking(scenario.call, scenario.steps);
        let asynchronous = asynchronous(scenario.call, scenario.steps);
        assert_eq!(blocking, expected, "{}: the blocking client", scenario.name);
        assert_eq!(
            asynchronous, expected,
            "{}: the async checkout's loop",
            scenario.name
        );
    }
}

/// The table is whole: every kind of failure a driver names, and each call, appear in it.
#[test]
fn the_table_covers_every_failure_class_and_call() {
    let steps = || TABLE.iter().flat_map(|s| s.steps.iter());
    assert!(steps().any(|s| matches!(s, Step::NotSent)));
    assert!(steps().any(|s| matches!(s, Step::HandshakeCut)));
    assert!(steps().any(|s| matches!(s, Step::SentNoAnswer)));
    assert!(steps().any(|s| matches!(s, Step::CertificateRefused)));
    let calls = || TABLE.iter().map(|s| s.call);
    assert!(calls().any(|c| matches!(c, Call::Create(_))));
    assert!(calls().any(|c| matches!(c, Call::Verify(..))));
    assert!(calls().any(|c| matches!(c, Call::Refund)));
    assert!(calls().any(|c| matches!(c, Call::Report)));
}
