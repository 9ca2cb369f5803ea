//! Every route, registered in one place under `/api/v1`, each with its declared [`Policy`].
//!
//! The same function builds the live application and [`table`], the list of routes and
//! policies that the authorisation tests walk: a route cannot exist without a policy.

use actix_web::body::BoxBody;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, Handler, Responder, ResponseError, Route};

use crate::http::auth::{middleware::enforce, Policy, Role, Scope};
use crate::http::error::ApiError;
use crate::http::handlers::{api_keys, audit_log, emergency};
use crate::http::handlers::{auth, donations, donors, drives, ops, org};
use crate::http::handlers::{deferrals, honors, reports};
use crate::http::web as app;

/// The base path of the API.
pub const API: &str = "/api/v1";

/// One registered route.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    /// The HTTP method.
    pub method: Method,
    /// The full path pattern, e.g. `/api/v1/donors/{id}`.
    pub path: String,
    /// Who may call it.
    pub policy: &'static Policy,
}

/// Collects routes and their policies.
#[derive(Default)]
pub struct Registrar {
    routes: Vec<(String, Route)>,
    table: Vec<RouteInfo>,
}

impl Registrar {
    /// Registers `handler` for `method` on [`API`]`path`, enforcing `policy` before the
    /// handler and its extractors run.
    pub fn add<F, Args>(
        &mut self,
        method: Method,
        path: &str,
        policy: &'static Policy,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.add_at(method, format!("{API}{path}"), policy, handler)
    }

    /// Registers a route outside [`API`] (operations, documentation).
    pub fn add_at<F, Args>(
        &mut self,
        method: Method,
        full: String,
        policy: &'static Policy,
        handler: F,
    ) -> &mut Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let route = web::route()
            .method(method.clone())
            .to(handler)
            .wrap(from_fn(move |req, next: Next<BoxBody>| {
                enforce(policy, req, next)
            }));
        self.table.push(RouteInfo {
            method,
            path: full.clone(),
            policy,
        });
        self.routes.push((full, route));
        self
    }

    /// Registers the collected routes: one resource per path, answering 405 problem+json with
    /// an `Allow` header (RFC 9110) for other methods.
    pub fn install(self, cfg: &mut web::ServiceConfig) {
        let mut paths: Vec<String> = Vec::new();
        let mut by_path: Vec<Vec<Route>> = Vec::new();
        let mut methods: Vec<Vec<String>> = Vec::new();
        for ((path, route), info) in self.routes.into_iter().zip(self.table) {
            match paths.iter().position(|p| *p == path) {
                Some(i) => {
                    by_path[i].push(route);
                    methods[i].push(info.method.to_string());
                }
                None => {
                    paths.push(path);
                    by_path.push(vec![route]);
                    methods.push(vec![info.method.to_string()]);
                }
            }
        }
        for ((path, routes), methods) in paths.into_iter().zip(by_path).zip(methods) {
            let mut resource = web::resource(path);
            for route in routes {
                resource = resource.route(route);
            }
            let allow = methods.join(", ");
            cfg.service(resource.default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            })));
        }
    }
}

fn method_not_allowed(allow: &str) -> actix_web::HttpResponse {
    let mut res = ApiError::MethodNotAllowed.error_response();
    if let Ok(v) = HeaderValue::from_str(allow) {
        res.headers_mut().insert(header::ALLOW, v);
    }
    res
}

/// Every route with its policy, as the application registers them.
pub fn table() -> Vec<RouteInfo> {
    let mut r = Registrar::default();
    register(&mut r);
    r.table
}

use Role::{Admin, Coordinator, Honors, Hospital};

