//! URLs the SDK sends or sends the buyer to: the shop's return URL and the PayPing bases.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::invalid::{Field, InvalidInput, Rule};

/// Longest URL accepted; browsers and proxies start failing well before unbounded.
const MAX_URL_BYTES: usize = 2048;
/// Longest base URL: leaves room for a path and the longest percent-encoded payment code
/// (64 characters, 768 bytes), so every redirect URL built on it stays under
/// `MAX_URL_BYTES` and a stored [`Pending`](crate::Pending) always reads back.
const MAX_BASE_BYTES: usize = 1024;

/// The address inside a bracketed host (`[::1]`), if the host is bracketed.
fn ip_literal(host: &str) -> Option<&str> {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']'))
}

/// Whether `host` (as `http::Uri` gives it, IPv6 in brackets) is a loopback host:
/// `localhost`, an IPv4 address in 127.0.0.0/8, or `[::1]`. Only an IPv6 address goes in
/// brackets (RFC 3986's IP-literal), so `[127.0.0.1]` and `[localhost]` are not loopback.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    match ip_literal(host) {
        Some(literal) => literal.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback()),
        None => {
            host.eq_ignore_ascii_case("localhost")
                || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        }
    }
}

/// Parses an absolute URL whose scheme is https, or http on a loopback host.
pub(crate) fn parse_secure(value: &str, field: Field) -> Result<http::Uri, InvalidInput> {
    let refuse = |rule| InvalidInput::new(field, rule);
    if value.is_empty() {
        return Err(refuse(Rule::Empty));
    }
    if value.len() > MAX_URL_BYTES {
        return Err(refuse(Rule::TooLong { max: MAX_URL_BYTES }));
    }
    // `http::Uri` would silently drop a fragment; the shop would not get back what it sent.
    if value.contains('#') {
        return Err(refuse(Rule::Fragment));
    }
    // `http::Uri` refuses spaces, controls and non-ASCII: all are errors here too.
    let uri: http::Uri = value.parse().map_err(|_| refuse(Rule::NotAbsoluteUrl))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(refuse(Rule::NotAbsoluteUrl));
    };
    if authority.as_str().contains('@') {
        return Err(refuse(Rule::UserInfo));
    }
    if authority.host().is_empty() {
        return Err(refuse(Rule::NotAbsoluteUrl));
    }
    // `http::Uri` takes anything in brackets (`[127.0.0.1]`, `[shop]`); browsers and ureq
    // take only an IPv6 address there, so the buyer would be stranded on an error page.
    if ip_literal(authority.host()).is_some_and(|literal| literal.parse::<Ipv6Addr>().is_err()) {
        return Err(refuse(Rule::NotAnIpv6Literal));
    }
    // `http::Uri` keeps any run of digits (and more) after the host's `:` and reads a port
    // it cannot parse as none: `:99999` and `:8a` would reach the wire as given.
    if let Some(port) = authority.as_str()[authority.host().len()..].strip_prefix(':') {
        let valid = !port.is_empty()
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|p| p != 0);
        if !valid {
            return Err(refuse(Rule::InvalidPort));
        }
    }
    let secure = scheme.eq_ignore_ascii_case("https")
        || (scheme.eq_ignore_ascii_case("http") && is_loopback_host(authority.host()));
    if !secure {
        return Err(refuse(Rule::InsecureScheme));
    }
    Ok(uri)
}

/// The URL PayPing sends the buyer back to after the payment page (`returnUrl`).
///
/// It must be absolute and https: Ghesta's guide warns that an http return URL makes the
/// buyer's browser show a security error and the payment fails. Plain http is allowed only
/// for loopback hosts (`localhost`, `127.0.0.0/8`, `[::1]`), for development against the
/// sandbox. A query is allowed (shops often carry the order id there); user info and
/// fragments are not.
///
/// ```
/// use ghesta_core::ReturnUrl;
///
/// assert!(ReturnUrl::new("https://shop.example/ghesta/callback?order=7").is_ok());
/// assert!(ReturnUrl::new("http://127.0.0.1:8080/callback").is_ok());
/// assert!(ReturnUrl::new("http://shop.example/callback").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReturnUrl(String);

