//! Data-use requests (Art. 20), developer projects, security assessments (Art. 25(3)) and grants
//! (Art. 21, 28), persisted.
//!
//! Each domain value of `yunshu_domain::data_use` is kept in plain columns so that it round-trips
//! exactly: the sandbox rebuilds the whole access chain from these rows before every query. A request
//! row carries its fields (`data_use_field`, with the provider's consent per field) and at most one
//! decision per side (`data_use_decision`); saving a request is refused when it was computed from a
//! stale read (`version`), so two people deciding at once cannot both win. Nothing is deleted: a
//! revoked grant keeps its row with the revocation. Every write audits itself in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::catalog::{Grade, UsageClass};
use yunshu_domain::data_use::{
    Approver, CombinedGrade, Conclusion, DataUseRequest, Decision, FieldRef, Grant, GrantedField, KThreshold,
    Project, ProjectStatus, RequestStatus, RequestedField, Revocation, SecurityAssessment,
};

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(parse_date).transpose()
}

fn class(s: &str) -> Result<UsageClass> {
    UsageClass::parse(s).ok_or_else(|| corrupt("usage class"))
}

/// A stored data-use request.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub id: i64,
    pub request: DataUseRequest,
    /// The data authority that decides for the authority side (the one serving the provider's
    /// region, fixed on submission).
    pub authority_org_id: Option<i64>,
    pub created_by: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A stored developer project.
#[derive(Debug, Clone)]
pub struct ProjectRecord {
    pub id: i64,
    pub project: Project,
    pub created_at: DateTime<Utc>,
}

/// A stored security assessment.
#[derive(Debug, Clone)]
pub struct AssessmentRecord {
    pub id: i64,
    pub assessment: SecurityAssessment,
}

/// A stored grant.
#[derive(Debug, Clone)]
pub struct GrantRecord {
    pub id: i64,
    pub grant: Grant,
    pub granted_by: i64,
}

const REQ_COLS: &str = "id, operator_org_id, provider_org_id, authority_org_id, scenario_id, purpose, row_scope, \
     valid_until, status, submitted_on, created_by, version, created_at, updated_at";
const PROJECT_COLS: &str = "id, developer_org_id, operator_org_id, agreement_id, scenario_id, name, purpose, \
     status, opened_on, closed_on, created_at";
const ASSESSMENT_COLS: &str = "id, operator_org_id, project_id, request_id, risks, measures, conclusion, \
     conditions, assessor_id, assessed_on, valid_until";
const GRANT_COLS: &str = "id, project_id, request_id, assessment_id, row_scope, k, epsilon, granted_on, \
     expires_on, combined_grade, combined_reasons, linked_quasi, granted_by, revoked_by, revoked_on, revoke_reason";

/// `12\t出生日期` lines, the stored form of a list of fields.
fn fields_text(fields: &[FieldRef]) -> String {
    fields.iter().map(|f| format!("{}\t{}", f.resource_id, f.item)).collect::<Vec<_>>().join("\n")
}

fn fields_parse(text: &str) -> Result<Vec<FieldRef>> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (r, item) = l.split_once('\t').ok_or_else(|| corrupt("field list"))?;
            let r: i64 = r.parse().map_err(|_| corrupt("field list"))?;
            Ok(FieldRef::new(r, item))
        })
        .collect()
}

fn conclusion_of(code: &str, conditions: String) -> Result<Conclusion> {
    Ok(match code {
        "pass" => Conclusion::Pass,
        "conditional" => Conclusion::Conditional(conditions),
        "fail" => Conclusion::Fail,
        _ => return Err(corrupt("assessment conclusion")),
    })
}

