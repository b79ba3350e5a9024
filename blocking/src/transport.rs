//! What sends a request: the [`Transport`] trait, its impl for closures, and the ureq one.

use std::time::Duration;

use ghesta_core::{HttpRequest, HttpResponse};

#[cfg(any(feature = "rustls", feature = "native-tls"))]
use crate::error::InvalidCertificate;
use crate::error::TransportError;

/// Sends one request and returns the whole answer, whatever its status.
///
/// The client drives every exchange through this trait, so any HTTP stack can carry it.
/// An implementation must:
///
/// - return error statuses (4xx, 5xx) as `Ok` responses: PayPing's error bodies are parsed;
/// - never follow redirects: the `Authorization` header must not travel to another host;
/// - bound the time a call takes and the size of the body it reads.
///
/// [`UreqTransport`] does all three. Any closure
/// `Fn(HttpRequest) -> Result<HttpResponse, E>` with `E: Into<TransportError>` is a
/// transport too, which makes tests and other stacks one line:
///
/// ```
/// use ghesta_blocking::{Transport, TransportError};
/// use ghesta_core::{HttpRequest, HttpResponse};
///
/// let transport = |request: HttpRequest| -> Result<HttpResponse, TransportError> {
///     assert_eq!(request.uri().path(), "/v1/report/abc");
///     Ok(http::Response::builder().status(404).body(Vec::new())?)
/// };
/// let request = http::Request::get("https://api.payping.ir/v1/report/abc").body(Vec::new())?;
/// assert_eq!(transport.send(request)?.status(), 404);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Transport: Send + Sync {
    /// Sends `request`; `Ok` for any answer that arrived whole, `Err` when none did.
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

impl<F, E> Transport for F
where
    F: Fn(HttpRequest) -> Result<HttpResponse, E> + Send + Sync,
    E: Into<TransportError>,
{
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self(request).map_err(Into::into)
    }
}

/// The connect timeout by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The whole-call timeout by default (connect, send, wait, read the body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer body read by default. PayPing's answers are a few hundred bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024;
/// The `User-Agent` sent by default: this crate and its version.
pub const DEFAULT_USER_AGENT: &str =
    concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));
/// The idle keep-alive connections kept per host by default.
///
/// ureq's own default is 3: a pool shared by more threads than that drops a connection each
/// time a fourth call finishes while three are already idle, and the next call pays a new
/// TCP (and TLS) handshake. 16 covers the worker threads of a typical shop server (8 threads
/// sharing one client open about 8 connections, not about 120 per 800 calls); an idle
/// connection costs one socket and a few KiB, and ureq closes it after 15 s unused.
pub const DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST: usize = 16;
/// The idle keep-alive connections kept in all hosts by default: room for PayPing's API and
/// a few other hosts (a sandbox, a second region) at their per-host cap.
pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = 64;

/// The settings of [`UreqTransport`]; every one has a safe default.
///
/// ```
/// use std::time::Duration;
/// use ghesta_blocking::HttpSettings;
///
/// let settings = HttpSettings::default().with_timeout(Duration::from_secs(15));
/// assert_eq!(settings.timeout(), Duration::from_secs(15));
/// assert_eq!(settings.connect_timeout(), Duration::from_secs(10));
/// assert_eq!(settings.max_response_bytes(), 64 * 1024);
/// assert_eq!(settings.user_agent(), concat!("ghesta-blocking/", env!("CARGO_PKG_VERSION")));
/// assert_eq!(settings.max_idle_connections_per_host(), 16);
/// assert_eq!(settings.max_idle_connections(), 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    connect_timeout: Duration,
    timeout: Duration,
    max_response_bytes: u64,
    user_agent: String,
    max_idle_connections_per_host: usize,
    max_idle_connections: usize,
    extra_roots: ExtraRoots,
}

/// DER certificates trusted beside the built-in roots; `Debug` counts them rather than
/// dumping kilobytes of DER into a log.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(not(any(feature = "rustls", feature = "native-tls")), allow(dead_code))]
struct ExtraRoots(Vec<Vec<u8>>);

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} certificate(s)", self.0.len())
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_idle_connections_per_host: DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST,
            max_idle_connections: DEFAULT_MAX_IDLE_CONNECTIONS,
            extra_roots: ExtraRoots::default(),
        }
    }
}

