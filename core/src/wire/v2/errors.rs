//! v2's refusals: a 400 whose body is a JSON object of PayPing codes or field names to
//! messages; every other failure status reads as both protocols read it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use http::StatusCode;
use serde::de::{DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, Visitor};

use crate::code::{PayPingCode, code_in_key};
use crate::error::Error;
use crate::rejection::{ErrorEntry, ErrorKey, Rejection};
use crate::snippet::truncate;
use crate::wire::answer::Answer;

/// How many entries of a 400 body are kept, and how long each message may be.
const MAX_ENTRIES: usize = 16;
const MAX_MESSAGE_BYTES: usize = 512;

/// The error a v2 answer of a failure status is.
pub(crate) fn failure(answer: Answer<'_>) -> Error {
    if answer.status != StatusCode::BAD_REQUEST {
        return answer.by_status();
    }
    let entries = read(answer.body);
    refusal(answer, entries)
}

/// The refusal a 400 answer is, from its body as [`read`] read it (once): its entries, or
/// the answer as malformed when it has none or could not be read.
pub(crate) fn refusal(answer: Answer<'_>, entries: Result<Vec<ErrorEntry>, String>) -> Error {
    match entries {
        Ok(entries) if !entries.is_empty() => {
            let status = answer.status;
            Error::Rejected(Rejection::new(status, entries, answer.into_request_id()))
        }
        Ok(_) => answer.malformed("an empty error object"),
        Err(reason) => answer.malformed(reason),
    }
}

