//! Both migration sets have the same names and build the same tables and columns, and the
//! hand-written `schema.rs` agrees with them. SQLite's full-text search tables (virtual tables
//! and their shadow tables, e.g. `donors_name_fts`) are an index, as PostgreSQL's trigram
//! index is, so they are not compared.

use std::collections::BTreeMap;
use std::path::PathBuf;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};
use diesel::sqlite::Sqlite;
use diesel_migrations::MigrationHarness;
use hienmau_db::conn::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use hienmau_db::schema;
use hienmau_db::testing::TestDatabase;
use hienmau_db::DbConn;

/// table → column → NOT NULL.
type Columns = BTreeMap<String, BTreeMap<String, bool>>;

fn migration_names(backend: &str) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../migrations")
        .join(backend);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| {
            for f in ["up.sql", "down.sql"] {
                assert!(
                    e.path().join(f).is_file(),
                    "{} lacks {f}",
                    e.path().display()
                );
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn both_sets_have_the_same_migration_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Integer)]
    not_null: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
}

fn columns(conn: &mut DbConn) -> Columns {
    let mut out = Columns::new();
    let rows: Vec<(String, String, bool)> = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name, p.\"notnull\" AS not_null \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
               AND m.name <> '__diesel_schema_migrations' \
               AND NOT EXISTS (SELECT 1 FROM sqlite_master v \
                   WHERE v.type = 'table' AND v.sql LIKE 'CREATE VIRTUAL TABLE%' \
                     AND (m.name = v.name OR m.name LIKE v.name || '\\_%' ESCAPE '\\'))",
        )
        .load::<SqliteColumn>(c)
        .expect("sqlite columns")
        .into_iter()
        .map(|r| (r.table_name, r.column_name, r.not_null != 0))
        .collect(),
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                    (is_nullable = 'NO') AS not_null \
             FROM information_schema.columns \
             WHERE table_schema = current_schema() \
               AND table_name <> '__diesel_schema_migrations'",
        )
        .load::<PgColumn>(c)
        .expect("postgres columns")
        .into_iter()
        .map(|r| (r.table_name, r.column_name, r.not_null))
        .collect(),
    };
    for (t, c, nn) in rows {
        out.entry(t).or_default().insert(c, nn);
    }
    out
}

/// The column names of `SELECT all_columns` as diesel writes it for SQLite.
fn select_columns(sql: &str) -> Vec<String> {
    let list = sql
        .strip_prefix("SELECT ")
        .and_then(|s| s.split(" FROM ").next())
        .expect("a SELECT");
    list.split(", ")
        .map(|c| {
            c.rsplit('.')
                .next()
                .unwrap_or(c)
                .trim_matches('`')
                .to_owned()
        })
        .collect()
}

macro_rules! schema_rs_tables {
    ($($t:ident),* $(,)?) => {{
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        $(
            let sql = diesel::debug_query::<Sqlite, _>(
                &schema::$t::table.select(schema::$t::all_columns),
            )
            .to_string();
            m.insert(stringify!($t).to_owned(), select_columns(&sql));
        )*
        m
    }};
}

#[test]
fn migrations_build_the_same_schema_on_both_backends() {
    let sqlite_db = TestDatabase::sqlite();
    let sqlite_pool = sqlite_db.pool();
    let sqlite = columns(&mut sqlite_pool.get().expect("sqlite conn"));
    assert!(sqlite.contains_key("donations"), "the SQLite set applies");

    // schema.rs, written by hand, names exactly the migrated tables and columns.
    let schema_rs = schema_rs_tables!(
        chapters,
        hospitals,
        users,
        api_keys,
        donors,
        drives,
        events,
        emergency_requests,
        donations,
        donor_responses,
        awards,
        idempotency_keys,
        audit_log,
        rules_fingerprints,
        emergency_disclosures,
        registry_reads,
    );
    let migrated: BTreeMap<String, Vec<String>> = sqlite
        .iter()
        .map(|(t, cols)| (t.clone(), cols.keys().cloned().collect()))
        .collect();
    let schema_rs_sorted: BTreeMap<String, Vec<String>> = schema_rs
        .into_iter()
        .map(|(t, mut cols)| {
            cols.sort();
            (t, cols)
        })
        .collect();
    assert_eq!(
        schema_rs_sorted, migrated,
        "schema.rs against the SQLite migrations"
    );

    if let Some(pg_db) = TestDatabase::postgres() {
        let pg_pool = pg_db.pool();
        let pg = columns(&mut pg_pool.get().expect("postgres conn"));
        assert_eq!(
            sqlite.keys().collect::<Vec<_>>(),
            pg.keys().collect::<Vec<_>>(),
            "same tables"
        );
        for (table, cols) in &sqlite {
            assert_eq!(
                cols.keys().collect::<Vec<_>>(),
                pg[table].keys().collect::<Vec<_>>(),
                "same columns in {table}"
            );
            assert_eq!(cols, &pg[table], "same NOT NULL columns in {table}");
        }
    }
}

#[test]
fn down_migrations_remove_every_table() {
    for db in TestDatabase::all() {
        let pool = db.pool();
        let mut conn = pool.get().expect("conn");
        match &mut *conn {
            DbConn::Sqlite(c) => {
                c.revert_all_migrations(SQLITE_MIGRATIONS)
                    .expect("revert sqlite");
            }
            DbConn::Pg(c) => {
                c.revert_all_migrations(POSTGRES_MIGRATIONS)
                    .expect("revert postgres");
            }
        }
        assert_eq!(columns(&mut conn), Columns::new(), "{:?}", db.backend);
    }
}
