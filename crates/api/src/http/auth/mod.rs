//! Authentication (who is calling) and authorisation (may they).
//!
//! Every route is registered with a [`Policy`] (see `routes.rs`); the policy middleware
//! authenticates the caller and checks the role before the handler runs, then hands the handler
//! an [`Actor`]. Scope (which chapter's or hospital's objects) is an explicit call in the
//! handler — `Actor::require_chapter`, `Actor::require_hospital` — and a violation
//! answers 404, so the existence of another tenant's objects does not leak.

pub mod client;
pub mod jwt;
pub mod middleware;
pub mod password;
pub mod throttle;

use std::future::{ready, Ready};

pub use crate::app::scope::{Actor, Principal};
use actix_web::{FromRequest, HttpMessage, HttpRequest};
pub use hienmau_domain::Role;

use crate::http::error::ApiError;
use crate::http::limits::Lane;

/// How a route's objects are scoped, declared with its policy (and tested exhaustively).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// No tenant objects (or the handler filters lists itself).
    None,
    /// Objects belong to a chapter: coordinators see their chapter's subtree only.
    Chapter,
    /// Objects belong to a hospital: hospital callers see their own only.
    Hospital,
}

/// Who may call a route. Declared once per route in `routes.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// No authentication at all (sign-in, the OpenAPI document, health).
    pub public: bool,
    /// Roles allowed; any other role gets 403.
    pub roles: &'static [Role],
    /// How objects are scoped for the roles that are bound to a tenant.
    pub scope: Scope,
    /// An expensive route (candidates, exports, reports): each caller's requests are limited
    /// (429 with `Retry-After`) so a flood cannot starve donation logging.
    pub limited: bool,
    /// The gate an expensive route takes its turn at.
    pub lane: Lane,
}

impl Policy {
    /// A route anyone may call without a token.
    pub const PUBLIC: Policy = Policy {
        public: true,
        roles: &[],
        scope: Scope::None,
        limited: false,
        lane: Lane::Heavy,
    };

    /// A route for these roles.
    pub const fn roles(roles: &'static [Role], scope: Scope) -> Policy {
        Policy {
            public: false,
            roles,
            scope,
            limited: false,
            lane: Lane::Heavy,
        }
    }

    /// The same policy on an expensive route: requests are limited per caller.
    pub const fn limited(self) -> Policy {
        Policy {
            limited: true,
            ..self
        }
    }

    /// The same policy on the emergency path (candidate searches): limited per caller, with a
    /// gate of its own that heavy work never takes.
    pub const fn emergency(self) -> Policy {
        Policy {
            limited: true,
            lane: Lane::Emergency,
            ..self
        }
    }

    /// True when the role may call the route.
    pub fn allows(&self, role: Role) -> bool {
        self.public || self.roles.contains(&role)
    }
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Only the policy middleware puts an Actor here: a handler asking for one on a route
        // registered without a policy is a programming error, not a client's.
        ready(
            req.extensions()
                .get::<Actor>()
                .cloned()
                .ok_or_else(|| ApiError::internal("Actor requested on a public route")),
        )
    }
}
