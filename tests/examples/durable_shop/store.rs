//! The shop's orders in SQLite: each order's `Pending` record, its state, and the one
//! shipment a paid order gets.
//!
//! Every thread opens its own connection to the same file (WAL, a busy timeout), and every
//! move between states is one conditional `UPDATE ... WHERE state IN (...)` (inside a
//! transaction with the shipment row where there is one): whichever path settles an order
//! first (a callback, the sweeper, a restarted shop) does it, and the others find it done.

use std::path::Path;
use std::time::Duration;

use ghesta_core::Pending;
use rusqlite::{Connection, OptionalExtension, params};

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
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Released => "released",
            Self::Attention => "attention",
            Self::Refunded => "refunded",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Paid,
            Self::Released,
            Self::Attention,
            Self::Refunded,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
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
    /// release of the SDK). The record stays here, server-side: its fields decide what is
    /// verified, so the buyer never gets to write them.
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

    fn state(&self, order: &str) -> Result<Option<State>> {
        Ok(self.get(order)?.map(|(state, _)| state))
    }

    /// Pending orders created at or before `created_before` (Unix seconds): the ones whose
    /// callback is overdue. Orders needing attention are not among them.
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

    /// Marks an order paid and ships it, once, if it is in one of `from`: the one shipment
    /// row is written in the same transaction as the state.
    fn ship_from(&mut self, order: &str, ref_id: &str, by: &str, from: &[State]) -> Result<Moved> {
        let tx = self.db.transaction()?;
        let [a, b] = match from {
            [a] => [a.as_str(); 2],
            [a, b, ..] => [a.as_str(), b.as_str()],
            [] => return Ok(Moved::No(None)),
        };
        let moved = tx.execute(
            "UPDATE orders SET state = 'paid', ref_id = ?2, settled_by = ?3
             WHERE id = ?1 AND state IN (?4, ?5)",
            params![order, ref_id, by, a, b],
        )?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO shipments (order_id, ref_id) VALUES (?1, ?2)",
                params![order, ref_id],
            )?;
        }
        tx.commit()?;
        if moved == 1 {
            Ok(Moved::Yes)
        } else {
            Ok(Moved::No(self.state(order)?))
        }
    }

    /// PayPing proved the payment: paid and shipped, once, unless another path settled it
    /// first (then [`Moved::No`] says how: `Released` means the money came after the
    /// release).
    pub(crate) fn ship(&mut self, order: &str, ref_id: &str, by: &str) -> Result<Moved> {
        self.ship_from(order, ref_id, by, &[State::Pending, State::Attention])
    }

    /// A payment proven after the release that could not be refunded: shipped after all,
    /// once.
    pub(crate) fn ship_after_release(&mut self, order: &str, ref_id: &str) -> Result<Moved> {
        self.ship_from(
            order,
            ref_id,
            "after release",
            &[State::Released, State::Refunded],
        )
    }

    fn set_from(&self, order: &str, to: State, by: &str, from: &[State]) -> Result<Moved> {
        let mut moved = 0;
        for state in from {
            moved += self.db.execute(
                "UPDATE orders SET state = ?2, settled_by = ?3 WHERE id = ?1 AND state = ?4",
                params![order, to.as_str(), by, state.as_str()],
            )?;
            if moved > 0 {
                break;
            }
        }
        if moved == 1 {
            Ok(Moved::Yes)
        } else {
            Ok(Moved::No(self.state(order)?))
        }
    }

    /// Releases an open order, on PayPing's word, once.
    pub(crate) fn release(&self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(
            order,
            State::Released,
            by,
            &[State::Pending, State::Attention],
        )
    }

    /// Sets a pending order aside for a person, once.
    pub(crate) fn needs_attention(&self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(order, State::Attention, by, &[State::Pending])
    }

    /// Claims a released order for a refund (so that two paths never refund it twice).
    pub(crate) fn claim_refund(&self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(order, State::Refunded, by, &[State::Released])
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
