//! The resource catalogue (目录), registrations (登记) and the negative list (负面清单), persisted.
//! Domain values are stored by their codes and parsed back on read, so a row that no longer parses is
//! reported as corrupt rather than shown half-right. Every write audits itself in its transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::Row;
use sqlx::any::AnyRow;
use yunshu_domain::catalog::{
    Classification, DataFormat, DataItem, FieldKind, Grade, OpenAttribute, PiFlags, Registration,
    RegistrationStatus, RegistrationType, ResourceCode, ResourceMeta, ScenarioRule, ScenarioRuleKind,
    SharingType, UpdateCycle, UseFacts,
};
use yunshu_domain::regions::RegionCode;

use crate::approvals::parse_date;
use crate::{Change, Result, Store, StoreError, Tx, get_bool, parse_ts, ts};

/// Where a resource stands in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceStatus {
    /// 未登记: described, not yet registered.
    Draft,
    /// 已登记: holds a registration code.
    Registered,
    /// 已注销.
    Cancelled,
}

impl ResourceStatus {
    pub fn code(self) -> &'static str {
        match self {
            ResourceStatus::Draft => "draft",
            ResourceStatus::Registered => "registered",
            ResourceStatus::Cancelled => "cancelled",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            ResourceStatus::Draft => "未登记",
            ResourceStatus::Registered => "已登记",
            ResourceStatus::Cancelled => "已注销",
        }
    }

    pub fn parse(s: &str) -> Result<ResourceStatus> {
        match s {
            "draft" => Ok(ResourceStatus::Draft),
            "registered" => Ok(ResourceStatus::Registered),
            "cancelled" => Ok(ResourceStatus::Cancelled),
            other => Err(StoreError::Corrupt(format!("resource status {other}"))),
        }
    }
}

/// A catalogued resource with its items.
#[derive(Debug, Clone)]
pub struct ResourceRecord {
    pub id: i64,
    pub provider_org_id: i64,
    pub region: RegionCode,
    pub code: ResourceCode,
    pub meta: ResourceMeta,
    pub grade: Option<Grade>,
    pub status: ResourceStatus,
    pub reg_code: Option<String>,
    pub reg_code_provisional: bool,
    pub query_code: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub on_negative_list: bool,
    pub items: Vec<DataItem>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ResourceRecord {
    /// The facts [`yunshu_domain::catalog::usability`] decides on.
    pub fn use_facts(&self) -> UseFacts {
        UseFacts {
            grade: self.grade,
            coded: self.reg_code.is_some(),
            cancelled: self.status == ResourceStatus::Cancelled,
            on_negative_list: self.on_negative_list,
        }
    }
}

/// A new resource, parsed by the caller.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub provider_org_id: i64,
    pub region: RegionCode,
    /// The provider's 组织机构代码, part of the resource code.
    pub provider_code: String,
    pub meta: ResourceMeta,
}

/// Which resources to list.
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    pub provider_org_id: Option<i64>,
    /// Region code prefix (`53`, `5301` …) — the caller's scope.
    pub region_prefix: Option<String>,
    pub registered_only: bool,
    pub ids: Option<Vec<i64>>,
}

