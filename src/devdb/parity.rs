//! Database-backed view parity: PostgreSQL is the judge.
//!
//! Database A gets every migration in order; database B gets every migration
//! with its VIEW statements stripped (a migration left empty is skipped), then
//! the generated views file. Both are prepared in parallel, each migration
//! applied as its tool runs it (in one transaction, or statement by
//! statement), the committed ones from a cached base state when there is
//! one (see `super::base`). Then, for every view in either database, the columns
//! (`information_schema.columns`: name, position, data type, udt name) and
//! `pg_get_viewdef` must match.

use crate::rules::view_parity::RULE;
use std::collections::BTreeMap;

use sqlparser::ast::{ObjectType, Statement};

use super::base::{BaseDb, Source};
use crate::error::{Error, Result};
use crate::findings::Finding;
use crate::migrations::TxMode;
use crate::sql::ParsedFile;

/// One SQL file to apply: its repository path, bytes, and how its tool
/// runs it.
pub struct SqlFile {
    pub path: String,
    pub bytes: Vec<u8>,
    pub tx: TxMode,
}

fn is_view_statement(file: &ParsedFile, stmt: &crate::sql::Stmt) -> bool {
    if stmt.ast.is_empty() {
        let text = file.stmt_text(stmt).to_ascii_uppercase();
        let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        return text.starts_with("CREATE VIEW")
            || text.starts_with("CREATE OR REPLACE VIEW")
            || text.starts_with("DROP VIEW");
    }
    stmt.ast.iter().all(|a| {
        matches!(a, Statement::CreateView(_))
            || matches!(
                a,
                Statement::Drop {
                    object_type: ObjectType::View,
                    ..
                }
            )
    })
}

/// The file without its VIEW statements (blanked out, so every other
/// statement keeps its line); `None` when nothing else is left.
fn strip_views(bytes: &[u8]) -> Option<String> {
    let file = ParsedFile::parse(bytes);
    let mut text = file.text.clone().into_bytes();
    let mut kept = 0;
    for s in &file.stmts {
        if is_view_statement(&file, s) {
            // Through the statement's `;`, newlines kept.
            let end = text[s.span.end..]
                .iter()
                .position(|&c| c == b';')
                .map_or(s.span.end, |i| s.span.end + i + 1);
            for c in &mut text[s.span.start..end] {
                if *c != b'\n' {
                    *c = b' ';
                }
            }
        } else {
            kept += 1;
        }
    }
    (kept > 0).then(|| String::from_utf8_lossy(&text).into_owned())
}

/// Applies `sql` (the text of `file`, or a part of it) as the file's tool
/// runs it: in one transaction, or statement by statement (an atlas
/// `txmode none` file with `CREATE INDEX CONCURRENTLY` fails as one
/// query). On failure, finds the statement PostgreSQL refused (re-running a
/// one-transaction file statement by statement in a transaction that is
/// rolled back) and returns a finding naming the file, line and error.
pub(super) fn apply(
    client: &mut postgres::Client,
    file: &SqlFile,
    sql: &str,
    what: &str,
) -> Option<Finding> {
    let path = file.path.as_str();
    let parsed = ParsedFile::parse(sql.as_bytes());
    let stmts = super::trace::statements(&parsed);
    let err = if super::trace::wrapped(file.tx, stmts.len()) {
        client.batch_execute(sql).err()?
    } else {
        let failed = stmts
            .iter()
            .find_map(|(line, text)| client.batch_execute(text).err().map(|e| (*line, e)));
        let (line, e) = failed?;
        let span = parsed
            .stmts
            .iter()
            .find(|s| s.line == line)
            .map_or(0..0, |s| s.span.clone());
        return Some(refusal(path, what, line, span, &message(&e)));
    };
    let mut located = None;
    if client.batch_execute("BEGIN").is_ok() {
        for stmt in &parsed.stmts {
            if let Err(e) = client.batch_execute(parsed.stmt_text(stmt)) {
                located = Some((stmt.line, stmt.span.clone(), message(&e)));
                break;
            }
        }
        let _ = client.batch_execute("ROLLBACK");
    }
    let (line, span, msg) = located.unwrap_or((1, 0..0, message(&err)));
    Some(refusal(path, what, line, span, &msg))
}

