//! The shop's orders in SQLite: each order's `Pending` record, its state, and the one
//! shipment a paid order gets.
//!
//! Every thread opens its own connection to the same file (WAL, a busy timeout), and every
//! move out of `pending` is one conditional `UPDATE ... WHERE state = 'pending'` inside a
//! transaction with the shipment row: whichever path settles an order first (the callback,
//! the sweeper, a restarted shop) does it, and the others find it done.

use std::path::Path;
use std::time::Duration;

use ghesta_core::Pending;
use rusqlite::{Connection, OptionalExtension, params};

/// How an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Created; the buyer was sent to pay; nothing settled yet.
    Pending,
    /// Paid and verified; shipped once.
    Paid,
    /// The buyer did not pay.
    Cancelled,
    /// The verify window passed without a verified payment.
    Expired,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Paid, Self::Cancelled, Self::Expired]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One connection to the shop's database.
pub(crate) struct Store {
    db: Connection,
}

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

impl Store {
    /// Opens (and on first use creates) the database at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let db = Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                 id TEXT PRIMARY KEY,
                 pending TEXT NOT NULL,
                 state TEXT NOT NULL,
                 created_unix INTEGER NOT NULL,
                 ref_id TEXT,
                 settled_by TEXT
             );
             CREATE TABLE IF NOT EXISTS shipments (
                 order_id TEXT PRIMARY KEY REFERENCES orders(id),
                 ref_id TEXT NOT NULL
             );",
        )?;
        Ok(Self { db })
    }

    /// Keeps a new order's record (`Pending` as JSON: it reads back, checked, in any later
    /// release of the SDK).
    pub(crate) fn insert(&self, order: &str, pending: &Pending) -> Result<()> {
        let created = pending
            .created_at()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        self.db.execute(
            "INSERT INTO orders (id, pending, state, created_unix) VALUES (?1, ?2, 'pending', ?3)",
            params![order, serde_json::to_string(pending)?, created],
        )?;
        Ok(())
    }

    /// An order's state and record.
    pub(crate) fn get(&self, order: &str) -> Result<Option<(State, Pending)>> {
        let row: Option<(String, String)> = self
            .db
            .query_row(
                "SELECT state, pending FROM orders WHERE id = ?1",
                params![order],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(state, pending)| {
            let state = State::parse(&state).ok_or("an unknown state in the database")?;
            Ok((state, serde_json::from_str(&pending)?))
        })
        .transpose()
    }

    /// Pending orders created at or before `created_before` (Unix seconds): the ones whose
    /// callback is overdue.
    pub(crate) fn overdue(&self, created_before: u64) -> Result<Vec<(String, Pending)>> {
        let mut query = self.db.prepare(
            "SELECT id, pending FROM orders WHERE state = 'pending' AND created_unix <= ?1 ORDER BY created_unix",
        )?;
        let rows = query.query_map(params![created_before], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut due = Vec::new();
        for row in rows {
            let (order, pending) = row?;
            due.push((order, serde_json::from_str(&pending)?));
        }
        Ok(due)
    }

    /// Marks a pending order paid and ships it, once: `true` only for the caller that moved
    /// it out of `pending`.
    pub(crate) fn settle_paid(&mut self, order: &str, ref_id: &str, by: &str) -> Result<bool> {
        let tx = self.db.transaction()?;
        let moved = tx.execute(
            "UPDATE orders SET state = 'paid', ref_id = ?2, settled_by = ?3 WHERE id = ?1 AND state = 'pending'",
            params![order, ref_id, by],
        )?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO shipments (order_id, ref_id) VALUES (?1, ?2)",
                params![order, ref_id],
            )?;
        }
        tx.commit()?;
        Ok(moved == 1)
    }

    /// Moves a pending order to `state` (cancelled or expired), once.
    pub(crate) fn settle(&self, order: &str, state: State, by: &str) -> Result<bool> {
        let moved = self.db.execute(
            "UPDATE orders SET state = ?2, settled_by = ?3 WHERE id = ?1 AND state = 'pending'",
            params![order, state.as_str(), by],
        )?;
        Ok(moved == 1)
    }

    /// How many shipments an order has (a paid order has exactly one).
    pub(crate) fn shipments(&self, order: &str) -> Result<u64> {
        Ok(self.db.query_row(
            "SELECT COUNT(*) FROM shipments WHERE order_id = ?1",
            params![order],
            |r| r.get(0),
        )?)
    }
}
