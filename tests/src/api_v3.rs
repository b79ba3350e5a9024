//! PayPing's v3 API as the sandbox serves it, over the same payment [`Store`] as v2: the
//! route table, the handlers, v3's problem-details errors and v3's callback form. Like
//! [`crate::api_v2`], the handlers only parse, call the store and map its answer or
//! [`Refusal`] to v3's codes; the rules are the store's.
//!
//! [`Store`]: crate::state::Store

use std::time::SystemTime;

use hyper::Method;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::answer::Answer;
use crate::body::{member, parse_object, required_text};
use crate::error::SandboxError;
use crate::route::{Route, Routed};
use crate::shared::{KeyCase, Shared};
use crate::state::{
    ApiVersion, Caller, CancelUntil, Naming, NewPayment, Payment, PaymentState, Refusal, Verified,
};
use crate::util::{lock, rfc3339, sortable_utc};

/// The `errorCode` a v3 payment's buyer failure gets when none is given (PayPing v3's
/// "gateway: the buyer cancelled or the time ran out").
pub const DEFAULT_V3_FAILURE_CODE: u32 = 127;

const MIN_AMOUNT: u64 = 100;
const MAX_AMOUNT: u64 = 50_000_000;

/// v3's "invalid input" code, with one message per field at fault.
const INVALID_INPUT: u32 = 101;
/// v3's "payment already done", answered with 409 and the earlier result.
const ALREADY_DONE: u32 = 110;
/// v3's "payment not found": also another merchant's payment.
const NOT_FOUND: u32 = 122;
/// v3's "cannot delete: already sent to the gateway".
const AT_GATEWAY: u32 = 129;
/// v3's "verify in progress, retry".
const IN_PROGRESS: u32 = 155;

/// The fee fields of a v3 payment, in Toman. The sandbox's merchant pays a 1% wage plus
/// 10% VAT on it; the payer pays nothing on top, so the gateway charges the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fees {
    gateway_amount: u32,
    payer_wage: u32,
    business_wage: u32,
    payping_vat: u32,
}

impl Fees {
    fn of(amount: u32) -> Fees {
        let business_wage = amount / 100;
        Fees {
            gateway_amount: amount,
            payer_wage: 0,
            business_wage,
            payping_vat: business_wage / 10,
        }
    }
}

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
        return Answer::unauthorized();
    };
    let caller = Caller {
        token,
        version: ApiVersion::V3,
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
    // Codes are looked up exactly as sent: a padded code is another code, so unknown.
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
            let naming = Naming::CodeAndRefId {
                code: &code,
                ref_id: &ref_id.to_string(),
            };
            let result = lock(&shared.store).verify(
                caller,
                naming,
                amount,
                now,
                shared.config.verify_window,
            );
            match result {
                Ok(v) => Answer::json(200, &Record::of(&v)),
                Err(Refusal::AlreadyVerified(v)) => already_verified(shared, &request, &v),
                Err(refusal) => refused(code_of(&refusal)),
            }
        }
        Call::Cancel => {
            let mut errors = Vec::new();
            let code = required_string(&obj, "paymentCode", &mut errors);
            if !errors.is_empty() {
                return invalid(&request, errors);
            }
            match lock(&shared.store).cancel(caller, &code, CancelUntil::BuyerArrives) {
                // Deleting it again is no error.
                Ok(()) | Err(Refusal::CancelledByShop) => Answer::empty(204),
                Err(
                    refusal @ (Refusal::UnknownPayment
                    | Refusal::OtherMerchant
                    | Refusal::OtherProtocol),
                ) => refused(code_of(&refusal)),
                // Reached the gateway, or over: no longer the shop's to delete.
                Err(_) => refused(AT_GATEWAY),
            }
        }
        Call::Reverse => {
            let mut errors = Vec::new();
            let ref_id = payment_ref_id(&obj, &mut errors);
            let code = required_string(&obj, "paymentCode", &mut errors);
            if !errors.is_empty() {
                return invalid(&request, errors);
            }
            let result = lock(&shared.store).refund(caller, &code, &ref_id.to_string(), now);
            match result {
                Ok(v) => Answer::json(
                    200,
                    &Reversed {
                        payment_code: &v.code,
                        payment_ref_id: v.ref_id.parse().unwrap_or(0),
                        amount: v.amount,
                    },
                ),
                Err(refusal) => refused(code_of(&refusal)),
            }
        }
    }
}

/// The v3 code of a refusal (verify and reverse; delete has its own few).
fn code_of(refusal: &Refusal) -> u32 {
    match refusal {
        Refusal::UnknownPayment | Refusal::OtherMerchant => NOT_FOUND,
        Refusal::OtherProtocol => 124,
        Refusal::NotPaidYet | Refusal::Failed(_) => 121,
        Refusal::OtherRefId => 133,
        Refusal::CancelledByBuyer => DEFAULT_V3_FAILURE_CODE,
        Refusal::AlreadyVerified(_) => ALREADY_DONE,
        Refusal::AmountDiffers => 137,
        Refusal::NotReversible => 134,
        Refusal::RefundTooLate => 135,
        Refusal::CancelledByShop
        | Refusal::TooLate
        | Refusal::Refunded
        | Refusal::NotVerified
        | Refusal::AtGateway
        | Refusal::NotPayable(_) => 131,
    }
}

