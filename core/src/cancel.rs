//! Cancelling a payment code the buyer should no longer use (v2 `DELETE /v2/pay/{code}`,
//! v3 `DELETE /v3/pay` with the code in a JSON body).

use http::Method;

use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::Protocol;
use crate::pending::Pending;
use crate::redirect::push_segment;
use crate::request_id::RequestId;
use crate::scrub::scrub;
use crate::text::PaymentCode;
use crate::wire;
use crate::wire::answer::Answer;

/// The cancel exchange, for an order withdrawn before payment, on the protocol of the
/// stored record (whatever the shop's gateway setting is today).
///
/// ```
/// use ghesta_core::{CancelPayment, Config, Exchange, Pending, Token};
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
/// #   "amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
/// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
///
/// let config = Config::new(Token::new("t")?);
/// let pending: Pending = pending(); // a v2 (Ghesta) payment, loaded from the shop's store
/// let cancel = CancelPayment::new(&config, &pending);
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
    protocol: Protocol,
    /// The record was given another merchant's configuration: no request is ever built.
    wrong_merchant: Option<Error>,
}

impl CancelPayment {
    /// Prepares the cancel of `pending`'s code, on the protocol that created it. With a
    /// `config` of another merchant than the record's, [`Exchange::to_request`] is
    /// [`Error::WrongMerchant`]: the cancel is never sent (this constructor returns no
    /// `Result`, as it did before merchants had keys).
    pub fn new(config: &Config, pending: &Pending) -> Self {
        Self {
            config: config.clone(),
            code: pending.code().clone(),
            protocol: pending.protocol(),
            wrong_merchant: pending.check_merchant(config).err(),
        }
    }

    /// The payment code cancelled.
    pub fn code(&self) -> &PaymentCode {
        &self.code
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

impl crate::exchange::sealed::Sealed for CancelPayment {}

impl Exchange for CancelPayment {
    type Output = Cancelled;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Cancel
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn payment_code(&self) -> Option<&PaymentCode> {
        Some(&self.code)
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        if let Some(error) = &self.wrong_merchant {
            return Err(error.clone());
        }
        match self.protocol {
            Protocol::V2 => {
                let mut path = String::from(wire::v2::CANCEL_PATH);
                push_segment(&mut path, &self.code);
                api_request(&self.config, Method::DELETE, &path, None::<&()>)
            }
            Protocol::V3 => {
                let body = wire::v3::cancel_body(&self.code);
                api_request(
                    &self.config,
                    Method::DELETE,
                    wire::v3::CANCEL_PATH,
                    Some(&body),
                )
            }
        }
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<Cancelled, Error> {
        let response = scrub(response, self.config.token());
        let answer = Answer::of(&response, self.protocol);
        // v2's spec documents 200 with no body; v3's, 204. Each means the same.
        if !matches!(answer.status.as_u16(), 200 | 204) {
            return Err(wire::failure(answer));
        }
        // The body is not documented and otherwise ignored, but a v2 error object under a
        // 200 (`{"26": ...}`) did not cancel anything.
        if self.protocol == Protocol::V2 {
            answer.refuse_error_codes()?;
        }
        Ok(Cancelled {
            code: self.code.clone(),
            request_id: answer.into_request_id(),
        })
    }
}
