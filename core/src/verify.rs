//! Step 4: verify (v2 `POST /v2/pay/verify`, v3 `POST /v3/pay/verify`), the only proof that
//! the buyer paid.

use http::{Method, StatusCode};

use crate::amount::{Amount, AmountUnit};
use crate::callback::CompletedCallback;
use crate::code::PayPingCode;
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Answer, Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::Protocol;
use crate::invalid::{Field, InvalidInput, Rule};
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
    protocol: Protocol,
}

impl VerifyPayment {
    /// Checks that `callback` belongs to `pending` and prepares the verify on the
    /// record's protocol: the same code and clientRefId, a form of the record's protocol,
    /// and (v3, whose form names one) the stored amount. Anything else is
    /// [`Error::CallbackMismatch`] and nothing is sent.
    pub fn new(
        config: &Config,
        pending: &Pending,
        callback: &CompletedCallback,
    ) -> Result<Self, Error> {
        if callback.protocol() != pending.protocol() {
            return Err(Error::CallbackMismatch {
                field: "protocol",
                expected: pending.protocol().to_string(),
                received: callback.protocol().to_string(),
            });
        }
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
        let stored = pending.amount().in_unit(pending.wire_unit());
        if let Some(claimed) = callback.amount().filter(|a| *a != stored) {
            return Err(Error::CallbackMismatch {
                field: "amount",
                expected: stored.to_string(),
                received: claimed.to_string(),
            });
        }
        Self::from_ref_id(config, pending, callback.ref_id().clone())
    }

    /// Prepares a verify of `pending` with a `ref_id` the shop got another way (for example
    /// from a report, after its own crash). Prefer [`VerifyPayment::new`], which checks the
    /// callback against the record. On v3 the reference must be a whole number, as
    /// PayPing's `paymentRefId` is; another is [`Error::Invalid`] and nothing is sent.
    pub fn from_ref_id(config: &Config, pending: &Pending, ref_id: RefId) -> Result<Self, Error> {
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

impl Exchange for VerifyPayment {
    type Output = VerifyOutcome;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Verify
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
        let answer = Answer::of(&response, self.protocol);
        match self.protocol {
            Protocol::V2 => self.read_v2(answer),
            Protocol::V3 => self.read_v3(answer),
        }
    }
}

impl VerifyPayment {
    fn read_v2(&self, answer: Answer<'_>) -> Result<VerifyOutcome, Error> {
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
                        card_number: None,
                        card_hash: None,
                        paid_at: None,
                        request_id: r.request_id().cloned(),
                        named: false,
                    }))
                }
                other => Err(other),
            };
        }
        let read = wire::v2::verify::read(&answer)?;
        self.check_amount(read.amount, &answer)?;
        Ok(VerifyOutcome::Verified(Verified {
            code: self.code.clone(),
            ref_id: self.ref_id.clone(),
            amount: self.amount,
            card_number: read.card_number,
            card_hash: read.card_hash,
            paid_at: None,
            request_id: answer.request_id,
            named: false,
        }))
    }

    fn read_v3(&self, answer: Answer<'_>) -> Result<VerifyOutcome, Error> {
        let request_id = answer.request_id.clone();
        match wire::v3::verify::read(&answer)? {
            wire::v3::verify::Read::Verified(record) => {
                let amount = record
                    .amount
                    .ok_or_else(|| answer.malformed("missing field `amount`"))?;
                self.check_record(amount, record.code.as_deref(), &request_id)?;
                let named = record.code.is_some();
                let kept = record.into_kept();
                Ok(VerifyOutcome::Verified(Verified {
                    code: self.code.clone(),
                    ref_id: self.ref_id.clone(),
                    amount: self.amount,
                    card_number: kept.card_number,
                    card_hash: kept.card_hash,
                    paid_at: kept.paid_at,
                    request_id,
                    named,
                }))
            }
            wire::v3::verify::Read::AlreadyVerified {
                earlier,
                message,
                trace_id,
            } => {
                let request_id = RequestId::prefer_trace_id(trace_id, request_id);
                // The earlier result, when PayPing sent it, must be this record's too: an
                // "already verified" for another amount or payment is no reason to ship.
                if let Some(record) = &earlier {
                    if let Some(amount) = record.amount {
                        self.check_record(amount, record.code.as_deref(), &request_id)?;
                    } else {
                        self.check_record(self.wire_amount(), record.code.as_deref(), &request_id)?;
                    }
                }
                let named = earlier
                    .as_ref()
                    .is_some_and(|r| r.amount.is_some() && r.code.is_some());
                let kept = earlier
                    .map(wire::v3::record::Record::into_kept)
                    .unwrap_or_default();
                Ok(VerifyOutcome::AlreadyVerified(AlreadyVerified {
                    code: self.code.clone(),
                    ref_id: self.ref_id.clone(),
                    amount: self.amount,
                    message: message.unwrap_or_default(),
                    card_number: kept.card_number,
                    card_hash: kept.card_hash,
                    paid_at: kept.paid_at,
                    request_id,
                    named,
                }))
            }
        }
    }

    /// A verified amount must be the stored one, in the unit the payment was created in.
    fn check_amount(&self, received: u64, answer: &Answer<'_>) -> Result<(), Error> {
        if received != self.wire_amount() {
            return Err(Error::AmountMismatch {
                expected: self.amount,
                received,
                request_id: answer.request_id.clone(),
            });
        }
        Ok(())
    }

    /// v3 names what it verified: the stored amount, and (when it says) the record's code.
    fn check_record(
        &self,
        amount: u64,
        code: Option<&str>,
        request_id: &Option<RequestId>,
    ) -> Result<(), Error> {
        if amount != self.wire_amount() {
            return Err(Error::AmountMismatch {
                expected: self.amount,
                received: amount,
                request_id: request_id.clone(),
            });
        }
        if let Some(code) = code.filter(|c| *c != self.code.as_str()) {
            let mut received = code.to_owned();
            crate::snippet::truncate(&mut received, 64);
            return Err(Error::CodeMismatch {
                expected: self.code.clone(),
                received,
                request_id: request_id.clone(),
            });
        }
        Ok(())
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

    /// Whether the answer named this record's payment (code and amount) either way; see
    /// [`Verified::names_payment`].
    pub fn names_payment(&self) -> bool {
        match self {
            Self::Verified(v) => v.named,
            Self::AlreadyVerified(v) => v.named,
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
    named: bool,
}

impl Verified {
    /// Whether PayPing's answer named this record's payment: its code and its amount, both
    /// the record's (v3 answers that carry both). When `false` (every v2 answer, whose verify
    /// names no payment, and v3 answers that omit either), the payment is proven only once
    /// PayPing's report of the record's code binds the verified reference to it
    /// ([`confirm_verified`](crate::confirm_verified)); the [`Settlement`](crate::Settlement)
    /// does that.
    pub fn names_payment(&self) -> bool {
        self.named
    }
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
    named: bool,
}

impl AlreadyVerified {
    /// Whether PayPing's answer named this record's payment: its code and its amount, both
    /// the record's (v3 answers that carry both). When `false` (every v2 answer, whose verify
    /// names no payment, and v3 answers that omit either), the payment is proven only once
    /// PayPing's report of the record's code binds the verified reference to it
    /// ([`confirm_verified`](crate::confirm_verified)); the [`Settlement`](crate::Settlement)
    /// does that.
    pub fn names_payment(&self) -> bool {
        self.named
    }
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
}
