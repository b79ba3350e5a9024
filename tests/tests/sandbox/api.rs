//! PayPing's v2 API as the sandbox serves it: create, verify, report, cancel, the clock.

use super::*;

#[test]
fn create_happy_path_and_validation() {
    let sb = start();
    let code = create(&sb, 10_000);
    assert!(code.len() >= 8 && code.chars().all(|c| c.is_ascii_alphanumeric()));
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::Created);
    assert_eq!(p.amount, 10_000);
    assert_eq!(p.client_ref_id.as_deref(), Some("order-42"));
    assert_ne!(code, create(&sb, 10_000), "codes are unique");

    let url = format!("{}/v2/pay", sb.base_url());
    let ag = agent();
    let good = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/x"});
    let a = try_call(&ag, "POST", &url, None, Some(&good)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));
    assert!(a.request_id.is_some());
    let a = try_call(&ag, "POST", &url, Some("wrong"), Some(&good)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));

    // The scheme is case-insensitive.
    let r = Request::post(&url)
        .header("Authorization", format!("bearer {}", sb.token()))
        .body(good.to_string())
        .unwrap();
    assert_eq!(to_answer(ag.run(r).unwrap()).unwrap().status, 200);

    for amount in [
        json!(99),
        json!(50_000_001),
        json!("1000"),
        json!(100.5),
        json!(null),
    ] {
        let a = call(
            &sb,
            "POST",
            "/v2/pay",
            Some(&json!({"amount": amount, "returnUrl": "http://x/"})),
        );
        assert_eq!(error_code(&a), "amount", "{amount}");
    }
    for amount in [100, 50_000_000] {
        let body = json!({"amount": amount, "returnUrl": "http://x/"});
        assert_eq!(call(&sb, "POST", "/v2/pay", Some(&body)).status, 200);
    }
    let a = call(&sb, "POST", "/v2/pay", Some(&json!({"amount": 1000})));
    assert_eq!(error_code(&a), "returnUrl");
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": ""})),
    );
    assert_eq!(error_code(&a), "returnUrl");
    let a = call(&sb, "POST", "/v2/pay", Some(&json!({})));
    let v = a.json();
    assert!(
        v.get("amount").is_some() && v.get("returnUrl").is_some(),
        "{v}"
    );

    let r = Request::post(&url)
        .header("Authorization", format!("Bearer {}", sb.token()))
        .body("{\"amount\": ")
        .unwrap();
    let a = to_answer(ag.run(r).unwrap()).unwrap();
    assert_eq!(error_code(&a), "body");

    // Duplicate clientRefId is accepted.
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://x/", "clientRefId": "order-42"})),
    );
    assert_eq!(a.status, 200);
}

#[test]
fn verify_success_then_already_verified_and_reports() {
    let sb = start();
    let code = create(&sb, 25_000);

    let report = call(&sb, "GET", &format!("/v1/report/{code}"), None);
    assert_eq!(report.status, 200);
    let r = report.json();
    assert_eq!(r["amount"], 25_000);
    assert_eq!(r["isPaid"], false);
    assert_eq!(r["payDate"], Value::Null);
    assert_eq!(r["invoiceNo"], Value::Null);
    assert_eq!(r["clientRefId"], "order-42");
    assert_eq!(r["name"], "Sara <Ahmadi>");
    assert_eq!(r["ipgName"], "Ghesta");
    assert!(r["reqDate"].as_str().unwrap().ends_with('Z'));

    let form = sb.approve(&code).unwrap();
    let ref_id = form.get("refid").unwrap().to_owned();
    assert_eq!(ref_id.len(), 9);
    assert!(ref_id.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);

    let a = verify(&sb, &ref_id, 25_000);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    let v = a.json();
    assert_eq!(v["amount"], 25_000);
    assert_eq!(v["cardNumber"].as_str(), form.get("cardnumber"));
    assert!(
        v["cardNumber"]
            .as_str()
            .unwrap()
            .starts_with("603799******")
    );
    let hash = v["cardHashPan"].as_str().unwrap();
    assert_eq!(hash.len(), 64);
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);

    let again = verify(&sb, &ref_id, 25_000);
    assert_eq!(error_code(&again), "15");
    assert_eq!(again.json()["15"], "این تراکنش قبلا تایید شده است");
    assert_eq!(sb.payment(&code).unwrap().verify_count, 2);

    let r = call(&sb, "GET", &format!("/v1/report/{code}"), None).json();
    assert_eq!(r["isPaid"], true);
    assert_eq!(r["invoiceNo"], ref_id.as_str());
    assert!(r["payDate"].as_str().is_some());
    assert_eq!(r["rrn"].as_str(), form.get("cardnumber"));

    let a = call(&sb, "GET", "/v1/report/nosuchcode", None);
    assert_eq!(error_code(&a), "26");
}

