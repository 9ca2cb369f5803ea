//! The migration that lowers usernames stops on two names that differ only in case, on both
//! backends, and changes nothing then; without a collision it lowers every name.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hienmau_db::schema::users;
use hienmau_db::testing::TestDatabase;
use hienmau_db::DbConn;

use crate::common;

const LOWERING: &str = "users_token_version";

fn add_user(conn: &mut DbConn, id: &str, username: &str) {
    conn.batch_execute(&format!(
        "INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) \
         VALUES ('{id}', '{username}', 'x', 'honors', FALSE, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
    ))
    .expect("insert user");
}

fn names(conn: &mut DbConn) -> Vec<String> {
    users::table
        .select(users::username)
        .order(users::id.asc())
        .load(conn)
        .expect("names")
}

#[test]
fn a_case_collision_stops_the_lowering_migration() {
    for db in TestDatabase::all() {
        let pool = db.pool();
        let mut conn = pool.get().expect("conn");
        common::migrate_just_before(&mut conn, LOWERING);
        add_user(&mut conn, "u1", "Admin");
        add_user(&mut conn, "u2", "admin");
        add_user(&mut conn, "u3", "Coord.One");
        let err = common::migrate_rest(&mut conn).expect_err("a collision must stop the migration");
        assert!(
            err.to_lowercase().contains("unique") || err.contains("duplicate"),
            "{err}"
        );
        // Nothing was changed: the operator renames one account and starts again.
        assert_eq!(
            names(&mut conn),
            ["Admin", "admin", "Coord.One"],
            "{:?}",
            db.backend
        );
        conn.batch_execute("UPDATE users SET username = 'admin.old' WHERE id = 'u1'")
            .expect("rename");
        common::migrate_rest(&mut conn).expect("migrates after the rename");
        assert_eq!(
            names(&mut conn),
            ["admin.old", "admin", "coord.one"],
            "{:?}",
            db.backend
        );
        // The index stays: no two names that differ only in case, whatever writes the table.
        let again = conn.batch_execute(
            "INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) \
             VALUES ('u4', 'ADMIN', 'x', 'honors', FALSE, '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
        );
        assert!(again.is_err(), "{:?}", db.backend);
    }
}
