//! The donor registry's request and response types (see `app::donors` for the rules).

use chrono::{DateTime, NaiveDate, Utc};
use hienmau_domain::{DonorDraft, Sex};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::donors::{DonorView, Edit, Registration, Search};
use crate::http::dto::{ListResponse, Paging};

/// A donor as the API shows it: the stored person plus the figures derived from the records.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonorOut {
    /// Id.
    pub id: String,
    /// Full name as written on the citizen id.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// `male` or `female`.
    #[schema(example = "female")]
    pub sex: String,
    /// Citizen id (CCCD), 12 digits; unique.
    pub national_id: Option<String>,
    /// `O+ O- A+ A- B+ B- AB+ AB-`; null until tested.
    pub blood_group: Option<String>,
    /// Mobile number in the national form `0912345678`.
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// Last recorded weight.
    pub weight_kg: Option<f64>,
    /// In the emergency reserve.
    pub reserve: bool,
    /// The day the donor consented to the emergency reserve; null when not in it.
    pub reserve_since: Option<NaiveDate>,
    /// Donations made before the system (paper records).
    pub prior_donations: i32,
    /// The day of the last prior donation, when known (counts as whole blood).
    pub prior_last_donation_on: Option<NaiveDate>,
    /// `prior_donations` + collected donations recorded (voided ones excluded).
    pub donation_count: i32,
    /// The last recorded donation (UTC); else the start of `prior_last_donation_on` in the
    /// configured zone; else null.
    pub last_donation_at: Option<DateTime<Utc>>,
    /// The first day from today a whole-blood donation would be allowed by the date rules;
    /// null when never.
    pub next_eligible_on: Option<NaiveDate>,
    /// `donation_count` ≥ the lowest honor tier.
    pub honor_eligible: bool,
    /// The highest tier reached with no award at that tier or above, else null.
    pub honor_due_tier: Option<i32>,
    /// The chapter that registered the donor (null for donors registered without one).
    pub chapter_id: Option<String>,
}

impl From<DonorView> for DonorOut {
    fn from(v: DonorView) -> Self {
        let (row, f) = (v.donor, v.figures);
        DonorOut {
            id: row.id,
            full_name: row.full_name,
            date_of_birth: row.date_of_birth,
            sex: row.sex,
            national_id: row.national_id,
            blood_group: row.blood_group,
            phone: row.phone,
            province: row.province,
            commune: row.commune,
            weight_kg: row.weight_kg,
            reserve: row.reserve,
            reserve_since: row.reserve_since,
            prior_donations: row.prior_donations,
            prior_last_donation_on: row.prior_last_donation_on,
            donation_count: f.donation_count,
            last_donation_at: f.last_donation_at,
            next_eligible_on: f.next_eligible_on,
            honor_eligible: f.honor_eligible,
            honor_due_tier: f.honor_due_tier,
            chapter_id: row.chapter_id,
        }
    }
}

/// A donor in the brief view (`GET /donors?view=brief`, for search as you type): who the person
/// is, without the citizen id, the phone or anything else.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DonorBrief {
    /// Id.
    pub id: String,
    /// Full name as written on the citizen id.
    pub full_name: String,
    /// Date of birth.
    pub date_of_birth: NaiveDate,
    /// `male` or `female`.
    #[schema(example = "female")]
    pub sex: String,
    /// `O+ O- A+ A- B+ B- AB+ AB-`; null until tested.
    pub blood_group: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
}

impl From<hienmau_db::models::Donor> for DonorBrief {
    fn from(row: hienmau_db::models::Donor) -> Self {
        DonorBrief {
            id: row.id,
            full_name: row.full_name,
            date_of_birth: row.date_of_birth,
            sex: row.sex,
            blood_group: row.blood_group,
            commune: row.commune,
        }
    }
}

/// `GET /donors`' answer: a page of [`DonorOut`] (the full view, the default) or of
/// [`DonorBrief`] (`view=brief`). `anyOf` rather than `oneOf`: an empty page is both.
pub struct DonorPage;

impl utoipa::PartialSchema for DonorPage {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::AnyOfBuilder;
        use utoipa::openapi::Ref;
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(FULL_PAGE))
            .item(Ref::from_schema_name(BRIEF_PAGE))
            .description(Some(
                "A page of donors: `DonorOut` items in the full view, `DonorBrief` items with \
                 `view=brief`",
            ))
            .into()
    }
}

/// The names the two pages are documented under (as utoipa names a generic instance).
const FULL_PAGE: &str = "ListResponse_DonorOut";
const BRIEF_PAGE: &str = "ListResponse_DonorBrief";

impl ToSchema for DonorPage {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push((FULL_PAGE.to_owned(), ListResponse::<DonorOut>::schema()));
        schemas.push((BRIEF_PAGE.to_owned(), ListResponse::<DonorBrief>::schema()));
        // The pages refer to their items by name: register them too.
        schemas.push((DonorOut::name().into_owned(), DonorOut::schema()));
        schemas.push((DonorBrief::name().into_owned(), DonorBrief::schema()));
        <DonorOut as ToSchema>::schemas(schemas);
        <DonorBrief as ToSchema>::schemas(schemas);
    }
}