impl ReturnUrl {
    /// Checks and wraps a return URL.
    pub fn new(url: &str) -> Result<Self, InvalidInput> {
        parse_secure(url, Field::ReturnUrl)?;
        Ok(Self(url.to_owned()))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReturnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReturnUrl").field(&self.0).finish()
    }
}

impl fmt::Display for ReturnUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ReturnUrl {
    type Error = InvalidInput;
    fn try_from(s: String) -> Result<Self, InvalidInput> {
        parse_secure(&s, Field::ReturnUrl)?;
        Ok(Self(s))
    }
}

impl From<ReturnUrl> for String {
    fn from(u: ReturnUrl) -> Self {
        u.0
    }
}

/// A base URL that paths are appended to: PayPing's API host or its payment-page host.
///
/// Absolute, https (http only on loopback, for the sandbox), no user info, no query or
/// fragment. A path prefix is kept (for a shop that reaches PayPing through a proxy at
/// `https://proxy.example/payping`); a trailing `/` is dropped.
///
/// ```
/// use ghesta_core::BaseUrl;
///
/// let base = BaseUrl::api("https://api.payping.ir/")?;
/// assert_eq!(base.as_str(), "https://api.payping.ir");
/// assert!(BaseUrl::api("http://api.payping.ir").is_err());
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(pub(crate) String);

impl BaseUrl {
    /// A base URL for PayPing's API (`https://api.payping.ir` in production).
    pub fn api(url: &str) -> Result<Self, InvalidInput> {
        Self::new(url, Field::ApiUrl)
    }

    /// A base URL for the payment pages (`https://payping.ir` in production).
    pub fn gateway(url: &str) -> Result<Self, InvalidInput> {
        Self::new(url, Field::GatewayUrl)
    }

    fn new(url: &str, field: Field) -> Result<Self, InvalidInput> {
        if url.len() > MAX_BASE_BYTES {
            return Err(InvalidInput::new(
                field,
                Rule::TooLong {
                    max: MAX_BASE_BYTES,
                },
            ));
        }
        let uri = parse_secure(url, field)?;
        if uri.query().is_some() || url.ends_with('?') {
            return Err(InvalidInput::new(field, Rule::QueryOrFragment));
        }
        Ok(Self(url.trim_end_matches('/').to_owned()))
    }

