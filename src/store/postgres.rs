//! The shared store: PostgreSQL, for several nodes over one database.
//!
//! Nodes coordinate through row locks and leases only: `claim` skips rows another claim has
//! locked (`FOR UPDATE SKIP LOCKED`), `append` writes only through rows whose `owner` is the
//! writing node, and every lease time is the database's clock (`nagare_now_ms()`).

mod migrations;

use super::shared::{
    self, event_columns, group, ids, instance_columns, instance_row, json, millis, run_columns,
    text,
};
use super::{
    Append, Control, Error, Filter, InstanceRow, LogChunk, NewInstance, NewRun, Outgoing, Put,
    Result, RunRow, Store, StoredEvent, StoredLog, StoredWorkflow, WorkflowKey, WorkflowSettings,
};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, QueryBuilder, Row};
use std::collections::HashMap;
use std::time::Duration;

/// Serializes the migrations of nodes starting at once (any constant; this one is "nagare"
/// in ASCII).
const MIGRATION_LOCK: i64 = 0x6e61_6761_7265;

/// Serializes `put_events` across nodes ("events" in ASCII). Without it, a seq handed out
/// earlier could commit later: a reader paging by seq would pass it and never see it.
const EVENTS_LOCK: i64 = 0x6576_656e_7473;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a query waits for a connection. While the database is down every connection
/// attempt fails and the pool keeps trying until this runs out: it is how long an API
/// request takes to answer 503, and how long the engine and lease loops wait before they log
/// and try again, so it is short; a healthy pool of 16 hands a connection out in
/// microseconds.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The condition under which an instance may be taken: it has no owner, `own` holds (the
/// taker's own), or both its own lease and its owner's node lease ran out on the database
/// clock (see migration 7). The instance's own lease matters to concurrent
/// claims: a row another claim just took is re-checked on its new version, whose fresh lease
/// fails the test even where the claimer's node row is not in this statement's snapshot.
/// A macro, so queries stay static strings.
macro_rules! movable {
    ($own:literal) => {
        concat!(
            "(owner IS NULL OR ",
            $own,
            " OR (lease_until < nagare_now_ms() AND NOT EXISTS (SELECT 1 FROM nodes \
             WHERE nodes.name = instances.owner AND nodes.lease_until >= nagare_now_ms())))"
        )
    };
}

pub struct Postgres {
    pool: PgPool,
}