impl HttpSettings {
    /// How long connecting (TCP and TLS) may take (10 s by default).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a whole call may take, body included (30 s by default).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest answer body read (64 KiB by default); a larger one is
    /// [`TransportError::BodyTooLarge`].
    #[must_use]
    pub fn with_max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The `User-Agent` header (`ghesta-blocking/<version>` by default). Prefix it with
    /// your shop's name if PayPing support should see it.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How many idle keep-alive connections to one host the pool keeps (16 by default,
    /// see [`DEFAULT_MAX_IDLE_CONNECTIONS_PER_HOST`]). Set it to the number of threads that
    /// call PayPing at once, so none of them reconnects; 0 closes every connection after
    /// its call.
    ///
    /// ```
    /// use ghesta_blocking::{Client, HttpSettings};
    /// use ghesta_core::{Config, Token};
    ///
    /// // A server with 32 worker threads sharing one client.
    /// let settings = HttpSettings::default()
    ///     .with_max_idle_connections_per_host(32)
    ///     .with_max_idle_connections(64);
    /// assert_eq!(settings.max_idle_connections_per_host(), 32);
    /// let client = Client::builder(Config::new(Token::new("t")?)).http_settings(settings).build();
    /// # let _ = client;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_max_idle_connections_per_host(mut self, connections: usize) -> Self {
        self.max_idle_connections_per_host = connections;
        self
    }

    /// How many idle keep-alive connections the pool keeps in all hosts together (64 by
    /// default, see [`DEFAULT_MAX_IDLE_CONNECTIONS`]); the least recently used goes first.
    #[must_use]
    pub fn with_max_idle_connections(mut self, connections: usize) -> Self {
        self.max_idle_connections = connections;
        self
    }

    /// Also trusts the CA certificates in `pem` (one or more `-----BEGIN CERTIFICATE-----`
    /// blocks), beside the built-in roots: Mozilla's with `rustls`, the system's with
    /// `native-tls`. For a shop behind a proxy that inspects TLS (trust the proxy's CA), or a
    /// sandbox served over HTTPS. Nothing else about certificate checking can be changed:
    /// the server's certificate must still be valid, current and for the URL's host.
    ///
    /// Fails when `pem` holds no certificate, or a block is not valid PEM. May be called more
    /// than once; each call adds. Needs a TLS feature (`rustls`, the default, or
    /// `native-tls`).
    ///
    /// ```
    /// use ghesta_blocking::{Client, HttpSettings};
    /// use ghesta_core::{Config, Token};
    ///
    /// # let proxy_ca_pem = rcgen::generate_simple_self_signed(vec!["proxy".into()])?.cert.pem();
    /// // e.g. std::fs::read("/etc/ssl/shop-proxy-ca.pem")?
    /// let settings = HttpSettings::default().with_root_certificates_pem(proxy_ca_pem)?;
    /// assert_eq!(settings.extra_root_certificates(), 1);
    /// let client = Client::builder(Config::new(Token::new("t")?)).http_settings(settings).build();
    /// # let _ = client;
    ///
    /// assert!(HttpSettings::default().with_root_certificates_pem("not PEM").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    pub fn with_root_certificates_pem(
        mut self,
        pem: impl AsRef<[u8]>,
    ) -> Result<Self, InvalidCertificate> {
        let mut found = 0;
        for item in ureq::tls::parse_pem(pem.as_ref()) {
            let item = item.map_err(|e| InvalidCertificate::new(format_args!("{e}")))?;
            // A key or other block beside the certificates is not ours to trust.
            if let ureq::tls::PemItem::Certificate(cert) = item {
                self.extra_roots.0.push(cert.der().to_vec());
                found += 1;
            }
        }
        if found == 0 {
            return Err(InvalidCertificate::new("it holds no CERTIFICATE block"));
        }
        Ok(self)
    }

    /// How many certificates [`HttpSettings::with_root_certificates_pem`] added.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    pub fn extra_root_certificates(&self) -> usize {
        self.extra_roots.0.len()
    }

    /// The connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The whole-call timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The body cap, in bytes.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// The `User-Agent` header.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The idle connections kept per host.
    pub fn max_idle_connections_per_host(&self) -> usize {
        self.max_idle_connections_per_host
    }

    /// The idle connections kept in all.
    pub fn max_idle_connections(&self) -> usize {
        self.max_idle_connections
    }
}

/// The default transport: one ureq [`Agent`](ureq::Agent), whose keep-alive pool every
/// clone and thread shares.
///
/// It reads error statuses as answers, follows no redirect, applies the timeouts and the
/// body cap of its [`HttpSettings`], and speaks TLS through rustls (feature `rustls`, the
/// default) or the system's library and roots (feature `native-tls`, which wins when both
/// are on). With neither feature, only plain-http URLs (a local sandbox) work.
///
/// ```
/// use ghesta_blocking::{HttpSettings, Transport, UreqTransport};
///
/// let transport = UreqTransport::new(&HttpSettings::default());
/// let shared = transport.clone(); // same pool
/// # let _ = shared;
/// ```
#[derive(Debug, Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
    max_response_bytes: u64,
}

