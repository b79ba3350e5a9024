//! Step 4 for an async shop: the core's [`Settlement`] driven over the same transport and the
//! same retry loop. The core decides when the order is paid (PayPing's proof of this
//! record's payment: v3's verify names it; v2's is bound by the report of its code), when it
//! is released (PayPing's word, never a callback), and when to ask again; this loop only
//! sends what it names.

use std::time::SystemTime;

use ghesta_core::{Callback, Config, Next, Pending, RetryPolicy, Settlement, Verdict, Waiting};

use crate::shop::{Port, ShopError, exchange};

/// Settles `pending` from its buyer's `callback` (received at `received_at`), or from
/// PayPing's report alone when `callback` is `None` (the sweeper's case). The only error is a
/// callback that does not belong to the record: forged or misrouted, nothing was sent.
pub(crate) async fn settle(
    port: &impl Port,
    config: &Config,
    pending: &Pending,
    callback: Option<(&Callback, SystemTime)>,
    policy: &RetryPolicy,
) -> Result<Verdict, ghesta_core::Error> {
    let mut settlement = Settlement::new(config, pending);
    if let Some((callback, received_at)) = callback {
        settlement = settlement.with_callback(callback, received_at)?;
    }
    loop {
        match settlement.next(port.now()) {
            Next::Verify {
                exchange: verify,
                deadline,
            } => {
                let answer = exchange(port, &verify, policy, Some(deadline)).await;
                settlement.verify_answered(&verify, answer.map_err(into_core));
            }
            Next::Report(report) => {
                let answer = exchange(port, &report, policy, None).await;
                settlement.report_answered(answer.map_err(into_core));
            }
            Next::Done(verdict) => return Ok(verdict),
            // A step this version does not know: nothing is proven; settle again later.
            _ => return Ok(Verdict::Wait(Waiting::NotProven)),
        }
    }
}

/// The failure as the core names it: a request that got no answer is `NoAnswer`.
fn into_core(error: ShopError) -> ghesta_core::Error {
    match error {
        ShopError::Send(e) => ghesta_core::Error::no_answer(e),
        ShopError::Core(e) => e,
    }
}