fn project_from_row(r: &AnyRow) -> Result<ProjectRecord> {
    let status: String = r.try_get("status")?;
    Ok(ProjectRecord {
        id: r.try_get("id")?,
        project: Project {
            developer: r.try_get("developer_org_id")?,
            operator: r.try_get("operator_org_id")?,
            agreement: r.try_get("agreement_id")?,
            scenario: r.try_get("scenario_id")?,
            name: r.try_get("name")?,
            purpose: r.try_get("purpose")?,
            status: ProjectStatus::parse(&status).ok_or_else(|| corrupt("project status"))?,
            opened_on: parse_date(&r.try_get::<String, _>("opened_on")?)?,
            closed_on: opt_date(r.try_get("closed_on")?)?,
        },
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

fn assessment_from_row(r: &AnyRow) -> Result<AssessmentRecord> {
    let code: String = r.try_get("conclusion")?;
    Ok(AssessmentRecord {
        id: r.try_get("id")?,
        assessment: SecurityAssessment {
            operator: r.try_get("operator_org_id")?,
            project: r.try_get("project_id")?,
            request: r.try_get("request_id")?,
            risks: r.try_get("risks")?,
            measures: r.try_get("measures")?,
            conclusion: conclusion_of(&code, r.try_get("conditions")?)?,
            assessor: r.try_get("assessor_id")?,
            assessed_on: parse_date(&r.try_get::<String, _>("assessed_on")?)?,
            valid_until: parse_date(&r.try_get::<String, _>("valid_until")?)?,
        },
    })
}

impl Store {
    async fn request_with(&self, r: &AnyRow) -> Result<RequestRecord> {
        let id: i64 = r.try_get("id")?;
        let rows = sqlx::query(
            "SELECT resource_id, item, usage_class, justification, consent_required, consented \
             FROM data_use_field WHERE request_id = $1 ORDER BY idx",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut fields = Vec::new();
        let mut consent_required = Vec::new();
        let mut consented = Vec::new();
        for f in &rows {
            let line = RequestedField {
                resource_id: f.try_get("resource_id")?,
                item: f.try_get("item")?,
                class: class(&f.try_get::<String, _>("usage_class")?)?,
                justification: f.try_get("justification")?,
            };
            if f.try_get::<i64, _>("consent_required")? != 0 {
                consent_required.push(line.field_ref());
            }
            if f.try_get::<i64, _>("consented")? != 0 {
                consented.push(line.field_ref());
            }
            fields.push(line);
        }
        let decisions = sqlx::query(
            "SELECT side, org_id, user_id, decided_on, approved, reason FROM data_use_decision \
             WHERE request_id = $1",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let mut authority_decision = None;
        let mut provider_decision = None;
        for d in &decisions {
            let side: String = d.try_get("side")?;
            let side = Approver::parse(&side).ok_or_else(|| corrupt("decision side"))?;
            let approved = d.try_get::<i64, _>("approved")? != 0;
            let decision = Decision {
                org: d.try_get("org_id")?,
                user: d.try_get("user_id")?,
                on: parse_date(&d.try_get::<String, _>("decided_on")?)?,
                approved,
                reason: d.try_get("reason")?,
                // The domain records the consent on the provider's approval only.
                consented: if side == Approver::Provider && approved {
                    consented.clone()
                } else {
                    Vec::new()
                },
            };
            match side {
                Approver::Authority => authority_decision = Some(decision),
                Approver::Provider => provider_decision = Some(decision),
            }
        }
        let status: String = r.try_get("status")?;
        Ok(RequestRecord {
            id,
            request: DataUseRequest {
                operator: r.try_get("operator_org_id")?,
                provider: r.try_get("provider_org_id")?,
                scenario: r.try_get("scenario_id")?,
                purpose: r.try_get("purpose")?,
                row_scope: r.try_get("row_scope")?,
                fields,
                valid_until: parse_date(&r.try_get::<String, _>("valid_until")?)?,
                status: RequestStatus::parse(&status).ok_or_else(|| corrupt("request status"))?,
                submitted_on: opt_date(r.try_get("submitted_on")?)?,
                consent_required,
                authority_decision,
                provider_decision,
            },
            authority_org_id: r.try_get("authority_org_id")?,
            created_by: r.try_get("created_by")?,
            version: r.try_get("version")?,
            created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
            updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
        })
    }

    async fn requests_where(&self, clause: &str, bind: Option<i64>) -> Result<Vec<RequestRecord>> {
        let q = format!("SELECT {REQ_COLS} FROM data_use_request {clause} ORDER BY id DESC");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(q));
        if let Some(b) = bind {
            query = query.bind(b);
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.request_with(r).await?);
        }
        Ok(out)
    }

    pub async fn data_use_request(&self, id: i64) -> Result<RequestRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQ_COLS} FROM data_use_request WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        self.request_with(&row).await
    }

    /// Requests an organisation takes part in: as operator, provider or deciding authority.
    pub async fn data_use_requests_of_org(&self, org_id: i64) -> Result<Vec<RequestRecord>> {
        self.requests_where(
            "WHERE operator_org_id = $1 OR provider_org_id = $1 OR authority_org_id = $1",
            Some(org_id),
        )
        .await
    }

    /// Every request (readers filter by the policy).
    pub async fn all_data_use_requests(&self) -> Result<Vec<RequestRecord>> {
        self.requests_where("", None).await
    }

    /// Approved requests whose validity ended before `today` (the scheduler expires them).
    pub async fn data_use_requests_lapsed(&self, today: NaiveDate) -> Result<Vec<RequestRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REQ_COLS} FROM data_use_request WHERE status = 'approved' AND valid_until < $1 ORDER BY id"
        )))
        .bind(today.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.request_with(r).await?);
        }
        Ok(out)
    }

    pub async fn project(&self, id: i64) -> Result<ProjectRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROJECT_COLS} FROM sandbox_project WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        project_from_row(&row)
    }

    /// Projects an organisation takes part in (as developer or as operator), newest first.
    pub async fn projects_of_org(&self, org_id: i64) -> Result<Vec<ProjectRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROJECT_COLS} FROM sandbox_project WHERE developer_org_id = $1 OR operator_org_id = $1 \
             ORDER BY id DESC"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(project_from_row).collect()
    }

    pub async fn all_projects(&self) -> Result<Vec<ProjectRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROJECT_COLS} FROM sandbox_project ORDER BY id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(project_from_row).collect()
    }

    pub async fn assessment(&self, id: i64) -> Result<AssessmentRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSESSMENT_COLS} FROM security_assessment WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        assessment_from_row(&row)
    }

    pub async fn assessments_of_project(&self, project_id: i64) -> Result<Vec<AssessmentRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ASSESSMENT_COLS} FROM security_assessment WHERE project_id = $1 ORDER BY id DESC"
        )))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(assessment_from_row).collect()
    }

    async fn grant_with(&self, r: &AnyRow) -> Result<GrantRecord> {
        let id: i64 = r.try_get("id")?;
        let rows = sqlx::query(
            "SELECT resource_id, item, usage_class FROM sandbox_grant_field WHERE grant_id = $1 ORDER BY idx",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        let fields = rows
            .iter()
            .map(|f| {
                Ok(GrantedField {
                    resource_id: f.try_get("resource_id")?,
                    item: f.try_get("item")?,
                    class: class(&f.try_get::<String, _>("usage_class")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let k: i64 = r.try_get("k")?;
        let k = u32::try_from(k).ok().and_then(|k| KThreshold::new(k).ok()).ok_or_else(|| corrupt("k"))?;
        let epsilon = match r.try_get::<Option<String>, _>("epsilon")? {
            Some(e) => Some(e.parse::<f64>().map_err(|_| corrupt("epsilon"))?),
            None => None,
        };
        let grade: String = r.try_get("combined_grade")?;
        let reasons: String = r.try_get("combined_reasons")?;
        let revoked = match opt_date(r.try_get("revoked_on")?)? {
            Some(on) => Some(Revocation {
                by: r.try_get::<Option<i64>, _>("revoked_by")?.ok_or_else(|| corrupt("revoked_by"))?,
                on,
                reason: r.try_get::<Option<String>, _>("revoke_reason")?.unwrap_or_default(),
            }),
            None => None,
        };
        Ok(GrantRecord {
            id,
            grant: Grant {
                project: r.try_get("project_id")?,
                request: r.try_get("request_id")?,
                assessment: r.try_get("assessment_id")?,
                fields,
                row_scope: r.try_get("row_scope")?,
                k,
                epsilon,
                granted_on: parse_date(&r.try_get::<String, _>("granted_on")?)?,
                expires_on: parse_date(&r.try_get::<String, _>("expires_on")?)?,
                combined: CombinedGrade {
                    grade: Grade::parse(&grade).ok_or_else(|| corrupt("combined grade"))?,
                    reasons: reasons.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect(),
                    linked_quasi: fields_parse(&r.try_get::<String, _>("linked_quasi")?)?,
                },
                revoked,
            },
            granted_by: r.try_get("granted_by")?,
        })
    }

    pub async fn grant(&self, id: i64) -> Result<GrantRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {GRANT_COLS} FROM sandbox_grant WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        self.grant_with(&row).await
    }

    pub async fn grants_of_project(&self, project_id: i64) -> Result<Vec<GrantRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLS} FROM sandbox_grant WHERE project_id = $1 ORDER BY id DESC"
        )))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.grant_with(r).await?);
        }
        Ok(out)
    }
}

