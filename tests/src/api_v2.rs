//! PayPing's v2 API as the sandbox serves it: the route table, the handlers, v2's errors and
//! v2's callback form. Each handler parses the request, calls the payment
//! [`Store`](crate::state::Store) and maps its answer or [`Refusal`] to v2's codes; the
//! payments' rules live in [`crate::state`].

use std::time::SystemTime;

use hyper::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::answer::Answer;
use crate::body::{member, parse_object, required_text};
use crate::route::{Route, Routed};
use crate::shared::Shared;
use crate::state::{
    ApiVersion, Caller, CancelUntil, Naming, NewPayment, Payment, PaymentState, Refusal,
};
use crate::util::lock;

/// The failure code a buyer failure gets when none is given (PayPing's "payment failed,
/// the money goes back to the payer").
pub const DEFAULT_FAILURE_CODE: u32 = 39;

const MIN_AMOUNT: u64 = 100;
const MAX_AMOUNT: u64 = 50_000_000;

/// v2's "already verified".
const ALREADY_VERIFIED: u32 = 15;
/// v2's "payment code not found".
pub(crate) const UNKNOWN_CODE: u32 = 26;
/// v2's "invalid RefId".
const UNKNOWN_REF_ID: u32 = 44;

/// A v2 API call, parsed from its method and path.
pub(crate) enum Call {
    Create,
    Verify,
    Cancel(String),
}

/// The v2 API's routes; `segments` is the path split at `/`, without empty segments.
pub(crate) fn route(method: &Method, segments: &[&str]) -> Routed<Call> {
    let (allowed, route, call) = match segments {
        ["v2", "pay"] => (Method::POST, Route::Create, Call::Create),
        ["v2", "pay", "verify"] => (Method::POST, Route::Verify, Call::Verify),
        ["v2", "pay", code] => (
            Method::DELETE,
            Route::Cancel,
            Call::Cancel((*code).to_owned()),
        ),
        _ => return Routed::Unknown,
    };
    Routed::check(method, allowed, route, call)
}

/// What the call answers, after authorization (any valid token; which token may act on which
/// payment is the store's rule).
pub(crate) fn answer(
    shared: &Shared,
    call: Call,
    authorization: Option<&str>,
    body: Option<&[u8]>,
) -> Answer {
    let Some(token) = shared.authorize(authorization) else {
        return Answer::unauthorized();
    };
    let caller = Caller {
        token,
        version: ApiVersion::V2,
    };
    let now = shared.clock.now();
    match call {
        Call::Create => create(shared, token, body, now),
        Call::Verify => verify(shared, caller, body, now),
        Call::Cancel(code) => cancel(shared, caller, &code),
    }
}

/// 400 `{"code": "message"}`, v2's answer to a refused call.
pub(crate) fn refused(code: u32) -> Answer {
    Answer::fields(vec![(&code.to_string(), code_message(code).to_owned())])
}

/// The code v2's verify answers a refusal with.
fn verify_code(refusal: &Refusal, expired_code: u32) -> u32 {
    match refusal {
        // v2 knows no refId of a payment made on v3, nor one the buyer never got.
        Refusal::UnknownPayment
        | Refusal::OtherProtocol
        | Refusal::NotPaidYet
        | Refusal::OtherRefId => UNKNOWN_REF_ID,
        // PayPing documents this one: "the token that created the payment differs from the
        // token verifying it". It changes nothing and shows nothing of the payment.
        Refusal::OtherMerchant => 46,
        Refusal::CancelledByBuyer | Refusal::CancelledByShop => 1,
        Refusal::Failed(code) => *code,
        Refusal::AlreadyVerified(_) => ALREADY_VERIFIED,
        Refusal::TooLate | Refusal::Refunded => expired_code,
        Refusal::AmountDiffers => 47,
        // Not answered by verify.
        Refusal::AtGateway
        | Refusal::NotReversible
        | Refusal::NotVerified
        | Refusal::RefundTooLate
        | Refusal::NotPayable(_) => UNKNOWN_REF_ID,
    }
}

/// `DELETE /v2/pay/{code}`: 200 once the payment is cancelled, and for a payment already void
/// (nothing left to cancel); 15 once verified; 26 for a code this merchant does not have.
fn cancel(shared: &Shared, caller: Caller<'_>, code: &str) -> Answer {
    match lock(&shared.store).cancel(caller, code, CancelUntil::Verified) {
        Ok(())
        | Err(
            Refusal::CancelledByBuyer
            | Refusal::CancelledByShop
            | Refusal::Failed(_)
            | Refusal::TooLate
            | Refusal::Refunded,
        ) => Answer::empty(200),
        Err(Refusal::AlreadyVerified(_)) => refused(ALREADY_VERIFIED),
        Err(_) => refused(UNKNOWN_CODE),
    }
}

const AMOUNT_MSG: &str = "مبلغ الزامی است و باید عددی صحیح بین ۱۰۰ تا ۵۰٬۰۰۰٬۰۰۰ تومان باشد";

