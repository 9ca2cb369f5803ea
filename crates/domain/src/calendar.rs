//! Which calendar day an instant falls on. Intervals, "today", report years and honors
//! cut-offs are all counted in days of one configured zone, never in UTC days: a donation at
//! 06:30 in Hà Nội is 23:30 the day before in UTC.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::DomainError;

/// The time zone whose calendar days the rules count in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone(Tz);

impl Zone {
    /// Parses an IANA zone name such as `Asia/Ho_Chi_Minh` (surrounding whitespace trimmed).
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        name.trim()
            .parse::<Tz>()
            .map(Zone)
            .map_err(|_| DomainError::InvalidZone(name.to_owned()))
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The underlying chrono-tz zone, for formatting local times.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The calendar day in the zone on which `instant` falls.
    pub fn day_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.0).date_naive()
    }

    /// Today in the zone.
    pub fn today(&self) -> NaiveDate {
        self.day_of(Utc::now())
    }

    /// The first instant of `day` in the zone, as UTC: the lower bound for "on or after
    /// this day" queries over stored instants.
    ///
    /// Midnight can be skipped by a daylight-saving jump (then the day starts at the jump)
    /// or repeated (then the earlier one counts).
    pub fn start_of_day(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_time(chrono::NaiveTime::MIN);
        if let Some(t) = self.0.from_local_datetime(&midnight).earliest() {
            return t.with_timezone(&Utc);
        }
        // Midnight falls in a gap. Local time only moves forward around a gap, so search
        // for the first second whose local time is at or past midnight. No zone has an
        // offset beyond ±26 h, which bounds the search.
        let naive_utc = midnight.and_utc().timestamp();
        let (mut lo, mut hi) = (naive_utc - 26 * 3600, naive_utc + 26 * 3600);
        let local_at = |secs: i64| {
            DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&self.0).naive_local())
        };
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match local_at(mid) {
                Some(local) if local >= midnight => hi = mid,
                _ => lo = mid + 1,
            }
        }
        DateTime::from_timestamp(lo, 0).unwrap_or_else(|| midnight.and_utc())
    }
}

impl Default for Zone {
    /// `Asia/Ho_Chi_Minh` (UTC+7, no daylight saving), Vietnam's only zone.
    fn default() -> Self {
        Zone(chrono_tz::Asia::Ho_Chi_Minh)
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Zone {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Zone::parse(s)
    }
}

impl serde::Serialize for Zone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Zone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Zone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn default_is_vietnam() {
        assert_eq!(Zone::default().name(), "Asia/Ho_Chi_Minh");
        assert_eq!(Zone::parse(" Asia/Ho_Chi_Minh "), Ok(Zone::default()));
        assert_eq!(
            Zone::parse("Mars/Olympus"),
            Err(DomainError::InvalidZone("Mars/Olympus".into()))
        );
        assert_eq!(
            Zone::parse(""),
            Err(DomainError::InvalidZone(String::new()))
        );
    }

    #[test]
    fn days_in_vietnam() {
        let z = Zone::default();
        let cases = [
            ("2024-04-06T16:59:59Z", "2024-04-06"),
            ("2024-04-06T17:00:00Z", "2024-04-07"),
            ("2024-04-06T23:30:00Z", "2024-04-07"),
            ("2023-12-31T17:00:00Z", "2024-01-01"),
        ];
        for (instant, day) in cases {
            assert_eq!(z.day_of(utc(instant)), d(day), "{instant}");
        }
        assert_eq!(z.start_of_day(d("2024-04-07")), utc("2024-04-06T17:00:00Z"));
    }

    #[test]
    fn start_of_day_across_daylight_saving() {
        let cases = [
            // Ordinary days.
            ("UTC", "2024-03-10", "2024-03-10T00:00:00Z"),
            ("America/New_York", "2024-03-10", "2024-03-10T05:00:00Z"),
            // Midnight skipped: Santiago jumps 00:00 → 01:00 on 2024-09-08.
            ("America/Santiago", "2024-09-08", "2024-09-08T04:00:00Z"),
            // Clocks back across midnight: Santiago goes 00:00 → 23:00 on 2024-04-07, so the
            // 7th begins once, an hour later in UTC.
            ("America/Santiago", "2024-04-07", "2024-04-07T04:00:00Z"),
            // Midnight repeated: Havana goes 01:00 → 00:00 on 2024-11-03; the first counts.
            ("America/Havana", "2024-11-03", "2024-11-03T04:00:00Z"),
        ];
        for (zone, day, want) in cases {
            let z = Zone::parse(zone).unwrap();
            assert_eq!(z.start_of_day(d(day)), utc(want), "{zone} {day}");
        }
    }

    #[test]
    fn serde_forms() {
        let z: Zone = serde_json::from_str("\"Europe/Paris\"").unwrap();
        assert_eq!(z.name(), "Europe/Paris");
        assert_eq!(serde_json::to_string(&z).unwrap(), "\"Europe/Paris\"");
        assert!(serde_json::from_str::<Zone>("\"Nowhere\"").is_err());
    }

    proptest! {
        #[test]
        fn start_of_day_is_the_first_instant_of_that_day(
            days in 0u64..30_000,
            zone in proptest::sample::select(vec!["Asia/Ho_Chi_Minh", "America/Santiago", "Europe/London", "Australia/Lord_Howe", "America/Havana", "UTC"]),
        ) {
            let z = Zone::parse(zone).unwrap();
            let day = d("1970-01-01") + chrono::Days::new(days);
            let start = z.start_of_day(day);
            prop_assert_eq!(z.day_of(start), day);
            prop_assert!(z.day_of(start - chrono::Duration::seconds(1)) < day);
        }
    }
}