/// Which fields `GET /donors` answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DonorListView {
    /// Every field, CCCD and phone included: audited and counted against the caller's hourly
    /// budget.
    #[default]
    Full,
    /// `id`, `full_name`, `date_of_birth`, `sex`, `blood_group`, `commune`: neither audited nor
    /// counted.
    Brief,
}

/// `male` or `female`, as the documentation lists it.
#[derive(Debug, Clone, Copy, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SexName {
    /// Male.
    Male,
    /// Female.
    Female,
}

/// A new donor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDonor {
    /// Full name as written on the citizen id.
    #[schema(example = "Giàng Thị Dung")]
    pub full_name: String,
    /// Date of birth, not in the future, not before 1900.
    pub date_of_birth: NaiveDate,
    /// `male` or `female` (any other value is 400).
    #[schema(value_type = SexName, example = "female")]
    pub sex: Sex,
    /// Citizen id (CCCD): 12 digits agreeing with sex and date of birth; unique.
    #[schema(example = "010195012345")]
    pub national_id: Option<String>,
    /// `O+ O- A+ A- B+ B- AB+ AB-` (another value is 422).
    #[schema(example = "O+")]
    pub blood_group: Option<String>,
    /// Vietnamese mobile number, `0912345678` or `+84912345678` (spaces, dots, dashes allowed).
    pub phone: Option<String>,
    /// Province of residence.
    pub province: Option<String>,
    /// Commune or ward of residence.
    pub commune: Option<String>,
    /// Weight in kg, above 0 and below 300.
    pub weight_kg: Option<f64>,
    /// Consents to the emergency reserve (default false); sets `reserve_since` to today.
    pub reserve: Option<bool>,
    /// Donations before the system, 0 to 1000 (default 0).
    pub prior_donations: Option<i64>,
    /// The day of the last prior donation: not in the future, not before the date of birth,
    /// and only with `prior_donations` above 0 (422 otherwise).
    pub prior_last_donation_on: Option<NaiveDate>,
    /// The registering chapter: an admin must give it (422 otherwise); a coordinator's
    /// defaults to its own chapter and may be one in its scope (outside it: 404). An unknown
    /// chapter is 422.
    pub chapter_id: Option<Uuid>,
}

/// Changes to a donor: only the fields given change; `null` clears an optional field. The
/// merged record must pass the same rules as a new donor.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DonorPatch {
    /// Full name (cannot be null).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = String, required = false)]
    pub full_name: Option<Option<String>>,
    /// Date of birth (cannot be null).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = NaiveDate, required = false)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    /// `male` or `female` (cannot be null).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = SexName, required = false)]
    pub sex: Option<Option<Sex>>,
    /// Citizen id; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub national_id: Option<Option<String>>,
    /// Blood group; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub blood_group: Option<Option<String>>,
    /// Phone; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub phone: Option<Option<String>>,
    /// Province; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub province: Option<Option<String>>,
    /// Commune; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<String>, nullable)]
    pub commune: Option<Option<String>>,
    /// Weight; null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<f64>, nullable)]
    pub weight_kg: Option<Option<f64>>,
    /// true joins the reserve (keeping an earlier consent date); false withdraws at once
    /// (cannot be null).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = bool, required = false)]
    pub reserve: Option<Option<bool>>,
    /// Prior donations, 0 to 1000 (cannot be null).
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = i64, required = false)]
    pub prior_donations: Option<Option<i64>>,
    /// Day of the last prior donation; null clears it. Only with `prior_donations` above 0
    /// (the stored count when the patch gives none): 422 otherwise.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<NaiveDate>, nullable)]
    pub prior_last_donation_on: Option<Option<NaiveDate>>,
}

impl From<NewDonor> for Registration {
    fn from(body: NewDonor) -> Self {
        Registration {
            draft: DonorDraft {
                full_name: body.full_name,
                date_of_birth: body.date_of_birth,
                sex: body.sex,
                national_id: body.national_id,
                blood_group: body.blood_group,
                phone: body.phone,
                province: body.province,
                commune: body.commune,
                weight_kg: body.weight_kg,
                prior_donations: body.prior_donations.unwrap_or(0),
                prior_last_donation_on: body.prior_last_donation_on,
            },
            reserve: body.reserve.unwrap_or(false),
            chapter_id: body.chapter_id.map(|c| c.to_string()),
        }
    }
}

impl From<DonorPatch> for Edit {
    fn from(p: DonorPatch) -> Self {
        Edit {
            full_name: p.full_name,
            date_of_birth: p.date_of_birth,
            sex: p.sex,
            national_id: p.national_id,
            blood_group: p.blood_group,
            phone: p.phone,
            province: p.province,
            commune: p.commune,
            weight_kg: p.weight_kg,
            reserve: p.reserve,
            prior_donations: p.prior_donations,
            prior_last_donation_on: p.prior_last_donation_on,
        }
    }
}

