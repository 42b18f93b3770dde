//! Page-aligned byte buffers, reused: what uploads are written from and downloads read into.

use bytes::Bytes;
use std::sync::{Mutex, PoisonError};

/// Alignment of the memory, offset and length of a direct write: the largest logical block
/// size in common use.
pub(crate) const DIRECT_ALIGN: usize = 4096;

/// Size of the buffers of the upload pipeline and of download chunks (a multiple of
/// [`DIRECT_ALIGN`]): large enough that one direct write keeps the disk busy and one read
/// feeds the socket for a while; a transfer holds a handful of them.
pub(crate) const BUFFER_SIZE: usize = 512 << 10;

/// Spare [`BUFFER_SIZE`] buffers, reused by the next buffer of any transfer. Allocating and
/// freeing them by the thousand left the allocator holding ever more memory: with 4 concurrent
/// uploads peak RSS reached 93 MiB when only 2 were kept, 29 MiB with this pool.
static SPARES: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// Spare buffers kept at most (8 MiB).
const SPARES_KEPT: usize = 16;

/// A block of memory as O_DIRECT wants it: page-aligned, and never read through a raw pointer
/// (bytemuck views the blocks as bytes).
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C, align(4096))]
struct Block([u8; DIRECT_ALIGN]);

/// A page-aligned buffer filled up to `len`; [`Bytes::from_owner`] shares it without moving it
/// ([`AlignedBuf::freeze`]). A [`BUFFER_SIZE`] one goes back to the spares when the last
/// reference to it is dropped.
pub(crate) struct AlignedBuf {
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of at least `bytes` bytes (rounded up to whole blocks).
    pub(crate) fn zeroed(bytes: usize) -> Self {
        Self {
            blocks: bytemuck::allocation::zeroed_vec(bytes.div_ceil(DIRECT_ALIGN)),
            len: 0,
        }
    }

    /// An empty [`BUFFER_SIZE`] buffer: a spare if there is one (its old bytes lie beyond
    /// `len`, never read).
    pub(crate) fn take() -> Self {
        let spare = SPARES.lock().unwrap_or_else(PoisonError::into_inner).pop();
        match spare {
            Some(blocks) => Self { blocks, len: 0 },
            None => Self::zeroed(BUFFER_SIZE),
        }
    }

    /// Bytes filled.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn capacity(&self) -> usize {
        self.blocks.len() * DIRECT_ALIGN
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub(crate) fn extend(&mut self, data: &[u8]) -> usize {
        let all: &mut [u8] = bytemuck::cast_slice_mut(&mut self.blocks);
        let taken = data.len().min(all.len() - self.len);
        all[self.len..self.len + taken].copy_from_slice(&data[..taken]);
        self.len += taken;
        taken
    }

    /// The first `len` bytes of the buffer to be overwritten (by a read), counted as filled.
    pub(crate) fn fill(&mut self, len: usize) -> &mut [u8] {
        self.len = len.min(self.capacity());
        &mut bytemuck::cast_slice_mut(&mut self.blocks)[..self.len]
    }

    /// Every block, filled or not (a direct write of a zero-padded tail).
    pub(crate) fn whole(&self) -> &[u8] {
        bytemuck::cast_slice(&self.blocks)
    }

    /// The filled bytes, shared.
    pub(crate) fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if self.capacity() == BUFFER_SIZE {
            let mut spares = SPARES.lock().unwrap_or_else(PoisonError::into_inner);
            if spares.len() < SPARES_KEPT {
                spares.push(std::mem::take(&mut self.blocks));
            }
        }
    }
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.blocks)[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_keep_what_was_put_in() {
        let mut buf = AlignedBuf::take();
        assert_eq!(buf.whole().as_ptr() as usize % DIRECT_ALIGN, 0);
        assert_eq!(buf.extend(b"hello"), 5);
        let rest = vec![7u8; BUFFER_SIZE];
        assert_eq!(buf.extend(&rest), BUFFER_SIZE - 5, "only what fits");
        let bytes = buf.freeze();
        assert_eq!(bytes.len(), BUFFER_SIZE);
        assert_eq!(&bytes[..6], b"hello\x07");
        assert_eq!(bytes.as_ptr() as usize % DIRECT_ALIGN, 0);
    }

    #[test]
    fn a_reused_buffer_starts_empty() {
        let mut first = AlignedBuf::take();
        first.extend(b"secret");
        drop(first);
        let second = AlignedBuf::take();
        assert_eq!(second.len(), 0);
        assert!(second.as_ref().is_empty());
    }
}
