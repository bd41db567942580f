//! Catalogue operations (Art. 5, 15, 18), shared by pages and API: providers describe and grade their
//! resources and apply for registration; the registration body accepts, reviews, announces and codes;
//! data authorities keep the negative list. Each step moves the domain state machine, opens or closes
//! the organisation to-dos it causes (with their working-day deadlines) and audits, in one transaction.

use chrono::NaiveDate;
use serde::Deserialize;
use yunshu_domain::calendar::add_years;
use yunshu_domain::catalog::{
    DataItem, DataItemInput, GovernmentReview, NegativeListEntry, PiFlags, Registration, RegistrationStatus,
    RegistrationType, ResourceInput, ResourceMeta, UseRefusal, query_code, resource_grade, usability,
    yearly_review,
};
use yunshu_domain::party::OrgType;
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::catalog::{NewResource, ResourceFilter, ResourceRecord, ResourceStatus};
use yunshu_store::tasks::{NewTask, Period};

use super::parse_date;
use crate::AppState;
use crate::authz::PolicyResource;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

pub fn resource_policy(r: &ResourceRecord) -> PolicyResource {
    PolicyResource::Resource { id: r.id, org_id: r.provider_org_id, region: r.region }
}

/// Loads a resource the caller may act on with `action` (404 when it does not exist).
pub async fn resource_for(state: &AppState, ctx: &Ctx, id: i64, action: &str) -> AppResult<ResourceRecord> {
    let r = state.store.resource(id).await?;
    ctx.require(state, action, &resource_policy(&r))?;
    // The operator works with what is registered; drafts are the provider's own business.
    if action == "resource.view"
        && ctx.me()?.org.org_type == OrgType::Operator
        && r.status == ResourceStatus::Draft
    {
        return Err(AppError::not_found());
    }
    Ok(r)
}

/// The resources the caller may see, newest first.
pub async fn visible_resources(state: &AppState, ctx: &Ctx) -> AppResult<Vec<ResourceRecord>> {
    let me = ctx.me()?;
    let filter = match me.org.org_type {
        OrgType::DataProvider | OrgType::PublicUtility => {
            ResourceFilter { provider_org_id: Some(me.org.id), ..ResourceFilter::default() }
        }
        OrgType::Operator => ResourceFilter {
            region_prefix: Some(me.org.region.scope_prefix().to_owned()),
            registered_only: true,
            ..ResourceFilter::default()
        },
        _ => ResourceFilter {
            region_prefix: Some(me.org.region.scope_prefix().to_owned()),
            ..ResourceFilter::default()
        },
    };
    let all = state.store.resources(&filter).await?;
    Ok(all.into_iter().filter(|r| ctx.allowed(state, "resource.view", &resource_policy(r))).collect())
}

/// The refusal any data path gives for a resource that may not be used (Art. 15: the negative list
/// overrides everything). Requests, grants, queries and backflow call this before anything else.
pub fn require_usable(r: &ResourceRecord) -> AppResult<()> {
    usability(&r.use_facts())
        .map_err(|refusal: UseRefusal| AppError::conflict(refusal.code(), refusal.label_zh()))
}

/// Raw catalogue metadata (form or JSON).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ResourceForm {
    /// 分类代码, 9 digits 类(1)项(2)目(3)细目(3), e.g. 301001002.
    pub classification: String,
    pub name: String,
    /// 资源摘要.
    pub abstract_text: String,
    /// table | file | api
    #[serde(default)]
    pub format: String,
    /// unconditional | conditional | not_shared
    pub sharing_type: String,
    #[serde(default)]
    pub sharing_conditions: String,
    /// unconditional | conditional | not_open
    #[serde(default)]
    pub open_attribute: String,
    /// realtime | daily | weekly | monthly | quarterly | half_yearly | yearly | irregular
    #[serde(default)]
    pub update_cycle: String,
    /// YYYY-MM-DD, optional.
    #[serde(default)]
    pub release_date: String,
    /// Resource codes of related resources.
    #[serde(default)]
    pub related: String,
}

impl ResourceForm {
    pub fn to_input(&self) -> ResourceInput {
        ResourceInput {
            classification: self.classification.clone(),
            name: self.name.clone(),
            abstract_text: self.abstract_text.clone(),
            format: self.format.clone(),
            sharing_type: self.sharing_type.clone(),
            sharing_conditions: self.sharing_conditions.clone(),
            open_attribute: self.open_attribute.clone(),
            update_cycle: self.update_cycle.clone(),
            release_date: self.release_date.clone(),
            related: self.related.clone(),
        }
    }
}

