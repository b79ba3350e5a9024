//! Several merchants on one sandbox: every route is the creating merchant's alone, and the
//! payments can be listed per merchant.

use super::*;

/// What the report answers for a code nobody has: another merchant's payment must look the
/// same, byte for byte but the request id.
fn unknown_report(sb: &Sandbox, token: &str) -> (u16, String) {
    let a = report_as(sb, token, "nosuchcode");
    (a.status, a.body)
}

#[test]
fn another_merchants_v2_payment_is_unknown_to_its_report_and_cancel() {
    let sb = start();
    let code = create(&sb, 5_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();

    let theirs = report_as(&sb, OTHER, &code);
    assert_eq!((theirs.status, theirs.body), unknown_report(&sb, OTHER));
    assert_eq!(
        report_as(&sb, sb.token(), &code).status,
        200,
        "the owner reads it"
    );

    let cancel = call_as(&sb, OTHER, "DELETE", &format!("/v2/pay/{code}"), None);
    assert_eq!(error_code(&cancel), "26");
    // v2's verify names it, as PayPing documents (46), and changes nothing.
    let body = json!({"refId": ref_id, "amount": 5_000});
    let theirs = call_as(&sb, OTHER, "POST", "/v2/pay/verify", Some(&body));
    assert_eq!(error_code(&theirs), "46");
    let p = sb.payment(&code).unwrap();
    assert_eq!((p.state, p.verify_count), (PaymentState::Paid, 0));
    assert_eq!(
        verify(&sb, &ref_id, 5_000).status,
        200,
        "the owner verifies it"
    );
}

#[test]
fn another_merchants_v3_payment_is_unknown_to_every_v3_call_and_the_report() {
    let sb = start();
    let code = create_v3_as(&sb, sb.token(), 7_000);
    let ref_id = payment_ref_id(&sb.approve(&code).unwrap());
    let unknown = verify_v3_as(&sb, OTHER, "NOSUCHCODE", ref_id, 7_000);
    assert_eq!(problem_code(&unknown), (400, 122));

    let theirs = report_as(&sb, OTHER, &code);
    assert_eq!((theirs.status, theirs.body), unknown_report(&sb, OTHER));
    assert_eq!(
        problem_code(&verify_v3_as(&sb, OTHER, &code, ref_id, 7_000)),
        (400, 122)
    );
    let delete = json!({"paymentCode": code});
    let a = call_as(&sb, OTHER, "DELETE", "/v3/pay", Some(&delete));
    assert_eq!(problem_code(&a), (400, 122));
    assert_eq!(sb.payment(&code).unwrap().verify_count, 0);

    assert_eq!(
        verify_v3_as(&sb, sb.token(), &code, ref_id, 7_000).status,
        200
    );
    let reverse = json!({"paymentCode": code, "paymentRefId": ref_id});
    let a = call_as(&sb, OTHER, "POST", "/v3/pay/reverse", Some(&reverse));
    assert_eq!(problem_code(&a), (400, 122));
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Verified);
    let a = call_as(&sb, sb.token(), "POST", "/v3/pay/reverse", Some(&reverse));
    assert_eq!(a.status, 200, "the owner refunds it: {}", a.body);
}

#[test]
fn payments_are_listed_per_merchant() {
    let sb = start();
    let mine = [create(&sb, 1_000), create_v3_as(&sb, sb.token(), 1_000)];
    let theirs = [create_as(&sb, OTHER, 2_000)];
    let codes = |list: Vec<ghesta_sandbox::PaymentSnapshot>| {
        list.into_iter().map(|p| p.code).collect::<Vec<_>>()
    };
    assert_eq!(codes(sb.payments_of(sb.token())), mine);
    assert_eq!(codes(sb.payments_of(OTHER)), theirs);
    assert!(sb.payments_of("nobody").is_empty());
    assert_eq!(sb.payments().len(), 3);

    let listed = |query: &str| {
        let a = call(&sb, "GET", &format!("/__sandbox/payments{query}"), None);
        assert_eq!(a.status, 200, "{}", a.body);
        let list = a.json();
        list.as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(&format!("?token={OTHER}")), theirs);
    assert_eq!(listed(&format!("?token={}", sb.token())), mine);
    assert_eq!(listed("").len(), 3);
    let a = call(&sb, "GET", "/__sandbox/payments?token=nobody", None);
    assert_eq!(a.status, 400, "an unknown token is a mistake: {}", a.body);
}
