//! The `/__sandbox/` control endpoints.

use super::*;

#[test]
fn control_endpoints_list_and_act() {
    let sb = start();
    let code = create(&sb, 4_000);
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/approve"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["returnUrl"], "http://127.0.0.1:9/back");
    assert_eq!(v["fields"][0], json!(["code", code]));
    assert_eq!(v["delivery"], Value::Null);
    let list = call(&sb, "GET", "/__sandbox/payments", None).json();
    assert_eq!(list[0]["state"], "paid");
    assert_eq!(list[0]["refId"], v["fields"][1][1]);
    let code2 = create(&sb, 4_000);
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code2}/fail?code=12"),
        None,
    );
    assert_eq!(a.status, 200);
    let one = call(&sb, "GET", &format!("/__sandbox/payments/{code2}"), None).json();
    assert_eq!(
        (one["state"].as_str(), one["failureCode"].as_u64()),
        (Some("failed"), Some(12))
    );
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code2}/approve"),
        None,
    );
    assert_eq!(a.status, 409);
    let a = call(&sb, "POST", "/__sandbox/payments/nope/approve", None);
    assert_eq!(a.status, 404);
    let a = call(&sb, "GET", "/__sandbox/clock", None);
    assert!(a.json()["now"].as_str().unwrap().ends_with('Z'));
}
