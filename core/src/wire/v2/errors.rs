//! v2's error body: a JSON object of PayPing codes or field names to messages.

use std::fmt;

use crate::code::PayPingCode;
use crate::rejection::{ErrorEntry, ErrorKey};
use crate::snippet::truncate;

/// How many entries of a 400 body are kept, and how long each message may be.
const MAX_ENTRIES: usize = 16;
const MAX_MESSAGE_BYTES: usize = 512;

/// Reads PayPing's 400 body: a JSON object of code or field name to message, in order.
pub(crate) fn read(body: &[u8]) -> Result<Vec<ErrorEntry>, String> {
    use serde::de::{Deserializer as _, MapAccess, Visitor};

    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<ErrorEntry>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of codes or field names to messages")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            // Every key seen, in ASCII lower case: a key twice, or twice in different case
            // (`amount` and `Amount`), says two things about one field and is read as
            // neither. Bounded by the body, which the transport caps.
            let mut seen = std::collections::HashSet::new();
            while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                if !seen.insert(key.to_ascii_lowercase()) {
                    return Err(serde::de::Error::custom(format_args!(
                        "the key {key:?} appears twice (keys that differ only in case count as \
                         the same key)"
                    )));
                }
                if entries.len() == MAX_ENTRIES {
                    continue; // read the rest so the JSON is still checked, keep none of it
                }
                let mut message = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                truncate(&mut message, MAX_MESSAGE_BYTES);
                let key = match code_in_key(&key) {
                    Some(n) => ErrorKey::Code(PayPingCode::from_number(n)),
                    None => {
                        let mut field = key;
                        truncate(&mut field, MAX_MESSAGE_BYTES);
                        ErrorKey::Field(field)
                    }
                };
                entries.push(ErrorEntry { key, message });
            }
            Ok(entries)
        }
    }

    let mut de = serde_json::Deserializer::from_slice(body);
    let entries = (&mut de)
        .deserialize_map(Entries)
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(entries)
}

/// The PayPing code a key of an error object names: only a canonical decimal
/// (`[1-9][0-9]*`, no sign, spaces or leading zeros) names one. `"015"` is a field name, not
/// code 15 ("already verified"): a loose reading could turn a proxy's odd key into a reason
/// to ship.
pub(crate) fn code_in_key(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    let canonical =
        matches!(bytes.first(), Some(b'1'..=b'9')) && bytes.iter().all(u8::is_ascii_digit);
    if !canonical {
        return None;
    }
    key.parse().ok()
}
