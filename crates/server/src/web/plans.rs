//! Pages of implementation plans and operation agreements (授权管理 → 实施方案 / 运营协议 / 备案待办),
//! with their printable records (A4, 文号). Structured items are entered one per line (a list of
//! conditions per category, products in two classes with their form, milestones, weighted
//! indicators, exit conditions); the forms post to the same services as the API and, on a refusal,
//! the page is shown again with the message (which names the missing items by number).

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use yunshu_domain::authorization::ProductForm;
use yunshu_domain::authorization::filing::FilingStatus;
use yunshu_domain::authorization::operator::AgreementStatus;
use yunshu_domain::authorization::plan::PlanStatus;
use yunshu_domain::party::OrgType;

use super::templates::{HistoryRow, Layout};
use super::{history, layout, page};
use crate::AppState;
use crate::api::plans::{AgreementView, FilingTodo, PlanView, agreement_view, filing_todos, plan_view};
use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::extract::{Form, Path};
use crate::services::plans::{
    self as svc, AgreementInput, AgreementMove, AgreementMoveInput, PlanInput, PlanMove, PlanMoveInput,
};

fn lines(s: &str) -> impl Iterator<Item = &str> {
    s.lines().map(str::trim).filter(|l| !l.is_empty())
}

/// `a|b` (half- or full-width bar) → (a, b); a line without a bar is (line, "").
fn split2(l: &str) -> (&str, &str) {
    match l.split_once(['|', '｜']) {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (l.trim(), ""),
    }
}

fn product_form(s: &str) -> String {
    ProductForm::ALL
        .iter()
        .find(|f| f.code() == s || f.label_zh() == s)
        .map_or_else(|| s.to_owned(), |f| f.code().to_owned())
}

fn products_json(public: &str, industry: &str) -> Value {
    let mut out = Vec::new();
    for (class, text) in [("public_welfare", public), ("industry_development", industry)] {
        for l in lines(text) {
            let (form, name) = split2(l);
            out.push(json!({"name": name, "class": class, "form": product_form(form)}));
        }
    }
    json!(out)
}

