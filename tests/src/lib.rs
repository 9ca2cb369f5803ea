//! The integration-test harness: [`TestApp`] runs the real application on a fresh database
//! (a new SQLite file; a new PostgreSQL database when `TEST_DATABASE_URL` is set) behind a real
//! HTTP listener on a free loopback port, and [`backend_tests!`] turns one test body into a
//! test per backend.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test harness fails by panicking"
)]

use std::sync::mpsc;
use std::time::Duration;

use hienmau_api::settings::Settings;
use hienmau_api::AppState;
pub use hienmau_db::testing::TestDatabase;
use serde_json::{json, Value};

/// A password every test user gets (the contract asks for 12 characters or more).
pub const PASSWORD: &str = "correct horse battery";

/// The audit key of every test application (PostgreSQL requires one; on SQLite it keeps the
/// key file out of the way). Commands run as child processes get it as `HIENMAU_AUDIT_KEY`.
pub const AUDIT_KEY: &str = "test-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz";

/// Generates `mod $name { fn sqlite(); fn postgres(); }` running `$body(&TestApp)` on each
/// backend. The PostgreSQL test returns early (and says so) when `TEST_DATABASE_URL` is unset;
/// CI always sets it.
#[macro_export]
macro_rules! backend_tests {
    ($(fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(
                unused_imports,
                clippy::allow_attributes,
                reason = "a test body may use nothing of its module"
            )]
            use super::*;
            fn run($app: &$crate::TestApp) $body
            #[test]
            fn sqlite() {
                run(&$crate::TestApp::new($crate::TestDatabase::sqlite()));
            }
            #[test]
            fn postgres() {
                match $crate::TestDatabase::postgres() {
                    Some(db) => run(&$crate::TestApp::new(db)),
                    None => eprintln!("TEST_DATABASE_URL unset: PostgreSQL run skipped"),
                }
            }
        }
    )*};
}

/// The field codes of the contract (`hienmau_domain::FieldCode`).
pub const FIELD_CODES: [&str; 7] = [
    "required",
    "too_long",
    "invalid_format",
    "out_of_range",
    "below_minimum",
    "not_found",
    "not_allowed",
];

/// Serves `state` on a free loopback port from a thread of its own, as `hienmau serve` would;
/// returns the address and the server's handle. A second call on another state of the same
/// database is a second stateless instance.
pub fn serve(state: AppState) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || hienmau_api::app(state.clone()))
                .on_connect(hienmau_api::http::stream::on_connect)
                .workers(2)
                .disable_signals()
                .bind("127.0.0.1:0")
                .expect("bind");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).expect("report address");
            server.await.expect("server runs");
        });
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("server started")
}

/// A running application on its own database.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub db: TestDatabase,
    handle: actix_web::dev::ServerHandle,
    admin: String,
    registering_chapter: std::sync::OnceLock<String>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Resp {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.json()
    }

    /// Asserts an error answer: status, problem+json, and the contract's code.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {} for {}",
            self.content_type,
            self.text
        );
        assert_eq!(body["code"], code, "body: {}", self.text);
        assert_eq!(body["status"], status);
        for key in ["type", "title", "detail"] {
            assert!(body[key].is_string(), "problem lacks {key}: {}", self.text);
        }
        // Every field error of every problem any test sees carries a documented code.
        if let Some(errors) = body.get("errors") {
            for e in errors.as_array().expect("errors is an array") {
                let code = e["code"].as_str().unwrap_or("");
                assert!(
                    FIELD_CODES.contains(&code),
                    "field error without a documented code: {}",
                    self.text
                );
            }
        }
        body
    }

    /// Asserts a 422 `invalid_request` with exactly these (field, code) pairs, in order.
    #[track_caller]
    pub fn expect_fields(&self, expected: &[(&str, &str)]) -> Value {
        let body = self.expect_problem(422, "invalid_request");
        let got: Vec<(String, String)> = body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap_or("").to_owned(),
                    e["code"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want, "body: {}", self.text);
        body
    }
}

/// Settings for tests: the given database, a fixed secret, limits out of the way.
pub fn test_settings(url: &str) -> Settings {
    let defaults = Settings::default();
    Settings {
        database_url: url.to_owned(),
        bind: "127.0.0.1:0".to_owned(),
        jwt_secret: Some("test-secret-test-secret-test-secret-0123".to_owned()),
        audit_key: Some(AUDIT_KEY.to_owned()),
        login_throttle: hienmau_api::settings::ThrottleConfig {
            max_failures_per_username: 1_000,
            max_failures_per_address: 100_000,
            max_failures_per_username_all_addresses: 100_000,
            hash_busy_percent: 100,
            ..defaults.login_throttle.clone()
        },
        // Tests that are not about abuse limits call expensive routes freely.
        abuse: hienmau_api::settings::AbuseConfig {
            expensive_per_minute: 1_000_000,
            expensive_burst: 1_000_000,
            expensive_concurrency: 8,
            expensive_busy_percent: 100,
            ..defaults.abuse.clone()
        },
        pool: hienmau_api::settings::PoolConfig {
            max_size: 8,
            ..defaults.pool.clone()
        },
        ..defaults
    }
}

