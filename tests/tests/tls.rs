//! The sandbox over HTTPS: a certificate made at start and its CA, one given as PEM, the
//! handshake count, and the binary's `--tls` and `--ca-out`.

use std::io::{BufRead, BufReader};

use ghesta_sandbox::{Fault, Options, Route, Sandbox, Times, Tls};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// An agent that trusts only `ca_pem`, reads error statuses as answers, and keeps its
/// connections alive.
fn agent_trusting(ca_pem: &str) -> ureq::Agent {
    let ca = Certificate::from_pem(ca_pem.as_bytes()).expect("a PEM certificate");
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::new_with_certs(&[ca]))
                .build(),
        )
        .build()
        .new_agent()
}

fn create(agent: &ureq::Agent, base: &str, token: &str) -> Result<u16, ureq::Error> {
    let answer = agent
        .post(&format!("{base}/v2/pay"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(r#"{"amount":10000,"returnUrl":"http://127.0.0.1:9/back"}"#)?;
    let status = answer.status().as_u16();
    answer.into_body().read_to_string()?;
    Ok(status)
}

#[test]
fn a_generated_certificate_is_served_and_its_ca_verifies_it() {
    let sandbox = Sandbox::start(Options::default().tls(Tls::Generated)).unwrap();
    let base = sandbox.base_url();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let agent = agent_trusting(sandbox.ca_certificate_pem().unwrap());
    for _ in 0..3 {
        assert_eq!(create(&agent, base, sandbox.token()).unwrap(), 200);
    }
    // Three calls on one kept-alive connection: one TCP connection, one handshake.
    assert_eq!(sandbox.connections_accepted(), 1);
    assert_eq!(sandbox.tls_handshakes(), 1);
    assert_eq!(sandbox.requests_seen().create, 3);

    // `localhost` is in the certificate too.
    let by_name = base.replace("127.0.0.1", "localhost");
    assert_eq!(create(&agent, &by_name, sandbox.token()).unwrap(), 200);
    assert_eq!(sandbox.tls_handshakes(), 2);
}

#[test]
fn plain_http_is_the_default_and_counts_no_handshake() {
    let sandbox = Sandbox::start(Options::default()).unwrap();
    assert!(sandbox.base_url().starts_with("http://"));
    assert_eq!(sandbox.ca_certificate_pem(), None);
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    assert_eq!(
        create(&agent, sandbox.base_url(), sandbox.token()).unwrap(),
        200
    );
    assert_eq!(sandbox.connections_accepted(), 1);
    assert_eq!(sandbox.tls_handshakes(), 0);
}

#[test]
fn a_client_that_does_not_trust_the_certificate_completes_no_handshake() {
    let sandbox = Sandbox::start(Options::default().tls(Tls::Generated)).unwrap();
    let other = Sandbox::start(Options::default().tls(Tls::Generated)).unwrap();
    // Another sandbox's CA: a different key, so the certificate is not trusted.
    let agent = agent_trusting(other.ca_certificate_pem().unwrap());
    assert!(create(&agent, sandbox.base_url(), sandbox.token()).is_err());
    assert_eq!(sandbox.connections_accepted(), 1);
    assert_eq!(sandbox.tls_handshakes(), 0);
    assert_eq!(sandbox.requests_seen().create, 0);
}

#[test]
fn a_given_certificate_is_served() {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let tls = Tls::Given {
        chain_pem: leaf.pem(),
        key_pem: key.serialize_pem(),
    };
    let sandbox = Sandbox::start(Options::default().tls(tls)).unwrap();
    assert_eq!(sandbox.ca_certificate_pem(), None);
    let agent = agent_trusting(&ca.pem());
    assert_eq!(
        create(&agent, sandbox.base_url(), sandbox.token()).unwrap(),
        200
    );

    let unusable = Tls::Given {
        chain_pem: "not a certificate".into(),
        key_pem: key.serialize_pem(),
    };
    let err = Sandbox::start(Options::default().tls(unusable)).unwrap_err();
    assert!(err.to_string().contains("HTTPS"), "{err}");
}

#[test]
fn a_fault_that_cuts_the_answer_cuts_it_inside_tls() {
    let sandbox = Sandbox::start(Options::default().tls(Tls::Generated)).unwrap();
    let agent = agent_trusting(sandbox.ca_certificate_pem().unwrap());
    sandbox.inject(Route::Create, Fault::TruncatedBody, Times::Once);
    let err = create(&agent, sandbox.base_url(), sandbox.token()).unwrap_err();
    // The client read a TLS-protected, cut answer: an I/O error, not a TLS one.
    assert!(matches!(err, ureq::Error::Io(_)), "{err:?}");
    assert_eq!(
        create(&agent, sandbox.base_url(), sandbox.token()).unwrap(),
        200
    );
}

#[test]
fn the_binary_serves_https_and_writes_its_ca() {
    let dir = std::env::temp_dir().join(format!("ghesta-sandbox-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_path = dir.join("ca.pem");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
        .args(["--tls", "--ca-out"])
        .arg(&ca_path)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ca = std::fs::read_to_string(&ca_path);
    let addr = line
        .strip_prefix("listening on https://")
        .map(|a| a.trim_end().to_owned());
    let status = match (&addr, &ca) {
        (Some(addr), Ok(ca)) => create(
            &agent_trusting(ca),
            &format!("https://{addr}"),
            "sandbox-token",
        )
        .ok(),
        _ => None,
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(addr.is_some(), "{line:?}");
    assert!(ca.is_ok(), "{ca:?}");
    assert_eq!(status, Some(200));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ghesta-sandbox"))
        .args(["--ca-out", "x.pem"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ca-out needs --tls"));
}