fn products_text(v: &Value, class: &str) -> String {
    v["products"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|p| p["class"] == class)
                .map(|p| {
                    let form = p["form"].as_str().unwrap_or_default();
                    let label = ProductForm::parse(form).map_or(form, |f| f.label_zh());
                    format!("{label}|{}", p["name"].as_str().unwrap_or_default())
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn resources_json(text: &str) -> Value {
    json!(
        lines(text)
            .enumerate()
            .map(|(i, l)| {
                let (code, name) = split2(l);
                json!({"id": format!("R{}", i + 1), "code": code, "name": name})
            })
            .collect::<Vec<_>>()
    )
}

fn resources_text(v: &Value) -> String {
    v["data_resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| {
                    format!(
                        "{}|{}",
                        r["code"].as_str().unwrap_or_default(),
                        r["name"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

fn st(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Every field of the plan pages' forms (the item fields, the feasibility record and the moves').
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PlanForm {
    pub name: String,
    pub necessity: String,
    pub cond_capital: String,
    pub cond_management: String,
    pub cond_technology: String,
    pub cond_service: String,
    pub cond_security: String,
    pub mode: String,
    pub industry_department: String,
    pub resources: String,
    pub update_frequency: String,
    pub data_quality: String,
    pub term_years: String,
    pub construction: String,
    pub technical_support: String,
    pub schedule: String,
    pub indicators: String,
    pub exit_conditions: String,
    pub asset_management: String,
    pub products_public: String,
    pub products_industry: String,
    pub cost_accounting: String,
    pub revenue_sharing: String,
    pub data_security: String,
    pub personal_information: String,
    pub emergency_measures: String,
    pub rights_duties: String,
    pub supervision: String,
    pub other: String,
    pub f_lifecycle: String,
    pub f_social_demand: String,
    pub f_scenarios: String,
    pub f_market_size: String,
    pub f_expected_effect: String,
    pub f_risk_control: String,
    pub f_held_on: String,
    pub meeting: String,
    pub meeting_ref: String,
    pub date: String,
    pub outcome: String,
    pub minutes_ref: String,
    pub kind: String,
    pub description: String,
    pub filed_on: String,
}

const CATEGORIES: [&str; 5] = ["capital", "management", "technology", "service", "security"];

impl PlanForm {
    fn conditions(&self) -> [&str; 5] {
        [
            &self.cond_capital,
            &self.cond_management,
            &self.cond_technology,
            &self.cond_service,
            &self.cond_security,
        ]
    }

    fn content(&self) -> Value {
        let mut conditions = Vec::new();
        for (cat, text) in CATEGORIES.iter().zip(self.conditions()) {
            for l in lines(text) {
                conditions.push(json!({"category": cat, "requirement": l}));
            }
        }
        let schedule: Vec<Value> = lines(&self.schedule)
            .map(|l| {
                let (due, name) = split2(l);
                json!({"due": due, "name": name})
            })
            .collect();
        let indicators: Vec<Value> = lines(&self.indicators)
            .map(|l| {
                let (name, weight) = split2(l);
                json!({"name": name, "weight": weight})
            })
            .collect();
        json!({
            "name": self.name, "necessity": self.necessity, "operator_conditions": conditions,
            "mode": self.mode, "industry_department": self.industry_department,
            "data_resources": resources_json(&self.resources), "update_frequency": self.update_frequency,
            "data_quality": self.data_quality, "term_years": self.term_years, "construction": self.construction,
            "technical_support": self.technical_support, "schedule": schedule, "evaluation_criteria": indicators,
            "exit_conditions": lines(&self.exit_conditions).collect::<Vec<_>>(),
            "asset_management": self.asset_management,
            "products": products_json(&self.products_public, &self.products_industry),
            "cost_accounting": self.cost_accounting, "revenue_sharing": self.revenue_sharing,
            "data_security": self.data_security, "personal_information": self.personal_information,
            "emergency_measures": self.emergency_measures, "rights_duties": self.rights_duties,
            "supervision": self.supervision, "other": self.other,
        })
    }

    fn feasibility(&self) -> Value {
        json!({"lifecycle": self.f_lifecycle, "social_demand": self.f_social_demand, "scenarios": self.f_scenarios,
               "market_size": self.f_market_size, "expected_effect": self.f_expected_effect,
               "risk_control": self.f_risk_control, "held_on": self.f_held_on})
    }

    fn from_view(c: &Value, f: &Value) -> PlanForm {
        let cond = |cat: &str| {
            c["operator_conditions"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|x| x["category"] == cat)
                        .map(|x| st(x, "requirement"))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()
        };
        let join = |key: &str, fmt: &dyn Fn(&Value) -> String| {
            c[key].as_array().map(|a| a.iter().map(fmt).collect::<Vec<_>>().join("\n")).unwrap_or_default()
        };
        PlanForm {
            name: st(c, "name"),
            necessity: st(c, "necessity"),
            cond_capital: cond("capital"),
            cond_management: cond("management"),
            cond_technology: cond("technology"),
            cond_service: cond("service"),
            cond_security: cond("security"),
            mode: st(c, "mode"),
            industry_department: st(c, "industry_department"),
            resources: resources_text(c),
            update_frequency: st(c, "update_frequency"),
            data_quality: st(c, "data_quality"),
            term_years: st(c, "term_years"),
            construction: st(c, "construction"),
            technical_support: st(c, "technical_support"),
            schedule: join("schedule", &|m| format!("{}|{}", st(m, "due"), st(m, "name"))),
            indicators: join("evaluation_criteria", &|i| format!("{}|{}", st(i, "name"), st(i, "weight"))),
            exit_conditions: join("exit_conditions", &|e| e.as_str().unwrap_or_default().to_owned()),
            asset_management: st(c, "asset_management"),
            products_public: products_text(c, "public_welfare"),
            products_industry: products_text(c, "industry_development"),
            cost_accounting: st(c, "cost_accounting"),
            revenue_sharing: st(c, "revenue_sharing"),
            data_security: st(c, "data_security"),
            personal_information: st(c, "personal_information"),
            emergency_measures: st(c, "emergency_measures"),
            rights_duties: st(c, "rights_duties"),
            supervision: st(c, "supervision"),
            other: st(c, "other"),
            f_lifecycle: st(f, "lifecycle"),
            f_social_demand: st(f, "social_demand"),
            f_scenarios: st(f, "scenarios"),
            f_market_size: st(f, "market_size"),
            f_expected_effect: st(f, "expected_effect"),
            f_risk_control: st(f, "risk_control"),
            f_held_on: st(f, "held_on"),
            ..PlanForm::default()
        }
    }

    fn move_input(&self) -> PlanMoveInput {
        PlanMoveInput {
            content: self.content(),
            feasibility: self.feasibility(),
            meeting: self.meeting.clone(),
            meeting_ref: self.meeting_ref.clone(),
            date: self.date.clone(),
            outcome: self.outcome.clone(),
            minutes_ref: self.minutes_ref.clone(),
            kind: self.kind.clone(),
            description: self.description.clone(),
            filed_on: self.filed_on.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "plans.html")]
pub struct PlansPage {
    pub l: Layout,
    pub rows: Vec<PlanView>,
    pub can_create: bool,
    pub error: String,
    pub f: PlanForm,
    pub action: String,
}

async fn plans_page(
    state: &AppState,
    ctx: &Ctx,
    error: Option<AppError>,
    f: Option<PlanForm>,
) -> AppResult<PlansPage> {
    let l = layout(state, ctx, "/authorization/plans", vec![("授权管理", ""), ("实施方案", "")]).await?;
    let me = ctx.me()?;
    let mut rows = Vec::new();
    for p in svc::visible_plans(state, ctx).await? {
        rows.push(plan_view(state, &p, ctx.today()).await?);
    }
    Ok(PlansPage {
        l,
        rows,
        can_create: me.org.org_type == OrgType::ImplementingAgency
            && ctx.allowed(state, "plan.manage", &crate::services::org_resource(&me.org)),
        error: error.map(|e| e.message).unwrap_or_default(),
        f: f.unwrap_or_default(),
        action: "/authorization/plans".into(),
    })
}

pub async fn plans(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    Ok(page(&plans_page(&state, &ctx, None, None).await?).into_response())
}

pub async fn create_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<PlanForm>,
) -> AppResult<Response> {
    let input = PlanInput { content: f.content(), feasibility: f.feasibility() };
    match svc::create_plan(&state, &ctx, &input).await {
        Ok(id) => Ok(Redirect::to(&format!("/authorization/plans/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&plans_page(&state, &ctx, Some(e), Some(f)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "plan.html")]
pub struct PlanPage {
    pub l: Layout,
    pub p: PlanView,
    pub f: PlanForm,
    pub action: String,
    /// (number, label, complete)
    pub items: Vec<(usize, &'static str, bool)>,
    pub versions: Vec<(i64, u32, String)>,
    pub can_manage: bool,
    pub can_file: bool,
    pub today: String,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn plan_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
    f: Option<PlanForm>,
) -> AppResult<PlanPage> {
    let rec = svc::plan_for(state, ctx, id, "plan.view").await?;
    let p = plan_view(state, &rec, ctx.today()).await?;
    let l = layout(
        state,
        ctx,
        "/authorization/plans",
        vec![("授权管理", ""), ("实施方案", "/authorization/plans"), (rec.plan.content.name.as_str(), "")],
    )
    .await?;
    let missing = rec.plan.content.missing_items();
    let items = yunshu_domain::authorization::plan::PlanItem::ALL
        .iter()
        .map(|i| (i.number(), i.label_zh(), !missing.contains(i)))
        .collect();
    let versions = state
        .store
        .plan_versions(rec.plan_no)
        .await?
        .iter()
        .map(|v| (v.id, v.plan.version, v.plan.status.label_zh().to_owned()))
        .collect();
    let agency = state.store.org(rec.plan.agency).await?;
    let res = crate::services::org_resource(&agency);
    Ok(PlanPage {
        f: f.unwrap_or_else(|| PlanForm::from_view(&p.content, &p.feasibility)),
        action: format!("/authorization/plans/{id}/edit"),
        items,
        versions,
        can_manage: ctx.allowed(state, "plan.manage", &res),
        can_file: ctx.allowed(state, "filing.record", &res) && rec.plan.filing.status == FilingStatus::Due,
        today: ctx.today().to_string(),
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "impl_plan", &id.to_string()).await?,
        l,
        p,
    })
}

pub async fn plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&plan_page(&state, &ctx, id, None, None).await?).into_response())
}

pub async fn move_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<PlanForm>,
) -> AppResult<Response> {
    let mv = PlanMove::parse(&mv).ok_or_else(AppError::not_found)?;
    match svc::move_plan(&state, &ctx, id, mv, &f.move_input()).await {
        Ok(next) => Ok(Redirect::to(&format!("/authorization/plans/{next}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            let keep = if mv == PlanMove::Edit { Some(f) } else { None };
            Ok((status, page(&plan_page(&state, &ctx, id, Some(e), keep).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "plan_print.html")]
pub struct PlanPrint {
    pub p: PlanView,
    pub doc_no: String,
    pub items: Vec<(usize, &'static str, String)>,
}

fn items_text(c: &Value) -> Vec<String> {
    let f = PlanForm::from_view(c, &Value::Null);
    let mode = yunshu_domain::authorization::AuthorizationMode::parse(&f.mode).map_or("", |m| m.label_zh());
    vec![
        f.name.clone(),
        f.necessity.clone(),
        CATEGORIES
            .iter()
            .zip(f.conditions())
            .filter(|(_, t)| !t.is_empty())
            .map(|(c, t)| {
                let label = yunshu_domain::authorization::plan::ConditionCategory::parse(c)
                    .map_or("", |x| x.label_zh());
                format!("{label}：{}", t.replace('\n', "；"))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        mode.to_owned(),
        format!(
            "{}\n更新频率：{}；质量：{}",
            f.resources.replace('\n', "；"),
            f.update_frequency,
            f.data_quality
        ),
        format!(
            "期限 {} 年；建设内容：{}；技术保障：{}；进度：{}；评价标准：{}；退出机制：{}；资产管理：{}",
            f.term_years,
            f.construction,
            f.technical_support,
            f.schedule.replace('\n', "；"),
            f.indicators.replace('\n', "；"),
            f.exit_conditions.replace('\n', "；"),
            f.asset_management
        ),
        format!(
            "公共治理、公益事业：{}\n产业发展、行业发展：{}",
            f.products_public.replace('\n', "；"),
            f.products_industry.replace('\n', "；")
        ),
        format!("{}；{}", f.cost_accounting, f.revenue_sharing),
        format!("{}；{}；{}", f.data_security, f.personal_information, f.emergency_measures),
        f.rights_duties.clone(),
        f.supervision.clone(),
        f.other,
    ]
}

pub async fn print_plan(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let rec = svc::plan_for(&state, &ctx, id, "plan.view").await?;
    if !matches!(rec.plan.status, PlanStatus::Approved | PlanStatus::Superseded) {
        return Err(AppError::conflict("plan.not_approved", "实施方案尚未审议通过，无备案表"));
    }
    let p = plan_view(&state, &rec, ctx.today()).await?;
    let texts = items_text(&p.content);
    let items = yunshu_domain::authorization::plan::PlanItem::ALL
        .iter()
        .zip(texts)
        .map(|(i, t)| (i.number(), i.label_zh(), t))
        .collect();
    Ok(page(&PlanPrint { doc_no: p.doc_number.clone().unwrap_or_default(), p, items }).into_response())
}

#[derive(Template)]
#[template(path = "filings.html")]
pub struct FilingsPage {
    pub l: Layout,
    pub rows: Vec<FilingTodo>,
    pub today: String,
}

pub async fn filings(State(state): State<AppState>, Extension(ctx): Extension<Ctx>) -> AppResult<Response> {
    let l = layout(&state, &ctx, "/authorization/filings", vec![("授权管理", ""), ("备案待办", "")]).await?;
    let rows = filing_todos(&state, &ctx).await?;
    Ok(page(&FilingsPage { l, rows, today: ctx.today().to_string() }).into_response())
}

/// Every field of the agreement pages' forms.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AgreementForm {
    pub mode: String,
    pub industry_department: String,
    pub method: String,
    pub method_note: String,
    pub participants: String,
    pub winner: String,
    pub winner_org_id: String,
    pub decided_on: String,
    pub term_start: String,
    pub term_end: String,
    pub lt_justification: String,
    pub lt_approved_by: String,
    pub lt_approved_on: String,
    pub resources: String,
    pub products_public: String,
    pub products_industry: String,
    pub technical_standards: String,
    pub security_review: String,
    pub compliance_review: String,
    pub platform: String,
    pub asset_ownership: String,
    pub disclosure: String,
    pub no_redevelopment: String,
    pub cost_revenue: String,
    pub security: String,
    pub evaluation_renewal: String,
    pub liability: String,
    pub disputes: String,
    pub change_termination: String,
    pub confidentiality: String,
    pub other: String,
    pub meeting: String,
    pub date: String,
    pub outcome: String,
    pub minutes_ref: String,
    pub filed_on: String,
    pub new_end: String,
    pub justification: String,
    pub approved_by: String,
    pub reason: String,
}

impl AgreementForm {
    fn content(&self) -> Value {
        json!({
            "data_resources": resources_json(&self.resources),
            "term_start": self.term_start, "term_end": self.term_end,
            "long_term": {"justification": self.lt_justification, "approved_by": self.lt_approved_by,
                          "approved_on": self.lt_approved_on},
            "products": products_json(&self.products_public, &self.products_industry),
            "technical_standards": self.technical_standards, "security_review": self.security_review,
            "compliance_review": self.compliance_review, "platform": self.platform,
            "asset_ownership": self.asset_ownership, "disclosure": self.disclosure,
            "no_redevelopment_undertaking": !self.no_redevelopment.is_empty(),
            "cost_revenue": self.cost_revenue, "security": self.security,
            "evaluation_renewal": self.evaluation_renewal, "liability": self.liability,
            "disputes": self.disputes, "change_termination": self.change_termination,
            "confidentiality": self.confidentiality, "other": self.other,
        })
    }

    fn from_view(c: &Value) -> AgreementForm {
        let lt = &c["long_term"];
        AgreementForm {
            term_start: st(c, "term_start"),
            term_end: st(c, "term_end"),
            lt_justification: st(lt, "justification"),
            lt_approved_by: st(lt, "approved_by"),
            lt_approved_on: st(lt, "approved_on"),
            resources: resources_text(c),
            products_public: products_text(c, "public_welfare"),
            products_industry: products_text(c, "industry_development"),
            technical_standards: st(c, "technical_standards"),
            security_review: st(c, "security_review"),
            compliance_review: st(c, "compliance_review"),
            platform: st(c, "platform"),
            asset_ownership: st(c, "asset_ownership"),
            disclosure: st(c, "disclosure"),
            no_redevelopment: if c["no_redevelopment_undertaking"] == true {
                "1".into()
            } else {
                String::new()
            },
            cost_revenue: st(c, "cost_revenue"),
            security: st(c, "security"),
            evaluation_renewal: st(c, "evaluation_renewal"),
            liability: st(c, "liability"),
            disputes: st(c, "disputes"),
            change_termination: st(c, "change_termination"),
            confidentiality: st(c, "confidentiality"),
            other: st(c, "other"),
            ..AgreementForm::default()
        }
    }

    fn create_input(&self) -> AgreementInput {
        AgreementInput {
            mode: self.mode.clone(),
            industry_department: self.industry_department.trim().parse().ok(),
            method: self.method.clone(),
            method_note: self.method_note.clone(),
            participants: lines(&self.participants).map(str::to_owned).collect(),
            winner: self.winner.clone(),
            winner_org_id: self.winner_org_id.trim().parse().ok(),
            decided_on: self.decided_on.clone(),
            term_start: self.term_start.clone(),
            term_end: self.term_end.clone(),
        }
    }

    fn move_input(&self) -> AgreementMoveInput {
        AgreementMoveInput {
            content: self.content(),
            meeting: self.meeting.clone(),
            date: self.date.clone(),
            outcome: self.outcome.clone(),
            minutes_ref: self.minutes_ref.clone(),
            parties: Vec::new(),
            filed_on: self.filed_on.clone(),
            new_end: self.new_end.clone(),
            justification: self.justification.clone(),
            approved_by: self.approved_by.clone(),
            reason: self.reason.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "agreements.html")]
pub struct AgreementsPage {
    pub l: Layout,
    pub rows: Vec<AgreementView>,
    pub can_create: bool,
    pub operators: Vec<(i64, String)>,
    pub error: String,
    pub f: AgreementForm,
}

async fn agreements_page(
    state: &AppState,
    ctx: &Ctx,
    error: Option<AppError>,
    f: Option<AgreementForm>,
) -> AppResult<AgreementsPage> {
    let l = layout(state, ctx, "/authorization/agreements", vec![("授权管理", ""), ("运营协议", "")]).await?;
    let me = ctx.me()?;
    let mut rows = Vec::new();
    for a in svc::visible_agreements(state, ctx).await? {
        rows.push(agreement_view(state, &a, ctx.today()).await?);
    }
    let operators = state
        .store
        .orgs_in_region("53")
        .await?
        .into_iter()
        .filter(|o| o.org_type == OrgType::Operator && o.active)
        .map(|o| (o.id, o.name))
        .collect();
    Ok(AgreementsPage {
        l,
        rows,
        can_create: me.org.org_type == OrgType::ImplementingAgency
            && ctx.allowed(state, "plan.manage", &crate::services::org_resource(&me.org)),
        operators,
        error: error.map(|e| e.message).unwrap_or_default(),
        f: f.unwrap_or_default(),
    })
}

pub async fn agreements(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
) -> AppResult<Response> {
    Ok(page(&agreements_page(&state, &ctx, None, None).await?).into_response())
}

pub async fn create_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Form(f): Form<AgreementForm>,
) -> AppResult<Response> {
    match svc::create_agreement(&state, &ctx, &f.create_input()).await {
        Ok(id) => Ok(Redirect::to(&format!("/authorization/agreements/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            Ok((status, page(&agreements_page(&state, &ctx, Some(e), Some(f)).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "agreement.html")]
pub struct AgreementPage {
    pub l: Layout,
    pub a: AgreementView,
    pub f: AgreementForm,
    /// (number, label, complete)
    pub clauses: Vec<(usize, &'static str, bool)>,
    pub draft: bool,
    pub can_manage: bool,
    pub can_file: bool,
    /// In force or renewed: the agency may renew (clause 9) or terminate (clause 12).
    pub live: bool,
    pub today: String,
    pub error: String,
    pub history: Vec<HistoryRow>,
}

async fn agreement_page(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    error: Option<AppError>,
    f: Option<AgreementForm>,
) -> AppResult<AgreementPage> {
    let rec = svc::agreement_for(state, ctx, id, "plan.view").await?;
    let a = agreement_view(state, &rec, ctx.today()).await?;
    let title = format!("运营协议（{}）", a.operator_name);
    let l = layout(
        state,
        ctx,
        "/authorization/agreements",
        vec![("授权管理", ""), ("运营协议", "/authorization/agreements"), (title.as_str(), "")],
    )
    .await?;
    let missing = rec.agreement.content.missing_clauses();
    let clauses = yunshu_domain::authorization::operator::AgreementClause::ALL
        .iter()
        .map(|c| (c.number(), c.label_zh(), !missing.contains(c)))
        .collect();
    let agency = state.store.org(rec.agreement.agency).await?;
    let res = crate::services::org_resource(&agency);
    Ok(AgreementPage {
        f: f.unwrap_or_else(|| AgreementForm::from_view(&a.content)),
        clauses,
        draft: rec.agreement.status == AgreementStatus::Draft,
        can_manage: ctx.allowed(state, "plan.manage", &res),
        can_file: ctx.allowed(state, "filing.record", &res)
            && rec.agreement.filing.status == FilingStatus::Due,
        live: matches!(rec.agreement.status, AgreementStatus::InForce | AgreementStatus::Renewed),
        today: ctx.today().to_string(),
        error: error.map(|e| e.message).unwrap_or_default(),
        history: history(state, "operation_agreement", &id.to_string()).await?,
        l,
        a,
    })
}

pub async fn agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(page(&agreement_page(&state, &ctx, id, None, None).await?).into_response())
}

pub async fn move_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path((id, mv)): Path<(i64, String)>,
    Form(f): Form<AgreementForm>,
) -> AppResult<Response> {
    let mv = AgreementMove::parse(&mv).ok_or_else(AppError::not_found)?;
    match svc::move_agreement(&state, &ctx, id, mv, &f.move_input()).await {
        Ok(()) => Ok(Redirect::to(&format!("/authorization/agreements/{id}")).into_response()),
        Err(e) if e.is_form_error() => {
            let status = e.status;
            let keep = if mv == AgreementMove::Content { Some(f) } else { None };
            Ok((status, page(&agreement_page(&state, &ctx, id, Some(e), keep).await?)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "agreement_print.html")]
pub struct AgreementPrint {
    pub a: AgreementView,
    pub doc_no: String,
    pub clauses: Vec<(usize, &'static str, String)>,
}

pub async fn print_agreement(
    State(state): State<AppState>,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let rec = svc::agreement_for(&state, &ctx, id, "plan.view").await?;
    if rec.agreement.status == AgreementStatus::Draft {
        return Err(AppError::conflict("agreement.not_signed", "运营协议尚未签订，无备案表"));
    }
    let a = agreement_view(&state, &rec, ctx.today()).await?;
    let f = AgreementForm::from_view(&a.content);
    let texts = [
        f.resources.replace('\n', "；"),
        format!(
            "{} 至 {}{}",
            f.term_start,
            f.term_end,
            if f.lt_justification.is_empty() {
                String::new()
            } else {
                format!(
                    "（超过 5 年：{}；批准：{} {}）",
                    f.lt_justification, f.lt_approved_by, f.lt_approved_on
                )
            }
        ),
        format!(
            "公共治理、公益事业：{}；产业发展、行业发展：{}；技术标准：{}；安全审核：{}；业务规范性审核：{}",
            f.products_public.replace('\n', "、"),
            f.products_industry.replace('\n', "、"),
            f.technical_standards,
            f.security_review,
            f.compliance_review
        ),
        f.platform.clone(),
        f.asset_ownership.clone(),
        format!(
            "{}{}",
            f.disclosure,
            if f.no_redevelopment.is_empty() { "" } else { "（已承诺不参与再开发）" }
        ),
        f.cost_revenue.clone(),
        f.security.clone(),
        f.evaluation_renewal.clone(),
        f.liability.clone(),
        f.disputes.clone(),
        f.change_termination.clone(),
        f.confidentiality.clone(),
        f.other.clone(),
    ];
    let clauses = yunshu_domain::authorization::operator::AgreementClause::ALL
        .iter()
        .zip(texts)
        .map(|(c, t)| (c.number(), c.label_zh(), t))
        .collect();
    Ok(page(&AgreementPrint { doc_no: a.doc_number.clone().unwrap_or_default(), a, clauses }).into_response())
}
