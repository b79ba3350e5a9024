//! The orders in PostgreSQL, for any number of shop processes on one database.
//!
//! Every statement takes a connection from a small r2d2 pool for itself and gives it back:
//! no transaction stays open while PayPing is asked (a verify may take 10-30 s), and a
//! connection the database dropped (it restarted) is found broken when it is next taken
//! and replaced. Nothing here relies on a session: no session-level advisory lock, no
//! `LISTEN`, no temporary table or `SET` meant to outlive a transaction, so the shop also
//! runs behind a transaction-pooling PgBouncer, which hands each transaction a different
//! server session (the `postgres` crate prepares each statement as it runs it: PgBouncer
//! 1.21 and later carry that in transaction mode with `max_prepared_statements`).
//!
//! The sweepers of all the processes share the overdue payments through leases: a claim
//! (`SELECT ... FOR UPDATE SKIP LOCKED` inside one `UPDATE`, committed at once) marks each
//! payment it takes with its owner and `lease_until`; another sweeper skips the payment
//! until the lease expires, so a payment claimed by a process that died is claimed again by
//! any other one. Fulfilment is a conditional `UPDATE orders SET paid_by = CODE ... WHERE
//! paid_by IS NULL` plus one `shipments` row per order (its primary key): two processes that
//! both see "Ship", for one payment or for two payments of the order, ship once.

use std::time::Duration;

use ghesta_core::{PaymentCode, Pending};
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;

use crate::store::{Due, Lease, Moved, Order, Orders, Payment, PaymentState, Result, State};

/// The connections every thread of one shop process shares.
pub(crate) type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// Connections per process: its 8 request threads, its sweeper and 4 sweeper threads each
/// hold one for one statement at a time, so fewer than one each is enough; 4 processes stay
/// well under PostgreSQL's default 100 connections.
const POOL_SIZE: u32 = 8;

/// How long a thread waits for a connection (the database restarting included) before its
/// statement fails; a failed callback is settled by a sweeper later.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The tables, created where missing. A transaction-scoped advisory lock (released at
/// commit, so safe behind PgBouncer) keeps processes starting together from racing on
/// `CREATE TABLE IF NOT EXISTS` (which is not atomic in PostgreSQL).
const MIGRATION: &str = "
    SELECT pg_advisory_xact_lock(724301);
    CREATE TABLE IF NOT EXISTS orders (
        id TEXT PRIMARY KEY,
        pending TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('pending', 'paid', 'released', 'attention', 'refunded')),
        created_unix BIGINT NOT NULL,
        ref_id TEXT,
        settled_by TEXT,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ
    );
    CREATE INDEX IF NOT EXISTS orders_overdue ON orders (created_unix) WHERE state = 'pending';
    CREATE TABLE IF NOT EXISTS shipments (
        order_id TEXT PRIMARY KEY REFERENCES orders (id),
        ref_id TEXT NOT NULL
    );
    -- Every payment of an order (the previous schema kept one, in orders.pending, and its
    -- claims on orders.lease_*: those columns stay, unused).
    ALTER TABLE orders ADD COLUMN IF NOT EXISTS paid_by TEXT;
    CREATE TABLE IF NOT EXISTS payments (
        code TEXT PRIMARY KEY,
        order_id TEXT NOT NULL REFERENCES orders (id),
        pending TEXT NOT NULL,
        state TEXT NOT NULL
            CHECK (state IN ('open', 'paid', 'released', 'attention', 'refunded', 'alerted')),
        created_unix BIGINT NOT NULL,
        lease_owner TEXT,
        lease_until TIMESTAMPTZ
    );
    CREATE INDEX IF NOT EXISTS payments_of_order ON payments (order_id);
    CREATE INDEX IF NOT EXISTS payments_overdue ON payments (created_unix) WHERE state = 'open';
    -- From the previous schema: each order's record becomes its payment, in the order's
    -- state, and a paid order is paid by it. Finds nothing to do the second time.
    INSERT INTO payments (code, order_id, pending, state, created_unix)
    SELECT o.pending::json->>'code', o.id, o.pending,
           CASE o.state WHEN 'pending' THEN 'open' ELSE o.state END, o.created_unix
    FROM orders o
    WHERE NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id);
    UPDATE orders SET paid_by = pending::json->>'code' WHERE state = 'paid' AND paid_by IS NULL;";

