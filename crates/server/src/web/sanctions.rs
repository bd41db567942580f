//! Pages of the blacklist (监督管理 → 处置与黑名单, Art. 21) and of the termination of a development
//! agreement (Art. 25(5)) with its steps and the printable 终止确认 record. The operator imposes and
//! lifts measures and terminates; the developer sees its own measures and attests deletion; the data
//! authorities and supervisors read. Forms post to the same services as the API; a validation error
//! shows the page again with the message (422 / 409).

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use yunshu_domain::authorization::sanction::SanctionKind;
use yunshu_domain::authorization::termination::TerminationStatus;
use yunshu_domain::party::OrgType;
use yunshu_store::onboarding::DevAgreementRecord;
use yunshu_store::sanctions::TerminationRecord;

use super::templates::{HistoryRow, Layout};
use super::{history, layout, page, zh_date};
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::sanctions::{
    self as svc, AttestInput, LiftInput, SanctionInput, TerminateInput, VerifyInput,
};

async fn org_name(state: &AppState, id: i64) -> AppResult<String> {
    Ok(state.store.org(id).await?.name)
}

pub struct SanctionRow {
    pub id: i64,
    pub developer: String,
    pub operator: String,
    pub kind: &'static str,
    pub agreement: String,
    pub reason: String,
    pub imposed: String,
    pub until: String,
    pub state: &'static str,
    pub lifted: String,
    pub can_lift: bool,
}

pub struct AgreementRow {
    pub id: i64,
    pub developer: String,
    pub scenario: String,
    pub term: String,
    pub status: &'static str,
    pub access: &'static str,
}

#[derive(Template)]
#[template(path = "sanctions.html")]
pub struct SanctionsPage {
    pub l: Layout,
    pub rows: Vec<SanctionRow>,
    pub agreements: Vec<AgreementRow>,
    pub can_manage: bool,
    /// (id, name) of developer organisations, for the impose form.
    pub developers: Vec<(i64, String)>,
    pub kinds: Vec<(&'static str, &'static str)>,
    pub error: String,
}

async fn agreement_row(
    state: &AppState,
    d: &DevAgreementRecord,
    today: chrono::NaiveDate,
) -> AppResult<AgreementRow> {
    let a = &d.agreement;
    let access = svc::developer_access(state, a.developer, a.scenario, today).await?;
    Ok(AgreementRow {
        id: d.id,
        developer: org_name(state, a.developer).await?,
        scenario: state.store.scenario(a.scenario).await?.scenario.title,
        term: format!("{} 至 {}", zh_date(a.term.start), zh_date(a.term.end)),
        status: a.status.label_zh(),
        access: access.label_zh(),
    })
}

async fn sanctions_page(state: &AppState, ctx: &Ctx, error: Option<AppError>) -> AppResult<SanctionsPage> {
    let l = layout(state, ctx, "/sanctions", vec![("监督管理", ""), ("处置与黑名单", "")]).await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let own = PolicyResource::Onboarding { id: 0, parties: vec![(me.org.id, me.org.region)] };
    let can_manage = ctx.allowed(state, "sanction.manage", &own);
    let mut rows = Vec::new();
    for r in svc::visible_sanctions(state, ctx).await? {
        let s = &r.sanction;
        rows.push(SanctionRow {
            id: r.id,
            developer: org_name(state, s.developer).await?,
            operator: org_name(state, s.imposed_by).await?,
            kind: s.kind.label_zh(),
            agreement: s.agreement.map(|a| a.to_string()).unwrap_or_default(),
            reason: s.reason.clone(),
            imposed: zh_date(s.imposed_on),
            until: s.until.map(zh_date).unwrap_or_default(),
            state: s.state(today).label_zh(),
            lifted: s.lifted.as_ref().map(|l| format!("{}：{}", zh_date(l.on), l.reason)).unwrap_or_default(),
            can_lift: can_manage
                && s.imposed_by == me.org.id
                && s.is_active(today)
                && matches!(s.kind, SanctionKind::Suspension | SanctionKind::Restriction),
        });
    }
    let mut agreements = Vec::new();
    match me.org.org_type {
        OrgType::Operator => {
            for id in state.store.dev_agreement_ids_of_operator(me.org.id).await? {
                agreements.push(agreement_row(state, &state.store.dev_agreement(id).await?, today).await?);
            }
        }
        OrgType::Developer => {
            for d in state.store.dev_agreements_of(me.org.id).await? {
                agreements.push(agreement_row(state, &d, today).await?);
            }
        }
        _ => {}
    }
    let developers = if can_manage {
        state
            .store
            .orgs_in_region("")
            .await?
            .into_iter()
            .filter(|o| o.active && o.org_type == OrgType::Developer)
            .map(|o| (o.id, o.name))
            .collect()
    } else {
        Vec::new()
    };
    let kinds = [
        SanctionKind::ReminderInterview,
        SanctionKind::Suspension,
        SanctionKind::Cancellation,
        SanctionKind::Restriction,
    ]
    .iter()
    .map(|k| (k.code(), k.label_zh()))
    .collect();
    Ok(SanctionsPage {
        l,
        rows,
        agreements,
        can_manage,
        developers,
        kinds,
        error: error.map(|e| e.message).unwrap_or_default(),
    })
}

