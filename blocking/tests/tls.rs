//! TLS failures are typed as TLS, whichever stack is built (`rustls`, or `native-tls`:
//! `cargo test -p ghesta-blocking --no-default-features --features native-tls --test tls`),
//! and the client trusts a root given as PEM beside the built-in ones.
//!
//! The servers are the sandbox over HTTPS on 127.0.0.1, serving certificates made here with
//! rcgen, and a raw listener that cuts each handshake short.

use std::io::Read;
use std::net::TcpListener;
use std::time::Duration;

use ghesta_blocking::{Client, Error, HttpSettings, RetryPolicy, TransportError};
use ghesta_core::{BaseUrl, Config, PayPingCode, PaymentCode, Token};
use ghesta_sandbox::{Options, Sandbox, Tls};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};

/// A CA of the test's own, and what it signs.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ghesta-blocking test CA");
        TestCa {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `names`, signed by this CA: in date, or expired since
    /// 2001.
    fn sign(&self, names: &[&str], expired: bool) -> Tls {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.use_authority_key_identifier_extension = true;
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        if expired {
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Tls::Given {
            chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

fn sandbox(tls: Tls) -> Sandbox {
    Sandbox::start(Options::default().tls(tls)).expect("sandbox starts")
}

/// A client for `base` that trusts `root_pem` (if any) and tries once.
fn client(base: &str, root_pem: Option<&str>) -> Client {
    let mut settings = HttpSettings::default().with_timeout(Duration::from_secs(10));
    if let Some(pem) = root_pem {
        settings = settings.with_root_certificates_pem(pem).unwrap();
    }
    let config =
        Config::new(Token::new("sandbox-token").unwrap()).with_api_url(BaseUrl::api(base).unwrap());
    Client::builder(config)
        .http_settings(settings)
        .retry_policy(RetryPolicy::never())
        .build()
}

/// What a report call ends in.
fn report(client: &Client) -> Result<(), Error> {
    client
        .report(&PaymentCode::new("82a4f72").unwrap())
        .map(|_| ())
}

/// The TLS error's detail, or a panic naming what came instead.
fn tls_detail(result: Result<(), Error>) -> String {
    match result {
        Err(Error::Transport(TransportError::Tls { detail })) => {
            // Shown with --nocapture: what a shop would read.
            eprintln!("TLS: {detail}");
            detail
        }
        other => panic!("expected TransportError::Tls, got {other:?}"),
    }
}

/// Whether the rustls stack is the one in use (`native-tls` wins when both are on).
const RUSTLS: bool = cfg!(all(feature = "rustls", not(feature = "native-tls")));

/// The lower-cased `detail` holds one of `needles`.
fn names(detail: &str, needles: &[&str]) -> bool {
    let detail = detail.to_lowercase();
    needles.iter().any(|n| detail.contains(n))
}

#[test]
fn a_trusted_root_given_as_pem_is_trusted() {
    let sb = sandbox(Tls::Generated);
    let client = client(sb.base_url(), sb.ca_certificate_pem());
    // PayPing's "no such payment code" for an unknown code: the call went through.
    let err = report(&client).unwrap_err();
    assert_eq!(
        err.code(),
        Some(PayPingCode::PaymentCodeNotFound),
        "{err:?}"
    );
    assert_eq!(sb.tls_handshakes(), 1);
}

#[test]
fn an_unknown_issuer_is_tls_and_never_retried() {
    let sb = sandbox(Tls::Generated);
    // The built-in roots, and another CA: neither signed the sandbox's certificate.
    let other = TestCa::new();
    let client = Client::builder(
        Config::new(Token::new("sandbox-token").unwrap())
            .with_api_url(BaseUrl::api(sb.base_url()).unwrap()),
    )
    .http_settings(
        HttpSettings::default()
            .with_root_certificates_pem(other.pem())
            .unwrap(),
    )
    .retry_policy(RetryPolicy::default().with_backoff(Duration::ZERO, Duration::ZERO))
    .build();
    let result = report(&client);
    let retryable = result.as_ref().is_err_and(Error::is_retryable);
    let detail = tls_detail(result);
    assert!(!retryable);
    assert_eq!(
        sb.connections_accepted(),
        1,
        "a report is retried, a TLS failure is not"
    );
    assert_eq!(sb.tls_handshakes(), 0);
    let expected: &[&str] = if RUSTLS {
        &["not signed by a trusted root"]
    } else {
        &["issuer", "self-signed", "self signed", "untrusted"]
    };
    assert!(names(&detail, expected), "{detail}");
}

#[test]
fn without_the_root_the_built_in_ones_do_not_trust_the_sandbox() {
    let sb = sandbox(Tls::Generated);
    let detail = tls_detail(report(&client(sb.base_url(), None)));
    assert!(
        names(
            &detail,
            &["issuer", "trusted root", "self-signed", "self signed"]
        ),
        "{detail}"
    );
}

#[test]
fn an_expired_certificate_is_tls() {
    let ca = TestCa::new();
    let sb = sandbox(ca.sign(&["127.0.0.1"], true));
    let detail = tls_detail(report(&client(sb.base_url(), Some(&ca.pem()))));
    let expected: &[&str] = if RUSTLS {
        &["has expired or is not valid yet"]
    } else {
        &["expired"]
    };
    assert!(names(&detail, expected), "{detail}");
}

#[test]
fn a_certificate_for_another_host_is_tls() {
    let ca = TestCa::new();
    let sb = sandbox(ca.sign(&["api.payping.ir"], false));
    let detail = tls_detail(report(&client(sb.base_url(), Some(&ca.pem()))));
    let expected: &[&str] = if RUSTLS {
        &["for another host"]
    } else {
        &["mismatch", "not valid for", "hostname", "ip address"]
    };
    assert!(names(&detail, expected), "{detail}");
}

#[test]
fn a_certificate_valid_for_the_host_is_accepted() {
    // The same CA and dates as the failures above, with the right name and in date: only
    // what each test changes makes it fail.
    let ca = TestCa::new();
    let sb = sandbox(ca.sign(&["127.0.0.1"], false));
    let err = report(&client(sb.base_url(), Some(&ca.pem()))).unwrap_err();
    assert_eq!(
        err.code(),
        Some(PayPingCode::PaymentCodeNotFound),
        "{err:?}"
    );
}

#[test]
fn a_plain_http_server_on_an_https_url_is_tls() {
    let sb = Sandbox::start(Options::default()).unwrap();
    let https = sb.base_url().replace("http://", "https://");
    let detail = tls_detail(report(&client(&https, None)));
    let expected: &[&str] = if RUSTLS {
        &["does not speak tls"]
    } else {
        &["wrong version", "packet length", "record", "ssl"]
    };
    assert!(names(&detail, expected), "{detail}");
}

/// A listener that reads each client's hello, then closes without a word, until the test
/// is done; the number of handshakes it cut.
struct CutsHandshakes {
    addr: std::net::SocketAddr,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    server: std::thread::JoinHandle<usize>,
}

impl CutsHandshakes {
    fn start() -> CutsHandshakes {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = done.clone();
        let server = std::thread::spawn(move || {
            let mut cut = 0;
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return cut;
                }
                let mut stream = stream.unwrap();
                // The 5-byte record header says how long the hello is; read all of it, so
                // the close is a clean end of file, not a reset for unread bytes.
                let mut header = [0u8; 5];
                stream.read_exact(&mut header).unwrap();
                let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
                let mut hello = vec![0u8; len];
                stream.read_exact(&mut hello).unwrap();
                cut += 1;
            }
            cut
        });
        CutsHandshakes { addr, done, server }
    }

    /// Stops the listener (one last connection wakes it): how many handshakes it cut.
    fn stop(self) -> usize {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        drop(std::net::TcpStream::connect(self.addr));
        self.server.join().unwrap()
    }
}

#[test]
fn a_handshake_cut_short_is_typed_and_was_not_sent() {
    let server = CutsHandshakes::start();
    let result = report(&client(&format!("https://{}", server.addr), None));
    assert_eq!(server.stop(), 1, "RetryPolicy::never: one try");
    let detail = match result {
        Err(Error::Transport(TransportError::TlsHandshakeCut { detail })) if RUSTLS => detail,
        // The system's TLS library does not tell a cut handshake apart: a TLS failure.
        Err(Error::Transport(TransportError::Tls { detail })) if !RUSTLS => detail,
        other => panic!("expected the handshake cut short, got {other:?}"),
    };
    eprintln!("TLS: {detail}");
    let expected: &[&str] = if RUSTLS {
        &["closed the connection during the tls handshake"]
    } else {
        &["eof", "closed", "handshake"]
    };
    assert!(names(&detail, expected), "{detail}");
}

/// Nothing was sent, so the request goes again: even a create, which is never repeated once
/// it may have reached PayPing.
#[cfg(all(feature = "rustls", not(feature = "native-tls")))]
#[test]
fn a_handshake_cut_short_is_retried_even_for_create() {
    let server = CutsHandshakes::start();
    let config = Config::new(Token::new("sandbox-token").unwrap())
        .with_api_url(BaseUrl::api(&format!("https://{}", server.addr)).unwrap());
    let client = Client::builder(config)
        .http_settings(HttpSettings::default().with_timeout(Duration::from_secs(10)))
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(3)
                .with_backoff(Duration::ZERO, Duration::ZERO),
        )
        .build();
    let order = ghesta_core::NewPayment::new(
        ghesta_core::Amount::from_toman(1_000).unwrap(),
        ghesta_core::ReturnUrl::new("https://shop.example/cb").unwrap(),
        ghesta_core::ClientRefId::new("order-1").unwrap(),
        ghesta_core::Mobile::new("09123456789").unwrap(),
    );
    let err = client.create(order).unwrap_err();
    assert_eq!(server.stop(), 3, "three attempts, each cut short");
    assert!(
        matches!(
            err.as_transport(),
            Some(TransportError::TlsHandshakeCut { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_pem_without_a_certificate_is_refused() {
    let key = KeyPair::generate().unwrap().serialize_pem();
    for pem in ["", "not PEM at all", key.as_str()] {
        let err = HttpSettings::default()
            .with_root_certificates_pem(pem)
            .unwrap_err();
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
    }
}
