//! The verified payment record v3 answers with: a 200 verify's body, and the earlier result
//! a 409 (code 110, already verified) carries in `metaData.message`.

use serde::de::MapAccess;

use crate::text::{CardHash, CardNumber};
use crate::wire::json::{Fields, LooseText};
use crate::wire::verify::Kept;

/// The record's fields, as PayPing spells them in camelCase.
#[derive(Default)]
pub(crate) struct Record {
    /// The amount verified, in the wire unit.
    pub(crate) amount: Option<u64>,
    /// The payment code the record is for.
    pub(crate) code: Option<String>,
    // Read loosely: once PayPing has verified, a mangled card field must not hide it.
    card_number: LooseText,
    card_hash_pan: LooseText,
    payed_date: LooseText,
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
    /// The card fields and payment date, moved out of the record (no copy).
    pub(crate) fn into_kept(self) -> Kept {
        Kept {
            card_number: self.card_number.0.and_then(|s| CardNumber::new(s).ok()),
            card_hash: self.card_hash_pan.0.and_then(|s| CardHash::new(s).ok()),
            paid_at: self
                .payed_date
                .0
                .filter(|s| s.len() <= 64 && !s.chars().any(char::is_control)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json;

    fn kept(body: &str) -> Kept {
        json::read::<Record>(body.as_bytes())
            .unwrap_or_else(|e| panic!("{body}: {e}"))
            .into_kept()
    }

    #[test]
    fn string_fields_are_kept_as_sent() {
        let kept = kept(
            r#"{"amount":1,"cardNumber":"603799******1234","cardHashPan":"9f86","payedDate":"2026-11-30T05:03:00Z"}"#,
        );
        assert_eq!(kept.card_number.unwrap().as_str(), "603799******1234");
        assert_eq!(kept.card_hash.unwrap().as_str(), "9f86");
        assert_eq!(kept.paid_at.as_deref(), Some("2026-11-30T05:03:00Z"));
    }

    #[test]
    fn a_field_of_another_type_is_read_and_dropped_never_an_error() {
        for value in [
            "6037991234",
            "-1",
            "1.5",
            "true",
            "null",
            "[1,[2]]",
            r#"{"a":{"b":1}}"#,
        ] {
            let body = format!(
                r#"{{"amount":1,"cardNumber":{value},"cardHashPan":{value},"payedDate":{value}}}"#
            );
            let kept = kept(&body);
            assert!(
                kept.card_number.is_none() && kept.card_hash.is_none() && kept.paid_at.is_none(),
                "{body}"
            );
        }
    }

    #[test]
    fn invalid_text_is_dropped_and_broken_json_refused() {
        let short = kept(r#"{"amount":1,"cardNumber":"","payedDate":"a\u0001b"}"#);
        assert!(short.card_number.is_none() && short.paid_at.is_none());
        let long = format!(r#"{{"amount":1,"payedDate":"{}"}}"#, "1".repeat(65));
        assert!(kept(&long).paid_at.is_none());
        assert!(json::read::<Record>(br#"{"amount":1,"cardNumber":[1,}"#).is_err());
    }
}
