//! The fees PayPing v3 names when it creates a payment.

use serde::{Deserialize, Serialize};

/// The fees of a v3 payment, as PayPing's create answer gave them, in the wire unit.
///
/// Informational: verify always checks the payment's own amount, never these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fees {
    /// What the payer is charged, fees included (`gatewayAmount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) gateway_amount: Option<u64>,
    /// The payer's share of the fee (`payerWage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) payer_wage: Option<u64>,
    /// The shop's share of the fee (`businessWage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) business_wage: Option<u64>,
    /// PayPing's VAT (`paypingVat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) payping_vat: Option<u64>,
}

impl Fees {
    /// What the payer is charged, fees included (`gatewayAmount`).
    pub fn gateway_amount(&self) -> Option<u64> {
        self.gateway_amount
    }

    /// The payer's share of the fee (`payerWage`).
    pub fn payer_wage(&self) -> Option<u64> {
        self.payer_wage
    }

    /// The shop's share of the fee (`businessWage`).
    pub fn business_wage(&self) -> Option<u64> {
        self.business_wage
    }

    /// PayPing's VAT (`paypingVat`).
    pub fn payping_vat(&self) -> Option<u64> {
        self.payping_vat
    }

    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
