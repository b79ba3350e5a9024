//! The buyer's side: the gateway pages, their buttons, and the callback form delivered to a shop.

use super::*;

#[test]
fn gateway_pages_show_the_payment_and_buttons() {
    let sb = start();
    let code = create(&sb, 1_250_000);
    for path in [
        format!("/installment/{code}?type=ghesta"),
        format!("/v2/pay/gotoipg/{code}"),
    ] {
        let a = call(&sb, "GET", &path, None);
        assert_eq!(a.status, 200);
        assert_eq!(a.content_type.as_deref(), Some("text/html; charset=utf-8"));
        let html = &a.body;
        assert!(html.contains("lang=\"fa\" dir=\"rtl\""));
        assert!(html.contains("1,250,000"));
        assert!(html.contains("data-amount=\"1250000\""));
        assert!(html.contains("09120000000"));
        assert!(html.contains("Sara &lt;Ahmadi&gt;"), "escaped");
        assert!(html.contains("order 42"));
        for action in ["approve", "cancel", "fail"] {
            assert!(html.contains(&format!("<button id=\"{action}\"")));
            assert!(html.contains(&format!(
                "<form method=\"post\" action=\"/installment/{code}/{action}\">"
            )));
        }
    }
    let a = call(&sb, "GET", "/installment/nosuchcode", None);
    assert_eq!(a.status, 404);
    assert!(a.body.contains("<html"));
}

#[test]
fn approve_page_auto_submits_the_callback_form() {
    let sb = start();
    let code = create(&sb, 7_000);
    let a = call(&sb, "POST", &format!("/installment/{code}/approve"), None);
    assert_eq!(a.status, 200, "{}", a.body);
    let p = sb.payment(&code).unwrap();
    assert_eq!(p.state, PaymentState::Paid);
    let html = &a.body;
    assert!(html.contains(
        "method=\"post\" action=\"http://127.0.0.1:9/back\" \
         enctype=\"application/x-www-form-urlencoded\""
    ));
    let ref_id = p.ref_id.unwrap();
    for (name, value) in [
        ("code", code.as_str()),
        ("refid", ref_id.as_str()),
        ("clientrefid", "order-42"),
    ] {
        assert!(html.contains(&format!(
            "<input type=\"hidden\" name=\"{name}\" value=\"{value}\">"
        )));
    }
    assert!(html.contains("name=\"cardnumber\" value=\"603799******"));
    assert!(html.contains("name=\"cardhashpan\" value=\""));
    assert!(html.contains("id=\"continue\""));
    assert!(html.contains(".submit()"));
    // The page is no longer payable afterwards.
    let again = call(&sb, "POST", &format!("/installment/{code}/approve"), None);
    assert_eq!(again.status, 409);

    let code = create(&sb, 7_000);
    let a = call(
        &sb,
        "POST",
        &format!("/installment/{code}/fail?code=6"),
        None,
    );
    assert_eq!(a.status, 200);
    assert_eq!(
        sb.payment(&code).unwrap().state,
        PaymentState::Failed { code: 6 }
    );
    let code = create(&sb, 7_000);
    let a = call(&sb, "POST", &format!("/installment/{code}/cancel"), None);
    assert!(a.body.contains("name=\"refid\" value=\"\""));
}

/// What the shop received: method, path, content type, body.
type Received = (String, String, Option<String>, String);

/// A one-request shop: returns what it received.
fn shop() -> (String, thread::JoinHandle<Received>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!("http://{}/payping/callback", server.server_addr());
    let h = thread::spawn(move || {
        let mut req = server
            .recv_timeout(Duration::from_secs(20))
            .unwrap()
            .expect("the sandbox delivered no callback within 20 s");
        let mut body = String::new();
        req.as_reader().read_to_string(&mut body).unwrap();
        let ct = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Content-Type"))
            .map(|h| h.value.to_string());
        let got = (req.method().to_string(), req.url().to_owned(), ct, body);
        req.respond(tiny_http::Response::from_string("thanks").with_status_code(200))
            .unwrap();
        got
    });
    (url, h)
}

#[test]
fn deliver_posts_the_exact_form_to_the_shop() {
    let sb = start();
    let (url, shop_thread) = shop();
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": url, "clientRefId": "a b&c"})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let form = sb.approve(&code).unwrap();
    assert_eq!(form.return_url, url);
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["code", "refid", "clientrefid", "cardnumber", "cardhashpan"]
    );
    let delivery = sb.deliver(&form).unwrap();
    assert_eq!((delivery.status, delivery.body.as_str()), (200, "thanks"));
    let (method, path, ct, body) = shop_thread.join().unwrap();
    assert_eq!(method, "POST");
    assert_eq!(path, "/payping/callback");
    assert_eq!(ct.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(body, form.body);
    let parsed: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    assert_eq!(parsed, form.fields);
    assert_eq!(form.get("clientrefid"), Some("a b&c"));

    // Over HTTP, with delivery.
    let (url, shop_thread) = shop();
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": url})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/cancel?deliver=true"),
        None,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["delivery"]["status"], 200);
    assert_eq!(v["fields"][1], json!(["refid", ""]));
    let (_, _, _, body) = shop_thread.join().unwrap();
    assert_eq!(body, v["body"].as_str().unwrap());

    // Never to a remote host; refused before the buyer acts.
    let a = call(
        &sb,
        "POST",
        "/v2/pay",
        Some(&json!({"amount": 1000, "returnUrl": "http://example.com/back"})),
    );
    let code = a.json()["code"].as_str().unwrap().to_owned();
    let a = call(
        &sb,
        "POST",
        &format!("/__sandbox/payments/{code}/approve?deliver=true"),
        None,
    );
    assert_eq!(a.status, 400);
    assert!(a.body.contains("loopback"), "{}", a.body);
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Created);
    let form = sb.approve(&code).unwrap();
    let err = sb.deliver(&form).unwrap_err();
    assert!(matches!(err, SandboxError::NotLoopback { .. }), "{err}");
    assert!(err.to_string().contains("loopback"));
}
