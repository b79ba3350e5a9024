//! Fault injection: what can go wrong between a shop and PayPing, on demand.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::answer::{Answer, HTML, JSON};
use crate::route::Route;

/// What goes wrong with a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Sleep this long, then process and answer normally.
    Delay(Duration),
    /// Answer this status with an empty body; the request is NOT processed.
    Status(u16),
    /// Answer 502 with an nginx-like HTML page (no `X-PayPingRequest-ID`, as a proxy in
    /// front of PayPing would); the request is NOT processed.
    HtmlBadGateway,
    /// Process the request (state changes), then write only part of the status line and
    /// headers and close the connection: the answer is lost.
    CloseMidAnswer,
    /// Process the request, send the headers with the full `Content-Length` but only part of
    /// the body, then close the connection.
    TruncatedBody,
    /// Process the request and answer its status with a body of exactly this many bytes: the
    /// real JSON object padded with a `"padding"` member (valid JSON, just huge).
    OversizedBody(usize),
    /// Process the request, then answer 200 with broken JSON (a prefix of the real answer,
    /// or `{"code": ` when it has no body).
    MalformedJson,
    /// PayPing v3's "verification still in progress": answer this status (202, or 502 as
    /// PayPing also does) with problem details of code 155; the request is NOT processed.
    /// With [`Times::N`], verify answers it `n` times, then serves.
    InProgress {
        /// 202 or 502 (any status is sent as given).
        status: u16,
    },
}

/// How many matching requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next matching request only.
    Once,
    /// The next `n` matching requests.
    N(u32),
    /// Every matching request until [`Sandbox::clear_faults`](crate::Sandbox::clear_faults).
    Always,
}

pub(crate) struct FaultRule {
    pub(crate) route: Route,
    pub(crate) fault: Fault,
    /// `None`: always.
    pub(crate) remaining: Option<u32>,
}

impl FaultRule {
    pub(crate) fn new(route: Route, fault: Fault, times: Times) -> FaultRule {
        let remaining = match times {
            Times::Once => Some(1),
            Times::N(n) => Some(n),
            Times::Always => None,
        };
        FaultRule {
            route,
            fault,
            remaining,
        }
    }
}

/// Takes the fault for one request on `route`: the first rule (in injection order) that
/// matches and is not used up; its count goes down by one.
pub(crate) fn take(rules: &mut Vec<FaultRule>, route: Route) -> Option<Fault> {
    let i = rules
        .iter()
        .position(|r| r.route == route && r.remaining != Some(0))?;
    let fault = rules[i].fault.clone();
    if let Some(n) = rules[i].remaining.as_mut() {
        *n -= 1;
        if *n == 0 {
            rules.remove(i);
        }
    }
    Some(fault)
}

/// Pads an answer to `size` bytes: a `"padding"` member in the JSON object (an HTML comment
/// for pages).
pub(crate) fn oversized(mut a: Answer, size: usize) -> Answer {
    if a.content_type == Some(HTML) {
        let have = a.body.len() + "<!---->".len();
        a.body.extend_from_slice(b"<!--");
        a.body
            .extend(std::iter::repeat_n(b'x', size.saturating_sub(have)));
        a.body.extend_from_slice(b"-->");
        return a;
    }
    let mut obj = match serde_json::from_slice::<Value>(&a.body) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    obj.insert("padding".to_owned(), Value::String(String::new()));
    let have = serde_json::to_vec(&obj).map(|v| v.len()).unwrap_or(0);
    obj.insert(
        "padding".to_owned(),
        Value::String("x".repeat(size.saturating_sub(have))),
    );
    let mut b = Answer::json(a.status, &obj);
    b.headers = a.headers;
    b
}

/// The answer's JSON broken off half-way, as a 200 (a prefix of the real answer, or
/// `{"code": ` when it has too little to cut).
pub(crate) fn malformed(a: &Answer) -> Answer {
    let text = String::from_utf8_lossy(&a.body);
    let broken = if text.len() < 4 {
        "{\"code\": ".to_owned()
    } else {
        let mut cut = text.len() / 2;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text[..cut].to_owned()
    };
    let mut b = Answer::empty(200);
    b.content_type = Some(JSON);
    b.body = broken.into_bytes();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_applies_once_and_order_is_kept() {
        let mut rules = vec![
            FaultRule::new(Route::Verify, Fault::Status(503), Times::Once),
            FaultRule::new(Route::Verify, Fault::Status(500), Times::N(2)),
            FaultRule::new(Route::Create, Fault::MalformedJson, Times::Always),
        ];
        assert_eq!(take(&mut rules, Route::Verify), Some(Fault::Status(503)));
        assert_eq!(take(&mut rules, Route::Verify), Some(Fault::Status(500)));
        assert_eq!(take(&mut rules, Route::Verify), Some(Fault::Status(500)));
        assert_eq!(take(&mut rules, Route::Verify), None);
        assert_eq!(take(&mut rules, Route::Report), None);
        for _ in 0..3 {
            assert_eq!(take(&mut rules, Route::Create), Some(Fault::MalformedJson));
        }
        let mut zero = vec![FaultRule::new(
            Route::Create,
            Fault::HtmlBadGateway,
            Times::N(0),
        )];
        assert_eq!(take(&mut zero, Route::Create), None);
    }
}
