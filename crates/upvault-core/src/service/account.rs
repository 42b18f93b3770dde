//! Accounts, API keys and packages: `/account/info`, `/account/package` and the operator CLI.

use super::Deps;
use crate::error::{Entity, Error, Result};
use crate::ids::{AccountId, PackageId};
use crate::model::{Account, AccountStatus, NewAccount, Package, Role};
use crate::secret;

/// The default packages the first migration creates (SPEC.md: guest, free, premium).
pub const GUEST_PACKAGE: PackageId = PackageId(1);
/// New accounts get this package unless told otherwise.
pub const FREE_PACKAGE: PackageId = PackageId(2);
/// The premium package; the bootstrap admin gets it.
pub const PREMIUM_PACKAGE: PackageId = PackageId(3);

/// What the first start prints once: the admin's credentials.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    /// Always `admin`.
    pub username: String,
    /// A random password.
    pub password: String,
    /// API key1.
    pub key1: String,
    /// API key2.
    pub key2: String,
    /// The account id.
    pub account_id: AccountId,
}

/// Accounts and packages.
#[derive(Clone)]
pub struct AccountService {
    deps: Deps,
}

impl AccountService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// An account; unknown ids are `NotFound`.
    pub async fn account(&self, id: AccountId) -> Result<Account> {
        self.deps
            .accounts
            .account(id)
            .await?
            .ok_or(Error::NotFound(Entity::Account))
    }

    /// Bytes the account's active files take.
    pub async fn storage_used(&self, id: AccountId) -> Result<u64> {
        self.deps.accounts.storage_used_bytes(id).await
    }

    /// The account's package.
    pub async fn package_of(&self, id: AccountId) -> Result<Package> {
        let account = self.account(id).await?;
        self.package(account.package_id).await
    }

    /// A package by id.
    pub async fn package(&self, id: PackageId) -> Result<Package> {
        self.deps
            .accounts
            .package(id)
            .await?
            .ok_or(Error::NotFound(Entity::Package))
    }

    /// The package anonymous visitors get.
    pub async fn guest_package(&self) -> Result<Package> {
        self.package(GUEST_PACKAGE).await
    }

    /// Every package.
    pub async fn packages(&self) -> Result<Vec<Package>> {
        self.deps.accounts.packages().await
    }

    /// Sets one field of a package (`label`, `level_type` or a limit); returns the package.
    pub async fn set_package_field(
        &self,
        id: PackageId,
        key: &str,
        value: &str,
    ) -> Result<Package> {
        let mut package = self.package(id).await?;
        match key {
            "label" => package.label = value.to_owned(),
            "level_type" => package.level_type = value.to_owned(),
            _ => {
                let number: u64 = value.trim().parse().map_err(|_| {
                    Error::InvalidParam(format!("{key} must be a whole number, got {value:?}"))
                })?;
                if !package.limits.set(key, number) {
                    return Err(Error::InvalidParam(format!(
                        "unknown package key {key:?}; known keys: label, level_type, {}",
                        crate::model::PackageLimits::KEYS.join(", ")
                    )));
                }
            }
        }
        self.deps.accounts.update_package(&package).await?;
        Ok(package)
    }

    /// Creates an account with a password and a role.
    pub async fn create_user(
        &self,
        username: &str,
        password: &str,
        email: &str,
        package: Option<PackageId>,
        role: Role,
    ) -> Result<Account> {
        let username = check_username(username)?;
        check_password(password)?;
        let package_id = package.unwrap_or(FREE_PACKAGE);
        self.package(package_id).await?;
        let password_hash = hash_blocking(password.to_owned()).await?;
        self.deps
            .accounts
            .create_account(NewAccount {
                username,
                email: email.to_owned(),
                password_hash: Some(password_hash),
                package_id,
                created_at: self.deps.clock.now(),
                role,
                status: AccountStatus::Active,
                title: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                paid_expiry_at: None,
            })
            .await
    }

    /// The account an operator named.
    async fn account_named(&self, username: &str) -> Result<Account> {
        self.deps
            .accounts
            .account_by_username(username.trim())
            .await?
            .ok_or(Error::NotFound(Entity::Account))
    }

    /// Sets a new password (the operator's way back in when one is lost); the account's
    /// access tokens end with the old password.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        check_password(password)?;
        let mut account = self.account_named(username).await?;
        account.password_hash = Some(hash_blocking(password.to_owned()).await?);
        self.save(&account, true).await
    }

    /// Makes an account an administrator or a plain user.
    pub async fn set_role(&self, username: &str, role: Role) -> Result<()> {
        let mut account = self.account_named(username).await?;
        account.role = role;
        self.save(&account, false).await
    }

    /// Suspends or reactivates an account: a suspended one is refused at every login (API and
    /// pages) and its access tokens end now.
    pub async fn set_status(&self, username: &str, status: AccountStatus) -> Result<()> {
        let mut account = self.account_named(username).await?;
        account.status = status;
        self.save(&account, !status.signs_in()).await
    }

    async fn save(&self, account: &Account, end_tokens: bool) -> Result<()> {
        if !self.deps.accounts.save_account(account, end_tokens).await? {
            return Err(Error::NotFound(Entity::Account));
        }
        Ok(())
    }

    /// Issues a new API key pair for the account; key2 is stored only as a hash.
    pub async fn create_api_key(&self, username: &str) -> Result<(String, String)> {
        let account = self.account_named(username).await?;
        let key1 = secret::random_alphanumeric(secret::API_KEY_LEN);
        let key2 = secret::random_alphanumeric(secret::API_KEY_LEN);
        let key2_hash = hash_blocking(key2.clone()).await?;
        self.deps
            .accounts
            .insert_api_key(account.id, &key1, &key2_hash, self.deps.clock.now())
            .await?;
        Ok((key1, key2))
    }

    /// On a first start with no accounts, creates `admin` with a random password and an API key
    /// pair, and returns them to be printed once.
    pub async fn bootstrap_admin(&self) -> Result<Option<BootstrapAdmin>> {
        if self.deps.accounts.count_accounts().await? > 0 {
            return Ok(None);
        }
        let password = secret::random_alphanumeric(24);
        let account = self
            .create_user("admin", &password, "", Some(PREMIUM_PACKAGE), Role::Admin)
            .await?;
        let (key1, key2) = self.create_api_key("admin").await?;
        Ok(Some(BootstrapAdmin {
            username: account.username,
            password,
            key1,
            key2,
            account_id: account.id,
        }))
    }

    /// Bytes of the account's active files.
    pub async fn storage_used_bytes(&self, id: AccountId) -> Result<u64> {
        self.deps.accounts.storage_used_bytes(id).await
    }
}

pub(super) async fn hash_blocking(secret_text: String) -> Result<String> {
    tokio::task::spawn_blocking(move || secret::hash_password(&secret_text))
        .await
        .map_err(Error::internal)?
        .map_err(Error::Internal)
}

/// The one rule for a password chosen by a person.
pub(super) fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(Error::InvalidParam(
            "Password must be at least 8 characters long.".into(),
        ));
    }
    Ok(())
}

/// The one rule for a login name: 1 to 64 printable characters, outer blanks dropped.
pub(super) fn check_username(username: &str) -> Result<String> {
    let username = username.trim();
    if username.is_empty()
        || username.chars().count() > 64
        || username.chars().any(char::is_control)
    {
        return Err(Error::InvalidParam(
            "Username must be 1 to 64 printable characters long.".into(),
        ));
    }
    Ok(username.to_owned())
}
