//! Step 4: verify (v2 `POST /v2/pay/verify`, v3 `POST /v3/pay/verify`), the only proof that
//! the buyer paid.

use http::Method;

use crate::amount::{Amount, AmountUnit};
use crate::callback::CompletedCallback;
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::Protocol;
use crate::invalid::{Field, InvalidInput, Rule};
use crate::pending::Pending;
use crate::request_id::RequestId;
use crate::scrub::scrub;
use crate::text::{CardHash, CardNumber, PaymentCode, RefId};
use crate::wire;
use crate::wire::answer::Answer;
use crate::wire::verify::{Said, When};

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
    protocol: Protocol,
}

impl VerifyPayment {
    /// Checks that `callback` belongs to `pending` and prepares the verify on the
    /// record's protocol: the same code and clientRefId, a form of the record's protocol,
    /// and (v3, whose form names one) the stored amount. Anything else is
    /// [`Error::CallbackMismatch`] and nothing is sent; a `config` of another merchant than
    /// the record's is [`Error::WrongMerchant`].
    pub fn new(
        config: &Config,
        pending: &Pending,
        callback: &CompletedCallback,
    ) -> Result<Self, Error> {
        pending.check_merchant(config)?;
        if callback.protocol() != pending.protocol() {
            return Err(Error::CallbackMismatch {
                field: Field::Protocol,
                expected: pending.protocol().to_string(),
                received: callback.protocol().to_string(),
            });
        }
        if callback.code() != pending.code() {
            return Err(Error::CallbackMismatch {
                field: Field::PaymentCode,
                expected: pending.code().to_string(),
                received: callback.code().to_string(),
            });
        }
        if callback.client_ref_id() != Some(pending.client_ref_id()) {
            return Err(Error::CallbackMismatch {
                field: Field::ClientRefId,
                expected: pending.client_ref_id().to_string(),
                received: callback
                    .client_ref_id()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
            });
        }
        let stored = pending.amount().in_unit(pending.wire_unit());
        if let Some(claimed) = callback.amount().filter(|a| *a != stored) {
            return Err(Error::CallbackMismatch {
                field: Field::Amount,
                expected: stored.to_string(),
                received: claimed.to_string(),
            });
        }
        Self::from_ref_id(config, pending, callback.ref_id().clone())
    }

    /// Prepares a verify of `pending` with a `ref_id` the shop got another way (for example
    /// from a report, after its own crash). Prefer [`VerifyPayment::new`], which checks the
    /// callback against the record. On v3 the reference must be a whole number, as
    /// PayPing's `paymentRefId` is; another is [`Error::Invalid`] and nothing is sent. A
    /// `config` of another merchant than the record's is [`Error::WrongMerchant`].
    pub fn from_ref_id(config: &Config, pending: &Pending, ref_id: RefId) -> Result<Self, Error> {
        pending.check_merchant(config)?;
        if pending.protocol() == Protocol::V3 {
            payment_ref_id(&ref_id)?;
        }
        Ok(Self {
            config: config.clone(),
            code: pending.code().clone(),
            amount: pending.amount(),
            wire_unit: pending.wire_unit(),
            ref_id,
            protocol: pending.protocol(),
        })
    }

    /// The protocol the verify speaks: the record's.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The payment code.
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

impl crate::exchange::sealed::Sealed for VerifyPayment {}

impl Exchange for VerifyPayment {
    type Output = VerifyOutcome;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Verify
    }

    fn protocol(&self) -> Protocol {
        self.protocol
    }

    fn payment_code(&self) -> Option<&PaymentCode> {
        Some(&self.code)
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let wire_amount = self.wire_amount();
        match self.protocol {
            Protocol::V2 => {
                let body = wire::v2::verify::body(&self.ref_id, wire_amount);
                api_request(
                    &self.config,
                    Method::POST,
                    wire::v2::VERIFY_PATH,
                    Some(&body),
                )
            }
            Protocol::V3 => {
                let id = payment_ref_id(&self.ref_id)?;
                let body = wire::v3::verify::body(id, &self.code, wire_amount);
                api_request(
                    &self.config,
                    Method::POST,
                    wire::v3::VERIFY_PATH,
                    Some(&body),
                )
            }
        }
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<VerifyOutcome, Error> {
        let response = scrub(response, self.config.token());
        let answer = Answer::of(&response, self.protocol);
        let said = match self.protocol {
            Protocol::V2 => wire::v2::verify::read(answer)?,
            Protocol::V3 => wire::v3::verify::read(answer)?,
        };
        self.check(said)
    }
}

impl VerifyPayment {
    /// Whatever the protocol, an answer that says "verified" must be of this record's
    /// payment: the stored amount (in the unit the payment was created in) and the record's
    /// code, each where the answer names it. It names this payment only if it names both.
    fn check(&self, said: Said) -> Result<VerifyOutcome, Error> {
        if let Some(received) = said.amount.filter(|a| *a != self.wire_amount()) {
            return Err(Error::AmountMismatch {
                expected: self.amount,
                received,
                request_id: said.request_id,
            });
        }
        if let Some(code) = said.code.as_deref().filter(|c| *c != self.code.as_str()) {
            let mut received = code.to_owned();
            crate::snippet::truncate(&mut received, 64);
            return Err(Error::CodeMismatch {
                expected: self.code.clone(),
                received,
                request_id: said.request_id,
            });
        }
        let names_payment = said.amount.is_some() && said.code.is_some();
        Ok(match said.when {
            When::Now => VerifyOutcome::Verified(Verified {
                code: self.code.clone(),
                ref_id: self.ref_id.clone(),
                amount: self.amount,
                card_number: said.kept.card_number,
                card_hash: said.kept.card_hash,
                paid_at: said.kept.paid_at,
                request_id: said.request_id,
                names_payment,
            }),
            When::Before => VerifyOutcome::AlreadyVerified(AlreadyVerified {
                code: self.code.clone(),
                ref_id: self.ref_id.clone(),
                amount: self.amount,
                message: said.message.unwrap_or_default(),
                card_number: said.kept.card_number,
                card_hash: said.kept.card_hash,
                paid_at: said.kept.paid_at,
                request_id: said.request_id,
                names_payment,
            }),
        })
    }
}

/// v3's `paymentRefId`: the reference as the whole number PayPing sent and expects.
pub(crate) fn payment_ref_id(ref_id: &RefId) -> Result<u64, Error> {
    let text = ref_id.as_str();
    match text.parse::<u64>() {
        Ok(id) if id > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(InvalidInput::new(Field::RefId, Rule::NotAnInteger).into()),
    }
}

/// How a verify ended, when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a verify outcome says whether to ship the order"]
pub enum VerifyOutcome {
    /// PayPing confirmed the payment for the stored amount, now: ship the order once it is
    /// proven this record's payment ([`VerifyOutcome::names_payment`]).
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