const RES_COLS: &str = "id, provider_org_id, region_code, classification, resource_code, name, abstract_text, \
     format, sharing_type, sharing_conditions, open_attribute, update_cycle, release_date, related, grade, status, \
     reg_code, reg_code_provisional, query_code, registered_at, on_negative_list, created_at, updated_at";

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn resource_from_row(r: &AnyRow, items: Vec<DataItem>) -> Result<ResourceRecord> {
    let s = |c: &str| -> Result<String> { Ok(r.try_get::<String, _>(c)?) };
    let classification =
        Classification::parse(&s("classification")?).map_err(|_| corrupt("classification"))?;
    let related = s("related")?
        .split_whitespace()
        .map(ResourceCode::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| corrupt("related resources"))?;
    let release: Option<String> = r.try_get("release_date")?;
    let grade: Option<String> = r.try_get("grade")?;
    let registered: Option<String> = r.try_get("registered_at")?;
    let meta = ResourceMeta {
        classification,
        name: s("name")?,
        abstract_text: s("abstract_text")?,
        format: DataFormat::parse(&s("format")?).ok_or_else(|| corrupt("format"))?,
        sharing_type: SharingType::parse(&s("sharing_type")?).ok_or_else(|| corrupt("sharing type"))?,
        sharing_conditions: s("sharing_conditions")?,
        open_attribute: OpenAttribute::parse(&s("open_attribute")?)
            .ok_or_else(|| corrupt("open attribute"))?,
        update_cycle: UpdateCycle::parse(&s("update_cycle")?).ok_or_else(|| corrupt("update cycle"))?,
        release_date: release.as_deref().map(parse_date).transpose()?,
        related,
    };
    Ok(ResourceRecord {
        id: r.try_get("id")?,
        provider_org_id: r.try_get("provider_org_id")?,
        region: RegionCode::parse(&s("region_code")?).map_err(|_| corrupt("region"))?,
        code: ResourceCode::parse(&s("resource_code")?).map_err(|_| corrupt("resource code"))?,
        meta,
        grade: grade.as_deref().map(|g| Grade::parse(g).ok_or_else(|| corrupt("grade"))).transpose()?,
        status: ResourceStatus::parse(&s("status")?)?,
        reg_code: r.try_get("reg_code")?,
        reg_code_provisional: get_bool(r, "reg_code_provisional")?,
        query_code: r.try_get("query_code")?,
        registered_at: registered.as_deref().map(parse_ts).transpose()?,
        on_negative_list: get_bool(r, "on_negative_list")?,
        items,
        created_at: parse_ts(&s("created_at")?)?,
        updated_at: parse_ts(&s("updated_at")?)?,
    })
}

fn item_from_row(r: &AnyRow) -> Result<DataItem> {
    let kind: String = r.try_get("kind")?;
    let grade: String = r.try_get("grade")?;
    let rules: String = r.try_get("scenario_rules")?;
    let mut scenario_rules = Vec::new();
    for part in rules.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (scenario, kind) = part.split_once(':').ok_or_else(|| corrupt("scenario rule"))?;
        scenario_rules.push(ScenarioRule {
            scenario: scenario.to_owned(),
            kind: ScenarioRuleKind::parse(kind).ok_or_else(|| corrupt("scenario rule kind"))?,
        });
    }
    Ok(DataItem {
        name: r.try_get("name")?,
        kind: FieldKind::parse(&kind).ok_or_else(|| corrupt("item kind"))?,
        description: r.try_get("description")?,
        grade: Grade::parse(&grade).ok_or_else(|| corrupt("item grade"))?,
        pi: PiFlags {
            direct: get_bool(r, "pi_direct")?,
            quasi: get_bool(r, "pi_quasi")?,
            sensitive: get_bool(r, "pi_sensitive")?,
        },
        scenario_rules,
    })
}

