//! `GET /v1/report/{code}`: PayPing's `PaymentDetailsViewModel`, the fields reconciliation
//! needs.

use serde::de::MapAccess;

use crate::error::Error;
use crate::exchange::Answer;
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
    ];
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.amount = map.next_value()?,
            1 => self.is_paid = map.next_value()?,
            2 => self.req_date = map.next_value()?,
            3 => self.pay_date = map.next_value()?,
            4 => self.client_ref_id = map.next_value()?,
            5 => self.invoice_no = map.next_value()?,
            _ => self.payer_identity = map.next_value()?,
        }
        Ok(())
    }
}

/// Reads a 200 report answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<Read, Error> {
    answer.fields()
}
