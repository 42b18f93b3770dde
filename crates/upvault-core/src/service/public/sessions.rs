//! Signing in on the pages: a session token bound to the account and its password hash (a
//! new password ends every session), and the visitor a request's token stands for.

use super::signing::{parse_time, session_message, split3};
use super::{chrono_duration, PublicService, Visitor};
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::secret;
use crate::service::auth::{verify_under_lockout, LoginAttempt};
use tracing::instrument;

impl PublicService {
    /// Signs a visitor in on the pages with username and password; returns a session token.
    /// Failures fall under the API's lockout policy (per account and address, with a looser
    /// ceiling per address): past it the answer is `Error::RateLimited`.
    #[instrument(skip_all)]
    pub async fn login(&self, username: &str, password: &str, address: &str) -> Result<String> {
        let account = self.deps.accounts.account_by_username(username).await?;
        let subject = format!("user:{}", username.to_lowercase());
        let attempt = LoginAttempt {
            account: account.as_ref().map(|a| a.id),
            subject: &subject,
            ip: address,
        };
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        verify_under_lockout(&self.deps, &attempt, password, stored).await?;
        let account = account
            .filter(|a| a.status.signs_in())
            .ok_or(Error::AuthFailed)?;
        let expires = self.deps.clock.now() + chrono_duration(self.config.session_ttl);
        let mac = self
            .mac(&session_message(
                account.id,
                expires,
                account.password_hash.as_deref(),
            ))
            .await?;
        Ok(format!("{}.{}.{mac}", account.id, expires.timestamp()))
    }

    /// The visitor a session token stands for (a guest at `address` without a valid one).
    pub async fn visitor(&self, session: Option<&str>, address: &str) -> Result<Visitor> {
        let guest = Visitor::Guest(address.to_owned());
        let Some((id, expires, mac)) = session.and_then(split3) else {
            return Ok(guest);
        };
        let (Some(id), Some(expires)) = (AccountId::parse(id), parse_time(expires)) else {
            return Ok(guest);
        };
        if expires <= self.deps.clock.now() {
            return Ok(guest);
        }
        let Some(account) = self.deps.accounts.account(id).await? else {
            return Ok(guest);
        };
        let expected = self
            .mac(&session_message(
                id,
                expires,
                account.password_hash.as_deref(),
            ))
            .await?;
        if account.status.signs_in() && secret::constant_time_eq(&expected, mac) {
            Ok(Visitor::Account(id))
        } else {
            Ok(guest)
        }
    }

    /// The name of a signed-in visitor (for the page header).
    pub async fn visitor_name(&self, visitor: &Visitor) -> Result<Option<String>> {
        match visitor {
            Visitor::Guest(_) => Ok(None),
            Visitor::Account(id) => Ok(self.deps.accounts.account(*id).await?.map(|a| a.username)),
        }
    }
}
