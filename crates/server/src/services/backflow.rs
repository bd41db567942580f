//! Backflow (回流, Art. 16): a prefecture data authority requests a province-level resource; the
//! provider consents or refuses; on consent the prefecture gets a registered copy in its own scope
//! (metadata, items and the current data version, re-encrypted under a new data key). A resource that
//! may not be used (negative list, core data, unregistered) cannot flow back; copies of a resource
//! later put on the negative list are quarantined with it.

use serde::Deserialize;
use yunshu_domain::party::OrgType;
use yunshu_domain::regions::RegionLevel;
use yunshu_store::StoreError;
use yunshu_store::calendar::PeriodUnit;
use yunshu_store::tasks::{NewTask, Period};

use super::catalog::{require_usable, resource_for};
use crate::AppState;
use crate::context::Ctx;
use crate::error::{AppError, AppResult};

/// Working days the provider has to decide *(configurable later; the measures set none)*.
pub const DECIDE_WORKING_DAYS: u32 = 10;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BackflowInput {
    /// The province-level resource requested.
    pub resource_id: i64,
    /// 用途 (at least 10 characters).
    pub purpose: String,
}

/// A prefecture data authority requests a registered province-level resource.
pub async fn request(state: &AppState, ctx: &Ctx, input: &BackflowInput) -> AppResult<i64> {
    let me = ctx.me()?;
    let prefecture =
        me.org.org_type == OrgType::DataAuthority && me.org.region.level() != RegionLevel::Province;
    if !prefecture {
        return Err(AppError::forbidden());
    }
    let r = state.store.resource(input.resource_id).await?;
    if r.region.level() != RegionLevel::Province {
        return Err(AppError::conflict("backflow.not_provincial", "只能申请省级数据资源回流"));
    }
    require_usable(&r)?;
    let purpose = input.purpose.trim();
    if !(10..=1000).contains(&purpose.chars().count()) {
        return Err(AppError::invalid("purpose", "backflow.purpose", "请说明回流用途（10 至 1000 个字符）"));
    }
    let open = state
        .store
        .backflows()
        .await?
        .into_iter()
        .any(|b| b.resource_id == r.id && b.requesting_org == me.org.id && b.status != "refused");
    if open {
        return Err(AppError::conflict("backflow.duplicate", "本单位已申请或已获得该资源回流"));
    }
    let cal = state.store.work_calendar().await?;
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let id = tx.insert_backflow(r.id, me.org.id, me.user.id, purpose).await?;
    tx.open_task(
        &NewTask {
            org_id: r.provider_org_id,
            role: None,
            kind: "backflow.decide",
            subject_type: "backflow",
            subject_id: id.to_string(),
            title: format!("回流申请待处理：{}（{}）", r.meta.name, me.org.name),
            link: "/backflow".to_owned(),
        },
        Some(Period {
            start: ctx.today(),
            unit: PeriodUnit::WorkingDays,
            amount: DECIDE_WORKING_DAYS,
            cal: &cal,
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DecideInput {
    /// Reasons (required to refuse).
    #[serde(default)]
    pub reason: String,
}

/// The provider consents (the copy is made) or refuses (with reasons).
pub async fn decide(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    consent: bool,
    input: &DecideInput,
) -> AppResult<()> {
    let b = state.store.backflow(id).await?;
    let r = resource_for(state, ctx, b.resource_id, "resource.manage").await?;
    if b.status != "requested" {
        return Err(AppError::conflict("backflow.decided", "该回流申请已处理"));
    }
    let reason = input.reason.trim();
    if !consent && reason.chars().count() < 4 {
        return Err(AppError::invalid("reason", "backflow.reason", "不同意回流应说明理由"));
    }
    if consent {
        // The source may have been excluded since the request.
        require_usable(&r)?;
    }
    let org = state.store.org(b.requesting_org).await?;
    // The current data version, copied before the transaction (object copies cannot roll back; an
    // orphaned copy after a failed commit is deleted below).
    let version = state
        .store
        .versions_of(r.id)
        .await?
        .into_iter()
        .find(|v| v.new.status == yunshu_store::datasets::VersionStatus::Active);
    let mut tx = state.store.begin(ctx.now, &ctx.audit()).await?;
    let copy = if consent {
        let copy = tx.create_copy(&r, org.id, org.uscc.org_code(), org.region.as_str()).await?;
        Some(copy)
    } else {
        None
    };
    let mut copied_object = None;
    if let (Some(copy), Some(v)) = (copy, &version) {
        let from = object_store::path::Path::from(v.new.object_path.as_str());
        let to = object_store::path::Path::from(format!("resources/{copy}/v1.parquet"));
        object_store::ObjectStoreExt::copy(&*state.objects, &from, &to).await.map_err(AppError::internal)?;
        copied_object = Some(to.clone());
        let mut new = v.new.clone();
        new.resource_id = copy;
        new.object_path = to.to_string();
        tx.insert_version(&new).await?;
    }
    tx.decide_backflow(&b, consent, reason, copy).await.map_err(|e| match e {
        StoreError::Conflict(_) => AppError::conflict("backflow.decided", "该回流申请已处理"),
        other => other.into(),
    })?;
    tx.close_tasks("backflow", &id.to_string()).await?;
    tx.notify(
        b.requested_by,
        &format!("{}回流申请：{}", if consent { "同意" } else { "不同意" }, r.meta.name),
        Some("/backflow"),
    )
    .await?;
    if let Err(e) = tx.commit().await {
        if let Some(p) = copied_object {
            let _ = object_store::ObjectStoreExt::delete(&*state.objects, &p).await;
        }
        return Err(e.into());
    }
    Ok(())
}
