//! The callback PayPing makes the buyer's browser send to the shop's return URL: the exact
//! form the spec's curl command sends (captured bytes in `tests/data/`), its GET twin, the
//! spellings real senders use, and every refusal with its variant and HTTP status.

use ghesta_core::http::{self, Method, StatusCode};
use ghesta_core::{Callback, CallbackError, Field, MAX_CALLBACK_BYTES, Rule};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What `curl --data-urlencode` sent for the spec's callback command, byte for byte
/// (see `tests/data/README.md`): a space became `+`, `*` became `%2A`, Persian text UTF-8
/// percent-encoded.
const CURL_COMPLETED: &[u8] = include_bytes!("data/curl-callback-completed.form");
/// The same command for a payment the buyer cancelled: `refid`, `cardnumber`, `cardhashpan`
/// empty.
const CURL_CANCELLED: &[u8] = include_bytes!("data/curl-callback-cancelled.form");

const CODE: &str = "82a4f72b91";
const REF_ID: &str = "1234567890";
const CLIENT_REF_ID: &str = "سفارش ۱۰۴۲-ب";
const CARD_NUMBER: &str = "6037-99**-****-1234";
const CARD_HASH: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";

const FORM: &str = "application/x-www-form-urlencoded";

fn post(content_type: Option<&str>, body: &[u8]) -> http::Request<Vec<u8>> {
    let mut builder = http::Request::post("/ghesta/callback");
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    builder.body(body.to_vec()).unwrap()
}

fn post_form(body: &[u8]) -> http::Request<Vec<u8>> {
    post(Some(FORM), body)
}

fn get(path_and_query: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path_and_query).body(Vec::new()).unwrap()
}

fn parse(request: &http::Request<Vec<u8>>) -> Callback {
    Callback::from_request(request).unwrap_or_else(|e| panic!("{request:?} refused: {e}"))
}

fn refusal(request: &http::Request<Vec<u8>>) -> CallbackError {
    match Callback::from_request(request) {
        Err(error) => error,
        Ok(callback) => panic!("{request:?} accepted as {callback:?}"),
    }
}

fn form_refusal(body: &str) -> CallbackError {
    refusal(&post_form(body.as_bytes()))
}

/// Asserts a completed callback carrying the curl command's values.
fn assert_curl_values(callback: &Callback) {
    let Callback::Completed(completed) = callback else {
        panic!("expected a completed callback, got {callback:?}");
    };
    assert_eq!(completed.code().as_str(), CODE);
    assert_eq!(completed.ref_id().as_str(), REF_ID);
    assert_eq!(
        completed.client_ref_id().map(|c| c.as_str()),
        Some(CLIENT_REF_ID)
    );
    assert_eq!(
        completed.card_number().map(|c| c.as_str()),
        Some(CARD_NUMBER)
    );
    assert_eq!(completed.card_hash().map(|c| c.as_str()), Some(CARD_HASH));
    assert_eq!(callback.code().as_str(), CODE);
    assert_eq!(
        callback.client_ref_id().map(|c| c.as_str()),
        Some(CLIENT_REF_ID)
    );
}

// ---------------------------------------------------------------------------------------
// What PayPing sends.
// ---------------------------------------------------------------------------------------

#[test]
fn the_spec_curl_form_as_a_post() {
    assert!(CURL_COMPLETED.starts_with(b"code=82a4f72b91&refid=1234567890&clientrefid=%D8%B3"));
    let callback = parse(&post_form(CURL_COMPLETED));
    assert_curl_values(&callback);
    assert_eq!(Callback::from_form(CURL_COMPLETED).unwrap(), callback);
}

#[test]
fn the_spec_curl_form_as_a_get_query() {
    let query = std::str::from_utf8(CURL_COMPLETED).unwrap();
    let by_post = parse(&post_form(CURL_COMPLETED));
    let by_get = parse(&get(&format!("/ghesta/callback?{query}")));
    assert_curl_values(&by_get);
    assert_eq!(by_get, by_post);
    assert_eq!(Callback::from_query(query).unwrap(), by_post);
    assert_eq!(Callback::from_query(&format!("?{query}")).unwrap(), by_post);
    // A return URL with its own query keeps working: unknown keys are ignored.
    let shop = parse(&get(&format!(
        "/ghesta/callback?order=1042&lang=fa&{query}"
    )));
    assert_eq!(shop, by_post);
}

