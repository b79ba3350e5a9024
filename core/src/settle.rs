//! Settlement: from a stored record and the evidence at hand, what the shop does with the
//! order: ship it, release it, ask again later, or send the next exchange.
//!
//! This is where the money rules live, transport-free, so that every driver (the blocking
//! client, an async shop's own loop, a test's closure) follows the same ones:
//!
//! - **An order is paid only when PayPing proves this record's payment.** v3's verify names
//!   the payment code and amount it verified; an answer that names both, and both are the
//!   record's, is proof. v2's verify names no payment (it takes `{refId, amount}`): a
//!   forged callback carrying another order's refid, at the same price, verifies *that*
//!   order's payment. So a verify that does not name the payment counts only once PayPing's
//!   report of the record's own code says it is paid and, where it names a refId (or an
//!   `invoiceNo` when it has none), that it is the refid that was verified.
//! - **A callback never releases an order**, a "cancelled" one included: anyone can post
//!   one. An order is released on PayPing's word only: its report says cancelled or failed,
//!   or the payment was never paid once the window has passed.
//! - **Status 5 (paid, waiting for the shop) is never too late to try**: PayPing counts the
//!   verify window from the payment, not from the create. Verify, and PayPing's answer
//!   decides.
//! - **The callback's verify and the sweeper reach the same decision from the same
//!   evidence.** A payment proven for an order the shop has already released is its own
//!   verdict, [`Verdict::PaidAfterRelease`], never a log line.
//! - **An order ships once, whichever of its payments is proven first.** A buyer who pays
//!   one order in two tabs (or a create retried after its answer was lost) makes two
//!   payments, and both may verify. A payment proven for an order another payment already
//!   paid is its own verdict, [`Verdict::PaidTwice`] ([`Settlement::paid_by`]): refund it
//!   where it is reversible, else a person refunds it by hand; never keep it silently.
//! - **A record is settled with its own merchant's configuration**
//!   ([`Pending::check_merchant`]): with another merchant's, the pass sends nothing.
//! - **A report that keeps failing** ends, once no payment could still be verified, in
//!   [`Verdict::NeedsAttention`] carrying the error: never an endless loop, never a stop for
//!   the other orders.
//!
//! A [`Settlement`] is one pass over one order. The driver asks [`Settlement::next`] what to
//! do, sends the exchange it names (retrying as its policy says), hands the result back
//! ([`Settlement::verify_answered`], [`Settlement::report_answered`]), and asks again, until
//! the answer is [`Next::Done`] with a [`Verdict`]. A pass sends at most a few exchanges
//! ([`MAX_EXCHANGES`]); it keeps nothing between passes, so a shop that crashes mid-pass
//! simply starts a new one from its stored record.

use std::time::SystemTime;

use crate::callback::Callback;
use crate::config::Config;
use crate::error::Error;
use crate::gateway::Protocol;
use crate::invalid::Field;
use crate::pending::Pending;
use crate::report::{PaymentReport, ReportPayment};
use crate::status::PaymentStatus;
use crate::text::{PaymentCode, RefId};
use crate::verify::{VerifyOutcome, VerifyPayment};

/// The most exchanges one settlement pass sends: a verify of the callback's reference, a
/// report, a verify of the report's reference, and a report after it. A pass that needs more
/// ends in [`Verdict::Wait`]; the next pass starts afresh.
pub const MAX_EXCHANGES: u8 = 4;

