//! `hienmau demo`: a demonstration province modelled on the Lào Cai Red Cross's 2023 report
//! (16 drives including the Tết campaign, 7/4, "Những giọt máu hồng" and "Hành trình đỏ";
//! about 6,500 units at events; emergency units from the reserve; donors due honors).
//!
//! Every donation goes through the API's one donation path (`app::donations::log`, and
//! `app::emergency::give` for emergency units), so every
//! donation respects the intervals, ages and volumes of the rules in force. The data is
//! deterministic (a fixed seed); only the passwords are random. Loading is idempotent: the
//! provincial chapter's name marks a loaded database.

use std::collections::HashSet;

use chrono::{Datelike, NaiveDate};
use hienmau_db::models::{Drive, EmergencyRequest, Event, Hospital};
use hienmau_db::repo::{chapters, drives, emergency, events, hospitals};
use hienmau_db::DbConn;
use hienmau_domain::text::fold;
use hienmau_domain::{
    compatibility, BloodGroup, Component, DonorDraft, RequestStatus, Sex, Urgency,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::app::donations::{self as donation, NewDonation, Outcome, Target};
use crate::app::donors as app_donors;
use crate::app::org::{self, CreatedBy, NewAccount};
use crate::http::auth::Role;
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The provincial chapter: its presence means the demo is loaded.
pub const PROVINCE: &str = "Hội Chữ thập đỏ tỉnh Lào Cai";

const CHAPTERS: [&str; 9] = [
    "Hội Chữ thập đỏ thành phố Lào Cai",
    "Hội Chữ thập đỏ thị xã Sa Pa",
    "Hội Chữ thập đỏ huyện Bảo Thắng",
    "Hội Chữ thập đỏ huyện Bát Xát",
    "Hội Chữ thập đỏ huyện Văn Bàn",
    "Hội Chữ thập đỏ huyện Bảo Yên",
    "Hội Chữ thập đỏ huyện Bắc Hà",
    "Hội Chữ thập đỏ huyện Mường Khương",
    "Hội Chữ thập đỏ huyện Si Ma Cai",
];

const COMMUNES: [&str; 12] = [
    "Phường Cốc Lếu",
    "Phường Kim Tân",
    "Phường Duyên Hải",
    "Phường Sa Pa",
    "Xã Bảo Thắng",
    "Xã Bát Xát",
    "Xã Văn Bàn",
    "Xã Bảo Yên",
    "Xã Bắc Hà",
    "Xã Mường Khương",
    "Xã Si Ma Cai",
    "Xã Phong Hải",
];

const FAMILY: [(&str, u32); 16] = [
    ("Nguyễn", 30),
    ("Trần", 10),
    ("Lê", 8),
    ("Phạm", 6),
    ("Hoàng", 6),
    ("Vũ", 4),
    ("Đặng", 4),
    ("Bùi", 3),
    ("Đỗ", 3),
    ("Giàng", 5),
    ("Lò", 4),
    ("Vàng", 4),
    ("Sùng", 3),
    ("Lý", 3),
    ("Thào", 3),
    ("Nông", 4),
];
const MALE_MIDDLE: [&str; 5] = ["Văn", "Đức", "Minh", "Quang", "A"];
const FEMALE_MIDDLE: [&str; 4] = ["Thị", "Thu", "Ngọc", "Thị"];
const MALE_GIVEN: [&str; 14] = [
    "Hùng", "Dũng", "Tuấn", "Nam", "Long", "Sơn", "Thắng", "Chiến", "Páo", "Sử", "Cường", "Hải",
    "Quân", "Phong",
];
const FEMALE_GIVEN: [&str; 14] = [
    "Dung", "Lan", "Hương", "Mai", "Hoa", "Linh", "Thảo", "Dợ", "Mỷ", "Chi", "Ánh", "Hằng",
    "Nhung", "Trang",
];

/// (name, chapter index or None for the province, first day, last day, target units, events)
type DrivePlan = (
    &'static str,
    Option<usize>,
    (u32, u32),
    (u32, u32),
    i32,
    &'static [&'static str],
);

