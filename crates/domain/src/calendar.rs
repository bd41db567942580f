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
#[path = "calendar_test.rs"]
mod tests;
