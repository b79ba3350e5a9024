//! The SDK over another HTTP client than ureq: minreq, through a closure transport.
//!
//! ```text
//! cargo run -p ghesta-blocking --example other_client
//! ```
//!
//! It starts the PayPing sandbox (`ghesta-sandbox`) on 127.0.0.1, then creates a payment,
//! plays the buyer approving it, verifies it twice (the second answers "already verified")
//! and reads its report; then does the same on PayPing v3 (a reversible payment, verified
//! twice, refunded) and deletes a second v3 payment (`DELETE` with a JSON body). Every
//! request is sent by minreq. It exits 0 only if all of that went as expected.
//!
//! The whole port to another stack is `send_with_minreq`: turn the core's
//! `http::Request<Vec<u8>>` into the stack's request, and its answer back into an
//! `http::Response<Vec<u8>>`, keeping the three rules every transport must keep: error
//! statuses are answers, redirects are not followed, time and size are bounded.

use std::io::Read;
use std::process::ExitCode;

use ghesta_blocking::{Client, TransportError};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, Config, Gateway, HttpRequest, HttpResponse, Mobile,
    NewPayment, ReturnUrl, Token, VerifyOutcome,
};
use ghesta_sandbox::{Options, Sandbox};

/// Seconds a whole request may take.
const TIMEOUT_SECS: u64 = 30;
/// The largest answer read: PayPing's answers are a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;
/// The largest status line and header block read.
const MAX_HEAD: usize = 16 * 1024;

/// Sends one request with minreq.
fn send_with_minreq(request: HttpRequest) -> Result<HttpResponse, TransportError> {
    let (parts, body) = request.into_parts();
    let method = match parts.method.as_str() {
        "GET" => minreq::Method::Get,
        "POST" => minreq::Method::Post,
        "DELETE" => minreq::Method::Delete,
        other => minreq::Method::Custom(other.to_owned()),
    };
    let mut outgoing = minreq::Request::new(method, parts.uri.to_string())
        .with_timeout(TIMEOUT_SECS)
        // The token must not travel to another host: a redirect comes back as an answer.
        .with_follow_redirects(false)
        .with_max_headers_size(MAX_HEAD)
        .with_max_status_line_length(MAX_HEAD)
        .with_body(body);
    for (name, value) in &parts.headers {
        let value = value.to_str().map_err(TransportError::other)?;
        outgoing = outgoing.with_header(name.as_str(), value);
    }

    // send_lazy reads the body as we ask, so the cap is enforced before it is all in memory.
    let answer = outgoing.send_lazy().map_err(minreq_error)?;
    let status = u16::try_from(answer.status_code).map_err(TransportError::protocol)?;
    let mut response = http::Response::builder().status(status);
    for (name, value) in &answer.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    let mut body = Vec::new();
    // 204 and 304 have no body by definition, and minreq's lazy reader does not know it: it
    // would wait for the server to close a keep-alive connection (v3's delete answers 204).
    if !matches!(status, 204 | 304) {
        let limit = u64::try_from(MAX_BODY + 1).unwrap_or(u64::MAX);
        Read::take(answer, limit)
            .read_to_end(&mut body)
            .map_err(TransportError::from)?;
    }
    if body.len() > MAX_BODY {
        return Err(TransportError::BodyTooLarge {
            limit: MAX_BODY as u64,
        });
    }
    Ok(response.body(body)?)
}

