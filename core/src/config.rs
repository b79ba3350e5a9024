//! What every exchange needs: the token, where PayPing lives, the amount's unit, the window.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::amount::AmountUnit;
use crate::gateway::Gateway;
use crate::invalid::{Field, InvalidInput, Rule};
use crate::text::MerchantKey;
use crate::token::Token;
use crate::url::BaseUrl;

/// PayPing's production API.
pub const DEFAULT_API_URL: &str = "https://api.payping.ir";
/// PayPing's production payment pages (Ghesta's installment page lives here).
pub const DEFAULT_GATEWAY_URL: &str = "https://payping.ir";
/// PayPing's second API host, the one its official plugins call the "foreign server": the
/// same API, served from `payping.io` (for shops that reach `payping.ir` badly from abroad).
///
/// ```
/// use ghesta_core::{BaseUrl, Config, SECOND_API_URL, SECOND_GATEWAY_URL, Token};
///
/// let config = Config::new(Token::new("t")?)
///     .with_api_url(BaseUrl::api(SECOND_API_URL)?)
///     .with_gateway_url(BaseUrl::gateway(SECOND_GATEWAY_URL)?);
/// assert_eq!(config.api_url().as_str(), "https://api.payping.io");
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
pub const SECOND_API_URL: &str = "https://api.payping.io";
/// PayPing's payment pages on its second host (Ghesta's installment page lives here too).
pub const SECOND_GATEWAY_URL: &str = "https://payping.io";
/// How long after the buyer returns a payment can still be verified.
///
/// PayPing's spec (`/v2/pay/verify`) says 10 minutes; Ghesta's guide and PayPing's help
/// pages say 15. The SDK plans on the shorter one.
pub const DEFAULT_VERIFY_WINDOW: Duration = Duration::from_secs(10 * 60);

/// The environment variable holding the token.
pub const ENV_TOKEN: &str = "PAYPING_TOKEN";
/// The environment variable overriding the API base URL.
pub const ENV_API_URL: &str = "PAYPING_API_URL";
/// The environment variable overriding the payment-page base URL.
pub const ENV_GATEWAY_URL: &str = "PAYPING_GATEWAY_URL";

/// The settings every exchange is built from.
///
/// ```
/// use ghesta_core::{AmountUnit, BaseUrl, Config, Token};
///
/// let config = Config::new(Token::new("my-token")?)
///     .with_api_url(BaseUrl::api("http://127.0.0.1:8080")?);
/// assert_eq!(config.api_url().as_str(), "http://127.0.0.1:8080");
/// // The buyer's pages are still PayPing's: a sandbox needs `with_gateway_url` too.
/// assert_eq!(config.gateway_url().as_str(), "https://payping.ir");
/// assert_eq!(config.amount_unit(), AmountUnit::Toman);
/// # Ok::<(), ghesta_core::InvalidInput>(())
/// ```
///
/// Cloning is cheap (a reference count): every exchange keeps its own `Config`, so building
/// one on the checkout path copies no URL.
#[derive(Clone)]
pub struct Config(Arc<Settings>);

/// The settings themselves, shared by every clone of a [`Config`].
#[derive(Clone)]
struct Settings {
    token: Token,
    api_url: BaseUrl,
    gateway_url: BaseUrl,
    amount_unit: AmountUnit,
    verify_window: Duration,
    gateway: Gateway,
    merchant: Option<MerchantKey>,
}

impl Config {
    /// Production settings for `token`: PayPing's hosts, amounts in Toman, a 10 minute window.
    pub fn new(token: Token) -> Self {
        Self(Arc::new(Settings {
            token,
            api_url: default_base(DEFAULT_API_URL),
            gateway_url: default_base(DEFAULT_GATEWAY_URL),
            amount_unit: AmountUnit::Toman,
            verify_window: DEFAULT_VERIFY_WINDOW,
            gateway: Gateway::Ghesta,
            merchant: None,
        }))
    }

    /// The settings to change, copied first if another clone shares them.
    fn settings_mut(&mut self) -> &mut Settings {
        Arc::make_mut(&mut self.0)
    }

