//! Step 3: the form PayPing makes the buyer's browser send to the shop's return URL.
//!
//! Anyone can POST to a return URL, so this parser trusts nothing: the body is capped, every
//! percent-escape must be well formed, values must be UTF-8, a key given twice (in any case)
//! is refused rather than guessed at, and unknown keys are ignored. Both PayPing protocols
//! are read, told apart by the form's shape; a form with keys of both is refused. The
//! callback is not signed: only verify proves a payment.

use std::fmt;

use http::{Method, StatusCode};

use crate::code::PayPingCode;
use crate::gateway::Protocol;
use crate::invalid::InvalidInput;
use crate::text::{CardHash, CardNumber, ClientRefId, PaymentCode, RefId};
use crate::wire;

/// The largest callback body or query string read. The real form is a few short fields.
pub const MAX_CALLBACK_BYTES: usize = 8 * 1024;

/// A parsed callback: the buyer came back from the payment page.
///
/// [`Callback::Completed`] carries a payment reference to verify; it is only the buyer's
/// browser claiming a payment, and verify decides. [`Callback::Cancelled`] says the buyer
/// did not complete the payment (v2: the `refid` was empty or missing; v3: `status=0`, with
/// its `errorCode`): show them the cart again, but release nothing on it. It is as
/// unauthenticated as a completed one (PayPing signs neither; anyone can post one for an
/// order id): settle it like any other ([`Settlement::with_callback`]), and release the order
/// only on PayPing's word ([`Verdict::Release`], whose docs say how the buyer pays again).
///
/// A server that hands out its request's body or query rather than an `http::Request` calls
/// [`Callback::from_form`] or [`Callback::from_query`] directly.
///
/// [`Settlement::with_callback`]: crate::Settlement::with_callback
/// [`Verdict::Release`]: crate::Verdict::Release
///
/// ```
/// use ghesta_core::{Callback, Protocol};
///
/// // PayPing v2's form.
/// let form = b"code=82a4f72&refid=123456&clientrefid=order-7&cardnumber=6037-99**-****-1234&cardhashpan=ab12";
/// let Callback::Completed(callback) = Callback::from_form(form)? else { panic!() };
/// assert_eq!(callback.ref_id().as_str(), "123456");
///
/// let cancelled = Callback::from_query("code=82a4f72&refid=&clientrefid=order-7")?;
/// assert!(matches!(cancelled, Callback::Cancelled(_)));
///
/// // PayPing v3's form: `data` is a JSON string.
/// let form = "status=1&errorCode=&data=%7B%22paymentCode%22%3A%22P1%22%2C%22paymentRefId%22%3A7%2C%22amount%22%3A250000%7D";
/// let Callback::Completed(callback) = Callback::from_query(form)? else { panic!() };
/// assert_eq!((callback.protocol(), callback.ref_id().as_str(), callback.amount()), (Protocol::V3, "7", Some(250_000)));
/// # Ok::<(), ghesta_core::CallbackError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    /// The buyer finished the payment page and the form names a payment reference.
    Completed(CompletedCallback),
    /// The form says the buyer did not complete the payment: no payment reference. A
    /// claim, as unauthenticated as a completed one: it releases nothing by itself.
    Cancelled(CancelledCallback),
}

/// A callback with a payment reference: verify it against the stored [`Pending`](crate::Pending).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedCallback {
    pub(crate) protocol: Protocol,
    pub(crate) code: PaymentCode,
    pub(crate) ref_id: RefId,
    pub(crate) client_ref_id: Option<ClientRefId>,
    pub(crate) amount: Option<u64>,
    pub(crate) card_number: Option<CardNumber>,
    pub(crate) card_hash: Option<CardHash>,
}

impl CompletedCallback {
    /// The protocol whose form this was: a record is only verified from its own.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The payment reference verify sends (v2's `refid`, v3's `paymentRefId`).
    pub fn ref_id(&self) -> &RefId {
        &self.ref_id
    }

    /// The shop's reference, as echoed by PayPing.
    pub fn client_ref_id(&self) -> Option<&ClientRefId> {
        self.client_ref_id.as_ref()
    }

    /// The amount the form claims, in the wire unit (v3 only; v2's form names none).
    /// Verify refuses a callback whose amount differs from the record before sending
    /// anything, and always sends the stored amount.
    pub fn amount(&self) -> Option<u64> {
        self.amount
    }