fn amount_of(obj: &Map<String, Value>, errors: &mut Vec<(&'static str, String)>) -> u32 {
    match member(obj, "amount").and_then(Value::as_u64) {
        Some(a) if (MIN_AMOUNT..=MAX_AMOUNT).contains(&a) => a as u32,
        _ => {
            errors.push(("amount", AMOUNT_MSG.to_owned()));
            0
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<String> {
    match member(obj, name) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push((name, format!("مقدار {name} باید متن (string) باشد")));
            None
        }
    }
}

fn required_string(
    obj: &Map<String, Value>,
    name: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> String {
    match required_text(obj, name) {
        Some(s) => s.to_owned(),
        None => {
            errors.push((name, format!("مقدار {name} الزامی است")));
            String::new()
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerifyAnswer<'a> {
    amount: u32,
    card_number: &'a str,
    card_hash_pan: &'a str,
}

/// A body that is not a JSON object: 400 `{"body": ...}`.
fn object(body: Option<&[u8]>) -> Result<Map<String, Value>, Answer> {
    parse_object(body).map_err(|message| Answer::fields(vec![("body", message.to_owned())]))
}

fn create(shared: &Shared, token: &str, body: Option<&[u8]>, now: SystemTime) -> Answer {
    let obj = match object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let amount = amount_of(&obj, &mut errors);
    let return_url = required_string(&obj, "returnUrl", &mut errors);
    let new = NewPayment {
        amount,
        return_url,
        payer_identity: optional_string(&obj, "payerIdentity", &mut errors),
        payer_name: optional_string(&obj, "payerName", &mut errors),
        description: optional_string(&obj, "description", &mut errors),
        client_ref_id: optional_string(&obj, "clientRefId", &mut errors),
        version: ApiVersion::V2,
        reversible: false,
    };
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let code = lock(&shared.store).create(token, new, now);
    let mut answer = Map::new();
    answer.insert("code".to_owned(), Value::String(code));
    Answer::json(200, &answer)
}

/// `POST /v2/pay/verify`: the refId is looked up exactly as sent.
fn verify(shared: &Shared, caller: Caller<'_>, body: Option<&[u8]>, now: SystemTime) -> Answer {
    let obj = match object(body) {
        Ok(o) => o,
        Err(a) => return a,
    };
    let mut errors = Vec::new();
    let ref_id = required_string(&obj, "refId", &mut errors);
    let amount = amount_of(&obj, &mut errors);
    if !errors.is_empty() {
        return Answer::fields(errors);
    }
    let result = lock(&shared.store).verify(
        caller,
        Naming::RefId(&ref_id),
        amount,
        now,
        shared.config.verify_window,
    );
    match result {
        Ok(v) => Answer::json(
            200,
            &VerifyAnswer {
                amount: v.amount,
                card_number: &v.card_number,
                card_hash_pan: &v.card_hash_pan,
            },
        ),
        Err(refusal) => refused(verify_code(&refusal, shared.config.expired_code)),
    }
}

/// v2's callback: `code`, `refid`, `clientrefid`, `cardnumber`, `cardhashpan` (a cancel
/// sends no refId, a failure no card).
pub(crate) fn callback_fields(p: &Payment) -> Vec<(String, String)> {
    let s = &p.snap;
    let sent_ref = match s.state {
        PaymentState::CancelledByBuyer => String::new(),
        _ => s.ref_id.clone().unwrap_or_default(),
    };
    vec![
        ("code".into(), s.code.clone()),
        ("refid".into(), sent_ref),
        (
            "clientrefid".into(),
            s.client_ref_id.clone().unwrap_or_default(),
        ),
        (
            "cardnumber".into(),
            p.card_number.clone().unwrap_or_default(),
        ),
        (
            "cardhashpan".into(),
            p.card_hash_pan.clone().unwrap_or_default(),
        ),
    ]
}

/// The Persian message PayPing publishes for a payment error code (spec introduction).
fn code_message(code: u32) -> &'static str {
    match code {
        1 => "تراكنش توسط شما لغو شد",
        2 => "رمز کارت اشتباه است.",
        3 => "cvv2 یا تاریخ انقضای کارت وارد نشده است",
        4 => "موجودی کارت کافی نیست.",
        5 => "تاریخ انقضای کارت گذشته است و یا اشتباه وارد شده.",
        6 => "کارت شما مسدود شده است",
        7 => "تراکنش مورد نظر توسط درگاه یافت نشد",
        8 => "بانک صادر کننده کارت شما مجوز انجام تراکنش را صادر نکرده است",
        9 => "مبلغ تراکنش مشکل دارد",
        10 => "شماره کارت اشتباه است.",
        11 => "ارتباط با درگاه برقرار نشد، مجددا تلاش کنید",
        12 => "خطای داخلی بانک رخ داده است",
        15 => "این تراکنش قبلا تایید شده است",
        18 => "کاربر پذیرنده تایید نشده است",
        19 => {
            "هویت پذیرنده کامل نشده است و نمی تواند در مجموع بیشتر از ۵۰ هزار تومان دریافتی داشته باشد"
        }
        25 => "سرویس موقتا از دسترس خارج است، لطفا بعدا مجددا تلاش نمایید",
        26 => "کد پرداخت پیدا نشد",
        27 => "پذیرنده مجاز به تراکنش با این مبلغ نمی باشد",
        28 => "لطفا از قطع بودن فیلتر شکن خود مطمئن شوید",
        29 => "ارتباط با درگاه برقرار نشد",
        31 => "امکان تایید پرداخت قبل از ورود به درگاه بانک وجود ندارد",
        38 => "آدرس سایت پذیرنده نا معتبر است",
        39 => "پرداخت ناموفق، مبلغ به حساب پرداخت کننده برگشت داده خواهد شد",
        44 => "RefId نامعتبر است",
        46 => "توکن ساخت پرداخت با توکن تایید پرداخت مغایرت دارد",
        47 => "مبلغ تراکنش مغایرت دارد",
        48 => "پرداخت از سمت شاپرک تایید نهایی نشده است",
        49 => "ترمینال فعال یافت نشد، لطفا مجددا تلاش کنید",
        _ => "خطای ناشناخته",
    }
}
