//! The client over closure transports: every failure path, retries, lost answers, report
//! confirmation, and the token kept out of every error.

mod common;

use std::time::Duration;

use common::*;
use ghesta_blocking::{Client, Error, RetryPolicy, TransportError};
use ghesta_core::http::StatusCode;
use ghesta_core::{PayPingCode, PaymentCode, VerifyOutcome};

fn client(script: &Script, clock: &FakeClock) -> Client {
    Client::builder(config())
        .transport(script.transport())
        .clock(clock.clone())
        .build()
}

fn ms(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_millis).collect()
}

#[test]
fn client_is_send_sync_clone_and_clones_share_the_transport() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Client>();

    let script = Script::new([Ok(answer(200, "")), Ok(answer(200, ""))]);
    let client = client(&script, &FakeClock::default());
    let clone = client.clone();
    let pending = pending(client.config());
    std::thread::scope(|s| {
        s.spawn(|| clone.cancel(&pending).unwrap());
    });
    client.cancel(&pending).unwrap();
    assert_eq!(script.paths(), ["/v2/pay/82a4f72", "/v2/pay/82a4f72"]);
}

#[test]
fn every_payping_answer_becomes_its_error() {
    // (status, body, the expected kind, retryable)
    type Case = (u16, &'static str, fn(&ghesta_core::Error) -> bool, bool);
    let cases: &[Case] = &[
        (
            400,
            r#"{"47":"مبلغ"}"#,
            |e| e.code().map(PayPingCode::number) == Some(47),
            false,
        ),
        (
            400,
            r#"{"amount":"نامعتبر"}"#,
            |e| matches!(e, ghesta_core::Error::Rejected(_)),
            false,
        ),
        (
            400,
            "<html>bad request</html>",
            |e| matches!(e, ghesta_core::Error::MalformedResponse { .. }),
            // A 4xx page reads no better the second time.
            false,
        ),
        (
            401,
            "",
            |e| matches!(e, ghesta_core::Error::Unauthorized { .. }),
            false,
        ),
        (
            403,
            "",
            |e| matches!(e, ghesta_core::Error::Unauthorized { .. }),
            false,
        ),
        (
            404,
            "",
            |e| matches!(e, ghesta_core::Error::NotFound { .. }),
            false,
        ),
        (
            500,
            "",
            |e| matches!(e, ghesta_core::Error::Unavailable { .. }),
            true,
        ),
        (
            502,
            "<html>proxy</html>",
            |e| matches!(e, ghesta_core::Error::Unavailable { .. }),
            true,
        ),
        (
            302,
            "",
            |e| matches!(e, ghesta_core::Error::UnexpectedStatus { .. }),
            false,
        ),
        (
            200,
            r#"{"amount":"#,
            |e| matches!(e, ghesta_core::Error::MalformedResponse { .. }),
            true,
        ),
        (
            200,
            r#"{"amount":1000}"#,
            |e| matches!(e, ghesta_core::Error::AmountMismatch { .. }),
            false,
        ),
    ];
    let config = config();
    for &(status, body, is_kind, retryable) in cases {
        let script = Script::new([Ok(answer(status, body))]);
        let client = Client::builder(config.clone())
            .transport(script.transport())
            .retry_policy(RetryPolicy::never())
            .build();
        let err = client.verify(&pending(&config), &callback()).unwrap_err();
        let Error::Core(inner) = &err else {
            panic!("{status} {body}: expected a PayPing answer, got {err:?}");
        };
        assert!(is_kind(inner), "{status} {body}: {inner:?}");
        assert_eq!(err.is_retryable(), retryable, "{status} {body}");
        assert_eq!(err.request_id().map(|id| id.as_str()), Some("req-1"));
        assert_eq!(err.status(), Some(StatusCode::from_u16(status).unwrap()));
        assert!(err.as_transport().is_none());
    }
}

#[test]
fn payping_codes_are_kept() {
    let script = Script::new([Ok(answer(400, r#"{"44":"refId نامعتبر"}"#))]);
    let err = client(&script, &FakeClock::default())
        .verify(&pending(&config()), &callback())
        .unwrap_err();
    assert_eq!(err.code(), Some(PayPingCode::InvalidRefId));
    assert!(!err.is_retryable());
    assert_eq!(script.seen().len(), 1, "44 is not retried");
}

#[test]
fn a_forged_callback_sends_nothing() {
    let script = Script::new([]);
    let forged = match ghesta_core::Callback::from_form(b"code=82a4f72&refid=1&clientrefid=order-8")
        .unwrap()
    {
        ghesta_core::Callback::Completed(c) => c,
        ghesta_core::Callback::Cancelled(_) => unreachable!(),
    };
    let err = client(&script, &FakeClock::default())
        .verify(&pending(&config()), &forged)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Core(ghesta_core::Error::CallbackMismatch {
                field: ghesta_core::Field::ClientRefId,
                ..
            })
        ),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(script.seen().is_empty());
}

#[test]
fn transport_failures_keep_their_kind() {
    let kinds = [
        TransportError::timeout("global"),
        TransportError::connect("refused"),
        TransportError::connection_lost("reset"),
        TransportError::tls("bad certificate"),
        TransportError::BodyTooLarge { limit: 65536 },
        TransportError::protocol("not http"),
        TransportError::other("bad uri"),
    ];
    for kind in kinds {
        let script = Script::new([Err(kind.clone())]);
        let client = Client::builder(config())
            .transport(script.transport())
            .retry_policy(RetryPolicy::never())
            .build();
        let err = client.report(&PaymentCode::new("c").unwrap()).unwrap_err();
        assert_eq!(err, Error::Transport(kind.clone()));
        assert_eq!(err.is_retryable(), kind.is_retryable());
        assert!(err.request_id().is_none());
    }
}

#[test]
fn closures_may_fail_with_io_and_http_errors() {
    let io = |_: ghesta_core::HttpRequest| -> Result<ghesta_core::HttpResponse, std::io::Error> {
        Err(std::io::ErrorKind::ConnectionRefused.into())
    };
    let client = Client::builder(config())
        .transport(io)
        .retry_policy(RetryPolicy::never())
        .build();
    let err = client.report(&PaymentCode::new("c").unwrap()).unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Connect { .. })),
        "{err:?}"
    );

    let http =
        |_: ghesta_core::HttpRequest| http::Response::builder().status(1000).body(Vec::new());
    let err = Client::with_transport(config(), http)
        .report(&PaymentCode::new("c").unwrap())
        .unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Other { .. })),
        "{err:?}"
    );
}

