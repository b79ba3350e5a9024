//! The payment report (`GET /v1/report/{code}`): reconciliation after a crash or lost answer.

use http::{Method, StatusCode};

use crate::amount::{Amount, AmountUnit};
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::Protocol;
use crate::invalid::Field;
use crate::pending::Pending;
use crate::redirect::push_segment;
use crate::request_id::RequestId;
use crate::scrub::scrub;
use crate::status::PaymentStatus;
use crate::text::{PaymentCode, RefId, check_unpadded};
use crate::wire;
use crate::wire::answer::Answer;
use crate::wire::v2::report::RefIdValue;

/// The report exchange: what PayPing knows of one payment. Needs a token with `pay:read`.
///
/// ```
/// use ghesta_core::{Config, Exchange, PaymentCode, ReportPayment, Token};
///
/// let config = Config::new(Token::new("t")?);
/// let report = ReportPayment::new(&config, &PaymentCode::new("82a4f72")?);
/// assert_eq!(report.to_request()?.uri(), "https://api.payping.ir/v1/report/82a4f72");
/// let answer = http::Response::new(
///     br#"{"amount":250000,"isPaid":true,"clientRefId":"order-7","invoiceNo":"555",
///          "reqDate":"2026-11-30T05:00:00Z","payDate":"2026-11-30T05:03:00Z"}"#,
/// );
/// let details = report.parse_response(answer)?;
/// assert!(details.is_paid());
/// assert_eq!(details.amount().map(|a| a.toman()), Some(250_000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReportPayment {
    config: Config,
    code: PaymentCode,
}

impl ReportPayment {
    /// Prepares the report of `code`.
    pub fn new(config: &Config, code: &PaymentCode) -> Self {
        Self {
            config: config.clone(),
            code: code.clone(),
        }
    }
}

/// What PayPing reports of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentReport {
    code: PaymentCode,
    wire_amount: Option<u64>,
    unit: AmountUnit,
    is_paid: bool,
    requested_at: Option<String>,
    paid_at: Option<String>,
    client_ref_id: Option<String>,
    invoice_no: Option<String>,
    payer_identity: Option<String>,
    ref_id: Option<RefId>,
    status: Option<PaymentStatus>,
    request_id: Option<RequestId>,
}

impl PaymentReport {
    /// The payment code.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// Whether PayPing counts the payment as paid and confirmed (`isPaid`).
    pub fn is_paid(&self) -> bool {
        self.is_paid
    }

    /// The amount, read in the unit of the [`Config`] the report was made with; `None` when
    /// absent or not a valid amount. To check a payment, prefer
    /// [`confirms`](PaymentReport::confirms), which compares in the unit the payment was
    /// created with (a `Pending` keeps it), so a unit setting changed since cannot mislead.
    pub fn amount(&self) -> Option<Amount> {
        self.wire_amount
            .and_then(|n| Amount::from_unit(n, self.unit).ok())
    }

    /// The amount exactly as PayPing sent it.
    pub fn wire_amount(&self) -> Option<u64> {
        self.wire_amount
    }

    /// When the payment was created (`reqDate`, as sent: RFC 3339, UTC).
    pub fn requested_at(&self) -> Option<&str> {
        self.requested_at.as_deref()
    }

    /// When the buyer paid (`payDate`, as sent), if they did.
    pub fn paid_at(&self) -> Option<&str> {
        self.paid_at.as_deref()
    }

    /// The shop's reference (`clientRefId`).
    pub fn client_ref_id(&self) -> Option<&str> {
        self.client_ref_id.as_deref()
    }

    /// PayPing's invoice number (`invoiceNo`).
    pub fn invoice_no(&self) -> Option<&str> {
        self.invoice_no.as_deref()
    }

    /// The buyer's identity (`payerIdentity`).
    pub fn payer_identity(&self) -> Option<&str> {
        self.payer_identity.as_deref()
    }

    /// The payment reference PayPing holds (`refId`): what a verify needs when the
    /// callback never came. `None` when the report has none (yet).
    pub fn ref_id(&self) -> Option<&RefId> {
        self.ref_id.as_ref()
    }

    /// Where the payment is (`paymentStatus`), when the report says.
    pub fn status(&self) -> Option<PaymentStatus> {
        self.status
    }

    /// The answer's `X-PayPingRequest-ID`.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// Whether this report proves `pending` was paid: paid, same code, the stored amount
    /// (in the unit it was created with), and the same clientRefId when one is reported.
    pub fn confirms(&self, pending: &Pending) -> bool {
        self.is_paid
            && &self.code == pending.code()
            && self.wire_amount == Some(pending.amount().in_unit(pending.wire_unit()))
            && self
                .client_ref_id
                .as_deref()
                .is_none_or(|id| id == pending.client_ref_id().as_str())
    }
}

impl crate::exchange::sealed::Sealed for ReportPayment {}

impl Exchange for ReportPayment {
    type Output = PaymentReport;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Report
    }

    fn protocol(&self) -> Protocol {
        // A v1 route: its answers are v2's, whichever protocol created the payment.
        Protocol::V2
    }

    fn payment_code(&self) -> Option<&PaymentCode> {
        Some(&self.code)
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let mut path = String::from(wire::v2::REPORT_PATH);
        push_segment(&mut path, &self.code);
        api_request(&self.config, Method::GET, &path, None::<&()>)
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<PaymentReport, Error> {
        // A v1 route: its errors are v2's, whichever protocol created the payment.
        let response = scrub(response, self.config.token());
        let answer = Answer::of(&response, Protocol::V2);
        if answer.status != StatusCode::OK {
            return Err(wire::v2::errors::failure(answer));
        }
        let mut parsed = wire::v2::report::read(&answer)?;
        // PayPing never reports a blank or padded clientRefId; one that is cannot be compared
        // with the shop's own. An empty one is read as absent, as `null` is.
        parsed.client_ref_id = parsed.client_ref_id.filter(|id| !id.is_empty());
        if let Some(id) = &parsed.client_ref_id {
            check_unpadded(id, Field::ClientRefId).map_err(|e| answer.malformed(e))?;
        }
        // An absent or empty refId is "no payment reference yet"; a blank or padded one is
        // refused like everywhere else.
        let ref_id = parsed
            .ref_id
            .map(RefIdValue::into_text)
            .filter(|id| !id.is_empty())
            .map(RefId::new)
            .transpose()
            .map_err(|e| answer.malformed(e))?;
        Ok(PaymentReport {
            code: self.code.clone(),
            wire_amount: parsed.amount,
            unit: self.config.amount_unit(),
            is_paid: parsed.is_paid.unwrap_or(false),
            requested_at: parsed.req_date,
            paid_at: parsed.pay_date,
            client_ref_id: parsed.client_ref_id,
            invoice_no: parsed.invoice_no,
            payer_identity: parsed.payer_identity,
            ref_id,
            status: parsed.payment_status.map(PaymentStatus::from_number),
            request_id: answer.into_request_id(),
        })
    }
}
