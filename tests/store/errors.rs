//! Store errors by kind, provoked for real: the kind comes from the database's typed error
//! (SQLSTATE, SQLite result code, sqlx's variant), so callers can act on it.

use super::{LONG, TempDir, create, id, postgres};
use nagare::store::{self, Error, Store};
use sqlx::Connection;

/// What the store makes of an error PostgreSQL raises with `sqlstate`.
async fn raised(conn: &mut sqlx::PgConnection, sqlstate: &str) -> Error {
    let sql = format!(
        "DO $$ BEGIN RAISE EXCEPTION 'provoked {sqlstate}' USING ERRCODE = '{sqlstate}'; END $$"
    );
    // Safe: `sqlstate` is one of the literals of the tests below.
    let e = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .expect_err("RAISE fails");
    Error::from(e)
}

#[tokio::test]
async fn postgres_errors_are_sorted_by_sqlstate() {
    let db = postgres::database();
    let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
    for code in ["40001", "40P01"] {
        let e = raised(&mut conn, code).await;
        assert!(matches!(e, Error::Busy(_)), "{code}: {e:?}");
        assert!(e.is_transient());
    }
    for code in ["57P01", "57P03", "08006", "53300"] {
        let e = raised(&mut conn, code).await;
        assert!(matches!(e, Error::Unavailable(_)), "{code}: {e:?}");
    }
    assert!(matches!(
        raised(&mut conn, "23505").await,
        Error::Conflict(_)
    ));
    assert!(matches!(
        raised(&mut conn, "23514").await,
        Error::Invalid(_)
    ));
    assert!(matches!(
        raised(&mut conn, "XX001").await,
        Error::Corrupt(_)
    ));
    let other = raised(&mut conn, "42P01").await;
    assert!(matches!(other, Error::Bug(_)), "{other:?}");
    assert!(!other.is_transient());
    // The message stays the database's, readable.
    assert!(other.to_string().contains("provoked 42P01"), "{other}");
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let refused = store::postgres::Postgres::connect("postgres://nagare:secret@127.0.0.1:1/db")
        .await
        .err()
        .expect("nothing listens on port 1");
    assert!(matches!(refused, Error::Unavailable(_)), "{refused:?}");
}

#[tokio::test]
async fn sqlite_busy_is_busy() {
    use sqlx::sqlite::SqliteConnectOptions;
    let dir = TempDir::new("store-busy");
    std::fs::create_dir_all(dir.path()).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("busy.db"))
        .create_if_missing(true)
        // Fail at once instead of waiting for the lock.
        .busy_timeout(std::time::Duration::ZERO);
    let mut holder = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mut other = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let e = sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .expect_err("the write lock is held");
    let e = Error::from(e);
    assert!(matches!(e, Error::Busy(_)), "{e:?}");
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
}

#[tokio::test]
async fn stored_data_that_does_not_decode_is_corrupt() {
    let dir = TempDir::new("store-corrupt");
    let store = store::sqlite::Sqlite::open(dir.path()).await.unwrap();
    create(&store, 1, "a", LONG).await;
    let file = dir.path().join("nagare.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE instances SET input = '{not json' WHERE id = ?1")
        .bind(id(1))
        .execute(&mut conn)
        .await
        .unwrap();
    let e = store
        .instance(&id(1))
        .await
        .expect_err("the input is not JSON");
    assert!(matches!(e, Error::Corrupt(_)), "{e:?}");
    assert!(e.to_string().contains("input of instance"), "{e}");
}
