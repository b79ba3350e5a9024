//! Step 1: create a payment (v2 `POST /v2/pay`, v3 `POST /v3/pay`) and get the record to keep.

use std::time::SystemTime;

use http::{Method, StatusCode};

use crate::amount::AmountUnit;
use crate::config::Config;
use crate::error::Error;
use crate::exchange::{Exchange, ExchangeKind, HttpRequest, api_request};
use crate::gateway::{Gateway, Protocol};
use crate::invalid::{Field, InvalidInput, Rule};
use crate::new_payment::NewPayment;
use crate::pending::Pending;
use crate::redirect::RedirectUrl;
use crate::scrub::scrub;
use crate::text::{ClientRefId, PaymentCode};
use crate::wire;
use crate::wire::answer::Answer;

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

impl crate::exchange::sealed::Sealed for CreatePayment {}

impl Exchange for CreatePayment {
    type Output = Pending;

    fn kind(&self) -> ExchangeKind {
        ExchangeKind::Create
    }

    fn protocol(&self) -> Protocol {
        self.gateway().protocol()
    }

    fn payment_code(&self) -> Option<&PaymentCode> {
        None
    }

    fn client_ref_id(&self) -> Option<&ClientRefId> {
        Some(self.payment.client_ref_id())
    }

    fn to_request(&self) -> Result<HttpRequest, Error> {
        let unit = self.wire_unit();
        match self.gateway().protocol() {
            Protocol::V2 => {
                if self.payment.is_reversible() {
                    return Err(InvalidInput::new(Field::Reversible, Rule::NotOnThisGateway).into());
                }
                let body = wire::create::body(&self.payment, unit);
                api_request(
                    &self.config,
                    Method::POST,
                    wire::v2::CREATE_PATH,
                    Some(&body),
                )
            }
            Protocol::V3 => {
                let body = wire::create::body(&self.payment, unit);
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
        let response = scrub(response, self.config.token());
        let answer = Answer::of(&response, gateway.protocol());
        if answer.status != StatusCode::OK {
            return Err(wire::failure(answer));
        }
        let (code, redirect_url, fees) = match gateway.protocol() {
            Protocol::V2 => {
                let code = wire::v2::create::read(&answer)?;
                let redirect = RedirectUrl::for_gateway(&self.config, gateway, &code);
                (code, redirect, None)
            }
            Protocol::V3 => {
                let read = wire::v3::create::read(&answer)?;
                let sent = self.payment.amount().in_unit(self.wire_unit());
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
            client_ref_id: self.payment.client_ref_id().clone(),
            amount: self.payment.amount(),
            wire_unit: self.wire_unit(),
            created_at: self.created_at,
            request_id: answer.into_request_id(),
            gateway,
            reversible: self.payment.is_reversible(),
            fees,
            merchant: self.config.merchant().cloned(),
        })
    }
}