/// One settlement pass over one order: a state machine fed by the driver.
///
/// ```
/// use std::time::Duration;
/// use ghesta_core::*;
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
/// #   "amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":1764478800,"nanos_since_epoch":0},
/// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
/// let config = Config::new(Token::new("t")?);
/// let pending: Pending = pending(); // loaded from the shop's store
/// let now = pending.created_at() + Duration::from_secs(120);
///
/// // The buyer's callback: a hint, not proof.
/// let callback = Callback::from_form(b"code=82a4f72&refid=555&clientrefid=order-7")?;
/// let mut settlement = Settlement::new(&config, &pending).with_callback(&callback, now)?;
///
/// // 1. Verify the callback's reference.
/// let Next::Verify { exchange, .. } = settlement.next(now) else { panic!() };
/// let answer = http::Response::new(br#"{"amount":250000,"cardNumber":"6037****1234"}"#);
/// settlement.verify_answered(&exchange, exchange.parse_response(answer));
///
/// // 2. v2's verify names no payment: PayPing's report of this code must bind the refid.
/// let Next::Report(report) = settlement.next(now) else { panic!() };
/// let answer = http::Response::new(
///     br#"{"amount":250000,"clientRefId":"order-7","refId":"555","paymentStatus":1}"#,
/// );
/// settlement.report_answered(report.parse_response(answer));
///
/// // 3. Proven: ship it, once.
/// let Next::Done(Verdict::Ship(paid)) = settlement.next(now) else { panic!() };
/// assert_eq!(paid.ref_id().map(RefId::as_str), Some("555"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a settlement does nothing until the driver asks `next` and sends what it names"]
pub struct Settlement {
    config: Config,
    pending: Pending,
    released: bool,
    /// The verify a completed callback asks for, not yet sent.
    callback_verify: Option<(VerifyPayment, SystemTime)>,
    /// References verified in this pass, with what PayPing answered.
    verified: Vec<(RefId, Result<VerifyOutcome, Error>)>,
    /// The latest report, and whether it was asked after the latest verify.
    report: Option<(Result<PaymentReport, Error>, bool)>,
    sent: u8,
    /// Another payment of the same order, which the shop already shipped it for.
    paid_by: Option<PaymentCode>,
    /// The config is another merchant's than the record's: nothing is ever sent.
    wrong_merchant: Option<Error>,
}

impl Settlement {
    /// Starts a pass over the order of `pending`, with no evidence yet: the sweeper's case,
    /// which begins with PayPing's report.
    ///
    /// `config` must be the record's own merchant's ([`Pending::check_merchant`]); with
    /// another's, the pass sends nothing and ends in [`Verdict::NeedsAttention`] with
    /// [`Attention::WrongMerchant`] ([`Settlement::with_callback`] refuses it at once).
    pub fn new(config: &Config, pending: &Pending) -> Self {
        Self {
            config: config.clone(),
            pending: pending.clone(),
            released: false,
            callback_verify: None,
            verified: Vec::new(),
            report: None,
            sent: 0,
            paid_by: None,
            wrong_merchant: pending.check_merchant(config).err(),
        }
    }

    /// The buyer's callback, received at `received_at`: a completed one names a reference to
    /// verify first (retried until [`Config::verify_deadline`] of its arrival); a cancelled
    /// one is only a hint, and the pass asks PayPing's report instead. Neither is proof of
    /// anything.
    ///
    /// A completed callback whose code, clientRefId, protocol or amount is not the record's
    /// is [`Error::CallbackMismatch`]: forged or misrouted. Nothing is to be sent for it; the
    /// order is untouched (the sweeper settles it from PayPing's report).
    ///
    /// A `config` of another merchant than the record's is [`Error::WrongMerchant`], and
    /// nothing is sent.
    pub fn with_callback(
        mut self,
        callback: &Callback,
        received_at: SystemTime,
    ) -> Result<Self, Error> {
        if let Some(error) = &self.wrong_merchant {
            return Err(error.clone());
        }
        if let Callback::Completed(completed) = callback {
            let verify = VerifyPayment::new(&self.config, &self.pending, completed)?;
            self.callback_verify = Some((verify, self.config.verify_deadline(received_at)));
        }
        Ok(self)
    }

    /// The shop has already released this order (cancelled it, restocked, told the buyer):
    /// a payment proven now is [`Verdict::PaidAfterRelease`], not [`Verdict::Ship`].
    pub fn released(mut self, released: bool) -> Self {
        self.released = released;
        self
    }

