//! The buyer, played through the sandbox's control endpoints over the same transport: no
//! browser, and no blocking call on the runtime.

use ghesta_core::http;

use crate::shop::{SendError, send};

/// What the buyer does on the payment page.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Choice {
    /// Pays.
    Approve,
    /// Gives up.
    Cancel,
}

/// Makes the buyer choose on `code`'s page; returns the callback form PayPing would post to
/// the shop's return URL.
pub(crate) async fn choose(
    base_url: &str,
    code: &str,
    choice: Choice,
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let action = match choice {
        Choice::Approve => "approve",
        Choice::Cancel => "cancel",
    };
    let request = http::Request::post(format!("{base_url}/__sandbox/payments/{code}/{action}"))
        .body(Vec::new())?;
    let answer = send(request).await?;
    if answer.status() != http::StatusCode::OK {
        return Err(format!("the sandbox answered {} to {action}", answer.status()).into());
    }
    let answer: serde_json::Value = serde_json::from_slice(answer.body())?;
    let form = answer["body"]
        .as_str()
        .ok_or("the sandbox's answer has no callback form")?;
    Ok(form.as_bytes().to_vec())
}

/// Opens the page the shop redirected to, as the buyer's browser does: it must be served.
pub(crate) async fn open(url: &str) -> Result<http::StatusCode, SendError> {
    let request = http::Request::get(url)
        .body(Vec::new())
        .map_err(|_| SendError::Unsupported(url.to_owned()))?;
    Ok(send(request).await?.status())
}
