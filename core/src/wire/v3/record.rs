//! The verified payment record v3 answers with: a 200 verify's body, and the earlier result
//! a 409 (code 110, already verified) carries in `metaData.message`.

use serde::de::MapAccess;

use crate::text::{CardHash, CardNumber};
use crate::wire::json::Fields;

/// The record's fields, as PayPing spells them in camelCase.
#[derive(Default)]
pub(crate) struct Record {
    /// The amount verified, in the wire unit.
    pub(crate) amount: Option<u64>,
    /// The payment code the record is for.
    pub(crate) code: Option<String>,
    // Read loosely: once PayPing has verified, a mangled card field must not hide it.
    card_number: Option<serde_json::Value>,
    card_hash_pan: Option<serde_json::Value>,
    payed_date: Option<serde_json::Value>,
}

const KEYS: &[&str] = &["amount", "code", "cardNumber", "cardHashPan", "payedDate"];

fn read_field<'de, A: MapAccess<'de>>(
    record: &mut Record,
    index: usize,
    map: &mut A,
) -> Result<(), A::Error> {
    match index {
        0 => record.amount = Some(map.next_value()?),
        1 => record.code = Some(map.next_value()?),
        2 => record.card_number = map.next_value()?,
        3 => record.card_hash_pan = map.next_value()?,
        _ => record.payed_date = map.next_value()?,
    }
    Ok(())
}

impl Fields for Record {
    const KEYS: &'static [&'static str] = KEYS;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        read_field(self, index, map)
    }
}

/// The same record read without regard to key case: PayPing documents the 409's earlier
/// result in PascalCase (`Amount`, `Code`) while its schema says camelCase. A key twice, in
/// any case, is still refused.
#[derive(Default)]
pub(crate) struct AnyCaseRecord(pub(crate) Record);

impl Fields for AnyCaseRecord {
    const KEYS: &'static [&'static str] = KEYS;
    const ANY_CASE: bool = true;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        read_field(&mut self.0, index, map)
    }
}

impl Record {
    /// The masked card number, if PayPing sent a valid one.
    pub(crate) fn card_number(&self) -> Option<CardNumber> {
        text(&self.card_number).and_then(|s| CardNumber::new(s).ok())
    }

    /// The card hash, if PayPing sent a valid one.
    pub(crate) fn card_hash(&self) -> Option<CardHash> {
        text(&self.card_hash_pan).and_then(|s| CardHash::new(s).ok())
    }

    /// When the buyer paid (`payedDate`, as sent), if it is short printable text.
    pub(crate) fn paid_at(&self) -> Option<String> {
        text(&self.payed_date)
            .filter(|s| s.len() <= 64 && !s.chars().any(char::is_control))
            .map(str::to_owned)
    }
}

/// The string in a JSON value, if it is one.
fn text(value: &Option<serde_json::Value>) -> Option<&str> {
    match value {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}
