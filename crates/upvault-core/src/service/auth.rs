//! `/authorize`, token checks and `/disable_access_token` (SPEC.md §2).

use super::public::parse_time;
use super::signer::Signer;
use super::{Admin, Deps};
use crate::error::{Error, Refusal, Result};
use crate::ids::AccountId;
use crate::model::Role;
use crate::secret;
use chrono::{DateTime, Utc};
use tracing::{instrument, warn};

/// Issues, checks and revokes access tokens, and signs visitors in on the pages.
#[derive(Clone)]
pub struct AuthService {
    deps: Deps,
    signer: Signer,
}

/// Who is looking: a guest (by address) or a signed-in account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visitor {
    /// An anonymous visitor at this address.
    Guest(String),
    /// A signed-in account.
    Account(AccountId),
}

impl Visitor {
    /// The key limits are counted under: `ip:{address}` or `acct:{id}`.
    pub fn key(&self) -> String {
        match self {
            Visitor::Guest(ip) => format!("ip:{ip}"),
            Visitor::Account(id) => super::upload::account_holder(*id),
        }
    }
}

impl AuthService {
    pub(super) fn new(deps: Deps) -> Self {
        let signer = Signer::new(deps.public.clone());
        Self { deps, signer }
    }

    /// Signs a visitor in on the pages with username and password; returns a session token.
    /// Failures fall under the API's lockout policy (per account and address, with a looser
    /// ceiling per address): past it the answer is `Error::RateLimited`.
    #[instrument(skip_all)]
    pub async fn page_login(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> Result<String> {
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
        let expires = self.deps.now_plus(self.deps.config.page_session_ttl);
        let mac = self
            .signer
            .mac(&session_message(
                account.id,
                expires,
                account.password_hash.as_deref(),
            ))
            .await?;
        Ok(format!("{}.{}.{mac}", account.id, expires.timestamp()))
    }

    /// The visitor a session token stands for (a guest at `address` without a valid one).
    pub async fn page_visitor(&self, session: Option<&str>, address: &str) -> Result<Visitor> {
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
            .signer
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

    /// Logs in with an API key pair; any failure is `Error::AuthFailed`.
    #[instrument(skip_all)]
    pub async fn authorize_with_key(
        &self,
        key1: &str,
        key2: &str,
        ip: &str,
    ) -> Result<(String, AccountId)> {
        let record = self.deps.accounts.api_key(key1).await?;
        let subject = format!("key:{key1}");
        let account = record.as_ref().map(|r| r.account_id);
        let stored = record.map(|r| r.key2_hash);
        self.attempt(account, &subject, ip, key2, stored).await
    }

    /// Logs in with username and password; any failure is `Error::AuthFailed`.
    #[instrument(skip_all)]
    pub async fn authorize_with_password(
        &self,
        username: &str,
        password: &str,
        ip: &str,
    ) -> Result<(String, AccountId)> {
        let account = self.deps.accounts.account_by_username(username).await?;
        let subject = format!("user:{}", username.to_lowercase());
        let id = account.as_ref().map(|a| a.id);
        let stored = account.and_then(|a| a.password_hash);
        self.attempt(id, &subject, ip, password, stored).await
    }

    /// One login attempt under the lockout policy. A locked key fails like wrong credentials
    /// (the documented message covers both) without the secret even being checked.
    async fn attempt(
        &self,
        account: Option<AccountId>,
        subject: &str,
        ip: &str,
        candidate: &str,
        stored: Option<String>,
    ) -> Result<(String, AccountId)> {
        let attempt = LoginAttempt {
            account,
            subject,
            ip,
        };
        match verify_under_lockout(&self.deps, &attempt, candidate, stored).await {
            Ok(account) => self.issue(account, ip).await,
            Err(Error::RateLimited(_)) => Err(Error::AuthFailed),
            Err(err) => Err(err),
        }
    }

    async fn issue(&self, account_id: AccountId, ip: &str) -> Result<(String, AccountId)> {
        let account = self
            .deps
            .accounts
            .account(account_id)
            .await?
            .ok_or(Error::AuthFailed)?;
        if !account.status.signs_in() {
            return Err(Error::AuthFailed);
        }
        let token = secret::new_access_token();
        let now = self.deps.now();
        let expires_at = self.deps.now_plus(self.deps.config.access_token_ttl);
        self.deps
            .tokens
            .insert_access_token(&secret::token_digest(&token), account_id, now, expires_at)
            .await?;
        self.deps.accounts.record_login(account_id, now, ip).await?;
        Ok((token, account_id))
    }

    /// Checks `access_token` then `account_id`, in the documented order and with the documented
    /// refusals: the token must be live and the account's.
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        account_id: Option<&str>,
    ) -> Result<AccountId> {
        let (token, account_id) = credentials(token, account_id)?;
        match self.token_owner(token).await? {
            Some(owner) if owner == account_id => Ok(account_id),
            _ => Err(Error::InvalidToken),
        }
    }

    /// As [`Self::authenticate`], for calls that read an account (`account/info`,
    /// `account/package`): an administrator's token may name any account (an unknown one is
    /// `NotFound(TargetAccount)`); anyone else's only its own. Answers the account to read.
    pub async fn authenticate_reader(
        &self,
        token: Option<&str>,
        account_id: Option<&str>,
    ) -> Result<AccountId> {
        let (token, account_id) = credentials(token, account_id)?;
        let owner = self.token_owner(token).await?.ok_or(Error::InvalidToken)?;
        if owner == account_id {
            return Ok(account_id);
        }
        if self.vouch_admin(owner).await.is_err() {
            return Err(Error::InvalidToken);
        }
        match self.deps.accounts.account(account_id).await? {
            Some(_) => Ok(account_id),
            None => Err(Error::NotFound(crate::error::Entity::TargetAccount)),
        }
    }

    /// Checks the token of an administrator's call, as the real server's admin endpoints do:
    /// the token alone (their `account_id` names the account acted on), then the role.
    pub async fn authenticate_admin(&self, token: Option<&str>) -> Result<Admin> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(Error::MissingParam("access_token"))?;
        let owner = self.token_owner(token).await?.ok_or(Error::UnknownToken)?;
        self.vouch_admin(owner).await
    }

