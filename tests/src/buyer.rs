//! What the buyer does on the gateway page, and the form that takes them back to the shop:
//! the state machine records the act, the payment's protocol face writes the form.

use std::time::SystemTime;

use crate::error::SandboxError;
use crate::state::{ApiVersion, BuyerAction, Refusal, Store};
use crate::{api_v2, api_v3};

/// The form a gateway makes the buyer's browser POST to the shop's `returnUrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackForm {
    /// Where the form goes (the payment's `returnUrl`).
    pub return_url: String,
    /// The fields in order: on v2 `code`, `refid`, `clientrefid`, `cardnumber`,
    /// `cardhashpan`; on v3 `status`, `errorCode`, `data` (a JSON string).
    pub fields: Vec<(String, String)>,
    /// The same fields, `application/x-www-form-urlencoded`.
    pub body: String,
}

impl CallbackForm {
    /// The value of a field, by exact name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The failure code a buyer failure gets when none is given, per protocol.
fn default_failure(version: ApiVersion) -> u32 {
    match version {
        ApiVersion::V2 => api_v2::DEFAULT_FAILURE_CODE,
        ApiVersion::V3 => api_v3::DEFAULT_V3_FAILURE_CODE,
    }
}

/// The buyer acts on the payment `code`; the callback form of its protocol.
pub(crate) fn act(
    store: &mut Store,
    code: &str,
    action: BuyerAction,
    now: SystemTime,
) -> Result<CallbackForm, SandboxError> {
    let p = store
        .buyer_action(code, action, now, default_failure)
        .map_err(|refusal| match refusal {
            Refusal::NotPayable(state) => SandboxError::NotPayable {
                code: code.to_owned(),
                state,
            },
            _ => SandboxError::UnknownPayment {
                code: code.to_owned(),
            },
        })?;
    let fields = match p.snap.version {
        ApiVersion::V2 => api_v2::callback_fields(p),
        ApiVersion::V3 => api_v3::callback_fields(p)?,
    };
    let body = serde_urlencoded::to_string(&fields).map_err(|e| SandboxError::Encoding {
        reason: e.to_string(),
    })?;
    Ok(CallbackForm {
        return_url: p.snap.return_url.clone(),
        fields,
        body,
    })
}
