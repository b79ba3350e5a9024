//! Several merchants, one pool (issue 26), end to end against the sandbox on 127.0.0.1:
//! three PayPing accounts served by one process on one connection pool, each payment
//! finished with its own merchant's token; a record given another merchant's client refused
//! before any request; and one order paid twice (two tabs), shipped once, the second payment
//! refunded (v3, reversible) or flagged for a refund by hand (v2), with the two settlements
//! racing.

mod common;
mod shop_process;

use std::sync::{Barrier, Mutex};
use std::thread;

use common::*;
use ghesta_blocking::{Client, Merchants};
use ghesta_core::{
    Attention, BaseUrl, Config, Error, Gateway, MerchantKey, PaymentCode, Pending, RefId,
    Settlement, Token, Verdict,
};
use ghesta_sandbox::{Options, PaymentState, Sandbox};
use shop_process::*;

/// The merchants: key, token, gateway (one of them on PayPing v3).
const MERCHANTS: [(&str, &str, Gateway); 3] = [
    ("shop-tehran", "token-tehran", Gateway::Ghesta),
    ("shop-shiraz", "token-shiraz", Gateway::PayPingV3),
    ("shop-tabriz", "token-tabriz", Gateway::PayPingV2),
];

const THREADS: usize = 8;
const PER_THREAD: usize = 50;

fn start_for_merchants() -> Sandbox {
    let mut options = Options::default().token(MERCHANTS[0].1);
    for (_, token, _) in &MERCHANTS[1..] {
        options = options.extra_token(*token);
    }
    Sandbox::start(options).expect("sandbox starts")
}

fn merchant_config(sb: &Sandbox, (key, token, gateway): (&str, &str, Gateway)) -> Config {
    Config::new(Token::new(token).unwrap())
        .with_api_url(BaseUrl::api(sb.base_url()).unwrap())
        .with_gateway_url(BaseUrl::gateway(sb.base_url()).unwrap())
        .with_gateway(gateway)
        .with_merchant(MerchantKey::new(key).unwrap())
}

/// One pool (the quick-retry client of the other suites) and the three merchants on it.
fn merchants(sb: &Sandbox) -> (Client, Merchants) {
    let pool = client(sb, Gateway::Ghesta);
    let mut merchants = Merchants::new(&pool);
    for merchant in MERCHANTS {
        merchants.insert(merchant_config(sb, merchant));
    }
    (pool, merchants)
}

fn key(name: &str) -> MerchantKey {
    MerchantKey::new(name).unwrap()
}

