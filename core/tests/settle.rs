//! Settlement: when an order is paid, released, or left to wait, from scripted PayPing
//! answers. Each test names the rule it guards; the script is PayPing as its documents
//! describe it, never the code under test.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use ghesta_core::http;
use ghesta_core::{
    Amount, Attention, Callback, ClientRefId, Config, CreatePayment, Error, Exchange, Gateway,
    Mobile, NewPayment, Next, PaymentStatus, Pending, Proof, Protocol, ReturnUrl, Settlement,
    Token, Verdict, Waiting,
};

const CREATED: u64 = 1_764_478_800;

fn config(gateway: Gateway) -> Config {
    Config::new(Token::new("t").unwrap()).with_gateway(gateway)
}

fn pending_for(config: &Config, code: &str, order: &str) -> Pending {
    let payment = NewPayment::new(
        Amount::from_toman(250_000).unwrap(),
        ReturnUrl::new("https://shop.example/cb").unwrap(),
        ClientRefId::new(order).unwrap(),
        Mobile::new("09123456789").unwrap(),
    );
    let body = match config.gateway().protocol() {
        Protocol::V2 => format!(r#"{{"code":"{code}"}}"#),
        _ => format!(r#"{{"paymentCode":"{code}"}}"#),
    };
    CreatePayment::new(
        config,
        payment,
        SystemTime::UNIX_EPOCH + Duration::from_secs(CREATED),
    )
    .parse_response(http::Response::new(body.into_bytes()))
    .unwrap()
}

fn pending(config: &Config) -> Pending {
    pending_for(config, "82a4f72", "order-7")
}

fn minutes(pending: &Pending, m: u64) -> SystemTime {
    pending.created_at() + Duration::from_secs(m * 60)
}

/// One scripted answer: a status and a body (or no answer at all).
#[derive(Clone)]
enum Reply {
    Answer(u16, &'static str),
    Lost,
}
use Reply::{Answer, Lost};

/// Drives a settlement against scripted verify and report answers (consumed in order; the
/// last one repeats), recording the requests it sent as `"verify <refId>"` / `"report"`.
fn drive(
    mut settlement: Settlement,
    now: SystemTime,
    verify: &[Reply],
    report: &[Reply],
) -> (Verdict, Vec<String>) {
    let sent = RefCell::new(Vec::new());
    let take = |replies: &[Reply], index: usize| replies[index.min(replies.len() - 1)].clone();
    let (mut v, mut r) = (0, 0);
    let respond = |reply: Reply| match reply {
        Answer(status, body) => Ok(http::Response::builder()
            .status(status)
            .body(body.as_bytes().to_vec())
            .unwrap()),
        Lost => Err(Error::no_answer("connection reset")),
    };
    loop {
        match settlement.next(now) {
            Next::Verify { exchange, .. } => {
                let request = exchange.to_request().unwrap();
                let body: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
                let ref_id = body
                    .get("refId")
                    .or_else(|| body.get("paymentRefId"))
                    .map(|v| v.to_string().trim_matches('"').to_owned())
                    .unwrap();
                sent.borrow_mut().push(format!("verify {ref_id}"));
                let result = respond(take(verify, v)).and_then(|a| exchange.parse_response(a));
                v += 1;
                settlement.verify_answered(&exchange, result);
            }
            Next::Report(exchange) => {
                sent.borrow_mut().push("report".to_owned());
                let result = respond(take(report, r)).and_then(|a| exchange.parse_response(a));
                r += 1;
                settlement.report_answered(result);
            }
            Next::Done(verdict) => return (verdict, sent.into_inner()),
            other => panic!("unknown step {other:?}"),
        }
    }
}

fn form(form: &str) -> Callback {
    Callback::from_form(form.as_bytes()).unwrap()
}

const V2_OK: Reply = Answer(200, r#"{"amount":250000,"cardNumber":"6037****1234"}"#);
const V2_15: Reply = Answer(400, r#"{"15":"قبلا تایید شده"}"#);

fn report_of(status: i64, ref_id: Option<&str>) -> String {
    let ref_field = ref_id.map_or_else(String::new, |r| format!(r#","refId":"{r}""#));
    format!(r#"{{"amount":250000,"clientRefId":"order-7","paymentStatus":{status}{ref_field}}}"#)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn report(status: i64, ref_id: Option<&str>) -> Reply {
    Answer(200, leak(report_of(status, ref_id)))
}

#[test]
fn v2_a_verify_counts_only_when_the_report_binds_its_refid() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let genuine = Settlement::new(&config, &pending)
        .with_callback(&form("code=82a4f72&refid=555&clientrefid=order-7"), now)
        .unwrap();
    let (verdict, sent) = drive(genuine, now, &[V2_OK], &[report(1, Some("555"))]);
    let Verdict::Ship(paid) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(paid.proof(), Proof::ReportBound);
    assert!(paid.verified_now());
    assert_eq!(sent, ["verify 555", "report"]);
}

#[test]
fn v2_a_forged_twin_callback_ships_nothing_for_its_order() {
    // Order B's callback carrying order A's refid, at the same price: PayPing's v2 verify
    // answers 200 (it verified A's payment). B's own report says B is not paid.
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    for b_status in [0, 2] {
        let forged = Settlement::new(&config, &pending)
            .with_callback(&form("code=82a4f72&refid=111&clientrefid=order-7"), now)
            .unwrap();
        let (verdict, sent) = drive(forged, now, &[V2_OK], &[report(b_status, None)]);
        assert!(
            matches!(verdict, Verdict::Wait(Waiting::StillOpen(_))),
            "status {b_status}: {verdict:?}"
        );
        assert_eq!(sent, ["verify 111", "report"]);
    }
}

#[test]
fn v2_a_twin_callback_for_a_paid_order_verifies_the_orders_own_payment() {
    // B is paid too (status 5, its own refid 222): the forged refid proved nothing, and the
    // pass verifies B's own reference and ships B for that.
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let forged = Settlement::new(&config, &pending)
        .with_callback(&form("code=82a4f72&refid=111&clientrefid=order-7"), now)
        .unwrap();
    let (verdict, sent) = drive(forged, now, &[V2_OK, V2_OK], &[report(5, Some("222"))]);
    let Verdict::Ship(paid) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(paid.ref_id().map(|r| r.as_str()), Some("222"));
    assert_eq!(sent, ["verify 111", "report", "verify 222"]);
}

#[test]
fn v2_already_verified_is_bound_by_the_report_too() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 3);
    let replay = Settlement::new(&config, &pending)
        .with_callback(&form("code=82a4f72&refid=555&clientrefid=order-7"), now)
        .unwrap();
    let (verdict, _) = drive(replay.clone(), now, &[V2_15], &[report(1, Some("555"))]);
    assert!(
        matches!(verdict, Verdict::Ship(ref p) if !p.verified_now()),
        "{verdict:?}"
    );
    // The record's payment was verified under another reference: PayPing's report of its
    // own code says so, which is proof; the callback's refid proved nothing.
    let (verdict, sent) = drive(replay, now, &[V2_15], &[report(1, Some("556"))]);
    assert!(
        matches!(verdict, Verdict::Ship(ref p) if p.ref_id().unwrap().as_str() == "556" && p.proof() == Proof::ReportVerified),
        "{verdict:?}"
    );
    assert_eq!(sent, ["verify 555", "report"]);
}

#[test]
fn the_report_names_its_payment_by_invoice_no_when_it_has_no_ref_id() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let callback = form("code=82a4f72&refid=555&clientrefid=order-7");
    let s = Settlement::new(&config, &pending)
        .with_callback(&callback, now)
        .unwrap();
    let bound = Answer(
        200,
        r#"{"amount":250000,"isPaid":true,"invoiceNo":"555","payDate":"x"}"#,
    );
    assert!(matches!(
        drive(s.clone(), now, &[V2_OK], &[bound]).0,
        Verdict::Ship(_)
    ));
    let other = Answer(
        200,
        r#"{"amount":250000,"isPaid":true,"invoiceNo":"999","payDate":"x"}"#,
    );
    let (verdict, sent) = drive(s, now, &[V2_OK, Answer(400, r#"{"1":"x"}"#)], &[other]);
    assert!(!matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
    assert_eq!(sent, ["verify 555", "report", "verify 999", "report"]);
}

#[test]
fn a_callback_never_releases_an_order() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let cancel = form("code=anything&refid=&clientrefid=order-7");
    // A stranger's "cancelled" form: PayPing says the buyer is on the gateway.
    let s = Settlement::new(&config, &pending)
        .with_callback(&cancel, now)
        .unwrap();
    let (verdict, sent) = drive(s.clone(), now, &[], &[report(2, None)]);
    assert_eq!(
        verdict,
        Verdict::Wait(Waiting::StillOpen(PaymentStatus::OnGateway))
    );
    assert_eq!(
        sent,
        ["report"],
        "the cancelled form only makes it ask PayPing"
    );
    // The buyer really paid meanwhile: the cancelled form is ignored, the payment verified.
    let (verdict, _) = drive(s.clone(), now, &[V2_OK], &[report(5, Some("555"))]);
    assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
    // PayPing's word that it is cancelled releases it.
    let (verdict, _) = drive(s, now, &[], &[report(3, None)]);
    assert!(matches!(verdict, Verdict::Release(r) if r.status() == PaymentStatus::Cancelled));
}

#[test]
fn status_5_is_never_too_late_to_try() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
        let config = config(gateway);
        let pending = pending(&config);
        for m in [2, 11, 19, 45] {
            let now = minutes(&pending, m);
            let s = Settlement::new(&config, &pending);
            let verify = match gateway.protocol() {
                Protocol::V2 => V2_OK,
                _ => Answer(
                    200,
                    r#"{"code":"82a4f72","amount":250000,"paymentRefId":7781}"#,
                ),
            };
            let (verdict, sent) = drive(s, now, &[verify], &[report(5, Some("7781"))]);
            assert!(
                matches!(verdict, Verdict::Ship(_)),
                "{gateway} at {m} min: {verdict:?}"
            );
            assert_eq!(sent, ["report", "verify 7781"]);
        }
    }
}

#[test]
fn paying_late_is_released_only_when_paypings_verify_refuses_and_its_report_says_voided() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 25);
    let s = Settlement::new(&config, &pending);
    // PayPing refuses the verify (code 39, too late) and its report then says voided (4).
    let (verdict, sent) = drive(
        s,
        now,
        &[Answer(400, r#"{"39":"x"}"#)],
        &[report(5, Some("7781")), report(4, Some("7781"))],
    );
    assert!(
        matches!(verdict, Verdict::Release(r) if r.status() == PaymentStatus::BankVerifyFailed)
    );
    assert_eq!(sent, ["report", "verify 7781", "report"]);
}

#[test]
fn an_unpaid_order_is_released_once_the_window_has_passed_and_not_before() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    for (status, m, released) in [(0, 9, false), (0, 10, true), (2, 9, false), (2, 11, true)] {
        let now = minutes(&pending, m);
        let (verdict, _) = drive(
            Settlement::new(&config, &pending),
            now,
            &[],
            &[report(status, None)],
        );
        assert_eq!(
            matches!(verdict, Verdict::Release(_)),
            released,
            "status {status} at {m} min: {verdict:?}"
        );
    }
}

#[test]
fn a_failing_report_waits_until_no_payment_could_be_verified_then_needs_attention() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let permanent = Answer(400, r#"{"26":"x"}"#);
    for (m, reply) in [(5, permanent.clone()), (15, Lost)] {
        let (verdict, _) = drive(
            Settlement::new(&config, &pending),
            minutes(&pending, m),
            &[],
            &[reply],
        );
        assert!(
            matches!(verdict, Verdict::Wait(Waiting::ReportFailed(_))),
            "{m}: {verdict:?}"
        );
    }
    let (verdict, sent) = drive(
        Settlement::new(&config, &pending),
        minutes(&pending, 20),
        &[],
        &[permanent],
    );
    let Verdict::NeedsAttention(Attention::StillFailing(error)) = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(
        error.code(),
        Some(ghesta_core::PayPingCode::PaymentCodeNotFound)
    );
    assert_eq!(sent, ["report"]);
}

#[test]
fn a_verify_that_keeps_failing_waits_and_a_lasting_refusal_then_needs_attention() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let refused = Answer(400, r#"{"12":"x"}"#);
    for (m, reply, waits) in [
        (3, Lost, true),
        (3, refused.clone(), true),
        // A failure that can pass waits whatever the time: PayPing's report ends it.
        (45, Lost, true),
        (45, Answer(503, ""), true),
        (21, refused, false),
    ] {
        let (verdict, sent) = drive(
            Settlement::new(&config, &pending),
            minutes(&pending, m),
            &[reply],
            &[report(5, Some("7781"))],
        );
        match verdict {
            Verdict::Wait(Waiting::VerifyFailed(_)) if waits => {}
            Verdict::NeedsAttention(Attention::StillFailing(Error::Rejected(_))) if !waits => {}
            other => panic!("{m} min: {other:?}"),
        }
        assert_eq!(sent, ["report", "verify 7781", "report"]);
    }
}

#[test]
fn v3_an_answer_naming_the_payment_is_proof_without_a_report() {
    let config = config(Gateway::PayPingV3);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let callback = form(
        "status=1&errorCode=&data=%7B%22paymentCode%22%3A%2282a4f72%22%2C%22paymentRefId%22%3A7781%2C%22amount%22%3A250000%2C%22clientRefId%22%3A%22order-7%22%7D",
    );
    let s = Settlement::new(&config, &pending)
        .with_callback(&callback, now)
        .unwrap();
    let named = Answer(
        200,
        r#"{"code":"82a4f72","amount":250000,"paymentRefId":7781}"#,
    );
    let (verdict, sent) = drive(s.clone(), now, &[named], &[]);
    assert!(matches!(verdict, Verdict::Ship(ref p) if p.proof() == Proof::VerifyNamedPayment));
    assert_eq!(sent, ["verify 7781"]);

    // An answer that omits the code is confirmed by the report, or not at all.
    let bare = Answer(200, r#"{"amount":250000}"#);
    let (verdict, sent) = drive(
        s.clone(),
        now,
        std::slice::from_ref(&bare),
        &[report(1, Some("7781"))],
    );
    assert!(matches!(verdict, Verdict::Ship(ref p) if p.proof() == Proof::ReportBound));
    assert_eq!(sent, ["verify 7781", "report"]);
    let (verdict, _) = drive(
        s.clone(),
        now,
        std::slice::from_ref(&bare),
        &[Answer(404, "")],
    );
    assert!(
        matches!(
            verdict,
            Verdict::NeedsAttention(Attention::Unconfirmable(_))
        ),
        "{verdict:?}"
    );
    // 409/110 without the earlier record: the same.
    let bare_409 = Answer(
        409,
        r#"{"status":409,"metaData":{"code":110,"message":"verified"}}"#,
    );
    let (verdict, sent) = drive(s, now, &[bare_409], &[report(2, None)]);
    assert!(matches!(verdict, Verdict::Wait(_)), "{verdict:?}");
    assert_eq!(sent, ["verify 7781", "report"]);
}

#[test]
fn a_payment_proven_for_a_released_order_is_its_own_verdict() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 12);
    let s = Settlement::new(&config, &pending).released(true);
    let (verdict, _) = drive(s, now, &[V2_OK], &[report(5, Some("7781"))]);
    assert!(
        matches!(verdict, Verdict::PaidAfterRelease(_)),
        "{verdict:?}"
    );
}

#[test]
fn an_answer_about_another_amount_or_order_needs_a_person() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let (verdict, _) = drive(
        Settlement::new(&config, &pending),
        now,
        &[Answer(200, r#"{"amount":1000}"#)],
        &[report(5, Some("7781"))],
    );
    assert!(matches!(
        verdict,
        Verdict::NeedsAttention(Attention::Contradiction(Error::AmountMismatch { .. }))
    ));
    let other_order = Answer(
        200,
        r#"{"amount":250000,"clientRefId":"order-8","paymentStatus":5,"refId":"1"}"#,
    );
    let (verdict, sent) = drive(Settlement::new(&config, &pending), now, &[], &[other_order]);
    assert!(matches!(
        verdict,
        Verdict::NeedsAttention(Attention::Contradiction(Error::ReportMismatch { .. }))
    ));
    assert_eq!(
        sent,
        ["report"],
        "nothing is verified from another order's report"
    );
    // Verified, and the report names that very reference as cancelled.
    let callback = form("code=82a4f72&refid=555&clientrefid=order-7");
    let s = Settlement::new(&config, &pending)
        .with_callback(&callback, now)
        .unwrap();
    let (verdict, _) = drive(s, now, &[V2_OK], &[report(3, Some("555"))]);
    assert!(matches!(
        verdict,
        Verdict::NeedsAttention(Attention::Contradiction(Error::NotThisPayment { .. }))
    ));
}

#[test]
fn a_report_saying_verified_is_proof_and_is_paid_alone_is_not() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 3);
    let (verdict, sent) = drive(
        Settlement::new(&config, &pending),
        now,
        &[],
        &[report(1, None)],
    );
    assert!(matches!(verdict, Verdict::Ship(ref p) if p.proof() == Proof::ReportVerified));
    assert_eq!(sent, ["report"]);
    // No status, `isPaid` alone: waits for a reference to verify.
    let old = Answer(200, r#"{"amount":250000,"isPaid":true}"#);
    let (verdict, _) = drive(Settlement::new(&config, &pending), now, &[], &[old]);
    assert_eq!(
        verdict,
        Verdict::Wait(Waiting::StillOpen(PaymentStatus::AwaitingVerify))
    );
}

#[test]
fn a_forged_callback_is_refused_before_anything_is_sent() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    for forged in [
        "code=other&refid=555&clientrefid=order-7",
        "code=82a4f72&refid=555&clientrefid=order-8",
    ] {
        let err = Settlement::new(&config, &pending)
            .with_callback(&form(forged), now)
            .unwrap_err();
        assert!(
            matches!(err, Error::CallbackMismatch { .. }),
            "{forged}: {err:?}"
        );
    }
}

#[test]
fn a_pass_is_bounded() {
    // A report that names a new reference every time, each verify refused: the pass ends.
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let callback = form("code=82a4f72&refid=1&clientrefid=order-7");
    let s = Settlement::new(&config, &pending)
        .with_callback(&callback, now)
        .unwrap();
    let (verdict, sent) = drive(
        s,
        now,
        &[Answer(400, r#"{"1":"x"}"#)],
        &[
            report(5, Some("2")),
            report(5, Some("3")),
            report(5, Some("4")),
        ],
    );
    assert!(!verdict.is_final(), "{verdict:?}");
    assert!(
        sent.len() <= usize::from(ghesta_core::MAX_EXCHANGES),
        "{sent:?}"
    );
}

#[test]
fn a_payment_proven_for_an_order_another_payment_paid_is_paid_twice() {
    // The buyer paid the order in two tabs; the first payment ("5aa01c9") shipped it.
    let first = ghesta_core::PaymentCode::new("5aa01c9").unwrap();
    let v3_callback = form(
        "status=1&errorCode=&data=%7B%22paymentCode%22%3A%2282a4f72%22%2C%22paymentRefId%22%3A7781%2C%22amount%22%3A250000%2C%22clientRefId%22%3A%22order-7%22%7D",
    );
    let v3_named = Answer(
        200,
        r#"{"code":"82a4f72","amount":250000,"paymentRefId":7781}"#,
    );
    let cases: [(Gateway, Callback, Reply); 2] = [
        (
            Gateway::Ghesta,
            form("code=82a4f72&refid=7781&clientrefid=order-7"),
            V2_OK,
        ),
        (Gateway::PayPingV3, v3_callback, v3_named),
    ];
    for (gateway, callback, verify) in cases {
        let config = config(gateway);
        let pending = pending(&config);
        let now = minutes(&pending, 2);
        let verify = [verify];
        let verified = [report(1, Some("7781"))];
        // The callback's path and the sweeper's reach the same verdict.
        let by_callback = Settlement::new(&config, &pending)
            .paid_by(&first)
            .with_callback(&callback, now)
            .unwrap();
        let by_sweeper = Settlement::new(&config, &pending).paid_by(&first);
        for settlement in [by_callback, by_sweeper] {
            let (verdict, _) = drive(settlement, now, &verify, &verified);
            let Verdict::PaidTwice(paid) = verdict else {
                panic!("{gateway:?}: {verdict:?}")
            };
            assert_eq!(paid.ref_id().map(|r| r.as_str()), Some("7781"));
        }
        // The payment that paid the order is no other payment: it ships (again, which the
        // shop's conditional update makes a no-op).
        let own = Settlement::new(&config, &pending).paid_by(pending.code());
        let (verdict, _) = drive(own, now, &verify, &verified);
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway:?}: {verdict:?}"
        );
        // A second payment PayPing says will not be paid is released as any other.
        let cancelled = Settlement::new(&config, &pending).paid_by(&first);
        let (verdict, _) = drive(cancelled, now, &verify, &[report(3, None)]);
        assert!(
            matches!(verdict, Verdict::Release(_)),
            "{gateway:?}: {verdict:?}"
        );
    }
}

#[test]
fn a_record_settled_with_another_merchants_config_sends_nothing() {
    use ghesta_core::MerchantKey;
    let tehran = config(Gateway::Ghesta).with_merchant(MerchantKey::new("shop-tehran").unwrap());
    let shiraz = config(Gateway::Ghesta).with_merchant(MerchantKey::new("shop-shiraz").unwrap());
    let default = config(Gateway::Ghesta);
    let pending = pending(&tehran);
    assert_eq!(pending.merchant().map(|k| k.as_str()), Some("shop-tehran"));
    let now = minutes(&pending, 2);
    let callback = form("code=82a4f72&refid=555&clientrefid=order-7");
    for other in [&shiraz, &default] {
        let err = Settlement::new(other, &pending)
            .with_callback(&callback, now)
            .unwrap_err();
        assert!(matches!(err, Error::WrongMerchant { .. }), "{err:?}");
        let (verdict, sent) = drive(
            Settlement::new(other, &pending),
            now,
            &[V2_OK],
            &[report(1, Some("555"))],
        );
        assert!(
            matches!(
                verdict,
                Verdict::NeedsAttention(Attention::WrongMerchant(Error::WrongMerchant { .. }))
            ),
            "{verdict:?}"
        );
        assert!(sent.is_empty(), "{sent:?}");
    }
    // Its own merchant's config settles it.
    let (verdict, _) = drive(
        Settlement::new(&tehran, &pending)
            .with_callback(&callback, now)
            .unwrap(),
        now,
        &[V2_OK],
        &[report(1, Some("555"))],
    );
    assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
}

#[test]
fn only_a_v3_report_that_is_not_found_is_unconfirmable() {
    // A v2 report answering 404, or a v3 report answering 503, may answer next time.
    for (gateway, reply) in [
        (Gateway::Ghesta, Answer(404, "")),
        (Gateway::PayPingV3, Answer(503, "")),
    ] {
        let config = config(gateway);
        let pending = pending(&config);
        let (verdict, _) = drive(
            Settlement::new(&config, &pending),
            minutes(&pending, 2),
            &[],
            &[reply],
        );
        assert!(
            matches!(verdict, Verdict::Wait(Waiting::ReportFailed(_))),
            "{gateway}: {verdict:?}"
        );
    }
}

#[test]
fn a_pass_out_of_exchanges_says_why_when_the_report_failed() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let callback = form("code=82a4f72&refid=1&clientrefid=order-7");
    for (m, attention) in [(2, false), (25, true)] {
        let now = minutes(&pending, m);
        let s = Settlement::new(&config, &pending)
            .with_callback(&callback, now)
            .unwrap();
        // Verify 1 lost, report names 2, verify 2 lost, the last report lost: four sent.
        let (verdict, sent) = drive(s, now, &[Lost], &[report(5, Some("2")), Lost]);
        assert_eq!(sent, ["verify 1", "report", "verify 2", "report"]);
        match verdict {
            Verdict::Wait(Waiting::ReportFailed(Error::NoAnswer { .. })) if !attention => {}
            Verdict::NeedsAttention(Attention::StillFailing(Error::NoAnswer { .. }))
                if attention => {}
            other => panic!("{m} min: {other:?}"),
        }
    }
}

#[test]
fn verdicts_say_whether_they_are_final_and_what_proved_them() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let callback = form("code=82a4f72&refid=555&clientrefid=order-7");
    let s = Settlement::new(&config, &pending)
        .with_callback(&callback, now)
        .unwrap();
    let (verdict, _) = drive(s, now, &[V2_OK], &[report(1, Some("555"))]);
    assert!(verdict.is_final());
    let Verdict::Ship(paid) = verdict else {
        panic!("{verdict:?}")
    };
    let Some(ghesta_core::VerifyOutcome::Verified(verified)) = paid.outcome() else {
        panic!("the verify's answer is kept: {paid:?}")
    };
    assert_eq!(
        verified.card_number().map(|c| c.as_str()),
        Some("6037****1234")
    );
    let (verdict, _) = drive(
        Settlement::new(&config, &pending),
        now,
        &[],
        &[report(3, None)],
    );
    assert!(matches!(verdict, Verdict::Release(_)) && verdict.is_final());
    let (verdict, _) = drive(
        Settlement::new(&config, &pending),
        now,
        &[],
        &[report(2, None)],
    );
    assert!(!verdict.is_final());
}

