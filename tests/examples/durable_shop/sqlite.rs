//! The orders in SQLite, for one shop process: every thread opens its own connection to the
//! same file (WAL, a busy timeout). One process holds no stored leases: its sweeper's
//! in-flight set is its claim (for several processes, use PostgreSQL: [`crate::pg`]).

use std::path::Path;
use std::time::Duration;

use ghesta_core::{PaymentCode, Pending};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::store::{Due, Lease, Moved, Order, Orders, Payment, PaymentState, Result, State};

/// The tables, created where missing.
const TABLES: &str = "
    CREATE TABLE IF NOT EXISTS orders (
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
    );
    CREATE TABLE IF NOT EXISTS payments (
        code TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES orders(id),
        pending TEXT NOT NULL,
        state TEXT NOT NULL,
        created_unix INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS payments_of_order ON payments (order_id);";

/// From the previous schema (one payment per order, its record in `orders.pending`): each
/// order's record becomes its payment, in the order's state (`pending` is `open`), and a
/// paid order is paid by it. Runs on every open; finds nothing to do the second time.
const MIGRATE_PAYMENTS: &str = "
    INSERT INTO payments (code, order_id, pending, state, created_unix)
    SELECT json_extract(o.pending, '$.code'), o.id, o.pending,
           CASE o.state WHEN 'pending' THEN 'open' ELSE o.state END, o.created_unix
    FROM orders o
    WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id);
    UPDATE orders SET paid_by = json_extract(pending, '$.code')
    WHERE state = 'paid' AND paid_by IS NULL;";

/// One connection to the shop's database.
pub(crate) struct SqliteOrders {
    db: Connection,
}

impl SqliteOrders {
    /// Opens (and on first use creates, or migrates from the previous schema) the database
    /// at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let mut db = Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(5))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // One writer at a time (IMMEDIATE): two threads opening the database at once do
        // not both add the column.
        let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(TABLES)?;
        let has_paid_by: bool = tx.query_row(
            "SELECT COUNT(*) > 0 FROM pragma_table_info('orders') WHERE name = 'paid_by'",
            [],
            |r| r.get(0),
        )?;
        if !has_paid_by {
            tx.execute_batch("ALTER TABLE orders ADD COLUMN paid_by TEXT")?;
        }
        tx.execute_batch(MIGRATE_PAYMENTS)?;
        tx.commit()?;
        Ok(Self { db })
    }

    /// `Moved::Yes` if this caller moved `order`, else the state another path left it in.
    fn outcome(&self, moved: bool, order: &str) -> Result<Moved> {
        Ok(if moved {
            Moved::Yes
        } else {
            Moved::No(self.state(order)?)
        })
    }

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

    /// Marks an order paid by `code` and ships it, once, if it is in one of `from` and no
    /// payment paid it yet: the one shipment row and the payment's state are written in the
    /// same transaction.
    fn ship_from(
        &mut self,
        order: &str,
        code: &PaymentCode,
        ref_id: &str,
        by: &str,
        from: [State; 2],
    ) -> Result<Moved> {
        let tx = self.db.transaction()?;
        let moved = tx.execute(
            "UPDATE orders SET state = 'paid', paid_by = ?2, ref_id = ?3, settled_by = ?4
             WHERE id = ?1 AND state IN (?5, ?6) AND paid_by IS NULL",
            params![
                order,
                code.as_str(),
                ref_id,
                by,
                from[0].as_str(),
                from[1].as_str()
            ],
        )?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO shipments (order_id, ref_id) VALUES (?1, ?2)",
                params![order, ref_id],
            )?;
            set_payment(&tx, code, PaymentState::Paid)?;
        }
        tx.commit()?;
        self.outcome(moved == 1, order)
    }
}

/// Sets a payment's state, unconditionally (inside a move its order's update guards).
fn set_payment(tx: &Transaction<'_>, code: &PaymentCode, to: PaymentState) -> Result<()> {
    tx.execute(
        "UPDATE payments SET state = ?2 WHERE code = ?1",
        params![code.as_str(), to.as_str()],
    )?;
    Ok(())
}

/// Moves a payment to `to` if it is in one of `from`: whether it moved.
fn move_payment(
    tx: &Connection,
    code: &PaymentCode,
    to: PaymentState,
    from: &[PaymentState],
) -> Result<bool> {
    let from = serde_json::to_string(&from.iter().map(|s| s.as_str()).collect::<Vec<_>>())?;
    let moved = tx.execute(
        "UPDATE payments SET state = ?2
         WHERE code = ?1 AND state IN (SELECT value FROM json_each(?3))",
        params![code.as_str(), to.as_str(), from],
    )?;
    Ok(moved == 1)
}

/// Moves an order to `to` if it is in one of `from`: whether it moved.
fn move_order(tx: &Connection, order: &str, to: State, by: &str, from: &[State]) -> Result<bool> {
    let from = serde_json::to_string(&from.iter().map(|s| s.as_str()).collect::<Vec<_>>())?;
    let moved = tx.execute(
        "UPDATE orders SET state = ?2, settled_by = ?3
         WHERE id = ?1 AND state IN (SELECT value FROM json_each(?4))",
        params![order, to.as_str(), by, from],
    )?;
    Ok(moved == 1)
}

