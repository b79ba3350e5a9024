//! PayPing's v3 API as the sandbox serves it, over the same payment [`Store`] as v2: the
//! route table, the handlers and v3's problem-details errors. Like [`crate::api_v2`], the
//! handlers only parse, call the store and render; the rules are the store's.
//!
//! [`Store`]: crate::state::Store

use std::time::SystemTime;

use hyper::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::answer::{Answer, Routed};
use crate::api_v2::{member, parse_object};
use crate::faults::Route;
use crate::shared::Shared;
use crate::state::{ApiError, ApiVersion, Fees, NewPayment, V3Refusal, Verified};
use crate::util::{lock, rfc3339};

const MIN_AMOUNT: u64 = 100;
const MAX_AMOUNT: u64 = 50_000_000;

/// v3's "invalid input" code, with one message per field at fault.
const INVALID_INPUT: u32 = 101;
/// v3's "payment already done", answered with 409 and the earlier result.
const ALREADY_DONE: u32 = 110;

/// A v3 API call, parsed from its method and path.
pub(crate) enum Call {
    Create,
    Verify,
    Cancel,
    Reverse,
}

/// The v3 API's routes: `POST /v3/pay`, `DELETE /v3/pay`, `POST /v3/pay/verify`,
/// `POST /v3/pay/reverse`.
pub(crate) fn route(method: &Method, segments: &[&str]) -> Routed<Call> {
    match segments {
        ["v3", "pay"] => match *method {
            Method::POST => Routed::Call(Route::Create, Call::Create),
            Method::DELETE => Routed::Call(Route::Cancel, Call::Cancel),
            _ => Routed::WrongMethod("POST, DELETE".to_owned()),
        },
        ["v3", "pay", "verify"] => Routed::check(method, Method::POST, Route::Verify, Call::Verify),
        ["v3", "pay", "reverse"] => {
            Routed::check(method, Method::POST, Route::Refund, Call::Reverse)
        }
        _ => Routed::Unknown,
    }
}

/// What a v3 handler needs of the request.
pub(crate) struct Request<'a> {
    pub(crate) authorization: Option<&'a str>,
    /// `None` when over the size limit or unreadable.
    pub(crate) body: Option<&'a [u8]>,
    /// The `Host` header, for the start page's URL.
    pub(crate) host: Option<&'a str>,
    /// The request's path, the problem's `instance`.
    pub(crate) path: &'a str,
    /// This answer's `X-PayPingRequest-ID`, also its `paypingTraceId`.
    pub(crate) trace_id: &'a str,
}

/// What the call answers, after authorization (401 with an empty body, as on v2).
pub(crate) fn answer(shared: &Shared, call: Call, request: Request<'_>) -> Answer {
    let Some(token) = shared.authorize(request.authorization) else {
        return Answer::api_error(ApiError::Unauthorized);
    };
    let now = shared.clock.now();
    let refused = |code| problem(400, code, request.path, request.trace_id, None);
    let obj = match parse_object(request.body) {
        Ok(o) => o,
        Err(_) => {
            let message = "بدنه درخواست باید یک شیء JSON معتبر (حداکثر ۶۴ کیلوبایت) باشد";
            return invalid(&request, vec![message.to_owned()]);
        }
    };
    match call {
        Call::Create => create(shared, token, &obj, &request, now),
        Call::Verify => {
            let mut errors = Vec::new();
            let ref_id = payment_ref_id(&obj, &mut errors);
            let code = required_string(&obj, "paymentCode", &mut errors);
            let amount = amount_of(&obj, &mut errors);
            if !errors.is_empty() {
                return invalid(&request, errors);
            }
            let result = lock(&shared.store).verify_v3(
                token,
                code.trim(),
                ref_id,
                amount,
                now,
                shared.config.verify_window,
            );
            match result {
                Ok(v) => Answer::json(200, &Record::of(&v)),
                Err(V3Refusal::Code(code)) => refused(code),
                Err(V3Refusal::AlreadyVerified(v)) => problem(
                    409,
                    ALREADY_DONE,
                    request.path,
                    request.trace_id,
                    Some(Record::of(&v)),
                ),
            }
        }
        Call::Cancel => {
            let mut errors = Vec::new();
            let code = required_string(&obj, "paymentCode", &mut errors);
            if !errors.is_empty() {
                return invalid(&request, errors);
            }
            match lock(&shared.store).cancel_v3(token, code.trim()) {
                Ok(()) => Answer::empty(204),
                Err(code) => refused(code),
            }
        }
        Call::Reverse => {
            let mut errors = Vec::new();
            let ref_id = payment_ref_id(&obj, &mut errors);
            let code = required_string(&obj, "paymentCode", &mut errors);
            if !errors.is_empty() {
                return invalid(&request, errors);
            }
            match lock(&shared.store).reverse(token, code.trim(), ref_id, now) {
                Ok(v) => Answer::json(
                    200,
                    &Reversed {
                        payment_code: &v.code,
                        payment_ref_id: v.ref_id.parse().unwrap_or(0),
                        amount: v.amount,
                    },
                ),
                Err(code) => refused(code),
            }
        }
    }
}

