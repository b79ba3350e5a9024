//! `ghesta-sandbox`: run the PayPing/Ghesta emulator as a program.
//!
//! Prints `listening on http://ADDR` (`https://` with `--tls`) as its first line, then serves
//! until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ghesta_sandbox::{DEFAULT_TOKEN, KeyCase, Options, Sandbox, Tls};

const HELP: &str = "\
ghesta-sandbox: a stateful PayPing/Ghesta emulator for development and tests

USAGE:
    ghesta-sandbox [--listen ADDR] [--token TOKEN] [--extra-token TOKEN]...
                   [--verify-window-secs N] [--already-verified-keys pascal|camel]
                   [--no-report-v3-codes] [--allow-remote]
                   [--tls [--ca-out PATH] | --tls-cert FILE --tls-key FILE]
                   [--log FILTER]

OPTIONS:
    --listen ADDR             address to listen on (default 127.0.0.1:0, a free port)
    --token TOKEN             the API token shops must send as `Authorization: Bearer TOKEN`
                              (default sandbox-token)
    --extra-token TOKEN       another valid token, as of another merchant (repeatable); each
                              merchant sees only the payments it created
    --verify-window-secs N    seconds after payment during which verify succeeds (default 600)
    --already-verified-keys pascal|camel
                              the keys of the earlier result in v3's 409/110: PascalCase as
                              PayPing's doc example (default), or camelCase as its schema
    --no-report-v3-codes      GET /v1/report/{code} answers 404 for payments made on v3
    --allow-remote            allow listening on a non-loopback address
    --tls                     serve HTTPS with a certificate made at start for localhost,
                              127.0.0.1 and the listening address, signed by a new CA
    --ca-out PATH             with --tls: write that CA's certificate (PEM) to PATH, for
                              clients to trust
    --tls-cert FILE           serve HTTPS with this PEM certificate chain (leaf first) ...
    --tls-key FILE            ... and this PEM private key
    --log FILTER              log to stderr what is received and answered (method, path,
                              status, latency; never a header or body): `info` for one
                              line per request, `debug` adds injected faults; any
                              RUST_LOG-style filter (default RUST_LOG, else warnings only)
    -h, --help                print this help

The first line printed is `listening on http://ADDR` (https with TLS). API and gateway pages are served there;
test controls live under /__sandbox/ (see the crate documentation).

