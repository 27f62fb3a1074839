//! Staff users: unique logins with a role. Admin actions, audited.

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::json;

use super::codec::RowExt;
use super::error::{SqlContext, StoreError};
use super::outbox::{AuditRow, Writer};
use super::{Actor, Result, Store};
use crate::domain::Role;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub login: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub organisation: Option<String>,
    pub added_at: String,
    pub added_by: String,
}

pub(crate) fn no_users(tx: &Transaction<'_>) -> Result<bool> {
    tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0))
        .ctx("checking for users")
}

fn user_audit(
    w: &Writer<'_>,
    kind: &'static str,
    login: &str,
    before: Option<serde_json::Value>,
    after: serde_json::Value,
) -> Result<i64> {
    w.audit(&AuditRow {
        person_id: None,
        kind,
        entity: "user",
        entity_id: Some(login.to_string()),
        before,
        after: Some(after),
        reason: None,
    })
}

fn current(w: &Writer<'_>, login: &str) -> Result<serde_json::Value> {
    w.tx.query_row(
        "SELECT role, active, organisation FROM users WHERE login = ?1",
        [login],
        |r| {
            Ok(json!({
                "role": r.get::<_, String>(0)?,
                "active": r.get::<_, bool>(1)?,
                "organisation": r.get::<_, Option<String>>(2)?,
            }))
        },
    )
    .optional()
    .ctx("reading the user")?
    .ok_or_else(|| StoreError::invalid(format!("no user {login}")))
}

/// The longest login: the central API carries it as `actor.user`, at most 64 characters.
pub const MAX_LOGIN_CHARS: usize = 64;

impl Store {
    /// Adds a user. Admin only, except the very first user of a database (bootstrap).
    pub fn add_user(&mut self, actor: &Actor, login: &str, name: &str, role: Role) -> Result<()> {
        let login = login.trim();
        if login.is_empty() || login.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(StoreError::invalid(format!(
                "{login:?} is not a login: one word, no spaces"
            )));
        }
        if login.chars().count() > MAX_LOGIN_CHARS {
            return Err(StoreError::invalid(format!(
                "a login has at most {MAX_LOGIN_CHARS} characters (the central API carries it); \
                 this one has {}",
                login.chars().count()
            )));
        }
        self.write(actor, |w| {
            if !no_users(w.tx)? {
                w.allow_admin()?;
            }
            let added =
                w.tx.execute(
                    "INSERT INTO users (login, name, role, active, added_at, added_by)
                     VALUES (?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT (login) DO NOTHING",
                    params![login, name.trim(), role.code(), w.now_ts(), w.actor.login],
                )
                .ctx("adding the user")?;
            if added == 0 {
                return Err(StoreError::invalid(format!("user {login} already exists")));
            }
            user_audit(
                w,
                "user_added",
                login,
                None,
                json!({"name": name.trim(), "role": role.code()}),
            )?;
            Ok(())
        })
    }

    pub fn set_role(&mut self, actor: &Actor, login: &str, role: Role) -> Result<()> {
        self.edit_user(
            actor,
            login,
            "user_role_set",
            "role",
            role.code().to_string().into(),
        )
    }

    /// Deactivated users keep their audit trail but are treated as viewers.
    pub fn set_active(&mut self, actor: &Actor, login: &str, active: bool) -> Result<()> {
        self.edit_user(
            actor,
            login,
            "user_active_set",
            "active",
            i64::from(active).into(),
        )
    }

    /// The organisation decides the "own organisation" grant for assigning care managers.
    pub fn set_organisation(
        &mut self,
        actor: &Actor,
        login: &str,
        organisation: Option<&str>,
    ) -> Result<()> {
        let value = organisation
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map_or(rusqlite::types::Value::Null, |o| o.to_string().into());
        self.edit_user(actor, login, "user_organisation_set", "organisation", value)
    }

    fn edit_user(
        &mut self,
        actor: &Actor,
        login: &str,
        kind: &'static str,
        column: &'static str,
        value: rusqlite::types::Value,
    ) -> Result<()> {
        self.write(actor, |w| {
            w.allow_admin()?;
            let before = current(w, login)?;
            w.tx.execute(
                &format!("UPDATE users SET {column} = ?1 WHERE login = ?2"),
                params![value, login],
            )
            .ctx("updating the user")?;
            let after = current(w, login)?;
            user_audit(w, kind, login, Some(before), after)?;
            Ok(())
        })
    }

    pub fn list_users(&self) -> Result<Vec<User>> {
        self.conn
            .prepare_cached(
                "SELECT login, name, role, active, organisation, added_at, added_by
                 FROM users ORDER BY login",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(User {
                        login: r.get(0)?,
                        name: r.get(1)?,
                        role: r.code(2)?,
                        active: r.get(3)?,
                        organisation: r.get(4)?,
                        added_at: r.get(5)?,
                        added_by: r.get(6)?,
                    })
                })?
                .collect()
            })
            .ctx("listing users")
            .map_err(|e| e.at(&self.path))
    }

    /// The role of an active user; None for unknown or deactivated logins (who get the viewer).
    pub fn role_of(&self, login: &str) -> Result<Option<Role>> {
        self.conn
            .prepare_cached("SELECT role FROM users WHERE login = ?1 AND active = 1")
            .and_then(|mut s| s.query_row([login], |r| r.code(0)).optional())
            .ctx("looking up the user")
            .map_err(|e| e.at(&self.path))
    }
}
