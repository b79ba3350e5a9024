//! An answer as the handlers build it: status, content type, body and extra headers, before
//! the server writes it (or a fault breaks it).

use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) const JSON: &str = "application/json; charset=utf-8";
pub(crate) const HTML: &str = "text/html; charset=utf-8";

/// An answer before it is written.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    pub(crate) body: Vec<u8>,
    /// Extra headers; a `Server` here replaces the sandbox's own.
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Whether to send `X-PayPingRequest-ID` (not on a proxy's 502 page).
    pub(crate) request_id: bool,
}

impl Answer {
    pub(crate) fn empty(status: u16) -> Answer {
        Answer {
            status,
            content_type: None,
            body: Vec::new(),
            headers: Vec::new(),
            request_id: true,
        }
    }

    pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Answer {
        match serde_json::to_vec(value) {
            Ok(body) => Answer {
                status,
                content_type: Some(JSON),
                body,
                headers: Vec::new(),
                request_id: true,
            },
            Err(_) => Answer::empty(500),
        }
    }

    pub(crate) fn html(status: u16, page: String) -> Answer {
        Answer {
            status,
            content_type: Some(HTML),
            body: page.into_bytes(),
            headers: Vec::new(),
            request_id: true,
        }
    }

    /// 400 `{key: message, ...}`.
    pub(crate) fn fields(errors: Vec<(&str, String)>) -> Answer {
        let map: Map<String, Value> = errors
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        Answer::json(400, &map)
    }

    /// 401 with an empty body: a missing or unknown token, on every protocol.
    pub(crate) fn unauthorized() -> Answer {
        Answer::empty(401)
    }

    /// The `Server` header: the sandbox's, unless the answer plays someone else.
    pub(crate) fn server(&self) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| *k == "Server")
            .map_or("ghesta-sandbox", |(_, v)| v.as_str())
    }
}