ROUTES:
    PayPing v2                            PayPing v3
    POST   /v2/pay                        POST   /v3/pay
    POST   /v2/pay/verify                 POST   /v3/pay/verify
    DELETE /v2/pay/{code}                 DELETE /v3/pay  {\"paymentCode\"}
                                          POST   /v3/pay/reverse
    GET    /v2/pay/gotoipg/{code}         GET    /v3/pay/start/{paymentCode}
    GET    /installment/{code}?type=ghesta (Ghesta's page, v2)
    GET    /v1/report/{code}              (both: refId, paymentStatus 0..5)";

struct Args {
    listen: SocketAddr,
    token: String,
    extra_tokens: Vec<String>,
    window: Option<Duration>,
    already_verified_keys: KeyCase,
    report_v3_codes: bool,
    allow_remote: bool,
    tls: bool,
    ca_out: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    log: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut out = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        token: DEFAULT_TOKEN.to_owned(),
        extra_tokens: Vec::new(),
        window: None,
        already_verified_keys: KeyCase::Pascal,
        report_v3_codes: true,
        allow_remote: false,
        tls: false,
        ca_out: None,
        tls_cert: None,
        tls_key: None,
        log: None,
    };
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs {what}"))
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--listen" => {
                let v = value("an address like 127.0.0.1:8080")?;
                out.listen = v.parse().map_err(|_| {
                    format!("--listen: {v:?} is not an address like 127.0.0.1:8080")
                })?;
            }
            "--token" => {
                out.token = value("a token")?;
                if out.token.trim().is_empty() {
                    return Err("--token must not be empty".into());
                }
            }
            "--extra-token" => {
                let token = value("a token")?;
                if token.trim().is_empty() {
                    return Err("--extra-token must not be empty".into());
                }
                out.extra_tokens.push(token);
            }
            "--already-verified-keys" => {
                out.already_verified_keys = match value("pascal or camel")?.as_str() {
                    "pascal" => KeyCase::Pascal,
                    "camel" => KeyCase::Camel,
                    other => {
                        return Err(format!(
                            "--already-verified-keys: {other:?} is neither pascal nor camel"
                        ));
                    }
                };
            }
            "--no-report-v3-codes" => out.report_v3_codes = false,
            "--verify-window-secs" => {
                let v = value("a number of seconds")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--verify-window-secs: {v:?} is not a number"))?;
                out.window = Some(Duration::from_secs(secs));
            }
            "--allow-remote" => out.allow_remote = true,
            "--tls" => out.tls = true,
            "--ca-out" => out.ca_out = Some(value("a file path")?.into()),
            "--tls-cert" => out.tls_cert = Some(value("a PEM file")?.into()),
            "--tls-key" => out.tls_key = Some(value("a PEM file")?.into()),
            "--log" => out.log = Some(value("a filter like info")?),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    match (&out.tls_cert, &out.tls_key) {
        (Some(_), None) | (None, Some(_)) => {
            return Err("--tls-cert and --tls-key go together".into());
        }
        (Some(_), Some(_)) if out.tls || out.ca_out.is_some() => {
            return Err(
                "--tls-cert/--tls-key serve your certificate (you know its CA); \
                 --tls and --ca-out are for one made at start"
                    .into(),
            );
        }
        _ => {}
    }
    if out.ca_out.is_some() && !out.tls {
        return Err("--ca-out needs --tls".into());
    }
    Ok(Some(out))
}

/// The certificate to serve, from the arguments.
fn tls(args: &Args) -> Result<Option<Tls>, String> {
    if args.tls {
        return Ok(Some(Tls::Generated));
    }
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
    };
    Ok(Some(Tls::Given {
        chain_pem: read(cert)?,
        key_pem: read(key)?,
    }))
}

/// The request log on stderr (stdout's first line is the address callers wait for): `--log`,
/// else `RUST_LOG`, else warnings only, so that a caller reading only stdout never fills
/// a stderr pipe.
fn init_log(filter: Option<&str>) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("--log {f:?}: {e}"))?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init()
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ghesta-sandbox: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = init_log(args.log.as_deref()) {
        eprintln!("ghesta-sandbox: {e}");
        return ExitCode::from(2);
    }
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        eprintln!(
            "ghesta-sandbox: refusing to listen on non-loopback address {}: anyone who can reach \
             it could use the sandbox; pass --allow-remote if you mean it",
            args.listen
        );
        return ExitCode::from(2);
    }
    let mut options = Options::default()
        .token(args.token.clone())
        .listen(args.listen)
        .already_verified_keys(args.already_verified_keys)
        .report_v3_codes(args.report_v3_codes);
    for token in &args.extra_tokens {
        options = options.extra_token(token.clone());
    }
    if let Some(w) = args.window {
        options = options.verify_window(w);
    }
    match tls(&args) {
        Ok(Some(tls)) => options = options.tls(tls),
        Ok(None) => {}
        Err(e) => {
            eprintln!("ghesta-sandbox: {e}");
            return ExitCode::FAILURE;
        }
    }
    let sandbox = match Sandbox::start(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ghesta-sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(path), Some(ca)) = (&args.ca_out, sandbox.ca_certificate_pem()) {
        // Written before the first line, so a caller that waits for it finds the file.
        if let Err(e) = std::fs::write(path, ca) {
            eprintln!("ghesta-sandbox: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let scheme = if args.tls || args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{}", sandbox.local_addr());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
