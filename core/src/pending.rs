//! The record a shop keeps between create and verify.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, AmountUnit};
use crate::invalid::InvalidInput;
use crate::redirect::RedirectUrl;
use crate::request_id::RequestId;
use crate::text::{ClientRefId, PaymentCode};

/// A payment that was created and is waiting for the buyer: store it by its
/// [`client_ref_id`](Pending::client_ref_id) (or code) until the callback arrives.
///
/// It is `Serialize`/`Deserialize` so it can live in the shop's database, a session or a
/// cache; every field is validated again when it is read back, and the record must agree
/// with itself: its redirect must be the payment page of its own code, on PayPing's host (or
/// a loopback sandbox), so whoever can write the store cannot send buyers elsewhere. A record
/// stored by an earlier release keeps loading (the crate's tests load each released form). Verify is built from it, and
/// sends the amount stored here in the unit it was created with, so a callback can never
/// choose the amount.
///
/// ```
/// # use ghesta_core::Pending;
/// # fn store(_: String) {}
/// # fn demo(pending: Pending) -> Result<(), serde_json::Error> {
/// store(serde_json::to_string(&pending)?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Stored")]
pub struct Pending {
    pub(crate) code: PaymentCode,
    pub(crate) client_ref_id: ClientRefId,
    pub(crate) amount: Amount,
    pub(crate) wire_unit: AmountUnit,
    pub(crate) created_at: SystemTime,
    pub(crate) redirect_url: RedirectUrl,
    /// The create answer's request id, kept for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) request_id: Option<RequestId>,
}

impl Pending {
    /// The payment code PayPing gave.
    pub fn code(&self) -> &PaymentCode {
        &self.code
    }

    /// The shop's reference sent on create.
    pub fn client_ref_id(&self) -> &ClientRefId {
        &self.client_ref_id
    }

    /// The amount the buyer must pay; verify sends exactly this.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The unit the amount was sent in on create; verify uses the same one.
    pub fn wire_unit(&self) -> AmountUnit {
        self.wire_unit
    }

    /// When the shop created the payment (its own clock).
    pub fn created_at(&self) -> SystemTime {
        self.created_at
    }

    /// Ghesta's installment page for this payment: send the buyer's browser here.
    pub fn redirect_url(&self) -> &RedirectUrl {
        &self.redirect_url
    }

    /// The `X-PayPingRequest-ID` of the create answer, if PayPing sent one.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }
}

/// The stored form as it is read, before the record is checked against itself.
#[derive(Deserialize)]
struct Stored {
    code: PaymentCode,
    client_ref_id: ClientRefId,
    amount: Amount,
    wire_unit: AmountUnit,
    created_at: SystemTime,
    redirect_url: RedirectUrl,
    #[serde(default)]
    request_id: Option<RequestId>,
}

impl TryFrom<Stored> for Pending {
    type Error = InvalidInput;

    fn try_from(stored: Stored) -> Result<Self, InvalidInput> {
        stored.redirect_url.check_stored(&stored.code)?;
        Ok(Self {
            code: stored.code,
            client_ref_id: stored.client_ref_id,
            amount: stored.amount,
            wire_unit: stored.wire_unit,
            created_at: stored.created_at,
            redirect_url: stored.redirect_url,
            request_id: stored.request_id,
        })
    }
}
