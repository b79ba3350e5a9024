//! The public listener: a byte-for-byte TCP relay in front of the internal tiny_http server.
//!
//! tiny_http neither reports accepted connections nor lets a handler close a keep-alive
//! connection. The relay does both: it counts every accepted connection exactly, and keeps a
//! handle on the buyer/shop side of each one (keyed by the relay's address as tiny_http sees
//! it, which is `Request::remote_addr`) so a fault can write a partial answer and close.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::server::Shared;
use crate::util::lock;

/// Both ends of one relayed connection.
pub(crate) struct Conn {
    /// The accepted socket (the real client).
    client: TcpStream,
    /// The relay's socket to tiny_http.
    backend: TcpStream,
}

impl Conn {
    fn close(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.backend.shutdown(Shutdown::Both);
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
        lock(&shared.conns).insert(
            key,
            Conn {
                client: client2,
                backend: backend2,
            },
        );
        pumps.retain(|h| !h.is_finished());
        let shared2 = Arc::clone(&shared);
        pumps.push(thread::spawn(move || pump(&shared2, key, client, backend)));
    }
    for conn in lock(&shared.conns).values() {
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
        let _ = io::copy(&mut &client, &mut &backend);
        let _ = backend.shutdown(Shutdown::Write);
    });
    lock(&shared.conns).remove(&key);
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
        let conns = lock(&shared.conns);
        let c = conns.get(&k)?;
        Some(Conn {
            client: c.client.try_clone().ok()?,
            backend: c.backend.try_clone().ok()?,
        })
    });
    match conn {
        Some(conn) => {
            let _ = (&conn.client).write_all(bytes);
            let _ = (&conn.client).flush();
            conn.close();
        }
        None => {
            let _ = writer.write_all(bytes);
            let _ = writer.flush();
        }
    }
    drop(writer);
}
