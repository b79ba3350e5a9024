//! Step 2: where to send the buyer, and a ready redirect response for servers.

use std::fmt;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::config::{Config, DEFAULT_API_URL, DEFAULT_GATEWAY_URL};
use crate::gateway::Gateway;
use crate::invalid::{Field, InvalidInput, Rule};
use crate::text::PaymentCode;
use crate::url::BaseUrl;
use crate::wire::{self, Page};

/// Everything but RFC 3986's unreserved characters is encoded, so a code can never add a
/// `/`, `?`, `#` or `%` of its own: it stays one path segment. (`.` and `..` alone are
/// refused by [`PaymentCode`].)
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends `code` to `url` as one percent-encoded path segment.
pub(crate) fn push_segment(url: &mut String, code: &PaymentCode) {
    url.extend(utf8_percent_encode(code.as_str(), SEGMENT));
}

/// A URL to send the buyer's browser to.
///
/// ```
/// use ghesta_core::{Config, PaymentCode, RedirectUrl, Token};
///
/// let config = Config::new(Token::new("t")?);
/// let code = PaymentCode::new("82a4f72")?;
/// assert_eq!(
///     RedirectUrl::ghesta(&config, &code).as_str(),
///     "https://payping.ir/installment/82a4f72?type=ghesta"
/// );
/// assert_eq!(
///     RedirectUrl::payping(&config, &code).as_str(),
///     "https://api.payping.ir/v2/pay/gotoipg/82a4f72"
/// );
/// // No code can leave its path segment.
/// let odd = PaymentCode::new("x/../../evil?type=a#b")?;
/// assert_eq!(
///     RedirectUrl::ghesta(&config, &odd).as_str(),
///     "https://payping.ir/installment/x%2F..%2F..%2Fevil%3Ftype%3Da%23b?type=ghesta"
/// );
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RedirectUrl(String);

impl TryFrom<String> for RedirectUrl {
    type Error = InvalidInput;
    /// Reads a stored URL back: it must still be absolute and https (http on loopback). A
    /// [`Pending`](crate::Pending) checks more: that it is the page of the record's code.
    fn try_from(url: String) -> Result<Self, Self::Error> {
        crate::url::parse_secure(&url, Field::RedirectUrl)?;
        Ok(Self(url))
    }
}

impl From<RedirectUrl> for String {
    fn from(url: RedirectUrl) -> Self {
        url.0
    }
}

/// The page each gateway sends buyers to, with the production base it lives on.
fn page_of(gateway: Gateway) -> (Page, &'static str) {
    match gateway {
        Gateway::Ghesta => (wire::v2::GHESTA_PAGE, DEFAULT_GATEWAY_URL),
        Gateway::PayPingV2 => (wire::v2::IPG_PAGE, DEFAULT_API_URL),
        Gateway::PayPingV3 => (wire::v3::START_PAGE, DEFAULT_API_URL),
    }
}

/// Whether `uri` is https on PayPing's own domain (`payping.ir` or a host under it), on the
/// default port.
fn on_payping_host(uri: &http::Uri) -> bool {
    // Compared without regard to case where it lies: a lowercased copy cost an allocation
    // on every v3 create answer.
    const DOMAIN: &[u8] = b"payping.ir";
    let host = uri.host().unwrap_or("").as_bytes();
    let on_domain = host.eq_ignore_ascii_case(DOMAIN)
        || host
            .len()
            .checked_sub(DOMAIN.len() + 1)
            .is_some_and(|dot| host[dot] == b'.' && host[dot + 1..].eq_ignore_ascii_case(DOMAIN));
    uri.scheme_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("https"))
        && uri.port_u16().is_none_or(|p| p == 443)
        && on_domain
}

