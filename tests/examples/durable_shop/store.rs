//! The shop's orders: each order, every payment made for it (its `Pending` record and how it
//! stands), the payment that paid it, and the one shipment a paid order gets, behind one
//! interface ([`Orders`]) over two databases: SQLite ([`crate::sqlite`], one shop process)
//! and PostgreSQL ([`crate::pg`], any number of shop processes).
//!
//! Tables: `orders (id, pending, state, created_unix, ref_id, settled_by, paid_by, ...)`
//! (`pending` is the order's first payment's record, as the previous schema had it; `paid_by`
//! the code of the payment that paid it), `payments (code PRIMARY KEY, order_id, pending,
//! state, created_unix, ...)` and `shipments (order_id PRIMARY KEY, ref_id)`. A database of
//! the previous schema (one payment per order, in `orders.pending`) is migrated in place when
//! the shop opens it: each order's record becomes its payment, and a paid order's `paid_by`
//! its code.
//!
//! Every move between states is one conditional `UPDATE ... WHERE state IN (...)` (inside a
//! transaction with the shipment row where there is one): whichever path settles an order
//! first (a callback, a sweeper, a restarted shop, another process) does it, and the others
//! find it done. An order is paid by one payment only: `SET paid_by = CODE WHERE id = ORDER
//! AND paid_by IS NULL`, so two payments of one order proven at once ship it once.

use std::path::PathBuf;
use std::time::Duration;

use ghesta_core::{PaymentCode, Pending};

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

/// How one payment of an order stands. An order has one payment per checkout (a buyer with
/// two tabs, a create retried): each is settled on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PaymentState {
    /// Not settled: the sweeper settles it once overdue, whatever the order's state (a
    /// second payment of a paid order too: it may have been paid).
    Open,
    /// It paid the order (`orders.paid_by`).
    Paid,
    /// PayPing's word is that it will not be paid.
    Released,
    /// Set aside for a person; the sweeper skips it.
    Attention,
    /// Given back to the buyer: paid after its order was released, or paid for an order
    /// another payment had paid.
    Refunded,
    /// Paid for an order another payment had paid, and not reversible (or its refund
    /// failed): a person was alerted to refund it by hand, once.
    Alerted,
}

impl PaymentState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Paid => "paid",
            Self::Released => "released",
            Self::Attention => "attention",
            Self::Refunded => "refunded",
            Self::Alerted => "alerted",
        }
    }

    pub(crate) fn parse(text: &str) -> Result<Self> {
        [
            Self::Open,
            Self::Paid,
            Self::Released,
            Self::Attention,
            Self::Refunded,
            Self::Alerted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("an unknown payment state {text:?} in the database").into())
    }

    /// The states a payment is settled from: none that money has already settled.
    pub(crate) const UNSETTLED: [PaymentState; 3] = [Self::Open, Self::Attention, Self::Released];
}

/// An order as the paths that settle it read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Order {
    pub(crate) state: State,
    /// The payment that paid it (set with `Paid`, never changed after).
    pub(crate) paid_by: Option<PaymentCode>,
    /// How many payments it has.
    pub(crate) payments: u64,
}

/// One payment of an order.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub(crate) state: PaymentState,
    pub(crate) pending: Pending,
}

/// A payment the sweeper settles: overdue and open.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    pub(crate) order: String,
    pub(crate) pending: Pending,
    /// The payment that already paid the order, if one did: this one then settles as
    /// paid twice.
    pub(crate) paid_by: Option<PaymentCode>,
}

/// What a conditional move found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Moved {
    /// This caller moved the order.
    Yes,
    /// The order was already elsewhere (another path settled it first): its state now.
    No(Option<State>),
}

/// A sweeper's claim on the overdue payments it settles: who holds it, and for how long. On
/// PostgreSQL the claim is stored (`payments.lease_owner`, `lease_until`) and committed before
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
    /// Keeps a new payment's record for `order` (`Pending` as JSON: it reads back, checked,
    /// in any later release of the SDK), creating the order if it is new; an order may have
    /// any number of payments. The record stays server-side: its fields decide what is
    /// verified, so the buyer never gets to write them.
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()>;

    /// An order's state and the payment that paid it.
    fn order(&mut self, order: &str) -> Result<Option<Order>>;

    /// The order's payment `code`; when it has none by that code, its latest one (a
    /// completed callback naming another code is then refused by the settlement, which
    /// checks the code against the record).
    fn payment(&mut self, order: &str, code: &PaymentCode) -> Result<Option<Payment>>;

    /// Up to `limit` open payments created at or before `created_before` (Unix seconds) of
    /// orders pending or paid (a paid order's other payment may be paid too), the ones whose
    /// callback is overdue, claimed for `lease`: none that another holder's unexpired lease
    /// covers. Payments and orders set aside for a person are not among them.
    fn claim_overdue(
        &mut self,
        created_before: u64,
        limit: usize,
        lease: &Lease,
    ) -> Result<Vec<Due>>;

    /// Gives up `lease`'s claim on a payment still open (its settlement waits), so that a
    /// round of any process asks again, not before `again_after`.
    fn unclaim(&mut self, code: &PaymentCode, lease: &Lease, again_after: Duration) -> Result<()>;

    /// PayPing proved payment `code`: the order is paid by it and shipped, once, unless
    /// another path (or another payment) settled it first: then [`Moved::No`] says how
    /// (`Released` means the money came after the release; `Paid` with another `paid_by`,
    /// that the order is paid twice).
    fn ship(&mut self, order: &str, code: &PaymentCode, ref_id: &str, by: &str) -> Result<Moved>;

    /// Payment `code`, proven after the release, could not be refunded: the order is shipped
    /// after all, once.
    fn ship_after_release(
        &mut self,
        order: &str,
        code: &PaymentCode,
        ref_id: &str,
    ) -> Result<Moved>;

    /// Payment `code` will not be paid, on PayPing's word: it is closed, and its order is
    /// released (once) unless another of its payments is still open or set aside.
    fn release(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved>;

    /// Sets payment `code` aside for a person, once (the sweeper skips it), and its order
    /// if pending. [`Moved::Yes`] when the payment moved.
    fn needs_attention(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved>;

    /// Claims payment `code`, proven after its order was released, for a refund (so that
    /// two paths never refund it twice); the order becomes refunded.
    fn claim_refund(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved>;

    /// Moves payment `code` to `to` if it is in one of `from`: whether it moved.
    fn move_payment(
        &mut self,
        code: &PaymentCode,
        to: PaymentState,
        from: &[PaymentState],
    ) -> Result<bool>;

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
