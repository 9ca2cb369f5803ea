//! `write_tx` commits or rolls back as a whole; a failure inside `savepoint` leaves the outer
//! transaction usable (PostgreSQL would otherwise abort it).

use hienmau_db::conn::savepoint;
use hienmau_db::repo::{donors, hospitals};
use hienmau_db::{write_tx, DbError};

use crate::common::*;

#[test]
fn write_tx_rollback_leaves_nothing() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let mut kept = None;
        let r: Result<(), DbError> = write_tx(conn, |c| {
            kept = Some(hospital(c, "rolled back"));
            donors::insert_row(c, &donor_row("rolled back"))?;
            Err(DbError::NotFound)
        });
        assert!(matches!(r, Err(DbError::NotFound)));
        let h = kept.expect("ran");
        assert_eq!(
            hospitals::find(conn, &h.id).expect("find"),
            None,
            "{:?}",
            db.backend
        );
        assert!(hospitals::list(conn).expect("list").is_empty());

        // And a committed one stays; the connection is usable after the rollback.
        let h2 = write_tx(conn, |c| Ok::<_, DbError>(hospital(c, "kept"))).expect("commit");
        assert_eq!(hospitals::find(conn, &h2.id).expect("find"), Some(h2));
    }
}

#[test]
fn unique_violation_in_savepoint_keeps_outer_transaction() {
    for (db, pool) in databases() {
        let conn = &mut *pool.get().expect("conn");
        let mut first = donor_row("first");
        first.national_id = Some("001090000009".to_owned());
        let mut clash = donor_row("clash");
        clash.national_id = first.national_id.clone();
        let after = donor_row("after");

        write_tx(conn, |c| {
            donors::insert_row(c, &first)?;
            let r = savepoint(c, |s| donors::insert_row(s, &clash));
            assert!(
                matches!(&r, Err(e) if e.is_unique_on("national_id")),
                "{:?}: {r:?}",
                db.backend
            );
            // The outer transaction goes on: read and write.
            assert_eq!(donors::find(c, &first.id)?, Some(first.clone()));
            donors::insert_row(c, &after)?;
            Ok::<_, DbError>(())
        })
        .expect("outer transaction commits");

        assert_eq!(
            donors::find(conn, &first.id).expect("find"),
            Some(first.clone())
        );
        assert_eq!(
            donors::find(conn, &after.id).expect("find"),
            Some(after.clone())
        );
        assert_eq!(donors::find(conn, &clash.id).expect("find"), None);
    }
}
