//! Implementation plans (Art. 8–10) and the full operation agreements (Art. 11), persisted. A plan's
//! twelve items and its feasibility record are stored as JSON text in the same shape the API takes
//! (the domain has no serde, so the values are built by hand here); its status, decision dates and
//! filing are columns so that lists and deadlines need no JSON. Each version of a plan is its own
//! row, tied to the first version by `plan_no`. An operation agreement keeps its onboarding row
//! (`operation_agreement`: parties, term, status — what caps development agreements) and adds a
//! companion row (`operation_agreement_detail`) with the selection, decision, 14 clauses, signatures
//! and filing. Every write audits itself in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::authorization::operator::{
    AgreementContent, AgreementStatus, OperationAgreement, OperatorSelection, SelectionMethod,
};
use yunshu_domain::authorization::plan::{
    ChangeKind, ConditionCategory, Feasibility, ImplementationPlan, Milestone, OperatorCondition, PlanChange,
    PlanContent, PlanStatus,
};
use yunshu_domain::authorization::{
    AuthorizationMode, CollectiveDecision, DecisionOutcome, Filing, FilingStatus, GovernmentReview,
    Indicator, Level, LongTermApproval, ProductClass, ProductForm, ProductItem, ResourceRef, Term,
};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// A JSON value that does not fit a plan or agreement: names the offending field (for a 422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadField(pub &'static str);

type Parsed<T> = std::result::Result<T, BadField>;

fn s(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().trim().to_owned()
}

fn bad(field: &'static str) -> BadField {
    BadField(field)
}

fn date_at(v: &Value, key: &str, field: &'static str) -> Parsed<Option<NaiveDate>> {
    match v[key].as_str().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => NaiveDate::parse_from_str(t, "%Y-%m-%d").map(Some).map_err(|_| bad(field)),
    }
}

fn list<'a>(v: &'a Value, key: &'static str) -> Parsed<&'a [Value]> {
    match &v[key] {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a.as_slice()),
        _ => Err(bad(key)),
    }
}

fn code<T>(v: &Value, key: &str, field: &'static str, parse: fn(&str) -> Option<T>) -> Parsed<Option<T>> {
    match v[key].as_str().map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => parse(c).map(Some).ok_or_else(|| bad(field)),
    }
}

fn resources_from(v: &Value) -> Parsed<Vec<ResourceRef>> {
    Ok(list(v, "data_resources")?
        .iter()
        .map(|r| ResourceRef { id: s(r, "id"), code: s(r, "code"), name: s(r, "name") })
        .collect())
}

fn resources_json(rs: &[ResourceRef]) -> Value {
    json!(rs.iter().map(|r| json!({"id": r.id, "code": r.code, "name": r.name})).collect::<Vec<_>>())
}

fn products_from(v: &Value) -> Parsed<Vec<ProductItem>> {
    list(v, "products")?
        .iter()
        .map(|p| {
            Ok(ProductItem {
                name: s(p, "name"),
                class: code(p, "class", "products.class", ProductClass::parse)?
                    .ok_or_else(|| bad("products.class"))?,
                form: code(p, "form", "products.form", ProductForm::parse)?
                    .ok_or_else(|| bad("products.form"))?,
                form_note: s(p, "form_note"),
            })
        })
        .collect()
}

fn products_json(ps: &[ProductItem]) -> Value {
    json!(
        ps.iter()
            .map(|p| json!({"name": p.name, "class": p.class.code(), "form": p.form.code(),
                             "form_note": p.form_note}))
            .collect::<Vec<_>>()
    )
}

