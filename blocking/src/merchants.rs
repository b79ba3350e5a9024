//! Several PayPing accounts (merchants) in one process, on one connection pool.

use std::collections::HashMap;
use std::fmt;

use ghesta_core::{Config, MerchantKey, Pending};

use crate::client::Client;

/// The clients of several merchants, all on one transport (one connection pool), found by
/// a merchant's key or by a stored payment's: the registry a marketplace or an agency keeps
/// for the PayPing accounts it serves.
///
/// Each merchant is a [`Config`] named with [`Config::with_merchant`] (one may be left
/// without a key: the default merchant, whose records, like every record stored before
/// keys existed, carry none). Every payment created with a merchant's client records its
/// key, and [`Merchants::for_record`] gives the client that must finish it; a client of
/// another merchant refuses the record before any request
/// ([`ghesta_core::Error::WrongMerchant`]). The token never leaves its merchant's client:
/// each exchange carries its own config's token in its own request.
///
/// Cloning is cheap (clients are reference counted); build it once and share it.
///
/// ```
/// use ghesta_blocking::{Client, Merchants};
/// use ghesta_core::*;
///
/// let pool = Client::builder(Config::new(Token::new("unused")?))
///     .transport(|request: HttpRequest| {
///         // The token of the merchant whose payment it is, and no other.
///         assert_eq!(request.headers()["authorization"], "Bearer token-of-shiraz");
///         http::Response::builder().body(br#"{"code":"82a4f72"}"#.to_vec())
///     })
///     .build();
/// let mut merchants = Merchants::new(&pool);
/// for (key, token) in [("shop-tehran", "token-of-tehran"), ("shop-shiraz", "token-of-shiraz")] {
///     merchants.insert(Config::new(Token::new(token)?).with_merchant(MerchantKey::new(key)?));
/// }
///
/// let shiraz = merchants.get(Some(&MerchantKey::new("shop-shiraz")?)).expect("registered");
/// let pending = shiraz.create(NewPayment::new(
///     Amount::from_toman(250_000)?,
///     ReturnUrl::new("https://shop.example/cb")?,
///     ClientRefId::new("order-7")?,
///     Mobile::new("09123456789")?,
/// ))?;
/// assert_eq!(pending.merchant().map(MerchantKey::as_str), Some("shop-shiraz"));
///
/// // Later (the callback, the sweeper): the record names its merchant's client.
/// let client = merchants.for_record(&pending).expect("a merchant this process serves");
/// assert!(client.shares_transport(&pool));
/// // Another merchant's client refuses it, before any request.
/// let tehran = merchants.get(Some(&MerchantKey::new("shop-tehran")?)).unwrap();
/// let err = tehran.cancel(&pending).unwrap_err();
/// assert!(matches!(err.as_core(), Some(Error::WrongMerchant { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Merchants {
    pool: Client,
    default: Option<Client>,
    keyed: HashMap<MerchantKey, Client>,
}

impl Merchants {
    /// No merchant yet, on `pool`'s transport, retry policy and clock (`pool`'s own config
    /// is not registered: insert it if it is one of the merchants).
    pub fn new(pool: &Client) -> Self {
        Self {
            pool: pool.clone(),
            default: None,
            keyed: HashMap::new(),
        }
    }

    /// Registers a merchant under its key ([`Config::merchant`]; none: the default
    /// merchant), and returns its client. A merchant registered again under the same key
    /// is replaced (a rotated token): the client it had is returned, and payments it
    /// created are finished by the new one.
    pub fn insert(&mut self, config: Config) -> Option<Client> {
        let client = self.pool.with_config(config);
        match client.config().merchant().cloned() {
            Some(key) => self.keyed.insert(key, client),
            None => self.default.replace(client),
        }
    }

    /// Like [`Merchants::insert`], by value, for building in one expression.
    ///
    /// ```
    /// use ghesta_blocking::{Client, Merchants};
    /// use ghesta_core::{Config, MerchantKey, Token};
    ///
    /// let pool = Client::new(Config::new(Token::new("default-token")?));
    /// let merchants = Merchants::new(&pool)
    ///     .with(pool.config().clone()) // the default merchant, keyless
    ///     .with(Config::new(Token::new("token-b")?).with_merchant(MerchantKey::new("b")?));
    /// assert_eq!(merchants.len(), 2);
    /// assert!(merchants.get(None).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with(mut self, config: Config) -> Self {
        self.insert(config);
        self
    }

    /// The client of the merchant `key` (`None`: the default merchant), if registered.
    pub fn get(&self, key: Option<&MerchantKey>) -> Option<&Client> {
        match key {
            Some(key) => self.keyed.get(key),
            None => self.default.as_ref(),
        }
    }

    /// The client that finishes `pending`: its merchant's ([`Pending::merchant`]). `None`
    /// when the process does not serve that merchant (any more): keep the record, and
    /// register the merchant's config to settle it.
    pub fn for_record(&self, pending: &Pending) -> Option<&Client> {
        self.get(pending.merchant())
    }

    /// Every registered merchant's client (the default merchant's first, if any).
    pub fn clients(&self) -> impl Iterator<Item = &Client> {
        self.default.iter().chain(self.keyed.values())
    }

    /// How many merchants are registered.
    pub fn len(&self) -> usize {
        self.keyed.len() + usize::from(self.default.is_some())
    }

    /// Whether no merchant is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Merchants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys only: a config's Debug redacts its token, but the keys are what matter here.
        let mut keys: Vec<&str> = self.keyed.keys().map(MerchantKey::as_str).collect();
        keys.sort_unstable();
        f.debug_struct("Merchants")
            .field("default", &self.default.is_some())
            .field("keyed", &keys)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ghesta_core::Token;

    fn config(token: &str, key: Option<&str>) -> Config {
        let config = Config::new(Token::new(token).unwrap());
        match key {
            Some(key) => config.with_merchant(MerchantKey::new(key).unwrap()),
            None => config,
        }
    }

    #[test]
    fn clients_are_found_by_key_and_share_the_pool() {
        let pool = Client::new(config("pool", None));
        let mut merchants = Merchants::new(&pool);
        assert!(merchants.is_empty());
        assert!(merchants.insert(config("a", Some("a"))).is_none());
        assert!(merchants.insert(config("b", Some("b"))).is_none());
        assert!(
            merchants.get(None).is_none(),
            "the pool's config is not registered"
        );
        let a = MerchantKey::new("a").unwrap();
        let replaced = merchants.insert(config("a2", Some("a"))).unwrap();
        assert_eq!(replaced.config().token(), &Token::new("a").unwrap());
        assert_eq!(
            merchants.get(Some(&a)).unwrap().config().token(),
            &Token::new("a2").unwrap()
        );
        merchants.insert(config("d", None));
        assert_eq!(merchants.len(), 3);
        assert!(merchants.clients().all(|c| c.shares_transport(&pool)));
        let debug = format!("{merchants:?}");
        assert!(debug.contains(r#"keyed: ["a", "b"]"#), "{debug}");
        assert!(!debug.contains("a2"), "{debug}");
    }
}
