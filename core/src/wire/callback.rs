//! The callback form's keys of both protocols, and which protocol a form speaks.
//!
//! v2's form (`code`, `refid`, `clientrefid`, `cardnumber`, `cardhashpan`) and v3's
//! (`status`, `errorCode`, `data`) share no key, so a form says by its shape which it is; a
//! form with keys of both says two things and is refused.

use crate::callback::{Callback, CallbackError};
use crate::wire::form::Form;
use crate::wire::{v2, v3};

/// Every key either protocol's callback has, matched without regard to case: v2's first,
/// then v3's.
pub(crate) const KEYS: [&str; 8] = [
    "code",
    "refid",
    "clientrefid",
    "cardnumber",
    "cardhashpan",
    "status",
    "errorCode",
    "data",
];

/// A callback form, read for every key of both protocols.
pub(crate) type CallbackForm<'a> = Form<'a, 8>;

/// Where v3's keys start in [`KEYS`].
pub(crate) const V3_FIRST: usize = 5;

/// Reads a callback form of either protocol.
pub(crate) fn read(body: &[u8]) -> Result<Callback, CallbackError> {
    let form = Form::parse(body, &KEYS)?;
    let has_v2 = (0..V3_FIRST).any(|i| form.has(i));
    let has_v3 = (V3_FIRST..KEYS.len()).any(|i| form.has(i));
    match (has_v2, has_v3) {
        (true, true) => Err(CallbackError::MixedProtocols),
        (false, true) => v3::callback::read(&form),
        // v2's reader names what is missing (`code`) when the form has neither shape.
        _ => v2::callback::read(&form),
    }
}
