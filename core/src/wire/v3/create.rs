//! `POST /v3/pay`: the body sent, and the code, page and fees read back.

use serde::Serialize;
use serde::de::MapAccess;

use crate::amount::AmountUnit;
use crate::create::NewPayment;
use crate::error::Error;
use crate::exchange::Answer;
use crate::pending::Fees;
use crate::text::{Description, PayerName, PaymentCode};
use crate::wire::json::Fields;

/// The request body: camelCase as PayPing's spec lists it, `clientRefId` always a JSON
/// string (PayPing's own plugins were fixed for sending it as a number).
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
    /// Sent only when asked for: a payment must be created reversible to be refunded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_reversible: bool,
}

/// The body for `payment`, its amount in `unit`.
pub(crate) fn body(payment: &NewPayment, unit: AmountUnit) -> Body<'_> {
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
    payment_code: Option<String>,
    url: Option<String>,
    amount: Option<u64>,
    gateway_amount: Option<u64>,
    payer_wage: Option<u64>,
    business_wage: Option<u64>,
    payping_vat: Option<u64>,
}

impl Fields for Created {
    const KEYS: &'static [&'static str] = &[
        "paymentCode",
        "url",
        "amount",
        "gatewayAmount",
        "payerWage",
        "businessWage",
        "paypingVat",
    ];
    const REFUSE_CODE_KEYS: bool = false;

    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.payment_code = Some(map.next_value()?),
            1 => self.url = map.next_value()?,
            2 => self.amount = map.next_value()?,
            3 => self.gateway_amount = map.next_value()?,
            4 => self.payer_wage = map.next_value()?,
            5 => self.business_wage = map.next_value()?,
            _ => self.payping_vat = map.next_value()?,
        }
        Ok(())
    }
}

/// What a 200 create answer says, before the step checks it.
pub(crate) struct Read {
    pub(crate) code: PaymentCode,
    /// Where PayPing says to send the buyer; the step decides whether to trust it.
    pub(crate) url: Option<String>,
    /// The amount PayPing created the payment for, in the wire unit, if it said.
    pub(crate) amount: Option<u64>,
    pub(crate) fees: Fees,
}

/// Reads a 200 create answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<Read, Error> {
    let created: Created = answer.fields()?;
    let code = created
        .payment_code
        .ok_or_else(|| answer.malformed("missing field `paymentCode`"))?;
    Ok(Read {
        code: PaymentCode::new(code).map_err(|e| answer.malformed(e))?,
        url: created.url,
        amount: created.amount,
        fees: Fees {
            gateway_amount: created.gateway_amount,
            payer_wage: created.payer_wage,
            business_wage: created.business_wage,
            payping_vat: created.payping_vat,
        },
    })
}