/// Reads the twelve items of a plan from their JSON shape (the API's and the stored one).
pub fn plan_content_from(v: &Value) -> Parsed<PlanContent> {
    let conditions = list(v, "operator_conditions")?
        .iter()
        .map(|c| {
            Ok(OperatorCondition {
                category: code(c, "category", "operator_conditions.category", ConditionCategory::parse)?
                    .ok_or_else(|| bad("operator_conditions.category"))?,
                requirement: s(c, "requirement"),
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    let schedule = list(v, "schedule")?
        .iter()
        .map(|m| {
            Ok(Milestone {
                name: s(m, "name"),
                due: date_at(m, "due", "schedule.due")?.ok_or_else(|| bad("schedule.due"))?,
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    let indicators = list(v, "evaluation_criteria")?
        .iter()
        .map(|i| {
            let weight = match &i["weight"] {
                Value::Number(n) => n.as_u64(),
                Value::String(t) => t.trim().parse().ok(),
                _ => None,
            };
            Ok(Indicator {
                name: s(i, "name"),
                weight: weight
                    .and_then(|w| u32::try_from(w).ok())
                    .ok_or_else(|| bad("evaluation_criteria.weight"))?,
            })
        })
        .collect::<Parsed<Vec<_>>>()?;
    let exits = list(v, "exit_conditions")?
        .iter()
        .map(|c| c.as_str().map(|t| t.trim().to_owned()).ok_or_else(|| bad("exit_conditions")))
        .collect::<Parsed<Vec<_>>>()?;
    let term_years = match &v["term_years"] {
        Value::Null => None,
        Value::Number(n) => {
            Some(n.as_u64().and_then(|y| u32::try_from(y).ok()).ok_or_else(|| bad("term_years"))?)
        }
        Value::String(t) if t.trim().is_empty() => None,
        Value::String(t) => Some(t.trim().parse().map_err(|_| bad("term_years"))?),
        _ => return Err(bad("term_years")),
    };
    let industry = match &v["industry_department"] {
        Value::Number(n) => Some(n.as_i64().ok_or_else(|| bad("industry_department"))?),
        Value::String(t) if !t.trim().is_empty() => {
            Some(t.trim().parse().map_err(|_| bad("industry_department"))?)
        }
        _ => None,
    };
    Ok(PlanContent {
        name: s(v, "name"),
        necessity: s(v, "necessity"),
        operator_conditions: conditions,
        mode: code(v, "mode", "mode", AuthorizationMode::parse)?,
        industry_department: industry,
        data_resources: resources_from(v)?,
        update_frequency: s(v, "update_frequency"),
        data_quality: s(v, "data_quality"),
        term_years,
        construction: s(v, "construction"),
        technical_support: s(v, "technical_support"),
        schedule,
        evaluation_criteria: indicators,
        exit_conditions: exits,
        asset_management: s(v, "asset_management"),
        products: products_from(v)?,
        cost_accounting: s(v, "cost_accounting"),
        revenue_sharing: s(v, "revenue_sharing"),
        data_security: s(v, "data_security"),
        personal_information: s(v, "personal_information"),
        emergency_measures: s(v, "emergency_measures"),
        rights_duties: s(v, "rights_duties"),
        supervision: s(v, "supervision"),
        other: s(v, "other"),
    })
}

/// The JSON shape of the twelve items.
pub fn plan_content_json(c: &PlanContent) -> Value {
    json!({
        "name": c.name,
        "necessity": c.necessity,
        "operator_conditions": c.operator_conditions.iter()
            .map(|o| json!({"category": o.category.code(), "requirement": o.requirement}))
            .collect::<Vec<_>>(),
        "mode": c.mode.map(|m| m.code()),
        "industry_department": c.industry_department,
        "data_resources": resources_json(&c.data_resources),
        "update_frequency": c.update_frequency,
        "data_quality": c.data_quality,
        "term_years": c.term_years,
        "construction": c.construction,
        "technical_support": c.technical_support,
        "schedule": c.schedule.iter().map(|m| json!({"name": m.name, "due": m.due.to_string()}))
            .collect::<Vec<_>>(),
        "evaluation_criteria": c.evaluation_criteria.iter()
            .map(|i| json!({"name": i.name, "weight": i.weight})).collect::<Vec<_>>(),
        "exit_conditions": c.exit_conditions,
        "asset_management": c.asset_management,
        "products": products_json(&c.products),
        "cost_accounting": c.cost_accounting,
        "revenue_sharing": c.revenue_sharing,
        "data_security": c.data_security,
        "personal_information": c.personal_information,
        "emergency_measures": c.emergency_measures,
        "rights_duties": c.rights_duties,
        "supervision": c.supervision,
        "other": c.other,
    })
}

/// Reads the feasibility demonstration record.
pub fn feasibility_from(v: &Value) -> Parsed<Feasibility> {
    Ok(Feasibility {
        lifecycle: s(v, "lifecycle"),
        social_demand: s(v, "social_demand"),
        scenarios: s(v, "scenarios"),
        market_size: s(v, "market_size"),
        expected_effect: s(v, "expected_effect"),
        risk_control: s(v, "risk_control"),
        held_on: date_at(v, "held_on", "feasibility.held_on")?,
    })
}

pub fn feasibility_json(f: &Feasibility) -> Value {
    json!({
        "lifecycle": f.lifecycle, "social_demand": f.social_demand, "scenarios": f.scenarios,
        "market_size": f.market_size, "expected_effect": f.expected_effect, "risk_control": f.risk_control,
        "held_on": f.held_on.map(|d| d.to_string()),
    })
}

fn decision_json(d: &CollectiveDecision) -> Value {
    json!({"meeting": d.meeting, "date": d.date.to_string(), "outcome": d.outcome.code(),
           "minutes_ref": d.minutes_ref})
}

fn decision_from(v: &Value) -> Result<CollectiveDecision> {
    Ok(CollectiveDecision {
        meeting: s(v, "meeting"),
        date: v["date"].as_str().map(parse_date).transpose()?.ok_or_else(|| corrupt("decision date"))?,
        outcome: v["outcome"]
            .as_str()
            .and_then(DecisionOutcome::parse)
            .ok_or_else(|| corrupt("decision outcome"))?,
        minutes_ref: s(v, "minutes_ref"),
    })
}

fn review_json(r: &GovernmentReview) -> Value {
    json!({"meeting_ref": r.meeting_ref, "date": r.date.to_string(), "outcome": r.outcome.code()})
}

fn review_from(v: &Value) -> Result<GovernmentReview> {
    Ok(GovernmentReview {
        meeting_ref: s(v, "meeting_ref"),
        date: v["date"].as_str().map(parse_date).transpose()?.ok_or_else(|| corrupt("review date"))?,
        outcome: v["outcome"]
            .as_str()
            .and_then(DecisionOutcome::parse)
            .ok_or_else(|| corrupt("review outcome"))?,
    })
}

fn json_col(r: &AnyRow, col: &str) -> Result<Option<Value>> {
    let text: Option<String> = r.try_get(col)?;
    text.map(|t| serde_json::from_str(&t).map_err(|_| corrupt(col))).transpose()
}

fn date_col(r: &AnyRow, col: &str) -> Result<Option<NaiveDate>> {
    let text: Option<String> = r.try_get(col)?;
    text.as_deref().map(parse_date).transpose()
}

fn filing_from(r: &AnyRow) -> Result<Filing> {
    let status: String = r.try_get("filing_status")?;
    let provisional: i64 = r.try_get("filing_provisional")?;
    Filing::restore(
        FilingStatus::parse(&status).ok_or_else(|| corrupt("filing status"))?,
        date_col(r, "filing_trigger")?,
        date_col(r, "filing_due")?,
        provisional != 0,
        date_col(r, "filed_on")?,
    )
    .map_err(|e| corrupt(e.code()))
}

fn opt_s(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// A stored plan version.
#[derive(Debug, Clone)]
pub struct PlanRecord {
    pub id: i64,
    /// The id of the first version: every version of one plan shares it.
    pub plan_no: i64,
    /// Serial of the plan record's 文号 (assigned at approval).
    pub doc_serial: Option<i64>,
    pub plan: ImplementationPlan,
    pub updated_at: DateTime<Utc>,
}

const PLAN_COLS: &str = "id, plan_no, agency_org_id, level, version, status, content, feasibility, \
     change_kind, change_desc, submitted_on, agency_decision, government_review, approved_on, superseded_on, \
     filing_status, filing_trigger, filing_due, filing_provisional, filed_on, doc_serial, updated_at";

fn plan_from_row(r: &AnyRow) -> Result<PlanRecord> {
    let level: String = r.try_get("level")?;
    let status: String = r.try_get("status")?;
    let version: i64 = r.try_get("version")?;
    let content = json_col(r, "content")?.unwrap_or(Value::Null);
    let feasibility = json_col(r, "feasibility")?.unwrap_or(Value::Null);
    let change_kind: Option<String> = r.try_get("change_kind")?;
    let change = match change_kind {
        Some(k) => Some(PlanChange {
            kind: ChangeKind::parse(&k).ok_or_else(|| corrupt("plan change kind"))?,
            description: r.try_get::<Option<String>, _>("change_desc")?.unwrap_or_default(),
        }),
        None => None,
    };
    let updated: String = r.try_get("updated_at")?;
    Ok(PlanRecord {
        id: r.try_get("id")?,
        plan_no: r.try_get("plan_no")?,
        doc_serial: r.try_get("doc_serial")?,
        plan: ImplementationPlan {
            agency: r.try_get("agency_org_id")?,
            level: Level::parse(&level).ok_or_else(|| corrupt("plan level"))?,
            version: u32::try_from(version).map_err(|_| corrupt("plan version"))?,
            change,
            content: plan_content_from(&content).map_err(|b| corrupt(&format!("plan content {}", b.0)))?,
            feasibility: feasibility_from(&feasibility)
                .map_err(|b| corrupt(&format!("feasibility {}", b.0)))?,
            status: PlanStatus::parse(&status).ok_or_else(|| corrupt("plan status"))?,
            submitted_on: date_col(r, "submitted_on")?,
            agency_decision: json_col(r, "agency_decision")?.as_ref().map(decision_from).transpose()?,
            government_review: json_col(r, "government_review")?.as_ref().map(review_from).transpose()?,
            approved_on: date_col(r, "approved_on")?,
            superseded_on: date_col(r, "superseded_on")?,
            filing: filing_from(r)?,
        },
        updated_at: parse_ts(&updated)?,
    })
}

/// A full operation agreement: the onboarding row plus its companion detail.
#[derive(Debug, Clone)]
pub struct AgreementRecord {
    pub id: i64,
    pub operator_org_id: i64,
    pub doc_serial: Option<i64>,
    pub agreement: OperationAgreement,
}

const AGREEMENT_SELECT: &str = "SELECT a.id, a.agency_org_id, a.operator_org_id, a.term_start, a.term_end, \
     a.status, d.level, d.mode, d.industry_org_id, d.selection, d.agency_decision, d.content, d.signed_agency, \
     d.signed_industry, d.signed_operator, d.signed_on, d.filing_status, d.filing_trigger, d.filing_due, \
     d.filing_provisional, d.filed_on, d.doc_serial, d.terminated_on, d.termination_reason \
     FROM operation_agreement a JOIN operation_agreement_detail d ON d.agreement_id = a.id";

fn selection_json(sel: &OperatorSelection) -> Value {
    json!({"method": sel.method.code(), "method_note": sel.method_note, "participants": sel.participants,
           "winner": sel.winner, "winner_org": sel.winner_org, "decided_on": sel.decided_on.to_string()})
}

fn selection_from(v: &Value) -> Result<OperatorSelection> {
    Ok(OperatorSelection {
        method: v["method"]
            .as_str()
            .and_then(SelectionMethod::parse)
            .ok_or_else(|| corrupt("selection method"))?,
        method_note: s(v, "method_note"),
        participants: v["participants"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        winner: s(v, "winner"),
        winner_org: v["winner_org"].as_i64().ok_or_else(|| corrupt("selection winner"))?,
        decided_on: v["decided_on"]
            .as_str()
            .map(parse_date)
            .transpose()?
            .ok_or_else(|| corrupt("selected"))?,
    })
}

/// Reads the 14 clauses (without the term, which the caller sets) from their JSON shape.
pub fn agreement_content_from(v: &Value) -> Parsed<AgreementContent> {
    let long_term = match &v["long_term"] {
        Value::Object(_) => {
            let lt = &v["long_term"];
            let justification = s(lt, "justification");
            let approved_by = s(lt, "approved_by");
            if justification.is_empty() && approved_by.is_empty() {
                None
            } else {
                Some(LongTermApproval {
                    justification,
                    approved_by,
                    approved_on: date_at(lt, "approved_on", "long_term.approved_on")?
                        .ok_or_else(|| bad("long_term.approved_on"))?,
                    doc_number: None,
                })
            }
        }
        _ => None,
    };
    let term = match (date_at(v, "term_start", "term_start")?, date_at(v, "term_end", "term_end")?) {
        (Some(start), Some(end)) => Some(Term { start, end }),
        _ => None,
    };
    Ok(AgreementContent {
        data_resources: resources_from(v)?,
        term,
        long_term,
        products: products_from(v)?,
        technical_standards: s(v, "technical_standards"),
        security_review: s(v, "security_review"),
        compliance_review: s(v, "compliance_review"),
        platform: s(v, "platform"),
        asset_ownership: s(v, "asset_ownership"),
        disclosure: s(v, "disclosure"),
        no_redevelopment_undertaking: v["no_redevelopment_undertaking"].as_bool().unwrap_or(false),
        cost_revenue: s(v, "cost_revenue"),
        security: s(v, "security"),
        evaluation_renewal: s(v, "evaluation_renewal"),
        liability: s(v, "liability"),
        disputes: s(v, "disputes"),
        change_termination: s(v, "change_termination"),
        confidentiality: s(v, "confidentiality"),
        other: s(v, "other"),
    })
}

pub fn agreement_content_json(c: &AgreementContent) -> Value {
    json!({
        "data_resources": resources_json(&c.data_resources),
        "term_start": c.term.map(|t| t.start.to_string()),
        "term_end": c.term.map(|t| t.end.to_string()),
        "long_term": c.long_term.as_ref().map(|l| json!({"justification": l.justification,
            "approved_by": l.approved_by, "approved_on": l.approved_on.to_string()})),
        "products": products_json(&c.products),
        "technical_standards": c.technical_standards,
        "security_review": c.security_review,
        "compliance_review": c.compliance_review,
        "platform": c.platform,
        "asset_ownership": c.asset_ownership,
        "disclosure": c.disclosure,
        "no_redevelopment_undertaking": c.no_redevelopment_undertaking,
        "cost_revenue": c.cost_revenue,
        "security": c.security,
        "evaluation_renewal": c.evaluation_renewal,
        "liability": c.liability,
        "disputes": c.disputes,
        "change_termination": c.change_termination,
        "confidentiality": c.confidentiality,
        "other": c.other,
    })
}

fn agreement_from_row(r: &AnyRow) -> Result<AgreementRecord> {
    let level: String = r.try_get("level")?;
    let mode: String = r.try_get("mode")?;
    let status: String = r.try_get("status")?;
    let content = json_col(r, "content")?.unwrap_or(Value::Null);
    let mut content =
        agreement_content_from(&content).map_err(|b| corrupt(&format!("agreement content {}", b.0)))?;
    // The term columns of the onboarding row are the reference (a renewal moves them).
    content.term = Some(Term {
        start: parse_date(&r.try_get::<String, _>("term_start")?)?,
        end: parse_date(&r.try_get::<String, _>("term_end")?)?,
    });
    Ok(AgreementRecord {
        id: r.try_get("id")?,
        operator_org_id: r.try_get("operator_org_id")?,
        doc_serial: r.try_get("doc_serial")?,
        agreement: OperationAgreement {
            agency: r.try_get("agency_org_id")?,
            level: Level::parse(&level).ok_or_else(|| corrupt("agreement level"))?,
            mode: AuthorizationMode::parse(&mode).ok_or_else(|| corrupt("agreement mode"))?,
            industry_department: r.try_get("industry_org_id")?,
            selection: json_col(r, "selection")?.as_ref().map(selection_from).transpose()?,
            agency_decision: json_col(r, "agency_decision")?.as_ref().map(decision_from).transpose()?,
            content,
            signed_by_agency: date_col(r, "signed_agency")?,
            signed_by_industry_department: date_col(r, "signed_industry")?,
            signed_by_operator: date_col(r, "signed_operator")?,
            status: AgreementStatus::parse(&status).ok_or_else(|| corrupt("agreement status"))?,
            signed_on: date_col(r, "signed_on")?,
            filing: filing_from(r)?,
            renewals: Vec::new(),
            terminated_on: date_col(r, "terminated_on")?,
            termination_reason: r.try_get::<Option<String>, _>("termination_reason")?.unwrap_or_default(),
        },
    })
}

impl Store {
    pub async fn plan(&self, id: i64) -> Result<PlanRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PLAN_COLS} FROM impl_plan WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        plan_from_row(&row)
    }

    /// Every plan version, newest plan first, versions in order.
    pub async fn plans(&self) -> Result<Vec<PlanRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAN_COLS} FROM impl_plan ORDER BY plan_no DESC, version"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(plan_from_row).collect()
    }

    /// The versions of one plan, oldest first.
    pub async fn plan_versions(&self, plan_no: i64) -> Result<Vec<PlanRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PLAN_COLS} FROM impl_plan WHERE plan_no = $1 ORDER BY version"
        )))
        .bind(plan_no)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(plan_from_row).collect()
    }

    pub async fn agreement(&self, id: i64) -> Result<AgreementRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{AGREEMENT_SELECT} WHERE a.id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        agreement_from_row(&row)
    }

    /// Every operation agreement that has its full record, newest first.
    pub async fn agreements(&self) -> Result<Vec<AgreementRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{AGREEMENT_SELECT} ORDER BY a.id DESC")))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(agreement_from_row).collect()
    }

    /// Onboarding agreements (term and status only) that have no full record yet.
    pub async fn agreements_without_detail(&self) -> Result<Vec<(i64, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT a.id, a.agency_org_id, a.operator_org_id FROM operation_agreement a \
             WHERE NOT EXISTS (SELECT 1 FROM operation_agreement_detail d WHERE d.agreement_id = a.id) \
             ORDER BY a.id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("agency_org_id")?, r.try_get("operator_org_id")?)))
            .collect()
    }

    /// Evaluations of an operator and sanctions it imposed, each `None` when that process's table is
    /// not in this database (the overview then shows "—").
    pub async fn operator_record_counts(&self, operator_org_id: i64) -> Result<(Option<i64>, Option<i64>)> {
        let evaluations = if self.table_exists("evaluation").await? {
            Some(
                sqlx::query_scalar("SELECT COUNT(*) FROM evaluation WHERE evaluated_org_id = $1")
                    .bind(operator_org_id)
                    .fetch_one(self.pool())
                    .await?,
            )
        } else {
            None
        };
        let sanctions = if self.table_exists("sanction").await? {
            Some(
                sqlx::query_scalar("SELECT COUNT(*) FROM sanction WHERE operator_org_id = $1")
                    .bind(operator_org_id)
                    .fetch_one(self.pool())
                    .await?,
            )
        } else {
            None
        };
        Ok((evaluations, sanctions))
    }

    /// Whether a table exists (the bureau's overview reads other processes' tables only if present).
    pub async fn table_exists(&self, table: &str) -> Result<bool> {
        let q = match self.backend() {
            crate::Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
            crate::Backend::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = $1 \
                 AND table_schema = current_schema()"
            }
        };
        let n: i64 = sqlx::query_scalar(q).bind(table).fetch_one(self.pool()).await?;
        Ok(n > 0)
    }
}

