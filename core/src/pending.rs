//! The record a shop keeps between create and verify.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::amount::{Amount, AmountUnit};
use crate::config::Config;
use crate::error::Error;
use crate::fees::Fees;
use crate::gateway::{Gateway, Protocol};
use crate::invalid::{Field, InvalidInput, Rule};
use crate::redirect::RedirectUrl;
use crate::request_id::RequestId;
use crate::text::{ClientRefId, MerchantKey, PaymentCode};

/// A payment that was created and is waiting for the buyer: store it by its
/// [`client_ref_id`](Pending::client_ref_id) (or code) until the callback arrives.
///
/// It is `Serialize`/`Deserialize` so it can live in the shop's **server-side** store (its
/// database, or a cache only the server writes), never where the buyer can write it (a
/// cookie session, a hidden form field, the URL): its fields decide what is verified (the
/// amount sent, the code a callback must match), so a buyer who could edit it could choose
/// what their payment proves. Every field is validated again when it is read back, and the
/// record must agree with itself: its redirect must be the payment page of its own code, on
/// one of PayPing's hosts (`payping.ir`, or its second host `payping.io`) or a loopback
/// sandbox, so whoever can write the store cannot send buyers elsewhere or to another
/// payment. A v3 record whose page is of another shape on PayPing's domain reads back with
/// the start page of its code instead. A record stored by an earlier release keeps loading
/// (the crate's tests load each released form). Verify is built from it, and sends the
/// amount stored here in the unit it was created with, so a callback can never choose the
/// amount.
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
    /// The gateway the payment was created for; it decides the protocol of every later
    /// step. (0.1.0 stored none: such a record is v2, as its redirect says.)
    pub(crate) gateway: Gateway,
    /// Whether the payment was created reversible (v3), so that it can be refunded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) reversible: bool,
    /// v3's fees, as its create answer gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fees: Option<Fees>,
    /// The merchant whose configuration created it; none for the default merchant (and
    /// every record stored before merchants had keys). Written only when present, so a
    /// default merchant's record is byte for byte what an earlier release wrote and reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant: Option<MerchantKey>,
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

    /// The payment page for this payment (Ghesta's installment page, or PayPing's): send
    /// the buyer's browser here.
    pub fn redirect_url(&self) -> &RedirectUrl {
        &self.redirect_url
    }

    /// The gateway the payment was created for.
    pub fn gateway(&self) -> Gateway {
        self.gateway
    }

    /// The protocol every later step of this payment speaks, whatever the shop's setting
    /// is today.
    pub fn protocol(&self) -> Protocol {
        self.gateway.protocol()
    }

    /// Whether the payment was created reversible ([`NewPayment::with_reversible`]), which a
    /// refund needs.
    ///
    /// [`NewPayment::with_reversible`]: crate::NewPayment::with_reversible
    pub fn is_reversible(&self) -> bool {
        self.reversible
    }

    /// The fees v3's create answer named, if any.
    pub fn fees(&self) -> Option<&Fees> {
        self.fees.as_ref()
    }

    /// The `X-PayPingRequest-ID` of the create answer, if PayPing sent one.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// The merchant the payment belongs to: the [`Config::merchant`] it was created with.
    /// `None` is the default merchant, as is every record stored before merchants had keys.
    /// Every later step of the payment must run with that merchant's configuration.
    pub fn merchant(&self) -> Option<&MerchantKey> {
        self.merchant.as_ref()
    }

    /// Whether `config` may finish this payment: it must be the configuration of the
    /// record's own merchant, the same key or both none. A keyed configuration never
    /// finishes a keyless record (nor the other way round): the default merchant keeps a
    /// configuration without a key. Verify, cancel, refund and [`Settlement`] check this
    /// before building a request; a driver of its own that sends other exchanges for the
    /// record (a report) checks it too.
    ///
    /// [`Settlement`]: crate::Settlement
    ///
    /// ```
    /// use ghesta_core::*;
    /// # fn pending() -> Pending { serde_json::from_str(r#"{"code":"82a4f72","client_ref_id":"order-7",
    /// #   "amount":{"toman":250000},"wire_unit":"toman","merchant":"shop-tehran",
    /// #   "created_at":{"secs_since_epoch":0,"nanos_since_epoch":0},
    /// #   "redirect_url":"https://payping.ir/installment/82a4f72?type=ghesta"}"#).unwrap() }
    /// let tehran = Config::new(Token::new("token-t")?).with_merchant(MerchantKey::new("shop-tehran")?);
    /// let shiraz = Config::new(Token::new("token-s")?).with_merchant(MerchantKey::new("shop-shiraz")?);
    /// let pending = pending(); // created with `tehran`
    /// assert!(pending.check_merchant(&tehran).is_ok());
    /// let err = pending.check_merchant(&shiraz).unwrap_err();
    /// assert!(matches!(err, Error::WrongMerchant { .. }));
    /// assert!(err.to_string().contains("shop-tehran") && err.to_string().contains("shop-shiraz"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_merchant(&self, config: &Config) -> Result<(), Error> {
        if self.merchant.as_ref() == config.merchant() {
            return Ok(());
        }
        Err(Error::WrongMerchant {
            code: self.code.clone(),
            record: self.merchant.clone(),
            config: config.merchant().cloned(),
        })
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
    #[serde(default)]
    gateway: Option<Gateway>,
    #[serde(default)]
    reversible: bool,
    #[serde(default)]
    fees: Option<Fees>,
    #[serde(default)]
    merchant: Option<MerchantKey>,
}

impl TryFrom<Stored> for Pending {
    type Error = InvalidInput;

    fn try_from(stored: Stored) -> Result<Self, InvalidInput> {
        let (redirect_url, gateway) = stored
            .redirect_url
            .check_stored(&stored.code, stored.gateway)?;
        if stored.reversible && gateway.protocol() != Protocol::V3 {
            // Only v3 payments can be created reversible; a v2 record that says so was
            // written by hand, and a refund built on it would be refused anyway.
            return Err(InvalidInput::new(Field::Reversible, Rule::NotOnThisGateway));
        }
        Ok(Self {
            code: stored.code,
            client_ref_id: stored.client_ref_id,
            amount: stored.amount,
            wire_unit: stored.wire_unit,
            created_at: stored.created_at,
            redirect_url,
            request_id: stored.request_id,
            gateway,
            reversible: stored.reversible,
            fees: stored.fees,
            merchant: stored.merchant,
        })
    }
}
