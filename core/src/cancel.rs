//! Cancelling a payment code (`DELETE /v2/pay/{code}`) the buyer should no longer use.

use http::Method;

use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Answer, Exchange, ExchangeKind, HttpRequest, api_request};
use crate::redirect::push_segment;
use crate::request_id::RequestId;
use crate::text::PaymentCode;
use crate::wire;

/// The cancel exchange: `DELETE /v2/pay/{code}`, for an order withdrawn before payment.
///
/// ```
/// use ghesta_core::{CancelPayment, Config, Exchange, PaymentCode, Token};
///
/// let config = Config::new(Token::new("t")?);
/// let cancel = CancelPayment::new(&config, &PaymentCode::new("82a4f72")?);
/// let request = cancel.to_request()?;
/// assert_eq!(request.method(), "DELETE");
/// assert_eq!(request.uri(), "https://api.payping.ir/v2/pay/82a4f72");
/// let done = cancel.parse_response(http::Response::new(Vec::<u8>::new()))?;
/// assert!(done.request_id().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct CancelPayment {
    config: Config,
    code: PaymentCode,
}

impl CancelPayment {
    /// Prepares the cancel of `code`.
    pub fn new(config: &Config, code: &PaymentCode) -> Self {
        Self {
            config: config.clone(),
            code: code.clone(),
        }
    }
}

/// A payment code PayPing has cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancelled {
    code: PaymentCode,
    request_id: Option<RequestId>,
}

impl Cancelled {
    /// The cancelled code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}

impl Exchange for CancelPayment {
    type Output = Cancelled;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Cancel
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let mut path = String::from(wire::v2::CANCEL_PATH);
        push_segment(&mut path, &self.code);
        api_request(&self.config, Method::DELETE, &path, None::<&()>)
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<Cancelled, Error> {
        let answer = Answer::of(&response);
        // The spec documents 200 with no body; 204 means the same.
        if !matches!(answer.status.as_u16(), 200 | 204) {
            return Err(answer.failure());
        }
        // The body is not documented and otherwise ignored, but an error object under a
        // 200 (`{"26": ...}`) did not cancel anything.
        answer.refuse_error_codes()?;
        Ok(Cancelled {
            code: self.code.clone(),
            request_id: answer.request_id,
        })
    }
}
