//! The gateway as the buyer sees it (Ghesta's installment page, PayPing v2's and v3's
//! pages): the page and its three buttons. The handlers only parse, let the buyer act and
//! render; the payment's protocol writes the form back to the shop.

use hyper::Method;

use crate::answer::Answer;
use crate::buyer;
use crate::error::SandboxError;
use crate::pages;
use crate::route::{Route, Routed};
use crate::shared::Shared;
use crate::state::{BuyerAction, PaymentState};
use crate::util::lock;

/// A button on the gateway page.
pub(crate) enum Button {
    Approve,
    Cancel,
    Fail,
}

/// A request to the buyer's gateway.
pub(crate) enum Call {
    Page(String),
    Press(String, Button),
}

/// The gateway's routes: `GET /installment/{code}` (Ghesta's address for the page),
/// `GET /v2/pay/gotoipg/{code}` (PayPing v2's), `GET /v3/pay/start/{code}` (v3's),
/// `POST /installment/{code}/{approve|cancel|fail}` (the buttons of all three).
pub(crate) fn route(method: &Method, segments: &[&str]) -> Routed<Call> {
    let (allowed, call) = match segments {
        ["installment", code] | ["v2", "pay", "gotoipg", code] | ["v3", "pay", "start", code] => {
            (Method::GET, Call::Page((*code).to_owned()))
        }
        ["installment", code, button] => {
            let button = match *button {
                "approve" => Button::Approve,
                "cancel" => Button::Cancel,
                "fail" => Button::Fail,
                _ => return Routed::Unknown,
            };
            (Method::POST, Call::Press((*code).to_owned(), button))
        }
        _ => return Routed::Unknown,
    };
    Routed::check(method, allowed, Route::Gateway, call)
}

/// The page, or the outcome of a press (`query` carries a failure's `code`).
pub(crate) fn answer(shared: &Shared, call: Call, query: &str) -> Answer {
    match call {
        Call::Page(code) => gateway_page(shared, &code),
        Call::Press(code, button) => press(shared, &code, button, query),
    }
}

fn not_found_page() -> Answer {
    Answer::html(
        404,
        pages::message(
            "پرداخت پیدا نشد",
            "کد پرداخت معتبر نیست (payment code not found).",
        ),
    )
}

fn not_payable_page(state: PaymentState) -> Answer {
    Answer::html(
        409,
        pages::message(
            "این پرداخت دیگر قابل پرداخت نیست",
            &format!(
                "This payment is no longer payable (state: {}).",
                state.name()
            ),
        ),
    )
}

fn gateway_page(shared: &Shared, code: &str) -> Answer {
    let mut store = lock(&shared.store);
    // The buyer reached the gateway: a v3 payment can no longer be deleted, and the
    // report says so (status 2).
    store.mark_opened(code);
    match store.get(code) {
        None => not_found_page(),
        Some(p) if p.snap.state != PaymentState::Created => not_payable_page(p.snap.state),
        Some(p) => Answer::html(200, pages::gateway(&p.snap)),
    }
}

/// The `code` query parameter of a fail action (`None` when absent: the payment's
/// version's default, [`crate::DEFAULT_FAILURE_CODE`] or [`crate::DEFAULT_V3_FAILURE_CODE`]).
pub(crate) fn failure_code(query: &str) -> Result<Option<u32>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
    match pairs.iter().find(|(k, _)| k == "code") {
        None => Ok(None),
        Some((_, v)) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("code must be a non-negative integer, got {v:?}")),
    }
}

fn press(shared: &Shared, code: &str, button: Button, query: &str) -> Answer {
    let action = match button {
        Button::Approve => BuyerAction::Approve,
        Button::Cancel => BuyerAction::Cancel,
        Button::Fail => match failure_code(query) {
            Ok(c) => BuyerAction::Fail(c),
            Err(e) => return Answer::html(400, pages::message("درخواست نامعتبر", &e)),
        },
    };
    let now = shared.clock.now();
    let result = buyer::act(&mut lock(&shared.store), code, action, now);
    match result {
        Ok(form) => Answer::html(200, pages::callback(&form)),
        Err(SandboxError::NotPayable { state, .. }) => not_payable_page(state),
        Err(_) => not_found_page(),
    }
}