#[test]
fn other_encoders_of_the_same_values_agree_with_curl() {
    let values = [
        ("code", CODE),
        ("refid", REF_ID),
        ("clientrefid", CLIENT_REF_ID),
        ("cardnumber", CARD_NUMBER),
        ("cardhashpan", CARD_HASH),
    ];
    let curl = parse(&post_form(CURL_COMPLETED));
    // A browser's form encoding: `*` and `-` left as they are, a space as `+`.
    let browser = serde_urlencoded::to_string(values).unwrap();
    assert!(
        browser.contains("cardnumber=6037-99**-****-1234"),
        "{browser}"
    );
    assert_eq!(parse(&post_form(browser.as_bytes())), curl);
    // Everything but letters and digits escaped, a space as `%20`.
    let strict: Vec<String> = values
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
        .collect();
    let strict = strict.join("&");
    assert!(strict.contains("%2D") && strict.contains("%20"), "{strict}");
    assert_eq!(parse(&post_form(strict.as_bytes())), curl);
}

#[test]
fn to_form_reads_back_as_the_same_callback() {
    for body in [CURL_COMPLETED, CURL_CANCELLED] {
        let callback = Callback::from_form(body).unwrap();
        assert_eq!(
            Callback::from_form(callback.to_form().as_bytes()).unwrap(),
            callback
        );
    }
}

#[test]
fn the_spec_curl_form_of_a_cancelled_payment() {
    let callback = parse(&post_form(CURL_CANCELLED));
    let Callback::Cancelled(cancelled) = &callback else {
        panic!("expected a cancelled callback, got {callback:?}");
    };
    assert_eq!(cancelled.code().as_str(), CODE);
    assert_eq!(
        cancelled.client_ref_id().map(|c| c.as_str()),
        Some(CLIENT_REF_ID)
    );
}

#[test]
fn a_blank_or_padded_refid_is_refused_never_read_as_cancelled() {
    // PayPing sends an empty refid for "not paid" and never a blank or padded one: such a
    // value was mangled or forged, and a padded one would reach verify as another reference.
    for (form, rule) in [
        ("code=82a4f72b91&refid=+&clientrefid=order-7", Rule::Blank),
        (
            "code=82a4f72b91&refid=%20%20&clientrefid=order-7",
            Rule::Blank,
        ),
        (
            "code=82a4f72b91&refid=+123456789+&clientrefid=order-7",
            Rule::Padded,
        ),
        (
            "code=82a4f72b91&refid=123456789%C2%A0&clientrefid=order-7",
            Rule::Padded,
        ),
    ] {
        for result in [
            Callback::from_form(form.as_bytes()),
            Callback::from_query(form),
        ] {
            match result {
                Err(CallbackError::InvalidField {
                    name: "refid",
                    source,
                }) if source.rule() == &rule => {}
                other => panic!("{form}: expected refid {rule:?}, got {other:?}"),
            }
        }
    }
    // A tab is a control character before it is padding.
    assert!(matches!(
        Callback::from_form(b"code=82a4f72b91&refid=++%09&clientrefid=order-7"),
        Err(CallbackError::InvalidField { name: "refid", .. })
    ));
}

#[test]
fn a_refid_that_is_empty_or_missing_means_cancelled() {
    for form in [
        "code=82a4f72b91&refid=&clientrefid=order-7",
        "code=82a4f72b91&refid&clientrefid=order-7",
        "code=82a4f72b91&clientrefid=order-7",
        "code=82a4f72b91&refid=&clientrefid=order-7&cardnumber=&cardhashpan=",
        // Card fields without a refid do not make it a payment.
        "code=82a4f72b91&refid=&clientrefid=order-7&cardnumber=603799******1234",
    ] {
        for callback in [
            parse(&post_form(form.as_bytes())),
            parse(&get(&format!("/cb?{form}"))),
        ] {
            let Callback::Cancelled(cancelled) = &callback else {
                panic!("{form}: expected cancelled, got {callback:?}");
            };
            assert_eq!(cancelled.code().as_str(), CODE, "{form}");
            assert_eq!(
                cancelled.client_ref_id().map(|c| c.as_str()),
                Some("order-7")
            );
        }
    }
    let no_ref = parse(&post_form(b"code=82a4f72b91&refid="));
    assert_eq!(no_ref.client_ref_id(), None);
    assert!(no_ref.to_string().contains("not completed"));
}

