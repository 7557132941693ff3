//! `SecretInput`: the editable buffer a prompt types or pastes a secret into (the TUI's masked
//! field and the plain `/dev/tty` prompt), wiped on every edit that shrinks it, on growth and on drop.
//!
//! **Growth is copy-and-wipe, never a reallocation.** The bytes live in a `Box<[u8]>` of fixed
//! size, which nothing can grow in place (a `Vec`/`String` `push` may `realloc`, and the
//! allocator then frees the old block with the value still in it). When a write needs more
//! room, a new zeroed block of twice the size (at most [`MAX_SECRET_LEN`]) is allocated, the
//! value is copied over, and the old block is zeroized before it is freed. So at any time the
//! value is in exactly one block, and no freed block holds a byte of it. Deleted bytes
//! (Backspace, clear) are zeroized at once, not only when the buffer is dropped. A fixed
//! reservation of the maximum (1 MiB per field) was the other choice; it was not taken because
//! almost every value is under 256 bytes.

use std::fmt;

use secrecy::SecretString;
use zeroize::Zeroize;

use super::needles::MAX_SECRET_LEN;

/// Capacity of a new input: most secrets fit without growing.
const INITIAL_CAPACITY: usize = 256;

/// Why an edit or [`SecretInput::take`] was refused. Names no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("the value is longer than 1 MiB")]
    TooLong,
    #[error("the value is not UTF-8 text")]
    NotUtf8,
}

/// A secret being typed: bytes in one wiped block of memory, handed out once with
/// [`SecretInput::take`]. Its `Debug` never shows the value.
pub struct SecretInput {
    buf: Box<[u8]>,
    len: usize,
}

impl Default for SecretInput {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretInput([redacted])")
    }
}

impl Drop for SecretInput {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl SecretInput {
    pub fn new() -> Self {
        SecretInput {
            buf: vec![0u8; INITIAL_CAPACITY].into_boxed_slice(),
            len: 0,
        }
    }

    /// Length in bytes (for a mask that only says "something was typed": never show it).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size of the one block holding the value.
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// True when the value is empty or only whitespace (not a secret).
    pub fn is_blank(&self) -> bool {
        std::str::from_utf8(&self.buf[..self.len]).is_ok_and(|s| s.trim().is_empty())
    }

    /// Appends bytes (the plain prompt reads bytes; `take` checks UTF-8). Refused whole when
    /// the value would exceed [`MAX_SECRET_LEN`].
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), InputError> {
        let need = self.len + bytes.len();
        if need > MAX_SECRET_LEN {
            return Err(InputError::TooLong);
        }
        if need > self.buf.len() {
            self.grow(need);
        }
        self.buf[self.len..need].copy_from_slice(bytes);
        self.len = need;
        Ok(())
    }

    /// Appends text (a typed character, a paste).
    pub fn push_str(&mut self, s: &str) -> Result<(), InputError> {
        self.push_bytes(s.as_bytes())
    }

    /// Appends one character.
    pub fn push_char(&mut self, c: char) -> Result<(), InputError> {
        let mut tmp = [0u8; 4];
        let r = self.push_str(c.encode_utf8(&mut tmp));
        tmp.zeroize();
        r
    }

    /// The last byte, if any (e.g. to drop a paste's trailing line break).
    pub fn last_byte(&self) -> Option<u8> {
        self.len.checked_sub(1).map(|i| self.buf[i])
    }

    /// Deletes the last byte, wiping it.
    pub fn pop_byte(&mut self) -> Option<u8> {
        let i = self.len.checked_sub(1)?;
        let b = self.buf[i];
        self.buf[i] = 0;
        self.len = i;
        Some(b)
    }

    /// Deletes the last character (a whole UTF-8 sequence: continuation bytes and their lead
    /// byte), wiping it.
    pub fn pop_char(&mut self) {
        while let Some(b) = self.pop_byte() {
            if b & 0xc0 != 0x80 {
                break;
            }
        }
    }

    /// Deletes everything, wiping it; the block is kept for what is typed next.
    pub fn clear(&mut self) {
        self.buf[..self.len].zeroize();
        self.len = 0;
    }

    /// Hands out the value in a `SecretString` of exactly its length (allocated once, never
    /// reallocated: `SecretString::from(String)` would shrink a larger block with `realloc`)
    /// and leaves this input empty and wiped. Refused (and wiped too) when the bytes are not
    /// UTF-8.
    pub fn take(&mut self) -> Result<SecretString, InputError> {
        let result = match std::str::from_utf8(&self.buf[..self.len]) {
            Ok(s) => {
                let mut exact = String::with_capacity(s.len());
                exact.push_str(s);
                debug_assert_eq!(exact.capacity(), exact.len());
                // `into_boxed_str` keeps the block: its capacity is its length.
                Ok(SecretString::from(exact.into_boxed_str()))
            }
            Err(_) => Err(InputError::NotUtf8),
        };
        self.clear();
        result
    }

