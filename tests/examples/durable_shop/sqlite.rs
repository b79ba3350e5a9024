//! The orders in SQLite, for one shop process: every thread opens its own connection to the
//! same file (WAL, a busy timeout). One process holds no stored leases: its sweeper's
//! in-flight set is its claim (for several processes, use PostgreSQL: [`crate::pg`]).

use std::path::Path;
use std::time::Duration;

use ghesta_core::Pending;
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{Lease, Moved, Orders, Result, State};

/// One connection to the shop's database.
pub(crate) struct SqliteOrders {
    db: Connection,
}

impl SqliteOrders {
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
}

impl SqliteOrders {
    fn state(&self, order: &str) -> Result<Option<State>> {
        let state: Option<String> = self
            .db
            .query_row(
                "SELECT state FROM orders WHERE id = ?1",
                params![order],
                |r| r.get(0),
            )
            .optional()?;
        state.map(|s| State::parse(&s)).transpose()
    }

    /// Marks an order paid and ships it, once, if it is in one of `from`: the one shipment
    /// row is written in the same transaction as the state.
    fn ship_from(
        &mut self,
        order: &str,
        ref_id: &str,
        by: &str,
        from: [State; 2],
    ) -> Result<Moved> {
        let tx = self.db.transaction()?;
        let moved = tx.execute(
            "UPDATE orders SET state = 'paid', ref_id = ?2, settled_by = ?3
             WHERE id = ?1 AND state IN (?4, ?5)",
            params![order, ref_id, by, from[0].as_str(), from[1].as_str()],
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
}

impl Orders for SqliteOrders {
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()> {
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

    fn get(&mut self, order: &str) -> Result<Option<(State, Pending)>> {
        let row: Option<(String, String)> = self
            .db
            .query_row(
                "SELECT state, pending FROM orders WHERE id = ?1",
                params![order],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(state, pending)| Ok((State::parse(&state)?, serde_json::from_str(&pending)?)))
            .transpose()
    }

    /// One process: every overdue order, whatever `limit` (the sweeper's in-flight set
    /// keeps one it is settling from being handed out twice), and no stored lease.
    fn claim_overdue(
        &mut self,
        created_before: u64,
        _limit: usize,
        _lease: &Lease,
    ) -> Result<Vec<(String, Pending)>> {
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

    fn unclaim(&mut self, _order: &str, _lease: &Lease, _again_after: Duration) -> Result<()> {
        Ok(())
    }

    fn ship(&mut self, order: &str, ref_id: &str, by: &str) -> Result<Moved> {
        self.ship_from(order, ref_id, by, [State::Pending, State::Attention])
    }

    fn ship_after_release(&mut self, order: &str, ref_id: &str) -> Result<Moved> {
        self.ship_from(
            order,
            ref_id,
            "after release",
            [State::Released, State::Refunded],
        )
    }

    fn release(&mut self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(
            order,
            State::Released,
            by,
            &[State::Pending, State::Attention],
        )
    }

    fn needs_attention(&mut self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(order, State::Attention, by, &[State::Pending])
    }

    fn claim_refund(&mut self, order: &str, by: &str) -> Result<Moved> {
        self.set_from(order, State::Refunded, by, &[State::Released])
    }

    fn shipments(&mut self, order: &str) -> Result<u64> {
        Ok(self.db.query_row(
            "SELECT COUNT(*) FROM shipments WHERE order_id = ?1",
            params![order],
            |r| r.get(0),
        )?)
    }
}
