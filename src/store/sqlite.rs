//! The embedded store: SQLite (WAL, `synchronous=FULL`) in a data directory.
//!
//! SQLite has one writer at a time, so every write goes through a pool of one connection:
//! writers queue in the pool instead of failing with `SQLITE_BUSY`, and a transaction never
//! has to upgrade from reading to writing under contention. Reads use a pool of their own; WAL
//! lets them run beside the writer and see every committed write.
//! Lease times are this process's clock: one process uses a data directory.

mod migrations;

use super::shared::{
    self, event_columns, group, ids, instance_columns, instance_row, json, millis, now_ms,
    run_columns, text,
};
use super::{
    Append, Control, Error, Filter, InstanceRow, LogChunk, NewInstance, NewRun, Outgoing, Put,
    Result, RunRow, Store, StoredEvent, StoredLog, StoredWorkflow, WorkflowKey, WorkflowSettings,
};
use async_trait::async_trait;
use serde_json::{Value, json};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

pub struct Sqlite {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl Sqlite {
    /// Opens (creating when missing) `nagare.db` in the directory `data`, and brings its schema
    /// up to date.
    pub async fn open(data: &Path) -> Result<Sqlite> {
        // Switching a new database to WAL takes an exclusive lock that the busy timeout does
        // not wait for: a second process opening the same new file at that moment gets
        // SQLITE_BUSY at once. Such an open is tried again for a while.
        let mut tries = 0;
        loop {
            match Sqlite::open_once(data).await {
                Err(Error::Busy(_)) if tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    async fn open_once(data: &Path) -> Result<Sqlite> {
        let file = data.join("nagare.db");
        let doing = format!("cannot open the SQLite store {}", file.display());
        tokio::fs::create_dir_all(data)
            .await
            .map_err(|e| Error::unavailable(format!("{doing}: {e}")))?;
        let options = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk (the WAL is synced) before it returns, so a committed
            // append survives a crash or power loss; NORMAL could lose the last commits.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| Error::from(e).context(&doing))?;
        migrate(&writer).await.map_err(|e| e.context(&doing))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| Error::from(e).context(&doing))?;
        Ok(Sqlite { writer, reader })
    }
}

/// The condition under which an instance may be taken, `now` being the time (a placeholder):
/// it has no owner, `own` holds (the taker's own), or both its own lease and its owner's node
/// lease ran out (see migration 7). A macro, so queries stay static strings.
macro_rules! movable {
    ($own:literal, $now:literal) => {
        concat!(
            "(owner IS NULL OR ",
            $own,
            " OR (lease_until < ",
            $now,
            " AND NOT EXISTS (SELECT 1 FROM nodes WHERE nodes.name = instances.owner \
             AND nodes.lease_until >= ",
            $now,
            ")))"
        )
    };
}

/// A write transaction. IMMEDIATE takes the write lock at BEGIN, where the busy timeout
/// applies; a deferred transaction that reads and then writes could instead fail at once with
/// `SQLITE_BUSY` if another process wrote meanwhile.
async fn write(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(pool.begin_with("BEGIN IMMEDIATE").await?)
}

/// Applies the migrations not applied yet, each in its own transaction.
async fn migrate(pool: &SqlitePool) -> Result<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await?;
    for &(version, sql) in migrations::MIGRATIONS {
        let mut tx = write(pool).await?;
        let applied = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = ?1")
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !applied {
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| Error::from(e).context(format!("migration {version}")))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)")
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }
    Ok(())
}

#[async_trait]
impl Store for Sqlite {
    async fn put_workflow(&self, key: &WorkflowKey, source: &str, digest: &str) -> Result<Put> {
        let mut tx = write(&self.writer).await?;
        let inserted = sqlx::query(
            "INSERT INTO workflows (namespace, name, version, digest, source, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(&key.version)
        .bind(digest)
        .bind(source)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let put = if inserted == 1 {
            Put::Created
        } else {
            let stored: String = sqlx::query(
                "SELECT digest FROM workflows WHERE namespace = ?1 AND name = ?2 AND version = ?3",
            )
            .bind(&key.namespace)
            .bind(&key.name)
            .bind(&key.version)
            .fetch_one(&mut *tx)
            .await?
            .try_get("digest")?;
            if stored == digest {
                Put::Unchanged
            } else {
                Put::Conflict
            }
        };
        tx.commit().await?;
        Ok(put)
    }

    async fn workflow(&self, key: &WorkflowKey) -> Result<Option<StoredWorkflow>> {
        sqlx::query(
            "SELECT namespace, name, version, source, digest, created_at FROM workflows \
             WHERE namespace = ?1 AND name = ?2 AND version = ?3",
        )
        .bind(&key.namespace)
        .bind(&key.name)
        .bind(&key.version)
        .fetch_optional(&self.reader)
        .await?
        .map(|row| shared::workflow_row(&row))
        .transpose()
    }

    async fn workflows(&self) -> Result<Vec<StoredWorkflow>> {
        sqlx::query(
            "SELECT namespace, name, version, source, digest, created_at FROM workflows \
             ORDER BY namespace, name, created_at, version",
        )
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(shared::workflow_row)
        .collect()
    }

    async fn workflow_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM workflows")
            .fetch_one(&self.reader)
            .await?)
    }