    /// The base URL without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the host is a loopback host (the sandbox, never production).
    pub fn is_loopback(&self) -> bool {
        self.0
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.host().map(is_loopback_host))
            .unwrap_or(false)
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.0).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(url: &str) -> Rule {
        ReturnUrl::new(url).unwrap_err().rule().clone()
    }

    #[test]
    fn return_url_rules() {
        for ok in [
            "https://shop.example/cb",
            "HTTPS://shop.example:8443/cb?order=1&x=y",
            "http://localhost:3000/cb",
            "http://127.0.0.2/cb",
            "http://[::1]:9000/cb",
        ] {
            assert!(ReturnUrl::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(rule(""), Rule::Empty);
        assert_eq!(rule("http://shop.example/cb"), Rule::InsecureScheme);
        assert_eq!(rule("http://10.0.0.1/cb"), Rule::InsecureScheme);
        assert_eq!(rule("ftp://shop.example/cb"), Rule::InsecureScheme);
        assert_eq!(rule("javascript:alert(1)"), Rule::NotAbsoluteUrl);
        assert_eq!(rule("/relative/cb"), Rule::NotAbsoluteUrl);
        assert_eq!(rule("https://user:pw@shop.example/cb"), Rule::UserInfo);
        assert_eq!(rule("https://shop.example/cb#frag"), Rule::Fragment);
        assert_eq!(rule("https://shop.example/c b"), Rule::NotAbsoluteUrl);
        assert_eq!(rule("https://shop.example/\ncb"), Rule::NotAbsoluteUrl);
        for port in [
            "99999",
            "65536",
            "8a",
            "0",
            "",
            "-1",
            "+80",
            "4430000000000000000000",
        ] {
            assert_eq!(
                rule(&format!("https://shop.example:{port}/cb")),
                Rule::InvalidPort,
                "{port}"
            );
        }
        assert_eq!(rule("http://[::1]:70000/cb"), Rule::InvalidPort);
        assert!(ReturnUrl::new("https://shop.example:65535/cb").is_ok());
        assert!(ReturnUrl::new("http://[::1]/cb").is_ok());
        assert!(ReturnUrl::new("http://[::1]:1/cb").is_ok());
        // Found by fuzzing: brackets hold an IPv6 address only, loopback or not.
        for host in [
            "[127.0.0.11]",
            "[127.0.0.1]",
            "[localhost]",
            "[shop.example]",
            "[]",
        ] {
            for scheme in ["http", "https"] {
                let url = format!("{scheme}://{host}:9000/cb");
                assert!(
                    matches!(
                        ReturnUrl::new(&url).map_err(|e| e.rule().clone()),
                        Err(Rule::NotAnIpv6Literal | Rule::NotAbsoluteUrl)
                    ),
                    "{url}"
                );
            }
        }
        assert_eq!(rule("http://[127.0.0.1]/cb"), Rule::NotAnIpv6Literal);
        assert_eq!(rule("http://[::ffff:127.0.0.1]/cb"), Rule::InsecureScheme);
        assert!(ReturnUrl::new("https://[2001:db8::1]:8443/cb").is_ok());
        assert_eq!(
            rule(&format!("https://shop.example/{}", "a".repeat(2100))),
            Rule::TooLong { max: 2048 }
        );
    }

    #[test]
    fn the_longest_return_url_is_2048_bytes() {
        let prefix = "https://shop.example/";
        let longest = format!("{prefix}{}", "a".repeat(2048 - prefix.len()));
        assert!(ReturnUrl::new(&longest).is_ok());
        assert_eq!(rule(&format!("{longest}a")), Rule::TooLong { max: 2048 });
    }

    /// A URL shows, and is stored, exactly as given (a base without its trailing `/`).
    #[test]
    fn urls_show_and_store_as_given() {
        let given = "https://shop.example/cb?order=7";
        let url = ReturnUrl::new(given).unwrap();
        assert_eq!(url.to_string(), given);
        assert_eq!(format!("{url:?}"), format!("ReturnUrl({given:?})"));
        assert_eq!(String::from(url.clone()), given);
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            serde_json::to_string(given).unwrap()
        );
        let base = BaseUrl::api("https://api.payping.ir/").unwrap();
        assert_eq!(base.to_string(), "https://api.payping.ir");
        assert_eq!(format!("{base:?}"), r#"BaseUrl("https://api.payping.ir")"#);
    }

    #[test]
    fn base_url_rules() {
        assert_eq!(
            BaseUrl::api("https://api.payping.ir/").unwrap().as_str(),
            "https://api.payping.ir"
        );
        assert_eq!(
            BaseUrl::api("https://proxy.example/payping/")
                .unwrap()
                .as_str(),
            "https://proxy.example/payping"
        );
        assert!(BaseUrl::api("http://127.0.0.1:1234").unwrap().is_loopback());
        assert!(BaseUrl::api("http://[::1]:1234").unwrap().is_loopback());
        assert!(BaseUrl::api("http://LocalHost:1234").unwrap().is_loopback());
        assert!(!BaseUrl::api("https://[::2]:1234").unwrap().is_loopback());
        assert!(!BaseUrl::api("https://127.example").unwrap().is_loopback());
        assert_eq!(
            BaseUrl::gateway("https://[127.0.0.1]").unwrap_err().rule(),
            &Rule::NotAnIpv6Literal
        );
        assert!(
            !BaseUrl::api("https://api.payping.ir")
                .unwrap()
                .is_loopback()
        );
        let err = BaseUrl::gateway("https://payping.ir/?a=b").unwrap_err();
        assert_eq!(
            (err.field(), err.rule()),
            (Field::GatewayUrl, &Rule::QueryOrFragment)
        );
        assert_eq!(
            BaseUrl::api("http://api.payping.ir").unwrap_err().rule(),
            &Rule::InsecureScheme
        );
        let err = BaseUrl::api("https://api.payping.ir:65536").unwrap_err();
        assert_eq!(
            (err.field(), err.rule()),
            (Field::ApiUrl, &Rule::InvalidPort)
        );
    }
}
