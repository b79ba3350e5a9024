//! A bounded, log-safe view of a body that could not be read.

use std::fmt;

/// How much of an unparseable body an error keeps.
pub(crate) const SNIPPET_BYTES: usize = 256;

/// The start of a body that could not be parsed, bounded and safe to log.
#[derive(Clone, PartialEq, Eq)]
pub struct BodySnippet {
    text: String,
    total_len: usize,
}

impl BodySnippet {
    /// Keeps at most 256 bytes of `body` (on a character boundary), invalid UTF-8 replaced,
    /// control characters (newlines too, which could forge log lines) shown as spaces.
    pub fn of(body: &[u8]) -> Self {
        let head = &body[..body.len().min(SNIPPET_BYTES)];
        let text = String::from_utf8_lossy(head)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Self {
            text,
            total_len: body.len(),
        }
    }

    /// The kept text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The whole body's length in bytes.
    pub fn total_len(&self) -> usize {
        self.total_len
    }
}

impl fmt::Debug for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodySnippet({:?}, {} bytes)", self.text, self.total_len)
    }
}

impl fmt::Display for BodySnippet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_len == 0 {
            return f.write_str("an empty body");
        }
        write!(f, "{:?}", self.text)?;
        if self.total_len > SNIPPET_BYTES {
            write!(f, "... ({} bytes in all)", self.total_len)?;
        }
        Ok(())
    }
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
pub(crate) fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_bounded_and_log_safe() {
        let body = format!("<html>\r\nX-Forged: yes\n{}", "é".repeat(500));
        let s = BodySnippet::of(body.as_bytes());
        assert!(s.as_str().len() <= SNIPPET_BYTES);
        assert!(!s.as_str().contains('\n'));
        assert_eq!(s.total_len(), body.len());
        assert!(s.to_string().contains("bytes in all"));
        assert_eq!(BodySnippet::of(b"").to_string(), "an empty body");
        assert!(BodySnippet::of(&[0xff, 0xfe]).as_str().contains('\u{fffd}'));
    }
}
