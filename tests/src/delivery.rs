//! Delivering a callback form to the shop, as the buyer's browser would: plain HTTP to a
//! loopback host only.

use std::net::IpAddr;
use std::time::Duration;

use crate::buyer::CallbackForm;
use crate::error::SandboxError;

/// The shop's answer to a delivered callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// HTTP status the shop answered (redirects are not followed).
    pub status: u16,
    /// The body it answered (lossy UTF-8, at most 1 MiB).
    pub body: String,
}

/// Refuses URLs the sandbox will not POST to.
pub(crate) fn check_deliverable(url: &str) -> Result<(), SandboxError> {
    let invalid = |reason: &str| SandboxError::InvalidReturnUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: ureq::http::Uri = url.parse().map_err(|_| invalid("not a valid URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(invalid(
                "https return URLs are not delivered to (the sandbox posts callbacks over plain http); use an http loopback URL",
            ));
        }
        _ => return Err(invalid("only http URLs can be delivered to")),
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(SandboxError::NotLoopback {
            url: url.to_owned(),
        })
    }
}

pub(crate) fn deliver_form(form: &CallbackForm) -> Result<Delivery, SandboxError> {
    let url = &form.return_url;
    check_deliverable(url)?;
    let failed = |e: ureq::Error| SandboxError::Delivery {
        url: url.clone(),
        source: Box::new(e),
    };
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .new_agent();
    let mut answer = agent
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(form.body.as_bytes())
        .map_err(failed)?;
    let status = answer.status().as_u16();
    let bytes = answer
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .map_err(failed)?;
    Ok(Delivery {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}