const PUBLIC: &Policy = &Policy::PUBLIC;
const ADMIN: &Policy = &Policy::roles(&[Admin], Scope::None);
const ANY_ROLE: &Policy = &Policy::roles(&[Admin, Coordinator, Hospital, Honors], Scope::None);
/// Donors are one shared registry (see `app::donors`): not scoped by chapter.
const DONOR_READ: &Policy = &Policy::roles(&[Admin, Coordinator, Honors], Scope::None);
const DONOR_WRITE: &Policy = &Policy::roles(&[Admin, Coordinator], Scope::None);
/// Drives, events and their donations: coordinators within their chapter's subtree.
/// Honors lists and awards.
const HONORS: &Policy = &Policy::roles(&[Admin, Honors], Scope::None);
/// Reports: coordinators see their chapter's subtree only.
const REPORTS: &Policy = &Policy::roles(&[Admin, Honors, Coordinator], Scope::Chapter);
const DRIVES: &Policy = &Policy::roles(&[Admin, Coordinator], Scope::Chapter);
/// Emergency requests and everything under them: hospital callers (users and API keys) for
/// their own hospital; admins for all.
const HOSPITAL: &Policy = &Policy::roles(&[Admin, Hospital], Scope::Hospital);
/// Expensive routes: the same roles, with each caller's requests limited. Candidate searches
/// are the emergency path, with a gate of their own that exports and reports never take.
const HOSPITAL_LIMITED: &Policy = &HOSPITAL.emergency();
const HONORS_LIMITED: &Policy = &HONORS.limited();
const REPORTS_LIMITED: &Policy = &REPORTS.limited();
/// Voiding a record: drive donations as `DRIVES`; a hospital voids its own recent emergency
/// records (the use case checks which: `app::donations::void`).
const VOID: &Policy = &Policy::roles(&[Admin, Coordinator, Hospital], Scope::Chapter);

/// The routes of the application.
pub fn register(r: &mut Registrar) {
    use Method as M;
    // Operations and documentation.
    let at = |p: &str| p.to_owned();
    r.add_at(M::GET, at("/health"), PUBLIC, ops::health)
        .add_at(M::GET, at("/ready"), PUBLIC, ops::ready)
        .add_at(M::GET, at("/docs"), PUBLIC, ops::docs)
        .add_at(M::GET, at("/docs/"), PUBLIC, ops::docs)
        .add_at(
            M::GET,
            at("/docs/swagger-ui-bundle.js"),
            PUBLIC,
            ops::docs_js,
        )
        .add_at(M::GET, at("/docs/swagger-ui.css"), PUBLIC, ops::docs_css)
        .add_at(
            M::GET,
            at("/docs/swagger-init.js"),
            PUBLIC,
            ops::docs_init_js,
        )
        .add(M::GET, "/openapi.json", PUBLIC, ops::openapi);
    // The web app: `/` and each embedded file (other paths: `http::web::fallback`).
    r.add_at(M::GET, at("/"), PUBLIC, app::index)
        .add_at(M::HEAD, at("/"), PUBLIC, app::index);
    for file in app::files() {
        r.add_at(M::GET, file.clone(), PUBLIC, app::file)
            .add_at(M::HEAD, file, PUBLIC, app::file);
    }
    // Authentication.
    r.add(M::POST, "/auth/login", PUBLIC, auth::login)
        .add(M::GET, "/auth/me", ANY_ROLE, auth::me);
    // Organisation.
    r.add(M::GET, "/chapters", ANY_ROLE, org::list_chapters)
        .add(M::POST, "/chapters", ADMIN, org::create_chapter)
        .add(M::GET, "/hospitals", ADMIN, org::list_hospitals)
        .add(M::POST, "/hospitals", ADMIN, org::create_hospital)
        .add(M::GET, "/users", ADMIN, org::list_users)
        .add(M::POST, "/users", ADMIN, org::create_user)
        .add(M::PATCH, "/users/{id}", ADMIN, org::update_user);
    // Donors.
    r.add(M::GET, "/donors", DONOR_READ, donors::list_donors)
        .add(M::POST, "/donors", DONOR_WRITE, donors::create_donor)
        .add(M::GET, "/donors/{id}", DONOR_READ, donors::get_donor)
        .add(M::PATCH, "/donors/{id}", DONOR_WRITE, donors::update_donor)
        .add(
            M::GET,
            "/donors/{id}/eligibility",
            DONOR_READ,
            donors::donor_eligibility,
        )
        .add(
            M::GET,
            "/donors/{id}/donations",
            DONOR_READ,
            donors::donor_donations,
        )
        .add(
            M::POST,
            "/donors/{id}/deferrals",
            DONOR_WRITE,
            deferrals::create_deferral,
        );
    r.add(
        M::GET,
        "/deferral-reasons",
        ANY_ROLE,
        deferrals::list_deferral_reasons,
    );
    // Drives, events, donations.
    r.add(M::GET, "/drives", DRIVES, drives::list_drives)
        .add(M::POST, "/drives", DRIVES, drives::create_drive)
        .add(M::GET, "/drives/{id}", DRIVES, drives::get_drive)
        .add(M::PATCH, "/drives/{id}", DRIVES, drives::update_drive)
        .add(M::GET, "/drives/{id}/tally", DRIVES, drives::drive_tally)
        .add(M::GET, "/drives/{id}/events", DRIVES, drives::list_events)
        .add(M::POST, "/drives/{id}/events", DRIVES, drives::create_event)
        .add(M::GET, "/events/{id}", DRIVES, drives::get_event)
        .add(
            M::POST,
            "/events/{id}/donations",
            DRIVES,
            donations::create_donation,
        )
        .add(
            M::POST,
            "/events/{id}/donations/batch",
            DRIVES,
            donations::create_batch,
        )
        .add(M::GET, "/donations/{id}", DRIVES, donations::get_donation)
        .add(
            M::POST,
            "/donations/{id}/void",
            VOID,
            donations::void_donation,
        );
    register_emergency(r);
}