#[test]
fn verify_is_retried_with_growing_waits_then_succeeds() {
    let script = Script::new([
        Ok(answer(503, "")),
        Err(TransportError::timeout("global")),
        Ok(answer(200, VERIFIED)),
    ]);
    let clock = FakeClock::default();
    let outcome = client(&script, &clock)
        .verify(&pending(&config()), &callback())
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::Verified(_)));
    assert_eq!(clock.sleeps(), ms(&[250, 500]));
    let seen = script.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter().all(|s| s == &seen[0]),
        "every attempt sends the same request"
    );
}

#[test]
fn retries_stop_at_the_attempt_budget() {
    let script = Script::new((0..4).map(|_| Ok(answer(503, ""))));
    let clock = FakeClock::default();
    let err = client(&script, &clock)
        .verify(&pending(&config()), &callback())
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(script.seen().len(), 4);
    assert_eq!(clock.sleeps(), ms(&[250, 500, 1000]));
}

#[test]
fn try_again_codes_are_retried_others_not() {
    for code in [11, 25, 29, 49] {
        let script = Script::new([
            Ok(answer(400, &format!(r#"{{"{code}":"دوباره"}}"#))),
            Ok(answer(200, VERIFIED)),
        ]);
        let outcome =
            client(&script, &FakeClock::default()).verify(&pending(&config()), &callback());
        assert!(
            matches!(outcome, Ok(VerifyOutcome::Verified(_))),
            "code {code}"
        );
    }
    for code in [1, 39, 46, 47] {
        let script = Script::new([Ok(answer(400, &format!(r#"{{"{code}":"نه"}}"#)))]);
        let err = client(&script, &FakeClock::default())
            .verify(&pending(&config()), &callback())
            .unwrap_err();
        assert_eq!(err.code().map(PayPingCode::number), Some(code));
        assert_eq!(script.seen().len(), 1, "code {code} is final");
    }
}

#[test]
fn verify_retries_stop_before_the_deadline() {
    // A 600 ms window: the first wait (250 ms) ends inside it, the second (500 ms more)
    // would end past it.
    let config = config()
        .with_verify_window(Duration::from_millis(600))
        .unwrap();
    let script = Script::new((0..4).map(|_| Err(TransportError::timeout("global"))));
    let clock = FakeClock::default();
    let client = Client::builder(config.clone())
        .transport(script.transport())
        .clock(clock.clone())
        .build();
    let err = client.verify(&pending(&config), &callback()).unwrap_err();
    assert!(matches!(
        err,
        Error::Transport(TransportError::Timeout { .. })
    ));
    assert_eq!(script.seen().len(), 2);
    assert_eq!(clock.sleeps(), ms(&[250]));

    // A callback received long ago: its deadline has passed, so one attempt only.
    let script = Script::new([Err(TransportError::timeout("global"))]);
    let client = Client::builder(config.clone())
        .transport(script.transport())
        .clock(FakeClock::default())
        .build();
    let long_ago = FakeClock::start() - Duration::from_secs(3600);
    client
        .verify_received_at(&pending(&config), &callback(), long_ago)
        .unwrap_err();
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn a_lost_verify_answer_comes_back_already_verified() {
    let script = Script::new([
        Err(TransportError::connection_lost("closed after the request")),
        Ok(answer(400, ALREADY)),
    ]);
    let outcome = client(&script, &FakeClock::default())
        .verify(&pending(&config()), &callback())
        .unwrap();
    let VerifyOutcome::AlreadyVerified(already) = outcome else {
        panic!("expected AlreadyVerified, got {outcome:?}");
    };
    assert_eq!(already.amount().toman(), 250_000);
    assert_eq!(already.request_id().map(|id| id.as_str()), Some("req-1"));
    assert_eq!(script.paths(), ["/v2/pay/verify", "/v2/pay/verify"]);
}

#[test]
fn create_is_not_retried_by_default() {
    for failure in [
        Err(TransportError::timeout("global")),
        Err(TransportError::connection_lost("reset")),
        Ok(answer(503, "")),
    ] {
        let script = Script::new([failure]);
        let clock = FakeClock::default();
        let err = client(&script, &clock).create(new_payment()).unwrap_err();
        assert!(err.is_retryable(), "retryable in itself: {err:?}");
        assert_eq!(
            script.seen().len(),
            1,
            "a second create could be a second payment"
        );
        assert!(clock.sleeps().is_empty());
    }
}

#[test]
fn create_is_retried_when_opted_in_and_stamped_by_the_clock() {
    let script = Script::new([
        Err(TransportError::timeout("global")),
        Ok(answer(200, r#"{"code":"82a4f72"}"#)),
    ]);
    let clock = FakeClock::default();
    let client = Client::builder(config())
        .transport(script.transport())
        .clock(clock.clone())
        .retry_create(true)
        .build();
    let pending = client.create(new_payment()).unwrap();
    assert_eq!(pending.created_at(), FakeClock::start());
    assert_eq!(script.seen().len(), 2);
}

#[test]
fn cancel_and_report_are_retried() {
    let script = Script::new([
        Err(TransportError::connection_lost("reset")),
        Ok(answer(200, "")),
        Ok(answer(502, "<html>")),
        Ok(answer(200, r#"{"amount":250000,"isPaid":true}"#)),
    ]);
    let client = client(&script, &FakeClock::default());
    let pending = pending(client.config());
    client.cancel(&pending).unwrap();
    assert!(client.report(pending.code()).unwrap().is_paid());
    assert_eq!(
        script.paths(),
        [
            "/v2/pay/82a4f72",
            "/v2/pay/82a4f72",
            "/v1/report/82a4f72",
            "/v1/report/82a4f72"
        ]
    );
}

fn confirming(script: &Script) -> Client {
    Client::builder(config())
        .transport(script.transport())
        .clock(FakeClock::default())
        .confirm_with_report(true)
        .build()
}

#[test]
fn already_verified_is_confirmed_by_a_matching_report() {
    let script = Script::new([
        Ok(answer(400, ALREADY)),
        Ok(answer(
            200,
            r#"{"amount":250000,"isPaid":true,"clientRefId":"order-7"}"#,
        )),
    ]);
    let outcome = confirming(&script)
        .verify(&pending(&config()), &callback())
        .unwrap();
    assert!(matches!(outcome, VerifyOutcome::AlreadyVerified(_)));
    assert_eq!(script.paths(), ["/v2/pay/verify", "/v1/report/82a4f72"]);
}

#[test]
fn a_contradicting_report_is_its_own_error() {
    for report in [
        r#"{"amount":250000,"isPaid":false,"clientRefId":"order-7"}"#,
        r#"{"amount":1000,"isPaid":true,"clientRefId":"order-7"}"#,
        r#"{"amount":250000,"isPaid":true,"clientRefId":"order-8"}"#,
    ] {
        let script = Script::new([Ok(answer(400, ALREADY)), Ok(answer(200, report))]);
        let err = confirming(&script)
            .verify(&pending(&config()), &callback())
            .unwrap_err();
        let Error::ReportContradicts {
            code,
            expected_amount,
            ..
        } = &err
        else {
            panic!("{report}: expected ReportContradicts, got {err:?}");
        };
        assert_eq!(code.as_str(), "82a4f72");
        assert_eq!(*expected_amount, 250_000);
        assert!(!err.is_retryable());
        assert_eq!(err.request_id().map(|id| id.as_str()), Some("req-1"));
    }
}

#[test]
fn a_fresh_verify_or_no_confirmation_reads_no_report() {
    let script = Script::new([Ok(answer(200, VERIFIED))]);
    let outcome = confirming(&script).verify(&pending(&config()), &callback());
    assert!(matches!(outcome, Ok(VerifyOutcome::Verified(_))));
    assert_eq!(script.paths(), ["/v2/pay/verify"]);

    let script = Script::new([Ok(answer(400, ALREADY))]);
    let outcome = client(&script, &FakeClock::default()).verify(&pending(&config()), &callback());
    assert!(matches!(outcome, Ok(VerifyOutcome::AlreadyVerified(_))));
    assert_eq!(script.paths(), ["/v2/pay/verify"]);
}

#[test]
fn no_error_shows_the_token() {
    // Answers that echo the request, token included, as a debugging proxy might.
    let echo = format!("<html>Authorization: Bearer {TOKEN}</html>");
    let echo_json = format!(r#"{{"{TOKEN}":"Bearer {TOKEN}"}}"#);
    let echoed_id = http::Response::builder()
        .status(503)
        .header("X-PayPingRequest-ID", format!("Bearer {TOKEN}"))
        .body(Vec::new())
        .unwrap();
    let answers: Vec<Result<ghesta_core::HttpResponse, TransportError>> = vec![
        Ok(answer(502, &echo)),
        Ok(answer(400, &echo)),
        Ok(answer(400, &echo_json)),
        Ok(answer(200, &echo)),
        Ok(echoed_id),
        Ok(answer(401, "")),
        Ok(answer(404, "")),
        Ok(answer(302, "")),
        Ok(answer(200, r#"{"amount":1000}"#)),
        Ok(answer(400, r#"{"47":"x"}"#)),
        Err(TransportError::timeout("global")),
        Err(TransportError::BodyTooLarge { limit: 1 }),
    ];
    let mut errors = Vec::new();
    for a in answers {
        let script = Script::new([a]);
        let client = Client::builder(config())
            .transport(script.transport())
            .retry_policy(RetryPolicy::never())
            .build();
        errors.push(client.verify(&pending(&config()), &callback()).unwrap_err());
    }
    // Refused input, a mismatch and a contradicting report.
    errors.push(Error::from(ghesta_core::Amount::from_toman(1).unwrap_err()));
    let forged = match ghesta_core::Callback::from_form(b"code=other&refid=1&clientrefid=order-7")
        .unwrap()
    {
        ghesta_core::Callback::Completed(c) => c,
        ghesta_core::Callback::Cancelled(_) => unreachable!(),
    };
    errors.push(
        Client::new(config())
            .verify(&pending(&config()), &forged)
            .unwrap_err(),
    );
    let script = Script::new([
        Ok(answer(400, ALREADY)),
        Ok(answer(200, r#"{"isPaid":false}"#)),
    ]);
    errors.push(
        confirming(&script)
            .verify(&pending(&config()), &callback())
            .unwrap_err(),
    );

    for err in &errors {
        for text in [format!("{err}"), format!("{err:?}"), format!("{err:#?}")] {
            assert!(!text.contains(TOKEN), "the token leaked: {text}");
            assert!(!text.contains("S3CRET"), "part of the token leaked: {text}");
        }
    }
    // The echoed request id was dropped rather than shown.
    assert!(errors[4].request_id().is_none());
    // Something of the answer is still there to debug with.
    assert!(
        errors[0].to_string().contains("<redacted>"),
        "{}",
        errors[0]
    );
    // And the client's own Debug hides it.
    assert!(!format!("{:?}", Client::new(config())).contains("S3CRET"));
}
