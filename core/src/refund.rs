//! Refunding a verified payment to the payer's card (PayPing v3 `POST /v3/pay/reverse`).

use std::time::{Duration, SystemTime};

use http::Method;

use crate::config::Config;
use crate::error::{Error, RefundRefusal};
use crate::exchange::{Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::Protocol;
use crate::pending::Pending;
use crate::request_id::RequestId;
use crate::scrub::scrub;
use crate::text::{PaymentCode, RefId};
use crate::verify::payment_ref_id;
use crate::wire;
use crate::wire::answer::Answer;

/// How long after verify PayPing accepts a refund.
pub const REFUND_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The refund exchange: gives a verified payment back to the payer's card.
///
/// Only a payment created on PayPing v3 with [`NewPayment::with_reversible`], and only within
/// [`REFUND_WINDOW`] of its verify; anything else is [`Error::RefundRefused`] before a
/// request exists. PayPing's own refusals are typed too: code 134 (not reversible), 135 (the
/// window passed) and 156 (a refund in progress: retryable).
///
/// [`NewPayment::with_reversible`]: crate::NewPayment::with_reversible
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ghesta_core::{Config, Exchange, Pending, RefId, RefundPayment, Token};
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"01K2YQYESEQGNMCVFPQ9VC96YF",
/// #   "client_ref_id":"order-7","amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},"gateway":"payping_v3",
/// #   "reversible":true,
/// #   "redirect_url":"https://api.payping.ir/v3/pay/start/01K2YQYESEQGNMCVFPQ9VC96YF"}"#).unwrap() }
///
/// let config = Config::new(Token::new("t")?);
/// let pending: Pending = pending(); // created reversible on v3
/// let verified_at = SystemTime::UNIX_EPOCH + Duration::from_secs(600);
/// let now = verified_at + Duration::from_secs(5 * 60);
/// let refund = RefundPayment::new(&config, &pending, &RefId::new("7781")?, verified_at, now)?;
/// assert_eq!(refund.to_request()?.uri(), "https://api.payping.ir/v3/pay/reverse");
/// let done = refund.parse_response(http::Response::new(Vec::<u8>::new()))?;
/// assert_eq!(done.code(), pending.code());
///
/// let late = verified_at + Duration::from_secs(31 * 60);
/// assert!(RefundPayment::new(&config, &pending, &RefId::new("7781")?, verified_at, late).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RefundPayment {
    config: Config,
    code: PaymentCode,
    payment_ref_id: u64,
}

impl RefundPayment {
    /// Prepares the refund of `pending`, verified as `ref_id` at `verified_at` (the shop's
    /// clock, when its verify succeeded), if `now` is still inside the refund window. A
    /// `config` of another merchant than the record's is [`Error::WrongMerchant`].
    pub fn new(
        config: &Config,
        pending: &Pending,
        ref_id: &RefId,
        verified_at: SystemTime,
        now: SystemTime,
    ) -> Result<Self, Error> {
        pending.check_merchant(config)?;
        if pending.protocol() != Protocol::V3 {
            return Err(Error::RefundRefused(RefundRefusal::NotV3));
        }
        if !pending.is_reversible() {
            return Err(Error::RefundRefused(RefundRefusal::NotReversible));
        }
        let deadline = verified_at
            .checked_add(REFUND_WINDOW)
            .unwrap_or(verified_at);
        if now >= deadline {
            return Err(Error::RefundRefused(RefundRefusal::WindowPassed));
        }
        Ok(Self {
            config: config.clone(),
            code: pending.code().clone(),
            payment_ref_id: payment_ref_id(ref_id)?,
        })
    }

    /// The payment code refunded.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }
}

/// A payment PayPing has refunded to the payer's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refunded {
    code: PaymentCode,
    request_id: Option<RequestId>,
}

impl Refunded {
    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The answer's request id.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}

impl crate::exchange::sealed::Sealed for RefundPayment {}

impl Exchange for RefundPayment {
    type Output = Refunded;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Refund
    }

    fn protocol(&self) -> Protocol {
        Protocol::V3
    }

    fn payment_code(&self) -> Option<&PaymentCode> {
        Some(&self.code)
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let body = wire::v3::refund::body(self.payment_ref_id, &self.code);
        api_request(
            &self.config,
            Method::POST,
            wire::v3::REVERSE_PATH,
            Some(&body),
        )
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<Refunded, Error> {
        let response = scrub(response, self.config.token());
        let answer = Answer::of(&response, Protocol::V3);
        // The answer's body is not documented beyond its status.
        if !matches!(answer.status.as_u16(), 200 | 204) {
            return Err(wire::v3::errors::failure(answer));
        }
        Ok(Refunded {
            code: self.code.clone(),
            request_id: answer.into_request_id(),
        })
    }
}