/// The year's 16 drives; units are spread over their events.
const DRIVES: [DrivePlan; 16] = [
    (
        "Chiến dịch hiến máu tình nguyện Tết Nguyên đán 2023",
        None,
        (1, 3),
        (2, 15),
        900,
        &[
            "Nhà văn hóa tỉnh Lào Cai",
            "Trường Cao đẳng Lào Cai",
            "Bệnh viện Đa khoa tỉnh Lào Cai",
        ],
    ),
    (
        "Ngày hội hiến máu Xuân hồng Sa Pa",
        Some(1),
        (2, 20),
        (2, 28),
        250,
        &["Quảng trường Sa Pa"],
    ),
    (
        "Hiến máu tình nguyện Bảo Thắng đợt 1",
        Some(2),
        (3, 10),
        (3, 12),
        300,
        &["Trung tâm Y tế Bảo Thắng"],
    ),
    (
        "Ngày toàn dân hiến máu tình nguyện 7/4/2023",
        None,
        (4, 1),
        (4, 15),
        1000,
        &[
            "Quảng trường Trung tâm tỉnh",
            "Trường Đại học Lào Cai",
            "Nhà văn hóa phường Kim Tân",
        ],
    ),
    (
        "Hiến máu tình nguyện Bát Xát",
        Some(3),
        (5, 5),
        (5, 7),
        220,
        &["Nhà văn hóa Bát Xát"],
    ),
    (
        "Ngày Quốc tế người hiến máu 14/6/2023",
        Some(0),
        (6, 10),
        (6, 18),
        420,
        &["Nhà văn hóa thành phố Lào Cai", "Phường Cốc Lếu"],
    ),
    (
        "Những giọt máu hồng hè 2023",
        None,
        (6, 20),
        (8, 31),
        1100,
        &[
            "Nhà văn hóa tỉnh Lào Cai",
            "Trường THPT số 1 Lào Cai",
            "Khu công nghiệp Tằng Loỏng",
        ],
    ),
    (
        "Hành trình đỏ 2023",
        None,
        (7, 10),
        (7, 25),
        600,
        &["Quảng trường Trung tâm tỉnh", "Sa Pa"],
    ),
    (
        "Hiến máu tình nguyện Văn Bàn",
        Some(4),
        (8, 15),
        (8, 17),
        200,
        &["Trung tâm Y tế Văn Bàn"],
    ),
    (
        "Hiến máu tình nguyện Bảo Yên",
        Some(5),
        (9, 8),
        (9, 10),
        200,
        &["Nhà văn hóa Bảo Yên"],
    ),
    (
        "Hiến máu tình nguyện Bắc Hà",
        Some(6),
        (9, 22),
        (9, 24),
        150,
        &["Chợ văn hóa Bắc Hà"],
    ),
    (
        "Hiến máu tình nguyện Mường Khương",
        Some(7),
        (10, 6),
        (10, 8),
        150,
        &["Trung tâm Y tế Mường Khương"],
    ),
    (
        "Tháng nhân đạo: giọt máu nghĩa tình",
        Some(0),
        (10, 15),
        (10, 31),
        380,
        &["Nhà văn hóa thành phố Lào Cai"],
    ),
    (
        "Hiến máu tình nguyện Si Ma Cai",
        Some(8),
        (11, 3),
        (11, 5),
        100,
        &["Nhà văn hóa Si Ma Cai"],
    ),
    (
        "Hiến máu tình nguyện Bảo Thắng đợt 2",
        Some(2),
        (11, 20),
        (11, 22),
        200,
        &["Trung tâm Y tế Bảo Thắng"],
    ),
    (
        "Hiến máu cuối năm 2023",
        Some(0),
        (12, 5),
        (12, 20),
        374,
        &["Trường Cao đẳng Lào Cai"],
    ),
];

/// Units taken from the reserve for hospital patients during the year (the report: 461).
/// The deferral reasons of the demonstration's screenings: codes of the default catalogue
/// (minimum 7 or 28 days; the demonstration defers for 28).
const DEMO_DEFERRALS: [&str; 4] = [
    "low_hemoglobin",
    "blood_pressure",
    "flu_cold",
    "infection_cured",
];
const EMERGENCY_UNITS: usize = 461;
const DONORS: usize = 4_200;

