//! The bytes on the wire, private to the crate: every JSON key, form key and path PayPing
//! spells, per protocol.
//!
//! The step files (`create.rs`, `verify.rs`, ...) hold what a step means and checks (the
//! stored amount, the record's code, the deadline), written once; the modules here hold how
//! one protocol spells it, and hand the step plain typed values. A second protocol adds a
//! module here, not a second copy of a step.

pub(crate) mod callback;
pub(crate) mod form;
pub(crate) mod json;
pub(crate) mod v2;
pub(crate) mod v3;
