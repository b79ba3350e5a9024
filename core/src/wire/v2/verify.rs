//! `POST /v2/pay/verify`: the body sent, and the amount and card read back.

use serde::Serialize;
use serde::de::MapAccess;

use crate::error::Error;
use crate::text::{CardHash, CardNumber, RefId};
use crate::wire::answer::Answer;
use crate::wire::json::Fields;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    ref_id: &'a str,
    amount: u64,
}

/// The body verifying `ref_id` for `wire_amount` (in the unit the payment was created in).
pub(crate) fn body(ref_id: &RefId, wire_amount: u64) -> Body<'_> {
    Body {
        ref_id: ref_id.as_str(),
        amount: wire_amount,
    }
}

#[derive(Default)]
struct Answered {
    amount: Option<u64>,
    // Read loosely: once PayPing has verified, a mangled card field must not hide it.
    card_number: Option<serde_json::Value>,
    card_hash_pan: Option<serde_json::Value>,
}

impl Fields for Answered {
    const KEYS: &'static [&'static str] = &["amount", "cardNumber", "cardHashPan"];
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.amount = Some(map.next_value()?),
            1 => self.card_number = map.next_value()?,
            _ => self.card_hash_pan = map.next_value()?,
        }
        Ok(())
    }
}

/// What a 200 verify answer says, before the step checks the amount.
pub(crate) struct Read {
    /// The amount PayPing verified, in the wire unit.
    pub(crate) amount: u64,
    pub(crate) card_number: Option<CardNumber>,
    pub(crate) card_hash: Option<CardHash>,
}

/// Reads a 200 verify answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<Read, Error> {
    let answered: Answered = answer.fields()?;
    let amount = answered
        .amount
        .ok_or_else(|| answer.malformed("missing field `amount`"))?;
    // PayPing has verified the payment by now: a card field it mangled is dropped, not
    // allowed to turn a paid order into an error.
    Ok(Read {
        amount,
        card_number: text(answered.card_number).and_then(|s| CardNumber::new(s).ok()),
        card_hash: text(answered.card_hash_pan).and_then(|s| CardHash::new(s).ok()),
    })
}

/// The string in a JSON value, if it is one.
fn text(value: Option<serde_json::Value>) -> Option<String> {
    match value {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}
