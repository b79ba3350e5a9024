//! Step 2: where to send the buyer, and a ready redirect response for servers.

use std::fmt;

use http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::config::{
    Config, DEFAULT_API_URL, DEFAULT_GATEWAY_URL, SECOND_API_URL, SECOND_GATEWAY_URL,
};
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

/// The page each gateway sends buyers to.
fn page_of(gateway: Gateway) -> Page {
    match gateway {
        Gateway::Ghesta => wire::v2::GHESTA_PAGE,
        Gateway::PayPingV2 => wire::v2::IPG_PAGE,
        Gateway::PayPingV3 => wire::v3::START_PAGE,
    }
}

/// One of PayPing's deployments: its domain, and the API and payment-page hosts on it.
#[derive(Clone, Copy)]
struct Deployment {
    domain: &'static [u8],
    api: &'static str,
    pages: &'static str,
}

/// PayPing's documented hosts: `payping.ir`, and `payping.io`, from which it serves the same
/// API and pages (the official plugins' "foreign server" option).
const DEPLOYMENTS: [Deployment; 2] = [
    Deployment {
        domain: b"payping.ir",
        api: DEFAULT_API_URL,
        pages: DEFAULT_GATEWAY_URL,
    },
    Deployment {
        domain: b"payping.io",
        api: SECOND_API_URL,
        pages: SECOND_GATEWAY_URL,
    },
];

impl Deployment {
    /// The base `gateway`'s page lives on here: Ghesta's on the pages' host, PayPing's card
    /// pages on the API host.
    fn base_of(self, gateway: Gateway) -> &'static str {
        match gateway {
            Gateway::Ghesta => self.pages,
            Gateway::PayPingV2 | Gateway::PayPingV3 => self.api,
        }
    }

    /// Whether `base` is where this deployment serves `gateway`'s page (scheme and host
    /// compared without regard to case, as URLs compare them).
    fn serves(self, gateway: Gateway, base: &str) -> bool {
        base.eq_ignore_ascii_case(self.base_of(gateway))
    }

    /// The deployment `uri` is on: https on one of PayPing's domains or a host under it, on
    /// the default port.
    fn of(uri: &http::Uri) -> Option<Self> {
        // Compared without regard to case where it lies: a lowercased copy would cost an
        // allocation.
        let host = uri.host().unwrap_or("").as_bytes();
        let secure = uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("https"))
            && uri.port_u16().is_none_or(|p| p == 443);
        let on = |domain: &[u8]| {
            host.eq_ignore_ascii_case(domain)
                || host.len().checked_sub(domain.len() + 1).is_some_and(|dot| {
                    host[dot] == b'.' && host[dot + 1..].eq_ignore_ascii_case(domain)
                })
        };
        DEPLOYMENTS.into_iter().find(|d| secure && on(d.domain))
    }
}

/// `url` without `page` of `code` at its end (the code encoded as [`push_segment`] encodes
/// it): the base the page is on, when `url` is that page. Allocates nothing: it runs on
/// every v3 create answer.
fn base_before<'a>(url: &'a str, page: Page, code: &PaymentCode) -> Option<&'a str> {
    let rest = url.strip_suffix(page.after_code)?;
    let encoded = utf8_percent_encode(code.as_str(), SEGMENT);
    let len = encoded.clone().map(str::len).sum();
    let (head, mut segment) = rest.split_at_checked(rest.len().checked_sub(len)?)?;
    for chunk in encoded {
        segment = segment.strip_prefix(chunk)?;
    }
    head.strip_suffix(page.before_code)
}

/// Whether `path` goes through v3's start route (`/v3/pay/start/`, in any case: PayPing's
/// routing ignores it), whatever follows.
fn on_start_route(path: &str) -> bool {
    let route = wire::v3::START_PAGE.before_code.as_bytes();
    path.as_bytes()
        .windows(route.len())
        .any(|w| w.eq_ignore_ascii_case(route))
}

