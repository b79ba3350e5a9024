//! The whole checkout with ghesta-core alone, on tokio, every request sent by hyper's client.
//!
//! ```text
//! cargo run -p ghesta-sandbox --example async_checkout
//! RUST_LOG=debug cargo run -p ghesta-sandbox --example async_checkout   # with its traces
//! ```
//!
//! It starts the PayPing sandbox on 127.0.0.1 (before the runtime: the sandbox runs its own),
//! then, on a tokio runtime: creates a payment, answers the redirect, opens the payment page,
//! plays the buyer approving, reads the callback form and settles it (verify, and on v2
//! PayPing's report binding the payment); then a second order whose buyer cancels, released
//! on PayPing's word. It exits 0 only if all of that went as expected.
//!
//! What an async shop writes is `shop.rs`: [`shop::send`], the transport (the core's
//! `http::Request<Vec<u8>>` over hyper, bounded in time and size, redirects not followed),
//! and [`shop::exchange`], a retry loop that classes each failure and asks the core's
//! `RetryPolicy::decide` whether and when to send again (the rules `ghesta-blocking`
//! follows), within `Config::verify_deadline`; and `settle.rs`, the same loop over the
//! core's [`Settlement`](ghesta_core::Settlement) decisions. No `ghesta-blocking`, and no
//! blocking call on the runtime.

mod buyer;
mod settle;
// `shop::verify`, `report` and `cancel` are the single steps the end-to-end tests drive
// (tests/tests/async_core.rs); the checkout itself settles through `settle.rs`.
#[allow(dead_code)]
mod shop;

use std::process::ExitCode;
use std::time::SystemTime;

use ghesta_core::http::{StatusCode, header};
use ghesta_core::{
    Amount, BaseUrl, Callback, ClientRefId, Config, Gateway, Mobile, NewPayment, RetryPolicy,
    ReturnUrl, Token, Verdict, VerifyOutcome,
};
use ghesta_sandbox::{Options, Sandbox};

use crate::buyer::Choice;

fn main() -> ExitCode {
    // What shop.rs traces, on stderr: `RUST_LOG=info` for outcomes, `debug` for attempts.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let outcome = Sandbox::start(Options::default())
        .map_err(Into::into)
        .and_then(|sandbox| {
            println!("sandbox at {}", sandbox.base_url());
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(checkout(&sandbox, Gateway::Ghesta))
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_checkout: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn checkout(sandbox: &Sandbox, gateway: Gateway) -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::new(Token::new(sandbox.token())?)
        .with_api_url(BaseUrl::api(sandbox.base_url())?)
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url())?)
        .with_gateway(gateway);
    // The core's retry rules, the same the blocking client follows.
    let policy = RetryPolicy::default();

    // 1. Create, and store the record.
    let pending = shop::create(
        &config,
        NewPayment::new(
            Amount::from_toman(250_000)?,
            ReturnUrl::new("http://127.0.0.1:9/ghesta/callback")?,
            ClientRefId::new("order-1")?,
            Mobile::new("09123456789")?,
        ),
        &policy,
    )
    .await?;
    println!("created {}", pending.code());

    // 2. Redirect the buyer; the browser follows the 303 to the payment page.
    let redirect = shop::redirect(&pending);
    let location = redirect
        .headers()
        .get(header::LOCATION)
        .ok_or("the redirect has no Location")?
        .to_str()?;
    let page = buyer::open(location).await?;
    if redirect.status() != StatusCode::SEE_OTHER || page != StatusCode::OK {
        return Err(format!("redirect {} to a page answering {page}", redirect.status()).into());
    }
    println!("redirected to {location}");

    // 3. The buyer pays; PayPing's form arrives at the return URL.
    let form = buyer::choose(sandbox.base_url(), pending.code().as_str(), Choice::Approve).await?;
    let received_at = SystemTime::now();
    let callback = shop::callback(&form)?;

    // 4. Settle: verify before the deadline (retrying what the core says is worth
    //    retrying), and ship only on PayPing's proof of this record's payment.
    let verdict = settle::settle(
        &shop::Hyper,
        &config,
        &pending,
        Some((&callback, received_at)),
        &policy,
    )
    .await?;
    let Verdict::Ship(paid) = verdict else {
        return Err(format!("the paid order did not ship: {verdict:?}").into());
    };
    match paid.outcome() {
        Some(VerifyOutcome::Verified(verified)) => println!(
            "verified {} Toman, card {}; proven by {:?}: ship",
            verified.amount().toman(),
            verified.card_number().map_or("?", |c| c.as_str()),
            paid.proof()
        ),
        other => return Err(format!("the first verify said {other:?}").into()),
    }

    // Another order, whose buyer gives up: nothing to verify; the shop withdraws the code.
    let pending = shop::create(
        &config,
        NewPayment::new(
            Amount::from_toman(90_000)?,
            ReturnUrl::new("http://127.0.0.1:9/ghesta/callback")?,
            ClientRefId::new("order-2")?,
            Mobile::new("09123456789")?,
        ),
        &policy,
    )
    .await?;
    let form = buyer::choose(sandbox.base_url(), pending.code().as_str(), Choice::Cancel).await?;
    let callback = shop::callback(&form)?;
    if !matches!(callback, Callback::Cancelled(_)) {
        return Err("the cancelled payment came back completed".into());
    }
    // A cancelled form is only a hint (anyone can post one): PayPing's report decides.
    let verdict = settle::settle(
        &shop::Hyper,
        &config,
        &pending,
        Some((&callback, SystemTime::now())),
        &policy,
    )
    .await?;
    let Verdict::Release(released) = verdict else {
        return Err(format!("the cancelled order was not released: {verdict:?}").into());
    };
    println!(
        "order-2: PayPing says {:?}; the order is released",
        released.status()
    );
    Ok(())
}
