//! Organisation: chapters, hospitals, users.

use actix_web::{web, HttpResponse};
use hienmau_db::models::{Chapter, Hospital, User, UserChanges};
use hienmau_db::repo::{chapters, hospitals, users};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::audit::{self, AuditRecord};
use crate::app::validate::{optional_text, required_text};
use crate::http::auth::password::MIN_PASSWORD_CHARS;
use crate::http::auth::{Actor, Role};
use crate::http::error::{ApiError, FieldError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

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

/// Lists chapters (any role), parents before children.
#[utoipa::path(get, path = "/api/v1/chapters", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Chapters", body = ListResponse<ChapterOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_chapters(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db(|conn| Ok(chapters::list(conn)?)).await?;
    // Few chapters exist (a province has tens): page in memory on the tree path.
    let mut items: Vec<(String, ChapterOut)> = rows
        .into_iter()
        .map(|c| (c.path.clone(), c.into()))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = ListResponse::paged_in_memory(items, &paging, |(path, _)| path.clone())?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items: page.items.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a chapter (admin).
#[utoipa::path(post, path = "/api/v1/chapters", tag = "organisation", request_body = NewChapter,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ChapterOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or unknown parent", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_chapter(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewChapter>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let name = required_text("name", &body.name, 200, &mut errors);
    ApiError::check(errors)?;
    let parent = body.parent_id.map(|p| p.to_string());
    let chapter = state
        .write_http(move |conn| {
            if let Some(p) = &parent {
                if chapters::find(conn, p)?.is_none() {
                    return Err(ApiError::field("parent_id", "no such chapter"));
                }
            }
            let chapter = chapters::insert(conn, &hienmau_db::new_id(), &name, parent.as_deref())?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "chapter_created",
                    serde_json::json!({ "chapter_id": chapter.id }),
                ),
            )?;
            Ok(chapter)
        })
        .await?;
    Ok(HttpResponse::Created().json(ChapterOut::from(chapter)))
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

/// Lists hospitals (admin).
#[utoipa::path(get, path = "/api/v1/hospitals", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Hospitals", body = ListResponse<HospitalOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_hospitals(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let rows = state.db(|conn| Ok(hospitals::list(conn)?)).await?;
    let items: Vec<HospitalOut> = rows.into_iter().map(Into::into).collect();
    let page = ListResponse::paged_in_memory(items, &paging, |h| format!("{}\t{}", h.name, h.id))?;
    Ok(HttpResponse::Ok().json(page))
}

/// Creates a hospital (admin).
#[utoipa::path(post, path = "/api/v1/hospitals", tag = "organisation", request_body = NewHospital,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = HospitalOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_hospital(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewHospital>,
) -> Result<HttpResponse, ApiError> {
    let mut errors = Vec::new();
    let row = Hospital {
        id: hienmau_db::new_id(),
        name: required_text("name", &body.name, 200, &mut errors),
        province: optional_text("province", body.province.as_deref(), 100, &mut errors),
        commune: optional_text("commune", body.commune.as_deref(), 100, &mut errors),
        created_at: hienmau_db::now(),
    };
    ApiError::check(errors)?;
    let row = state
        .write_http(move |conn| {
            hospitals::insert(conn, &row)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "hospital_created",
                    serde_json::json!({ "hospital_id": row.id }),
                ),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(HospitalOut::from(row)))
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

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Username (unique).
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

/// Changes to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (true) or enable (false); a disabled user's tokens stop working at once.
    pub disabled: Option<bool>,
    /// A new password (at least 12 characters).
    pub password: Option<String>,
}

/// Validates a username: 1–64 characters, no whitespace or control characters.
pub fn check_username(username: &str, errors: &mut Vec<FieldError>) {
    if username.is_empty() || username.chars().count() > 64 {
        errors.push(FieldError::new("username", "must be 1 to 64 characters"));
    } else if username
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        errors.push(FieldError::new(
            "username",
            "must not contain spaces or control characters",
        ));
    }
}

/// Validates a password's length (and an upper bound so hashing stays cheap to refuse).
pub fn check_password(password: &str, errors: &mut Vec<FieldError>) {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        errors.push(FieldError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    } else if n > 1024 {
        errors.push(FieldError::new(
            "password",
            "must be at most 1024 characters",
        ));
    }
}

/// The rules tying a role to its chapter or hospital.
pub fn check_binding(
    role: Role,
    chapter_id: Option<&str>,
    hospital_id: Option<&str>,
    errors: &mut Vec<FieldError>,
) {
    match (role, chapter_id, hospital_id) {
        (Role::Coordinator, None, _) => {
            errors.push(FieldError::new("chapter_id", "required for a coordinator"))
        }
        (Role::Hospital, _, None) => errors.push(FieldError::new(
            "hospital_id",
            "required for a hospital user",
        )),
        _ => {}
    }
    if role != Role::Coordinator && chapter_id.is_some() {
        errors.push(FieldError::new(
            "chapter_id",
            "only coordinators belong to a chapter",
        ));
    }
    if role != Role::Hospital && hospital_id.is_some() {
        errors.push(FieldError::new(
            "hospital_id",
            "only hospital users belong to a hospital",
        ));
    }
}