impl RedirectUrl {
    /// Checks a redirect read back from a store against the record's own `code` and
    /// `gateway`, and says which gateway it is for (a 0.1.0 record names none: its page
    /// says, Ghesta's installment page or PayPing's v2 card page).
    ///
    /// A record that anyone could write (a client-side session, a shared cache) must not be
    /// able to send buyers anywhere: the URL must be the page the SDK gives for `code` on
    /// that gateway (`/installment/{code}?type=ghesta`, `/v2/pay/gotoipg/{code}`,
    /// `/v3/pay/start/{code}`, the code encoded exactly as [`push_segment`] does), on
    /// PayPing's own host for that page or on a loopback base (the sandbox, any path
    /// prefix). A v3 record may also hold the page PayPing's create answer named, which the
    /// SDK only takes when it is https on PayPing's domain. A record made with another base
    /// URL does not read back: no deployment of PayPing has one, and a store is no place to
    /// learn a new host from.
    pub(crate) fn check_stored(
        &self,
        code: &PaymentCode,
        gateway: Option<Gateway>,
    ) -> Result<Gateway, InvalidInput> {
        let refuse = |rule| InvalidInput::new(Field::RedirectUrl, rule);
        let mut segment = String::with_capacity(code.as_str().len() * 3);
        push_segment(&mut segment, code);
        let candidates: &[Gateway] = match gateway {
            Some(ref gateway) => std::slice::from_ref(gateway),
            // 0.1.0 records: v2 only.
            None => &[Gateway::Ghesta, Gateway::PayPingV2],
        };
        let found = candidates.iter().find_map(|gateway| {
            let (page, production) = page_of(*gateway);
            let base = self
                .0
                .strip_suffix(page.after_code)?
                .strip_suffix(segment.as_str())?
                .strip_suffix(page.before_code)?;
            Some((*gateway, base, production))
        });
        let Some((gateway, base, production)) = found else {
            if gateway == Some(Gateway::PayPingV3)
                && self
                    .0
                    .parse::<http::Uri>()
                    .is_ok_and(|u| on_payping_host(&u))
            {
                return Ok(Gateway::PayPingV3);
            }
            return Err(refuse(Rule::RedirectMismatch));
        };
        // The base must be one the SDK would accept as it stands (no query, no trailing `/`
        // that would make the path another one), and PayPing's or a loopback sandbox.
        match BaseUrl::gateway(base) {
            Ok(parsed) if parsed.as_str() == base => {
                if parsed.is_loopback() || base.eq_ignore_ascii_case(production) {
                    Ok(gateway)
                } else {
                    Err(refuse(Rule::RedirectHost))
                }
            }
            _ => Err(refuse(Rule::RedirectHost)),
        }
    }

    /// The page for a payment created on `gateway`: [`RedirectUrl::ghesta`],
    /// [`RedirectUrl::payping`] or [`RedirectUrl::payping_v3`].
    pub fn for_gateway(config: &Config, gateway: Gateway, code: &PaymentCode) -> Self {
        match gateway {
            Gateway::Ghesta => Self::ghesta(config, code),
            Gateway::PayPingV2 => Self::payping(config, code),
            Gateway::PayPingV3 => Self::payping_v3(config, code),
        }
    }

    /// PayPing's v3 payment page: `{api}/v3/pay/start/{paymentCode}`.
    ///
    /// ```
    /// use ghesta_core::{Config, PaymentCode, RedirectUrl, Token};
    ///
    /// let config = Config::new(Token::new("t")?);
    /// let code = PaymentCode::new("01K2YQYESEQGNMCVFPQ9VC96YF")?;
    /// assert_eq!(
    ///     RedirectUrl::payping_v3(&config, &code).as_str(),
    ///     "https://api.payping.ir/v3/pay/start/01K2YQYESEQGNMCVFPQ9VC96YF"
    /// );
    /// # Ok::<(), ghesta_core::InvalidInput>(())
    /// ```
    pub fn payping_v3(config: &Config, code: &PaymentCode) -> Self {
        Self::page(config.api_url(), wire::v3::START_PAGE, code)
    }

