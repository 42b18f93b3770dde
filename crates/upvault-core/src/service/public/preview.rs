//! What a file page shows of the content: raster images inline (capped in size), the first
//! lines of text files, an icon for the rest.

use super::{Gate, Grants, PublicService};
use crate::error::{Entity, Error, Result};
use crate::model::{ByteRange, File};
use crate::ports::ByteStream;
use futures::TryStreamExt;
use tracing::warn;

/// Raster types shown as an image preview; anything else (SVG, HTML, XML, ...) could run
/// script or restyle the page, so it is never shown inline.
pub const RASTER_PREVIEW_TYPES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// What a file page shows in place of the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preview {
    /// A raster image, served by the preview route.
    Image,
    /// The first lines of a text file (to be escaped by the page).
    Text(String),
    /// An icon.
    None,
}

impl PublicService {
    /// The bytes of a raster image preview (not counted as a download; capped in size).
    pub async fn preview(&self, short_url: &str, grants: &Grants) -> Result<(File, ByteStream)> {
        let Gate::Open(file) = self.visible_file(short_url, grants).await? else {
            return Err(Error::NotFound(Entity::File));
        };
        if !self.is_image_preview(&file) {
            return Err(Error::NotFound(Entity::File));
        }
        let stream = self.deps.blobs.read(&file.blob_key, None).await?;
        Ok((file, stream))
    }

    pub(super) fn is_image_preview(&self, file: &File) -> bool {
        RASTER_PREVIEW_TYPES.contains(&file.mime_type.as_str())
            && file.size_bytes <= self.config.preview_max_bytes
    }

    pub(super) async fn preview_of(&self, file: &File) -> Preview {
        if self.is_image_preview(file) {
            return Preview::Image;
        }
        if !is_text(&file.mime_type) || file.size_bytes == 0 {
            return Preview::None;
        }
        let end = file.size_bytes.min(self.config.text_preview_bytes.max(1)) - 1;
        let range = Some(ByteRange { start: 0, end });
        let read = async {
            let stream = self.deps.blobs.read(&file.blob_key, range).await?;
            let chunks: Vec<bytes::Bytes> = stream.try_collect().await.map_err(Error::internal)?;
            Ok::<_, Error>(chunks.concat())
        };
        match read.await {
            Ok(head) => {
                let text = String::from_utf8_lossy(&head);
                let lines: Vec<&str> = text.lines().take(self.config.text_preview_lines).collect();
                Preview::Text(lines.join("\n"))
            }
            Err(err) => {
                warn!(%err, file = %file.id, "could not read a text preview");
                Preview::None
            }
        }
    }
}

/// Types whose first lines are worth showing (escaped) on the page.
fn is_text(mime: &str) -> bool {
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json" | "application/xml" | "application/javascript" | "application/toml"
        )
}
