//! Sweeping the object store of what interrupted imports left behind (issue 12, item 7).
//!
//! An import writes its Parquet into a staging object of its own (`….staging-<pid>-<nanos>-<n>`),
//! which the local store assembles from a part file (`…#<digits>`); a kill -9 during an upload
//! leaves both. A kill between publishing and recording leaves a version object no version record
//! names. None of these is reachable through the platform; the sweep deletes them:
//!
//! - staging and part files untouched for [`STALE`] (an import in progress writes its staging
//!   part at least once per 8 MiB part, so one idle that long belongs to no running import, in
//!   this process or in a `yunshu import` beside it) — at start-up and on every scheduler tick;
//! - published objects under `resources/<id>/` that no version record names, older than
//!   [`STALE`] — at start-up (that is when a crash can have left them).
//!
//! File ages are wall-clock modification times (the file system's clock, not the platform's).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::AppState;
use crate::error::{AppError, AppResult};

/// Idle time after which a staging or orphaned object is swept.
pub const STALE: Duration = Duration::from_secs(15 * 60);

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Staging objects and multipart part files.
    pub staging: usize,
    /// Published objects no version record names.
    pub unreferenced: usize,
}

/// Whether a file name is a staging object or a local multipart part (`name#123`).
fn is_staging(name: &str) -> bool {
    if name.contains(".staging") {
        return true;
    }
    name.rsplit_once('#').is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn stale(path: &Path, now: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age >= STALE))
}

/// Files under `dir`, recursively (the object store's directories are shallow).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Removes stale staging and part files anywhere in the object store.
pub async fn sweep_staging(state: &AppState) -> AppResult<usize> {
    let root = state.objects_dir.clone();
    tokio::task::spawn_blocking(move || {
        let now = SystemTime::now();
        let mut files = Vec::new();
        files_under(&root, &mut files);
        files
            .iter()
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(is_staging))
            .filter(|p| stale(p, now))
            .filter(|p| std::fs::remove_file(p).is_ok())
            .count()
    })
    .await
    .map_err(AppError::internal)
}

/// Removes stale published objects under `resources/<id>/` that no version record names: one
/// query per resource directory present on disk.
pub async fn sweep_unreferenced(state: &AppState) -> AppResult<usize> {
    let resources = state.objects_dir.join("resources");
    let dirs: Vec<(i64, PathBuf)> = std::fs::read_dir(&resources)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| Some((e.file_name().to_str()?.parse::<i64>().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    let now = SystemTime::now();
    let mut removed = 0;
    for (resource_id, dir) in dirs {
        let recorded = state.store.object_paths_of(resource_id).await?;
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if is_staging(&name) || !name.ends_with(".parquet") {
                continue;
            }
            let object = format!("resources/{resource_id}/{name}");
            if !recorded.contains(&object)
                && stale(&entry.path(), now)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Both sweeps (at start-up).
pub async fn sweep_all(state: &AppState) -> AppResult<SweepReport> {
    Ok(SweepReport { staging: sweep_staging(state).await?, unreferenced: sweep_unreferenced(state).await? })
}

#[cfg(test)]
#[path = "sweep_test.rs"]
mod tests;
