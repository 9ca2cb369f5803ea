//! Search keys for Vietnamese names: what a coordinator types without diacritics must find
//! the name as registered.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Search key: lowercase, Unicode NFD with combining marks dropped, `đ`/`Đ` → `d`,
/// runs of whitespace → one space, trimmed. `"Giàng Thị Dung"` → `"giang thi dung"`.
///
/// Lowercasing comes first because some lowercase mappings produce combining marks
/// (`İ` → `i̇`) that must be dropped too. `đ` has no decomposition, so it is mapped by hand;
/// `ð` (the Icelandic eth) is mapped as well because legacy Vietnamese fonts and keyboards
/// put `Ð` where `Đ` belongs. The database stores this key so that both backends search and
/// sort the same way.
pub fn fold(s: &str) -> String {
    let lower: String = s.chars().flat_map(char::to_lowercase).collect();
    let stripped: String = lower
        .nfd()
        .filter(|&c| !is_combining_mark(c))
        .map(|c| match c {
            'đ' | 'ð' => 'd',
            other => other,
        })
        .collect();
    stripped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The words of [`fold`]`(s)`, for "each word must appear" searches.
pub fn fold_words(s: &str) -> Vec<String> {
    fold(s)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Why a free-text value is refused; the `Display` is the message shown for the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Empty after trimming.
    Empty,
    /// Longer than the field allows (its maximum in characters).
    TooLong(usize),
    /// Holds a character [`forbidden_in_text`] refuses.
    ControlCharacters,
}

impl TextProblem {
    /// The field code of this fault.
    pub fn code(&self) -> crate::FieldCode {
        match self {
            TextProblem::Empty => crate::FieldCode::Required,
            TextProblem::TooLong(_) => crate::FieldCode::TooLong,
            TextProblem::ControlCharacters => crate::FieldCode::InvalidFormat,
        }
    }
}

impl std::fmt::Display for TextProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextProblem::Empty => f.write_str("must not be empty"),
            TextProblem::TooLong(max) => write!(f, "must be at most {max} characters"),
            TextProblem::ControlCharacters => f.write_str("must not contain control characters"),
        }
    }
}

/// Checks a text field's value, already trimmed: not empty, at most `max_chars` characters,
/// no character [`forbidden_in_text`] refuses (checked in that order; the first fault wins).
pub fn check_text(value: &str, max_chars: usize) -> Result<(), TextProblem> {
    if value.is_empty() {
        Err(TextProblem::Empty)
    } else if value.chars().count() > max_chars {
        Err(TextProblem::TooLong(max_chars))
    } else if value.chars().any(forbidden_in_text) {
        Err(TextProblem::ControlCharacters)
    } else {
        Ok(())
    }
}

/// Characters no text field accepts: control characters (C0, DEL, C1; NUL is also refused by
/// PostgreSQL) and the bidirectional overrides and isolates that make text display other than
/// it reads ("Trojan source").
pub fn forbidden_in_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_checks() {
        for (value, max, want) in [
            ("Dung", 200, Ok(())),
            ("", 200, Err(TextProblem::Empty)),
            ("abcd", 3, Err(TextProblem::TooLong(3))),
            ("Đặng", 4, Ok(())),
            ("a\u{0}b", 200, Err(TextProblem::ControlCharacters)),
            ("a\u{202E}b", 200, Err(TextProblem::ControlCharacters)),
            ("a\u{2067}b", 200, Err(TextProblem::ControlCharacters)),
            ("a\u{85}b", 200, Err(TextProblem::ControlCharacters)),
        ] {
            assert_eq!(check_text(value, max), want, "{value:?}");
        }
        assert_eq!(
            TextProblem::TooLong(100).to_string(),
            "must be at most 100 characters"
        );
    }

    #[test]
    fn folds() {
        let cases = [
            ("Giàng Thị Dung", "giang thi dung"),
            ("Đặng Văn Đức", "dang van duc"),
            ("  NGUYỄN   thị   ÁNH ", "nguyen thi anh"),
            ("Lò Thị Mỷ", "lo thi my"),
            ("Hoàng\tThị\nHằng", "hoang thi hang"),
            ("Phạm Ngọc Ước", "pham ngoc uoc"),
            ("Ðinh Công Tráng", "dinh cong trang"),
            // Precomposed and decomposed input give the same key.
            ("Nguye\u{0302}\u{0303}n", "nguyen"),
            ("Lào Cai", "lao cai"),
            ("", ""),
            ("   ", ""),
            ("Vàng A Sáng 2", "vang a sang 2"),
        ];
        for (input, want) in cases {
            assert_eq!(fold(input), want, "{input:?}");
        }
    }

    #[test]
    fn words() {
        assert_eq!(
            fold_words("  Giàng  Thị Dung "),
            vec!["giang", "thi", "dung"]
        );
        assert_eq!(fold_words("dung giang"), vec!["dung", "giang"]);
        assert!(fold_words(" \t ").is_empty());
    }

    proptest! {
        #[test]
        fn fold_is_idempotent_and_clean(s in "\\PC{0,30}") {
            let f = fold(&s);
            prop_assert_eq!(fold(&f), f.clone());
            prop_assert!(!f.starts_with(' ') && !f.ends_with(' ') && !f.contains("  "));
            prop_assert!(!f.chars().any(is_combining_mark));
        }

        #[test]
        fn words_rejoin_to_fold(s in "\\PC{0,30}") {
            prop_assert_eq!(fold_words(&s).join(" "), fold(&s));
        }
    }
}