/// A registration application as stored.
#[derive(Debug, Clone)]
pub struct RegistrationRecord {
    pub id: i64,
    pub resource_id: i64,
    pub registration: Registration,
    pub applicant_id: i64,
    pub note: String,
    /// For 补充登记: when the operation began (before the measures took effect).
    pub started_before: Option<NaiveDate>,
    pub reg_code: Option<String>,
    pub last_reason: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const REG_COLS: &str = "id, resource_id, reg_type, status, applicant_id, note, started_before, notice_start, \
     notice_end, reg_code, last_reason, version, created_at, updated_at";

pub(crate) fn registration_from_row(r: &AnyRow) -> Result<RegistrationRecord> {
    let t: String = r.try_get("reg_type")?;
    let st: String = r.try_get("status")?;
    let ns: Option<String> = r.try_get("notice_start")?;
    let ne: Option<String> = r.try_get("notice_end")?;
    let notice = match (ns, ne) {
        (Some(a), Some(b)) => Some((parse_date(&a)?, parse_date(&b)?)),
        _ => None,
    };
    let sb: Option<String> = r.try_get("started_before")?;
    let created: String = r.try_get("created_at")?;
    let updated: String = r.try_get("updated_at")?;
    Ok(RegistrationRecord {
        id: r.try_get("id")?,
        resource_id: r.try_get("resource_id")?,
        registration: Registration {
            reg_type: RegistrationType::parse(&t).ok_or_else(|| corrupt("registration type"))?,
            status: RegistrationStatus::parse(&st).ok_or_else(|| corrupt("registration status"))?,
            notice,
        },
        applicant_id: r.try_get("applicant_id")?,
        note: r.try_get("note")?,
        started_before: sb.as_deref().map(parse_date).transpose()?,
        reg_code: r.try_get("reg_code")?,
        last_reason: r.try_get("last_reason")?,
        version: r.try_get("version")?,
        created_at: parse_ts(&created)?,
        updated_at: parse_ts(&updated)?,
    })
}

/// A negative-list entry as stored.
#[derive(Debug, Clone)]
pub struct NegativeRecord {
    pub id: i64,
    pub resource_id: i64,
    pub authority_org_id: i64,
    pub reasons: String,
    pub review_decision: String,
    pub review_date: NaiveDate,
    pub review_ref: String,
    pub listed_on: NaiveDate,
    pub next_review: NaiveDate,
    pub lifted_on: Option<NaiveDate>,
    pub lift_reasons: Option<String>,
}

fn negative_from_row(r: &AnyRow) -> Result<NegativeRecord> {
    let d = |c: &str| -> Result<NaiveDate> { parse_date(&r.try_get::<String, _>(c)?) };
    let lifted: Option<String> = r.try_get("lifted_on")?;
    Ok(NegativeRecord {
        id: r.try_get("id")?,
        resource_id: r.try_get("resource_id")?,
        authority_org_id: r.try_get("authority_org_id")?,
        reasons: r.try_get("reasons")?,
        review_decision: r.try_get("review_decision")?,
        review_date: d("review_date")?,
        review_ref: r.try_get("review_ref")?,
        listed_on: d("listed_on")?,
        next_review: d("next_review")?,
        lifted_on: lifted.as_deref().map(parse_date).transpose()?,
        lift_reasons: r.try_get("lift_reasons")?,
    })
}

const NEG_COLS: &str = "id, resource_id, authority_org_id, reasons, review_decision, review_date, review_ref, \
     listed_on, next_review, lifted_on, lift_reasons";

impl Store {
    async fn items_of(&self, resource_id: i64) -> Result<Vec<DataItem>> {
        let rows = sqlx::query(
            "SELECT name, kind, description, grade, pi_direct, pi_quasi, pi_sensitive, scenario_rules \
             FROM data_item WHERE resource_id = $1 ORDER BY idx",
        )
        .bind(resource_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(item_from_row).collect()
    }

    pub async fn resource(&self, id: i64) -> Result<ResourceRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {RES_COLS} FROM data_resource WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        resource_from_row(&row, self.items_of(id).await?)
    }

    /// A resource by its resource code or its registration code (the command line's `--resource`).
    pub async fn resource_by_code(&self, code: &str) -> Result<ResourceRecord> {
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM data_resource WHERE resource_code = $1 OR reg_code = $1")
                .bind(code.trim())
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        self.resource(id).await
    }

    /// A registered resource by its registration code or its public query code.
    pub async fn resource_by_public_code(&self, code: &str) -> Result<ResourceRecord> {
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM data_resource WHERE status <> 'draft' AND (reg_code = $1 OR query_code = $1)",
        )
        .bind(code.trim())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        self.resource(id).await
    }

