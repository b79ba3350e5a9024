//! Reading a JSON success body in one pass: the fields an answer needs, and any error code.
//!
//! A 200 whose body also names a PayPing error code (`{"amount":250000,"47":"..."}`) says
//! two things at once and is read as neither. Checking that in a second pass over the body
//! doubled the cost of reading an answer; here the same pass that reads the fields sees
//! every key, borrowed, and allocates only for the values kept.

use std::fmt;

use serde::Deserialize;
use serde::de::{
    DeserializeSeed, Deserializer as _, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use crate::code::code_in_key;

/// The fields of one success answer, filled in as their keys are met.
pub(crate) trait Fields: Default {
    /// The keys read, exactly as PayPing spells them (at most 64). A key that differs from
    /// one of them only in ASCII case is refused.
    const KEYS: &'static [&'static str];

    /// Whether keys are matched without regard to ASCII case (v3's already-verified record,
    /// which PayPing documents in PascalCase and camelCase alike). A key twice, in any case,
    /// is refused either way.
    const ANY_CASE: bool = false;

    /// Whether a numeric key (a v2 error code) beside the fields makes the answer say two
    /// things. True for v2 answers; v3 answers carry their codes in problem details.
    const REFUSE_CODE_KEYS: bool = true;

    /// Reads the value of `KEYS[index]` from `map`.
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error>;

    /// Fails the build of any reader whose `KEYS` holds two keys that differ only in case:
    /// the key lookup relies on an exact match and a case-folded one finding the same key.
    const NO_CASE_TWINS: () = assert!(no_case_twins(Self::KEYS), "case twins in KEYS");
}

/// Whether no two of `keys` are equal but for ASCII case.
const fn no_case_twins(keys: &[&str]) -> bool {
    let mut i = 0;
    while i < keys.len() {
        let a = keys[i].as_bytes();
        let mut j = i + 1;
        while j < keys.len() {
            let b = keys[j].as_bytes();
            if a.len() == b.len() {
                let mut k = 0;
                while k < a.len() && a[k].eq_ignore_ascii_case(&b[k]) {
                    k += 1;
                }
                if k == a.len() {
                    return false;
                }
            }
            j += 1;
        }
        i += 1;
    }
    true
}

/// No fields: for answers whose body only needs checking for error codes.
#[derive(Default)]
pub(crate) struct NoFields;

impl Fields for NoFields {
    const KEYS: &'static [&'static str] = &[];
    fn read<'de, A: MapAccess<'de>>(&mut self, _: usize, _: &mut A) -> Result<(), A::Error> {
        Ok(())
    }
}

/// Why a success body could not be read.
pub(crate) enum BodyError {
    /// Not one whole JSON object.
    Json(serde_json::Error),
    /// The value of a documented key could not be read (wrong type, out of range).
    Field(&'static str, serde_json::Error),
    /// The object names a PayPing error code.
    ErrorCode,
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(e) => write!(f, "{e}"),
            Self::Field(key, e) => write!(f, "`{key}`: {e}"),
            Self::ErrorCode => f.write_str("a success status with PayPing error codes in the body"),
        }
    }
}

/// Reads `body` as one JSON object into `F`, refusing duplicate known keys and error codes.
pub(crate) fn read<F: Fields>(body: &[u8]) -> Result<F, BodyError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    // The key whose value failed, so the error names the field ("`amount`: invalid type").
    let failed = std::cell::Cell::new(None);
    let (fields, names_code) = (&mut de)
        .deserialize_map(Object::<F> {
            failed: &failed,
            fields: std::marker::PhantomData,
        })
        .map_err(|e| match failed.get() {
            Some(key) => BodyError::Field(key, e),
            None => BodyError::Json(e),
        })?;
    de.end().map_err(BodyError::Json)?;
    if names_code && F::REFUSE_CODE_KEYS {
        return Err(BodyError::ErrorCode);
    }
    Ok(fields)
}

/// An object inside an answer, read by the same rules (known keys once, case twins refused).
/// Its numeric keys are not error codes: only a top-level v2 answer has those.
pub(crate) struct Nested<F>(pub(crate) F);

impl<'de, F: Fields> serde::Deserialize<'de> for Nested<F> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let failed = std::cell::Cell::new(None);
        let (fields, _) = de.deserialize_map(Object::<F> {
            failed: &failed,
            fields: std::marker::PhantomData,
        })?;
        Ok(Self(fields))
    }
}

