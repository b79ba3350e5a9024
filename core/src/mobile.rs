//! The buyer's mobile number, normalised once to `09xxxxxxxxx`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::invalid::{Field, InvalidInput, Rule};

/// Longest input looked at; a real number with separators, a prefix and invisible marks
/// around every digit is shorter.
const MAX_INPUT_CHARS: usize = 64;

/// Invisible characters a phone's Persian or Arabic locale puts around or inside a copied
/// number: direction marks, embeddings, overrides and isolates, zero-width spaces and
/// joiners, and the byte-order mark. They carry no digit, so they are dropped. (Any other
/// character that is not a digit, a separator or a leading `+` is still refused.)
fn is_invisible_mark(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// An Iranian mobile number in the form `09xxxxxxxxx`, sent as `payerIdentity`.
///
/// Ghesta identifies the buyer by mobile, and PayPing's own Ghesta plugin sends
/// `payerIdentity` only when it matches `^09[0-9]{9}`. Buyers type Persian (`۰`-`۹`) or
/// Arabic-Indic (`٠`-`٩`) digits, spaces, dashes, `+98`, `0098` or `98` prefixes, or the ten
/// digits without the leading 0; numbers pasted from a phone carry invisible direction marks
/// and joiners (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+061C, U+FEFF), which are
/// dropped. All are normalised here. Anything else is refused.
///
/// ```
/// use ghesta_core::Mobile;
///
/// assert_eq!(Mobile::new("۰۹۱۲ ۳۴۵-۶۷۸۹")?.as_str(), "09123456789");
/// assert_eq!(Mobile::new("+98 912 345 6789")?.as_str(), "09123456789");
/// assert_eq!(Mobile::new("\u{200e}۰۹۱۲۳۴۵۶۷۸۹\u{200f}")?.as_str(), "09123456789");
/// assert_eq!(Mobile::new("9123456789")?.as_str(), "09123456789");
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
                c if c.is_whitespace() || is_invisible_mark(c) => {}
                _ => return Err(refuse()),
            }
        }
        let national = if plus {
            digits.strip_prefix("98").ok_or_else(refuse)?
        } else if let Some(rest) = digits.strip_prefix("0098") {
            rest
        } else if digits.len() == 12 {
            digits.strip_prefix("98").ok_or_else(refuse)?
        } else if digits.len() == 10 && digits.starts_with('9') {
            // The national number without its trunk 0, as contact apps often store it.
            &digits
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
            "9123456789",
            "۹۱۲۳۴۵۶۷۸۹",
            "912 345 6789",
            "\u{200e}09123456789\u{200e}",
            "\u{202a}+98 912 345 6789\u{202c}",
            "\u{2067}۰۹۱۲\u{200c}۳۴۵\u{200d}۶۷۸۹\u{2069}",
            "\u{feff}09123456789",
            "0912\u{202e}3456789",
            "\u{200b}0\u{200b}9\u{200b}1\u{200b}2\u{200b}3\u{200b}4\u{200b}5\u{200b}6\u{200b}7\u{200b}8\u{200b}9\u{200b}",
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
            "8123456789",     // ten digits, not a mobile
            "912345678",      // nine digits
            "\u{200e}",       // a mark and no digit
            "+9123456789",    // + without a country code
            "+19123456789",   // another country
            "+0989123456789", // + then 0
            "0912345678a",
            "0912+3456789",
            "++989123456789",
            "0912\u{2060}3456789", // a word joiner is not in the list
            "0912\u{00ad}3456789", // nor a soft hyphen
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
