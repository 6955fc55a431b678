//! Normalising view definitions so that two spellings of the same view compare
//! equal: whitespace and keyword case (sqlparser prints one canonical form),
//! quotes around identifiers that need none, `x AS x` self-aliases, `::type`
//! versus `CAST(... AS type)`, redundant parentheses and trailing semicolons.

use std::ops::ControlFlow;

use sqlparser::ast::{CastKind, Expr, Ident, Query, SelectItem, SetExpr, VisitMut, VisitorMut};

/// PostgreSQL folds unquoted identifiers to lower case; a quoted identifier
/// that is already lower case and plain is the same name without its quotes.
pub fn ident_name(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

fn plain(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
}

struct Normalizer;

impl VisitorMut for Normalizer {
    type Break = ();

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        match expr {
            Expr::Cast { kind, .. } if *kind == CastKind::DoubleColon => *kind = CastKind::Cast,
            Expr::Nested(inner)
                if matches!(
                    **inner,
                    Expr::Identifier(_)
                        | Expr::CompoundIdentifier(_)
                        | Expr::Value(_)
                        | Expr::Function(_)
                        | Expr::Nested(_)
                        | Expr::Cast { .. }
                        | Expr::IsNull(_)
                        | Expr::IsNotNull(_)
                ) =>
            {
                let inner = std::mem::replace(
                    &mut **inner,
                    Expr::Value(sqlparser::ast::Value::Null.into()),
                );
                *expr = inner;
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

fn normalize_ident(i: &mut Ident) {
    let name = ident_name(i);
    if plain(&name) {
        i.value = name;
        i.quote_style = None;
    }
}

fn walk_idents_expr(e: &mut Expr) {
    match e {
        Expr::Identifier(i) => normalize_ident(i),
        Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(normalize_ident),
        _ => {}
    }
}

struct Idents;

impl VisitorMut for Idents {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        walk_idents_expr(expr);
        ControlFlow::Continue(())
    }
    fn pre_visit_relation(&mut self, relation: &mut sqlparser::ast::ObjectName) -> ControlFlow<()> {
        for part in &mut relation.0 {
            if let sqlparser::ast::ObjectNamePart::Identifier(i) = part {
                normalize_ident(i);
            }
        }
        ControlFlow::Continue(())
    }
}

fn self_aliases(set: &mut SetExpr) {
    match set {
        SetExpr::Select(select) => {
            for item in &mut select.projection {
                if let SelectItem::ExprWithAlias { expr, alias } = item {
                    normalize_ident(alias);
                    let same = match expr {
                        Expr::Identifier(i) => ident_name(i) == ident_name(alias),
                        Expr::CompoundIdentifier(parts) => parts
                            .last()
                            .is_some_and(|i| ident_name(i) == ident_name(alias)),
                        _ => false,
                    };
                    if same {
                        *item = SelectItem::UnnamedExpr(expr.clone());
                    }
                }
            }
            if let Some(Expr::Nested(inner)) = &mut select.selection {
                let inner = std::mem::replace(
                    &mut **inner,
                    Expr::Value(sqlparser::ast::Value::Null.into()),
                );
                select.selection = Some(inner);
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            self_aliases(left);
            self_aliases(right);
        }
        SetExpr::Query(q) => self_aliases(&mut q.body),
        _ => {}
    }
}

/// The normalised form of a view's query.
pub fn normalize_query(query: &Query) -> Query {
    let mut q = query.clone();
    let _ = q.visit(&mut Idents);
    let _ = q.visit(&mut Normalizer);
    self_aliases(&mut q.body);
    q
}

/// The output column names of a query (from its first SELECT, as PostgreSQL
/// names a UNION's columns).
pub fn output_columns(set: &SetExpr) -> Vec<String> {
    match set {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => ident_name(alias),
                SelectItem::UnnamedExpr(Expr::Identifier(i)) => ident_name(i),
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => {
                    parts.last().map(ident_name).unwrap_or_default()
                }
                other => other.to_string(),
            })
            .collect(),
        SetExpr::SetOperation { left, .. } => output_columns(left),
        SetExpr::Query(q) => output_columns(&q.body),
        _ => Vec::new(),
    }
}

/// The first clause where two normalised queries differ, described for a
/// message: which clause (or which output column), and both texts.
pub fn first_difference(a: &Query, b: &Query) -> Option<(String, String, String)> {
    if a.to_string() == b.to_string() {
        return None;
    }
    let names = output_columns(&a.body);
    if let Some(d) = set_difference(&a.body, &b.body, &names, "") {
        return Some(d);
    }
    for (label, x, y) in [
        (
            "ORDER BY",
            a.order_by.as_ref().map(|o| o.to_string()),
            b.order_by.as_ref().map(|o| o.to_string()),
        ),
        (
            "LIMIT",
            a.limit_clause.as_ref().map(|o| o.to_string()),
            b.limit_clause.as_ref().map(|o| o.to_string()),
        ),
        (
            "WITH",
            a.with.as_ref().map(|o| o.to_string()),
            b.with.as_ref().map(|o| o.to_string()),
        ),
    ] {
        if x != y {
            return Some((
                label.to_string(),
                x.unwrap_or_default(),
                y.unwrap_or_default(),
            ));
        }
    }
    Some(("definition".into(), a.to_string(), b.to_string()))
}

fn set_difference(
    a: &SetExpr,
    b: &SetExpr,
    names: &[String],
    branch: &str,
) -> Option<(String, String, String)> {
    match (a, b) {
        (SetExpr::Select(x), SetExpr::Select(y)) => {
            let n = x.projection.len().max(y.projection.len());
            for i in 0..n {
                let (p, q) = (x.projection.get(i), y.projection.get(i));
                if p.map(ToString::to_string) != q.map(ToString::to_string) {
                    let name = names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", i + 1));
                    return Some((
                        format!("{branch}column {} (\"{name}\")", i + 1),
                        p.map(ToString::to_string)
                            .unwrap_or_else(|| "(none)".into()),
                        q.map(ToString::to_string)
                            .unwrap_or_else(|| "(none)".into()),
                    ));
                }
            }
            let clauses: [(&str, Option<String>, Option<String>); 4] = [
                ("FROM", Some(join(&x.from)), Some(join(&y.from))),
                (
                    "WHERE",
                    x.selection.as_ref().map(|e| e.to_string()),
                    y.selection.as_ref().map(|e| e.to_string()),
                ),
                (
                    "GROUP BY",
                    Some(x.group_by.to_string()),
                    Some(y.group_by.to_string()),
                ),
                (
                    "HAVING",
                    x.having.as_ref().map(|e| e.to_string()),
                    y.having.as_ref().map(|e| e.to_string()),
                ),
            ];
            for (label, p, q) in clauses {
                if p != q {
                    return Some((
                        format!("{branch}{label}"),
                        p.unwrap_or_default(),
                        q.unwrap_or_default(),
                    ));
                }
            }
            None
        }
        (
            SetExpr::SetOperation {
                left: l1,
                right: r1,
                op: o1,
                ..
            },
            SetExpr::SetOperation {
                left: l2,
                right: r2,
                op: o2,
                ..
            },
        ) => {
            if o1 != o2 {
                return Some(("set operation".into(), o1.to_string(), o2.to_string()));
            }
            set_difference(l1, l2, names, branch).or_else(|| {
                let depth = branch.matches("branch").count() + 2;
                set_difference(
                    r1,
                    r2,
                    names,
                    &format!("{branch}branch {depth} of the UNION: "),
                )
            })
        }
        _ => Some(("query shape".into(), a.to_string(), b.to_string())),
    }
}

fn join(from: &[sqlparser::ast::TableWithJoins]) -> String {
    from.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn q(sql: &str) -> Query {
        match Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .unwrap()
            .remove(0)
        {
            sqlparser::ast::Statement::Query(q) => *q,
            other => panic!("{other}"),
        }
    }

    fn same(a: &str, b: &str) -> bool {
        normalize_query(&q(a)).to_string() == normalize_query(&q(b)).to_string()
    }

    #[test]
    fn spellings_of_the_same_view_are_equal() {
        assert!(same(
            "SELECT \"id\", \"name\" FROM \"t\"",
            "select id,\n  name from t;"
        ));
        assert!(same("SELECT \"a\" AS \"a\" FROM t", "SELECT a FROM t"));
        assert!(same("SELECT t.\"a\" AS \"a\" FROM t", "SELECT t.a FROM t"));
        assert!(same(
            "SELECT NULL::timestamptz AS x FROM t",
            "SELECT CAST(NULL AS timestamptz) AS x FROM t"
        ));
        assert!(same(
            "SELECT (a) FROM t WHERE (deleted_at IS NULL)",
            "SELECT a FROM t WHERE deleted_at IS NULL"
        ));
        assert!(same("SELECT Name FROM T", "SELECT name FROM t"));
    }

    #[test]
    fn real_differences_stay() {
        assert!(!same("SELECT \"Name\" FROM t", "SELECT name FROM t"));
        assert!(!same("SELECT a AS b FROM t", "SELECT a FROM t"));
        assert!(!same(
            "SELECT (a + b) * c FROM t",
            "SELECT a + b * c FROM t"
        ));
    }

    #[test]
    fn first_difference_names_the_column() {
        let a = normalize_query(&q(
            "SELECT id, name, 'x' AS kind FROM t UNION ALL SELECT id, name, 'y' AS kind FROM u",
        ));
        let b = normalize_query(&q(
            "SELECT id, name, 'x' AS kind FROM t UNION ALL SELECT id, title, 'y' AS kind FROM u",
        ));
        let (clause, x, y) = first_difference(&a, &b).unwrap();
        assert_eq!(clause, "branch 2 of the UNION: column 2 (\"name\")");
        assert_eq!((x.as_str(), y.as_str()), ("name", "title"));
        let b = normalize_query(&q("SELECT id, name, 'x' AS kind FROM t WHERE x UNION ALL SELECT id, name, 'y' AS kind FROM u"));
        assert_eq!(first_difference(&a, &b).unwrap().0, "WHERE");
    }
}
