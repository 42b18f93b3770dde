//! `/authorize`, token checks and `/disable_access_token` (SPEC.md §2).

use super::Deps;
use crate::error::{Error, Result};
use crate::ids::AccountId;
use crate::secret;
use tracing::{instrument, warn};

/// Issues, checks and revokes access tokens.
#[derive(Clone)]
pub struct AuthService {
    deps: Deps,
}

impl AuthService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
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
        let policy = &self.deps.config.lockout;
        // Unknown names count under the name given, so probing for names is throttled too.
        let account_key = account.map_or_else(|| subject.to_owned(), |id| format!("account:{id}"));
        let pair_key = format!("{account_key}|ip:{ip}");
        let ip_key = format!("ip:{ip}");
        let window = chrono::Duration::from_std(policy.window).unwrap_or_default();
        let since = self.deps.clock.now() - window;
        let logins = &self.deps.logins;
        let locked = logins.login_failures_since(&pair_key, since).await?
            >= policy.per_account_and_address
            || logins.login_failures_since(&ip_key, since).await? >= policy.per_address
            || logins.login_failures_since(&account_key, since).await? >= policy.per_account;
        if locked {
            warn!("login refused: locked out after too many failures");
            return Err(Error::AuthFailed);
        }
        if !verify_secret(candidate, stored).await {
            let keys = [pair_key, ip_key, account_key];
            logins
                .record_login_failure(&keys, self.deps.clock.now())
                .await?;
            return Err(Error::AuthFailed);
        }
        let account = account.ok_or(Error::AuthFailed)?;
        logins.clear_login_failures(&pair_key).await?;
        self.issue(account, ip).await
    }

    async fn issue(&self, account_id: AccountId, ip: &str) -> Result<(String, AccountId)> {
        let account = self
            .deps
            .accounts
            .account(account_id)
            .await?
            .ok_or(Error::AuthFailed)?;
        if account.status != "active" {
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
    /// refusals, and slides the token's expiry (at most once per refresh grain).
    pub async fn authenticate(
        &self,
        token: Option<&str>,
        account_id: Option<&str>,
    ) -> Result<AccountId> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(Error::MissingParam("access_token"))?;
        let account_id = account_id
            .filter(|a| !a.is_empty())
            .ok_or(Error::MissingParam("account_id"))?;
        let account_id = AccountId::parse(account_id).ok_or(Error::InvalidToken)?;
        if token.len() != secret::ACCESS_TOKEN_LEN {
            return Err(Error::InvalidToken);
        }
        let digest = secret::token_digest(token);
        let record = self
            .deps
            .tokens
            .access_token(&digest)
            .await?
            .ok_or(Error::InvalidToken)?;
        let now = self.deps.now();
        // The digest lookup already compared the secret; the account check is not secret.
        if record.account_id != account_id || record.expires_at <= now {
            return Err(Error::InvalidToken);
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
        Ok(account_id)
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