/// The problem details PayPing v3 answers errors with: RFC 7807 plus `paypingTraceId` and
/// `metaData` (`code`, `errors`, and on a 409/110 the earlier result as `message`).
pub(crate) fn problem(
    status: u16,
    code: u32,
    instance: &str,
    trace_id: &str,
    earlier: Option<Record<'_>>,
) -> Answer {
    problem_with(status, code, instance, trace_id, earlier, Vec::new())
}

fn invalid(request: &Request<'_>, messages: Vec<String>) -> Answer {
    problem_with(
        400,
        INVALID_INPUT,
        request.path,
        request.trace_id,
        None,
        messages,
    )
}

fn problem_with(
    status: u16,
    code: u32,
    instance: &str,
    trace_id: &str,
    earlier: Option<Record<'_>>,
    mut messages: Vec<String>,
) -> Answer {
    #[derive(Serialize)]
    struct Message {
        message: String,
    }
    #[derive(Serialize)]
    struct MetaData<'a> {
        code: u32,
        errors: Vec<Message>,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<Record<'a>>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Problem<'a> {
        r#type: &'a str,
        title: &'a str,
        status: u16,
        detail: &'a str,
        instance: &'a str,
        payping_trace_id: &'a str,
        meta_data: MetaData<'a>,
    }
    let detail = message(code);
    if messages.is_empty() {
        messages.push(detail.to_owned());
    }
    let (r#type, title) = match (status, code) {
        (409, _) => (
            "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.8",
            "Conflict",
        ),
        (400, INVALID_INPUT) => (
            "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
            "ValidationException",
        ),
        (400, _) => (
            "https://datatracker.ietf.org/doc/html/rfc7231#section-6.5.1",
            "BusinessException",
        ),
        _ => ("about:blank", "InProgress"),
    };
    Answer::json(
        status,
        &Problem {
            r#type,
            title,
            status,
            detail,
            instance,
            payping_trace_id: trace_id,
            meta_data: MetaData {
                code,
                errors: messages
                    .into_iter()
                    .map(|message| Message { message })
                    .collect(),
                message: earlier,
            },
        },
    )
}

/// The message of a v3 code the sandbox answers.
fn message(code: u32) -> &'static str {
    match code {
        101 => "ورودی نامعتبر است",
        110 => "این پرداخت قبلا انجام شده است",
        121 => "تایید فقط برای پرداخت موفق ممکن است",
        122 => "پرداخت پیدا نشد",
        124 => "این تراکنش با این نسخه از API سازگار نیست",
        127 => "پرداخت توسط پرداخت‌کننده لغو شد یا زمان آن به پایان رسید",
        129 => "پرداخت به درگاه رفته است و قابل حذف نیست",
        131 => "وضعیت تراکنش برای این درخواست معتبر نیست",
        133 => "اطلاعات پرداخت نامعتبر است",
        134 => "این تراکنش قابل برگشت نیست",
        135 => "مهلت برگشت تراکنش به پایان رسیده است",
        137 => "مبلغ تراکنش مغایرت دارد",
        155 => "تایید پرداخت در حال انجام است، دوباره تلاش کنید",
        _ => "خطای ناشناخته",
    }
}

/// A verify result: the 200 answer, and the earlier result inside a 409/110.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    amount: u32,
    card_number: &'a str,
    card_hash_pan: &'a str,
    client_ref_id: &'a str,
    payment_ref_id: u64,
    code: &'a str,
    payed_date: String,
    payer_wage: u32,
    business_wage: u32,
    gateway_amount: u32,
    payping_vat: u32,
}

