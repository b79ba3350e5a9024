//! The test-control endpoints under `/__sandbox/` (no auth, JSON in and out).

use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::answer::Answer;
use crate::buyer::{self, CallbackForm};
use crate::delivery::{self, Delivery};
use crate::error::SandboxError;
use crate::faults::{Fault, FaultRule, Times};
use crate::gateway::failure_code;
use crate::route::Route;
use crate::shared::Shared;
use crate::state::{BuyerAction, PaymentSnapshot, PaymentState};
use crate::util::{lock, rfc3339};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentView<'a> {
    code: &'a str,
    ref_id: Option<&'a str>,
    client_ref_id: Option<&'a str>,
    amount: u32,
    state: &'static str,
    failure_code: Option<u32>,
    verify_count: u32,
    created_at: String,
    paid_at: Option<String>,
    return_url: &'a str,
    payer_identity: Option<&'a str>,
    payer_name: Option<&'a str>,
    description: Option<&'a str>,
    version: &'static str,
    reversible: bool,
    opened: bool,
    verified_at: Option<String>,
}

impl<'a> PaymentView<'a> {
    fn of(p: &'a PaymentSnapshot) -> PaymentView<'a> {
        PaymentView {
            code: &p.code,
            ref_id: p.ref_id.as_deref(),
            client_ref_id: p.client_ref_id.as_deref(),
            amount: p.amount,
            state: p.state.name(),
            failure_code: match p.state {
                PaymentState::Failed { code } => Some(code),
                _ => None,
            },
            verify_count: p.verify_count,
            created_at: rfc3339(p.created_at),
            paid_at: p.paid_at.map(rfc3339),
            return_url: &p.return_url,
            payer_identity: p.payer_identity.as_deref(),
            payer_name: p.payer_name.as_deref(),
            description: p.description.as_deref(),
            version: p.version.name(),
            reversible: p.reversible,
            opened: p.opened,
            verified_at: p.verified_at.map(rfc3339),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FormView<'a> {
    return_url: &'a str,
    fields: &'a [(String, String)],
    body: &'a str,
    delivery: Option<DeliveryView<'a>>,
}

#[derive(Serialize)]
struct DeliveryView<'a> {
    status: u16,
    body: &'a str,
}

/// `POST /__sandbox/faults` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    route: String,
    kind: String,
    status: Option<u16>,
    millis: Option<u64>,
    bytes: Option<usize>,
    times: Option<TimesSpec>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TimesSpec {
    Count(u32),
    Word(String),
}

#[derive(Deserialize)]
struct ActionQuery {
    deliver: Option<String>,
}

#[derive(Deserialize)]
struct AdvanceQuery {
    seconds: Option<String>,
    millis: Option<String>,
}

fn error(status: u16, msg: impl Into<String>) -> Answer {
    #[derive(Serialize)]
    struct E {
        error: String,
    }
    Answer::json(status, &E { error: msg.into() })
}

fn ok() -> Answer {
    #[derive(Serialize)]
    struct Ok {
        ok: bool,
    }
    Answer::json(200, &Ok { ok: true })
}

pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    body: Option<&[u8]>,
) -> Answer {
    let rest = path.trim_start_matches("/__sandbox").trim_matches('/');
    let segs: Vec<&str> = rest.split('/').collect();
    match (method, segs.as_slice()) {
        (&Method::GET, ["payments"]) => payments(shared, query),
        (&Method::GET, ["payments", code]) => {
            let snap = lock(&shared.store).get(code).map(|p| p.snap.clone());
            match snap {
                Some(s) => Answer::json(200, &PaymentView::of(&s)),
                None => error(404, format!("unknown payment code {code:?}")),
            }
        }
        (&Method::POST, ["payments", code, action]) => buyer(shared, code, action, query),
        (&Method::POST, ["clock", "advance"]) => advance(shared, query),
        (&Method::GET, ["clock"]) => now(shared),
        (&Method::GET, ["connections"]) => {
            #[derive(Serialize)]
            struct C {
                accepted: u64,
            }
            Answer::json(
                200,
                &C {
                    accepted: shared.connections.load(Ordering::Relaxed),
                },
            )
        }
        (&Method::GET, ["requests"]) => {
            let counts: serde_json::Map<String, serde_json::Value> = Route::ALL
                .iter()
                .map(|r| {
                    let n = shared.counts[r.index()].load(Ordering::Relaxed);
                    (r.name().to_owned(), serde_json::Value::from(n))
                })
                .collect();
            Answer::json(200, &counts)
        }
        (&Method::POST, ["faults"]) => match parse_fault(body) {
            Ok(rule) => {
                lock(&shared.faults).push(rule);
                ok()
            }
            Err(e) => error(400, e),
        },
        (&Method::DELETE, ["faults"]) => {
            lock(&shared.faults).clear();
            ok()
        }
        (_, ["payments"] | ["payments", _] | ["payments", _, _])
        | (_, ["clock", "advance"] | ["clock"] | ["connections"] | ["requests"] | ["faults"]) => {
            error(405, "method not allowed")
        }
        _ => error(404, format!("no control endpoint {path}")),
    }
}

#[derive(Deserialize)]
struct PaymentsQuery {
    token: Option<String>,
}

/// Every payment, or with `?token=T` those that merchant created.
fn payments(shared: &Shared, query: &str) -> Answer {
    let q: PaymentsQuery = match serde_urlencoded::from_str(query) {
        Ok(q) => q,
        Err(e) => return error(400, e.to_string()),
    };
    let snaps = match q.token {
        None => lock(&shared.store).snapshots(),
        Some(token) if shared.knows_token(&token) => lock(&shared.store).snapshots_of(&token),
        Some(_) => {
            return error(
                400,
                "token is not one of the sandbox's (its --token or an extra token)",
            );
        }
    };
    let views: Vec<PaymentView<'_>> = snaps.iter().map(PaymentView::of).collect();
    Answer::json(200, &views)
}

fn now(shared: &Shared) -> Answer {
    #[derive(Serialize)]
    struct Now {
        now: String,
    }
    Answer::json(
        200,
        &Now {
            now: rfc3339(shared.clock.now()),
        },
    )
}

fn advance(shared: &Shared, query: &str) -> Answer {
    let q: AdvanceQuery = match serde_urlencoded::from_str(query) {
        Ok(q) => q,
        Err(e) => return error(400, e.to_string()),
    };
    let by = match (q.seconds, q.millis) {
        (Some(s), None) => s.parse::<u64>().ok().map(Duration::from_secs),
        (None, Some(ms)) => ms.parse::<u64>().ok().map(Duration::from_millis),
        _ => None,
    };
    match by {
        Some(by) => {
            shared.clock.advance(by);
            now(shared)
        }
        None => error(
            400,
            "give exactly one of ?seconds=N or ?millis=N (non-negative integers)",
        ),
    }
}

fn buyer(shared: &Shared, code: &str, action: &str, query: &str) -> Answer {
    let q: ActionQuery = match serde_urlencoded::from_str(query) {
        Ok(q) => q,
        Err(e) => return error(400, e.to_string()),
    };
    let action = match action {
        "approve" => BuyerAction::Approve,
        "cancel" => BuyerAction::Cancel,
        "fail" => match failure_code(query) {
            Ok(c) => BuyerAction::Fail(c),
            Err(e) => return error(400, e),
        },
        other => return error(404, format!("unknown buyer action {other:?}")),
    };
    let deliver = match q.deliver.as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(other) => return error(400, format!("deliver must be true or false, got {other:?}")),
    };
    if deliver {
        // Refuse before acting, so a refused delivery leaves the payment untouched.
        let url = match lock(&shared.store).get(code) {
            Some(p) => p.snap.return_url.clone(),
            None => return error(404, format!("unknown payment code {code:?}")),
        };
        if let Err(e) = delivery::check_deliverable(&url) {
            return error(400, e.to_string());
        }
    }
    let now = shared.clock.now();
    let result = buyer::act(&mut lock(&shared.store), code, action, now);
    let form: CallbackForm = match result {
        Ok(f) => f,
        Err(e @ SandboxError::UnknownPayment { .. }) => return error(404, e.to_string()),
        Err(e) => return error(409, e.to_string()),
    };
    let delivery: Option<Delivery> = if deliver {
        match delivery::deliver_form(&form) {
            Ok(d) => Some(d),
            Err(e) => return error(502, e.to_string()),
        }
    } else {
        None
    };
    Answer::json(
        200,
        &FormView {
            return_url: &form.return_url,
            fields: &form.fields,
            body: &form.body,
            delivery: delivery.as_ref().map(|d| DeliveryView {
                status: d.status,
                body: &d.body,
            }),
        },
    )
}

