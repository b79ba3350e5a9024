//! `POST /v3/pay/verify`: the body sent, and the statuses its answer can have.

use serde::Serialize;

use crate::error::Error;
use crate::text::PaymentCode;
use crate::wire::answer::Answer;
use crate::wire::v3::errors;
use crate::wire::v3::record::Record;

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

/// What a verify answer says, before the step checks it against the record.
pub(crate) enum Read {
    /// 200: verified now.
    Verified(Record),
    /// 409 with `metaData.code` 110: verified before; the earlier result, when sent.
    AlreadyVerified {
        earlier: Option<Record>,
        message: Option<String>,
        trace_id: Option<String>,
    },
}

/// The `metaData.code` of v3's "already verified" 409.
const ALREADY_DONE: u32 = 110;

/// Reads a verify answer of any status: 200 and 409/110 are outcomes; 202 and 502 are
/// "verification still in progress" (retry); anything else is the error it says.
pub(crate) fn read(answer: &Answer<'_>) -> Result<Read, Error> {
    match answer.status.as_u16() {
        200 => Ok(Read::Verified(answer.fields()?)),
        202 | 502 => Err(errors::in_progress(answer)),
        // The body is read once, for the outcome or for the refusal it is.
        409 => match errors::read(answer.body) {
            Ok(problem) if problem.code == Some(ALREADY_DONE) => Ok(Read::AlreadyVerified {
                earlier: problem.earlier,
                message: problem.messages.into_iter().next(),
                trace_id: problem.trace_id,
            }),
            problem => Err(errors::failure_of(answer.clone(), problem)),
        },
        _ => Err(errors::failure(answer.clone())),
    }
}
