//! The web app served from the binary at `/` (issue 18): its files with their types, cache
//! lifetimes and Content-Security-Policy, client-side routes answering `index.html`, unknown
//! `/api` paths still problem+json 404; and HTTPS from `HIENMAU_TLS_CERT`/`HIENMAU_TLS_KEY`
//! (a self-signed certificate made here, a client that trusts only it).

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use hienmau_api::http::web::{files, CONTENT_SECURITY_POLICY};
use hienmau_tests::{backend_tests, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_hienmau-under-test");
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A GET or HEAD with optional headers, any status.
fn fetch(app: &TestApp, method: &str, path: &str, headers: &[(&str, &str)]) -> ureq::Response {
    let mut req = ureq::request(method, &format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.set(k, v);
    }
    match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

fn body(r: ureq::Response) -> String {
    r.into_string().unwrap()
}

backend_tests! {
    fn the_app_is_served_with_its_policies(app) {
        let index = fetch(app, "GET", "/", &[]);
        assert_eq!(index.status(), 200);
        assert_eq!(index.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert_eq!(index.header("Cache-Control"), Some("no-cache"));
        assert_eq!(index.header("Content-Security-Policy"), Some(CONTENT_SECURITY_POLICY));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
        assert_eq!(index.header("X-Content-Type-Options"), Some("nosniff"));
        let etag = index.header("ETag").unwrap().to_owned();
        let page = body(index);
        assert!(page.contains("<html"), "{page}");
        // No inline script: every script is a file of the app.
        assert!(!page.contains("<script>"), "{page}");

        // Every embedded file, by its own path: a year for hashed assets, none for the rest.
        let all = files();
        assert!(all.contains(&"/index.html".to_owned()), "{all:?}");
        assert!(all.iter().any(|f| f.starts_with("/assets/") && f.ends_with(".js")), "{all:?}");
        for f in &all {
            let r = fetch(app, "GET", f, &[]);
            assert_eq!(r.status(), 200, "{f}");
            let want = if f.starts_with("/assets/") { IMMUTABLE } else { "no-cache" };
            assert_eq!(r.header("Cache-Control"), Some(want), "{f}");
            assert_eq!(r.header("Content-Security-Policy"), Some(CONTENT_SECURITY_POLICY), "{f}");
            let ty = r.header("Content-Type").unwrap().to_owned();
            let expected = match f.rsplit('.').next().unwrap() {
                "js" => "text/javascript; charset=utf-8",
                "css" => "text/css; charset=utf-8",
                "html" => "text/html; charset=utf-8",
                "webmanifest" => "application/manifest+json",
                _ => ty.as_str(),
            };
            assert_eq!(ty, expected, "{f}");
            assert!(!body(r).is_empty(), "{f}");
        }
        // The page's scripts are among them.
        for src in page.split("src=\"").skip(1).filter_map(|s| s.split('"').next()) {
            if src.starts_with('/') {
                assert!(all.iter().any(|f| f == src), "{src} is not embedded");
            }
        }

        // Client-side routes answer the page; HEAD too, without a body.
        for route in ["/log", "/signin", "/log/today"] {
            let r = fetch(app, "GET", route, &[]);
            assert_eq!(r.status(), 200, "{route}");
            assert_eq!(r.header("Cache-Control"), Some("no-cache"));
            assert_eq!(body(r), page, "{route}");
        }
        let head = fetch(app, "HEAD", "/log", &[]);
        assert_eq!(head.status(), 200);
        assert_eq!(head.header("Content-Type"), Some("text/html; charset=utf-8"));
        assert!(body(head).is_empty());
        let head = fetch(app, "HEAD", "/", &[]);
        assert_eq!(head.status(), 200);
        assert!(body(head).is_empty());

        // A matching ETag: 304 with no body.
        let again = fetch(app, "GET", "/", &[("If-None-Match", &etag)]);
        assert_eq!(again.status(), 304);
        assert_eq!(again.header("ETag"), Some(etag.as_str()));
        assert!(body(again).is_empty());

        // The server's own paths stay its own; a missing file is not the page.
        app.call("GET", "/api/v1/no-such-thing", None, None).expect_problem(404, "not_found");
        app.call("GET", "/api", None, None).expect_problem(404, "not_found");
        app.call("GET", "/assets/gone-0123.js", None, None).expect_problem(404, "not_found");
        app.call("GET", "/favicon.ico", None, None).expect_problem(404, "not_found");
        app.call("GET", "/docs/nothing", None, None).expect_problem(404, "not_found");
        app.call("POST", "/log", None, Some(&serde_json::json!({}))).expect_problem(404, "not_found");
        app.call("POST", "/", None, Some(&serde_json::json!({}))).expect_problem(405, "method_not_allowed");
        // The API and the documentation keep their own headers.
        let health = fetch(app, "GET", "/health", &[]);
        assert_eq!(health.header("Cache-Control"), Some("no-store"));
        assert!(health.header("Content-Security-Policy").is_none());
        let docs = fetch(app, "GET", "/docs", &[]);
        assert_eq!(docs.status(), 200);
        let docs_csp = docs.header("Content-Security-Policy").unwrap();
        assert_ne!(docs_csp, CONTENT_SECURITY_POLICY);
        assert!(docs_csp.contains("script-src 'self'"));
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
fn certificate(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, rcgen::Certificate) {
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, made.cert)
}

/// `hienmau serve` on a fresh SQLite database with `env`; the child and its address.
fn spawn_serve(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .current_dir(dir)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("h.db").display()),
        )
        .env("HIENMAU_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd.spawn().unwrap(), port)
}

#[test]
fn https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, issued) = certificate(dir.path());
    let (mut child, port) = spawn_serve(
        dir.path(),
        &[
            ("HIENMAU_TLS_CERT", cert.to_str().unwrap()),
            ("HIENMAU_TLS_KEY", key.to_str().unwrap()),
        ],
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(issued.der().clone()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let agent = ureq::AgentBuilder::new()
        .tls_config(Arc::new(tls))
        .timeout(Duration::from_secs(5))
        .build();
    let mut answer = None;
    for _ in 0..150 {
        std::thread::sleep(Duration::from_millis(100));
        if let Ok(r) = agent
            .get(&format!("https://localhost:{port}/health"))
            .call()
        {
            answer = Some(r);
            break;
        }
    }
    let plain = ureq::get(&format!("http://127.0.0.1:{port}/health"))
        .timeout(Duration::from_secs(5))
        .call();
    let page = agent.get(&format!("https://127.0.0.1:{port}/log")).call();
    // A client that does not trust the certificate is refused.
    let untrusted = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(5))
        .build()
        .get(&format!("https://localhost:{port}/health"))
        .call();
    let _ = child.kill();
    let _ = child.wait();
    let answer = answer.expect("no HTTPS answer from the server");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.into_string().unwrap(), r#"{"status":"ok"}"#);
    assert!(plain.is_err(), "plain HTTP was answered on the HTTPS port");
    let page = page.unwrap();
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert!(untrusted.is_err());
}

#[test]
fn half_configured_or_unreadable_tls_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, _) = certificate(dir.path());
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("HIENMAU_TLS_CERT", cert)], "HIENMAU_TLS_KEY"),
        (&[("HIENMAU_TLS_KEY", key)], "HIENMAU_TLS_CERT"),
        (
            &[
                ("HIENMAU_TLS_CERT", missing.to_str().unwrap()),
                ("HIENMAU_TLS_KEY", key),
            ],
            "missing.pem",
        ),
        (
            &[
                ("HIENMAU_TLS_CERT", not_pem.to_str().unwrap()),
                ("HIENMAU_TLS_KEY", key),
            ],
            "not.pem",
        ),
        (
            &[("HIENMAU_TLS_CERT", cert), ("HIENMAU_TLS_KEY", cert)],
            "HIENMAU_TLS_KEY",
        ),
    ];
    for (env, named) in cases {
        let (mut child, port) = spawn_serve(dir.path(), env);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if std::time::Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{env:?}: the server started (port {port})");
        };
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(!status.success(), "{env:?}");
        assert!(err.contains(named), "{env:?}: {err}");
    }
}
