//! Termination of a development agreement (Art. 25(5)): access closes at once; the platform deletes
//! its own copies (workspaces, outputs awaiting release); the developer attests deletion of every
//! file in its download log; the operator verifies.
//!
//! ```text
//! terminated ─▶ platform_copies_deleted ─▶ developer_attested ─▶ verified
//! ```
//!
//! The developer may attest files before the platform has finished; the status moves on only when
//! both are complete. Attestation is due `attestation_working_days` working days after termination
//! (default 10, [`Settings`]; the measures say "及时"): overdue while not all files are attested after
//! that day; a verified termination keeps an `attested_late` flag.

use chrono::NaiveDate;
use thiserror::Error;

use super::developer::{DeveloperError, DevelopmentAgreement};
use super::{AgreementId, OrgId, Settings, filled};
use crate::calendar::WorkCalendar;
use crate::party::OrgType;

code_enum! {
    /// Where a termination stands.
    pub enum TerminationStatus {
        Terminated => ("terminated", "已终止"),
        PlatformCopiesDeleted => ("platform_copies_deleted", "平台留存数据已删除"),
        DeveloperAttested => ("developer_attested", "开发主体已确认删除"),
        Verified => ("verified", "已核验"),
    }
}

code_enum! {
    /// Kind of platform-held copy.
    pub enum CopyKind {
        Workspace => ("workspace", "开发工作空间"),
        PendingOutput => ("pending_output", "待发布成果"),
        Other => ("other", "其他留存数据"),
    }
}

/// A copy the platform holds for the developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformCopy {
    pub id: String,
    pub kind: CopyKind,
    pub deleted_on: Option<NaiveDate>,
}

/// A file from the developer's download log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    pub id: String,
    pub file_name: String,
    pub sm3_hex: String,
    pub attested_on: Option<NaiveDate>,
}

/// The termination record of one development agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    pub agreement: AgreementId,
    pub operator: OrgId,
    pub developer: OrgId,
    pub terminated_on: NaiveDate,
    pub reason: String,
    pub status: TerminationStatus,
    pub platform_copies: Vec<PlatformCopy>,
    pub downloads: Vec<DownloadedFile>,
    pub attestation_due: NaiveDate,
    pub provisional: bool,
    pub verified_on: Option<NaiveDate>,
    pub verification_note: String,
}

impl Termination {
    /// Terminates the agreement (closing access at once) and opens the deletion tracking for the
    /// platform's copies and the developer's downloads.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        agreement_id: AgreementId,
        agreement: &mut DevelopmentAgreement,
        reason: &str,
        platform_copies: Vec<(String, CopyKind)>,
        downloads: Vec<(String, String, String)>,
        settings: &Settings,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Result<Termination, TerminationError> {
        if !filled(reason) {
            return Err(TerminationError::ReasonRequired);
        }
        agreement.terminate(today)?;
        let deadline = calendar.deadline_working_days(today, settings.attestation_working_days);
        let mut termination = Termination {
            agreement: agreement_id,
            operator: agreement.operator,
            developer: agreement.developer,
            terminated_on: today,
            reason: reason.trim().to_owned(),
            status: TerminationStatus::Terminated,
            platform_copies: platform_copies
                .into_iter()
                .map(|(id, kind)| PlatformCopy { id, kind, deleted_on: None })
                .collect(),
            downloads: downloads
                .into_iter()
                .map(|(id, file_name, sm3_hex)| DownloadedFile { id, file_name, sm3_hex, attested_on: None })
                .collect(),
            attestation_due: deadline.due,
            provisional: deadline.provisional,
            verified_on: None,
            verification_note: String::new(),
        };
        termination.settle();
        Ok(termination)
    }

    /// Moves the status forward as far as the records allow (never back, never to verified).
    fn settle(&mut self) {
        if self.status == TerminationStatus::Terminated
            && self.platform_copies.iter().all(|c| c.deleted_on.is_some())
        {
            self.status = TerminationStatus::PlatformCopiesDeleted;
        }
        if self.status == TerminationStatus::PlatformCopiesDeleted
            && self.downloads.iter().all(|d| d.attested_on.is_some())
        {
            self.status = TerminationStatus::DeveloperAttested;
        }
    }