    async fn vouch_admin(&self, id: AccountId) -> Result<Admin> {
        match self.deps.accounts.account(id).await? {
            Some(account) if account.role == Role::Admin && account.status.signs_in() => {
                Ok(Admin::vouched())
            }
            _ => Err(Error::Refused(Refusal::NotAdmin)),
        }
    }

    /// The account of a live access token, sliding its expiry (at most once per refresh
    /// grain); `None` for a token that is unknown or expired.
    async fn token_owner(&self, token: &str) -> Result<Option<AccountId>> {
        if token.len() != secret::ACCESS_TOKEN_LEN {
            return Ok(None);
        }
        let digest = secret::token_digest(token);
        let Some(record) = self.deps.tokens.access_token(&digest).await? else {
            return Ok(None);
        };
        let now = self.deps.now();
        if record.expires_at <= now {
            return Ok(None);
        }
        let ttl = chrono::Duration::from_std(self.deps.config.access_token_ttl).unwrap_or_default();
        let grain = chrono::Duration::from_std(self.deps.config.access_token_refresh_grain)
            .unwrap_or_default();
        if record.expires_at - now < ttl - grain {
            self.deps
                .tokens
                .refresh_access_token(&digest, now + ttl)
                .await?;
        }
        Ok(Some(record.account_id))
    }

    /// Revokes a token after checking it as every endpoint does.
    pub async fn disable(&self, token: Option<&str>, account_id: Option<&str>) -> Result<()> {
        let account = self.authenticate(token, account_id).await?;
        let digest = secret::token_digest(token.unwrap_or_default());
        self.deps
            .tokens
            .delete_access_token(&digest, account)
            .await?;
        Ok(())
    }
}

