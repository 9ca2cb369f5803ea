//! Blood groups, components and who may give what to whom (domain rules §2).

use crate::DomainError;

/// ABO group, the half of a blood group that decides red-cell and plasma compatibility.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abo {
    /// Group O: no A or B antigen; anti-A and anti-B in the plasma.
    O,
    /// Group A.
    A,
    /// Group B.
    B,
    /// Group AB: both antigens; no anti-A or anti-B in the plasma.
    AB,
}

impl Abo {
    /// Every ABO group.
    pub const ALL: [Abo; 4] = [Abo::O, Abo::A, Abo::B, Abo::AB];

    /// `"O"`, `"A"`, `"B"` or `"AB"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Abo::O => "O",
            Abo::A => "A",
            Abo::B => "B",
            Abo::AB => "AB",
        }
    }
}

impl std::fmt::Display for Abo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ABO group and RhD type, written `O+`, `O-`, … `AB-`.
///
/// The derived order (the declaration order, also [`BloodGroup::ALL`]) is the order lists
/// and reports use: O first because it is the most common group in Vietnam.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BloodGroup {
    /// O RhD positive.
    OPos,
    /// O RhD negative.
    ONeg,
    /// A RhD positive.
    APos,
    /// A RhD negative.
    ANeg,
    /// B RhD positive.
    BPos,
    /// B RhD negative.
    BNeg,
    /// AB RhD positive.
    ABPos,
    /// AB RhD negative.
    ABNeg,
}

impl BloodGroup {
    /// Every blood group, in the canonical order.
    pub const ALL: [BloodGroup; 8] = [
        BloodGroup::OPos,
        BloodGroup::ONeg,
        BloodGroup::APos,
        BloodGroup::ANeg,
        BloodGroup::BPos,
        BloodGroup::BNeg,
        BloodGroup::ABPos,
        BloodGroup::ABNeg,
    ];

    /// Builds a group from its two halves.
    pub fn new(abo: Abo, rh_positive: bool) -> Self {
        match (abo, rh_positive) {
            (Abo::O, true) => BloodGroup::OPos,
            (Abo::O, false) => BloodGroup::ONeg,
            (Abo::A, true) => BloodGroup::APos,
            (Abo::A, false) => BloodGroup::ANeg,
            (Abo::B, true) => BloodGroup::BPos,
            (Abo::B, false) => BloodGroup::BNeg,
            (Abo::AB, true) => BloodGroup::ABPos,
            (Abo::AB, false) => BloodGroup::ABNeg,
        }
    }

    /// Parses `O+ O- A+ A- B+ B- AB+ AB-`.
    ///
    /// Surrounding whitespace and lowercase are accepted, and so is the Unicode minus sign
    /// `−` (U+2212), because word processors and lab printouts substitute it for `-`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let norm: String = s
            .trim()
            .chars()
            .map(|c| {
                if c == '\u{2212}' {
                    '-'
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        BloodGroup::ALL
            .into_iter()
            .find(|g| g.as_str() == norm)
            .ok_or_else(|| DomainError::InvalidBloodGroup(s.to_owned()))
    }

    /// The canonical form, `"O+"` … `"AB-"`.
    pub fn as_str(self) -> &'static str {
        match self {
            BloodGroup::OPos => "O+",
            BloodGroup::ONeg => "O-",
            BloodGroup::APos => "A+",
            BloodGroup::ANeg => "A-",
            BloodGroup::BPos => "B+",
            BloodGroup::BNeg => "B-",
            BloodGroup::ABPos => "AB+",
            BloodGroup::ABNeg => "AB-",
        }
    }

    /// The ABO half.
    pub fn abo(self) -> Abo {
        match self {
            BloodGroup::OPos | BloodGroup::ONeg => Abo::O,
            BloodGroup::APos | BloodGroup::ANeg => Abo::A,
            BloodGroup::BPos | BloodGroup::BNeg => Abo::B,
            BloodGroup::ABPos | BloodGroup::ABNeg => Abo::AB,
        }
    }

    /// Whether the group is RhD positive.
    pub fn rh_positive(self) -> bool {
        matches!(
            self,
            BloodGroup::OPos | BloodGroup::APos | BloodGroup::BPos | BloodGroup::ABPos
        )
    }
}

string_enum!(BloodGroup, "a blood group such as \"O+\" or \"AB-\"");

/// What a donation collects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Component {
    /// A bag of whole blood (250, 350 or 450 ml).
    WholeBlood,
    /// Red cells collected by apheresis; for the interval it counts like whole blood, because
    /// the donor loses about as many red cells; for weight and volume it is apheresis
    /// (at least 50 kg, the apheresis session caps: Art. 4.2(b)).
    RedCells,
    /// Platelets collected by apheresis.
    Platelets,
    /// Plasma collected by apheresis.
    Plasma,
}