/// Creates a user in a transaction: checks the chapter or hospital exists; a taken username is
/// 409. Shared by the API and `hienmau user create`.
pub fn insert_user(conn: &mut hienmau_db::DbConn, row: &User) -> Result<(), ApiError> {
    if let Some(c) = &row.chapter_id {
        if chapters::find(conn, c)?.is_none() {
            return Err(ApiError::field("chapter_id", "no such chapter"));
        }
    }
    if let Some(h) = &row.hospital_id {
        if hospitals::find(conn, h)?.is_none() {
            return Err(ApiError::field("hospital_id", "no such hospital"));
        }
    }
    users::insert(conn, row).map_err(|e| match e {
        e if e.is_unique_on("username")
            || matches!(e, hienmau_db::DbError::UniqueViolation { .. }) =>
        {
            ApiError::Conflict {
                detail: "username is taken".to_owned(),
                existing_id: None,
            }
        }
        e => e.into(),
    })
}

/// Lists users (admin), by username.
#[utoipa::path(get, path = "/api/v1/users", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = ListResponse<UserOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let limit = paging.limit()?;
    let after = paging.after()?;
    let page = state
        .db(move |conn| Ok(users::list(conn, after.as_deref(), limit)?))
        .await?;
    let items = page
        .items
        .into_iter()
        .map(UserOut::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(ListResponse {
        items,
        next_cursor: page.next.as_deref().map(crate::http::dto::encode_cursor),
    }))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "organisation", request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    let username = body.username.trim().to_owned();
    check_username(&username, &mut errors);
    check_password(&body.password, &mut errors);
    let chapter_id = body.chapter_id.map(|c| c.to_string());
    let hospital_id = body.hospital_id.map(|h| h.to_string());
    check_binding(
        body.role,
        chapter_id.as_deref(),
        hospital_id.as_deref(),
        &mut errors,
    );
    ApiError::check(errors)?;
    let password_hash = state.hasher.hash(body.password).await?;
    let now = hienmau_db::now();
    let row = User {
        id: hienmau_db::new_id(),
        username,
        password_hash,
        role: body.role.as_str().to_owned(),
        chapter_id,
        hospital_id,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let row = state
        .write_http(move |conn| {
            insert_user(conn, &row)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "user_created",
                    serde_json::json!({ "user_id": row.id, "role": row.role }),
                ),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Created().json(UserOut::try_from(row)?))
}

/// Disables, enables or resets the password of a user (admin).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organisation", request_body = UserPatch,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid password", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut errors = Vec::new();
    if let Some(p) = &body.password {
        check_password(p, &mut errors);
    }
    ApiError::check(errors)?;
    let password_hash = match body.password {
        Some(p) => Some(state.hasher.hash(p).await?),
        None => None,
    };
    let id = id.into_inner().to_string();
    let changes = UserChanges {
        password_hash,
        disabled: body.disabled,
        updated_at: Some(hienmau_db::now()),
    };
    let row = state
        .write_http(move |conn| {
            let row = users::update(conn, &id, &changes)?;
            audit::append(
                conn,
                AuditRecord::by(
                    &user,
                    "user_updated",
                    serde_json::json!({
                        "user_id": id,
                        "disabled": changes.disabled,
                        "password_reset": changes.password_hash.is_some(),
                    }),
                ),
            )?;
            Ok(row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::try_from(row)?))
}

/// `hienmau user create`: the same rules as `POST /users`, without a caller.
pub fn create_user_blocking(
    state: &AppState,
    username: &str,
    password: &str,
    role: Role,
    chapter_id: Option<String>,
    hospital_id: Option<String>,
) -> Result<String, String> {
    let mut errors = Vec::new();
    check_username(username, &mut errors);
    check_password(password, &mut errors);
    check_binding(
        role,
        chapter_id.as_deref(),
        hospital_id.as_deref(),
        &mut errors,
    );
    ApiError::check(errors).map_err(|e| e.to_string())?;
    let now = hienmau_db::now();
    let row = User {
        id: hienmau_db::new_id(),
        username: username.to_owned(),
        password_hash: crate::http::auth::password::hash_blocking(password)?,
        role: role.as_str().to_owned(),
        chapter_id,
        hospital_id,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    hienmau_db::write_tx(&mut conn, |conn| {
        insert_user(conn, &row)?;
        audit::append(
            conn,
            AuditRecord::system(
                "user_created",
                serde_json::json!({ "user_id": row.id, "role": row.role, "via": "cli" }),
            ),
        )?;
        Ok::<_, ApiError>(())
    })
    .map_err(|e| e.to_string())?;
    Ok(row.id)
}
