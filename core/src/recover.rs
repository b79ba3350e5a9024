//! Recovering a payment whose callback never came: from the stored record and PayPing's
//! report, what to do now.
//!
//! A buyer who pays and closes the tab, loses signal, or meets a shop restarting between
//! the redirect and the callback leaves a paid payment nobody verifies; ten minutes later
//! PayPing voids and refunds it. PayPing's documented way out is the report: a payment in
//! status 5 (back from the gateway, waiting for the shop) is verified with the report's
//! refId. [`Recovery::decide`] is that decision, transport-free; `ghesta-blocking`'s
//! `Client::recover` runs report, decision and verify. It is safe beside the real callback:
//! whichever verifies second sees "already verified", so nothing is counted twice.

use std::time::SystemTime;

use crate::config::Config;
use crate::error::Error;
use crate::invalid::Field;
use crate::pending::Pending;
use crate::report::{PaymentReport, PaymentStatus};
use crate::verify::VerifyPayment;

/// What to do with a stored payment whose callback has not come, given PayPing's report.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ghesta_core::{Config, Exchange, Pending, Recovery, ReportPayment, Token};
/// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
/// #   "amount":{"toman":250000},"wire_unit":"toman",
/// #   "created_at":{"secs_since_epoch":1764478800,"nanos_since_epoch":0},
/// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
///
/// let config = Config::new(Token::new("t")?);
/// let pending: Pending = pending(); // created, redirected, and no callback since
/// let report = ReportPayment::new(&config, pending.code()).parse_response(http::Response::new(
///     br#"{"amount":250000,"isPaid":false,"clientRefId":"order-7","refId":"555","paymentStatus":5}"#,
/// ))?;
/// let now = pending.created_at() + Duration::from_secs(3 * 60);
/// match Recovery::decide(&config, &pending, &report, now)? {
///     Recovery::Verify(verify) => assert_eq!(verify.ref_id().as_str(), "555"), // send it
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a recovery says whether to verify, ship, wait or give up"]
#[non_exhaustive]
pub enum Recovery {
    /// The buyer paid and PayPing waits for the shop (status 5): send this verify, built
    /// from the record and the report's refId. Its outcome is the payment's.
    Verify(VerifyPayment),
    /// PayPing has verified the payment already (status 1), by the callback's verify or an
    /// earlier recovery, for the stored amount: ship it if it is not shipped yet.
    AlreadyVerified,
    /// The buyer has not finished (status 0, created; or 2, on the gateway), and the verify
    /// window is still open: ask again later.
    StillOpen(PaymentStatus),
    /// The payment will not be paid (status 3, cancelled; or 4, the bank's verify failed):
    /// release the order.
    NotPaid(PaymentStatus),
    /// The verify window has passed, counted from the record's creation (the earliest the
    /// buyer could have paid): PayPing voids and refunds such a payment. Release the order.
    TooLate,
}

impl Recovery {
    /// Decides from the stored record, PayPing's report of it, and `now` (the shop's
    /// clock).
    ///
    /// The report must be of the record's payment: its code, its stored amount (in the
    /// unit it was created in) and, when the report names one, its clientRefId; anything
    /// else is [`Error::ReportMismatch`], and nothing is to be verified from it. A status
    /// PayPing had not documented is read as still open. A report without a status (an
    /// older answer) is read by `isPaid`.
    pub fn decide(
        config: &Config,
        pending: &Pending,
        report: &PaymentReport,
        now: SystemTime,
    ) -> Result<Self, Error> {
        check_report(pending, report)?;
        let status = report.status().unwrap_or(if report.is_paid() {
            PaymentStatus::Verified
        } else {
            PaymentStatus::Created
        });
        let open = now < config.verify_deadline(pending.created_at());
        Ok(match status {
            PaymentStatus::Verified => Self::AlreadyVerified,
            PaymentStatus::Cancelled | PaymentStatus::BankVerifyFailed => Self::NotPaid(status),
            _ if !open => Self::TooLate,
            PaymentStatus::AwaitingVerify => match report.ref_id() {
                Some(ref_id) => {
                    Self::Verify(VerifyPayment::from_ref_id(config, pending, ref_id.clone())?)
                }
                // Waiting for the shop, but with nothing to verify with yet.
                None => Self::StillOpen(status),
            },
            _ => Self::StillOpen(status),
        })
    }
}

/// The report must be the record's: the same code, the stored amount, the same order.
fn check_report(pending: &Pending, report: &PaymentReport) -> Result<(), Error> {
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
