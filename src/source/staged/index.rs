//! A reader for git's index file (`.git/index`, format versions 2 to 4).
//!
//! Why not libgit2's: on a 100,000-file index it takes about 50 ms (a collision-detecting SHA-1 of
//! the whole file, a hash map of every path), the whole budget of a pre-commit hook. This reader
//! keeps only what `scan staged` needs — each entry's path, mode, object id, stage and
//! intent-to-add flag, and the cache tree (`TREE` extension), which says which directories are
//! unchanged since their tree was last written — and leaves the checksum alone, as git does
//! outside `fsck`.
//!
//! The file is input from disk: every length is checked, and a malformed file is an error, never a
//! panic. Split and sparse indexes (`link`, `sdir`) are refused, as libgit2 refuses them.

use std::ops::Range;
use std::path::Path;

use git2::Oid;

/// Bytes of a SHA-1 object id, and of the checksum that ends the file.
const OID_LEN: usize = 20;
/// Stat data, mode, ids and sizes before an entry's id.
const STAT_LEN: usize = 40;
/// `flags` bit: an extended flags field follows (version 3 and later).
const FLAG_EXTENDED: u16 = 0x4000;
/// Extended flags bit set by `git add -N`.
const EXT_INTENT_TO_ADD: u16 = 0x2000;
/// Directories nest deeper than this only in a file made to exhaust the stack.
const MAX_TREE_DEPTH: usize = 4096;
/// No file system takes a path this long; a longer one is a damaged (or crafted) index.
const MAX_PATH_LEN: usize = 64 * 1024;
/// Version 4 spells each path as a suffix of the one before, so a small file can stand for
/// paths many times its size: long shared prefixes are what the format is for, but past this
/// many path bytes per byte of file (an average path of some 2 KiB) the file is crafted to make
/// the reader copy the same long prefix for every entry, quadratic in memory.
const MAX_PATH_BYTES_PER_FILE_BYTE: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("cannot read the index {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the index {path} is damaged ({what}); `git status` may say more")]
    Malformed { path: String, what: &'static str },
    #[error(
        "the index {path} uses {what}, which keyguard cannot read yet (turn it off for this \
         repository with {hint})"
    )]
    Unsupported {
        path: String,
        what: &'static str,
        hint: &'static str,
    },
}

/// One index entry.
#[derive(Debug, Clone)]
pub struct Entry {
    path: Range<usize>,
    pub mode: u32,
    pub oid: Oid,
    /// 0 for a normal entry; 1-3 for the sides of an unresolved conflict.
    pub stage: u8,
    pub intent_to_add: bool,
}

/// A directory of the cache tree: the tree its entries would be written as, when still valid.
#[derive(Debug, Default)]
pub struct CacheTree {
    pub name: Vec<u8>,
    /// `None` once an entry below has changed (git writes such a node with entry count -1).
    pub oid: Option<Oid>,
    pub children: Vec<CacheTree>,
}

