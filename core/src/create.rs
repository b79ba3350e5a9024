//! Step 1: create a payment (v2 `POST /v2/pay`, v3 `POST /v3/pay`) and get the record to keep.

use std::time::SystemTime;

use http::{Method, StatusCode};

use crate::amount::{Amount, AmountUnit};
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Answer, Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::{Gateway, Protocol};
use crate::invalid::{Field, InvalidInput, Rule};
use crate::mobile::Mobile;
use crate::pending::Pending;
use crate::redirect::RedirectUrl;
use crate::text::{ClientRefId, Description, PayerName};
use crate::url::ReturnUrl;
use crate::wire;

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

/// The JSON body of `POST /v2/pay`, field names as in PayPing's spec.
/// The create exchange: `POST /v2/pay`, answered with a payment code.
///
/// Its output is the [`Pending`] record to store until the buyer comes back. See
/// [`Exchange`] for an example.
#[derive(Debug, Clone)]
pub struct CreatePayment {
    config: Config,
    payment: NewPayment,
    created_at: SystemTime,
}

impl CreatePayment {
    /// Creates `payment`; `created_at` is the caller's clock (the core reads none).
    pub fn new(config: &Config, payment: NewPayment, created_at: SystemTime) -> Self {
        Self {
            config: config.clone(),
            payment,
            created_at,
        }
    }

    /// The payment being created.
    pub fn payment(&self) -> &NewPayment {
        &self.payment
    }

    fn wire_unit(&self) -> AmountUnit {
        self.config.amount_unit()
    }

    /// The gateway the payment is created for: the config's, when the exchange was made.
    pub fn gateway(&self) -> Gateway {
        self.config.gateway()
    }
}

impl Exchange for CreatePayment {
    type Output = Pending;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Create
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let unit = self.wire_unit();
        match self.gateway().protocol() {
            Protocol::V2 => {
                if self.payment.reversible {
                    return Err(InvalidInput::new(Field::Reversible, Rule::NotOnThisGateway).into());
                }
                let body = wire::v2::create::body(&self.payment, unit);
                api_request(
                    &self.config,
                    Method::POST,
                    wire::v2::CREATE_PATH,
                    Some(&body),
                )
            }
            Protocol::V3 => {
                let body = wire::v3::create::body(&self.payment, unit);
                api_request(
                    &self.config,
                    Method::POST,
                    wire::v3::CREATE_PATH,
                    Some(&body),
                )
            }
        }
    }

    fn parse_response<B: AsRef<[u8]>>(
        &self,
        response: http::Response<B>,
    ) -> Result<Pending, Error> {
        let gateway = self.gateway();
        let answer = Answer::of(&response, gateway.protocol());
        if answer.status != StatusCode::OK {
            return Err(answer.failure());
        }
        let (code, redirect_url, fees) = match gateway.protocol() {
            Protocol::V2 => {
                let code = wire::v2::create::read(&answer)?;
                let redirect = RedirectUrl::for_gateway(&self.config, gateway, &code);
                (code, redirect, None)
            }
            Protocol::V3 => {
                let read = wire::v3::create::read(&answer)?;
                let sent = self.payment.amount.in_unit(self.wire_unit());
                if let Some(answered) = read.amount.filter(|a| *a != sent) {
                    return Err(answer.malformed(format_args!(
                        "create answered amount {answered} for a payment of {sent}"
                    )));
                }
                // The start page PayPing named, on its own host; else the one built here.
                let redirect = read
                    .url
                    .and_then(|url| RedirectUrl::from_answer(&read.code, url))
                    .unwrap_or_else(|| RedirectUrl::payping_v3(&self.config, &read.code));
                let fees = Some(read.fees).filter(|f| !f.is_empty());
                (read.code, redirect, fees)
            }
        };
        Ok(Pending {
            redirect_url,
            code,
            client_ref_id: self.payment.client_ref_id.clone(),
            amount: self.payment.amount,
            wire_unit: self.wire_unit(),
            created_at: self.created_at,
            request_id: answer.request_id,
            gateway,
            reversible: self.payment.reversible,
            fees,
        })
    }
}
