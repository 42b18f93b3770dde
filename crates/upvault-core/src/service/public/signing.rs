//! The pages' signed tokens, all under one persisted site secret (HMAC-SHA256): download
//! tickets, folder-password grants, form tokens, and the formats of their messages.

use super::{PublicService, Visitor};
use crate::error::Result;
use crate::ids::{FileId, FolderId};
use crate::model::DownloadRefusal;
use crate::secret;
use chrono::{DateTime, Utc};

impl PublicService {
    /// A grant for the folder `folder` while its password hash is `password_md5`, until
    /// `expires` (`{expires}.{mac}`): a new password voids every grant.
    pub(super) async fn sign_grant(
        &self,
        folder: FolderId,
        password_md5: &str,
        expires: DateTime<Utc>,
    ) -> Result<String> {
        let expires = expires.timestamp();
        let mac = self
            .mac(&format!("grant|{folder}|{expires}|{password_md5}"))
            .await?;
        Ok(format!("{expires}.{mac}"))
    }

    /// Whether `grant` is one [`Self::sign_grant`] made for the folder and password, unexpired.
    pub(super) async fn grant_valid(
        &self,
        grant: &str,
        folder: FolderId,
        password_md5: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some((expires, mac)) = grant.split_once('.') else {
            return Ok(false);
        };
        let Some(expires) = parse_time(expires).filter(|e| *e > now) else {
            return Ok(false);
        };
        let expected = self
            .mac(&format!(
                "grant|{folder}|{}|{password_md5}",
                expires.timestamp()
            ))
            .await?;
        Ok(secret::constant_time_eq(&expected, mac))
    }

    pub(super) async fn sign_ticket(
        &self,
        file: FileId,
        ready_at: DateTime<Utc>,
        expires: DateTime<Utc>,
        visitor: &Visitor,
    ) -> Result<String> {
        // Milliseconds: the wait is enforced to the millisecond, not rounded to a second.
        let (ready, expires) = (ready_at.timestamp_millis(), expires.timestamp_millis());
        let mac = self
            .mac(&format!(
                "ticket|{file}|{ready}|{expires}|{}",
                visitor.key()
            ))
            .await?;
        Ok(format!("{file}.{ready}.{expires}.{mac}"))
    }

    pub(super) async fn check_ticket(
        &self,
        ticket: &str,
        file: FileId,
        visitor: &Visitor,
        now: DateTime<Utc>,
    ) -> Result<Result<(), DownloadRefusal>> {
        let mut parts = ticket.splitn(4, '.');
        let (Some(id), Some(ready), Some(expires), Some(mac)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        };
        let (Some(id), Some(ready_at), Some(expires_at)) = (
            FileId::parse(id),
            parse_millis(ready),
            parse_millis(expires),
        ) else {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        };
        let expected = self
            .mac(&format!(
                "ticket|{id}|{}|{}|{}",
                ready_at.timestamp_millis(),
                expires_at.timestamp_millis(),
                visitor.key()
            ))
            .await?;
        if id != file || !secret::constant_time_eq(&expected, mac) || expires_at <= now {
            return Ok(Err(DownloadRefusal::TicketInvalid));
        }
        if now < ready_at {
            return Ok(Err(DownloadRefusal::Wait { until: ready_at }));
        }
        Ok(Ok(()))
    }

    /// A new token for the page forms of one browser (`{nonce}.{mac}`): signed, so only a
    /// token this site issued passes [`Self::form_token_valid`].
    pub async fn new_form_token(&self) -> Result<String> {
        let nonce = secret::random_hex(16);
        let mac = self.mac(&format!("form|{nonce}")).await?;
        Ok(format!("{nonce}.{mac}"))
    }

    /// Whether `token` is one [`Self::new_form_token`] issued.
    pub async fn form_token_valid(&self, token: &str) -> Result<bool> {
        let Some((nonce, mac)) = token.split_once('.') else {
            return Ok(false);
        };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let expected = self.mac(&format!("form|{nonce}")).await?;
        Ok(secret::constant_time_eq(mac, &expected))
    }

    /// The site secret's MAC of `message`.
    pub(super) async fn mac(&self, message: &str) -> Result<String> {
        self.signer.mac(message).await
    }
}

pub(super) fn parse_millis(raw: &str) -> Option<DateTime<Utc>> {
    raw.parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
}

pub(crate) fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    raw.parse::<i64>()
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
}