impl CacheTree {
    pub fn child(&self, name: &[u8]) -> Option<&CacheTree> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// The parsed index: entries sorted by path then stage, as on disk.
#[derive(Debug, Default)]
pub struct IndexFile {
    paths: Vec<u8>,
    pub entries: Vec<Entry>,
    pub cache_tree: Option<CacheTree>,
}

impl IndexFile {
    /// Reads `path`; None when there is no such file (for the repository's own index, an empty
    /// one, as for git before the first `git add`).
    pub fn read(path: &Path) -> Result<Option<IndexFile>, IndexError> {
        match std::fs::read(path) {
            Ok(bytes) => IndexFile::parse(&bytes).map(Some).map_err(|e| e.at(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(IndexError::Read {
                path: crate::sanitize::path(path),
                source,
            }),
        }
    }

    /// An index of stage-0 entries with these paths (in the order given), for tests.
    #[cfg(test)]
    pub fn from_paths(paths: &[&str]) -> IndexFile {
        let mut index = IndexFile::default();
        for p in paths {
            let start = index.paths.len();
            index.paths.extend_from_slice(p.as_bytes());
            index.entries.push(Entry {
                path: start..index.paths.len(),
                mode: 0o100644,
                oid: Oid::ZERO_SHA1,
                stage: 0,
                intent_to_add: false,
            });
        }
        index
    }

    pub fn path(&self, entry: &Entry) -> &[u8] {
        &self.paths[entry.path.clone()]
    }

    pub fn parse(bytes: &[u8]) -> Result<IndexFile, ParseError> {
        use ParseError::*;
        if bytes.len() < 12 + OID_LEN || &bytes[..4] != b"DIRC" {
            return Err(Malformed("not an index file"));
        }
        let version = be32(&bytes[4..8]);
        if !(2..=4).contains(&version) {
            return Err(Malformed("unknown version"));
        }
        let count = be32(&bytes[8..12]) as usize;
        let body = &bytes[..bytes.len() - OID_LEN];
        let mut pos = 12;
        let mut index = IndexFile {
            paths: Vec::with_capacity(body.len().min(count.saturating_mul(48))),
            entries: Vec::with_capacity(count.min(body.len() / 62)),
            cache_tree: None,
        };
        let path_budget = bytes.len().saturating_mul(MAX_PATH_BYTES_PER_FILE_BYTE);
        let mut previous: Range<usize> = 0..0;
        let mut empty_path = false;
        for _ in 0..count {
            let e = body.get(pos..).ok_or(Malformed("truncated entry"))?;
            let fixed = e
                .get(..STAT_LEN + OID_LEN + 2)
                .ok_or(Malformed("truncated entry"))?;
            let mode = be32(&fixed[24..28]);
            let oid = Oid::from_bytes(&fixed[STAT_LEN..STAT_LEN + OID_LEN])
                .map_err(|_| Malformed("bad object id"))?;
            let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
            let mut path_start = STAT_LEN + OID_LEN + 2;
            let mut extended = 0u16;
            if flags & FLAG_EXTENDED != 0 {
                if version < 3 {
                    return Err(Malformed("extended flags in a version 2 index"));
                }
                let x = e
                    .get(path_start..path_start + 2)
                    .ok_or(Malformed("truncated entry"))?;
                extended = u16::from_be_bytes([x[0], x[1]]);
                path_start += 2;
            }
            let start = index.paths.len();
            let entry_len = if version == 4 {
                // The path is the previous one minus `strip` bytes at its end, plus a suffix.
                let (strip, n) = varint(&e[path_start..]).ok_or(Malformed("bad path prefix"))?;
                let keep = (previous.len())
                    .checked_sub(strip)
                    .ok_or(Malformed("bad path prefix"))?;
                let suffix_at = path_start + n;
                let len =
                    memchr::memchr(0, &e[suffix_at..]).ok_or(Malformed("unterminated path"))?;
                check_path_len(keep + len, start, path_budget)?;
                index
                    .paths
                    .extend_from_within(previous.start..previous.start + keep);
                index
                    .paths
                    .extend_from_slice(&e[suffix_at..suffix_at + len]);
                suffix_at + len + 1
            } else {
                let len =
                    memchr::memchr(0, &e[path_start..]).ok_or(Malformed("unterminated path"))?;
                check_path_len(len, start, path_budget)?;
                index
                    .paths
                    .extend_from_slice(&e[path_start..path_start + len]);
                // NUL-padded to a multiple of eight bytes.
                (path_start + len + 8) & !7
            };
            if entry_len > e.len() {
                return Err(Malformed("truncated entry"));
            }
            let path = start..index.paths.len();
            let stage = ((flags >> 12) & 3) as u8;
            // Binary searches over directories rely on the order git keeps: by path, then stage.
            if path.is_empty() {
                // A split index (`git update-index --split-index`) names an entry that replaces
                // one of its shared index's with an empty path; the `link` extension after the
                // entries tells the two apart, so the verdict waits for the extensions.
                empty_path = true;
            } else if let Some(last) = index.entries.last() {
                let order = index.paths[previous.clone()].cmp(&index.paths[path.clone()]);
                if order == std::cmp::Ordering::Greater
                    || (order == std::cmp::Ordering::Equal && last.stage >= stage)
                {
                    return Err(Malformed("entries out of order"));
                }
            }
            if mode & 0o170000 == 0o040000 {
                return Err(Unsupported(
                    "a sparse index",
                    "`git sparse-checkout set --no-sparse-index`",
                ));
            }
            index.entries.push(Entry {
                path: path.clone(),
                mode,
                oid,
                stage,
                intent_to_add: extended & EXT_INTENT_TO_ADD != 0,
            });
            previous = path;
            pos += entry_len;
        }
        while pos < body.len() {
            let header = body
                .get(pos..pos + 8)
                .ok_or(Malformed("truncated extension"))?;
            let size = be32(&header[4..8]) as usize;
            let data = body
                .get(pos + 8..pos + 8 + size)
                .ok_or(Malformed("truncated extension"))?;
            match &header[..4] {
                b"TREE" => {
                    let mut rest = data;
                    index.cache_tree = Some(cache_tree(&mut rest, 0)?);
                }
                b"link" => {
                    return Err(Unsupported(
                        "a split index",
                        "`git update-index --no-split-index`",
                    ));
                }
                b"sdir" => {
                    return Err(Unsupported(
                        "a sparse index",
                        "`git sparse-checkout set --no-sparse-index`",
                    ));
                }
                sig if sig[0].is_ascii_uppercase() => {} // optional: safe to ignore
                _ => return Err(Malformed("unknown required extension")),
            }
            pos += 8 + size;
        }
        if empty_path {
            return Err(Malformed("empty path"));
        }
        Ok(index)
    }
}

/// Why parsing failed, before the caller names the file.
#[derive(Debug)]
pub enum ParseError {
    Malformed(&'static str),
    Unsupported(&'static str, &'static str),
}

impl ParseError {
    fn at(self, path: &Path) -> IndexError {
        let path = crate::sanitize::path(path);
        match self {
            ParseError::Malformed(what) => IndexError::Malformed { path, what },
            ParseError::Unsupported(what, hint) => IndexError::Unsupported { path, what, hint },
        }
    }
}

/// Refuses a path of `len` bytes when it is longer than any real one, or would take the paths read
/// so far (`so_far` bytes) past `budget`.
fn check_path_len(len: usize, so_far: usize, budget: usize) -> Result<(), ParseError> {
    if len > MAX_PATH_LEN {
        return Err(ParseError::Malformed("a path longer than 64 KiB"));
    }
    if so_far + len > budget {
        return Err(ParseError::Malformed(
            "its paths add up to far more than the file's size",
        ));
    }
    Ok(())
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Git's offset varint (index v4 path prefixes): returns (value, bytes used).
fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut c = *b.first()?;
    let mut value = (c & 0x7f) as usize;
    while c & 0x80 != 0 {
        i += 1;
        c = *b.get(i)?;
        value = value
            .checked_add(1)?
            .checked_mul(128)?
            .checked_add((c & 0x7f) as usize)?;
    }
    Some((value, i + 1))
}

/// One cache-tree node and its children, in the extension's pre-order:
/// `name NUL entry_count SP subtree_count LF [oid]`.
fn cache_tree(data: &mut &[u8], depth: usize) -> Result<CacheTree, ParseError> {
    use ParseError::Malformed;
    if depth > MAX_TREE_DEPTH {
        return Err(Malformed("cache tree too deep"));
    }
    let bad = Malformed("bad cache tree");
    let nul = memchr::memchr(0, data).ok_or(Malformed("bad cache tree"))?;
    let name = data[..nul].to_vec();
    *data = &data[nul + 1..];
    let sp = memchr::memchr(b' ', data).ok_or(Malformed("bad cache tree"))?;
    let entries: i64 = ascii_number(&data[..sp]).ok_or(Malformed("bad cache tree"))?;
    *data = &data[sp + 1..];
    let lf = memchr::memchr(b'\n', data).ok_or(Malformed("bad cache tree"))?;
    let subtrees: i64 = ascii_number(&data[..lf]).ok_or(Malformed("bad cache tree"))?;
    *data = &data[lf + 1..];
    if subtrees < 0 {
        return Err(bad);
    }
    let oid = if entries >= 0 {
        let raw = data.get(..OID_LEN).ok_or(Malformed("bad cache tree"))?;
        *data = &data[OID_LEN..];
        Some(Oid::from_bytes(raw).map_err(|_| Malformed("bad cache tree"))?)
    } else {
        None
    };
    let mut children = Vec::new();
    for _ in 0..subtrees {
        if data.is_empty() {
            return Err(Malformed("bad cache tree"));
        }
        children.push(cache_tree(data, depth + 1)?);
    }
    Ok(CacheTree {
        name,
        oid,
        children,
    })
}

fn ascii_number(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version 2 or 3 entry with the given path, mode, id byte and flags.
    fn entry(path: &str, mode: u32, id: u8, stage: u16, extended: Option<u16>) -> Vec<u8> {
        let mut e = vec![0u8; STAT_LEN];
        e[24..28].copy_from_slice(&mode.to_be_bytes());
        e.extend_from_slice(&[id; OID_LEN]);
        let mut flags = (path.len().min(0xfff) as u16) | (stage << 12);
        if extended.is_some() {
            flags |= FLAG_EXTENDED;
        }
        e.extend_from_slice(&flags.to_be_bytes());
        if let Some(x) = extended {
            e.extend_from_slice(&x.to_be_bytes());
        }
        e.extend_from_slice(path.as_bytes());
        let len = (e.len() + 8) & !7;
        e.resize(len, 0);
        e
    }

    fn file(version: u32, entries: &[Vec<u8>], extensions: &[u8]) -> Vec<u8> {
        let mut f = b"DIRC".to_vec();
        f.extend_from_slice(&version.to_be_bytes());
        f.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for e in entries {
            f.extend_from_slice(e);
        }
        f.extend_from_slice(extensions);
        f.extend_from_slice(&[0; OID_LEN]);
        f
    }

    #[test]
    fn reads_entries_flags_and_cache_tree() {
        let mut tree = b"\x001 1\n".to_vec();
        tree.extend_from_slice(&[7; OID_LEN]);
        tree.extend_from_slice(b"src\0-1 0\n");
        let mut ext = b"TREE".to_vec();
        ext.extend_from_slice(&(tree.len() as u32).to_be_bytes());
        ext.extend_from_slice(&tree);
        let bytes = file(
            3,
            &[
                entry("a.txt", 0o100644, 1, 0, None),
                entry("new.txt", 0o100644, 2, 0, Some(EXT_INTENT_TO_ADD)),
                entry("src/x.rs", 0o100755, 3, 2, None),
            ],
            &ext,
        );
        let idx = IndexFile::parse(&bytes).unwrap();
        let paths: Vec<&[u8]> = idx.entries.iter().map(|e| idx.path(e)).collect();
        assert_eq!(paths, [&b"a.txt"[..], b"new.txt", b"src/x.rs"]);
        assert!(!idx.entries[0].intent_to_add && idx.entries[1].intent_to_add);
        assert_eq!(idx.entries[2].stage, 2);
        assert_eq!(idx.entries[2].mode, 0o100755);
        assert_eq!(idx.entries[0].oid, Oid::from_bytes(&[1; 20]).unwrap());
        let ct = idx.cache_tree.unwrap();
        assert_eq!(ct.oid, Some(Oid::from_bytes(&[7; 20]).unwrap()));
        assert_eq!(ct.child(b"src").unwrap().oid, None);
    }

    /// A version 4 entry: strip `strip` bytes off the previous path, then append `suffix`.
    fn v4_entry(strip: u8, suffix: &[u8]) -> Vec<u8> {
        assert!(strip < 0x80, "one-byte varints only");
        let mut e = vec![0u8; STAT_LEN];
        e[24..28].copy_from_slice(&0o100644u32.to_be_bytes());
        e.extend_from_slice(&[9; OID_LEN]);
        e.extend_from_slice(&(suffix.len().min(0xfff) as u16).to_be_bytes());
        e.push(strip);
        e.extend_from_slice(suffix);
        e.push(0);
        e
    }

    #[test]
    fn reads_version_4_prefix_compression() {
        let bytes = file(4, &[v4_entry(0, b"dir/a.txt"), v4_entry(5, b"b.txt")], b"");
        let idx = IndexFile::parse(&bytes).unwrap();
        assert_eq!(idx.path(&idx.entries[1]), b"dir/b.txt");
    }

    /// Long shared prefixes are what version 4 is for: a deep directory of many files is fine.
    #[test]
    fn reads_version_4_with_long_shared_prefixes() {
        let dir = "deep/".repeat(60);
        let mut entries = vec![v4_entry(0, format!("{dir}f0000").as_bytes())];
        entries.extend((1..2000).map(|i| v4_entry(4, format!("{i:04}").as_bytes())));
        let idx = IndexFile::parse(&file(4, &entries, b"")).unwrap();
        assert_eq!(idx.entries.len(), 2000);
        assert_eq!(
            idx.path(&idx.entries[1999]),
            format!("{dir}f1999").as_bytes()
        );
    }

    /// Each version 4 path copies the one before whole: a long first path then thousands of
    /// one-byte suffixes made a 200 KB file cost hundreds of megabytes.
    #[test]
    fn refuses_version_4_paths_far_longer_than_the_file() {
        let mut entries = vec![v4_entry(0, &[b'a'; 60_000])];
        entries.extend((0..2000).map(|_| v4_entry(0, b"a")));
        assert!(matches!(
            IndexFile::parse(&file(4, &entries, b"")),
            Err(ParseError::Malformed(what)) if what.contains("far more than the file")
        ));
        // One path over 64 KiB, however it is spelled.
        let long = [b'a'; MAX_PATH_LEN + 1];
        for bytes in [
            file(4, &[v4_entry(0, &long)], b""),
            file(
                4,
                &[v4_entry(0, &long[..40_000]), v4_entry(0, &long[40_000..])],
                b"",
            ),
            file(
                2,
                &[entry(
                    std::str::from_utf8(&long).unwrap(),
                    0o100644,
                    1,
                    0,
                    None,
                )],
                b"",
            ),
        ] {
            assert!(matches!(
                IndexFile::parse(&bytes),
                Err(ParseError::Malformed(what)) if what.contains("64 KiB")
            ));
        }
    }

    #[test]
    fn varints_match_git() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        // git encodes 128 as 0x80 0x00.
        assert_eq!(varint(&[0x80, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0x80]), None);
    }

    #[test]
    fn refuses_damaged_and_unsupported_files_without_panicking() {
        let good = file(2, &[entry("a", 0o100644, 1, 0, None)], b"");
        for cut in 0..good.len() {
            let _ = IndexFile::parse(&good[..cut]);
        }
        let unsorted = file(
            2,
            &[
                entry("b", 0o100644, 1, 0, None),
                entry("a", 0o100644, 1, 0, None),
            ],
            b"",
        );
        assert!(matches!(
            IndexFile::parse(&unsorted),
            Err(ParseError::Malformed(_))
        ));
        let split = file(2, &[], b"link\0\0\0\0");
        assert!(matches!(
            IndexFile::parse(&split),
            Err(ParseError::Unsupported(..))
        ));
        // Replaced entries in a split index have empty names; only the `link` extension after
        // them says that is what they are.
        let replaced = [
            entry("", 0o100644, 1, 0, None),
            entry("", 0o100644, 2, 0, None),
            entry("b", 0o100644, 3, 0, None),
        ];
        assert!(matches!(
            IndexFile::parse(&file(2, &replaced, b"link\0\0\0\0")),
            Err(ParseError::Unsupported(what, _)) if what.contains("split index")
        ));
        assert!(matches!(
            IndexFile::parse(&file(2, &replaced, b"")),
            Err(ParseError::Malformed("empty path"))
        ));
    }
}
