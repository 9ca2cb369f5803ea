//! The deferral-reason catalogue (Circular 26/2013/TT-BYT, Art. 5; domain rules §1): coded
//! reasons with a minimum deferral counted from the day of the screening, or permanent.
//!
//! A deferral whose reason is exactly a catalogue code (after trimming; codes are compared as
//! written, case included) must respect that code's minimum: `deferred_until` (the first day
//! the donor may give again) no earlier than the screening day plus `min_days`, or
//! `permanent: true` for a permanent code. A permanent deferral always satisfies a code with a
//! minimum (it is longer than any). Any other text is a free-text reason, judged by the general
//! rule only (an until-date after the day, or permanent).
//!
//! The catalogue is configuration: it deserialises from a TOML array of
//! `{ code, label_vi, label_en, min_days }` or `{ code, label_vi, label_en, permanent = true }`
//! tables (TOML has no null) and validates on the way in, so a bad catalogue stops the start
//! rather than a screening: codes non-empty (at most 64 characters, no spaces or control
//! characters) and unique, labels non-empty, and exactly one of `min_days` (at least 1: a
//! deferral of 0 days defers nothing, and the general rule already wants an until-date after
//! the day) and `permanent = true`. An empty catalogue is allowed (every reason is then free
//! text).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::donor::FieldProblem;
use crate::DomainError;

/// The longest code, in characters.
pub const MAX_CODE_CHARS: usize = 64;

/// One coded reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferralReason {
    /// Stable code, as sent in `deferral_reason`.
    pub code: String,
    /// Vietnamese label.
    pub label_vi: String,
    /// English label.
    pub label_en: String,
    /// The shortest deferral in days from the screening day; `None` for a permanent reason.
    pub min_days: Option<u32>,
}

impl DeferralReason {
    /// True for a permanent reason.
    pub fn is_permanent(&self) -> bool {
        self.min_days.is_none()
    }
}

/// The configuration form of a reason (`permanent = true` instead of a null `min_days`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonConfig {
    /// Stable code.
    pub code: String,
    /// Vietnamese label.
    pub label_vi: String,
    /// English label.
    pub label_en: String,
    /// The shortest deferral in days (at least 1); absent for a permanent reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_days: Option<u32>,
    /// `true` for a permanent reason (then no `min_days`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub permanent: bool,
}

/// The configured catalogue, in configuration order, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "Vec<ReasonConfig>", into = "Vec<ReasonConfig>")]
pub struct DeferralCatalogue {
    reasons: Vec<DeferralReason>,
}

/// What the catalogue says of a deferral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deferring<'a> {
    /// The reason as given (it is trimmed before it is looked up).
    pub reason: &'a str,
    /// The day of the screening.
    pub day: NaiveDate,
    /// The first day the donor may give again, when given.
    pub until: Option<NaiveDate>,
    /// A permanent deferral.
    pub permanent: bool,
}

