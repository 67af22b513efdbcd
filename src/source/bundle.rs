//! The bundle source: built front-end output (minified JS, CSS, HTML, JSON, source maps).
//!
//! Every file under the output directories is scanned (no ignore files: build output is usually
//! git-ignored). For generated code with a source map (a `sourceMappingURL` comment naming a file
//! or holding an inline `data:` map, or a sibling `NAME.map`), each finding gets `original`: the
//! file, line and column it came from. A map's `sourcesContent` (the original sources, JSON-escaped
//! in the map) is scanned once unescaped, and its findings are reported in the map at the original
//! source's name and line. A broken, oversized or outside-the-tree map is a warning; the generated
//! file is still scanned.

use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::engine::Scanner;
use crate::finding::{Finding, OriginalPosition};
use crate::sanitize;
use crate::source::tree::{self, TreeOptions};
use crate::source::{LineIndex, Stats};

/// Where build tools put their output, looked for when no directory is named.
pub const DEFAULT_DIRS: &[&str] = &[
    "dist",
    "build",
    "out",
    ".next",
    ".output",
    ".svelte-kit/output",
    "public/build",
];

/// Extensions of generated code that may carry a source map.
const MAPPED: &[&str] = &["js", "mjs", "cjs", "css", "jsx", "ts"];

pub struct BundleScan<'a> {
    pub scanner: &'a Scanner,
    /// The scanned roots, canonical: a map is only read from inside one of them.
    pub roots: Vec<PathBuf>,
    pub max_map_size: u64,
    pub warn: &'a (dyn Fn(String) + Sync),
}