/// Whether `body` is one JSON object one of whose keys is a PayPing error code.
pub(crate) fn names_error_code(body: &[u8]) -> bool {
    matches!(read::<NoFields>(body), Err(BodyError::ErrorCode))
}

struct Object<'a, F> {
    failed: &'a std::cell::Cell<Option<&'static str>>,
    fields: std::marker::PhantomData<F>,
}

impl<'de, F: Fields> Visitor<'de> for Object<'_, F> {
    type Value = (F, bool);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(F, bool), A::Error> {
        #[allow(clippy::let_unit_value)] // evaluated for its compile-time check
        let () = F::NO_CASE_TWINS;
        let mut fields = F::default();
        let mut seen = 0_u64;
        let mut names_code = false;
        while let Some(key) = map.next_key_seed(KeySeed(F::KEYS, F::ANY_CASE))? {
            match key {
                Key::Known(index) => {
                    // The same key twice is ambiguous: which amount was verified?
                    if seen & (1 << index) != 0 {
                        if F::ANY_CASE {
                            return Err(A::Error::custom(format_args!(
                                "the key `{}` appears twice (keys that differ only in case \
                                 count as the same key)",
                                F::KEYS[index]
                            )));
                        }
                        return Err(A::Error::duplicate_field(F::KEYS[index]));
                    }
                    seen |= 1 << index;
                    if let Err(e) = fields.read(index, &mut map) {
                        self.failed.set(Some(F::KEYS[index]));
                        return Err(e);
                    }
                }
                Key::CaseTwin(index) => {
                    // `Amount` beside (or instead of) `amount`: a reader that ignores case,
                    // as PayPing's own .NET one does, would see another amount than this
                    // reader, so the answer says two things and is read as neither.
                    return Err(A::Error::custom(format_args!(
                        "a key differs only in case from `{}`",
                        F::KEYS[index]
                    )));
                }
                Key::Code => {
                    names_code = true;
                    map.next_value::<IgnoredAny>()?;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((fields, names_code))
    }
}

enum Key {
    Known(usize),
    /// A key equal to a known one but for ASCII case.
    CaseTwin(usize),
    Code,
    Other,
}

/// Classifies a key where it lies (borrowed, or in serde_json's scratch buffer): the known
/// keys, and whether they are matched without regard to case.
struct KeySeed(&'static [&'static str], bool);

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Key, D::Error> {
        de.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Key, E> {
        // Most keys are spelled exactly as listed: a plain comparison finds them faster than
        // the case-folding one, and finds the same index, since no two listed keys differ
        // only in case (`Fields::NO_CASE_TWINS` fails the build otherwise).
        if let Some(index) = self.0.iter().position(|k| *k == key) {
            return Ok(Key::Known(index));
        }
        // Past the exact comparison, a key found here differs from a listed one in case.
        Ok(
            match self.0.iter().position(|k| k.eq_ignore_ascii_case(key)) {
                Some(index) if self.1 => Key::Known(index),
                Some(index) => Key::CaseTwin(index),
                None if code_in_key(key).is_some() => Key::Code,
                None => Key::Other,
            },
        )
    }
}

/// A JSON value kept only when it is a string: any other value (a number, `null`, an
/// object) is read whole, checked as JSON, and dropped. The string is read straight into
/// its `String`, with no `serde_json::Value` between.
#[derive(Default)]
pub(crate) struct LooseText(pub(crate) Option<String>);

impl<'de> Deserialize<'de> for LooseText {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(Loose)
    }
}

struct Loose;

