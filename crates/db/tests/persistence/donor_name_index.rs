//! The migration that indexes donor names for search (000014) takes the donors already
//! registered: on SQLite it fills the FTS5 table from them, on PostgreSQL it builds the trigram
//! index over them; the search finds them afterwards, and so does FTS5's own integrity check.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use hienmau_db::repo::donors::{self, DonorFilter};
use hienmau_db::testing::TestDatabase;
use hienmau_db::DbConn;

use crate::common;

const INDEXING: &str = "donor_name_index";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut DbConn, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .load::<Count>(conn)
        .expect("count")
        .first()
        .map_or(0, |c| c.n)
}

fn found(conn: &mut DbConn, q: &str) -> Vec<String> {
    let filter = DonorFilter {
        words: q.split(' ').map(str::to_owned).collect(),
        ..DonorFilter::default()
    };
    let page = donors::search(conn, &filter, None, 50).expect("search");
    page.items.into_iter().map(|d| d.id).collect()
}

#[test]
fn existing_donors_are_indexed_by_the_migration() {
    for db in TestDatabase::all() {
        let pool = db.pool();
        let mut conn = pool.get().expect("conn");
        common::migrate_just_before(&mut conn, INDEXING);
        for (id, name) in [
            ("d1", "nguyen van hung"),
            ("d2", "tran thi nguyet"),
            ("d3", "le nguyen van"),
        ] {
            conn.batch_execute(&format!(
                "INSERT INTO donors (id, full_name, name_folded, date_of_birth, sex, created_at, \
                 updated_at) VALUES ('{id}', '{name}', '{name}', '1990-01-01', 'male', \
                 '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ))
            .expect("insert donor");
        }
        common::migrate_rest(&mut conn).expect("migrate the rest");
        match &mut *conn {
            DbConn::Sqlite(_) => {
                assert_eq!(
                    count(
                        &mut conn,
                        "SELECT COUNT(*) AS n FROM donors_name_fts \
                         WHERE donors_name_fts MATCH '\"nguyen\"'"
                    ),
                    2
                );
                conn.batch_execute(
                    "INSERT INTO donors_name_fts (donors_name_fts, rank) \
                     VALUES ('integrity-check', 1)",
                )
                .expect("the FTS index agrees with donors");
            }
            DbConn::Pg(_) => {
                assert_eq!(
                    count(
                        &mut conn,
                        "SELECT COUNT(*) AS n FROM pg_indexes \
                         WHERE indexname = 'donors_name_trgm_idx'"
                    ),
                    1
                );
            }
        }
        assert_eq!(
            found(&mut conn, "nguyen van"),
            ["d3", "d1"],
            "{:?}",
            db.backend
        );
        assert_eq!(
            found(&mut conn, "nguy"),
            ["d3", "d1", "d2"],
            "{:?}",
            db.backend
        );
    }
}
