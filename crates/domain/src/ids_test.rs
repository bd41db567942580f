//! Unit tests of `ids`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

#[test]
fn uscc_accepts_known_valid_codes() {
    for (input, normalised) in [
        // GB 32100 examples from the design brief.
        ("91110000600037341L", "91110000600037341L"),
        ("12100000400009880K", "12100000400009880K"),
        // Letters in the 组织机构代码 (MA1GBKRE4): only passes with GB 11714 letter values.
        ("91310112MA1GBKRE47", "91310112MA1GBKRE47"),
        // Lower case and surrounding whitespace are normalised.
        ("  91110000600037341l\n", "91110000600037341L"),
    ] {
        let code = Uscc::parse(input).unwrap();
        assert_eq!(code.as_str(), normalised, "{input}");
        assert_eq!(code.to_string(), normalised);
    }
    let code: Uscc = "91110000600037341L".parse().unwrap();
    assert_eq!(code.registration_authority(), '9');
    assert_eq!(code.category(), '1');
    assert_eq!(code.region_code(), "110000");
    assert_eq!(code.org_code(), "600037341");
}

#[test]
fn uscc_rejections() {
    for (input, expected, code) in [
        // One character short.
        ("91110000600037341", IdError::WrongLength { expected: 18, found: 17 }, "id.wrong_length"),
        // 'I' is not in the GB 32100 alphabet.
        (
            "I1110000600037341L",
            IdError::InvalidCharacter { position: 1, ch: 'I', expected: CharClass::UsccAlphabet },
            "id.invalid_char",
        ),
        // The region part (3–8) must be digits.
        (
            "911A0000600037341L",
            IdError::InvalidCharacter { position: 4, ch: 'A', expected: CharClass::Digit },
            "id.invalid_char",
        ),
        // Non-ASCII characters are reported, not mangled.
        (
            "9111000060003734１L",
            IdError::InvalidCharacter { position: 17, ch: '１', expected: CharClass::DigitOrX },
            "id.invalid_char",
        ),
        // Last character altered.
        ("91110000600037341M", IdError::BadCheckCharacter { expected: 'L', found: 'M' }, "id.bad_check_char"),
    ] {
        let err = Uscc::parse(input).unwrap_err();
        assert_eq!(err, expected, "{input}");
        assert_eq!(err.code(), code);
        assert!(!err.message_zh().is_empty());
    }
}

#[test]
fn uscc_org_code_check_is_enforced() {
    // Body with org check 1 (600037341); put 2 at position 17 and recompute the final check
    // so that only the 组织机构代码 check is wrong.
    let mut first17: Vec<char> = "9111000060003734".chars().collect();
    first17.push('2');
    let check = uscc_check_char(&first17);
    let input: String = first17.into_iter().chain([check]).collect();
    let err = Uscc::parse(&input).unwrap_err();
    assert_eq!(err, IdError::BadOrgCodeCheck { expected: '1', found: '2' });
    assert_eq!(err.code(), "id.bad_org_code_check");
    assert_eq!(err.message_zh(), "组织机构代码校验位（第 17 位）错误：应为 1，实为 2（请核对第 9–17 位）");
}

#[test]
fn uscc_complete_computes_both_checks() {
    assert_eq!(Uscc::complete("9111000060003734").unwrap().as_str(), "91110000600037341L");
    assert_eq!(
        Uscc::complete("12100000400009880").unwrap_err(),
        IdError::WrongLength { expected: 16, found: 17 }
    );
    // A demo code for a Kunming company.
    let demo = Uscc::complete("91530100MA6K0001").unwrap();
    assert_eq!(demo.region_code(), "530100");
}

