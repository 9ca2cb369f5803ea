//! `hienmau demo`: loads once, prints working accounts, and a newcomer can read a drive's tally
//! with the printed coordinator's password — on the real binary.

use std::process::Command;

use hienmau_tests::{backend_tests, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

fn demo(app: &TestApp) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("demo")
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env(
            "HIENMAU_JWT_SECRET",
            "demo-test-secret-0123456789abcdefghij",
        )
        .env("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn field(line: &str, n: usize) -> &str {
    line.split_whitespace().nth(n).unwrap()
}

backend_tests! {
    fn demo_loads_once_and_its_coordinator_reads_a_tally(app) {
        let printed = demo(app);
        let coordinator = printed
            .lines()
            .find(|l| l.trim_start().starts_with("demo.coordinator "))
            .expect("the coordinator's account is printed");
        let password = field(coordinator, 1);
        let token = app.login("demo.coordinator", password);

        let drive_id = printed
            .split("/api/v1/drives/")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .expect("a drive id in the printed commands");
        let tally = app.get(&format!("/api/v1/drives/{drive_id}/tally"), &token).expect(200);
        assert!(tally["units"].as_i64().unwrap() > 100, "tally: {tally}");

        // The year's drives carry the report's 6,544 units at events.
        let drives = app.get("/api/v1/drives?year=2023&limit=100", &token).expect(200);
        let items = drives["items"].as_array().unwrap();
        assert_eq!(items.len(), 16);
        let units: i64 = items.iter().map(|d| d["units"].as_i64().unwrap()).sum();
        assert_eq!(units, 6_544);

        // Its deferrals use codes of the deferral-reason catalogue.
        let codes: Vec<String> = app.get("/api/v1/deferral-reasons", &token).expect(200)
            .as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect();
        let reasons: Vec<Option<String>> = {
            use diesel::prelude::*;
            use hienmau_db::schema::donations;
            let mut conn = app.state.pool.get().unwrap();
            donations::table
                .filter(donations::outcome.eq("deferred"))
                .select(donations::deferral_reason)
                .distinct()
                .load(&mut conn)
                .unwrap()
        };
        assert!(!reasons.is_empty());
        for r in &reasons {
            assert!(r.as_ref().is_some_and(|r| codes.contains(r)), "{r:?} is not a catalogue code");
        }

        // Every printed account signs in.
        for role in ["demo.admin", "demo.coordinator.laocai", "demo.hospital", "demo.honors"] {
            let line = printed.lines().find(|l| l.trim_start().starts_with(&format!("{role} "))).unwrap();
            app.login(role, field(line, 1));
        }

        // A second run writes nothing.
        let again = demo(app);
        assert!(again.contains("already loaded"), "{again}");
        let drives = app.get("/api/v1/drives?year=2023&limit=100", &token).expect(200);
        assert_eq!(drives["items"].as_array().unwrap().len(), 16);
    }
}
