//! Racing retries of one idempotency key: exactly one row wins, every racer sees it, nobody
//! errors (SQLite writers queue on the busy timeout thanks to `BEGIN IMMEDIATE`; PostgreSQL's
//! losers catch the unique violation in a savepoint).

use std::sync::{Arc, Barrier};

use diesel::dsl::count_star;
use diesel::prelude::*;
use hienmau_db::models::IdempotencyRecord;
use hienmau_db::repo::idempotency;
use hienmau_db::schema::idempotency_keys;
use hienmau_db::{new_id, now, write_tx, DbError};

use crate::common::*;

const THREADS: usize = 16;

#[test]
fn racing_idempotency_keys_store_exactly_one_row() {
    for (db, pool) in databases() {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let pool = pool.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut conn = pool.get().expect("pooled connection");
                    let mine = IdempotencyRecord {
                        id: new_id(),
                        principal: "user-1".to_owned(),
                        idem_key: "retry-me".to_owned(),
                        request_hash: format!("hash-{i}"),
                        response_status: 0,
                        response_body: String::new(),
                        created_at: now(),
                    };
                    barrier.wait();
                    let got = write_tx(&mut conn, |c| {
                        // Read-then-write inside one transaction, as the API does.
                        let _ = idempotency::find(c, &mine.principal, &mine.idem_key)?;
                        idempotency::insert_or_get(c, &mine)
                    });
                    (mine, got)
                })
            })
            .collect();
        let results: Vec<(
            IdempotencyRecord,
            Result<Option<IdempotencyRecord>, DbError>,
        )> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();

        let conn = &mut *pool.get().expect("conn");
        let n: i64 = idempotency_keys::table
            .select(count_star())
            .first(conn)
            .expect("count");
        assert_eq!(n, 1, "{:?}", db.backend);
        let stored = idempotency::find(conn, "user-1", "retry-me")
            .expect("find")
            .expect("the winner");

        let mut own_inserts = 0;
        for (mine, got) in results {
            match got {
                Ok(None) => {
                    own_inserts += 1;
                    assert_eq!(mine, stored, "the inserter's row is the stored row");
                }
                Ok(Some(winner)) => assert_eq!(winner, stored, "a loser sees the winner"),
                Err(e) => panic!("{:?}: a racer failed: {e:?}", db.backend),
            }
        }
        assert_eq!(own_inserts, 1, "{:?}", db.backend);
    }
}
