//! The harness's `wasmcloud:postgres/query`: either a real Postgres reached
//! with `tokio-postgres` (what the sqldb-postgres provider does on a host), or,
//! with no database configured, a recorder that accepts every statement and
//! returns no rows, so a task's own test cases still run offline.
//!
//! Parameters are converted by the column type Postgres infers for them, so a
//! `text` value may fill a `jsonb` parameter. Values the harness cannot
//! convert are reported as `invalid-params` / `unexpected` with a hint, never
//! silently changed.

use std::fmt;
use std::sync::Arc;

use crate::config::PostgresConfig;

use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

use super::bindings::wasmcloud::postgres::types::{PgValue, QueryError, ResultRowEntry};

/// One statement a component ran, as the harness saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlCall {
    /// The SQL text.
    pub sql: String,
    /// Its parameters, rendered as text (`NULL` for null; JSON as written).
    pub params: Vec<String>,
    /// Whether it was a `query-batch` (no parameters, several statements).
    pub batch: bool,
}

/// The database side of the harness: shared by every instance of a harness.
pub(crate) struct Postgres {
    config: Option<PostgresConfig>,
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

impl Postgres {
    pub(crate) fn new(config: Option<PostgresConfig>) -> Arc<Postgres> {
        Arc::new(Postgres {
            config,
            client: tokio::sync::Mutex::new(None),
        })
    }

    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&tokio_postgres::Client) -> Result<T, QueryError>,
    ) -> Result<Option<T>, QueryError> {
        let Some(cfg) = &self.config else {
            return Ok(None);
        };
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            let mut pg = tokio_postgres::Config::new();
            pg.host(&cfg.host)
                .port(cfg.port)
                .user(&cfg.username)
                .password(&cfg.password)
                .dbname(&cfg.database)
                .application_name("pelato-harness")
                .connect_timeout(std::time::Duration::from_secs(5));
            let failed = |e: &dyn fmt::Display| {
                let tls = if cfg.tls_required {
                    format!(" with TLS ({}=true)", crate::config::POSTGRES_TLS_REQUIRED)
                } else {
                    String::new()
                };
                let fix = if cfg.tls_required {
                    format!(
                        " — fix: enable TLS on the server, or set {}=false if plain text is acceptable",
                        crate::config::POSTGRES_TLS_REQUIRED
                    )
                } else {
                    String::new()
                };
                QueryError::Unexpected(format!(
                    "cannot connect to Postgres at {}:{} as {} (database {}){tls}: {e}{fix}",
                    cfg.host, cfg.port, cfg.username, cfg.database
                ))
            };
            let client = if cfg.tls_required {
                // Require: TLS or no connection at all, never a fallback to plain text.
                pg.ssl_mode(tokio_postgres::config::SslMode::Require);
                let tls = super::postgres_tls::MakeRustls::new().map_err(|e| failed(&e))?;
                let (client, conn) = pg
                    .connect(tls)
                    .await
                    .map_err(|e| failed(&crate::util::error::chain(&e)))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            } else {
                let (client, conn) = pg
                    .connect(tokio_postgres::NoTls)
                    .await
                    .map_err(|e| failed(&crate::util::error::chain(&e)))?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                client
            };
            *slot = Some(client);
        }
        let client = slot.as_ref().expect("connected above");
        f(client).await.map(Some)
    }

    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[PgValue],
    ) -> Result<Vec<Vec<ResultRowEntry>>, QueryError> {
        let params: Vec<Param> = params
            .iter()
            .map(Param::from_wit)
            .collect::<Result<_, _>>()?;
        let rows = self
            .with_client(async |client| {
                let refs: Vec<&(dyn ToSql + Sync)> =
                    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let rows = client.query(sql, &refs).await.map_err(db_error)?;
                rows.iter().map(row_to_wit).collect()
            })
            .await?;
        Ok(rows.unwrap_or_default())
    }

    pub(crate) async fn query_batch(&self, sql: &str) -> Result<(), QueryError> {
        self.with_client(async |client| client.batch_execute(sql).await.map_err(db_error))
            .await
            .map(|_| ())
    }
}

