//! Payment codes and refIds are matched exactly as sent: a padded or re-cased code is
//! another code, so unknown; a blank one is missing.

use super::*;

#[test]
fn a_padded_v2_code_or_ref_id_is_unknown() {
    let sb = start();
    let code = create(&sb, 3_000);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    for padded in [
        format!("%20{code}"),
        format!("{code}%20"),
        code.to_uppercase(),
    ] {
        let a = report_as(&sb, sb.token(), &padded);
        assert_eq!(error_code(&a), "26", "report of {padded:?}");
        let a = call(&sb, "DELETE", &format!("/v2/pay/{padded}"), None);
        assert_eq!(error_code(&a), "26", "cancel of {padded:?}");
    }
    for padded in [
        format!(" {ref_id}"),
        format!("{ref_id} "),
        format!("{ref_id}\n"),
    ] {
        assert_eq!(error_code(&verify(&sb, &padded, 3_000)), "44", "{padded:?}");
    }
    assert_eq!(
        error_code(&verify(&sb, "   ", 3_000)),
        "refId",
        "blank is missing"
    );
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);
    assert_eq!(verify(&sb, &ref_id, 3_000).status, 200);
}

#[test]
fn a_padded_v3_code_is_unknown_to_verify_delete_and_reverse() {
    let sb = start();
    let open = create_v3_as(&sb, sb.token(), 3_000);
    let code = create_v3_as(&sb, sb.token(), 3_000);
    let ref_id = payment_ref_id(&sb.approve(&code).unwrap());
    for padded in [format!(" {code}"), format!("{code} "), code.to_lowercase()] {
        let a = verify_v3_as(&sb, sb.token(), &padded, ref_id, 3_000);
        assert_eq!(problem_code(&a), (400, 122), "verify of {padded:?}");
        let reverse = json!({"paymentCode": padded, "paymentRefId": ref_id});
        let a = call(&sb, "POST", "/v3/pay/reverse", Some(&reverse));
        assert_eq!(problem_code(&a), (400, 122), "reverse of {padded:?}");
    }
    let delete = json!({"paymentCode": format!("{open} ")});
    let a = call(&sb, "DELETE", "/v3/pay", Some(&delete));
    assert_eq!(problem_code(&a), (400, 122), "delete of a padded code");
    assert_eq!(sb.payment(&open).unwrap().state, PaymentState::Created);
    let blank = json!({"paymentCode": "  ", "paymentRefId": ref_id, "amount": 3_000});
    let a = call(&sb, "POST", "/v3/pay/verify", Some(&blank));
    assert_eq!(problem_code(&a), (400, 101), "blank is missing");
    assert_eq!(sb.payment(&code).unwrap().verify_count, 0);
}