    /// The order is already paid, by the payment `code` (the shop shipped it for that
    /// one): a payment of this record proven now is [`Verdict::PaidTwice`], not
    /// [`Verdict::Ship`]. The record's own code is no other payment, so a shop may pass the
    /// code its order was paid with whatever it is: the payment that paid it settles as
    /// [`Verdict::Ship`] again (a conditional update ships nothing twice).
    ///
    /// Two payments of one order settled at once both reach [`Verdict::Ship`]: the shop's
    /// conditional update lets one ship, and the other is then the shop's
    /// [`Verdict::PaidTwice`] with the same [`Paid`].
    ///
    /// ```
    /// use ghesta_core::*;
    /// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7-tab-2",
    /// #   "amount":{"toman":250000},"wire_unit":"toman",
    /// #   "created_at":{"secs_since_epoch":1764478800,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
    /// let config = Config::new(Token::new("t")?);
    /// let second = pending(); // the order's second payment; the first, "5aa01c9", shipped it
    /// let mut settlement = Settlement::new(&config, &second).paid_by(&PaymentCode::new("5aa01c9")?);
    /// let now = second.created_at();
    /// let Next::Report(report) = settlement.next(now) else { panic!() };
    /// settlement.report_answered(report.parse_response(http::Response::new(
    ///     br#"{"amount":250000,"clientRefId":"order-7-tab-2","refId":"556","paymentStatus":1}"#,
    /// )));
    /// let Next::Done(Verdict::PaidTwice(paid)) = settlement.next(now) else { panic!() };
    /// assert_eq!(paid.ref_id().map(RefId::as_str), Some("556")); // refund it, or alert
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn paid_by(mut self, code: &PaymentCode) -> Self {
        self.paid_by = Some(code).filter(|c| *c != self.pending.code()).cloned();
        self
    }

    /// The record this pass settles.
    pub fn pending(&self) -> &Pending {
        &self.pending
    }

    /// The last moment a payment of this record could still be verified: the verify window
    /// after the last moment the buyer could have paid (the window after the create). Past
    /// it, a report that keeps failing needs a person.
    pub fn last_verify_at(&self) -> SystemTime {
        let window = self.config.verify_window();
        self.pending
            .created_at()
            .checked_add(window.saturating_mul(2))
            .unwrap_or_else(|| self.pending.created_at())
    }

    /// What to do next, at `now` (the driver's clock).
    pub fn next(&mut self, now: SystemTime) -> Next {
        if let Some(error) = &self.wrong_merchant {
            return Next::Done(Verdict::NeedsAttention(Attention::WrongMerchant(
                error.clone(),
            )));
        }
        if let Some(verdict) = self.proven() {
            return Next::Done(verdict);
        }
        if let Some(verdict) = self.contradiction() {
            return Next::Done(verdict);
        }
        // A verify that did not name the payment waits for a report asked after it.
        let fresh_report = matches!(self.report, Some((_, true)));
        if self.sent >= MAX_EXCHANGES {
            return Next::Done(self.out_of_exchanges(now));
        }
        if let Some((exchange, deadline)) = self.callback_verify.take() {
            self.sent += 1;
            return Next::Verify { exchange, deadline };
        }
        if !fresh_report && (self.report.is_none() || !self.verified.is_empty()) {
            self.sent += 1;
            return Next::Report(ReportPayment::new(&self.config, self.pending.code()));
        }
        self.decide_from_report(now)
    }

    /// Hands the result of a verify [`Next::Verify`] named back to the pass (after the
    /// driver's retries). The exchange says which reference it verified.
    pub fn verify_answered(
        &mut self,
        exchange: &VerifyPayment,
        result: Result<VerifyOutcome, Error>,
    ) {
        self.verified.push((exchange.ref_id().clone(), result));
        // Whatever report was held was asked before this verify.
        if let Some((_, fresh)) = &mut self.report {
            *fresh = false;
        }
    }

    /// Hands the result of a report [`Next::Report`] named back to the pass.
    pub fn report_answered(&mut self, result: Result<PaymentReport, Error>) {
        self.report = Some((result, true));
    }

    /// A verify that proves the payment, by its own answer or bound by the report.
    fn proven(&self) -> Option<Verdict> {
        let report = self.report_ok();
        for (ref_id, result) in &self.verified {
            let Ok(outcome) = result else { continue };
            let proof = if outcome.names_payment() {
                Proof::VerifyNamedPayment
            } else {
                match report.map(|r| bind(r, ref_id, &self.pending)) {
                    Some(Ok(Binding::Proven)) => Proof::ReportBound,
                    _ => continue,
                }
            };
            return Some(self.paid(Paid {
                ref_id: Some(ref_id.clone()),
                proof,
                outcome: Some(outcome.clone()),
            }));
        }
        None
    }