async fn next_serial(tx: &mut Tx, table: &str) -> Result<i64> {
    let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT CAST(MAX(doc_serial) AS BIGINT) FROM {table}"
    )))
    .fetch_one(tx.conn())
    .await?;
    Ok(max.unwrap_or(0) + 1)
}

impl Tx {
    /// Stores a new plan version; a first version becomes its own `plan_no`.
    pub async fn insert_plan(&mut self, plan_no: Option<i64>, p: &ImplementationPlan) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO impl_plan (plan_no, agency_org_id, level, version, status, content, feasibility, \
             change_kind, change_desc, filing_status, filing_provisional, created_at, updated_at) \
             VALUES (COALESCE($1, 0), $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $11) RETURNING id",
        )
        .bind(plan_no)
        .bind(p.agency)
        .bind(p.level.code())
        .bind(i64::from(p.version))
        .bind(p.status.code())
        .bind(plan_content_json(&p.content).to_string())
        .bind(feasibility_json(&p.feasibility).to_string())
        .bind(p.change.as_ref().map(|c| c.kind.code()))
        .bind(p.change.as_ref().map(|c| c.description.clone()))
        .bind(p.filing.status.code())
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        if plan_no.is_none() {
            sqlx::query("UPDATE impl_plan SET plan_no = id WHERE id = $1")
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        self.audit(Change::ok(
            if plan_no.is_some() { "plan.new_version" } else { "plan.create" },
            "impl_plan",
            id,
            json!({"agency_org_id": p.agency, "level": p.level.code(), "version": p.version,
                   "change": p.change.as_ref().map(|c| c.kind.code())}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves a plan's state after a move; `action` names the move for the audit.
    pub async fn save_plan(&mut self, id: i64, p: &ImplementationPlan, action: &str) -> Result<()> {
        let serial = if p.status == PlanStatus::Approved {
            let current: Option<i64> = sqlx::query_scalar("SELECT doc_serial FROM impl_plan WHERE id = $1")
                .bind(id)
                .fetch_one(self.conn())
                .await?;
            match current {
                Some(s) => Some(s),
                None => Some(next_serial(self, "impl_plan").await?),
            }
        } else {
            None
        };
        let f = &p.filing;
        sqlx::query(
            "UPDATE impl_plan SET status = $1, content = $2, feasibility = $3, submitted_on = $4, \
             agency_decision = $5, government_review = $6, approved_on = $7, superseded_on = $8, \
             filing_status = $9, filing_trigger = $10, filing_due = $11, filing_provisional = $12, \
             filed_on = $13, doc_serial = COALESCE(doc_serial, $14), updated_at = $15 WHERE id = $16",
        )
        .bind(p.status.code())
        .bind(plan_content_json(&p.content).to_string())
        .bind(feasibility_json(&p.feasibility).to_string())
        .bind(opt_s(p.submitted_on))
        .bind(p.agency_decision.as_ref().map(|d| decision_json(d).to_string()))
        .bind(p.government_review.as_ref().map(|r| review_json(r).to_string()))
        .bind(opt_s(p.approved_on))
        .bind(opt_s(p.superseded_on))
        .bind(f.status.code())
        .bind(opt_s(f.trigger))
        .bind(opt_s(f.due))
        .bind(i64::from(f.provisional))
        .bind(opt_s(f.filed_on))
        .bind(serial)
        .bind(ts(self.now()))
        .bind(id)
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            action,
            "impl_plan",
            id,
            json!({"status": p.status.code(), "version": p.version, "filing": f.status.code(),
                   "filing_due": opt_s(f.due)}),
        ))
        .await?;
        Ok(())
    }

    /// Stores a new operation agreement: the onboarding row (term and status) and its full record.
    pub async fn insert_agreement(&mut self, a: &OperationAgreement, term: Term) -> Result<i64> {
        let operator = a.operator().ok_or_else(|| corrupt("agreement without operator"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operation_agreement (agency_org_id, operator_org_id, term_start, term_end, status, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(a.agency)
        .bind(operator)
        .bind(term.start.to_string())
        .bind(term.end.to_string())
        .bind(a.status.code())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.insert_agreement_detail(id, a).await?;
        self.audit(Change::ok(
            "op_agreement.create",
            "operation_agreement",
            id,
            json!({"operator_org_id": operator, "mode": a.mode.code(), "level": a.level.code()}),
        ))
        .await?;
        Ok(id)
    }

    /// Adds the full record to an agreement that onboarding recorded with term and status only.
    pub async fn insert_agreement_detail(&mut self, id: i64, a: &OperationAgreement) -> Result<()> {
        sqlx::query(
            "INSERT INTO operation_agreement_detail (agreement_id, level, mode, industry_org_id, content, \
             filing_status, filing_provisional, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(id)
        .bind(a.level.code())
        .bind(a.mode.code())
        .bind(a.industry_department)
        .bind(agreement_content_json(&a.content).to_string())
        .bind(a.filing.status.code())
        .bind(ts(self.now()))
        .execute(self.conn())
        .await?;
        self.save_agreement(id, a, "op_agreement.detail").await
    }

    /// Saves an agreement after a move: the onboarding row's term and status follow.
    pub async fn save_agreement(&mut self, id: i64, a: &OperationAgreement, action: &str) -> Result<()> {
        let serial = if a.status != AgreementStatus::Draft {
            let current: Option<i64> = sqlx::query_scalar(
                "SELECT doc_serial FROM operation_agreement_detail WHERE agreement_id = $1",
            )
            .bind(id)
            .fetch_one(self.conn())
            .await?;
            match current {
                Some(s) => Some(s),
                None => Some(next_serial(self, "operation_agreement_detail").await?),
            }
        } else {
            None
        };
        if let Some(term) = a.content.term {
            sqlx::query("UPDATE operation_agreement SET term_start = $1, term_end = $2 WHERE id = $3")
                .bind(term.start.to_string())
                .bind(term.end.to_string())
                .bind(id)
                .execute(self.conn())
                .await?;
        }
        sqlx::query("UPDATE operation_agreement SET status = $1 WHERE id = $2")
            .bind(a.status.code())
            .bind(id)
            .execute(self.conn())
            .await?;
        let f = &a.filing;
        sqlx::query(
            "UPDATE operation_agreement_detail SET selection = $1, agency_decision = $2, content = $3, \
             signed_agency = $4, signed_industry = $5, signed_operator = $6, signed_on = $7, \
             filing_status = $8, filing_trigger = $9, filing_due = $10, filing_provisional = $11, \
             filed_on = $12, doc_serial = COALESCE(doc_serial, $13), terminated_on = $14, \
             termination_reason = $15, updated_at = $16 WHERE agreement_id = $17",
        )
        .bind(a.selection.as_ref().map(|x| selection_json(x).to_string()))
        .bind(a.agency_decision.as_ref().map(|d| decision_json(d).to_string()))
        .bind(agreement_content_json(&a.content).to_string())
        .bind(opt_s(a.signed_by_agency))
        .bind(opt_s(a.signed_by_industry_department))
        .bind(opt_s(a.signed_by_operator))
        .bind(opt_s(a.signed_on))
        .bind(f.status.code())
        .bind(opt_s(f.trigger))
        .bind(opt_s(f.due))
        .bind(i64::from(f.provisional))
        .bind(opt_s(f.filed_on))
        .bind(serial)
        .bind(opt_s(a.terminated_on))
        .bind(&a.termination_reason)
        .bind(ts(self.now()))
        .bind(id)
        .execute(self.conn())
        .await?;
        self.audit(Change::ok(
            action,
            "operation_agreement",
            id,
            json!({"status": a.status.code(), "filing": f.status.code(), "filing_due": opt_s(f.due),
                   "term_end": a.content.term.map(|t| t.end.to_string())}),
        ))
        .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "plans_test.rs"]
mod tests;
