//! The sandbox's v3 face over the wire, as any v3 client sees it: field rules, problem
//! details, the separation of v2 and v3 payments, the in-progress fault over HTTP.

use std::time::Duration;

use ghesta_sandbox::{ApiVersion, Options, PaymentState, Sandbox};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    request_id: Option<String>,
    allow: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The problem's `metaData.code`, checking the problem-details shape on the way.
    fn problem_code(&self) -> u64 {
        let p = self.json();
        for key in ["type", "title", "detail", "instance"] {
            assert!(p[key].is_string(), "{key} in {}", self.body);
        }
        assert_eq!(p["status"].as_u64(), Some(u64::from(self.status)));
        assert_eq!(
            p["paypingTraceId"].as_str(),
            self.request_id.as_deref(),
            "the trace id is the request id"
        );
        assert!(
            p["metaData"]["errors"][0]["message"].is_string(),
            "{}",
            self.body
        );
        p["metaData"]["code"].as_u64().expect("metaData.code")
    }
}

fn call(sb: &Sandbox, method: &str, path: &str, token: Option<&str>, body: &Value) -> Answer {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .allow_non_standard_methods(true)
        .build()
        .new_agent();
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", sb.base_url()))
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    let mut r = agent
        .run(request.body(body.to_string()).unwrap())
        .expect("the sandbox answers");
    let header = |n: &str| {
        r.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (request_id, allow) = (header("X-PayPingRequest-ID"), header("Allow"));
    Answer {
        status: r.status().as_u16(),
        request_id,
        allow,
        body: r.body_mut().read_to_string().unwrap(),
    }
}

fn api(sb: &Sandbox, method: &str, path: &str, body: Value) -> Answer {
    call(sb, method, path, Some(sb.token()), &body)
}

fn start() -> Sandbox {
    Sandbox::start(Options::default().extra_token("other-token")).unwrap()
}

fn create_v3(sb: &Sandbox) -> String {
    let a = api(
        sb,
        "POST",
        "/v3/pay",
        json!({"amount": 10_000, "returnUrl": "http://127.0.0.1:9/back?o=1", "clientRefId": "o-1"}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["paymentCode"].as_str().unwrap().to_owned()
}

#[test]
fn create_answers_code_url_and_fees_and_checks_its_fields() {
    let sb = start();
    let a = api(
        &sb,
        "POST",
        "/v3/pay",
        json!({"amount": 10_000, "returnUrl": "http://127.0.0.1:9/back", "clientRefId": "o-1",
               "isReversible": true, "payerIdentity": "09120000000"}),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let created = a.json();
    let code = created["paymentCode"].as_str().unwrap();
    assert_eq!(code.len(), 26);
    assert_eq!(
        created["url"].as_str(),
        Some(format!("{}/v3/pay/start/{code}", sb.base_url()).as_str())
    );
    for (key, value) in [
        ("amount", 10_000),
        ("gatewayAmount", 10_000),
        ("payerWage", 0),
        ("businessWage", 100),
        ("paypingVat", 10),
    ] {
        assert_eq!(created[key].as_u64(), Some(value), "{key}");
    }
    let snapshot = sb.payment(code).unwrap();
    assert!(snapshot.reversible);
    assert_eq!(snapshot.version, ApiVersion::V3);

    // clientRefId: required, and a JSON string; isReversible a boolean; amount in range.
    for body in [
        json!({"amount": 10_000, "returnUrl": "http://x/", "clientRefId": 7}),
        json!({"amount": 10_000, "returnUrl": "http://x/"}),
        json!({"amount": 10_000, "returnUrl": "http://x/", "clientRefId": "o", "isReversible": "yes"}),
        json!({"amount": 99, "returnUrl": "http://x/", "clientRefId": "o"}),
        json!({"amount": 10_000, "clientRefId": "o"}),
    ] {
        let a = api(&sb, "POST", "/v3/pay", body.clone());
        assert_eq!(a.status, 400, "{body}");
        assert_eq!(a.problem_code(), 101, "{body}");
    }
    assert_eq!(sb.payments().len(), 1, "nothing invalid was created");
    let unauthorized = call(&sb, "POST", "/v3/pay", None, &json!({}));
    assert_eq!((unauthorized.status, unauthorized.body.as_str()), (401, ""));
    let wrong = call(&sb, "PUT", "/v3/pay", Some(sb.token()), &json!({}));
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.allow.as_deref(), Some("POST, DELETE"));
}

#[test]
fn the_callback_keeps_the_return_urls_query_and_carries_data_as_json() {
    let sb = start();
    let code = create_v3(&sb);
    let form = sb.approve(&code).unwrap();
    assert_eq!(form.return_url, "http://127.0.0.1:9/back?o=1");
    let names: Vec<&str> = form.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["status", "errorCode", "data"]);
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    assert_eq!(data["paymentCode"].as_str(), Some(code.as_str()));
    assert_eq!(data["clientRefId"].as_str(), Some("o-1"));
    assert_eq!(data["amount"].as_u64(), Some(10_000));
    assert_eq!(data["gatewayAmount"].as_u64(), Some(10_000));
    assert!(data["cardNumber"].is_string() && data["cardHashPan"].is_string());
    let ref_id = data["paymentRefId"].as_u64().expect("an integer");
    assert_eq!(sb.payment(&code).unwrap().ref_id, Some(ref_id.to_string()));
}

#[test]
fn verify_answers_problem_details_in_the_documented_order() {
    let sb = start();
    let code = create_v3(&sb);
    let verify = |code: &str, ref_id: Value, amount: u64| {
        api(
            &sb,
            "POST",
            "/v3/pay/verify",
            json!({"paymentCode": code, "paymentRefId": ref_id, "amount": amount}),
        )
    };
    assert_eq!(verify("NOPE", json!(1), 10_000).problem_code(), 122);
    assert_eq!(
        verify(&code, json!(1), 10_000).problem_code(),
        121,
        "not paid yet"
    );
    let form = sb.approve(&code).unwrap();
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    let ref_id = data["paymentRefId"].clone();
    assert_eq!(
        verify(&code, json!(ref_id.to_string()), 10_000).problem_code(),
        101,
        "paymentRefId as text"
    );
    assert_eq!(verify(&code, json!(1), 10_000).problem_code(), 133);
    assert_eq!(verify(&code, ref_id.clone(), 9_000).problem_code(), 137);
    let other = call(
        &sb,
        "POST",
        "/v3/pay/verify",
        Some("other-token"),
        &json!({"paymentCode": code, "paymentRefId": ref_id, "amount": 10_000}),
    );
    assert_eq!(other.problem_code(), 122, "another merchant's payment");
    assert_eq!(sb.payment(&code).unwrap().state, PaymentState::Paid);

    let first = verify(&code, ref_id.clone(), 10_000);
    assert_eq!(first.status, 200, "{}", first.body);
    let record = first.json();
    assert_eq!(record["code"].as_str(), Some(code.as_str()));
    assert_eq!(record["paymentRefId"], ref_id);
    assert_eq!(record["clientRefId"].as_str(), Some("o-1"));
    assert!(record["payedDate"].is_string());

    let second = verify(&code, ref_id.clone(), 10_000);
    assert_eq!(second.status, 409);
    assert_eq!(second.problem_code(), 110);
    // The earlier result, in PascalCase as PayPing's doc example writes it (the keys' case
    // and order are tests/tests/sandbox/already_verified.rs's).
    let earlier = &second.json()["metaData"]["message"];
    for (pascal, camel) in [
        ("Code", "code"),
        ("PaymentRefId", "paymentRefId"),
        ("Amount", "amount"),
        ("CardNumber", "cardNumber"),
    ] {
        assert_eq!(
            earlier[pascal], record[camel],
            "the earlier result's {pascal}"
        );
    }
}

#[test]
fn v2_and_v3_payments_stay_on_their_own_api() {
    let sb = start();
    let v3 = create_v3(&sb);
    let form = sb.approve(&v3).unwrap();
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    let ref_id = data["paymentRefId"].as_u64().unwrap();
    let on_v2 = api(
        &sb,
        "POST",
        "/v2/pay/verify",
        json!({"refId": ref_id.to_string(), "amount": 10_000}),
    );
    assert_eq!(on_v2.status, 400);
    assert!(on_v2.json().get("44").is_some(), "{}", on_v2.body);
    assert_eq!(
        api(&sb, "DELETE", &format!("/v2/pay/{v3}"), json!({})).status,
        400
    );

    let v2 = api(
        &sb,
        "POST",
        "/v2/pay",
        json!({"amount": 10_000, "returnUrl": "http://127.0.0.1:9/back"}),
    );
    let v2 = v2.json()["code"].as_str().unwrap().to_owned();
    assert_eq!(v2.len(), 13);
    let deleted = api(&sb, "DELETE", "/v3/pay", json!({"paymentCode": v2}));
    assert_eq!(deleted.problem_code(), 124);
    assert_eq!(sb.payment(&v3).unwrap().state, PaymentState::Paid);
    assert_eq!(sb.payment(&v2).unwrap().state, PaymentState::Created);
}

#[test]
fn the_report_says_where_each_payment_is() {
    let sb = start();
    let status = |code: &str| {
        let a = api(&sb, "GET", &format!("/v1/report/{code}"), json!({}));
        assert_eq!(a.status, 200, "{}", a.body);
        a.json()
    };
    let code = create_v3(&sb);
    assert_eq!(status(&code)["paymentStatus"], 0);
    assert_eq!(status(&code)["refId"], Value::Null);
    let page = ureq::get(&format!("{}/v3/pay/start/{code}", sb.base_url()))
        .call()
        .unwrap();
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(status(&code)["paymentStatus"], 2);
    let form = sb.approve(&code).unwrap();
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    let report = status(&code);
    assert_eq!(report["paymentStatus"], 5);
    assert_eq!(
        report["refId"], data["paymentRefId"],
        "a number, v3's paymentRefId"
    );
    sb.advance(Duration::from_secs(10 * 60 + 1));
    let late = api(
        &sb,
        "POST",
        "/v3/pay/verify",
        json!({"paymentCode": code, "paymentRefId": data["paymentRefId"], "amount": 10_000}),
    );
    assert_eq!(late.problem_code(), 131);
    assert_eq!(status(&code)["paymentStatus"], 4, "voided");
}

#[test]
fn the_in_progress_fault_is_set_over_http_and_not_processed() {
    let sb = start();
    let code = create_v3(&sb);
    let form = sb.approve(&code).unwrap();
    let data: Value = serde_json::from_str(form.get("data").unwrap()).unwrap();
    let fault = call(
        &sb,
        "POST",
        "/__sandbox/faults",
        None,
        &json!({"route": "verify", "kind": "in_progress", "status": 502, "times": 2}),
    );
    assert_eq!(fault.status, 200, "{}", fault.body);
    let body = json!({"paymentCode": code, "paymentRefId": data["paymentRefId"], "amount": 10_000});
    for _ in 0..2 {
        let a = api(&sb, "POST", "/v3/pay/verify", body.clone());
        assert_eq!(a.status, 502);
        assert_eq!(a.problem_code(), 155);
    }
    assert_eq!(sb.payment(&code).unwrap().verify_count, 0, "not processed");
    assert_eq!(api(&sb, "POST", "/v3/pay/verify", body).status, 200);
    let refund = call(
        &sb,
        "POST",
        "/__sandbox/faults",
        None,
        &json!({"route": "refund", "kind": "status", "status": 503}),
    );
    assert_eq!(refund.status, 200, "{}", refund.body);
    assert_eq!(
        api(&sb, "POST", "/v3/pay/reverse", json!({})).status,
        503,
        "faults apply to the refund route"
    );
    assert_eq!(sb.requests_seen().refund, 1);
}