    /// Resources matching a filter, without their items (lists), newest first.
    pub async fn resources(&self, f: &ResourceFilter) -> Result<Vec<ResourceRecord>> {
        let mut sql = format!("SELECT {RES_COLS} FROM data_resource WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            n
        };
        if f.provider_org_id.is_some() {
            sql.push_str(&format!(" AND provider_org_id = ${}", next()));
        }
        if f.region_prefix.is_some() {
            sql.push_str(&format!(" AND region_code LIKE ${}", next()));
        }
        if f.registered_only {
            sql.push_str(" AND status = 'registered'");
        }
        sql.push_str(" ORDER BY id DESC");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(p) = f.provider_org_id {
            q = q.bind(p);
        }
        if let Some(prefix) = &f.region_prefix {
            q = q.bind(format!("{prefix}%"));
        }
        let rows = q.fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let rec = resource_from_row(r, Vec::new())?;
            if f.ids.as_ref().is_none_or(|ids| ids.contains(&rec.id)) {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Resources whose index holds any of `terms`: (resource id, distinct terms matched, weight sum),
    /// best first.
    pub async fn search_terms(&self, terms: &[String]) -> Result<Vec<(i64, i64, i64)>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=terms.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT resource_id, COUNT(*) AS hits, CAST(SUM(weight) AS BIGINT) AS score FROM catalog_term \
             WHERE term IN ({}) GROUP BY resource_id ORDER BY hits DESC, score DESC, resource_id DESC",
            placeholders.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for t in terms {
            q = q.bind(t);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("resource_id")?, r.try_get("hits")?, r.try_get("score")?)))
            .collect()
    }

    pub async fn registration(&self, id: i64) -> Result<RegistrationRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REG_COLS} FROM registration WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        registration_from_row(&row)
    }

    pub async fn registrations_of_resource(&self, resource_id: i64) -> Result<Vec<RegistrationRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REG_COLS} FROM registration WHERE resource_id = $1 ORDER BY id DESC"
        )))
        .bind(resource_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(registration_from_row).collect()
    }

    /// All registrations, newest first (the registration body's register).
    pub async fn registrations(&self) -> Result<Vec<RegistrationRecord>> {
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {REG_COLS} FROM registration ORDER BY id DESC")))
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(registration_from_row).collect()
    }

    /// Negative-list entries, current first; `current_only` leaves out lifted ones.
    pub async fn negative_list(&self, current_only: bool) -> Result<Vec<NegativeRecord>> {
        let filter = if current_only { " WHERE lifted_on IS NULL" } else { "" };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NEG_COLS} FROM negative_list{filter} ORDER BY lifted_on IS NOT NULL, next_review, id"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(negative_from_row).collect()
    }

    pub async fn negative_entry(&self, id: i64) -> Result<NegativeRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {NEG_COLS} FROM negative_list WHERE id = $1")))
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        negative_from_row(&row)
    }

    pub async fn negative_entries_of(&self, resource_id: i64) -> Result<Vec<NegativeRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {NEG_COLS} FROM negative_list WHERE resource_id = $1 ORDER BY id DESC"
        )))
        .bind(resource_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(negative_from_row).collect()
    }
}

fn bool_i(b: bool) -> i64 {
    i64::from(b)
}

