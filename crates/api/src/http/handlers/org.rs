//! Organisation: chapters, hospitals, users.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use crate::app::org::{self, CreatedBy, UserUpdate};
use crate::http::auth::Actor;
use crate::http::dto::org::{
    ChapterOut, HospitalOut, NewChapter, NewHospital, NewUser, UserOut, UserPatch,
};
use crate::http::error::{ApiError, Problem};
use crate::http::handlers::Json;
use crate::http::handlers::{ListResponse, Paging};
use crate::http::state::AppState;

/// Lists chapters (any role), parents before children.
#[utoipa::path(get, path = "/api/v1/chapters", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Chapters", body = ListResponse<ChapterOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_chapters(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = (paging.limit()?, paging.after()?);
    let page = state
        .read(move |conn| org::list_chapters(conn, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, ChapterOut::from)))
}

/// Creates a chapter (admin).
#[utoipa::path(post, path = "/api/v1/chapters", tag = "organisation", request_body = NewChapter,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = ChapterOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid name or unknown parent", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_chapter(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewChapter>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let chapter = state
        .write(move |tx| org::create_chapter(tx, &user, cmd))
        .await?;
    Ok(HttpResponse::Created().json(ChapterOut::from(chapter)))
}

/// Lists hospitals (admin).
#[utoipa::path(get, path = "/api/v1/hospitals", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Hospitals", body = ListResponse<HospitalOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_hospitals(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = (paging.limit()?, paging.after()?);
    let page = state
        .read(move |conn| org::list_hospitals(conn, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(ListResponse::from_page(page, HospitalOut::from)))
}

/// Creates a hospital (admin).
#[utoipa::path(post, path = "/api/v1/hospitals", tag = "organisation", request_body = NewHospital,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = HospitalOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_hospital(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewHospital>,
) -> Result<HttpResponse, ApiError> {
    let cmd = body.into_inner().into();
    let hospital = state
        .write(move |tx| org::create_hospital(tx, &user, cmd))
        .await?;
    Ok(HttpResponse::Created().json(HospitalOut::from(hospital)))
}

/// Lists users (admin), by username.
#[utoipa::path(get, path = "/api/v1/users", tag = "organisation", params(Paging),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Users", body = ListResponse<UserOut>),
        (status = 400, description = "Bad paging", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_users(
    state: web::Data<AppState>,
    _user: Actor,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, after) = (paging.limit()?, paging.after()?);
    let page = state
        .read(move |conn| org::list_users(conn, after.as_deref(), limit))
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::page(page)?))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "organisation", request_body = NewUser,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = UserOut),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_user(
    state: web::Data<AppState>,
    user: Actor,
    body: Json<NewUser>,
) -> Result<HttpResponse, ApiError> {
    let account: org::NewAccount = body.into_inner().into();
    org::check_new_user(&account)?;
    let password_hash = state.hasher.hash(account.password.clone()).await?;
    let cmd = account.with_hash(password_hash);
    let created = state
        .write(move |tx| org::create_user(tx, CreatedBy::Actor(&user), cmd))
        .await?;
    Ok(HttpResponse::Created().json(UserOut::try_from(created)?))
}

/// Disables, enables, resets the password of or changes the role of a user (admin); the
/// user's earlier tokens stop working.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organisation", request_body = UserPatch,
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Updated", body = UserOut),
        (status = 400, description = "Unreadable body or id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The last active admin cannot be disabled or given another role", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid password, or a role without the chapter or hospital it needs", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_user(
    state: web::Data<AppState>,
    user: Actor,
    id: web::Path<Uuid>,
    body: Json<UserPatch>,
) -> Result<HttpResponse, ApiError> {
    let UserPatch {
        disabled,
        password,
        role,
        chapter_id,
        hospital_id,
    } = body.into_inner();
    let password_hash = match password {
        Some(p) => {
            org::check_new_password(&p)?;
            Some(state.hasher.hash(p).await?)
        }
        None => None,
    };
    let id = id.into_inner().to_string();
    let update = UserUpdate {
        disabled,
        password_hash,
        role,
        chapter_id: chapter_id.map(|c| c.to_string()),
        hospital_id: hospital_id.map(|h| h.to_string()),
    };
    let updated = state
        .write(move |tx| org::update_user(tx, &user, &id, update))
        .await?;
    Ok(HttpResponse::Ok().json(UserOut::try_from(updated)?))
}