/// minreq's errors, sorted into the kinds the retry policy knows.
fn minreq_error(e: minreq::Error) -> TransportError {
    match e {
        minreq::Error::IoError(io) => io.into(),
        minreq::Error::AddressNotFound => TransportError::connect(e),
        minreq::Error::HeadersOverflow
        | minreq::Error::StatusLineOverflow
        | minreq::Error::MalformedChunkLength
        | minreq::Error::MalformedChunkEnd
        | minreq::Error::MalformedContentLength
        | minreq::Error::InvalidUtf8InResponse => TransportError::protocol(e),
        other => TransportError::other(other),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("other_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::start(Options::default())?;
    println!("sandbox at {}", sandbox.base_url());
    let config = Config::new(Token::new(sandbox.token())?)
        .with_api_url(BaseUrl::api(sandbox.base_url())?)
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url())?);

    // The same client, retries and all; only the transport is minreq's.
    let client = Client::builder(config.clone())
        .transport(send_with_minreq)
        .build();

    let pending = client.create(order("order-1")?)?;
    println!("created {} -> {}", pending.code(), pending.redirect_url());

    // The buyer approves on Ghesta's page; the sandbox hands us the form it would post.
    let form = sandbox.approve(pending.code().as_str())?;
    let Callback::Completed(callback) = Callback::from_form(form.body.as_bytes())? else {
        return Err("the approved payment came back cancelled".into());
    };

    match client.verify(&pending, &callback)? {
        VerifyOutcome::Verified(paid) => println!(
            "verified {} Toman, card {}",
            paid.amount().toman(),
            paid.card_number().map_or("?", |c| c.as_str())
        ),
        VerifyOutcome::AlreadyVerified(_) => return Err("first verify said already".into()),
    }
    // A replayed callback: PayPing answers 15; v2's verify names no payment, so the client
    // binds it through the report of the record's code, as it did the first time.
    match client.verify(&pending, &callback)? {
        VerifyOutcome::AlreadyVerified(_) => println!("second verify: already verified"),
        VerifyOutcome::Verified(_) => return Err("second verify verified again".into()),
    }
    let report = client.report(pending.code())?;
    if !report.confirms(&pending) {
        return Err("the report does not confirm the payment".into());
    }
    println!(
        "report: paid {} at {}",
        report.is_paid(),
        report.paid_at().unwrap_or("?")
    );

    // PayPing v3 through the same transport: JSON bodies on POST and DELETE, 204, 409.
    let v3 = Client::builder(config.with_gateway(Gateway::PayPingV3))
        .transport(send_with_minreq)
        .build();
    let pending = v3.create(order("order-2")?.with_reversible(true))?;
    println!(
        "created on v3 {} -> {}",
        pending.code(),
        pending.redirect_url()
    );
    let form = sandbox.approve(pending.code().as_str())?;
    let Callback::Completed(callback) = Callback::from_form(form.body.as_bytes())? else {
        return Err("the approved v3 payment came back cancelled".into());
    };
    let verified_at = std::time::SystemTime::now();
    match v3.verify(&pending, &callback)? {
        VerifyOutcome::Verified(paid) => println!(
            "verified on v3: {} Toman, paid at {}",
            paid.amount().toman(),
            paid.paid_at().unwrap_or("?")
        ),
        VerifyOutcome::AlreadyVerified(_) => return Err("first v3 verify said already".into()),
    }
    // v3 answers 409 with code 110 and the earlier result, which names the payment.
    match v3.verify(&pending, &callback)? {
        VerifyOutcome::AlreadyVerified(earlier) => println!(
            "second v3 verify: already verified (card {})",
            earlier.card_number().map_or("?", |c| c.as_str())
        ),
        VerifyOutcome::Verified(_) => return Err("second v3 verify verified again".into()),
    }
    let refunded = v3.refund(&pending, callback.ref_id(), verified_at)?;
    println!("refunded {}", refunded.code());
    let unpaid = v3.create(order("order-3")?)?;
    let deleted = v3.cancel(&unpaid)?;
    println!(
        "deleted {} before the buyer reached the gateway",
        deleted.code()
    );
    Ok(())
}

/// An order of 250,000 Toman for the sandbox.
fn order(id: &str) -> Result<NewPayment, ghesta_core::InvalidInput> {
    Ok(NewPayment::new(
        Amount::from_toman(250_000)?,
        ReturnUrl::new("http://127.0.0.1:9/ghesta/callback")?,
        ClientRefId::new(id)?,
        Mobile::new("09123456789")?,
    ))
}