/// Reads PayPing's 400 body: a JSON object of code or field name to message, in order.
pub(crate) fn read(body: &[u8]) -> Result<Vec<ErrorEntry>, String> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<ErrorEntry>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of codes or field names to messages")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            // A key twice, or twice in different case (`amount` and `Amount`), says two
            // things about one field and is read as neither.
            let mut seen = SeenKeys::default();
            while let Some(key) = map.next_key_seed(KeyText)? {
                if seen.contains(&key) {
                    return Err(serde::de::Error::custom(format_args!(
                        "the key {key:?} appears twice (keys that differ only in case count as \
                         the same key)"
                    )));
                }
                if entries.len() == MAX_ENTRIES {
                    // Read the rest so the JSON is still checked; keep none of it.
                    map.next_value::<IgnoredAny>()?;
                    seen.insert(key);
                    continue;
                }
                let mut message = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                truncate(&mut message, MAX_MESSAGE_BYTES);
                let entry_key = match code_in_key(&key) {
                    Some(n) => ErrorKey::Code(PayPingCode::from_number(n)),
                    None => {
                        let mut field = key.as_ref().to_owned();
                        truncate(&mut field, MAX_MESSAGE_BYTES);
                        ErrorKey::Field(field)
                    }
                };
                seen.insert(key);
                entries.push(ErrorEntry {
                    key: entry_key,
                    message,
                });
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

/// A key as it lies in the body: borrowed, unless escapes made serde_json unescape it.
/// A code key is then never copied; only a field name that is kept is.
struct KeyText;

impl<'de> DeserializeSeed<'de> for KeyText {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyText {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E: serde::de::Error>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }
    // serde_json hands a key to `visit_borrowed_str`, or to `visit_str` when it had to
    // unescape it; never to `visit_string`.
    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

/// How many keys are compared one by one before they are hashed.
const FEW_KEYS: usize = 8;

/// The keys of one object so far, compared without regard to ASCII case. An error body has
/// a key or two: the first few are kept where they lie and compared one by one, with no
/// copy and no hashing. Past them, keys are hashed in lower case, so a body of many keys
/// (bounded by the body, which the transport caps) still costs time in proportion to it.
#[derive(Default)]
struct SeenKeys<'de> {
    few: [Option<Cow<'de, str>>; FEW_KEYS],
    count: usize,
    many: HashSet<String>,
}

impl<'de> SeenKeys<'de> {
    fn contains(&self, key: &str) -> bool {
        self.few
            .iter()
            .flatten()
            .any(|k| k.eq_ignore_ascii_case(key))
            || (!self.many.is_empty() && self.many.contains(&key.to_ascii_lowercase()))
    }

    fn insert(&mut self, key: Cow<'de, str>) {
        match self.few.get_mut(self.count) {
            Some(slot) => *slot = Some(key),
            None => {
                self.many.insert(key.to_ascii_lowercase());
            }
        }
        self.count += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gateway::Protocol;
    use crate::request_id::RequestId;

    fn id() -> Option<&'static str> {
        Some("req-1")
    }

    /// The error a v2 answer of `status` with `body` and these headers is.
    fn answered(
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
        request_id: Option<&str>,
    ) -> Error {
        let mut response = http::Response::builder().status(status);
        if let Some(wait) = retry_after {
            response = response.header("retry-after", wait.as_secs());
        }
        if let Some(id) = request_id {
            response = response.header("x-paypingrequest-id", id);
        }
        let response = response
            .body(crate::scrub::Scrubbed::Clean(body))
            .expect("a valid response");
        failure(Answer::of(&response, Protocol::V2))
    }

    #[test]
    fn entries_keep_order_codes_fields_and_unknowns() {
        let body = r#"{"amount":"مبلغ نامعتبر","15":"قبلا تایید شده","77":"جدید","x":3}"#;
        let Error::Rejected(r) = answered(StatusCode::BAD_REQUEST, body.as_bytes(), None, id())
        else {
            panic!("expected a rejection");
        };
        assert_eq!(r.code(), Some(PayPingCode::AlreadyVerified));
        let keys: Vec<_> = r.entries().iter().map(|e| e.key.clone()).collect();
        assert_eq!(
            keys,
            [
                ErrorKey::Field("amount".into()),
                ErrorKey::Code(PayPingCode::AlreadyVerified),
                ErrorKey::Code(PayPingCode::Other(77)),
                ErrorKey::Field("x".into()),
            ]
        );
        assert_eq!(r.entries()[3].message, "3");
        assert_eq!(r.message(), Some("مبلغ نامعتبر"));
        assert_eq!(r.request_id().map(RequestId::as_str), Some("req-1"));
    }

    #[test]
    fn statuses_map_to_variants() {
        let e =
            |s: u16, b: &str| answered(StatusCode::from_u16(s).unwrap(), b.as_bytes(), None, None);
        assert!(matches!(e(401, ""), Error::Unauthorized { .. }));
        assert!(matches!(e(403, ""), Error::Unauthorized { .. }));
        assert!(matches!(e(404, ""), Error::NotFound { .. }));
        assert!(matches!(e(500, ""), Error::Unavailable { .. }));
        assert!(matches!(e(502, "<html>"), Error::Unavailable { .. }));
        assert!(matches!(e(302, ""), Error::UnexpectedStatus { .. }));
        assert!(matches!(e(400, "<html>"), Error::MalformedResponse { .. }));
        assert!(matches!(e(400, "{}"), Error::MalformedResponse { .. }));
        assert!(matches!(e(400, "[1]"), Error::MalformedResponse { .. }));
        assert!(matches!(
            e(400, r#"{"1":"a"} x"#),
            Error::MalformedResponse { .. }
        ));
    }

    #[test]
    fn retryable() {
        let e =
            |s: u16, b: &str| answered(StatusCode::from_u16(s).unwrap(), b.as_bytes(), None, None);
        assert!(e(503, "").is_retryable());
        assert!(e(400, r#"{"25":"x"}"#).is_retryable());
        assert!(!e(400, r#"{"47":"x"}"#).is_retryable());
        assert!(!e(401, "").is_retryable());
        assert!(e(429, "").is_retryable());
        assert!(
            !e(400, "<html>").is_retryable(),
            "a 4xx that cannot be read will not improve"
        );
        let cut = Error::malformed(StatusCode::OK, "EOF", b"{\"amo", None);
        assert!(
            cut.is_retryable(),
            "a 200 cut short may read whole next time"
        );
    }

    #[test]
    fn a_key_twice_in_any_case_is_refused_however_many_keys_lie_between() {
        for n in [0, 1, 6, 7, 8, 9, 40] {
            let filler: String = (0..n).map(|i| format!(r#""f{i}":"x","#)).collect();
            for (first, twin) in [
                (r#""amount":"a""#, r#""AMOUNT":"b""#),
                (r#""15":"a""#, r#""15":"b""#),
                (r#""am\u006funt":"a""#, r#""Amount":"b""#),
            ] {
                let body = format!("{{{first},{filler}{twin}}}");
                assert!(read(body.as_bytes()).is_err(), "{body}");
                let body = format!("{{{filler}{first},{twin}}}");
                assert!(read(body.as_bytes()).is_err(), "{body}");
            }
            let distinct = format!(r#"{{{filler}"amount":"a","15":"b","016":"c"}}"#);
            let entries = read(distinct.as_bytes()).unwrap_or_else(|e| panic!("{distinct}: {e}"));
            assert_eq!(entries.len(), (n + 3).min(MAX_ENTRIES), "{distinct}");
        }
    }

    /// A 400 body of another shape is malformed, and the reason says what was expected.
    #[test]
    fn a_refusal_of_another_shape_says_what_was_expected() {
        for body in [&b"[1]"[..], b"\"15\"", b"15"] {
            let Error::MalformedResponse { reason, .. } =
                answered(StatusCode::BAD_REQUEST, body, None, None)
            else {
                panic!("{body:?}: expected a malformed answer");
            };
            assert!(
                reason.contains("expected an object of codes or field names to messages"),
                "{reason}"
            );
        }
    }

    #[test]
    fn messages_are_bounded() {
        let body = format!(r#"{{"{}":"{}"}}"#, "k".repeat(2000), "م".repeat(2000));
        let Error::Rejected(r) = answered(StatusCode::BAD_REQUEST, body.as_bytes(), None, None)
        else {
            panic!("expected a rejection");
        };
        assert!(r.entries()[0].message.len() <= 512);
        let many: String = (0..100)
            .map(|i| format!(r#""{i}":"m""#))
            .collect::<Vec<_>>()
            .join(",");
        let Error::Rejected(r) = answered(
            StatusCode::BAD_REQUEST,
            format!("{{{many}}}").as_bytes(),
            None,
            None,
        ) else {
            panic!("expected a rejection");
        };
        assert_eq!(r.entries().len(), 16);
    }

    #[test]
    fn retry_after_is_kept_only_where_it_means_later() {
        let e = answered(
            StatusCode::SERVICE_UNAVAILABLE,
            b"",
            Some(Duration::from_secs(3)),
            None,
        );
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        let e = answered(
            StatusCode::BAD_REQUEST,
            br#"{"25":"x"}"#,
            Some(Duration::from_secs(3)),
            None,
        );
        assert_eq!(
            e.retry_after(),
            None,
            "only statuses that mean 'later' carry it"
        );
    }
}