/// `GET /donors` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DonorQuery {
    /// Words that must all appear in the name (case and Vietnamese diacritics ignored, any
    /// order), or an exact national id, or a phone number in any accepted form. At most 200
    /// characters; control characters are 422.
    #[param(max_length = 200)]
    pub q: Option<String>,
    /// Only this blood group (`O+ O- A+ A- B+ B- AB+ AB-`; another value is 400).
    #[param(pattern = r"^((O|A|B|AB)[+-])?$")]
    pub blood_group: Option<String>,
    /// Only reserve members (true) or only non-members (false).
    pub reserve: Option<bool>,
    /// Items per page: default 50, at most 500 (larger values are capped); negative is 400.
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `full` (default: every field; audited and counted against the caller's budget of donors
    /// shown per hour) or `brief` (no CCCD, no phone: for search as you type; neither; `q`
    /// matches names only there: a CCCD or phone look-up uses the full view). Another value is
    /// 400.
    #[param(inline)]
    pub view: Option<DonorListView>,
}

impl DonorQuery {
    /// The view asked for.
    pub fn view(&self) -> DonorListView {
        self.view.unwrap_or_default()
    }

    /// The search and the paging parameters.
    pub fn split(self) -> (Search, Paging) {
        let search = Search {
            q: self.q,
            blood_group: self.blood_group,
            reserve: self.reserve,
        };
        let paging = Paging {
            limit: self.limit,
            cursor: self.cursor,
        };
        (search, paging)
    }
}

/// `GET /donors/{id}/eligibility` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibilityParams {
    /// Required: `whole_blood`, `red_cells`, `platelets` or `plasma` (another value is 400;
    /// none is 422 with `errors: [{"field": "component", "code": "required"}]`).
    #[param(value_type = Option<crate::http::dto::emergency::ComponentName>)]
    pub component: Option<hienmau_domain::Component>,
    /// The day to judge (`YYYY-MM-DD`, in the configured zone); today when absent.
    pub on: Option<NaiveDate>,
    /// The weight measured at screening (kg, above 0 and below 300); the donor's weight on
    /// record when absent.
    pub weight_kg: Option<f64>,
}

impl From<EligibilityParams> for crate::app::screening::EligibilityQuery {
    fn from(p: EligibilityParams) -> Self {
        Self {
            component: p.component,
            on: p.on,
            weight_kg: p.weight_kg,
        }
    }
}

/// Why a donor may not give: a stable code (translate by it).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum EligibilityReason {
    /// A permanent deferral is on record (`next_eligible_on` null).
    PermanentlyDeferred,
    /// Younger than the minimum age (`next_eligible_on`: the birthday).
    TooYoung,
    /// Older than the maximum age (`next_eligible_on` null).
    TooOld,
    /// A temporary deferral is in force (`next_eligible_on`: its end, or later).
    Deferred,
    /// Too close to another donation (`next_eligible_on`: the interval's end).
    Interval,
    /// Lighter than the minimum for the component (`next_eligible_on` null).
    Underweight,
    /// No weight given and none on record: weigh the donor (`next_eligible_on` null). Judged
    /// after the date-based rules, which answer first when they refuse.
    WeightRequired,
}

/// May the donor give this component on this day? The same rules as recording a donation.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityOut {
    /// True when a collection of the component on `on`, at `weight_kg`, up to
    /// `max_volume_ml`, would be accepted.
    pub eligible: bool,
    /// Null when eligible.
    #[schema(value_type = Option<EligibilityReason>)]
    pub reason: Option<&'static str>,
    /// Eligible: `on` itself. Not eligible: the first day the date-based rules allow; null
    /// when waiting does not help (`permanently_deferred`, `too_old`, `underweight`,
    /// `weight_required`).
    pub next_eligible_on: Option<NaiveDate>,
    /// Eligible: the largest volume this donor may give of the component (ml: the bag to
    /// preset); null otherwise.
    pub max_volume_ml: Option<i32>,
    /// The day judged.
    pub on: NaiveDate,
    /// The weight judged on (given, else on record); null when neither.
    pub weight_kg: Option<f64>,
}

impl From<crate::app::screening::Eligibility> for EligibilityOut {
    fn from(e: crate::app::screening::Eligibility) -> Self {
        Self {
            eligible: e.eligible,
            reason: e.reason,
            next_eligible_on: e.next_eligible_on,
            max_volume_ml: e.max_volume_ml,
            on: e.on,
            weight_kg: e.weight_kg,
        }
    }
}

/// The stored answer of a registration: 201 with the donor (what an `Idempotency-Key` repeat
/// answers again).
pub fn created(
    view: DonorView,
) -> Result<crate::app::idempotency::StoredResponse, crate::app::AppError> {
    Ok(crate::app::idempotency::StoredResponse {
        status: 201,
        body: serde_json::to_string(&DonorOut::from(view))
            .map_err(crate::app::AppError::internal)?,
    })
}

/// The `Location` of the donor a stored registration answer holds.
pub fn created_location(stored: &crate::app::idempotency::StoredResponse) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(&stored.body).ok()?;
    let id = body.get("id")?.as_str()?;
    Some(crate::http::dto::location("/donors", id))
}
