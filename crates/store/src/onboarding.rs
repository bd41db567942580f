//! Developer onboarding (Art. 12–13), persisted: scenarios, applications with their uploaded
//! materials, public-notice objections, development agreements, and the operator's own agreement whose
//! end caps theirs. The domain values of [`yunshu_domain::authorization::developer`] are stored by
//! their codes; the review history of an application (supplement requests, review records, condition
//! findings, notices) is one JSON column, the objections and materials have rows of their own (the
//! public lodges objections; files carry bytes). Every write audits itself in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::authorization::developer::{
    Application, ApplicationStatus, AssessmentItem, ConditionCheck, DevAgreementStatus, DevelopmentAgreement,
    Objection, ObjectionDecision, ObjectionOutcome, PublicNotice, QualificationCondition, ReviewMethod,
    ReviewRecord, Scenario, ScenarioAssessment, ScenarioOrigin, ScenarioStatus, SupplementRequest,
};
use yunshu_domain::authorization::material::{Material, MaterialKind};
use yunshu_domain::authorization::operator::{
    AgreementStatus, OperationAgreement, OperatorSelection, SelectionMethod,
};
use yunshu_domain::authorization::{AuthorizationMode, Level, Term};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(parse_date).transpose()
}

fn json_date(v: &Value, key: &str) -> Result<NaiveDate> {
    v[key].as_str().map(parse_date).transpose()?.ok_or_else(|| corrupt(key))
}

fn json_opt_date(v: &Value, key: &str) -> Result<Option<NaiveDate>> {
    v[key].as_str().map(parse_date).transpose()
}

fn json_str(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

/// A stored scenario.
#[derive(Debug, Clone)]
pub struct ScenarioRecord {
    pub id: i64,
    pub scenario: Scenario,
    pub updated_at: DateTime<Utc>,
}

fn assessment_json(a: &ScenarioAssessment) -> Value {
    let item = |i: &AssessmentItem| json!({"passed": i.passed, "reason": i.reason});
    json!({
        "need": item(&a.need),
        "compliance": item(&a.compliance),
        "security_risk": item(&a.security_risk),
        "assessed_on": a.assessed_on.to_string(),
    })
}

fn assessment_from(v: &Value) -> Result<ScenarioAssessment> {
    let item = |k: &str| AssessmentItem {
        passed: v[k]["passed"].as_bool().unwrap_or(false),
        reason: json_str(&v[k], "reason"),
    };
    Ok(ScenarioAssessment {
        need: item("need"),
        compliance: item("compliance"),
        security_risk: item("security_risk"),
        assessed_on: json_date(v, "assessed_on")?,
    })
}

const SCENARIO_COLS: &str = "id, operator_org_id, title, description, origin, proposer_org_id, status, \
     assessment, created_on, updated_at";

fn scenario_from_row(r: &AnyRow) -> Result<ScenarioRecord> {
    let origin: String = r.try_get("origin")?;
    let status: String = r.try_get("status")?;
    let assessment: Option<String> = r.try_get("assessment")?;
    let assessment = match assessment {
        Some(text) => {
            Some(assessment_from(&serde_json::from_str(&text).map_err(|_| corrupt("scenario assessment"))?)?)
        }
        None => None,
    };
    let created_on: String = r.try_get("created_on")?;
    let updated: String = r.try_get("updated_at")?;
    Ok(ScenarioRecord {
        id: r.try_get("id")?,
        scenario: Scenario {
            operator: r.try_get("operator_org_id")?,
            title: r.try_get("title")?,
            description: r.try_get("description")?,
            origin: ScenarioOrigin::parse(&origin).ok_or_else(|| corrupt("scenario origin"))?,
            proposer: r.try_get("proposer_org_id")?,
            status: ScenarioStatus::parse(&status).ok_or_else(|| corrupt("scenario status"))?,
            assessment,
            created_on: parse_date(&created_on)?,
        },
        updated_at: parse_ts(&updated)?,
    })
}

/// A stored material (without its bytes).
#[derive(Debug, Clone)]
pub struct MaterialRecord {
    pub id: i64,
    /// The uploading organisation.
    pub org_id: i64,
    /// `None` until an application or supplement uses it.
    pub application_id: Option<i64>,
    pub material: Material,
    pub uploaded_at: DateTime<Utc>,
}

const MATERIAL_COLS: &str = "id, org_id, application_id, kind, file_name, media_type, size, sm3, uploaded_at";

fn material_from_row(r: &AnyRow) -> Result<MaterialRecord> {
    let kind: String = r.try_get("kind")?;
    let size: i64 = r.try_get("size")?;
    let uploaded: String = r.try_get("uploaded_at")?;
    let material = Material::restore(
        MaterialKind::parse(&kind).ok_or_else(|| corrupt("material kind"))?,
        &r.try_get::<String, _>("file_name")?,
        &r.try_get::<String, _>("media_type")?,
        u64::try_from(size).map_err(|_| corrupt("material size"))?,
        &r.try_get::<String, _>("sm3")?,
    )
    .map_err(|e| corrupt(e.code()))?;
    Ok(MaterialRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        application_id: r.try_get("application_id")?,
        material,
        uploaded_at: parse_ts(&uploaded)?,
    })
}