impl UreqTransport {
    /// A transport with `settings`.
    pub fn new(settings: &HttpSettings) -> Self {
        let builder = ureq::Agent::config_builder()
            // PayPing's error bodies carry its codes: read them, do not turn them into errors.
            .http_status_as_error(false)
            // The token must never be sent to another host; a redirect comes back as an
            // answer, which the core reports as an unexpected status.
            .max_redirects(0)
            .timeout_connect(Some(settings.connect_timeout))
            .timeout_global(Some(settings.timeout))
            .user_agent(settings.user_agent.as_str())
            .max_idle_connections_per_host(settings.max_idle_connections_per_host)
            .max_idle_connections(settings.max_idle_connections);
        #[cfg(any(feature = "rustls", feature = "native-tls"))]
        let builder = builder.tls_config(tls_config(&settings.extra_roots.0));
        Self {
            agent: builder.build().new_agent(),
            max_response_bytes: settings.max_response_bytes,
        }
    }
}

/// The TLS stack and the roots it trusts: the built-in ones, plus `extra` when given.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn tls_config(extra: &[Vec<u8>]) -> ureq::tls::TlsConfig {
    use ureq::tls::{Certificate, RootCerts, TlsConfig};
    let builder = TlsConfig::builder();
    #[cfg(feature = "native-tls")]
    let builder = builder.provider(ureq::tls::TlsProvider::NativeTls);
    if extra.is_empty() {
        #[cfg(feature = "native-tls")]
        let builder = builder.root_certs(RootCerts::PlatformVerifier);
        return builder.build();
    }
    // ureq trusts one set: the built-in roots are copied into it beside the extra ones.
    #[cfg(feature = "native-tls")]
    let built_in: Vec<Vec<u8>> = rustls_native_certs::load_native_certs()
        .certs
        .into_iter()
        .map(|c| c.to_vec())
        .collect();
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    let built_in: Vec<Vec<u8>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|c| c.to_vec())
        .collect();
    let roots: Vec<Certificate<'static>> = built_in
        .iter()
        .chain(extra)
        .map(|der| Certificate::from_der(der).to_owned())
        .collect();
    builder.root_certs(RootCerts::from(roots)).build()
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::new(&HttpSettings::default())
    }
}

impl Transport for UreqTransport {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let response = self.agent.run(request)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()?;
        Ok(http::Response::from_parts(parts, bytes))
    }
}

impl From<ureq::Error> for TransportError {
    fn from(e: ureq::Error) -> Self {
        use ureq::Error as U;
        match e {
            U::Timeout(which) => Self::timeout(format_args!("{which:?}")),
            // rustls's failures come inside an io::Error (see `tls_failure`).
            U::Io(io) => tls_failure(&io).unwrap_or_else(|| io.into()),
            U::BodyExceedsLimit(limit) => Self::BodyTooLarge { limit },
            U::ConnectionFailed | U::HostNotFound | U::ConnectProxyFailed(_) => Self::connect(&e),
            U::Protocol(_) | U::LargeResponseHeader(..) => Self::protocol(&e),
            U::Tls(_) | U::TlsRequired => Self::tls(&e),
            #[cfg(feature = "rustls")]
            U::Rustls(r) => Self::tls(rustls_reason(&r)),
            // OpenSSL, Schannel and Security.framework name the certificate problem
            // themselves ("certificate has expired", "hostname mismatch", ...).
            #[cfg(feature = "native-tls")]
            U::NativeTls(_) | U::Der(_) => Self::tls(&e),
            #[cfg(any(feature = "rustls", feature = "native-tls"))]
            U::Pem(_) => Self::tls(&e),
            _ => Self::other(&e),
        }
    }
}