impl Orders for SqliteOrders {
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()> {
        let created = pending
            .created_at()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let record = serde_json::to_string(pending)?;
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT INTO orders (id, pending, state, created_unix) VALUES (?1, ?2, 'pending', ?3)
             ON CONFLICT (id) DO NOTHING",
            params![order, record, created],
        )?;
        tx.execute(
            "INSERT INTO payments (code, order_id, pending, state, created_unix)
             VALUES (?1, ?2, ?3, 'open', ?4)",
            params![pending.code().as_str(), order, record, created],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn order(&mut self, order: &str) -> Result<Option<Order>> {
        let row: Option<(String, Option<String>, u64)> = self
            .db
            .query_row(
                "SELECT state, paid_by, (SELECT COUNT(*) FROM payments WHERE order_id = id)
                 FROM orders WHERE id = ?1",
                params![order],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(state, paid_by, payments)| {
            Ok(Order {
                state: State::parse(&state)?,
                paid_by: paid_by.map(PaymentCode::new).transpose()?,
                payments,
            })
        })
        .transpose()
    }

    fn payment(&mut self, order: &str, code: &PaymentCode) -> Result<Option<Payment>> {
        let row: Option<(String, String)> = self
            .db
            .query_row(
                "SELECT state, pending FROM payments WHERE order_id = ?1
                 ORDER BY code = ?2 DESC, created_unix DESC, rowid DESC LIMIT 1",
                params![order, code.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(state, pending)| {
            Ok(Payment {
                state: PaymentState::parse(&state)?,
                pending: serde_json::from_str(&pending)?,
            })
        })
        .transpose()
    }

    /// One process: every overdue open payment, whatever `limit` (the sweeper's in-flight
    /// set keeps one it is settling from being handed out twice), and no stored lease.
    fn claim_overdue(
        &mut self,
        created_before: u64,
        _limit: usize,
        _lease: &Lease,
    ) -> Result<Vec<Due>> {
        let mut query = self.db.prepare(
            "SELECT p.order_id, p.pending, o.paid_by FROM payments p JOIN orders o ON o.id = p.order_id
             WHERE p.state = 'open' AND o.state IN ('pending', 'paid') AND p.created_unix <= ?1
             ORDER BY p.created_unix",
        )?;
        let rows = query.query_map(params![created_before], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut due = Vec::new();
        for row in rows {
            let (order, pending, paid_by) = row?;
            due.push(Due {
                order,
                pending: serde_json::from_str(&pending)?,
                paid_by: paid_by.map(PaymentCode::new).transpose()?,
            });
        }
        Ok(due)
    }

    fn unclaim(
        &mut self,
        _code: &PaymentCode,
        _lease: &Lease,
        _again_after: Duration,
    ) -> Result<()> {
        Ok(())
    }

    fn ship(&mut self, order: &str, code: &PaymentCode, ref_id: &str, by: &str) -> Result<Moved> {
        self.ship_from(order, code, ref_id, by, [State::Pending, State::Attention])
    }

    fn ship_after_release(
        &mut self,
        order: &str,
        code: &PaymentCode,
        ref_id: &str,
    ) -> Result<Moved> {
        self.ship_from(
            order,
            code,
            ref_id,
            "after release",
            [State::Released, State::Refunded],
        )
    }

    fn release(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let tx = self.db.transaction()?;
        move_payment(
            &tx,
            code,
            PaymentState::Released,
            &[PaymentState::Open, PaymentState::Attention],
        )?;
        // Not while another payment of the order may still pay it.
        let others_open: bool = tx.query_row(
            "SELECT COUNT(*) > 0 FROM payments
             WHERE order_id = ?1 AND code <> ?2 AND state IN ('open', 'attention')",
            params![order, code.as_str()],
            |r| r.get(0),
        )?;
        let moved = !others_open
            && move_order(
                &tx,
                order,
                State::Released,
                by,
                &[State::Pending, State::Attention],
            )?;
        tx.commit()?;
        self.outcome(moved, order)
    }

    fn needs_attention(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let tx = self.db.transaction()?;
        let moved = move_payment(&tx, code, PaymentState::Attention, &[PaymentState::Open])?;
        move_order(&tx, order, State::Attention, by, &[State::Pending])?;
        tx.commit()?;
        self.outcome(moved, order)
    }

    fn claim_refund(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let tx = self.db.transaction()?;
        let moved = move_payment(&tx, code, PaymentState::Refunded, &PaymentState::UNSETTLED)?;
        if moved {
            move_order(&tx, order, State::Refunded, by, &[State::Released])?;
        }
        tx.commit()?;
        self.outcome(moved, order)
    }

    fn move_payment(
        &mut self,
        code: &PaymentCode,
        to: PaymentState,
        from: &[PaymentState],
    ) -> Result<bool> {
        move_payment(&self.db, code, to, from)
    }

    fn shipments(&mut self, order: &str) -> Result<u64> {
        Ok(self.db.query_row(
            "SELECT COUNT(*) FROM shipments WHERE order_id = ?1",
            params![order],
            |r| r.get(0),
        )?)
    }
}