impl Postgres {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`) and
    /// brings its schema up to date.
    pub async fn connect(url: &str) -> Result<Postgres> {
        let shown = shared::redact(url);
        let doing = format!("cannot connect to PostgreSQL at {shown}");
        let options: PgConnectOptions = url.parse().map_err(|e| Error::from(e).context(&doing))?;
        // One plain connection first: the pool retries a refused connection until it times
        // out and then reports only the timeout; this reports why.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| {
                Error::unavailable(format!("{doing}: no answer within {CONNECT_TIMEOUT:?}"))
            })?
            .map_err(|e| Error::from(e).context(&doing))?;
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| Error::from(e).context(&doing))?;
        migrate(&pool)
            .await
            .map_err(|e| e.context(format!("migrating PostgreSQL at {shown}")))?;
        Ok(Postgres { pool })
    }
}

/// Applies the migrations not applied yet, each in its own transaction, under an advisory
/// lock so that nodes starting together apply each once.
async fn migrate(pool: &PgPool) -> Result<()> {
    for &(version, sql) in migrations::MIGRATIONS {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        // Under the lock: concurrent CREATE TABLE IF NOT EXISTS can fail on PostgreSQL.
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let applied = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = $1")
            .bind(version as i32)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !applied {
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| Error::from(e).context(format!("migration {version}")))?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, nagare_now_ms())",
            )
            .bind(version as i32)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

#[async_trait]
impl Store for Postgres {
    async fn put_workflow(&self, key: &WorkflowKey, source: &str, digest: &str) -> Result<Put> {
        // A concurrent insert of the same key waits for this one's commit and then does
        // nothing, so exactly one put creates the version.
        let inserted = sqlx::query(
            "INSERT INTO workflows (namespace, name, version, digest, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, nagare_now_ms()) ON CONFLICT DO NOTHING",
        )
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(&key.version)
        .bind(digest)
        .bind(source)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Put::Created);
        }
        let stored: String = sqlx::query(
            "SELECT digest FROM workflows WHERE namespace = $1 AND name = $2 AND version = $3",
        )
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(&key.version)
        .fetch_one(&self.pool)
        .await?
        .try_get("digest")?;
        Ok(if stored == digest {
            Put::Unchanged
        } else {
            Put::Conflict
        })
    }

    async fn workflow(&self, key: &WorkflowKey) -> Result<Option<StoredWorkflow>> {
        sqlx::query(
            "SELECT namespace, name, version, source, digest, created_at FROM workflows \
             WHERE namespace = $1 AND name = $2 AND version = $3",
        )
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(&key.version)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| shared::workflow_row(&row))
        .transpose()
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>> {
        sqlx::query(
            "SELECT namespace, name, version, source, digest, created_at FROM workflows \
             ORDER BY namespace, name, created_at, version",
        )
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::workflow_row)
        .collect()
    }

    async fn workflow_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM workflows")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn create_instance(&self, new: &NewInstance, lease: Duration) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        if !record_starts(&mut tx, new).await? {
            return Err(shared::started_already(new));
        }
        insert_instance(&mut tx, new, lease).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn instance(&self, id: &str) -> Result<Option<InstanceRow>> {
        sqlx::query(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| instance_row(&row))
        .transpose()
    }

    async fn instances(&self, filter: &Filter) -> Result<Vec<InstanceRow>> {
        let mut query = QueryBuilder::<sqlx::Postgres>::new(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE TRUE"
        ));
        for (column, value) in [
            (" AND namespace = ", &filter.namespace),
            (" AND name = ", &filter.name),
            (" AND version = ", &filter.version),
            (" AND status = ", &filter.status),
            (" AND id < ", &filter.before),
        ] {
            if let Some(value) = value {
                query.push(column).push_bind(value.clone());
            }
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(shared::page(filter.limit));
        query
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(instance_row)
            .collect()
    }

    async fn history(&self, id: &str) -> Result<Vec<Value>> {
        sqlx::query("SELECT seq, record FROM records WHERE instance_id = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                json(
                    &format!("record {seq} of instance {id}"),
                    &row.try_get::<String, _>("record")?,
                )
            })
            .collect()
    }

    async fn append(&self, node: &str, lease: Duration, batch: &[Append]) -> Result<Vec<String>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut groups = group(batch);
        let mut tx = self.pool.begin().await?;
        // A creation its events refuse is not inserted, and nothing else of it is written.
        // Creations record their starts in one order (workflow, then seqs), so two nodes'
        // batches starting the same events wait on each other instead of deadlocking.
        let mut created: Vec<&NewInstance> =
            batch.iter().filter_map(|a| a.created.as_ref()).collect();
        created.sort_by(|a, b| {
            (&a.workflow.namespace, &a.workflow.name, &a.starts).cmp(&(
                &b.workflow.namespace,
                &b.workflow.name,
                &b.starts,
            ))
        });
        // A created one's record 0 goes in with the batch's records.
        let mut refused = Vec::new();
        let mut firsts = Vec::new();
        for new in created {
            if record_starts(&mut tx, new).await? {
                insert_row(&mut tx, new, lease).await?;
                firsts.push((new.id.as_str(), text(&new.started)));
            } else {
                refused.push(new.id.clone());
            }
        }
        groups.retain(|g| !refused.iter().any(|id| id == g.instance));
        // The batch travels as arrays (one per column, unnested by the server), so a batch
        // costs three statements however many instances it names.
        let mut ids = Vec::with_capacity(groups.len());
        let mut counts = Vec::with_capacity(groups.len());
        let mut has = Vec::with_capacity(groups.len());
        let mut statuses = Vec::with_capacity(groups.len());
        let mut outputs = Vec::with_capacity(groups.len());
        let mut errors = Vec::with_capacity(groups.len());
        let mut tasks = Vec::with_capacity(groups.len());
        let mut ended = Vec::with_capacity(groups.len());
        for g in &groups {
            ids.push(g.instance);
            counts.push(g.records.len() as i64);
            let columns = g.columns();
            has.push(columns.is_some());
            let (status, output, error, task_list, ended_at) = columns
                .map_or((None, None, None, None, None), |(s, o, e, t, x)| {
                    (Some(s), o, e, Some(t), x)
                });
            statuses.push(status);
            outputs.push(output);
            errors.push(error);
            tasks.push(task_list);
            ended.push(ended_at);
        }
        // Lock the held rows first, in id order: two transactions that lock rows in the same
        // order cannot deadlock, whatever order their batches name the instances in. Until
        // commit, a claim by another node skips these rows. NO KEY UPDATE (what an UPDATE
        // takes anyway) still lets foreign-key checks, such as a queued request's, through.
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sqlx::query(
            "SELECT id FROM instances WHERE id = ANY($1) AND owner = $2 \
             ORDER BY id FOR NO KEY UPDATE",
        )
        .bind(&sorted)
        .bind(node)
        .fetch_all(&mut *tx)
        .await?;
        // A row whose owner is not `node` is neither written nor returned. The owner test is
        // written so no index can serve it (`IS NOT DISTINCT FROM`): the plan must then look
        // each id of the batch up by primary key, instead of reading every row the node owns.
        let rows = sqlx::query(
            "UPDATE instances AS i SET \
                lease_until = nagare_now_ms() + $2, updated_at = nagare_now_ms(), \
                next_seq = i.next_seq + u.n, \
                status = CASE WHEN u.has THEN u.status ELSE i.status END, \
                output = CASE WHEN u.has THEN u.output ELSE i.output END, \
                error = CASE WHEN u.has THEN u.error ELSE i.error END, \
                tasks = CASE WHEN u.has THEN u.tasks ELSE i.tasks END, \
                ended_at = CASE WHEN u.has THEN u.ended_at ELSE i.ended_at END \
             FROM unnest($3::text[], $4::bigint[], $5::bool[], $6::text[], $7::text[], \
                         $8::text[], $9::text[], $10::bigint[]) \
                  AS u(id, n, has, status, output, error, tasks, ended_at) \
             WHERE i.id = u.id AND i.owner IS NOT DISTINCT FROM $1 \
             RETURNING i.id, i.next_seq",
        )
        .bind(node)
        .bind(millis(lease))
        .bind(&ids)
        .bind(&counts)
        .bind(&has)
        .bind(&statuses)
        .bind(&outputs)
        .bind(&errors)
        .bind(&tasks)
        .bind(&ended)
        .fetch_all(&mut *tx)
        .await?;
        let mut next = HashMap::with_capacity(rows.len());
        for row in &rows {
            next.insert(
                row.try_get::<String, _>("id")?,
                row.try_get::<i64, _>("next_seq")?,
            );
        }
        let (mut record_ids, mut seqs, mut records) = (Vec::new(), Vec::new(), Vec::new());
        let (mut event_ids, mut destinations, mut events) = (Vec::new(), Vec::new(), Vec::new());
        let mut lost = refused;
        for (id, started) in &firsts {
            record_ids.push(*id);
            seqs.push(0);
            records.push(started.as_str());
        }
        for g in &groups {
            let Some(&next_seq) = next.get(g.instance) else {
                lost.push(g.instance.to_string());
                continue;
            };
            let first = next_seq - g.records.len() as i64;
            for (i, record) in g.records.iter().enumerate() {
                record_ids.push(g.instance);
                seqs.push(first + i as i64);
                records.push(record.as_str());
            }
            for (destination, event) in &g.outbox {
                event_ids.push(g.instance);
                destinations.push(*destination);
                events.push(event.as_str());
            }
        }
        if !records.is_empty() {
            sqlx::query(
                "INSERT INTO records (instance_id, seq, record) \
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])",
            )
            .bind(&record_ids)
            .bind(&seqs)
            .bind(&records)
            .execute(&mut *tx)
            .await?;
        }
        if !events.is_empty() {
            // ORDER BY ord: seqs are handed out in the batch's order.
            sqlx::query(
                "INSERT INTO outbox (instance_id, destination, event) \
                 SELECT id, destination, event \
                 FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY \
                     AS u(id, destination, event, ord) \
                 ORDER BY ord",
            )
            .bind(&event_ids)
            .bind(&destinations)
            .bind(&events)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(lost)
    }

    async fn claim(
        &self,
        node: &str,
        lease: Duration,
        limit: u32,
        own: bool,
    ) -> Result<Vec<String>> {
        // SKIP LOCKED: concurrent claims take disjoint rows; a row another claim committed in
        // the meantime is re-checked against the WHERE clause (its new lease fails it).
        // The candidates come from the unfinished instances (a partial index: finished ones,
        // the bulk of the table, are never scanned) and from those with queued events.
        // Oldest lease first (none at all first): repeated claims cycle through a node's own
        // instances instead of returning the same `limit` ones every time.
        // The unfinished ones are looked up by owner (none, a node whose lease ran out, or
        // with `own` this node) in a partial index, as on SQLite; the claimer's node row is
        // written first, in its own statement, so every owner has one.
        add_node(&self.pool, node, lease).await?;
        let rows = sqlx::query(concat!(
            "WITH candidates AS ( \
                SELECT id FROM instances \
                WHERE id IN ( \
                    SELECT id FROM instances \
                    WHERE status NOT IN ('completed', 'faulted', 'cancelled') AND owner IS NULL \
                    UNION ALL SELECT id FROM instances \
                    WHERE status NOT IN ('completed', 'faulted', 'cancelled') \
                      AND owner IN (SELECT name FROM nodes WHERE lease_until < nagare_now_ms()) \
                    UNION ALL SELECT id FROM instances \
                    WHERE $4 AND status NOT IN ('completed', 'faulted', 'cancelled') \
                      AND owner = $1 \
                    UNION ALL SELECT instance_id FROM outbox) \
                  AND ",
            movable!("(owner = $1 AND $4)"),
            " ORDER BY lease_until NULLS FIRST, id \
                LIMIT $3 \
                FOR UPDATE SKIP LOCKED) \
             UPDATE instances AS i SET owner = $1, lease_until = nagare_now_ms() + $2 \
             FROM candidates WHERE i.id = candidates.id \
             RETURNING i.id"
        ))
        .bind(node)
        .bind(millis(lease))
        .bind(i64::from(limit))
        .bind(own)
        .fetch_all(&self.pool)
        .await?;
        ids(rows)
    }

    async fn renew(&self, node: &str, lease: Duration) -> Result<Option<Vec<String>>> {
        // One row, whatever the number of instances the node holds (see migration 7). The
        // CTEs read the lease before the upsert replaces it.
        let row = sqlx::query(
            "WITH before AS (SELECT lease_until FROM nodes WHERE name = $1), \
                  renewed AS ( \
                    INSERT INTO nodes (name, lease_until) VALUES ($1, nagare_now_ms() + $2) \
                    ON CONFLICT (name) DO UPDATE SET lease_until = EXCLUDED.lease_until) \
             SELECT COALESCE((SELECT lease_until >= nagare_now_ms() FROM before), false) AS ran",
        )
        .bind(node)
        .bind(millis(lease))
        .fetch_one(&self.pool)
        .await?;
        if row.try_get::<bool, _>("ran")? {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT id FROM instances WHERE owner = $1")
            .bind(node)
            .fetch_all(&self.pool)
            .await?;
        ids(rows).map(Some)
    }

    async fn release_ended(&self, node: &str) -> Result<()> {
        // SKIP LOCKED: a row being written now is released at the next call.
        sqlx::query(
            "UPDATE instances SET owner = NULL, lease_until = NULL \
             WHERE id IN ( \
                SELECT id FROM instances \
                WHERE owner = $1 AND status IN ('completed', 'faulted', 'cancelled') \
                  AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.instance_id = instances.id) \
                FOR NO KEY UPDATE SKIP LOCKED)",
        )
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_all(&self, node: &str) -> Result<()> {
        // Locks in id order, as append does, so a late append cannot deadlock with this.
        sqlx::query(
            "UPDATE instances SET owner = NULL, lease_until = NULL \
             WHERE id IN ( \
                SELECT id FROM instances WHERE owner = $1 ORDER BY id FOR NO KEY UPDATE)",
        )
        .bind(node)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rewind(&self, id: &str, keep: usize, node: &str, lease: Duration) -> Result<bool> {
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        let taken = sqlx::query(concat!(
            "UPDATE instances SET status = 'running', output = NULL, error = NULL, \
                    ended_at = NULL, updated_at = nagare_now_ms(), owner = $1, \
                    lease_until = nagare_now_ms() + $2, next_seq = LEAST(next_seq, $3) \
                 WHERE id = $4 AND status IN ('completed', 'faulted', 'cancelled') AND ",
            movable!("owner = $1")
        ))
        .bind(node)
        .bind(millis(lease))
        .bind(keep)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM records WHERE instance_id = $1 AND seq >= $2")
            .bind(id)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        add_node(&mut *tx, node, lease).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn request(&self, id: &str, control: Control) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO requests (instance_id, control) \
             SELECT $1::text, $2::text WHERE EXISTS (SELECT 1 FROM instances WHERE id = $1)",
        )
        .bind(id)
        .bind(control.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn take_requests(&self, node: &str) -> Result<Vec<(String, Control)>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "DELETE FROM requests \
             WHERE instance_id IN (SELECT id FROM instances WHERE owner = $1) \
             RETURNING seq, instance_id, control",
        )
        .bind(node)
        .fetch_all(&mut *tx)
        .await?;
        let taken = shared::requests(rows)?;
        // Only now: a request that could not be read stays queued.
        tx.commit().await?;
        Ok(taken)
    }

    async fn outbox(&self, node: &str, limit: u32) -> Result<Vec<Outgoing>> {
        sqlx::query(
            "SELECT o.seq, o.instance_id, o.destination, o.event FROM outbox o \
             JOIN instances i ON i.id = o.instance_id \
             WHERE i.owner = $1 ORDER BY o.seq LIMIT $2",
        )
        .bind(node)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::outgoing)
        .collect()
    }

    async fn sent(&self, seqs: &[i64]) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)")
            .bind(seqs)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_runs(&self, runs: &[NewRun], rerun: bool) -> Result<Vec<i64>> {
        let sorted = shared::sorted_runs(runs);
        if sorted.is_empty() {
            return Ok(Vec::new());
        }
        let all = RunColumns::of(&sorted);
        let mut tx = self.pool.begin().await?;
        // Rows go in in key order (ORDER BY ord over the sorted batch): a concurrent call
        // inserting an overlapping range waits on the first key they share for this commit,
        // then skips it, so each date is created once and the two cannot deadlock.
        let inserted = sqlx::query(
            "INSERT INTO runs (namespace, name, version, logical_date, interval_start, \
             interval_end, kind, created_at) \
             SELECT namespace, name, version, logical_date, interval_start, interval_end, \
                    kind, created_at \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], \
                         $6::bigint[], $7::text[], $8::bigint[]) WITH ORDINALITY \
                  AS u(namespace, name, version, logical_date, interval_start, interval_end, \
                       kind, created_at, ord) \
             ORDER BY ord \
             ON CONFLICT DO NOTHING \
             RETURNING namespace, name, logical_date",
        )
        .bind(&all.namespaces)
        .bind(&all.names)
        .bind(&all.versions)
        .bind(&all.dates)
        .bind(&all.starts)
        .bind(&all.ends)
        .bind(&all.kinds)
        .bind(&all.created)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| Error::from(e).context("queueing runs"))?;
        let mut queued = shared::dates(&inserted)?;
        let existing = shared::not_inserted(&sorted, &inserted)?;
        if rerun && !existing.is_empty() {
            let old = RunColumns::of(&existing);
            // Lock those runs in key order first, so concurrent reruns of overlapping ranges
            // cannot deadlock (an UPDATE alone locks in whatever order its plan visits).
            sqlx::query(
                "SELECT 1 FROM runs r \
                 JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS u(namespace, name, date) \
                   ON r.namespace = u.namespace AND r.name = u.name AND r.logical_date = u.date \
                 ORDER BY r.namespace, r.name, r.logical_date FOR UPDATE OF r",
            )
            .bind(&old.namespaces)
            .bind(&old.names)
            .bind(&old.dates)
            .fetch_all(&mut *tx)
            .await?;
            let reset = sqlx::query(
                "UPDATE runs AS r SET \
                    previous = CASE WHEN r.instance_id IS NULL THEN r.previous \
                               ELSE (r.previous::jsonb || jsonb_build_array(r.instance_id))::text \
                               END, \
                    instance_id = NULL, started_at = NULL, version = u.version, \
                    interval_start = u.interval_start, interval_end = u.interval_end, \
                    kind = u.kind, marked = NULL, task_marks = '{}' \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], \
                             $6::bigint[], $7::text[]) \
                      AS u(namespace, name, version, logical_date, interval_start, \
                           interval_end, kind) \
                 WHERE r.namespace = u.namespace AND r.name = u.name \
                   AND r.logical_date = u.logical_date \
                   AND (r.instance_id IS NULL OR EXISTS ( \
                        SELECT 1 FROM instances i WHERE i.id = r.instance_id \
                          AND i.status IN ('completed', 'faulted', 'cancelled'))) \
                 RETURNING r.logical_date",
            )
            .bind(&old.namespaces)
            .bind(&old.names)
            .bind(&old.versions)
            .bind(&old.dates)
            .bind(&old.starts)
            .bind(&old.ends)
            .bind(&old.kinds)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| Error::from(e).context("re-queueing runs"))?;
            queued.extend(shared::dates(&reset)?);
        }
        tx.commit().await?;
        queued.sort_unstable();
        Ok(queued)
    }

    async fn runs(
        &self,
        namespace: &str,
        name: &str,
        from: Option<i64>,
        to: Option<i64>,
        limit: u32,
    ) -> Result<Vec<RunRow>> {
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r LEFT JOIN instances i ON i.id = r.instance_id \
             WHERE r.namespace = $1 AND r.name = $2 \
               AND ($3::bigint IS NULL OR r.logical_date >= $3) \
               AND ($4::bigint IS NULL OR r.logical_date <= $4) \
             ORDER BY r.logical_date LIMIT $5"
        ))
        .bind(namespace)
        .bind(name)
        .bind(from)
        .bind(to)
        .bind(shared::run_page(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::run_row)
        .collect()
    }

    async fn start_run(
        &self,
        namespace: &str,
        name: &str,
        logical_date: i64,
        new: &NewInstance,
        lease: Duration,
        max_active: Option<u32>,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        if let Some(max) = max_active {
            // One start of this workflow's runs at a time (across nodes): the count below then
            // sees every run started before (read committed: each statement a new snapshot).
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))")
                .bind(namespace)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM runs r JOIN instances i ON i.id = r.instance_id \
                 WHERE r.namespace = $1 AND r.name = $2 \
                   AND i.status NOT IN ('completed', 'faulted', 'cancelled')",
            )
            .bind(namespace)
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
            if active >= i64::from(max) {
                return Ok(false);
            }
        }
        // The run's row lock decides between concurrent starts: a second start waits here for
        // the first to commit, then finds the run no longer queued (the re-check of a locked
        // row sees its new instance) and returns false before writing anything.
        let queued = sqlx::query(
            "SELECT 1 FROM runs WHERE namespace = $1 AND name = $2 AND logical_date = $3 \
             AND instance_id IS NULL FOR UPDATE",
        )
        .bind(namespace)
        .bind(name)
        .bind(logical_date)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
        if !queued {
            return Ok(false);
        }
        insert_instance(&mut tx, new, lease).await?;
        sqlx::query(
            "UPDATE runs SET instance_id = $4, started_at = $5 \
             WHERE namespace = $1 AND name = $2 AND logical_date = $3",
        )
        .bind(namespace)
        .bind(name)
        .bind(logical_date)
        .bind(&new.id)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn mark_run(
        &self,
        namespace: &str,
        name: &str,
        logical_date: i64,
        task: Option<&str>,
        state: Option<&str>,
    ) -> Result<bool> {
        shared::check_mark(state)?;
        let context =
            |e: sqlx::Error| Error::from(e).context(format!("marking the run of {logical_date}"));
        let Some(task) = task else {
            let marked = sqlx::query(
                "UPDATE runs SET marked = $4 \
                 WHERE namespace = $1 AND name = $2 AND logical_date = $3",
            )
            .bind(namespace)
            .bind(name)
            .bind(logical_date)
            .bind(state)
            .execute(&self.pool)
            .await
            .map_err(context)?
            .rows_affected();
            return Ok(marked == 1);
        };
        // The row lock (FOR UPDATE) holds concurrent marks of the same run back until this
        // one commits, so none of their changes is lost.
        let mut tx = self.pool.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT task_marks FROM runs WHERE namespace = $1 AND name = $2 AND logical_date = $3 \
             FOR UPDATE",
        )
        .bind(namespace)
        .bind(name)
        .bind(logical_date)
        .fetch_optional(&mut *tx)
        .await
        .map_err(context)?
        else {
            return Ok(false);
        };
        let marks = shared::with_task_mark(
            logical_date,
            &row.try_get::<String, _>("task_marks")?,
            task,
            state,
        )?;
        sqlx::query(
            "UPDATE runs SET task_marks = $4 \
             WHERE namespace = $1 AND name = $2 AND logical_date = $3",
        )
        .bind(namespace)
        .bind(name)
        .bind(logical_date)
        .bind(marks)
        .execute(&mut *tx)
        .await
        .map_err(context)?;
        tx.commit().await?;
        Ok(true)
    }

    async fn run_of(&self, instance: &str) -> Result<Option<RunRow>> {
        // The unique index runs_instance finds the run.
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r LEFT JOIN instances i ON i.id = r.instance_id \
             WHERE r.instance_id = $1"
        ))
        .bind(instance)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| shared::run_row(&row))
        .transpose()
    }

    async fn open_runs(&self, namespace: &str, name: &str) -> Result<Vec<RunRow>> {
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r LEFT JOIN instances i ON i.id = r.instance_id \
             WHERE r.namespace = $1 AND r.name = $2 \
               AND (r.instance_id IS NULL OR i.status NOT IN ('completed', 'faulted', 'cancelled')) \
             ORDER BY r.logical_date"
        ))
        .bind(namespace)
        .bind(name)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::run_row)
        .collect()
    }

    async fn previous_run(
        &self,
        namespace: &str,
        name: &str,
        before: i64,
    ) -> Result<Option<RunRow>> {
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r LEFT JOIN instances i ON i.id = r.instance_id \
             WHERE r.namespace = $1 AND r.name = $2 AND r.logical_date < $3 \
             ORDER BY r.logical_date DESC LIMIT 1"
        ))
        .bind(namespace)
        .bind(name)
        .bind(before)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| shared::run_row(&row))
        .transpose()
    }

    async fn settings(&self, namespace: &str, name: &str) -> Result<WorkflowSettings> {
        sqlx::query(
            "SELECT overrides, paused, last_scheduled FROM workflow_settings \
             WHERE namespace = $1 AND name = $2",
        )
        .bind(namespace)
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .map_or_else(
            || Ok(WorkflowSettings::default()),
            |row| shared::settings_row(&row),
        )
    }

    async fn put_settings(
        &self,
        namespace: &str,
        name: &str,
        settings: &WorkflowSettings,
    ) -> Result<()> {
        shared::check_settings(settings)?;
        sqlx::query(
            "INSERT INTO workflow_settings (namespace, name, overrides, paused, last_scheduled) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (namespace, name) DO UPDATE SET overrides = excluded.overrides, \
                paused = excluded.paused, last_scheduled = excluded.last_scheduled",
        )
        .bind(namespace)
        .bind(name)
        .bind(text(&settings.overrides))
        .bind(settings.paused)
        .bind(settings.last_scheduled)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn put_events(&self, events: &[Value], received_at: i64) -> Result<Vec<Option<i64>>> {
        let incoming = shared::incoming_events(events)?;
        if incoming.is_empty() {
            return Ok(Vec::new());
        }
        let sources: Vec<&str> = incoming.iter().map(|e| e.source).collect();
        let ids: Vec<&str> = incoming.iter().map(|e| e.id).collect();
        let types: Vec<&str> = incoming.iter().map(|e| e.r#type).collect();
        let texts: Vec<&str> = incoming.iter().map(|e| e.text.as_str()).collect();
        let mut tx = self.pool.begin().await?;
        // One writer at a time (held to commit): seqs then commit in their order, and two
        // batches sharing keys cannot deadlock on the unique index.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(EVENTS_LOCK)
            .execute(&mut *tx)
            .await?;
        // ORDER BY ord: seqs are handed out in the batch's order, and of two events with one
        // key the first is inserted (DO NOTHING skips the second).
        let rows = sqlx::query(
            "INSERT INTO events (source, id, type, event, received_at) \
             SELECT source, id, type, event, $5 \
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY \
                  AS u(source, id, type, event, ord) \
             ORDER BY ord \
             ON CONFLICT (source, id) DO NOTHING \
             RETURNING seq, source, id",
        )
        .bind(&sources)
        .bind(&ids)
        .bind(&types)
        .bind(&texts)
        .bind(received_at)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| Error::from(e).context("storing incoming events"))?;
        let seqs = shared::new_seqs(&incoming, &rows)?;
        tx.commit().await?;
        Ok(seqs)
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<StoredEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(after)
        .bind(shared::event_page(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::stored_event)
        .collect()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn events_since(
        &self,
        types: &[String],
        since: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let query = if types.is_empty() {
            sqlx::query(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE received_at >= $1 ORDER BY seq LIMIT $2"
            ))
            .bind(since)
            .bind(shared::event_page(limit))
        } else {
            sqlx::query(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE type = ANY($3) AND received_at >= $1 \
                 ORDER BY seq LIMIT $2"
            ))
            .bind(since)
            .bind(shared::event_page(limit))
            .bind(types)
        };
        query
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(shared::stored_event)
            .collect()
    }

    async fn prune_events(&self, before: i64) -> Result<u64> {
        // One statement: the events and their starts go together.
        let deleted: i64 = sqlx::query_scalar(
            "WITH gone AS (DELETE FROM events WHERE received_at < $1 RETURNING seq), \
                  starts AS (DELETE FROM event_starts WHERE seq IN (SELECT seq FROM gone)) \
             SELECT count(*) FROM gone",
        )
        .bind(before)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    async fn started_events(&self, namespace: &str, name: &str, seqs: &[i64]) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT seq FROM event_starts WHERE namespace = $1 AND name = $2 \
             AND seq = ANY($3) ORDER BY seq",
        )
        .bind(namespace)
        .bind(name)
        .bind(seqs)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("seq")?)).collect()
    }

    async fn append_logs(&self, chunks: &[LogChunk]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        let column = |f: fn(&LogChunk) -> String| chunks.iter().map(f).collect::<Vec<_>>();
        let numbers = |f: fn(&LogChunk) -> i64| chunks.iter().map(f).collect::<Vec<_>>();
        // `WITH ORDINALITY`: rows (and so seqs) in the batch's order.
        sqlx::query(
            "INSERT INTO task_logs (instance_id, task, effect, stream, at, text) \
             SELECT i, t, e, s, a, x FROM UNNEST($1::text[], $2::text[], $3::bigint[], \
                 $4::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS u(i, t, e, s, a, x, n) \
             ORDER BY n",
        )
        .bind(column(|c| c.instance.clone()))
        .bind(column(|c| c.task.clone()))
        .bind(numbers(|c| c.effect as i64))
        .bind(column(|c| c.stream.as_str().to_string()))
        .bind(numbers(|c| c.at))
        .bind(column(|c| c.text.clone()))
        .execute(&self.pool)
        .await
        .map_err(|e| Error::from(e).context("storing task logs"))?;
        Ok(())
    }

    async fn logs(
        &self,
        instance: &str,
        task: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredLog>> {
        sqlx::query(concat!(
            "SELECT ",
            shared::log_columns!(),
            " FROM task_logs WHERE instance_id = $1 AND seq > $2 \
              AND ($3::text IS NULL OR task = $3) ORDER BY seq LIMIT $4"
        ))
        .bind(instance)
        .bind(after)
        .bind(task)
        .bind(shared::log_page(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(shared::stored_log)
        .collect()
    }

    async fn count_by_status(&self) -> Result<Vec<(String, i64)>> {
        sqlx::query("SELECT status, COUNT(*) AS n FROM instances GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
            .collect()
    }

    async fn outbox_depth(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Runs as the arrays `unnest` reads: one per column.
struct RunColumns<'a> {
    namespaces: Vec<&'a str>,
    names: Vec<&'a str>,
    versions: Vec<&'a str>,
    kinds: Vec<&'a str>,
    dates: Vec<i64>,
    starts: Vec<i64>,
    ends: Vec<i64>,
    created: Vec<i64>,
}

impl<'a> RunColumns<'a> {
    fn of(runs: &[&'a NewRun]) -> RunColumns<'a> {
        RunColumns {
            namespaces: runs.iter().map(|r| r.namespace.as_str()).collect(),
            names: runs.iter().map(|r| r.name.as_str()).collect(),
            versions: runs.iter().map(|r| r.version.as_str()).collect(),
            kinds: runs.iter().map(|r| r.kind.as_str()).collect(),
            dates: runs.iter().map(|r| r.logical_date).collect(),
            starts: runs.iter().map(|r| r.interval_start).collect(),
            ends: runs.iter().map(|r| r.interval_end).collect(),
            created: runs.iter().map(|r| r.created_at).collect(),
        }
    }
}

/// Writes a new instance's row (pending, owned, leased) and its record 0.
async fn insert_instance(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    new: &NewInstance,
    lease: Duration,
) -> Result<()> {
    insert_row(tx, new, lease).await?;
    sqlx::query("INSERT INTO records (instance_id, seq, record) VALUES ($1, 0, $2)")
        .bind(&new.id)
        .bind(text(&new.started))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An instance's row (and its owner's node row), without its first record.
async fn insert_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    new: &NewInstance,
    lease: Duration,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO instances (id, namespace, name, version, status, input, tasks, \
         created_at, updated_at, owner, lease_until, next_seq) \
         VALUES ($1, $2, $3, $4, 'pending', $5, '[]', $6, nagare_now_ms(), $7, \
                 nagare_now_ms() + $8, 1)",
    )
    .bind(&new.id)
    .bind(&new.workflow.namespace)
    .bind(&new.workflow.name)
    .bind(&new.workflow.version)
    .bind(text(&new.input))
    .bind(new.created_at)
    .bind(&new.owner)
    .bind(millis(lease))
    .execute(&mut **tx)
    .await
    .map_err(|e| Error::from(e).context(format!("creating instance {}", new.id)))?;
    add_node(&mut **tx, &new.owner, lease).await
}

/// Records that `new.starts` started `new` (see [`NewInstance::starts`]); false, with nothing
/// recorded, when one of them already started an instance of its workflow. A concurrent start
/// of the same event waits on the primary key for the other commit, then does nothing (the
/// foreign key to the instance is checked at commit). A refused set's rows that did go in
/// carry `new.id`, which names no other start, so deleting them undoes exactly that part and
/// leaves the rest of the batch. Seqs come ascending, so two overlapping sets lock in one
/// order.
async fn record_starts(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    new: &NewInstance,
) -> Result<bool> {
    if new.starts.is_empty() {
        return Ok(true);
    }
    let recorded = sqlx::query(
        "INSERT INTO event_starts (namespace, name, seq, instance_id) \
         SELECT $1, $2, seq, $3 FROM unnest($4::bigint[]) WITH ORDINALITY AS s(seq, n) \
         ORDER BY n ON CONFLICT DO NOTHING",
    )
    .bind(&new.workflow.namespace)
    .bind(&new.workflow.name)
    .bind(&new.id)
    .bind(&new.starts)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if recorded == new.starts.len() as u64 {
        return Ok(true);
    }
    if recorded > 0 {
        sqlx::query(
            "DELETE FROM event_starts WHERE namespace = $1 AND name = $2 \
             AND seq = ANY($4) AND instance_id = $3",
        )
        .bind(&new.workflow.namespace)
        .bind(&new.workflow.name)
        .bind(&new.id)
        .bind(&new.starts)
        .execute(&mut **tx)
        .await?;
    }
    Ok(false)
}

/// Gives `node` a node lease for `lease` unless it has one: every owner has a node row, so a
/// claim finds the instances of expired nodes through their names. An existing lease is the
/// lease loop's to renew (DO NOTHING takes no lock on it, so creations do not queue on their
/// node's row).
async fn add_node<'e>(db: impl sqlx::PgExecutor<'e>, node: &str, lease: Duration) -> Result<()> {
    sqlx::query(
        "INSERT INTO nodes (name, lease_until) VALUES ($1, nagare_now_ms() + $2) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(node)
    .bind(millis(lease))
    .execute(db)
    .await?;
    Ok(())
}
