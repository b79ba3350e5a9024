//! One accepted connection's socket, as hyper reads and writes it, with a way for a fault to
//! end the connection part-way through an answer.
//!
//! hyper frames every answer itself; the faults that break framing ([`Fault::CloseMidAnswer`],
//! [`Fault::TruncatedBody`]) must not go through it. The handler renders the broken bytes
//! and leaves them in the connection's [`Cut`]; the next time hyper writes (the answer it was
//! given instead, which is never sent), [`Wire`] writes the broken bytes, closes its side of
//! the connection and fails the write, so hyper drops the connection. The client reads
//! exactly the bytes the fault rendered, then end of file.
//!
//! Bytes of an earlier answer on the same connection that hyper had not flushed yet would be
//! replaced too. Only a client that pipelines requests (sends the next before reading the
//! answer) can have such bytes waiting; PayPing clients and browsers do not.
//!
//! [`Fault::CloseMidAnswer`]: crate::Fault::CloseMidAnswer
//! [`Fault::TruncatedBody`]: crate::Fault::TruncatedBody

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::util::lock;

/// Where a handler leaves the bytes that end its connection.
#[derive(Clone, Default)]
pub(crate) struct Cut(Arc<Mutex<Option<Vec<u8>>>>);

impl Cut {
    /// Ends the connection after `bytes`, in place of the answer hyper is about to write.
    pub(crate) fn after(&self, bytes: Vec<u8>) {
        *lock(&self.0) = Some(bytes);
    }

    fn take(&self) -> Option<Vec<u8>> {
        lock(&self.0).take()
    }
}

/// A connection's socket (TCP, or TLS over TCP, where the cut's bytes are encrypted like any
/// others), cut short when its [`Cut`] says so.
pub(crate) struct Wire<S> {
    stream: S,
    cut: Cut,
    /// The bytes of a cut being written, and how many are out.
    cutting: Option<(Vec<u8>, usize)>,
}

impl<S: AsyncWrite + Unpin> Wire<S> {
    pub(crate) fn new(stream: S, cut: Cut) -> Wire<S> {
        Wire {
            stream,
            cut,
            cutting: None,
        }
    }

    /// `Ready(Ok)` when no cut is due (hyper's bytes go through); otherwise writes the cut's
    /// bytes, shuts the socket's sending side and ends in an error that makes hyper drop the
    /// connection.
    fn poll_cut(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cutting.is_none() {
            match self.cut.take() {
                Some(bytes) => self.cutting = Some((bytes, 0)),
                None => return Poll::Ready(Ok(())),
            }
        }
        let Wire {
            stream, cutting, ..
        } = self;
        if let Some((bytes, written)) = cutting {
            while *written < bytes.len() {
                let n = ready!(Pin::new(&mut *stream).poll_write(cx, &bytes[*written..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
        }
        ready!(Pin::new(stream).poll_shutdown(cx))?;
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "the answer was cut short by an injected fault",
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Wire<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Wire<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_cut(cx))?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_cut(cx))?;
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_cut(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
