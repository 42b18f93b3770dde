//! The operator CLI (SPEC.md §6): the exact forms scripts rely on.

pub mod migrate;

use crate::{App, Config};
use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use upvault_core::model::{AccountStatus, PackageLimits, Role};
use upvault_core::PackageId;

/// upvault: a self-hosted file host speaking the File Upload API v2.
#[derive(Debug, Parser)]
#[command(name = "upvault", version, about)]
pub struct Cli {
    /// Configuration file (TOML); `UPVAULT_*` variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API key pairs.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Show and tune packages (account levels and their limits).
    #[command(subcommand)]
    Package(PackageCommand),
    /// Copy a whole installation (every row and blob) from the database and storage of
    /// SOURCE_CONFIG into this config's, e.g. SQLite + local disk into PostgreSQL + S3. Stop
    /// the source's servers first (a live one is detected and refused); run it again after an
    /// interruption to continue.
    Migrate {
        /// The source installation's config file; `UPVAULT_*` variables do not apply to it
        /// (they describe the destination).
        #[arg(long, value_name = "SOURCE_CONFIG")]
        from: PathBuf,
        /// Copy even though a server seems to use the source (uploads it takes meanwhile may
        /// be missed).
        #[arg(long)]
        force: bool,
    },
}

/// `user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints its id.
    Add {
        /// Login name.
        username: String,
        /// Password (at least 8 characters).
        #[arg(long)]
        password: String,
        /// Contact address.
        #[arg(long, default_value = "")]
        email: String,
        /// Package id (default: the free package).
        #[arg(long)]
        package: Option<i64>,
        /// `admin` administers the site; `user` (the default) only its own files.
        #[arg(long, value_enum, default_value_t = RoleArg::User)]
        role: RoleArg,
        /// Print `{"id": "…", "username": "…"}`.
        #[arg(long)]
        json: bool,
    },
    /// Make an account an administrator (`admin`) or a plain `user`.
    Role {
        /// Login name.
        username: String,
        /// The new role.
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Set a new password (e.g. the first start's admin password was lost); ends the
    /// account's access tokens. Reads the password from `--password`, else from stdin.
    Passwd {
        /// Login name.
        username: String,
        /// The new password (at least 8 characters); without it, the first line of stdin.
        #[arg(long)]
        password: Option<String>,
    },
    /// Suspend an account: every login (API and pages) is refused and its access tokens end
    /// now; its files stay.
    Suspend {
        /// Login name.
        username: String,
    },
    /// Let a suspended account sign in again.
    Activate {
        /// Login name.
        username: String,
    },
}

/// A role as typed on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Administers the site.
    Admin,
    /// Only its own files and folders.
    User,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::User => Role::User,
        }
    }
}

/// `apikey …`.
#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Issue a key pair for /authorize; prints key1 and key2 (key2 is shown only now).
    Create {
        /// The account.
        username: String,
        /// Print `{"key1": "…", "key2": "…"}`.
        #[arg(long)]
        json: bool,
    },
}

/// `package …`.
#[derive(Debug, Subcommand)]
pub enum PackageCommand {
    /// List packages and their limits.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set fields of a package: `package set 1 wait_between_downloads=30 download_speed=0`.
    Set {
        /// Package id.
        id: i64,
        /// `KEY=VALUE` pairs: label, level_type, or a limit.
        #[arg(required = true, value_name = "KEY=VALUE")]
        assignments: Vec<String>,
    },
}