#[test]
fn resident_id_accepts_known_valid() {
    let id = ResidentId::parse("11010519491231002x").unwrap();
    assert_eq!(id.as_str(), "11010519491231002X");
    assert_eq!(id.birth_date(), NaiveDate::from_ymd_opt(1949, 12, 31).unwrap());
    assert_eq!(id.region_code(), "110105");
    // Sequence 002 is even: a woman.
    assert!(!id.is_male());
    assert_eq!(id.masked(), "1101**********002X");
    assert_eq!(format!("{id:?}"), "ResidentId(\"1101**********002X\")");

    let completed = ResidentId::complete("53010219800101123").unwrap();
    assert!(completed.is_male());
    assert_eq!(completed.masked().len(), 18);
    assert!(completed.masked().starts_with("5301**********"));
}

#[test]
fn resident_id_rejections() {
    for (input, expected, code, zh) in [
        // Too short.
        (
            "1101051949123100",
            IdError::WrongLength { expected: 18, found: 16 },
            "id.wrong_length",
            "长度错误：应为 18 位，实为 16 位",
        ),
        // Letter in the digit part.
        (
            "1101051949A231002X",
            IdError::InvalidCharacter { position: 11, ch: 'A', expected: CharClass::Digit },
            "id.invalid_char",
            "第 11 位字符“A”不合法：应为数字",
        ),
        // The check character can only be a digit or X.
        (
            "11010519491231002Y",
            IdError::InvalidCharacter { position: 18, ch: 'Y', expected: CharClass::DigitOrX },
            "id.invalid_char",
            "第 18 位字符“Y”不合法：应为数字或字母 X",
        ),
        // 1949-13-31 does not exist.
        (
            "11010519491331002X",
            IdError::InvalidBirthDate { digits: "19491331".into() },
            "id.invalid_birth_date",
            "出生日期“19491331”无效：须为 1900 年以后的真实日期",
        ),
        // 1899 is before the 1900 floor.
        (
            "11010518991231002X",
            IdError::InvalidBirthDate { digits: "18991231".into() },
            "id.invalid_birth_date",
            "出生日期“18991231”无效：须为 1900 年以后的真实日期",
        ),
        // Wrong check character.
        (
            "110105194912310023",
            IdError::BadCheckCharacter { expected: 'X', found: '3' },
            "id.bad_check_char",
            "校验位错误：应为 X，实为 3（请核对各位是否录入有误）",
        ),
    ] {
        let err = ResidentId::parse(input).unwrap_err();
        assert_eq!(err, expected, "{input}");
        assert_eq!(err.code(), code);
        assert_eq!(err.message_zh(), zh);
    }
}

#[test]
fn mobile_parse_and_mask() {
    let m = Mobile::parse(" 13812345678 ").unwrap();
    assert_eq!(m.as_str(), "13812345678");
    assert_eq!(m.masked(), "138****5678");
    assert_eq!(format!("{m:?}"), "Mobile(\"138****5678\")");
    assert!(Mobile::parse("19912345678").is_ok());

    for (input, expected, code) in [
        // Second digit 2 is not allocated to mobiles.
        ("12812345678", IdError::WrongPrefix { prefix: "12".into() }, "id.mobile_prefix"),
        // Landline-like start.
        ("23812345678", IdError::WrongPrefix { prefix: "23".into() }, "id.mobile_prefix"),
        // One digit too many.
        ("138123456789", IdError::WrongLength { expected: 11, found: 12 }, "id.wrong_length"),
        // Separators are not accepted.
        (
            "138-1234567",
            IdError::InvalidCharacter { position: 4, ch: '-', expected: CharClass::Digit },
            "id.invalid_char",
        ),
    ] {
        let err = Mobile::parse(input).unwrap_err();
        assert_eq!(err, expected, "{input}");
        assert_eq!(err.code(), code);
    }
}

fn uscc_alphabet_char() -> impl Strategy<Value = char> {
    proptest::sample::select(USCC_ALPHABET.chars().collect::<Vec<_>>())
}

fn uscc_body() -> impl Strategy<Value = String> {
    (
        proptest::collection::vec(uscc_alphabet_char(), 2),
        "[0-9]{6}",
        proptest::collection::vec(uscc_alphabet_char(), 8),
    )
        .prop_map(|(head, region, org)| head.into_iter().chain(region.chars()).chain(org).collect::<String>())
}