    /// Reads `PAYPING_TOKEN` (required), `PAYPING_API_URL` and `PAYPING_GATEWAY_URL`
    /// (optional, production hosts when unset or empty) from the process environment. For a
    /// sandbox set both URLs: with `PAYPING_API_URL` alone, buyers are sent to the real
    /// payping.ir.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name))
    }

    /// Like [`Config::from_env`], reading variables through `lookup` (for tests, or a
    /// secrets store that mimics the environment).
    ///
    /// ```
    /// use ghesta_core::{Config, ConfigError};
    ///
    /// let config = Config::from_lookup(|name| match name {
    ///     "PAYPING_TOKEN" => Some("tok".into()),
    ///     "PAYPING_API_URL" | "PAYPING_GATEWAY_URL" => Some("http://127.0.0.1:9000".into()),
    ///     _ => None,
    /// })?;
    /// assert_eq!(config.api_url().as_str(), "http://127.0.0.1:9000");
    /// assert_eq!(config.gateway_url().as_str(), "http://127.0.0.1:9000");
    ///
    /// let missing = Config::from_lookup(|_| None).unwrap_err();
    /// assert!(matches!(missing, ConfigError::Missing { name: "PAYPING_TOKEN" }));
    /// # Ok::<(), ConfigError>(())
    /// ```
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, ConfigError> {
        let read = |name: &'static str| -> Result<Option<String>, ConfigError> {
            match lookup(name) {
                None => Ok(None),
                Some(v) => match v.into_string() {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(s)),
                    Err(_) => Err(ConfigError::NotUnicode { name }),
                },
            }
        };
        let invalid = |name: &'static str| move |source| ConfigError::Invalid { name, source };
        let token = read(ENV_TOKEN)?.ok_or(ConfigError::Missing { name: ENV_TOKEN })?;
        let mut config = Self::new(Token::new(&token).map_err(invalid(ENV_TOKEN))?);
        if let Some(url) = read(ENV_API_URL)? {
            config.settings_mut().api_url =
                BaseUrl::api(url.trim()).map_err(invalid(ENV_API_URL))?;
        }
        if let Some(url) = read(ENV_GATEWAY_URL)? {
            config.settings_mut().gateway_url =
                BaseUrl::gateway(url.trim()).map_err(invalid(ENV_GATEWAY_URL))?;
        }
        Ok(config)
    }

    /// Uses another API base URL (PayPing's second host [`SECOND_API_URL`], a proxy, the
    /// sandbox). For a sandbox set [`Config::with_gateway_url`] too: the buyer's pages are
    /// elsewhere. Records made on PayPing's hosts or a loopback sandbox read back from a store;
    /// records made through a proxy do not (see [`Pending`](crate::Pending)).
    #[must_use]
    pub fn with_api_url(mut self, url: BaseUrl) -> Self {
        self.settings_mut().api_url = url;
        self
    }

    /// Uses another payment-page base URL (PayPing's second host [`SECOND_GATEWAY_URL`], the
    /// sandbox).
    #[must_use]
    pub fn with_gateway_url(mut self, url: BaseUrl) -> Self {
        self.settings_mut().gateway_url = url;
        self
    }

    /// Sends amounts in `unit`. Leave it at Toman unless your deployment has proved that
    /// PayPing expects Rial from you (Ghesta's guide says Rial; PayPing's spec and its own
    /// Ghesta plugin send Toman).
    #[must_use]
    pub fn with_amount_unit(mut self, unit: AmountUnit) -> Self {
        self.settings_mut().amount_unit = unit;
        self
    }

    /// The gateway new payments are created for ([`Gateway::Ghesta`] by default). Payments
    /// already created keep theirs: verify, cancel and refund follow the stored
    /// [`Pending`](crate::Pending).
    ///
    /// Only [`Gateway::Ghesta`] offers installments (on PayPing v2: Ghesta's page is
    /// documented for v2 only). With [`Gateway::PayPingV3`] buyers pay in full on PayPing's
    /// card page; v3 adds refunds for reversible payments and a verify that names its
    /// payment (see [`Gateway`]).
    #[must_use]
    pub fn with_gateway(mut self, gateway: Gateway) -> Self {
        self.settings_mut().gateway = gateway;
        self
    }

    /// Sets the verify window (10 minutes by default); refused when zero.
    pub fn with_verify_window(mut self, window: Duration) -> Result<Self, InvalidInput> {
        if window.is_zero() {
            return Err(InvalidInput::new(Field::VerifyWindow, Rule::Zero));
        }
        self.settings_mut().verify_window = window;
        Ok(self)
    }

    /// Names the merchant (the PayPing account) this configuration is, for a process that
    /// serves several: every payment created with it records `key`
    /// ([`Pending::merchant`](crate::Pending::merchant)), and verify, cancel, refund and
    /// settlement of that record are refused before any request
    /// ([`Error::WrongMerchant`](crate::Error::WrongMerchant)) with a configuration of
    /// another merchant. A configuration without a key is "the default merchant", whose
    /// records carry no key (as every record stored before keys existed).
    ///
    /// ```
    /// use ghesta_core::{Config, MerchantKey, Token};
    ///
    /// let tehran = Config::new(Token::new("token-of-tehran")?)
    ///     .with_merchant(MerchantKey::new("shop-tehran")?);
    /// assert_eq!(tehran.merchant().map(MerchantKey::as_str), Some("shop-tehran"));
    /// assert_eq!(Config::new(Token::new("t")?).merchant(), None); // the default merchant
    /// # Ok::<(), ghesta_core::InvalidInput>(())
    /// ```
    #[must_use]
    pub fn with_merchant(mut self, key: MerchantKey) -> Self {
        self.settings_mut().merchant = Some(key);
        self
    }

    /// The merchant this configuration is, if it was named ([`Config::with_merchant`]);
    /// `None` is the default merchant.
    pub fn merchant(&self) -> Option<&MerchantKey> {
        self.0.merchant.as_ref()
    }

    /// The token.
    pub fn token(&self) -> &Token {
        &self.0.token
    }

    /// The API base URL.
    pub fn api_url(&self) -> &BaseUrl {
        &self.0.api_url
    }

    /// The payment-page base URL.
    pub fn gateway_url(&self) -> &BaseUrl {
        &self.0.gateway_url
    }

    /// The unit amounts are sent in.
    pub fn amount_unit(&self) -> AmountUnit {
        self.0.amount_unit
    }

    /// The gateway new payments are created for.
    pub fn gateway(&self) -> Gateway {
        self.0.gateway
    }

    /// The verify window.
    pub fn verify_window(&self) -> Duration {
        self.0.verify_window
    }

    /// The last moment verify can succeed for a buyer whose callback arrived at
    /// `callback_received_at`; after it PayPing voids the payment and refunds the buyer.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use ghesta_core::{Config, Token};
    ///
    /// let config = Config::new(Token::new("t")?);
    /// let received = UNIX_EPOCH + Duration::from_secs(1_000);
    /// assert_eq!(config.verify_deadline(received), received + Duration::from_secs(600));
    /// # Ok::<(), ghesta_core::InvalidInput>(())
    /// ```
    pub fn verify_deadline(&self, callback_received_at: SystemTime) -> SystemTime {
        callback_received_at
            .checked_add(self.0.verify_window)
            .unwrap_or(callback_received_at)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The shape a derive gave before the settings were shared; Token redacts itself.
        let s = &self.0;
        f.debug_struct("Config")
            .field("token", &s.token)
            .field("api_url", &s.api_url)
            .field("gateway_url", &s.gateway_url)
            .field("amount_unit", &s.amount_unit)
            .field("verify_window", &s.verify_window)
            .field("gateway", &s.gateway)
            .field("merchant", &s.merchant)
            .finish()
    }
}

