//! Money: an amount that knows its unit.
//!
//! PayPing's spec says every amount on its API is in **Toman**, and PayPing's own Ghesta
//! plugin divides a Rial order total by 10 before sending it. Ghesta's guide says "Rial"; it
//! is wrong there. So [`Amount`] is built from either unit explicitly, holds Toman, and is sent
//! in the [`AmountUnit`] the [`Config`](crate::Config) names (Toman by default).

use serde::{Deserialize, Serialize};

use crate::invalid::{Field, InvalidInput, Rule};

/// The smallest amount PayPing accepts, in Toman (spec: `CreatePaymentViewModel.amount`).
pub const MIN_TOMAN: u32 = 100;
/// The largest amount PayPing accepts, in Toman (spec: `CreatePaymentViewModel.amount`).
pub const MAX_TOMAN: u32 = 50_000_000;

/// A payment amount between 100 and 50,000,000 Toman.
///
/// Build it from the unit the number is in; there is no constructor from a bare number.
///
/// ```
/// use ghesta_core::Amount;
///
/// let a = Amount::from_toman(125_000)?;
/// let b = Amount::from_rial(1_250_000)?;
/// assert_eq!(a, b);
/// assert_eq!(a.rial(), 1_250_000);
/// assert!(Amount::from_rial(1_250_005).is_err()); // not a whole Toman
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "AmountRepr", into = "AmountRepr")]
pub struct Amount {
    toman: u32,
}

impl Amount {
    /// An amount given in Toman (the unit PayPing's API uses).
    pub fn from_toman(toman: u64) -> Result<Self, InvalidInput> {
        match u32::try_from(toman) {
            Ok(t) if (MIN_TOMAN..=MAX_TOMAN).contains(&t) => Ok(Self { toman: t }),
            _ => Err(InvalidInput::new(
                Field::Amount,
                Rule::OutOfRange {
                    min: u64::from(MIN_TOMAN),
                    max: u64::from(MAX_TOMAN),
                    got: toman,
                },
            )),
        }
    }

    /// An amount given in Rial (1 Toman = 10 Rial); refused unless divisible by 10.
    pub fn from_rial(rial: u64) -> Result<Self, InvalidInput> {
        if !rial.is_multiple_of(10) {
            return Err(InvalidInput::new(
                Field::Amount,
                Rule::NotWholeToman { rial },
            ));
        }
        Self::from_toman(rial / 10).map_err(|_| {
            InvalidInput::new(
                Field::Amount,
                Rule::OutOfRange {
                    min: u64::from(MIN_TOMAN) * 10,
                    max: u64::from(MAX_TOMAN) * 10,
                    got: rial,
                },
            )
        })
    }

    /// The amount in Toman.
    pub const fn toman(self) -> u32 {
        self.toman
    }

    /// The amount in Rial.
    pub const fn rial(self) -> u64 {
        self.toman as u64 * 10
    }

    /// The number sent on the wire in `unit`.
    pub const fn in_unit(self, unit: AmountUnit) -> u64 {
        match unit {
            AmountUnit::Toman => self.toman as u64,
            AmountUnit::Rial => self.rial(),
        }
    }

    /// Reads a number received on the wire in `unit`.
    pub fn from_unit(value: u64, unit: AmountUnit) -> Result<Self, InvalidInput> {
        match unit {
            AmountUnit::Toman => Self::from_toman(value),
            AmountUnit::Rial => Self::from_rial(value),
        }
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Toman", self.toman)
    }
}

/// The unit of the `amount` numbers on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AmountUnit {
    /// Toman: what PayPing's spec and its official Ghesta plugin use. The default.
    #[default]
    Toman,
    /// Rial, as Ghesta's guide says. Only for a deployment that has proved the guide right.
    Rial,
}

/// Stored form: the unit is in the field name, so a stored record can never be misread.
#[derive(Serialize, Deserialize)]
struct AmountRepr {
    toman: u64,
}

impl TryFrom<AmountRepr> for Amount {
    type Error = InvalidInput;
    fn try_from(repr: AmountRepr) -> Result<Self, InvalidInput> {
        Self::from_toman(repr.toman)
    }
}

impl From<Amount> for AmountRepr {
    fn from(amount: Amount) -> Self {
        Self {
            toman: u64::from(amount.toman),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(Amount::from_toman(100).map(Amount::toman), Ok(100));
        assert_eq!(
            Amount::from_toman(50_000_000).map(Amount::toman),
            Ok(50_000_000)
        );
        for bad in [0, 99, 50_000_001, u64::from(u32::MAX) + 1, u64::MAX] {
            let err = Amount::from_toman(bad).unwrap_err();
            assert_eq!(err.field(), Field::Amount);
            assert!(matches!(err.rule(), Rule::OutOfRange { got, .. } if *got == bad));
        }
    }

    #[test]
    fn rial_must_be_whole_toman_and_in_range() {
        assert_eq!(Amount::from_rial(1000).map(Amount::toman), Ok(100));
        assert_eq!(
            Amount::from_rial(1001).unwrap_err().rule(),
            &Rule::NotWholeToman { rial: 1001 }
        );
        let err = Amount::from_rial(990).unwrap_err();
        assert_eq!(
            err.rule(),
            &Rule::OutOfRange {
                min: 1000,
                max: 500_000_000,
                got: 990
            }
        );
    }

    #[test]
    fn wire_units() {
        let a = Amount::from_toman(12_345).unwrap();
        assert_eq!(a.in_unit(AmountUnit::Toman), 12_345);
        assert_eq!(a.in_unit(AmountUnit::Rial), 123_450);
        assert_eq!(Amount::from_unit(123_450, AmountUnit::Rial), Ok(a));
        assert_eq!(Amount::from_unit(12_345, AmountUnit::Toman), Ok(a));
    }

    #[test]
    fn stored_form_names_the_unit_and_is_validated() {
        let a = Amount::from_toman(5000).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"toman":5000}"#);
        assert_eq!(
            serde_json::from_str::<Amount>(r#"{"toman":5000}"#).unwrap(),
            a
        );
        assert!(serde_json::from_str::<Amount>(r#"{"toman":5}"#).is_err());
        assert!(serde_json::from_str::<Amount>("5000").is_err());
    }
}
