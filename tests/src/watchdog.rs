//! Frees relayed connections that tiny_http's task pool queued and forgot.
//!
//! tiny_http 0.12 serves each connection as one task of its `TaskPool`, for as long as the
//! connection lives (all of a keep-alive connection's requests). `TaskPool::spawn` queues a
//! task and wakes one idle thread while its count of idle threads is above zero, else starts
//! a thread. That count only drops once a woken thread has run, so when a burst of
//! connections arrives faster than the woken threads get the CPU (8 threads of one client
//! opening their connections at once, on a busy machine), later spawns see idle threads
//! that are already spoken for, queue their task and wake nobody. A queued task runs only
//! when some pool thread finishes a task or a new pool thread starts (a new thread runs its
//! own task, then takes from the queue, oldest first). With keep-alive connections nothing
//! finishes, so those connections were never answered.
//!
//! The relay knows when a connection's first bytes went to tiny_http, and the dispatch loop
//! tells it when that connection's first request arrives. While a connection has waited
//! longer than [`crate::proxy`]'s first-kick delay, this watchdog "kicks" the pool: it opens
//! a connection straight to the internal server and closes it at once. tiny_http spawns a
//! task for it, which either starts a new pool thread (no idle thread counted) or wakes an
//! idle one (one counted and really idle). Either thread runs the throwaway task (it reads
//! end of file at once: no request, nothing in [`crate::Sandbox::requests_seen`], and it
//! bypasses the public listener, so [`crate::Sandbox::connections_accepted`] does not count
//! it), then takes the oldest queued task. Only while woken threads are still on their way
//! can a kick be queued itself; the next kick then finds the count true. So every kick, or
//! the one after it, starts the oldest queued task, however large the burst, and a waiting
//! connection keeps asking for kicks until it is served: no connection waits for long.
//!
//! The rate is bounded: each waiting connection asks for one kick when due, and its interval
//! then doubles up to a cap, so a client that sends half a request and stalls (no request
//! ever arrives from it) costs little; with nothing waiting the watchdog sleeps.
//!
//! Weighed and rejected: pacing the relay's connects (each waits, bounded, for the previous
//! connection's first request) stalls every accept behind a client that connects and sends
//! nothing, and once the bounded wait runs out the lost wake-up is back; several internal
//! servers, round-robin, only spread a burst, and one larger than a server's idle threads
//! still stalls. Both make the stall rarer; the watchdog ends any stall it sees.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::proxy::Relay;
use crate::server::Shared;

/// At most this many kicks in one round, whatever the number of waiting connections.
const MAX_KICKS_PER_ROUND: usize = 64;
/// A kick's connect to the internal loopback server; a full backlog must not hold the
/// watchdog up.
const KICK_CONNECT_TIMEOUT: Duration = Duration::from_millis(200);

/// Runs until the sandbox stops, kicking the internal server at `backend_addr` while a
/// relayed connection's first request is overdue.
pub(crate) fn run(shared: &Shared, backend_addr: SocketAddr) {
    let relay = &shared.relay;
    let mut table = relay.table();
    loop {
        if shared.is_stopping() {
            return;
        }
        let now = Instant::now();
        let (due, next) = Relay::due_kicks(&mut table, now);
        if due > 0 {
            drop(table);
            for _ in 0..due.min(MAX_KICKS_PER_ROUND) {
                if shared.is_stopping() {
                    return;
                }
                kick(backend_addr);
            }
            table = relay.table();
            continue;
        }
        let timeout = next.map(|t| t.saturating_duration_since(now));
        table = relay.wait(table, timeout);
    }
}

/// Opens and closes one connection to the internal server.
fn kick(backend_addr: SocketAddr) {
    drop(TcpStream::connect_timeout(
        &backend_addr,
        KICK_CONNECT_TIMEOUT,
    ));
}
