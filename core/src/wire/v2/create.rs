//! `POST /v2/pay`'s answer: the code read back. (Its body is [`crate::wire::create`]'s.)

use serde::de::MapAccess;

use crate::error::Error;
use crate::text::PaymentCode;
use crate::wire::answer::Answer;
use crate::wire::json::Fields;

#[derive(Default)]
struct Created {
    code: Option<String>,
}

impl Fields for Created {
    const KEYS: &'static [&'static str] = &["code"];
    fn read<'de, A: MapAccess<'de>>(&mut self, _: usize, map: &mut A) -> Result<(), A::Error> {
        self.code = Some(map.next_value()?);
        Ok(())
    }
}

/// The payment code of a 200 answer.
pub(crate) fn read(answer: &Answer<'_>) -> Result<PaymentCode, Error> {
    let created: Created = answer.fields()?;
    let code = created
        .code
        .ok_or_else(|| answer.malformed("missing field `code`"))?;
    PaymentCode::new(code).map_err(|e| answer.malformed(e))
}
