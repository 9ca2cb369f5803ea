//! Request ids and the server log: `X-Request-Id` on every answer (the server's, never the
//! client's), named by problem bodies and audit entries; and a log that holds neither query
//! strings nor the input an error echoes.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hienmau_tests::{backend_tests, PASSWORD};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

backend_tests! {
    fn every_answer_carries_the_servers_request_id(app) {
        let forged = [("X-Request-Id", "forged-by-the-client")];
        let ok = app.call_with("GET", "/api/v1/chapters", Some(app.admin()), None, &forged);
        ok.expect(200);
        let id = ok.header("x-request-id").expect("X-Request-Id on a 200");
        assert!(is_uuid(id), "{id}");
        // Refusals by the policy middleware, the framework's own errors and unknown routes too;
        // every problem names the same id as its `instance`.
        for (method, path, token) in [
            ("GET", "/api/v1/chapters", None),
            ("GET", "/api/v1/donors?limit=-1", Some(app.admin())),
            ("GET", "/api/v1/no-such-route", Some(app.admin())),
            ("DELETE", "/api/v1/chapters", Some(app.admin())),
        ] {
            let r = app.call_with(method, path, token, None, &forged);
            assert!(r.status >= 400, "{method} {path}: {}", r.status);
            let id = r.header("x-request-id").unwrap_or_else(|| panic!("{method} {path}: no id"));
            assert!(is_uuid(id), "{method} {path}: {id}");
            assert_eq!(r.json()["instance"], id, "{method} {path}: {}", r.text);
        }
        let a = app.get("/api/v1/health-of-nothing", app.admin());
        let b = app.get("/api/v1/health-of-nothing", app.admin());
        assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
    }

    fn html_answers_carry_the_browser_policies(app) {
        let page = app.call("GET", "/docs", None, None);
        assert_eq!(page.status, 200);
        let csp = page.header("content-security-policy").expect("CSP on /docs");
        for directive in ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{directive} missing from {csp}");
        }
        // No inline script, so the policy needs no 'unsafe-inline' for scripts.
        assert!(!page.text.contains("<script>"), "{}", page.text);
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
        let init = app.call("GET", "/docs/swagger-init.js", None, None);
        assert_eq!(init.status, 200);
        assert!(init.text.contains("/api/v1/openapi.json"));
        // API answers are never cached.
        let api = app.get("/api/v1/chapters", app.admin());
        assert_eq!(api.header("cache-control"), Some("no-store"));
    }

    fn audit_entries_name_the_http_request_that_wrote_them(app) {
        let r = app.post(
            "/api/v1/users",
            app.admin(),
            json!({"username": "honors.reader", "password": PASSWORD, "role": "honors"}),
        );
        r.expect(201);
        let id = r.header("x-request-id").unwrap().to_owned();
        let log = app.get("/api/v1/audit?action=user_created", app.admin()).expect(200);
        let entry = &log["items"][0];
        assert_eq!(entry["http_request_id"], id.as_str(), "{entry}");
        // `request_id` keeps naming the emergency request (none here).
        assert!(entry["request_id"].is_null(), "{entry}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real process on SQLite, its log in a file: a CCCD and a phone number sent in query
/// strings and in rejected bodies appear nowhere in the log, while every request has its
/// access line (route pattern, status, request id).
#[test]
fn the_log_holds_no_query_string_and_no_echoed_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut create = Command::new(BIN)
        .args([
            "user",
            "create",
            "--username",
            "log.admin",
            "--role",
            "admin",
        ])
        .current_dir(dir.path())
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(create.wait().unwrap().success());

    let port = free_port();
    let log = dir.path().join("server.log");
    let mut child = Command::new(BIN)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
        // The default filter, as deployed (actix's own debug lines name the raw path).
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while ureq::get(&format!("{base}/health")).call().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let call = |req: ureq::Request, body: Option<serde_json::Value>| {
        let r = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match r {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                let id = r.header("x-request-id").unwrap_or_default().to_owned();
                (r.status(), id, r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{e}"),
        }
    };
    let (status, _, body) = call(
        ureq::post(&format!("{base}/api/v1/auth/login")),
        Some(json!({"username": "log.admin", "password": PASSWORD})),
    );
    assert_eq!(status, 200, "{body}");
    let token: serde_json::Value = serde_json::from_str(&body).unwrap();
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());

    const CCCD: &str = "001099012345";
    const PHONE: &str = "0912345678x";
    // A failed sign-in names no account: what was typed (here a CCCD) is not logged.
    let (status, _, _) = call(
        ureq::post(&format!("{base}/api/v1/auth/login")),
        Some(json!({"username": CCCD, "password": "not the password"})),
    );
    assert_eq!(status, 401);
    let (status, search_id, _) = call(
        ureq::get(&format!("{base}/api/v1/donors?q={CCCD}")).set("Authorization", &bearer),
        None,
    );
    assert_eq!(status, 200);
    let (status, _, _) = call(
        ureq::get(&format!("{base}/api/v1/donors?q={CCCD}&limit=-{PHONE}"))
            .set("Authorization", &bearer),
        None,
    );
    assert_eq!(status, 400);
    let (status, _, body) = call(
        ureq::post(&format!("{base}/api/v1/donors")).set("Authorization", &bearer),
        Some(
            json!({"full_name": "Giàng Thị Dung", "date_of_birth": "1990-01-01",
                    "sex": "female", "national_id": CCCD, "phone": PHONE,
                    "chapter_id": "00000000-0000-0000-0000-000000000000"}),
        ),
    );
    assert!(status == 404 || status == 422, "{status} {body}");
    let (status, _, _) = call(
        ureq::get(&format!("{base}/api/v1/donors/{CCCD}")).set("Authorization", &bearer),
        None,
    );
    assert_eq!(status, 400);

    // The access line of the last request is written once the answer is; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if text.matches("hienmau::access").count() >= 6 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    for secret in [CCCD, PHONE, "Giàng", "q="] {
        assert!(
            !text.contains(secret),
            "{secret:?} reached the log:\n{text}"
        );
    }
    let line = text
        .lines()
        .find(|l| l.contains(&search_id) && l.contains("hienmau::access"))
        .unwrap_or_else(|| panic!("no access line for {search_id}:\n{text}"));
    assert!(line.contains("/api/v1/donors"), "{line}");
    assert!(line.contains("status") && line.contains("200"), "{line}");
    assert!(line.contains("latency_ms"), "{line}");
    // One access line per request.
    let access_lines = text
        .lines()
        .filter(|l| l.contains(&search_id) && l.contains("hienmau::access"))
        .count();
    assert_eq!(access_lines, 1, "{text}");
}
