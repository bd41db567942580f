//! Unit tests of `calendar`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use proptest::prelude::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn official() -> WorkCalendar {
    WorkCalendar::official().unwrap()
}

/// A made-up 2027 notice: only New Year's Day off.
fn fake_2027() -> YearSchedule {
    YearSchedule {
        year: 2027,
        days: vec![ScheduleDay { date: d(2027, 1, 1), kind: DayKind::Off, name: "元旦".into() }],
    }
}

#[test]
fn embedded_schedules_are_well_formed() {
    let cal = official();
    assert_eq!(cal.years(), vec![2024, 2025, 2026]);
    assert!(cal.has_year(2026));
    assert!(!cal.has_year(2027));
    assert_eq!(cal.schedule(2024).unwrap().days.len(), 36);
    assert_eq!(cal.schedule(2025).unwrap().days.len(), 33);
    assert_eq!(cal.schedule(2026).unwrap().days.len(), 39);
    assert_eq!(cal.entry(d(2026, 2, 17)).unwrap().name, "春节");
}

#[test]
fn day_kinds_2024_to_2026() {
    use DayKind::{Off, Work};
    let cal = official();
    for (date, kind, why) in [
        (d(2026, 2, 14), Work, "Sat, 调休 before 春节 2026"),
        (d(2026, 2, 15), Off, "Sun, first day of 春节 2026"),
        (d(2026, 2, 16), Off, "Mon, 春节 holiday on a weekday"),
        (d(2026, 2, 23), Off, "Mon, last day of 春节 2026"),
        (d(2026, 2, 24), Work, "Tue, first working day after 春节"),
        (d(2026, 2, 28), Work, "Sat, 调休 after 春节 2026"),
        (d(2026, 3, 1), Off, "ordinary Sunday"),
        (d(2026, 3, 2), Work, "ordinary Monday"),
        (d(2026, 9, 20), Work, "Sun, 调休 for 国庆 2026"),
        (d(2026, 9, 25), Off, "Fri, 中秋节 2026"),
        (d(2026, 10, 1), Off, "Thu, 国庆节"),
        (d(2026, 10, 7), Off, "Wed, last day of 国庆 2026"),
        (d(2026, 10, 8), Work, "Thu, back to work"),
        (d(2026, 10, 10), Work, "Sat, 调休 after 国庆 2026"),
        (d(2026, 10, 11), Off, "ordinary Sunday"),
        (d(2025, 12, 31), Work, "Wed, ordinary weekday"),
        (d(2026, 1, 1), Off, "元旦 2026"),
        (d(2026, 1, 4), Work, "Sun, 调休 for 元旦 2026"),
        (d(2024, 2, 4), Work, "Sun, 调休 for 春节 2024"),
        (d(2025, 10, 8), Off, "Wed, 国庆中秋 2025"),
    ] {
        assert_eq!(cal.day_kind(date).unwrap(), kind, "{date}: {why}");
    }
}

#[test]
fn add_working_days_table() {
    let cal = official();
    for (start, n, expected, why) in [
        // 2026-09-21 is a Monday. Counting from the next day (2026 notice: 中秋 09-25..27 off,
        // 国庆 10-01..07 off, 10-10 Sat worked):
        //   09-22 Tue 1, 09-23 Wed 2, 09-24 Thu 3, [09-25..27 中秋 off],
        //   09-28 Mon 4, 09-29 Tue 5, 09-30 Wed 6, [10-01..07 国庆 off],
        //   10-08 Thu 7, 10-09 Fri 8, 10-10 Sat (调休) 9, [10-11 Sun off],
        //   10-12..16 Mon–Fri 10–14, 10-19..23 Mon–Fri 15–19, 10-26 Mon 20.
        (d(2026, 9, 21), 20, d(2026, 10, 26), "across 中秋 and 国庆 2026"),
        (d(2026, 2, 13), 1, d(2026, 2, 14), "the 调休 Saturday counts as a working day"),
        (d(2026, 2, 14), 1, d(2026, 2, 24), "春节 02-15..23 skipped"),
        // 12-30 Tue 1, 12-31 Wed 2, [01-01..03 元旦 off], 01-04 Sun (调休) 3, 01-05 4, 01-06 5.
        (d(2025, 12, 29), 5, d(2026, 1, 6), "across New Year 2025/2026"),
        // [05-01..05 off], 05-06 Wed 1, 07 2, 08 3, 05-09 Sat (调休) 4, [05-10 Sun], 05-11 5.
        (d(2026, 4, 30), 5, d(2026, 5, 11), "5-working-day public notice over 劳动节"),
        (d(2026, 2, 24), 0, d(2026, 2, 24), "n = 0 is the start day"),
        (d(2026, 2, 21), 0, d(2026, 2, 21), "n = 0 even on a holiday"),
        (d(2026, 10, 9), 1, d(2026, 10, 10), "Friday + 1 lands on the 调休 Saturday"),
    ] {
        assert_eq!(cal.add_working_days(start, n).unwrap(), expected, "{start} + {n}: {why}");
    }
}

