//! The public listener: a byte-for-byte TCP relay in front of the internal tiny_http server.
//!
//! tiny_http neither reports accepted connections nor lets a handler close a keep-alive
//! connection. The relay does both: it counts every accepted connection exactly, and keeps a
//! handle on the buyer/shop side of each one (keyed by the relay's address as tiny_http sees
//! it, which is `Request::remote_addr`) so a fault can write a partial answer and close.
//!
//! It also notes, per connection, when the client's first bytes went to tiny_http and
//! whether a request from that connection has reached the dispatch loop since: a connection
//! that waits too long is one tiny_http's pool lost, and [`crate::watchdog`] frees it.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::server::Shared;
use crate::util::lock;

/// How long a connection's first request may go unseen before the watchdog kicks: well
/// above the time tiny_http takes to pick up a connection (microseconds), well below any
/// client's timeout.
const FIRST_KICK_AFTER: Duration = Duration::from_millis(20);
/// The longest interval between kicks on behalf of one waiting connection (the interval
/// doubles from [`FIRST_KICK_AFTER`]), so a client that sends half a request and stalls
/// costs a throwaway connection a second at most.
const MAX_KICK_INTERVAL: Duration = Duration::from_millis(640);

/// Both ends of one relayed connection, and whether its first request is overdue.
pub(crate) struct Conn {
    /// The accepted socket (the real client).
    client: TcpStream,
    /// The relay's socket to tiny_http.
    backend: TcpStream,
    /// Set when the client's first bytes are forwarded; cleared once the dispatch loop has
    /// seen a request from this connection (tiny_http then serves it on a thread of its own
    /// for as long as it lives, so later requests cannot be lost).
    waiting: Option<Waiting>,
    /// The dispatch loop has seen a request from this connection.
    served: bool,
}

/// A connection whose first request tiny_http has not handed over yet.
struct Waiting {
    next_kick: Instant,
    interval: Duration,
}

impl Waiting {
    fn new(now: Instant) -> Waiting {
        Waiting {
            next_kick: now + FIRST_KICK_AFTER,
            interval: FIRST_KICK_AFTER,
        }
    }

    /// Whether a kick is due at `now`; if so, the next one is due after twice the interval
    /// (at most [`MAX_KICK_INTERVAL`]).
    fn kick_due(&mut self, now: Instant) -> bool {
        if now < self.next_kick {
            return false;
        }
        self.interval = (self.interval * 2).min(MAX_KICK_INTERVAL);
        self.next_kick = now + self.interval;
        true
    }
}

impl Conn {
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.backend.shutdown(Shutdown::Both);
    }
}

/// The relayed connections, keyed by the backend socket's local address.
#[derive(Default)]
pub(crate) struct Relay {
    conns: Mutex<HashMap<SocketAddr, Conn>>,
    /// Wakes the watchdog: a connection started waiting, or the sandbox is stopping.
    wake: Condvar,
}

impl Relay {
    /// Locks the table (the watchdog waits on [`Relay::wait`] with this guard).
    pub(crate) fn table(&self) -> MutexGuard<'_, HashMap<SocketAddr, Conn>> {
        lock(&self.conns)
    }

    /// Waits for a wake-up or `timeout` (`None`: only a wake-up).
    pub(crate) fn wait<'a>(
        &self,
        table: MutexGuard<'a, HashMap<SocketAddr, Conn>>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, HashMap<SocketAddr, Conn>> {
        match timeout {
            None => self
                .wake
                .wait(table)
                .unwrap_or_else(PoisonError::into_inner),
            Some(t) => match self.wake.wait_timeout(table, t) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            },
        }
    }

    /// Wakes the watchdog (taking the lock, so a watchdog about to wait cannot miss it).
    pub(crate) fn wake_all(&self) {
        let _table = self.table();
        self.wake.notify_all();
    }

    /// The client's first bytes on `key` are about to be forwarded.
    fn forwarding(&self, key: SocketAddr) {
        let mut table = self.table();
        if let Some(c) = table.get_mut(&key).filter(|c| !c.served) {
            c.waiting = Some(Waiting::new(Instant::now()));
            self.wake.notify_all();
        }
    }

    /// The dispatch loop took a request whose tiny_http `remote_addr` is `key`.
    pub(crate) fn served(&self, key: SocketAddr) {
        if let Some(c) = self.table().get_mut(&key) {
            c.served = true;
            c.waiting = None;
        }
    }

    /// Counts the waiting connections due for a kick at `now` (rescheduling each, with its
    /// interval doubled), and returns that count with the next time one falls due.
    pub(crate) fn due_kicks(
        table: &mut HashMap<SocketAddr, Conn>,
        now: Instant,
    ) -> (usize, Option<Instant>) {
        let mut due = 0;
        let mut next: Option<Instant> = None;
        for w in table.values_mut().filter_map(|c| c.waiting.as_mut()) {
            if w.kick_due(now) {
                due += 1;
            }
            next = Some(next.map_or(w.next_kick, |n| n.min(w.next_kick)));
        }
        (due, next)
    }
}

