//! Page-aligned byte buffers, reused: what uploads are written from and downloads read into.

use bytes::Bytes;
use memmap2::MmapMut;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

/// Alignment of the memory, offset and length of a direct write: the largest logical block
/// size in common use.
pub(crate) const DIRECT_ALIGN: usize = 4096;

/// Size of download chunks and of upload buffers while several uploads run (a multiple of
/// [`DIRECT_ALIGN`]): large enough that one direct write keeps the disk busy and one read
/// feeds the socket for a while; a transfer holds a handful of them.
pub(crate) const BUFFER_SIZE: usize = 512 << 10;

/// Upload buffer of a lone upload. Each buffer is a hand-off to three threads (MD5, SHA-256,
/// the writer) and wakes them: with 2 MiB buffers a 1 GiB upload switched context half as
/// often and took 2.1 s instead of 2.45 s. 4 MiB was no faster.
pub(crate) const UPLOAD_BUFFER_MAX: usize = 2 << 20;

/// Uploads whose buffers are being filled (live [`UploadShare`]s).
static UPLOADS: AtomicUsize = AtomicUsize::new(0);

/// Spare buffers, reused by the next buffer of that size of any transfer: a fresh one costs a
/// page fault per 4 KiB.
static SPARES: Mutex<Spares> = Mutex::new(Spares { maps: Vec::new() });
/// Bytes of spare buffers kept at most (sixteen of [`BUFFER_SIZE`]).
const SPARES_KEPT: usize = 8 << 20;

/// The spare buffers, of any of the sizes in use, oldest first.
struct Spares {
    maps: Vec<MmapMut>,
}

impl Spares {
    /// Bytes kept (a handful of spares, summed when asked).
    fn bytes(&self) -> usize {
        self.maps.iter().map(|map| map.len()).sum()
    }

    /// A spare of exactly `size` bytes.
    fn take(&mut self, size: usize) -> Option<MmapMut> {
        let at = self.maps.iter().rposition(|spare| spare.len() == size)?;
        Some(self.maps.remove(at))
    }

    /// Keeps `spare` if it fits, making room by unmapping spares of other sizes (the sizes
    /// uploads no longer ask for, once more of them run), oldest first.
    fn keep(&mut self, spare: MmapMut) {
        while self.bytes() + spare.len() > SPARES_KEPT {
            let Some(other) = self.maps.iter().position(|old| old.len() != spare.len()) else {
                return;
            };
            self.maps.remove(other);
        }
        self.maps.push(spare);
    }
}

/// One upload's share of the buffer memory, counted while it lives: a lone upload gets large
/// buffers, and as more run at once each gets smaller ones, so that the memory of many
/// concurrent uploads stays that of [`BUFFER_SIZE`] buffers.
pub(crate) struct UploadShare(());

impl UploadShare {
    pub(crate) fn join() -> Self {
        UPLOADS.fetch_add(1, Ordering::Relaxed);
        Self(())
    }

    /// Size of this upload's next buffer, for the uploads running now.
    pub(crate) fn buffer_size(&self) -> usize {
        upload_buffer_size(UPLOADS.load(Ordering::Relaxed))
    }
}

