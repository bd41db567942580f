//! The public notice of registrations (Art. 18 公示): registrations in notice are listed on the
//! public site with their dates, anyone (signed in or not) may object there, and each objection
//! becomes a to-do of the registration body, which answers it by its next move on the registration
//! — 退回补正 with reasons when the objection holds, 赋码 after the notice when it does not. The
//! registration's page shows the objections to the provider and the body.

use chrono::NaiveDate;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::catalog::{RegistrationRecord, ResourceRecord};
use yunshu_store::reg_objections::RegObjectionRecord;
use yunshu_store::tasks::{NewTask, Period};

use super::onboarding::ObjectionInput;
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Working days the registration body has to answer an objection.
const ANSWER_WORKING_DAYS: u32 = 5;

/// A registration in notice with its resource.
pub struct RegNotice {
    pub registration: RegistrationRecord,
    pub resource: ResourceRecord,
}

impl RegNotice {
    /// First and last day of the notice.
    pub fn period(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.registration.registration.notice
    }
}

/// Registrations whose notice runs today, oldest first.
pub async fn notices(state: &AppState, today: NaiveDate) -> AppResult<Vec<RegNotice>> {
    let mut out = Vec::new();
    for registration in state.store.registrations_in_notice(today).await? {
        let resource = state.store.resource(registration.resource_id).await?;
        out.push(RegNotice { registration, resource });
    }
    Ok(out)
}

/// One registration in notice; anything else does not exist for the public.
pub async fn notice(state: &AppState, id: i64, today: NaiveDate) -> AppResult<RegNotice> {
    let registration = state.store.registration(id).await?;
    if !registration.registration.notice_running(today) {
        return Err(AppError::not_found());
    }
    let resource = state.store.resource(registration.resource_id).await?;
    Ok(RegNotice { registration, resource })
}

/// Anyone lodges an objection to a registration in notice; the registration body gets a to-do.
pub async fn lodge_objection(state: &AppState, ctx: &Ctx, id: i64, input: &ObjectionInput) -> AppResult<i64> {
    ctx.require(state, "public.view", &PolicyResource::Platform)?;
    let today = ctx.today();
    let n = notice(state, id, today).await?;
    let (name, contact, content) = input.checked()?;
    let body = super::serving_org(state, yunshu_domain::party::OrgType::RegistrationBody, &n.resource.region)
        .await?
        .ok_or_else(|| AppError::conflict("registration.no_body", "本地区尚未指定登记机构"))?;
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let oid = tx.insert_registration_objection(id, today, &name, &contact, &content).await?;
    tx.open_task(
        &NewTask {
            org_id: body.id,
            role: None,
            kind: "registration.objection",
            // Closed with the registration's other to-dos by its next move.
            subject_type: "registration",
            subject_id: id.to_string(),
            title: format!("登记公示异议待处理：{}", n.resource.meta.name),
            link: format!("/registrations/{id}"),
        },
        Some(Period { start: today, unit: PeriodUnit::WorkingDays, amount: ANSWER_WORKING_DAYS, cal: &cal }),
    )
    .await?;
    tx.commit().await?;
    Ok(oid)
}

/// The objections to a registration, for those who may see the registration.
pub async fn objections(state: &AppState, id: i64) -> AppResult<Vec<RegObjectionRecord>> {
    Ok(state.store.registration_objections(id).await?)
}
