//! HMAC-SHA256 under the site's persisted secret: what the pages sign (download tickets, folder
//! grants, form tokens) and the page sessions of the auth service.

use crate::error::{Error, Result};
use crate::ports::PublicRepo;
use crate::secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Signs messages under the site secret, read (or made, by the first instance to ask) once.
/// Every signer of a site reads the same stored secret, so what one signs another verifies.
#[derive(Clone)]
pub(crate) struct Signer {
    repo: Arc<dyn PublicRepo>,
    key: Arc<OnceCell<Vec<u8>>>,
}

impl Signer {
    pub(crate) fn new(repo: Arc<dyn PublicRepo>) -> Self {
        Self {
            repo,
            key: Arc::new(OnceCell::new()),
        }
    }

    /// The MAC of `message`, hex.
    pub(crate) async fn mac(&self, message: &str) -> Result<String> {
        let key = self
            .key
            .get_or_try_init(|| async {
                let stored = self
                    .repo
                    .secret("public-pages-hmac", &secret::random_hex(32))
                    .await?;
                Ok::<_, Error>(stored.into_bytes())
            })
            .await?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(Error::internal)?;
        mac.update(message.as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }
}