/// The seed of Art. 5: `(code, label_vi, label_en, min_days)`, `None` for permanent.
const SEED: [(&str, &str, &str, Option<u32>); 17] = [
    ("surgery", "Sau phẫu thuật", "After surgery", Some(365)),
    (
        "transfusion_received",
        "Đã được truyền máu hoặc các chế phẩm máu",
        "Received blood or blood products",
        Some(365),
    ),
    (
        "pregnancy",
        "Sau khi sinh con hoặc kết thúc thai kỳ",
        "After childbirth or the end of a pregnancy",
        Some(365),
    ),
    (
        "malaria_syphilis_tb_cured",
        "Khỏi bệnh sốt rét, giang mai, lao, uốn ván, viêm não, viêm màng não",
        "Cured of malaria, syphilis, tuberculosis, tetanus, encephalitis or meningitis",
        Some(365),
    ),
    (
        "rabies_vaccination",
        "Kết thúc đợt tiêm vắc xin phòng bệnh dại sau khi bị động vật cắn",
        "End of rabies vaccination after an animal bite",
        Some(365),
    ),
    (
        "tattoo_piercing",
        "Xăm trên da, bấm lỗ tai hoặc xỏ khuyên trên cơ thể",
        "Tattoo or body piercing",
        Some(182),
    ),
    (
        "blood_exposure",
        "Phơi nhiễm với máu hoặc dịch cơ thể của người có nguy cơ nhiễm bệnh lây truyền qua đường máu",
        "Exposure to blood or body fluids of a person at risk",
        Some(182),
    ),
    (
        "serious_infection_cured",
        "Khỏi bệnh thương hàn, nhiễm khuẩn huyết, bị rắn cắn, viêm tắc tĩnh mạch, viêm tủy xương, viêm tụy",
        "Cured of typhoid, sepsis, snakebite, thrombophlebitis, osteomyelitis or pancreatitis",
        Some(182),
    ),
    (
        "infection_cured",
        "Khỏi bệnh nhiễm trùng thông thường (viêm dạ dày ruột, viêm đường tiết niệu, viêm da, viêm phế quản, viêm phổi, sởi, sốt xuất huyết…)",
        "Cured of a common infection (gastroenteritis, urinary tract or skin infection, bronchitis, pneumonia, measles, dengue…)",
        Some(28),
    ),
    (
        "live_vaccine",
        "Tiêm vắc xin sống giảm độc lực (rubella, sởi, thương hàn, tả, quai bị, thủy đậu, BCG)",
        "Live vaccine (rubella, measles, typhoid, cholera, mumps, varicella, BCG)",
        Some(28),
    ),
    (
        "flu_cold",
        "Cúm, cảm lạnh, dị ứng mũi họng, đau nửa đầu",
        "Flu, cold, nasal or throat allergy, migraine",
        Some(7),
    ),
    (
        "other_vaccine",
        "Tiêm các loại vắc xin khác",
        "Other vaccines",
        Some(7),
    ),
    (
        "low_hemoglobin",
        "Nồng độ huyết sắc tố thấp khi khám sàng lọc",
        "Low haemoglobin at screening",
        Some(7),
    ),
    (
        "blood_pressure",
        "Huyết áp không đạt khi khám sàng lọc",
        "Blood pressure out of range at screening",
        Some(7),
    ),
    (
        "low_weight",
        "Cân nặng chưa đạt khi khám sàng lọc",
        "Weight below the minimum at screening",
        Some(7),
    ),
    (
        "tti_positive",
        "Nhiễm HIV, viêm gan B, viêm gan C hoặc bệnh khác lây truyền qua đường máu",
        "HIV, HBV, HCV or another transfusion-transmissible infection",
        None,
    ),
    (
        "chronic_disease",
        "Mắc bệnh mạn tính nghiêm trọng của một hệ cơ quan hoặc bệnh về máu",
        "Serious chronic disease of a major organ system or of the blood",
        None,
    ),
];

impl Default for DeferralCatalogue {
    /// The reasons of Art. 5 as listed in the domain rules (17 codes; the screening findings
    /// `low_hemoglobin`, `blood_pressure` and `low_weight` at 7 days).
    fn default() -> Self {
        DeferralCatalogue {
            reasons: SEED
                .iter()
                .map(|(code, vi, en, min_days)| DeferralReason {
                    code: (*code).to_owned(),
                    label_vi: (*vi).to_owned(),
                    label_en: (*en).to_owned(),
                    min_days: *min_days,
                })
                .collect(),
        }
    }
}

fn invalid(message: String) -> DomainError {
    DomainError::InvalidDeferralReasons(message)
}