#[test]
fn confirm_verified_binds_only_the_records_own_reference() {
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let read = |body: &str| {
        ghesta_core::ReportPayment::new(&config, pending.code())
            .parse_response(http::Response::new(body.as_bytes().to_vec()))
            .unwrap()
    };
    let ref_id = |r: &str| ghesta_core::RefId::new(r).unwrap();
    let paid = read(&report_of(1, Some("555")));
    assert!(ghesta_core::confirm_verified(&pending, &ref_id("555"), &paid).is_ok());
    for (body, verified) in [
        (report_of(1, Some("555")), "777"),
        (report_of(2, None), "555"),
        (report_of(3, Some("555")), "555"),
    ] {
        let err = ghesta_core::confirm_verified(&pending, &ref_id(verified), &read(&body));
        assert!(
            matches!(err, Err(Error::NotThisPayment { .. })),
            "{body}: {err:?}"
        );
    }
    let other_order = read(r#"{"amount":250000,"clientRefId":"order-8","paymentStatus":1}"#);
    assert!(matches!(
        ghesta_core::confirm_verified(&pending, &ref_id("555"), &other_order),
        Err(Error::ReportMismatch { .. })
    ));
}

#[test]
fn a_report_naming_no_reference_binds_a_twin_refid_only_when_it_says_verified() {
    // v2 twin: B's callback carries A's refid (same price); PayPing verifies A's payment.
    // B's report, in the older form without status or reference, says `isPaid`: that binds
    // nothing to A's refid; B's own payment still needs its own verify.
    let config = config(Gateway::Ghesta);
    let pending = pending(&config);
    let now = minutes(&pending, 2);
    let twin = form("code=82a4f72&refid=111&clientrefid=order-7");
    let s = Settlement::new(&config, &pending)
        .with_callback(&twin, now)
        .unwrap();
    let bare = Answer(
        200,
        r#"{"amount":250000,"isPaid":true,"clientRefId":"order-7"}"#,
    );
    let (verdict, sent) = drive(s.clone(), now, &[V2_OK], &[bare]);
    assert!(!matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
    assert_eq!(sent, ["verify 111", "report"]);
    // A report saying verified (status 1) for the record is PayPing's word on it.
    let (verdict, _) = drive(s, now, &[V2_OK], &[report(1, None)]);
    assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
}
