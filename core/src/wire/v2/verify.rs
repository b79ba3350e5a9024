//! `POST /v2/pay/verify`: the body sent, and what its answer says, whatever its status.

use http::StatusCode;
use serde::Serialize;
use serde::de::MapAccess;

use crate::code::PayPingCode;
use crate::error::Error;
use crate::rejection::ErrorKey;
use crate::text::{CardHash, CardNumber, RefId};
use crate::wire::answer::Answer;
use crate::wire::json::{Fields, LooseText};
use crate::wire::v2::errors;
use crate::wire::verify::{Kept, Said, When};

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
    card_number: LooseText,
    card_hash_pan: LooseText,
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

/// Reads a verify answer of any status: a 200, and a 400 whose only entry is code 15
/// ("already verified"), say the payment is verified; anything else is the error it says.
pub(crate) fn read(answer: Answer<'_>) -> Result<Said, Error> {
    match answer.status {
        StatusCode::OK => {
            let answered: Answered = answer.fields()?;
            let amount = answered
                .amount
                .ok_or_else(|| answer.malformed("missing field `amount`"))?;
            // PayPing has verified the payment by now: a card field it mangled is dropped,
            // not allowed to turn a paid order into an error.
            let kept = Kept {
                card_number: answered.card_number.0.and_then(|s| CardNumber::new(s).ok()),
                card_hash: answered.card_hash_pan.0.and_then(|s| CardHash::new(s).ok()),
                paid_at: None,
            };
            Ok(Said {
                when: When::Now,
                amount: Some(amount),
                code: None,
                kept,
                message: None,
                request_id: answer.into_request_id(),
            })
        }
        // The body is read once, for the outcome or for the refusal it is.
        StatusCode::BAD_REQUEST => match errors::read(answer.body) {
            // Only a body that says 15 and nothing else: `{"15":..,"47":..}` is ambiguous
            // and stays an error, never a reason to ship.
            Ok(mut entries)
                if entries.len() == 1
                    && entries[0].key == ErrorKey::Code(PayPingCode::AlreadyVerified) =>
            {
                Ok(Said {
                    when: When::Before,
                    amount: None,
                    code: None,
                    kept: Kept::default(),
                    message: entries.pop().map(|entry| entry.message),
                    request_id: answer.into_request_id(),
                })
            }
            entries => Err(errors::refusal(answer, entries)),
        },
        _ => Err(errors::failure(answer)),
    }
}
