//! The checker of hot-query plans: `EXPLAIN (FORMAT JSON)` of each registered query's
//! generic plan, and the rules it enforces on every table read in the tree:
//!
//! - no `Seq Scan` (nor any read of a table without an index);
//! - every index used with its first key column after `app_id` bound by an equality;
//! - every table reached through one of the indexes the registry pins for its alias, and
//!   every pinned alias reached.

use std::collections::HashMap;

use serde_json::Value;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::registry::{HotQuery, hot_queries};

/// The generic plan of `sql` on `client`, as `EXPLAIN (FORMAT JSON)` returns it: the
/// statement is prepared with untyped parameters, as the store prepares it, then explained
/// with
/// `plan_cache_mode = force_generic_plan` (PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)`).
pub async fn explain(client: &Client, sql: &str) -> Result<Value, String> {
    client
        .batch_execute(&format!("PREPARE onyx_cost AS {sql}"))
        .await
        .map_err(|e| e.to_string())?;
    let out = explain_prepared(client).await;
    let _ = client
        .batch_execute("DEALLOCATE onyx_cost; RESET plan_cache_mode")
        .await;
    out
}

async fn explain_prepared(client: &Client) -> Result<Value, String> {
    let params: i32 = client
        .query_one(
            "SELECT COALESCE(cardinality(parameter_types), 0) FROM pg_prepared_statements \
             WHERE name = 'onyx_cost'",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?
        .get(0);
    let nulls = vec!["NULL"; params as usize].join(", ");
    let args = if nulls.is_empty() {
        String::new()
    } else {
        format!("({nulls})")
    };
    let explain = format!(
        "SET plan_cache_mode = force_generic_plan; \
         EXPLAIN (FORMAT JSON) EXECUTE onyx_cost{args}"
    );
    let text = client
        .simple_query(&explain)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .ok_or("EXPLAIN returned no plan")?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// One read of a table in a plan: a scan node, or a bitmap heap scan with each of its
/// bitmap index scans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The scan node's type (`Seq Scan`, `Index Scan`, `Bitmap Heap Scan`, …).
    pub node: String,
    /// The table.
    pub table: String,
    /// Its alias in the query.
    pub alias: String,
    /// The index, if any.
    pub index: Option<String>,
    /// The index condition, if any.
    pub cond: Option<String>,
}

fn text(node: &Value, key: &str) -> Option<String> {
    node.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn children(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The bitmap index scans under a bitmap heap scan (through `BitmapAnd`/`BitmapOr`).
fn bitmap_indexes<'a>(node: &'a Value, out: &mut Vec<&'a Value>) {
    for child in children(node) {
        if text(child, "Node Type").as_deref() == Some("Bitmap Index Scan") {
            out.push(child);
        } else {
            bitmap_indexes(child, out);
        }
    }
}

/// Every read of a table in the plan tree `node` (a `Plan` object).
pub fn accesses(node: &Value, out: &mut Vec<Access>) {
    let kind = text(node, "Node Type").unwrap_or_default();
    if let Some(table) = text(node, "Relation Name")
        && kind.ends_with("Scan")
    {
        let alias = text(node, "Alias").unwrap_or_else(|| table.clone());
        if kind == "Bitmap Heap Scan" {
            let mut scans = Vec::new();
            bitmap_indexes(node, &mut scans);
            for scan in scans {
                out.push(Access {
                    node: kind.clone(),
                    table: table.clone(),
                    alias: alias.clone(),
                    index: text(scan, "Index Name"),
                    cond: text(scan, "Index Cond"),
                });
            }
            return;
        }
        out.push(Access {
            node: kind.clone(),
            table,
            alias,
            index: text(node, "Index Name"),
            cond: text(node, "Index Cond"),
        });
    }
    for child in children(node) {
        accesses(child, out);
    }
}

/// The columns an index condition constrains with `=` (`= ANY` included).
fn equal_columns(cond: &str) -> Vec<String> {
    cond.split(" AND ")
        .filter_map(|part| {
            let part = part.trim_start_matches('(');
            let (column, rest) = part.split_once(' ')?;
            let column = column.trim_end_matches(')').rsplit('.').next()?;
            rest.starts_with("= ").then(|| column.to_owned())
        })
        .collect()
}

/// Key columns of every index of the current schema, by index name.
pub async fn index_keys(client: &Client) -> Result<HashMap<String, Vec<String>>, String> {
    let rows = client
        .query(
            "SELECT c.relname::TEXT, array_agg(a.attname::TEXT ORDER BY k.ord) \
             FROM pg_index AS i \
             JOIN pg_class AS c ON c.oid = i.indexrelid \
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE c.relnamespace = current_schema()::regnamespace \
               AND k.ord <= i.indnkeyatts \
             GROUP BY c.relname",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The broken rules of one access: a walk of the table, or an index bounded by `app_id`
/// alone (its first key column after `app_id` not bound by an equality).
fn bounded(access: &Access, keys: &HashMap<String, Vec<String>>) -> Option<String> {
    let Some(index) = &access.index else {
        return Some(format!("`{}` of {}", access.node, access.table));
    };
    let key = keys
        .get(index)
        .and_then(|cols| cols.iter().find(|c| c.as_str() != "app_id"))?;
    let bound = access
        .cond
        .as_deref()
        .is_some_and(|c| equal_columns(c).contains(key));
    (!bound).then(|| {
        format!(
            "{} ({}) through {index} without `{key} =` in its condition {:?}",
            access.table, access.alias, access.cond
        )
    })
}

/// What is wrong with the plan `plan` (an `EXPLAIN (FORMAT JSON)` answer) of `hot`.
pub fn check(hot: &HotQuery, plan: &Value, keys: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(root) = plan.get(0).and_then(|p| p.get("Plan")) {
        accesses(root, &mut found);
    }
    let mut out = Vec::new();
    for access in &found {
        if let Some(broken) = bounded(access, keys) {
            out.push(broken);
        }
        let allowed = hot
            .expect
            .iter()
            .filter(|r| r.alias == access.alias)
            .flat_map(|r| r.indexes.iter());
        let index = access.index.as_deref().unwrap_or("no index");
        if !allowed.clone().any(|i| *i == index) {
            out.push(format!(
                "{} ({}) reached through {index}, expected one of {:?}",
                access.table,
                access.alias,
                allowed.collect::<Vec<_>>()
            ));
        }
    }
    for reach in &hot.expect {
        let seen = found.iter().any(|a| {
            a.alias == reach.alias
                && a.index
                    .as_deref()
                    .is_some_and(|i| reach.indexes.contains(&i))
        });
        if !seen {
            out.push(format!(
                "{} never reached through {:?}",
                reach.alias, reach.indexes
            ));
        }
    }
    out
}

/// The plan tree `node` as indented lines: node type, table (alias), index, condition.
pub fn render(node: &Value, depth: usize) -> String {
    let mut line = format!(
        "\n{}{}",
        "  ".repeat(depth),
        text(node, "Node Type").unwrap_or_default()
    );
    if let Some(table) = text(node, "Relation Name") {
        line += &format!(" on {table} ({})", text(node, "Alias").unwrap_or_default());
    }
    if let Some(index) = text(node, "Index Name") {
        line += &format!(" using {index}");
    }
    if let Some(cond) = text(node, "Index Cond") {
        line += &format!(" [{cond}]");
    }
    for child in children(node) {
        line += &render(child, depth + 1);
    }
    line
}

/// Every broken rule among the hot queries on `client` (whose `search_path` names the
/// store's schema): scans, indexes bounded by `app_id` alone, tables reached through an
/// index other than the pinned one. Each entry names the query and shows its plan.
pub async fn violations(client: &Client) -> Vec<String> {
    let keys = match index_keys(client).await {
        Ok(keys) => keys,
        Err(e) => return vec![format!("cannot list the indexes: {e}")],
    };
    let mut out = Vec::new();
    for hot in hot_queries() {
        let plan = match explain(client, &hot.sql).await {
            Ok(plan) => plan,
            Err(e) => {
                out.push(format!("{}: cannot plan: {e}", hot.name));
                continue;
            }
        };
        let broken = check(&hot, &plan, &keys);
        if !broken.is_empty() {
            out.push(format!(
                "{}:\n  {}\n  plan:{}",
                hot.name,
                broken.join("\n  "),
                render(&plan[0]["Plan"], 2)
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::equal_columns;

    #[test]
    fn equal_columns_reads_index_conditions() {
        assert_eq!(
            equal_columns("((app_id = ($1)::text) AND (cid = m.cid) AND (rev > b.lo))"),
            ["app_id", "cid"]
        );
        assert_eq!(equal_columns("(pk = ANY ($2))"), ["pk"]);
        assert_eq!(
            equal_columns("((o.app_id = m.app_id) AND (o.user_id > $2))"),
            ["app_id"]
        );
    }
}
