//! Recognition tiers by number of donations (domain rules §3).

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// One recognition tier: reached at `threshold` donations, named after the award given.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Tier {
    /// Number of donations ("lần") that reaches the tier.
    pub threshold: u32,
    /// The award's name as printed on the certificate.
    pub name: String,
}

/// The configured tiers, sorted by threshold, thresholds positive and distinct.
///
/// Deserialises from a TOML array of `{ threshold, name }` tables and validates on the way
/// in, so a bad config fails at start-up rather than at the year-end honors round.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(try_from = "Vec<Tier>", into = "Vec<Tier>")]
pub struct TierTable {
    tiers: Vec<Tier>,
}

impl Default for TierTable {
    /// The national framework's thresholds (Decision 122/QĐ-BCĐQG, 2017): 5, 10, 15, 20, 30,
    /// 40, 50, 70, 100 donations. The award names are provincial practice, not law (roughly
    /// as in Lào Cai), which is why the whole table is configurable.
    fn default() -> Self {
        const PROVINCIAL_RED_CROSS: &str = "Giấy khen của Hội Chữ thập đỏ tỉnh";
        const MINISTRY_OF_HEALTH: &str = "Bằng khen của Bộ Y tế";
        let tiers = [
            (5, PROVINCIAL_RED_CROSS),
            (10, PROVINCIAL_RED_CROSS),
            (15, PROVINCIAL_RED_CROSS),
            (20, "Bằng khen của Ủy ban nhân dân tỉnh"),
            (30, "Bằng khen của Trung ương Hội Chữ thập đỏ Việt Nam"),
            (40, "Kỷ niệm chương Vì sự nghiệp nhân đạo"),
            (50, MINISTRY_OF_HEALTH),
            (70, MINISTRY_OF_HEALTH),
            (100, MINISTRY_OF_HEALTH),
        ];
        TierTable {
            tiers: tiers
                .into_iter()
                .map(|(threshold, name)| Tier {
                    threshold,
                    name: name.to_owned(),
                })
                .collect(),
        }
    }
}

impl TierTable {
    /// Validates and sorts: at least one tier, every threshold above 0, no threshold twice,
    /// no blank name.
    pub fn new(mut tiers: Vec<Tier>) -> Result<Self, DomainError> {
        if tiers.is_empty() {
            return Err(DomainError::InvalidTiers(
                "at least one tier is needed".to_owned(),
            ));
        }
        if tiers.iter().any(|t| t.threshold == 0) {
            return Err(DomainError::InvalidTiers(
                "a threshold must be above 0".to_owned(),
            ));
        }
        if let Some(t) = tiers.iter().find(|t| t.name.trim().is_empty()) {
            return Err(DomainError::InvalidTiers(format!(
                "tier {} has no name",
                t.threshold
            )));
        }
        tiers.sort_by_key(|t| t.threshold);
        if let Some(w) = tiers.windows(2).find(|w| w[0].threshold == w[1].threshold) {
            return Err(DomainError::InvalidTiers(format!(
                "threshold {} appears twice",
                w[0].threshold
            )));
        }
        Ok(TierTable { tiers })
    }

    /// The tiers, lowest threshold first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// The lowest threshold: a donor at or above it is "honor eligible".
    pub fn lowest(&self) -> u32 {
        // The constructor guarantees at least one tier.
        self.tiers.first().map_or(0, |t| t.threshold)
    }

    /// Whether `t` is a configured threshold (awards may only be recorded at these).
    pub fn is_threshold(&self, t: u32) -> bool {
        self.tiers.binary_search_by_key(&t, |x| x.threshold).is_ok()
    }

    /// The tier with threshold `t`, if configured.
    pub fn get(&self, t: u32) -> Option<&Tier> {
        self.tiers.iter().find(|x| x.threshold == t)
    }

    /// The highest threshold ≤ `count`.
    pub fn reached(&self, count: u32) -> Option<u32> {
        self.tiers
            .iter()
            .rev()
            .map(|t| t.threshold)
            .find(|&t| t <= count)
    }

    /// The highest threshold reached by `count` that is above the highest award held
    /// (`None` if no award); `None` if nothing is due.
    ///
    /// Only the highest reached tier is due: a donor who reaches 20 with no award receives
    /// the 20 award, not 5, 10, 15 and 20 at once.
    pub fn due_tier(&self, count: u32, highest_award: Option<u32>) -> Option<u32> {
        self.reached(count)
            .filter(|&t| highest_award.is_none_or(|held| t > held))
    }