/// Hospital API keys, emergency requests and the audit log.
fn register_emergency(r: &mut Registrar) {
    use Method as M;
    r.add(
        M::GET,
        "/hospitals/{id}/api-keys",
        ADMIN,
        api_keys::list_api_keys,
    )
    .add(
        M::POST,
        "/hospitals/{id}/api-keys",
        ADMIN,
        api_keys::create_api_key,
    )
    .add(M::DELETE, "/api-keys/{id}", ADMIN, api_keys::revoke_api_key);
    let e = "/emergency-requests";
    r.add(M::GET, e, HOSPITAL, emergency::list_requests)
        .add(M::POST, e, HOSPITAL, emergency::create_request)
        .add(
            M::GET,
            &format!("{e}/{{id}}"),
            HOSPITAL,
            emergency::get_request,
        )
        .add(
            M::POST,
            &format!("{e}/{{id}}/cancel"),
            HOSPITAL,
            emergency::cancel_request,
        )
        .add(
            M::GET,
            &format!("{e}/{{id}}/candidates"),
            HOSPITAL_LIMITED,
            emergency::list_candidates,
        )
        .add(
            M::GET,
            &format!("{e}/{{id}}/responses"),
            HOSPITAL,
            emergency::list_responses,
        )
        .add(
            M::POST,
            &format!("{e}/{{id}}/responses"),
            HOSPITAL,
            emergency::create_response,
        )
        .add(
            M::POST,
            &format!("{e}/{{id}}/donations"),
            HOSPITAL,
            emergency::create_donation,
        );
    r.add(
        M::PATCH,
        &format!("{e}/{{id}}"),
        HOSPITAL,
        emergency::update_request,
    );
    r.add(M::GET, "/audit", ADMIN, audit_log::list_audit);
    // Honors and reports.
    r.add(M::GET, "/honors/tiers", HONORS, honors::list_tiers)
        .add(M::GET, "/honors/eligible", HONORS_LIMITED, honors::eligible)
        .add(M::POST, "/honors/awards", HONORS, honors::record_award)
        .add(
            M::POST,
            "/honors/awards/{id}/void",
            HONORS,
            honors::void_award,
        )
        .add(
            M::GET,
            "/donors/{id}/awards",
            DONOR_READ,
            honors::donor_awards,
        )
        .add(M::GET, "/reports/annual", REPORTS_LIMITED, reports::annual);
}
