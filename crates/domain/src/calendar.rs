//! The official working-day calendar (工作日) and the period arithmetic of Chinese administrative
//! law (期间计算).
//!
//! Dates are calendar dates in Asia/Shanghai (`chrono::NaiveDate`); converting an instant to the
//! local date is the caller's job.
//!
//! Each November the 国务院办公厅 publishes the next year's 法定节假日 and 调休 arrangement. A
//! listed date is either a day off or an adjusted working day (a weekend day that is worked);
//! unlisted weekdays are worked and unlisted weekends are off. A notice may also list late
//! December dates of the previous year, so both notices are consulted for December dates.
//!
//! Two kinds of arithmetic are offered:
//! - **strict** (`add_working_days`, `add_calendar_days`, `working_days_between`, `day_kind`):
//!   used where an exact answer is required; any inspected day whose year has no loaded schedule
//!   is an error ([`CalendarError::YearNotPublished`]) rather than a guess;
//! - **provisional** (`deadline_*`, `working_days_left`): used for workflow deadlines, which must
//!   be set even when they reach into an unpublished year; such days are assumed to follow the
//!   plain Monday–Friday rule and the result is flagged provisional, to be recomputed once an
//!   administrator loads that year's schedule.
//!
//! The official schedules for 2024–2026 are compiled in from `data/holidays-cn.tsv` (converted
//! from NateScarlet/holiday-cn, MIT), so nothing is read from disk at run time.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};
use thiserror::Error;

/// Embedded official schedules: `notice_year<TAB>date<TAB>off|work<TAB>name`, `#` comments.
const OFFICIAL_TSV: &str = include_str!("../data/holidays-cn.tsv");

/// Whether a day is worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DayKind {
    /// 休息日: weekend or 法定节假日.
    Off,
    /// 工作日, including a 调休 weekend day that is worked.
    Work,
}

/// One date listed in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// Holiday the entry belongs to, e.g. `春节` (also for its 调休 working days).
    pub name: String,
}

/// One published yearly notice (节假日安排通知).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    /// The year the notice is for. Its dates lie between December of the previous year and
    /// December of this year.
    pub year: i32,
    pub days: Vec<ScheduleDay>,
}

/// A workflow deadline and whether it rests on assumed (unpublished) days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    pub due: NaiveDate,
    /// True when some inspected day lies in a year with no loaded schedule; recompute after
    /// loading that year.
    pub provisional: bool,
}

/// Calendar errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// A strict computation needed a day of a year whose schedule is not loaded.
    #[error("no official holiday schedule loaded for {year}")]
    YearNotPublished { year: i32 },
    /// A notice for `year` may only list dates from December of the previous year to December
    /// of `year`.
    #[error("the {year} schedule lists {date}, outside December of the previous year to December {year}")]
    DateOutsideNoticeYear { year: i32, date: NaiveDate },
    /// The same date is listed twice in one notice (ambiguous).
    #[error("the {year} schedule lists {date} more than once")]
    DuplicateDate { year: i32, date: NaiveDate },
    /// A line of the holiday table could not be read (1-based line number).
    #[error("holiday data line {line}: {reason}")]
    BadLine { line: usize, reason: String },
    /// The result would lie beyond the dates `chrono` can represent.
    #[error("date out of the supported range")]
    DateOutOfRange,
}

impl CalendarError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::YearNotPublished { .. } => "calendar.year_not_published",
            CalendarError::DateOutsideNoticeYear { .. } => "calendar.date_outside_notice_year",
            CalendarError::DuplicateDate { .. } => "calendar.duplicate_date",
            CalendarError::BadLine { .. } => "calendar.bad_line",
            CalendarError::DateOutOfRange => "calendar.date_out_of_range",
        }
    }

    /// Message for Chinese-speaking users.
    pub fn message_zh(&self) -> String {
        match self {
            CalendarError::YearNotPublished { year } => {
                format!("{year} 年的法定节假日安排尚未载入，无法按官方工作日计算；请管理员载入该年度安排")
            }
            CalendarError::DateOutsideNoticeYear { year, date } => format!(
                "{year} 年度节假日安排中的日期 {date} 超出范围：应在 {} 年 12 月至 {year} 年 12 月之间",
                year.saturating_sub(1)
            ),
            CalendarError::DuplicateDate { year, date } => {
                format!("{year} 年度节假日安排中日期 {date} 重复")
            }
            CalendarError::BadLine { line, reason } => {
                format!("节假日数据第 {line} 行有误：{reason}")
            }
            CalendarError::DateOutOfRange => "日期超出可计算范围".to_owned(),
        }
    }
}

