//! An answer as the handlers build it: status, content type, body and extra headers, before
//! the server writes it (or a fault breaks it).

use hyper::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::faults::Route;
use crate::state::ApiError;
use crate::util::code_message;

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

    pub(crate) fn api_error(e: ApiError) -> Answer {
        match e {
            ApiError::Unauthorized => Answer::empty(401),
            ApiError::Code(code) => {
                Answer::fields(vec![(&code.to_string(), code_message(code).to_owned())])
            }
        }
    }

    /// The `Server` header: the sandbox's, unless the answer plays someone else.
    pub(crate) fn server(&self) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| *k == "Server")
            .map_or("ghesta-sandbox", |(_, v)| v.as_str())
    }
}

/// What one protocol face's route table makes of a request's method and path.
pub(crate) enum Routed<C> {
    /// A known path and method: counted and faulted under this route, then called.
    Call(Route, C),
    /// A known path asked with another method: 405 with this `Allow`.
    WrongMethod(String),
    /// Not a path of this face.
    Unknown,
}

impl<C> Routed<C> {
    /// `Call` when the method is the one the path takes, else `WrongMethod`.
    pub(crate) fn check(method: &Method, allowed: Method, route: Route, call: C) -> Routed<C> {
        if *method == allowed {
            Routed::Call(route, call)
        } else {
            Routed::WrongMethod(allowed.as_str().to_owned())
        }
    }
}
