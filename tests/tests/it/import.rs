//! `hienmau import donors FILE.csv`, run as the real binary against the test application's
//! database: Vietnamese and English headers, bad rows reported with their lines, all or
//! nothing by default, `--skip-invalid`, an idempotent re-run, and an imported last-donation
//! date blocking a donation inside the interval.

use std::path::Path;
use std::process::{Command, Output};

use crate::drive_support::*;
use crate::honors_support::audit_actions;
use hienmau_tests::{backend_tests, TestApp};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

/// Runs `hienmau import donors FILE args…` on the application's database.
fn import(app: &TestApp, dir: &Path, csv: &str, args: &[&str]) -> (bool, String, String) {
    let file = dir.join("register.csv");
    std::fs::write(&file, csv).unwrap();
    let out: Output = Command::new(BIN)
        .args(["import", "donors"])
        .arg(&file)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATABASE_URL", &app.db.url)
        .env(
            "HIENMAU_JWT_SECRET",
            "import-test-secret-0123456789abcdef0123",
        )
        .env("HIENMAU_AUDIT_KEY", hienmau_tests::AUDIT_KEY)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run hienmau");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn search(app: &TestApp, q: &str) -> Vec<Value> {
    app.get(
        &format!("/api/v1/donors?q={}", q.replace(' ', "%20")),
        app.admin(),
    )
    .expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn donor_total(app: &TestApp) -> usize {
    app.get("/api/v1/donors?limit=500", app.admin()).expect(200)["items"]
        .as_array()
        .unwrap()
        .len()
}

const VIETNAMESE: &str = "\u{feff}STT;Họ và tên;Ngày sinh;Giới tính;CCCD;Số điện thoại;Nhóm máu;Xã/Phường;Tỉnh;Số lần hiến trước;Lần hiến gần nhất;Dự bị\n\
1;Giàng Thị Dung;17/05/1990;Nữ;010190123456;0912 345 678;O+;Phường Cốc Lếu;Lào Cai;7;01/03/2024;Có\n\
2;Lò Văn Minh;1985-03-02;Nam;;+84 987 654 321;B+;Xã Bát Xát;Lào Cai;2;;Không\n\
3;Vàng A Sáng;02/09/1999;nam;;;;;;0;;\n";

backend_tests! {
    fn control_characters_from_the_file_are_escaped_on_the_terminal(app) {
        let dir = tempfile::tempdir().unwrap();
        // An unknown column whose name would retitle the terminal and reverse the text after it.
        let csv = "Họ và tên;Ngày sinh;Giới tính;X\u{1b}]0;pwned\u{7}\u{202e}cod\nGiàng Thị Dung;17/05/1990;Nữ;1\n";
        let (ok, out, err) = import(app, dir.path(), csv, &[]);
        assert!(ok, "stdout: {out}\nstderr: {err}");
        for raw in ['\u{1b}', '\u{7}', '\u{202e}'] {
            assert!(!err.contains(raw) && !out.contains(raw), "{raw:?} printed raw: {err:?}");
        }
        assert!(err.contains("\\u{001b}") && err.contains("\\u{202e}"), "{err}");
    }

    fn vietnamese_headers_and_an_idempotent_re_run(app) {
        let dir = tempfile::tempdir().unwrap();
        let (ok, out, err) = import(app, dir.path(), VIETNAMESE, &[]);
        assert!(ok, "stdout: {out}\nstderr: {err}");
        assert!(out.contains("created 3, updated 0, skipped 0 (0 unchanged, 0 invalid)"), "{out}");
        assert!(err.contains("\"STT\""), "the unknown column is named: {err}");
        let dung = &search(app, "giang thi dung")[0];
        assert_eq!(dung["full_name"], "Giàng Thị Dung");
        assert_eq!(dung["date_of_birth"], "1990-05-17");
        assert_eq!(dung["sex"], "female");
        assert_eq!(dung["national_id"], "010190123456");
        assert_eq!(dung["phone"], "0912345678");
        assert_eq!(dung["blood_group"], "O+");
        assert_eq!(dung["commune"], "Phường Cốc Lếu");
        assert_eq!(dung["prior_donations"], 7);
        assert_eq!(dung["prior_last_donation_on"], "2024-03-01");
        assert_eq!(dung["donation_count"], 7);
        assert_eq!(dung["honor_due_tier"], 5);
        assert_eq!(dung["reserve"], true);
        assert!(dung["reserve_since"].is_string());
        let minh = &search(app, "lo van minh")[0];
        assert_eq!(minh["phone"], "0987654321");
        assert_eq!(minh["reserve"], false);
        assert_eq!(search(app, "vang a sang")[0]["prior_donations"], 0);

        // The same file again: nobody new.
        let (ok, out, err) = import(app, dir.path(), VIETNAMESE, &[]);
        assert!(ok, "{err}");
        assert!(out.contains("created 0, updated 0, skipped 3 (3 unchanged, 0 invalid)"), "{out}");
        assert_eq!(donor_total(app), 3);
        // A changed paper history updates the matched donor (by national id; by name, birth
        // date and phone without one).
        let changed = VIETNAMESE.replace(";7;01/03/2024;", ";8;01/03/2024;").replace(";2;;Không", ";3;;Không");
        let (ok, out, err) = import(app, dir.path(), &changed, &[]);
        assert!(ok, "{err}");
        assert!(out.contains("created 0, updated 2, skipped 1 (1 unchanged, 0 invalid)"), "{out}");
        assert_eq!(donor_total(app), 3);
        assert_eq!(search(app, "giang thi dung")[0]["prior_donations"], 8);
        assert_eq!(search(app, "lo van minh")[0]["prior_donations"], 3);
        let imports = audit_actions(app).into_iter().filter(|(a, _)| a == "donors_imported").count();
        assert_eq!(imports, 3);
    }

    fn english_headers_dates_and_chapter(app) {
        let chapter = app.chapter("Hội Chữ thập đỏ phường Cốc Lếu", None);
        let dir = tempfile::tempdir().unwrap();
        let csv = "full_name,date_of_birth,sex,national_id,phone,blood_group,commune,province,prior_donations,prior_last_donation_on,reserve\n\
\"Nguyễn Văn An, Jr\",02/03/1985,male,010085654321,0987654321,A-,Cốc Lếu,Lào Cai,12,2023-11-20,yes\n\
Trần Thị Bình,1992-12-31,female,,,,,,,,no\n";
        let (ok, out, err) = import(app, dir.path(), csv, &["--chapter", &chapter]);
        assert!(ok, "stdout: {out}\nstderr: {err}");
        assert!(out.contains("created 2,"), "{out}");
        let an = &search(app, "nguyen van an")[0];
        assert_eq!(an["full_name"], "Nguyễn Văn An, Jr");
        assert_eq!(an["date_of_birth"], "1985-03-02");
        assert_eq!(an["blood_group"], "A-");
        assert_eq!(an["honor_due_tier"], 10);
        assert_eq!(an["reserve"], true);
        let mut conn = app.state.pool.get().unwrap();
        let row = hienmau_db::repo::donors::find(&mut conn, an["id"].as_str().unwrap()).unwrap().unwrap();
        assert_eq!(row.chapter_id.as_deref(), Some(chapter.as_str()));
        // An unknown chapter writes nothing.
        let (ok, _, err) = import(app, dir.path(), csv, &["--chapter", &uuid::Uuid::new_v4().to_string()]);
        assert!(!ok);
        assert!(err.contains("no chapter"), "{err}");
        // A file without a required column is refused before anything.
        let (ok, _, err) = import(app, dir.path(), "full_name,phone\nA,0912345678\n", &[]);
        assert!(!ok);
        assert!(err.contains("date_of_birth") && err.contains("sex"), "{err}");
        assert_eq!(donor_total(app), 2);
    }

    fn bad_rows_are_reported_with_their_lines_all_or_nothing(app) {
        let dir = tempfile::tempdir().unwrap();
        let csv = "Họ và tên,Ngày sinh,Giới tính,CCCD,Số điện thoại,Số lần hiến trước,Lần hiến gần nhất,Dự bị\n\
Giàng Thị Dung,17/05/1990,Nữ,010190123456,0912345678,3,,Có\n\
Lò Văn Minh,31/02/1985,Nam,,,0,,\n\
Vàng A Sáng,1999-09-02,Nam,,012345,0,,\n\
,1999-09-02,Nam,,,0,,\n\
Hoàng Thị Hoa,1990-01-01,Nữ,010090123456,,abc,,có lẽ\n\
Đặng Văn Đức,1980-01-01,Nam,,,2,2030-01-01,\n\
Sùng Thị Mai,1995-07-07,Nữ,,0977000111,1,,Không\n";
        let (ok, out, err) = import(app, dir.path(), csv, &[]);
        assert!(!ok, "{out}");
        assert!(err.contains("line 3: date_of_birth"), "{err}");
        assert!(err.contains("line 4: phone"), "{err}");
        assert!(err.contains("line 5: full_name"), "{err}");
        assert!(err.contains("line 6:") && err.contains("national_id") && err.contains("prior_donations") && err.contains("reserve"), "{err}");
        assert!(err.contains("line 7: prior_last_donation_on"), "{err}");
        assert!(!err.contains("line 2:") && !err.contains("line 8:"), "{err}");
        assert!(err.contains("5 invalid row(s); nothing was written"), "{err}");
        assert_eq!(donor_total(app), 0);

        let (ok, out, err) = import(app, dir.path(), csv, &["--skip-invalid"]);
        assert!(ok, "{err}");
        assert!(out.contains("created 2, updated 0, skipped 5 (0 unchanged, 5 invalid)"), "{out}");
        assert!(err.contains("line 3: date_of_birth"), "{err}");
        assert_eq!(donor_total(app), 2);
        let (ok, out, _) = import(app, dir.path(), csv, &["--skip-invalid"]);
        assert!(ok);
        assert!(out.contains("created 0, updated 0, skipped 7 (2 unchanged, 5 invalid)"), "{out}");
    }

    fn an_imported_last_donation_blocks_a_donation_inside_the_interval(app) {
        let chapter = app.chapter("Lào Cai", None);
        let d = drive(app, app.admin(), &chapter, "2024-01-01", "2024-12-31");
        let ev = event(app, app.admin(), &d, "2024-04-01");
        let dir = tempfile::tempdir().unwrap();
        let csv = "full_name,date_of_birth,sex,weight_kg,prior_donations,prior_last_donation_on\n\
Giàng Thị Dung,1990-05-17,female,55,3,2024-03-01\n";
        let (ok, out, err) = import(app, dir.path(), csv, &[]);
        assert!(ok, "stdout: {out}\nstderr: {err}");
        let id = search(app, "giang thi dung")[0]["id"].as_str().unwrap().to_owned();
        let mut conn = app.state.pool.get().unwrap();
        let row = hienmau_db::repo::donors::find(&mut conn, &id).unwrap().unwrap();
        assert_eq!(row.next_eligible_on.map(|d| d.to_string()).as_deref(), Some("2024-05-24"));
        drop(conn);
        refused(&donate(app, app.admin(), &ev, collected(&id, "whole_blood", 350, "2024-04-01")), "interval", Some("2024-05-24"));
        donate_ok(app, app.admin(), &ev, collected(&id, "whole_blood", 350, "2024-05-24"));
        let view = app.get(&format!("/api/v1/donors/{id}"), app.admin()).expect(200);
        assert_eq!(view["donation_count"], 4);
    }

    fn a_last_paper_donation_without_paper_donations_is_refused(app) {
        let chapter = app.chapter("Lào Cai", None);
        let dir = tempfile::tempdir().unwrap();
        let csv = "full_name,date_of_birth,sex,prior_donations,prior_last_donation_on\n\
Giàng Thị Dung,1990-05-17,female,0,2024-03-01\n\
Lò Văn Minh,1985-03-02,male,,2024-03-01\n\
Vàng A Sáng,1999-09-02,male,2,2024-03-01\n";
        let (ok, out, err) = import(app, dir.path(), csv, &["--chapter", &chapter]);
        assert!(!ok, "{out}");
        assert!(err.contains("line 2: prior_last_donation_on"), "{err}");
        assert!(err.contains("line 3: prior_last_donation_on"), "{err}");
        assert!(!err.contains("line 4:"), "{err}");
        assert_eq!(donor_total(app), 0);
    }
}
