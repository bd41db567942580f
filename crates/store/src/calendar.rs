//! Holiday schedules loaded by administrators, and deadlines (期限) computed on the working-day
//! calendar. A deadline that reaches into a year without an official schedule is provisional; loading
//! that year's schedule recomputes every open deadline in the same transaction as the load's audit
//! record.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use yunshu_domain::calendar::{DayKind, ScheduleDay, WorkCalendar, YearSchedule};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

/// The unit of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodUnit {
    /// 工作日.
    WorkingDays,
    /// 日 (calendar days, Civil Code rule at the end).
    CalendarDays,
}

impl PeriodUnit {
    pub fn code(self) -> &'static str {
        match self {
            PeriodUnit::WorkingDays => "working_days",
            PeriodUnit::CalendarDays => "calendar_days",
        }
    }
    fn parse(s: &str) -> Result<PeriodUnit> {
        match s {
            "working_days" => Ok(PeriodUnit::WorkingDays),
            "calendar_days" => Ok(PeriodUnit::CalendarDays),
            other => Err(StoreError::Corrupt(format!("period unit {other}"))),
        }
    }
}

/// A stored deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineRow {
    pub id: i64,
    pub subject_type: String,
    pub subject_id: String,
    pub start: NaiveDate,
    pub unit: PeriodUnit,
    pub amount: u32,
    pub due: NaiveDate,
    pub provisional: bool,
    pub closed: bool,
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn deadline_from_parts(
    id: i64,
    subject_type: String,
    subject_id: String,
    start: &str,
    unit: String,
    amount: i64,
    due: &str,
    provisional: i64,
    closed_at: Option<String>,
) -> Result<DeadlineRow> {
    Ok(DeadlineRow {
        id,
        subject_type,
        subject_id,
        start: parse_date(start)?,
        unit: PeriodUnit::parse(&unit)?,
        amount: u32::try_from(amount).map_err(|_| StoreError::Corrupt("amount".into()))?,
        due: parse_date(due)?,
        provisional: provisional != 0,
        closed: closed_at.is_some(),
    })
}

fn compute(cal: &WorkCalendar, start: NaiveDate, unit: PeriodUnit, amount: u32) -> (NaiveDate, bool) {
    let d = match unit {
        PeriodUnit::WorkingDays => cal.deadline_working_days(start, amount),
        PeriodUnit::CalendarDays => cal.deadline_calendar_days(start, amount),
    };
    (d.due, d.provisional)
}

/// Text form of a schedule as stored: one `date<TAB>off|work<TAB>name` line per day.
fn schedule_to_text(s: &YearSchedule) -> String {
    s.days
        .iter()
        .map(|d| {
            let kind = match d.kind {
                DayKind::Off => "off",
                DayKind::Work => "work",
            };
            format!("{}\t{}\t{}", d.date, kind, d.name)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn schedule_from_text(year: i32, text: &str) -> Result<YearSchedule> {
    let mut days = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut it = line.split('\t');
        let (Some(date), Some(kind), name) = (it.next(), it.next(), it.next()) else {
            return Err(StoreError::Corrupt(format!("schedule line {line}")));
        };
        let kind = match kind {
            "off" => DayKind::Off,
            "work" => DayKind::Work,
            _ => return Err(StoreError::Corrupt(format!("schedule line {line}"))),
        };
        days.push(ScheduleDay { date: parse_date(date)?, kind, name: name.unwrap_or("").to_owned() });
    }
    Ok(YearSchedule { year, days })
}

impl Store {
    /// The calendar in force: the official schedules built into the binary, plus (overriding them)
    /// every schedule an administrator loaded.
    pub async fn work_calendar(&self) -> Result<WorkCalendar> {
        let mut cal = WorkCalendar::official().map_err(|e| StoreError::Corrupt(format!("calendar: {e}")))?;
        let rows = sqlx::query("SELECT year, days FROM holiday_schedule ORDER BY year")
            .fetch_all(self.pool())
            .await?;
        for r in rows {
            let year: i64 = r.try_get("year")?;
            let year = i32::try_from(year).map_err(|_| StoreError::Corrupt("year".into()))?;
            let days: String = r.try_get("days")?;
            cal.load(schedule_from_text(year, &days)?)
                .map_err(|e| StoreError::Corrupt(format!("calendar: {e}")))?;
        }
        Ok(cal)
    }

    /// Schedules loaded at run time: (year, source, loaded at).
    pub async fn loaded_schedules(&self) -> Result<Vec<(i64, String, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT year, source, loaded_at FROM holiday_schedule ORDER BY year")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("loaded_at")?;
                Ok((r.try_get("year")?, r.try_get("source")?, parse_ts(&at)?))
            })
            .collect()
    }

    pub async fn open_deadlines(&self) -> Result<Vec<DeadlineRow>> {
        let rows = sqlx::query(
            "SELECT id, subject_type, subject_id, start_date, unit, amount, due_date, provisional, closed_at \
             FROM deadline WHERE closed_at IS NULL ORDER BY due_date, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                deadline_from_parts(
                    r.try_get("id")?,
                    r.try_get("subject_type")?,
                    r.try_get("subject_id")?,
                    &r.try_get::<String, _>("start_date")?,
                    r.try_get("unit")?,
                    r.try_get("amount")?,
                    &r.try_get::<String, _>("due_date")?,
                    r.try_get("provisional")?,
                    r.try_get("closed_at")?,
                )
            })
            .collect()
    }
}

