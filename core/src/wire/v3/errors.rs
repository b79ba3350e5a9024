//! v3's refusals: RFC 7807 problem details with PayPing's `paypingTraceId` and
//! `metaData{code, errors[{message}], message}`, under 400, 406, 409 or 422; and the trace
//! id of any other failure.
//!
//! Keys are matched without regard to case (PayPing documents PascalCase and camelCase for
//! the same answers) and a key twice, in any case, is refused. Everything kept is bounded.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, SeqAccess, Visitor};

use crate::code::PayPingCode;
use crate::error::Error;
use crate::rejection::{ErrorEntry, ErrorKey, Rejection};
use crate::request_id::RequestId;
use crate::snippet::truncate;
use crate::wire::answer::Answer;
use crate::wire::json::{Fields, Nested};
use crate::wire::v3::record::{AnyCaseRecord, Record};

/// How many messages are kept, and how long each (and the title and detail) may be.
const MAX_MESSAGES: usize = 16;
const MAX_TEXT_BYTES: usize = 512;
/// Longest trace id kept; a real one is about 25 characters.
const MAX_TRACE_ID: usize = 128;

/// What a problem-details answer says.
#[derive(Default)]
pub(crate) struct Problem {
    pub(crate) title: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) trace_id: Option<String>,
    /// `metaData.code`: a v3 code (101-165).
    pub(crate) code: Option<u32>,
    /// `metaData.errors[].message`, and `metaData.message` when it is text.
    pub(crate) messages: Vec<String>,
    /// `metaData.message` when it is an object: the earlier verify result of a 409 (110).
    pub(crate) earlier: Option<Record>,
}

impl Problem {
    /// Whether the answer says anything at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.detail.is_none()
            && self.code.is_none()
            && self.messages.is_empty()
            && self.earlier.is_none()
    }
}

/// The error a v3 answer of a failure status is.
pub(crate) fn failure(answer: Answer<'_>) -> Error {
    let problem = read(answer.body);
    failure_of(answer, problem)
}

/// The error a v3 answer of a failure status is, from its body as [`read`] read it (once).
///
/// The problem's `paypingTraceId` is the id PayPing support asks for, so it becomes the
/// request id of whatever error the status gives.
pub(crate) fn failure_of(answer: Answer<'_>, problem: Result<Problem, String>) -> Error {
    let (answer, problem) = match problem {
        Ok(mut problem) => (answer.with_trace_id(problem.trace_id.take()), Ok(problem)),
        Err(reason) => (answer, Err(reason)),
    };
    match answer.status.as_u16() {
        400 | 406 | 409 | 422 => match problem {
            Ok(problem) if !problem.is_empty() => {
                let status = answer.status;
                Error::Rejected(rejection(status, problem, answer.into_request_id()))
            }
            Ok(_) => answer.malformed("an empty problem"),
            Err(reason) => answer.malformed(reason),
        },
        _ => answer.by_status(),
    }
}

/// v3's "verification still in progress" (202, or 502): call verify again. Its trace id,
/// when the body has one, is the request id.
pub(crate) fn in_progress(answer: Answer<'_>) -> Error {
    let trace_id = read(answer.body).ok().and_then(|p| p.trace_id);
    let (status, retry_after) = (answer.status, answer.retry_after());
    Error::VerifyInProgress {
        status,
        retry_after,
        request_id: answer.with_trace_id(trace_id).into_request_id(),
    }
}

/// A problem-details refusal: one entry per message, keyed by `metaData.code` when there is
/// one; the `detail` (or `title`) when there is no message.
fn rejection(
    status: http::StatusCode,
    problem: Problem,
    request_id: Option<RequestId>,
) -> Rejection {
    let key = match problem.code {
        Some(n) => ErrorKey::Code(PayPingCode::from_number(n)),
        None => ErrorKey::Problem,
    };
    let mut messages = problem.messages;
    if messages.is_empty() {
        messages.extend(problem.detail.or_else(|| problem.title.clone()));
    }
    if messages.is_empty() {
        // A code alone still names what happened.
        messages.push(String::new());
    }
    let entries = messages
        .into_iter()
        .map(|message| ErrorEntry {
            key: key.clone(),
            message,
        })
        .collect();
    Rejection::new(status, entries, request_id).with_title(problem.title)
}

/// Reads a problem-details body.
pub(crate) fn read(body: &[u8]) -> Result<Problem, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let Nested(fields) =
        Nested::<ProblemFields>::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    let ProblemFields {
        title,
        detail,
        trace_id,
        meta,
    } = fields;
    let meta = meta.map(|Nested(m)| m).unwrap_or_default();
    let mut problem = Problem {
        title: title.map(bounded),
        detail: detail.map(bounded),
        trace_id: trace_id.filter(|id| {
            let id = id.trim();
            !id.is_empty() && id.len() <= MAX_TRACE_ID && !id.chars().any(char::is_control)
        }),
        code: meta.code,
        messages: meta.errors.map(|m| m.0).unwrap_or_default(),
        earlier: None,
    };
    match meta.message {
        Some(Message::Text(text)) if problem.messages.len() < MAX_MESSAGES => {
            problem.messages.push(bounded(text));
        }
        Some(Message::Record(record)) => problem.earlier = Some(record),
        _ => {}
    }
    Ok(problem)
}

