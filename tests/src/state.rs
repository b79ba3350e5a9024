//! The payments the sandbox knows, and the rules PayPing applies to them, whichever protocol
//! the shop speaks: one lifecycle, one verify, one cancel, one refund. A call is refused with
//! a [`Refusal`] that names what is wrong in PayPing's terms, not in a protocol's; each face
//! (`api_v2`, `api_v3`, `report`) turns it into its own code and status, and writes its own
//! callback form. Nothing here knows a PayPing code or a wire key.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::util::{base36, crockford26, mix};

/// How long after verify a reversible payment can be refunded (v3's `POST /v3/pay/reverse`).
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
    /// How many verify requests reached this payment: its own merchant's, on its protocol,
    /// whatever the outcome (another merchant's, or one on the other protocol, are not
    /// counted).
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

/// What the buyer does on the gateway page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuyerAction {
    Approve,
    Cancel,
    /// With the failure's code, or the protocol's default.
    Fail(Option<u32>),
}

/// The payment as the shop created it.
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

/// One payment: its public record, the merchant that created it and the card that paid.
pub(crate) struct Payment {
    pub(crate) snap: PaymentSnapshot,
    /// The token that created it: the only one that may verify, cancel, refund or read it.
    pub(crate) token: String,
    pub(crate) card_number: Option<String>,
    pub(crate) card_hash_pan: Option<String>,
}

/// Who makes an API call: the merchant (by its token) on the protocol the call came in on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    pub(crate) token: &'a str,
    pub(crate) version: ApiVersion,
}

/// How a verify names its payment.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Naming<'a> {
    /// By the refId alone (v2: `{refId, amount}`).
    RefId(&'a str),
    /// By the payment code, with the refId that must be its (v3: `paymentCode`,
    /// `paymentRefId`).
    CodeAndRefId { code: &'a str, ref_id: &'a str },
}

/// Until when the shop may cancel a payment code: a rule each protocol states differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelUntil {
    /// Until the buyer reaches the gateway page (v3: "already sent to the gateway").
    BuyerArrives,
    /// Until it is verified, a paid payment included (v2; PayPing's doc is silent, the
    /// sandbox chose).
    Verified,
}

/// Why the state machine refused a call, in PayPing's terms; each face maps it to its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No payment by that code or refId.
    UnknownPayment,
    /// Another merchant's payment: to the report, cancel and refund it is as unknown; v2's
    /// verify names it (code 46).
    OtherMerchant,
    /// Created on the other protocol.
    OtherProtocol,
    /// The buyer has not acted yet.
    NotPaidYet,
    /// The refId given is not this payment's.
    OtherRefId,
    /// The buyer cancelled on the gateway page.
    CancelledByBuyer,
    /// The shop cancelled the payment code.
    CancelledByShop,
    /// It failed at the gateway with this code (in the protocol it was created on).
    Failed(u32),
    /// Verified before; the earlier result.
    AlreadyVerified(Box<Verified>),
    /// Paid but not verified within the verify window: voided, now or before.
    TooLate,
    /// Verified, then refunded.
    Refunded,
    /// The amount differs from the payment's.
    AmountDiffers,
    /// Cancel: the buyer has reached the gateway.
    AtGateway,
    /// Refund: not created reversible.
    NotReversible,
    /// Refund: not verified.
    NotVerified,
    /// Refund: the refund window after verify has passed.
    RefundTooLate,
    /// The buyer can act only on a payment in [`PaymentState::Created`]; this one is in
    /// another.
    NotPayable(PaymentState),
}

/// A verify's result: what PayPing knows of the payment once it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verified {
    pub(crate) amount: u32,
    pub(crate) card_number: String,
    pub(crate) card_hash_pan: String,
    pub(crate) code: String,
    pub(crate) client_ref_id: Option<String>,
    pub(crate) ref_id: String,
    pub(crate) paid_at: SystemTime,
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
        }
    }

    /// Whether `caller` may act on this payment: its merchant, on its protocol. Another
    /// merchant learns nothing else, whichever protocol it asks on.
    fn check(&self, caller: Caller<'_>) -> Result<(), Refusal> {
        if self.token != caller.token {
            return Err(Refusal::OtherMerchant);
        }
        if self.snap.version != caller.version {
            return Err(Refusal::OtherProtocol);
        }
        Ok(())
    }
}

