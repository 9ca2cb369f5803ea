//! Hand-written SQL for the few reads the query builder cannot express through
//! `MultiConnection` (common table expressions, window functions, `INSERT … SELECT` into a
//! temporary table): the text is written once with portable SQL, and each parameter is
//! rendered as the backend's placeholder (`$n` on PostgreSQL, `?` on SQLite) and bound with
//! its SQL type. Every value coming from a caller is bound, never formatted into the text;
//! only numbers the application owns (tier thresholds) are written as literals.

use chrono::NaiveDate;
use diesel::pg::Pg;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sqlite::Sqlite;
use diesel::{QueryableByName, RunQueryDsl};

use crate::{DbConn, DbError};

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Text(String),
    Date(NaiveDate),
    BigInt(i64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Param(Param),
}

/// An SQL statement under construction.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sql {
    pieces: Vec<Piece>,
}

impl Sql {
    /// An empty statement.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Appends SQL text (never caller data).
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.pieces.push(Piece::Text(text.to_owned()));
        self
    }

    /// Appends a placeholder bound to `p`.
    pub(crate) fn bind(&mut self, p: Param) -> &mut Self {
        self.pieces.push(Piece::Param(p));
        self
    }

    /// Appends another statement's pieces (a fragment).
    pub(crate) fn append(&mut self, other: &Sql) -> &mut Self {
        self.pieces.extend(other.pieces.iter().cloned());
        self
    }

    fn render(&self, numbered: bool) -> (String, Vec<&Param>) {
        let mut text = String::new();
        let mut params = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => text.push_str(t),
                Piece::Param(p) => {
                    params.push(p);
                    if numbered {
                        text.push_str(&format!("${}", params.len()));
                    } else {
                        text.push('?');
                    }
                }
            }
        }
        (text, params)
    }
}

macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut q = $query;
        for p in $params {
            q = match p {
                Param::Text(s) => q.bind::<diesel::sql_types::Text, _>(s.clone()),
                Param::Date(d) => q.bind::<diesel::sql_types::Date, _>(*d),
                Param::BigInt(n) => q.bind::<diesel::sql_types::BigInt, _>(*n),
                Param::Bool(b) => q.bind::<diesel::sql_types::Bool, _>(*b),
            };
        }
        q
    }};
}

fn pg_query(sql: &Sql) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let (text, params) = sql.render(true);
    bind_all!(diesel::sql_query(text).into_boxed::<Pg>(), params)
}

fn sqlite_query(sql: &Sql) -> BoxedSqlQuery<'static, Sqlite, SqlQuery> {
    let (text, params) = sql.render(false);
    bind_all!(diesel::sql_query(text).into_boxed::<Sqlite>(), params)
}

/// Runs a query and loads its rows.
pub(crate) fn load<R>(conn: &mut DbConn, sql: &Sql) -> Result<Vec<R>, DbError>
where
    R: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    Ok(match conn {
        DbConn::Pg(c) => pg_query(sql).load::<R>(c)?,
        DbConn::Sqlite(c) => sqlite_query(sql).load::<R>(c)?,
    })
}

/// Runs a statement; returns the rows affected.
pub(crate) fn execute(conn: &mut DbConn, sql: &Sql) -> Result<usize, DbError> {
    Ok(match conn {
        DbConn::Pg(c) => pg_query(sql).execute(c)?,
        DbConn::Sqlite(c) => sqlite_query(sql).execute(c)?,
    })
}

/// One `COUNT`-like number.
#[derive(Debug, QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub(crate) n: i64,
}

/// Runs a query whose one row has one BIGINT column named `n`.
pub(crate) fn count(conn: &mut DbConn, sql: &Sql) -> Result<i64, DbError> {
    Ok(load::<Count>(conn, sql)?.first().map_or(0, |c| c.n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_backend() {
        let mut s = Sql::new();
        s.push("SELECT 1 WHERE a = ")
            .bind(Param::BigInt(1))
            .push(" AND b = ")
            .bind(Param::Text("x".into()));
        assert_eq!(s.render(true).0, "SELECT 1 WHERE a = $1 AND b = $2");
        assert_eq!(s.render(false).0, "SELECT 1 WHERE a = ? AND b = ?");
        assert_eq!(s.render(false).1.len(), 2);
    }
}
