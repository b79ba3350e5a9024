//! The PayPing API token: a secret that never shows in Debug, Display or errors.

use std::fmt;

use crate::invalid::{Field, InvalidInput, Rule};

/// A PayPing API token (made in the PayPing panel under "payment gateway -> create token").
///
/// Its `Debug` prints `Token(<redacted>)` and it has no `Display`, so it cannot leak into a
/// log line or an error message by accident. It has no `Serialize` either: keep it in the
/// environment or a secret store, not beside payment records.
///
/// ```
/// use ghesta_core::Token;
///
/// let token = Token::new("9f2c41d7e0a8")?;
/// assert_eq!(format!("{token:?}"), "Token(<redacted>)");
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// `Bearer <token>`, built once: it is what every request carries.
    header: http::HeaderValue,
}

/// Tokens seen in the wild are well under this; it bounds a pasted file by mistake.
const MAX_TOKEN_BYTES: usize = 4096;

impl Token {
    /// Checks a token: non-empty, visible ASCII only (it travels in a header), bounded.
    ///
    /// Surrounding whitespace (a trailing newline from a secrets file) is trimmed.
    pub fn new(token: &str) -> Result<Self, InvalidInput> {
        let token = token.trim();
        if token.is_empty() {
            return Err(InvalidInput::new(Field::Token, Rule::Empty));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(InvalidInput::new(
                Field::Token,
                Rule::TooLong {
                    max: MAX_TOKEN_BYTES,
                },
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidInput::new(Field::Token, Rule::NotHeaderSafe));
        }
        let mut header = http::HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| InvalidInput::new(Field::Token, Rule::NotHeaderSafe))?;
        header.set_sensitive(true);
        Ok(Self { header })
    }

    /// The `Authorization` header value, marked sensitive (`http` hides it from Debug).
    pub fn authorization(&self) -> &http::HeaderValue {
        &self.header
    }

    /// The secret itself, for a transport that must place it somewhere else than the
    /// `Authorization` header. Handle with care.
    pub fn expose_secret(&self) -> &str {
        // Built from visible ASCII after "Bearer ", so both steps always succeed.
        self.header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .unwrap_or_default()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_in_debug() {
        let t = Token::new("s3cr3t-token").unwrap();
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", t.authorization()).contains("s3cr3t"));
        assert_eq!(t.expose_secret(), "s3cr3t-token");
        assert_eq!(t.authorization().to_str().unwrap(), "Bearer s3cr3t-token");
    }

    #[test]
    fn refused_tokens() {
        assert_eq!(Token::new("  \n").unwrap_err().rule(), &Rule::Empty);
        assert_eq!(Token::new("a b").unwrap_err().rule(), &Rule::NotHeaderSafe);
        assert_eq!(
            Token::new("a\r\nX: y").unwrap_err().rule(),
            &Rule::NotHeaderSafe
        );
        assert_eq!(Token::new("تو").unwrap_err().rule(), &Rule::NotHeaderSafe);
        assert!(matches!(
            Token::new(&"a".repeat(5000)).unwrap_err().rule(),
            Rule::TooLong { .. }
        ));
        assert_eq!(Token::new("tok\n").unwrap().expose_secret(), "tok");
    }
}