impl Component {
    /// Every component, in the canonical order.
    pub const ALL: [Component; 4] = [
        Component::WholeBlood,
        Component::RedCells,
        Component::Platelets,
        Component::Plasma,
    ];

    /// Parses `whole_blood`, `red_cells`, `platelets` or `plasma` (whitespace trimmed,
    /// ASCII case ignored).
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        Component::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(t))
            .ok_or_else(|| DomainError::InvalidComponent(s.to_owned()))
    }

    /// `"whole_blood"`, `"red_cells"`, `"platelets"` or `"plasma"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::WholeBlood => "whole_blood",
            Component::RedCells => "red_cells",
            Component::Platelets => "platelets",
            Component::Plasma => "plasma",
        }
    }

    /// Whether the component is collected by apheresis (a separator machine returns the
    /// rest to the donor): red cells, platelets and plasma. Whole blood is not. Apheresis
    /// takes the apheresis minimum weight and volume caps (Art. 4.2(b)).
    ///
    /// Not the grouping of the intervals: apheresis red cells still take the whole-blood
    /// interval (see [`Component::is_whole_blood_like`]).
    pub fn is_apheresis(self) -> bool {
        !matches!(self, Component::WholeBlood)
    }

    /// Whether the donor loses a whole donation's worth of red cells (whole blood, red
    /// cells): such donations take the long interval (Circular 26/2013 Art. 6). Weight and
    /// volume go by [`Component::is_apheresis`] instead.
    pub fn is_whole_blood_like(self) -> bool {
        matches!(self, Component::WholeBlood | Component::RedCells)
    }
}

string_enum!(
    Component,
    "one of \"whole_blood\", \"red_cells\", \"platelets\", \"plasma\""
);

/// How well a donor's group fits a patient's. Sorts `Identical` before `Compatible`,
/// the emergency call-up order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Match {
    /// The preferred donor: same group (for plasma, same ABO).
    Identical,
    /// Allowed, used when identical donors are not enough.
    Compatible,
}

impl Match {
    /// `"identical"` or `"compatible"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Match::Identical => "identical",
            Match::Compatible => "compatible",
        }
    }
}

