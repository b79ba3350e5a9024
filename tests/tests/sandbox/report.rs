//! The report's `paymentStatus` through a payment's life, on both protocols, and the option
//! that makes it answer 404 for v3 payments.

use super::*;

fn status(sb: &Sandbox, code: &str) -> u64 {
    let a = report_as(sb, sb.token(), code);
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["paymentStatus"].as_u64().unwrap()
}

#[test]
fn status_5_lasts_past_the_window_until_a_verify_voids_it() {
    let sb = start();
    let window = Duration::from_secs(10 * 60);
    let v2 = create(&sb, 4_000);
    let v3 = create_v3_as(&sb, sb.token(), 4_000);
    assert_eq!((status(&sb, &v2), status(&sb, &v3)), (0, 0));
    let ref_v2 = sb.approve(&v2).unwrap().get("refid").unwrap().to_owned();
    let ref_v3 = payment_ref_id(&sb.approve(&v3).unwrap());
    sb.advance(window + Duration::from_secs(60));
    // Paid, past the window, never verified: PayPing has not voided it yet.
    assert_eq!((status(&sb, &v2), status(&sb, &v3)), (5, 5));
    assert_eq!(sb.payment(&v2).unwrap().state, PaymentState::Paid);

    assert_eq!(
        error_code(&verify(&sb, &ref_v2, 4_000)),
        DEFAULT_FAILURE_CODE.to_string()
    );
    let late = verify_v3_as(&sb, sb.token(), &v3, ref_v3, 4_000);
    assert_eq!(problem_code(&late), (400, 131));
    assert_eq!((status(&sb, &v2), status(&sb, &v3)), (4, 4));
    for code in [&v2, &v3] {
        assert_eq!(sb.payment(code).unwrap().state, PaymentState::Expired);
    }
}

#[test]
fn statuses_1_and_3() {
    let sb = start();
    let verified = create(&sb, 4_000);
    let ref_id = sb
        .approve(&verified)
        .unwrap()
        .get("refid")
        .unwrap()
        .to_owned();
    assert_eq!(verify(&sb, &ref_id, 4_000).status, 200);
    let cancelled = create(&sb, 4_000);
    sb.cancel_as_buyer(&cancelled).unwrap();
    let failed = create(&sb, 4_000);
    sb.fail(&failed, 12).unwrap();
    let shop_cancelled = create(&sb, 4_000);
    let a = call(&sb, "DELETE", &format!("/v2/pay/{shop_cancelled}"), None);
    assert_eq!(a.status, 200);
    assert_eq!(
        [&verified, &cancelled, &failed, &shop_cancelled].map(|c| status(&sb, c)),
        [1, 3, 3, 3]
    );
}

#[test]
fn report_v3_codes_off_answers_404_for_v3_payments_only() {
    let sb = Sandbox::start(Options::default().extra_token(OTHER).report_v3_codes(false)).unwrap();
    let v3 = create_v3_as(&sb, sb.token(), 4_000);
    let v2 = create(&sb, 4_000);
    let a = report_as(&sb, sb.token(), &v3);
    assert_eq!((a.status, a.body.as_str()), (404, ""));
    assert!(a.request_id.is_some(), "PayPing's answer, not the router's");
    assert_eq!(status(&sb, &v2), 0);
    // Another merchant still learns only that the code is not its own.
    assert_eq!(error_code(&report_as(&sb, OTHER, &v3)), "26");

    // The default serves both.
    let sb = start();
    let v3 = create_v3_as(&sb, sb.token(), 4_000);
    assert_eq!(status(&sb, &v3), 0);
}