#[test]
fn add_calendar_days_table() {
    let cal = official();
    for (start, n, expected, why) in [
        // 09-01 + 30 = 10-01, 国庆 runs to 10-07, so the period ends on Thu 10-08.
        (d(2026, 9, 1), 30, d(2026, 10, 8), "ends inside 国庆 2026"),
        // 01-20 + 30 = 02-19, inside 春节 (02-15..23): ends Tue 02-24.
        (d(2026, 1, 20), 30, d(2026, 2, 24), "ends inside 春节 2026"),
        // 03-01 + 7 = 03-08, an ordinary Sunday: ends Monday 03-09.
        (d(2026, 3, 1), 7, d(2026, 3, 9), "ends on an ordinary Sunday"),
        // 10-05 + 5 = 10-10, a Saturday that is worked: no roll-over.
        (d(2026, 10, 5), 5, d(2026, 10, 10), "ends on a 调休 Saturday"),
        (d(2026, 3, 2), 7, d(2026, 3, 9), "ends on an ordinary Monday"),
    ] {
        assert_eq!(cal.add_calendar_days(start, n).unwrap(), expected, "{start} + {n} days: {why}");
    }
    // Art. 203 roll-forward on its own.
    assert_eq!(cal.working_day_on_or_after(d(2026, 10, 3)).unwrap(), d(2026, 10, 8));
}

#[test]
fn working_days_between_table() {
    let cal = official();
    for (from, to, expected, why) in [
        (d(2026, 9, 21), d(2026, 10, 26), 20, "inverse of the add_working_days example"),
        (d(2026, 10, 26), d(2026, 9, 21), -20, "reversed range is negative"),
        (d(2026, 5, 6), d(2026, 5, 6), 0, "empty range"),
        (d(2026, 2, 13), d(2026, 2, 24), 2, "02-14 (调休) and 02-24 only"),
        (d(2025, 12, 29), d(2026, 1, 6), 5, "across New Year"),
    ] {
        assert_eq!(cal.working_days_between(from, to).unwrap(), expected, "({from}, {to}]: {why}");
    }
}

#[test]
fn strict_queries_into_unpublished_years_fail() {
    let cal = official();
    let not_2027 = CalendarError::YearNotPublished { year: 2027 };
    // 20 working days from 2026-12-10 reach into January 2027.
    assert_eq!(cal.add_working_days(d(2026, 12, 10), 20).unwrap_err(), not_2027);
    assert_eq!(cal.day_kind(d(2027, 1, 1)).unwrap_err(), not_2027);
    // 12-20 + 15 = 2027-01-04.
    assert_eq!(cal.add_calendar_days(d(2026, 12, 20), 15).unwrap_err(), not_2027);
    assert_eq!(cal.working_days_between(d(2026, 12, 1), d(2027, 1, 10)).unwrap_err(), not_2027);
    assert_eq!(cal.day_kind(d(2023, 12, 31)).unwrap_err(), CalendarError::YearNotPublished { year: 2023 });
    assert_eq!(not_2027.to_string(), "no official holiday schedule loaded for 2027");
    assert_eq!(
        not_2027.message_zh(),
        "2027 年的法定节假日安排尚未载入，无法按官方工作日计算；请管理员载入该年度安排"
    );
    assert_eq!(not_2027.code(), "calendar.year_not_published");
}

