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
//! The sweepers of all the processes share the overdue orders through leases: a claim
//! (`SELECT ... FOR UPDATE SKIP LOCKED` inside one `UPDATE`, committed at once) marks each
//! order it takes with its owner and `lease_until`; another sweeper skips the order until
//! the lease expires, so an order claimed by a process that died is claimed again by any
//! other one. Fulfilment is a conditional `UPDATE` plus one `shipments` row per order (its
//! primary key): two processes that both see "Ship" ship once.

use std::time::Duration;

use ghesta_core::Pending;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;

use crate::store::{Lease, Moved, Orders, Result, State};

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
    );";

/// Claims up to `$4` overdue orders no unexpired lease covers for owner `$1` for `$2`
/// seconds: first the never claimed, then the longest unasked (an order that waits is
/// put behind the others, so that the oldest unpaid orders never starve the newer ones).
/// `FOR UPDATE SKIP LOCKED`: two sweepers claiming at the same
/// moment take different orders instead of waiting on each other's rows; the statement
/// commits on its own, so the rows stay locked only for its few milliseconds.
const CLAIM: &str = "
    UPDATE orders SET lease_owner = $1, lease_until = now() + make_interval(secs => $2)
    WHERE id IN (
        SELECT id FROM orders
        WHERE state = 'pending' AND created_unix <= $3
          AND (lease_until IS NULL OR lease_until < now())
        ORDER BY lease_until NULLS FIRST, created_unix
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
    RETURNING id, pending";

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

    fn state(&self, order: &str) -> Result<Option<State>> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT state FROM orders WHERE id = $1", &[&order])?;
        row.map(|r| State::parse(r.get(0))).transpose()
    }

    /// Marks an order paid and ships it, once, if it is in one of `from`: the one shipment
    /// row is written in the same transaction as the state, and the lease goes with it.
    fn ship_from(&self, order: &str, ref_id: &str, by: &str, from: &[State]) -> Result<Moved> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let mut db = self.pool.get()?;
        let mut tx = db.transaction()?;
        let moved = tx.execute(
            "UPDATE orders
             SET state = 'paid', ref_id = $2, settled_by = $3,
                 lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND state = ANY($4)",
            &[&order, &ref_id, &by, &from],
        )?;
        if moved == 1 {
            tx.execute(
                "INSERT INTO shipments (order_id, ref_id) VALUES ($1, $2)",
                &[&order, &ref_id],
            )?;
        }
        tx.commit()?;
        drop(db);
        if moved == 1 {
            Ok(Moved::Yes)
        } else {
            Ok(Moved::No(self.state(order)?))
        }
    }

    fn set_from(&self, order: &str, to: State, by: &str, from: &[State]) -> Result<Moved> {
        let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
        let moved = self.pool.get()?.execute(
            "UPDATE orders
             SET state = $2, settled_by = $3, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND state = ANY($4)",
            &[&order, &to.as_str(), &by, &from],
        )?;
        if moved == 1 {
            Ok(Moved::Yes)
        } else {
            Ok(Moved::No(self.state(order)?))
        }
    }
}

impl Orders for PgOrders {
    fn insert(&mut self, order: &str, pending: &Pending) -> Result<()> {
        let created = pending
            .created_at()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        self.pool.get()?.execute(
            "INSERT INTO orders (id, pending, state, created_unix) VALUES ($1, $2, 'pending', $3)",
            &[
                &order,
                &serde_json::to_string(pending)?,
                &i64::try_from(created)?,
            ],
        )?;
        Ok(())
    }

    fn get(&mut self, order: &str) -> Result<Option<(State, Pending)>> {
        let row = self
            .pool
            .get()?
            .query_opt("SELECT state, pending FROM orders WHERE id = $1", &[&order])?;
        row.map(|r| Ok((State::parse(r.get(0))?, serde_json::from_str(r.get(1))?)))
            .transpose()
    }

    fn claim_overdue(
        &mut self,
        created_before: u64,
        limit: usize,
        lease: &Lease,
    ) -> Result<Vec<(String, Pending)>> {
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
            .map(|r| Ok((r.get(0), serde_json::from_str(r.get(1))?)))
            .collect()
    }

    fn unclaim(&mut self, order: &str, lease: &Lease, again_after: Duration) -> Result<()> {
        // No owner, and not claimed again before `again_after`.
        self.pool.get()?.execute(
            "UPDATE orders
             SET lease_owner = NULL, lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND lease_owner = $2",
            &[&order, &lease.owner, &again_after.as_secs_f64()],
        )?;
        Ok(())
    }

    fn ship(&mut self, order: &str, ref_id: &str, by: &str) -> Result<Moved> {
        self.ship_from(order, ref_id, by, &[State::Pending, State::Attention])
    }

    fn ship_after_release(&mut self, order: &str, ref_id: &str) -> Result<Moved> {
        self.ship_from(
            order,
            ref_id,
            "after release",
            &[State::Released, State::Refunded],
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