/// How days of years without a loaded schedule are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Error out.
    Strict,
    /// Assume Monday–Friday work and flag the result.
    Provisional,
}

/// A loaded notice plus an index from date to its entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LoadedYear {
    schedule: YearSchedule,
    index: BTreeMap<NaiveDate, usize>,
}

/// The working-day calendar: the yearly notices loaded so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, LoadedYear>,
}

fn weekday_kind(date: NaiveDate) -> DayKind {
    match date.weekday() {
        Weekday::Sat | Weekday::Sun => DayKind::Off,
        _ => DayKind::Work,
    }
}

fn next_day(date: NaiveDate) -> Result<NaiveDate, CalendarError> {
    date.succ_opt().ok_or(CalendarError::DateOutOfRange)
}

/// Strict `YYYY-MM-DD` (chrono's `%Y` would also accept signs and short years).
fn parse_iso_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        text.get(range)
            .filter(|part| part.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|part| part.parse().ok())
    };
    let year = i32::try_from(number(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?)
}

impl WorkCalendar {
    /// An empty calendar: every strict query fails until schedules are loaded.
    pub fn new() -> WorkCalendar {
        WorkCalendar::default()
    }

    /// The official schedules embedded in the binary (2024–2026).
    pub fn official() -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::parse_tsv(OFFICIAL_TSV)
    }

    /// Reads `notice_year<TAB>date<TAB>off|work<TAB>name` lines (blank lines and `#` comments
    /// skipped) and loads one schedule per notice year.
    pub fn parse_tsv(text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut by_year: BTreeMap<i32, Vec<ScheduleDay>> = BTreeMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            if raw.trim().is_empty() || raw.starts_with('#') {
                continue;
            }
            let bad = |reason: String| CalendarError::BadLine { line, reason };
            let fields: Vec<&str> = raw.split('\t').collect();
            let [year, date, kind, name] = fields.as_slice() else {
                return Err(bad(format!("expected 4 tab-separated fields, found {}", fields.len())));
            };
            let year: i32 = year.trim().parse().map_err(|_| bad(format!("invalid notice year {year:?}")))?;
            let date = parse_iso_date(date.trim())
                .ok_or_else(|| bad(format!("invalid date {date:?}, expected YYYY-MM-DD")))?;
            let kind = match kind.trim() {
                "off" => DayKind::Off,
                "work" => DayKind::Work,
                other => return Err(bad(format!("expected off or work, found {other:?}"))),
            };
            by_year.entry(year).or_default().push(ScheduleDay { date, kind, name: name.trim().to_owned() });
        }
        let mut calendar = WorkCalendar::new();
        for (year, days) in by_year {
            calendar.load(YearSchedule { year, days })?;
        }
        Ok(calendar)
    }

    /// Loads (or replaces) the schedule for `schedule.year`. Rejects dates outside December of
    /// the previous year .. December of that year, and dates listed twice; a rejected schedule
    /// leaves the calendar unchanged.
    pub fn load(&mut self, mut schedule: YearSchedule) -> Result<(), CalendarError> {
        let year = schedule.year;
        let first = year
            .checked_sub(1)
            .and_then(|y| NaiveDate::from_ymd_opt(y, 12, 1))
            .ok_or(CalendarError::DateOutOfRange)?;
        let last = NaiveDate::from_ymd_opt(year, 12, 31).ok_or(CalendarError::DateOutOfRange)?;
        schedule.days.sort_by_key(|d| d.date);
        let mut index = BTreeMap::new();
        for (i, day) in schedule.days.iter().enumerate() {
            if day.date < first || day.date > last {
                return Err(CalendarError::DateOutsideNoticeYear { year, date: day.date });
            }
            if index.insert(day.date, i).is_some() {
                return Err(CalendarError::DuplicateDate { year, date: day.date });
            }
        }
        self.years.insert(year, LoadedYear { schedule, index });
        Ok(())
    }

    /// Years whose notice is loaded, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether the notice for `year` is loaded.
    pub fn has_year(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The loaded notice for `year`, with its days sorted by date.
    pub fn schedule(&self, year: i32) -> Option<&YearSchedule> {
        self.years.get(&year).map(|y| &y.schedule)
    }

    /// A date is covered when the notice for its own year is loaded.
    pub fn is_covered(&self, date: NaiveDate) -> bool {
        self.has_year(date.year())
    }

    fn lookup(&self, year: i32, date: NaiveDate) -> Option<&ScheduleDay> {
        let loaded = self.years.get(&year)?;
        let i = loaded.index.get(&date)?;
        loaded.schedule.days.get(*i)
    }

    /// The notice entry for `date`, if any loaded notice lists it. For December dates the next
    /// year's notice wins, being the later publication.
    pub fn entry(&self, date: NaiveDate) -> Option<&ScheduleDay> {
        let from_next_notice = if date.month() == 12 {
            date.year().checked_add(1).and_then(|next| self.lookup(next, date))
        } else {
            None
        };
        from_next_notice.or_else(|| self.lookup(date.year(), date))
    }

    /// Kind of a day and whether it had to be assumed (year not covered, provisional mode only).
    fn classify(&self, date: NaiveDate, mode: Mode) -> Result<(DayKind, bool), CalendarError> {
        if self.is_covered(date) {
            let kind = self.entry(date).map_or_else(|| weekday_kind(date), |e| e.kind);
            Ok((kind, false))
        } else {
            match mode {
                Mode::Strict => Err(CalendarError::YearNotPublished { year: date.year() }),
                Mode::Provisional => Ok((weekday_kind(date), true)),
            }
        }
    }

    /// If the seven days after `date` all lie in years without a schedule, they hold exactly
    /// five assumed working days; returns the seventh day. Lets provisional walks skip whole
    /// weeks instead of crawling day by day through unpublished years.
    fn next_week_assumed(&self, date: NaiveDate) -> Option<NaiveDate> {
        let first = date.succ_opt()?;
        let last = date.checked_add_days(Days::new(7))?;
        // Seven days span at most two years, so checking both ends covers all of them.
        (!self.is_covered(first) && !self.is_covered(last)).then_some(last)
    }

    /// Official kind of `date`; an error if its year's notice is not loaded.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        self.classify(date, Mode::Strict).map(|(kind, _)| kind)
    }

    /// Whether `date` is an official working day; an error if its year's notice is not loaded.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.day_kind(date)? == DayKind::Work)
    }

    fn walk_working_days(
        &self,
        start: NaiveDate,
        n: u32,
        mode: Mode,
    ) -> Result<(NaiveDate, bool), CalendarError> {
        let mut date = start;
        let mut remaining = n;
        let mut provisional = false;
        while remaining > 0 {
            // More than five left: a whole assumed week can be skipped without overshooting.
            if mode == Mode::Provisional
                && remaining > 5
                && let Some(week_end) = self.next_week_assumed(date)
            {
                date = week_end;
                remaining -= 5;
                provisional = true;
                continue;
            }
            date = next_day(date)?;
            let (kind, assumed) = self.classify(date, mode)?;
            provisional |= assumed;
            if kind == DayKind::Work {
                remaining -= 1;
            }
        }
        Ok((date, provisional))
    }

    /// Civil Code Art. 203: a period whose last day is not a working day ends on the next one.
    fn roll_forward(&self, mut date: NaiveDate, mode: Mode) -> Result<(NaiveDate, bool), CalendarError> {
        let mut provisional = false;
        loop {
            let (kind, assumed) = self.classify(date, mode)?;
            provisional |= assumed;
            if kind == DayKind::Work {
                return Ok((date, provisional));
            }
            date = next_day(date)?;
        }
    }

    fn walk_calendar_days(
        &self,
        start: NaiveDate,
        n: u32,
        mode: Mode,
    ) -> Result<(NaiveDate, bool), CalendarError> {
        let end = start.checked_add_days(Days::new(u64::from(n))).ok_or(CalendarError::DateOutOfRange)?;
        self.roll_forward(end, mode)
    }

    fn count_working_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        mode: Mode,
    ) -> Result<(i64, bool), CalendarError> {
        let (low, high, sign) = if to >= from { (from, to, 1) } else { (to, from, -1) };
        let mut count: i64 = 0;
        let mut provisional = false;
        let mut date = low;
        while date < high {
            if mode == Mode::Provisional
                && let Some(week_end) = self.next_week_assumed(date).filter(|&w| w <= high)
            {
                date = week_end;
                count += 5;
                provisional = true;
                continue;
            }
            date = next_day(date)?;
            let (kind, assumed) = self.classify(date, mode)?;
            provisional |= assumed;
            if kind == DayKind::Work {
                count += 1;
            }
        }
        Ok((sign * count, provisional))
    }

    /// The `n`-th working day after `start` (the start day is not counted; `n = 0` gives
    /// `start`). Every day from `start + 1` to the result must be covered.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.walk_working_days(start, n, Mode::Strict).map(|(date, _)| date)
    }

    /// A period of `n` days (日) per Civil Code Art. 201/203: the start day is not counted, the
    /// period ends on `start + n`, or on the next working day if that day is a weekend or
    /// holiday. The end day and any days rolled over must be covered.
    pub fn add_calendar_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.walk_calendar_days(start, n, Mode::Strict).map(|(date, _)| date)
    }

    /// `date` itself if it is a working day, otherwise the next working day (Civil Code
    /// Art. 203). Apply it to [`add_months`]/[`add_years`] results when a term in 月/年 must
    /// not end on a holiday.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.roll_forward(date, Mode::Strict).map(|(d, _)| d)
    }

    /// Number of working days in `(from, to]`, negative when `to < from` (then it is minus the
    /// number in `(to, from]`). Every day in the range must be covered.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        self.count_working_days(from, to, Mode::Strict).map(|(n, _)| n)
    }

    /// Like [`WorkCalendar::add_working_days`], but never fails: days of unpublished years are
    /// assumed Monday–Friday working and the deadline is flagged provisional. Saturates at the
    /// last representable date.
    pub fn deadline_working_days(&self, start: NaiveDate, n: u32) -> Deadline {
        match self.walk_working_days(start, n, Mode::Provisional) {
            Ok((due, provisional)) => Deadline { due, provisional },
            Err(_) => Deadline { due: NaiveDate::MAX, provisional: true },
        }
    }

    /// Like [`WorkCalendar::add_calendar_days`], but never fails (see
    /// [`WorkCalendar::deadline_working_days`]).
    pub fn deadline_calendar_days(&self, start: NaiveDate, n: u32) -> Deadline {
        match self.walk_calendar_days(start, n, Mode::Provisional) {
            Ok((due, provisional)) => Deadline { due, provisional },
            Err(_) => Deadline { due: NaiveDate::MAX, provisional: true },
        }
    }

    /// Working days left until `due` as seen on `today` (days in `(today, due]`; negative when
    /// overdue), and whether the count rests on assumed days.
    pub fn working_days_left(&self, today: NaiveDate, due: NaiveDate) -> (i64, bool) {
        // Cannot fail: provisional mode never errors on coverage and the walk stays in range.
        self.count_working_days(today, due, Mode::Provisional).unwrap_or((0, true))
    }
}

/// A period of `n` months (月) per Civil Code Art. 202: ends on the corresponding day of the
/// end month, or on that month's last day if it has no such day (Jan 31 + 1 month = Feb 28/29).
/// Saturates at the last representable date.
pub fn add_months(start: NaiveDate, n: u32) -> NaiveDate {
    // chrono clamps to the last day of the month, which is exactly Art. 202.
    start.checked_add_months(Months::new(n)).unwrap_or(NaiveDate::MAX)
}

/// A period of `n` years (年) per Civil Code Art. 202: ends on the corresponding date, Feb 28
/// for a Feb 29 start in a non-leap end year. Saturates at the last representable date.
pub fn add_years(start: NaiveDate, n: u32) -> NaiveDate {
    n.checked_mul(12).map_or(NaiveDate::MAX, |months| add_months(start, months))
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            cal.day_kind(d(2023, 12, 31)).unwrap_err(),
            CalendarError::YearNotPublished { year: 2023 }
        );
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
        with_december.days.push(ScheduleDay {
            date: d(2026, 12, 31),
            kind: DayKind::Off,
            name: "元旦".into(),
        });
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
}