    async fn create_instance(&self, new: &NewInstance, lease: Duration) -> Result<()> {
        let mut tx = write(&self.writer).await?;
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
            " FROM instances WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.reader)
        .await?
        .map(|row| instance_row(&row))
        .transpose()
    }

    async fn instances(&self, filter: &Filter) -> Result<Vec<InstanceRow>> {
        let mut query = QueryBuilder::<sqlx::Sqlite>::new(concat!(
            "SELECT ",
            instance_columns!(),
            " FROM instances WHERE 1 = 1"
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
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(instance_row)
            .collect()
    }

    async fn history(&self, id: &str) -> Result<Vec<Value>> {
        sqlx::query("SELECT seq, record FROM records WHERE instance_id = ?1 ORDER BY seq")
            .bind(id)
            .fetch_all(&self.reader)
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
        let now = now_ms();
        let mut tx = write(&self.writer).await?;
        // A creation its events refuse is not inserted, and nothing else of it is written.
        // A created one's record 0 goes in with the batch's records.
        let mut refused = Vec::new();
        let mut records = Vec::new();
        for created in batch.iter().filter_map(|a| a.created.as_ref()) {
            if record_starts(&mut tx, created).await? {
                insert_row(&mut tx, created, lease).await?;
                records.push(json!([created.id, 0, text(&created.started)]));
            } else {
                refused.push(created.id.clone());
            }
        }
        groups.retain(|g| !refused.iter().any(|id| id == g.instance));
        // The whole batch travels as one JSON array per statement (read back with json_each),
        // so a batch costs three statements however many instances it names.
        let updates: Vec<Value> = groups
            .iter()
            .map(|g| match g.columns() {
                Some((status, output, error, tasks, ended_at)) => {
                    json!([
                        g.instance,
                        g.records.len(),
                        1,
                        status,
                        output,
                        error,
                        tasks,
                        ended_at
                    ])
                }
                None => json!([g.instance, g.records.len(), 0]),
            })
            .collect();
        // `+owner` keeps the owner index out of the plan, so SQLite walks the batch and looks
        // each id up, instead of scanning the batch once per row the node owns.
        let rows = sqlx::query(
            "UPDATE instances SET \
                lease_until = ?1, updated_at = ?2, next_seq = next_seq + u.n, \
                status = CASE WHEN u.has THEN u.status ELSE instances.status END, \
                output = CASE WHEN u.has THEN u.output ELSE instances.output END, \
                error = CASE WHEN u.has THEN u.error ELSE instances.error END, \
                tasks = CASE WHEN u.has THEN u.tasks ELSE instances.tasks END, \
                ended_at = CASE WHEN u.has THEN u.ended_at ELSE instances.ended_at END \
             FROM (SELECT value ->> 0 AS id, value ->> 1 AS n, value ->> 2 AS has, \
                          value ->> 3 AS status, value ->> 4 AS output, value ->> 5 AS error, \
                          value ->> 6 AS tasks, value ->> 7 AS ended_at \
                   FROM json_each(?3)) AS u \
             WHERE instances.id = u.id AND +instances.owner = ?4 \
             RETURNING id, next_seq",
        )
        .bind(now + millis(lease))
        .bind(now)
        .bind(Value::Array(updates).to_string())
        .bind(node)
        .fetch_all(&mut *tx)
        .await?;
        let mut next = HashMap::with_capacity(rows.len());
        for row in &rows {
            next.insert(
                row.try_get::<String, _>("id")?,
                row.try_get::<i64, _>("next_seq")?,
            );
        }
        let mut events = Vec::new();
        let mut lost = refused;
        for g in &groups {
            let Some(&next_seq) = next.get(g.instance) else {
                lost.push(g.instance.to_string());
                continue;
            };
            let first = next_seq - g.records.len() as i64;
            for (i, record) in g.records.iter().enumerate() {
                records.push(json!([g.instance, first + i as i64, record]));
            }
            for (destination, event) in &g.outbox {
                events.push(json!([g.instance, destination, event]));
            }
        }
        if !records.is_empty() {
            sqlx::query(
                "INSERT INTO records (instance_id, seq, record) \
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)",
            )
            .bind(Value::Array(records).to_string())
            .execute(&mut *tx)
            .await?;
        }
        if !events.is_empty() {
            // ORDER BY key: seqs are handed out in the batch's order.
            sqlx::query(
                "INSERT INTO outbox (instance_id, destination, event) \
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1) ORDER BY key",
            )
            .bind(Value::Array(events).to_string())
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
        let now = now_ms();
        // The candidates: the unfinished instances without an owner, of nodes whose lease ran
        // out, and (with `own`) the node's own — each looked up by owner in a partial index,
        // so neither the finished instances (the bulk of the table) nor those of live nodes
        // are read; every owner has a node row (written wherever an owner is) — plus those
        // with queued events. Oldest lease first (none at all first): repeated claims cycle
        // through a node's own instances instead of returning the same `limit` ones every
        // time. They are found on a reader, so the one writer is held only for the update by
        // id (with the condition checked again), not for scanning and sorting.
        let candidates: Vec<String> = sqlx::query(concat!(
            "SELECT id FROM instances \
             WHERE id IN ( \
                SELECT id FROM instances INDEXED BY instances_live_owner \
                WHERE status NOT IN ('completed', 'faulted', 'cancelled') AND owner IS NULL \
                UNION ALL SELECT id FROM instances INDEXED BY instances_live_owner \
                WHERE status NOT IN ('completed', 'faulted', 'cancelled') \
                  AND owner IN (SELECT name FROM nodes WHERE lease_until < ?2) \
                UNION ALL SELECT id FROM instances INDEXED BY instances_live_owner \
                WHERE ?4 AND status NOT IN ('completed', 'faulted', 'cancelled') \
                  AND owner = ?1 \
                UNION ALL SELECT instance_id FROM outbox) \
               AND ",
            movable!("(owner = ?1 AND ?4)", "?2"),
            " ORDER BY lease_until NULLS FIRST, id LIMIT ?3"
        ))
        .bind(node)
        .bind(now)
        .bind(i64::from(limit))
        .bind(own)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|r| r.get::<String, _>("id"))
        .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = write(&self.writer).await?;
        let rows = sqlx::query(concat!(
            "UPDATE instances SET owner = ?1, lease_until = ?2 \
             WHERE id IN (SELECT value FROM json_each(?4)) AND ",
            movable!("owner = ?1", "?3"),
            " RETURNING id"
        ))
        .bind(node)
        .bind(now + millis(lease))
        .bind(now)
        .bind(json!(candidates).to_string())
        .fetch_all(&mut *tx)
        .await?;
        add_node(&mut tx, node, now + millis(lease)).await?;
        tx.commit().await?;
        ids(rows)
    }

    async fn renew(&self, node: &str, lease: Duration) -> Result<Option<Vec<String>>> {
        // One row, whatever the number of instances: renewing 10,000 instance leases held
        // the one writer for ~35 ms every second, and every event and step commit queued
        // behind it. What the node holds is read (on a reader) only when it may have changed.
        let now = now_ms();
        let mut tx = write(&self.writer).await?;
        let before: Option<i64> = sqlx::query("SELECT lease_until FROM nodes WHERE name = ?1")
            .bind(node)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.get(0));
        sqlx::query(
            "INSERT INTO nodes (name, lease_until) VALUES (?1, ?2) \
             ON CONFLICT (name) DO UPDATE SET lease_until = excluded.lease_until",
        )
        .bind(node)
        .bind(now + millis(lease))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if before.is_some_and(|until| until >= now) {
            return Ok(None);
        }
        let rows = sqlx::query("SELECT id FROM instances WHERE owner = ?1")
            .bind(node)
            .fetch_all(&self.reader)
            .await?;
        ids(rows).map(Some)
    }

    async fn release_ended(&self, node: &str) -> Result<()> {
        sqlx::query(
            "UPDATE instances SET owner = NULL, lease_until = NULL \
             WHERE owner = ?1 AND status IN ('completed', 'faulted', 'cancelled') \
               AND NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.instance_id = instances.id)",
        )
        .bind(node)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn release_all(&self, node: &str) -> Result<()> {
        sqlx::query("UPDATE instances SET owner = NULL, lease_until = NULL WHERE owner = ?1")
            .bind(node)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn rewind(&self, id: &str, keep: usize, node: &str, lease: Duration) -> Result<bool> {
        let keep = i64::try_from(keep.max(1)).unwrap_or(i64::MAX);
        let now = now_ms();
        let mut tx = write(&self.writer).await?;
        let taken = sqlx::query(concat!(
            "UPDATE instances SET status = 'running', output = NULL, error = NULL, \
                    ended_at = NULL, updated_at = ?1, owner = ?2, lease_until = ?3, \
                    next_seq = MIN(next_seq, ?4) \
                 WHERE id = ?5 AND status IN ('completed', 'faulted', 'cancelled') AND ",
            movable!("owner = ?2", "?1")
        ))
        .bind(now)
        .bind(node)
        .bind(now + millis(lease))
        .bind(keep)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if taken == 0 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM records WHERE instance_id = ?1 AND seq >= ?2")
            .bind(id)
            .bind(keep)
            .execute(&mut *tx)
            .await?;
        add_node(&mut tx, node, now + millis(lease)).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn request(&self, id: &str, control: Control) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO requests (instance_id, control) \
             SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM instances WHERE id = ?1)",
        )
        .bind(id)
        .bind(control.as_str())
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    async fn take_requests(&self, node: &str) -> Result<Vec<(String, Control)>> {
        let mut tx = write(&self.writer).await?;
        let rows = sqlx::query(
            "DELETE FROM requests \
             WHERE instance_id IN (SELECT id FROM instances WHERE owner = ?1) \
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
             WHERE i.owner = ?1 ORDER BY o.seq LIMIT ?2",
        )
        .bind(node)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(shared::outgoing)
        .collect()
    }

    async fn sent(&self, seqs: &[i64]) -> Result<()> {
        if seqs.is_empty() {
            return Ok(());
        }
        sqlx::query("DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?1))")
            .bind(json!(seqs).to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn add_runs(&self, runs: &[NewRun], rerun: bool) -> Result<Vec<i64>> {
        let sorted = shared::sorted_runs(runs);
        if sorted.is_empty() {
            return Ok(Vec::new());
        }
        let batch = |runs: &[&NewRun]| -> String {
            let rows = runs.iter().map(|r| {
                json!([
                    r.namespace,
                    r.name,
                    r.version,
                    r.logical_date,
                    r.interval_start,
                    r.interval_end,
                    r.kind,
                    r.created_at
                ])
            });
            Value::Array(rows.collect()).to_string()
        };
        let mut tx = write(&self.writer).await?;
        // `WHERE true`: without it SQLite would read ON CONFLICT as a join constraint.
        let inserted = sqlx::query(
            "INSERT INTO runs (namespace, name, version, logical_date, interval_start, \
             interval_end, kind, created_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, \
                    value ->> 5, value ->> 6, value ->> 7 \
             FROM json_each(?1) WHERE true \
             ON CONFLICT DO NOTHING \
             RETURNING namespace, name, logical_date",
        )
        .bind(batch(&sorted))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| Error::from(e).context("queueing runs"))?;
        let mut queued = shared::dates(&inserted)?;
        let existing = shared::not_inserted(&sorted, &inserted)?;
        if rerun && !existing.is_empty() {
            let reset = sqlx::query(
                "UPDATE runs SET \
                    previous = CASE WHEN runs.instance_id IS NULL THEN runs.previous \
                               ELSE json_insert(runs.previous, '$[#]', runs.instance_id) END, \
                    instance_id = NULL, started_at = NULL, version = u.new_version, \
                    interval_start = u.new_start, interval_end = u.new_end, kind = u.new_kind, \
                    marked = NULL, task_marks = '{}' \
                 FROM (SELECT value ->> 0 AS new_namespace, value ->> 1 AS new_name, \
                              value ->> 2 AS new_version, value ->> 3 AS new_date, \
                              value ->> 4 AS new_start, value ->> 5 AS new_end, \
                              value ->> 6 AS new_kind \
                       FROM json_each(?1)) AS u \
                 WHERE runs.namespace = u.new_namespace AND runs.name = u.new_name \
                   AND runs.logical_date = u.new_date \
                   AND (runs.instance_id IS NULL OR EXISTS ( \
                        SELECT 1 FROM instances i WHERE i.id = runs.instance_id \
                          AND i.status IN ('completed', 'faulted', 'cancelled'))) \
                 RETURNING logical_date",
            )
            .bind(batch(&existing))
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
             WHERE r.namespace = ?1 AND r.name = ?2 \
               AND (?3 IS NULL OR r.logical_date >= ?3) AND (?4 IS NULL OR r.logical_date <= ?4) \
             ORDER BY r.logical_date LIMIT ?5"
        ))
        .bind(namespace)
        .bind(name)
        .bind(from)
        .bind(to)
        .bind(shared::run_page(limit))
        .fetch_all(&self.reader)
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
        // The write transaction is the lock: nothing changes the run between the check and
        // the update, and a false answer rolls back (writes nothing).
        let mut tx = write(&self.writer).await?;
        if let Some(max) = max_active {
            let active: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM runs r JOIN instances i ON i.id = r.instance_id \
                 WHERE r.namespace = ?1 AND r.name = ?2 \
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
        let queued = sqlx::query(
            "SELECT 1 FROM runs WHERE namespace = ?1 AND name = ?2 AND logical_date = ?3 \
             AND instance_id IS NULL",
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
            "UPDATE runs SET instance_id = ?4, started_at = ?5 \
             WHERE namespace = ?1 AND name = ?2 AND logical_date = ?3",
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
                "UPDATE runs SET marked = ?4 \
                 WHERE namespace = ?1 AND name = ?2 AND logical_date = ?3",
            )
            .bind(namespace)
            .bind(name)
            .bind(logical_date)
            .bind(state)
            .execute(&self.writer)
            .await
            .map_err(context)?
            .rows_affected();
            return Ok(marked == 1);
        };
        // Read, change and write back in one write transaction: nothing else writes between.
        let mut tx = write(&self.writer).await?;
        let Some(row) = sqlx::query(
            "SELECT task_marks FROM runs WHERE namespace = ?1 AND name = ?2 AND logical_date = ?3",
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
            "UPDATE runs SET task_marks = ?4 \
             WHERE namespace = ?1 AND name = ?2 AND logical_date = ?3",
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
             WHERE r.instance_id = ?1"
        ))
        .bind(instance)
        .fetch_optional(&self.reader)
        .await?
        .map(|row| shared::run_row(&row))
        .transpose()
    }

    async fn open_runs(&self, namespace: &str, name: &str) -> Result<Vec<RunRow>> {
        sqlx::query(concat!(
            "SELECT ",
            run_columns!(),
            " FROM runs r LEFT JOIN instances i ON i.id = r.instance_id \
             WHERE r.namespace = ?1 AND r.name = ?2 \
               AND (r.instance_id IS NULL OR i.status NOT IN ('completed', 'faulted', 'cancelled')) \
             ORDER BY r.logical_date"
        ))
        .bind(namespace)
        .bind(name)
        .fetch_all(&self.reader)
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
             WHERE r.namespace = ?1 AND r.name = ?2 AND r.logical_date < ?3 \
             ORDER BY r.logical_date DESC LIMIT 1"
        ))
        .bind(namespace)
        .bind(name)
        .bind(before)
        .fetch_optional(&self.reader)
        .await?
        .map(|row| shared::run_row(&row))
        .transpose()
    }

    async fn settings(&self, namespace: &str, name: &str) -> Result<WorkflowSettings> {
        sqlx::query(
            "SELECT overrides, paused, last_scheduled FROM workflow_settings \
             WHERE namespace = ?1 AND name = ?2",
        )
        .bind(namespace)
        .bind(name)
        .fetch_optional(&self.reader)
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
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (namespace, name) DO UPDATE SET overrides = excluded.overrides, \
                paused = excluded.paused, last_scheduled = excluded.last_scheduled",
        )
        .bind(namespace)
        .bind(name)
        .bind(text(&settings.overrides))
        .bind(settings.paused)
        .bind(settings.last_scheduled)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn put_events(&self, events: &[Value], received_at: i64) -> Result<Vec<Option<i64>>> {
        let incoming = shared::incoming_events(events)?;
        if incoming.is_empty() {
            return Ok(Vec::new());
        }
        // The whole batch travels as one JSON array, one statement for all of it. ORDER BY
        // key: seqs are handed out in the batch's order, and of two events with one key the
        // first is inserted (the second conflicts with it). The event is a JSON string inside
        // the array, so its text is stored exactly as serialized.
        let batch: Vec<Value> = incoming
            .iter()
            .map(|e| json!([e.source, e.id, e.r#type, e.text]))
            .collect();
        let mut tx = write(&self.writer).await?;
        // `WHERE true`: without it SQLite could read ON CONFLICT as a join constraint.
        let rows = sqlx::query(
            "INSERT INTO events (source, id, type, event, received_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, ?2 \
             FROM json_each(?1) WHERE true ORDER BY key \
             ON CONFLICT (source, id) DO NOTHING \
             RETURNING seq, source, id",
        )
        .bind(Value::Array(batch).to_string())
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
            " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(after)
        .bind(shared::event_page(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(shared::stored_event)
        .collect()
    }

    async fn last_event_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events")
                .fetch_one(&self.reader)
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
                " FROM events WHERE received_at >= ?1 ORDER BY seq LIMIT ?2"
            ))
            .bind(since)
            .bind(shared::event_page(limit))
        } else {
            // IN over the types: each is a range of the (type, received_at) index.
            sqlx::query(concat!(
                "SELECT ",
                event_columns!(),
                " FROM events WHERE type IN (SELECT value FROM json_each(?3)) \
                   AND received_at >= ?1 \
                 ORDER BY seq LIMIT ?2"
            ))
            .bind(since)
            .bind(shared::event_page(limit))
            .bind(json!(types).to_string())
        };
        query
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(shared::stored_event)
            .collect()
    }

    async fn prune_events(&self, before: i64) -> Result<u64> {
        let mut tx = write(&self.writer).await?;
        sqlx::query(
            "DELETE FROM event_starts \
             WHERE seq IN (SELECT seq FROM events WHERE received_at < ?1)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM events WHERE received_at < ?1")
            .bind(before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    async fn started_events(&self, namespace: &str, name: &str, seqs: &[i64]) -> Result<Vec<i64>> {
        let rows = sqlx::query(
            "SELECT seq FROM event_starts WHERE namespace = ?1 AND name = ?2 \
             AND seq IN (SELECT value FROM json_each(?3)) ORDER BY seq",
        )
        .bind(namespace)
        .bind(name)
        .bind(json!(seqs).to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("seq")?)).collect()
    }

    async fn append_logs(&self, chunks: &[LogChunk]) -> Result<()> {
        if chunks.is_empty() {
            return Ok(());
        }
        // One statement for the batch, as `put_events` does: rows in the array's order.
        let batch: Vec<Value> = chunks
            .iter()
            .map(|c| {
                json!([
                    c.instance,
                    c.task,
                    c.effect,
                    c.stream.as_str(),
                    c.at,
                    c.text
                ])
            })
            .collect();
        let mut tx = write(&self.writer).await?;
        sqlx::query(
            "INSERT INTO task_logs (instance_id, task, effect, stream, at, text) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 \
             FROM json_each(?1) ORDER BY key",
        )
        .bind(Value::Array(batch).to_string())
        .execute(&mut *tx)
        .await
        .map_err(|e| Error::from(e).context("storing task logs"))?;
        tx.commit().await?;
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
            " FROM task_logs WHERE instance_id = ?1 AND seq > ?2 \
              AND (?3 IS NULL OR task = ?3) ORDER BY seq LIMIT ?4"
        ))
        .bind(instance)
        .bind(after)
        .bind(task)
        .bind(shared::log_page(limit))
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(shared::stored_log)
        .collect()
    }

    async fn count_by_status(&self) -> Result<Vec<(String, i64)>> {
        sqlx::query("SELECT status, COUNT(*) AS n FROM instances GROUP BY status ORDER BY status")
            .fetch_all(&self.reader)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("status")?, row.try_get("n")?)))
            .collect()
    }

    async fn outbox_depth(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM outbox")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get("n")?)
    }
}

