//! Which payment page new payments use, and which PayPing protocol a payment speaks.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The payment page a shop sends buyers to, chosen for *new* payments with
/// [`Config::with_gateway`](crate::Config::with_gateway).
///
/// A payment remembers the gateway it was created for ([`Pending::gateway`]), and verify,
/// cancel and refund follow the record, not today's setting: a payment created on v2 is
/// verified on v2 after the shop switched to v3.
///
/// **Installments are Ghesta's page, on v2 only.** Ghesta's installment redirect is
/// documented for PayPing's v2 API alone, and nothing public shows it on v3: a buyer sent by
/// [`Gateway::PayPingV2`] or [`Gateway::PayPingV3`] pays in full on PayPing's card page. What
/// v3 offers instead is a better card payment: refunds to the payer's card within 30 minutes
/// of verify, for payments created reversible ([`NewPayment::with_reversible`],
/// [`RefundPayment`]); a verify answer that names the payment it verified (so no report call
/// binds it, as v2's needs); the fees in the create answer ([`Pending::fees`]); and problem
/// details with PayPing's trace id on every error.
///
/// ```
/// use ghesta_core::{Config, Gateway, Protocol, Token};
///
/// let config = Config::new(Token::new("t")?);
/// assert_eq!(config.gateway(), Gateway::Ghesta); // the default
/// let config = config.with_gateway(Gateway::PayPingV3);
/// assert_eq!(config.gateway().protocol(), Protocol::V3);
/// assert_eq!("v3".parse::<Gateway>(), Ok(Gateway::PayPingV3));
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
///
/// [`Pending::gateway`]: crate::Pending::gateway
/// [`Pending::fees`]: crate::Pending::fees
/// [`NewPayment::with_reversible`]: crate::NewPayment::with_reversible
/// [`RefundPayment`]: crate::RefundPayment
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Gateway {
    /// Ghesta's installment page over PayPing's v2 API (`/v2/pay`, then
    /// `payping.ir/installment/{code}?type=ghesta`): buy now, pay later. The default;
    /// Ghesta's page is documented for v2 only.
    #[default]
    #[serde(rename = "ghesta")]
    Ghesta,
    /// PayPing's card payment page over v2 (`/v2/pay`, then `/v2/pay/gotoipg/{code}`).
    #[serde(rename = "payping_v2")]
    PayPingV2,
    /// PayPing's card payment page over v3 (`/v3/pay`, then `/v3/pay/start/{paymentCode}`),
    /// the API PayPing recommends today. No installments: the buyer pays in full by card;
    /// refunds within 30 minutes of verify for payments created reversible.
    #[serde(rename = "payping_v3")]
    PayPingV3,
}

impl Gateway {
    /// The PayPing API protocol the gateway's payments speak.
    pub const fn protocol(self) -> Protocol {
        match self {
            Self::Ghesta | Self::PayPingV2 => Protocol::V2,
            Self::PayPingV3 => Protocol::V3,
        }
    }

    /// The short name [`FromStr`] reads: `ghesta`, `v2` or `v3`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ghesta => "ghesta",
            Self::PayPingV2 => "v2",
            Self::PayPingV3 => "v3",
        }
    }
}

impl fmt::Display for Gateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gateway name that is none of `ghesta`, `v2` or `v3`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown gateway {0:?}; expected ghesta, v2 or v3")]
pub struct UnknownGateway(String);

impl FromStr for Gateway {
    type Err = UnknownGateway;

    /// Reads `ghesta`, `v2` or `v3`, in any case (for a flag or an environment variable).
    fn from_str(s: &str) -> Result<Self, UnknownGateway> {
        [Self::Ghesta, Self::PayPingV2, Self::PayPingV3]
            .into_iter()
            .find(|g| g.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let mut name = s.to_owned();
                crate::snippet::truncate(&mut name, 32);
                UnknownGateway(name)
            })
    }
}

/// The PayPing API a payment speaks, from create to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// API v2: `/v2/pay`, a callback form of `code`/`refid`/..., errors keyed by code.
    V2,
    /// API v3: `/v3/pay`, a callback form of `status`/`errorCode`/`data`, problem details.
    V3,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V2 => "PayPing v2",
            Self::V3 => "PayPing v3",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for gateway in [Gateway::Ghesta, Gateway::PayPingV2, Gateway::PayPingV3] {
            assert_eq!(gateway.as_str().parse(), Ok(gateway));
            assert_eq!(gateway.as_str().to_uppercase().parse(), Ok(gateway));
        }
        assert_eq!(Gateway::default(), Gateway::Ghesta);
        assert!("v4".parse::<Gateway>().is_err());
        let long = "x".repeat(1000).parse::<Gateway>().unwrap_err();
        assert!(long.to_string().len() < 100, "a bad name is bounded");
        assert_eq!(Gateway::Ghesta.protocol(), Protocol::V2);
        assert_eq!(Gateway::PayPingV2.protocol(), Protocol::V2);
        assert_eq!(Gateway::PayPingV3.protocol(), Protocol::V3);
    }

    #[test]
    fn stored_names_are_stable() {
        // A Pending stores its gateway by these names; they must never change.
        for (gateway, stored) in [
            (Gateway::Ghesta, "\"ghesta\""),
            (Gateway::PayPingV2, "\"payping_v2\""),
            (Gateway::PayPingV3, "\"payping_v3\""),
        ] {
            assert_eq!(serde_json::to_string(&gateway).unwrap(), stored);
            assert_eq!(serde_json::from_str::<Gateway>(stored).unwrap(), gateway);
        }
    }
}