impl RedirectUrl {
    /// Checks a redirect read back from a store against the record's own `code` and
    /// `gateway`, and gives the page to keep and the gateway it is for (a 0.1.0 record
    /// names none: its page says, Ghesta's installment page or PayPing's v2 card page).
    ///
    /// A record that anyone could write (a client-side session, a shared cache) must not be
    /// able to send buyers anywhere, nor to another payment: the URL must be the page the
    /// SDK gives for `code` on that gateway (`/installment/{code}?type=ghesta`,
    /// `/v2/pay/gotoipg/{code}`, `/v3/pay/start/{code}`, the code encoded exactly as
    /// [`push_segment`] does), on one of PayPing's hosts for that page (`payping.ir` or
    /// `payping.io` for Ghesta, `api.payping.ir` or `api.payping.io` for the card pages) or
    /// on a loopback base (the sandbox, any path prefix). A record made with another base
    /// URL does not read back: no deployment of PayPing has one, and a store is no place to
    /// learn a new host from.
    ///
    /// A v3 record is bound to its code the same way. Its start page must carry its code:
    /// a page on the start route naming anything else is refused, as the work of whoever
    /// wrote the store. A page of another shape on PayPing's domain (the `url` a create
    /// answer named, which an earlier build kept) is not kept: PayPing documents no other
    /// page, so nothing in one says which payment it opens, and a free path on any host of
    /// PayPing's would let a store send buyers to another payment, or through any redirect
    /// PayPing serves. The record falls back to the start page built from its code, on the
    /// API host of the deployment that page was on, which sends the buyer to the payment
    /// the record verifies. (A loopback page of another shape is refused: the sandbox's
    /// base, path prefix and all, cannot be told from it.)
    pub(crate) fn check_stored(
        self,
        code: &PaymentCode,
        gateway: Option<Gateway>,
    ) -> Result<(Self, Gateway), InvalidInput> {
        let refuse = |rule| InvalidInput::new(Field::RedirectUrl, rule);
        let candidates: &[Gateway] = match gateway {
            Some(ref gateway) => std::slice::from_ref(gateway),
            // 0.1.0 records: v2 only.
            None => &[Gateway::Ghesta, Gateway::PayPingV2],
        };
        let found = candidates.iter().find_map(|gateway| {
            base_before(&self.0, page_of(*gateway), code).map(|base| (*gateway, base))
        });
        let Some((gateway, base)) = found else {
            return match gateway {
                Some(Gateway::PayPingV3) => self
                    .start_page_instead(code)
                    .map(|url| (url, Gateway::PayPingV3)),
                _ => Err(refuse(Rule::RedirectMismatch)),
            };
        };
        // The base must be one the SDK would accept as it stands (no query, no trailing `/`
        // that would make the path another one), and PayPing's or a loopback sandbox.
        let kept = match BaseUrl::gateway(base) {
            Ok(parsed) if parsed.as_str() == base => {
                parsed.is_loopback() || DEPLOYMENTS.iter().any(|d| d.serves(gateway, base))
            }
            _ => false,
        };
        if kept {
            Ok((self, gateway))
        } else {
            Err(refuse(Rule::RedirectHost))
        }
    }

