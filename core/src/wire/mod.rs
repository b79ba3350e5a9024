//! The bytes on the wire, private to the crate: every JSON key, form key and path PayPing
//! spells, per protocol.
//!
//! The step files (`create.rs`, `verify.rs`, ...) hold what a step means and checks (the
//! stored amount, the record's code, the deadline), written once; the modules here hold how
//! one protocol spells it, and hand the step plain typed values. A second protocol adds a
//! module here, not a second copy of a step.

pub(crate) mod answer;
pub(crate) mod callback;
pub(crate) mod create;
pub(crate) mod form;
pub(crate) mod json;
pub(crate) mod v2;
pub(crate) mod v3;
pub(crate) mod verify;

use crate::error::Error;
use crate::gateway::Protocol;
use crate::wire::answer::Answer;

/// The typed error for an answer of a status other than a success, read as its protocol
/// writes refusals.
pub(crate) fn failure(answer: Answer<'_>) -> Error {
    match answer.protocol {
        Protocol::V2 => v2::errors::failure(answer),
        Protocol::V3 => v3::errors::failure(answer),
    }
}

/// A payment page: the path before the code (one segment) and what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) before_code: &'static str,
    pub(crate) after_code: &'static str,
}
