//! Unit tests of `regions`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn code(s: &str) -> RegionCode {
    RegionCode::parse(s).unwrap()
}

#[test]
fn embedded_yunnan_file_is_well_formed_with_expected_counts() {
    let tree = RegionTree::yunnan().unwrap();
    let count = |level| tree.all().filter(|r| r.level() == level).count();
    assert_eq!(count(RegionLevel::Province), 1);
    assert_eq!(count(RegionLevel::Prefecture), 16);
    assert_eq!(count(RegionLevel::County), 129);
    assert_eq!(tree.len(), 146);
    assert_eq!(tree.prefectures().len(), 16);
    assert_eq!(tree.children(&code("530000")).len(), 16);
    // Every county hangs under a prefecture.
    for county in tree.all().filter(|r| r.level() == RegionLevel::County) {
        assert!(tree.prefecture_of(&county.code()).is_some(), "{county:?}");
    }
    // all() is in code order.
    let codes: Vec<RegionCode> = tree.all().map(Region::code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(codes, sorted);
}

#[test]
fn region_code_parsing_and_levels() {
    for (input, level) in [
        ("530000", RegionLevel::Province),
        ("530100", RegionLevel::Prefecture),
        ("532300", RegionLevel::Prefecture),
        ("530102", RegionLevel::County),
        (" 533423 ", RegionLevel::County),
    ] {
        assert_eq!(code(input).level(), level, "{input}");
    }
    for bad in ["53010", "5301020", "53010a", "５３０１０２", ""] {
        assert!(matches!(RegionCode::parse(bad), Err(RegionError::InvalidCode { .. })), "{bad}");
    }
    assert_eq!(code("530102").to_string(), "530102");
}

#[test]
fn navigation() {
    let tree = RegionTree::yunnan().unwrap();
    let wuhua = code("530102");
    let kunming = code("530100");
    let yunnan = code("530000");
    let dali = code("532900");

    assert_eq!(tree.get(&wuhua).unwrap().name(), "五华区");
    assert_eq!(tree.get(&kunming).unwrap().name(), "昆明市");
    assert_eq!(tree.get(&wuhua).unwrap().parent(), Some(kunming));
    assert_eq!(tree.find_by_name("大理白族自治州").unwrap().code(), dali);

    let ancestors: Vec<RegionCode> = tree.ancestors(&wuhua).iter().map(|r| r.code()).collect();
    assert_eq!(ancestors, vec![kunming, yunnan]);
    assert!(tree.ancestors(&yunnan).is_empty());

    // A region contains itself, its descendants, and nothing else.
    assert!(tree.contains(&wuhua, &wuhua));
    assert!(tree.contains(&kunming, &wuhua));
    assert!(tree.contains(&yunnan, &wuhua));
    assert!(!tree.contains(&dali, &wuhua));
    assert!(!tree.contains(&wuhua, &kunming));
    // Unknown codes are contained in nothing.
    assert!(!tree.contains(&yunnan, &code("110105")));

    assert_eq!(tree.prefecture_of(&wuhua), Some(kunming));
    assert_eq!(tree.prefecture_of(&kunming), Some(kunming));
    assert_eq!(tree.prefecture_of(&yunnan), None);
    assert_eq!(tree.prefecture_of(&code("110105")), None);

    let kunming_children = tree.children(&kunming);
    assert_eq!(kunming_children.len(), 14);
    assert_eq!(kunming_children.first().unwrap().code(), wuhua);
    assert!(tree.children(&wuhua).is_empty());
}

#[test]
fn parse_tsv_rejections() {
    for (text, expected) in [
        // Two fields only.
        (
            "530000\t云南省",
            RegionError::BadLine { line: 1, reason: "expected 3 tab-separated fields, found 2".into() },
        ),
        // Duplicate code.
        ("530000\t云南省\t\n530000\t云南\t", RegionError::DuplicateCode { code: code("530000") }),
        // Parent missing from the table.
        (
            "530100\t昆明市\t530000",
            RegionError::UnknownParent { code: code("530100"), parent: code("530000") },
        ),
        // A county under a prefecture of another province.
        (
            "530000\t云南省\t\n110000\t北京市\t\n110100\t市辖区\t110000\n530102\t五华区\t110100",
            RegionError::InconsistentParent { code: code("530102"), parent: code("110100") },
        ),
        // A prefecture without a parent.
        ("530100\t昆明市\t", RegionError::MissingOrUnexpectedParent { code: code("530100") }),
    ] {
        assert_eq!(RegionTree::parse_tsv(text).unwrap_err(), expected, "{text}");
    }
    // Comments, blank lines and any order are fine.
    let tree =
        RegionTree::parse_tsv("# c\n\n530102\t五华区\t530100\n530100\t昆明市\t530000\n530000\t云南省\t\n")
            .unwrap();
    assert_eq!(tree.len(), 3);
}

#[test]
fn scope_prefixes_cover_exactly_the_area() {
    let p = |s: &str| RegionCode::parse(s).unwrap();
    assert_eq!(p("530000").scope_prefix(), "53");
    assert_eq!(p("530100").scope_prefix(), "5301");
    assert_eq!(p("530102").scope_prefix(), "530102");
    // 昆明市's prefix matches its counties, never 大理州's.
    assert!(p("530102").as_str().starts_with(p("530100").scope_prefix()));
    assert!(!p("532901").as_str().starts_with(p("530100").scope_prefix()));
}
