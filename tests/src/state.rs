//! The payments the sandbox knows, and the rules PayPing applies to them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::util::{base36, crockford26, mix};
use crate::{DEFAULT_FAILURE_CODE, DEFAULT_V3_FAILURE_CODE, SandboxError};

/// How long after verify a reversible v3 payment can be refunded (`POST /v3/pay/reverse`).
pub(crate) const REFUND_WINDOW: Duration = Duration::from_secs(30 * 60);

/// The PayPing API a payment was created on; verify, cancel and refund must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiVersion {
    /// `POST /v2/pay`: a 13-character code, the `code`/`refid`/... callback form.
    V2,
    /// `POST /v3/pay`: a 26-character ULID-like code, the `status`/`errorCode`/`data` form.
    V3,
}

impl ApiVersion {
    /// `v2` or `v3`, as the HTTP control endpoints show it.
    pub fn name(self) -> &'static str {
        match self {
            ApiVersion::V2 => "v2",
            ApiVersion::V3 => "v3",
        }
    }
}

/// Where a payment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentState {
    /// Created by the shop; the buyer has not acted yet.
    Created,
    /// The buyer approved; the shop has not verified yet (the verify window is running).
    Paid,
    /// The shop verified it: the money is the shop's.
    Verified,
    /// The buyer pressed cancel on the gateway page.
    CancelledByBuyer,
    /// The payment failed at the gateway with this PayPing error code.
    Failed {
        /// PayPing's error code (39 by default), answered by verify.
        code: u32,
    },
    /// The shop cancelled the payment code (`DELETE /v2/pay/{code}`).
    CancelledByShop,
    /// Paid but not verified within the verify window: voided and refunded.
    Expired,
    /// Verified, then given back to the payer by the shop (`POST /v3/pay/reverse`).
    Refunded,
}

impl PaymentState {
    /// A short snake_case name, as used by the HTTP control endpoints.
    pub fn name(&self) -> &'static str {
        match self {
            PaymentState::Created => "created",
            PaymentState::Paid => "paid",
            PaymentState::Verified => "verified",
            PaymentState::CancelledByBuyer => "cancelled_by_buyer",
            PaymentState::Failed { .. } => "failed",
            PaymentState::CancelledByShop => "cancelled_by_shop",
            PaymentState::Expired => "expired",
            PaymentState::Refunded => "refunded",
        }
    }
}

/// A copy of one payment's record, as the sandbox holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentSnapshot {
    /// The payment code answered by create.
    pub code: String,
    /// The refId, once the buyer acted (approve and fail send it in the callback; a buyer
    /// cancel assigns one internally that the callback leaves empty).
    pub ref_id: Option<String>,
    /// The shop's `clientRefId`, if it sent one.
    pub client_ref_id: Option<String>,
    /// Amount in Toman.
    pub amount: u32,
    /// Current state.
    pub state: PaymentState,
    /// How many verify requests reached this payment (any outcome after the refId lookup).
    pub verify_count: u32,
    /// When create was answered (sandbox clock).
    pub created_at: SystemTime,
    /// When the buyer approved (sandbox clock).
    pub paid_at: Option<SystemTime>,
    /// The shop's `returnUrl`.
    pub return_url: String,
    /// The shop's `payerIdentity`, if any.
    pub payer_identity: Option<String>,
    /// The shop's `payerName`, if any.
    pub payer_name: Option<String>,
    /// The shop's `description`, if any.
    pub description: Option<String>,
    /// The API it was created on.
    pub version: ApiVersion,
    /// Whether the shop created it reversible (v3 `isReversible`; always false on v2).
    pub reversible: bool,
    /// Whether the buyer opened its gateway page (a v3 payment can no longer be deleted
    /// then, and the report says status 2 while it is unpaid).
    pub opened: bool,
    /// When the shop verified it (sandbox clock).
    pub verified_at: Option<SystemTime>,
}

/// The form a gateway makes the buyer's browser POST to the shop's `returnUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackForm {
    /// Where the form goes (the payment's `returnUrl`).
    pub return_url: String,
    /// The fields in order: on v2 `code`, `refid`, `clientrefid`, `cardnumber`,
    /// `cardhashpan`; on v3 `status`, `errorCode`, `data` (a JSON string).
    pub fields: Vec<(String, String)>,
    /// The same fields, `application/x-www-form-urlencoded`.
    pub body: String,
}

