//! What a verify answer says, in the one shape both protocols' readers give the step: which
//! payment and amount PayPing named (when it named them), what it said beside them.

use crate::request_id::RequestId;
use crate::text::{CardHash, CardNumber};

/// When PayPing says the payment was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Now: v2's and v3's 200.
    Now,
    /// Before (v2: a 400 whose only entry is code 15; v3: a 409 with code 110).
    Before,
}

/// A verify answer that says the payment is verified, before the step checks it against
/// the record.
pub(crate) struct Said {
    pub(crate) when: When,
    /// The amount PayPing named, in the wire unit (v2's and v3's 200; the earlier record of
    /// v3's 409, when it has one).
    pub(crate) amount: Option<u64>,
    /// The payment code PayPing named (v3 only: its record's `code`).
    pub(crate) code: Option<String>,
    pub(crate) kept: Kept,
    /// PayPing's message (the "already verified" answers).
    pub(crate) message: Option<String>,
    /// The answer's request id (v3's `paypingTraceId` when it sent one).
    pub(crate) request_id: Option<RequestId>,
}

/// What an answer says beside its amount and code, each kept only when valid.
#[derive(Default)]
pub(crate) struct Kept {
    /// The masked card number, if PayPing sent a valid one.
    pub(crate) card_number: Option<CardNumber>,
    /// The card hash, if PayPing sent a valid one.
    pub(crate) card_hash: Option<CardHash>,
    /// When the buyer paid (v3's `payedDate`, as sent), if it is short printable text.
    pub(crate) paid_at: Option<String>,
}
