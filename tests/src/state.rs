//! The payments the sandbox knows, and the rules PayPing applies to them.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::SandboxError;
use crate::util::{base36, mix};

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
}

/// The form a gateway makes the buyer's browser POST to the shop's `returnUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackForm {
    /// Where the form goes (the payment's `returnUrl`).
    pub return_url: String,
    /// The fields in order: `code`, `refid`, `clientrefid`, `cardnumber`, `cardhashpan`.
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
    Fail(u32),
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
}

pub(crate) struct Payment {
    pub(crate) snap: PaymentSnapshot,
    pub(crate) token: String,
    pub(crate) card_number: Option<String>,
    pub(crate) card_hash_pan: Option<String>,
}

/// The successful verify answer.
pub(crate) struct Verified {
    pub(crate) amount: u32,
    pub(crate) card_number: String,
    pub(crate) card_hash_pan: String,
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
        // `mix` is a bijection and the xor with a fixed seed too: codes never repeat.
        let code = base36(mix(n ^ self.seed));
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
        p.snap.ref_id = Some(ref_id.clone());
        let (sent_ref, card, hash) = match action {
            BuyerAction::Approve => {
                let card = format!("603799******{:04}", ref_num % 10_000);
                let hash: String = (0..4u64)
                    .map(|i| format!("{:016x}", mix(mix(ref_num ^ seed).wrapping_add(i))))
                    .collect();
                p.snap.state = PaymentState::Paid;
                p.snap.paid_at = Some(now);
                p.card_number = Some(card.clone());
                p.card_hash_pan = Some(hash.clone());
                (ref_id, card, hash)
            }
            BuyerAction::Cancel => {
                p.snap.state = PaymentState::CancelledByBuyer;
                (String::new(), String::new(), String::new())
            }
            BuyerAction::Fail(code) => {
                p.snap.state = PaymentState::Failed { code };
                (ref_id, String::new(), String::new())
            }
        };
        let fields: Vec<(String, String)> = vec![
            ("code".into(), p.snap.code.clone()),
            ("refid".into(), sent_ref),
            (
                "clientrefid".into(),
                p.snap.client_ref_id.clone().unwrap_or_default(),
            ),
            ("cardnumber".into(), card),
            ("cardhashpan".into(), hash),
        ];
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
            PaymentState::Expired => return Err(ApiError::Code(expired_code)),
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
        Ok(Verified {
            amount: p.snap.amount,
            card_number: p.card_number.clone().unwrap_or_default(),
            card_hash_pan: p.card_hash_pan.clone().unwrap_or_default(),
        })
    }

    /// `DELETE /v2/pay/{code}`.
    pub(crate) fn cancel_by_shop(&mut self, token: &str, code: &str) -> Result<(), ApiError> {
        let idx = *self.by_code.get(code).ok_or(ApiError::Code(26))?;
        let p = &mut self.payments[idx];
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
}
