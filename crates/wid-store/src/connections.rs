//! Airflow connections, with their password and extra Fernet-encrypted.
//!
//! Rows follow Airflow's `connection` table: `password` and `extra` hold Fernet tokens and
//! `is_encrypted` / `is_extra_encrypted` say so. wid encrypts every password and extra it
//! writes, empty ones included, so a value comes back exactly as given (`None` stays `None`,
//! `Some("")` stays `Some("")`). On reading, a value whose flag is 0 (plaintext, as an
//! Airflow without a key would write it) is returned as is, like Airflow does.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::changes::Topic;
use crate::connection_cache::SeekKey;
use crate::{FernetKeys, Store, StoreError};
use wid_model::connection::Connection;
use wid_model::secret::Secret;

/// Columns read back, in [`connection_from_row`]'s order.
const COLUMNS: &str = "conn_id, conn_type, description, host, schema_name, login, password, port, extra, is_encrypted, is_extra_encrypted";

/// The most `|`-separated terms a `conn_id_pattern` may have.
pub const MAX_PATTERN_TERMS: usize = 64;

/// The escape character of `conn_id_pattern`, as in PostgreSQL's default `LIKE`.
const LIKE_ESCAPE: &str = "\\";

/// Which column a connection list is ordered by (Airflow's `order_by`). Ties are broken by
/// `conn_id`, in the same direction. `NULL`s sort after every value in ascending order and
/// before them in descending order, on both engines (PostgreSQL's rule). Text is compared in
/// the database's collation (bytewise on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// `connection_id` / `conn_id`.
    ConnId,
    /// `conn_type`.
    ConnType,
    /// `description`.
    Description,
    /// `host`.
    Host,
    /// `port`.
    Port,
    /// `id`: insertion order (creation time, then `conn_id`). Airflow's default.
    #[default]
    Id,
}

impl OrderBy {
    /// The `ORDER BY` terms, each to be followed by the direction. Fixed text only: no user
    /// input ever reaches the SQL.
    fn terms(self) -> &'static [&'static str] {
        match self {
            OrderBy::ConnId => &["conn_id"],
            OrderBy::ConnType => &["conn_type", "conn_id"],
            OrderBy::Description => &["(description IS NULL)", "description", "conn_id"],
            OrderBy::Host => &["(host IS NULL)", "host", "conn_id"],
            OrderBy::Port => &["(port IS NULL)", "port", "conn_id"],
            OrderBy::Id => &["created_at", "conn_id"],
        }
    }
}

/// A page of connections: which, in what order, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size; 0 gives an empty page (with the total). Must not be negative.
    pub limit: i64,
    /// Rows skipped before the page. Must not be negative.
    pub offset: i64,
    /// Sort column.
    pub order_by: OrderBy,
    /// Descending order.
    pub descending: bool,
    /// Airflow 3's `connection_id_pattern`: a SQL `LIKE` pattern (`%` any text, `_` any one
    /// character, `\` escapes the next character) matched case-insensitively anywhere in
    /// `conn_id` (Airflow wraps it in `%...%`); `a|b` matches either term (blank terms are
    /// ignored) and `~` matches everything. At most [`MAX_PATTERN_TERMS`] terms.
    /// Case-folding is ASCII-only on SQLite.
    pub conn_id_pattern: Option<String>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            limit: 100,
            offset: 0,
            order_by: OrderBy::Id,
            descending: false,
            conn_id_pattern: None,
        }
    }
}

/// The `LIKE` patterns for a `conn_id_pattern`, as Airflow 3's `_SearchParam` builds them;
/// `None` when it matches everything.
fn like_patterns(pattern: &str) -> Result<Option<Vec<String>>, StoreError> {
    let pattern = if pattern == "~" { "%" } else { pattern };
    let terms: Vec<&str> = if pattern.contains('|') {
        let terms: Vec<&str> = pattern
            .split('|')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if terms.is_empty() {
            vec![pattern]
        } else {
            terms
        }
    } else {
        vec![pattern]
    };
    if terms.len() > MAX_PATTERN_TERMS {
        return Err(StoreError::Invalid(format!(
            "the connection id pattern has {} `|`-separated terms; at most {MAX_PATTERN_TERMS} are allowed",
            terms.len()
        )));
    }
    if terms.iter().all(|t| t.chars().all(|c| c == '%')) {
        return Ok(None);
    }
    Ok(Some(
        terms
            .into_iter()
            .map(|t| format!("%{}%", escape_trailing_backslash(t)))
            .collect(),
    ))
}

