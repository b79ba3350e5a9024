//! Step 4 for an async shop: the core's [`Settlement`] driven over the same transport and the
//! same retry loop. The core decides when the order is paid (PayPing's proof of this
//! record's payment: v3's verify names it; v2's is bound by the report of its code), when it
//! is released (PayPing's word, never a callback), and when to ask again; this loop only
//! sends what it names.

use std::time::SystemTime;

use ghesta_core::{Callback, Config, Next, Pending, RetryPolicy, Settlement, Verdict, Waiting};
use tracing::Instrument;

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
    let verdict = run(port, settlement, policy)
        // The exchanges' spans nest in the settlement's, across awaits.
        .instrument(trace::span(pending))
        .await;
    trace::span(pending).in_scope(|| trace::verdict(&verdict));
    Ok(verdict)
}

async fn run(port: &impl Port, mut settlement: Settlement, policy: &RetryPolicy) -> Verdict {
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
            Next::Done(verdict) => return verdict,
            // A step this version does not know: nothing is proven; settle again later.
            _ => return Verdict::Wait(Waiting::NotProven),
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

/// The settlement's span and verdict, with `ghesta-blocking`'s names and levels: info to
/// ship, release or wait; warn for a payment after a release and for what needs a person.
mod trace {
    use ghesta_core::{Attention, Pending, Proof, Protocol, Verdict, Waiting};
    use tracing::{Span, info, warn};

    pub(super) fn span(pending: &Pending) -> Span {
        tracing::info_span!(
            "payping.settle",
            payping.payment_code = pending.code().as_str(),
            payping.client_ref_id = pending.client_ref_id().as_str(),
            payping.protocol = match pending.protocol() {
                Protocol::V2 => "v2",
                _ => "v3",
            },
            payping.gateway = pending.gateway().as_str(),
        )
    }

    pub(super) fn verdict(verdict: &Verdict) {
        let proof = |proof: Proof| match proof {
            Proof::VerifyNamedPayment => "verify_named_payment",
            Proof::ReportBound => "report_bound",
            Proof::ReportVerified => "report_verified",
            _ => "other",
        };
        match verdict {
            Verdict::Ship(paid) => info!(
                payping.verdict = "ship",
                payping.proof = proof(paid.proof()),
                payping.ref_id = paid.ref_id().map(|r| r.as_str()),
                payping.verified_now = paid.verified_now(),
                "settled: ship the order",
            ),
            Verdict::Release(release) => info!(
                payping.verdict = "release",
                payping.payment_status = release.status().number(),
                "settled: release the order",
            ),
            Verdict::Wait(waiting) => info!(
                payping.verdict = "wait",
                payping.waiting = match waiting {
                    Waiting::StillOpen(_) => "still_open",
                    Waiting::VerifyFailed(_) => "verify_failed",
                    Waiting::ReportFailed(_) => "report_failed",
                    Waiting::NotProven => "not_proven",
                    _ => "other",
                },
                "not settled yet: settle again later",
            ),
            Verdict::NeedsAttention(attention) => warn!(
                payping.verdict = "needs_attention",
                payping.attention = match attention {
                    Attention::Contradiction(_) => "contradiction",
                    Attention::Unconfirmable(_) => "unconfirmable",
                    Attention::StillFailing(_) => "still_failing",
                    _ => "other",
                },
                payping.error_code = attention.error().code().map(|c| c.number()),
                "needs a person: look at the payment in PayPing's panel",
            ),
            Verdict::PaidAfterRelease(_) | Verdict::PaidTwice(_) => warn!(
                payping.verdict = "paid_again",
                "paid after the order was released or paid: refund, or ship after all",
            ),
            _ => info!(payping.verdict = "other", "settled"),
        }
    }
}
