//! v3's callback form: `status` (1 paid, 0 not), `errorCode`, and `data`, a JSON string
//! holding `clientRefId`, `paymentCode`, `paymentRefId`, `amount`, `gatewayAmount`,
//! `cardNumber` and `cardHashPan`.
//!
//! Not signed: only verify proves a payment. The early flat shape (`Status`,
//! `PaymentRefId` as form keys, 2024 samples) is used by nothing maintained and is not
//! read.

use serde::de::MapAccess;

use crate::callback::{Callback, CallbackError, CancelledCallback, CompletedCallback};
use crate::code::PayPingCode;
use crate::code::code_in_key;
use crate::gateway::Protocol;
use crate::invalid::InvalidInput;
use crate::text::{CardHash, CardNumber, ClientRefId, PaymentCode, RefId};
use crate::wire::callback::{CallbackForm, KEYS};
use crate::wire::json::{self, Fields};

// v3's keys, by their place in the callback's key table.
const STATUS: usize = 5;
const ERROR_CODE: usize = 6;
const DATA: usize = 7;

/// `data`'s keys, exactly as PayPing spells them; a case twin or a key twice is refused.
#[derive(Default)]
struct Data {
    client_ref_id: Option<String>,
    payment_code: Option<String>,
    payment_ref_id: Option<u64>,
    amount: Option<u64>,
    card_number: Option<String>,
    card_hash_pan: Option<String>,
}

const DATA_KEYS: &[&str] = &[
    "clientRefId",
    "paymentCode",
    "paymentRefId",
    "amount",
    "gatewayAmount",
    "cardNumber",
    "cardHashPan",
];

impl Fields for Data {
    const KEYS: &'static [&'static str] = DATA_KEYS;
    const REFUSE_CODE_KEYS: bool = false;
    fn read<'de, A: MapAccess<'de>>(&mut self, index: usize, map: &mut A) -> Result<(), A::Error> {
        match index {
            0 => self.client_ref_id = map.next_value()?,
            1 => self.payment_code = map.next_value()?,
            2 => self.payment_ref_id = map.next_value()?,
            3 => self.amount = map.next_value()?,
            // Read for its type only: what the payer was charged, fees included.
            4 => {
                map.next_value::<Option<u64>>()?;
            }
            5 => self.card_number = map.next_value()?,
            _ => self.card_hash_pan = map.next_value()?,
        }
        Ok(())
    }
}

/// Reads v3's callback form.
pub(crate) fn read(form: &CallbackForm<'_>) -> Result<Callback, CallbackError> {
    let paid = match form.text(STATUS)?.as_deref() {
        Some("1") => true,
        Some("0") => false,
        Some(other) => {
            return Err(malformed(
                STATUS,
                format_args!("{:?} is neither 1 (paid) nor 0 (not paid)", bounded(other)),
            ));
        }
        None => return Err(CallbackError::MissingField { name: KEYS[STATUS] }),
    };
    let error_code = match form.text(ERROR_CODE)? {
        None => None,
        Some(text) => match code_in_key(&text) {
            Some(n) => Some(PayPingCode::from_number(n)),
            None => {
                return Err(malformed(
                    ERROR_CODE,
                    format_args!("{:?} is not a PayPing code", bounded(&text)),
                ));
            }
        },
    };
    if paid && error_code.is_some() {
        return Err(malformed(
            ERROR_CODE,
            "a paid status beside an error code says two things",
        ));
    }
    let data = form
        .text(DATA)?
        .ok_or(CallbackError::MissingField { name: KEYS[DATA] })?;
    let data: Data = json::read(data.as_bytes()).map_err(|e| malformed(DATA, e))?;
    let code = match data.payment_code {
        Some(code) => PaymentCode::new(code).map_err(|e| invalid(1, e))?,
        None => {
            return Err(CallbackError::MissingField { name: DATA_KEYS[1] });
        }
    };
    let client_ref_id = data
        .client_ref_id
        .filter(|id| !id.is_empty())
        .map(|id| ClientRefId::new(id).map_err(|e| invalid(0, e)))
        .transpose()?;
    if !paid {
        return Ok(Callback::Cancelled(CancelledCallback {
            protocol: Protocol::V3,
            code,
            client_ref_id,
            error_code,
        }));
    }
    let ref_id = match data.payment_ref_id {
        Some(0) => return Err(malformed(DATA, "`paymentRefId` 0 names no payment")),
        Some(id) => RefId::new(id.to_string()).map_err(|e| invalid(2, e))?,
        None => {
            return Err(CallbackError::MissingField { name: DATA_KEYS[2] });
        }
    };
    Ok(Callback::Completed(CompletedCallback {
        protocol: Protocol::V3,
        code,
        ref_id,
        client_ref_id,
        amount: data.amount,
        card_number: data
            .card_number
            .filter(|v| !v.is_empty())
            .map(|v| CardNumber::new(v).map_err(|e| invalid(5, e)))
            .transpose()?,
        card_hash: data
            .card_hash_pan
            .filter(|v| !v.is_empty())
            .map(|v| CardHash::new(v).map_err(|e| invalid(6, e)))
            .transpose()?,
    }))
}

/// `callback` as v3's form: `status`, `errorCode` and `data`, as PayPing posts them.
pub(crate) fn to_form(callback: &Callback) -> String {
    let mut data = serde_json::Map::new();
    let mut put = |key: &str, value: serde_json::Value| {
        data.insert(key.to_owned(), value);
    };
    if let Some(id) = callback.client_ref_id() {
        put(DATA_KEYS[0], id.as_str().into());
    }
    put(DATA_KEYS[1], callback.code().as_str().into());
    let (status, error_code) = match callback {
        Callback::Completed(c) => {
            // A v3 refId is read from an integer; one that is not cannot be written as one.
            if let Ok(id) = c.ref_id().as_str().parse::<u64>() {
                put(DATA_KEYS[2], id.into());
            }
            if let Some(amount) = c.amount() {
                put(DATA_KEYS[3], amount.into());
            }
            if let Some(card) = c.card_number() {
                put(DATA_KEYS[5], card.as_str().into());
            }
            if let Some(hash) = c.card_hash() {
                put(DATA_KEYS[6], hash.as_str().into());
            }
            ("1", String::new())
        }
        Callback::Cancelled(c) => (
            "0",
            c.error_code()
                .map(|code| code.number().to_string())
                .unwrap_or_default(),
        ),
    };
    let data = serde_json::Value::Object(data).to_string();
    let pairs = [
        (KEYS[STATUS], status),
        (KEYS[ERROR_CODE], error_code.as_str()),
        (KEYS[DATA], data.as_str()),
    ];
    // Serialising string pairs cannot fail; an empty form would be refused on parse.
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

fn invalid(data_index: usize, source: InvalidInput) -> CallbackError {
    CallbackError::InvalidField {
        name: DATA_KEYS[data_index],
        source,
    }
}

fn malformed(index: usize, reason: impl std::fmt::Display) -> CallbackError {
    let mut reason = reason.to_string();
    crate::snippet::truncate(&mut reason, crate::snippet::SNIPPET_BYTES);
    CallbackError::Malformed {
        name: KEYS[index],
        reason,
    }
}

/// At most 32 bytes of a value echoed in an error.
fn bounded(text: &str) -> &str {
    let mut end = text.len().min(32);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
