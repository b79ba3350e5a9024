//! The buyer's mobile number, normalised once to `09xxxxxxxxx`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::invalid::{Field, InvalidInput, Rule};

/// Longest input looked at; a real number with separators and a prefix is far shorter.
const MAX_INPUT_CHARS: usize = 32;

/// An Iranian mobile number in the form `09xxxxxxxxx`, sent as `payerIdentity`.
///
/// Ghesta identifies the buyer by mobile, and PayPing's own Ghesta plugin sends
/// `payerIdentity` only when it matches `^09[0-9]{9}`. Buyers type Persian (`۰`-`۹`) or
/// Arabic-Indic (`٠`-`٩`) digits, spaces, dashes and `+98`, `0098` or `98` prefixes; all are
/// normalised here. Anything else is refused.
///
/// ```
/// use ghesta_core::Mobile;
///
/// assert_eq!(Mobile::new("۰۹۱۲ ۳۴۵-۶۷۸۹")?.as_str(), "09123456789");
/// assert_eq!(Mobile::new("+98 912 345 6789")?.as_str(), "09123456789");
/// assert!(Mobile::new("021 8888 7777").is_err()); // a landline
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mobile(String);

impl Mobile {
    /// Normalises and checks a mobile number as a buyer typed it.
    pub fn new(input: &str) -> Result<Self, InvalidInput> {
        let refuse = || InvalidInput::new(Field::Mobile, Rule::NotAMobile);
        if input.chars().count() > MAX_INPUT_CHARS {
            return Err(refuse());
        }
        let mut plus = false;
        let mut digits = String::with_capacity(13);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '۰'..='۹' => digits.push(shift_digit(c, '۰')),
                '٠'..='٩' => digits.push(shift_digit(c, '٠')),
                '+' if digits.is_empty() && !plus => plus = true,
                '-' => {}
                c if c.is_whitespace() => {}
                _ => return Err(refuse()),
            }
        }
        let national = if plus {
            digits.strip_prefix("98").ok_or_else(refuse)?
        } else if let Some(rest) = digits.strip_prefix("0098") {
            rest
        } else if digits.len() == 12 {
            digits.strip_prefix("98").ok_or_else(refuse)?
        } else {
            digits.strip_prefix('0').ok_or_else(refuse)?
        };
        if national.len() == 10 && national.starts_with('9') {
            Ok(Self(format!("0{national}")))
        } else {
            Err(refuse())
        }
    }

    /// The normalised number, `09xxxxxxxxx`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn shift_digit(c: char, zero: char) -> char {
    let offset = u32::from(c) - u32::from(zero);
    char::from_digit(offset, 10).unwrap_or('?')
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Mobile").field(&self.0).finish()
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Mobile {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, InvalidInput> {
        Self::new(&s)
    }
}

impl From<Mobile> for String {
    fn from(m: Mobile) -> Self {
        m.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_spellings() {
        for input in [
            "09123456789",
            "0912 345 6789",
            "0912-345-6789",
            "+989123456789",
            "+98 912 345 6789",
            "00989123456789",
            "989123456789",
            "۰۹۱۲۳۴۵۶۷۸۹",
            "٠٩١٢٣٤٥٦٧٨٩",
            "+۹۸ ۹۱۲ ۳۴۵ ۶۷۸۹",
            " 09123456789 ",
            "0912\u{a0}345\u{a0}6789",
        ] {
            assert_eq!(
                Mobile::new(input).map(|m| m.0),
                Ok("09123456789".into()),
                "{input}"
            );
        }
    }

    #[test]
    fn refused() {
        for input in [
            "",
            "0912345678",     // 10 digits
            "091234567890",   // 12 digits
            "02188887777",    // landline
            "9123456789",     // no prefix at all
            "+19123456789",   // another country
            "+0989123456789", // + then 0
            "0912345678a",
            "0912+3456789",
            "++989123456789",
            "0912\u{202e}3456789", // right-to-left override
            "0912\u{0}3456789",
            "٠٩١٢٣٤٥٦٧٨٩٠٩١٢٣٤٥٦٧٨٩٠٩١٢٣٤٥٦٧٨٩٠٩١٢٣٤٥٦٧٨٩",
        ] {
            let err = Mobile::new(input).unwrap_err();
            assert_eq!(
                (err.field(), err.rule()),
                (Field::Mobile, &Rule::NotAMobile),
                "{input}"
            );
        }
    }

    #[test]
    fn stored_form_is_validated() {
        let m: Mobile = serde_json::from_str(r#""09123456789""#).unwrap();
        assert_eq!(m.as_str(), "09123456789");
        assert!(serde_json::from_str::<Mobile>(r#""12""#).is_err());
    }
}