impl<'de> Visitor<'de> for Loose {
    type Value = LooseText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    // serde_json's `deserialize_any` hands a string to `visit_str` (or `visit_borrowed_str`,
    // which calls it), `null` to `visit_unit`, and never calls `visit_string`, `visit_none`
    // or `visit_some`: those are left to serde's defaults.
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LooseText, E> {
        Ok(LooseText(Some(v.to_owned())))
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<LooseText, E> {
        Ok(LooseText(None))
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<LooseText, E> {
        Ok(LooseText(None))
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<LooseText, E> {
        Ok(LooseText(None))
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<LooseText, E> {
        Ok(LooseText(None))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<LooseText, E> {
        Ok(LooseText(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LooseText, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(LooseText(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LooseText, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(LooseText(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::ErrorKey;
    use crate::wire::v2::errors::read as parse_entries;

    #[test]
    fn case_twins_are_found() {
        assert!(no_case_twins(&["amount", "code", "cardNumber"]));
        assert!(no_case_twins(&[]));
        assert!(!no_case_twins(&["amount", "code", "Amount"]));
        assert!(!no_case_twins(&["cardHashPan", "CARDHASHPAN"]));
    }

    #[test]
    fn error_codes_are_found_as_parse_entries_finds_them() {
        let by_entries = |body: &str| {
            parse_entries(body.as_bytes())
                .is_ok_and(|entries| entries.iter().any(|e| matches!(e.key, ErrorKey::Code(_))))
        };
        for (body, expected) in [
            (r#"{"15":"x"}"#, true),
            (r#"{"amount":1250000,"cardNumber":"6037","15":null}"#, true),
            (r#"{" 47 ":{"a":[1,2]}}"#, false),
            (r#"{"015":"x"}"#, false),
            (r#"{"+15":"x"}"#, false),
            (r#"{"0":"x"}"#, false),
            (r#"{"15":"escaped"}"#, true),
            (r#"{"amount":1250000,"cardNumber":"6037"}"#, false),
            (r#"{"a":{"15":"nested"}}"#, false),
            (r#"{"-1":"x","1.5":"y","99999999999":"z"}"#, false),
            (r#"{"15":"x"} trailing"#, false),
            (r#"{"15":"x""#, false),
            (r#"[{"15":"x"}]"#, false),
            ("", false),
        ] {
            assert_eq!(names_error_code(body.as_bytes()), expected, "{body}");
            assert_eq!(by_entries(body), expected, "{body}");
        }
    }

    #[derive(Default, Debug, PartialEq)]
    struct One {
        amount: Option<u64>,
    }

    impl Fields for One {
        const KEYS: &'static [&'static str] = &["amount"];
        fn read<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
            self.amount = Some(map.next_value()?);
            Ok(())
        }
    }

    #[test]
    fn fields_are_read_once_exactly_and_with_codes_refused() {
        let ok = |body: &str| read::<One>(body.as_bytes()).ok();
        assert_eq!(ok(r#"{"amount":5}"#), Some(One { amount: Some(5) }));
        assert_eq!(
            ok(r#"{"x":[1,{"amount":2}],"amount":5}"#),
            Some(One { amount: Some(5) })
        );
        for twins in [
            r#"{"amount":5,"Amount":1}"#,
            r#"{"AMOUNT":1,"amount":5}"#,
            r#"{"Amount":5}"#,
        ] {
            assert!(
                matches!(read::<One>(twins.as_bytes()), Err(BodyError::Json(_))),
                "{twins}: a reader ignoring case sees another amount; read as neither"
            );
        }
        assert_eq!(ok("{}"), Some(One { amount: None }));
        assert!(matches!(
            read::<One>(br#"{"amount":5,"amount":6}"#),
            Err(BodyError::Json(_))
        ));
        assert!(matches!(
            read::<One>(br#"{"amount":5,"47":"x"}"#),
            Err(BodyError::ErrorCode)
        ));
        match read::<One>(br#"{"amount":"5"}"#) {
            Err(e @ BodyError::Field("amount", _)) => assert!(
                e.to_string().starts_with("`amount`: invalid type: string"),
                "{e}"
            ),
            _ => panic!("a wrong type names its field"),
        }
        assert!(matches!(
            read::<One>(br#"{"amount":5} {}"#),
            Err(BodyError::Json(_))
        ));
        assert!(matches!(read::<One>(b"[5]"), Err(BodyError::Json(_))));
    }

    /// The reason a malformed answer gives says what PayPing should have sent.
    #[test]
    fn a_body_of_another_shape_says_an_object_was_expected() {
        for body in ["[5]", "5", r#""amount""#] {
            match read::<One>(body.as_bytes()) {
                Err(e @ BodyError::Json(_)) => {
                    assert!(
                        e.to_string().contains("expected a JSON object"),
                        "{body}: {e}"
                    );
                }
                _ => panic!("{body}: not an object"),
            }
        }
    }
}
