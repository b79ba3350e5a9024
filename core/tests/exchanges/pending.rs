//! The stored record.

use super::*;

#[test]
fn pending_round_trips_through_json() {
    let with_id = pending();
    let rial = pending_with(&rial_config(), u64::from(MAX_TOMAN));
    let without_id = create(&config(), 100)
        .parse_response(
            http::Response::builder()
                .status(200)
                .body(br#"{"code":"x"}"#.to_vec())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(without_id.request_id(), None);
    for pending in [with_id, rial, without_id] {
        let stored = serde_json::to_string(&pending).unwrap();
        let loaded: Pending = serde_json::from_str(&stored).unwrap();
        assert_eq!(loaded, pending, "{stored}");
        // And a verify built from the loaded record sends what the original would.
        assert_eq!(
            VerifyPayment::from_ref_id(&config(), &loaded, RefId::new("1").unwrap())
                .unwrap()
                .to_request()
                .unwrap()
                .body(),
            VerifyPayment::from_ref_id(&config(), &pending, RefId::new("1").unwrap())
                .unwrap()
                .to_request()
                .unwrap()
                .body()
        );
    }
}

#[test]
fn pending_names_the_unit_in_its_stored_form() {
    let stored = serde_json::to_value(pending_with(&rial_config(), TOMAN)).unwrap();
    assert_eq!(stored["amount"], json!({"toman": 1_250_000}));
    assert_eq!(stored["wire_unit"], json!("rial"));
    assert_eq!(stored["code"], json!(CODE));
    assert_eq!(stored["client_ref_id"], json!(CLIENT_REF_ID));
    assert_eq!(stored["request_id"], json!(ID));
}

#[test]
fn a_tampered_stored_record_does_not_load() {
    let stored = serde_json::to_value(pending()).unwrap();
    let tampered = |field: &str, value: Value| {
        let mut record = stored.clone();
        match value {
            Value::Null => {
                record.as_object_mut().unwrap().remove(field);
            }
            value => record[field] = value,
        }
        serde_json::from_value::<Pending>(record)
    };
    for (field, value) in [
        ("amount", json!({"toman": 5})),
        ("amount", json!({"toman": 50_000_001})),
        ("amount", json!({"toman": -1})),
        ("amount", json!({"rial": 12_500_000})),
        ("amount", json!(1_250_000)),
        ("amount", Value::Null),
        ("code", json!("")),
        ("code", json!("..")),
        ("code", json!("82a4\nf72")),
        ("code", json!(42)),
        ("code", Value::Null),
        ("client_ref_id", json!("")),
        ("client_ref_id", json!("order\u{202e}1042")),
        ("wire_unit", json!("dollar")),
        ("wire_unit", json!("Toman")),
        ("redirect_url", json!("http://evil.example/installment/x")),
        ("redirect_url", json!("javascript:alert(1)")),
        ("redirect_url", json!("")),
        ("created_at", json!("yesterday")),
    ] {
        assert!(
            tampered(field, value.clone()).is_err(),
            "{field} = {value} must not load"
        );
    }
    assert!(
        tampered("request_id", Value::Null).is_ok(),
        "request id is optional"
    );
}

#[test]
fn a_redirect_shows_as_its_url() {
    let url = pending().redirect_url().clone();
    let page = "https://payping.ir/installment/82a4f72b91?type=ghesta";
    assert_eq!(url.to_string(), page);
    assert_eq!(format!("{url:?}"), format!("RedirectUrl({page:?})"));
}
