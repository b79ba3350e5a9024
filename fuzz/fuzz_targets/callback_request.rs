//! `Callback::from_request` on an arbitrary `http::Request`: method, URI (with its query),
//! headers (the content type among them) and body, each from the input; parts `http`
//! refuses are skipped.
//!
//! Input shape: `METHOD URI` on the first line, `name: value` lines, an empty line, the body.
//!
//! Holds: only POST and GET are read; a POST is read exactly as `from_form` reads its body,
//! and only with exactly one form content type; a GET is read exactly as `from_query` reads
//! its query; accepted callbacks round-trip through `to_form()`.
#![no_main]

use ghesta_core::http::{self, Method};
use ghesta_core::{Callback, CallbackError};
use libfuzzer_sys::fuzz_target;

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
    match method {
        Method::POST => {
            if result.is_ok() {
                let content_types = request.headers().get_all(http::header::CONTENT_TYPE);
                assert_eq!(
                    content_types.iter().count(),
                    1,
                    "one content type, not several"
                );
                assert_eq!(result, Callback::from_form(carved.body));
            }
        }
        Method::GET => {
            let query = request.uri().query().unwrap_or("");
            assert_eq!(result, Callback::from_query(query));
        }
        _ => assert!(matches!(
            result,
            Err(CallbackError::MethodNotAllowed { .. })
        )),
    }
    ghesta_fuzz::check_callback(&result);
});