impl TestApp {
    /// Starts the application on `db` with the test settings.
    pub fn new(db: TestDatabase) -> Self {
        let settings = test_settings(&db.url);
        Self::with_settings(db, settings)
    }

    /// Starts the application on `db` with these settings (the URL is taken from `db`).
    pub fn with_settings(db: TestDatabase, mut settings: Settings) -> Self {
        settings.database_url = db.url.clone();
        let state = hienmau_api::http::startup::build_state(settings).expect("state");
        hienmau_api::http::startup::migrate(&state).expect("migrations");
        let (addr, handle) = serve(state.clone());
        let admin_id = hienmau_api::cli::create_user(
            &state,
            hienmau_api::app::org::NewAccount {
                username: "admin".to_owned(),
                password: PASSWORD.to_owned(),
                role: hienmau_api::http::auth::Role::Admin,
                chapter_id: None,
                hospital_id: None,
            },
        )
        .expect("admin user");
        let mut app = TestApp {
            base: format!("http://{addr}"),
            state,
            db,
            handle,
            admin: String::new(),
            registering_chapter: std::sync::OnceLock::new(),
        };
        let _ = admin_id;
        app.admin = app.login("admin", PASSWORD);
        app
    }

    /// The admin's token.
    pub fn admin(&self) -> &str {
        &self.admin
    }

    /// Sends a request; `token` is sent as a bearer credential; `body` as JSON.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Resp {
        self.call_with(method, path, token, body, &[])
    }

    /// Sends a request with extra headers.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::request(method, &url).timeout(Duration::from_secs(60));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        Self::read(response)
    }

    /// Sends a raw body with a content type.
    pub fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: &[u8],
    ) -> Resp {
        let url = format!("{}{}", self.base, path);
        let mut req = ureq::request(method, &url)
            .timeout(Duration::from_secs(60))
            .set("Content-Type", content_type);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let response = match req.send_bytes(body) {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        Self::read(response)
    }

    fn read(response: ureq::Response) -> Resp {
        let status = response.status();
        let content_type = response.header("content-type").unwrap_or("").to_owned();
        let headers = response
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = response.header(&n).unwrap_or("").to_owned();
                (n, v)
            })
            .collect();
        let text = response.into_string().unwrap_or_default();
        Resp {
            status,
            content_type,
            headers,
            text,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Resp {
        self.call("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("POST", path, Some(token), Some(&body))
    }

    pub fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call("PATCH", path, Some(token), Some(&body))
    }

    /// Signs in and returns the access token.
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.call(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&json!({ "username": username, "password": password })),
        );
        let body = r.expect(200);
        body["access_token"].as_str().expect("token").to_owned()
    }

    /// Creates a chapter as admin; returns its id.
    pub fn chapter(&self, name: &str, parent: Option<&str>) -> String {
        let body = match parent {
            Some(p) => json!({ "name": name, "parent_id": p }),
            None => json!({ "name": name }),
        };
        self.post("/api/v1/chapters", self.admin(), body)
            .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A chapter (created on first use) for donors an admin registers: `POST /donors` by an
    /// admin must name the registering chapter.
    pub fn registering_chapter(&self) -> String {
        self.registering_chapter
            .get_or_init(|| self.chapter("Hội Chữ thập đỏ (đăng ký)", None))
            .clone()
    }

    /// `body` with `chapter_id` set to [`TestApp::registering_chapter`] when it names none: a
    /// donor an admin may register.
    pub fn with_chapter(&self, mut body: Value) -> Value {
        if let Some(o) = body.as_object_mut() {
            if !o.contains_key("chapter_id") {
                o.insert("chapter_id".to_owned(), json!(self.registering_chapter()));
            }
        }
        body
    }

    /// Creates a hospital as admin; returns its id.
    pub fn hospital(&self, name: &str) -> String {
        self.post(
            "/api/v1/hospitals",
            self.admin(),
            json!({ "name": name, "province": "Lào Cai" }),
        )
        .expect(201)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a user of `role` (bound to `chapter` or `hospital`) and signs in; returns
    /// (user id, token).
    pub fn user(
        &self,
        username: &str,
        role: &str,
        chapter: Option<&str>,
        hospital: Option<&str>,
    ) -> (String, String) {
        let r = self.post(
            "/api/v1/users",
            self.admin(),
            json!({ "username": username, "password": PASSWORD, "role": role,
                    "chapter_id": chapter, "hospital_id": hospital }),
        );
        let id = r.expect(201)["id"].as_str().unwrap().to_owned();
        (id, self.login(username, PASSWORD))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server before the database goes away.
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(handle.stop(false));
        })
        .join();
    }
}
