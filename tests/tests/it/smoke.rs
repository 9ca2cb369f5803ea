//! The skeleton answers: health, readiness, the OpenAPI document, docs, problem+json for
//! unknown routes and missing tokens.

use hienmau_tests::backend_tests;

backend_tests! {
    fn operations_answer(app) {
        let r = app.call("GET", "/health", None, None);
        assert_eq!(r.expect(200)["status"], "ok");
        app.call("GET", "/ready", None, None).expect(200);
        let doc = app.call("GET", "/api/v1/openapi.json", None, None).expect(200);
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        let docs = app.call("GET", "/docs", None, None);
        assert_eq!(docs.status, 200);
        assert!(docs.text.contains("swagger-ui-bundle.js"));
        assert_eq!(app.call("GET", "/docs/swagger-ui-bundle.js", None, None).status, 200);
        app.call("GET", "/api/v1/no-such-thing", None, None).expect_problem(404, "not_found");
        app.call("GET", "/api/v1/users", None, None).expect_problem(401, "unauthorized");
        app.call("DELETE", "/api/v1/users", Some(app.admin()), None).expect_problem(405, "method_not_allowed");
    }
}
