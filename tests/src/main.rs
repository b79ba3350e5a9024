//! `ghesta-sandbox`: run the PayPing/Ghesta emulator as a program.
//!
//! Prints `listening on http://ADDR` as its first line, then serves until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ghesta_sandbox::{DEFAULT_TOKEN, Options, Sandbox};

const HELP: &str = "\
ghesta-sandbox: a stateful PayPing/Ghesta emulator for development and tests

USAGE:
    ghesta-sandbox [--listen ADDR] [--token TOKEN] [--verify-window-secs N] [--allow-remote]

OPTIONS:
    --listen ADDR             address to listen on (default 127.0.0.1:0, a free port)
    --token TOKEN             the API token shops must send as `Authorization: Bearer TOKEN`
                              (default sandbox-token)
    --verify-window-secs N    seconds after payment during which verify succeeds (default 600)
    --allow-remote            allow listening on a non-loopback address
    -h, --help                print this help

The first line printed is `listening on http://ADDR`. API and gateway pages are served there;
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
    window: Option<Duration>,
    allow_remote: bool,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut out = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        token: DEFAULT_TOKEN.to_owned(),
        window: None,
        allow_remote: false,
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
            "--verify-window-secs" => {
                let v = value("a number of seconds")?;
                let secs: u64 = v
                    .parse()
                    .map_err(|_| format!("--verify-window-secs: {v:?} is not a number"))?;
                out.window = Some(Duration::from_secs(secs));
            }
            "--allow-remote" => out.allow_remote = true,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Some(out))
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
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        eprintln!(
            "ghesta-sandbox: refusing to listen on non-loopback address {}: anyone who can reach \
             it could use the sandbox; pass --allow-remote if you mean it",
            args.listen
        );
        return ExitCode::from(2);
    }
    let mut options = Options::default().token(args.token).listen(args.listen);
    if let Some(w) = args.window {
        options = options.verify_window(w);
    }
    let sandbox = match Sandbox::start(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ghesta-sandbox: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{}", sandbox.local_addr());
    let _ = out.flush();
    drop(out);
    loop {
        std::thread::park();
    }
}