impl DeferralCatalogue {
    /// Validates the configured reasons (see the module documentation), keeping their order.
    pub fn new(config: Vec<ReasonConfig>) -> Result<Self, DomainError> {
        let mut reasons: Vec<DeferralReason> = Vec::with_capacity(config.len());
        for (i, r) in config.into_iter().enumerate() {
            let at = format!("reason {} ({:?})", i + 1, r.code);
            if r.code.is_empty() || r.code.chars().count() > MAX_CODE_CHARS {
                return Err(invalid(format!(
                    "{at}: the code must be 1 to {MAX_CODE_CHARS} characters"
                )));
            }
            if r.code.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(invalid(format!(
                    "{at}: the code must not contain spaces or control characters"
                )));
            }
            if reasons.iter().any(|x| x.code == r.code) {
                return Err(invalid(format!("{at}: the code appears twice")));
            }
            if r.label_vi.trim().is_empty() || r.label_en.trim().is_empty() {
                return Err(invalid(format!("{at}: label_vi and label_en are required")));
            }
            let min_days = match (r.min_days, r.permanent) {
                (Some(0), _) => {
                    return Err(invalid(format!("{at}: min_days must be at least 1")));
                }
                (Some(_), true) | (None, false) => {
                    return Err(invalid(format!(
                        "{at}: give exactly one of min_days and permanent = true"
                    )));
                }
                (days, _) => days,
            };
            reasons.push(DeferralReason {
                code: r.code,
                label_vi: r.label_vi,
                label_en: r.label_en,
                min_days,
            });
        }
        Ok(DeferralCatalogue { reasons })
    }

    /// The reasons, in configuration order.
    pub fn reasons(&self) -> &[DeferralReason] {
        &self.reasons
    }

    /// The reason whose code is exactly `reason` after trimming, if any.
    pub fn find(&self, reason: &str) -> Option<&DeferralReason> {
        let reason = reason.trim();
        self.reasons.iter().find(|r| r.code == reason)
    }

    /// Checks a deferral against the catalogue: a coded reason's minimum (`deferred_until`
    /// earlier than the day plus `min_days`) or a permanent code without `permanent`; free
    /// text and a missing until-date pass here (the general rule judges them).
    pub fn check(&self, d: &Deferring<'_>) -> Result<(), FieldProblem> {
        let Some(reason) = self.find(d.reason) else {
            return Ok(());
        };
        match reason.min_days {
            None if !d.permanent => Err(FieldProblem {
                field: "permanent",
                code: crate::FieldCode::Required,
                message: format!(
                    "`{}` is a permanent deferral reason: send permanent: true",
                    reason.code
                ),
            }),
            None => Ok(()),
            Some(days) => {
                let earliest = d.day.checked_add_days(Days::new(u64::from(days)));
                match (d.until, earliest) {
                    (Some(until), Some(earliest)) if !d.permanent && until < earliest => {
                        Err(FieldProblem {
                            field: "deferred_until",
                            code: crate::FieldCode::BelowMinimum,
                            message: format!(
                                "`{}` defers for at least {days} days: deferred_until must be \
                                 {earliest} or later",
                                reason.code
                            ),
                        })
                    }
                    _ => Ok(()),
                }
            }
        }
    }
}

impl TryFrom<Vec<ReasonConfig>> for DeferralCatalogue {
    type Error = DomainError;
    fn try_from(config: Vec<ReasonConfig>) -> Result<Self, DomainError> {
        DeferralCatalogue::new(config)
    }
}

