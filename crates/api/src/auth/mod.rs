//! Authentication (who is calling) and authorisation (may they).
//!
//! Every route is registered with a [`Policy`] (see `routes.rs`); the policy middleware
//! authenticates the caller and checks the role before the handler runs, then hands the handler
//! an [`AuthUser`]. Scope (which chapter's or hospital's objects) is an explicit call in the
//! handler — [`AuthUser::require_chapter`], [`AuthUser::require_hospital`] — and a violation
//! answers 404, so the existence of another tenant's objects does not leak.

pub mod jwt;
pub mod middleware;
pub mod password;
pub mod throttle;

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest};
use hienmau_db::models::Chapter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiError;

/// A user's role (see the contract's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything.
    Admin,
    /// Drives, events, donations and reports of one chapter's subtree; donors.
    Coordinator,
    /// One hospital's emergency requests.
    Hospital,
    /// Reads donors, honors and reports; records awards.
    Honors,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Coordinator, Role::Hospital, Role::Honors];

    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Hospital => "hospital",
            Role::Honors => "honors",
        }
    }

    /// Parses a stored role.
    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

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
}

impl Policy {
    /// A route anyone may call without a token.
    pub const PUBLIC: Policy = Policy {
        public: true,
        roles: &[],
        scope: Scope::None,
        limited: false,
    };

    /// A route for these roles.
    pub const fn roles(roles: &'static [Role], scope: Scope) -> Policy {
        Policy {
            public: false,
            roles,
            scope,
            limited: false,
        }
    }

    /// The same policy on an expensive route: requests are limited per caller.
    pub const fn limited(self) -> Policy {
        Policy {
            limited: true,
            ..self
        }
    }

    /// True when the role may call the route.
    pub fn allows(&self, role: Role) -> bool {
        self.public || self.roles.contains(&role)
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// A signed-in user.
    User {
        /// The user's id.
        id: String,
        /// The user's name.
        username: String,
    },
    /// A hospital system with an API key.
    ApiKey {
        /// The key's id (never the key).
        id: String,
    },
}

/// The authenticated caller, handed to handlers by the policy middleware.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// User or API key.
    pub principal: Principal,
    /// The role in force (read from the database on every request).
    pub role: Role,
    /// A coordinator's chapter (the root of its scope).
    pub chapter: Option<Chapter>,
    /// A hospital caller's hospital.
    pub hospital_id: Option<String>,
}

impl AuthUser {
    /// The id that owns idempotency keys and audit entries: user id or API key id.
    pub fn principal_id(&self) -> &str {
        match &self.principal {
            Principal::User { id, .. } | Principal::ApiKey { id } => id,
        }
    }

    /// The user id, when a user (not an API key) is calling.
    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { id, .. } => Some(id),
            Principal::ApiKey { .. } => None,
        }
    }

    /// The API key id, when a hospital system is calling.
    pub fn key_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::ApiKey { id } => Some(id),
            Principal::User { .. } => None,
        }
    }

    /// True for an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// May the caller see objects of `chapter`? Coordinators: their chapter and below;
    /// hospital callers: no chapter objects; admin and honors: all.
    pub fn sees_chapter(&self, chapter: &Chapter) -> bool {
        match self.role {
            Role::Admin | Role::Honors => true,
            Role::Coordinator => self.chapter.as_ref().is_some_and(|c| c.contains(chapter)),
            Role::Hospital => false,
        }
    }

    /// 404 unless the caller's scope holds `chapter`.
    pub fn require_chapter(&self, chapter: &Chapter) -> Result<(), ApiError> {
        if self.sees_chapter(chapter) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// 404 unless the caller may act for `hospital_id` (admins may act for any).
    pub fn require_hospital(&self, hospital_id: &str) -> Result<(), ApiError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Hospital if self.hospital_id.as_deref() == Some(hospital_id) => Ok(()),
            _ => Err(ApiError::NotFound),
        }
    }

    /// The path prefix of a coordinator's subtree, for list queries; None for unscoped roles.
    pub fn chapter_path_prefix(&self) -> Option<String> {
        match self.role {
            Role::Coordinator => self.chapter.as_ref().map(|c| c.path.clone()),
            _ => None,
        }
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Only the policy middleware puts an AuthUser here: a handler asking for one on a route
        // registered without a policy is a programming error, not a client's.
        ready(
            req.extensions()
                .get::<AuthUser>()
                .cloned()
                .ok_or_else(|| ApiError::internal("AuthUser requested on a public route")),
        )
    }
}
