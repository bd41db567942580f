//! Data verification requests and objections (Art. 17): raised by the operator or a data authority
//! on specific fields and rows of a resource, answered by the provider within 10 working days, escalated
//! to the data authority by the scheduler when overdue.

use serde::Deserialize;
use yunshu_domain::party::OrgType;
use yunshu_domain::verification::{ANSWER_WORKING_DAYS, RequestKind, RequestStatus, VerificationRequest};
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::catalog::ResourceRecord;
use yunshu_store::tasks::{NewTask, Period};
use yunshu_store::verifications::RequestRecord;
use yunshu_store::{AuditCtx, StoreError};

use super::catalog::{resource_for, resource_policy};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RaiseInput {
    /// verification (数据校核) | objection (数据异议)
    pub kind: String,
    /// Data item names concerned.
    pub fields: Vec<String>,
    /// Which rows: keys, line numbers of a version, or a condition.
    #[serde(default)]
    pub rows: String,
    /// What is to be checked (10–2000 characters).
    pub question: String,
}

fn domain_err(e: yunshu_domain::verification::RequestError) -> AppError {
    use yunshu_domain::verification::RequestError as E;
    match e {
        E::AlreadyAnswered | E::NotOverdue => AppError::conflict(e.code(), e.message_zh()),
        E::NoFields | E::UnknownField(_) => AppError::invalid("fields", e.code(), e.message_zh()),
        E::Question => AppError::invalid("question", e.code(), e.message_zh()),
        E::Answer => AppError::invalid("answer", e.code(), e.message_zh()),
    }
}

/// The operator or a data authority raises a request on a resource it may see.
pub async fn raise(state: &AppState, ctx: &Ctx, resource_id: i64, input: &RaiseInput) -> AppResult<i64> {
    let r = resource_for(state, ctx, resource_id, "resource.view").await?;
    ctx.require(state, "verification.raise", &resource_policy(&r))?;
    let kind = RequestKind::parse(&input.kind)
        .ok_or_else(|| AppError::invalid("kind", "verification.kind", "请选择数据校核或数据异议"))?;
    let items: Vec<String> = r.items.iter().map(|i| i.name.clone()).collect();
    let cal = state.store.work_calendar().await?;
    let today = ctx.today();
    let req = VerificationRequest::raise(
        kind,
        input.fields.clone(),
        &input.rows,
        &input.question,
        &items,
        today,
        &cal,
    )
    .map_err(domain_err)?;
    let me = ctx.me()?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_verification(r.id, me.org.id, me.user.id, &req).await?;
    tx.open_task(
        &NewTask {
            org_id: r.provider_org_id,
            role: None,
            kind: "verification.answer",
            subject_type: "verification",
            subject_id: id.to_string(),
            title: format!("{}待答复：{}（{}）", kind.label_zh(), r.meta.name, req.fields.join("、")),
            link: format!("/verifications/{id}"),
        },
        Some(Period { start: today, unit: PeriodUnit::WorkingDays, amount: ANSWER_WORKING_DAYS, cal: &cal }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AnswerInput {
    /// 核查结果.
    pub answer: String,
    /// Whether the data were corrected (a new version imported or to be imported).
    #[serde(default)]
    pub corrected: bool,
}

/// The provider answers. Closes the provider's task and any escalation task of the authority.
pub async fn answer(state: &AppState, ctx: &Ctx, id: i64, input: &AnswerInput) -> AppResult<()> {
    let mut rec = state.store.verification(id).await?;
    resource_for(state, ctx, rec.resource_id, "resource.manage").await?;
    let done = rec.request.answer(&input.answer, ctx.today()).map_err(domain_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.answer_verification(&rec, input.answer.trim(), input.corrected, done.late).await.map_err(
        |e| match e {
            StoreError::Conflict(_) => AppError::conflict("verification.already_answered", "该请求已答复"),
            other => other.into(),
        },
    )?;
    tx.close_tasks("verification", &id.to_string()).await?;
    tx.notify(
        rec.raised_by_user,
        &format!("{}已答复{}", rec.request.kind.label_zh(), if done.late { "（逾期答复）" } else { "" }),
        Some(&format!("/verifications/{id}")),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who may see a request: those who may see its resource (the operator only its own requests).
pub async fn visible(state: &AppState, ctx: &Ctx) -> AppResult<Vec<(RequestRecord, ResourceRecord)>> {
    let me = ctx.me()?;
    let resources = super::catalog::visible_resources(state, ctx).await?;
    let mut out = Vec::new();
    for rec in state.store.verifications().await? {
        let Some(r) = resources.iter().find(|r| r.id == rec.resource_id) else { continue };
        if me.org.org_type == OrgType::Operator && rec.raised_by_org != me.org.id {
            continue;
        }
        out.push((rec, r.clone()));
    }
    Ok(out)
}

/// The data authority that supervises a resource: the most local active one whose area contains it.
async fn authority_for(state: &AppState, r: &ResourceRecord) -> AppResult<Option<i64>> {
    Ok(super::serving_org(state, OrgType::DataAuthority, &r.region).await?.map(|o| o.id))
}

/// The scheduler's job: escalates every request overdue on `today` to the data authority (a task
/// for it, notifications to the provider's and the authority's people). Returns how many.
pub async fn escalate_overdue(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let cal = state.store.work_calendar().await?;
    let mut n = 0;
    for mut rec in state.store.open_verifications().await? {
        if !rec.request.is_overdue(today) {
            continue;
        }
        rec.request.escalate(today).map_err(domain_err)?;
        let r = state.store.resource(rec.resource_id).await?;
        let authority = authority_for(state, &r).await?;
        let mut tx = state.store.begin(now, &AuditCtx::system("scheduler")).await?;
        match tx.escalate_verification(&rec).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        let title = format!("{}逾期未答复：{}", rec.request.kind.label_zh(), r.meta.name);
        if let Some(org) = authority {
            tx.open_task(
                &NewTask {
                    org_id: org,
                    role: None,
                    kind: "verification.supervise",
                    subject_type: "verification",
                    subject_id: rec.id.to_string(),
                    title: format!("督办：{title}"),
                    link: format!("/verifications/{}", rec.id),
                },
                Some(Period { start: today, unit: PeriodUnit::WorkingDays, amount: 5, cal: &cal }),
            )
            .await?;
        }
        let mut people = state.store.users_of_org(r.provider_org_id).await?;
        if let Some(org) = authority {
            people.extend(state.store.users_of_org(org).await?);
        }
        people.extend(state.store.user(rec.raised_by_user).await.ok());
        for u in people.iter().filter(|u| u.active) {
            tx.notify(u.id, &title, Some(&format!("/verifications/{}", rec.id))).await?;
            state.notifier.send(u, &title, &format!("/verifications/{}", rec.id));
        }
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Labels for lists.
pub fn status_tag(rec: &RequestRecord, today: chrono::NaiveDate) -> (&'static str, &'static str) {
    match rec.request.status {
        RequestStatus::Answered if rec.answered_late == Some(true) => ("逾期答复", "warn"),
        RequestStatus::Answered => ("已答复", "ok"),
        RequestStatus::Escalated => ("逾期督办中", "bad"),
        RequestStatus::Open if rec.request.is_overdue(today) => ("已逾期", "bad"),
        RequestStatus::Open => ("待答复", ""),
    }
}
