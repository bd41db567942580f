//! Calendar endpoints: period arithmetic for clients, and loading a year's official schedule.

use axum::Extension;
use axum::extract::State;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yunshu_domain::calendar::{DayKind, ScheduleDay, YearSchedule};

use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PeriodQuery {
    /// Start date, YYYY-MM-DD (not counted).
    pub start: String,
    /// Number of days.
    pub days: u32,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PeriodAnswer {
    pub start: String,
    pub days: u32,
    /// The last day of the period.
    pub end: String,
    pub rule: &'static str,
}

fn parse_start(s: &str) -> AppResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::invalid("start", "date.format", "日期格式应为 YYYY-MM-DD"))
}

fn calendar_error(e: yunshu_domain::calendar::CalendarError) -> AppError {
    AppError::invalid("start", e.code(), e.message_zh())
}

pub async fn add_working_days(
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<axum::Json<PeriodAnswer>> {
    let start = parse_start(&q.start)?;
    let cal = state.store.work_calendar().await?;
    let end = cal.add_working_days(start, q.days).map_err(calendar_error)?;
    Ok(axum::Json(PeriodAnswer {
        start: start.to_string(),
        days: q.days,
        end: end.to_string(),
        rule: "working_days",
    }))
}

pub async fn add_days(
    State(state): State<AppState>,
    Query(q): Query<PeriodQuery>,
) -> AppResult<axum::Json<PeriodAnswer>> {
    let start = parse_start(&q.start)?;
    let cal = state.store.work_calendar().await?;
    let end = cal.add_calendar_days(start, q.days).map_err(calendar_error)?;
    Ok(axum::Json(PeriodAnswer {
        start: start.to_string(),
        days: q.days,
        end: end.to_string(),
        rule: "calendar_days_civil_code_203",
    }))
}

/// A year's schedule in the shape the notices are commonly republished in (holiday-cn):
/// `{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}, …]}`.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    pub year: i32,
    pub days: Vec<ScheduleDayInput>,
    /// Where the schedule comes from (the notice's 文号 or address).
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ScheduleDayInput {
    pub name: String,
    pub date: String,
    #[serde(rename = "isOffDay")]
    pub is_off_day: bool,
}

pub fn to_schedule(input: ScheduleInput) -> AppResult<YearSchedule> {
    if !(2000..=2100).contains(&input.year) {
        return Err(AppError::invalid("year", "calendar.year", "年份应在 2000 至 2100 之间"));
    }
    let mut days = Vec::with_capacity(input.days.len());
    for d in input.days {
        let date = NaiveDate::parse_from_str(d.date.trim(), "%Y-%m-%d")
            .map_err(|_| AppError::invalid("days", "date.format", format!("日期格式有误：{}", d.date)))?;
        days.push(ScheduleDay {
            date,
            kind: if d.is_off_day { DayKind::Off } else { DayKind::Work },
            name: d.name,
        });
    }
    Ok(YearSchedule { year: input.year, days })
}

pub fn parse_schedule_json(text: &str) -> AppResult<YearSchedule> {
    let input: ScheduleInput = serde_json::from_str(text).map_err(|e| {
        AppError::invalid("schedule", "calendar.bad_json", format!("节假日安排格式有误：{e}"))
    })?;
    to_schedule(input)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScheduleLoaded {
    pub year: i32,
    /// Open deadlines whose due date or provisional flag changed.
    pub recomputed: u64,
}

pub async fn load_schedule(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<ScheduleInput>,
) -> AppResult<axum::Json<ScheduleLoaded>> {
    let source = input.source.clone().unwrap_or_else(|| "api".into());
    let schedule = to_schedule(input)?;
    let year = schedule.year;
    let recomputed = crate::services::load_schedule(&state, &ctx, schedule, source.trim()).await?;
    Ok(axum::Json(ScheduleLoaded { year, recomputed }))
}
