//! Identifiers and free text that cross the wire, each checked once when built.
//!
//! PayPing publishes no length limits for these fields. The SDK sets its own bounds, generous
//! for real use and small enough that hostile input cannot make a value grow without bound.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::invalid::{Field, InvalidInput, Rule};

/// Control characters and the bidirectional formatting characters that can make a value
/// display differently from what it is (a "Trojan Source" style spoof in an admin panel).
/// ZWNJ (U+200C), which Persian text needs, is allowed.
pub(crate) fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Refuses an identifier that is only whitespace, or starts or ends with it.
///
/// PayPing never sends a payment code, refId or clientRefId like that; one that arrives in an
/// answer or a callback was mangled on the way (or forged), and a padded refId would reach
/// verify as another reference. A shop's own clientRefId gets the same rule, since PayPing
/// would echo it back padded.
pub(crate) fn check_unpadded(value: &str, field: Field) -> Result<(), InvalidInput> {
    if value.trim().is_empty() {
        return Err(InvalidInput::new(field, Rule::Blank));
    }
    if value.trim() != value {
        return Err(InvalidInput::new(field, Rule::Padded));
    }
    Ok(())
}

/// Checks the rules every text value shares: non-empty, bounded, no forbidden characters.
pub(crate) fn check_text(value: &str, field: Field, max_chars: usize) -> Result<(), InvalidInput> {
    if value.is_empty() {
        return Err(InvalidInput::new(field, Rule::Empty));
    }
    // Bytes bound chars from above, so a long value is refused without counting.
    if value.len() > max_chars * 4 {
        return Err(InvalidInput::new(field, Rule::TooLong { max: max_chars }));
    }
    // Codes, references and card fields are ASCII: one byte per char, and the only forbidden
    // ASCII chars are the controls, so one byte pass replaces two decoding ones.
    let ascii = value.is_ascii();
    let chars = if ascii {
        value.len()
    } else {
        value.chars().count()
    };
    if chars > max_chars {
        return Err(InvalidInput::new(field, Rule::TooLong { max: max_chars }));
    }
    let forbidden = if ascii {
        value.bytes().any(|b| b.is_ascii_control())
    } else {
        value.chars().any(is_forbidden_char)
    };
    if forbidden {
        return Err(InvalidInput::new(field, Rule::ControlCharacter));
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:expr, $max:expr, $example:literal $(, $extra:path)*) => {
        $(#[$doc])*
        ///
        #[doc = concat!("Refused when empty, longer than ", stringify!($max), " characters, or holding a")]
        /// control or bidirectional formatting character. Identifiers (codes and references)
        /// are also refused when blank or padded with whitespace.
        ///
        /// ```
        #[doc = concat!("use ghesta_core::", stringify!($name), ";")]
        ///
        #[doc = concat!("let value = ", stringify!($name), "::new(", stringify!($example), ")?;")]
        #[doc = concat!("assert_eq!(value.as_str(), ", stringify!($example), ");")]
        #[doc = concat!("assert!(", stringify!($name), "::new(\"\").is_err());")]
        /// # Ok::<(), ghesta_core::InvalidInput>(())
        /// ```
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest value accepted, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Checks `value` and wraps it.
            pub fn new(value: impl Into<String>) -> Result<Self, InvalidInput> {
                let value = value.into();
                check_text(&value, $field, Self::MAX_CHARS)?;
                $($extra(&value)?;)*
                Ok(Self(value))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.0).finish()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidInput;
            fn try_from(value: String) -> Result<Self, InvalidInput> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidInput;
            fn try_from(value: &str) -> Result<Self, InvalidInput> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// The shop's own reference for a payment (`clientRefId`): its order id, unique per
    /// payment. PayPing echoes it in the callback; the SDK refuses a callback whose
    /// `clientrefid` differs from the one stored.
    ClientRefId,
    Field::ClientRefId,
    128,
    "order-1042",
    unpadded_client_ref_id
);

fn unpadded_client_ref_id(value: &str) -> Result<(), InvalidInput> {
    check_unpadded(value, Field::ClientRefId)
}

fn unpadded_code(value: &str) -> Result<(), InvalidInput> {
    check_unpadded(value, Field::PaymentCode)
}

fn unpadded_ref_id(value: &str) -> Result<(), InvalidInput> {
    check_unpadded(value, Field::RefId)
}

text_type!(
    /// The buyer's name (`payerName`), shown on the payment page.
    PayerName,
    Field::PayerName,
    128,
    "زهرا محمدی"
);

text_type!(
    /// A description of the payment (`description`), shown on the payment page.
    Description,
    Field::Description,
    512,
    "سفارش ۱۰۴۲"
);

text_type!(
    /// The payment code PayPing gives on create; it names the payment in every later step.
    ///
    /// It is placed in URL paths (redirect, cancel, report) as one percent-encoded segment,
    /// so `.` and `..`, which a browser would resolve as "this" or "parent" directory, are
    /// refused.
    PaymentCode,
    Field::PaymentCode,
    64,
    "82a4f72",
    refuse_dot_segment,
    unpadded_code
);

fn refuse_dot_segment(value: &str) -> Result<(), InvalidInput> {
    if value == "." || value == ".." {
        return Err(InvalidInput::new(Field::PaymentCode, Rule::DotSegment));
    }
    Ok(())
}

text_type!(
    /// The payment reference (`refid`) the callback carries; verify sends it as `refId`.
    RefId,
    Field::RefId,
    64,
    "123456789",
    unpadded_ref_id
);

text_type!(
    /// The masked card number (`cardNumber`) PayPing reports, such as `603799******1234`.
    CardNumber,
    Field::CardNumber,
    64,
    "603799******1234"
);

text_type!(
    /// The card hash (`cardHashPan`) PayPing reports: lets a shop recognise a returning card
    /// without holding its number.
    CardHash,
    Field::CardHash,
    256,
    "9f86d081884c7d659a2feaa0c55ad015"
);

text_type!(
    /// The shop's own name for one of its PayPing accounts (a merchant), when one process
    /// serves several: `"shop-tehran"`, a tenant id. Never the token: it is stored in every
    /// [`Pending`](crate::Pending) of that merchant ([`Config::with_merchant`]), so that the
    /// record is finished with its own merchant's configuration.
    ///
    /// [`Config::with_merchant`]: crate::Config::with_merchant
    MerchantKey,
    Field::MerchantKey,
    64,
    "shop-tehran",
    unpadded_merchant_key
);

fn unpadded_merchant_key(value: &str) -> Result<(), InvalidInput> {
    check_unpadded(value, Field::MerchantKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert_eq!(ClientRefId::new("").unwrap_err().rule(), &Rule::Empty);
        assert_eq!(
            ClientRefId::new("a".repeat(129)).unwrap_err().rule(),
            &Rule::TooLong { max: 128 }
        );
        assert!(ClientRefId::new("ا".repeat(128)).is_ok());
        assert_eq!(
            ClientRefId::new("ا".repeat(129)).unwrap_err().rule(),
            &Rule::TooLong { max: 128 }
        );
        // The ASCII fast path and the char path agree on every ASCII char.
        for b in 0..=127u8 {
            let value = format!("a{}", char::from(b));
            assert_eq!(
                check_text(&value, Field::ClientRefId, 128).is_err(),
                is_forbidden_char(char::from(b)),
                "{b:#x}"
            );
        }
        for bad in [
            "a\0b",
            "a\nb",
            "a\u{7f}",
            "a\u{202e}b",
            "\u{2066}x",
            "x\u{200f}",
        ] {
            assert_eq!(
                ClientRefId::new(bad).unwrap_err().rule(),
                &Rule::ControlCharacter,
                "{bad:?}"
            );
        }
        assert!(
            PayerName::new("علی\u{200c}رضا").is_ok(),
            "ZWNJ is Persian text"
        );
    }

    #[test]
    fn errors_name_their_field() {
        assert_eq!(
            PaymentCode::new("").unwrap_err().field(),
            Field::PaymentCode
        );
        assert_eq!(RefId::new("").unwrap_err().field(), Field::RefId);
        assert_eq!(
            Description::new("").unwrap_err().field(),
            Field::Description
        );
        assert_eq!(
            PaymentCode::new("..").unwrap_err().rule(),
            &Rule::DotSegment
        );
        assert_eq!(PaymentCode::new(".").unwrap_err().rule(), &Rule::DotSegment);
        assert!(PaymentCode::new("...").is_ok());
    }

    #[test]
    fn identifiers_are_never_blank_or_padded() {
        for (value, rule) in [
            ("   ", Rule::Blank),
            ("\u{a0}", Rule::Blank),
            (" 82a4f72", Rule::Padded),
            ("82a4f72 ", Rule::Padded),
            ("82a4f72\u{3000}", Rule::Padded),
        ] {
            assert_eq!(
                PaymentCode::new(value).unwrap_err().rule(),
                &rule,
                "{value:?}"
            );
            assert_eq!(RefId::new(value).unwrap_err().rule(), &rule, "{value:?}");
            assert_eq!(
                ClientRefId::new(value).unwrap_err().rule(),
                &rule,
                "{value:?}"
            );
            assert_eq!(
                RefId::new(value).unwrap_err().field(),
                Field::RefId,
                "{value:?}"
            );
        }
        assert!(
            PaymentCode::new("a b").is_ok(),
            "inner spaces are the code's own"
        );
        assert!(
            PayerName::new(" زهرا ").is_ok(),
            "free text is not an identifier"
        );
        assert!(CardNumber::new(" 6037 ").is_ok());
    }

    #[test]
    fn stored_form_is_validated() {
        let id: ClientRefId = serde_json::from_str(r#""o-1""#).unwrap();
        assert_eq!(id.as_str(), "o-1");
        assert!(serde_json::from_str::<ClientRefId>(r#""""#).is_err());
    }
}