impl BundleScan<'_> {
    /// Scans one file of the output (the tree walker's content hook).
    pub fn scan_file(&self, path: &Path, bytes: &[u8], shown: &str, rel: &str) -> Vec<Finding> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if ext == "map" {
            return match embedded_sources(bytes) {
                Ok(embedded) => self.scan_map_text(&embedded, bytes, shown, rel),
                Err(e) => {
                    (self.warn)(format!(
                        "{shown}: not a valid source map ({e}); scanned as text"
                    ));
                    super::scan_bytes(self.scanner, bytes, shown, rel)
                }
            };
        }
        let mut findings = super::scan_bytes(self.scanner, bytes, shown, rel);
        if !MAPPED.contains(&ext.as_str()) {
            return findings;
        }
        match map_reference(bytes) {
            Some(MapRef::Inline { data, offset }) => {
                let Some(json) = self.inline_map(data, shown) else {
                    return findings;
                };
                if !findings.is_empty() {
                    match parse_map(&json) {
                        Ok(map) => map_positions(&map, &mut findings, parent_of(shown)),
                        Err(e) => {
                            (self.warn)(format!("{shown}: inline source map is broken ({e})"))
                        }
                    }
                }
                // The inline map's sources are reported at the comment that carries them.
                if let Ok(embedded) = embedded_sources(&json) {
                    let (line, column, _) = LineIndex::new(bytes).locate(offset);
                    let mut found = self.scan_embedded(&embedded, shown, rel);
                    for f in &mut found {
                        (f.line, f.column) = (line, column);
                        f.refresh_fingerprint();
                    }
                    findings.extend(found);
                }
            }
            Some(MapRef::Url(url)) => {
                if !findings.is_empty()
                    && let Some(map) = self.external_map(path, &url, shown)
                {
                    // Sources are relative to the map, which may sit elsewhere.
                    let map_dir = join_lexically(parent_of(shown), parent_of(&url));
                    map_positions(&map, &mut findings, &map_dir);
                }
            }
            None => {
                if !findings.is_empty() {
                    let sibling = format!("{}.map", path.file_name().unwrap().to_string_lossy());
                    if path.with_file_name(&sibling).is_file()
                        && let Some(map) = self.external_map(path, &sibling, shown)
                    {
                        map_positions(&map, &mut findings, parent_of(shown));
                    }
                }
            }
        }
        findings
    }

    /// Decodes an inline map's base64 (not parsed: that is done only for what is needed).
    fn inline_map(&self, data: &[u8], shown: &str) -> Option<Vec<u8>> {
        // A file under the size limit can still carry a map that dwarfs its code; decoding and
        // parsing costs several times its size in memory. A quarter of the limit (16 MiB by
        // default) is far more than any real inline map.
        if data.len() as u64 > self.max_map_size / 4 {
            (self.warn)(format!(
                "{shown}: inline source map larger than the size limit allows (a quarter of \
                 --max-file-size); not read"
            ));
            return None;
        }
        match base64::engine::general_purpose::STANDARD.decode(data.trim_ascii_end()) {
            Ok(j) => Some(j),
            Err(e) => {
                (self.warn)(format!(
                    "{shown}: inline source map is not valid base64 ({e})"
                ));
                None
            }
        }
    }

    /// Reads the map a generated file names, if it is a relative path inside a scanned root.
    fn external_map(&self, path: &Path, url: &str, shown: &str) -> Option<sourcemap::SourceMap> {
        if url.contains("://") || url.starts_with('/') {
            return None;
        }
        let url = url.split(['?', '#']).next().unwrap_or(url);
        let map_path = path.parent()?.join(url);
        let Ok(canonical) = std::fs::canonicalize(&map_path) else {
            (self.warn)(format!(
                "{shown}: its source map {} does not exist",
                sanitize::escape(url)
            ));
            return None;
        };
        if !std::fs::metadata(&canonical).is_ok_and(|m| m.is_file()) {
            (self.warn)(format!(
                "{shown}: its source map {} is not a regular file; not read",
                sanitize::escape(url)
            ));
            return None;
        }
        if !self.roots.iter().any(|r| canonical.starts_with(r)) {
            (self.warn)(format!(
                "{shown}: its source map {} is outside the scanned directories; not read",
                sanitize::escape(url)
            ));
            return None;
        }
        let read = std::fs::File::open(&canonical)
            .and_then(|f| tree::read_capped(f, 0, self.max_map_size));
        let bytes = match read {
            Ok(Some(b)) => b,
            Ok(None) => {
                (self.warn)(format!(
                    "{shown}: its source map {} is larger than the size limit; not read",
                    sanitize::escape(url)
                ));
                return None;
            }
            Err(e) => {
                (self.warn)(format!("{shown}: cannot read its source map: {e}"));
                return None;
            }
        };
        match parse_map(&bytes) {
            Ok(m) => Some(m),
            Err(e) => {
                (self.warn)(format!(
                    "{shown}: its source map {} is broken ({e})",
                    sanitize::escape(url)
                ));
                None
            }
        }
    }

    /// Scans each embedded original source, unescaped, giving each finding `original` (the
    /// source's name and the line in it). Positions in the map are the caller's to set.
    fn scan_embedded(&self, embedded: &Embedded, shown: &str, rel: &str) -> Vec<Finding> {
        let mut out = Vec::new();
        for (source, content) in &embedded.sources {
            for mut f in super::scan_bytes(self.scanner, content.as_bytes(), shown, rel) {
                f.original = Some(OriginalPosition {
                    path: sanitize::escape(&join_lexically(parent_of(shown), source)).into_owned(),
                    line: f.line,
                    column: f.column,
                });
                // The context shown is the original source's, which is what a person reads.
                out.push(f);
            }
        }
        out
    }

    /// A `.map` file: its embedded sources, unescaped, and the rest of its JSON (`sourceRoot`,
    /// `names`, extension fields) as text. Each finding is placed at the first occurrence of its
    /// secret in the raw file (1:1 when escaping hides it there), all located in one pass.
    fn scan_map_text(
        &self,
        embedded: &Embedded,
        raw: &[u8],
        shown: &str,
        rel: &str,
    ) -> Vec<Finding> {
        let mut found = self.scan_embedded(embedded, shown, rel);
        found.extend(super::scan_bytes(
            self.scanner,
            embedded.rest.as_bytes(),
            shown,
            rel,
        ));
        if found.is_empty() {
            return found;
        }
        let mut secrets: Vec<Vec<u8>> = found.iter().map(|f| f.secret.expose().to_vec()).collect();
        secrets.sort();
        secrets.dedup();
        // First offset of each secret in the raw map, by pattern.
        let mut first: Vec<Option<usize>> = vec![None; secrets.len()];
        if let Ok(ac) = aho_corasick::AhoCorasick::new(&secrets) {
            for m in ac.find_overlapping_iter(raw) {
                first[m.pattern().as_usize()].get_or_insert(m.start());
            }
        }
        let mut offsets: Vec<usize> = first.iter().flatten().copied().collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut index = LineIndex::new(raw);
        let positions: Vec<(usize, usize)> = offsets
            .iter()
            .map(|&o| {
                let (l, c, _) = index.locate(o);
                (l, c)
            })
            .collect();
        for f in &mut found {
            (f.line, f.column) = secrets
                .binary_search_by(|s| s.as_slice().cmp(f.secret.expose()))
                .ok()
                .and_then(|p| first[p])
                .and_then(|o| offsets.binary_search(&o).ok())
                .map_or((1, 1), |i| positions[i]);
            f.refresh_fingerprint();
        }
        found
    }
}

