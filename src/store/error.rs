//! What went wrong in the store, by kind. The kind is decided from the database's typed
//! error — sqlx's variant, PostgreSQL's SQLSTATE, SQLite's result code — never from a
//! message's text, so callers can act on it: the API answers 503 with `Retry-After` for
//! [`Error::Unavailable`] and [`Error::Busy`] and 500 for [`Error::Corrupt`] and
//! [`Error::Bug`]; opening a SQLite store tries again while it is [`Error::Busy`].

use std::fmt;
use std::sync::Arc;

/// The error a failure came from (shared: one failed group commit answers many callers).
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

#[derive(Debug, Clone)]
pub enum Error {
    /// The database cannot be reached: connection refused or lost, the server shutting down
    /// or refusing connections, the pool timed out, I/O. Trying later may succeed.
    Unavailable(Failure),
    /// The database is busy: SQLite's busy or locked, PostgreSQL's serialization failure or
    /// deadlock. Trying again may succeed.
    Busy(Failure),
    /// A unique key refused the write: what it names exists already.
    Conflict(Failure),
    /// Stored data that does not decode (not JSON, an unknown stream or control, a column
    /// of the wrong type).
    Corrupt(Failure),
    /// The caller handed the store what it does not take (a mark other than failed or
    /// succeeded, an event without `id`, a check or foreign key the row breaks): a bug of
    /// the caller, which should have checked.
    Invalid(Failure),
    /// Anything else: a bug (a query that does not fit the schema, a closed pool, a stopped
    /// writer, an unsupported `--database`).
    Bug(Failure),
}

/// What was being done, and the error underneath.
#[derive(Debug, Clone)]
pub struct Failure {
    /// What was being done ("queueing runs"); may be empty.
    pub what: String,
    pub source: Option<Source>,
}

impl Failure {
    fn new(what: impl Into<String>, source: Option<Source>) -> Failure {
        Failure {
            what: what.into(),
            source,
        }
    }
}

impl Error {
    pub fn unavailable(what: impl Into<String>) -> Error {
        Error::Unavailable(Failure::new(what, None))
    }

    pub fn corrupt(what: impl Into<String>) -> Error {
        Error::Corrupt(Failure::new(what, None))
    }

    pub fn conflict(what: impl Into<String>) -> Error {
        Error::Conflict(Failure::new(what, None))
    }

    pub fn invalid(what: impl Into<String>) -> Error {
        Error::Invalid(Failure::new(what, None))
    }

    pub fn bug(what: impl Into<String>) -> Error {
        Error::Bug(Failure::new(what, None))
    }

    /// The same kind, with what was being done in front (`doing: what`).
    pub fn context(mut self, doing: impl fmt::Display) -> Error {
        let failure = self.failure_mut();
        failure.what = if failure.what.is_empty() {
            doing.to_string()
        } else {
            format!("{doing}: {}", failure.what)
        };
        self
    }