impl<'a> Record<'a> {
    fn of(v: &'a Verified) -> Record<'a> {
        Record {
            amount: v.amount,
            card_number: &v.card_number,
            card_hash_pan: &v.card_hash_pan,
            client_ref_id: v.client_ref_id.as_deref().unwrap_or_default(),
            payment_ref_id: v.ref_id.parse().unwrap_or(0),
            code: &v.code,
            payed_date: rfc3339(v.paid_at),
            payer_wage: v.fees.payer_wage,
            business_wage: v.fees.business_wage,
            gateway_amount: v.fees.gateway_amount,
            payping_vat: v.fees.payping_vat,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created<'a> {
    payment_code: &'a str,
    url: String,
    amount: u32,
    gateway_amount: u32,
    payer_wage: u32,
    business_wage: u32,
    payping_vat: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Reversed<'a> {
    payment_code: &'a str,
    payment_ref_id: u64,
    amount: u32,
}

fn create(
    shared: &Shared,
    token: &str,
    obj: &Map<String, Value>,
    request: &Request<'_>,
    now: SystemTime,
) -> Answer {
    let mut errors = Vec::new();
    let amount = amount_of(obj, &mut errors);
    let return_url = required_string(obj, "returnUrl", &mut errors);
    // Required on v3, and a JSON string: a number is refused, not read as text.
    let client_ref_id = required_string(obj, "clientRefId", &mut errors);
    let new = NewPayment {
        amount,
        return_url,
        payer_identity: optional_string(obj, "payerIdentity", &mut errors),
        payer_name: optional_string(obj, "payerName", &mut errors),
        description: optional_string(obj, "description", &mut errors),
        client_ref_id: Some(client_ref_id),
        version: ApiVersion::V3,
        reversible: optional_bool(obj, "isReversible", &mut errors),
    };
    // `IsBlocked` (escrow) is read for its type only: the sandbox settles nothing.
    optional_bool(obj, "isBlocked", &mut errors);
    if !errors.is_empty() {
        return invalid(request, errors);
    }
    let code = lock(&shared.store).create(token, new, now);
    let fees = Fees::of(amount);
    Answer::json(
        200,
        &Created {
            payment_code: &code,
            url: format!(
                "{}://{}/v3/pay/start/{code}",
                shared.config.scheme,
                request.host.unwrap_or("127.0.0.1")
            ),
            amount,
            gateway_amount: fees.gateway_amount,
            payer_wage: fees.payer_wage,
            business_wage: fees.business_wage,
            payping_vat: fees.payping_vat,
        },
    )
}

fn amount_of(obj: &Map<String, Value>, errors: &mut Vec<String>) -> u32 {
    match member(obj, "amount").and_then(Value::as_u64) {
        Some(a) if (MIN_AMOUNT..=MAX_AMOUNT).contains(&a) => a as u32,
        _ => {
            errors.push("amount: مبلغ باید عددی صحیح بین ۱۰۰ تا ۵۰٬۰۰۰٬۰۰۰ تومان باشد".to_owned());
            0
        }
    }
}

/// `paymentRefId`: a positive JSON integer (text is refused, as PayPing's binding does).
fn payment_ref_id(obj: &Map<String, Value>, errors: &mut Vec<String>) -> u64 {
    match member(obj, "paymentRefId").and_then(Value::as_u64) {
        Some(id) if id > 0 => id,
        _ => {
            errors.push("paymentRefId: شناسه پرداخت باید عددی صحیح و مثبت باشد".to_owned());
            0
        }
    }
}

fn required_string(obj: &Map<String, Value>, name: &str, errors: &mut Vec<String>) -> String {
    match member(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            errors.push(format!(
                "{name}: مقدار {name} الزامی است و باید متن (string) باشد"
            ));
            String::new()
        }
    }
}

fn optional_string(
    obj: &Map<String, Value>,
    name: &str,
    errors: &mut Vec<String>,
) -> Option<String> {
    match member(obj, name) {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors.push(format!("{name}: مقدار {name} باید متن (string) باشد"));
            None
        }
    }
}

fn optional_bool(obj: &Map<String, Value>, name: &str, errors: &mut Vec<String>) -> bool {
    match member(obj, name) {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(format!("{name}: مقدار {name} باید true یا false باشد"));
            false
        }
    }
}