impl CallbackForm {
    /// The value of a field, by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the buyer does on the gateway page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuyerAction {
    Approve,
    Cancel,
    /// With the failure's code, or the version's default.
    Fail(Option<u32>),
}

/// An error answer of the API, before it becomes HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 401, empty body.
    Unauthorized,
    /// 400 with `{code: message}`.
    Code(u32),
}

pub(crate) struct NewPayment {
    pub(crate) amount: u32,
    pub(crate) return_url: String,
    pub(crate) payer_identity: Option<String>,
    pub(crate) payer_name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) client_ref_id: Option<String>,
    pub(crate) version: ApiVersion,
    pub(crate) reversible: bool,
}

pub(crate) struct Payment {
    pub(crate) snap: PaymentSnapshot,
    pub(crate) token: String,
    pub(crate) card_number: Option<String>,
    pub(crate) card_hash_pan: Option<String>,
}

/// The fee fields of a v3 payment, in Toman. The sandbox's merchant pays a 1% wage plus
/// 10% VAT on it; the payer pays nothing on top, so the gateway charges the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fees {
    pub(crate) gateway_amount: u32,
    pub(crate) payer_wage: u32,
    pub(crate) business_wage: u32,
    pub(crate) payping_vat: u32,
}

impl Fees {
    pub(crate) fn of(amount: u32) -> Fees {
        let business_wage = amount / 100;
        Fees {
            gateway_amount: amount,
            payer_wage: 0,
            business_wage,
            payping_vat: business_wage / 10,
        }
    }
}

/// A successful verify: the v2 answer is its first three fields, v3's all of them.
pub(crate) struct Verified {
    pub(crate) amount: u32,
    pub(crate) card_number: String,
    pub(crate) card_hash_pan: String,
    pub(crate) code: String,
    pub(crate) client_ref_id: Option<String>,
    pub(crate) ref_id: String,
    pub(crate) paid_at: SystemTime,
    pub(crate) fees: Fees,
}

/// Why a v3 call was refused, before it becomes problem details.
pub(crate) enum V3Refusal {
    /// A v3 error code (101..165).
    Code(u32),
    /// Verified before: 409 with code 110 and the earlier result.
    AlreadyVerified(Box<Verified>),
}

impl Payment {
    fn verified(&self) -> Verified {
        let s = &self.snap;
        Verified {
            amount: s.amount,
            card_number: self.card_number.clone().unwrap_or_default(),
            card_hash_pan: self.card_hash_pan.clone().unwrap_or_default(),
            code: s.code.clone(),
            client_ref_id: s.client_ref_id.clone(),
            ref_id: s.ref_id.clone().unwrap_or_default(),
            paid_at: s.paid_at.unwrap_or(s.created_at),
            fees: Fees::of(s.amount),
        }
    }

    /// The payment of `token` on the v3 API, or the code v3 answers.
    fn check_v3(&self, token: &str) -> Result<(), u32> {
        if self.token != token {
            // Another merchant's payment is not found, as far as this token can tell.
            return Err(122);
        }
        if self.snap.version != ApiVersion::V3 {
            return Err(124);
        }
        Ok(())
    }

    fn ref_is(&self, ref_id: u64) -> bool {
        self.snap.ref_id.as_deref() == Some(ref_id.to_string().as_str())
    }
}

pub(crate) struct Store {
    payments: Vec<Payment>,
    by_code: HashMap<String, usize>,
    by_ref: HashMap<String, usize>,
    seed: u64,
    ref_counter: u64,
}

impl Store {
    pub(crate) fn new(seed: u64) -> Store {
        Store {
            payments: Vec::new(),
            by_code: HashMap::new(),
            by_ref: HashMap::new(),
            seed,
            ref_counter: 0,
        }
    }

