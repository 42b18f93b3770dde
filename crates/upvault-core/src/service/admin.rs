//! What administrators do to other accounts through the API (the real server's admin
//! endpoints: `account/create`, `account/edit`, `account/delete`, `package/listing`, and our
//! `account/find`). Every operation takes an [`Admin`], which only
//! [`AuthService::authenticate_admin`](super::AuthService::authenticate_admin) makes, so none
//! runs without the role check.

use super::account::{check_password, check_username, hash_blocking, FREE_PACKAGE, GUEST_PACKAGE};
use super::Deps;
use crate::error::{Entity, Error, Refusal, Result, Unique};
use crate::ids::{AccountId, PackageId};
use crate::model::{Account, AccountStatus, NewAccount, Package, Role};
use chrono::{DateTime, Utc};

/// Proof that the caller's administrator role was checked for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admin(());

impl Admin {
    /// Only the auth service calls this, after reading the account's role.
    pub(super) fn vouched() -> Self {
        Self(())
    }
}

/// A new account as an administrator describes it.
#[derive(Debug, Clone)]
pub struct AccountDraft {
    /// Login name.
    pub username: String,
    /// Password, checked by the one password rule.
    pub password: String,
    /// Email address, unique among accounts.
    pub email: String,
    /// The package; the free package when `None`.
    pub package: Option<PackageId>,
    /// Whether it may sign in.
    pub status: AccountStatus,
    /// `Mr`, `Ms`, `Mrs`, `Miss`, `Dr` or empty.
    pub title: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// When a paid package expires.
    pub paid_expiry_at: Option<DateTime<Utc>>,
}

/// What an administrator changes in an account; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// A new password (its tokens end).
    pub password: Option<String>,
    /// A new email address, unique among the other accounts.
    pub email: Option<String>,
    /// Another package.
    pub package: Option<PackageId>,
    /// Another status (any but active ends its tokens).
    pub status: Option<AccountStatus>,
    /// Another title.
    pub title: Option<String>,
    /// Another first name.
    pub first_name: Option<String>,
    /// Another last name.
    pub last_name: Option<String>,
    /// Another paid expiry.
    pub paid_expiry_at: Option<DateTime<Utc>>,
}

/// Account management for administrators.
#[derive(Clone)]
pub struct AdminService {
    deps: Deps,
}

impl AdminService {
    pub(super) fn new(deps: Deps) -> Self {
        Self { deps }
    }

    /// Every package, the guest package included.
    pub async fn packages(&self, _by: Admin) -> Result<Vec<Package>> {
        self.deps.accounts.packages().await
    }

    /// Makes a user account (never an administrator: that stays the operator's, on the CLI).
    pub async fn create_account(&self, _by: Admin, draft: AccountDraft) -> Result<Account> {
        let username = check_username(&draft.username)?;
        check_password(&draft.password)?;
        let email = self.unused_email(&draft.email, None).await?;
        if self
            .deps
            .accounts
            .account_by_username(&username)
            .await?
            .is_some()
        {
            return Err(Error::Taken(Unique::Username));
        }
        let package_id = self
            .assignable(draft.package.unwrap_or(FREE_PACKAGE))
            .await?;
        let password_hash = hash_blocking(draft.password).await?;
        self.deps
            .accounts
            .create_account(NewAccount {
                username,
                email,
                password_hash: Some(password_hash),
                package_id,
                created_at: self.deps.now(),
                role: Role::User,
                status: draft.status,
                title: draft.title,
                first_name: draft.first_name,
                last_name: draft.last_name,
                paid_expiry_at: draft.paid_expiry_at,
            })
            .await
    }

    /// Changes a user account; an administrator's account is refused.
    pub async fn edit_account(
        &self,
        _by: Admin,
        id: AccountId,
        changes: AccountChanges,
    ) -> Result<Account> {
        let mut account = self.target(id).await?;
        if account.role == Role::Admin {
            return Err(Error::Refused(Refusal::EditAdmin));
        }
        let mut end_tokens = false;
        if let Some(password) = changes.password {
            check_password(&password)?;
            account.password_hash = Some(hash_blocking(password).await?);
            end_tokens = true;
        }
        if let Some(email) = changes.email {
            account.email = self.unused_email(&email, Some(id)).await?;
        }
        if let Some(package) = changes.package {
            account.package_id = self.assignable(package).await?;
        }
        if let Some(status) = changes.status {
            account.status = status;
            end_tokens |= !status.signs_in();
        }
        account.title = changes.title.unwrap_or(account.title);
        account.first_name = changes.first_name.unwrap_or(account.first_name);
        account.last_name = changes.last_name.unwrap_or(account.last_name);
        account.paid_expiry_at = changes.paid_expiry_at.or(account.paid_expiry_at);
        if !self
            .deps
            .accounts
            .save_account(&account, end_tokens)
            .await?
        {
            return Err(Error::NotFound(Entity::TargetAccount));
        }
        Ok(account)
    }