// Output only: a match is computed, never read back, so there is no parse.
impl std::fmt::Display for Match {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Match {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Red cells of ABO `donor` carry no antigen the plasma of ABO `patient` attacks.
fn red_cells_abo_ok(patient: Abo, donor: Abo) -> bool {
    donor == Abo::O || patient == Abo::AB || donor == patient
}

/// Plasma of ABO `donor` carries no antibody against the red cells of ABO `patient`:
/// the red-cell table read backwards.
fn plasma_abo_ok(patient: Abo, donor: Abo) -> bool {
    red_cells_abo_ok(donor, patient)
}

/// An Rh− patient must not be sensitised by RhD-positive cells; Rh+ patients take either.
fn rh_ok(patient: BloodGroup, donor: BloodGroup) -> bool {
    patient.rh_positive() || !donor.rh_positive()
}

/// Can a donor of group `donor` give `component` to a patient of group `patient`?
/// `None` = incompatible.
///
/// - red cells: the red-cell ABO table and the RhD rule; identical = same group;
/// - whole blood: ABO-identical only, with the RhD rule (it carries both cells and plasma);
///   identical = same group, so Rh− blood for an Rh+ patient of the same ABO is compatible;
/// - plasma: the plasma ABO table, RhD ignored (plasma holds no red cells); identical = same ABO;
/// - platelets: ABO-identical or plasma-compatible (a platelet unit carries donor plasma)
///   with the RhD rule (a few red cells come along); identical = same group.
pub fn compatibility(
    patient: BloodGroup,
    donor: BloodGroup,
    component: Component,
) -> Option<Match> {
    let (p, d) = (patient.abo(), donor.abo());
    let allowed = match component {
        Component::RedCells => red_cells_abo_ok(p, d) && rh_ok(patient, donor),
        Component::WholeBlood => p == d && rh_ok(patient, donor),
        Component::Plasma => plasma_abo_ok(p, d),
        Component::Platelets => (p == d || plasma_abo_ok(p, d)) && rh_ok(patient, donor),
    };
    if !allowed {
        return None;
    }
    let identical = match component {
        Component::Plasma => p == d,
        Component::RedCells | Component::WholeBlood | Component::Platelets => patient == donor,
    };
    Some(if identical {
        Match::Identical
    } else {
        Match::Compatible
    })
}

/// All donor groups for the patient and component, identical first then compatible
/// ([`BloodGroup::ALL`] order within each): the emergency call-up order.
pub fn donor_groups_for(patient: BloodGroup, component: Component) -> Vec<(BloodGroup, Match)> {
    let mut out: Vec<(BloodGroup, Match)> = BloodGroup::ALL
        .into_iter()
        .filter_map(|d| compatibility(patient, d, component).map(|m| (d, m)))
        .collect();
    // Stable sort keeps ALL order within each match level.
    out.sort_by_key(|&(_, m)| m);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_accepts_canonical_and_tolerated_forms() {
        let cases = [
            ("O+", BloodGroup::OPos),
            ("O-", BloodGroup::ONeg),
            ("A+", BloodGroup::APos),
            ("A-", BloodGroup::ANeg),
            ("B+", BloodGroup::BPos),
            ("B-", BloodGroup::BNeg),
            ("AB+", BloodGroup::ABPos),
            ("AB-", BloodGroup::ABNeg),
            (" ab- ", BloodGroup::ABNeg),
            ("o+", BloodGroup::OPos),
            ("Ab+", BloodGroup::ABPos),
            ("A\u{2212}", BloodGroup::ANeg),
            ("\tb\u{2212}\n", BloodGroup::BNeg),
        ];
        for (input, want) in cases {
            assert_eq!(BloodGroup::parse(input), Ok(want), "{input:?}");
        }
    }

    #[test]
    fn parse_rejects_other_forms() {
        for input in [
            "", "O", "AB", "BA+", "A +", "0+", "O++", "A–", "Rh+", "AB+ x", "C+",
        ] {
            assert_eq!(
                BloodGroup::parse(input),
                Err(DomainError::InvalidBloodGroup(input.to_owned())),
                "{input:?}"
            );
        }
    }

    #[test]
    fn group_round_trips_through_every_form() {
        for g in BloodGroup::ALL {
            assert_eq!(BloodGroup::parse(g.as_str()), Ok(g));
            assert_eq!(g.to_string().parse::<BloodGroup>(), Ok(g));
            assert_eq!(BloodGroup::new(g.abo(), g.rh_positive()), g);
            let json = serde_json::to_string(&g).unwrap();
            assert_eq!(json, format!("\"{}\"", g.as_str()));
            assert_eq!(serde_json::from_str::<BloodGroup>(&json).unwrap(), g);
        }
        assert!(serde_json::from_str::<BloodGroup>("\"X+\"").is_err());
        assert!(serde_json::from_str::<BloodGroup>("3").is_err());
    }

    #[test]
    fn abo_and_rh_halves() {
        let cases = [
            (BloodGroup::OPos, Abo::O, true),
            (BloodGroup::ONeg, Abo::O, false),
            (BloodGroup::APos, Abo::A, true),
            (BloodGroup::ANeg, Abo::A, false),
            (BloodGroup::BPos, Abo::B, true),
            (BloodGroup::BNeg, Abo::B, false),
            (BloodGroup::ABPos, Abo::AB, true),
            (BloodGroup::ABNeg, Abo::AB, false),
        ];
        for (g, abo, rh) in cases {
            assert_eq!((g.abo(), g.rh_positive()), (abo, rh), "{g}");
        }
    }

    #[test]
    fn component_forms() {
        let cases = [
            ("whole_blood", Component::WholeBlood, false, true),
            ("red_cells", Component::RedCells, true, true),
            ("platelets", Component::Platelets, true, false),
            ("plasma", Component::Plasma, true, false),
        ];
        for (s, c, apheresis, wb_like) in cases {
            assert_eq!(Component::parse(s), Ok(c));
            assert_eq!(c.as_str(), s);
            assert_eq!(c.is_apheresis(), apheresis, "{s}");
            assert_eq!(c.is_whole_blood_like(), wb_like, "{s}");
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{s}\""));
            assert_eq!(
                serde_json::from_str::<Component>(&format!("\"{s}\"")).unwrap(),
                c
            );
        }
        assert_eq!(Component::parse(" Plasma "), Ok(Component::Plasma));
        for bad in ["", "blood", "whole blood", "red-cells"] {
            assert_eq!(
                Component::parse(bad),
                Err(DomainError::InvalidComponent(bad.to_owned()))
            );
        }
    }