impl Drop for UploadShare {
    fn drop(&mut self) {
        UPLOADS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// [`UPLOAD_BUFFER_MAX`] shared by `uploads`, in powers of two (few sizes, so that spares fit
/// the next upload), never under [`BUFFER_SIZE`].
fn upload_buffer_size(uploads: usize) -> usize {
    let share = (UPLOAD_BUFFER_MAX / uploads.max(1)).max(BUFFER_SIZE);
    1 << share.ilog2()
}

/// A page-aligned buffer filled up to `len`; [`Bytes::from_owner`] shares it without moving it
/// ([`AlignedBuf::freeze`]). One from [`AlignedBuf::take`] goes back to the spares when the
/// last reference to it is dropped.
///
/// The memory is an anonymous mapping of its own, not the allocator's: page-aligned as
/// `O_DIRECT` wants, and returned to the system when unmapped. From the allocator, buffers of
/// several sizes left it holding freed memory that the next size could not use: 10-15 MiB
/// more peak RSS under 4 uploads + 4 downloads after a lone upload; and before the spares,
/// allocating them by the thousand reached 93 MiB.
pub(crate) struct AlignedBuf {
    /// Always there; taken out only when dropped, to go back to the spares.
    map: Option<MmapMut>,
    len: usize,
    reused: bool,
}

impl AlignedBuf {
    /// A zeroed buffer of at least `bytes` bytes (rounded up to whole pages), freed when dropped.
    pub(crate) fn zeroed(bytes: usize) -> io::Result<Self> {
        Ok(Self {
            map: Some(map_zeroed(bytes)?),
            len: 0,
            reused: false,
        })
    }

    /// An empty buffer of `size` bytes (a multiple of [`DIRECT_ALIGN`]), which returns to the
    /// spares when dropped: a spare if there is one (its old bytes lie beyond `len`, never read).
    pub(crate) fn take(size: usize) -> io::Result<Self> {
        let spare = lock_spares().take(size);
        Ok(Self {
            map: Some(match spare {
                Some(map) => map,
                None => map_zeroed(size)?,
            }),
            len: 0,
            reused: true,
        })
    }

    fn memory(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    fn memory_mut(&mut self) -> &mut [u8] {
        self.map.as_deref_mut().unwrap_or_default()
    }

    /// Bytes filled.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes it holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.memory().len()
    }

    /// Appends as much of `data` as fits; returns how much that was.
    pub(crate) fn extend(&mut self, data: &[u8]) -> usize {
        let filled = self.len;
        let free = &mut self.memory_mut()[filled..];
        let taken = data.len().min(free.len());
        free[..taken].copy_from_slice(&data[..taken]);
        self.len += taken;
        taken
    }

    /// The first `len` bytes of the buffer to be overwritten (by a read), counted as filled.
    pub(crate) fn fill(&mut self, len: usize) -> &mut [u8] {
        self.len = len.min(self.capacity());
        let len = self.len;
        &mut self.memory_mut()[..len]
    }

    /// Every block, filled or not (a direct write of a zero-padded tail).
    pub(crate) fn whole(&self) -> &[u8] {
        self.memory()
    }

    /// The filled bytes, shared.
    pub(crate) fn freeze(self) -> Bytes {
        Bytes::from_owner(self)
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        if let Some(map) = self.map.take().filter(|_| self.reused) {
            lock_spares().keep(map);
        }
    }
}

/// `bytes` (rounded up to whole pages) of fresh zeroed memory. Refused when the system has no
/// memory or mappings left to give (`vm.max_map_count`): the transfer fails, not the process.
fn map_zeroed(bytes: usize) -> io::Result<MmapMut> {
    MmapMut::map_anon(bytes.max(1).next_multiple_of(DIRECT_ALIGN))
}

fn lock_spares() -> std::sync::MutexGuard<'static, Spares> {
    SPARES.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AsRef<[u8]> for AlignedBuf {
    fn as_ref(&self) -> &[u8] {
        &self.memory()[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_and_keep_what_was_put_in() {
        let mut buf = AlignedBuf::take(BUFFER_SIZE).unwrap();
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
        let mut first = AlignedBuf::take(BUFFER_SIZE).unwrap();
        first.extend(b"secret");
        drop(first);
        let second = AlignedBuf::take(BUFFER_SIZE).unwrap();
        assert_eq!(second.len(), 0);
        assert!(second.as_ref().is_empty());
    }

    #[test]
    fn a_lone_upload_gets_large_buffers_and_many_share_the_memory() {
        assert_eq!(upload_buffer_size(0), 2 << 20);
        assert_eq!(upload_buffer_size(1), 2 << 20);
        assert_eq!(upload_buffer_size(2), 1 << 20);
        for uploads in [3, 4, 8, 1000] {
            assert_eq!(upload_buffer_size(uploads), BUFFER_SIZE);
        }
        assert_eq!(upload_buffer_size(1) % DIRECT_ALIGN, 0);
    }

    #[test]
    fn spares_are_bounded_and_make_way_for_the_size_in_use() {
        let spare = |bytes| map_zeroed(bytes).unwrap();
        let mut spares = Spares { maps: Vec::new() };
        for _ in 0..SPARES_KEPT / UPLOAD_BUFFER_MAX + 2 {
            spares.keep(spare(UPLOAD_BUFFER_MAX));
        }
        assert_eq!(spares.bytes(), SPARES_KEPT, "full, the extra ones freed");
        // Small buffers now in demand push the large ones out, the oldest first.
        for _ in 0..SPARES_KEPT / BUFFER_SIZE {
            spares.keep(spare(BUFFER_SIZE));
        }
        assert!(spares.maps.iter().all(|map| map.len() == BUFFER_SIZE));
        assert_eq!(spares.bytes(), SPARES_KEPT);
        assert!(spares.take(UPLOAD_BUFFER_MAX).is_none());
        let taken = spares.take(BUFFER_SIZE).unwrap();
        assert_eq!(taken.len(), BUFFER_SIZE);
        assert_eq!(spares.bytes(), SPARES_KEPT - BUFFER_SIZE);
    }

    #[test]
    fn memory_that_cannot_be_had_is_an_error_not_an_abort() {
        let more_than_any_machine = 1 << 62;
        assert!(AlignedBuf::take(more_than_any_machine).is_err());
        assert!(AlignedBuf::zeroed(more_than_any_machine).is_err());
        assert!(
            AlignedBuf::take(BUFFER_SIZE).is_ok(),
            "and the next one is fine"
        );
    }
}