#[test]
fn keys_match_in_any_case() {
    let lower = parse(&post_form(CURL_COMPLETED));
    let query = std::str::from_utf8(CURL_COMPLETED).unwrap();
    let mixed = query
        .replace("clientrefid=", "ClientRefId=")
        .replace("code=", "Code=")
        .replace("&refid=", "&RefId=")
        .replace("cardnumber=", "CardNumber=")
        .replace("cardhashpan=", "CardHashPan=");
    assert!(mixed.starts_with("Code=82a4f72b91&RefId=1234567890&ClientRefId="));
    assert_eq!(parse(&post_form(mixed.as_bytes())), lower);
    let upper = query
        .replace("clientrefid=", "CLIENTREFID=")
        .replace("code=", "CODE=")
        .replace("&refid=", "&REFID=");
    assert_eq!(parse(&post_form(upper.as_bytes())), lower);
    assert_eq!(parse(&get(&format!("/cb?{mixed}"))), lower);
    // A percent-encoded key is the same key.
    let encoded = query.replacen("code=", "%63ode=", 1);
    assert_eq!(parse(&post_form(encoded.as_bytes())), lower);
}

#[test]
fn plus_and_percent_escapes_are_decoded() {
    let client_ref = |form: &str| -> String {
        parse(&post_form(form.as_bytes()))
            .client_ref_id()
            .map(|c| c.as_str().to_owned())
            .unwrap()
    };
    let with = |value: &str| format!("code=c&refid=1&clientrefid={value}");
    assert_eq!(client_ref(&with("order+7")), "order 7");
    assert_eq!(client_ref(&with("order%2B7")), "order+7");
    assert_eq!(client_ref(&with("a%26b%3Dc")), "a&b=c");
    assert_eq!(client_ref(&with("%d8%b3%D9%81")), "سف");
    assert_eq!(client_ref(&with("%25")), "%");
    // Raw UTF-8, as some senders do not escape it, is text too.
    assert_eq!(client_ref(&with("سفارش")), "سفارش");
    // ZWNJ, which Persian needs, passes.
    assert_eq!(client_ref(&with("%E2%80%8C")), "\u{200c}");
    let Callback::Completed(card) =
        parse(&post_form(b"code=c&refid=1&cardnumber=6037-99**-****-1234"))
    else {
        panic!("expected completed");
    };
    assert_eq!(card.card_number().map(|c| c.as_str()), Some(CARD_NUMBER));
}

#[test]
fn unknown_keys_and_empty_pairs_are_ignored() {
    let callback = parse(&post_form(
        b"&&utm_source=x&code=c&&refid=1&Amount=999&state=1&extra=%FF&",
    ));
    let Callback::Completed(completed) = callback else {
        panic!("expected completed");
    };
    assert_eq!(completed.code().as_str(), "c");
    assert_eq!(completed.ref_id().as_str(), "1");
}

#[test]
fn the_content_type_may_carry_a_utf8_charset_and_any_case() {
    for content_type in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "application/x-www-form-urlencoded;charset=utf-8",
        "application/x-www-form-urlencoded; charset=\"utf-8\"",
        "application/x-www-form-urlencoded ; charset = UTF-8 ",
        "application/x-www-form-urlencoded; charset=us-ascii",
        "Application/X-WWW-Form-URLEncoded",
        "application/x-www-form-urlencoded; boundary=ignored",
    ] {
        assert_curl_values(&parse(&post(Some(content_type), CURL_COMPLETED)));
    }
}

#[test]
fn a_post_reads_its_body_not_its_query() {
    let request = http::Request::post("/cb?code=forged&refid=9")
        .header("content-type", FORM)
        .body(CURL_COMPLETED.to_vec())
        .unwrap();
    assert_curl_values(&parse(&request));
}