    /// The page v3's create answer named (`url`), when it is safe to send a buyer to: a
    /// valid https URL (http only on loopback) on PayPing's domain, or under the configured
    /// API or gateway base. `None` otherwise, and the caller builds the start page.
    pub(crate) fn from_answer(config: &Config, url: String) -> Option<Self> {
        let uri = crate::url::parse_secure(&url, Field::RedirectUrl).ok()?;
        let under = |base: &BaseUrl| {
            url.strip_prefix(base.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
        };
        (on_payping_host(&uri) || under(config.api_url()) || under(config.gateway_url()))
            .then_some(Self(url))
    }

    /// Ghesta's installment page: `{gateway}/installment/{code}?type=ghesta`.
    ///
    /// Ghesta's guide writes `http://`; PayPing's own Ghesta plugin uses https, and so does
    /// the default gateway URL.
    pub fn ghesta(config: &Config, code: &PaymentCode) -> Self {
        Self::page(config.gateway_url(), wire::v2::GHESTA_PAGE, code)
    }

    /// PayPing's ordinary card payment page: `{api}/v2/pay/gotoipg/{code}`.
    pub fn payping(config: &Config, code: &PaymentCode) -> Self {
        Self::page(config.api_url(), wire::v2::IPG_PAGE, code)
    }

    /// `page` of `code` on `base`, the code one percent-encoded segment.
    fn page(base: &BaseUrl, page: Page, code: &PaymentCode) -> Self {
        let mut url = String::with_capacity(base.as_str().len() + 40);
        url.push_str(base.as_str());
        url.push_str(page.before_code);
        push_segment(&mut url, code);
        url.push_str(page.after_code);
        Self(url)
    }

    /// The URL as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A `303 See Other` response sending the browser here, uncacheable, with a tiny HTML
    /// body for clients that do not follow redirects. 303 makes the browser use GET even
    /// when the checkout form was POSTed.
    ///
    /// ```
    /// # use ghesta_core::{Config, PaymentCode, RedirectUrl, Token};
    /// # let config = Config::new(Token::new("t")?);
    /// let url = RedirectUrl::ghesta(&config, &PaymentCode::new("82a4f72")?);
    /// let response = url.to_response();
    /// assert_eq!(response.status(), 303);
    /// assert_eq!(response.headers()["location"], url.as_str());
    /// # Ok::<(), ghesta_core::InvalidInput>(())
    /// ```
    pub fn to_response(&self) -> http::Response<Vec<u8>> {
        // The URL is ASCII without controls (base URL checked, code percent-encoded), so it
        // is always a valid header value; the empty fallback is never taken.
        let location = HeaderValue::from_str(&self.0).unwrap_or(HeaderValue::from_static("/"));
        let body = format!(
            "<!doctype html><meta charset=\"utf-8\"><title>Redirecting</title>\
             <a href=\"{0}\">Continue to payment</a>",
            self.0.replace('&', "&amp;").replace('"', "&quot;")
        );
        let mut response = http::Response::new(body.into_bytes());
        *response.status_mut() = StatusCode::SEE_OTHER;
        let headers = response.headers_mut();
        headers.insert(LOCATION, location);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

impl fmt::Debug for RedirectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedirectUrl").field(&self.0).finish()
    }
}

impl fmt::Display for RedirectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Token;

    fn config() -> Config {
        Config::new(Token::new("t").unwrap())
    }