/// Every payment, by code and by refId. Codes and refIds are matched byte for byte: a
/// padded or re-cased code is another code.
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

    /// A payment by code, for the sandbox's own controls (no merchant check).
    pub(crate) fn get(&self, code: &str) -> Option<&Payment> {
        self.by_code.get(code).map(|&i| &self.payments[i])
    }

    /// A payment by code as `token` may read it (the report): another merchant's is unknown.
    pub(crate) fn read(&self, token: &str, code: &str) -> Result<&Payment, Refusal> {
        let p = self.get(code).ok_or(Refusal::UnknownPayment)?;
        if p.token != token {
            return Err(Refusal::OtherMerchant);
        }
        Ok(p)
    }

    pub(crate) fn snapshots(&self) -> Vec<PaymentSnapshot> {
        self.payments.iter().map(|p| p.snap.clone()).collect()
    }

    /// The payments `token` created, in creation order.
    pub(crate) fn snapshots_of(&self, token: &str) -> Vec<PaymentSnapshot> {
        self.payments
            .iter()
            .filter(|p| p.token == token)
            .map(|p| p.snap.clone())
            .collect()
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

    /// The buyer acts on a payment in [`PaymentState::Created`], however long ago it was
    /// created (PayPing documents no expiry of an unpaid code; the verify window runs from
    /// the payment). A failure without a code gets `default_failure(version)`.
    pub(crate) fn buyer_action(
        &mut self,
        code: &str,
        action: BuyerAction,
        now: SystemTime,
        default_failure: fn(ApiVersion) -> u32,
    ) -> Result<&Payment, Refusal> {
        let idx = *self.by_code.get(code).ok_or(Refusal::UnknownPayment)?;
        let state = self.payments[idx].snap.state;
        if state != PaymentState::Created {
            return Err(Refusal::NotPayable(state));
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
                let code = code.unwrap_or_else(|| default_failure(p.snap.version));
                p.snap.state = PaymentState::Failed { code };
            }
        }
        Ok(&self.payments[idx])
    }

    /// Verify, after auth and field validation. Checks, in order: the payment is known by
    /// `naming`, is the caller's and on its protocol; the buyer acted; the refId named is
    /// its; its state (cancelled, failed, verified before, voided, refunded); the verify
    /// window, counted from the payment (a paid payment verified after it is voided, now);
    /// the amount (a wrong amount changes nothing). Counts every verify that reaches the
    /// caller's payment.
    pub(crate) fn verify(
        &mut self,
        caller: Caller<'_>,
        naming: Naming<'_>,
        amount: u32,
        now: SystemTime,
        window: Duration,
    ) -> Result<Verified, Refusal> {
        let (index, ref_id) = match naming {
            Naming::RefId(ref_id) => (self.by_ref.get(ref_id), None),
            Naming::CodeAndRefId { code, ref_id } => (self.by_code.get(code), Some(ref_id)),
        };
        let p = &mut self.payments[*index.ok_or(Refusal::UnknownPayment)?];
        p.check(caller)?;
        p.snap.verify_count += 1;
        if p.snap.state == PaymentState::Created {
            return Err(Refusal::NotPaidYet);
        }
        if ref_id.is_some_and(|r| p.snap.ref_id.as_deref() != Some(r)) {
            return Err(Refusal::OtherRefId);
        }
        match p.snap.state {
            PaymentState::CancelledByBuyer => return Err(Refusal::CancelledByBuyer),
            PaymentState::CancelledByShop => return Err(Refusal::CancelledByShop),
            PaymentState::Failed { code } => return Err(Refusal::Failed(code)),
            PaymentState::Verified => {
                return Err(Refusal::AlreadyVerified(Box::new(p.verified())));
            }
            PaymentState::Expired => return Err(Refusal::TooLate),
            PaymentState::Refunded => return Err(Refusal::Refunded),
            PaymentState::Created => return Err(Refusal::NotPaidYet),
            PaymentState::Paid => {}
        }
        let paid_at = p.snap.paid_at.unwrap_or(p.snap.created_at);
        if now > paid_at + window {
            p.snap.state = PaymentState::Expired;
            return Err(Refusal::TooLate);
        }
        if amount != p.snap.amount {
            return Err(Refusal::AmountDiffers);
        }
        p.snap.state = PaymentState::Verified;
        p.snap.verified_at = Some(now);
        Ok(p.verified())
    }

    /// The shop cancels a payment code. Checks the payment is known, the caller's and on its
    /// protocol; then a payment not yet verified, and within `until`, becomes
    /// [`PaymentState::CancelledByShop`]. A payment already void is refused with what made
    /// it void (a face may answer that as success: there is nothing left to cancel).
    pub(crate) fn cancel(
        &mut self,
        caller: Caller<'_>,
        code: &str,
        until: CancelUntil,
    ) -> Result<(), Refusal> {
        let idx = *self.by_code.get(code).ok_or(Refusal::UnknownPayment)?;
        let p = &mut self.payments[idx];
        p.check(caller)?;
        let reached_gateway = p.snap.opened || p.snap.state != PaymentState::Created;
        match p.snap.state {
            PaymentState::Created | PaymentState::Paid
                if until == CancelUntil::BuyerArrives && reached_gateway =>
            {
                Err(Refusal::AtGateway)
            }
            PaymentState::Created | PaymentState::Paid => {
                p.snap.state = PaymentState::CancelledByShop;
                Ok(())
            }
            PaymentState::Verified => Err(Refusal::AlreadyVerified(Box::new(p.verified()))),
            PaymentState::CancelledByBuyer => Err(Refusal::CancelledByBuyer),
            PaymentState::CancelledByShop => Err(Refusal::CancelledByShop),
            PaymentState::Failed { code } => Err(Refusal::Failed(code)),
            PaymentState::Expired => Err(Refusal::TooLate),
            PaymentState::Refunded => Err(Refusal::Refunded),
        }
    }

    /// The shop refunds a verified, reversible payment within [`REFUND_WINDOW`] of its
    /// verify: it becomes [`PaymentState::Refunded`]. Checks, in order: known, the caller's
    /// and on its protocol; the refId is its; reversible; verified; the window.
    pub(crate) fn refund(
        &mut self,
        caller: Caller<'_>,
        code: &str,
        ref_id: &str,
        now: SystemTime,
    ) -> Result<Verified, Refusal> {
        let idx = *self.by_code.get(code).ok_or(Refusal::UnknownPayment)?;
        let p = &mut self.payments[idx];
        p.check(caller)?;
        if p.snap.ref_id.as_deref() != Some(ref_id) {
            return Err(Refusal::OtherRefId);
        }
        if !p.snap.reversible {
            return Err(Refusal::NotReversible);
        }
        let verified_at = match (p.snap.state, p.snap.verified_at) {
            (PaymentState::Verified, Some(at)) => at,
            (PaymentState::Refunded, _) => return Err(Refusal::Refunded),
            _ => return Err(Refusal::NotVerified),
        };
        if now > verified_at + REFUND_WINDOW {
            return Err(Refusal::RefundTooLate);
        }
        p.snap.state = PaymentState::Refunded;
        Ok(p.verified())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHOP: Caller<'static> = Caller {
        token: "shop",
        version: ApiVersion::V3,
    };
    const WINDOW: Duration = Duration::from_secs(600);

    fn new_payment(version: ApiVersion) -> NewPayment {
        NewPayment {
            amount: 1_000,
            return_url: "http://127.0.0.1:9/back".into(),
            payer_identity: None,
            payer_name: None,
            description: None,
            client_ref_id: Some("order-1".into()),
            version,
            reversible: true,
        }
    }

    fn no_default(_: ApiVersion) -> u32 {
        0
    }

    /// A store with one paid payment of SHOP on `version`: its code and refId.
    fn paid(version: ApiVersion, now: SystemTime) -> (Store, String, String) {
        let mut store = Store::new(7);
        let code = store.create("shop", new_payment(version), now);
        let p = store
            .buyer_action(&code, BuyerAction::Approve, now, no_default)
            .unwrap();
        let ref_id = p.snap.ref_id.clone().unwrap();
        (store, code, ref_id)
    }

    #[test]
    fn verify_refuses_in_neutral_terms_in_order() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let (mut store, code, ref_id) = paid(ApiVersion::V3, now);
        let named = Naming::CodeAndRefId {
            code: &code,
            ref_id: &ref_id,
        };
        let other = Caller {
            token: "other",
            ..SHOP
        };
        let v2 = Caller {
            version: ApiVersion::V2,
            ..SHOP
        };
        let mut verify = |caller, naming, amount| store.verify(caller, naming, amount, now, WINDOW);
        assert_eq!(
            verify(SHOP, Naming::RefId("1"), 1_000).unwrap_err(),
            Refusal::UnknownPayment
        );
        assert_eq!(
            verify(other, named, 1_000).unwrap_err(),
            Refusal::OtherMerchant
        );
        assert_eq!(
            verify(v2, named, 1_000).unwrap_err(),
            Refusal::OtherProtocol
        );
        let wrong_ref = Naming::CodeAndRefId {
            code: &code,
            ref_id: "1",
        };
        assert_eq!(
            verify(SHOP, wrong_ref, 1_000).unwrap_err(),
            Refusal::OtherRefId
        );
        assert_eq!(
            verify(SHOP, named, 999).unwrap_err(),
            Refusal::AmountDiffers
        );
        let verified = verify(SHOP, named, 1_000).unwrap();
        assert_eq!(
            verify(SHOP, named, 1_000).unwrap_err(),
            Refusal::AlreadyVerified(Box::new(verified))
        );
        // Only the caller's own verifies on its protocol reach the payment.
        assert_eq!(store.get(&code).unwrap().snap.verify_count, 4);
    }

    #[test]
    fn the_window_runs_from_the_payment_and_voids_on_the_late_verify() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let mut store = Store::new(7);
        let code = store.create("shop", new_payment(ApiVersion::V2), created);
        let paid_at = created + 3 * WINDOW;
        let p = store
            .buyer_action(&code, BuyerAction::Approve, paid_at, no_default)
            .expect("an unpaid payment does not expire");
        let ref_id = p.snap.ref_id.clone().unwrap();
        let v2 = Caller {
            version: ApiVersion::V2,
            ..SHOP
        };
        let late = paid_at + WINDOW + Duration::from_secs(1);
        assert_eq!(store.get(&code).unwrap().snap.state, PaymentState::Paid);
        let refused = store.verify(v2, Naming::RefId(&ref_id), 1_000, late, WINDOW);
        assert_eq!(refused.unwrap_err(), Refusal::TooLate);
        assert_eq!(store.get(&code).unwrap().snap.state, PaymentState::Expired);
    }

    #[test]
    fn cancel_follows_the_faces_rule_and_names_what_made_a_payment_void() {
        let now = SystemTime::UNIX_EPOCH;
        let (mut store, code, _) = paid(ApiVersion::V3, now);
        assert_eq!(
            store.cancel(SHOP, &code, CancelUntil::BuyerArrives),
            Err(Refusal::AtGateway)
        );
        assert_eq!(store.cancel(SHOP, &code, CancelUntil::Verified), Ok(()));
        assert_eq!(
            store.cancel(SHOP, &code, CancelUntil::Verified),
            Err(Refusal::CancelledByShop)
        );
        let fresh = store.create("shop", new_payment(ApiVersion::V3), now);
        store.mark_opened(&fresh);
        assert_eq!(
            store.cancel(SHOP, &fresh, CancelUntil::BuyerArrives),
            Err(Refusal::AtGateway),
            "the buyer reached the page"
        );
    }

    #[test]
    fn refund_checks_in_order() {
        let now = SystemTime::UNIX_EPOCH;
        let (mut store, code, ref_id) = paid(ApiVersion::V3, now);
        assert_eq!(
            store.refund(SHOP, &code, &ref_id, now).unwrap_err(),
            Refusal::NotVerified
        );
        let named = Naming::CodeAndRefId {
            code: &code,
            ref_id: &ref_id,
        };
        store.verify(SHOP, named, 1_000, now, WINDOW).unwrap();
        assert_eq!(
            store.refund(SHOP, &code, "1", now).unwrap_err(),
            Refusal::OtherRefId
        );
        let late = now + REFUND_WINDOW + Duration::from_secs(1);
        assert_eq!(
            store.refund(SHOP, &code, &ref_id, late).unwrap_err(),
            Refusal::RefundTooLate
        );
        assert!(store.refund(SHOP, &code, &ref_id, now).is_ok());
        assert_eq!(
            store.refund(SHOP, &code, &ref_id, now).unwrap_err(),
            Refusal::Refunded
        );
    }
}