fn parse_fault(body: Option<&[u8]>) -> Result<FaultRule, String> {
    let body = body.ok_or("body too large")?;
    let spec: FaultSpec = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let route = Route::from_name(&spec.route).ok_or_else(|| {
        format!(
            "unknown route {:?}: use create, verify, cancel, report, gateway or refund",
            spec.route
        )
    })?;
    let fault = match spec.kind.as_str() {
        "delay" => Fault::Delay(Duration::from_millis(
            spec.millis.ok_or("kind delay needs \"millis\"")?,
        )),
        "status" => Fault::Status(spec.status.ok_or("kind status needs \"status\"")?),
        "html_bad_gateway" => Fault::HtmlBadGateway,
        "close_mid_answer" => Fault::CloseMidAnswer,
        "truncated_body" => Fault::TruncatedBody,
        "oversized_body" => Fault::OversizedBody(spec.bytes.unwrap_or(1024 * 1024)),
        "malformed_json" => Fault::MalformedJson,
        "in_progress" => Fault::InProgress {
            status: spec.status.unwrap_or(202),
        },
        other => {
            return Err(format!(
                "unknown kind {other:?}: use delay, status, html_bad_gateway, close_mid_answer, \
                 truncated_body, oversized_body, malformed_json or in_progress"
            ));
        }
    };
    if let Fault::Status(s) | Fault::InProgress { status: s } = fault
        && !(200..=599).contains(&s)
    {
        return Err(format!("status {s} is not between 200 and 599"));
    }
    let times = match spec.times {
        None => Times::Once,
        Some(TimesSpec::Count(n)) => Times::N(n),
        Some(TimesSpec::Word(w)) if w == "always" => Times::Always,
        Some(TimesSpec::Word(w)) if w == "once" => Times::Once,
        Some(TimesSpec::Word(w)) => {
            return Err(format!(
                "times must be a number, \"once\" or \"always\", got {w:?}"
            ));
        }
    };
    Ok(FaultRule::new(route, fault, times))
}
