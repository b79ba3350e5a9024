//! The ureq transport against small servers on 127.0.0.1 that misbehave on purpose.
//!
//! Each server is a std `TcpListener` in a thread writing raw HTTP (test fixtures, see
//! `common`). Nothing here measures speed: a timeout test asserts the error's kind, and
//! that it came within a generous bound of the configured timeout (a client that ignored
//! the setting would still time out, 100 times later).

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Client, Error, RetryPolicy, TransportError};
use ghesta_core::http::StatusCode;
use ghesta_core::{PaymentCode, VerifyOutcome};

fn code() -> PaymentCode {
    PaymentCode::new("82a4f72").unwrap()
}

/// A ureq client for `server` that never really sleeps between attempts.
fn client_for(server: &Server, clock: &FakeClock) -> Client {
    Client::builder(config_at(server.addr))
        .clock(clock.clone())
        .timeout(Duration::from_secs(10))
        .build()
}

#[test]
fn a_server_that_never_answers_is_a_timeout() {
    const TIMEOUT: Duration = Duration::from_millis(300);
    /// Over 30 times the timeout: slack for a loaded machine, far below the 30 s default a
    /// client ignoring the setting would wait (and the server hangs until dropped).
    const BOUND: Duration = Duration::from_secs(10);
    let server = Server::start(vec![Action::Hang]);
    let client = Client::builder(config_at(server.addr))
        .timeout(TIMEOUT)
        .retry_policy(RetryPolicy::never())
        .build();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(client.report(&code()));
    });
    let err = rx
        .recv_timeout(BOUND)
        .unwrap_or_else(|_| panic!("no answer within {BOUND:?} of a {TIMEOUT:?} timeout"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Timeout { .. })),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.seen().len(), 1, "the request was sent");
}

#[test]
fn a_reset_connection_is_connection_lost() {
    let server = Server::start(vec![Action::Reset]);
    let client = Client::builder(config_at(server.addr))
        .retry_policy(RetryPolicy::never())
        .build();
    let err = client.report(&code()).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::ConnectionLost { .. })),
        "{err:?}"
    );
}

#[test]
fn a_closed_port_is_a_connect_error() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap(); // dropped at once: nothing listens there now
    let client = Client::builder(config_at(addr))
        .retry_policy(RetryPolicy::never())
        .build();
    let err = client.report(&code()).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Connect { .. })),
        "{err:?}"
    );
}

#[test]
fn a_body_over_the_cap_is_refused() {
    let big = vec![b'a'; 100_000];
    let server = Server::start(vec![
        http_answer(200, "OK", "", &big),
        http_answer(200, "OK", "", &big[..1000]),
    ]);
    let clock = FakeClock::default();
    let client = client_for(&server, &clock);
    let err = client.report(&code()).unwrap_err();
    assert_eq!(
        err,
        Error::Transport(TransportError::BodyTooLarge { limit: 64 * 1024 })
    );
    assert!(!err.is_retryable());
    assert!(
        clock.sleeps().is_empty(),
        "the same answer would come again"
    );

    // A smaller cap applies as set.
    let client = Client::builder(config_at(server.addr))
        .max_response_bytes(999)
        .build();
    let err = client.report(&code()).unwrap_err();
    assert_eq!(
        err,
        Error::Transport(TransportError::BodyTooLarge { limit: 999 })
    );
}

#[test]
fn redirects_are_not_followed() {
    let elsewhere = Server::start(vec![http_answer(200, "OK", "", b"{}")]);
    let location = format!("Location: http://{}/v1/report/82a4f72\r\n", elsewhere.addr);
    let server = Server::start(vec![http_answer(302, "Found", &location, b"")]);
    let err = client_for(&server, &FakeClock::default())
        .report(&code())
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(ghesta_core::Error::UnexpectedStatus { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(StatusCode::FOUND));
    assert_eq!(
        elsewhere.accepted(),
        0,
        "the token travelled to another host"
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn unavailable_then_ok_is_retried() {
    let server = Server::start(vec![
        http_answer(503, "Service Unavailable", "", b"<html>busy</html>"),
        http_answer(200, "OK", "", br#"{"amount":250000,"isPaid":true}"#),
    ]);
    let clock = FakeClock::default();
    let report = client_for(&server, &clock).report(&code()).unwrap();
    assert!(report.is_paid());
    assert_eq!(report.request_id().map(|id| id.as_str()), Some("loop-1"));
    assert_eq!(clock.sleeps(), [Duration::from_millis(250)]);

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/v1/report/82a4f72");
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(
            request.header("user-agent"),
            Some(concat!("ghesta-blocking/", env!("CARGO_PKG_VERSION")))
        );
        assert_eq!(request.header("accept"), Some("application/json"));
    }
}

#[test]
fn a_lost_verify_answer_is_retried_into_already_verified() {
    let server = Server::start(vec![
        Action::Close,
        http_answer(
            400,
            "Bad Request",
            "Content-Type: application/json; charset=utf-8\r\n",
            ALREADY.as_bytes(),
        ),
        http_answer(200, "OK", "", BOUND_REPORT.as_bytes()),
    ]);
    let clock = FakeClock::default();
    let config = config_at(server.addr);
    let outcome = client_for(&server, &clock)
        .verify(&pending(&config), &callback())
        .unwrap();
    assert!(
        matches!(outcome, VerifyOutcome::AlreadyVerified(_)),
        "{outcome:?}"
    );
    assert_eq!(clock.sleeps().len(), 1);
    let seen = server.seen();
    assert_eq!(
        seen.len(),
        3,
        "two verifies, then the report that binds the refid"
    );
    assert_eq!(seen[0].body, br#"{"refId":"555","amount":250000}"#);
    assert_eq!(
        seen[0].body, seen[1].body,
        "the retry sends the same verify"
    );
}

#[test]
fn a_lost_create_answer_is_not_retried() {
    let server = Server::start(vec![
        Action::Close,
        http_answer(200, "OK", "", br#"{"code":"second"}"#),
    ]);
    let err = client_for(&server, &FakeClock::default())
        .create(new_payment())
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::ConnectionLost { .. })),
        "{err:?}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn clones_share_one_keep_alive_pool() {
    const PAID: &[u8] = br#"{"amount":250000,"isPaid":true}"#;
    let server = Server::start(vec![Action::KeepAlive(vec![PAID, PAID, PAID])]);
    let client = client_for(&server, &FakeClock::default());
    client.report(&code()).unwrap();
    let clone = client.clone();
    std::thread::spawn(move || clone.report(&code()).unwrap())
        .join()
        .unwrap();
    client.report(&code()).unwrap();
    assert_eq!(server.seen().len(), 3);
    assert_eq!(
        server.accepted(),
        1,
        "every call reused the first connection"
    );
}