/// Renders a parameter for [`SqlCall::params`].
pub(crate) fn render_param(v: &PgValue) -> String {
    match Param::from_wit(v) {
        Ok(p) => p.to_string(),
        Err(_) => format!("{v:?}"),
    }
}

fn db_error(e: tokio_postgres::Error) -> QueryError {
    match e.as_db_error() {
        Some(db) => {
            let mut msg = format!(
                "{}: {} (SQLSTATE {})",
                db.severity(),
                db.message(),
                db.code().code()
            );
            if let Some(d) = db.detail() {
                msg.push_str(&format!("; {d}"));
            }
            if db.code().code().starts_with("42") {
                QueryError::InvalidQuery(msg)
            } else {
                QueryError::Unexpected(msg)
            }
        }
        None => QueryError::Unexpected(e.to_string()),
    }
}

/// `hashable-f64` (mantissa, exponent, sign) to `f64`.
fn from_hashable((mantissa, exponent, sign): (u64, i16, i8)) -> f64 {
    // Two steps, so that subnormals do not underflow through 2^exponent.
    let e = i32::from(exponent);
    f64::from(sign) * (mantissa as f64) * 2f64.powi(e / 2) * 2f64.powi(e - e / 2)
}

/// `f64` to `hashable-f64`, as `num::Float::integer_decode` does.
fn to_hashable(f: f64) -> (u64, i16, i8) {
    let bits = f.to_bits();
    let sign: i8 = if bits >> 63 == 0 { 1 } else { -1 };
    let mut exponent = ((bits >> 52) & 0x7ff) as i16;
    let mantissa = if exponent == 0 {
        (bits & 0xf_ffff_ffff_ffff) << 1
    } else {
        (bits & 0xf_ffff_ffff_ffff) | 0x10_0000_0000_0000
    };
    exponent -= 1023 + 52;
    (mantissa, exponent, sign)
}

/// A parameter value the harness can send.
#[derive(Debug, Clone, PartialEq)]
enum Param {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Json(String),
    Bytes(Vec<u8>),
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Null => f.write_str("NULL"),
            Param::Bool(b) => write!(f, "{b}"),
            Param::Int(i) => write!(f, "{i}"),
            Param::Float(x) => write!(f, "{x}"),
            Param::Text(s) | Param::Json(s) => f.write_str(s),
            Param::Bytes(b) => write!(f, "\\x{}", hex::encode(b)),
        }
    }
}

impl Param {
    fn from_wit(v: &PgValue) -> Result<Param, QueryError> {
        use PgValue as V;
        Ok(match v {
            V::Null => Param::Null,
            V::Bool(b) | V::Boolean(b) => Param::Bool(*b),
            V::BigInt(i) | V::Int8(i) | V::BigSerial(i) | V::Serial8(i) => Param::Int(*i),
            V::Integer(i) | V::Int(i) | V::Int4(i) => Param::Int(i64::from(*i)),
            V::Serial(i) | V::Serial4(i) => Param::Int(i64::from(*i)),
            V::SmallInt(i) | V::Int2(i) | V::SmallSerial(i) | V::Serial2(i) => {
                Param::Int(i64::from(*i))
            }
            V::Double(h) | V::Float8(h) | V::Real(h) | V::Float4(h) => {
                Param::Float(from_hashable(*h))
            }
            V::Text(s) | V::Name(s) | V::Xml(s) | V::Numeric(s) | V::Decimal(s) | V::Uuid(s) => {
                Param::Text(s.clone())
            }
            V::Varchar((_, bytes)) | V::Char((_, bytes)) => {
                Param::Text(String::from_utf8(bytes.clone()).map_err(|_| {
                    QueryError::InvalidParams("varchar/char value is not UTF-8".into())
                })?)
            }
            V::Json(s) | V::Jsonb(s) => Param::Json(s.clone()),
            V::Bytea(b) => Param::Bytes(b.clone()),
            other => {
                let case = format!("{other:?}");
                let case = case.split('(').next().unwrap_or(&case).to_string();
                return Err(QueryError::InvalidParams(format!(
                    "the PELATO harness does not send pg-value `{case}` parameters; pass it as text and cast in SQL (e.g. `$1::text::{}`)",
                    case.to_ascii_lowercase()
                )));
            }
        })
    }
}