    /// `tier` (a number from a request) when it is a configured threshold.
    pub fn threshold(&self, tier: i64) -> Option<u32> {
        u32::try_from(tier).ok().filter(|t| self.is_threshold(*t))
    }

    /// The award's name at `tier` (a stored number); None for a tier no longer configured.
    pub fn name_of(&self, tier: i64) -> Option<&str> {
        u32::try_from(tier)
            .ok()
            .and_then(|t| self.get(t))
            .map(|t| t.name.as_str())
    }
}

/// Why an award at a configured tier may not be recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwardRefusal {
    /// The donor already holds an award at `held`, at or above the tier: an award settles
    /// every tier below it, so a lower or equal one adds nothing.
    AlreadyHeld {
        /// The highest tier held.
        held: i64,
    },
    /// The donor's count by the award's day is below the tier.
    NotReached {
        /// Prior donations plus collected donations by the award's day.
        count: i64,
    },
}

/// Whether an award at threshold `tier` may be recorded for a donor whose highest award is
/// `highest_held` and who had `count` donations by the award's day. The award held is
/// checked first: a donor who holds the tier is told so even when the count would not reach
/// it.
pub fn check_award(tier: u32, highest_held: Option<i64>, count: i64) -> Result<(), AwardRefusal> {
    let tier = i64::from(tier);
    if let Some(held) = highest_held.filter(|h| *h >= tier) {
        return Err(AwardRefusal::AlreadyHeld { held });
    }
    if count < tier {
        return Err(AwardRefusal::NotReached { count });
    }
    Ok(())
}

impl TryFrom<Vec<Tier>> for TierTable {
    type Error = DomainError;
    fn try_from(tiers: Vec<Tier>) -> Result<Self, Self::Error> {
        TierTable::new(tiers)
    }
}

