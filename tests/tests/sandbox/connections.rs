//! Connections: keep-alive, concurrency, bursts, and a prompt drop.

use super::*;

#[test]
fn keep_alive_calls_share_one_connection() {
    let sb = start();
    let ag = agent();
    let url = format!("{}/v1/report/nosuchcode", sb.base_url());
    for _ in 0..1000 {
        let a = try_call(&ag, "GET", &url, Some(sb.token()), None).unwrap();
        assert_eq!(a.status, 400);
    }
    assert_eq!(sb.connections_accepted(), 1);
    let c = try_call(
        &ag,
        "GET",
        &format!("{}/__sandbox/connections", sb.base_url()),
        None,
        None,
    )
    .unwrap();
    assert_eq!(c.json()["accepted"], 1);
    // A fresh agent is a new connection.
    try_call(&agent(), "GET", &url, Some(sb.token()), None).unwrap();
    assert_eq!(sb.connections_accepted(), 2);
}

#[test]
fn eight_threads_create_concurrently() {
    let sb = start();
    thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let ag = agent();
                let url = format!("{}/v2/pay", sb.base_url());
                let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"});
                for _ in 0..20 {
                    let a = try_call(&ag, "POST", &url, Some(sb.token()), Some(&body)).unwrap();
                    assert_eq!(a.status, 200, "{}", a.body);
                }
            });
        }
    });
    let payments = sb.payments();
    assert_eq!(payments.len(), 160);
    let mut codes: Vec<_> = payments.iter().map(|p| p.code.clone()).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 160);
}

/// Reads the head of one answer on a keep-alive connection: up to the blank line ending
/// the headers, failing after `timeout`. The connection stays open.
fn read_answer_head(s: &mut TcpStream, timeout: Duration) -> std::io::Result<String> {
    s.set_read_timeout(Some(timeout))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// A burst of new keep-alive connections, each sending its first request at once, must all
/// be answered while the others stay open: a server that serves connections from a fixed
/// pool of threads, or loses a wake-up in a burst, leaves some unanswered until another
/// connection closes. Several rounds, each on a fresh sandbox.
#[test]
fn a_burst_of_keep_alive_connections_is_all_served() {
    const CONNECTIONS: usize = 12;
    const ROUNDS: usize = 6;
    for round in 0..ROUNDS {
        let sb = start();
        let body = json!({"amount": 1000, "returnUrl": "http://127.0.0.1/"}).to_string();
        let request = format!(
            "POST /v2/pay HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            sb.token(),
            body.len()
        );
        // Connected back to back from one thread: the tightest burst. Every connection stays
        // open (as a client's pool keeps it) until all have been answered or timed out.
        let mut conns: Vec<TcpStream> = (0..CONNECTIONS)
            .map(|_| TcpStream::connect(sb.local_addr()).unwrap())
            .collect();
        for c in &mut conns {
            c.write_all(request.as_bytes()).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let heads: Vec<_> = conns
            .iter_mut()
            .map(|c| {
                let left = deadline.saturating_duration_since(Instant::now());
                read_answer_head(c, left.max(Duration::from_millis(1)))
            })
            .collect();
        let unanswered = heads.iter().filter(|h| h.is_err()).count();
        assert_eq!(
            unanswered, 0,
            "round {round}: {unanswered} of {CONNECTIONS} unanswered"
        );
        for head in heads {
            let head = head.unwrap();
            assert!(head.starts_with("HTTP/1.1 200"), "round {round}: {head:?}");
        }
        // Each connection is counted once, and nothing but the requests as requests.
        let seen = sb.requests_seen();
        let n = CONNECTIONS as u64;
        assert_eq!(
            (
                seen.create,
                seen.verify,
                seen.cancel,
                seen.report,
                seen.gateway
            ),
            (n, 0, 0, 0, 0)
        );
        assert_eq!(sb.connections_accepted(), n);
    }
}

#[test]
fn drop_is_prompt_with_open_connections() {
    let sb = start();
    let (_, ref_id) = approved(&sb, 1_000);
    // An idle keep-alive connection, and a request stuck in a long delay.
    let ag = agent();
    try_call(
        &ag,
        "GET",
        &format!("{}/v1/report/x", sb.base_url()),
        Some(sb.token()),
        None,
    )
    .unwrap();
    sb.inject(
        Route::Verify,
        Fault::Delay(Duration::from_secs(60)),
        Times::Once,
    );
    let mut s = TcpStream::connect(sb.local_addr()).unwrap();
    s.write_all(raw_verify(&sb, &ref_id, 1_000).as_bytes())
        .unwrap();
    wait_for(
        "the verify reached the sandbox",
        Duration::from_secs(20),
        || sb.requests_seen().verify > 0,
    );
    // Dropping must not wait out the 60 s delay: a generous bound, well under it.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        drop(sb);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("dropping the sandbox waited for the delayed request");
}
