//! Request and response types of the organisation endpoints (chapters, hospitals, users).

use hienmau_db::models::{Chapter, Hospital, User};
use hienmau_db::repo::Page;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::org::{NewAccount, NewChapterCommand, NewHospitalCommand};
use crate::http::auth::Role;
use crate::http::dto::ListResponse;
use crate::http::error::ApiError;

/// A chapter of the Red Cross.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChapterOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The chapter above, null for a root.
    pub parent_id: Option<String>,
}

impl From<Chapter> for ChapterOut {
    fn from(c: Chapter) -> Self {
        Self {
            id: c.id,
            name: c.name,
            parent_id: c.parent_id,
        }
    }
}

/// A new chapter.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChapter {
    /// Name, e.g. "Hội Chữ thập đỏ thành phố Lào Cai".
    pub name: String,
    /// The chapter above; omit for a root (a province).
    pub parent_id: Option<Uuid>,
}

impl From<NewChapter> for NewChapterCommand {
    fn from(c: NewChapter) -> Self {
        Self {
            name: c.name,
            parent_id: c.parent_id.map(|p| p.to_string()),
        }
    }
}

/// A hospital.
#[derive(Debug, Serialize, ToSchema)]
pub struct HospitalOut {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

impl From<Hospital> for HospitalOut {
    fn from(h: Hospital) -> Self {
        Self {
            id: h.id,
            name: h.name,
            province: h.province,
            commune: h.commune,
        }
    }
}

/// A new hospital.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHospital {
    /// Name.
    pub name: String,
    /// Province.
    pub province: Option<String>,
    /// Commune or ward.
    pub commune: Option<String>,
}

impl From<NewHospital> for NewHospitalCommand {
    fn from(h: NewHospital) -> Self {
        Self {
            name: h.name,
            province: h.province,
            commune: h.commune,
        }
    }
}

/// A user account (never its password).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Role.
    #[schema(value_type = crate::http::dto::RoleSchema)]
    pub role: Role,
    /// A coordinator's chapter.
    pub chapter_id: Option<String>,
    /// A hospital user's hospital.
    pub hospital_id: Option<String>,
    /// A disabled user cannot sign in and their tokens stop working.
    pub disabled: bool,
}

impl TryFrom<User> for UserOut {
    type Error = ApiError;
    fn try_from(u: User) -> Result<Self, ApiError> {
        Ok(Self {
            role: Role::parse(&u.role).map_err(|_| ApiError::internal("stored role"))?,
            id: u.id,
            username: u.username,
            chapter_id: u.chapter_id,
            hospital_id: u.hospital_id,
            disabled: u.disabled,
        })
    }
}

impl UserOut {
    /// A page of users.
    pub fn page(page: Page<User>) -> Result<ListResponse<UserOut>, ApiError> {
        Ok(ListResponse {
            items: page
                .items
                .into_iter()
                .map(UserOut::try_from)
                .collect::<Result<Vec<_>, _>>()?,
            next_cursor: page.next.as_deref().map(crate::http::dto::encode_cursor),
        })
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Username (unique): 3–64 characters of `a-z 0-9 . _ -` after NFKC normalisation and
    /// lower-casing, and stored so (`Demo.Admin` is `demo.admin`).
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// Role.
    #[schema(value_type = crate::http::dto::RoleSchema)]
    pub role: Role,
    /// Required for coordinators.
    pub chapter_id: Option<Uuid>,
    /// Required for hospital users.
    pub hospital_id: Option<Uuid>,
}

impl From<NewUser> for NewAccount {
    fn from(u: NewUser) -> Self {
        Self {
            username: u.username,
            password: u.password,
            role: u.role,
            chapter_id: u.chapter_id.map(|c| c.to_string()),
            hospital_id: u.hospital_id.map(|h| h.to_string()),
        }
    }
}

/// Changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (true) or enable (false); a disabled user's tokens stop working at once.
    pub disabled: Option<bool>,
    /// A new password (at least 12 characters).
    pub password: Option<String>,
    /// A new role. The user's chapter or hospital is dropped unless given again (a
    /// coordinator needs `chapter_id`, a hospital user `hospital_id`). The last active admin
    /// keeps the admin role (409).
    #[schema(value_type = Option<crate::http::dto::RoleSchema>)]
    pub role: Option<Role>,
    /// The chapter (coordinators).
    pub chapter_id: Option<Uuid>,
    /// The hospital (hospital users).
    pub hospital_id: Option<Uuid>,
}
