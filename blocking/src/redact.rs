//! Keeps the token out of errors even when a server echoes it back.
//!
//! Errors keep a snippet of an unreadable body and the request id header. A misconfigured
//! proxy or debugging server that echoes the request (its `Authorization` header included)
//! would otherwise put the token into an error message and from there into logs.

use ghesta_core::HttpResponse;

/// What replaces the token.
const MARK: &[u8] = b"<redacted>";
/// Shorter secrets are test tokens; replacing them could mangle a real answer.
const MIN_SECRET_BYTES: usize = 8;

/// Replaces every occurrence of `secret` in the answer's body, and drops any header whose
/// value holds it.
pub(crate) fn redact(response: &mut HttpResponse, secret: &str) {
    let secret = secret.as_bytes();
    if secret.len() < MIN_SECRET_BYTES {
        return;
    }
    if let Some(body) = replace_all(response.body(), secret) {
        *response.body_mut() = body;
    }
    let tainted: Vec<_> = response
        .headers()
        .iter()
        .filter(|(_, value)| find(value.as_bytes(), secret).is_some())
        .map(|(name, _)| name.clone())
        .collect();
    for name in tainted {
        response.headers_mut().remove(name);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `haystack` with every `needle` replaced by [`MARK`]; `None` when there is none.
fn replace_all(haystack: &[u8], needle: &[u8]) -> Option<Vec<u8>> {
    let mut at = find(haystack, needle)?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    loop {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(MARK);
        rest = &rest[at + needle.len()..];
        match find(rest, needle) {
            Some(next) => at = next,
            None => break,
        }
    }
    out.extend_from_slice(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_and_headers_are_scrubbed() {
        let mut r = http::Response::builder()
            .header("X-PayPingRequest-ID", "Bearer secret-token-1")
            .header("X-Other", "fine")
            .body(b"Authorization: Bearer secret-token-1\r\nsecret-token-1secret-token-1".to_vec())
            .unwrap();
        redact(&mut r, "secret-token-1");
        assert_eq!(
            r.body().as_slice(),
            b"Authorization: Bearer <redacted>\r\n<redacted><redacted>"
        );
        assert!(r.headers().get("x-paypingrequest-id").is_none());
        assert_eq!(r.headers()["x-other"], "fine");
    }

    #[test]
    fn clean_and_short_are_untouched() {
        let mut r = http::Response::new(br#"{"amount":250000}"#.to_vec());
        redact(&mut r, "secret-token-1");
        assert_eq!(r.body().as_slice(), br#"{"amount":250000}"#);
        redact(&mut r, "a");
        assert_eq!(r.body().as_slice(), br#"{"amount":250000}"#);
    }
}