    pub(crate) fn create(&mut self, token: &str, new: NewPayment, now: SystemTime) -> String {
        let n = self.payments.len() as u64;
        // `mix` is a bijection and the xor with a fixed seed too: codes never repeat (and a
        // v2 code, 13 characters, is never a v3 one, 26).
        let code = match new.version {
            ApiVersion::V2 => base36(mix(n ^ self.seed)),
            ApiVersion::V3 => {
                let ms = now
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                crockford26(ms, mix(n ^ self.seed), mix(!n ^ self.seed) as u16)
            }
        };
        self.by_code.insert(code.clone(), self.payments.len());
        self.payments.push(Payment {
            snap: PaymentSnapshot {
                code: code.clone(),
                ref_id: None,
                client_ref_id: new.client_ref_id,
                amount: new.amount,
                state: PaymentState::Created,
                verify_count: 0,
                created_at: now,
                paid_at: None,
                return_url: new.return_url,
                payer_identity: new.payer_identity,
                payer_name: new.payer_name,
                description: new.description,
                version: new.version,
                reversible: new.reversible && new.version == ApiVersion::V3,
                opened: false,
                verified_at: None,
            },
            token: token.to_owned(),
            card_number: None,
            card_hash_pan: None,
        });
        code
    }

    pub(crate) fn get(&self, code: &str) -> Option<&Payment> {
        self.by_code.get(code).map(|&i| &self.payments[i])
    }

    pub(crate) fn snapshots(&self) -> Vec<PaymentSnapshot> {
        self.payments.iter().map(|p| p.snap.clone()).collect()
    }

    fn next_ref_id(&mut self) -> (String, u64) {
        let n = self.ref_counter;
        self.ref_counter += 1;
        // 7_919_111 is coprime with 900_000_000: nine-digit refIds, unique for 9e8 payments.
        let v = 100_000_000 + (self.seed % 900_000_000 + n * 7_919_111) % 900_000_000;
        (v.to_string(), v)
    }

    /// The buyer opened the gateway page of a payment not yet acted on.
    pub(crate) fn mark_opened(&mut self, code: &str) {
        if let Some(&idx) = self.by_code.get(code) {
            let p = &mut self.payments[idx];
            if p.snap.state == PaymentState::Created {
                p.snap.opened = true;
            }
        }
    }

    pub(crate) fn buyer_action(
        &mut self,
        code: &str,
        action: BuyerAction,
        now: SystemTime,
    ) -> Result<CallbackForm, SandboxError> {
        let idx = *self
            .by_code
            .get(code)
            .ok_or_else(|| SandboxError::UnknownPayment {
                code: code.to_owned(),
            })?;
        let state = self.payments[idx].snap.state;
        if state != PaymentState::Created {
            return Err(SandboxError::NotPayable {
                code: code.to_owned(),
                state,
            });
        }
        let (ref_id, ref_num) = self.next_ref_id();
        self.by_ref.insert(ref_id.clone(), idx);
        let seed = self.seed;
        let p = &mut self.payments[idx];
        p.snap.ref_id = Some(ref_id);
        p.snap.opened = true;
        match action {
            BuyerAction::Approve => {
                let card = format!("603799******{:04}", ref_num % 10_000);
                let hash: String = (0..4u64)
                    .map(|i| format!("{:016x}", mix(mix(ref_num ^ seed).wrapping_add(i))))
                    .collect();
                p.snap.state = PaymentState::Paid;
                p.snap.paid_at = Some(now);
                p.card_number = Some(card);
                p.card_hash_pan = Some(hash);
            }
            BuyerAction::Cancel => p.snap.state = PaymentState::CancelledByBuyer,
            BuyerAction::Fail(code) => {
                let code = code.unwrap_or(match p.snap.version {
                    ApiVersion::V2 => DEFAULT_FAILURE_CODE,
                    ApiVersion::V3 => DEFAULT_V3_FAILURE_CODE,
                });
                p.snap.state = PaymentState::Failed { code };
            }
        }
        let fields = match p.snap.version {
            ApiVersion::V2 => v2_fields(p),
            ApiVersion::V3 => v3_fields(p, ref_num)?,
        };
        let body = serde_urlencoded::to_string(&fields).map_err(|e| SandboxError::Encoding {
            reason: e.to_string(),
        })?;
        Ok(CallbackForm {
            return_url: p.snap.return_url.clone(),
            fields,
            body,
        })
    }