/// A stored objection, with who lodged it as given.
#[derive(Debug, Clone)]
pub struct ObjectionRecord {
    pub id: i64,
    pub application_id: i64,
    /// Which notice of the application (0-based) and which objection in it.
    pub notice_idx: usize,
    pub idx: usize,
    pub name: String,
    pub contact: String,
    pub objection: Objection,
}

const OBJECTION_COLS: &str = "id, application_id, notice_idx, idx, lodged_on, objector_name, objector_contact, \
     content, outcome, reason, decided_on";

fn objection_from_row(r: &AnyRow) -> Result<ObjectionRecord> {
    let lodged: String = r.try_get("lodged_on")?;
    let outcome: Option<String> = r.try_get("outcome")?;
    let decision = match outcome {
        Some(o) => Some(ObjectionDecision {
            outcome: ObjectionOutcome::parse(&o).ok_or_else(|| corrupt("objection outcome"))?,
            reason: r.try_get::<Option<String>, _>("reason")?.unwrap_or_default(),
            decided_on: opt_date(r.try_get("decided_on")?)?.ok_or_else(|| corrupt("objection decided_on"))?,
        }),
        None => None,
    };
    let name: String = r.try_get("objector_name")?;
    let notice_idx: i64 = r.try_get("notice_idx")?;
    let idx: i64 = r.try_get("idx")?;
    Ok(ObjectionRecord {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        notice_idx: usize::try_from(notice_idx).map_err(|_| corrupt("notice index"))?,
        idx: usize::try_from(idx).map_err(|_| corrupt("objection index"))?,
        contact: r.try_get("objector_contact")?,
        objection: Objection {
            lodged_on: parse_date(&lodged)?,
            by: name.clone(),
            content: r.try_get("content")?,
            decision,
        },
        name,
    })
}

