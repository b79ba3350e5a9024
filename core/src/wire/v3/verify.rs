//! `POST /v3/pay/verify`: the body sent, and what its answer says, whatever its status.

use serde::Serialize;

use crate::error::Error;
use crate::request_id::RequestId;
use crate::text::PaymentCode;
use crate::wire::answer::Answer;
use crate::wire::v3::errors;
use crate::wire::v3::record::Record;
use crate::wire::verify::{Kept, Said, When};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Body<'a> {
    payment_ref_id: u64,
    payment_code: &'a str,
    amount: u64,
}

/// The body verifying payment `code`, paid as `payment_ref_id`, for `wire_amount` (the
/// stored amount, in the unit it was created in). All three are required ("safe verify").
pub(crate) fn body(payment_ref_id: u64, code: &PaymentCode, wire_amount: u64) -> Body<'_> {
    Body {
        payment_ref_id,
        payment_code: code.as_str(),
        amount: wire_amount,
    }
}

/// The `metaData.code` of v3's "already verified" 409.
const ALREADY_DONE: u32 = 110;

/// Reads a verify answer of any status: 200 and 409/110 say the payment is verified; 202
/// and 502 are "verification still in progress" (retry); anything else is the error it
/// says.
pub(crate) fn read(answer: Answer<'_>) -> Result<Said, Error> {
    match answer.status.as_u16() {
        200 => {
            let record: Record = answer.fields()?;
            if record.amount.is_none() {
                return Err(answer.malformed("missing field `amount`"));
            }
            Ok(said(
                When::Now,
                Some(record),
                None,
                answer.into_request_id(),
            ))
        }
        202 | 502 => Err(errors::in_progress(answer)),
        // The body is read once, for the outcome or for the refusal it is.
        409 => match errors::read(answer.body) {
            Ok(problem) if problem.code == Some(ALREADY_DONE) => {
                let request_id = answer.with_trace_id(problem.trace_id).into_request_id();
                let message = problem.messages.into_iter().next();
                Ok(said(When::Before, problem.earlier, message, request_id))
            }
            problem => Err(errors::failure_of(answer, problem)),
        },
        _ => Err(errors::failure(answer)),
    }
}

/// What a record (when there is one) says, in the shape both protocols give.
fn said(
    when: When,
    record: Option<Record>,
    message: Option<String>,
    request_id: Option<RequestId>,
) -> Said {
    let (amount, code, kept) = match record {
        Some(mut record) => (record.amount, record.code.take(), record.into_kept()),
        None => (None, None, Kept::default()),
    };
    Said {
        when,
        amount,
        code,
        kept,
        message,
        request_id,
    }
}