    /// The start page of `code` in place of a stored v3 page that is not it (see
    /// [`RedirectUrl::check_stored`]), or why the record is refused.
    fn start_page_instead(&self, code: &PaymentCode) -> Result<Self, InvalidInput> {
        let refuse = |rule| InvalidInput::new(Field::RedirectUrl, rule);
        // Every stored URL parsed once already (`TryFrom<String>`).
        let uri: http::Uri = self.0.parse().map_err(|_| refuse(Rule::NotAbsoluteUrl))?;
        if on_start_route(uri.path()) {
            return Err(refuse(Rule::RedirectMismatch));
        }
        match Deployment::of(&uri) {
            Some(deployment) => Ok(Self::page(deployment.api, wire::v3::START_PAGE, code)),
            None if uri.host().is_some_and(crate::url::is_loopback_host) => {
                Err(refuse(Rule::RedirectMismatch))
            }
            None => Err(refuse(Rule::RedirectHost)),
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
        Self::page(config.api_url().as_str(), wire::v3::START_PAGE, code)
    }

    /// The page v3's create answer named (`url`) for `code`, when a stored record may keep
    /// it: the start page of `code` on one of PayPing's API hosts (`api.payping.ir`,
    /// `api.payping.io`). `None` otherwise, and the caller builds the start page. A page of
    /// another shape is not taken, even on PayPing's domain: it would not read back from a
    /// store ([`RedirectUrl::check_stored`] says why), and the start page is what most of
    /// PayPing's own plugins send buyers to.
    pub(crate) fn from_answer(code: &PaymentCode, url: String) -> Option<Self> {
        let base = base_before(&url, wire::v3::START_PAGE, code)?;
        DEPLOYMENTS
            .iter()
            .any(|d| d.serves(Gateway::PayPingV3, base))
            .then_some(Self(url))
    }

    /// Ghesta's installment page: `{gateway}/installment/{code}?type=ghesta`.
    ///
    /// Ghesta's guide writes `http://`; PayPing's own Ghesta plugin uses https, and so does
    /// the default gateway URL.
    pub fn ghesta(config: &Config, code: &PaymentCode) -> Self {
        Self::page(config.gateway_url().as_str(), wire::v2::GHESTA_PAGE, code)
    }

    /// PayPing's ordinary card payment page: `{api}/v2/pay/gotoipg/{code}`.
    pub fn payping(config: &Config, code: &PaymentCode) -> Self {
        Self::page(config.api_url().as_str(), wire::v2::IPG_PAGE, code)
    }

    /// `page` of `code` on `base`, the code one percent-encoded segment.
    fn page(base: &str, page: Page, code: &PaymentCode) -> Self {
        let mut url = String::with_capacity(base.len() + 40);
        url.push_str(base);
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

    /// `url` read back for `code` on `gateway`: the gateway, or the field's rule.
    fn stored(url: &str, code: &PaymentCode, gateway: Option<Gateway>) -> Result<Gateway, Rule> {
        RedirectUrl(url.to_owned())
            .check_stored(code, gateway)
            .map(|(kept, gateway)| {
                assert_eq!(kept.as_str(), url, "an honest page is kept as it is");
                gateway
            })
            .map_err(|e| {
                assert_eq!(e.field(), Field::RedirectUrl);
                e.rule().clone()
            })
    }

    #[test]
    fn stored_redirects_must_be_the_records_own_page() {
        let code = PaymentCode::new("82a4f72").unwrap();
        let sandbox = config().with_gateway_url(BaseUrl::gateway("http://127.0.0.1:9/gw").unwrap());
        let second = config()
            .with_gateway_url(BaseUrl::gateway(SECOND_GATEWAY_URL).unwrap())
            .with_api_url(BaseUrl::api(SECOND_API_URL).unwrap());
        let odd = PaymentCode::new("x/y z").unwrap();
        for (honest, gateway) in [
            (RedirectUrl::ghesta(&config(), &code), Gateway::Ghesta),
            (RedirectUrl::payping(&config(), &code), Gateway::PayPingV2),
            (RedirectUrl::ghesta(&sandbox, &code), Gateway::Ghesta),
            (RedirectUrl::ghesta(&second, &code), Gateway::Ghesta),
            (RedirectUrl::payping(&second, &code), Gateway::PayPingV2),
        ] {
            // A 0.1.0 record names no gateway: its page says which.
            assert_eq!(
                stored(honest.as_str(), &code, None),
                Ok(gateway),
                "{honest}"
            );
            assert_eq!(stored(honest.as_str(), &code, Some(gateway)), Ok(gateway));
        }
        for config in [config(), sandbox.clone(), second.clone()] {
            let v3 = RedirectUrl::payping_v3(&config, &code);
            assert_eq!(
                stored(v3.as_str(), &code, Some(Gateway::PayPingV3)),
                Ok(Gateway::PayPingV3),
                "{v3}"
            );
            assert_eq!(
                stored(v3.as_str(), &code, None),
                Err(Rule::RedirectMismatch),
                "a record without a gateway is v2"
            );
        }
        assert_eq!(
            stored(
                RedirectUrl::ghesta(&sandbox, &code).as_str(),
                &code,
                Some(Gateway::PayPingV3)
            ),
            Err(Rule::RedirectMismatch),
            "the page must be the recorded gateway's"
        );
        assert_eq!(
            stored(RedirectUrl::ghesta(&config(), &odd).as_str(), &odd, None),
            Ok(Gateway::Ghesta)
        );
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
                "https://payping.io.evil.example/installment/82a4f72?type=ghesta",
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
                "https://api.payping.io/installment/82a4f72?type=ghesta",
                Rule::RedirectHost,
            ),
            (
                "https://payping.ir/v2/pay/gotoipg/82a4f72",
                Rule::RedirectHost,
            ),
            (
                "https://payping.io/v2/pay/gotoipg/82a4f72",
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
            assert_eq!(stored(url, &code, None), Err(expected), "{url}");
        }
        assert_eq!(
            stored(
                "https://payping.ir/installment/x%2fy%20z?type=ghesta",
                &odd,
                None
            ),
            Err(Rule::RedirectMismatch),
            "the code is encoded exactly as the SDK encodes it"
        );
    }

    #[test]
    fn a_stored_v3_page_names_its_own_payment() {
        let code = PaymentCode::new("82a4f72").unwrap();
        let v3 = Some(Gateway::PayPingV3);
        // The start page of another payment, however it is spelled: refused.
        for url in [
            "https://api.payping.ir/v3/pay/start/someone-else",
            "https://api.payping.io/v3/pay/start/someone-else",
            "https://api.payping.ir/V3/Pay/Start/someone-else",
            "https://api.payping.ir/v3/pay/start/82a4f72x",
            "https://api.payping.ir/v3/pay/start/someone-else/82a4f72",
            "https://api.payping.ir/v3/pay/start/82a4f72/",
            "https://api.payping.ir/v3/pay/start/82a4f72?next=x",
            "http://127.0.0.1:9/v3/pay/start/someone-else",
        ] {
            assert_eq!(stored(url, &code, v3), Err(Rule::RedirectMismatch), "{url}");
        }
        // A page of another shape on PayPing's domain: the start page of the code instead,
        // on the API host of the deployment the page was on.
        for (url, instead) in [
            (
                "https://pay.payping.ir/anything/else",
                "https://api.payping.ir/v3/pay/start/82a4f72",
            ),
            (
                "https://PAYPING.IR/82a4f72",
                "https://api.payping.ir/v3/pay/start/82a4f72",
            ),
            (
                "https://ipg.payping.io/x?token=1",
                "https://api.payping.io/v3/pay/start/82a4f72",
            ),
            (
                "https://api.payping.io:443/v3/pay/%73tart/someone-else",
                "https://api.payping.io/v3/pay/start/82a4f72",
            ),
        ] {
            let (kept, gateway) = RedirectUrl(url.to_owned()).check_stored(&code, v3).unwrap();
            assert_eq!(
                (kept.as_str(), gateway),
                (instead, Gateway::PayPingV3),
                "{url}"
            );
        }
        // Off PayPing's hosts, or a loopback page the sandbox's base cannot be told from.
        for (url, rule) in [
            (
                "https://evil.example/v3/pay/start/82a4f72",
                Rule::RedirectHost,
            ),
            ("https://evil.example/x", Rule::RedirectHost),
            ("https://payping.ir.evil.example/x", Rule::RedirectHost),
            ("https://evilpayping.io/x", Rule::RedirectHost),
            ("http://payping.ir/x", Rule::RedirectHost),
            ("https://payping.ir:8443/x", Rule::RedirectHost),
            (
                "https://pay.payping.ir/v3/pay/start/82a4f72",
                Rule::RedirectHost,
            ),
            ("http://127.0.0.1:9/pay/82a4f72", Rule::RedirectMismatch),
            ("http://[::1]:9/pay/82a4f72", Rule::RedirectMismatch),
        ] {
            assert_eq!(stored(url, &code, v3), Err(rule), "{url}");
        }
        assert_eq!(
            stored(
                "https://pay.payping.ir/anything/else",
                &code,
                Some(Gateway::Ghesta)
            ),
            Err(Rule::RedirectMismatch),
            "only v3 falls back"
        );
    }

    #[test]
    fn answer_urls_are_taken_only_as_the_start_page_on_paypings_api_hosts() {
        let code = PaymentCode::new("X").unwrap();
        let odd = PaymentCode::new("a b/c").unwrap();
        for (code, url, taken) in [
            (&code, "https://api.payping.ir/v3/pay/start/X", true),
            (&code, "https://api.payping.io/v3/pay/start/X", true),
            (&code, "https://API.PayPing.IR/v3/pay/start/X", true),
            (&odd, "https://api.payping.ir/v3/pay/start/a%20b%2Fc", true),
            (&odd, "https://api.payping.ir/v3/pay/start/a b/c", false),
            (&code, "https://api.payping.ir/v3/pay/start/Y", false),
            (&code, "https://api.payping.ir/v3/pay/start/XX", false),
            (&code, "https://api.payping.ir/v3/pay/start/X?next=y", false),
            (&code, "https://api.payping.ir/v3/pay/gotoipg/X", false),
            (&code, "https://api.payping.ir/x/v3/pay/start/X", false),
            (&code, "https://payping.ir/v3/pay/start/X", false),
            (&code, "https://payping.ir/pay/X", false),
            (&code, "https://ipg.payping.ir/X?token=1", false),
            (&code, "https://evil.example/v3/pay/start/X", false),
            (&code, "http://api.payping.ir/v3/pay/start/X", false),
            (&code, "https://api.payping.ir:444/v3/pay/start/X", false),
            (&code, "http://127.0.0.1:9/v3/pay/start/X", false),
            (&code, "X", false),
            (&code, "", false),
        ] {
            assert_eq!(
                RedirectUrl::from_answer(code, url.to_owned()).is_some(),
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