impl From<DeferralCatalogue> for Vec<ReasonConfig> {
    fn from(catalogue: DeferralCatalogue) -> Self {
        catalogue
            .reasons
            .into_iter()
            .map(|r| ReasonConfig {
                permanent: r.min_days.is_none(),
                code: r.code,
                label_vi: r.label_vi,
                label_en: r.label_en,
                min_days: r.min_days,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn reason(code: &str, min_days: Option<u32>, permanent: bool) -> ReasonConfig {
        ReasonConfig {
            code: code.to_owned(),
            label_vi: "nhãn".to_owned(),
            label_en: "label".to_owned(),
            min_days,
            permanent,
        }
    }

    #[test]
    fn the_seed_holds_every_reason_of_article_5() {
        let c = DeferralCatalogue::default();
        let expected: &[(&str, Option<u32>)] = &[
            ("surgery", Some(365)),
            ("transfusion_received", Some(365)),
            ("pregnancy", Some(365)),
            ("malaria_syphilis_tb_cured", Some(365)),
            ("rabies_vaccination", Some(365)),
            ("tattoo_piercing", Some(182)),
            ("blood_exposure", Some(182)),
            ("serious_infection_cured", Some(182)),
            ("infection_cured", Some(28)),
            ("live_vaccine", Some(28)),
            ("flu_cold", Some(7)),
            ("other_vaccine", Some(7)),
            ("low_hemoglobin", Some(7)),
            ("blood_pressure", Some(7)),
            ("low_weight", Some(7)),
            ("tti_positive", None),
            ("chronic_disease", None),
        ];
        let got: Vec<(&str, Option<u32>)> = c
            .reasons()
            .iter()
            .map(|r| (r.code.as_str(), r.min_days))
            .collect();
        assert_eq!(got, expected);
        // The seed passes its own validation, and round-trips through its config form.
        let config: Vec<ReasonConfig> = c.clone().into();
        assert_eq!(DeferralCatalogue::new(config), Ok(c));
    }

    #[test]
    fn check_against_the_catalogue() {
        let c = DeferralCatalogue::default();
        let d = day("2024-04-07");
        // (reason, until, permanent, the field at fault)
        let cases: &[(&str, Option<&str>, bool, Option<&str>)] = &[
            // A tattoo: 182 days from 2024-04-07 is 2024-10-06.
            (
                "tattoo_piercing",
                Some("2024-10-05"),
                false,
                Some("deferred_until"),
            ),
            ("tattoo_piercing", Some("2024-10-06"), false, None),
            (
                "tattoo_piercing",
                Some("2024-04-14"),
                false,
                Some("deferred_until"),
            ),
            (
                "  tattoo_piercing \n",
                Some("2024-10-05"),
                false,
                Some("deferred_until"),
            ),
            ("tattoo_piercing", None, true, None),
            ("surgery", Some("2025-04-06"), false, Some("deferred_until")),
            ("surgery", Some("2025-04-07"), false, None),
            (
                "infection_cured",
                Some("2024-05-04"),
                false,
                Some("deferred_until"),
            ),
            ("infection_cured", Some("2024-05-05"), false, None),
            (
                "flu_cold",
                Some("2024-04-13"),
                false,
                Some("deferred_until"),
            ),
            ("flu_cold", Some("2024-04-14"), false, None),
            ("low_hemoglobin", Some("2024-04-14"), false, None),
            ("tti_positive", Some("2030-01-01"), false, Some("permanent")),
            ("tti_positive", None, false, Some("permanent")),
            ("tti_positive", None, true, None),
            ("chronic_disease", None, true, None),
            // Not a code: free text, the general rule only.
            ("Tattoo_piercing", Some("2024-04-08"), false, None),
            ("xăm mình", Some("2024-04-08"), false, None),
            (
                "tattoo_piercing (left arm)",
                Some("2024-04-08"),
                false,
                None,
            ),
            ("", Some("2024-04-08"), false, None),
            // A missing until-date is the general rule's to refuse.
            ("flu_cold", None, false, None),
        ];
        for (reason, until, permanent, field) in cases {
            let got = c.check(&Deferring {
                reason,
                day: d,
                until: until.map(day),
                permanent: *permanent,
            });
            assert_eq!(
                got.err().map(|p| p.field),
                *field,
                "{reason:?} until {until:?} permanent {permanent}"
            );
        }
    }

    #[test]
    fn every_seeded_minimum_is_enforced_to_the_day() {
        let c = DeferralCatalogue::default();
        let d = day("2024-02-29");
        for r in c.reasons() {
            let Some(days) = r.min_days else { continue };
            let at = d + Days::new(u64::from(days));
            let ok = |until: NaiveDate| {
                c.check(&Deferring {
                    reason: &r.code,
                    day: d,
                    until: Some(until),
                    permanent: false,
                })
            };
            assert!(ok(at).is_ok(), "{}", r.code);
            assert!(ok(at.pred_opt().unwrap()).is_err(), "{}", r.code);
        }
    }

    #[test]
    fn bad_catalogues_are_refused() {
        let cases: &[(Vec<ReasonConfig>, &str)] = &[
            (vec![reason("", Some(7), false)], "1 to 64"),
            (vec![reason("flu cold", Some(7), false)], "spaces"),
            (vec![reason(&"x".repeat(65), Some(7), false)], "1 to 64"),
            (
                vec![
                    reason("flu", Some(7), false),
                    reason("flu", Some(14), false),
                ],
                "twice",
            ),
            (vec![reason("flu", Some(0), false)], "at least 1"),
            (vec![reason("flu", None, false)], "exactly one"),
            (vec![reason("hiv", Some(7), true)], "exactly one"),
            (
                vec![ReasonConfig {
                    label_en: " ".to_owned(),
                    ..reason("flu", Some(7), false)
                }],
                "label",
            ),
        ];
        for (config, needle) in cases {
            let e = DeferralCatalogue::new(config.clone()).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        assert_eq!(DeferralCatalogue::new(Vec::new()).unwrap().reasons(), &[]);
    }

    #[test]
    fn the_catalogue_reads_from_toml() {
        #[derive(Deserialize)]
        struct S {
            deferral_reasons: DeferralCatalogue,
        }
        let s: S = toml::from_str(
            "[[deferral_reasons]]\ncode = \"flu\"\nlabel_vi = \"Cúm\"\nlabel_en = \"Flu\"\nmin_days = 7\n\
             [[deferral_reasons]]\ncode = \"hiv\"\nlabel_vi = \"HIV\"\nlabel_en = \"HIV\"\npermanent = true\n",
        )
        .unwrap();
        let r = s.deferral_reasons.reasons();
        assert_eq!((r[0].code.as_str(), r[0].min_days), ("flu", Some(7)));
        assert!(r[1].is_permanent());
        let e = toml::from_str::<S>(
            "[[deferral_reasons]]\ncode = \"flu\"\nlabel_vi = \"Cúm\"\nlabel_en = \"Flu\"\nmin_days = 0\n",
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("min_days must be at least 1"), "{e}");
    }
}