    /// Verify, after auth and field validation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn verify(
        &mut self,
        token: &str,
        ref_id: &str,
        amount: u32,
        now: SystemTime,
        window: Duration,
        expired_code: u32,
    ) -> Result<Verified, ApiError> {
        let idx = *self.by_ref.get(ref_id).ok_or(ApiError::Code(44))?;
        let p = &mut self.payments[idx];
        if p.snap.version != ApiVersion::V2 {
            // v2 knows no refId of a v3 payment.
            return Err(ApiError::Code(44));
        }
        p.snap.verify_count += 1;
        if p.token != token {
            return Err(ApiError::Code(46));
        }
        match p.snap.state {
            PaymentState::CancelledByBuyer | PaymentState::CancelledByShop => {
                return Err(ApiError::Code(1));
            }
            PaymentState::Failed { code } => return Err(ApiError::Code(code)),
            PaymentState::Verified => return Err(ApiError::Code(15)),
            PaymentState::Expired | PaymentState::Refunded => {
                return Err(ApiError::Code(expired_code));
            }
            // A refId exists only once the buyer acted, so Created cannot be reached here.
            PaymentState::Created => return Err(ApiError::Code(44)),
            PaymentState::Paid => {}
        }
        let paid_at = p.snap.paid_at.unwrap_or(p.snap.created_at);
        if now > paid_at + window {
            p.snap.state = PaymentState::Expired;
            return Err(ApiError::Code(expired_code));
        }
        if amount != p.snap.amount {
            return Err(ApiError::Code(47));
        }
        p.snap.state = PaymentState::Verified;
        p.snap.verified_at = Some(now);
        Ok(p.verified())
    }

    /// `DELETE /v2/pay/{code}`.
    pub(crate) fn cancel_by_shop(&mut self, token: &str, code: &str) -> Result<(), ApiError> {
        let idx = *self.by_code.get(code).ok_or(ApiError::Code(26))?;
        let p = &mut self.payments[idx];
        if p.snap.version != ApiVersion::V2 {
            return Err(ApiError::Code(26));
        }
        if p.token != token {
            return Err(ApiError::Code(46));
        }
        match p.snap.state {
            PaymentState::Verified => Err(ApiError::Code(15)),
            PaymentState::Created | PaymentState::Paid => {
                p.snap.state = PaymentState::CancelledByShop;
                Ok(())
            }
            // Already void: nothing left to cancel, the record keeps its story.
            _ => Ok(()),
        }
    }

    /// `POST /v3/pay/verify`, after auth and field validation. Checks, in order: the
    /// code is this merchant's (122) and a v3 payment (124); the buyer acted (121); the
    /// paymentRefId is the payment's (133); its state (127 cancelled by the buyer, 121
    /// failed, 131 cancelled by the shop, expired or refunded, 409/110 verified); the
    /// window (131, and the payment expires); the amount (137).
    pub(crate) fn verify_v3(
        &mut self,
        token: &str,
        code: &str,
        ref_id: u64,
        amount: u32,
        now: SystemTime,
        window: Duration,
    ) -> Result<Verified, V3Refusal> {
        let idx = *self.by_code.get(code).ok_or(V3Refusal::Code(122))?;
        let p = &mut self.payments[idx];
        p.check_v3(token).map_err(V3Refusal::Code)?;
        p.snap.verify_count += 1;
        if p.snap.state == PaymentState::Created {
            return Err(V3Refusal::Code(121));
        }
        if !p.ref_is(ref_id) {
            return Err(V3Refusal::Code(133));
        }
        match p.snap.state {
            PaymentState::CancelledByBuyer => return Err(V3Refusal::Code(127)),
            PaymentState::Failed { .. } | PaymentState::Created => {
                return Err(V3Refusal::Code(121));
            }
            PaymentState::CancelledByShop | PaymentState::Expired | PaymentState::Refunded => {
                return Err(V3Refusal::Code(131));
            }
            PaymentState::Verified => {
                return Err(V3Refusal::AlreadyVerified(Box::new(p.verified())));
            }
            PaymentState::Paid => {}
        }
        let paid_at = p.snap.paid_at.unwrap_or(p.snap.created_at);
        if now > paid_at + window {
            p.snap.state = PaymentState::Expired;
            return Err(V3Refusal::Code(131));
        }
        if amount != p.snap.amount {
            return Err(V3Refusal::Code(137));
        }
        p.snap.state = PaymentState::Verified;
        p.snap.verified_at = Some(now);
        Ok(p.verified())
    }

    /// `DELETE /v3/pay`: only a payment the buyer never reached (129 otherwise); deleting
    /// it again is no error.
    pub(crate) fn cancel_v3(&mut self, token: &str, code: &str) -> Result<(), u32> {
        let idx = *self.by_code.get(code).ok_or(122u32)?;
        let p = &mut self.payments[idx];
        p.check_v3(token)?;
        match p.snap.state {
            PaymentState::Created if !p.snap.opened => {
                p.snap.state = PaymentState::CancelledByShop;
                Ok(())
            }
            PaymentState::CancelledByShop => Ok(()),
            _ => Err(129),
        }
    }

    /// `POST /v3/pay/reverse`: a verified, reversible payment within [`REFUND_WINDOW`] of
    /// its verify becomes [`PaymentState::Refunded`]. Checks, in order: 122, 124, the
    /// paymentRefId (133), reversible (134), verified (131), the window (135).
    pub(crate) fn reverse(
        &mut self,
        token: &str,
        code: &str,
        ref_id: u64,
        now: SystemTime,
    ) -> Result<Verified, u32> {
        let idx = *self.by_code.get(code).ok_or(122u32)?;
        let p = &mut self.payments[idx];
        p.check_v3(token)?;
        if !p.ref_is(ref_id) {
            return Err(133);
        }
        if !p.snap.reversible {
            return Err(134);
        }
        let (PaymentState::Verified, Some(verified_at)) = (p.snap.state, p.snap.verified_at) else {
            return Err(131);
        };
        if now > verified_at + REFUND_WINDOW {
            return Err(135);
        }
        p.snap.state = PaymentState::Refunded;
        Ok(p.verified())
    }
}