/// A pattern whose last `\` escapes nothing gets it escaped, so that it matches a literal
/// backslash on both engines (PostgreSQL would refuse the pattern).
fn escape_trailing_backslash(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 1);
    let mut chars = term.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\\' {
            match chars.next() {
                Some(next) => out.push(next),
                None => out.push('\\'),
            }
        }
    }
    out
}

/// What [`Store::rotate_fernet_key`] re-encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FernetRotation {
    /// Connections whose password or extra was re-encrypted.
    pub connections: usize,
    /// Signing keys re-encrypted (or encrypted, if they were still plaintext).
    pub signing_keys: usize,
}

/// ` WHERE a AND b`, or nothing.
fn where_clause(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// A connection's fields as bound in an INSERT or UPDATE: the id and type checked, the
/// secrets encrypted.
struct Encrypted<'a> {
    conn_id: &'a str,
    conn_type: &'a str,
    password: Option<String>,
    extra: Option<String>,
}

fn encrypt<'a>(c: &'a Connection, keys: &FernetKeys) -> Result<Encrypted<'a>, StoreError> {
    let conn_id = c
        .conn_id
        .as_deref()
        .ok_or_else(|| StoreError::Invalid("a connection to store needs a conn_id".into()))?;
    let conn_type = c
        .conn_type
        .as_deref()
        .ok_or_else(|| StoreError::Invalid(format!("connection `{conn_id}` has no conn_type")))?;
    Ok(Encrypted {
        conn_id,
        conn_type,
        password: c.password_str().map(|p| keys.encrypt(p)),
        extra: c.extra_str().map(|e| keys.encrypt(e)),
    })
}

/// Decrypts a stored value whose flag says it is encrypted (an empty one never is a token).
fn decrypt_field(
    conn_id: &str,
    field: &'static str,
    value: Option<String>,
    encrypted: bool,
    keys: &FernetKeys,
) -> Result<Option<Secret>, StoreError> {
    match value {
        Some(token) if encrypted && !token.is_empty() => {
            keys.decrypt(&token)
                .map(Some)
                .map_err(|source| StoreError::Decrypt {
                    conn_id: conn_id.to_string(),
                    field,
                    source,
                })
        }
        other => Ok(other.map(Secret::from)),
    }
}

/// A row as stored: the password and extra as their Fernet tokens.
#[derive(Debug)]
pub(crate) struct StoredRow {
    pub(crate) conn_id: String,
    conn_type: String,
    description: Option<String>,
    host: Option<String>,
    schema: Option<String>,
    login: Option<String>,
    password: Option<String>,
    port: Option<i64>,
    extra: Option<String>,
    is_encrypted: bool,
    is_extra_encrypted: bool,
}

impl StoredRow {
    /// From a row of [`COLUMNS`].
    fn read(row: &AnyRow) -> Result<Self, StoreError> {
        Ok(StoredRow {
            conn_id: row.try_get(0)?,
            conn_type: row.try_get(1)?,
            description: row.try_get(2)?,
            host: row.try_get(3)?,
            schema: row.try_get(4)?,
            login: row.try_get(5)?,
            password: row.try_get(6)?,
            port: row.try_get(7)?,
            extra: row.try_get(8)?,
            is_encrypted: row.try_get::<i64, _>(9)? != 0,
            is_extra_encrypted: row.try_get::<i64, _>(10)? != 0,
        })
    }

    /// The connection, its secrets decrypted.
    fn decrypt(&self, keys: &FernetKeys) -> Result<Connection, StoreError> {
        let id = &self.conn_id;
        Ok(Connection {
            conn_type: Some(self.conn_type.clone()),
            description: self.description.clone(),
            host: self.host.clone(),
            schema: self.schema.clone(),
            login: self.login.clone(),
            password: decrypt_field(
                id,
                "password",
                self.password.clone(),
                self.is_encrypted,
                keys,
            )?,
            port: self.port,
            extra: decrypt_field(
                id,
                "extra",
                self.extra.clone(),
                self.is_extra_encrypted,
                keys,
            )?,
            conn_id: Some(self.conn_id.clone()),
        })
    }
}

