//! The demo shop (`examples/checkout/shop.rs`) against the sandbox, without a browser: the
//! callback handler asks the settlement, so a cancelled callback is the browser's claim
//! only. A forged one (issue 20: v2 `code=anything&refid=&clientrefid=ORDER`, v3
//! `status=0`) shows the cart and leaves the order open; the buyer's real payment then
//! ships; a real cancel is released on PayPing's report.
//!
//! main (95bab5b) released the order on the forged cancel ("Payment cancelled").

#[path = "../examples/checkout/shop.rs"]
mod shop;

use std::net::SocketAddr;
use std::time::Duration;

use ghesta_blocking::Client;
use ghesta_core::{BaseUrl, Config, Gateway, Protocol, Token};
use ghesta_sandbox::{Options, PaymentState, Sandbox};

use shop::{Event, Outcome, Shop, ShopOptions};

/// Every step is local; this only bounds a broken run.
const WAIT: Duration = Duration::from_secs(30);

fn sandbox_and_shop(gateway: Gateway) -> (Sandbox, Shop) {
    let sandbox = Sandbox::start(Options::default()).expect("sandbox starts");
    let config = Config::new(Token::new(sandbox.token()).unwrap())
        .with_api_url(BaseUrl::api(sandbox.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sandbox.base_url()).unwrap())
        .with_gateway(gateway);
    let shop = Shop::start(
        Client::new(config),
        ShopOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            return_url: None,
            mobile: "09123456789".to_owned(),
        },
    )
    .expect("shop starts");
    (sandbox, shop)
}

/// The payment code of a new order.
fn order(shop: &Shop, order: &str) -> String {
    match shop.create(order) {
        Event::Created { code, .. } => code,
        other => panic!("{order}: {other:?}"),
    }
}

/// POSTs a form to the shop's return URL: the status and the page.
fn post(shop: &Shop, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(WAIT))
        .build()
        .into();
    let mut answer = agent
        .post(shop.return_url())
        .content_type("application/x-www-form-urlencoded")
        .send(body)
        .expect("the shop answers");
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap())
}

fn forged_cancel(gateway: Gateway, order: &str) -> String {
    match gateway.protocol() {
        Protocol::V3 => format!(
            "status=0&errorCode=&data=%7B%22paymentCode%22%3A%22anything%22%2C%22clientRefId%22%3A%22{order}%22%7D"
        ),
        _ => format!("code=anything&refid=&clientrefid={order}"),
    }
}

#[test]
fn a_forged_cancel_shows_the_cart_and_the_real_payment_is_verified() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
        let (sandbox, shop) = sandbox_and_shop(gateway);
        let code = order(&shop, "order-1");
        let (status, page) = post(&shop, &forged_cancel(gateway, "order-1"));
        assert_eq!(status, 200, "{gateway}: {page}");
        assert!(
            page.contains("Payment not confirmed yet"),
            "{gateway}: {page}"
        );
        assert!(page.contains("Your cart"), "{gateway}: {page}");
        let outcome = shop.wait_finished("order-1", WAIT, |_| {});
        assert!(
            matches!(outcome, Some(Outcome::Open { .. })),
            "{gateway}: {outcome:?}"
        );
        assert_eq!(sandbox.payment(&code).unwrap().state, PaymentState::Created);

        // The buyer pays after all.
        let form = sandbox.approve(&code).unwrap();
        let delivered = sandbox.deliver(&form).unwrap();
        assert!(
            delivered.body.contains("Payment verified"),
            "{gateway}: {}",
            delivered.body
        );
        let outcome = shop.wait_finished("order-1", WAIT, |_| {});
        assert!(
            matches!(outcome, Some(Outcome::Paid { .. })),
            "{gateway}: {outcome:?}"
        );

        // A real cancel: PayPing's report says so, and the order is released.
        let code = order(&shop, "order-2");
        let form = sandbox.cancel_as_buyer(&code).unwrap();
        let delivered = sandbox.deliver(&form).unwrap();
        assert!(
            delivered.body.contains("Payment cancelled"),
            "{gateway}: {}",
            delivered.body
        );
        let outcome = shop.wait_finished("order-2", WAIT, |_| {});
        assert_eq!(outcome, Some(Outcome::Cancelled), "{gateway}");
        assert_eq!(sandbox.requests_seen().verify, 1, "{gateway}: one verify");
    }
}