    /// Whether trying again later may succeed (the database was unreachable or busy).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Unavailable(_) | Error::Busy(_))
    }

    pub fn failure(&self) -> &Failure {
        match self {
            Error::Unavailable(f)
            | Error::Busy(f)
            | Error::Conflict(f)
            | Error::Corrupt(f)
            | Error::Invalid(f)
            | Error::Bug(f) => f,
        }
    }

    fn failure_mut(&mut self) -> &mut Failure {
        match self {
            Error::Unavailable(f)
            | Error::Busy(f)
            | Error::Conflict(f)
            | Error::Corrupt(f)
            | Error::Invalid(f)
            | Error::Bug(f) => f,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failure = self.failure();
        match (&failure.what, &failure.source) {
            (what, None) => f.write_str(what),
            (what, Some(source)) if what.is_empty() => write!(f, "{source}"),
            (what, Some(source)) => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failure()
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<sqlx::Error> for Error {
    /// By sqlx's variant, and for database errors by SQLSTATE or SQLite result code.
    fn from(e: sqlx::Error) -> Error {
        let kind: fn(Failure) -> Error = match &e {
            sqlx::Error::Database(db) => database_kind(db.as_ref()),
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::WorkerCrashed
            // The conversation with the server broke off mid-message.
            | sqlx::Error::Protocol(_) => Error::Unavailable,
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Error::Corrupt,
            _ => Error::Bug,
        };
        kind(Failure::new("", Some(Arc::new(e))))
    }
}

/// The kind of an error the database itself returned.
fn database_kind(db: &dyn sqlx::error::DatabaseError) -> fn(Failure) -> Error {
    use sqlx::error::ErrorKind;
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        return postgres_kind(pg.code());
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // `code()` is SQLite's extended result code (a number); its low byte is the primary.
        let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(1);
        if let Some(kind) = sqlite_kind(code & 0xff) {
            return kind;
        }
    }
    match db.kind() {
        ErrorKind::UniqueViolation => Error::Conflict,
        ErrorKind::ForeignKeyViolation
        | ErrorKind::NotNullViolation
        | ErrorKind::CheckViolation
        | ErrorKind::ExclusionViolation => Error::Invalid,
        _ => Error::Bug,
    }
}

/// PostgreSQL's SQLSTATE (appendix A of its manual) by class, then code.
fn postgres_kind(sqlstate: &str) -> fn(Failure) -> Error {
    match sqlstate {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => Error::Busy,
        // lock_not_available (NOWAIT), query_canceled (statement timeout)
        "55P03" | "57014" => Error::Busy,
        "23505" => Error::Conflict,
        // admin_shutdown, crash_shutdown, cannot_connect_now, database_dropped
        "57P01" | "57P02" | "57P03" | "57P04" => Error::Unavailable,
        s if s.starts_with("08") => Error::Unavailable, // connection exception
        s if s.starts_with("53") => Error::Unavailable, // insufficient resources (disk, connections)
        s if s.starts_with("58") => Error::Unavailable, // system error (I/O)
        s if s.starts_with("23") => Error::Invalid,     // other integrity constraints
        s if s.starts_with("22") => Error::Invalid,     // data exception
        s if s.starts_with("XX") => Error::Corrupt, // internal error: data_corrupted, index_corrupted
        _ => Error::Bug,
    }
}

/// SQLite's primary result codes (sqlite.org/rescode.html) that name a kind of their own;
/// `None` for the constraint family and the rest, which sqlx's `kind()` sorts.
fn sqlite_kind(primary: i32) -> Option<fn(Failure) -> Error> {
    Some(match primary {
        5 /* SQLITE_BUSY */ | 6 /* SQLITE_LOCKED */ => Error::Busy,
        10 /* SQLITE_IOERR */ | 13 /* SQLITE_FULL */ | 14 /* SQLITE_CANTOPEN */
        | 15 /* SQLITE_PROTOCOL */ | 8 /* SQLITE_READONLY */ => Error::Unavailable,
        11 /* SQLITE_CORRUPT */ | 26 /* SQLITE_NOTADB */ => Error::Corrupt,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            Error::from(sqlx::Error::Io(refused)),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            Error::from(sqlx::Error::PoolTimedOut),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            Error::from(sqlx::Error::RowNotFound),
            Error::Bug(_)
        ));
    }

    #[test]
    fn sqlstates_by_kind() {
        let kind = |s: &str| postgres_kind(s)(Failure::new("", None));
        assert!(matches!(kind("40001"), Error::Busy(_)));
        assert!(matches!(kind("40P01"), Error::Busy(_)));
        assert!(matches!(kind("23505"), Error::Conflict(_)));
        assert!(matches!(kind("23514"), Error::Invalid(_)));
        assert!(matches!(kind("57P01"), Error::Unavailable(_)));
        assert!(matches!(kind("08006"), Error::Unavailable(_)));
        assert!(matches!(kind("53300"), Error::Unavailable(_)));
        assert!(matches!(kind("XX001"), Error::Corrupt(_)));
        assert!(matches!(kind("42P01"), Error::Bug(_)));
    }

    #[test]
    fn sqlite_codes_by_kind() {
        let kind = |c: i32| sqlite_kind(c & 0xff).map(|k| k(Failure::new("", None)));
        // SQLITE_BUSY_SNAPSHOT (517) is a busy; SQLITE_LOCKED_SHAREDCACHE (262) a locked.
        assert!(matches!(kind(517), Some(Error::Busy(_))));
        assert!(matches!(kind(262), Some(Error::Busy(_))));
        assert!(matches!(kind(10), Some(Error::Unavailable(_))));
        assert!(matches!(kind(11), Some(Error::Corrupt(_))));
        // SQLITE_CONSTRAINT_UNIQUE (2067) is left to sqlx's kind().
        assert!(kind(2067).is_none());
    }

    #[test]
    fn context_keeps_the_kind_and_reads_well() {
        let e = Error::from(sqlx::Error::PoolTimedOut).context("queueing runs");
        assert!(matches!(e, Error::Unavailable(_)));
        assert_eq!(
            e.to_string(),
            "queueing runs: pool timed out while waiting for an open connection"
        );
        let e = Error::corrupt("stored input of instance x is not JSON").context("listing");
        assert_eq!(
            e.to_string(),
            "listing: stored input of instance x is not JSON"
        );
    }
}
