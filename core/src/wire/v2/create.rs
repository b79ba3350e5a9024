//! `POST /v2/pay`: the body sent, and the code read back.

use serde::Serialize;
use serde::de::MapAccess;

use crate::amount::AmountUnit;
use crate::create::NewPayment;
use crate::error::Error;
use crate::exchange::Answer;
use crate::text::{Description, PayerName, PaymentCode};
use crate::wire::json::Fields;

/// The request body, in the order PayPing's spec lists the fields. v3 spells the same fields
/// the same way and adds `isReversible`, so it sends this body too.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    amount: u64,
    payer_identity: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payer_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    return_url: &'a str,
    client_ref_id: &'a str,
    /// v3 only, and sent only when asked for: a payment must be created reversible to be
    /// refunded. (v2 has no refund: its create refuses a reversible payment before this.)
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_reversible: bool,
}

/// The body for `payment`, its amount in `unit` (v2: never reversible).
pub(crate) fn body(payment: &NewPayment, unit: AmountUnit) -> Body<'_> {
    Body {
        is_reversible: false,
        ..body_of(payment, unit)
    }
}

/// The body for `payment` as both protocols spell it, `isReversible` as the payment asks.
pub(crate) fn body_of(payment: &NewPayment, unit: AmountUnit) -> Body<'_> {
    Body {
        amount: payment.amount().in_unit(unit),
        payer_identity: payment.mobile().as_str(),
        payer_name: payment.payer_name().map(PayerName::as_str),
        description: payment.description().map(Description::as_str),
        return_url: payment.return_url().as_str(),
        client_ref_id: payment.client_ref_id().as_str(),
        is_reversible: payment.is_reversible(),
    }
}

#[derive(Default)]
struct Created {
    code: Option<String>,
}

impl Fields for Created {
    const KEYS: &'static [&'static str] = &["code"];
    fn read<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.code = Some(map.next_value()?);
        Ok(())
    }
}

/// The payment code of a 200 answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<PaymentCode, Error> {
    let created: Created = answer.fields()?;
    let code = created
        .code
        .ok_or_else(|| answer.malformed("missing field `code`"))?;
    PaymentCode::new(code).map_err(|e| answer.malformed(e))
}