// ---------------------------------------------------------------------------------------
// Refusals.
// ---------------------------------------------------------------------------------------

#[test]
fn a_body_over_the_cap_is_refused_unread() {
    let padding = |total: usize| {
        let mut body = CURL_COMPLETED.to_vec();
        body.extend_from_slice(b"&pad=");
        body.resize(total, b'x');
        body
    };
    let at_cap = padding(MAX_CALLBACK_BYTES);
    assert_curl_values(&parse(&post_form(&at_cap)));
    let over = padding(MAX_CALLBACK_BYTES + 1);
    let error = refusal(&post_form(&over));
    assert_eq!(
        error,
        CallbackError::TooLarge {
            limit: MAX_CALLBACK_BYTES
        }
    );
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Refused before anything else is looked at: even garbage over the cap is TooLarge.
    let garbage = vec![b'%'; 1 << 20];
    assert_eq!(
        refusal(&post_form(&garbage)),
        CallbackError::TooLarge {
            limit: MAX_CALLBACK_BYTES
        }
    );
    let query = format!(
        "/cb?{}&pad={}",
        std::str::from_utf8(CURL_COMPLETED).unwrap(),
        "x".repeat(MAX_CALLBACK_BYTES)
    );
    let error = refusal(&get(&query));
    assert_eq!(
        error,
        CallbackError::TooLarge {
            limit: MAX_CALLBACK_BYTES
        }
    );
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn an_empty_callback_is_refused() {
    for request in [
        post_form(b""),
        post_form(b"  \r\n"),
        get("/ghesta/callback"),
        get("/ghesta/callback?"),
    ] {
        let error = refusal(&request);
        assert_eq!(error, CallbackError::Empty, "{request:?}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn methods_other_than_post_and_get_are_refused() {
    for method in [
        Method::PUT,
        Method::HEAD,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ] {
        let request = http::Request::builder()
            .method(method.clone())
            .uri("/ghesta/callback?code=c&refid=1")
            .header("content-type", FORM)
            .body(CURL_COMPLETED.to_vec())
            .unwrap();
        let error = refusal(&request);
        assert_eq!(
            error,
            CallbackError::MethodNotAllowed {
                method: method.clone()
            }
        );
        assert_eq!(error.status(), StatusCode::METHOD_NOT_ALLOWED);
    }
}

#[test]
fn a_post_of_another_content_type_is_refused() {
    for content_type in [
        "application/json",
        "multipart/form-data; boundary=----x",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded; charset=windows-1256",
        "application/x-www-form-urlencoded; charset=ISO-8859-1",
        "application/x-www-form-urlencoded; charset=utf-8; charset=windows-1256",
        "application/x-www-form-urlencoded-evil",
        "",
    ] {
        let error = refusal(&post(Some(content_type), CURL_COMPLETED));
        assert_eq!(
            error,
            CallbackError::UnsupportedContentType {
                received: Some(content_type.to_owned())
            }
        );
        assert_eq!(error.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let missing = refusal(&post(None, CURL_COMPLETED));
    assert_eq!(
        missing,
        CallbackError::UnsupportedContentType { received: None }
    );
    assert_eq!(missing.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A header that is not text is reported, made printable.
    let mut request = post_form(CURL_COMPLETED);
    request.headers_mut().insert(
        "content-type",
        http::HeaderValue::from_bytes(b"application/\xff").unwrap(),
    );
    assert_eq!(
        refusal(&request),
        CallbackError::UnsupportedContentType {
            received: Some("application/\u{fffd}".to_owned())
        }
    );
}

#[test]
fn a_malformed_percent_escape_is_refused_with_its_offset() {
    for (form, offset) in [
        ("code=%zz&refid=1", 5),
        ("code=ab%4&refid=1", 7),
        ("code=abc&refid=1%", 16),
        ("code=a%%41", 6),
        ("code=c&refid=1&clientrefid=%G1", 27),
        // Anywhere in the body, even in a key the parser would ignore.
        ("utm=%x1&code=c&refid=1", 4),
        ("c%ode=c", 1),
    ] {
        let error = form_refusal(form);
        assert_eq!(
            error,
            CallbackError::BadPercentEncoding { offset },
            "{form}"
        );
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            refusal(&get(&format!("/cb?{form}"))),
            CallbackError::BadPercentEncoding { offset },
            "{form}"
        );
    }
}

#[test]
fn a_value_that_is_not_utf8_once_decoded_is_refused() {
    for (form, name) in [
        ("code=%FF&refid=1", "code"),
        ("code=%C3%28&refid=1", "code"),
        ("code=c&refid=%C0%AF", "refid"),
        ("code=c&refid=1&clientrefid=%ED%A0%80", "clientrefid"),
        ("code=c&refid=1&cardnumber=6037%FE", "cardnumber"),
        ("code=c&refid=1&cardhashpan=%E2%82", "cardhashpan"),
    ] {
        let error = form_refusal(form);
        assert_eq!(error, CallbackError::InvalidUtf8 { name }, "{form}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
    // Raw bytes that are not UTF-8 (not escaped) are refused the same way.
    let error = refusal(&post_form(b"code=c&refid=1&clientrefid=\xd8"));
    assert_eq!(
        error,
        CallbackError::InvalidUtf8 {
            name: "clientrefid"
        }
    );
}

#[test]
fn a_key_given_twice_in_any_case_is_refused() {
    for (form, name) in [
        ("code=c&refid=1&code=c", "code"),
        ("code=c&Code=d&refid=1", "code"),
        ("%63ode=c&code=d", "code"),
        ("code=c&refid=1&REFID=2", "refid"),
        // An empty and a full refid: cancelled or paid? Neither is guessed.
        ("code=c&refid=&refid=2", "refid"),
        ("code=c&refid=1&clientrefid=a&ClientRefID=b", "clientrefid"),
        ("code=c&refid=1&cardnumber=1&CardNumber=1", "cardnumber"),
        ("code=c&refid=1&cardhashpan=&cardHashPan=", "cardhashpan"),
    ] {
        let error = form_refusal(form);
        assert_eq!(error, CallbackError::DuplicateField { name }, "{form}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            refusal(&get(&format!("/cb?{form}"))),
            CallbackError::DuplicateField { name }
        );
    }
}

#[test]
fn a_callback_without_a_code_is_refused() {
    for form in [
        "refid=1&clientrefid=order-7",
        "code=&refid=1",
        "code&refid=1",
        "codes=c&refid=1",
        "&",
    ] {
        let error = form_refusal(form);
        assert_eq!(
            error,
            CallbackError::MissingField { name: "code" },
            "{form}"
        );
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }
}

#[test]
fn control_and_bidi_characters_in_values_are_refused() {
    for (form, name) in [
        ("code=a%00b&refid=1", "code"),
        ("code=c&refid=1%0D%0A2", "refid"),
        ("code=c&refid=1&clientrefid=order%0A7", "clientrefid"),
        ("code=c&refid=1&clientrefid=order%E2%80%AE7", "clientrefid"),
        ("code=c&refid=1&cardnumber=%1B%5B31m6037", "cardnumber"),
        ("code=c&refid=1&cardhashpan=ab%7F", "cardhashpan"),
        // Checked on a cancelled callback too.
        ("code=c&refid=&clientrefid=x%00", "clientrefid"),
    ] {
        let error = form_refusal(form);
        let CallbackError::InvalidField { name: got, source } = &error else {
            panic!("{form}: expected InvalidField, got {error:?}");
        };
        assert_eq!(*got, name, "{form}");
        assert_eq!(source.rule(), &Rule::ControlCharacter, "{form}");
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        // The message names the field, never echoes the value.
        assert!(!error.to_string().contains('\n'));
    }
}

#[test]
fn values_beyond_their_bounds_are_refused() {
    let long_code = format!("code={}&refid=1", "a".repeat(65));
    let CallbackError::InvalidField { name, source } = form_refusal(&long_code) else {
        panic!("expected InvalidField");
    };
    assert_eq!(name, "code");
    assert_eq!(source.field(), Field::PaymentCode);
    assert_eq!(source.rule(), &Rule::TooLong { max: 64 });
    let dot = form_refusal("code=..&refid=1");
    assert!(
        matches!(&dot, CallbackError::InvalidField { name: "code", source } if source.rule() == &Rule::DotSegment),
        "{dot:?}"
    );
}

#[test]
fn refusals_map_to_the_statuses_a_shop_answers_with() {
    assert_eq!(
        CallbackError::MethodNotAllowed {
            method: Method::PUT
        }
        .status(),
        405
    );
    assert_eq!(CallbackError::TooLarge { limit: 1 }.status(), 413);
    assert_eq!(
        CallbackError::UnsupportedContentType { received: None }.status(),
        415
    );
    for error in [
        CallbackError::Empty,
        CallbackError::BadPercentEncoding { offset: 0 },
        CallbackError::InvalidUtf8 { name: "code" },
        CallbackError::DuplicateField { name: "code" },
        CallbackError::MissingField { name: "code" },
    ] {
        assert_eq!(error.status(), 400, "{error:?}");
    }
}

#[test]
fn the_cap_is_eight_kib() {
    // The documented cap, written out: a test reading `MAX_CALLBACK_BYTES` would follow the
    // constant wherever it went. A v3 form with a long `data` is well within it.
    let padded = |total: usize| {
        let mut body = CURL_COMPLETED.to_vec();
        body.extend_from_slice(b"&pad=");
        body.resize(total, b'x');
        body
    };
    assert_eq!(MAX_CALLBACK_BYTES, 8 * 1024);
    assert_curl_values(&parse(&post_form(&padded(8 * 1024))));
    assert_eq!(
        refusal(&post_form(&padded(8 * 1024 + 1))),
        CallbackError::TooLarge { limit: 8 * 1024 }
    );
}

#[test]
fn many_content_types_are_reported_joined_and_bounded() {
    let mut request = post_form(CURL_COMPLETED);
    let value = |i: usize| format!("text/x-{i:02}-{}", "a".repeat(40));
    for i in 1..100 {
        request
            .headers_mut()
            .append("content-type", value(i).parse().unwrap());
    }
    let CallbackError::UnsupportedContentType {
        received: Some(received),
    } = refusal(&request)
    else {
        panic!("two content types were not refused as one");
    };
    let all = std::iter::once(FORM.to_owned())
        .chain((1..100).map(value))
        .collect::<Vec<_>>()
        .join(", ");
    assert_eq!(
        received,
        all[..256],
        "the first 256 bytes of the values, joined"
    );
}

/// A v3 callback form whose `data` is `data`.
fn v3_form(status: &str, data: &str) -> String {
    serde_urlencoded::to_string([("status", status), ("errorCode", ""), ("data", data)]).unwrap()
}

#[test]
fn a_v3_callback_keeps_its_card_fields_and_reads_empty_ones_as_none() {
    let paid = |cards: &str| {
        let data = format!(r#"{{"paymentCode":"P1","paymentRefId":7781,"amount":250000{cards}}}"#);
        match Callback::from_form(v3_form("1", &data).as_bytes()) {
            Ok(Callback::Completed(c)) => c,
            other => panic!("{data}: {other:?}"),
        }
    };
    let full = paid(r#","cardNumber":"603799******1234","cardHashPan":"9f86""#);
    assert_eq!(
        full.card_number().map(|c| c.as_str()),
        Some("603799******1234")
    );
    assert_eq!(full.card_hash().map(|c| c.as_str()), Some("9f86"));
    // Some gateways leave the card fields to verify's answer: empty is none, not invalid.
    let empty = paid(r#","cardNumber":"","cardHashPan":"""#);
    assert_eq!(empty.card_number(), None);
    assert_eq!(empty.card_hash(), None);
}

#[test]
fn a_v3_status_echoed_in_an_error_is_cut_at_32_bytes_on_a_character() {
    // 1 + 2k bytes: byte 32 falls inside a character, so the cut steps back to 31.
    let status = format!("a{}", "é".repeat(40));
    let error = refusal(&post_form(v3_form(&status, "{}").as_bytes()));
    let CallbackError::Malformed { name, reason } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*name, "status");
    let kept = format!("a{}", "é".repeat(15));
    assert!(
        reason.starts_with(&format!("{kept:?} is neither")),
        "{reason}"
    );
}