    /// Moves the value into a block of at least `need` bytes (doubling, at most
    /// `MAX_SECRET_LEN`); the old block is wiped, then freed.
    fn grow(&mut self, need: usize) {
        drop(self.regrow(need));
    }

    /// The move of `grow`, handing back the old block (wiped) instead of freeing it.
    fn regrow(&mut self, need: usize) -> Box<[u8]> {
        let size = self
            .buf
            .len()
            .saturating_mul(2)
            .min(MAX_SECRET_LEN)
            .max(need);
        let mut bigger = vec![0u8; size].into_boxed_slice();
        bigger[..self.len].copy_from_slice(&self.buf[..self.len]);
        let mut old = std::mem::replace(&mut self.buf, bigger);
        old.zeroize();
        old
    }

    #[cfg(test)]
    fn block(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::secret_equals;
    use secrecy::ExposeSecret;

    #[test]
    fn edits_and_take_once() {
        let mut i = SecretInput::new();
        i.push_str("wrong").unwrap();
        i.clear();
        assert!(i.is_empty() && i.is_blank());
        i.push_str("s3cr3té").unwrap();
        i.pop_char();
        assert_eq!(i.len(), 6);
        i.push_char('X').unwrap();
        i.pop_byte();
        i.push_char('\t').unwrap();
        i.push_str(" x").unwrap();
        let v = i.take().unwrap();
        assert!(secret_equals(&v, "s3cr3t\t x"));
        assert!(i.is_empty());
        assert!(secret_equals(&i.take().unwrap(), ""));
    }

    #[test]
    fn deleted_bytes_are_wiped_at_once() {
        let mut i = SecretInput::new();
        i.push_str("hunter2").unwrap();
        i.pop_char();
        i.pop_char();
        assert_eq!(&i.block()[..7], b"hunte\0\0");
        i.clear();
        assert!(i.block().iter().all(|&b| b == 0));
        i.push_str("abc").unwrap();
        let _ = i.take();
        assert!(i.block().iter().all(|&b| b == 0), "take wipes the block");
    }

    #[test]
    fn growth_moves_the_value_and_wipes_the_old_block() {
        let mut i = SecretInput::new();
        let first = "a".repeat(INITIAL_CAPACITY);
        i.push_str(&first).unwrap();
        assert_eq!(i.capacity(), INITIAL_CAPACITY, "fits without growing");
        // What `push` does when the block is full, with the old block handed back.
        let old = i.regrow(INITIAL_CAPACITY + 1);
        assert_eq!(old.len(), INITIAL_CAPACITY);
        assert!(old.iter().all(|&b| b == 0), "the old block is wiped");
        assert_eq!(i.capacity(), INITIAL_CAPACITY * 2);
        assert_eq!(&i.block()[..INITIAL_CAPACITY], first.as_bytes());
        // And through `push`: doubling, the value whole.
        i.push_str(&"b".repeat(INITIAL_CAPACITY + 1)).unwrap();
        assert_eq!(i.capacity(), INITIAL_CAPACITY * 4);
        let v = i.take().unwrap();
        assert_eq!(v.expose_secret().len(), INITIAL_CAPACITY * 2 + 1);
        assert!(v.expose_secret().starts_with(&first));
    }

    #[test]
    fn take_gives_a_block_of_exactly_the_value() {
        let mut i = SecretInput::new();
        i.push_str("0123456789").unwrap();
        let v = i.take().unwrap();
        assert_eq!(v.expose_secret().len(), 10);
    }

    #[test]
    fn too_long_and_not_utf8_are_refused() {
        let mut i = SecretInput::new();
        i.push_bytes(&vec![b'x'; MAX_SECRET_LEN]).unwrap();
        assert_eq!(i.capacity(), MAX_SECRET_LEN);
        assert_eq!(i.push_bytes(b"y"), Err(InputError::TooLong));
        assert_eq!(i.len(), MAX_SECRET_LEN, "a refused write adds nothing");
        let mut j = SecretInput::new();
        j.push_bytes(b"\xff\xfe").unwrap();
        assert_eq!(j.take().err(), Some(InputError::NotUtf8));
        assert!(j.is_empty());
    }

    #[test]
    fn debug_never_shows_the_value() {
        let mut i = SecretInput::new();
        i.push_str("hunter2").unwrap();
        assert_eq!(format!("{i:?}"), "SecretInput([redacted])");
    }
}