fn connection_from_row(row: &AnyRow, keys: &FernetKeys) -> Result<Connection, StoreError> {
    StoredRow::read(row)?.decrypt(keys)
}

impl Store {
    /// Creates a connection; [`StoreError::Conflict`] when its id exists. `c.conn_id` and
    /// `c.conn_type` must be set; the password and extra are stored Fernet-encrypted.
    pub async fn insert_connection(
        &self,
        c: &Connection,
        keys: &FernetKeys,
        now: i64,
    ) -> Result<(), StoreError> {
        let e = encrypt(c, keys)?;
        insert(&self.pool, c, &e, now)
            .await
            .map_err(|err| match err {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a connection with conn_id `{}`", e.conn_id))
                }
                other => other,
            })?;
        self.changed(Topic::Connections).await;
        Ok(())
    }

    /// Creates or replaces a connection (every field; the creation time is kept); returns
    /// true when it was created.
    pub async fn put_connection(
        &self,
        c: &Connection,
        keys: &FernetKeys,
        now: i64,
    ) -> Result<bool, StoreError> {
        let e = encrypt(c, keys)?;
        // UPDATE, else INSERT; a concurrent INSERT of the same id between the two makes ours
        // conflict, and the second round then updates.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut tx = self.pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE connections SET conn_type = $1, description = $2, host = $3, schema_name = $4, login = $5, \
                 password = $6, port = $7, extra = $8, is_encrypted = $9, is_extra_encrypted = $10, updated_at = $11 \
                 WHERE conn_id = $12",
            )
            .bind(e.conn_type)
            .bind(c.description.as_deref())
            .bind(c.host.as_deref())
            .bind(c.schema.as_deref())
            .bind(c.login.as_deref())
            .bind(e.password.as_deref())
            .bind(c.port)
            .bind(e.extra.as_deref())
            .bind(i64::from(e.password.is_some()))
            .bind(i64::from(e.extra.is_some()))
            .bind(now)
            .bind(e.conn_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated > 0 {
                tx.commit().await?;
                self.changed(Topic::Connections).await;
                return Ok(false);
            }
            match insert(&mut *tx, c, &e, now).await {
                Ok(()) => {
                    tx.commit().await?;
                    self.changed(Topic::Connections).await;
                    return Ok(true);
                }
                Err(StoreError::Conflict(_)) if attempt < 2 => {
                    tx.rollback().await.ok();
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// One connection, decrypted; `None` when the id does not exist.
    pub async fn get_connection(
        &self,
        conn_id: &str,
        keys: &FernetKeys,
    ) -> Result<Option<Connection>, StoreError> {
        let generation = self.generation(Topic::Connections);
        // A row cached under keys since rotated away (another process rotated them) does
        // not decrypt: then it is read again.
        if let Some(row) = self.rows.get(generation, conn_id)
            && let Ok(c) = row.decrypt(keys)
        {
            return Ok(Some(c));
        }
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE conn_id = $1");
        // `sql` is fixed text.
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(conn_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let row = std::sync::Arc::new(StoredRow::read(&row)?);
        self.rows.put(generation, row.clone());
        row.decrypt(keys).map(Some)
    }

    /// A page of connections, decrypted, and how many match in all.
    ///
    /// The page is a deferred join: its ids are selected first (over
    /// `connections_created_at` for the default order, an index-only walk), then only those
    /// rows are read and decrypted. In an order by immutable unique keys (`id`,
    /// `connection_id`) the first key of each page served is remembered, so that a page at
    /// or after it starts from that key instead of skipping every row before it; the total
    /// is counted once per filter. Both are kept while no connection is created or deleted,
    /// on any replica ([`Topic::Connections`]).
    pub async fn list_connections(
        &self,
        keys: &FernetKeys,
        q: &ListQuery,
    ) -> Result<(Vec<Connection>, i64), StoreError> {
        if q.limit < 0 || q.offset < 0 {
            return Err(StoreError::Invalid(format!(
                "limit and offset must not be negative (limit {}, offset {})",
                q.limit, q.offset
            )));
        }
        let patterns = match q.conn_id_pattern.as_deref() {
            Some(p) => like_patterns(p)?,
            None => None,
        };
        // Only fixed text and placeholder numbers go into the SQL; values are bound.
        let mut conditions = Vec::new();
        if let Some(patterns) = &patterns {
            let terms: Vec<String> = (0..patterns.len())
                .map(|i| {
                    format!(
                        "LOWER(conn_id) LIKE LOWER(${}) ESCAPE ${}",
                        2 * i + 1,
                        2 * i + 2
                    )
                })
                .collect();
            conditions.push(format!("({})", terms.join(" OR ")));
        }
        let filter = where_clause(&conditions);
        let mut n = patterns.as_ref().map_or(0, Vec::len) * 2;
        let dir = if q.descending { "DESC" } else { "ASC" };
        let order = q
            .order_by
            .terms()
            .iter()
            .map(|t| format!("{t} {dir}"))
            .collect::<Vec<_>>()
            .join(", ");

        let generation = self.generation(Topic::Connections);
        let seekable = matches!(q.order_by, OrderBy::Id | OrderBy::ConnId);
        let seek_query = format!(
            "{:?} {dir} {}",
            q.order_by,
            patterns.as_ref().map(|p| p.join("\n")).unwrap_or_default()
        );
        let seek = if seekable && q.offset > 0 {
            self.seeks.nearest(generation, &seek_query, q.offset)
        } else {
            None
        };
        let op = if q.descending { "<=" } else { ">=" };
        if seek.is_some() {
            if q.order_by == OrderBy::Id {
                conditions.push(format!(
                    "(created_at, conn_id) {op} (${}, ${})",
                    n + 1,
                    n + 2
                ));
                n += 2;
            } else {
                conditions.push(format!("conn_id {op} ${}", n + 1));
                n += 1;
            }
        }
        let skip = seek.as_ref().map_or(q.offset, |(at, _)| q.offset - at);
        let page_sql = format!(
            "SELECT {COLUMNS}, created_at FROM connections WHERE conn_id IN \
             (SELECT conn_id FROM connections{} ORDER BY {order} LIMIT ${} OFFSET ${}) \
             ORDER BY {order}",
            where_clause(&conditions),
            n + 1,
            n + 2
        );
        let mut page = sqlx::query(sqlx::AssertSqlSafe(page_sql));
        for p in patterns.iter().flatten() {
            page = page.bind(p.as_str()).bind(LIKE_ESCAPE);
        }
        if let Some((_, key)) = &seek {
            if q.order_by == OrderBy::Id {
                page = page.bind(key.created_at);
            }
            page = page.bind(key.conn_id.as_str());
        }
        let rows = page.bind(q.limit).bind(skip).fetch_all(&self.pool).await?;
        if seekable && let Some(first) = rows.first() {
            let key = SeekKey {
                conn_id: first.try_get(0)?,
                created_at: first.try_get(11)?,
            };
            self.seeks.put(generation, seek_query, q.offset, key);
        }
        let total = self.count_connections(&filter, patterns.as_deref()).await?;
        let connections = rows
            .iter()
            .map(|r| connection_from_row(r, keys))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((connections, total))
    }

    /// How many connections match `filter` (the `WHERE` clause over `patterns`): from the
    /// cache while no connection was created or deleted since it was counted (on any
    /// replica), else counted.
    async fn count_connections(
        &self,
        filter: &str,
        patterns: Option<&[String]>,
    ) -> Result<i64, StoreError> {
        let generation = self.generation(Topic::Connections);
        let key = patterns.map(|p| p.join("\n")).unwrap_or_default();
        if let Some(n) = self.counts.get(generation, &key) {
            return Ok(n);
        }
        let count_sql = format!("SELECT COUNT(*) FROM connections{filter}");
        let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql));
        for p in patterns.iter().copied().flatten() {
            count = count.bind(p.as_str()).bind(LIKE_ESCAPE);
        }
        let (total,) = count.fetch_one(&self.pool).await?;
        self.counts.put(generation, key, total);
        Ok(total)
    }

    /// Deletes a connection; returns whether it existed.
    pub async fn delete_connection(&self, conn_id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM connections WHERE conn_id = $1")
            .bind(conn_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n > 0 {
            self.changed(Topic::Connections).await;
        }
        Ok(n > 0)
    }

    /// Re-encrypts every encrypted password and extra, and every signing key, with the first
    /// key (Airflow's `rotate-fernet-key`), in one transaction: all rows or none. Returns how
    /// many rows changed. Run it with the new key first and the old ones after (`NEW,OLD`).
    pub async fn rotate_fernet_key(&self, keys: &FernetKeys) -> Result<FernetRotation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT conn_id FROM connections WHERE is_encrypted <> 0 OR is_extra_encrypted <> 0 ORDER BY conn_id",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut changed = 0;
        // One row at a time, so that memory holds one row's values, however many rows.
        for (conn_id,) in ids {
            let (password, extra, is_encrypted, is_extra_encrypted): (
                Option<String>,
                Option<String>,
                i64,
                i64,
            ) = sqlx::query_as(
                "SELECT password, extra, is_encrypted, is_extra_encrypted FROM connections WHERE conn_id = $1",
            )
            .bind(&conn_id)
            .fetch_one(&mut *tx)
            .await?;
            let rotate = |field: &'static str, value: Option<String>, encrypted: i64| match value {
                Some(token) if encrypted != 0 && !token.is_empty() => keys
                    .rotate(&token)
                    .map(Some)
                    .map_err(|source| StoreError::Decrypt {
                        conn_id: conn_id.clone(),
                        field,
                        source,
                    }),
                other => Ok(other),
            };
            let password = rotate("password", password, is_encrypted)?;
            let extra = rotate("extra", extra, is_extra_encrypted)?;
            sqlx::query("UPDATE connections SET password = $1, extra = $2 WHERE conn_id = $3")
                .bind(password)
                .bind(extra)
                .bind(&conn_id)
                .execute(&mut *tx)
                .await?;
            changed += 1;
        }
        let signing_keys = crate::signing_keys::rotate_keys_in(&mut tx, keys).await?;
        tx.commit().await?;
        self.changed(Topic::Connections).await;
        Ok(FernetRotation {
            connections: changed,
            signing_keys,
        })
    }
}