/// A stored application with its materials and objections.
#[derive(Debug, Clone)]
pub struct ApplicationRecord {
    pub id: i64,
    pub application: Application,
    pub materials: Vec<MaterialRecord>,
    pub objections: Vec<ObjectionRecord>,
    /// Optimistic lock: a save is refused when someone else saved since the read.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// The review history as stored (`review_json`).
fn review_json(a: &Application) -> Value {
    json!({
        "supplements": a.supplements.iter().map(|s| json!({
            "what": s.what, "requested_on": s.requested_on.to_string(), "due": s.due.to_string(),
            "provisional": s.provisional, "answered_on": s.answered_on.map(|d| d.to_string()),
        })).collect::<Vec<_>>(),
        "reviews": a.reviews.iter().map(|r| json!({
            "method": r.method.code(), "date": r.date.to_string(), "summary": r.summary,
        })).collect::<Vec<_>>(),
        "checks": a.checks.iter().map(|c| json!({
            "condition": c.condition.code(), "met": c.met, "note": c.note,
        })).collect::<Vec<_>>(),
        "reviewed_on": a.reviewed_on.map(|d| d.to_string()),
        "notices": a.notices.iter().map(|n| json!({
            "start": n.start.to_string(), "end": n.end.to_string(), "provisional": n.provisional,
        })).collect::<Vec<_>>(),
    })
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

const APPLICATION_COLS: &str = "id, scenario_id, operator_org_id, applicant_org_id, status, submitted_on, \
     review_json, rejection_reason, version, updated_at";

fn application_from_row(
    r: &AnyRow,
    materials: Vec<MaterialRecord>,
    objections: Vec<ObjectionRecord>,
) -> Result<ApplicationRecord> {
    let status: String = r.try_get("status")?;
    let submitted: String = r.try_get("submitted_on")?;
    let text: String = r.try_get("review_json")?;
    let v: Value = serde_json::from_str(&text).map_err(|_| corrupt("application review_json"))?;
    let supplements = array(&v, "supplements")
        .iter()
        .map(|s| {
            Ok(SupplementRequest {
                what: json_str(s, "what"),
                requested_on: json_date(s, "requested_on")?,
                due: json_date(s, "due")?,
                provisional: s["provisional"].as_bool().unwrap_or(false),
                answered_on: json_opt_date(s, "answered_on")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let reviews = array(&v, "reviews")
        .iter()
        .map(|x| {
            Ok(ReviewRecord {
                method: ReviewMethod::parse(x["method"].as_str().unwrap_or_default())
                    .ok_or_else(|| corrupt("review method"))?,
                date: json_date(x, "date")?,
                summary: json_str(x, "summary"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let checks = array(&v, "checks")
        .iter()
        .map(|x| {
            Ok(ConditionCheck {
                condition: QualificationCondition::parse(x["condition"].as_str().unwrap_or_default())
                    .ok_or_else(|| corrupt("condition"))?,
                met: x["met"].as_bool().unwrap_or(false),
                note: json_str(x, "note"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let notices = array(&v, "notices")
        .iter()
        .enumerate()
        .map(|(i, x)| {
            Ok(PublicNotice {
                start: json_date(x, "start")?,
                end: json_date(x, "end")?,
                provisional: x["provisional"].as_bool().unwrap_or(false),
                objections: objections
                    .iter()
                    .filter(|o| o.notice_idx == i)
                    .map(|o| o.objection.clone())
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let updated: String = r.try_get("updated_at")?;
    Ok(ApplicationRecord {
        id: r.try_get("id")?,
        application: Application {
            scenario: r.try_get("scenario_id")?,
            operator: r.try_get("operator_org_id")?,
            applicant: r.try_get("applicant_org_id")?,
            submitted_on: parse_date(&submitted)?,
            materials: materials.iter().map(|m| m.material.clone()).collect(),
            status: ApplicationStatus::parse(&status).ok_or_else(|| corrupt("application status"))?,
            supplements,
            reviews,
            checks,
            reviewed_on: json_opt_date(&v, "reviewed_on")?,
            notices,
            rejection_reason: r.try_get("rejection_reason")?,
        },
        materials,
        objections,
        version: r.try_get("version")?,
        updated_at: parse_ts(&updated)?,
    })
}

/// A stored development agreement.
#[derive(Debug, Clone)]
pub struct DevAgreementRecord {
    pub id: i64,
    pub application_id: i64,
    pub agreement: DevelopmentAgreement,
}

const DEV_COLS: &str = "id, application_id, operator_org_id, developer_org_id, scenario_id, term_start, term_end, \
     signed_on, status, ended_on";

fn dev_from_row(r: &AnyRow) -> Result<DevAgreementRecord> {
    let d = |c: &str| -> Result<NaiveDate> { parse_date(&r.try_get::<String, _>(c)?) };
    let status: String = r.try_get("status")?;
    Ok(DevAgreementRecord {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        agreement: DevelopmentAgreement {
            operator: r.try_get("operator_org_id")?,
            developer: r.try_get("developer_org_id")?,
            scenario: r.try_get("scenario_id")?,
            term: Term { start: d("term_start")?, end: d("term_end")? },
            // The exception's justification is kept in the audit record of the signing.
            long_term: None,
            signed_on: d("signed_on")?,
            status: DevAgreementStatus::parse(&status).ok_or_else(|| corrupt("agreement status"))?,
            ended_on: opt_date(r.try_get("ended_on")?)?,
        },
    })
}

/// The operator's own agreement as far as onboarding needs it: parties, term and status. The full
/// operation agreement (its 14 clauses, signatures, filing) is another process's record; this row is
/// what caps the development agreements.
#[derive(Debug, Clone)]
pub struct OperationAgreementRecord {
    pub id: i64,
    pub agency_org_id: i64,
    pub operator_org_id: i64,
    pub term: Term,
    pub status: AgreementStatus,
}

impl OperationAgreementRecord {
    /// The domain value the signing rule reads (operator, status, end).
    pub fn to_domain(&self) -> OperationAgreement {
        OperationAgreement {
            agency: self.agency_org_id,
            level: Level::Province,
            mode: AuthorizationMode::Whole,
            industry_department: None,
            selection: Some(OperatorSelection {
                method: SelectionMethod::PublicTender,
                method_note: String::new(),
                participants: Vec::new(),
                winner: String::new(),
                winner_org: self.operator_org_id,
                decided_on: self.term.start,
            }),
            agency_decision: None,
            content: yunshu_domain::authorization::operator::AgreementContent {
                term: Some(self.term),
                ..Default::default()
            },
            signed_by_agency: None,
            signed_by_industry_department: None,
            signed_by_operator: None,
            status: self.status,
            signed_on: None,
            filing: yunshu_domain::authorization::Filing::NOT_REQUIRED,
            renewals: Vec::new(),
            terminated_on: None,
            termination_reason: String::new(),
        }
    }
}

impl Store {
    pub async fn scenario(&self, id: i64) -> Result<ScenarioRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SCENARIO_COLS} FROM scenario WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        scenario_from_row(&row)
    }

    /// Every scenario, newest first.
    pub async fn scenarios(&self) -> Result<Vec<ScenarioRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SCENARIO_COLS} FROM scenario ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(scenario_from_row).collect()
    }

    pub async fn material(&self, id: i64) -> Result<MaterialRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MATERIAL_COLS} FROM application_material WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        material_from_row(&row)
    }

    /// The bytes of a material.
    pub async fn material_content(&self, id: i64) -> Result<Vec<u8>> {
        sqlx::query_scalar("SELECT content FROM application_material WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn application(&self, id: i64) -> Result<ApplicationRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {APPLICATION_COLS} FROM application WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        self.application_with(&row).await
    }

    async fn application_with(&self, row: &AnyRow) -> Result<ApplicationRecord> {
        let id: i64 = row.try_get("id")?;
        let materials = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MATERIAL_COLS} FROM application_material WHERE application_id = $1 ORDER BY id"
        )))
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(material_from_row)
        .collect::<Result<Vec<_>>>()?;
        let objections = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OBJECTION_COLS} FROM objection WHERE application_id = $1 ORDER BY notice_idx, idx"
        )))
        .bind(id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(objection_from_row)
        .collect::<Result<Vec<_>>>()?;
        application_from_row(row, materials, objections)
    }

    async fn applications_where(
        &self,
        clause: &str,
        bind: Option<&str>,
        org: Option<i64>,
    ) -> Result<Vec<ApplicationRecord>> {
        let sql = format!("SELECT {APPLICATION_COLS} FROM application WHERE {clause} ORDER BY id DESC");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(org) = org {
            q = q.bind(org);
        }
        if let Some(b) = bind {
            q = q.bind(b.to_owned());
        }
        let rows = q.fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.application_with(row).await?);
        }
        Ok(out)
    }

    /// Applications where the organisation is the applicant or the operator, newest first.
    pub async fn applications_of_org(&self, org_id: i64) -> Result<Vec<ApplicationRecord>> {
        self.applications_where("applicant_org_id = $1 OR operator_org_id = $1", None, Some(org_id)).await
    }

    /// Applications in public notice whose notice has started on `today` (the public portal).
    pub async fn applications_in_notice(&self, today: NaiveDate) -> Result<Vec<ApplicationRecord>> {
        self.applications_where("status = 'in_notice' AND notice_start <= $1", Some(&today.to_string()), None)
            .await
    }

    /// Applications awaiting supplement whose last day is before `today` (the lapse scheduler).
    pub async fn applications_overdue(&self, today: NaiveDate) -> Result<Vec<ApplicationRecord>> {
        self.applications_where(
            "status = 'awaiting_supplement' AND supplement_due < $1",
            Some(&today.to_string()),
            None,
        )
        .await
    }

    pub async fn dev_agreement_of_application(
        &self,
        application_id: i64,
    ) -> Result<Option<DevAgreementRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEV_COLS} FROM development_agreement WHERE application_id = $1"
        )))
        .bind(application_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(dev_from_row).transpose()
    }

    /// The development agreements of a developer organisation, newest first.
    pub async fn dev_agreements_of(&self, developer_org_id: i64) -> Result<Vec<DevAgreementRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DEV_COLS} FROM development_agreement WHERE developer_org_id = $1 ORDER BY id DESC"
        )))
        .bind(developer_org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(dev_from_row).collect()
    }

    /// The operator's latest agreement, if any.
    /// The operator's current agreement: the newest signed / in force / renewed one (a new draft
    /// being negotiated must not stand in for it), else the newest of any status.
    pub async fn operation_agreement_of(
        &self,
        operator_org_id: i64,
    ) -> Result<Option<OperationAgreementRecord>> {
        let row = sqlx::query(
            "SELECT id, agency_org_id, operator_org_id, term_start, term_end, status FROM operation_agreement \
             WHERE operator_org_id = $1 \
             ORDER BY CASE WHEN status IN ('signed', 'in_force', 'renewed') THEN 0 ELSE 1 END, id DESC LIMIT 1",
        )
        .bind(operator_org_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let status: String = r.try_get("status")?;
        Ok(Some(OperationAgreementRecord {
            id: r.try_get("id")?,
            agency_org_id: r.try_get("agency_org_id")?,
            operator_org_id: r.try_get("operator_org_id")?,
            term: Term {
                start: parse_date(&r.try_get::<String, _>("term_start")?)?,
                end: parse_date(&r.try_get::<String, _>("term_end")?)?,
            },
            status: AgreementStatus::parse(&status).ok_or_else(|| corrupt("operation agreement status"))?,
        }))
    }
}

