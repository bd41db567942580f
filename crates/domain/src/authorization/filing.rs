//! Filing with the provincial data bureau (报送省数据局备案): prefecture and county plans within 20
//! working days of approval (Art. 10), prefecture and county operation agreements within 20 working
//! days of signing (Art. 11). Provincial ones are not filed.
//!
//! The due date is a workflow deadline (`deadline_working_days`): it may be provisional when it
//! reaches into a year whose holiday schedule is not loaded; [`Filing::recompute`] refreshes it once
//! the schedule is loaded. Whether a filing was on time is decided against the due date as computed
//! from the calendar at the time of filing.

use chrono::NaiveDate;
use thiserror::Error;

use super::FILING_WORKING_DAYS;
use crate::calendar::WorkCalendar;

code_enum! {
    /// Administrative level of the implementing agency (Art. 6).
    pub enum Level {
        Province => ("province", "省级"),
        Prefecture => ("prefecture", "州（市）级"),
        /// Only under its prefecture's leadership (Art. 6).
        County => ("county", "县（市、区）级"),
    }
}

impl Level {
    /// Prefecture and county plans and agreements are filed with the provincial bureau.
    pub fn requires_filing(self) -> bool {
        self != Level::Province
    }
}

code_enum! {
    /// Where a filing stands. "Overdue" is not stored: it is [`Filing::is_overdue`] on a given day.
    pub enum FilingStatus {
        NotRequired => ("not_required", "无需备案"),
        Due => ("due", "待备案"),
        Filed => ("filed", "已备案"),
        FiledLate => ("filed_late", "逾期备案"),
    }
}

/// A filing task: opened when a plan is approved or an agreement signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filing {
    pub status: FilingStatus,
    /// Approval or signing date the period counts from (`None` for [`FilingStatus::NotRequired`]).
    pub trigger: Option<NaiveDate>,
    pub due: Option<NaiveDate>,
    /// The due date rests on an unloaded holiday schedule.
    pub provisional: bool,
    pub filed_on: Option<NaiveDate>,
}

impl Filing {
    /// No filing (provincial level, or nothing approved yet).
    pub const NOT_REQUIRED: Filing = Filing {
        status: FilingStatus::NotRequired,
        trigger: None,
        due: None,
        provisional: false,
        filed_on: None,
    };

    /// Opens the filing for an approval or signature on `trigger` at `level`.
    pub fn open(level: Level, trigger: NaiveDate, calendar: &WorkCalendar) -> Filing {
        if !level.requires_filing() {
            return Filing::NOT_REQUIRED;
        }
        let deadline = calendar.deadline_working_days(trigger, FILING_WORKING_DAYS);
        Filing {
            status: FilingStatus::Due,
            trigger: Some(trigger),
            due: Some(deadline.due),
            provisional: deadline.provisional,
            filed_on: None,
        }
    }

    /// Rebuilds a filing from stored fields, checking they fit together.
    pub fn restore(
        status: FilingStatus,
        trigger: Option<NaiveDate>,
        due: Option<NaiveDate>,
        provisional: bool,
        filed_on: Option<NaiveDate>,
    ) -> Result<Filing, FilingError> {
        let consistent = match status {
            FilingStatus::NotRequired => trigger.is_none() && due.is_none() && filed_on.is_none(),
            FilingStatus::Due => trigger.is_some() && due.is_some() && filed_on.is_none(),
            FilingStatus::Filed | FilingStatus::FiledLate => {
                trigger.is_some() && due.is_some() && filed_on.is_some()
            }
        };
        if !consistent {
            return Err(FilingError::Inconsistent);
        }
        Ok(Filing { status, trigger, due, provisional, filed_on })
    }

    /// Recomputes the due date of an open filing (after a holiday schedule was loaded).
    pub fn recompute(&self, calendar: &WorkCalendar) -> Filing {
        match (self.status, self.trigger) {
            (FilingStatus::Due, Some(trigger)) => {
                let deadline = calendar.deadline_working_days(trigger, FILING_WORKING_DAYS);
                Filing { due: Some(deadline.due), provisional: deadline.provisional, ..*self }
            }
            _ => *self,
        }
    }

    /// Records the filing on `filed_on` (not before the trigger, not in the future); on time when
    /// `filed_on <= due`.
    pub fn record_filed(
        &mut self,
        filed_on: NaiveDate,
        today: NaiveDate,
    ) -> Result<FilingStatus, FilingError> {
        let (FilingStatus::Due, Some(trigger), Some(due)) = (self.status, self.trigger, self.due) else {
            return Err(FilingError::NotDue);
        };
        if filed_on < trigger || filed_on > today {
            return Err(FilingError::BadDate);
        }
        self.status = if filed_on <= due { FilingStatus::Filed } else { FilingStatus::FiledLate };
        self.filed_on = Some(filed_on);
        Ok(self.status)
    }

    /// Still due and past its due date on `today` (the due day itself is not overdue).
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == FilingStatus::Due && self.due.is_some_and(|due| today > due)
    }
}

/// Filing errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum FilingError {
    #[error("there is no open filing")]
    NotDue,
    #[error("the filing date must lie between the approval or signing and today")]
    BadDate,
    #[error("stored filing fields do not fit together")]
    Inconsistent,
}

impl FilingError {
    pub fn code(&self) -> &'static str {
        match self {
            FilingError::NotDue => "filing.not_due",
            FilingError::BadDate => "filing.bad_date",
            FilingError::Inconsistent => "filing.inconsistent",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            FilingError::NotDue => "没有待办理的备案".to_owned(),
            FilingError::BadDate => "备案日期应在审议通过（或签订）之后，且不晚于今天".to_owned(),
            FilingError::Inconsistent => "备案记录数据不一致".to_owned(),
        }
    }
}

#[cfg(test)]
#[path = "filing_test.rs"]
mod tests;