    /// An answer that is about something else than this record: never a reason to ship.
    fn contradiction(&self) -> Option<Verdict> {
        for (_, result) in &self.verified {
            if let Err(e @ (Error::AmountMismatch { .. } | Error::CodeMismatch { .. })) = result {
                return Some(Verdict::NeedsAttention(Attention::Contradiction(e.clone())));
            }
        }
        if let Some((Ok(report), _)) = &self.report {
            if let Err(e) = check_report(&self.pending, report) {
                return Some(Verdict::NeedsAttention(Attention::Contradiction(e)));
            }
            // PayPing verified this reference for the record's amount, and the report of the
            // record's code names that very reference as cancelled or failed.
            let failed = matches!(
                report.status(),
                Some(PaymentStatus::Cancelled | PaymentStatus::BankVerifyFailed)
            );
            let verified_named = report_ref(report).filter(|named| {
                failed
                    && self
                        .verified
                        .iter()
                        .any(|(r, result)| result.is_ok() && r == named)
            });
            if let Some(verified) = verified_named {
                return Some(Verdict::NeedsAttention(Attention::Contradiction(
                    Error::NotThisPayment {
                        code: self.pending.code().clone(),
                        verified,
                        status: report.status(),
                        request_id: report.request_id().cloned(),
                    },
                )));
            }
        }
        None
    }

    fn report_ok(&self) -> Option<&PaymentReport> {
        match &self.report {
            Some((Ok(report), _)) => Some(report),
            _ => None,
        }
    }

    /// Decides from PayPing's report (asked after any verify of this pass).
    fn decide_from_report(&mut self, now: SystemTime) -> Next {
        let report = match &self.report {
            Some((Ok(report), _)) => report.clone(),
            Some((Err(error), _)) => return Next::Done(self.report_failed(error.clone(), now)),
            // `next` asks a report before it gets here.
            None => return Next::Done(Verdict::Wait(Waiting::NotProven)),
        };
        let status = effective_status(&report);
        match status {
            // PayPing's report of the record's own code, for its amount and order, says it
            // is verified: that is PayPing's word on this payment, whoever verified it.
            // (Only a report that says so: without a status, `isPaid` reads as waiting.)
            PaymentStatus::Verified => Next::Done(self.paid(Paid {
                ref_id: report_ref(&report),
                proof: Proof::ReportVerified,
                outcome: None,
            })),
            PaymentStatus::AwaitingVerify => match report_ref(&report) {
                Some(ref_id) if !self.tried(&ref_id) => {
                    self.sent += 1;
                    match VerifyPayment::from_ref_id(&self.config, &self.pending, ref_id) {
                        Ok(exchange) => Next::Verify {
                            exchange,
                            deadline: self.config.verify_deadline(now),
                        },
                        Err(e) => Next::Done(Verdict::NeedsAttention(Attention::Contradiction(e))),
                    }
                }
                Some(ref_id) => Next::Done(self.verify_failed(&ref_id, now)),
                // Paid, but no reference to verify with yet.
                None => Next::Done(Verdict::Wait(Waiting::StillOpen(status))),
            },
            PaymentStatus::Cancelled | PaymentStatus::BankVerifyFailed => {
                Next::Done(Verdict::Release(Release { status }))
            }
            _ if now >= self.config.verify_deadline(self.pending.created_at()) => {
                Next::Done(Verdict::Release(Release { status }))
            }
            _ => Next::Done(Verdict::Wait(Waiting::StillOpen(status))),
        }
    }

    fn tried(&self, ref_id: &RefId) -> bool {
        self.verified.iter().any(|(r, _)| r == ref_id)
    }

    /// The report names a reference this pass verified without proof: the verify failed.
    fn verify_failed(&self, ref_id: &RefId, now: SystemTime) -> Verdict {
        let error = self
            .verified
            .iter()
            .find(|(r, _)| r == ref_id)
            .and_then(|(_, result)| result.as_ref().err().cloned());
        match error {
            // PayPing's report still says the payment waits for the shop; a refusal that
            // asking again cannot change needs a person once no verify could succeed. A
            // failure that can pass (still in progress, 5xx, no answer) waits: PayPing's
            // report will say verified (1) or voided (4) in the end.
            Some(error) if !error.is_retryable() && now >= self.last_verify_at() => {
                Verdict::NeedsAttention(Attention::StillFailing(error))
            }
            Some(error) => Verdict::Wait(Waiting::VerifyFailed(error)),
            None => Verdict::Wait(Waiting::NotProven),
        }
    }

