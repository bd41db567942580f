//! Evaluations (Art. 26) and their rectifications, persisted. The parties and the columns the lists
//! and the scheduler query (relation, status, result, rectification due date, overdue flag) are
//! columns; the body of the evaluation (criteria at the time, material requests, scores with their
//! evidence ids, conclusion, rectification) is one JSON column read back into the domain value.
//! Evidence files are rows of `application_material` (the onboarding store of SM3-digested
//! uploads), referenced by id. Every write audits itself in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::authorization::evaluation::{
    Conclusion, Evaluation, EvaluationRelation, EvaluationResult, Evaluator, IndicatorScore, MaterialRequest,
    Rectification,
};
use yunshu_domain::authorization::{EvaluationCriteria, Indicator};
use yunshu_domain::party::OrgType;

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, parse_ts, ts};

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn date(v: &Value, key: &str) -> Result<NaiveDate> {
    v[key].as_str().map(parse_date).transpose()?.ok_or_else(|| corrupt(key))
}

fn opt_date(v: &Value, key: &str) -> Result<Option<NaiveDate>> {
    v[key].as_str().map(parse_date).transpose()
}

fn string(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn number(v: &Value, key: &str) -> Result<u32> {
    v[key].as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| corrupt(key))
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A stored evaluation.
#[derive(Debug, Clone)]
pub struct EvaluationRecord {
    pub id: i64,
    pub evaluation: Evaluation,
    /// The evaluation this one re-evaluates (复评), if any.
    pub reevaluates: Option<i64>,
    /// The day the scheduler flagged the rectification overdue.
    pub overdue_flagged_on: Option<NaiveDate>,
    /// Optimistic lock: a save is refused when someone else saved since the read.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

fn body_json(e: &Evaluation) -> Value {
    json!({
        "criteria": e.criteria.indicators().iter()
            .map(|i| json!({"name": i.name, "weight": i.weight})).collect::<Vec<_>>(),
        "requests": e.requests.iter().map(|r| json!({
            "what": r.what, "requested_on": r.requested_on.to_string(), "due": r.due.to_string(),
            "submitted_on": r.submitted_on.map(|d| d.to_string()), "materials": r.materials,
        })).collect::<Vec<_>>(),
        "scores": e.scores.iter().map(|s| json!({
            "indicator": s.indicator, "weight": s.weight, "score": s.score, "evidence": s.evidence,
        })).collect::<Vec<_>>(),
        "conclusion": e.conclusion.as_ref().map(|c| json!({
            "total_x100": c.total_x100, "band": c.band.code(), "result": c.result.code(),
            "reason": c.reason, "decided_on": c.decided_on.to_string(),
        })),
        "rectification": e.rectification.as_ref().map(|r| json!({
            "ordered_on": r.ordered_on.to_string(), "due": r.due.to_string(), "provisional": r.provisional,
            "plan": r.plan, "plan_submitted_on": r.plan_submitted_on.map(|d| d.to_string()),
            "report": r.report, "completed_on": r.completed_on.map(|d| d.to_string()),
        })),
    })
}

const COLS: &str = "id, relation, evaluator_org_id, evaluator_org_type, appointment, evaluated_org_id, \
     evaluated_org_type, period, opened_on, body_json, reevaluates, overdue_flagged_on, version, updated_at";

fn from_row(r: &AnyRow) -> Result<EvaluationRecord> {
    let relation: String = r.try_get("relation")?;
    let evaluator_type: String = r.try_get("evaluator_org_type")?;
    let evaluated_type: String = r.try_get("evaluated_org_type")?;
    let text: String = r.try_get("body_json")?;
    let v: Value = serde_json::from_str(&text).map_err(|_| corrupt("evaluation body_json"))?;
    let criteria = EvaluationCriteria::new(
        array(&v, "criteria")
            .iter()
            .map(|i| Ok(Indicator { name: string(i, "name"), weight: number(i, "weight")? }))
            .collect::<Result<Vec<_>>>()?,
    )
    .map_err(|_| corrupt("evaluation criteria"))?;
    let requests = array(&v, "requests")
        .iter()
        .map(|x| {
            Ok(MaterialRequest {
                what: string(x, "what"),
                requested_on: date(x, "requested_on")?,
                due: date(x, "due")?,
                submitted_on: opt_date(x, "submitted_on")?,
                materials: strings(x, "materials"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let scores = array(&v, "scores")
        .iter()
        .map(|x| {
            Ok(IndicatorScore {
                indicator: string(x, "indicator"),
                weight: number(x, "weight")?,
                score: number(x, "score")?,
                evidence: strings(x, "evidence"),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let result = |x: &Value, k: &str| {
        EvaluationResult::parse(x[k].as_str().unwrap_or_default()).ok_or_else(|| corrupt("evaluation result"))
    };
    let conclusion = match &v["conclusion"] {
        Value::Null => None,
        c => Some(Conclusion {
            total_x100: number(c, "total_x100")?,
            band: result(c, "band")?,
            result: result(c, "result")?,
            reason: string(c, "reason"),
            decided_on: date(c, "decided_on")?,
        }),
    };
    let rectification = match &v["rectification"] {
        Value::Null => None,
        x => Some(Rectification {
            ordered_on: date(x, "ordered_on")?,
            due: date(x, "due")?,
            provisional: x["provisional"].as_bool().unwrap_or(false),
            plan: string(x, "plan"),
            plan_submitted_on: opt_date(x, "plan_submitted_on")?,
            report: string(x, "report"),
            completed_on: opt_date(x, "completed_on")?,
        }),
    };
    let opened: String = r.try_get("opened_on")?;
    let flagged: Option<String> = r.try_get("overdue_flagged_on")?;
    let updated: String = r.try_get("updated_at")?;
    Ok(EvaluationRecord {
        id: r.try_get("id")?,
        evaluation: Evaluation {
            relation: EvaluationRelation::parse(&relation).ok_or_else(|| corrupt("evaluation relation"))?,
            evaluator: Evaluator {
                org: r.try_get("evaluator_org_id")?,
                org_type: OrgType::parse(&evaluator_type).map_err(|_| corrupt("evaluator org type"))?,
                appointment: r.try_get("appointment")?,
            },
            evaluated: r.try_get("evaluated_org_id")?,
            evaluated_type: OrgType::parse(&evaluated_type).map_err(|_| corrupt("evaluated org type"))?,
            period: r.try_get("period")?,
            opened_on: parse_date(&opened)?,
            criteria,
            requests,
            scores,
            conclusion,
            rectification,
        },
        reevaluates: r.try_get("reevaluates")?,
        overdue_flagged_on: flagged.as_deref().map(parse_date).transpose()?,
        version: r.try_get("version")?,
        updated_at: parse_ts(&updated)?,
    })
}

/// The query columns derived from the domain value.
fn derived(e: &Evaluation) -> (Option<&'static str>, Option<String>, i64) {
    let result = e.result().map(EvaluationResult::code);
    let rect_due = e.rectification.as_ref().map(|r| r.due.to_string());
    let rect_open = i64::from(e.rectification.as_ref().is_some_and(|r| r.completed_on.is_none()));
    (result, rect_due, rect_open)
}

impl Store {
    pub async fn evaluation(&self, id: i64) -> Result<EvaluationRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLS} FROM evaluation WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// Evaluations where the organisation is the evaluator or the evaluated party, newest first.
    pub async fn evaluations_of_org(&self, org_id: i64) -> Result<Vec<EvaluationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM evaluation WHERE evaluator_org_id = $1 OR evaluated_org_id = $1 ORDER BY id DESC"
        )))
        .bind(org_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// All evaluations of one party in one relationship, oldest first (for its standing).
    pub async fn evaluations_of_party(
        &self,
        evaluated_org_id: i64,
        relation: EvaluationRelation,
    ) -> Result<Vec<EvaluationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM evaluation WHERE evaluated_org_id = $1 AND relation = $2 ORDER BY id"
        )))
        .bind(evaluated_org_id)
        .bind(relation.code())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Rectifications not completed whose due date is before `today` and not yet flagged.
    pub async fn rectifications_overdue(&self, today: NaiveDate) -> Result<Vec<EvaluationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM evaluation WHERE rect_open = 1 AND rect_due < $1 \
             AND overdue_flagged_on IS NULL ORDER BY id"
        )))
        .bind(today.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}

impl Tx {
    /// Stores a newly opened evaluation (`reevaluates`: the evaluation it follows up, for a 复评).
    pub async fn insert_evaluation(&mut self, e: &Evaluation, reevaluates: Option<i64>) -> Result<i64> {
        let now = ts(self.now());
        let (result, rect_due, rect_open) = derived(e);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO evaluation (relation, evaluator_org_id, evaluator_org_type, appointment, \
             evaluated_org_id, evaluated_org_type, period, opened_on, status, result, rect_due, rect_open, \
             body_json, reevaluates, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
        )
        .bind(e.relation.code())
        .bind(e.evaluator.org)
        .bind(e.evaluator.org_type.code())
        .bind(&e.evaluator.appointment)
        .bind(e.evaluated)
        .bind(e.evaluated_type.code())
        .bind(&e.period)
        .bind(e.opened_on.to_string())
        .bind(e.status().code())
        .bind(result)
        .bind(rect_due)
        .bind(rect_open)
        .bind(body_json(e).to_string())
        .bind(reevaluates)
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            if reevaluates.is_some() { "evaluation.reevaluate" } else { "evaluation.open" },
            "evaluation",
            id,
            json!({"relation": e.relation.code(), "evaluator_org_id": e.evaluator.org,
                   "evaluated_org_id": e.evaluated, "period": e.period, "reevaluates": reevaluates}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves an evaluation after a move. Refused with `Conflict` when someone else saved it since
    /// `rec` was read.
    pub async fn save_evaluation(
        &mut self,
        rec: &EvaluationRecord,
        e: &Evaluation,
        action: &str,
        summary: Value,
    ) -> Result<()> {
        let (result, rect_due, rect_open) = derived(e);
        let done = sqlx::query(
            "UPDATE evaluation SET status = $1, result = $2, rect_due = $3, rect_open = $4, body_json = $5, \
             version = version + 1, updated_at = $6 WHERE id = $7 AND version = $8",
        )
        .bind(e.status().code())
        .bind(result)
        .bind(rect_due)
        .bind(rect_open)
        .bind(body_json(e).to_string())
        .bind(ts(self.now()))
        .bind(rec.id)
        .bind(rec.version)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("evaluation"));
        }
        let mut summary = summary;
        if let Some(map) = summary.as_object_mut() {
            map.insert("status".into(), json!(e.status().code()));
            map.insert("result".into(), json!(result));
        }
        self.audit(Change::ok(action, "evaluation", rec.id, summary)).await?;
        Ok(())
    }

    /// Flags a rectification overdue (the scheduler), once.
    pub async fn flag_rectification_overdue(
        &mut self,
        rec: &EvaluationRecord,
        today: NaiveDate,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE evaluation SET overdue_flagged_on = $1, updated_at = $2 \
             WHERE id = $3 AND overdue_flagged_on IS NULL AND rect_open = 1",
        )
        .bind(today.to_string())
        .bind(ts(self.now()))
        .bind(rec.id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        let due = rec.evaluation.rectification.as_ref().map(|r| r.due.to_string());
        self.audit(Change::ok("rectification.overdue", "evaluation", rec.id, json!({"due": due}))).await?;
        Ok(true)
    }
}