async fn insert<'c, E>(
    executor: E,
    c: &Connection,
    e: &Encrypted<'_>,
    now: i64,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO connections (conn_id, conn_type, description, host, schema_name, login, password, port, extra, \
         is_encrypted, is_extra_encrypted, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(e.conn_id)
    .bind(e.conn_type)
    .bind(c.description.as_deref())
    .bind(c.host.as_deref())
    .bind(c.schema.as_deref())
    .bind(c.login.as_deref())
    .bind(e.password.as_deref())
    .bind(c.port)
    .bind(e.extra.as_deref())
    .bind(i64::from(e.password.is_some()))
    .bind(i64::from(e.extra.is_some()))
    .bind(now)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_follow_airflow() {
        assert_eq!(like_patterns("~").unwrap(), None);
        assert_eq!(like_patterns("%").unwrap(), None);
        assert_eq!(
            like_patterns("abc").unwrap(),
            Some(vec!["%abc%".to_string()])
        );
        assert_eq!(
            like_patterns(" a | b_ |").unwrap(),
            Some(vec!["%a%".to_string(), "%b_%".to_string()])
        );
        assert_eq!(like_patterns("|").unwrap(), Some(vec!["%|%".to_string()]));
        assert_eq!(
            like_patterns("x\\").unwrap(),
            Some(vec!["%x\\\\%".to_string()])
        );
        assert_eq!(
            like_patterns("x\\_").unwrap(),
            Some(vec!["%x\\_%".to_string()])
        );
        assert!(matches!(
            like_patterns(&"a|".repeat(MAX_PATTERN_TERMS + 1)),
            Err(StoreError::Invalid(_))
        ));
    }
}
