//! The shop's orders: each order's `Pending` record, its state, and the one shipment a paid
//! order gets, behind one interface ([`Orders`]) over two databases: SQLite ([`crate::sqlite`],
//! one shop process) and PostgreSQL ([`crate::pg`], any number of shop processes).
//!
//! Every move between states is one conditional `UPDATE ... WHERE state IN (...)` (inside a
//! transaction with the shipment row where there is one): whichever path settles an order
//! first (a callback, a sweeper, a restarted shop, another process) does it, and the others
//! find it done.

use std::path::PathBuf;
use std::time::Duration;

use ghesta_core::Pending;

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created; the buyer was sent to pay; nothing settled yet. The sweeper settles it.
    Pending,
    /// PayPing proved this order's payment; shipped once.
    Paid,
    /// PayPing's word is that it will not be paid (cancelled, failed, voided, or never paid
    /// within the window): the stock is back on the shelf. Never set by a callback alone.
    Released,
    /// PayPing's answers contradict the record, or kept failing past the last moment the
    /// payment could be verified: a person looks at it in PayPing's panel. The sweeper skips
    /// it; a callback whose payment PayPing then proves still ships it.
    Attention,
    /// PayPing proved a payment after the order had been released, and the shop gave the
    /// money back (a reversible v3 payment).
    Refunded,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Released => "released",
            Self::Attention => "attention",
            Self::Refunded => "refunded",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        [
            Self::Pending,
            Self::Paid,
            Self::Released,
            Self::Attention,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("an unknown state {text:?} in the database").into())
    }
}

/// What a conditional move found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moved {
    /// This caller moved the order.
    Yes,
    /// The order was already elsewhere (another path settled it first): its state now.
    No(Option<State>),
}

/// A sweeper's claim on the overdue orders it settles: who holds it, and for how long. On
/// PostgreSQL the claim is stored (`lease_owner`, `lease_until`) and committed before
/// PayPing is asked, so no transaction stays open during the call and a process that dies
/// holding it loses it when it expires. A lease that runs out during a slow call costs at
/// most a second verify (PayPing answers "already verified") and a conditional `UPDATE`
/// that finds the order settled.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub(crate) owner: String,
    pub(crate) length: Duration,
}

/// The orders, as every path of the shop moves them.
pub(crate) trait Orders: Send {
    /// Keeps a new order's record (`Pending` as JSON: it reads back, checked, in any later
    /// release of the SDK). The record stays server-side: its fields decide what is
    /// verified, so the buyer never gets to write them.
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()>;

    /// An order's state and record.
    fn get(&mut self, order: &str) -> Result<Option<(State, Pending)>>;

    /// Up to `limit` pending orders created at or before `created_before` (Unix seconds),
    /// the ones whose callback is overdue, claimed for `lease`: none that another holder's
    /// unexpired lease covers. Orders needing attention are not among them.
    fn claim_overdue(
        &mut self,
        created_before: u64,
        limit: usize,
        lease: &Lease,
    ) -> Result<Vec<(String, Pending)>>;

    /// Gives up `lease`'s claim on an order still pending (its settlement waits), so that
    /// a round of any process asks again, not before `again_after`.
    fn unclaim(&mut self, order: &str, lease: &Lease, again_after: Duration) -> Result<()>;

    /// PayPing proved the payment: paid and shipped, once, unless another path settled it
    /// first (then [`Moved::No`] says how: `Released` means the money came after the
    /// release).
    fn ship(&mut self, order: &str, ref_id: &str, by: &str) -> Result<Moved>;

    /// A payment proven after the release that could not be refunded: shipped after all,
    /// once.
    fn ship_after_release(&mut self, order: &str, ref_id: &str) -> Result<Moved>;

    /// Releases an open order, on PayPing's word, once.
    fn release(&mut self, order: &str, by: &str) -> Result<Moved>;

    /// Sets a pending order aside for a person, once.
    fn needs_attention(&mut self, order: &str, by: &str) -> Result<Moved>;

    /// Claims a released order for a refund (so that two paths never refund it twice).
    fn claim_refund(&mut self, order: &str, by: &str) -> Result<Moved>;

    /// How many shipments an order has (a paid order has exactly one).
    fn shipments(&mut self, order: &str) -> Result<u64>;
}

/// One thread's handle on the orders.
pub(crate) type Store = Box<dyn Orders>;

/// Where the orders are kept: `--db` (or `DATABASE_URL`) names a PostgreSQL database with a
/// `postgres://` (or `postgresql://`) URL, anything else is a SQLite file.
#[derive(Clone)]
pub(crate) enum Db {
    /// A SQLite file; each thread opens its own connection.
    Sqlite(PathBuf),
    /// A PostgreSQL database, through a pool the threads share.
    Postgres(crate::pg::Pool),
}

impl Db {
    /// Connects (PostgreSQL) and creates the tables where they are missing.
    pub(crate) fn open(target: &str) -> Result<Db> {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            Ok(Db::Postgres(crate::pg::connect(target)?))
        } else {
            let path = PathBuf::from(target);
            crate::sqlite::SqliteOrders::open(&path)?;
            Ok(Db::Sqlite(path))
        }
    }

    /// A handle for one thread.
    pub(crate) fn store(&self) -> Result<Store> {
        Ok(match self {
            Db::Sqlite(path) => Box::new(crate::sqlite::SqliteOrders::open(path)?),
            Db::Postgres(pool) => Box::new(crate::pg::PgOrders::new(pool.clone())),
        })
    }
}
