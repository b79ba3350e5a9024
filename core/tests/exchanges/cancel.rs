//! Cancel: the request, part by part, and every answer.

use super::*;

#[test]
fn cancel_request_is_a_bodiless_delete_of_the_code() {
    let exchange = cancel();
    assert_eq!(exchange.kind(), ExchangeKind::Cancel);
    assert_request(
        &exchange.to_request().unwrap(),
        Method::DELETE,
        "https://api.payping.ir/v2/pay/82a4f72b91",
        None,
    );
}

#[test]
fn cancel_200_or_204_is_cancelled_whatever_the_body() {
    for (status, body) in [(200, ""), (204, ""), (200, "{}"), (200, "<html>ok</html>")] {
        let cancelled = cancel().parse_response(answer(status, body)).unwrap();
        assert_eq!(cancelled.code().as_str(), CODE);
        assert_eq!(cancelled.request_id(), request_id().as_ref());
    }
}

#[test]
fn cancel_of_an_unknown_or_paid_code_is_refused() {
    let error = cancel()
        .parse_response(answer(400, r#"{"26":"کد پرداخت پیدا نشد"}"#))
        .unwrap_err();
    assert_eq!(error.code(), Some(PayPingCode::PaymentCodeNotFound));
    assert_eq!(
        cancel().parse_response(answer(404, "")).unwrap_err(),
        Error::NotFound {
            request_id: request_id()
        }
    );
}
