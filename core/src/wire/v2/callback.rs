//! v2's callback form: `code`, `refid`, `clientrefid`, `cardnumber`, `cardhashpan`.
//!
//! The form carries no status and no amount, and it is not signed: only verify proves a
//! payment. An empty (or missing) `refid` is PayPing's "not paid".

use crate::callback::{Callback, CallbackError, CancelledCallback, CompletedCallback};
use crate::gateway::Protocol;
use crate::invalid::InvalidInput;
use crate::text::{CardHash, CardNumber, ClientRefId, PaymentCode, RefId};
use crate::wire::callback::{CallbackForm, KEYS};

// v2's keys, by their place in the callback's key table.
const CODE: usize = 0;
const REFID: usize = 1;
const CLIENTREFID: usize = 2;
const CARDNUMBER: usize = 3;
const CARDHASHPAN: usize = 4;

/// Reads v2's callback form.
pub(crate) fn read(fields: &CallbackForm<'_>) -> Result<Callback, CallbackError> {
    let code = match fields.text(CODE)? {
        Some(code) => PaymentCode::new(code).map_err(|e| invalid(CODE, e))?,
        None => return Err(CallbackError::MissingField { name: KEYS[CODE] }),
    };
    let client_ref_id = fields
        .text(CLIENTREFID)?
        .map(|v| ClientRefId::new(v).map_err(|e| invalid(CLIENTREFID, e)))
        .transpose()?;
    // An empty refid is PayPing's "not paid"; a blank or padded one is no refid PayPing
    // sends, so it is refused below (naming `refid`), never read as a cancellation.
    let ref_id = fields.text(REFID)?.filter(|v| !v.is_empty());
    let Some(ref_id) = ref_id else {
        return Ok(Callback::Cancelled(CancelledCallback {
            protocol: Protocol::V2,
            code,
            client_ref_id,
            error_code: None,
        }));
    };
    Ok(Callback::Completed(CompletedCallback {
        protocol: Protocol::V2,
        amount: None,
        code,
        ref_id: RefId::new(ref_id).map_err(|e| invalid(REFID, e))?,
        client_ref_id,
        card_number: fields
            .text(CARDNUMBER)?
            .map(|v| CardNumber::new(v).map_err(|e| invalid(CARDNUMBER, e)))
            .transpose()?,
        card_hash: fields
            .text(CARDHASHPAN)?
            .map(|v| CardHash::new(v).map_err(|e| invalid(CARDHASHPAN, e)))
            .transpose()?,
    }))
}

fn invalid(index: usize, source: InvalidInput) -> CallbackError {
    CallbackError::InvalidField {
        name: KEYS[index],
        source,
    }
}

/// `callback` as v2's form: all five keys, in PayPing's order.
pub(crate) fn to_form(callback: &Callback) -> String {
    let opt = |v: Option<&str>| v.unwrap_or("").to_owned();
    let (ref_id, card_number, card_hash) = match callback {
        Callback::Completed(c) => (
            c.ref_id.as_str().to_owned(),
            opt(c.card_number.as_ref().map(CardNumber::as_str)),
            opt(c.card_hash.as_ref().map(CardHash::as_str)),
        ),
        Callback::Cancelled(_) => (String::new(), String::new(), String::new()),
    };
    let pairs = [
        (KEYS[CODE], callback.code().as_str().to_owned()),
        (KEYS[REFID], ref_id),
        (
            KEYS[CLIENTREFID],
            opt(callback.client_ref_id().map(ClientRefId::as_str)),
        ),
        (KEYS[CARDNUMBER], card_number),
        (KEYS[CARDHASHPAN], card_hash),
    ];
    // Serialising string pairs cannot fail; an empty form would be refused on parse.
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}