#[test]
fn provisional_deadlines_into_2027() {
    let mut cal = official();
    // Weekends only in 2027: 12-11 Fri 1, 12-14..18 2–6, 12-21..25 7–11, 12-28..31 12–15,
    // 2027-01-01 Fri 16 (assumed), 01-04..07 Mon–Thu 17–20.
    let before = cal.deadline_working_days(d(2026, 12, 10), 20);
    assert_eq!(before, Deadline { due: d(2027, 1, 7), provisional: true });
    assert_eq!(cal.working_days_left(d(2026, 12, 10), d(2027, 1, 7)), (20, true));
    // 12-20 + 15 = Mon 2027-01-04, assumed working.
    assert_eq!(
        cal.deadline_calendar_days(d(2026, 12, 20), 15),
        Deadline { due: d(2027, 1, 4), provisional: true }
    );

    // Once the 2027 notice (01-01 off) is loaded, the 16th day moves to 01-04 and the 20th
    // to Fri 01-08, and nothing is assumed any more.
    cal.load(fake_2027()).unwrap();
    let after = cal.deadline_working_days(d(2026, 12, 10), 20);
    assert_eq!(after, Deadline { due: d(2027, 1, 8), provisional: false });
    assert!(after.due > before.due);
    assert_eq!(cal.add_working_days(d(2026, 12, 10), 20).unwrap(), d(2027, 1, 8));
    // The old provisional due date now has 19 real working days left.
    assert_eq!(cal.working_days_left(d(2026, 12, 10), d(2027, 1, 7)), (19, false));
}

#[test]
fn provisional_equals_strict_when_covered() {
    let cal = official();
    assert_eq!(
        cal.deadline_working_days(d(2026, 9, 21), 20),
        Deadline { due: d(2026, 10, 26), provisional: false }
    );
    assert_eq!(
        cal.deadline_calendar_days(d(2026, 9, 1), 30),
        Deadline { due: d(2026, 10, 8), provisional: false }
    );
    assert_eq!(cal.working_days_left(d(2026, 10, 26), d(2026, 9, 21)), (-20, false));
}

#[test]
fn provisional_walks_far_into_unpublished_years() {
    let cal = official();
    // 2029-12-31 is a Monday; with 5 assumed working days a week, 260 working days are
    // exactly 52 weeks, ending on the Monday 2030-12-30.
    assert_eq!(
        cal.deadline_working_days(d(2029, 12, 31), 260),
        Deadline { due: d(2030, 12, 30), provisional: true }
    );
    assert_eq!(cal.working_days_left(d(2029, 12, 31), d(2030, 12, 30)), (260, true));
    // Saturates rather than panicking.
    assert_eq!(
        cal.deadline_working_days(NaiveDate::MAX, 1),
        Deadline { due: NaiveDate::MAX, provisional: true }
    );
    assert_eq!(cal.add_working_days(NaiveDate::MAX, 1).unwrap_err(), CalendarError::DateOutOfRange);
}

#[test]
fn loading_schedules() {
    let mut cal = official();
    // A 2027 notice may list late December 2026, and that entry counts for 2026-12-31
    // (a Thursday) even though the 2026 notice does not list it.
    let mut with_december = fake_2027();
    with_december.days.push(ScheduleDay { date: d(2026, 12, 31), kind: DayKind::Off, name: "元旦".into() });
    cal.load(with_december).unwrap();
    assert_eq!(cal.day_kind(d(2026, 12, 31)).unwrap(), DayKind::Off);
    assert_eq!(cal.years(), vec![2024, 2025, 2026, 2027]);

    // Loading replaces the year's schedule.
    cal.load(fake_2027()).unwrap();
    assert_eq!(cal.day_kind(d(2026, 12, 31)).unwrap(), DayKind::Work);

    for (days, expected, why) in [
        (
            vec![(d(2026, 11, 30), DayKind::Off)],
            CalendarError::DateOutsideNoticeYear { year: 2027, date: d(2026, 11, 30) },
            "before December of the previous year",
        ),
        (
            vec![(d(2028, 1, 1), DayKind::Off)],
            CalendarError::DateOutsideNoticeYear { year: 2027, date: d(2028, 1, 1) },
            "after the notice year",
        ),
        (
            vec![(d(2027, 1, 1), DayKind::Off), (d(2027, 1, 1), DayKind::Work)],
            CalendarError::DuplicateDate { year: 2027, date: d(2027, 1, 1) },
            "same date twice",
        ),
    ] {
        let schedule = YearSchedule {
            year: 2027,
            days: days
                .into_iter()
                .map(|(date, kind)| ScheduleDay { date, kind, name: String::new() })
                .collect(),
        };
        let err = cal.load(schedule).unwrap_err();
        assert_eq!(err, expected, "{why}");
        assert!(!err.message_zh().is_empty());
    }
    // A rejected load leaves the previous schedule in place.
    assert_eq!(cal.schedule(2027).unwrap(), &fake_2027());
}