/// PostgreSQL's own words, with its DETAIL and HINT lines.
fn message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => {
            let mut m = d.message().to_string();
            if let Some(detail) = d.detail() {
                m.push_str(&format!("\nDETAIL: {detail}"));
            }
            if let Some(hint) = d.hint() {
                m.push_str(&format!("\nHINT: {hint}"));
            }
            m
        }
        None => e.to_string(),
    }
}

fn refusal(
    path: &str,
    what: &str,
    line: usize,
    span: std::ops::Range<usize>,
    msg: &str,
) -> Finding {
    Finding::new(
        RULE.name,
        RULE.default_severity,
        path,
        format!("{what} fails on PostgreSQL at line {line}: {msg}"),
    )
    .at(line, span)
    .label("PostgreSQL refused this statement")
    .help("fix the migration so it applies on an empty database, in order")
}

type Columns = BTreeMap<String, Vec<(i32, String, String, String)>>;

fn catalog(
    client: &mut postgres::Client,
) -> std::result::Result<(Columns, BTreeMap<String, String>), postgres::Error> {
    let mut columns: Columns = BTreeMap::new();
    for row in client.query(
        "SELECT c.table_name::text, c.ordinal_position::int, c.column_name::text, c.data_type::text, c.udt_name::text \
         FROM information_schema.columns c JOIN information_schema.views v USING (table_schema, table_name) \
         WHERE c.table_schema = 'public' ORDER BY 1, 2",
        &[],
    )? {
        columns
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2), row.get(3), row.get(4)));
    }
    let mut defs = BTreeMap::new();
    for row in client.query(
        "SELECT viewname::text, pg_get_viewdef(format('%I.%I', schemaname, viewname)::regclass, true) \
         FROM pg_views WHERE schemaname = 'public'",
        &[],
    )? {
        defs.insert(row.get(0), row.get(1));
    }
    Ok((columns, defs))
}

/// A database that holds `files` (each with the text to apply), the first
/// `stable` of them from a cached base state when there is one (keyed by
/// `tag`, the path and the text), the rest applied; and the finding of the
/// first that fails, after which nothing more is applied.
fn build(
    source: &Source,
    label: &str,
    tag: &str,
    files: &[(&SqlFile, String)],
    stable: usize,
    what: &str,
) -> Result<(BaseDb, postgres::Client, Option<Finding>)> {
    let names: Vec<String> = files[..stable]
        .iter()
        .map(|(f, _)| format!("{tag}{}", f.path))
        .collect();
    let keys = super::base_keys(
        names
            .iter()
            .zip(files)
            .map(|(n, (_, text))| (n.as_str(), text.as_bytes())),
    );
    let mut failed = None;
    let (db, mut client) = super::base::prepare(source, &keys, label, |client, range| {
        failed = files[range]
            .iter()
            .find_map(|(f, text)| apply(client, f, text, what));
        Ok(failed.is_none())
    })?;
    if failed.is_none() {
        failed = files[stable..]
            .iter()
            .find_map(|(f, text)| apply(&mut client, f, text, what));
    }
    Ok((db, client, failed))
}