pub async fn sanctions(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&sanctions_page(&state, &ctx, None).await?).into_response())
}

/// The impose form: the agreement is optional (an empty select sends "").
#[derive(Debug, Default, serde::Deserialize)]
pub struct ImposeForm {
    #[serde(default)]
    pub developer_org_id: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub agreement_id: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn impose(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<ImposeForm>,
) -> AppResult<Response> {
    let input = SanctionInput {
        developer_org_id: f.developer_org_id.trim().parse().unwrap_or(0),
        kind: f.kind,
        agreement_id: f.agreement_id.trim().parse().ok(),
        until: f.until,
        reason: f.reason,
    };
    match svc::impose(&state, &ctx, &input).await {
        Ok(_) => Ok(Redirect::to("/sanctions").into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&sanctions_page(&state, &ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn lift(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<LiftInput>,
) -> AppResult<Response> {
    match svc::lift(&state, &ctx, id, &f).await {
        Ok(_) => Ok(Redirect::to("/sanctions").into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&sanctions_page(&state, &ctx, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct ItemRow {
    pub id: String,
    pub label: String,
    pub done: String,
}

#[derive(Template)]
#[template(path = "termination.html")]
pub struct TerminationPage {
    pub l: Layout,
    pub agreement: AgreementRow,
    pub terminated: bool,
    pub termination_id: i64,
    pub terminated_on: String,
    pub reason: String,
    pub status: &'static str,
    pub copies: Vec<ItemRow>,
    pub downloads: Vec<ItemRow>,
    pub attestations: Vec<(String, i64, String)>,
    pub due: String,
    pub overdue: bool,
    pub verified: String,
    pub can_terminate: bool,
    pub can_attest: bool,
    pub can_verify: bool,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn termination_page(
    state: &AppState,
    ctx: &Ctx,
    agreement_id: i64,
    error: Option<AppError>,
) -> AppResult<TerminationPage> {
    let (d, t) = svc::agreement_for_view(state, ctx, agreement_id).await?;
    let l = layout(
        state,
        ctx,
        "/sanctions",
        vec![("监督管理", ""), ("处置与黑名单", "/sanctions"), ("协议终止", "")],
    )
    .await?;
    let me = ctx.me()?;
    let today = ctx.today();
    let parties =
        |org: i64| PolicyResource::Onboarding { id: agreement_id, parties: vec![(org, me.org.region)] };
    let is_operator = me.org.id == d.agreement.operator;
    let is_developer = me.org.id == d.agreement.developer;
    let can_manage = is_operator && ctx.allowed(state, "sanction.manage", &parties(me.org.id));
    let can_attest_role = is_developer && ctx.allowed(state, "termination.attest", &parties(me.org.id));
    let mut history = history(state, "development_agreement", &agreement_id.to_string()).await?;
    let agreement = agreement_row(state, &d, today).await?;
    let Some(rec) = t else {
        return Ok(TerminationPage {
            l,
            agreement,
            terminated: false,
            termination_id: 0,
            terminated_on: String::new(),
            reason: String::new(),
            status: "",
            copies: Vec::new(),
            downloads: Vec::new(),
            attestations: Vec::new(),
            due: String::new(),
            overdue: false,
            verified: String::new(),
            can_terminate: can_manage,
            can_attest: false,
            can_verify: false,
            error: error.map(|e| e.message).unwrap_or_default(),
            history,
        });
    };
    history.extend(super::history(state, "termination", &rec.id.to_string()).await?);
    let tt = &rec.termination;
    let verified = tt.status == TerminationStatus::Verified;
    Ok(TerminationPage {
        l,
        agreement,
        terminated: true,
        termination_id: rec.id,
        terminated_on: zh_date(tt.terminated_on),
        reason: tt.reason.clone(),
        status: tt.status.label_zh(),
        copies: tt
            .platform_copies
            .iter()
            .map(|c| ItemRow {
                id: c.id.clone(),
                label: c.kind.label_zh().to_owned(),
                done: c.deleted_on.map(zh_date).unwrap_or_default(),
            })
            .collect(),
        downloads: tt
            .downloads
            .iter()
            .map(|f| ItemRow {
                id: f.id.clone(),
                label: format!("{}（SM3 {}）", f.file_name, f.sm3_hex),
                done: f.attested_on.map(zh_date).unwrap_or_default(),
            })
            .collect(),
        attestations: rec
            .attestations
            .iter()
            .map(|a| (zh_date(a.attested_on), a.file_count, a.statement.clone()))
            .collect(),
        due: format!("{}{}", zh_date(tt.attestation_due), if tt.provisional { "（暂定）" } else { "" }),
        overdue: svc::attestation_overdue(&rec, today),
        verified: tt
            .verified_on
            .map(|d| format!("{}：{}", zh_date(d), tt.verification_note))
            .unwrap_or_default(),
        can_terminate: false,
        can_attest: can_attest_role && !verified,
        can_verify: can_manage && !verified && !rec.attestations.is_empty(),
        error: error.map(|e| e.message).unwrap_or_default(),
        history,
    })
}

pub async fn termination(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&termination_page(&state, &ctx, id, None).await?).into_response())
}

async fn after(state: &AppState, ctx: &Ctx, agreement_id: i64, r: AppResult<()>) -> AppResult<Response> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/dev-agreements/{agreement_id}/termination")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&termination_page(state, ctx, agreement_id, Some(e)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn terminate(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<TerminateInput>,
) -> AppResult<Response> {
    let r = svc::terminate(&state, &ctx, id, &f).await.map(|_| ());
    after(&state, &ctx, id, r).await
}

/// The attestation form: one `file_ids` checkbox per downloaded file, plus the statement.
pub async fn attest(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let rec = svc::termination_for(&state, &ctx, id, "termination.attest").await?;
    let input = AttestInput {
        file_ids: pairs.iter().filter(|(k, _)| k == "file_ids").map(|(_, v)| v.clone()).collect(),
        statement: pairs.iter().find(|(k, _)| k == "statement").map(|(_, v)| v.clone()).unwrap_or_default(),
    };
    let r = svc::attest(&state, &ctx, id, &input).await.map(|_| ());
    after(&state, &ctx, rec.termination.agreement, r).await
}

pub async fn verify(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
    Form(f): Form<VerifyInput>,
) -> AppResult<Response> {
    let rec = svc::termination_for(&state, &ctx, id, "sanction.manage").await?;
    let r = svc::verify(&state, &ctx, id, &f).await.map(|_| ());
    after(&state, &ctx, rec.termination.agreement, r).await
}

#[derive(Template)]
#[template(path = "termination_print.html")]
pub struct TerminationPrint {
    pub doc_no: String,
    pub operator: String,
    pub developer: String,
    pub scenario: String,
    pub term: String,
    pub terminated_on: String,
    pub reason: String,
    pub copies: String,
    pub downloads: String,
    pub attested: String,
    pub verified: String,
    pub status: &'static str,
}

fn print_doc_no(rec: &TerminationRecord) -> String {
    let year = chrono::Datelike::year(&rec.termination.terminated_on);
    let serial = u32::try_from(rec.id).unwrap_or(0);
    yunshu_domain::authorization::doc_number::DocNumber::new("云数终", year, serial)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The printable 终止确认 record (A4).
pub async fn print(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let (d, t) = svc::agreement_for_view(&state, &ctx, id).await?;
    let rec = t.ok_or_else(|| AppError::conflict("termination.none", "该开发利用协议未终止，无终止确认"))?;
    let tt = &rec.termination;
    let a = &d.agreement;
    let copies = if tt.platform_copies.is_empty() {
        "平台未为该开发主体留存开发工作空间或待发布成果（删除清单为空，已审计记录）".to_owned()
    } else {
        tt.platform_copies
            .iter()
            .map(|c| {
                format!(
                    "{} {}：{}",
                    c.kind.label_zh(),
                    c.id,
                    c.deleted_on.map(zh_date).unwrap_or("未删除".into())
                )
            })
            .collect::<Vec<_>>()
            .join("；")
    };
    let downloads = if tt.downloads.is_empty() {
        "下载记录为空".to_owned()
    } else {
        tt.downloads
            .iter()
            .map(|f| format!("{}：{}", f.file_name, f.attested_on.map(zh_date).unwrap_or("未确认".into())))
            .collect::<Vec<_>>()
            .join("；")
    };
    Ok(page(&TerminationPrint {
        doc_no: print_doc_no(&rec),
        operator: org_name(&state, a.operator).await?,
        developer: org_name(&state, a.developer).await?,
        scenario: state.store.scenario(a.scenario).await?.scenario.title,
        term: format!("{} 至 {}", zh_date(a.term.start), zh_date(a.term.end)),
        terminated_on: zh_date(tt.terminated_on),
        reason: tt.reason.clone(),
        copies,
        downloads,
        attested: rec
            .attestations
            .iter()
            .map(|x| format!("{}（{} 个文件）{}", zh_date(x.attested_on), x.file_count, x.statement))
            .collect::<Vec<_>>()
            .join("；"),
        verified: tt
            .verified_on
            .map(|v| format!("{} {}", zh_date(v), tt.verification_note))
            .unwrap_or_default(),
        status: tt.status.label_zh(),
    })
    .into_response())
}
