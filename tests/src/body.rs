//! Request bodies as PayPing's model binding reads them: one JSON object, member names matched
//! ignoring ASCII case, `null` as absent. Both API faces read their bodies here and render the
//! refusal in their own error format.

use serde_json::{Map, Value};

/// Parses a JSON object body (`None`: over the size limit or unreadable), or says in Persian
/// what is wrong with it.
pub(crate) fn parse_object(body: Option<&[u8]>) -> Result<Map<String, Value>, &'static str> {
    let body = body.ok_or("بدنه درخواست بیش از حد بزرگ است")?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err("بدنه درخواست باید یک شیء JSON باشد"),
        Err(_) => Err("بدنه درخواست JSON معتبر نیست"),
    }
}

/// A member by name, ignoring ASCII case (as PayPing's model binding does); null is absent.
pub(crate) fn member<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

/// A required text member: a JSON string that is not blank. The text is kept exactly as sent
/// (a payment code is never trimmed: a padded code is another code); only the presence check
/// looks past white space, as ASP.NET's `[Required]` does.
pub(crate) fn required_text<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    match member(obj, name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}