impl ToSql for Param {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let mismatch = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot send {self:?} as a Postgres `{ty}` parameter").into()
        };
        match self {
            Param::Null => Ok(IsNull::Yes),
            Param::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Param::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT8 => i.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Param::Float(x) => match *ty {
                Type::FLOAT4 => (*x as f32).to_sql(ty, out),
                Type::FLOAT8 => x.to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => x.to_string().to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Param::Text(s) => match *ty {
                Type::JSON | Type::JSONB => serde_json::Value::String(s.clone()).to_sql(ty, out),
                _ if <String as ToSql>::accepts(ty) => s.to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Param::Json(s) => match *ty {
                Type::JSON | Type::JSONB => {
                    let v: serde_json::Value = serde_json::from_str(s)
                        .map_err(|e| format!("json parameter is not valid JSON: {e}"))?;
                    v.to_sql(ty, out)
                }
                _ if <String as ToSql>::accepts(ty) => s.to_sql(ty, out),
                _ => Err(mismatch()),
            },
            Param::Bytes(b) if *ty == Type::BYTEA => b.to_sql(ty, out),
            _ => Err(mismatch()),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Converts a result row; a column type the harness does not decode is an
/// error that says how to get it (cast to text).
fn row_to_wit(row: &tokio_postgres::Row) -> Result<Vec<ResultRowEntry>, QueryError> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(i, col)| {
            let name = col.name().to_string();
            let bad = |e: tokio_postgres::Error| {
                QueryError::Unexpected(format!("column `{name}`: {e}"))
            };
            let ty = col.type_();
            let value = match *ty {
                Type::BOOL => opt(row.try_get::<_, Option<bool>>(i).map_err(bad)?, PgValue::Boolean),
                Type::INT2 => opt(row.try_get::<_, Option<i16>>(i).map_err(bad)?, PgValue::Int2),
                Type::INT4 => opt(row.try_get::<_, Option<i32>>(i).map_err(bad)?, PgValue::Int4),
                Type::INT8 => opt(row.try_get::<_, Option<i64>>(i).map_err(bad)?, PgValue::Int8),
                Type::FLOAT4 => opt(row.try_get::<_, Option<f32>>(i).map_err(bad)?, |x| {
                    PgValue::Float4(to_hashable(f64::from(x)))
                }),
                Type::FLOAT8 => opt(row.try_get::<_, Option<f64>>(i).map_err(bad)?, |x| {
                    PgValue::Float8(to_hashable(x))
                }),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    opt(row.try_get::<_, Option<String>>(i).map_err(bad)?, PgValue::Text)
                }
                Type::JSON => opt(
                    row.try_get::<_, Option<serde_json::Value>>(i).map_err(bad)?,
                    |v| PgValue::Json(v.to_string()),
                ),
                Type::JSONB => opt(
                    row.try_get::<_, Option<serde_json::Value>>(i).map_err(bad)?,
                    |v| PgValue::Jsonb(v.to_string()),
                ),
                Type::BYTEA => opt(row.try_get::<_, Option<Vec<u8>>>(i).map_err(bad)?, PgValue::Bytea),
                _ => {
                    return Err(QueryError::Unexpected(format!(
                        "column `{name}` has type `{ty}`, which the PELATO harness does not decode; select it as text (`{name}::text`)"
                    )))
                }
            };
            Ok(ResultRowEntry {
                column_name: name,
                value,
            })
        })
        .collect()
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> PgValue) -> PgValue {
    v.map_or(PgValue::Null, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashable_floats_round_trip() {
        for x in [
            0.0,
            1.0,
            -2.5,
            100.125,
            1e-300,
            f64::MAX,
            -f64::MIN_POSITIVE,
        ] {
            assert_eq!(from_hashable(to_hashable(x)), x, "{x}");
        }
    }

    #[test]
    fn unsupported_params_say_how_to_pass_them() {
        let e = Param::from_wit(&PgValue::Inet("10.0.0.1".into())).unwrap_err();
        match e {
            QueryError::InvalidParams(m) => assert!(m.contains("::inet"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