/// 409 with code 110 and the earlier result, its keys in the case the options say.
fn already_verified(shared: &Shared, request: &Request<'_>, earlier: &Verified) -> Answer {
    let earlier = match shared.config.already_verified_keys {
        KeyCase::Pascal => Earlier::Pascal(EarlierRecord::of(earlier)),
        KeyCase::Camel => Earlier::Camel(Record::of(earlier)),
    };
    problem(
        409,
        ALREADY_DONE,
        request.path,
        request.trace_id,
        Some(earlier),
    )
}

/// The earlier result in a 409/110, in the key case the options say (written as is, so
/// the keys keep their order).
#[derive(Serialize)]
#[serde(untagged)]
enum Earlier<'a> {
    Pascal(EarlierRecord<'a>),
    Camel(Record<'a>),
}

/// PayPing v3's "verification still in progress": `status` (202 or 502) with problem
/// details of code 155.
pub(crate) fn in_progress(status: u16, trace_id: &str) -> Answer {
    problem(status, IN_PROGRESS, "/v3/pay/verify", trace_id, None)
}

/// The problem details PayPing v3 answers errors with: RFC 7807 plus `paypingTraceId` and
/// `metaData` (`code`, `errors`, and on a 409/110 the earlier result as `message`).
fn problem(
    status: u16,
    code: u32,
    instance: &str,
    trace_id: &str,
    earlier: Option<Earlier<'_>>,
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
    earlier: Option<Earlier<'_>>,
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
        message: Option<Earlier<'a>>,
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
            // As PayPing's doc example of the 409/110 titles it.
            "ConflictException",
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

/// A verify result as the 200 answer writes it (camelCase, as v3's schema says), and the
/// earlier result inside a 409/110 with [`KeyCase::Camel`].
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
        let fees = Fees::of(v.amount);
        Record {
            amount: v.amount,
            card_number: &v.card_number,
            card_hash_pan: &v.card_hash_pan,
            client_ref_id: v.client_ref_id.as_deref().unwrap_or_default(),
            payment_ref_id: v.ref_id.parse().unwrap_or(0),
            code: &v.code,
            payed_date: rfc3339(v.paid_at),
            payer_wage: fees.payer_wage,
            business_wage: fees.business_wage,
            gateway_amount: fees.gateway_amount,
            payping_vat: fees.payping_vat,
        }
    }
}

/// The earlier result inside a 409/110 as PayPing's doc example writes it
/// ([`KeyCase::Pascal`]): PascalCase keys, these ten in this order, and `PayedDate` as
/// `2024-08-03 10:30:00Z`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EarlierRecord<'a> {
    amount: u32,
    payer_wage: u32,
    business_wage: u32,
    gateway_amount: u32,
    card_number: &'a str,
    card_hash_pan: &'a str,
    client_ref_id: &'a str,
    payment_ref_id: u64,
    code: &'a str,
    payed_date: String,
}

impl<'a> EarlierRecord<'a> {
    fn of(v: &'a Verified) -> EarlierRecord<'a> {
        let fees = Fees::of(v.amount);
        EarlierRecord {
            amount: v.amount,
            payer_wage: fees.payer_wage,
            business_wage: fees.business_wage,
            gateway_amount: fees.gateway_amount,
            card_number: &v.card_number,
            card_hash_pan: &v.card_hash_pan,
            client_ref_id: v.client_ref_id.as_deref().unwrap_or_default(),
            payment_ref_id: v.ref_id.parse().unwrap_or(0),
            code: &v.code,
            payed_date: sortable_utc(v.paid_at),
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
    match required_text(obj, name) {
        Some(s) => s.to_owned(),
        None => {
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

/// v3's callback data: what PayPing puts in the `data` JSON string.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallbackData<'a> {
    client_ref_id: &'a str,
    payment_code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_ref_id: Option<u64>,
    amount: u32,
    gateway_amount: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    card_hash_pan: Option<&'a str>,
}

/// v3's callback: `status` 1 and the paid data, or `status` 0 with the failure's
/// `errorCode` (empty when the buyer cancelled) and no paymentRefId or card.
pub(crate) fn callback_fields(p: &Payment) -> Result<Vec<(String, String)>, SandboxError> {
    let s = &p.snap;
    let paid = s.state == PaymentState::Paid;
    let error_code = match s.state {
        PaymentState::Failed { code } => code.to_string(),
        _ => String::new(),
    };
    let data = CallbackData {
        client_ref_id: s.client_ref_id.as_deref().unwrap_or_default(),
        payment_code: &s.code,
        payment_ref_id: s
            .ref_id
            .as_deref()
            .and_then(|r| r.parse().ok())
            .filter(|_| paid),
        amount: s.amount,
        gateway_amount: Fees::of(s.amount).gateway_amount,
        card_number: p.card_number.as_deref().filter(|_| paid),
        card_hash_pan: p.card_hash_pan.as_deref().filter(|_| paid),
    };
    let data = serde_json::to_string(&data).map_err(|e| SandboxError::Encoding {
        reason: e.to_string(),
    })?;
    Ok(vec![
        ("status".into(), if paid { "1" } else { "0" }.into()),
        ("errorCode".into(), error_code),
        ("data".into(), data),
    ])
}
