//! v3's "already verified" (409, code 110): the earlier result as PayPing's doc example writes
//! it (PascalCase), or as its schema does (camelCase) on request.

use super::*;

/// A v3 payment verified once, then verified again: the 200 answer and the 409.
fn verified_twice(sb: &Sandbox) -> (Answer, Answer) {
    let code = create_v3_as(sb, sb.token(), 12_000);
    let ref_id = payment_ref_id(&sb.approve(&code).unwrap());
    let first = verify_v3_as(sb, sb.token(), &code, ref_id, 12_000);
    assert_eq!(first.status, 200, "{}", first.body);
    let second = verify_v3_as(sb, sb.token(), &code, ref_id, 12_000);
    assert_eq!(problem_code(&second), (409, 110));
    (first, second)
}

/// The keys of the object at `metaData.message`, in the order the body writes them.
fn keys_in_order(body: &str) -> Vec<String> {
    let start = body
        .find("\"message\":{")
        .expect("metaData.message is an object");
    let record = &body[start + "\"message\":".len()..];
    let end = record.find('}').expect("a flat object");
    let object: Value = serde_json::from_str(&record[..=end]).unwrap();
    let mut keys: Vec<(usize, String)> = object
        .as_object()
        .unwrap()
        .keys()
        .map(|k| (record.find(&format!("\"{k}\":")).unwrap(), k.clone()))
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

#[test]
fn the_earlier_result_is_pascal_case_as_paypings_example_by_default() {
    let sb = start();
    let (first, second) = verified_twice(&sb);
    assert_eq!(
        keys_in_order(&second.body),
        [
            "Amount",
            "PayerWage",
            "BusinessWage",
            "GatewayAmount",
            "CardNumber",
            "CardHashPan",
            "ClientRefId",
            "PaymentRefId",
            "Code",
            "PayedDate",
        ]
    );
    let (record, earlier) = (first.json(), second.json()["metaData"]["message"].clone());
    for (pascal, camel) in [
        ("Amount", "amount"),
        ("PayerWage", "payerWage"),
        ("BusinessWage", "businessWage"),
        ("GatewayAmount", "gatewayAmount"),
        ("CardNumber", "cardNumber"),
        ("CardHashPan", "cardHashPan"),
        ("ClientRefId", "clientRefId"),
        ("PaymentRefId", "paymentRefId"),
        ("Code", "code"),
    ] {
        assert_eq!(earlier[pascal], record[camel], "{pascal}");
    }
    // `2024-08-03 10:30:00Z`, as the example writes it; the 200's is RFC 3339 (with a `T`).
    let payed = earlier["PayedDate"].as_str().unwrap();
    assert_eq!((payed.len(), &payed[10..11], &payed[19..]), (20, " ", "Z"));
    let rfc = record["payedDate"].as_str().unwrap();
    assert_eq!(payed[..10], rfc[..10]);
    assert_eq!(payed[11..19], rfc[11..19]);
    assert_eq!(second.json()["title"], "ConflictException");
}

#[test]
fn camel_case_on_request_is_the_200_record() {
    let sb = Sandbox::start(Options::default().already_verified_keys(KeyCase::Camel)).unwrap();
    let (first, second) = verified_twice(&sb);
    assert_eq!(second.json()["metaData"]["message"], first.json());
}