    /// Whether PayPing's answer named this record's payment: it carried both the record's
    /// payment code and its amount, and both matched (v3's 200 with `code` and `amount`; v3's
    /// 409/110 whose earlier record has both). False on every v2 answer (v2's verify names
    /// no payment: it takes a refId and an amount, and answers with the amount alone) and
    /// on a v3 answer that omits either.
    ///
    /// When false, the payment is proven only once PayPing's report of the record's code
    /// confirms it; the core's settlement does that.
    ///
    /// ```
    /// use ghesta_core::{Config, Exchange, Gateway, RefId, Token, VerifyPayment};
    /// # use ghesta_core::{Amount, ClientRefId, CreatePayment, Mobile, NewPayment, ReturnUrl};
    /// let config = Config::new(Token::new("t")?).with_gateway(Gateway::PayPingV3);
    /// # let payment = NewPayment::new(Amount::from_toman(250_000)?,
    /// #     ReturnUrl::new("https://shop.example/callback")?, ClientRefId::new("order-7")?,
    /// #     Mobile::new("09123456789")?);
    /// # let create = CreatePayment::new(&config, payment, std::time::SystemTime::now());
    /// # let pending = create.parse_response(http::Response::new(&br#"{"paymentCode":"P1"}"#[..]))?;
    /// // `pending`: a v3 payment of 250,000 Toman, code P1, from the shop's store.
    /// let verify = VerifyPayment::from_ref_id(&config, &pending, RefId::new("7781")?)?;
    ///
    /// let named = http::Response::new(&br#"{"amount":250000,"code":"P1"}"#[..]);
    /// assert!(verify.parse_response(named)?.names_payment());
    ///
    /// // Verified, for the stored amount, but PayPing did not say which payment: ask the
    /// // report of the record's code before shipping.
    /// let unnamed = http::Response::new(&br#"{"amount":250000}"#[..]);
    /// assert!(!verify.parse_response(unnamed)?.names_payment());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn names_payment(&self) -> bool {
        match self {
            Self::Verified(v) => v.names_payment,
            Self::AlreadyVerified(v) => v.names_payment,
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
    paid_at: Option<String>,
    request_id: Option<RequestId>,
    names_payment: bool,
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

    /// When the buyer paid, as PayPing wrote it (v3's `payedDate`, UTC), if it said.
    pub fn paid_at(&self) -> Option<&str> {
        self.paid_at.as_deref()
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// Whether PayPing's answer named this record's payment: it carried both the record's
    /// payment code and its amount, and both matched (v3's 200 with `code` and `amount`; v3's
    /// 409/110 whose earlier record has both). False on every v2 answer (v2's verify names
    /// no payment: it takes a refId and an amount, and answers with the amount alone) and
    /// on a v3 answer that omits either.
    ///
    /// When false, the payment is proven only once PayPing's report of the record's code
    /// confirms it; the core's settlement does that.
    pub fn names_payment(&self) -> bool {
        self.names_payment
    }
}

/// A payment PayPing says was verified before (v2: code 15; v3: 409 with code 110).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlreadyVerified {
    code: PaymentCode,
    ref_id: RefId,
    amount: Amount,
    message: String,
    card_number: Option<CardNumber>,
    card_hash: Option<CardHash>,
    paid_at: Option<String>,
    request_id: Option<RequestId>,
    names_payment: bool,
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

    /// The stored amount that was sent. (v2's code-15 answer carries no amount; v3's 409
    /// carries the earlier result, whose amount, when present, was checked to be this one.)
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// PayPing's message, as received.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The masked card number of the earlier verify, when PayPing sent it (v3).
    pub fn card_number(&self) -> Option<&CardNumber> {
        self.card_number.as_ref()
    }

    /// The card hash of the earlier verify, when PayPing sent it (v3).
    pub fn card_hash(&self) -> Option<&CardHash> {
        self.card_hash.as_ref()
    }

    /// When the buyer paid, as the earlier verify said (v3's `payedDate`), if it did.
    pub fn paid_at(&self) -> Option<&str> {
        self.paid_at.as_deref()
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// Whether PayPing's answer named this record's payment: it carried both the record's
    /// payment code and its amount, and both matched (v3's 200 with `code` and `amount`; v3's
    /// 409/110 whose earlier record has both). False on every v2 answer (v2's verify names
    /// no payment: it takes a refId and an amount, and answers with the amount alone) and
    /// on a v3 answer that omits either.
    ///
    /// When false, the payment is proven only once PayPing's report of the record's code
    /// confirms it; the core's settlement does that.
    pub fn names_payment(&self) -> bool {
        self.names_payment
    }
}