/// What a source map carries besides its mappings: the embedded sources (name, content) and the
/// rest of its fields as JSON text. Parsed with serde alone: decoding the mappings of every map
/// would cost memory many times the map's size, and they are needed only to place a finding.
struct Embedded {
    sources: Vec<(String, String)>,
    rest: String,
}

fn embedded_sources(bytes: &[u8]) -> Result<Embedded, String> {
    let mut value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| sanitize::scrub_quoted_values(&e.to_string()))?;
    if !value.is_object() {
        return Err("not a JSON object".into());
    }
    let mut sources = Vec::new();
    collect_sources(&mut value, &mut sources, 0);
    Ok(Embedded {
        sources,
        rest: value.to_string(),
    })
}

/// Takes `sources`/`sourcesContent` out of a map and of its index sections, recursively.
fn collect_sources(map: &mut serde_json::Value, out: &mut Vec<(String, String)>, depth: usize) {
    let Some(obj) = map.as_object_mut() else {
        return;
    };
    let names = obj.remove("sources");
    if let Some(serde_json::Value::Array(contents)) = obj.remove("sourcesContent") {
        let names = names.as_ref().and_then(|n| n.as_array());
        for (i, content) in contents.into_iter().enumerate() {
            if let serde_json::Value::String(text) = content {
                let name = names
                    .and_then(|n| n.get(i))
                    .and_then(|v| v.as_str())
                    .unwrap_or("<unnamed source>");
                out.push((name.to_string(), text));
            }
        }
    }
    if depth < 8
        && let Some(serde_json::Value::Array(sections)) = obj.get_mut("sections")
    {
        for section in sections {
            if let Some(inner) = section.get_mut("map") {
                collect_sources(inner, out, depth + 1);
            }
        }
    }
}

/// Sets `original` on findings in generated code from its source map; `base` is the map's
/// directory as shown, which the map's sources are relative to.
fn map_positions(map: &sourcemap::SourceMap, findings: &mut [Finding], base: &str) {
    for f in findings.iter_mut() {
        if f.original.is_some() {
            continue;
        }
        let (line, col) = ((f.line - 1) as u32, (f.column - 1) as u32);
        // The nearest mapping at or before the position, on the same generated line: one on an
        // earlier line says nothing about this one.
        if let Some(token) = map.lookup_token(line, col)
            && token.get_dst_line() == line
            && let Some(source) = token.get_source()
        {
            f.original = Some(OriginalPosition {
                path: sanitize::escape(&join_lexically(base, source)).into_owned(),
                line: token.get_src_line() as usize + 1,
                column: token.get_src_col() as usize + 1,
            });
        }
    }
}

/// The directory part of a `/`-separated path ("" for a bare name).
fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// `base/rel` with `.` and `..` resolved as text (the files need not exist), so that a source
/// `../../src/App.tsx` of `dist/assets/index.js.map` reads `src/App.tsx`. URLs (`webpack://`,
/// `http://`) and absolute paths are kept as they are.
fn join_lexically(base: &str, rel: &str) -> String {
    if rel.contains("://") || rel.starts_with('/') {
        return rel.to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    let mut ups = 0usize;
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    ups += 1;
                }
            }
            p => parts.push(p),
        }
    }
    let mut out = if base.starts_with('/') {
        // `..` above the root stays at the root.
        "/".to_string()
    } else {
        "../".repeat(ups)
    };
    out.push_str(&parts.join("/"));
    out
}

