//! Answers every exchange shares: errors by status, request ids, snippets.

use super::*;

/// Parses `response` with each of the four exchanges, each expecting an error.
#[test]
fn retry_after_is_kept_on_statuses_that_mean_later() {
    for status in [503, 429] {
        let mut response = answer(status, "");
        response
            .headers_mut()
            .insert("retry-after", http::HeaderValue::from_static("7"));
        for (kind, error) in errors_of_all(&response) {
            assert_eq!(
                error.retry_after(),
                Some(Duration::from_secs(7)),
                "{kind:?} {status}"
            );
        }
    }
    let mut response = answer(400, r#"{"25":"later"}"#);
    response
        .headers_mut()
        .insert("retry-after", http::HeaderValue::from_static("7"));
    for (kind, error) in errors_of_all(&response) {
        assert_eq!(
            error.retry_after(),
            None,
            "{kind:?}: a 400 names its own code"
        );
    }
}

pub(crate) fn errors_of_all(response: &http::Response<Vec<u8>>) -> Vec<(ExchangeKind, Error)> {
    fn err<E: Exchange>(exchange: &E, response: &http::Response<Vec<u8>>) -> (ExchangeKind, Error)
    where
        E::Output: fmt::Debug,
    {
        let kind = exchange.kind();
        match exchange.parse_response(response.clone()) {
            Err(error) => (kind, error),
            Ok(output) => panic!("{kind:?} accepted {response:?} as {output:?}"),
        }
    }
    vec![
        err(&create(&config(), TOMAN), response),
        err(&verify(), response),
        err(&cancel(), response),
        err(&report(), response),
    ]
}

pub(crate) const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
    <center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

#[test]
fn status_401_and_403_with_empty_bodies_are_unauthorized() {
    for status in [401, 403] {
        for (kind, error) in errors_of_all(&answer(status, "")) {
            assert_eq!(
                error,
                Error::Unauthorized {
                    status: StatusCode::from_u16(status).unwrap(),
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert!(!error.is_retryable());
            assert!(!error.to_string().contains(TOKEN));
            assert!(error.to_string().contains(ID), "{error}");
        }
    }
}

#[test]
fn status_404_is_not_found() {
    for body in ["", r#"{"message":"not found"}"#] {
        for (kind, error) in errors_of_all(&answer(404, body)) {
            assert_eq!(
                error,
                Error::NotFound {
                    request_id: request_id()
                },
                "{kind:?}"
            );
            assert_eq!(error.status(), Some(StatusCode::NOT_FOUND));
            assert!(!error.is_retryable());
        }
    }
}

#[test]
fn status_5xx_is_unavailable_and_retryable() {
    for (status, body) in [(500, ""), (503, "Service Unavailable"), (502, NGINX_502)] {
        for (kind, error) in errors_of_all(&answer(status, body)) {
            assert_eq!(
                error,
                Error::Unavailable {
                    status: StatusCode::from_u16(status).unwrap(),
                    snippet: BodySnippet::of(body.as_bytes()),
                    retry_after: None,
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert!(error.is_retryable(), "{kind:?} {status}");
        }
    }
}

#[test]
fn a_proxy_html_page_is_kept_as_a_bounded_log_safe_snippet() {
    let big = format!("{NGINX_502}{}", "<!-- padding -->\n".repeat(2000));
    let Error::Unavailable { snippet, .. } = &errors_of_all(&answer(504, big.as_str()))[0].1 else {
        panic!("expected Unavailable");
    };
    assert_eq!(snippet.total_len(), big.len());
    assert!(snippet.as_str().len() <= 256);
    assert!(
        snippet
            .as_str()
            .starts_with("<html>  <head><title>502 Bad Gateway")
    );
    assert!(!snippet.as_str().contains(['\r', '\n']));
    let Error::Unavailable { snippet, .. } = &errors_of_all(&answer(502, NGINX_502))[1].1 else {
        panic!("expected Unavailable");
    };
    assert!(snippet.as_str().contains("nginx"));
}

#[test]
fn other_statuses_are_unexpected_and_redirects_are_not_followed() {
    for (status, retryable) in [(302, false), (301, false), (405, false), (429, true)] {
        let mut response = answer(status, "moved");
        response
            .headers_mut()
            .insert("location", "https://evil.example/".parse().unwrap());
        for (kind, error) in errors_of_all(&response) {
            assert_eq!(
                error,
                Error::UnexpectedStatus {
                    status: StatusCode::from_u16(status).unwrap(),
                    snippet: BodySnippet::of(b"moved"),
                    retry_after: None,
                    request_id: request_id(),
                },
                "{kind:?}"
            );
            assert_eq!(error.is_retryable(), retryable, "{status}");
        }
    }
}

pub(crate) fn rejection(error: &Error) -> &ghesta_core::Rejection {
    match error {
        Error::Rejected(rejection) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn status_400_with_a_code_map() {
    let body = r#"{"26":"کد پرداخت پیدا نشد"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{kind:?}");
        assert_eq!(r.code(), Some(PayPingCode::PaymentCodeNotFound));
        assert_eq!(r.message(), Some("کد پرداخت پیدا نشد"));
        assert_eq!(r.entries().len(), 1);
        assert_eq!(r.request_id(), request_id().as_ref());
        assert_eq!(error.code(), Some(PayPingCode::PaymentCodeNotFound));
        assert_eq!(error.request_id(), request_id().as_ref());
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_a_field_map() {
    let body = r#"{"amount":"مبلغ باید بین 100 تا 50000000 باشد"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        assert_eq!(r.code(), None, "{kind:?}");
        assert_eq!(r.entries()[0].key, ErrorKey::Field("amount".into()));
        assert_eq!(r.message(), Some("مبلغ باید بین 100 تا 50000000 باشد"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_several_keys_keeps_them_in_order() {
    let body =
        r#"{"returnUrl":"آدرس نامعتبر","amount":"مبلغ نامعتبر","12":"خطای بانک","25":"موقتا"}"#;
    for (kind, error) in errors_of_all(&answer(400, body)) {
        let r = rejection(&error);
        let keys: Vec<_> = r.entries().iter().map(|e| e.key.clone()).collect();
        assert_eq!(
            keys,
            [
                ErrorKey::Field("returnUrl".into()),
                ErrorKey::Field("amount".into()),
                ErrorKey::Code(PayPingCode::BankInternalError),
                ErrorKey::Code(PayPingCode::TemporarilyUnavailable),
            ],
            "{kind:?}"
        );
        // The first code is the one to act on; 12 is not a "try again" code.
        assert_eq!(r.code(), Some(PayPingCode::BankInternalError));
        assert_eq!(r.message(), Some("آدرس نامعتبر"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_an_unknown_code_keeps_it() {
    for (kind, error) in errors_of_all(&answer(400, r#"{"77":"خطای جدید"}"#)) {
        assert_eq!(error.code(), Some(PayPingCode::Other(77)), "{kind:?}");
        assert_eq!(rejection(&error).message(), Some("خطای جدید"));
        assert!(!error.is_retryable());
    }
}

#[test]
fn status_400_with_a_try_again_code_is_retryable() {
    for number in [11, 25, 29, 49] {
        let body = format!(r#"{{"{number}":"دوباره تلاش کنید"}}"#);
        for (kind, error) in errors_of_all(&answer(400, body)) {
            assert_eq!(error.code().map(PayPingCode::number), Some(number));
            assert!(error.is_retryable(), "{kind:?} {number}");
        }
    }
}

/// Asserts a [`Error::MalformedResponse`] with this status, the answer's request id, a
/// snippet of `body`, and a reason naming `rule` (the rule the body breaks: a body refused
/// for another reason proves nothing about that rule; `|` separates wordings that name it).
pub(crate) fn assert_malformed(error: &Error, status: u16, body: &[u8], rule: &str) {
    match error {
        Error::MalformedResponse {
            status: got,
            reason,
            snippet,
            request_id: id,
        } => {
            assert_eq!(got.as_u16(), status);
            assert!(!reason.is_empty() && reason.len() <= 256, "{reason}");
            let named = rule.split('|').any(|rule| reason.contains(rule));
            assert!(named, "{body:?}: {reason:?} does not name {rule:?}");
            assert_eq!(snippet, &BodySnippet::of(body));
            assert_eq!(id, &request_id());
            // A body cut short on a success or 5xx may read whole next time; a 4xx will not.
            let retryable = (200..300).contains(&status) || status >= 500;
            assert_eq!(error.is_retryable(), retryable, "{body:?}");
        }
        other => panic!("expected MalformedResponse for {body:?}, got {other:?}"),
    }
}

#[test]
fn status_400_bodies_that_are_not_error_maps_are_malformed() {
    for (body, rule) in [
        ("", "EOF"),
        ("{}", "empty error object"),
        ("[]", "object"),
        (r#"["15"]"#, "object"),
        (r#""15""#, "object"),
        (r#"{"15":"قبلا"#, "EOF"),
        (r#"{"15":"x"} trailing"#, "trailing"),
        ("<html><body>Bad Request</body></html>", "expected value"),
        ("null", "object"),
    ] {
        for (kind, error) in errors_of_all(&answer(400, body)) {
            assert_malformed(&error, 400, body.as_bytes(), rule);
            let _ = kind;
        }
    }
}

#[test]
fn a_missing_or_unprintable_request_id_is_none_and_any_header_case_is_read() {
    let plain = http::Response::builder()
        .status(401)
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&plain) {
        assert_eq!(error.request_id(), None);
    }
    let lower = http::Response::builder()
        .status(401)
        .header("x-paypingrequest-id", "abc")
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&lower) {
        assert_eq!(error.request_id().map(RequestId::as_str), Some("abc"));
    }
    let long = http::Response::builder()
        .status(401)
        .header(REQUEST_ID_HEADER, "a".repeat(10_000))
        .body(Vec::new())
        .unwrap();
    for (_, error) in errors_of_all(&long) {
        assert_eq!(error.request_id(), None, "an overlong id is dropped");
    }
}
