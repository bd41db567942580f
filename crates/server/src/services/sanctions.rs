//! The blacklist (Art. 21) and the termination of development agreements (Art. 25(5)), shared by
//! pages and API.
//!
//! Enforcement: [`developer_access`] is the one answer to "may this developer organisation act on
//! this scenario today?" — it combines the development agreement, every sanction against the
//! organisation (province-wide) and the agreement's termination through the domain's
//! `decide_access`. It is read on every request (nothing is cached), so a suspension, a cancellation
//! or a termination takes effect at once for web sessions and API tokens alike. The scenario
//! pages and API use it (`onboarding::has_scenario_access`), and so does the sandbox: on every query
//! (through `data_use::grant_chain`), before an output is released and before a download.
//!
//! Termination: the operator terminates; access closes in the same transaction; the platform deletes
//! its own copies held for the developer (the result files of its projects' sandbox outputs —
//! [`platform_copies`]; with none the step is recorded as "empty list, audited"); the developer
//! attests deletion of every file in its download log ([`download_log`]: each download of a released
//! output; an attestation over zero files completes the step); the operator verifies. An attestation
//! not given within the working days of the domain's `Settings` is flagged by the scheduler
//! ([`flag_overdue`]) to the operator and to the provincial data bureau.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use yunshu_domain::authorization::sanction::{
    AccessDecision, Sanction, SanctionError, SanctionKind, decide_access,
};
use yunshu_domain::authorization::termination::{CopyKind, Termination, TerminationError, TerminationStatus};
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionCode;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::onboarding::DevAgreementRecord;
use yunshu_store::sanctions::{SanctionRecord, TerminationRecord};
use yunshu_store::tasks::{NewTask, Period};
use yunshu_store::{AuditCtx, StoreError};

use super::onboarding::SETTINGS;
use super::parse_date;
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Working days the operator gives itself to verify a completed attestation.
pub const VERIFY_WORKING_DAYS: u32 = 5;

/// The policy entity of a sanction or a termination: inside each party organisation.
async fn resource(state: &AppState, id: i64, orgs: &[i64]) -> AppResult<PolicyResource> {
    let mut parties: Vec<(i64, RegionCode)> = Vec::new();
    for org in orgs {
        if !parties.iter().any(|(o, _)| o == org) {
            parties.push((*org, state.store.org(*org).await?.region));
        }
    }
    Ok(PolicyResource::Onboarding { id, parties })
}