/// Search words of a resource: from its name, provider, items, classification and abstract, weighted
/// by where they come from. Derived data, rebuilt in the transaction of every change to them.
fn search_terms(meta: &ResourceMeta, items: &[DataItem], provider: &str) -> Vec<(String, i64)> {
    let items: Vec<String> = items.iter().map(|i| format!("{} {}", i.name, i.description)).collect();
    let items = items.join(" ");
    crate::search::index_terms(&[
        (meta.name.as_str(), 3),
        (provider, 2),
        (items.as_str(), 2),
        (meta.classification.class_label_zh(), 1),
        (meta.abstract_text.as_str(), 1),
    ])
}

/// A provider catalogues a new resource of its own.
pub async fn create_resource(state: &AppState, ctx: &Ctx, form: &ResourceForm) -> AppResult<(i64, String)> {
    let me = ctx.me()?;
    let meta = ResourceMeta::parse(&form.to_input())
        .map_err(|e| AppError::invalid(e.field, e.error.code(), e.error.message_zh()))?;
    ctx.require(
        state,
        "resource.manage",
        &PolicyResource::Resource { id: 0, org_id: me.org.id, region: me.org.region },
    )?;
    let new = NewResource {
        provider_org_id: me.org.id,
        region: me.org.region,
        provider_code: me.org.uscc.org_code().to_owned(),
        meta,
    };
    let terms = search_terms(&new.meta, &[], &me.org.name);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let (id, code) = tx.create_resource(&new).await?;
    tx.index_terms(id, &terms).await?;
    tx.commit().await?;
    Ok((id, code.as_str().to_owned()))
}

/// One data item as a form row or a JSON object.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct ItemForm {
    pub name: String,
    /// text | integer | decimal | date | datetime | boolean
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    /// l1 | l2 | l3 | l4 | important | core
    pub grade: String,
    /// 直接标识符.
    #[serde(default)]
    pub direct: bool,
    /// 准标识符.
    #[serde(default)]
    pub quasi: bool,
    /// 敏感个人信息.
    #[serde(default)]
    pub sensitive: bool,
    /// Art. 5 limits: `精准营销:excluded; 普惠金融:restricted`.
    #[serde(default)]
    pub scenario_rules: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ItemsInput {
    pub items: Vec<ItemForm>,
}

/// Replaces a resource's data items and grades. Refused while a registration is in progress (the
/// registration body reviews what was submitted); a registered resource whose items change needs a
/// 变更登记 to bring the registered record up to date.
pub async fn set_items(state: &AppState, ctx: &Ctx, id: i64, items: &[ItemForm]) -> AppResult<()> {
    let r = resource_for(state, ctx, id, "resource.manage").await?;
    let inputs: Vec<DataItemInput> = items
        .iter()
        .filter(|i| !i.name.trim().is_empty())
        .map(|i| DataItemInput {
            name: i.name.clone(),
            kind: i.kind.clone(),
            description: i.description.clone(),
            grade: i.grade.clone(),
            pi: PiFlags { direct: i.direct, quasi: i.quasi, sensitive: i.sensitive },
            scenario_rules: i.scenario_rules.clone(),
        })
        .collect();
    let parsed = DataItem::parse_all(&inputs).map_err(|e| {
        let msg = if e.index > 0 {
            format!("第 {} 行：{}", e.index, e.error.message_zh())
        } else {
            e.error.message_zh()
        };
        AppError::invalid(e.field, e.error.code(), msg)
    })?;
    let regs = state.store.registrations_of_resource(r.id).await?;
    if regs.iter().any(|g| {
        matches!(
            g.registration.status,
            RegistrationStatus::Applied | RegistrationStatus::Accepted | RegistrationStatus::InNotice
        )
    }) {
        return Err(AppError::conflict(
            "resource.in_registration",
            "登记办理中，数据项不能修改；如需修改请先撤回或待退回补正",
        ));
    }
    if r.status == ResourceStatus::Cancelled {
        return Err(AppError::conflict("resource.cancelled", "该资源已注销登记，不能修改"));
    }
    let provider = state.store.org(r.provider_org_id).await?.name;
    let terms = search_terms(&r.meta, &parsed, &provider);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.set_items(r.id, &parsed, resource_grade(&parsed)).await?;
    tx.index_terms(r.id, &terms).await?;
    tx.commit().await?;
    Ok(())
}