/// Parses a source map, flattening an index map (sections) into a regular one. Error messages
/// never quote the map's content (a parser error can quote a whole embedded source).
fn parse_map(bytes: &[u8]) -> Result<sourcemap::SourceMap, String> {
    let scrub = |e: sourcemap::Error| sanitize::scrub_quoted_values(&e.to_string());
    match sourcemap::decode_slice(bytes).map_err(scrub)? {
        sourcemap::DecodedMap::Regular(m) => Ok(m),
        sourcemap::DecodedMap::Index(i) => {
            // The crate adds section offsets unchecked: offsets near u32::MAX would overflow.
            const MAX_OFFSET: u32 = 1 << 24;
            if i.sections().any(|s| {
                let (line, col) = s.get_offset();
                line > MAX_OFFSET || col > MAX_OFFSET
            }) {
                return Err("an index map section offset is out of range".into());
            }
            i.flatten().map_err(scrub)
        }
        sourcemap::DecodedMap::Hermes(h) => Ok((*h).clone()),
    }
}

enum MapRef<'a> {
    /// Base64 map data, and the offset of the comment in the file.
    Inline {
        data: &'a [u8],
        offset: usize,
    },
    Url(String),
}

/// The last `sourceMappingURL` comment (`//# …` in JS, `/*# … */` in CSS).
fn map_reference(bytes: &[u8]) -> Option<MapRef<'_>> {
    const NEEDLE: &[u8] = b"sourceMappingURL=";
    let at = memchr::memmem::rfind(bytes, NEEDLE)?;
    // It must be a comment: `//#`, `//@`, `/*#` or `/*@` right before.
    let lead = &bytes[at.saturating_sub(4)..at];
    if !(lead.ends_with(b"//# ")
        || lead.ends_with(b"//@ ")
        || lead.ends_with(b"/*# ")
        || lead.ends_with(b"/*@ "))
    {
        return None;
    }
    let value_start = at + NEEDLE.len();
    let rest = &bytes[value_start..];
    let end = rest
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'*' || b == b'"' || b == b'\'')
        .unwrap_or(rest.len());
    let value = &rest[..end];
    if let Some(comma) = memchr::memchr(b',', value)
        && value.starts_with(b"data:")
    {
        let header = &value[..comma];
        if !header.ends_with(b";base64") {
            return None;
        }
        return Some(MapRef::Inline {
            data: &value[comma + 1..],
            offset: at.saturating_sub(4),
        });
    }
    let url = std::str::from_utf8(value).ok()?.to_string();
    (!url.is_empty()).then_some(MapRef::Url(url))
}

/// The directories `scan bundle` reads when none is named: those of `DEFAULT_DIRS` that exist.
pub fn default_dirs() -> Vec<PathBuf> {
    DEFAULT_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

/// Scans the output directories.
pub fn scan(
    opts: &TreeOptions,
    bundle: &BundleScan,
    stats: &Stats,
    warn: &(dyn Fn(String) + Sync),
) -> Vec<Finding> {
    tree::scan_with(
        opts,
        &|path, bytes, shown, rel| bundle.scan_file(path, bytes, shown, rel),
        stats,
        warn,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_map_references() {
        let js = b"console.log(1);\n//# sourceMappingURL=index-abc.js.map\n";
        assert!(matches!(map_reference(js), Some(MapRef::Url(u)) if u == "index-abc.js.map"));
        let css = b"a{}\n/*# sourceMappingURL=app.css.map */\n";
        assert!(matches!(map_reference(css), Some(MapRef::Url(u)) if u == "app.css.map"));
        let inline = b"x;\n//# sourceMappingURL=data:application/json;base64,eyJ2IjozfQ==\n";
        match map_reference(inline) {
            Some(MapRef::Inline { data, .. }) => assert_eq!(data, b"eyJ2IjozfQ=="),
            _ => panic!("inline map not found"),
        }
        // A string that merely mentions it is not a reference.
        assert!(map_reference(b"var s = 'sourceMappingURL=x.map';").is_none());
    }

    #[test]
    fn joins_source_paths_as_text() {
        assert_eq!(
            join_lexically("dist/assets", "../../src/App.tsx"),
            "src/App.tsx"
        );
        assert_eq!(join_lexically("", "../src/a.js"), "../src/a.js");
        assert_eq!(join_lexically("out", "./b/./c.js"), "out/b/c.js");
        assert_eq!(
            join_lexically("dist", "webpack://app/./src/x.js"),
            "webpack://app/./src/x.js"
        );
        assert_eq!(parent_of("dist/assets/index.js"), "dist/assets");
        assert_eq!(
            join_lexically("/work/app/dist", "../src/a.ts"),
            "/work/app/src/a.ts"
        );
    }
}
