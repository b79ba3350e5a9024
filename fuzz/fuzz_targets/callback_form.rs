//! `Callback::from_form` on raw body bytes, as anyone on the internet can POST them.
//!
//! Holds: no panic; a body over the cap is refused unread; an accepted callback says what
//! the body says, read by serde_urlencoded alone (each of PayPing's keys at most once in
//! any case, escapes well formed, the code, refid, clientrefid and card fields the form's),
//! and round-trips through `to_form()`; a refusal's message stays bounded.
#![no_main]

use ghesta_core::{Callback, CallbackError, MAX_CALLBACK_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Callback::from_form(data) {
        Ok(callback) => {
            assert!(
                data.len() <= MAX_CALLBACK_BYTES,
                "an over-cap body was read"
            );
            ghesta_fuzz::check_accepted(data, &callback);
        }
        Err(e) => {
            if data.len() > MAX_CALLBACK_BYTES {
                assert!(matches!(e, CallbackError::TooLarge { .. }), "{e:?}");
            }
            ghesta_fuzz::check_refused(&e);
        }
    }
});
