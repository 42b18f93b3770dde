//! One request's uploads, whatever carries them (the API's multipart form today; the web app's
//! form, tus and WebDAV call the same): files received into temporary blobs as they arrive,
//! committed together once the request has been read, and no temporary object left behind on
//! any path.

use super::upload::{Arrival, SlotGuard, UploadPolicy, UploadService};
use crate::error::{Error, Result};
use crate::ids::{AccountId, FolderId};
use crate::model::{File, UploadSource};
use crate::ports::{BlobStore, ByteStream, TempBlob};
use std::sync::Arc;
use tracing::warn;

/// Whether the request's body is worth reading on after a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOn {
    /// Go on to the next part.
    Yes,
    /// A file passed a size limit: the rest of the body would be refused as well.
    No,
}

/// What became of one file of a batch, in the order the files came.
#[derive(Debug)]
pub struct FileOutcome {
    /// The name the client gave.
    pub filename: String,
    /// The committed file, or why it was refused.
    pub result: Result<File>,
}

/// A file of the batch so far.
enum Part {
    Received {
        filename: String,
        declared_type: Option<String>,
        temp: TempBlob,
        /// The `concurrent_uploads` slot, held until the batch ends.
        _slot: SlotGuard,
    },
    Refused {
        filename: String,
        error: Error,
    },
}

/// The uploads of one request. Files may come before the credentials (PHP clients never had
/// to care about the order): until [`UploadBatch::sign_in`], a file is received under the
/// operator's cap for unauthenticated parts and checked against the account's limits at
/// [`UploadBatch::commit`]; after it, the account's limits cut each stream as soon as it passes
/// them. Dropped before `commit` or `discard` (an error, a cancelled request), the batch
/// removes its temporary objects in a task of its own.
pub struct UploadBatch {
    uploads: UploadService,
    blobs: Arc<dyn BlobStore>,
    source: UploadSource,
    ip: String,
    uploader: Option<(AccountId, UploadPolicy)>,
    parts: Vec<Part>,
}

impl UploadBatch {
    pub(super) fn new(
        uploads: UploadService,
        blobs: Arc<dyn BlobStore>,
        source: UploadSource,
        ip: &str,
    ) -> Self {
        Self {
            uploads,
            blobs,
            source,
            ip: ip.to_owned(),
            uploader: None,
            parts: Vec::new(),
        }
    }

    /// The account the batch uploads to, once signed in.
    pub fn account(&self) -> Option<AccountId> {
        self.uploader.as_ref().map(|(account, _)| *account)
    }

    /// Whether no file has come yet.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Uploads go to `account` (authenticated by the caller) from now on, under its limits.
    pub async fn sign_in(&mut self, account: AccountId) -> Result<()> {
        let policy = self.uploads.policy(account).await?;
        self.uploader = Some((account, policy));
        Ok(())
    }

    /// Receives one file. A refusal (uploads disabled, no free upload slot, a size limit) is
    /// recorded for [`UploadBatch::commit`] to report; only faults are errors.
    pub async fn receive(
        &mut self,
        filename: String,
        declared_type: Option<String>,
        body: ByteStream,
    ) -> Result<ReadOn> {
        let slot = match &self.uploader {
            Some((account, policy)) => match self.uploads.begin(*account, policy).await {
                Ok(slot) => slot,
                Err(error) => {
                    self.parts.push(Part::Refused { filename, error });
                    return Ok(ReadOn::Yes);
                }
            },
            None => SlotGuard::none(),
        };
        let policy = self.uploader.as_ref().map(|(_, policy)| policy);
        match self.uploads.receive(body, policy).await {
            Ok(temp) => {
                self.parts.push(Part::Received {
                    filename,
                    declared_type,
                    temp,
                    _slot: slot,
                });
                Ok(ReadOn::Yes)
            }
            Err(error @ Error::LimitExceeded(_)) => {
                self.parts.push(Part::Refused { filename, error });
                Ok(ReadOn::No)
            }
            Err(error) => Err(error),
        }
    }

    /// Commits every received file into `folder` (a folder that is not the account's: the
    /// root, as the real server does), each in a transaction of its own; what became of each
    /// file, in order. A fault stops the batch: the files not yet committed are dropped, and
    /// the fault is the answer. Must be signed in.
    pub async fn commit(mut self, folder: Option<FolderId>) -> Result<Vec<FileOutcome>> {
        let (account, policy) = self.uploader.ok_or(Error::InvalidToken)?;
        let mut outcomes = Vec::with_capacity(self.parts.len());
        for part in std::mem::take(&mut self.parts) {
            match part {
                Part::Refused { filename, error } => outcomes.push(FileOutcome {
                    filename,
                    result: Err(error),
                }),
                Part::Received {
                    filename,
                    declared_type,
                    temp,
                    _slot,
                } => {
                    let arrival = Arrival {
                        filename: &filename,
                        declared_type: declared_type.as_deref(),
                        source: self.source,
                        ip: &self.ip,
                    };
                    let result = self
                        .uploads
                        .commit(account, &policy, folder, &arrival, temp)
                        .await;
                    if let Err(fault @ Error::Internal(_)) = result {
                        self.discard_all().await;
                        return Err(fault);
                    }
                    outcomes.push(FileOutcome { filename, result });
                }
            }
        }
        Ok(outcomes)
    }

    /// Removes every received file's temporary object (a request refused as a whole).
    pub async fn discard(mut self) {
        self.discard_all().await;
    }

    async fn discard_all(&mut self) {
        for temp in self.take_temps() {
            discard(self.blobs.as_ref(), &temp).await;
        }
    }

    fn take_temps(&mut self) -> Vec<TempBlob> {
        std::mem::take(&mut self.parts)
            .into_iter()
            .filter_map(|part| match part {
                Part::Received { temp, .. } => Some(temp),
                Part::Refused { .. } => None,
            })
            .collect()
    }
}

impl Drop for UploadBatch {
    fn drop(&mut self) {
        let temps = self.take_temps();
        if temps.is_empty() {
            return;
        }
        let blobs = self.blobs.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    for temp in temps {
                        discard(blobs.as_ref(), &temp).await;
                    }
                });
            }
            Err(_) => warn!(
                count = temps.len(),
                "temporary upload objects left without a runtime; start-up clean-up will remove them"
            ),
        }
    }
}

/// Removes a temporary object, logging (not failing on) an error: start-up clean-up removes
/// what is left.
pub(super) async fn discard(blobs: &dyn BlobStore, temp: &TempBlob) {
    if let Err(err) = blobs.discard(&temp.temp_id).await {
        warn!(%err, "could not remove a temporary upload object; start-up clean-up will");
    }
}