    /// Deletes a user account with everything it holds (never an administrator's, so never
    /// the caller's own).
    pub async fn delete_account(&self, _by: Admin, id: AccountId) -> Result<()> {
        let account = self.target(id).await?;
        if account.role == Role::Admin {
            return Err(Error::Refused(Refusal::DeleteAdmin));
        }
        if !self.deps.accounts.delete_account(id).await? {
            return Err(Error::NotFound(Entity::TargetAccount));
        }
        Ok(())
    }

    /// The account with this username (exactly) or else this email address (any case).
    pub async fn find_account(
        &self,
        _by: Admin,
        username: Option<&str>,
        email: Option<&str>,
    ) -> Result<Account> {
        let by_name = match username {
            Some(name) => self.deps.accounts.account_by_username(name.trim()).await?,
            None => None,
        };
        let found = match (by_name, email) {
            (Some(account), _) => Some(account),
            (None, Some(email)) => self.deps.accounts.account_by_email(email.trim()).await?,
            (None, None) => None,
        };
        found.ok_or(Error::NotFound(Entity::FoundAccount))
    }

    async fn target(&self, id: AccountId) -> Result<Account> {
        self.deps
            .accounts
            .account(id)
            .await?
            .ok_or(Error::NotFound(Entity::TargetAccount))
    }

    /// A package an account may hold: one that exists, and not the visitors' package.
    async fn assignable(&self, id: PackageId) -> Result<PackageId> {
        if id == GUEST_PACKAGE {
            return Err(Error::Refused(Refusal::GuestPackage));
        }
        self.deps
            .accounts
            .package(id)
            .await?
            .ok_or(Error::NotFound(Entity::TargetPackage))?;
        Ok(id)
    }

    /// `email` lower-cased, if it is an address no other account than `owner` has.
    async fn unused_email(&self, email: &str, owner: Option<AccountId>) -> Result<String> {
        let email = email.trim().to_lowercase();
        if !plausible_email(&email) {
            return Err(Error::InvalidParam(INVALID_EMAIL.to_owned()));
        }
        match self.deps.accounts.account_by_email(&email).await? {
            Some(other) if Some(other.id) != owner => Err(Error::Taken(Unique::Email)),
            _ => Ok(email),
        }
    }
}

/// The real server's message for an address it cannot use.
const INVALID_EMAIL: &str = "The email address you entered appears to be invalid.";

/// Whether `email` is an address mail can go to on the internet: RFC 5321/5322's syntax
/// (the `email_address` crate) with a dotted domain, as PHP's `FILTER_VALIDATE_EMAIL` wants
/// it. Deliverability is the mail server's to say; this keeps typing mistakes out.
pub fn plausible_email(email: &str) -> bool {
    // The crate also takes `Name <address>`: only a bare address is one we store.
    email_address::EmailAddress::parse_with_options(email, email_address::Options::default())
        .is_ok_and(|address| {
            address.email() == email
                && address.domain().contains('.')
                && !address.domain().starts_with('[')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        })
}

#[cfg(test)]
mod tests {
    use super::plausible_email;

    #[test]
    fn addresses_people_type_pass_and_typing_mistakes_do_not() {
        for good in [
            "a@b.co",
            "first.last+tag@example.com",
            "o'neil@mail.example.org",
            "δοκιμή@παράδειγμα.δοκιμή",
        ] {
            assert!(plausible_email(good), "{good}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@localhost",
            "a b@example.com",
            "a@@example.com",
            "a@exa mple.com",
            "a@example..com",
            ".a@example.com",
            "a..b@example.com",
            "a@-example.com",
            "a@example.com\n",
            "Bob <bob@example.com>",
            " <\u{a0}-@zE.E> ",
        ] {
            assert!(!plausible_email(bad), "{bad:?}");
        }
    }
}
