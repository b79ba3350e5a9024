//! The spec's schemas and a checker small enough to trust by reading.

use super::*;

pub(crate) const SPEC: &str = include_str!("../data/payping-spec-constraints.json");

#[derive(Deserialize)]
pub(crate) struct Spec {
    #[serde(rename = "_source")]
    pub(crate) source: String,
    pub(crate) schemas: HashMap<String, Schema>,
}

#[derive(Deserialize)]
pub(crate) struct Schema {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) required: Vec<String>,
    pub(crate) properties: Ordered<Property>,
}

#[derive(Deserialize)]
pub(crate) struct Property {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) format: Option<String>,
    #[serde(default)]
    pub(crate) minimum: Option<i64>,
    #[serde(default)]
    pub(crate) maximum: Option<i64>,
}

/// A JSON object's entries in document order (serde_json's `Value` may sort its keys).
pub(crate) struct Ordered<T>(pub(crate) Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Entries<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Entries(std::marker::PhantomData))
    }
}

pub(crate) fn spec() -> Spec {
    serde_json::from_str(SPEC).expect("the spec constraints file is valid JSON")
}

/// Every way `body` breaks the spec's schema `name`: a required field missing, a field the
/// spec does not know (which also catches wrong casing), a wrong JSON type, an integer out
/// of `int32` or of the schema's minimum/maximum, or fields out of the spec's order.
pub(crate) fn schema_problems(name: &str, body: &[u8]) -> Vec<String> {
    let spec = spec();
    let schema = &spec.schemas[name];
    assert_eq!(schema.kind, "object");
    let Ok(fields) = serde_json::from_slice::<Ordered<Value>>(body) else {
        return vec![format!(
            "not a JSON object: {}",
            String::from_utf8_lossy(body)
        )];
    };
    let mut problems = Vec::new();
    for required in &schema.required {
        if !fields.0.iter().any(|(k, _)| k == required) {
            problems.push(format!("{required}: required but missing"));
        }
    }
    let mut last_position = 0;
    for (key, value) in &fields.0 {
        let Some(position) = schema.properties.0.iter().position(|(k, _)| k == key) else {
            problems.push(format!("{key}: not a field of {name}"));
            continue;
        };
        if position < last_position {
            problems.push(format!("{key}: out of the spec's field order"));
        }
        last_position = position;
        let property = &schema.properties.0[position].1;
        match property.kind.as_str() {
            "string" if !value.is_string() => problems.push(format!("{key}: not a string")),
            "boolean" if !value.is_boolean() => problems.push(format!("{key}: not a boolean")),
            "integer" => {
                let n = value
                    .as_i64()
                    .map(i128::from)
                    .or_else(|| value.as_u64().map(i128::from));
                let Some(n) = n else {
                    problems.push(format!("{key}: not an integer"));
                    continue;
                };
                if property.format.as_deref() == Some("int32") && i32::try_from(n).is_err() {
                    problems.push(format!("{key}: {n} does not fit int32"));
                }
                if property.minimum.is_some_and(|min| n < i128::from(min)) {
                    problems.push(format!("{key}: {n} is below the minimum"));
                }
                if property.maximum.is_some_and(|max| n > i128::from(max)) {
                    problems.push(format!("{key}: {n} is above the maximum"));
                }
            }
            "string" | "boolean" => {}
            other => problems.push(format!("{key}: the checker does not know type {other}")),
        }
    }
    problems
}

#[test]
fn spec_constraints_name_their_source_and_hold_the_documented_facts() {
    let spec = spec();
    assert!(spec.source.contains("payping/API-Documents"));
    assert!(spec.source.contains("spec/openapi.json"));
    for name in [
        "CreatePaymentViewModel",
        "VerifyPaymentViewModel",
        "PaymentResult",
        "VerifyResult",
        "PaymentDetailsViewModel",
    ] {
        assert!(spec.schemas.contains_key(name), "{name}");
    }
    let create = &spec.schemas["CreatePaymentViewModel"];
    assert_eq!(create.required, ["amount", "returnUrl"]);
    let keys: Vec<_> = create
        .properties
        .0
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "amount",
            "payerIdentity",
            "payerName",
            "description",
            "returnUrl",
            "clientRefId"
        ]
    );
    let amount = &create.properties.0[0].1;
    assert_eq!(amount.kind, "integer");
    // The crate's bounds are the spec's.
    assert_eq!(amount.minimum, Some(i64::from(MIN_TOMAN)));
    assert_eq!(amount.maximum, Some(i64::from(MAX_TOMAN)));
    assert_eq!(
        spec.schemas["VerifyPaymentViewModel"].required,
        ["amount", "refId"]
    );
}

/// The checker must be able to fail, or the tests that use it prove nothing.
#[test]
fn schema_checker_finds_each_kind_of_problem() {
    let create = "CreatePaymentViewModel";
    assert_eq!(
        schema_problems(create, br#"{"amount":100,"returnUrl":"https://a.example"}"#),
        Vec::<String>::new()
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100}"#),
        ["returnUrl: required but missing"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100,"ReturnUrl":"x","returnUrl":"x"}"#),
        ["ReturnUrl: not a field of CreatePaymentViewModel"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":"100","returnUrl":7}"#),
        ["amount: not an integer", "returnUrl: not a string"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":100.5,"returnUrl":"x"}"#),
        ["amount: not an integer"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":99,"returnUrl":"x"}"#),
        ["amount: 99 is below the minimum"]
    );
    assert_eq!(
        schema_problems(create, br#"{"amount":3000000000,"returnUrl":"x"}"#),
        [
            "amount: 3000000000 does not fit int32",
            "amount: 3000000000 is above the maximum"
        ]
    );
    assert_eq!(
        schema_problems(create, br#"{"returnUrl":"x","amount":100}"#),
        ["amount: out of the spec's field order"]
    );
    assert_eq!(
        schema_problems("VerifyPaymentViewModel", b"[1]"),
        ["not a JSON object: [1]"]
    );
}