impl Tx {
    /// The next value of a named counter (resource sequences, registration code sequences).
    ///
    /// One statement on both backends: the upsert takes the row's lock (PostgreSQL) or runs under
    /// the write transaction (SQLite), so concurrent writers get consecutive values instead of a
    /// read-then-write race on the primary key.
    pub async fn next_counter(&mut self, name: &str) -> Result<u64> {
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO counter (name, value) VALUES ($1, 1) \
             ON CONFLICT (name) DO UPDATE SET value = counter.value + 1 RETURNING value",
        )
        .bind(name)
        .fetch_one(self.conn())
        .await?;
        u64::try_from(next).map_err(|_| corrupt("counter"))
    }

    /// The next version number of a resource, taken in the transaction that records the version:
    /// the counter starts above any version already stored (versions recorded before the counter
    /// existed, or copied by backflow) and its row lock orders concurrent imports, so two imports
    /// into one resource get different numbers and a rolled-back import leaves no gap.
    pub async fn next_version_no(&mut self, resource_id: i64) -> Result<i64> {
        let next: i64 = sqlx::query_scalar(
            "INSERT INTO counter (name, value) \
             SELECT $1, COALESCE(MAX(version_no), 0) + 1 FROM dataset_version WHERE resource_id = $2 \
             ON CONFLICT (name) DO UPDATE SET value = counter.value + 1 RETURNING value",
        )
        .bind(format!("version:{resource_id}"))
        .bind(resource_id)
        .fetch_one(self.conn())
        .await?;
        Ok(next)
    }

    /// Catalogues a new resource (status 未登记). Returns its id and resource code.
    pub async fn create_resource(&mut self, r: &NewResource) -> Result<(i64, ResourceCode)> {
        let class = r.meta.classification;
        let seq = self.next_counter(&format!("resource:{}:{}", class.code(), r.provider_code)).await?;
        let seq = u32::try_from(seq).map_err(|_| corrupt("resource sequence"))?;
        let code = ResourceCode::new(&class, &r.provider_code, seq)
            .map_err(|e| StoreError::Corrupt(e.message_zh()))?;
        let now = ts(self.now());
        let m = &r.meta;
        let related: Vec<&str> = m.related.iter().map(|c| c.as_str()).collect();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO data_resource (provider_org_id, region_code, classification, resource_code, name, \
             abstract_text, format, sharing_type, sharing_conditions, open_attribute, update_cycle, release_date, \
             related, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'draft', $14, $14) RETURNING id",
        )
        .bind(r.provider_org_id)
        .bind(r.region.as_str())
        .bind(class.code())
        .bind(code.as_str())
        .bind(&m.name)
        .bind(&m.abstract_text)
        .bind(m.format.code())
        .bind(m.sharing_type.code())
        .bind(&m.sharing_conditions)
        .bind(m.open_attribute.code())
        .bind(m.update_cycle.code())
        .bind(m.release_date.map(|d| d.to_string()))
        .bind(related.join(" "))
        .bind(&now)
        .fetch_one(self.conn())
        .await
        .map_err(|e| StoreError::from_insert(e, "resource"))?;
        self.audit(Change::ok(
            "resource.create",
            "resource",
            id,
            json!({"code": code.as_str(), "name": m.name, "provider_org_id": r.provider_org_id}),
        ))
        .await?;
        Ok((id, code))
    }

    /// Replaces a resource's data items and its grade (the highest of its items).
    pub async fn set_items(
        &mut self,
        resource_id: i64,
        items: &[DataItem],
        grade: Option<Grade>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM data_item WHERE resource_id = $1")
            .bind(resource_id)
            .execute(self.conn())
            .await?;
        for (i, it) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO data_item (resource_id, idx, name, kind, description, grade, pi_direct, pi_quasi, \
                 pi_sensitive, scenario_rules) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(resource_id)
            .bind(i as i64)
            .bind(&it.name)
            .bind(it.kind.code())
            .bind(&it.description)
            .bind(it.grade.code())
            .bind(bool_i(it.pi.direct))
            .bind(bool_i(it.pi.quasi))
            .bind(bool_i(it.pi.sensitive))
            .bind(it.scenario_rules_text())
            .execute(self.conn())
            .await?;
        }
        sqlx::query("UPDATE data_resource SET grade = $1, updated_at = $2 WHERE id = $3")
            .bind(grade.map(|g| g.code()))
            .bind(ts(self.now()))
            .bind(resource_id)
            .execute(self.conn())
            .await?;
        let graded: Vec<serde_json::Value> =
            items.iter().map(|i| json!({"name": i.name, "grade": i.grade.code()})).collect();
        self.audit(Change::ok(
            "resource.set_items",
            "resource",
            resource_id,
            json!({"items": graded, "grade": grade.map(|g| g.code())}),
        ))
        .await?;
        Ok(())
    }

    /// Replaces the search index terms of a resource (not audited: derived data, rebuilt from the record).
    pub async fn index_terms(&mut self, resource_id: i64, terms: &[(String, i64)]) -> Result<()> {
        sqlx::query("DELETE FROM catalog_term WHERE resource_id = $1")
            .bind(resource_id)
            .execute(self.conn())
            .await?;
        for (term, weight) in terms {
            sqlx::query("INSERT INTO catalog_term (resource_id, term, weight) VALUES ($1, $2, $3)")
                .bind(resource_id)
                .bind(term)
                .bind(weight)
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    pub async fn insert_registration(
        &mut self,
        resource_id: i64,
        reg: &Registration,
        note: &str,
        started_before: Option<NaiveDate>,
    ) -> Result<i64> {
        let now = ts(self.now());
        let applicant = self.ctx().user_id.ok_or_else(|| corrupt("registration without applicant"))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO registration (resource_id, reg_type, status, applicant_id, note, started_before, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(resource_id)
        .bind(reg.reg_type.code())
        .bind(reg.status.code())
        .bind(applicant)
        .bind(note)
        .bind(started_before.map(|d| d.to_string()))
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        self.audit(Change::ok(
            "registration.apply",
            "registration",
            id,
            json!({"resource_id": resource_id, "type": reg.reg_type.code(), "comment": note}),
        ))
        .await?;
        Ok(id)
    }

    /// Saves a registration after a move; refused with `Conflict` when someone else moved it since it
    /// was read. `action` names the move in the audit log; `reason` is kept as the last reason given.
    pub async fn save_registration(
        &mut self,
        rec: &RegistrationRecord,
        action: &str,
        reason: Option<&str>,
        reg_code: Option<&str>,
    ) -> Result<()> {
        let (ns, ne) = match rec.registration.notice {
            Some((a, b)) => (Some(a.to_string()), Some(b.to_string())),
            None => (None, None),
        };
        let done = sqlx::query(
            "UPDATE registration SET status = $1, notice_start = $2, notice_end = $3, \
             last_reason = COALESCE($4, last_reason), reg_code = COALESCE($5, reg_code), version = version + 1, \
             updated_at = $6 WHERE id = $7 AND version = $8",
        )
        .bind(rec.registration.status.code())
        .bind(ns)
        .bind(ne)
        .bind(reason)
        .bind(reg_code)
        .bind(ts(self.now()))
        .bind(rec.id)
        .bind(rec.version)
        .execute(self.conn())
        .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict("registration"));
        }
        self.audit(Change::ok(
            action,
            "registration",
            rec.id,
            json!({"status": rec.registration.status.code(), "reason": reason, "reg_code": reg_code}),
        ))
        .await?;
        Ok(())
    }

    /// Gives a resource its registration code and public query code (首次/补充登记), or cancels it
    /// (注销登记). Audited by the registration move that calls it.
    pub async fn set_registered(
        &mut self,
        resource_id: i64,
        status: ResourceStatus,
        codes: Option<(&str, &str, bool)>,
    ) -> Result<()> {
        let now = ts(self.now());
        match codes {
            Some((reg_code, query_code, provisional)) => {
                sqlx::query(
                    "UPDATE data_resource SET status = $1, reg_code = $2, query_code = $3, \
                     reg_code_provisional = $4, registered_at = $5, updated_at = $5 WHERE id = $6",
                )
                .bind(status.code())
                .bind(reg_code)
                .bind(query_code)
                .bind(bool_i(provisional))
                .bind(&now)
                .bind(resource_id)
                .execute(self.conn())
                .await
                .map_err(|e| StoreError::from_insert(e, "registration code"))?;
            }
            None => {
                sqlx::query("UPDATE data_resource SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(status.code())
                    .bind(&now)
                    .bind(resource_id)
                    .execute(self.conn())
                    .await?;
            }
        }
        Ok(())
    }

    /// Puts a resource on the negative list. From this commit on every use check refuses it.
    pub async fn add_negative(
        &mut self,
        resource_id: i64,
        authority_org_id: i64,
        entry: &yunshu_domain::catalog::NegativeListEntry,
    ) -> Result<i64> {
        let now = ts(self.now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO negative_list (resource_id, authority_org_id, reasons, review_decision, review_date, \
             review_ref, listed_on, next_review, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id",
        )
        .bind(resource_id)
        .bind(authority_org_id)
        .bind(&entry.reasons)
        .bind(&entry.review.decision)
        .bind(entry.review.decided_on.to_string())
        .bind(&entry.review.reference)
        .bind(entry.listed_on.to_string())
        .bind(entry.next_review.due.to_string())
        .bind(&now)
        .fetch_one(self.conn())
        .await?;
        sqlx::query("UPDATE data_resource SET on_negative_list = 1, updated_at = $1 WHERE id = $2")
            .bind(&now)
            .bind(resource_id)
            .execute(self.conn())
            .await?;
        // Derived copies (backflow) are quarantined with it.
        let quarantined = self.quarantine_copies(resource_id).await?;
        self.audit(Change::ok(
            "negative_list.add",
            "resource",
            resource_id,
            json!({"entry": id, "reason": entry.reasons, "reference": entry.review.reference,
                   "quarantined_copies": quarantined}),
        ))
        .await?;
        Ok(id)
    }

    /// The yearly review keeps an entry (next review a year on) or lifts it with the government's review.
    pub async fn review_negative(
        &mut self,
        entry: &NegativeRecord,
        keep_until: Option<NaiveDate>,
        lift: Option<(&str, &yunshu_domain::catalog::GovernmentReview)>,
        today: NaiveDate,
    ) -> Result<()> {
        let now = ts(self.now());
        match (keep_until, lift) {
            (Some(next), _) => {
                sqlx::query("UPDATE negative_list SET next_review = $1 WHERE id = $2 AND lifted_on IS NULL")
                    .bind(next.to_string())
                    .bind(entry.id)
                    .execute(self.conn())
                    .await?;
                self.audit(Change::ok(
                    "negative_list.keep",
                    "resource",
                    entry.resource_id,
                    json!({"entry": entry.id, "next_review": next.to_string()}),
                ))
                .await?;
            }
            (None, Some((reasons, review))) => {
                sqlx::query(
                    "UPDATE negative_list SET lifted_on = $1, lift_reasons = $2 WHERE id = $3 AND lifted_on IS NULL",
                )
                .bind(today.to_string())
                .bind(format!("{reasons}（{}，{}）", review.decision, review.reference))
                .bind(entry.id)
                .execute(self.conn())
                .await?;
                let still: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM negative_list WHERE resource_id = $1 AND lifted_on IS NULL",
                )
                .bind(entry.resource_id)
                .fetch_one(self.conn())
                .await?;
                sqlx::query(
                    "UPDATE data_resource SET on_negative_list = $1, updated_at = $2 \
                     WHERE id = $3 OR source_resource_id = $3",
                )
                .bind(i64::from(still > 0))
                .bind(&now)
                .bind(entry.resource_id)
                .execute(self.conn())
                .await?;
                self.audit(Change::ok(
                    "negative_list.lift",
                    "resource",
                    entry.resource_id,
                    json!({"entry": entry.id, "reason": reasons, "reference": review.reference}),
                ))
                .await?;
            }
            (None, None) => return Err(corrupt("negative list review without outcome")),
        }
        Ok(())
    }
}