/// Runs a command other than `serve`, writing its output to stdout.
pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    if let Command::Migrate { from, force } = &command {
        return migrate::run(config, from, *force).await;
    }
    let app = App::build(config).await?;
    let services = &app.services;
    match command {
        Command::Serve => anyhow::bail!("serve is run by main"),
        Command::Migrate { .. } => anyhow::bail!("migrate is run before the app is built"),
        Command::User(UserCommand::Add {
            username,
            password,
            email,
            package,
            role,
            json,
        }) => {
            let role = Role::from(role);
            let account = services
                .accounts
                .create_user(&username, &password, &email, package.map(PackageId), role)
                .await
                .map_err(|err| {
                    explain(err, || match package {
                        Some(id) => no_package(id),
                        None => "the default package is missing".to_owned(),
                    })
                })
                .context("could not create the account")?;
            if json {
                let out =
                    serde_json::json!({"id": account.id.to_string(), "username": account.username});
                println!("{out}");
            } else {
                println!("{}", account.id);
            }
        }
        Command::User(UserCommand::Passwd { username, password }) => {
            let password = match password {
                Some(password) => password,
                None => read_password_line()?,
            };
            services
                .accounts
                .set_password(&username, &password)
                .await
                .map_err(|err| explain(err, || no_account(&username)))
                .with_context(|| format!("could not set the password of {username:?}"))?;
            println!("password of {username} changed; its access tokens have ended");
        }
        Command::User(UserCommand::Role { username, role }) => {
            let role = Role::from(role);
            services
                .accounts
                .set_role(&username, role)
                .await
                .map_err(|err| explain(err, || no_account(&username)))
                .with_context(|| format!("could not change the role of {username:?}"))?;
            println!("{username} is now {}", role.as_str());
        }
        Command::User(UserCommand::Suspend { username }) => {
            set_status(services, &username, AccountStatus::Suspended).await?;
            println!("{username} is suspended; its access tokens have ended");
        }
        Command::User(UserCommand::Activate { username }) => {
            set_status(services, &username, AccountStatus::Active).await?;
            println!("{username} is active");
        }
        Command::Apikey(ApikeyCommand::Create { username, json }) => {
            let (key1, key2) = services
                .accounts
                .create_api_key(&username)
                .await
                .map_err(|err| explain(err, || no_account(&username)))
                .with_context(|| format!("could not create a key pair for {username:?}"))?;
            if json {
                println!("{}", serde_json::json!({"key1": key1, "key2": key2}));
            } else {
                println!("key1: {key1}\nkey2: {key2}");
            }
        }
        Command::Package(PackageCommand::List { json }) => {
            let packages = services
                .accounts
                .packages()
                .await
                .map_err(anyhow::Error::from)?;
            if json {
                let list: Vec<_> = packages.iter().map(package_json).collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for package in &packages {
                    println!("{} {} ({})", package.id, package.label, package.level_type);
                    for (key, value) in package.limits.entries() {
                        println!("    {key} = {value}");
                    }
                }
            }
        }
        Command::Package(PackageCommand::Set { id, assignments }) => {
            let mut package = None;
            for assignment in &assignments {
                let (key, value) = assignment
                    .split_once('=')
                    .with_context(|| format!("{assignment:?} is not KEY=VALUE"))?;
                package = Some(
                    services
                        .accounts
                        .set_package_field(PackageId(id), key.trim(), value)
                        .await
                        .map_err(|err| explain(err, || no_package(id)))
                        .with_context(|| format!("could not set {assignment:?} on package {id}"))?,
                );
            }
            if let Some(package) = package {
                println!("{}", serde_json::to_string_pretty(&package_json(&package))?);
            }
        }
    }
    Ok(())
}

async fn set_status(
    services: &upvault_core::service::Services,
    username: &str,
    status: AccountStatus,
) -> anyhow::Result<()> {
    services
        .accounts
        .set_status(username, status)
        .await
        .map_err(|err| explain(err, || no_account(username)))
        .with_context(|| format!("could not make {username:?} {}", status.as_str()))
}

/// A domain error as the operator reads it: a lookup that found nothing names what they typed.
fn explain(err: upvault_core::Error, missing: impl FnOnce() -> String) -> anyhow::Error {
    match err {
        upvault_core::Error::NotFound(_) => anyhow::anyhow!(missing()),
        err => err.into(),
    }
}

fn no_package(id: i64) -> String {
    format!("there is no package with id {id} (`upvault package list` shows them)")
}

fn no_account(username: &str) -> String {
    format!("there is no account named {username:?}")
}

/// The first line of stdin, without its line end (`echo … | upvault user passwd admin`).
fn read_password_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("could not read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn package_json(package: &upvault_core::model::Package) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    object.insert("id".into(), package.id.to_string().into());
    object.insert("label".into(), package.label.clone().into());
    object.insert("level_type".into(), package.level_type.clone().into());
    for key in PackageLimits::KEYS {
        let value = package
            .limits
            .entries()
            .into_iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, v)| v);
        object.insert((*key).into(), value.to_string().into());
    }
    serde_json::Value::Object(object)
}
