//! A fresh PostgreSQL database per test: `database()`, dropped when the guard is.
//!
//! The server is the one `NAGARE_TEST_POSTGRES` names (an admin URL whose role may create
//! databases; `scripts/test` sets it), or else the local one `scripts/postgres start` brings
//! up. A test that cannot get a database fails; it never skips. Plain `psql` does the admin
//! work, so this works the same from sync and async tests.
#![allow(dead_code)]

use std::process::Command;
use std::sync::OnceLock;

/// A database of its own for one test; dropped (`WITH (FORCE)`) when this is.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// The URL to connect with (same role and server as the admin URL).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE: pools of the test may still hold connections.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(admin(), &sql) {
            eprintln!("warning: test database {} was not dropped: {e}", self.name);
        }
    }
}

/// Creates a fresh, empty database.
pub fn database() -> TestDatabase {
    let name = format!("nagare_test_{}", uuid::Uuid::new_v4().simple());
    let admin = admin();
    if let Err(e) = psql(admin, &format!("CREATE DATABASE {name}")) {
        panic!("cannot create a test database on PostgreSQL ({admin}): {e}");
    }
    let url = with_database(admin, &name);
    TestDatabase { name, url }
}

/// The admin URL: `NAGARE_TEST_POSTGRES`, or the local server started on demand.
pub fn admin() -> &'static str {
    static ADMIN: OnceLock<String> = OnceLock::new();
    ADMIN.get_or_init(|| {
        if let Ok(url) = std::env::var("NAGARE_TEST_POSTGRES")
            && !url.trim().is_empty()
        {
            return url.trim().to_string();
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres");
        if let Err(e) = run(Command::new(script).arg("start")) {
            panic!(
                "these tests need PostgreSQL: NAGARE_TEST_POSTGRES is not set and \
                 `scripts/postgres start` failed: {e}"
            );
        }
        match run(Command::new(script).arg("url")) {
            Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
            Ok(_) => panic!("`scripts/postgres url` printed nothing"),
            Err(e) => panic!("`scripts/postgres url` failed: {e}"),
        }
    })
}

/// `url` with its database (the path) replaced by `name`; the query string is kept.
fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let (base, query) = match url[authority..].find('?') {
        Some(q) => url.split_at(authority + q),
        None => (url, ""),
    };
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

fn psql(url: &str, sql: &str) -> Result<String, String> {
    run(Command::new("psql")
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            url,
            "-c",
            sql,
        ])
        .env("PGCONNECT_TIMEOUT", "10"))
}

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let out = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
