//! The demo's blacklist (Art. 21): the operator recorded a reminder interview (提醒约谈) with 滇金普惠
//! last week — a measure with no effect on access, so the demo's development agreement stays usable
//! while the 处置与黑名单 page has a row. Seeded through the same service as the UI, acting as
//! op.clerk at a past time.

use chrono::{DateTime, Duration, Utc};

use super::SeedError;
use crate::AppState;
use crate::context::Ctx;
use crate::services::sanctions::{self as svc, SanctionInput};

/// Seeds the blacklist story unless a sanction exists already.
pub async fn seed_sanctions(state: &AppState, now: DateTime<Utc>) -> Result<(), SeedError> {
    if !state.store.all_sanctions().await?.is_empty() {
        return Ok(());
    }
    let Some(dev) = state.store.user_by_username("fintech.clerk").await? else {
        return Ok(());
    };
    let at = now - Duration::days(7);
    let op = Ctx::console(&state.store, "op.clerk", at, "demo-seed")
        .await
        .map_err(|e| SeedError::Data(e.message))?;
    let input = SanctionInput {
        developer_org_id: dev.org_id,
        kind: "reminder_interview".to_owned(),
        agreement_id: None,
        until: String::new(),
        reason: "开发成果发布前未按要求提交安全评估报告，约谈提醒".to_owned(),
    };
    svc::impose(state, &op, &input).await.map_err(|e| SeedError::Data(format!("sanction: {}", e.message)))?;
    Ok(())
}