/// Claims up to `$4` overdue open payments (of orders pending, or paid by another payment)
/// no unexpired lease covers for owner `$1` for `$2` seconds: first the never claimed,
/// then the longest unasked (a payment that waits is put behind the others, so that the
/// oldest unpaid orders never starve the newer ones). `FOR UPDATE SKIP LOCKED`: two
/// sweepers claiming at the same moment take different payments instead of waiting on each
/// other's rows; the statement commits on its own, so the rows stay locked only for its few
/// milliseconds.
const CLAIM: &str = "
    UPDATE payments SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
    WHERE code IN (
        SELECT p.code FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE p.state = 'open' AND o.state IN ('pending', 'paid') AND p.created_unix <= $3
          AND (p.lease_until IS NULL OR p.lease_until < now())
        ORDER BY p.lease_until NULLS FIRST, p.created_unix
        LIMIT $4
        FOR UPDATE OF p SKIP LOCKED)
    RETURNING order_id, pending, (SELECT paid_by FROM orders WHERE id = order_id)";

/// Connects to `url` and creates the tables where they are missing.
pub(crate) fn connect(url: &str) -> Result<Pool> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("durable_shop");
    let pool = r2d2::Pool::builder()
        .max_size(POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(CONNECT_TIMEOUT)
        .build(PostgresConnectionManager::new(config, NoTls))?;
    let mut db = pool.get()?;
    let mut tx = db.transaction()?;
    tx.batch_execute(MIGRATION)?;
    tx.commit()?;
    Ok(pool)
}

/// One thread's handle: a connection is taken from the pool per statement.
pub(crate) struct PgOrders {
    pool: Pool,
}

impl PgOrders {
    pub(crate) fn new(pool: Pool) -> Self {
        Self { pool }
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
        let row = self
            .pool
            .get()?
            .query_opt("SELECT state FROM orders WHERE id = $1", &[&order])?;
        row.map(|r| State::parse(r.get(0))).transpose()
    }

    /// Marks an order paid by `code` and ships it, once, if it is in one of `from` and no
    /// payment paid it yet: the one shipment row and the payment's state (its lease gone)
    /// are written in the same transaction.
    fn ship_from(
        &self,
        order: &str,
        code: &PaymentCode,
        ref_id: &str,
        by: &str,
        from: &[State],
    ) -> Result<Moved> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        let moved = tx.execute(
            "UPDATE orders
             SET state = 'paid', paid_by = $2, ref_id = $3, settled_by = $4,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND state = ANY($5) AND paid_by IS NULL",
            &[&order, &code.as_str(), &ref_id, &by, &from],
        )?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO shipments (order_id, ref_id) VALUES ($1, $2)",
                &[&order, &ref_id],
            )?;
            move_payment(&mut tx, code, PaymentState::Paid, &PaymentState::UNSETTLED)?;
        }
        tx.commit()?;
        drop(db);
        self.outcome(moved == 1, order)
    }
}

/// Locks an order's row until the transaction ends. Every transaction that moves an order
/// and one of its payments takes the order's row first (shipping does, by its `UPDATE`), so
/// two of them never wait on each other's rows in opposite orders.
fn lock_order(db: &mut impl postgres::GenericClient, order: &str) -> Result<()> {
    db.execute("SELECT 1 FROM orders WHERE id = $1 FOR UPDATE", &[&order])?;
    Ok(())
}

/// Moves a payment to `to` (its lease gone) if it is in one of `from`: whether it moved.
fn move_payment(
    db: &mut impl postgres::GenericClient,
    code: &PaymentCode,
    to: PaymentState,
    from: &[PaymentState],
) -> Result<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let moved = db.execute(
        "UPDATE payments SET state = $2, lease_owner = NULL, lease_until = NULL
         WHERE code = $1 AND state = ANY($3)",
        &[&code.as_str(), &to.as_str(), &from],
    )?;
    Ok(moved == 1)
}

/// Moves an order to `to` if it is in one of `from`: whether it moved.
fn move_order(
    db: &mut impl postgres::GenericClient,
    order: &str,
    to: State,
    by: &str,
    from: &[State],
) -> Result<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let moved = db.execute(
        "UPDATE orders
         SET state = $2, settled_by = $3, lease_owner = NULL, lease_until = NULL
         WHERE id = $1 AND state = ANY($4)",
        &[&order, &to.as_str(), &by, &from],
    )?;
    Ok(moved == 1)
}

