//! v2's refusals: a 400 whose body is a JSON object of PayPing codes or field names to
//! messages; every other failure status reads as both protocols read it.

use std::fmt;

use http::StatusCode;

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
            Error::Rejected(Rejection::new(answer.status, entries, answer.request_id))
        }
        Ok(_) => answer.malformed("an empty error object"),
        Err(reason) => answer.malformed(reason),
    }
}

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
        let response = response.body(body).expect("a valid response");
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