/// `access_token` and `account_id`, present, in the documented order; an `account_id` that is
/// no id is a token that does not match it.
fn credentials<'a>(
    token: Option<&'a str>,
    account_id: Option<&str>,
) -> Result<(&'a str, AccountId)> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or(Error::MissingParam("access_token"))?;
    let account_id = account_id
        .filter(|a| !a.is_empty())
        .ok_or(Error::MissingParam("account_id"))?;
    let account_id = AccountId::parse(account_id).ok_or(Error::InvalidToken)?;
    Ok((token, account_id))
}

/// Who tries to log in, from where, as the lockout counts it.
pub(super) struct LoginAttempt<'a> {
    /// The account the name or key belongs to, if any.
    pub(super) account: Option<AccountId>,
    /// What was given (`user:NAME`, `key:KEY1`): unknown names count under it, so probing for
    /// names is throttled too.
    pub(super) subject: &'a str,
    /// The client's address.
    pub(super) ip: &'a str,
}

/// Checks a secret under the lockout policy shared by the API's `/authorize` and the pages'
/// login: failures are counted per (account, address), per address (a looser ceiling) and per
/// account. A locked attempt is `Error::RateLimited` (the window, in seconds) without the
/// secret being checked; a wrong secret is `Error::AuthFailed`.
pub(super) async fn verify_under_lockout(
    deps: &Deps,
    attempt: &LoginAttempt<'_>,
    candidate: &str,
    stored: Option<String>,
) -> Result<AccountId> {
    let policy = &deps.config.lockout;
    let account_key = attempt
        .account
        .map_or_else(|| attempt.subject.to_owned(), |id| format!("account:{id}"));
    let pair_key = format!("{account_key}|ip:{}", attempt.ip);
    let ip_key = format!("ip:{}", attempt.ip);
    let window = chrono::Duration::from_std(policy.window).unwrap_or_default();
    let since = deps.clock.now() - window;
    let logins = &deps.logins;
    let locked = logins.login_failures_since(&pair_key, since).await?
        >= policy.per_account_and_address
        || logins.login_failures_since(&ip_key, since).await? >= policy.per_address
        || logins.login_failures_since(&account_key, since).await? >= policy.per_account;
    if locked {
        warn!("login refused: locked out after too many failures");
        return Err(Error::RateLimited(policy.window.as_secs().max(1)));
    }
    if !verify_secret(candidate, stored).await {
        let keys = [pair_key, ip_key, account_key];
        logins.record_login_failure(&keys, deps.clock.now()).await?;
        return Err(Error::AuthFailed);
    }
    let account = attempt.account.ok_or(Error::AuthFailed)?;
    logins.clear_login_failures(&pair_key).await?;
    Ok(account)
}

/// argon2 verification on the blocking pool; a missing hash is verified against a dummy so that
/// unknown users cost the same time as known ones.
async fn verify_secret(candidate: &str, stored: Option<String>) -> bool {
    let candidate = candidate.to_owned();
    let known = stored.is_some();
    let phc = stored.unwrap_or_else(|| secret::dummy_password_hash().to_owned());
    let verified = tokio::task::spawn_blocking(move || secret::verify_password(&candidate, &phc))
        .await
        .unwrap_or(false);
    known && verified
}

/// What a page session signs: the password hash is part of it, so a new password ends every
/// session.
fn session_message(id: AccountId, expires: DateTime<Utc>, password_hash: Option<&str>) -> String {
    format!(
        "session|{id}|{}|{}",
        expires.timestamp(),
        password_hash.unwrap_or("")
    )
}

fn split3(raw: &str) -> Option<(&str, &str, &str)> {
    let mut parts = raw.splitn(3, '.');
    Some((parts.next()?, parts.next()?, parts.next()?))
}
