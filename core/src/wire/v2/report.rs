//! `GET /v1/report/{code}`: PayPing's `PaymentDetailsViewModel` (the v1 route both protocols
//! use), the fields reconciliation needs, with the `refId` and `paymentStatus` its current
//! answer adds.

use serde::de::MapAccess;

use crate::error::Error;
use crate::wire::answer::Answer;
use crate::wire::json::Fields;

/// Every field is optional on the wire (absent or `null` stays `None`).
#[derive(Default)]
pub(crate) struct Read {
    pub(crate) amount: Option<u64>,
    pub(crate) is_paid: Option<bool>,
    pub(crate) req_date: Option<String>,
    pub(crate) pay_date: Option<String>,
    pub(crate) client_ref_id: Option<String>,
    pub(crate) invoice_no: Option<String>,
    pub(crate) payer_identity: Option<String>,
    /// A string, or the number PayPing may write it as.
    pub(crate) ref_id: Option<RefIdValue>,
    pub(crate) payment_status: Option<i64>,
}

/// `refId` as PayPing writes it: text, or a whole number.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum RefIdValue {
    Text(String),
    Number(u64),
}

impl RefIdValue {
    pub(crate) fn into_text(self) -> String {
        match self {
            Self::Text(text) => text,
            Self::Number(n) => n.to_string(),
        }
    }
}

impl Fields for Read {
    const KEYS: &'static [&'static str] = &[
        "amount",
        "isPaid",
        "reqDate",
        "payDate",
        "clientRefId",
        "invoiceNo",
        "payerIdentity",
        "refId",
        "paymentStatus",
    ];
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.amount = map.next_value()?,
            1 => self.is_paid = map.next_value()?,
            2 => self.req_date = map.next_value()?,
            3 => self.pay_date = map.next_value()?,
            4 => self.client_ref_id = map.next_value()?,
            5 => self.invoice_no = map.next_value()?,
            6 => self.payer_identity = map.next_value()?,
            7 => self.ref_id = map.next_value()?,
            _ => self.payment_status = map.next_value()?,
        }
        Ok(())
    }
}

/// Reads a 200 report answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<Read, Error> {
    answer.fields()
}