    #[test]
    fn match_forms_and_order() {
        assert_eq!(Match::Identical.as_str(), "identical");
        assert_eq!(Match::Compatible.as_str(), "compatible");
        assert!(Match::Identical < Match::Compatible);
        assert_eq!(
            serde_json::to_string(&Match::Compatible).unwrap(),
            "\"compatible\""
        );
    }

    /// The tables of domain-rules §2, typed in again as text so the check does not share
    /// code with the implementation: patient ABO → donor ABOs.
    const RED_CELLS_FROM: [(&str, &str); 4] =
        [("O", "O"), ("A", "A O"), ("B", "B O"), ("AB", "AB A B O")];
    const PLASMA_FROM: [(&str, &str); 4] = [
        ("O", "O A B AB"),
        ("A", "A AB"),
        ("B", "B AB"),
        ("AB", "AB"),
    ];

    fn table_allows(table: &[(&str, &str)], patient: &str, donor: &str) -> bool {
        table
            .iter()
            .any(|(p, ds)| *p == patient && ds.split(' ').any(|d| d == donor))
    }

    /// Independent model of the expected answer, from the group strings alone.
    fn expected(patient: &str, donor: &str, component: &str) -> Option<&'static str> {
        let (pa, pr) = patient.split_at(patient.len() - 1);
        let (da, dr) = donor.split_at(donor.len() - 1);
        let rh_rule = pr == "+" || dr == "-";
        let allowed = match component {
            "red_cells" => table_allows(&RED_CELLS_FROM, pa, da) && rh_rule,
            "whole_blood" => pa == da && rh_rule,
            "plasma" => table_allows(&PLASMA_FROM, pa, da),
            "platelets" => (pa == da || table_allows(&PLASMA_FROM, pa, da)) && rh_rule,
            _ => unreachable!(),
        };
        let identical = if component == "plasma" {
            pa == da
        } else {
            patient == donor
        };
        allowed.then_some(if identical { "identical" } else { "compatible" })
    }

    #[test]
    fn all_8x8x4_combinations_match_the_tables() {
        let mut allowed = 0;
        for p in BloodGroup::ALL {
            for d in BloodGroup::ALL {
                for c in Component::ALL {
                    let got = compatibility(p, d, c).map(Match::as_str);
                    assert_eq!(
                        got,
                        expected(p.as_str(), d.as_str(), c.as_str()),
                        "{p} <- {d} {c}"
                    );
                    allowed += usize::from(got.is_some());
                }
            }
        }
        // Red cells 27, whole blood 12, plasma 36, platelets 27: a guard against a model
        // that accidentally agrees with a broken implementation by allowing nothing.
        assert_eq!(allowed, 27 + 12 + 36 + 27);
    }

    #[test]
    fn spot_checks() {
        use BloodGroup::*;
        use Component::*;
        let cases = [
            (ABPos, ONeg, RedCells, Some(Match::Compatible)),
            (ONeg, OPos, RedCells, None),
            (OPos, ONeg, WholeBlood, Some(Match::Compatible)),
            (APos, OPos, WholeBlood, None),
            (ONeg, ABPos, Plasma, Some(Match::Compatible)),
            (APos, ANeg, Plasma, Some(Match::Identical)),
            (ABNeg, ABPos, Plasma, Some(Match::Identical)),
            (ONeg, ANeg, Platelets, Some(Match::Compatible)),
            (ONeg, APos, Platelets, None),
            (APos, OPos, Platelets, None),
            (APos, ABPos, Platelets, Some(Match::Compatible)),
        ];
        for (p, d, c, want) in cases {
            assert_eq!(compatibility(p, d, c), want, "{p} <- {d} {c}");
        }
    }

    #[test]
    fn donor_lists_put_identical_first() {
        use BloodGroup::*;
        type Case = (BloodGroup, Component, &'static [(BloodGroup, Match)]);
        let cases: [Case; 4] = [
            (
                ABNeg,
                Component::RedCells,
                &[
                    (ABNeg, Match::Identical),
                    (ONeg, Match::Compatible),
                    (ANeg, Match::Compatible),
                    (BNeg, Match::Compatible),
                ],
            ),
            (
                APos,
                Component::Plasma,
                &[
                    (APos, Match::Identical),
                    (ANeg, Match::Identical),
                    (ABPos, Match::Compatible),
                    (ABNeg, Match::Compatible),
                ],
            ),
            (
                OPos,
                Component::WholeBlood,
                &[(OPos, Match::Identical), (ONeg, Match::Compatible)],
            ),
            (ONeg, Component::WholeBlood, &[(ONeg, Match::Identical)]),
        ];
        for (p, c, want) in cases {
            assert_eq!(donor_groups_for(p, c), want, "{p} {c}");
        }
    }

    fn group() -> impl Strategy<Value = BloodGroup> {
        proptest::sample::select(BloodGroup::ALL.to_vec())
    }
    fn component() -> impl Strategy<Value = Component> {
        proptest::sample::select(Component::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn rh_negative_patient_never_gets_rh_positive_cells(p in group(), d in group(), c in component()) {
            if !p.rh_positive() && d.rh_positive() && c != Component::Plasma {
                prop_assert_eq!(compatibility(p, d, c), None);
            }
        }

        #[test]
        fn own_group_is_identical(p in group(), c in component()) {
            prop_assert_eq!(compatibility(p, p, c), Some(Match::Identical));
        }

        #[test]
        fn donor_list_agrees_with_compatibility(p in group(), c in component()) {
            let list = donor_groups_for(p, c);
            let in_list: Vec<BloodGroup> = list.iter().map(|&(g, _)| g).collect();
            for d in BloodGroup::ALL {
                prop_assert_eq!(in_list.contains(&d), compatibility(p, d, c).is_some());
            }
            prop_assert!(list.windows(2).all(|w| w[0].1 <= w[1].1));
            prop_assert!(list.contains(&(p, Match::Identical)));
            prop_assert_eq!(list.first().map(|&(_, m)| m), Some(Match::Identical));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,8}") {
            let _ = BloodGroup::parse(&s);
            let _ = Component::parse(&s);
        }
    }
}