impl Tx {
    /// Records the operator's agreement (term and status) that caps development agreements.
    pub async fn insert_operation_agreement(
        &mut self,
        agency_org_id: i64,
        operator_org_id: i64,
        term: Term,
        status: AgreementStatus,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO operation_agreement (agency_org_id, operator_org_id, term_start, term_end, status, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(agency_org_id)
        .bind(operator_org_id)
        .bind(term.start.to_string())
        .bind(term.end.to_string())
        .bind(status.code())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "operation_agreement.record",
            "operation_agreement",
            id,
            json!({"operator_org_id": operator_org_id, "start": term.start.to_string(),
                   "end": term.end.to_string(), "status": status.code()}),
        ))
        .await?;
        Ok(id)
    }

    /// Stores a new scenario; `action` is `scenario.publish` or `scenario.propose`.
    pub async fn insert_scenario(&mut self, s: &Scenario, action: &str) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO scenario (operator_org_id, title, description, origin, proposer_org_id, status, \
             created_on, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(s.operator)
        .bind(&s.title)
        .bind(&s.description)
        .bind(s.origin.code())
        .bind(s.proposer)
        .bind(s.status.code())
        .bind(s.created_on.to_string())
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            action,
            "scenario",
            id,
            json!({"title": s.title, "operator_org_id": s.operator, "proposer_org_id": s.proposer,
                   "status": s.status.code()}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves a scenario after an assessment or closing.
    pub async fn save_scenario(&mut self, id: i64, s: &Scenario, action: &str) -> Result<()> {
        let assessment = s.assessment.as_ref().map(assessment_json);
        sqlx::query("UPDATE scenario SET status = $1, assessment = $2, updated_at = $3 WHERE id = $4")
            .bind(s.status.code())
            .bind(assessment.as_ref().map(Value::to_string))
            .bind(ts(self.now()))
            .bind(id)
            .execute(self.conn())
            .await?;
        self.audit(Change::ok(
            action,
            "scenario",
            id,
            json!({"status": s.status.code(), "assessment": assessment}),
        ))
        .await?;
        Ok(())
    }

    /// Stores an uploaded material of `org_id` (not yet part of an application).
    pub async fn insert_material(&mut self, org_id: i64, m: &Material, content: &[u8]) -> Result<i64> {
        let size = i64::try_from(m.size()).map_err(|_| corrupt("material size"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO application_material (org_id, kind, file_name, media_type, size, sm3, content, \
             uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(org_id)
        .bind(m.kind().code())
        .bind(m.file_name())
        .bind(m.media_type())
        .bind(size)
        .bind(m.sm3_hex())
        .bind(content.to_vec())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "material.upload",
            "material",
            id,
            json!({"kind": m.kind().code(), "file_name": m.file_name(), "media_type": m.media_type(),
                   "size": m.size(), "sm3": m.sm3_hex()}),
        ))
        .await?;
        Ok(id)
    }

    /// Attaches unattached materials of `org_id` to an application; refused (`Conflict`) when one is
    /// someone else's or already used.
    async fn attach_materials(&mut self, application_id: i64, org_id: i64, ids: &[i64]) -> Result<()> {
        for id in ids {
            let done = sqlx::query(
                "UPDATE application_material SET application_id = $1 \
                 WHERE id = $2 AND org_id = $3 AND application_id IS NULL",
            )
            .bind(application_id)
            .bind(id)
            .bind(org_id)
            .execute(self.conn())
            .await?;
            if done.rows_affected() != 1 {
                return Err(StoreError::Conflict("material"));
            }
        }
        Ok(())
    }

    /// Stores a submitted application and attaches its materials (uploaded before by the applicant).
    pub async fn insert_application(&mut self, a: &Application, material_ids: &[i64]) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO application (scenario_id, operator_org_id, applicant_org_id, status, submitted_on, \
             review_json, rejection_reason, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(a.scenario)
        .bind(a.operator)
        .bind(a.applicant)
        .bind(a.status.code())
        .bind(a.submitted_on.to_string())
        .bind(review_json(a).to_string())
        .bind(&a.rejection_reason)
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.attach_materials(id, a.applicant, material_ids).await?;
        self.audit(Change::ok(
            "application.submit",
            "application",
            id,
            json!({"scenario_id": a.scenario, "applicant_org_id": a.applicant, "materials": material_ids}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves an application after a move (status, review history, objection decisions, newly
    /// supplemented materials). Refused with `Conflict` when someone else saved it since `rec` was read.
    pub async fn save_application(
        &mut self,
        rec: &ApplicationRecord,
        a: &Application,
        new_material_ids: &[i64],
        action: &str,
        summary: Value,
    ) -> Result<()> {
        let supplement_due = match a.status {
            ApplicationStatus::AwaitingSupplement => a.supplements.last().map(|s| s.due.to_string()),
            _ => None,
        };
        let notice = a.notices.last();
        let done = sqlx::query(
            "UPDATE application SET status = $1, supplement_due = $2, notice_start = $3, notice_end = $4, \
             review_json = $5, rejection_reason = $6, version = version + 1, updated_at = $7 \
             WHERE id = $8 AND version = $9",
        )
        .bind(a.status.code())
        .bind(supplement_due)
        .bind(notice.map(|n| n.start.to_string()))
        .bind(notice.map(|n| n.end.to_string()))
        .bind(review_json(a).to_string())
        .bind(&a.rejection_reason)
        .bind(ts(self.now()))
        .bind(rec.id)
        .bind(rec.version)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("application"));
        }
        for (ni, n) in a.notices.iter().enumerate() {
            for (oi, o) in n.objections.iter().enumerate() {
                let Some(d) = &o.decision else { continue };
                sqlx::query(
                    "UPDATE objection SET outcome = $1, reason = $2, decided_on = $3 \
                     WHERE application_id = $4 AND notice_idx = $5 AND idx = $6 AND outcome IS NULL",
                )
                .bind(d.outcome.code())
                .bind(&d.reason)
                .bind(d.decided_on.to_string())
                .bind(rec.id)
                .bind(i64::try_from(ni).map_err(|_| corrupt("notice index"))?)
                .bind(i64::try_from(oi).map_err(|_| corrupt("objection index"))?)
                .execute(self.conn())
                .await?;
            }
        }
        self.attach_materials(rec.id, a.applicant, new_material_ids).await?;
        let mut summary = summary;
        if let Some(map) = summary.as_object_mut() {
            map.insert("status".into(), json!(a.status.code()));
        }
        self.audit(Change::ok(action, "application", rec.id, summary)).await?;
        Ok(())
    }

    /// Stores an objection lodged during the current notice (by anyone, possibly anonymously).
    pub async fn insert_objection(
        &mut self,
        application_id: i64,
        notice_idx: usize,
        idx: usize,
        name: &str,
        contact: &str,
        o: &Objection,
    ) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO objection (application_id, notice_idx, idx, lodged_on, objector_name, objector_contact, \
             content, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(application_id)
        .bind(i64::try_from(notice_idx).map_err(|_| corrupt("notice index"))?)
        .bind(i64::try_from(idx).map_err(|_| corrupt("objection index"))?)
        .bind(o.lodged_on.to_string())
        .bind(name)
        .bind(contact)
        .bind(&o.content)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        // The contact is personal information: the audit summary keeps that one was given, not it.
        self.audit(Change::ok(
            "objection.lodge",
            "application",
            application_id,
            json!({"objection_id": id, "name": name, "contact_given": !contact.is_empty(),
                   "content": o.content}),
        ))
        .await?;
        Ok(id)
    }

    /// Stores a signed development agreement.
    pub async fn insert_dev_agreement(
        &mut self,
        application_id: i64,
        d: &DevelopmentAgreement,
    ) -> Result<i64> {
        let long_term = d.long_term.as_ref().map(|l| {
            json!({"justification": l.justification, "approved_by": l.approved_by,
                   "approved_on": l.approved_on.to_string()})
        });
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO development_agreement (application_id, operator_org_id, developer_org_id, scenario_id, \
             term_start, term_end, long_term, signed_on, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(application_id)
        .bind(d.operator)
        .bind(d.developer)
        .bind(d.scenario)
        .bind(d.term.start.to_string())
        .bind(d.term.end.to_string())
        .bind(long_term.as_ref().map(Value::to_string))
        .bind(d.signed_on.to_string())
        .bind(d.status.code())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict("agreement"),
            _ => StoreError::Db(e),
        })?;
        self.audit(Change::ok(
            "agreement.sign",
            "development_agreement",
            id,
            json!({"application_id": application_id, "developer_org_id": d.developer,
                   "scenario_id": d.scenario, "start": d.term.start.to_string(),
                   "end": d.term.end.to_string(), "long_term": long_term}),
        ))
        .await?;
        Ok(id)
    }
}
