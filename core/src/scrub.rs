//! Keeps the token out of everything the core reads from an answer, whichever driver sent it.
//!
//! Errors keep a snippet of an unreadable body, PayPing's messages, the request id header and
//! v3's trace id. A misconfigured proxy or debugging server that echoes the request (its
//! `Authorization` header included) would otherwise put the token into an error message and
//! from there into logs. The token is replaced in the answer before anything reads it, so no
//! error built from the answer, in any driver, can hold it: [`Answer::of`] takes only a
//! scrubbed response.
//!
//! [`Answer::of`]: crate::exchange::Answer::of

use crate::token::Token;

/// What replaces the token.
const MARK: &[u8] = b"<redacted>";
/// Shorter secrets are test tokens; replacing them could mangle a real answer.
const MIN_SECRET_BYTES: usize = 8;

/// A body the token was looked for in: the driver's own bytes when the token was not there,
/// a copy with every occurrence replaced when it was.
pub(crate) enum Scrubbed<B> {
    Clean(B),
    Replaced(Vec<u8>),
}

impl<B: AsRef<[u8]>> AsRef<[u8]> for Scrubbed<B> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Clean(body) => body.as_ref(),
            Self::Replaced(body) => body,
        }
    }
}

/// The answer with every occurrence of the token in its body replaced, as written and as a
/// JSON string writes it (a `"` or `\` in the token escaped), and without any header whose
/// value holds it. A body without the token is not copied.
pub(crate) fn scrub<B: AsRef<[u8]>>(
    response: http::Response<B>,
    token: &Token,
) -> http::Response<Scrubbed<B>> {
    let secret = token.expose_secret().as_bytes();
    if secret.len() < MIN_SECRET_BYTES {
        return response.map(Scrubbed::Clean);
    }
    let (mut parts, body) = response.into_parts();
    let escaped = json_escaped(secret);
    let mut replaced = replace_all(body.as_ref(), secret);
    if let Some(escaped) = &escaped {
        let scrubbed = replaced.as_deref().unwrap_or(body.as_ref());
        replaced = replace_all(scrubbed, escaped).or(replaced);
    }
    let tainted: Vec<_> = parts
        .headers
        .iter()
        .filter(|(_, value)| {
            let value = value.as_bytes();
            find(value, secret).is_some()
                || escaped.as_deref().is_some_and(|e| find(value, e).is_some())
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in tainted {
        parts.headers.remove(name);
    }
    let body = match replaced {
        Some(copy) => Scrubbed::Replaced(copy),
        None => Scrubbed::Clean(body),
    };
    http::Response::from_parts(parts, body)
}

/// The token as a JSON string holds it, when that differs: `"` and `\` escaped (the only
/// visible ASCII a JSON writer must escape), and `/` as `\/`, which some writers do.
fn json_escaped(secret: &[u8]) -> Option<Vec<u8>> {
    if !secret.iter().any(|b| matches!(b, b'"' | b'\\' | b'/')) {
        return None;
    }
    let mut out = Vec::with_capacity(secret.len() * 2);
    for &b in secret {
        if matches!(b, b'"' | b'\\' | b'/') {
            out.push(b'\\');
        }
        out.push(b);
    }
    Some(out)
}

/// Where `needle` first occurs in `haystack`: a scan for its first byte, then a compare, so
/// an answer without the token (every real one) costs one pass.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack.get(at + 1..at + needle.len()) == Some(rest) {
            return Some(at);
        }
        from = at + 1;
    }
    None
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
    use std::fmt::Debug;
    use std::time::SystemTime;

    use super::*;
    use crate::{
        Amount, CancelPayment, ClientRefId, Config, CreatePayment, Exchange, Gateway, Mobile,
        NewPayment, PaymentCode, Pending, RefId, RefundPayment, ReportPayment, ReturnUrl,
        VerifyPayment,
    };

    /// Long enough to be scrubbed, distinctive enough to search for.
    const TOKEN: &str = "tok-S3CRET-9f2c41d7e0a8";
    /// A part that would leak if only a prefix or a suffix were replaced.
    const PART: &str = "S3CRET";

    fn config(gateway: Gateway) -> Config {
        Config::new(Token::new(TOKEN).unwrap()).with_gateway(gateway)
    }

    fn pending(gateway: Gateway) -> Pending {
        let payment = NewPayment::new(
            Amount::from_toman(250_000).unwrap(),
            ReturnUrl::new("https://shop.example/cb").unwrap(),
            ClientRefId::new("order-7").unwrap(),
            Mobile::new("09123456789").unwrap(),
        )
        .with_reversible(gateway == Gateway::PayPingV3);
        let body: &[u8] = match gateway {
            Gateway::PayPingV3 => br#"{"paymentCode":"P1"}"#,
            _ => br#"{"code":"P1"}"#,
        };
        CreatePayment::new(&config(gateway), payment, SystemTime::UNIX_EPOCH)
            .parse_response(http::Response::new(body))
            .unwrap()
    }

    /// Answers echoing the token in every place an error keeps something from: a v2 400
    /// map (key and message), v3 problem details (message, detail, trace id), a 5xx HTML
    /// page, a 200 that is not JSON, a 200 whose fields are wrong, a redirect, and the
    /// request id header.
    fn echoes() -> Vec<http::Response<Vec<u8>>> {
        let bodies: Vec<(u16, String)> = vec![
            (
                400,
                format!(r#"{{"{TOKEN}":"Bearer {TOKEN}","26":"{TOKEN}"}}"#),
            ),
            (400, format!(r#"{{"15":"Bearer {TOKEN}"}}"#)),
            (
                400,
                format!(
                    r#"{{"title":"{TOKEN}","detail":"Bearer {TOKEN}","paypingTraceId":"{TOKEN}","metaData":{{"code":134,"errors":[{{"message":"Authorization: Bearer {TOKEN}"}}]}}}}"#
                ),
            ),
            (
                409,
                format!(r#"{{"detail":"{TOKEN}","paypingTraceId":"{TOKEN}"}}"#),
            ),
            (422, format!(r#"{{"title":"Bearer {TOKEN}"}}"#)),
            (503, format!("<html>Authorization: Bearer {TOKEN}</html>")),
            (502, format!(r#"{{"paypingTraceId":"{TOKEN}"}}"#)),
            (202, format!(r#"{{"paypingTraceId":"{TOKEN}"}}"#)),
            (200, format!("Authorization: Bearer {TOKEN}")),
            (200, format!(r#"{{"amount":"{TOKEN}","code":"{TOKEN}"}}"#)),
            (200, format!(r#"{{"amount":250000,"code":"{TOKEN}"}}"#)),
            (200, format!(r#"{{"{TOKEN}":1,"isPaid":"{TOKEN}"}}"#)),
            (302, format!("see {TOKEN}")),
            (429, format!("slow down {TOKEN}")),
            (401, TOKEN.to_owned()),
        ];
        bodies
            .into_iter()
            .map(|(status, body)| {
                http::Response::builder()
                    .status(status)
                    .header("X-PayPingRequest-ID", format!("Bearer {TOKEN}"))
                    .header("retry-after", "1")
                    .body(body.into_bytes())
                    .unwrap()
            })
            .collect()
    }

    /// Whatever `exchange` makes of each echo, error or not, shows no part of the token.
    fn shows_no_token<E: Exchange>(exchange: &E)
    where
        E::Output: Debug,
    {
        for answer in echoes() {
            let status = answer.status();
            let shown = match exchange.parse_response(answer) {
                Ok(output) => format!("{output:?}"),
                Err(error) => format!("{error} {error:?}"),
            };
            assert!(!shown.contains(PART), "{status}: the token leaked: {shown}");
        }
    }

    #[test]
    fn no_answer_puts_the_token_into_what_any_exchange_reads() {
        for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
            let config = config(gateway);
            let pending = pending(gateway);
            let payment = NewPayment::new(
                Amount::from_toman(250_000).unwrap(),
                ReturnUrl::new("https://shop.example/cb").unwrap(),
                ClientRefId::new("order-7").unwrap(),
                Mobile::new("09123456789").unwrap(),
            );
            shows_no_token(&CreatePayment::new(
                &config,
                payment,
                SystemTime::UNIX_EPOCH,
            ));
            let verify =
                VerifyPayment::from_ref_id(&config, &pending, RefId::new("7781").unwrap()).unwrap();
            shows_no_token(&verify);
            shows_no_token(&CancelPayment::new(&config, &pending));
            shows_no_token(&ReportPayment::new(
                &config,
                &PaymentCode::new("P1").unwrap(),
            ));
        }
        let v3 = pending(Gateway::PayPingV3);
        let refund = RefundPayment::new(
            &config(Gateway::PayPingV3),
            &v3,
            &RefId::new("7781").unwrap(),
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        shows_no_token(&refund);
    }

    #[test]
    fn the_body_and_headers_are_scrubbed() {
        let token = Token::new(TOKEN).unwrap();
        let answer = http::Response::builder()
            .header("X-PayPingRequest-ID", format!("Bearer {TOKEN}"))
            .header("X-Other", "fine")
            .body(format!("Authorization: Bearer {TOKEN}\r\n{TOKEN}{TOKEN}").into_bytes())
            .unwrap();
        let scrubbed = scrub(answer, &token);
        assert_eq!(
            scrubbed.body().as_ref(),
            b"Authorization: Bearer <redacted>\r\n<redacted><redacted>"
        );
        assert!(scrubbed.headers().get("x-paypingrequest-id").is_none());
        assert_eq!(scrubbed.headers()["x-other"], "fine");
    }

    #[test]
    fn a_token_escaped_in_json_is_scrubbed_too() {
        let token = Token::new(r#"tok/"quoted"\slash"#).unwrap();
        let body = br#"{"message":"Bearer tok\/\"quoted\"\\slash"}"#;
        let scrubbed = scrub(http::Response::new(&body[..]), &token);
        assert_eq!(
            scrubbed.body().as_ref(),
            br#"{"message":"Bearer <redacted>"}"#
        );
    }

    #[test]
    fn a_clean_answer_is_not_copied_and_a_short_token_is_left() {
        let token = Token::new(TOKEN).unwrap();
        let clean = scrub(http::Response::new(&br#"{"amount":250000}"#[..]), &token);
        assert!(matches!(clean.body(), Scrubbed::Clean(_)));
        assert_eq!(clean.body().as_ref(), br#"{"amount":250000}"#);
        // "tok" would match inside words of a real answer.
        let short = Token::new("tok").unwrap();
        let kept = scrub(http::Response::new(&b"a token"[..]), &short);
        assert_eq!(kept.body().as_ref(), b"a token");
    }

    #[test]
    fn find_finds_what_is_there_only() {
        assert_eq!(find(b"aab", b"ab"), Some(1));
        assert_eq!(find(b"abab", b"ab"), Some(0));
        assert_eq!(find(b"aaa", b"ab"), None);
        assert_eq!(find(b"a", b"ab"), None);
        assert_eq!(find(b"", b"ab"), None);
        assert_eq!(find(b"xab", b""), None);
    }
}