fn sanction_err(e: SanctionError) -> AppError {
    let field = match e {
        SanctionError::ReasonRequired => Some("reason"),
        SanctionError::AgreementRequired => Some("agreement_id"),
        SanctionError::UntilRequired | SanctionError::UntilInPast => Some("until"),
        _ => None,
    };
    match field {
        Some(f) => AppError::invalid(f, e.code(), e.message_zh()),
        None => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn termination_err(e: TerminationError) -> AppError {
    match e {
        TerminationError::ReasonRequired => AppError::invalid("reason", e.code(), e.message_zh()),
        TerminationError::UnknownItem => AppError::invalid("file_ids", e.code(), e.message_zh()),
        _ => AppError::conflict(e.code(), e.message_zh()),
    }
}

fn stale(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict("sanction") => {
            AppError::conflict("sanction.stale", "该措施刚被他人处理，请刷新后重试")
        }
        StoreError::Conflict("agreement" | "termination") => {
            AppError::conflict("termination.exists", "该开发利用协议已终止")
        }
        StoreError::Conflict(_) => {
            AppError::conflict("termination.stale", "该记录刚被他人处理，请刷新后重试")
        }
        other => other.into(),
    }
}

/// Every sanction against the organisation, whoever imposed it: a restriction binds every operator
/// and prefecture of the province.
pub async fn sanctions_of_org(state: &AppState, org_id: i64) -> AppResult<Vec<Sanction>> {
    Ok(state.store.sanctions_of(org_id).await?.into_iter().map(|r| r.sanction).collect())
}

/// May the developer organisation act on the scenario today? Read fresh on every call.
pub async fn developer_access(
    state: &AppState,
    org_id: i64,
    scenario_id: i64,
    today: NaiveDate,
) -> AppResult<AccessDecision> {
    let agreements: Vec<DevAgreementRecord> = state
        .store
        .dev_agreements_of(org_id)
        .await?
        .into_iter()
        .filter(|d| d.agreement.scenario == scenario_id)
        .collect();
    if agreements.is_empty() {
        return Ok(decide_access(org_id, scenario_id, None, &[], None, today));
    }
    let sanctions = sanctions_of_org(state, org_id).await?;
    // Several agreements for one scenario (a renewal): any that grants access is enough; otherwise
    // the newest one's reason is the answer.
    let mut first = None;
    for d in &agreements {
        let termination = state.store.termination_of(d.id).await?.map(|t| t.termination);
        let decision = decide_access(
            org_id,
            scenario_id,
            Some((d.id, &d.agreement)),
            &sanctions,
            termination.as_ref(),
            today,
        );
        if decision.is_allowed() {
            return Ok(decision);
        }
        first.get_or_insert(decision);
    }
    Ok(first
        .unwrap_or(AccessDecision::Denied(yunshu_domain::authorization::sanction::DenyReason::NoAgreement)))
}

/// Sanctions the caller sees: an operator those it imposed, a developer those against it, the data
/// authorities and supervisors all of them (read-only).
pub async fn visible_sanctions(state: &AppState, ctx: &Ctx) -> AppResult<Vec<SanctionRecord>> {
    let me = ctx.me()?;
    ctx.require(state, "sanction.view", &resource(state, 0, &[me.org.id]).await?)?;
    Ok(match me.org.org_type {
        OrgType::Operator => state.store.sanctions_by(me.org.id).await?,
        OrgType::Developer => state.store.sanctions_of(me.org.id).await?,
        _ => state.store.all_sanctions().await?,
    })
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SanctionInput {
    /// The developer organisation.
    pub developer_org_id: i64,
    /// reminder_interview | suspension | cancellation | restriction
    pub kind: String,
    /// The development agreement concerned (required for suspension and cancellation).
    #[serde(default)]
    pub agreement_id: Option<i64>,
    /// Last day in effect, YYYY-MM-DD (required for a restriction; optional for a suspension).
    #[serde(default)]
    pub until: String,
    /// 事实与理由.
    #[serde(default)]
    pub reason: String,
}

/// The operator's clerk or head imposes a measure on a developer organisation.
pub async fn impose(state: &AppState, ctx: &Ctx, input: &SanctionInput) -> AppResult<i64> {
    let me = ctx.me()?;
    ctx.require(state, "sanction.manage", &resource(state, 0, &[me.org.id]).await?)?;
    let kind = SanctionKind::parse(input.kind.trim())
        .ok_or_else(|| AppError::invalid("kind", "sanction.kind_unknown", "请选择处置措施"))?;
    let dev = match state.store.org(input.developer_org_id).await {
        Ok(o) if o.org_type == OrgType::Developer => o,
        Ok(_) | Err(StoreError::NotFound) => {
            return Err(AppError::invalid("developer_org_id", "sanction.not_a_developer", "请选择开发主体"));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(aid) = input.agreement_id {
        let ok = match state.store.dev_agreement(aid).await {
            Ok(d) => d.agreement.developer == dev.id && d.agreement.operator == me.org.id,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !ok {
            return Err(AppError::invalid(
                "agreement_id",
                "sanction.agreement_unknown",
                "该开发利用协议不存在，或不是本运营机构与该开发主体签订的",
            ));
        }
    }
    let until = match input.until.trim() {
        "" => None,
        s => Some(parse_date("until", s)?),
    };
    let today = ctx.today();
    let s = Sanction::impose(
        kind,
        dev.id,
        me.org.id,
        me.org.org_type,
        input.agreement_id,
        until,
        &input.reason,
        today,
    )
    .map_err(sanction_err)?;
    if s.reason.chars().count() > 2000 {
        return Err(AppError::invalid("reason", "input.too_long", "内容过长（最多 2000 个字符）"));
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_sanction(&s).await?;
    let title = format!("{}：{}", s.kind.label_zh(), me.org.name);
    for u in state.store.users_of_org(dev.id).await?.iter().filter(|u| u.active) {
        tx.notify(u.id, &title, Some("/sanctions")).await?;
        state.notifier.send(u, &title, "/sanctions");
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LiftInput {
    /// 解除理由 (required).
    #[serde(default)]
    pub reason: String,
}

/// Lifts a sanction: only the imposing operator, with a reason.
pub async fn lift(state: &AppState, ctx: &Ctx, id: i64, input: &LiftInput) -> AppResult<SanctionRecord> {
    let me = ctx.me()?;
    let mut rec = state.store.sanction(id).await?;
    ctx.require(state, "sanction.manage", &resource(state, id, &[rec.sanction.imposed_by]).await?)?;
    rec.sanction.lift(me.org.id, me.org.org_type, &input.reason, ctx.today()).map_err(sanction_err)?;
    let lifting = rec.sanction.lifted.clone().ok_or_else(|| AppError::internal("lifting missing"))?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.lift_sanction(id, &lifting).await.map_err(stale)?;
    let title = format!("{}已解除", rec.sanction.kind.label_zh());
    for u in state.store.users_of_org(rec.sanction.developer).await?.iter().filter(|u| u.active) {
        tx.notify(u.id, &title, Some("/sanctions")).await?;
        state.notifier.send(u, &title, "/sanctions");
    }
    tx.commit().await?;
    Ok(rec)
}

/// The copies the platform holds for the developer under an agreement: the result files of its
/// projects' sandbox outputs (awaiting release, released or rejected — all are copies of derived data
/// on the platform), each identified as `output:{id}`.
pub async fn platform_copies(state: &AppState, agreement_id: i64) -> AppResult<Vec<(String, CopyKind)>> {
    Ok(super::sandbox::copies_of_agreement(state, agreement_id)
        .await?
        .iter()
        .map(|o| {
            let kind = if o.status == "pending" { CopyKind::PendingOutput } else { CopyKind::Other };
            (format!("output:{}", o.id), kind)
        })
        .collect())
}

/// Deletes one platform copy (an output's result file and its query's value fingerprints).
async fn delete_platform_copy(state: &AppState, copy_id: &str, _kind: CopyKind) -> AppResult<()> {
    let Some(id) = copy_id.strip_prefix("output:").and_then(|s| s.parse::<i64>().ok()) else {
        return Err(AppError::internal(format!("unknown platform copy {copy_id}")));
    };
    let out = state.store.sandbox_output(id).await?;
    super::sandbox::delete_output_files(state, &out).await
}

/// The developer's download log under an agreement: (file id, file name, SM3) of every download of
/// its projects' released outputs.
pub async fn download_log(state: &AppState, agreement_id: i64) -> AppResult<Vec<(String, String, String)>> {
    Ok(state
        .store
        .sandbox_downloads_of_agreement(agreement_id)
        .await?
        .into_iter()
        .map(|(d, o)| {
            (
                format!("output:{}:{}:{}", o.id, d.format, d.at.timestamp_millis()),
                format!("output-{}.{}（{}）", o.id, d.format, crate::web::zh_time(d.at)),
                d.sm3.clone(),
            )
        })
        .collect())
}

/// Loads a termination the caller may act on (`sanction.view` for both parties and the authorities,
/// `sanction.manage` for the operator, `termination.attest` for the developer).
pub async fn termination_for(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    action: &str,
) -> AppResult<TerminationRecord> {
    let rec = state.store.termination(id).await?;
    let t = &rec.termination;
    let orgs = match action {
        "sanction.manage" => vec![t.operator],
        "termination.attest" => vec![t.developer],
        _ => vec![t.operator, t.developer],
    };
    ctx.require(state, action, &resource(state, id, &orgs).await?)?;
    Ok(rec)
}

/// A development agreement the caller may see (its parties and the authorities), with its
/// termination if any.
pub async fn agreement_for_view(
    state: &AppState,
    ctx: &Ctx,
    agreement_id: i64,
) -> AppResult<(DevAgreementRecord, Option<TerminationRecord>)> {
    let d = state.store.dev_agreement(agreement_id).await?;
    ctx.require(
        state,
        "sanction.view",
        &resource(state, agreement_id, &[d.agreement.operator, d.agreement.developer]).await?,
    )?;
    let t = state.store.termination_of(agreement_id).await?;
    Ok((d, t))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TerminateInput {
    /// 终止理由 (required).
    #[serde(default)]
    pub reason: String,
}

/// The operator terminates a development agreement: access closes at once, the platform deletes its
/// copies (each deletion audited), the developer gets the attestation to-do.
pub async fn terminate(
    state: &AppState,
    ctx: &Ctx,
    agreement_id: i64,
    input: &TerminateInput,
) -> AppResult<i64> {
    let mut d = state.store.dev_agreement(agreement_id).await?;
    ctx.require(state, "sanction.manage", &resource(state, agreement_id, &[d.agreement.operator]).await?)?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    // Runs in progress under the agreement stop now (a queued one finds its access ended when it starts).
    for o in super::sandbox::copies_of_agreement(state, agreement_id).await? {
        state.sandbox.cancel_job(o.id);
    }
    let copies = platform_copies(state, agreement_id).await?;
    let downloads = download_log(state, agreement_id).await?;
    let mut t = Termination::start(
        agreement_id,
        &mut d.agreement,
        &input.reason,
        copies.clone(),
        downloads,
        &SETTINGS,
        today,
        &cal,
    )
    .map_err(termination_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_termination(&t, &d.agreement).await.map_err(stale)?;
    if copies.is_empty() {
        tx.record_no_platform_copies(id, &t).await?;
    }
    for (copy_id, kind) in &copies {
        delete_platform_copy(state, copy_id, *kind).await?;
        t.record_platform_deletion(copy_id, today).map_err(termination_err)?;
        tx.record_platform_deletion(id, &t, copy_id, today).await?;
    }
    let dev = state.store.org(d.agreement.developer).await?;
    tx.open_task(
        &NewTask {
            org_id: d.agreement.developer,
            role: None,
            kind: "termination.attest",
            subject_type: "termination",
            subject_id: id.to_string(),
            title: format!("开发利用协议已终止，请确认删除已下载数据（{}）", dev.name),
            link: format!("/dev-agreements/{agreement_id}/termination"),
        },
        Some(Period {
            start: today,
            unit: PeriodUnit::WorkingDays,
            amount: SETTINGS.attestation_working_days,
            cal: &cal,
        }),
    )
    .await?;
    let title = "开发利用协议已终止，平台访问已关闭";
    let link = format!("/dev-agreements/{agreement_id}/termination");
    for u in state.store.users_of_org(d.agreement.developer).await?.iter().filter(|u| u.active) {
        tx.notify(u.id, title, Some(&link)).await?;
        state.notifier.send(u, title, &link);
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AttestInput {
    /// Ids of downloaded files whose deletion is attested (empty when the download log is empty or
    /// already fully attested).
    #[serde(default)]
    pub file_ids: Vec<String>,
    /// 删除说明.
    #[serde(default)]
    pub statement: String,
}

/// The developer attests the deletion of downloaded files. With nothing (left) to attest, an empty
/// list records that the developer holds no copies and completes the step.
pub async fn attest(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &AttestInput,
) -> AppResult<TerminationRecord> {
    let me = ctx.me()?;
    let mut rec = termination_for(state, ctx, id, "termination.attest").await?;
    let today = ctx.today();
    let t = &mut rec.termination;
    if t.status == TerminationStatus::Verified {
        return Err(AppError::conflict("termination.verified", "该终止记录已核验"));
    }
    let ids: Vec<&str> = input.file_ids.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect();
    if ids.is_empty() {
        if !t.unattested().is_empty() {
            return Err(AppError::invalid(
                "file_ids",
                "termination.files_missing",
                "请逐一确认下载记录中的文件已删除",
            ));
        }
    } else {
        t.attest(me.org.id, &ids, today).map_err(termination_err)?;
    }
    let statement = input.statement.trim();
    if statement.chars().count() > 2000 {
        return Err(AppError::invalid("statement", "input.too_long", "内容过长（最多 2000 个字符）"));
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.record_attestation(id, t, me.user.id, &ids, statement, today).await.map_err(stale)?;
    if t.unattested().is_empty() {
        tx.close_tasks("termination", &id.to_string()).await?;
        let cal = state.store.work_calendar().await?;
        tx.open_task(
            &NewTask {
                org_id: t.operator,
                role: None,
                kind: "termination.verify",
                subject_type: "termination",
                subject_id: id.to_string(),
                title: format!("核验终止后的数据删除（{}）", me.org.name),
                link: format!("/dev-agreements/{}/termination", t.agreement),
            },
            Some(Period {
                start: today,
                unit: PeriodUnit::WorkingDays,
                amount: VERIFY_WORKING_DAYS,
                cal: &cal,
            }),
        )
        .await?;
    }
    tx.commit().await?;
    termination_for(state, ctx, id, "sanction.view").await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct VerifyInput {
    /// 核验意见.
    #[serde(default)]
    pub note: String,
}

/// The operator verifies the deletion once the developer has attested.
pub async fn verify(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &VerifyInput,
) -> AppResult<TerminationRecord> {
    let me = ctx.me()?;
    let mut rec = termination_for(state, ctx, id, "sanction.manage").await?;
    if rec.attestations.is_empty() {
        let e = TerminationError::NotReady { status: TerminationStatus::PlatformCopiesDeleted };
        return Err(AppError::conflict(e.code(), "开发主体尚未确认删除，暂不能核验"));
    }
    rec.termination.verify(me.org.id, me.org.org_type, &input.note, ctx.today()).map_err(termination_err)?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.verify_termination(id, &rec.termination).await?;
    tx.close_tasks("termination", &id.to_string()).await?;
    tx.commit().await?;
    termination_for(state, ctx, id, "sanction.view").await
}

/// Attestation overdue on `today`: files left unattested after the due day (the domain), or — with
/// an empty download log — no attestation given at all by then.
pub fn attestation_overdue(rec: &TerminationRecord, today: NaiveDate) -> bool {
    let t = &rec.termination;
    t.status != TerminationStatus::Verified
        && (t.is_overdue(today) || (rec.attestations.is_empty() && today > t.attestation_due))
}

/// The provincial data bureau: the province-level data authority.
async fn bureau(state: &AppState) -> AppResult<Option<i64>> {
    Ok(state
        .store
        .orgs_in_region("")
        .await?
        .into_iter()
        .filter(|o| o.active && o.org_type == OrgType::DataAuthority)
        .min_by_key(|o| o.region.scope_prefix().len())
        .map(|o| o.id))
}

/// The scheduler's job: flags each attestation overdue on `today` (once) with a to-do and
/// notifications for the operator and the bureau. Returns how many.
pub async fn flag_overdue(state: &AppState, now: DateTime<Utc>) -> AppResult<usize> {
    let today = crate::web::beijing_date(now);
    let mut n = 0;
    let bureau = bureau(state).await?;
    for rec in state.store.open_terminations().await? {
        if rec.overdue_flagged_on.is_some() || !attestation_overdue(&rec, today) {
            continue;
        }
        let t = &rec.termination;
        let dev = state.store.org(t.developer).await?;
        let mut tx = state.store.begin(now, &AuditCtx::system("scheduler")).await?;
        match tx.flag_termination_overdue(rec.id, today).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
        let title = format!("逾期未确认删除：{}（应于 {} 前确认）", dev.name, t.attestation_due);
        let link = format!("/dev-agreements/{}/termination", t.agreement);
        let mut orgs = vec![t.operator];
        orgs.extend(bureau);
        for org in orgs {
            tx.open_task(
                &NewTask {
                    org_id: org,
                    role: None,
                    kind: "termination.overdue",
                    subject_type: "termination_overdue",
                    subject_id: rec.id.to_string(),
                    title: format!("督办：{title}"),
                    link: link.clone(),
                },
                None,
            )
            .await?;
            for u in state.store.users_of_org(org).await?.iter().filter(|u| u.active) {
                tx.notify(u.id, &title, Some(&link)).await?;
                state.notifier.send(u, &title, &link);
            }
        }
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}
