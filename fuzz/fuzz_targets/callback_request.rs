//! `Callback::from_request` on an arbitrary `http::Request`: method, URI (with its query),
//! headers (the content type among them) and body, each from the input; parts `http`
//! refuses are skipped.
//!
//! Input shape: `METHOD URI` on the first line, `name: value` lines, an empty line, the body.
//!
//! Holds, each against the request as read here, not as the SDK reads it: a method other
//! than GET or POST is refused with 405; an accepted POST carried exactly one content type
//! whose media type is `application/x-www-form-urlencoded` (with no charset but UTF-8 or
//! US-ASCII), and a POST without one is refused with 415, while a plain form content type
//! is never refused for its own sake; an accepted POST says what its body says and an
//! accepted GET what its query says (see `check_accepted`), and either round-trips.
#![no_main]

use ghesta_core::http::{self, Method, header::CONTENT_TYPE};
use ghesta_core::{Callback, MAX_CALLBACK_BYTES};
use libfuzzer_sys::fuzz_target;

/// The content types of a request, as text (`None` for one that is not).
fn content_types(request: &http::Request<&[u8]>) -> Vec<Option<String>> {
    request
        .headers()
        .get_all(CONTENT_TYPE)
        .iter()
        .map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Whether `value` names the form media type (RFC 9110: case-insensitive, parameters after
/// `;`), and which charset it names, if any.
fn form_media_type(value: &str) -> (bool, Option<String>) {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset = parts.find_map(|p| {
        let (name, value) = p.split_once('=').unwrap_or((p, ""));
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    });
    (essence == "application/x-www-form-urlencoded", charset)
}

fuzz_target!(|data: &[u8]| {
    let carved = ghesta_fuzz::carve(data);
    let (method, uri) = match carved.start.iter().position(|b| *b == b' ') {
        Some(i) => (&carved.start[..i], &carved.start[i + 1..]),
        None => (carved.start, &b"/"[..]),
    };
    let Ok(method) = Method::from_bytes(method) else {
        return;
    };
    let Ok(uri) = http::Uri::try_from(uri) else {
        return;
    };
    let mut request = http::Request::new(carved.body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri;
    *request.headers_mut() = ghesta_fuzz::header_map(&carved.headers);

    let result = Callback::from_request(&request);
    if method != Method::GET && method != Method::POST {
        let error = result.expect_err("only GET and POST are callbacks");
        assert_eq!(error.status(), 405, "{error:?}");
        return;
    }
    let types = content_types(&request);
    let one_form_type = match &types[..] {
        [Some(value)] => {
            let (form, charset) = form_media_type(value);
            form && charset.is_none_or(|c| c == "utf-8" || c == "us-ascii")
        }
        _ => false,
    };
    // What the callback is read from: the body of a POST, the query of a GET.
    let query = request.uri().query().unwrap_or("");
    let source: &[u8] = if method == Method::POST {
        carved.body
    } else {
        query.strip_prefix('?').unwrap_or(query).as_bytes()
    };
    match &result {
        Ok(callback) => {
            if method == Method::POST {
                assert!(
                    one_form_type,
                    "a POST was read with content types {types:?}"
                );
            }
            assert!(
                source.len() <= MAX_CALLBACK_BYTES,
                "an over-cap callback was read"
            );
            ghesta_fuzz::check_accepted(source, callback);
        }
        Err(error) => {
            if method == Method::POST && !one_form_type {
                assert_eq!(error.status(), 415, "{types:?}: {error:?}");
            }
            if method == Method::POST
                && types.len() == 1
                && types[0].as_deref().map(form_media_type) == Some((true, None))
            {
                assert_ne!(error.status(), 415, "a plain form content type was refused");
            }
            ghesta_fuzz::check_refused(error);
        }
    }
});