    /// The masked card number, as the form claims it (verify's answer is authoritative).
    pub fn card_number(&self) -> Option<&CardNumber> {
        self.card_number.as_ref()
    }

    /// The card hash, as the form claims it.
    pub fn card_hash(&self) -> Option<&CardHash> {
        self.card_hash.as_ref()
    }
}

/// A callback without a payment reference: the buyer cancelled, gave up, or the payment
/// failed on the gateway; or someone posted a form that says so. PayPing's report decides
/// (a [`Settlement`](crate::Settlement) asks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelledCallback {
    pub(crate) protocol: Protocol,
    pub(crate) code: PaymentCode,
    pub(crate) client_ref_id: Option<ClientRefId>,
    pub(crate) error_code: Option<PayPingCode>,
}

impl CancelledCallback {
    /// The protocol whose form this was.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The shop's reference, as echoed by PayPing.
    pub fn client_ref_id(&self) -> Option<&ClientRefId> {
        self.client_ref_id.as_ref()
    }

    /// Why the payment did not complete, when the form says (v3's `errorCode`, such as
    /// 127: the buyer cancelled on the gateway or the time ran out).
    pub fn error_code(&self) -> Option<PayPingCode> {
        self.error_code
    }
}

impl Callback {
    /// Parses the callback from a server's request: a POST with an
    /// `application/x-www-form-urlencoded` body (charset parameter allowed, UTF-8 only), or
    /// a GET with a query string (PayPing v1 and some gateways call back that way).
    ///
    /// ```
    /// use ghesta_core::{Callback, CallbackError};
    ///
    /// let request = http::Request::post("/callback")
    ///     .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
    ///     .body(b"Code=82a4f72&RefId=99&ClientRefId=o-1".to_vec())?;
    /// assert!(matches!(Callback::from_request(&request)?, Callback::Completed(_)));
    ///
    /// let json = http::Request::post("/callback")
    ///     .header("content-type", "application/json")
    ///     .body(br#"{"code":"x"}"#.to_vec())?;
    /// let err = Callback::from_request(&json).unwrap_err();
    /// assert!(matches!(err, CallbackError::UnsupportedContentType { .. }));
    /// assert_eq!(err.status(), 415);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_request<B: AsRef<[u8]>>(request: &http::Request<B>) -> Result<Self, CallbackError> {
        match *request.method() {
            Method::POST => {
                check_content_type(request.headers().get_all(http::header::CONTENT_TYPE))?;
                Self::from_form(request.body().as_ref())
            }
            Method::GET => Self::from_query(request.uri().query().unwrap_or("")),
            ref other => Err(CallbackError::MethodNotAllowed {
                method: other.clone(),
            }),
        }
    }

    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn from_form(body: &[u8]) -> Result<Self, CallbackError> {
        wire::callback::read(body)
    }

    /// Parses a query string (without the leading `?`).
    pub fn from_query(query: &str) -> Result<Self, CallbackError> {
        Self::from_form(query.strip_prefix('?').unwrap_or(query).as_bytes())
    }

    /// The payment code the callback names.
    pub fn code(&self) -> &PaymentCode {
        match self {
            Self::Completed(c) => &c.code,
            Self::Cancelled(c) => &c.code,
        }
    }

    /// The protocol whose form this was.
    pub fn protocol(&self) -> Protocol {
        match self {
            Self::Completed(c) => c.protocol,
            Self::Cancelled(c) => c.protocol,
        }
    }

    /// The shop's reference the callback names: look the stored payment up by it.
    pub fn client_ref_id(&self) -> Option<&ClientRefId> {
        match self {
            Self::Completed(c) => c.client_ref_id.as_ref(),
            Self::Cancelled(c) => c.client_ref_id.as_ref(),
        }
    }

    /// The callback as the form PayPing sends (every key, in PayPing's order): what the
    /// sandbox posts, and what a test can feed back to [`Callback::from_form`].
    pub fn to_form(&self) -> String {
        match self.protocol() {
            Protocol::V2 => wire::v2::callback::to_form(self),
            Protocol::V3 => wire::v3::callback::to_form(self),
        }
    }
}