    #[test]
    fn codes_stay_in_their_segment() {
        let c = config();
        for raw in [
            "a b",
            "ک/د",
            "%2e%2e",
            "a?b",
            "a#b",
            "a\\b",
            "...",
            "a;b",
            "@evil.example",
        ] {
            let code = PaymentCode::new(raw).unwrap();
            let url = RedirectUrl::ghesta(&c, &code);
            let uri: http::Uri = url.as_str().parse().unwrap();
            assert_eq!(uri.host(), Some("payping.ir"), "{raw}");
            assert_eq!(uri.query(), Some("type=ghesta"), "{raw}");
            let segment = uri.path().strip_prefix("/installment/").unwrap();
            assert!(!segment.contains('/'), "{raw}");
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, raw);
        }
    }

    #[test]
    fn bases_with_prefixes() {
        let c = config()
            .with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw/").unwrap())
            .with_api_url(BaseUrl::api("https://proxy.example/pp").unwrap());
        let code = PaymentCode::new("abc").unwrap();
        assert_eq!(
            RedirectUrl::ghesta(&c, &code).as_str(),
            "http://127.0.0.1:9/gw/installment/abc?type=ghesta"
        );
        assert_eq!(
            RedirectUrl::payping(&c, &code).as_str(),
            "https://proxy.example/pp/v2/pay/gotoipg/abc"
        );
    }

    #[test]
    fn stored_redirects_must_be_the_records_own_page() {
        let code = PaymentCode::new("82a4f72").unwrap();
        let sandbox = config().with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw").unwrap());
        let odd = PaymentCode::new("x/y z").unwrap();
        for (honest, gateway) in [
            (RedirectUrl::ghesta(&config(), &code), Gateway::Ghesta),
            (RedirectUrl::payping(&config(), &code), Gateway::PayPingV2),
            (RedirectUrl::ghesta(&sandbox, &code), Gateway::Ghesta),
        ] {
            // A 0.1.0 record names no gateway: its page says which.
            assert_eq!(honest.check_stored(&code, None), Ok(gateway), "{honest}");
            assert_eq!(honest.check_stored(&code, Some(gateway)), Ok(gateway));
        }
        let v3 = RedirectUrl::payping_v3(&sandbox, &code);
        assert_eq!(
            v3.check_stored(&code, Some(Gateway::PayPingV3)),
            Ok(Gateway::PayPingV3)
        );
        assert!(
            v3.check_stored(&code, None).is_err(),
            "a record without a gateway is v2"
        );
        assert!(
            RedirectUrl::ghesta(&sandbox, &code)
                .check_stored(&code, Some(Gateway::PayPingV3))
                .is_err(),
            "the page must be the recorded gateway's"
        );
        let answered = RedirectUrl("https://pay.payping.ir/anything/else".into());
        assert_eq!(
            answered.check_stored(&code, Some(Gateway::PayPingV3)),
            Ok(Gateway::PayPingV3),
            "v3 may keep the page PayPing's answer named, on PayPing's domain"
        );
        assert!(answered.check_stored(&code, Some(Gateway::Ghesta)).is_err());
        for foreign in [
            "https://evil.example/v3/pay/start/82a4f72",
            "https://payping.ir.evil.example/x",
            "http://payping.ir/x",
            "https://payping.ir:8443/x",
        ] {
            assert!(
                RedirectUrl(foreign.into())
                    .check_stored(&code, Some(Gateway::PayPingV3))
                    .is_err(),
                "{foreign}"
            );
        }
        assert_eq!(
            RedirectUrl::ghesta(&config(), &odd).check_stored(&odd, None),
            Ok(Gateway::Ghesta)
        );
        let rule = |url: &str, code: &PaymentCode| {
            RedirectUrl(url.to_owned())
                .check_stored(code, None)
                .map_err(|e| (e.field(), e.rule().clone()))
        };
        for (url, expected) in [
            (
                "https://evil.example/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir.evil.example/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir/x/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://api.payping.ir/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir/v2/pay/gotoipg/82a4f72",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir:8443/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir//installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir?a=/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir/installment/other?type=ghesta",
                Rule::RedirectMismatch,
            ),
            (
                "https://payping.ir/installment/82a4f72",
                Rule::RedirectMismatch,
            ),
            (
                "https://payping.ir/installment/82a4f72?type=ghesta&next=x",
                Rule::RedirectMismatch,
            ),
            (
                "https://payping.ir/installment/x82a4f72?type=ghesta",
                Rule::RedirectMismatch,
            ),
            ("https://payping.ir/somewhere", Rule::RedirectMismatch),
        ] {
            assert_eq!(
                rule(url, &code),
                Err((Field::RedirectUrl, expected)),
                "{url}"
            );
        }
        assert_eq!(
            rule("https://payping.ir/installment/x%2fy%20z?type=ghesta", &odd),
            Err((Field::RedirectUrl, Rule::RedirectMismatch)),
            "the code is encoded exactly as the SDK encodes it"
        );
    }

    #[test]
    fn answer_urls_are_taken_only_on_payping_or_the_configured_base() {
        let sandbox = config().with_api_url(BaseUrl::api("http://127.0.0.1:9/pp").unwrap());
        for (config, url, taken) in [
            (config(), "https://api.payping.ir/v3/pay/start/X", true),
            (config(), "https://payping.ir/pay/X", true),
            (config(), "https://ipg.payping.ir/X?token=1", true),
            (config(), "https://evil.example/v3/pay/start/X", false),
            (config(), "https://payping.ir.evil.example/X", false),
            (config(), "https://API.PayPing.IR/v3/pay/start/X", true),
            (config(), "https://PAYPING.IR/X", true),
            (config(), "https://evilpayping.ir/X", false),
            (config(), "http://api.payping.ir/v3/pay/start/X", false),
            (config(), "https://api.payping.ir:444/X", false),
            (config(), "https://user@api.payping.ir/X", false),
            (config(), "https://api.payping.ir/X#frag", false),
            (config(), "/v3/pay/start/X", false),
            (
                sandbox.clone(),
                "http://127.0.0.1:9/pp/v3/pay/start/X",
                true,
            ),
            (sandbox.clone(), "http://127.0.0.1:9/ppx/evil", false),
            (sandbox, "http://127.0.0.1:10/pp/v3/pay/start/X", false),
        ] {
            assert_eq!(
                RedirectUrl::from_answer(&config, url.to_owned()).is_some(),
                taken,
                "{url}"
            );
        }
    }

    #[test]
    fn response() {
        let url = RedirectUrl::ghesta(&config(), &PaymentCode::new("k").unwrap());
        let r = url.to_response();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            r.headers()[LOCATION],
            "https://payping.ir/installment/k?type=ghesta"
        );
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert!(
            String::from_utf8(r.into_body())
                .unwrap()
                .contains("installment/k?type=ghesta")
        );
    }
}