fn default_base(url: &'static str) -> BaseUrl {
    // Both defaults are constants; `defaults_are_valid` proves they pass `BaseUrl`'s checks.
    BaseUrl(url.to_owned())
}

/// Why a configuration could not be read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error(
        "{name} is not set; set it to your PayPing API token (PayPing panel, payment gateway, create token)"
    )]
    Missing {
        /// The variable's name.
        name: &'static str,
    },
    /// A variable holds bytes that are not UTF-8.
    #[error("{name} is not valid UTF-8; set it again")]
    NotUnicode {
        /// The variable's name.
        name: &'static str,
    },
    /// A variable holds a value that fails validation.
    #[error("{name} is malformed: {source}")]
    Invalid {
        /// The variable's name.
        name: &'static str,
        /// What is wrong with it (never the token's value).
        source: InvalidInput,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(*v))
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(BaseUrl::api(DEFAULT_API_URL).is_ok());
        assert!(BaseUrl::gateway(DEFAULT_GATEWAY_URL).is_ok());
        for (url, base) in [
            (SECOND_API_URL, BaseUrl::api(SECOND_API_URL)),
            (SECOND_GATEWAY_URL, BaseUrl::gateway(SECOND_GATEWAY_URL)),
        ] {
            assert_eq!(base.map(|b| b.0), Ok(url.to_owned()), "taken as it stands");
        }
        let c = Config::from_lookup(env(&[("PAYPING_TOKEN", "t")])).unwrap();
        assert_eq!(c.api_url().as_str(), DEFAULT_API_URL);
        assert_eq!(c.gateway_url().as_str(), DEFAULT_GATEWAY_URL);
        assert_eq!(c.verify_window(), Duration::from_secs(600));
    }

    #[test]
    fn env_errors_name_the_variable_and_hide_the_token() {
        assert_eq!(
            Config::from_lookup(env(&[("PAYPING_TOKEN", "  ")])).unwrap_err(),
            ConfigError::Missing {
                name: "PAYPING_TOKEN"
            }
        );
        let err = Config::from_lookup(env(&[("PAYPING_TOKEN", "sec ret")])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "PAYPING_TOKEN",
                ..
            }
        ));
        assert!(!err.to_string().contains("sec ret"));
        let err = Config::from_lookup(env(&[
            ("PAYPING_TOKEN", "t"),
            ("PAYPING_API_URL", "http://api.payping.ir"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "PAYPING_API_URL",
                ..
            }
        ));
        assert!(err.to_string().contains("https"), "{err}");
        let err = Config::from_lookup(env(&[
            ("PAYPING_TOKEN", "t"),
            ("PAYPING_GATEWAY_URL", "not a url"),
        ]))
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Invalid {
                name: "PAYPING_GATEWAY_URL",
                ..
            }
        ));
    }

    #[cfg(unix)]
    #[test]
    fn non_unicode_is_named() {
        use std::os::unix::ffi::OsStringExt;
        let err = Config::from_lookup(|_| Some(OsString::from_vec(vec![0xff]))).unwrap_err();
        assert_eq!(
            err,
            ConfigError::NotUnicode {
                name: "PAYPING_TOKEN"
            }
        );
    }

    #[test]
    fn clones_share_settings_until_one_changes() {
        let a = Config::new(Token::new("t").unwrap());
        let b = a.clone();
        assert!(Arc::ptr_eq(&a.0, &b.0), "a clone copies no setting");
        let b = b.with_api_url(BaseUrl::api("http://127.0.0.1:1").unwrap());
        assert_eq!(
            a.api_url().as_str(),
            DEFAULT_API_URL,
            "the original is unchanged"
        );
        assert_eq!(b.api_url().as_str(), "http://127.0.0.1:1");
        assert_eq!(b.token(), a.token());
        let debug = format!("{b:?}");
        assert!(
            debug.starts_with("Config { token: Token(<redacted>), api_url:"),
            "{debug}"
        );
    }

    #[test]
    fn window_and_deadline() {
        let c = Config::new(Token::new("t").unwrap());
        assert!(c.clone().with_verify_window(Duration::ZERO).is_err());
        let c = c.with_verify_window(Duration::from_secs(900)).unwrap();
        let t = SystemTime::UNIX_EPOCH;
        assert_eq!(c.verify_deadline(t), t + Duration::from_secs(900));
    }
}