impl From<TierTable> for Vec<Tier> {
    fn from(table: TierTable) -> Self {
        table.tiers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tier(threshold: u32, name: &str) -> Tier {
        Tier {
            threshold,
            name: name.to_owned(),
        }
    }

    #[test]
    fn default_table() {
        let t = TierTable::default();
        let thresholds: Vec<u32> = t.tiers().iter().map(|x| x.threshold).collect();
        assert_eq!(thresholds, [5, 10, 15, 20, 30, 40, 50, 70, 100]);
        assert_eq!(t.lowest(), 5);
        assert_eq!(TierTable::new(t.tiers().to_vec()), Ok(t.clone()));
        assert_eq!(
            t.get(40).unwrap().name,
            "Kỷ niệm chương Vì sự nghiệp nhân đạo"
        );
        assert!(t.is_threshold(70));
        assert!(!t.is_threshold(60));
        assert!(!t.is_threshold(0));
    }

    #[test]
    fn new_sorts_and_validates() {
        let t = TierTable::new(vec![tier(10, "b"), tier(3, "a")]).unwrap();
        assert_eq!(t.tiers(), [tier(3, "a"), tier(10, "b")]);
        assert_eq!(t.lowest(), 3);
        let bad: [(Vec<Tier>, &str); 4] = [
            (vec![], "at least one"),
            (vec![tier(0, "a")], "above 0"),
            (vec![tier(5, "a"), tier(5, "b")], "5 appears twice"),
            (vec![tier(5, "  ")], "no name"),
        ];
        for (tiers, why) in bad {
            match TierTable::new(tiers) {
                Err(DomainError::InvalidTiers(msg)) => assert!(msg.contains(why), "{msg}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn due_tier_around_every_threshold() {
        let t = TierTable::default();
        // (count, highest award held, due)
        let cases: &[(u32, Option<u32>, Option<u32>)] = &[
            (0, None, None),
            (4, None, None),
            (5, None, Some(5)),
            (6, None, Some(5)),
            (9, Some(5), None),
            (10, Some(5), Some(10)),
            (14, Some(10), None),
            (15, Some(10), Some(15)),
            (19, Some(15), None),
            (20, Some(15), Some(20)),
            (20, None, Some(20)),
            (29, Some(20), None),
            (30, Some(20), Some(30)),
            (39, Some(30), None),
            (40, Some(30), Some(40)),
            (49, Some(40), None),
            (50, Some(40), Some(50)),
            (69, Some(50), None),
            (70, Some(50), Some(70)),
            (99, Some(70), None),
            (100, Some(70), Some(100)),
            (250, Some(100), None),
            (250, Some(5), Some(100)),
            (10, Some(10), None),
            (10, Some(15), None),
            // An award outside the table (an old scheme) still counts by its number.
            (12, Some(12), None),
            (15, Some(12), Some(15)),
        ];
        for &(count, held, want) in cases {
            assert_eq!(
                t.due_tier(count, held),
                want,
                "count {count}, held {held:?}"
            );
        }
    }

    #[test]
    fn threshold_and_name_of_read_numbers_from_outside() {
        let t = TierTable::default();
        // (number, configured threshold, name)
        let cases: &[(i64, Option<u32>, Option<&str>)] = &[
            (5, Some(5), Some("Giấy khen của Hội Chữ thập đỏ tỉnh")),
            (100, Some(100), Some("Bằng khen của Bộ Y tế")),
            (6, None, None),
            (0, None, None),
            (-5, None, None),
            (i64::from(u32::MAX) + 5, None, None),
        ];
        for &(n, threshold, name) in cases {
            assert_eq!(t.threshold(n), threshold, "{n}");
            assert_eq!(t.name_of(n), name, "{n}");
        }
    }

    #[test]
    fn check_award_held_first_then_count() {
        // (tier, highest held, count, answer)
        type Case = (u32, Option<i64>, i64, Result<(), AwardRefusal>);
        let cases: &[Case] = &[
            (5, None, 5, Ok(())),
            (5, None, 40, Ok(())),
            (5, None, 4, Err(AwardRefusal::NotReached { count: 4 })),
            (10, Some(5), 10, Ok(())),
            (10, Some(5), 9, Err(AwardRefusal::NotReached { count: 9 })),
            (
                10,
                Some(10),
                12,
                Err(AwardRefusal::AlreadyHeld { held: 10 }),
            ),
            (
                10,
                Some(15),
                20,
                Err(AwardRefusal::AlreadyHeld { held: 15 }),
            ),
            // Held wins over a count that falls short.
            (10, Some(10), 0, Err(AwardRefusal::AlreadyHeld { held: 10 })),
            (5, Some(0), 5, Ok(())),
        ];
        for &(tier, held, count, want) in cases {
            assert_eq!(
                check_award(tier, held, count),
                want,
                "tier {tier}, held {held:?}, count {count}"
            );
        }
    }

    #[test]
    fn reached() {
        let t = TierTable::default();
        for (count, want) in [
            (0, None),
            (4, None),
            (5, Some(5)),
            (99, Some(70)),
            (100, Some(100)),
            (u32::MAX, Some(100)),
        ] {
            assert_eq!(t.reached(count), want, "{count}");
        }
    }

    #[test]
    fn loads_from_toml_as_an_array() {
        #[derive(Deserialize, Debug)]
        struct Config {
            tiers: TierTable,
        }
        let cfg: Config = toml::from_str(
            r#"
            [[tiers]]
            threshold = 10
            name = "Mười lần"
            [[tiers]]
            threshold = 5
            name = "Năm lần"
            "#,
        )
        .unwrap();
        assert_eq!(
            cfg.tiers.tiers(),
            [tier(5, "Năm lần"), tier(10, "Mười lần")]
        );

        let dup = toml::from_str::<Config>(
            "tiers = [{threshold = 5, name = \"a\"}, {threshold = 5, name = \"b\"}]",
        );
        assert!(dup.unwrap_err().to_string().contains("appears twice"));
        assert!(toml::from_str::<Config>("tiers = []").is_err());

        let json = serde_json::to_value(TierTable::default()).unwrap();
        assert_eq!(json[0]["threshold"], 5);
        assert_eq!(json[8]["name"], "Bằng khen của Bộ Y tế");
    }

    fn table() -> impl Strategy<Value = TierTable> {
        proptest::collection::btree_set(1u32..200, 1..12).prop_map(|set| {
            TierTable::new(set.into_iter().map(|t| tier(t, "x")).collect()).unwrap()
        })
    }

    proptest! {
        #[test]
        fn due_tier_is_above_the_award_and_within_the_count(
            t in table(), count in 0u32..250, held in proptest::option::of(0u32..250),
        ) {
            if let Some(due) = t.due_tier(count, held) {
                prop_assert!(due <= count);
                prop_assert!(held.is_none_or(|h| due > h));
                prop_assert!(t.is_threshold(due));
                prop_assert_eq!(t.reached(count), Some(due));
            } else {
                // Nothing due means nothing reached, or the highest reached is already held.
                prop_assert!(t.reached(count).is_none_or(|r| held.is_some_and(|h| r <= h)));
            }
        }
    }
}
