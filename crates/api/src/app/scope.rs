//! Who is acting, and what their scope holds.
//!
//! Scope is an explicit call in each use case — [`Actor::require_chapter`],
//! [`Actor::require_hospital`] — and a violation is [`AppError::NotFound`], so the existence of
//! another tenant's objects does not leak.

use hienmau_db::models::{Chapter, Drive, Event};
use hienmau_db::repo::{chapters, drives, events};
use hienmau_db::DbConn;
use hienmau_domain::Role;

use crate::app::error::AppError;

/// Who made a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// A signed-in user.
    User {
        /// The user's id.
        id: String,
    },
    /// A hospital system with an API key.
    ApiKey {
        /// The key's id (never the key).
        id: String,
    },
}

/// The authenticated caller: who acts in a use case. The HTTP policy middleware builds it
/// from a token or an API key.
#[derive(Debug, Clone)]
pub struct Actor {
    /// User or API key.
    pub principal: Principal,
    /// The role in force (read from the database on every request).
    pub role: Role,
    /// A coordinator's chapter (the root of its scope).
    pub chapter: Option<Chapter>,
    /// A hospital caller's hospital.
    pub hospital_id: Option<String>,
    /// The `X-Request-Id` of the HTTP request acting (None from the command line); audit
    /// entries carry it as `http_request_id`.
    pub http_request_id: Option<String>,
}

impl Actor {
    /// The id that owns idempotency keys and audit entries: user id or API key id.
    pub fn principal_id(&self) -> &str {
        match &self.principal {
            Principal::User { id } | Principal::ApiKey { id } => id,
        }
    }

    /// The user id, when a user (not an API key) is calling.
    pub fn user_id(&self) -> Option<&str> {
        match &self.principal {
            Principal::User { id } => Some(id),
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
    pub fn require_chapter(&self, chapter: &Chapter) -> Result<(), AppError> {
        if self.sees_chapter(chapter) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// 404 unless the caller may act for `hospital_id` (admins may act for any).
    pub fn require_hospital(&self, hospital_id: &str) -> Result<(), AppError> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Hospital if self.hospital_id.as_deref() == Some(hospital_id) => Ok(()),
            _ => Err(AppError::NotFound),
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

/// Loads a drive the actor may reach, with its chapter; not found otherwise.
pub fn drive_in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
) -> Result<(Drive, Chapter), AppError> {
    let drive = drives::find(conn, id)?.ok_or(AppError::NotFound)?;
    let chapter = chapters::find(conn, &drive.chapter_id)?
        .ok_or_else(|| AppError::internal("drive without its chapter"))?;
    actor.require_chapter(&chapter)?;
    Ok((drive, chapter))
}

/// Loads an event the actor may reach (through its drive's chapter), with its drive; not
/// found otherwise.
pub fn event_in_scope(
    conn: &mut DbConn,
    actor: &Actor,
    id: &str,
) -> Result<(Event, Drive), AppError> {
    let event = events::find(conn, id)?.ok_or(AppError::NotFound)?;
    let (drive, _) = drive_in_scope(conn, actor, &event.drive_id)?;
    Ok((event, drive))
}