    fn report_failed(&self, error: Error, now: SystemTime) -> Verdict {
        if self.pending.protocol() == Protocol::V3 && matches!(error, Error::NotFound { .. }) {
            // Whether PayPing's report serves v3 codes is unconfirmed; where it does not, no
            // pass can prove or release this payment from it.
            return Verdict::NeedsAttention(Attention::Unconfirmable(error));
        }
        if now >= self.last_verify_at() {
            Verdict::NeedsAttention(Attention::StillFailing(error))
        } else {
            Verdict::Wait(Waiting::ReportFailed(error))
        }
    }

    fn out_of_exchanges(&self, now: SystemTime) -> Verdict {
        match &self.report {
            Some((Err(error), _)) => self.report_failed(error.clone(), now),
            _ => Verdict::Wait(Waiting::NotProven),
        }
    }

    fn paid(&self, paid: Paid) -> Verdict {
        if self.paid_by.is_some() {
            Verdict::PaidTwice(paid)
        } else if self.released {
            Verdict::PaidAfterRelease(paid)
        } else {
            Verdict::Ship(paid)
        }
    }
}

/// What the driver does next.
#[derive(Debug, Clone)]
#[must_use = "send the exchange it names, or act on the verdict"]
#[non_exhaustive]
pub enum Next {
    /// Send this verify; retry it as the policy says, never past `deadline`; hand the
    /// result to [`Settlement::verify_answered`].
    Verify {
        /// The verify to send.
        exchange: VerifyPayment,
        /// The last moment to send it again.
        deadline: SystemTime,
    },
    /// Send this report; hand the result to [`Settlement::report_answered`].
    Report(ReportPayment),
    /// The pass is over: act on the verdict.
    Done(Verdict),
}

/// What the shop does with the order, decided from PayPing's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a verdict says whether to ship, release, wait or alert"]
#[non_exhaustive]
pub enum Verdict {
    /// PayPing proved this record's payment: ship the order, once (a conditional update:
    /// the callback and the sweeper may both reach this verdict).
    Ship(Paid),
    /// PayPing's word is that the payment will not be paid (cancelled, failed, voided, or
    /// never paid once the window passed): release the order. [`Release`] says how the buyer
    /// pays again (a new payment, a fresh clientRefId).
    Release(Release),
    /// Not settled yet: leave the order as it is and settle it again later (the sweeper).
    Wait(Waiting),
    /// PayPing proved a payment for an order the shop had released: the buyer's money is
    /// taken. Refund it where the payment is reversible ([`RefundPayment`]), else ship the
    /// order after all or alert a person; never only log it.
    ///
    /// [`RefundPayment`]: crate::RefundPayment
    PaidAfterRelease(Paid),
    /// PayPing proved this record's payment, but the order was already paid by another
    /// payment ([`Settlement::paid_by`], or the shop's conditional update found it shipped:
    /// two tabs, or a create retried after its answer was lost). Do not ship again, and do
    /// not keep the money silently: refund it where the payment is reversible (v3,
    /// [`RefundPayment`]), else alert a person to refund it by hand from PayPing's panel.
    ///
    /// [`RefundPayment`]: crate::RefundPayment
    PaidTwice(Paid),
    /// PayPing's answers contradict each other or the record, or keep failing past the
    /// last moment a payment could be verified: do not ship, do not release; a person must
    /// look at the payment in PayPing's panel.
    NeedsAttention(Attention),
}

impl Verdict {
    /// Whether the order is settled one way or the other: nothing more to ask.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Wait(_))
    }
}

/// A payment PayPing proved, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    ref_id: Option<RefId>,
    proof: Proof,
    outcome: Option<VerifyOutcome>,
}

impl Paid {
    /// The reference that was verified, when the proof involved a verify.
    pub fn ref_id(&self) -> Option<&RefId> {
        self.ref_id.as_ref()
    }

    /// What proved it.
    pub fn proof(&self) -> Proof {
        self.proof
    }