/// An account the demo created, with its one-time password.
#[derive(Debug, Clone)]
pub struct Account {
    /// Username.
    pub username: String,
    /// Password (printed once; stored hashed).
    pub password: String,
    /// Role.
    pub role: Role,
    /// What it is bound to.
    pub scope: String,
}

/// What `hienmau demo` did.
#[derive(Debug, Clone)]
pub enum DemoResult {
    /// Loaded now.
    Loaded {
        /// The accounts created.
        accounts: Vec<Account>,
        /// Figures to print.
        summary: Summary,
    },
    /// Found already loaded; nothing written.
    AlreadyLoaded,
}

/// Counts of what was loaded.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Chapters.
    pub chapters: usize,
    /// Donors.
    pub donors: usize,
    /// Drives.
    pub drives: usize,
    /// Events.
    pub events: usize,
    /// Collected units at events.
    pub drive_units: usize,
    /// Deferrals recorded.
    pub deferrals: usize,
    /// Units for emergency requests.
    pub emergency_units: usize,
    /// A drive to look at first.
    pub first_drive_id: String,
}

struct Person {
    id: String,
    dob: NaiveDate,
    weight: f64,
    /// The first day the scheduler offers this donor again (the rules still decide).
    next_ok: NaiveDate,
    reserve: bool,
    /// The blood group on record (emergency units go to compatible patients only).
    group: Option<BloodGroup>,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, m, d).unwrap_or(NaiveDate::MIN)
}

fn password(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..16)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A CCCD consistent with sex and birth year: Lào Cai's province code 010.
fn national_id(
    rng: &mut StdRng,
    female: bool,
    dob: NaiveDate,
    taken: &mut HashSet<String>,
) -> String {
    let century = if dob.year() >= 2000 { 2 } else { 0 } + u32::from(female);
    loop {
        let id = format!(
            "010{}{:02}{:06}",
            century,
            dob.year() % 100,
            rng.gen_range(0..1_000_000)
        );
        if taken.insert(id.clone()) {
            return id;
        }
    }
}

fn blood_group(rng: &mut StdRng) -> BloodGroup {
    // Vietnam: O ~43 %, B ~30 %, A ~21 %, AB ~6 %; RhD− is rare (~0.1 %), shown a little more
    // often here so the reserve has Rh− donors to find.
    let abo = match rng.gen_range(0..100) {
        0..=42 => "O",
        43..=72 => "B",
        73..=93 => "A",
        _ => "AB",
    };
    let rh = if rng.gen_range(0..1000) < 8 { "-" } else { "+" };
    BloodGroup::parse(&format!("{abo}{rh}")).unwrap_or(BloodGroup::OPos)
}

/// Loads the demonstration data unless it is there already.
pub fn load(state: &AppState) -> Result<DemoResult, ApiError> {
    let mut conn = state.pool.get().map_err(|_| ApiError::Unavailable)?;
    let conn: &mut DbConn = &mut conn;
    if chapters::find_by_name(conn, PROVINCE)?.is_some() {
        return Ok(DemoResult::AlreadyLoaded);
    }
    // Hash outside the transaction: argon2 is slow on purpose.
    let mut pw_rng = rand::rngs::OsRng;
    let plans = [
        ("demo.admin", Role::Admin),
        ("demo.coordinator", Role::Coordinator),
        ("demo.coordinator.laocai", Role::Coordinator),
        ("demo.hospital", Role::Hospital),
        ("demo.honors", Role::Honors),
    ];
    let mut hashed = Vec::new();
    for (username, role) in plans {
        let pw = password(&mut pw_rng);
        let hash = crate::http::auth::password::hash_blocking(&pw).map_err(ApiError::internal)?;
        hashed.push((username, role, pw, hash));
    }
    hienmau_db::write_tx(conn, |conn| {
        // Checked again under the write lock: two concurrent runs load once.
        if chapters::find_by_name(conn, PROVINCE)?.is_some() {
            return Ok(DemoResult::AlreadyLoaded);
        }
        load_in(conn, state, hashed)
    })
}

