//! Every answer parser (create, verify, cancel, report, and the error bodies behind them) on
//! an arbitrary status, headers (`X-PayPingRequest-ID` among them) and body.
//!
//! Input shape: the status on the first line, `name: value` lines, an empty line, the body.
//!
//! Holds: no panic; a success only for the statuses each exchange documents; verify never
//! succeeds for another amount than the stored one, and "already verified" only comes from
//! a 400 naming code 15 alone; every error keeps the status and the request id, bounded.
#![no_main]

use ghesta_core::http::{self, HeaderMap, StatusCode};
use ghesta_core::{
    CancelPayment, Config, CreatePayment, Exchange, Pending, ReportPayment, VerifyOutcome,
    VerifyPayment,
};
use libfuzzer_sys::fuzz_target;

fn response<'a>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &'a [u8],
) -> http::Response<&'a [u8]> {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers.clone();
    response
}

fn verify(
    config: &Config,
    pending: &Pending,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let form = b"code=82a4f72&refid=555&clientrefid=order-7";
    let Ok(ghesta_core::Callback::Completed(callback)) = ghesta_core::Callback::from_form(form)
    else {
        unreachable!("a documented callback parses");
    };
    let exchange = VerifyPayment::new(config, pending, &callback).expect("matching callback");
    match exchange.parse_response(response(status, headers, body)) {
        Ok(VerifyOutcome::Verified(v)) => {
            assert_eq!(status, StatusCode::OK);
            assert_eq!(v.amount(), pending.amount());
            assert_eq!(v.code(), pending.code());
        }
        Ok(VerifyOutcome::AlreadyVerified(v)) => {
            assert_eq!(status, StatusCode::BAD_REQUEST);
            let object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(body).expect("code 15 came from a JSON object");
            assert!(
                object.keys().all(|k| k.trim().parse::<u32>() == Ok(15)),
                "{object:?}"
            );
            assert_eq!(v.amount(), pending.amount());
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, headers),
    }
}

fuzz_target!(|data: &[u8]| {
    let carved = ghesta_fuzz::carve(data);
    let Some(status) = std::str::from_utf8(carved.start)
        .ok()
        .and_then(|s| s.trim().parse::<u16>().ok())
        .and_then(|n| StatusCode::from_u16(n).ok())
    else {
        return;
    };
    let headers = ghesta_fuzz::header_map(&carved.headers);
    let body = carved.body;
    let config = ghesta_fuzz::production();
    let pending = ghesta_fuzz::pending(&config);

    let payment = pending_payment();
    let create = CreatePayment::new(&config, payment, std::time::SystemTime::UNIX_EPOCH);
    match create.parse_response(response(status, &headers, body)) {
        Ok(created) => {
            assert_eq!(status, StatusCode::OK);
            assert!(
                created
                    .redirect_url()
                    .as_str()
                    .starts_with("https://payping.ir/installment/")
            );
            assert_eq!(created.amount(), pending.amount());
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }

    verify(&config, &pending, status, &headers, body);
    let sandbox = ghesta_fuzz::sandbox();
    verify(
        &sandbox,
        &ghesta_fuzz::pending(&sandbox),
        status,
        &headers,
        body,
    );

    let cancel = CancelPayment::new(&config, &pending);
    match cancel.parse_response(response(status, &headers, body)) {
        Ok(done) => {
            assert!(matches!(status.as_u16(), 200 | 204));
            assert_eq!(done.code(), pending.code());
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }

    let report = ReportPayment::new(&config, pending.code());
    match report.parse_response(response(status, &headers, body)) {
        Ok(details) => {
            assert_eq!(status, StatusCode::OK);
            if let Some(amount) = details.amount() {
                assert_eq!(Some(u64::from(amount.toman())), details.wire_amount());
            }
            if details.confirms(&pending) {
                assert!(details.is_paid());
            }
        }
        Err(e) => ghesta_fuzz::check_error(&e, status, &headers),
    }
});

fn pending_payment() -> ghesta_core::NewPayment {
    use ghesta_core::{Amount, ClientRefId, Mobile, NewPayment, ReturnUrl};
    NewPayment::new(
        Amount::from_toman(250_000).expect("in range"),
        ReturnUrl::new("https://shop.example/ghesta/callback").expect("https"),
        ClientRefId::new("order-7").expect("short"),
        Mobile::new("09123456789").expect("a mobile"),
    )
}
