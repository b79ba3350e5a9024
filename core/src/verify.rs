//! Step 4: verify (`POST /v2/pay/verify`), the only proof that the buyer paid.

use http::{Method, StatusCode};

use crate::amount::{Amount, AmountUnit};
use crate::callback::CompletedCallback;
use crate::code::PayPingCode;
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Answer, Exchange, ExchangeKind, HttpRequest, api_request};
use crate::pending::Pending;
use crate::request_id::RequestId;
use crate::text::{CardHash, CardNumber, PaymentCode, RefId};
use crate::wire;

/// The verify exchange, built from the stored [`Pending`] record and the buyer's callback.
///
/// Building it refuses a callback whose code or clientRefId differs from the record's
/// ([`Error::CallbackMismatch`]) before any request exists. It always sends the stored
/// amount, and a 200 for any other amount is [`Error::AmountMismatch`], never a success.
///
/// ```
/// use ghesta_core::{Callback, Error, Exchange, Pending, VerifyOutcome, VerifyPayment};
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
/// #   "amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
/// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
/// # let config = ghesta_core::Config::new(ghesta_core::Token::new("t")?);
/// let pending: Pending = pending(); // loaded from the shop's store
/// let form = b"code=82a4f72&refid=555&clientrefid=order-7";
/// let Callback::Completed(callback) = Callback::from_form(form)? else { return Ok(()) };
///
/// let verify = VerifyPayment::new(&config, &pending, &callback)?;
/// let request = verify.to_request()?;
/// assert_eq!(request.body().as_slice(), br#"{"refId":"555","amount":250000}"#);
///
/// let answer = http::Response::builder()
///     .status(200)
///     .body(br#"{"amount":250000,"cardNumber":"603799******1234","cardHashPan":"ab"}"#)?;
/// match verify.parse_response(answer)? {
///     VerifyOutcome::Verified(v) => assert_eq!(v.amount().toman(), 250_000),
///     VerifyOutcome::AlreadyVerified(_) => unreachable!(),
/// }
///
/// // A forged callback for another order never reaches PayPing.
/// let Callback::Completed(forged) = Callback::from_form(b"code=82a4f72&refid=1&clientrefid=order-8")?
///     else { return Ok(()) };
/// assert!(matches!(
///     VerifyPayment::new(&config, &pending, &forged),
///     Err(Error::CallbackMismatch { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifyPayment {
    config: Config,
    // What verify needs of the record, not the whole of it: building a verify is on the
    // callback's hot path, and a copy of the record cost four allocations.
    code: PaymentCode,
    amount: Amount,
    wire_unit: AmountUnit,
    ref_id: RefId,
}

impl VerifyPayment {
    /// Checks that `callback` belongs to `pending` and prepares the verify.
    pub fn new(
        config: &Config,
        pending: &Pending,
        callback: &CompletedCallback,
    ) -> Result<Self, Error> {
        if callback.code() != pending.code() {
            return Err(Error::CallbackMismatch {
                field: "code",
                expected: pending.code().to_string(),
                received: callback.code().to_string(),
            });
        }
        if callback.client_ref_id() != Some(pending.client_ref_id()) {
            return Err(Error::CallbackMismatch {
                field: "clientRefId",
                expected: pending.client_ref_id().to_string(),
                received: callback
                    .client_ref_id()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            });
        }
        Ok(Self::from_ref_id(
            config,
            pending,
            callback.ref_id().clone(),
        ))
    }

    /// Prepares a verify of `pending` with a `ref_id` the shop got another way (for example
    /// from a report, after its own crash). Prefer [`VerifyPayment::new`], which checks the
    /// callback against the record.
    pub fn from_ref_id(config: &Config, pending: &Pending, ref_id: RefId) -> Self {
        Self {
            config: config.clone(),
            code: pending.code().clone(),
            amount: pending.amount(),
            wire_unit: pending.wire_unit(),
            ref_id,
        }
    }

    /// The payment code being verified.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The payment reference sent.
    pub fn ref_id(&self) -> &RefId {
        &self.ref_id
    }