#[test]
fn verify_amount_mismatch_unknown_ref_and_other_token() {
    let sb = start();
    let code = create(&sb, 5_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();

    assert_eq!(error_code(&verify(&sb, &ref_id, 5_001)), "47");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);
    assert_eq!(error_code(&verify(&sb, "123", 5_000)), "44");
    assert_eq!(error_code(&verify(&sb, &ref_id, 50)), "amount");
    let a = call(
        &sb,
        "POST",
        "/v2/pay/verify",
        Some(&json!({"amount": 5000})),
    );
    assert_eq!(error_code(&a), "refId");

    let url = format!("{}/v2/pay/verify", sb.base_url());
    let body = json!({"refId": ref_id, "amount": 5_000});
    let a = try_call(&agent(), "POST", &url, Some("other-token"), Some(&body)).unwrap();
    assert_eq!(error_code(&a), "46");
    let a = try_call(&agent(), "POST", &url, None, Some(&body)).unwrap();
    assert_eq!((a.status, a.body.as_str()), (401, ""));
    // Another merchant's payment is unknown to its cancel.
    let del = format!("{}/v2/pay/{code}", sb.base_url());
    let a = try_call(&agent(), "DELETE", &del, Some("other-token"), None).unwrap();
    assert_eq!(error_code(&a), "26");

    // The correct verify still works within the window.
    assert_eq!(verify(&sb, &ref_id, 5_000).status, 200);
}

#[test]
fn buyer_cancel_and_failure_answer_their_codes() {
    let sb = start();
    let code = create(&sb, 1_000);
    let form = sb.cancel_as_buyer(&code).unwrap();
    assert_eq!(form.get("code"), Some(code.as_str()));
    assert_eq!(form.get("refid"), Some(""));
    assert_eq!(form.get("clientrefid"), Some("order-42"));
    assert_eq!(form.get("cardnumber"), Some(""));
    assert_eq!(form.get("cardhashpan"), Some(""));
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::CancelledByBuyer);
    assert_eq!(
        error_code(&verify(&sb, p.ref_id.as_deref().unwrap(), 1_000)),
        "1"
    );
    assert!(matches!(
        sb.approve(&code),
        Err(SandboxError::NotPayable {
            state: PaymentState::CancelledByBuyer,
            ..
        })
    ));

    let code = create(&sb, 1_000);
    let form = sb.fail(&code, 4).unwrap();
    let ref_id = form.get("refid").unwrap();
    assert!(!ref_id.is_empty());
    assert_eq!(form.get("cardnumber"), Some(""));
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Failed { code: 4 }
    );
    assert_eq!(error_code(&verify(&sb, ref_id, 1_000)), "4");

    let code = create(&sb, 1_000);
    let ref_id = sb
        .fail(&code, DEFAULT_FAILURE_CODE)
        .unwrap()
        .get("refid")
        .unwrap()
        .to_owned();
    assert_eq!(error_code(&verify(&sb, &ref_id, 1_000)), "39");

    assert!(matches!(
        sb.approve("nope"),
        Err(SandboxError::UnknownPayment { .. })
    ));
}

#[test]
fn verify_window_expires_on_the_advanced_clock() {
    let sb = Sandbox::start(Options::default().verify_window(Duration::from_secs(60))).unwrap();
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    sb.advance(Duration::from_secs(61));
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "39");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Expired);
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "39");

    let sb = Sandbox::start(Options::default().expired_code(48)).unwrap();
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    sb.advance(Duration::from_secs(9 * 60));
    assert_eq!(verify(&sb, &ref_id, 2_000).status, 200);
    let code = create(&sb, 2_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    // Over HTTP this time.
    let a = call(&sb, "POST", "/__sandbox/clock/advance?seconds=601", None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(error_code(&verify(&sb, &ref_id, 2_000)), "48");
}

#[test]
fn shop_cancel_then_verify_answers_1() {
    let sb = start();
    let code = create(&sb, 3_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    let a = call(&sb, "DELETE", &format!("/v2/pay/{code}"), None);
    assert_eq!((a.status, a.body.as_str()), (200, ""));
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::CancelledByShop
    );
    assert_eq!(error_code(&verify(&sb, &ref_id, 3_000)), "1");

    let code = create(&sb, 3_000);
    assert_eq!(
        call(&sb, "DELETE", &format!("/v2/pay/{code}"), None).status,
        200
    );
    assert!(sb.approve(&code).is_err());
    let page = call(
        &sb,
        "GET",
        &format!("/installment/{code}?type=ghesta"),
        None,
    );
    assert_eq!(page.status, 409);

    let a = call(&sb, "DELETE", "/v2/pay/nosuchcode", None);
    assert_eq!(error_code(&a), "26");

    let code = create(&sb, 3_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    assert_eq!(verify(&sb, &ref_id, 3_000).status, 200);
    let a = call(&sb, "DELETE", &format!("/v2/pay/{code}"), None);
    assert_eq!(error_code(&a), "15");
}

#[test]
fn every_answer_carries_a_request_id() {
    let sb = start();
    let code = create(&sb, 1_000);
    let base = sb.base_url().to_owned();
    let ag = agent();
    let mut ids = Vec::new();
    let cases: Vec<(&str, String, Option<&str>, u16)> = vec![
        ("POST", "/v2/pay".into(), None, 401),
        ("GET", "/v2/pay".into(), Some(sb.token()), 405),
        ("GET", "/nowhere".into(), Some(sb.token()), 404),
        ("GET", format!("/v1/report/{code}"), Some(sb.token()), 200),
        ("GET", format!("/installment/{code}"), None, 200),
        ("GET", "/__sandbox/payments".into(), None, 200),
        ("POST", "/v2/pay/verify".into(), Some(sb.token()), 400),
    ];
    for (method, path, token, status) in cases {
        let a = try_call(&ag, method, &format!("{base}{path}"), token, None).unwrap();
        assert_eq!(a.status, status, "{method} {path}: {}", a.body);
        let id = a
            .request_id
            .unwrap_or_else(|| panic!("{method} {path}: no id"));
        assert!(id.starts_with("sbx-"));
        ids.push(id);
    }
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "ids are unique");
}
