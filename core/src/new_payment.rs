//! What the shop knows when an order is placed: the payment to create.

use crate::amount::Amount;
use crate::mobile::Mobile;
use crate::text::{ClientRefId, Description, PayerName};
use crate::url::ReturnUrl;

/// What the shop knows when an order is placed: everything `POST /v2/pay` sends.
///
/// The amount, return URL, the shop's reference and the buyer's mobile are required (Ghesta
/// identifies the buyer by mobile); the payer's name and a description are optional.
///
/// ```
/// use ghesta_core::{Amount, ClientRefId, Description, Mobile, NewPayment, PayerName, ReturnUrl};
///
/// let payment = NewPayment::new(
///     Amount::from_toman(1_250_000)?,
///     ReturnUrl::new("https://shop.example/ghesta/callback")?,
///     ClientRefId::new("order-1042")?,
///     Mobile::new("۰۹۱۲۳۴۵۶۷۸۹")?,
/// )
/// .with_payer_name(PayerName::new("زهرا محمدی")?)
/// .with_description(Description::new("سفارش ۱۰۴۲")?);
/// assert_eq!(payment.amount().toman(), 1_250_000);
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    amount: Amount,
    return_url: ReturnUrl,
    client_ref_id: ClientRefId,
    mobile: Mobile,
    payer_name: Option<PayerName>,
    description: Option<Description>,
    reversible: bool,
}

impl NewPayment {
    /// A payment with the required fields.
    pub fn new(
        amount: Amount,
        return_url: ReturnUrl,
        client_ref_id: ClientRefId,
        mobile: Mobile,
    ) -> Self {
        Self {
            amount,
            return_url,
            client_ref_id,
            mobile,
            payer_name: None,
            description: None,
            reversible: false,
        }
    }

    /// Adds the buyer's name.
    #[must_use]
    pub fn with_payer_name(mut self, name: PayerName) -> Self {
        self.payer_name = Some(name);
        self
    }

    /// Adds a description.
    #[must_use]
    pub fn with_description(mut self, description: Description) -> Self {
        self.description = Some(description);
        self
    }

    /// The amount.
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The return URL.
    pub fn return_url(&self) -> &ReturnUrl {
        &self.return_url
    }

    /// The shop's reference.
    pub fn client_ref_id(&self) -> &ClientRefId {
        &self.client_ref_id
    }

    /// The buyer's mobile.
    pub fn mobile(&self) -> &Mobile {
        &self.mobile
    }

    /// The buyer's name, if given.
    pub fn payer_name(&self) -> Option<&PayerName> {
        self.payer_name.as_ref()
    }

    /// The description, if given.
    pub fn description(&self) -> Option<&Description> {
        self.description.as_ref()
    }

    /// Creates the payment reversible, so that [`RefundPayment`](crate::RefundPayment) can
    /// refund it within 30 minutes of verify (PayPing v3 only: on a v2 gateway, create
    /// refuses it before sending anything).
    ///
    /// ```
    /// # use ghesta_core::*;
    /// let payment = NewPayment::new(
    ///     Amount::from_toman(250_000)?,
    ///     ReturnUrl::new("https://shop.example/callback")?,
    ///     ClientRefId::new("order-7")?,
    ///     Mobile::new("09123456789")?,
    /// )
    /// .with_reversible(true);
    /// assert!(payment.is_reversible());
    /// # Ok::<(), InvalidInput>(())
    /// ```
    #[must_use]
    pub fn with_reversible(mut self, reversible: bool) -> Self {
        self.reversible = reversible;
        self
    }

    /// Whether the payment is to be created reversible.
    pub fn is_reversible(&self) -> bool {
        self.reversible
    }
}
