//! The team's conventions as a check sees them: the soft-delete column,
//! configured or detected from the tables that exist before the change.

use std::collections::HashSet;
use std::sync::Arc;

use super::{CheckContext, Mode, Side};
use crate::error::Result;
use crate::sql::schema::most_common_soft_delete;

/// The team's soft-delete convention, configured or detected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftDelete {
    /// Whether the soft-delete rules run.
    pub on: bool,
    /// The column, as PostgreSQL stores its name (quoted names keep case).
    pub column: String,
    /// Why, for the summary: "on, 212 of 240 tables have deleted_at".
    pub reason: String,
}

impl CheckContext<'_> {
    /// The soft-delete convention: configured (`conventions.soft_delete`,
    /// `conventions.soft_delete_column`), else detected from the tables that
    /// exist before the change: on when at least three quarters of them carry
    /// one soft-delete column (or, with no table yet, of the ent schemas). The
    /// summary says which and why.
    pub fn soft_delete(&self) -> Result<Arc<SoftDelete>> {
        if let Some(hit) = self.soft_delete.get() {
            return Ok(hit.clone());
        }
        let conv = Arc::new(self.compute_soft_delete()?);
        self.note(format!(
            "soft-delete convention in {}: {}",
            self.cs.dir_shown(),
            conv.reason
        ));
        Ok(self.soft_delete.get_or_init(|| conv).clone())
    }

    fn compute_soft_delete(&self) -> Result<SoftDelete> {
        let c = &self.settings.config.conventions;
        let column = c.soft_delete_column.clone();
        match (c.soft_delete, &column) {
            (Some(false), _) => {
                return Ok(SoftDelete {
                    on: false,
                    column: column.unwrap_or_else(|| "deleted_at".into()),
                    reason: "off (conventions.soft_delete: false)".into(),
                })
            }
            (Some(true), _) | (None, Some(_)) => {
                let column = column.unwrap_or_else(|| "deleted_at".into());
                return Ok(SoftDelete {
                    reason: format!("on, column {column} (configured)"),
                    on: true,
                    column,
                });
            }
            (None, None) => {}
        }
        // Tables that exist before the change: every table the replay ends
        // with, less those the change's new migrations create.
        let replay = self.replay()?;
        let new: HashSet<String> = self.cs.new_migrations().iter().cloned().collect();
        let created_by_change: HashSet<&str> = replay
            .events
            .iter()
            .filter_map(|e| match e {
                crate::sql::Event::TableCreated { table, origin }
                    if self.cs.mode != Mode::All && new.contains(&origin.path) =>
                {
                    Some(table.as_str())
                }
                _ => None,
            })
            .collect();
        let exempt = self.exempt_tables();
        let tables: Vec<&crate::sql::schema::Table> = replay
            .schema
            .tables
            .iter()
            .filter(|(name, t)| {
                !created_by_change.contains(name.as_str())
                    && !exempt.is_match(name.as_str())
                    && !t.is_join_table()
            })
            .map(|(_, t)| t)
            .collect();
        let (what, total, best) = if !tables.is_empty() {
            let best =
                most_common_soft_delete(&tables, |t, col| t.columns.iter().any(|c| c == col));
            ("tables", tables.len(), best)
        } else if let Some(world) = self.ent_world(Side::Created)? {
            // No table yet: the ent schemas, own fields and mixins'.
            let schemas: Vec<_> = world
                .schema_names()
                .into_iter()
                .filter_map(|n| world.schema(&n))
                .filter(|s| s.kind == crate::ent::Kind::Schema)
                .collect();
            let best = most_common_soft_delete(&schemas, |s, col| s.fields.contains(col));
            ("ent schemas", schemas.len(), best)
        } else {
            ("tables", 0, None)
        };
        let before = if self.cs.mode == Mode::All {
            ""
        } else {
            " before this change"
        };
        Ok(match best {
            Some((n, col)) if crate::sql::schema::is_soft_delete_convention(n, total) => SoftDelete {
                on: true,
                column: col.to_string(),
                reason: format!("on, {n} of {total} {what}{before} have {col} (detected)"),
            },
            Some((n, col)) if total > 0 && n > 0 => SoftDelete {
                on: false,
                column: col.to_string(),
                reason: format!(
                    "off, only {n} of {total} {what}{before} have {col} (detected: the convention needs three quarters; conventions.soft_delete: true enforces it)"
                ),
            },
            None if total > 0 => SoftDelete {
                on: false,
                column: "deleted_at".into(),
                reason: format!("off, none of the {total} {what}{before} has a soft-delete column (detected)"),
            },
            _ => SoftDelete {
                on: false,
                column: "deleted_at".into(),
                reason: format!("off, no table read{before} to detect it from (conventions.soft_delete: true enforces it)"),
            },
        })
    }
}