#[test]
fn three_merchants_on_one_pool_each_finish_their_own_payments() {
    let sb = start_for_merchants();
    let (pool, merchants) = merchants(&sb);
    let created: Vec<Vec<(usize, String)>> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (sb, merchants) = (&sb, &merchants);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..PER_THREAD {
                        // Interleaved: consecutive payments of a thread are of different
                        // merchants, and every thread serves all three.
                        let m = (t + i) % MERCHANTS.len();
                        let client = merchants.get(Some(&key(MERCHANTS[m].0))).unwrap();
                        let pending = create(client, &format!("order-{t}-{i}"));
                        assert_eq!(pending.merchant(), Some(&key(MERCHANTS[m].0)));
                        let stored: Pending =
                            serde_json::from_str(&serde_json::to_string(&pending).unwrap())
                                .unwrap();
                        let form = sb.approve(stored.code().as_str()).expect("approve");
                        // The callback finds its client by the stored record's key.
                        let own = merchants.for_record(&stored).expect("a served merchant");
                        let verdict = own.settle(&stored, &parse(&form)).expect("settle");
                        assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
                        mine.push((m, stored.code().to_string()));
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let created: Vec<(usize, String)> = created.into_iter().flatten().collect();
    assert_eq!(created.len(), THREADS * PER_THREAD);
    // Each merchant's account holds exactly the payments created with its token, every one
    // verified by its own merchant (the sandbox counts only its own merchant's verifies).
    for (m, (_, token, _)) in MERCHANTS.iter().enumerate() {
        let mut expected: Vec<&str> = created
            .iter()
            .filter(|(of, _)| *of == m)
            .map(|(_, code)| code.as_str())
            .collect();
        let payments = sb.payments_of(token);
        let mut held: Vec<&str> = payments.iter().map(|p| p.code.as_str()).collect();
        expected.sort_unstable();
        held.sort_unstable();
        assert_eq!(held, expected, "{token}");
        for p in &payments {
            assert_eq!(p.state, PaymentState::Verified, "{}", p.code);
            assert_eq!(p.verify_count, 1, "{}", p.code);
        }
    }
    // One pool: never more connections than threads using it at once, for well over a
    // thousand requests (three separate pools would open up to three times as many).
    let seen = sb.requests_seen();
    let requests = seen.create + seen.verify + seen.report;
    let connections = sb.connections_accepted();
    println!("{requests} requests over {connections} connections");
    assert!(
        requests >= 3 * (THREADS * PER_THREAD) as u64 - 200,
        "{seen:?}"
    );
    assert!(
        connections <= THREADS as u64,
        "{connections} connections for {THREADS} threads"
    );
    assert!(merchants.clients().all(|c| c.shares_transport(&pool)));
}

#[test]
fn a_record_given_another_merchants_client_is_refused_before_any_request() {
    let sb = start_for_merchants();
    let (_, merchants) = merchants(&sb);
    let shiraz = merchants.get(Some(&key("shop-shiraz"))).unwrap();
    let tabriz = merchants.get(Some(&key("shop-tabriz"))).unwrap();
    let mut payment = payment("order-crossed");
    payment = payment.with_reversible(true);
    let pending = shiraz.create(payment).unwrap();
    let form = sb.approve(pending.code().as_str()).unwrap();
    let before = (sb.requests_seen(), sb.connections_accepted());

    let named = |err: &Error| {
        let text = err.to_string();
        assert!(
            text.contains("shop-shiraz") && text.contains("shop-tabriz"),
            "{text}"
        );
    };
    let err = tabriz.settle(&pending, &parse(&form)).unwrap_err();
    named(err.as_core().unwrap());
    let Verdict::NeedsAttention(Attention::WrongMerchant(err)) = tabriz.recover(&pending) else {
        panic!("recover with another merchant's client")
    };
    named(&err);
    let err = tabriz.cancel(&pending).unwrap_err();
    named(err.as_core().unwrap());
    let err = tabriz
        .refund(
            &pending,
            &RefId::new("1").unwrap(),
            std::time::SystemTime::now(),
        )
        .unwrap_err();
    named(err.as_core().unwrap());
    let ghesta_core::Callback::Completed(callback) = parse(&form) else {
        unreachable!()
    };
    let err = tabriz.verify(&pending, &callback).unwrap_err();
    named(err.as_core().unwrap());
    // The default merchant (a keyless config on the same pool) is another merchant too.
    let default = tabriz.with_config(config(&sb, Gateway::PayPingV3));
    assert!(matches!(
        default.cancel(&pending).unwrap_err().as_core(),
        Some(Error::WrongMerchant { config: None, .. })
    ));
    assert_eq!(
        (sb.requests_seen(), sb.connections_accepted()),
        before,
        "nothing reached the sandbox"
    );
    // Its own merchant's client settles it.
    let verdict = merchants
        .for_record(&pending)
        .unwrap()
        .settle(&pending, &parse(&form))
        .unwrap();
    assert!(matches!(verdict, Verdict::Ship(_)), "{verdict:?}");
}

/// What happened to one payment of an order paid twice.
#[derive(Debug, PartialEq, Eq)]
enum Fate {
    Shipped,
    Refunded,
    /// v2 has no refund: a person refunds it by hand.
    RefundByHand,
}

/// The shop's rule: the order ships for the first payment proven (a conditional update);
/// a later one is paid twice, refunded where reversible, else flagged.
fn settle_paid_twice(
    client: &Client,
    order_paid_by: &Mutex<Option<PaymentCode>>,
    pending: &Pending,
    verdict: Verdict,
) -> Fate {
    let paid = match verdict {
        Verdict::Ship(paid) => {
            let mut order = order_paid_by.lock().unwrap();
            match &*order {
                None => {
                    *order = Some(pending.code().clone());
                    return Fate::Shipped;
                }
                // Another payment won the conditional update: this one is paid twice.
                Some(_) => paid,
            }
        }
        Verdict::PaidTwice(paid) => paid,
        other => panic!("{other:?}"),
    };
    if pending.is_reversible() {
        let ref_id = paid.ref_id().expect("a verified reference");
        client
            .refund(pending, ref_id, std::time::SystemTime::now())
            .expect("refund");
        Fate::Refunded
    } else {
        Fate::RefundByHand
    }
}

#[test]
fn one_order_paid_in_two_tabs_ships_once_and_the_second_payment_is_not_kept() {
    for gateway in [Gateway::Ghesta, Gateway::PayPingV3] {
        let sb = start();
        let client = client(&sb, gateway);
        let tab = |n: u8| {
            let mut payment = payment(&format!("order-9-tab-{n}"));
            if gateway == Gateway::PayPingV3 {
                payment = payment.with_reversible(true);
            }
            let pending = client.create(payment).unwrap();
            let form = sb.approve(pending.code().as_str()).unwrap();
            (pending, parse(&form))
        };

        // Racing: both callbacks settled at once; exactly one ships.
        let order = Mutex::new(None);
        let barrier = Barrier::new(2);
        let tabs = [tab(1), tab(2)];
        let fates: Vec<Fate> = thread::scope(|s| {
            let racers: Vec<_> = tabs
                .iter()
                .map(|(pending, callback)| {
                    let (client, order, barrier) = (&client, &order, &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        let verdict = client.settle(pending, callback).unwrap();
                        settle_paid_twice(client, order, pending, verdict)
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let second = if gateway == Gateway::PayPingV3 {
            Fate::Refunded
        } else {
            Fate::RefundByHand
        };
        let shipped = fates.iter().filter(|f| **f == Fate::Shipped).count();
        assert_eq!(shipped, 1, "{gateway}: {fates:?}");
        assert!(fates.contains(&second), "{gateway}: {fates:?}");
        let paid_by = order.lock().unwrap().clone().unwrap();
        for (pending, _) in &tabs {
            let expected = match (pending.code() == &paid_by, gateway) {
                (true, _) | (false, Gateway::Ghesta) => PaymentState::Verified,
                (false, _) => PaymentState::Refunded,
            };
            assert_eq!(state(&sb, pending), expected, "{gateway}");
        }

        // In turn: the sweeper finds a third tab's payment after the order shipped; the
        // settlement says so itself.
        let (third, _) = tab(3);
        let verdict = client.drive(Settlement::new(client.config(), &third).paid_by(&paid_by));
        assert!(
            matches!(verdict, Verdict::PaidTwice(_)),
            "{gateway}: {verdict:?}"
        );
        assert_eq!(
            settle_paid_twice(&client, &order, &third, verdict),
            second,
            "{gateway}"
        );
        // And the payment that paid the order settles as shipped (a no-op for the shop).
        let (first, _) = tabs.iter().find(|(p, _)| p.code() == &paid_by).unwrap();
        let verdict = client.drive(Settlement::new(client.config(), first).paid_by(&paid_by));
        assert!(
            matches!(verdict, Verdict::Ship(_)),
            "{gateway}: {verdict:?}"
        );
    }
}

#[test]
fn the_durable_shops_sweeper_recovers_the_payments_of_several_merchants() {
    // The shop's default merchant is the sandbox's primary token (PAYPING_TOKEN, no key);
    // the two others are named on its command line, their tokens in its environment.
    let sb = start_for_merchants();
    let db = TempDb::new("merchants");
    let mut shop = ShopProcess::launch_with(
        &sb,
        &db.0,
        free_port(),
        Launch::on(Gateway::Ghesta),
        |command| {
            for (key, token, gateway) in &MERCHANTS[1..] {
                command
                    .args(["--merchant", &format!("{key}:{}", gateway.as_str())])
                    .env(
                        format!("PAYPING_TOKEN_{}", key.to_uppercase().replace('-', "_")),
                        token,
                    );
            }
        },
    );
    let mut orders = Vec::new();
    for round in 0..2 {
        for (m, (key, _, _)) in MERCHANTS.iter().enumerate() {
            let order = format!("order-{m}-{round}");
            let query = if m == 0 {
                order.clone()
            } else {
                format!("{order}?merchant={key}")
            };
            let code = checkout_code(&shop.url, &query);
            // Paid, and the tab closed: no callback. Only the sweeper can settle it.
            sb.approve(&code).unwrap();
            orders.push((m, order, code));
        }
    }
    // The sweeper settles them in any order.
    let mut unshipped: Vec<String> = orders.iter().map(|(_, o, _)| format!("ship {o}")).collect();
    while !unshipped.is_empty() {
        let line = shop.wait_for(|l| unshipped.iter().any(|u| u == l));
        unshipped.retain(|u| *u != line);
    }
    for (m, order, code) in &orders {
        assert_eq!(order_state(&db.0, order), ("paid".into(), 1));
        let stored = stored_pending(&db.0, order);
        let expected = (*m != 0).then(|| key(MERCHANTS[*m].0));
        assert_eq!(stored.merchant(), expected.as_ref(), "{order}");
        // Verified in its own merchant's account.
        let theirs = sb.payments_of(MERCHANTS[*m].1);
        let payment = theirs
            .iter()
            .find(|p| &p.code == code)
            .expect("its merchant's");
        assert_eq!(payment.state, PaymentState::Verified, "{order}");
    }
    assert!(
        shop.read_printed()
            .iter()
            .all(|l| !l.starts_with("attention")),
        "{:?}",
        shop.seen
    );
}

/// The record the durable shop stored for `order`.
fn stored_pending(db: &std::path::Path, order: &str) -> Pending {
    let db = rusqlite::Connection::open(db).unwrap();
    let json: String = db
        .query_row("SELECT pending FROM orders WHERE id = ?1", [order], |r| {
            r.get(0)
        })
        .unwrap();
    serde_json::from_str(&json).unwrap()
}