impl Tx {
    async fn write_request_parts(&mut self, id: i64, r: &DataUseRequest) -> Result<()> {
        sqlx::query("DELETE FROM data_use_field WHERE request_id = $1").bind(id).execute(self.conn()).await?;
        let consented: Vec<FieldRef> =
            r.provider_decision.as_ref().map(|d| d.consented.clone()).unwrap_or_default();
        for (idx, f) in r.fields.iter().enumerate() {
            let fr = f.field_ref();
            let idx = i64::try_from(idx).map_err(|_| corrupt("field index"))?;
            sqlx::query(
                "INSERT INTO data_use_field (request_id, idx, resource_id, item, usage_class, justification, \
                 consent_required, consented) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(idx)
            .bind(f.resource_id)
            .bind(&f.item)
            .bind(f.class.code())
            .bind(&f.justification)
            .bind(i64::from(r.consent_required.contains(&fr)))
            .bind(i64::from(consented.contains(&fr)))
            .execute(self.conn())
            .await?;
        }
        for (side, d) in
            [(Approver::Authority, &r.authority_decision), (Approver::Provider, &r.provider_decision)]
        {
            let Some(d) = d else { continue };
            // A decision is final: written once, never changed.
            let exists: Option<i64> = sqlx::query_scalar(
                "SELECT org_id FROM data_use_decision WHERE request_id = $1 AND side = $2",
            )
            .bind(id)
            .bind(side.code())
            .fetch_optional(self.conn())
            .await?;
            if exists.is_some() {
                continue;
            }
            sqlx::query(
                "INSERT INTO data_use_decision (request_id, side, org_id, user_id, decided_on, approved, reason, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(side.code())
            .bind(d.org)
            .bind(d.user)
            .bind(d.on.to_string())
            .bind(i64::from(d.approved))
            .bind(&d.reason)
            .bind(ts(self.now()))
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Stores a new (draft) request.
    pub async fn insert_data_use_request(&mut self, r: &DataUseRequest, created_by: i64) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO data_use_request (operator_org_id, provider_org_id, authority_org_id, scenario_id, \
             purpose, row_scope, valid_until, status, submitted_on, created_by, version, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10) RETURNING id",
        )
        .bind(r.operator)
        .bind(r.provider)
        .bind(r.scenario)
        .bind(&r.purpose)
        .bind(&r.row_scope)
        .bind(r.valid_until.to_string())
        .bind(r.status.code())
        .bind(r.submitted_on.map(|d| d.to_string()))
        .bind(created_by)
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.write_request_parts(id, r).await?;
        self.audit(Change::ok(
            "data_use.draft",
            "data_use_request",
            id,
            json!({"provider_org_id": r.provider, "scenario_id": r.scenario, "fields": r.fields.len()}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves a request computed from the read at `version` (a stale read is a conflict) and audits
    /// the move under `action` with `summary`.
    pub async fn save_data_use_request(
        &mut self,
        rec: &RequestRecord,
        r: &DataUseRequest,
        authority_org_id: Option<i64>,
        action: &str,
        summary: serde_json::Value,
    ) -> Result<()> {
        let n = sqlx::query(
            "UPDATE data_use_request SET authority_org_id = $1, purpose = $2, row_scope = $3, valid_until = $4, \
             status = $5, submitted_on = $6, version = version + 1, updated_at = $7 \
             WHERE id = $8 AND version = $9",
        )
        .bind(authority_org_id)
        .bind(&r.purpose)
        .bind(&r.row_scope)
        .bind(r.valid_until.to_string())
        .bind(r.status.code())
        .bind(r.submitted_on.map(|d| d.to_string()))
        .bind(ts(self.now()))
        .bind(rec.id)
        .bind(rec.version)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("data_use_request"));
        }
        self.write_request_parts(rec.id, r).await?;
        self.audit(Change::ok(action, "data_use_request", rec.id, summary)).await?;
        Ok(())
    }

    /// Stores a newly opened project.
    pub async fn insert_project(&mut self, p: &Project) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sandbox_project (developer_org_id, operator_org_id, agreement_id, scenario_id, name, \
             purpose, status, opened_on, closed_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9) RETURNING id",
        )
        .bind(p.developer)
        .bind(p.operator)
        .bind(p.agreement)
        .bind(p.scenario)
        .bind(&p.name)
        .bind(&p.purpose)
        .bind(p.status.code())
        .bind(p.opened_on.to_string())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "project.open",
            "sandbox_project",
            id,
            json!({"name": p.name, "agreement_id": p.agreement, "scenario_id": p.scenario}),
        ))
        .await?;
        Ok(id)
    }