/// Accepts on the public listener until the sandbox stops, relaying each connection.
pub(crate) fn accept_loop(shared: Arc<Shared>, listener: TcpListener, backend_addr: SocketAddr) {
    let mut pumps: Vec<JoinHandle<()>> = Vec::new();
    for incoming in listener.incoming() {
        if shared.is_stopping() {
            break;
        }
        let client = match incoming {
            Ok(s) => s,
            Err(_) => {
                // e.g. out of file descriptors: back off a little instead of spinning.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let Ok(backend) = TcpStream::connect(backend_addr) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = backend.set_nodelay(true);
        let (Ok(key), Ok(client2), Ok(backend2)) = (
            backend.local_addr(),
            client.try_clone(),
            backend.try_clone(),
        ) else {
            continue;
        };
        shared.relay.table().insert(
            key,
            Conn {
                client: client2,
                backend: backend2,
                waiting: None,
                served: false,
            },
        );
        pumps.retain(|h| !h.is_finished());
        let shared2 = Arc::clone(&shared);
        pumps.push(thread::spawn(move || pump(&shared2, key, client, backend)));
    }
    for conn in shared.relay.table().values() {
        conn.close();
    }
    for h in pumps {
        let _ = h.join();
    }
}

fn pump(shared: &Shared, key: SocketAddr, client: TcpStream, backend: TcpStream) {
    thread::scope(|s| {
        s.spawn(|| {
            let _ = io::copy(&mut &backend, &mut &client);
            let _ = client.shutdown(Shutdown::Write);
        });
        let _ = forward_first(shared, key, &client, &backend)
            .and_then(|()| io::copy(&mut &client, &mut &backend));
        let _ = backend.shutdown(Shutdown::Write);
    });
    shared.relay.table().remove(&key);
}

/// Forwards the client's first bytes, noting the time for the watchdog before they can
/// reach tiny_http (so the dispatch loop cannot see the request before the note).
fn forward_first(
    shared: &Shared,
    key: SocketAddr,
    mut client: &TcpStream,
    mut backend: &TcpStream,
) -> io::Result<()> {
    let mut buf = [0u8; 8 * 1024];
    let n = loop {
        match client.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => break other?,
        }
    };
    if n > 0 {
        shared.relay.forwarding(key);
        backend.write_all(&buf[..n])?;
    }
    Ok(())
}

/// Writes `bytes` as all that is left of the answer to `req`, then closes its connection.
///
/// When the request did not come through the relay (someone reached the internal server
/// directly), the bytes are written but the connection cannot be closed.
pub(crate) fn sever(shared: &Shared, req: tiny_http::Request, bytes: &[u8]) {
    let key = req.remote_addr().copied();
    // Taking the writer keeps tiny_http from writing anything for this request.
    let mut writer = req.into_writer();
    let conn = key.and_then(|k| {
        let table = shared.relay.table();
        let c = table.get(&k)?;
        Some((c.client.try_clone().ok()?, c.backend.try_clone().ok()?))
    });
    match conn {
        Some((client, backend)) => {
            let _ = (&client).write_all(bytes);
            let _ = (&client).flush();
            let _ = client.shutdown(Shutdown::Both);
            let _ = backend.shutdown(Shutdown::Both);
        }
        None => {
            let _ = writer.write_all(bytes);
            let _ = writer.flush();
        }
    }
    drop(writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kicks_fall_due_after_the_first_delay_then_back_off_to_the_cap() {
        let start = Instant::now();
        let mut w = Waiting::new(start);
        let ms = |n| start + Duration::from_millis(n);
        assert!(!w.kick_due(ms(19)));
        assert!(w.kick_due(ms(20)));
        // Next after 40 ms, then 80, 160, 320, 640, and 640 from then on.
        assert!(!w.kick_due(ms(59)));
        assert!(w.kick_due(ms(60)));
        let mut at = 60;
        for interval in [80, 160, 320, 640, 640, 640] {
            assert!(!w.kick_due(ms(at + interval - 1)), "before {interval}");
            at += interval;
            assert!(w.kick_due(ms(at)), "after {interval}");
        }
    }
}