/// Runs parity: database A gets `migrations`, database B the same with
/// their views left out, then `views` (where the generated views live:
/// findings about a view point at its `CREATE VIEW` there). The first
/// `stable` migrations (the committed ones) come from cached base states
/// where there are some, and their states are cached. Returns the findings
/// and what the summary says about the base states.
pub fn run(
    source: &Source,
    migrations: &[SqlFile],
    stable: usize,
    views: &SqlFile,
) -> Result<(Vec<Finding>, Vec<String>)> {
    let all: Vec<(&SqlFile, String)> = migrations
        .iter()
        .map(|m| (m, String::from_utf8_lossy(&m.bytes).into_owned()))
        .collect();
    let stripped: Vec<(&SqlFile, String)> = migrations
        .iter()
        .filter_map(|m| strip_views(&m.bytes).map(|sql| (m, sql)))
        .collect();
    let stable_b = migrations[..stable]
        .iter()
        .filter(|m| stripped.iter().any(|(s, _)| std::ptr::eq(*s, *m)))
        .count();
    super::trace("prepare databases A and B");
    let (ra, rb) = std::thread::scope(|scope| {
        let ta = scope.spawn(|| {
            let built = build(source, "a", "", &all, stable, "this migration")?;
            super::trace("database A ready");
            Ok(built)
        });
        let tb = scope.spawn(|| -> Result<_> {
            let (db, mut client, failed) = build(
                source,
                "b",
                "views left out: ",
                &stripped,
                stable_b,
                "this migration (views left out)",
            )?;
            let failed = failed.or_else(|| {
                apply(
                    &mut client,
                    views,
                    &String::from_utf8_lossy(&views.bytes),
                    "the generated views file",
                )
            });
            super::trace("database B ready");
            Ok((db, client, failed))
        });
        (
            ta.join()
                .unwrap_or_else(|_| Err(Error::Internal("database A's worker panicked".into()))),
            tb.join()
                .unwrap_or_else(|_| Err(Error::Internal("database B's worker panicked".into()))),
        )
    });
    let ((a, mut client_a, fa), (b, mut client_b, fb)) = (ra?, rb?);
    let notes: Vec<String> = [
        a.note("parity (database A)", "committed migration(s)", stable),
        b.note(
            "parity (database B, views left out)",
            "committed migration(s)",
            stable_b,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    // A migration that fails fails in both databases: report it once.
    if let Some(f) = fa.or(fb) {
        return Ok((vec![f], notes));
    }
    let query_err = |e: postgres::Error| Error::Database(format!("cannot read the catalog: {e}"));
    let (cols_a, defs_a) = catalog(&mut client_a).map_err(query_err)?;
    let (cols_b, defs_b) = catalog(&mut client_b).map_err(query_err)?;
    super::trace("catalogs read");
    // Where each view of views.sql is, for pointing at it.
    let places: BTreeMap<String, (usize, std::ops::Range<usize>)> = {
        let file = ParsedFile::parse(&views.bytes);
        file.stmts
            .iter()
            .flat_map(|s| {
                s.ast.iter().filter_map(move |a| match a {
                    Statement::CreateView(cv) => Some((
                        crate::sql::schema::object_name(&cv.name),
                        (s.line, s.span.clone()),
                    )),
                    _ => None,
                })
            })
            .collect()
    };
    let finding = |view: &str, message: String| {
        let f = Finding::new(RULE.name, RULE.default_severity, &views.path, message).help(
            "add a migration that drops the view and creates it again from the generated file",
        );
        match places.get(view) {
            Some((line, span)) => f.at(*line, span.clone()).label("differs on PostgreSQL"),
            None => f,
        }
    };
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&String> = defs_a.keys().chain(defs_b.keys()).collect();
    for name in names {
        match (defs_a.get(name), defs_b.get(name)) {
            (Some(_), None) => out.push(finding(
                name,
                format!(
                    "view \"{name}\" exists after the migrations but not in {}",
                    views.path
                ),
            )),
            (None, Some(_)) => out.push(finding(
                name,
                format!(
                    "view \"{name}\" is in {} but the migrations never create it",
                    views.path
                ),
            )),
            (Some(da), Some(db)) => {
                let (ca, cb) = (
                    cols_a.get(name).cloned().unwrap_or_default(),
                    cols_b.get(name).cloned().unwrap_or_default(),
                );
                if ca != cb {
                    let i = ca
                        .iter()
                        .zip(&cb)
                        .position(|(x, y)| x != y)
                        .unwrap_or(ca.len().min(cb.len()));
                    let show = |c: Option<&(i32, String, String, String)>| {
                        c.map(|(p, n, t, u)| format!("#{p} {n} {t} ({u})"))
                            .unwrap_or_else(|| "(none)".into())
                    };
                    out.push(finding(
                        name,
                        format!(
                            "view \"{name}\" has other columns on PostgreSQL: the migrations build {}, {} builds {}",
                            show(ca.get(i)),
                            views.path,
                            show(cb.get(i))
                        ),
                    ));
                } else if da != db {
                    out.push(finding(
                        name,
                        format!(
                            "view \"{name}\" has the same columns but another definition on PostgreSQL: the migrations build `{}`, {} builds `{}`",
                            super::one_line(da, 300),
                            views.path,
                            super::one_line(db, 300)
                        ),
                    ));
                }
            }
            (None, None) => {}
        }
    }
    Ok((out, notes))
}