/// The TLS failure an I/O error stands for, if it does.
///
/// ureq's rustls connector drives the handshake with `complete_io`, which hands a rustls
/// error over as `io::Error(InvalidData, rustls::Error)` (an untrusted certificate, a server
/// that does not speak TLS) and a server closing mid-handshake as a bare `UnexpectedEof`.
/// Left to the I/O classification they would read as broken HTTP and a lost connection after
/// the request; the first is a refusal for cause, the second a request never sent (so safe
/// to send again, even a create).
#[cfg_attr(not(feature = "rustls"), allow(unused_variables))]
fn tls_failure(io: &std::io::Error) -> Option<TransportError> {
    #[cfg(feature = "rustls")]
    {
        if let Some(r) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            return Some(TransportError::tls(rustls_reason(r)));
        }
        // Only rustls's handshake makes a bare one: ureq's own disconnects and rustls's
        // after the handshake carry a message.
        if io.kind() == std::io::ErrorKind::UnexpectedEof
            && io.get_ref().is_none()
            && io.to_string() == std::io::Error::from(std::io::ErrorKind::UnexpectedEof).to_string()
        {
            return Some(TransportError::tls_handshake_cut(
                "the server closed the connection during the TLS handshake, before the \
                 request was sent: it may be shedding load, or not serve TLS on this port",
            ));
        }
    }
    None
}

/// rustls's error, with what to check first.
#[cfg(feature = "rustls")]
fn rustls_reason(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    use rustls::Error as R;
    let hint = match e {
        R::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => {
                "the server's certificate is not signed by a trusted root (if a proxy \
                 inspects TLS, trust its CA with HttpSettings::with_root_certificates_pem)"
            }
            C::Expired
            | C::ExpiredContext { .. }
            | C::NotValidYet
            | C::NotValidYetContext { .. } => {
                "the server's certificate has expired or is not valid yet (check the system \
                 clock)"
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is for another host (check the API URL)"
            }
            _ => "the server's certificate was refused",
        },
        R::InvalidMessage(_) | R::InappropriateMessage { .. } => {
            "the server does not speak TLS (a plain-http server on an https URL?)"
        }
        R::AlertReceived(_) => "the server refused the handshake",
        _ => "the TLS handshake failed",
    };
    format!("{hint}: {e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_gets_the_pool_settings() {
        let defaults = UreqTransport::default();
        let config = defaults.agent.config();
        assert_eq!(config.max_idle_connections_per_host(), 16);
        assert_eq!(config.max_idle_connections(), 64);
        assert!(!config.http_status_as_error());
        assert_eq!(config.max_redirects(), 0);

        let settings = HttpSettings::default()
            .with_max_idle_connections_per_host(2)
            .with_max_idle_connections(5);
        let config = UreqTransport::new(&settings).agent.config().clone();
        assert_eq!(config.max_idle_connections_per_host(), 2);
        assert_eq!(config.max_idle_connections(), 5);
    }

    /// The timeouts in force are the agent's: a transport that dropped the configured ones
    /// would pass every test that only waits for a timeout error, just slower.
    #[test]
    fn the_agent_gets_the_timeouts() {
        let timeouts = UreqTransport::default().agent.config().timeouts();
        assert_eq!(timeouts.global, Some(DEFAULT_TIMEOUT));
        assert_eq!(timeouts.connect, Some(DEFAULT_CONNECT_TIMEOUT));

        let settings = HttpSettings::default()
            .with_timeout(Duration::from_millis(1500))
            .with_connect_timeout(Duration::from_millis(250));
        let timeouts = UreqTransport::new(&settings).agent.config().timeouts();
        assert_eq!(timeouts.global, Some(Duration::from_millis(1500)));
        assert_eq!(timeouts.connect, Some(Duration::from_millis(250)));
    }

    /// A given root is trusted beside the built-in ones, not instead of them.
    #[cfg(any(feature = "rustls", feature = "native-tls"))]
    #[test]
    fn a_given_root_joins_the_built_in_ones() {
        use ureq::tls::RootCerts;
        let extra = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        let config = tls_config(std::slice::from_ref(&extra));
        let RootCerts::Specific(roots) = config.root_certs() else {
            panic!("{:?}", config.root_certs());
        };
        assert_eq!(roots.last().map(|c| c.der()), Some(extra.as_slice()));
        #[cfg(not(feature = "native-tls"))]
        assert_eq!(
            roots.len(),
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 1
        );
        // The system's store may be empty on a bare machine; it is copied whole.
        #[cfg(feature = "native-tls")]
        assert_eq!(
            roots.len(),
            rustls_native_certs::load_native_certs().certs.len() + 1
        );

        // With none given, the stack's own roots as before.
        let default = tls_config(&[]);
        #[cfg(not(feature = "native-tls"))]
        assert!(matches!(default.root_certs(), RootCerts::WebPki));
        #[cfg(feature = "native-tls")]
        assert!(matches!(default.root_certs(), RootCerts::PlatformVerifier));
    }
}
