//! A file the user wrote, as text: read with a size limit and a UTF-8 check that says where
//! the first bad byte is; the name diagnostics show and which of its lines hold secrets.

use std::path::{Path, PathBuf};

use super::mask::Sensitivity;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// A file's text, as read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    /// The name diagnostics show (the path as the user wrote it).
    pub name: String,
    pub text: String,
    /// Which of its lines may hold secret values; their excerpts are masked (`mask.rs`).
    pub sensitivity: Sensitivity,
}

/// Why a file could not even be read as text.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: cannot read the file: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path}: the file is {size} bytes; files wfop reads are limited to {MAX_FILE_BYTES} bytes"
    )]
    TooLarge { path: String, size: u64 },
    #[error("{path}:{line}:{col}: the file is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        path: String,
        line: usize,
        col: usize,
        offset: usize,
    },
}

impl SourceFile {
    pub fn read(path: &Path) -> Result<SourceFile, ReadError> {
        let name = path.display().to_string();
        let io = |source| ReadError::Io {
            path: name.clone(),
            source,
        };
        let size = std::fs::metadata(path).map_err(io)?.len();
        if size > MAX_FILE_BYTES as u64 {
            return Err(ReadError::TooLarge { path: name, size });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        match String::from_utf8(bytes) {
            Ok(text) => Ok(SourceFile {
                path: path.to_path_buf(),
                name,
                text,
                sensitivity: Sensitivity::None,
            }),
            Err(e) => {
                let offset = e.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
                let (line, col) = super::line_col(&valid, offset);
                Err(ReadError::NotUtf8 {
                    path: name,
                    line,
                    col,
                    offset,
                })
            }
        }
    }

    pub fn from_text(name: &str, text: &str) -> SourceFile {
        SourceFile {
            path: PathBuf::from(name),
            name: name.to_string(),
            text: text.to_string(),
            sensitivity: Sensitivity::None,
        }
    }
}