fn check_content_type(
    values: http::header::GetAll<'_, http::HeaderValue>,
) -> Result<(), CallbackError> {
    let value = values.iter().next();
    // Two content types are ambiguous (frameworks disagree on which one counts): refused as
    // their combined value, which is no single media type.
    if values.iter().nth(1).is_some() {
        // Only as much as the snippet shows is joined, however many values came.
        let joined: Vec<u8> = values
            .iter()
            .enumerate()
            .flat_map(|(i, v)| {
                let separator: &[u8] = if i == 0 { b"" } else { b", " };
                separator.iter().chain(v.as_bytes())
            })
            .copied()
            .take(crate::snippet::SNIPPET_BYTES)
            .collect();
        let received = crate::snippet::BodySnippet::of(&joined).as_str().to_owned();
        return Err(CallbackError::UnsupportedContentType {
            received: Some(received),
        });
    }
    let refuse = || CallbackError::UnsupportedContentType {
        received: value.map(|v| {
            crate::snippet::BodySnippet::of(v.as_bytes())
                .as_str()
                .to_owned()
        }),
    };
    let text = value.and_then(|v| v.to_str().ok()).ok_or_else(refuse)?;
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(refuse());
    }
    for param in parts {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = val.trim().trim_matches('"');
            if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("us-ascii"))
            {
                return Err(refuse());
            }
        }
    }
    Ok(())
}

/// Why a callback was refused. [`CallbackError::status`] gives the status to answer with.
///
/// None of these means the buyer paid or did not: answer the browser with an error page,
/// and reconcile with a report if the payment matters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The body or query string is longer than [`MAX_CALLBACK_BYTES`].
    #[error("the callback is larger than {limit} bytes; refused unread")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
    /// The form has keys of both PayPing protocols (v2's `code`, `refid`, ... beside v3's
    /// `status`, `errorCode`, `data`): it says two things and is read as neither.
    #[error(
        "the callback mixes PayPing v2's form (code, refid, ...) with v3's (status, errorCode, \
         data); refused as ambiguous"
    )]
    MixedProtocols,
    /// A field's value does not have the shape its protocol gives it (v3's `status`,
    /// `errorCode`, or `data`, which must be one JSON object with the documented types).
    #[error("the callback's {name} is malformed: {reason}")]
    Malformed {
        /// The field.
        name: &'static str,
        /// What was wrong, bounded.
        reason: String,
    },
    /// The body or query string is empty.
    #[error(
        "the callback is empty; expected the form PayPing sends (v2: code, refid, clientrefid, \
         ...; v3: status, errorCode, data)"
    )]
    Empty,
    /// A method other than POST or GET.
    #[error("a callback must be POST (form) or GET (query), not {method}")]
    MethodNotAllowed {
        /// The method received.
        method: Method,
    },
    /// A POST whose content type is not `application/x-www-form-urlencoded` (UTF-8).
    #[error("a POST callback must be application/x-www-form-urlencoded (UTF-8), not {}", received.as_deref().unwrap_or("missing"))]
    UnsupportedContentType {
        /// The content type received, bounded and log-safe, if any.
        received: Option<String>,
    },
    /// A `%` not followed by two hex digits.
    #[error("malformed percent-escape at byte {offset} of the callback")]
    BadPercentEncoding {
        /// Where the escape starts.
        offset: usize,
    },
    /// A known field's value is not UTF-8 once decoded.
    #[error("the callback's {name} is not valid UTF-8")]
    InvalidUtf8 {
        /// The field.
        name: &'static str,
    },
    /// A known key appears more than once (in any case): the form is ambiguous.
    #[error("the callback carries {name} more than once; refused as ambiguous")]
    DuplicateField {
        /// The field.
        name: &'static str,
    },
    /// A required key is missing or empty (`code`).
    #[error("the callback has no {name}")]
    MissingField {
        /// The field.
        name: &'static str,
    },
    /// A field's value fails validation.
    #[error("the callback's {name} is invalid: {source}")]
    InvalidField {
        /// The field.
        name: &'static str,
        /// Why.
        source: InvalidInput,
    },
}

impl CallbackError {
    /// The HTTP status a shop should answer the browser with: 405, 413, 415 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedContentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed(c) => write!(f, "payment {} returned with refid {}", c.code, c.ref_id),
            Self::Cancelled(c) => write!(
                f,
                "payment {} returned without a refid (not completed)",
                c.code
            ),
        }
    }
}