    /// The platform records the deletion of one of its copies.
    pub fn record_platform_deletion(
        &mut self,
        copy_id: &str,
        today: NaiveDate,
    ) -> Result<TerminationStatus, TerminationError> {
        let copy =
            self.platform_copies.iter_mut().find(|c| c.id == copy_id).ok_or(TerminationError::UnknownItem)?;
        if copy.deleted_on.is_some() {
            return Err(TerminationError::AlreadyRecorded);
        }
        copy.deleted_on = Some(today);
        self.settle();
        Ok(self.status)
    }

    /// The developer attests deletion of downloaded files (any subset, each once).
    pub fn attest(
        &mut self,
        by: OrgId,
        file_ids: &[&str],
        today: NaiveDate,
    ) -> Result<TerminationStatus, TerminationError> {
        if by != self.developer {
            return Err(TerminationError::NotTheDeveloper);
        }
        if file_ids.is_empty() {
            return Err(TerminationError::UnknownItem);
        }
        for id in file_ids {
            let file = self.downloads.iter().find(|d| d.id == *id).ok_or(TerminationError::UnknownItem)?;
            if file.attested_on.is_some() {
                return Err(TerminationError::AlreadyRecorded);
            }
        }
        for file in self.downloads.iter_mut().filter(|d| file_ids.contains(&d.id.as_str())) {
            file.attested_on = Some(today);
        }
        self.settle();
        Ok(self.status)
    }

    /// Downloaded files not yet attested.
    pub fn unattested(&self) -> Vec<&DownloadedFile> {
        self.downloads.iter().filter(|d| d.attested_on.is_none()).collect()
    }

    /// The operator verifies once everything is deleted and attested.
    pub fn verify(
        &mut self,
        by: OrgId,
        by_type: OrgType,
        note: &str,
        today: NaiveDate,
    ) -> Result<TerminationStatus, TerminationError> {
        if by_type != OrgType::Operator || by != self.operator {
            return Err(TerminationError::NotTheOperator);
        }
        if self.status != TerminationStatus::DeveloperAttested {
            return Err(TerminationError::NotReady { status: self.status });
        }
        self.status = TerminationStatus::Verified;
        self.verified_on = Some(today);
        self.verification_note = note.trim().to_owned();
        Ok(self.status)
    }

    /// Attestation still incomplete after its due day.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        today > self.attestation_due && !self.unattested().is_empty()
    }

    /// Some file was attested after the due day.
    pub fn attested_late(&self) -> bool {
        self.downloads.iter().any(|d| d.attested_on.is_some_and(|a| a > self.attestation_due))
    }
}

/// Termination errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TerminationError {
    #[error("a reason is required")]
    ReasonRequired,
    #[error(transparent)]
    Agreement(#[from] DeveloperError),
    #[error("no such copy or file")]
    UnknownItem,
    #[error("already recorded")]
    AlreadyRecorded,
    #[error("only the developer of the agreement attests")]
    NotTheDeveloper,
    #[error("only the operator of the agreement verifies")]
    NotTheOperator,
    #[error("deletion is not complete ({status:?})")]
    NotReady { status: TerminationStatus },
}

impl TerminationError {
    pub fn code(&self) -> &'static str {
        match self {
            TerminationError::ReasonRequired => "termination.reason_required",
            TerminationError::Agreement(e) => e.code(),
            TerminationError::UnknownItem => "termination.unknown_item",
            TerminationError::AlreadyRecorded => "termination.already_recorded",
            TerminationError::NotTheDeveloper => "termination.not_the_developer",
            TerminationError::NotTheOperator => "termination.not_the_operator",
            TerminationError::NotReady { .. } => "termination.not_ready",
        }
    }

    pub fn message_zh(&self) -> String {
        match self {
            TerminationError::ReasonRequired => "请填写终止理由".to_owned(),
            TerminationError::Agreement(e) => e.message_zh(),
            TerminationError::UnknownItem => "删除记录中没有该数据或文件".to_owned(),
            TerminationError::AlreadyRecorded => "该数据或文件的删除已记录".to_owned(),
            TerminationError::NotTheDeveloper => "只有该协议的开发主体可以确认删除".to_owned(),
            TerminationError::NotTheOperator => "只有该协议的运营机构可以核验".to_owned(),
            TerminationError::NotReady { status } => {
                format!("删除尚未完成（当前：{}），暂不能核验", status.label_zh())
            }
        }
    }
}

#[cfg(test)]
#[path = "termination_test.rs"]
mod tests;