    /// The stored amount sent (in the unit the payment was created with).
    pub fn amount(&self) -> Amount {
        self.amount
    }

    fn wire_amount(&self) -> u64 {
        self.amount.in_unit(self.wire_unit)
    }
}

impl Exchange for VerifyPayment {
    type Output = VerifyOutcome;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Verify
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let body = wire::v2::verify::body(&self.ref_id, self.wire_amount());
        api_request(
            &self.config,
            Method::POST,
            wire::v2::VERIFY_PATH,
            Some(&body),
        )
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<VerifyOutcome, Error> {
        let answer = Answer::of(&response);
        if answer.status != StatusCode::OK {
            return match answer.failure() {
                // Only a body that says 15 and nothing else: `{"15":..,"47":..}` is
                // ambiguous and stays an error, never a reason to ship.
                Error::Rejected(r)
                    if r.entries().len() == 1 && r.code() == Some(PayPingCode::AlreadyVerified) =>
                {
                    Ok(VerifyOutcome::AlreadyVerified(AlreadyVerified {
                        code: self.code.clone(),
                        ref_id: self.ref_id.clone(),
                        amount: self.amount,
                        message: r.message().unwrap_or_default().to_owned(),
                        request_id: r.request_id().cloned(),
                    }))
                }
                other => Err(other),
            };
        }
        let read = wire::v2::verify::read(&answer)?;
        if read.amount != self.wire_amount() {
            return Err(Error::AmountMismatch {
                expected: self.amount,
                received: read.amount,
                request_id: answer.request_id,
            });
        }
        Ok(VerifyOutcome::Verified(Verified {
            code: self.code.clone(),
            ref_id: self.ref_id.clone(),
            amount: self.amount,
            card_number: read.card_number,
            card_hash: read.card_hash,
            request_id: answer.request_id,
        }))
    }
}

/// How a verify ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a verify outcome says whether to ship the order"]
pub enum VerifyOutcome {
    /// PayPing confirmed the payment for the stored amount, now: ship the order.
    Verified(Verified),
    /// PayPing says the payment was verified before (code 15): an earlier verify of this
    /// shop succeeded and its answer was lost, or the callback was replayed. Ship only if
    /// the order is not shipped yet; [`PaymentReport`](crate::PaymentReport) can confirm.
    AlreadyVerified(AlreadyVerified),
}

impl VerifyOutcome {
    /// The payment code either way.
    pub fn code(&self) -> &PaymentCode {
        match self {
            Self::Verified(v) => &v.code,
            Self::AlreadyVerified(v) => &v.code,
        }
    }

    /// The answer's request id either way.
    pub fn request_id(&self) -> Option<&RequestId> {
        match self {
            Self::Verified(v) => v.request_id.as_ref(),
            Self::AlreadyVerified(v) => v.request_id.as_ref(),
        }
    }
}

/// A payment PayPing has just verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    code: PaymentCode,
    ref_id: RefId,
    amount: Amount,
    card_number: Option<CardNumber>,
    card_hash: Option<CardHash>,
    request_id: Option<RequestId>,
}

impl Verified {
    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The payment reference that was verified.
    pub fn ref_id(&self) -> &RefId {
        &self.ref_id
    }

    /// The amount paid: the stored amount, which PayPing's answer matched.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The masked card number PayPing reported.
    pub fn card_number(&self) -> Option<&CardNumber> {
        self.card_number.as_ref()
    }

    /// The card hash PayPing reported.
    pub fn card_hash(&self) -> Option<&CardHash> {
        self.card_hash.as_ref()
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}

/// A payment PayPing says was verified before (code 15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyVerified {
    code: PaymentCode,
    ref_id: RefId,
    amount: Amount,
    message: String,
    request_id: Option<RequestId>,
}

impl AlreadyVerified {
    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The payment reference sent.
    pub fn ref_id(&self) -> &RefId {
        &self.ref_id
    }

    /// The stored amount that was sent (PayPing's code-15 answer carries no amount).
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// PayPing's message, as received.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}
