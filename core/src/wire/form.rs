//! The `application/x-www-form-urlencoded` reader the callback uses, for any protocol's keys.
//!
//! Anyone can POST to a return URL, so nothing is guessed: the body is capped, every
//! percent-escape must be well formed, values must be UTF-8 once decoded, a known key given
//! twice (in any case) is refused, and unknown keys are ignored.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use crate::callback::{CallbackError, MAX_CALLBACK_BYTES};

/// The raw (still encoded) values of one protocol's keys, found in one pass.
pub(crate) struct Form<'a, const N: usize> {
    keys: &'static [&'static str; N],
    raw: [Option<&'a [u8]>; N],
}

impl<'a, const N: usize> Form<'a, N> {
    /// Finds `keys` in `body` (matched without regard to ASCII case); refuses a body over
    /// the cap, an empty one, a malformed escape anywhere, and a known key given twice.
    pub(crate) fn parse(
        body: &'a [u8],
        keys: &'static [&'static str; N],
    ) -> Result<Self, CallbackError> {
        if body.len() > MAX_CALLBACK_BYTES {
            return Err(CallbackError::TooLarge {
                limit: MAX_CALLBACK_BYTES,
            });
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(CallbackError::Empty);
        }
        check_escapes(body)?;
        let mut raw = [None; N];
        for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &b""[..]),
            };
            let key = decode(key);
            let Some(index) = keys
                .iter()
                .position(|k| key.eq_ignore_ascii_case(k.as_bytes()))
            else {
                continue; // unknown keys are ignored
            };
            if raw[index].replace(value).is_some() {
                return Err(CallbackError::DuplicateField { name: keys[index] });
            }
        }
        Ok(Self { keys, raw })
    }

    /// Whether `keys[index]` was in the form, with any value (an empty one too).
    pub(crate) fn has(&self, index: usize) -> bool {
        self.raw[index].is_some()
    }

    /// The decoded value of `keys[index]`, `None` when absent or empty.
    pub(crate) fn text(&self, index: usize) -> Result<Option<String>, CallbackError> {
        let Some(raw) = self.raw[index] else {
            return Ok(None);
        };
        let bytes = decode(raw).into_owned();
        let text = String::from_utf8(bytes).map_err(|_| CallbackError::InvalidUtf8 {
            name: self.keys[index],
        })?;
        Ok(Some(text).filter(|t| !t.is_empty()))
    }
}

/// Every `%` must start a two-hex-digit escape: a lenient decoder would keep `%zz` as text,
/// and two parsers disagreeing about one input is how forged callbacks get through.
fn check_escapes(body: &[u8]) -> Result<(), CallbackError> {
    let mut i = 0;
    while let Some(offset) = body[i..].iter().position(|b| *b == b'%') {
        let at = i + offset;
        match body.get(at + 1..at + 3) {
            Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i = at + 3,
            _ => return Err(CallbackError::BadPercentEncoding { offset: at }),
        }
    }
    Ok(())
}

/// Form decoding: `+` is a space, then percent-escapes. Borrows when there is nothing to do.
fn decode(raw: &[u8]) -> Cow<'_, [u8]> {
    if raw.contains(&b'+') {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        Cow::Owned(percent_decode(&spaced).collect())
    } else {
        percent_decode(raw).into()
    }
}