/// v2's callback: `code`, `refid`, `clientrefid`, `cardnumber`, `cardhashpan` (a cancel
/// sends no refId, a failure no card).
fn v2_fields(p: &Payment) -> Vec<(String, String)> {
    let s = &p.snap;
    let sent_ref = match s.state {
        PaymentState::CancelledByBuyer => String::new(),
        _ => s.ref_id.clone().unwrap_or_default(),
    };
    vec![
        ("code".into(), s.code.clone()),
        ("refid".into(), sent_ref),
        (
            "clientrefid".into(),
            s.client_ref_id.clone().unwrap_or_default(),
        ),
        (
            "cardnumber".into(),
            p.card_number.clone().unwrap_or_default(),
        ),
        (
            "cardhashpan".into(),
            p.card_hash_pan.clone().unwrap_or_default(),
        ),
    ]
}

/// v3's callback data: what PayPing puts in the `data` JSON string.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct V3Data<'a> {
    client_ref_id: &'a str,
    payment_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_ref_id: Option<u64>,
    amount: u32,
    gateway_amount: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_hash_pan: Option<&'a str>,
}

/// v3's callback: `status` 1 and the paid data, or `status` 0 with the failure's
/// `errorCode` (empty when the buyer cancelled) and no paymentRefId or card.
fn v3_fields(p: &Payment, ref_num: u64) -> Result<Vec<(String, String)>, SandboxError> {
    let s = &p.snap;
    let paid = s.state == PaymentState::Paid;
    let error_code = match s.state {
        PaymentState::Failed { code } => code.to_string(),
        _ => String::new(),
    };
    let data = V3Data {
        client_ref_id: s.client_ref_id.as_deref().unwrap_or_default(),
        payment_code: &s.code,
        payment_ref_id: paid.then_some(ref_num),
        amount: s.amount,
        gateway_amount: Fees::of(s.amount).gateway_amount,
        card_number: p.card_number.as_deref().filter(|_| paid),
        card_hash_pan: p.card_hash_pan.as_deref().filter(|_| paid),
    };
    let data = serde_json::to_string(&data).map_err(|e| SandboxError::Encoding {
        reason: e.to_string(),
    })?;
    Ok(vec![
        ("status".into(), if paid { "1" } else { "0" }.into()),
        ("errorCode".into(), error_code),
        ("data".into(), data),
    ])
}