    /// The verify answer, when the proof involved one: [`VerifyOutcome::Verified`] when this
    /// pass verified the payment now (the card fields are there),
    /// [`VerifyOutcome::AlreadyVerified`] when an earlier verify had.
    pub fn outcome(&self) -> Option<&VerifyOutcome> {
        self.outcome.as_ref()
    }

    /// Whether this pass verified the payment now (as opposed to finding it verified).
    pub fn verified_now(&self) -> bool {
        matches!(self.outcome, Some(VerifyOutcome::Verified(_)))
    }
}

/// What proved a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Proof {
    /// The verify answer named the record's code and amount (v3).
    VerifyNamedPayment,
    /// The verify succeeded, and PayPing's report of the record's code says it is paid with
    /// the verified reference (v2, and v3 answers that omit the code or amount).
    ReportBound,
    /// PayPing's report of the record's code says it is verified (status 1), for its
    /// amount and order: PayPing's word on this payment, whoever verified it.
    ReportVerified,
}

/// An order to release, on PayPing's word.
///
/// **The buyer pays again** with a new payment for the order, under a fresh clientRefId per
/// attempt (`order-7-2`), the shop keeping which order each attempt belongs to: PayPing
/// documents nothing of a repeated clientRefId, and a fresh one keeps each attempt's
/// callback and report apart. A [`status`](Release::status) of [`PaymentStatus::Cancelled`]
/// or [`PaymentStatus::BankVerifyFailed`] leaves nothing to cancel. [`PaymentStatus::Created`]
/// or [`PaymentStatus::OnGateway`] (never paid within the window) leaves a code the buyer may
/// still pay: cancel it ([`CancelPayment`](crate::CancelPayment)) before the new attempt.
/// Cancel a code only when PayPing's report says it is not paid, never one waiting for the
/// shop's verify ([`PaymentStatus::AwaitingVerify`]: settle it). On v3 PayPing refuses to
/// delete a code the buyer has taken to the gateway (129); a payment nobody verifies, PayPing
/// voids and returns to the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release {
    status: PaymentStatus,
}

impl Release {
    /// The report's status: cancelled (3), failed or voided (4), or one that never became
    /// paid (0, 2) once the window had passed.
    pub fn status(&self) -> PaymentStatus {
        self.status
    }
}

/// Why an order is not settled yet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Waiting {
    /// The buyer has not finished (or PayPing has no reference to verify yet) and the
    /// window is open.
    StillOpen(PaymentStatus),
    /// A verify PayPing's report asked for failed (after the driver's retries); the payment
    /// may still be verified. Carries the last error.
    VerifyFailed(Error),
    /// PayPing's report could not be had (after the driver's retries). Carries the error.
    ReportFailed(Error),
    /// The evidence did not prove the payment (a verify of another payment's reference: a
    /// forged or mistaken callback), nor release it.
    NotProven,
}

/// Why an order needs a person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attention {
    /// PayPing answered for another amount, code or order than the record's, or its verify
    /// and its report disagree. Do not ship; contact PayPing support with the request id.
    Contradiction(Error),
    /// PayPing's report does not serve this v3 payment (404): nothing but a callback's
    /// verify can prove it. Look at it in PayPing's panel.
    Unconfirmable(Error),
    /// The report kept failing, or PayPing kept refusing a verify its report asks for (a
    /// refusal that asking again cannot change), until no payment of this record could still
    /// be verified. Carries the last error.
    StillFailing(Error),
    /// The record was given another merchant's configuration ([`Error::WrongMerchant`]):
    /// nothing was sent. A bug in the shop's choice of configuration: settle the record
    /// again with its own merchant's ([`Pending::merchant`]).
    WrongMerchant(Error),
}

impl Attention {
    /// The error behind it.
    pub fn error(&self) -> &Error {
        match self {
            Self::Contradiction(e)
            | Self::Unconfirmable(e)
            | Self::StillFailing(e)
            | Self::WrongMerchant(e) => e,
        }
    }
}

/// How a report relates to a reference that was verified.
#[derive(Debug, PartialEq, Eq)]
enum Binding {
    /// Paid, and it names that reference (or none).
    Proven,
    /// It names another reference, or is not paid.
    NotThis,
}