impl Orders for PgOrders {
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()> {
        let created = i64::try_from(
            pending
                .created_at()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs(),
        )?;
        let record = serde_json::to_string(pending)?;
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        tx.execute(
            "INSERT INTO orders (id, pending, state, created_unix) VALUES ($1, $2, 'pending', $3)
             ON CONFLICT (id) DO NOTHING",
            &[&order, &record, &created],
        )?;
        tx.execute(
            "INSERT INTO payments (code, order_id, pending, state, created_unix)
             VALUES ($1, $2, $3, 'open', $4)",
            &[&pending.code().as_str(), &order, &record, &created],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn order(&mut self, order: &str) -> Result<Option<Order>> {
        let row = self.pool.get()?.query_opt(
            "SELECT state, paid_by, (SELECT COUNT(*) FROM payments WHERE order_id = id)
                 FROM orders WHERE id = $1",
            &[&order],
        )?;
        row.map(|r| {
            Ok(Order {
                state: State::parse(r.get(0))?,
                paid_by: r
                    .get::<_, Option<String>>(1)
                    .map(PaymentCode::new)
                    .transpose()?,
                payments: u64::try_from(r.get::<_, i64>(2))?,
            })
        })
        .transpose()
    }

    fn payment(&mut self, order: &str, code: &PaymentCode) -> Result<Option<Payment>> {
        let row = self.pool.get()?.query_opt(
            "SELECT state, pending FROM payments WHERE order_id = $1
             ORDER BY code = $2 DESC, created_unix DESC, code DESC LIMIT 1",
            &[&order, &code.as_str()],
        )?;
        row.map(|r| {
            Ok(Payment {
                state: PaymentState::parse(r.get(0))?,
                pending: serde_json::from_str(r.get(1))?,
            })
        })
        .transpose()
    }

    fn claim_overdue(
        &mut self,
        created_before: u64,
        limit: usize,
        lease: &Lease,
    ) -> Result<Vec<Due>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = self.pool.get()?.query(
            CLAIM,
            &[
                &lease.owner,
                &lease.length.as_secs_f64(),
                &i64::try_from(created_before)?,
                &i64::try_from(limit)?,
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    order: r.get(0),
                    pending: serde_json::from_str(r.get(1))?,
                    paid_by: r
                        .get::<_, Option<String>>(2)
                        .map(PaymentCode::new)
                        .transpose()?,
                })
            })
            .collect()
    }

    fn unclaim(&mut self, code: &PaymentCode, lease: &Lease, again_after: Duration) -> Result<()> {
        // No owner, and not claimed again before `again_after`.
        self.pool.get()?.execute(
            "UPDATE payments
             SET lease_owner = NULL, lease_until = now() + make_interval(secs => $3)
             WHERE code = $1 AND lease_owner = $2",
            &[&code.as_str(), &lease.owner, &again_after.as_secs_f64()],
        )?;
        Ok(())
    }

    fn ship(&mut self, order: &str, code: &PaymentCode, ref_id: &str, by: &str) -> Result<Moved> {
        self.ship_from(order, code, ref_id, by, &[State::Pending, State::Attention])
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
            &[State::Released, State::Refunded],
        )
    }

    fn release(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        // The order's row first, as every move does: two payments released at once see
        // each other's state.
        lock_order(&mut tx, order)?;
        move_payment(
            &mut tx,
            code,
            PaymentState::Released,
            &[PaymentState::Open, PaymentState::Attention],
        )?;
        // Not while another payment of the order may still pay it.
        let others_open: bool = tx
            .query_one(
                "SELECT COUNT(*) > 0 FROM payments
                 WHERE order_id = $1 AND code <> $2 AND state IN ('open', 'attention')",
                &[&order, &code.as_str()],
            )?
            .get(0);
        let moved = !others_open
            && move_order(
                &mut tx,
                order,
                State::Released,
                by,
                &[State::Pending, State::Attention],
            )?;
        tx.commit()?;
        drop(db);
        self.outcome(moved, order)
    }

    fn needs_attention(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        lock_order(&mut tx, order)?;
        let moved = move_payment(
            &mut tx,
            code,
            PaymentState::Attention,
            &[PaymentState::Open],
        )?;
        move_order(&mut tx, order, State::Attention, by, &[State::Pending])?;
        tx.commit()?;
        drop(db);
        self.outcome(moved, order)
    }

    fn claim_refund(&mut self, order: &str, code: &PaymentCode, by: &str) -> Result<Moved> {
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        lock_order(&mut tx, order)?;
        let moved = move_payment(
            &mut tx,
            code,
            PaymentState::Refunded,
            &PaymentState::UNSETTLED,
        )?;
        if moved {
            move_order(&mut tx, order, State::Refunded, by, &[State::Released])?;
        }
        tx.commit()?;
        drop(db);
        self.outcome(moved, order)
    }

    fn move_payment(
        &mut self,
        code: &PaymentCode,
        to: PaymentState,
        from: &[PaymentState],
    ) -> Result<bool> {
        move_payment(&mut *self.pool.get()?, code, to, from)
    }

    fn shipments(&mut self, order: &str) -> Result<u64> {
        let count: i64 = self
            .pool
            .get()?
            .query_one(
                "SELECT COUNT(*) FROM shipments WHERE order_id = $1",
                &[&order],
            )?
            .get(0);
        Ok(u64::try_from(count)?)
    }
}