#[test]
fn parse_tsv_rejections() {
    for (text, reason) in [
        ("2026\t2026-01-01\toff", "expected 4 tab-separated fields, found 3"),
        ("2026\t2026-1-1\toff\t元旦", "invalid date \"2026-1-1\", expected YYYY-MM-DD"),
        ("2026\t2026-02-30\toff\t元旦", "invalid date \"2026-02-30\", expected YYYY-MM-DD"),
        ("2026\t2026-01-01\tholiday\t元旦", "expected off or work, found \"holiday\""),
        ("20x6\t2026-01-01\toff\t元旦", "invalid notice year \"20x6\""),
    ] {
        assert_eq!(
            WorkCalendar::parse_tsv(&format!("# header\n{text}\n")).unwrap_err(),
            CalendarError::BadLine { line: 2, reason: reason.into() },
            "{text}"
        );
    }
    assert!(WorkCalendar::parse_tsv("# nothing\n\n").unwrap().years().is_empty());
}

#[test]
fn months_and_years() {
    for (start, months, expected, why) in [
        (d(2026, 1, 31), 1, d(2026, 2, 28), "no Feb 31: last day of February"),
        (d(2024, 1, 31), 1, d(2024, 2, 29), "leap February"),
        (d(2026, 3, 31), 1, d(2026, 4, 30), "no Apr 31"),
        (d(2026, 12, 31), 2, d(2027, 2, 28), "across the year end"),
        (d(2026, 5, 15), 0, d(2026, 5, 15), "zero months"),
    ] {
        assert_eq!(add_months(start, months), expected, "{start} + {months} months: {why}");
    }
    for (start, years, expected, why) in [
        (d(2024, 2, 29), 1, d(2025, 2, 28), "Feb 29 into a non-leap year"),
        (d(2024, 2, 29), 4, d(2028, 2, 29), "Feb 29 into a leap year"),
        (d(2026, 5, 15), 5, d(2031, 5, 15), "5-year operation term"),
    ] {
        assert_eq!(add_years(start, years), expected, "{start} + {years} years: {why}");
    }
    assert_eq!(add_years(NaiveDate::MAX, 1), NaiveDate::MAX);
    assert_eq!(add_years(d(2026, 1, 1), u32::MAX), NaiveDate::MAX);
}

/// Start dates from 2024-01-01 to 2026-10-01: 60 working days later is still in 2026.
fn covered_start() -> impl Strategy<Value = NaiveDate> {
    (0u64..=1004).prop_map(|offset| d(2024, 1, 1) + Days::new(offset))
}

proptest! {
    #[test]
    fn add_working_days_round_trips(start in covered_start(), n in 0u32..60) {
        let cal = official();
        let result = cal.add_working_days(start, n).unwrap();
        prop_assert_eq!(cal.working_days_between(start, result).unwrap(), i64::from(n));
        prop_assert_eq!(cal.working_days_between(result, start).unwrap(), -i64::from(n));
        if n > 0 {
            prop_assert!(cal.is_working_day(result).unwrap());
        }
        prop_assert_eq!(
            cal.deadline_working_days(start, n),
            Deadline { due: result, provisional: false }
        );
    }

    #[test]
    fn add_calendar_days_ends_on_first_working_day(start in covered_start(), n in 0u32..60) {
        let cal = official();
        let result = cal.add_calendar_days(start, n).unwrap();
        let nominal = start + Days::new(u64::from(n));
        prop_assert!(result >= nominal);
        prop_assert!(cal.is_working_day(result).unwrap());
        if result != nominal {
            // Nothing from the nominal end up to the result is a working day.
            prop_assert!(!cal.is_working_day(nominal).unwrap());
            prop_assert_eq!(cal.working_days_between(nominal, result).unwrap(), 1);
        }
    }

    #[test]
    fn provisional_week_skipping_matches_day_by_day(
        offset in 0u64..20_000,
        n in 0u32..400,
    ) {
        // An empty calendar assumes every day, which exercises the week-skipping fast path.
        let cal = WorkCalendar::new();
        let start = d(2020, 1, 1) + Days::new(offset);
        let mut expected = start;
        let mut left = n;
        while left > 0 {
            expected = expected.succ_opt().unwrap();
            if weekday_kind(expected) == DayKind::Work {
                left -= 1;
            }
        }
        prop_assert_eq!(
            cal.deadline_working_days(start, n),
            Deadline { due: expected, provisional: n > 0 }
        );
        prop_assert_eq!(cal.working_days_left(start, expected), (i64::from(n), n > 0));
    }
}