/// Whether `report` (of the record's code) binds `ref_id` to the record's payment.
fn bind(report: &PaymentReport, ref_id: &RefId, pending: &Pending) -> Result<Binding, Error> {
    check_report(pending, report)?;
    let paid = matches!(
        effective_status(report),
        PaymentStatus::Verified | PaymentStatus::AwaitingVerify
    );
    // A report that names no reference binds nothing to this refid, unless it says itself
    // that the record's payment is verified (status 1): an older answer with `isPaid` alone
    // would otherwise let a twin callback's refid (another order's payment) pass as this
    // record's, while this record's own payment stays unverified and is voided.
    let same = match report_ref(report) {
        Some(named) => &named == ref_id,
        None => report.status() == Some(PaymentStatus::Verified),
    };
    Ok(if paid && same {
        Binding::Proven
    } else {
        Binding::NotThis
    })
}

/// The reference the report names: `refId`, or `invoiceNo` when it has none (PayPing's
/// dashboard plugin verifies with `invoiceNo`).
fn report_ref(report: &PaymentReport) -> Option<RefId> {
    report.ref_id().cloned().or_else(|| {
        report
            .invoice_no()
            .filter(|n| !n.is_empty())
            .and_then(|n| RefId::new(n).ok())
    })
}

/// The report's status; without one (an older answer), a payment date or `isPaid` means
/// paid and waiting (the verify then decides: `isPaid` alone proves nothing), else created.
fn effective_status(report: &PaymentReport) -> PaymentStatus {
    report
        .status()
        .unwrap_or(if report.is_paid() || report.paid_at().is_some() {
            PaymentStatus::AwaitingVerify
        } else {
            PaymentStatus::Created
        })
}

/// The report must be the record's: the same code, the stored amount, the same order.
pub(crate) fn check_report(pending: &Pending, report: &PaymentReport) -> Result<(), Error> {
    let mismatch = |field, expected: String, received: String| {
        Err(Error::ReportMismatch {
            field,
            expected,
            received,
            request_id: report.request_id().cloned(),
        })
    };
    if report.code() != pending.code() {
        return mismatch(
            Field::PaymentCode,
            pending.code().to_string(),
            report.code().to_string(),
        );
    }
    let stored = pending.amount().in_unit(pending.wire_unit());
    if report.wire_amount() != Some(stored) {
        return mismatch(
            Field::Amount,
            stored.to_string(),
            report
                .wire_amount()
                .map_or_else(|| "none".to_owned(), |a| a.to_string()),
        );
    }
    if let Some(id) = report
        .client_ref_id()
        .filter(|id| *id != pending.client_ref_id().as_str())
    {
        let mut received = id.to_owned();
        crate::snippet::truncate(&mut received, 128);
        return mismatch(
            Field::ClientRefId,
            pending.client_ref_id().to_string(),
            received,
        );
    }
    Ok(())
}

/// A verify that did not name its payment, confirmed by PayPing's report of the record's
/// own code: `Ok` when the report binds the verified reference to the record.
///
/// This is the check `ghesta-blocking`'s `Client::verify` runs after every v2 verify (and
/// every v3 answer that omits the code or amount); a driver of its own calls it the same
/// way. [`Settlement`] applies it too.
///
/// ```
/// use ghesta_core::*;
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
/// #   "amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":1764478800,"nanos_since_epoch":0},
/// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
/// let config = Config::new(Token::new("t")?);
/// let pending = pending();
/// let report = ReportPayment::new(&config, pending.code()).parse_response(http::Response::new(
///     br#"{"amount":250000,"refId":"555","paymentStatus":1}"#,
/// ))?;
/// assert!(confirm_verified(&pending, &RefId::new("555")?, &report).is_ok());
/// // Another order's reference (a forged twin callback) verified another payment.
/// assert!(matches!(
///     confirm_verified(&pending, &RefId::new("777")?, &report),
///     Err(Error::NotThisPayment { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn confirm_verified(
    pending: &Pending,
    ref_id: &RefId,
    report: &PaymentReport,
) -> Result<(), Error> {
    match bind(report, ref_id, pending)? {
        Binding::Proven => Ok(()),
        Binding::NotThis => Err(Error::NotThisPayment {
            code: pending.code().clone(),
            verified: ref_id.clone(),
            status: report.status(),
            request_id: report.request_id().cloned(),
        }),
    }
}
