//! A buyer may pay a payment long after it was created: the verify window runs from the
//! payment, on both protocols.

use super::*;

/// Ten minutes, the default verify window.
const WINDOW: Duration = Duration::from_secs(10 * 60);

#[test]
fn a_payment_paid_after_the_window_from_creation_is_verified_within_the_window_from_payment() {
    let sb = start();
    let v2 = create(&sb, 6_000);
    let v3 = create_v3_as(&sb, sb.token(), 6_000);
    sb.advance(3 * WINDOW);
    let form = sb.approve(&v2).expect("an unpaid code never expires");
    let ref_v2 = form.get("refid").unwrap().to_owned();
    let ref_v3 = payment_ref_id(&sb.approve(&v3).unwrap());
    for code in [&v2, &v3] {
        let p = sb.payment(code).unwrap();
        assert_eq!(p.state, PaymentState::Paid);
        assert!(p.paid_at.unwrap() >= p.created_at + 3 * WINDOW);
    }
    sb.advance(WINDOW - Duration::from_secs(1));
    assert_eq!(verify(&sb, &ref_v2, 6_000).status, 200);
    assert_eq!(
        verify_v3_as(&sb, sb.token(), &v3, ref_v3, 6_000).status,
        200
    );
}

#[test]
fn a_late_payment_still_expires_a_window_after_it_was_paid() {
    let sb = start();
    let code = create(&sb, 6_000);
    sb.advance(2 * WINDOW);
    let ref_id = sb.approve(&code).unwrap().get("refid").unwrap().to_owned();
    sb.advance(WINDOW + Duration::from_secs(1));
    assert_eq!(
        error_code(&verify(&sb, &ref_id, 6_000)),
        DEFAULT_FAILURE_CODE.to_string()
    );
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Expired);
}