fn bounded(mut text: String) -> String {
    truncate(&mut text, MAX_TEXT_BYTES);
    text
}

#[derive(Default)]
struct ProblemFields {
    title: Option<String>,
    detail: Option<String>,
    trace_id: Option<String>,
    meta: Option<Nested<MetaFields>>,
}

impl Fields for ProblemFields {
    const KEYS: &'static [&'static str] = &["title", "detail", "paypingTraceId", "metaData"];
    const ANY_CASE: bool = true;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.title = map.next_value()?,
            1 => self.detail = map.next_value()?,
            2 => self.trace_id = map.next_value()?,
            _ => self.meta = map.next_value()?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct MetaFields {
    code: Option<u32>,
    errors: Option<Messages>,
    message: Option<Message>,
}

impl Fields for MetaFields {
    const KEYS: &'static [&'static str] = &["code", "errors", "message"];
    const ANY_CASE: bool = true;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.code = map.next_value()?,
            1 => self.errors = map.next_value()?,
            _ => self.message = map.next_value()?,
        }
        Ok(())
    }
}

#[derive(Default)]
struct ErrorFields {
    message: Option<String>,
}

impl Fields for ErrorFields {
    const KEYS: &'static [&'static str] = &["message"];
    const ANY_CASE: bool = true;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.message = map.next_value()?;
        Ok(())
    }
}

/// `errors`: an array of `{message}`, the first [`MAX_MESSAGES`] kept (the rest is still
/// read, so the JSON is checked whole).
struct Messages(Vec<String>);

impl<'de> Deserialize<'de> for Messages {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Seq;
        impl<'de> Visitor<'de> for Seq {
            type Value = Messages;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of {message} objects")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Messages, S::Error> {
                let mut kept = Vec::new();
                while let Some(Nested(error)) = seq.next_element::<Nested<ErrorFields>>()? {
                    if let Some(message) = error.message
                        && kept.len() < MAX_MESSAGES
                    {
                        kept.push(bounded(message));
                    }
                }
                Ok(Messages(kept))
            }
        }
        de.deserialize_seq(Seq)
    }
}

/// `metaData.message`: text, or (on a 409 with code 110) the earlier verify result.
enum Message {
    Text(String),
    Record(Record),
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> Visitor<'de> for Either {
            type Value = Message;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message or a payment record")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Message, E> {
                Ok(Message::Text(bounded(text.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Message, A::Error> {
                let Nested(AnyCaseRecord(record)) =
                    Nested::<AnyCaseRecord>::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Message::Record(record))
            }
        }
        de.deserialize_any(Either)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At most 16 messages are kept, `metaData.message` counted with `errors`: it comes last
    /// and is dropped once the array filled the 16.
    #[test]
    fn sixteen_messages_at_most_the_text_message_included() {
        let body = |errors: usize| {
            let errors: Vec<String> = (0..errors)
                .map(|i| format!(r#"{{"message":"e{i}"}}"#))
                .collect();
            format!(
                r#"{{"metaData":{{"code":150,"errors":[{}],"message":"last"}}}}"#,
                errors.join(",")
            )
        };
        let messages = |errors| read(body(errors).as_bytes()).unwrap().messages;
        let numbered = |n: usize| (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>();
        let mut fifteen_and_last = numbered(15);
        fifteen_and_last.push("last".to_owned());
        assert_eq!(messages(15), fifteen_and_last);
        assert_eq!(messages(16), numbered(16));
        assert_eq!(messages(40), numbered(16));
    }

    /// A problem whose `metaData` holds values of the wrong shape cannot be read, and the
    /// reason says what each should have been.
    #[test]
    fn a_meta_of_another_shape_says_what_was_expected() {
        for (body, expected) in [
            (
                r#"{"metaData":{"errors":{"message":"x"}}}"#,
                "expected an array of {message} objects",
            ),
            (
                r#"{"metaData":{"errors":"x"}}"#,
                "expected an array of {message} objects",
            ),
            (
                r#"{"metaData":{"message":5}}"#,
                "expected a message or a payment record",
            ),
            (
                r#"{"metaData":{"message":["x"]}}"#,
                "expected a message or a payment record",
            ),
        ] {
            match read(body.as_bytes()) {
                Err(reason) => assert!(reason.contains(expected), "{body}: {reason}"),
                Ok(_) => panic!("{body}: read"),
            }
        }
    }
}
