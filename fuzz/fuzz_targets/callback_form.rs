//! `Callback::from_form` on raw body bytes, as anyone on the internet can POST them.
//!
//! Holds: no panic; a body over the cap is refused unread; an accepted callback re-encodes
//! with `to_form()` and parses to the same value; the same bytes as a query parse the same.
#![no_main]

use ghesta_core::{Callback, CallbackError, MAX_CALLBACK_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let result = Callback::from_form(data);
    if data.len() > MAX_CALLBACK_BYTES {
        assert!(matches!(result, Err(CallbackError::TooLarge { .. })));
    }
    if let Ok(query) = std::str::from_utf8(data) {
        if !query.starts_with('?') {
            assert_eq!(Callback::from_query(query), result);
        }
    }
    ghesta_fuzz::check_callback(&result);
});