fn resident_body() -> impl Strategy<Value = String> {
    ("[0-9]{6}", (1900i32..=2100, 1u32..=366), "[0-9]{3}").prop_filter_map(
        "day of year out of range",
        |(region, (year, ordinal), seq)| {
            let date = NaiveDate::from_yo_opt(year, ordinal)?;
            Some(format!("{region}{}{seq}", date.format("%Y%m%d")))
        },
    )
}

proptest! {
    #[test]
    fn uscc_complete_always_parses(body in uscc_body()) {
        let code = Uscc::complete(&body).unwrap();
        prop_assert!(code.as_str().starts_with(&body));
        prop_assert_eq!(Uscc::parse(code.as_str()).unwrap(), code);
    }

    #[test]
    fn uscc_single_substitution_is_detected(
        body in uscc_body(),
        position in 0usize..18,
        replacement in uscc_alphabet_char(),
    ) {
        let code = Uscc::complete(&body).unwrap();
        let mut chars: Vec<char> = code.as_str().chars().collect();
        prop_assume!(chars[position] != replacement);
        chars[position] = replacement;
        let altered: String = chars.into_iter().collect();
        prop_assert!(Uscc::parse(&altered).is_err(), "{} accepted", altered);
    }

    #[test]
    fn resident_complete_always_parses(body in resident_body()) {
        let id = ResidentId::complete(&body).unwrap();
        prop_assert!(id.as_str().starts_with(&body));
        prop_assert_eq!(ResidentId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn resident_single_substitution_is_detected(
        body in resident_body(),
        position in 0usize..18,
        replacement in proptest::sample::select("0123456789X".chars().collect::<Vec<_>>()),
    ) {
        let id = ResidentId::complete(&body).unwrap();
        let mut chars: Vec<char> = id.as_str().chars().collect();
        prop_assume!(chars[position] != replacement);
        chars[position] = replacement;
        let altered: String = chars.into_iter().collect();
        prop_assert!(ResidentId::parse(&altered).is_err(), "{} accepted", altered);
    }
}

proptest::proptest! {
    /// The fast checks give exactly the answer of `parse`, on near-valid and on random input.
    #[test]
    fn fast_validity_checks_agree_with_parse(
        body in "[0-9A-Za-z]{16}",
        id17 in "[1-6][0-9]{5}(19|20)[0-9]{2}(0[1-9]|1[0-2])[0-3][0-9][0-9]{3}",
        noise in "[0-9A-Za-z xX]{0,20}",
        mobile in "[0-9]{11}",
        flip in 0usize..18,
    ) {
        for candidate in [noise.clone(), mobile.clone(), format!(" {mobile} ")] {
            proptest::prop_assert_eq!(Mobile::is_valid(&candidate), Mobile::parse(&candidate).is_ok());
            proptest::prop_assert_eq!(Uscc::is_valid(&candidate), Uscc::parse(&candidate).is_ok());
            proptest::prop_assert_eq!(ResidentId::is_valid(&candidate), ResidentId::parse(&candidate).is_ok());
        }
        let mut codes = Vec::new();
        if let Ok(u) = Uscc::complete(&body) {
            codes.push(u.as_str().to_owned());
            codes.push(u.as_str().to_lowercase());
        }
        if let Ok(r) = ResidentId::complete(&id17) {
            codes.push(r.as_str().to_owned());
        }
        for code in codes {
            // The valid code, and the code with one character changed.
            let mut bytes = code.clone().into_bytes();
            if let Some(b) = bytes.get_mut(flip) {
                *b = if *b == b'7' { b'X' } else { b'7' };
            }
            let changed = String::from_utf8(bytes).unwrap();
            for c in [code, changed] {
                proptest::prop_assert_eq!(Uscc::is_valid(&c), Uscc::parse(&c).is_ok(), "{}", c);
                proptest::prop_assert_eq!(ResidentId::is_valid(&c), ResidentId::parse(&c).is_ok(), "{}", c);
            }
        }
    }
}