/// Writes a new instance's row (pending, owned, leased) and its record 0.
async fn insert_instance(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    new: &NewInstance,
    lease: Duration,
) -> Result<()> {
    insert_row(tx, new, lease).await?;
    sqlx::query("INSERT INTO records (instance_id, seq, record) VALUES (?1, 0, ?2)")
        .bind(&new.id)
        .bind(text(&new.started))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An instance's row (and its owner's node row), without its first record.
async fn insert_row(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    new: &NewInstance,
    lease: Duration,
) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO instances (id, namespace, name, version, status, input, tasks, \
         created_at, updated_at, owner, lease_until, next_seq) \
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, '[]', ?6, ?7, ?8, ?9, 1)",
    )
    .bind(&new.id)
    .bind(&new.workflow.namespace)
    .bind(&new.workflow.name)
    .bind(&new.workflow.version)
    .bind(text(&new.input))
    .bind(new.created_at)
    .bind(now)
    .bind(&new.owner)
    .bind(now + millis(lease))
    .execute(&mut **tx)
    .await
    .map_err(|e| Error::from(e).context(format!("creating instance {}", new.id)))?;
    add_node(tx, &new.owner, now + millis(lease)).await
}

/// Records that `new.starts` started `new` (see [`NewInstance::starts`]); false, with nothing
/// recorded, when one of them already started an instance of its workflow. The single writer
/// is the lock. A refused set's rows that did go in carry `new.id`, which names no other
/// start, so deleting them undoes exactly that part and leaves the rest of the batch.
async fn record_starts(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    new: &NewInstance,
) -> Result<bool> {
    if new.starts.is_empty() {
        return Ok(true);
    }
    // `WHERE true`: an upsert from a SELECT needs it (SQLite's parsing ambiguity).
    let recorded = sqlx::query(
        "INSERT INTO event_starts (namespace, name, seq, instance_id) \
         SELECT ?1, ?2, value, ?3 FROM json_each(?4) WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(&new.workflow.namespace)
    .bind(&new.workflow.name)
    .bind(&new.id)
    .bind(json!(new.starts).to_string())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if recorded == new.starts.len() as u64 {
        return Ok(true);
    }
    if recorded > 0 {
        sqlx::query(
            "DELETE FROM event_starts WHERE namespace = ?1 AND name = ?2 \
             AND seq IN (SELECT value FROM json_each(?4)) AND instance_id = ?3",
        )
        .bind(&new.workflow.namespace)
        .bind(&new.workflow.name)
        .bind(&new.id)
        .bind(json!(new.starts).to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(false)
}

/// Gives `node` a node lease until `until` unless it has one: every owner has a node row, so
/// a claim finds the instances of expired nodes through their names. An existing lease is
/// the lease loop's to renew.
async fn add_node(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    node: &str,
    until: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nodes (name, lease_until) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
    )
    .bind(node)
    .bind(until)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
