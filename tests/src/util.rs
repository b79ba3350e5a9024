//! Small helpers: identifier derivation, HTML escaping, PayPing's message texts.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

/// Locks a mutex, ignoring poisoning (a panicking handler must not take the sandbox down).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A sandbox-clock time as RFC 3339 UTC, as in PayPing's reports.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    time::OffsetDateTime::from(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A sandbox-clock time as .NET's universal sortable form, `2024-08-03 10:30:00Z`: how
/// PayPing's doc example writes `PayedDate` in the earlier result of a v3 409/110.
pub(crate) fn sortable_utc(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The SplitMix64 finaliser: a bijection on `u64`, so distinct inputs give distinct outputs.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Base-36 (0-9, a-z), fixed width 13: every `u64` fits, so the encoding is injective.
pub(crate) fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; 13];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    out.iter().map(|&b| char::from(b)).collect()
}

/// A 26-character, ULID-like code in Crockford's base32 (upper case), as PayPing v3's
/// payment codes look: 48 bits of milliseconds, then 80 bits. Distinct `unique` values give
/// distinct codes, whatever the time.
pub(crate) fn crockford26(millis: u64, unique: u64, extra: u16) -> String {
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let v: u128 = (u128::from(millis & 0xffff_ffff_ffff) << 80)
        | (u128::from(unique) << 16)
        | u128::from(extra);
    // 26 digits of 5 bits hold 130 bits: the first digit is 0..=7, as in a ULID.
    (0..26)
        .rev()
        .map(|i| char::from(DIGITS[((v >> (5 * i)) & 31) as usize]))
        .collect()
}

/// Escapes a value for HTML text and double-quoted attribute contexts.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Groups digits by thousands with commas: `1234567` -> `1,234,567`.
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base36_is_fixed_width_and_distinct() {
        assert_eq!(base36(0), "0000000000000");
        assert_eq!(base36(u64::MAX).len(), 13);
        assert_ne!(base36(mix(1)), base36(mix(2)));
    }

    #[test]
    fn crockford_codes_are_ulid_like_and_distinct() {
        let a = crockford26(1_764_478_800_000, mix(1), 7);
        let b = crockford26(1_764_478_800_000, mix(2), 7);
        assert_eq!(a.len(), 26);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(!a.contains(['I', 'L', 'O', 'U']));
        assert!(a.as_bytes()[0] <= b'7');
        // The time is the first ten digits: later codes sort after earlier ones.
        assert!(crockford26(2, 0, 0) > crockford26(1, u64::MAX, u16::MAX));
        assert_eq!(crockford26(0, 0, 0), "0".repeat(26));
    }

    #[test]
    fn escapes_and_groups() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(group_thousands(100), "100");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(50_000_000), "50,000,000");
    }
}
