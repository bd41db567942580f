//! JSON API of the blacklist (Art. 21) and of terminations (Art. 25(5)): measures imposed and lifted
//! by the operator, a developer's access decision per scenario, terminating a development agreement,
//! the developer's attestation and the operator's verification. Same services as the pages.

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use yunshu_store::sanctions::{SanctionRecord, TerminationRecord};

use super::Created;
use crate::AppState;
use crate::context::Ctx;
use crate::error::AppResult;
use crate::extract::{Json, Path};
use crate::services::sanctions::{
    self as svc, AttestInput, LiftInput, SanctionInput, TerminateInput, VerifyInput,
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct SanctionView {
    pub id: i64,
    pub developer_org_id: i64,
    pub operator_org_id: i64,
    /// reminder_interview | suspension | cancellation | restriction
    pub kind: String,
    pub kind_label: String,
    pub agreement_id: Option<i64>,
    pub reason: String,
    pub imposed_on: String,
    pub until: Option<String>,
    /// active | lifted | expired (today)
    pub state: String,
    pub state_label: String,
    pub lifted_on: Option<String>,
    pub lift_reason: Option<String>,
}

pub fn sanction_view(r: &SanctionRecord, today: chrono::NaiveDate) -> SanctionView {
    let s = &r.sanction;
    let st = s.state(today);
    SanctionView {
        id: r.id,
        developer_org_id: s.developer,
        operator_org_id: s.imposed_by,
        kind: s.kind.code().to_owned(),
        kind_label: s.kind.label_zh().to_owned(),
        agreement_id: s.agreement,
        reason: s.reason.clone(),
        imposed_on: s.imposed_on.to_string(),
        until: s.until.map(|d| d.to_string()),
        state: st.code().to_owned(),
        state_label: st.label_zh().to_owned(),
        lifted_on: s.lifted.as_ref().map(|l| l.on.to_string()),
        lift_reason: s.lifted.as_ref().map(|l| l.reason.clone()),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletionItemView {
    pub id: String,
    /// For a platform copy: workspace | pending_output | other.
    pub kind: String,
    pub file_name: String,
    pub sm3: String,
    /// The day deleted (platform copy) or attested deleted (downloaded file).
    pub done_on: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AttestationView {
    pub attested_on: String,
    pub user_id: i64,
    pub file_count: i64,
    pub statement: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TerminationView {
    pub id: i64,
    pub agreement_id: i64,
    pub operator_org_id: i64,
    pub developer_org_id: i64,
    pub terminated_on: String,
    pub reason: String,
    /// terminated | platform_copies_deleted | developer_attested | verified
    pub status: String,
    pub status_label: String,
    pub platform_copies: Vec<DeletionItemView>,
    pub downloads: Vec<DeletionItemView>,
    pub attestations: Vec<AttestationView>,
    pub attestation_due: String,
    pub provisional: bool,
    pub overdue: bool,
    pub overdue_flagged_on: Option<String>,
    pub attested_late: bool,
    pub verified_on: Option<String>,
    pub verification_note: String,
}

pub fn termination_view(r: &TerminationRecord, today: chrono::NaiveDate) -> TerminationView {
    let t = &r.termination;
    TerminationView {
        id: r.id,
        agreement_id: t.agreement,
        operator_org_id: t.operator,
        developer_org_id: t.developer,
        terminated_on: t.terminated_on.to_string(),
        reason: t.reason.clone(),
        status: t.status.code().to_owned(),
        status_label: t.status.label_zh().to_owned(),
        platform_copies: t
            .platform_copies
            .iter()
            .map(|c| DeletionItemView {
                id: c.id.clone(),
                kind: c.kind.code().to_owned(),
                file_name: String::new(),
                sm3: String::new(),
                done_on: c.deleted_on.map(|d| d.to_string()),
            })
            .collect(),
        downloads: t
            .downloads
            .iter()
            .map(|d| DeletionItemView {
                id: d.id.clone(),
                kind: String::new(),
                file_name: d.file_name.clone(),
                sm3: d.sm3_hex.clone(),
                done_on: d.attested_on.map(|d| d.to_string()),
            })
            .collect(),
        attestations: r
            .attestations
            .iter()
            .map(|a| AttestationView {
                attested_on: a.attested_on.to_string(),
                user_id: a.user_id,
                file_count: a.file_count,
                statement: a.statement.clone(),
            })
            .collect(),
        attestation_due: t.attestation_due.to_string(),
        provisional: t.provisional,
        overdue: svc::attestation_overdue(r, today),
        overdue_flagged_on: r.overdue_flagged_on.map(|d| d.to_string()),
        attested_late: t.attested_late(),
        verified_on: t.verified_on.map(|d| d.to_string()),
        verification_note: t.verification_note.clone(),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessView {
    pub scenario_id: i64,
    pub allowed: bool,
    /// allowed | no_agreement | not_started | expired | terminated | cancelled | suspended
    pub code: String,
    pub label: String,
}

pub async fn list(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<axum::Json<Vec<SanctionView>>> {
    let today = ctx.today();
    Ok(axum::Json(
        svc::visible_sanctions(&state, &ctx).await?.iter().map(|r| sanction_view(r, today)).collect(),
    ))
}

pub async fn impose(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Json(input): Json<SanctionInput>,
) -> AppResult<(StatusCode, axum::Json<Created>)> {
    let id = svc::impose(&state, &ctx, &input).await?;
    Ok((StatusCode::CREATED, axum::Json(Created { id })))
}

pub async fn lift(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<LiftInput>,
) -> AppResult<axum::Json<SanctionView>> {
    let r = svc::lift(&state, &ctx, id, &input).await?;
    Ok(axum::Json(sanction_view(&r, ctx.today())))
}

/// The caller's (developer organisation's) access to a scenario today, with the reason.
pub async fn access(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<AccessView>> {
    // A scenario that does not exist is a 404, not "no access".
    state.store.scenario(id).await?;
    let d = svc::developer_access(&state, ctx.me()?.org.id, id, ctx.today()).await?;
    Ok(axum::Json(AccessView {
        scenario_id: id,
        allowed: d.is_allowed(),
        code: d.code().to_owned(),
        label: d.label_zh().to_owned(),
    }))
}

pub async fn get_termination(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(agreement_id): Path<i64>,
) -> AppResult<axum::Json<TerminationView>> {
    let (_, t) = svc::agreement_for_view(&state, &ctx, agreement_id).await?;
    let t = t.ok_or_else(crate::error::AppError::not_found)?;
    Ok(axum::Json(termination_view(&t, ctx.today())))
}

pub async fn terminate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(agreement_id): Path<i64>,
    Json(input): Json<TerminateInput>,
) -> AppResult<(StatusCode, axum::Json<TerminationView>)> {
    let id = svc::terminate(&state, &ctx, agreement_id, &input).await?;
    let t = svc::termination_for(&state, &ctx, id, "sanction.view").await?;
    Ok((StatusCode::CREATED, axum::Json(termination_view(&t, ctx.today()))))
}

pub async fn attest(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<AttestInput>,
) -> AppResult<axum::Json<TerminationView>> {
    let t = svc::attest(&state, &ctx, id, &input).await?;
    Ok(axum::Json(termination_view(&t, ctx.today())))
}

pub async fn verify(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Json(input): Json<VerifyInput>,
) -> AppResult<axum::Json<TerminationView>> {
    let t = svc::verify(&state, &ctx, id, &input).await?;
    Ok(axum::Json(termination_view(&t, ctx.today())))
}