fn load_in(
    conn: &mut DbConn,
    state: &AppState,
    hashed: Vec<(&str, Role, String, String)>,
) -> Result<DemoResult, ApiError> {
    let mut rng = StdRng::seed_from_u64(2023);
    let now = hienmau_db::now();
    let mut summary = Summary::default();

    let province = chapters::insert(conn, &hienmau_db::new_id(), PROVINCE, None)?;
    let mut chapter_ids = Vec::new();
    for name in CHAPTERS {
        chapter_ids
            .push(chapters::insert(conn, &hienmau_db::new_id(), name, Some(&province.id))?.id);
    }
    summary.chapters = 1 + chapter_ids.len();
    let hospital = Hospital {
        id: hienmau_db::new_id(),
        name: "Bệnh viện Đa khoa tỉnh Lào Cai".to_owned(),
        province: Some("Lào Cai".to_owned()),
        commune: Some("Phường Cốc Lếu".to_owned()),
        created_at: now,
    };
    hospitals::insert(conn, &hospital)?;

    let mut accounts = Vec::new();
    for (username, role, password, hash) in hashed {
        let (chapter_id, hospital_id, scope) = match (role, username) {
            (Role::Coordinator, "demo.coordinator") => {
                (Some(province.id.clone()), None, PROVINCE.to_owned())
            }
            (Role::Coordinator, _) => (Some(chapter_ids[0].clone()), None, CHAPTERS[0].to_owned()),
            (Role::Hospital, _) => (None, Some(hospital.id.clone()), hospital.name.clone()),
            _ => (None, None, "the whole province".to_owned()),
        };
        let account = NewAccount {
            username: username.to_owned(),
            password: password.clone(),
            role,
            chapter_id,
            hospital_id,
        };
        org::check_new_user(&account)?;
        org::create_user(
            conn,
            CreatedBy::Operator { via: "demo" },
            account.with_hash(hash),
        )?;
        accounts.push(Account {
            username: username.to_owned(),
            password,
            role,
            scope,
        });
    }

    let interval_days = u64::try_from(state.settings.eligibility.long_interval_days).unwrap_or(84);
    // Donors, through the one registration path.
    let app_ctx = state.ctx();
    let mut people = Vec::with_capacity(DONORS);
    let mut taken = HashSet::new();
    for i in 0..DONORS {
        let female = rng.gen_range(0..100) < 45;
        let weights: Vec<u32> = FAMILY.iter().map(|(_, w)| *w).collect();
        let total: u32 = weights.iter().sum();
        let mut roll = rng.gen_range(0..total);
        let family = FAMILY
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map(|(f, _)| *f)
            .unwrap_or("Nguyễn");
        let (middle, given) = if female {
            (
                pick(&mut rng, &FEMALE_MIDDLE),
                pick(&mut rng, &FEMALE_GIVEN),
            )
        } else {
            (pick(&mut rng, &MALE_MIDDLE), pick(&mut rng, &MALE_GIVEN))
        };
        let full_name = format!("{family} {middle} {given}");
        let dob = NaiveDate::from_ymd_opt(
            rng.gen_range(1964..=2004),
            rng.gen_range(1..=12),
            rng.gen_range(1..=28),
        )
        .unwrap_or(NaiveDate::MIN);
        let weight = if female {
            rng.gen_range(44..=66)
        } else {
            rng.gen_range(50..=82)
        } as f64;
        let commune = *pick(&mut rng, &COMMUNES);
        // A fifth bring a paper history; a few of those are close to an honor.
        let (prior, prior_last): (i32, Option<NaiveDate>) = if i % 5 == 0 {
            let n = if i % 35 == 0 {
                rng.gen_range(3..=9)
            } else {
                rng.gen_range(1..=4)
            };
            (
                n,
                Some(
                    NaiveDate::from_ymd_opt(2022, rng.gen_range(1..=9), rng.gen_range(1..=28))
                        .unwrap_or(NaiveDate::MIN),
                ),
            )
        } else {
            (0, None)
        };
        let reserve = rng.gen_range(0..100) < 14;
        let group = if i % 8 == 7 {
            None
        } else {
            Some(blood_group(&mut rng))
        };
        // Drawn in this order to keep the seeded data as it always was.
        let national_id = (i % 4 != 3).then(|| national_id(&mut rng, female, dob, &mut taken));
        let phone = format!("09{:08}", rng.gen_range(0..100_000_000));
        let reserve_since = reserve.then(|| day(1, 1) - chrono::Days::new(rng.gen_range(0..900)));
        let chapter_id = chapter_ids[rng.gen_range(0..chapter_ids.len())].clone();
        let draft = DonorDraft {
            full_name,
            date_of_birth: dob,
            sex: if female { Sex::Female } else { Sex::Male },
            national_id,
            blood_group: group
                .map(|g| g.as_str().to_owned())
                .or_else(|| reserve.then(|| "O+".to_owned())),
            phone: Some(phone),
            province: Some("Lào Cai".to_owned()),
            commune: Some(commune.to_owned()),
            weight_kg: Some(weight),
            prior_donations: i64::from(prior),
            prior_last_donation_on: prior_last,
        };
        let details = app_donors::validated(draft, app_ctx.today())?;
        let row = app_donors::new_donor(details, reserve_since, Some(chapter_id), now);
        app_donors::insert(conn, &app_ctx, &row)?;
        people.push(Person {
            id: row.id,
            dob,
            weight,
            next_ok: prior_last.map_or(NaiveDate::MIN, |d| d + chrono::Days::new(interval_days)),
            reserve,
            group: group.or_else(|| reserve.then_some(BloodGroup::OPos)),
        });
    }
    summary.donors = people.len();

    let recorder = "demo";
    let ctx = state.ctx();

    // Drives, events and their donations.
    for (name, chapter, (m1, d1), (m2, d2), target, sites) in DRIVES {
        let drive = Drive {
            id: hienmau_db::new_id(),
            name: name.to_owned(),
            chapter_id: chapter.map_or(province.id.clone(), |i| chapter_ids[i].clone()),
            starts_on: day(m1, d1),
            ends_on: day(m2, d2),
            target_units: Some(target),
            created_by: None,
            created_at: now,
        };
        drives::insert(conn, &drive)?;
        if summary.first_drive_id.is_empty() {
            summary.first_drive_id = drive.id.clone();
        }
        summary.drives += 1;
        let span = (drive.ends_on - drive.starts_on).num_days();
        let units = usize::try_from(target).unwrap_or(0);
        for (n, site) in sites.iter().enumerate() {
            // The first event takes the remainder of the split.
            let per_event = units / sites.len() + if n == 0 { units % sites.len() } else { 0 };
            let offset = if sites.len() > 1 {
                span * n as i64 / (sites.len() as i64 - 1).max(1)
            } else {
                span / 2
            };
            let held_on = drive.starts_on + chrono::Days::new(offset.max(0) as u64);
            let event = Event {
                id: hienmau_db::new_id(),
                drive_id: drive.id.clone(),
                site: (*site).to_owned(),
                held_on,
                province: Some("Lào Cai".to_owned()),
                commune: None,
                created_at: now,
            };
            events::insert(conn, &event)?;
            summary.events += 1;
            let target_of_event = Target::event(&event, &drive);
            let mut collected = 0;
            let mut tries = 0;
            while collected < per_event && tries < per_event * 20 {
                tries += 1;
                let p = rng.gen_range(0..people.len());
                let person = &people[p];
                let age = hienmau_domain::person::age_on(person.dob, held_on);
                if !(18..=60).contains(&age) || person.next_ok > held_on {
                    continue;
                }
                let deferred = rng.gen_range(0..100) < 3;
                let hour = rng.gen_range(7..16);
                let donated_at = state.zone.start_of_day(held_on)
                    + chrono::TimeDelta::hours(hour)
                    + chrono::TimeDelta::minutes(rng.gen_range(0..60));
                let volume = if person.weight >= 50.0 { 350 } else { 250 };
                let body = NewDonation {
                    donor_id: Uuid::parse_str(&person.id).unwrap_or_default(),
                    component: Component::WholeBlood,
                    volume_ml: Some(if deferred { 0 } else { volume }),
                    outcome: if deferred {
                        Outcome::Deferred
                    } else {
                        Outcome::Collected
                    },
                    donated_at: Some(donated_at),
                    unit_code: None,
                    // Catalogue codes whose minimum (7 or 28 days) the 28 days respect.
                    deferral_reason: deferred
                        .then(|| DEMO_DEFERRALS[p % DEMO_DEFERRALS.len()].to_owned()),
                    deferred_until: deferred.then(|| held_on + chrono::Days::new(28)),
                    permanent: None,
                    weight_kg: None,
                };
                // The rules decide; the scheduler only avoids asking in vain.
                match crate::app::savepoint(conn, |c| {
                    donation::log(c, &ctx, recorder, &target_of_event, body)
                }) {
                    Ok(_) if deferred => {
                        summary.deferrals += 1;
                        people[p].next_ok = held_on + chrono::Days::new(28);
                    }
                    Ok(_) => {
                        collected += 1;
                        people[p].next_ok = held_on + chrono::Days::new(interval_days);
                    }
                    Err(_) => {}
                }
            }
            summary.drive_units += collected;
        }
    }

    // Emergency requests of the year, answered from the reserve.
    let mut received = 0;
    let mut day_of_year = 10u64;
    while received < EMERGENCY_UNITS && day_of_year < 360 {
        let on = day(1, 1) + chrono::Days::new(day_of_year);
        day_of_year += 1;
        let needed = rng.gen_range(1..=3);
        let request = EmergencyRequest {
            id: hienmau_db::new_id(),
            hospital_id: hospital.id.clone(),
            blood_group: pick(&mut rng, &["O+", "B+", "A+", "AB+"]).to_string(),
            component: Component::WholeBlood.as_str().to_owned(),
            units_needed: needed,
            units_received: 0,
            urgency: pick(&mut rng, &Urgency::ALL).as_str().to_owned(),
            status: RequestStatus::Open.as_str().to_owned(),
            needed_by: None,
            province: Some("Lào Cai".to_owned()),
            province_folded: Some(fold("Lào Cai")),
            commune: Some("Phường Cốc Lếu".to_owned()),
            commune_folded: Some(fold("Phường Cốc Lếu")),
            note: None,
            opened_at: state.zone.start_of_day(on).naive_utc() + chrono::TimeDelta::hours(2),
            created_by_user: None,
            created_by_key: None,
            created_at: now,
            closed_at: None,
            disclosure_cap: None,
        };
        emergency::insert_request(conn, &request)?;
        let mut got = 0;
        let mut tries = 0;
        while got < needed && tries < 400 {
            tries += 1;
            let p = rng.gen_range(0..people.len());
            let person = &people[p];
            let age = hienmau_domain::person::age_on(person.dob, on);
            let fits = person.group.is_some_and(|g| {
                BloodGroup::parse(&request.blood_group)
                    .is_ok_and(|p| compatibility(p, g, Component::WholeBlood).is_some())
            });
            if !person.reserve || !fits || !(18..=60).contains(&age) || person.next_ok > on {
                continue;
            }
            let body = NewDonation {
                donor_id: Uuid::parse_str(&person.id).unwrap_or_default(),
                component: Component::WholeBlood,
                volume_ml: Some(350),
                outcome: Outcome::Collected,
                donated_at: Some(state.zone.start_of_day(on) + chrono::TimeDelta::hours(5)),
                unit_code: None,
                deferral_reason: None,
                deferred_until: None,
                permanent: None,
                weight_kg: None,
            };
            if crate::app::savepoint(conn, |c| {
                crate::app::emergency::give(c, &ctx, recorder, &request, body)
            })
            .is_ok()
            {
                got += 1;
                people[p].next_ok = on + chrono::Days::new(interval_days);
            }
        }
        let status = if got >= needed {
            RequestStatus::Fulfilled
        } else {
            RequestStatus::Cancelled
        };
        emergency::update_request_status(
            conn,
            &request.id,
            status.as_str(),
            got,
            Some(request.opened_at + chrono::TimeDelta::hours(6)),
        )?;
        received += usize::try_from(got).unwrap_or(0);
    }
    summary.emergency_units = received;

    Ok(DemoResult::Loaded { accounts, summary })
}
