//! `POST /v3/pay`'s answer: the code, page and fees read back. (Its body is
//! [`crate::wire::create`]'s.)

use serde::de::MapAccess;

use crate::error::Error;
use crate::fees::Fees;
use crate::text::PaymentCode;
use crate::wire::answer::Answer;
use crate::wire::json::Fields;

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