/// The registration body that serves a region: the most local active one whose area contains it.
async fn registration_body_for(state: &AppState, r: &ResourceRecord) -> AppResult<i64> {
    super::serving_org(state, OrgType::RegistrationBody, &r.region).await?.map(|o| o.id).ok_or_else(|| {
        AppError::conflict("registration.no_body", "本地区尚未指定登记机构，请联系数据主管部门")
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegistrationInput {
    /// initial | change | correction | cancellation | supplementary
    pub reg_type: String,
    /// 申请说明.
    #[serde(default)]
    pub note: String,
    /// 补充登记 only: the date operation on this resource began (before the measures), YYYY-MM-DD.
    #[serde(default)]
    pub started_before: String,
}

/// A provider applies for registration of its resource.
pub async fn apply_registration(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    input: &RegistrationInput,
) -> AppResult<i64> {
    let r = resource_for(state, ctx, id, "resource.manage").await?;
    let reg_type = RegistrationType::parse(&input.reg_type)
        .ok_or_else(|| AppError::invalid("reg_type", "registration.type", "请选择登记类型"))?;
    if r.items.is_empty() {
        return Err(AppError::conflict("resource.no_items", "请先编目数据项并完成分级，再申请登记"));
    }
    let started_before = match (reg_type, input.started_before.trim()) {
        (RegistrationType::Supplementary, "") => {
            return Err(AppError::invalid(
                "started_before",
                "registration.started_before",
                "补充登记应填写开始运营日期",
            ));
        }
        (RegistrationType::Supplementary, s) => Some(parse_date("started_before", s)?),
        _ => None,
    };
    if started_before.is_some_and(|d| d > ctx.today()) {
        return Err(AppError::invalid(
            "started_before",
            "registration.started_before",
            "开始运营日期不能晚于今天",
        ));
    }
    let regs = state.store.registrations_of_resource(r.id).await?;
    let open = regs.iter().any(|g| g.registration.is_open());
    let reg = Registration::apply(reg_type, r.reg_code.is_some(), open)
        .map_err(|e| AppError::conflict(e.code(), e.message_zh()))?;
    let body = registration_body_for(state, &r).await?;
    let cal = state.store.work_calendar().await?;
    let note: String = input.note.trim().chars().take(1000).collect();
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let reg_id = tx.insert_registration(r.id, &reg, &note, started_before).await?;
    tx.open_task(
        &NewTask {
            org_id: body,
            role: None,
            kind: "registration.accept",
            subject_type: "registration",
            subject_id: reg_id.to_string(),
            title: format!("{}待受理：{}", reg_type.label_zh(), r.meta.name),
            link: format!("/registrations/{reg_id}"),
        },
        Some(Period {
            start: ctx.today(),
            unit: PeriodUnit::WorkingDays,
            amount: state.config.registration_periods.accept,
            cal: &cal,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(reg_id)
}

/// A move on a registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegMove {
    Accept,
    Reject,
    Return,
    Notice,
    Code,
    Resubmit,
    Withdraw,
}

impl RegMove {
    pub fn parse(s: &str) -> Option<RegMove> {
        Some(match s {
            "accept" => RegMove::Accept,
            "reject" => RegMove::Reject,
            "return" => RegMove::Return,
            "notice" => RegMove::Notice,
            "code" => RegMove::Code,
            "resubmit" => RegMove::Resubmit,
            "withdraw" => RegMove::Withdraw,
            _ => return None,
        })
    }

    fn audit_action(self) -> &'static str {
        match self {
            RegMove::Accept => "registration.accept",
            RegMove::Reject => "registration.reject",
            RegMove::Return => "registration.return",
            RegMove::Notice => "registration.notice",
            RegMove::Code => "registration.code",
            RegMove::Resubmit => "registration.resubmit",
            RegMove::Withdraw => "registration.withdraw",
        }
    }

    /// Applicant moves are the provider's; the others the registration body's.
    fn by_applicant(self) -> bool {
        matches!(self, RegMove::Resubmit | RegMove::Withdraw)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RegMoveInput {
    /// Required for reject and return.
    #[serde(default)]
    pub reason: String,
}

/// Acts on a registration: the registration body's accept / reject / return / notice / code, the
/// applicant's resubmit / withdraw.
pub async fn move_registration(
    state: &AppState,
    ctx: &Ctx,
    reg_id: i64,
    mv: RegMove,
    input: &RegMoveInput,
) -> AppResult<()> {
    let mut rec = state.store.registration(reg_id).await?;
    let r = state.store.resource(rec.resource_id).await?;
    let action = if mv.by_applicant() { "resource.manage" } else { "registration.process" };
    ctx.require(state, action, &resource_policy(&r))?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let periods = state.config.registration_periods;
    let reason = input.reason.trim();
    let domain_err = |e: yunshu_domain::catalog::RegistrationError| match e {
        yunshu_domain::catalog::RegistrationError::Reason => {
            AppError::invalid("reason", e.code(), e.message_zh())
        }
        _ => AppError::conflict(e.code(), e.message_zh()),
    };
    // The next to-do, if the move opens one: (org, kind, title, start, unit, amount).
    let mut next: Option<(i64, &'static str, String, NaiveDate, u32)> = None;
    let mut codes: Option<(String, String)> = None;
    let body_org = ctx.me()?.org.id;
    match mv {
        RegMove::Accept => {
            rec.registration.accept().map_err(domain_err)?;
            next = Some((
                body_org,
                "registration.review",
                format!("形式审核：{}", r.meta.name),
                today,
                periods.review,
            ));
        }
        RegMove::Reject => rec.registration.reject(reason).map_err(domain_err)?,
        RegMove::Return => {
            rec.registration.return_for_correction(reason).map_err(domain_err)?;
            next = Some((
                r.provider_org_id,
                "registration.correct",
                format!("登记申请被退回补正：{}", r.meta.name),
                today,
                periods.review,
            ));
        }
        RegMove::Notice => {
            let last = rec.registration.start_notice(today, periods.notice, &cal).map_err(domain_err)?;
            // The code is due on the first working day after the notice ends.
            next = Some((body_org, "registration.code", format!("公示期满待赋码：{}", r.meta.name), last, 1));
        }
        RegMove::Code => {
            rec.registration.assign_code(today).map_err(domain_err)?;
        }
        RegMove::Resubmit => {
            rec.registration.resubmit().map_err(domain_err)?;
            let body = registration_body_for(state, &r).await?;
            next = Some((
                body,
                "registration.accept",
                format!("重新提交待受理：{}", r.meta.name),
                today,
                periods.accept,
            ));
        }
        RegMove::Withdraw => rec.registration.withdraw().map_err(domain_err)?,
    }
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    if mv == RegMove::Code {
        match rec.registration.reg_type {
            RegistrationType::Initial | RegistrationType::Supplementary => {
                let seq = tx.next_counter(&format!("regcode:{}", today.format("%Y"))).await?;
                let code = state.config.registration_code_format.render(
                    r.region.as_str(),
                    chrono::Datelike::year(&today),
                    rec.registration.reg_type,
                    seq,
                );
                let mut random = [0u8; 12];
                getrandom::fill(&mut random).map_err(AppError::internal)?;
                let q = query_code(&random);
                tx.set_registered(
                    r.id,
                    ResourceStatus::Registered,
                    Some((&code, &q, state.config.registration_code_provisional)),
                )
                .await?;
                codes = Some((code, q));
            }
            RegistrationType::Cancellation => {
                tx.set_registered(r.id, ResourceStatus::Cancelled, None).await?;
            }
            RegistrationType::Change | RegistrationType::Correction => {
                tx.set_registered(r.id, ResourceStatus::Registered, None).await?;
            }
        }
    }
    tx.close_tasks("registration", &reg_id.to_string()).await?;
    if let Some((org, kind, title, start, amount)) = next {
        tx.open_task(
            &NewTask {
                org_id: org,
                role: None,
                kind,
                subject_type: "registration",
                subject_id: reg_id.to_string(),
                title,
                link: format!("/registrations/{reg_id}"),
            },
            Some(Period { start, unit: PeriodUnit::WorkingDays, amount, cal: &cal }),
        )
        .await?;
    }
    let reason_opt = if reason.is_empty() { None } else { Some(reason) };
    tx.save_registration(&rec, mv.audit_action(), reason_opt, codes.as_ref().map(|(c, _)| c.as_str()))
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                AppError::conflict("registration.stale", "该登记申请已被他人处理，请刷新后重试")
            }
            other => other.into(),
        })?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NegativeInput {
    /// 列入理由 (at least 10 characters).
    pub reasons: String,
    /// 同级人民政府审核结论.
    pub decision: String,
    /// 审核日期 YYYY-MM-DD.
    pub decided_on: String,
    /// 会议纪要或文件编号.
    pub reference: String,
}

fn review_of(input: &NegativeInput) -> AppResult<GovernmentReview> {
    GovernmentReview::parse(&input.decision, &input.decided_on, &input.reference)
        .map_err(|e| AppError::invalid("decision", e.code(), e.message_zh()))
}

/// A data authority puts a resource on the negative list. From this commit on every use is refused.
pub async fn exclude_resource(state: &AppState, ctx: &Ctx, id: i64, input: &NegativeInput) -> AppResult<i64> {
    let r = resource_for(state, ctx, id, "negative_list.manage").await?;
    if r.on_negative_list {
        return Err(AppError::conflict("negative_list.already", "该资源已在负面清单中"));
    }
    let review = review_of(input)?;
    if review.decided_on > ctx.today() {
        return Err(AppError::invalid("decided_on", "date.future", "审核日期不能晚于今天"));
    }
    let today = ctx.today();
    let entry = NegativeListEntry::new(&input.reasons, review, today)
        .map_err(|e| AppError::invalid("reasons", e.code(), e.message_zh()))?;
    let cal = state.store.work_calendar().await?;
    let me = ctx.me()?;
    let days = u32::try_from((entry.next_review.due - today).num_days()).unwrap_or(365);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let entry_id = tx.add_negative(r.id, me.org.id, &entry).await?;
    tx.open_task(
        &NewTask {
            org_id: me.org.id,
            role: None,
            kind: "negative_list.review",
            subject_type: "negative_list",
            subject_id: entry_id.to_string(),
            title: format!("负面清单年度评估：{}", r.meta.name),
            link: "/negative-list".to_owned(),
        },
        Some(Period { start: today, unit: PeriodUnit::CalendarDays, amount: days, cal: &cal }),
    )
    .await?;
    tx.commit().await?;
    Ok(entry_id)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NegativeReviewInput {
    /// keep | lift
    pub outcome: String,
    /// For lift: reasons (at least 10 characters) and the government review record.
    #[serde(default)]
    pub reasons: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub decided_on: String,
    #[serde(default)]
    pub reference: String,
}

/// The yearly review of an entry: keep it (next review a year on) or lift it (with the government's
/// review record, like the exclusion itself).
pub async fn review_negative(
    state: &AppState,
    ctx: &Ctx,
    entry_id: i64,
    input: &NegativeReviewInput,
) -> AppResult<()> {
    let entry = state.store.negative_entry(entry_id).await?;
    if entry.lifted_on.is_some() {
        return Err(AppError::conflict("negative_list.lifted", "该条目已移出负面清单"));
    }
    let r = resource_for(state, ctx, entry.resource_id, "negative_list.manage").await?;
    let today = ctx.today();
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    tx.close_tasks("negative_list", &entry_id.to_string()).await?;
    match input.outcome.as_str() {
        "keep" => {
            let next = yearly_review(today).due;
            tx.review_negative(&entry, Some(next), None, today).await?;
            let days = u32::try_from((add_years(today, 1) - today).num_days()).unwrap_or(365);
            tx.open_task(
                &NewTask {
                    org_id: ctx.me()?.org.id,
                    role: None,
                    kind: "negative_list.review",
                    subject_type: "negative_list",
                    subject_id: entry_id.to_string(),
                    title: format!("负面清单年度评估：{}", r.meta.name),
                    link: "/negative-list".to_owned(),
                },
                Some(Period { start: today, unit: PeriodUnit::CalendarDays, amount: days, cal: &cal }),
            )
            .await?;
        }
        "lift" => {
            let reasons = input.reasons.trim();
            if reasons.chars().count() < 10 {
                return Err(AppError::invalid("reasons", "catalog.reason", "移出理由不少于 10 个字符"));
            }
            let review = review_of(&NegativeInput {
                reasons: reasons.to_owned(),
                decision: input.decision.clone(),
                decided_on: input.decided_on.clone(),
                reference: input.reference.clone(),
            })?;
            tx.review_negative(&entry, None, Some((reasons, &review)), today).await?;
        }
        _ => return Err(AppError::invalid("outcome", "negative_list.outcome", "请选择评估结论：保留或移出")),
    }
    tx.commit().await?;
    Ok(())
}

/// The public catalogue: registered resources matching a query (all of them for an empty query).
/// Resources holding every word of the query come first (best weight first); when none holds them all,
/// those holding any of the query's words and their parts, ranked by how many they hold.
pub async fn public_search(state: &AppState, q: &str) -> AppResult<Vec<ResourceRecord>> {
    let registered = ResourceFilter { registered_only: true, ..ResourceFilter::default() };
    let all = state.store.resources(&registered).await?;
    let words = crate::search::query_words(q);
    if words.is_empty() {
        return Ok(all);
    }
    let pick = |hits: Vec<(i64, i64, i64)>, need: i64| -> Vec<ResourceRecord> {
        hits.into_iter()
            .filter(|(_, n, _)| *n >= need)
            .filter_map(|(id, _, _)| all.iter().find(|r| r.id == id).cloned())
            .collect()
    };
    let exact = pick(state.store.search_terms(&words).await?, words.len() as i64);
    if !exact.is_empty() {
        return Ok(exact);
    }
    Ok(pick(state.store.search_terms(&crate::search::words(q)).await?, 1))
}