impl Tx {
    /// Computes and stores a deadline `amount` units after `start` (not audited on its own: it is part
    /// of the step that opened it).
    pub async fn insert_deadline(
        &mut self,
        subject_type: &str,
        subject_id: &str,
        start: NaiveDate,
        unit: PeriodUnit,
        amount: u32,
        cal: &WorkCalendar,
    ) -> Result<i64> {
        let (due, provisional) = compute(cal, start, unit, amount);
        Ok(sqlx::query_scalar(
            "INSERT INTO deadline (subject_type, subject_id, start_date, unit, amount, due_date, provisional) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(subject_type)
        .bind(subject_id)
        .bind(start.to_string())
        .bind(unit.code())
        .bind(i64::from(amount))
        .bind(due.to_string())
        .bind(i64::from(provisional))
        .fetch_one(self.conn())
        .await?)
    }

    /// Loads (or replaces) a year's official schedule and recomputes every open deadline with it.
    /// Returns the number of deadlines whose due date or provisional flag changed.
    pub async fn load_holiday_schedule(
        &mut self,
        schedule: YearSchedule,
        source: &str,
        current: &WorkCalendar,
    ) -> Result<u64> {
        let mut cal = current.clone();
        let year = schedule.year;
        let text = schedule_to_text(&schedule);
        let n_days = schedule.days.len();
        cal.load(schedule).map_err(|e| StoreError::Corrupt(format!("calendar: {e}")))?;
        let now = ts(self.now());
        sqlx::query(
            "INSERT INTO holiday_schedule (year, days, source, loaded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (year) DO UPDATE SET days = excluded.days, source = excluded.source, \
             loaded_at = excluded.loaded_at",
        )
        .bind(i64::from(year))
        .bind(&text)
        .bind(source)
        .bind(&now)
        .execute(self.conn())
        .await?;
        let rows = sqlx::query(
            "SELECT id, subject_type, subject_id, start_date, unit, amount, due_date, provisional, closed_at \
             FROM deadline WHERE closed_at IS NULL",
        )
        .fetch_all(self.conn())
        .await?;
        let mut changed = Vec::new();
        for r in &rows {
            let d = deadline_from_parts(
                r.try_get("id")?,
                r.try_get("subject_type")?,
                r.try_get("subject_id")?,
                &r.try_get::<String, _>("start_date")?,
                r.try_get("unit")?,
                r.try_get("amount")?,
                &r.try_get::<String, _>("due_date")?,
                r.try_get("provisional")?,
                r.try_get("closed_at")?,
            )?;
            let (due, provisional) = compute(&cal, d.start, d.unit, d.amount);
            if due != d.due || provisional != d.provisional {
                sqlx::query("UPDATE deadline SET due_date = $1, provisional = $2 WHERE id = $3")
                    .bind(due.to_string())
                    .bind(i64::from(provisional))
                    .bind(d.id)
                    .execute(self.conn())
                    .await?;
                changed.push(json!({"deadline": d.id, "from": d.due.to_string(), "to": due.to_string(),
                                    "provisional": provisional}));
            }
        }
        let count = changed.len() as u64;
        self.audit(Change::ok(
            "calendar.load",
            "holiday_schedule",
            year,
            json!({"year": year, "days": n_days, "source": source, "recomputed": changed}),
        ))
        .await?;
        Ok(count)
    }
}