    /// Stores a recorded security assessment (audited on the assessment and on its project).
    pub async fn insert_assessment(&mut self, a: &SecurityAssessment) -> Result<i64> {
        let conditions = match &a.conclusion {
            Conclusion::Conditional(c) => c.clone(),
            _ => String::new(),
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO security_assessment (operator_org_id, project_id, request_id, risks, measures, \
             conclusion, conditions, assessor_id, assessed_on, valid_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(a.operator)
        .bind(a.project)
        .bind(a.request)
        .bind(&a.risks)
        .bind(&a.measures)
        .bind(a.conclusion.code())
        .bind(&conditions)
        .bind(a.assessor)
        .bind(a.assessed_on.to_string())
        .bind(a.valid_until.to_string())
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "assessment.record",
            "sandbox_project",
            a.project,
            json!({"assessment_id": id, "request_id": a.request, "conclusion": a.conclusion.code(),
                   "valid_until": a.valid_until.to_string(),
                   "detail": format!("安全评估 {id}：{}", a.conclusion.label_zh())}),
        ))
        .await?;
        Ok(id)
    }

    /// Stores a grant with its fields.
    pub async fn insert_grant(&mut self, g: &Grant, granted_by: i64) -> Result<i64> {
        let k = i64::from(g.k.get());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sandbox_grant (project_id, request_id, assessment_id, row_scope, k, epsilon, granted_on, \
             expires_on, combined_grade, combined_reasons, linked_quasi, granted_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(g.project)
        .bind(g.request)
        .bind(g.assessment)
        .bind(&g.row_scope)
        .bind(k)
        .bind(g.epsilon.map(|e| e.to_string()))
        .bind(g.granted_on.to_string())
        .bind(g.expires_on.to_string())
        .bind(g.combined.grade.code())
        .bind(g.combined.reasons.join("\n"))
        .bind(fields_text(&g.combined.linked_quasi))
        .bind(granted_by)
        .bind(ts(self.now()))
        .fetch_one(self.conn())
        .await?;
        for (idx, f) in g.fields.iter().enumerate() {
            let idx = i64::try_from(idx).map_err(|_| corrupt("field index"))?;
            sqlx::query(
                "INSERT INTO sandbox_grant_field (grant_id, idx, resource_id, item, usage_class) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(idx)
            .bind(f.resource_id)
            .bind(&f.item)
            .bind(f.class.code())
            .execute(self.conn())
            .await?;
        }
        let fields: Vec<String> =
            g.fields.iter().map(|f| format!("{}:{}:{}", f.resource_id, f.item, f.class.code())).collect();
        self.audit(Change::ok(
            "grant.create",
            "sandbox_project",
            g.project,
            json!({"grant_id": id, "request_id": g.request, "assessment_id": g.assessment, "fields": fields,
                   "k": g.k.get(), "epsilon": g.epsilon, "expires_on": g.expires_on.to_string(),
                   "grade": g.combined.grade.code(), "detail": format!("授权 {id}")}),
        ))
        .await?;
        Ok(id)
    }

    /// Records a revocation (once: a second one is a conflict).
    pub async fn revoke_grant(&mut self, id: i64, project_id: i64, r: &Revocation) -> Result<()> {
        let n = sqlx::query(
            "UPDATE sandbox_grant SET revoked_by = $1, revoked_on = $2, revoke_reason = $3 \
             WHERE id = $4 AND revoked_on IS NULL",
        )
        .bind(r.by)
        .bind(r.on.to_string())
        .bind(&r.reason)
        .bind(id)
        .execute(self.conn())
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict("grant"));
        }
        self.audit(Change::ok(
            "grant.revoke",
            "sandbox_project",
            project_id,
            json!({"grant_id": id, "reason": r.reason}),
        ))
        .await?;
        Ok(())
    }
}
