//! Keyword prefilter: finds every ASCII-case-insensitive occurrence of every rule keyword in a
//! byte slice — overlapping ones and several keywords at one position included — and nothing
//! else. It owns the choice of a fingerprint per keyword, the filter tables, the SIMD scan
//! kernels and their scalar fallback, and exact verification; the engine only sees
//! `(keyword, start)`.
//!
//! How: every keyword is reduced to one short *fingerprint* that each of its occurrences
//! contains: keywords of 4+ bytes to their rarest 4-byte substring (judged by a bigram model of
//! source text, so `http://` is found through `tp:/` and `api_key` through `pi_k`, not through
//! the `http` and `api_` that code is full of), 3- and 2-byte keywords to themselves. The scan
//! asks, for each input position, "can the bytes starting here be a fingerprint?" with a
//! probabilistic filter that has false positives but never false negatives. Positions that pass
//! (on real source text with the builtin keywords: 0.36 % with the AVX-512 filter, 0.8 % with
//! the bloom table, about a third of them true fingerprint occurrences) are checked exactly: the
//! folded gram is looked up in a small open-addressing table of fingerprints, and each keyword
//! listed there is compared at `position - offset`.
//!
//! Exactness depends on neither the hashes nor the frequency model: an occurrence always
//! contains its fingerprint, the filter bits of every fingerprint are set, case folding maps
//! bytes that are equal ignoring ASCII case to equal values, and verification is a plain
//! comparison. The model and hashes only decide how many false candidates get verified. The end
//! of the input is scanned through a zero-padded copy, so short keywords ending at the last byte
//! are seen as well.
//!
//! Filters, by CPU (chosen once at runtime):
//! - AVX-512 (F, BW, VBMI) with GFNI: 64 positions per step and no table lookups in memory.
//!   Bytes are hashed in-register with GF(2) affine transforms (`vgf2p8affineqb`, one per input
//!   byte and hash), and four independent 4096-bit tables are read with 128-byte permutes
//!   (`vpermi2b`); a position passes if it passes all four. Gathers are avoided on purpose: on
//!   Zen 4 the bloom filter below ran at 1.6 GB/s with 16-lane gathers and 2.2 GB/s with 8-lane
//!   ones, this kernel at 6.8 GB/s (filter alone, one core).
//! - AVX2: the bloom filter, 8 positions per gather from one 32 KiB table (L1d resident).
//! - Anything else: the same bloom filter, one position at a time.
//!
//! In both filter kinds the table entry (byte or 32-bit word) is chosen by the first three bytes
//! of the 4-gram and the bit inside it by the fourth: a 3-byte keyword then sets its whole
//! entry, so 3- and 4-byte fingerprints share one lookup. 2-byte keywords, when there are any,
//! get a lookup of their own.

use std::fmt;

/// The bloom table has `1 << WORD_BITS` 32-bit words: 32 KiB, so it stays in L1d (48 KiB on the
/// target CPUs) next to the streaming input. Halving it doubles hash false positives.
const WORD_BITS: u32 = 13;
/// Multipliers for the 3-gram hashes of the bloom table and the 3-byte keyword bitmap (odd,
/// well mixed; any odd constant is correct).
const HASH3: u32 = 0x9E37_79B1;
const HASH_TRIPLE: u32 = 0x85EB_CA6B;
/// Positions per filter mask word.
const STEP: usize = 64;
/// Mask words per chunk (4 KiB of input) between kernel runs and verification.
const CHUNK_STEPS: usize = 64;
/// Words of the exact 2-gram bitmap (one bit per 16-bit value).
const PAIR_WORDS: usize = (1 << 16) / 32;
/// Up to this many distinct 2-byte keywords are compared directly rather than looked up.
const FEW_PAIRS: usize = 8;
/// Multiplier for the exact fingerprint table.
const HASH_EXACT: u32 = 0x2545_F491;

/// Folds ASCII case by setting bit 5 of each byte. It also merges some non-letters (`@` and
/// `` ` ``, `[` and `{`, newline and `*`...), which only costs false candidates: bytes that are
/// equal ignoring ASCII case always fold to the same value, and that is what exactness needs.
const FOLD: u32 = 0x2020_2020;

#[inline(always)]
fn bloom_word(g: u32) -> usize {
    ((g & 0x00ff_ffff).wrapping_mul(HASH3) >> (32 - WORD_BITS)) as usize
}

/// Bit within the word; depends on the fourth byte so that a 3-byte fingerprint, which sets all
/// 32 bits, matches whatever follows it. `b3 >> 5` separates digits from the letters sharing
/// their low five bits.
#[inline(always)]
fn bloom_bit(g: u32) -> u32 {
    (((g & 0x00ff_ffff).wrapping_mul(HASH3) >> 8) ^ (g >> 24) ^ (g >> 29)) & 31
}

#[inline(always)]
fn triple_bit(g: u32) -> usize {
    ((g & 0x00ff_ffff).wrapping_mul(HASH_TRIPLE) >> (32 - 12)) as usize
}

/// The folded 4 bytes at `p`, reading zero past the end (the SIMD kernels pad the same way).
#[inline(always)]
fn gram_at(hay: &[u8], p: usize) -> u32 {
    let mut b = [0u8; 4];
    let n = hay.len().saturating_sub(p).min(4);
    b[..n].copy_from_slice(&hay[p..p + n]);
    u32::from_le_bytes(b) | FOLD
}

// ---- The byte-lane filter of the AVX-512 kernel, defined here in scalar form ----
//
// `affine(m, x)` is `vgf2p8affineqb`: bit `i` of the result is the parity of `x & byte 7-i of
// m`, a GF(2)-linear map of the byte. Every matrix below has bit 5 clear in every row, so the
// maps ignore bit 5 of the input: that *is* the case fold, for free.

/// splitmix64, to derive fixed random matrices at compile time.
const fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const fn matrix(i: u64) -> u64 {
    mix(i ^ 0x6b65_7967_7561_7264) & 0xDFDF_DFDF_DFDF_DFDF
}

/// Hash bytes `H0..H4` of a 4-gram's first three bytes, `Hk = M[k][0]·b0 ^ M[k][1]·b1 ^
/// M[k][2]·b2`. Table `t` (0..4) reads entry `Ht | (bit t of H4) << 8` of its 512 bytes.
const LANE_HASH: [[u64; 3]; 5] = {
    let mut m = [[0; 3]; 5];
    let mut i = 0;
    while i < 15 {
        m[i / 3][i % 3] = matrix(i as u64);
        i += 1;
    }
    m
};
/// Bit selectors from the fourth byte: table `t` tests bit `(LANE_BIT[t / 2]·b3 >> 3·(t % 2)) & 7`
/// of its entry.
const LANE_BIT: [u64; 2] = [matrix(15), matrix(16)];
/// 2-byte keywords: entry `P | (Q >> 7) << 8`, bit `Q & 7`, with `P`, `Q` hashes of `b0, b1`.
const PAIR_HASH: [[u64; 2]; 2] = [[matrix(17), matrix(18)], [matrix(19), matrix(20)]];
/// Number of byte-lane tables; a position passes if it passes all of them.
const LANE_TABLES: usize = 4;

#[inline(always)]
fn affine(m: u64, x: u8) -> u8 {
    let mut y = 0u8;
    for i in 0..8 {
        let row = (m >> (8 * (7 - i))) as u8;
        y |= (((row & x).count_ones() & 1) as u8) << i;
    }
    y
}

fn lane_entry(t: usize, g: &[u8]) -> usize {
    let h = |k: usize| {
        let m = LANE_HASH[k];
        affine(m[0], g[0]) ^ affine(m[1], g[1]) ^ affine(m[2], g[2])
    };
    h(t) as usize | (((h(4) >> t) & 1) as usize) << 8
}

fn lane_bit(t: usize, b3: u8) -> u8 {
    1 << ((affine(LANE_BIT[t / 2], b3) >> (3 * (t % 2))) & 7)
}

fn pair_entry(g: &[u8]) -> (usize, u8) {
    let h = |m: [u64; 2]| affine(m[0], g[0]) ^ affine(m[1], g[1]);
    let (p, q) = (h(PAIR_HASH[0]), h(PAIR_HASH[1]));
    (p as usize | ((q >> 7) as usize) << 8, 1 << (q & 7))
}

/// Tables of the byte-lane filter (AVX-512 kernel only).
struct LaneTables {
    main: [[u8; 512]; LANE_TABLES],
    /// For 2-byte keywords; `None` when there are none (the common case).
    pairs: Option<[u8; 512]>,
}

/// The scan kernel chosen once, at construction, from the running CPU's features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kernel {
    Scalar,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Kernel {
    fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vbmi")
                && is_x86_feature_detected!("gfni")
            {
                return Kernel::Avx512;
            }
            if is_x86_feature_detected!("avx2") {
                return Kernel::Avx2;
            }
        }
        Kernel::Scalar
    }

    /// Whether the kernel reads `LaneTables` (else the bloom table).
    fn uses_lanes(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self == Kernel::Avx512
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Every kernel this CPU can run, for tests that compare them.
    #[cfg(test)]
    fn available() -> Vec<Kernel> {
        #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
        let mut v = vec![Kernel::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                v.push(Kernel::Avx2);
            }
            if Kernel::detect() == Kernel::Avx512 {
                v.push(Kernel::Avx512);
            }
        }
        v
    }
}

/// A keyword to verify when its fingerprint is seen: it would start `offset` bytes earlier.
#[derive(Clone, Copy, Debug)]
struct Entry {
    keyword: u32,
    offset: u32,
    /// Span of the lowercased keyword in `Prefilter::bytes`.
    at: u32,
    len: u32,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    /// Folded fingerprint; 0 marks an empty slot (folded bytes are never 0, and 2- and 3-byte
    /// fingerprints keep their unused high bytes 0, so the three kinds never collide).
    gram: u32,
    start: u32,
    end: u32,
}

/// A finder of keyword occurrences; build once, share across threads.
pub struct Prefilter {
    /// Bloom table of the AVX2 and scalar kernels (filled but unused with the AVX-512 one).
    bloom: Box<[u32; 1 << WORD_BITS]>,
    /// Folded 2-byte keywords (low byte first), when there are at most `FEW_PAIRS`: the SIMD
    /// kernels compare them directly, which costs less than a table lookup.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pair_list: Box<[u16]>,
    /// Exact bitmap of the folded 2-byte keywords, indexed by the folded 2-gram (8 KiB), when
    /// there are any: the scalar kernel's test, and the AVX2 kernel's beyond `FEW_PAIRS`.
    pair_bits: Option<Box<[u32; PAIR_WORDS]>>,
    /// Tables of the AVX-512 kernel; built only for it.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    lanes: Option<Box<LaneTables>>,
    /// Bitmap of hashed 3-byte keywords: a candidate needs a 3-gram lookup only if its bit is
    /// set. All zero when there are no 3-byte keywords.
    triples: Box<[u64; 64]>,
    slots: Box<[Slot]>,
    slot_shift: u32,
    entries: Box<[Entry]>,
    bytes: Box<[u8]>,
    /// Per keyword byte: 0x20 where it is a letter (so `hay | fold == keyword` ignores case
    /// there), else 0.
    folds: Box<[u8]>,
    keywords: usize,
    kernel: Kernel,
}

impl fmt::Debug for Prefilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prefilter")
            .field("keywords", &self.keywords)
            .field(
                "fingerprints",
                &self.slots.iter().filter(|s| s.gram != 0).count(),
            )
            .field("kernel", &self.kernel)
            .finish()
    }
}

impl Prefilter {
    /// Builds the prefilter. `keywords` may hold any bytes and duplicates; matching ignores
    /// ASCII case. Keyword `i` is reported as index `i`.
    ///
    /// # Panics
    /// If a keyword is shorter than 2 bytes (rules are validated to exclude those).
    pub fn new(keywords: &[Vec<u8>]) -> Prefilter {
        Self::with_kernel(keywords, Kernel::detect())
    }

    fn with_kernel(keywords: &[Vec<u8>], kernel: Kernel) -> Prefilter {
        let mut bloom = Box::new([0u32; 1 << WORD_BITS]);
        let mut lanes = kernel.uses_lanes().then_some(LaneTables {
            main: [[0; 512]; LANE_TABLES],
            pairs: None,
        });
        let mut pair_grams: Vec<u16> = Vec::new();
        let mut triples = Box::new([0u64; 64]);
        let mut bytes = Vec::new();
        // (fingerprint, entry), grouped by fingerprint below.
        let mut keyed: Vec<(u32, Entry)> = Vec::with_capacity(keywords.len());
        for (i, kw) in keywords.iter().enumerate() {
            assert!(kw.len() >= 2, "prefilter keywords need at least 2 bytes");
            let lower = kw.to_ascii_lowercase();
            let entry = |offset: usize| Entry {
                keyword: i as u32,
                offset: offset as u32,
                at: bytes.len() as u32,
                len: lower.len() as u32,
            };
            let (gram, e) = match lower.len() {
                2 => {
                    let g = u32::from_le_bytes([lower[0], lower[1], 0, 0]) | 0x2020;
                    pair_grams.push(g as u16);
                    (g, entry(0))
                }
                3 => {
                    let g = u32::from_le_bytes([lower[0], lower[1], lower[2], 0]) | 0x20_2020;
                    bloom[bloom_word(g)] = u32::MAX;
                    for (t, table) in lanes.iter_mut().flat_map(|l| &mut l.main).enumerate() {
                        table[lane_entry(t, &lower)] = 0xff;
                    }
                    let t = triple_bit(g);
                    triples[t >> 6] |= 1 << (t & 63);
                    (g, entry(0))
                }
                _ => {
                    let o = rarest_gram(&lower);
                    let gram = &lower[o..o + 4];
                    let g = u32::from_le_bytes(gram.try_into().unwrap()) | FOLD;
                    bloom[bloom_word(g)] |= 1 << bloom_bit(g);
                    for (t, table) in lanes.iter_mut().flat_map(|l| &mut l.main).enumerate() {
                        table[lane_entry(t, gram)] |= lane_bit(t, gram[3]);
                    }
                    (g, entry(o))
                }
            };
            keyed.push((gram, e));
            bytes.extend_from_slice(&lower);
        }
        keyed.sort_by_key(|&(g, e)| (g, e.keyword));
        pair_grams.sort_unstable();
        pair_grams.dedup();
        let mut pair_bits = None;
        if !pair_grams.is_empty() {
            let mut bits = Box::new([0u32; PAIR_WORDS]);
            for &g in &pair_grams {
                bits[g as usize >> 5] |= 1 << (g & 31);
            }
            pair_bits = Some(bits);
        }
        if pair_grams.len() > FEW_PAIRS {
            if let Some(lanes) = &mut lanes {
                for &g in &pair_grams {
                    let (at, bit) = pair_entry(&g.to_le_bytes());
                    lanes.pairs.get_or_insert([0; 512])[at] |= bit;
                }
            }
            pair_grams.clear();
        }

        let distinct = keyed.windows(2).filter(|w| w[0].0 != w[1].0).count() + 1;
        let bits = (2 * distinct).next_power_of_two().trailing_zeros().max(4);
        let mut slots = vec![Slot::default(); 1 << bits].into_boxed_slice();
        let slot_shift = 32 - bits;
        let mut i = 0;
        while i < keyed.len() {
            let g = keyed[i].0;
            let mut j = i;
            while j < keyed.len() && keyed[j].0 == g {
                j += 1;
            }
            let mut s = (g.wrapping_mul(HASH_EXACT) >> slot_shift) as usize;
            while slots[s].gram != 0 {
                s = (s + 1) & (slots.len() - 1);
            }
            slots[s] = Slot {
                gram: g,
                start: i as u32,
                end: j as u32,
            };
            i = j;
        }
        Prefilter {
            bloom,
            pair_list: pair_grams.into(),
            pair_bits,
            lanes: lanes.map(Box::new),
            triples,
            slots,
            slot_shift,
            entries: keyed.into_iter().map(|(_, e)| e).collect(),
            folds: bytes
                .iter()
                .map(|b| if b.is_ascii_lowercase() { 0x20 } else { 0 })
                .collect(),
            bytes: bytes.into(),
            keywords: keywords.len(),
            kernel,
        }
    }

    /// Calls `f(keyword_index, start)` for every occurrence of every keyword in `hay`, ignoring
    /// ASCII case, overlapping occurrences included (the set aho-corasick's overlapping search
    /// reports). Order: by fingerprint position, not by start.
    pub fn for_each_match(&self, hay: &[u8], mut f: impl FnMut(usize, usize)) {
        let mut candidate = |p: usize| self.verify(hay, p, &mut f);
        self.candidates(hay, &mut candidate);
    }

    /// Calls `candidate(p)` for every position whose filter test passes (a superset of the
    /// fingerprint positions), in increasing order.
    ///
    /// The kernel fills one mask word per 64 positions for a 4 KiB chunk, then the candidates
    /// are verified. Batching matters for the AVX-512 kernel: verification is ordinary code, and
    /// any call out of the kernel clobbers the vector registers that hold its tables.
    fn candidates(&self, hay: &[u8], candidate: &mut impl FnMut(usize)) {
        let mut masks = [0u64; CHUNK_STEPS];
        let mut p = 0;
        while p < hay.len() {
            let masks = &mut masks[..(hay.len() - p).div_ceil(STEP).min(CHUNK_STEPS)];
            match self.kernel {
                Kernel::Scalar => {
                    if self.has_pairs() {
                        self.masks_scalar::<true>(hay, p, masks)
                    } else {
                        self.masks_scalar::<false>(hay, p, masks)
                    }
                }
                // SAFETY: `Kernel::detect` chose this kernel only after checking at runtime that
                // the CPU has AVX2 (tests construct it under the same check); `masks` covers no
                // step starting at or past the end of `hay`.
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx2 => unsafe { x86::masks_avx2(self, hay, p, masks) },
                // SAFETY: as above, for AVX-512 F, BW, VBMI and GFNI.
                #[cfg(target_arch = "x86_64")]
                Kernel::Avx512 => unsafe { x86::masks_gfni(self, hay, p, masks) },
            }
            for (i, &m) in masks.iter().enumerate() {
                let mut m = m;
                while m != 0 {
                    candidate(p + STEP * i + m.trailing_zeros() as usize);
                    m &= m - 1;
                }
            }
            p += STEP * masks.len();
        }
    }

    /// Whether the 4-gram (folded) can start a fingerprint: the test of the scalar kernel, which
    /// the AVX2 kernel computes 8 lanes at a time.
    #[inline(always)]
    fn test<const PAIRS: bool>(&self, g: u32) -> bool {
        // Branch-free: hits are rare, a branch per position would only add mispredictions.
        let mut w = self.bloom[bloom_word(g)] >> bloom_bit(g);
        if PAIRS && let Some(bits) = &self.pair_bits {
            w |= bits[(g & 0xffff) as usize >> 5] >> (g & 31);
        }
        w & 1 != 0
    }

    fn has_pairs(&self) -> bool {
        self.pair_bits.is_some()
    }

    /// Kernel contract (all kernels): `masks[i]` bit `j` is set if position `p + 64 i + j`
    /// passes the filter, and clear for positions at or past the end of `hay`.
    fn masks_scalar<const PAIRS: bool>(&self, hay: &[u8], p: usize, masks: &mut [u64]) {
        for (i, out) in masks.iter_mut().enumerate() {
            let q = p + STEP * i;
            let mut m = 0u64;
            if let Some(span) = hay.get(q..q + STEP + 3) {
                for (j, w) in span.windows(4).enumerate() {
                    let g = u32::from_le_bytes([w[0], w[1], w[2], w[3]]) | FOLD;
                    m |= (self.test::<PAIRS>(g) as u64) << j;
                }
            } else {
                for j in 0..(hay.len() - q).min(STEP) {
                    m |= (self.test::<PAIRS>(gram_at(hay, q + j)) as u64) << j;
                }
            }
            *out = m;
        }
    }

    /// Exact check of a candidate position: every keyword whose fingerprint equals the folded
    /// bytes here is compared in full at the start its fingerprint offset implies.
    #[inline(never)]
    fn verify(&self, hay: &[u8], p: usize, f: &mut impl FnMut(usize, usize)) {
        let g = match hay.get(p..p + 4) {
            Some(w) => u32::from_le_bytes([w[0], w[1], w[2], w[3]]) | FOLD,
            None => gram_at(hay, p),
        };
        self.verify_gram(hay, p, g, f);
        let t = triple_bit(g);
        if (self.triples[t >> 6] >> (t & 63)) & 1 != 0 {
            self.verify_gram(hay, p, g & 0x00ff_ffff, f);
        }
        if self.has_pairs() {
            self.verify_gram(hay, p, g & 0xffff, f);
        }
    }

    #[inline(always)]
    fn verify_gram(&self, hay: &[u8], p: usize, g: u32, f: &mut impl FnMut(usize, usize)) {
        let mask = self.slots.len() - 1;
        let mut s = (g.wrapping_mul(HASH_EXACT) >> self.slot_shift) as usize;
        let slot = loop {
            let slot = self.slots[s];
            if slot.gram == g {
                break slot;
            }
            if slot.gram == 0 {
                return;
            }
            s = (s + 1) & mask;
        };
        for e in &self.entries[slot.start as usize..slot.end as usize] {
            let Some(start) = p.checked_sub(e.offset as usize) else {
                continue;
            };
            let span = e.at as usize..(e.at + e.len) as usize;
            if hay
                .get(start..start + span.len())
                .is_some_and(|w| folded_eq(w, &self.bytes[span.clone()], &self.folds[span]))
            {
                f(e.keyword as usize, start);
            }
        }
    }
}

/// `hay` equals `kw` ignoring ASCII case, given `kw` lowercase and `fold` its letter mask;
/// 8 bytes at a time.
#[inline(always)]
fn folded_eq(hay: &[u8], kw: &[u8], fold: &[u8]) -> bool {
    let word = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
    let n = kw.len();
    if n >= 8 {
        let mut i = 0;
        while i + 8 < n {
            if word(hay, i) | word(fold, i) != word(kw, i) {
                return false;
            }
            i += 8;
        }
        // The last 8 bytes, overlapping the previous word if `n` is not a multiple of 8.
        word(hay, n - 8) | word(fold, n - 8) == word(kw, n - 8)
    } else {
        (0..n).all(|i| hay[i] | fold[i] == kw[i])
    }
}

/// Offset of the 4-byte substring of `kw` (lowercase, >= 4 bytes) expected to be rarest in
/// source text: the highest estimated cost `-log2 P(abcd)` under a bigram model,
/// `P(ab) P(bc) P(cd) / (P(b) P(c))`.
fn rarest_gram(kw: &[u8]) -> usize {
    let cost = |g: &[u8]| -> i32 {
        let bi = |a: u8, b: u8| (BIGRAM_COST[class(a) * 64 + class(b)] - b'0') as i32;
        let uni = |a: u8| (BYTE_COST[class(a)] - b'0') as i32;
        bi(g[0], g[1]) + bi(g[1], g[2]) + bi(g[2], g[3]) - uni(g[1]) - uni(g[2])
    };
    // Ties go to the later gram; `max_by_key` keeps the last maximum.
    (0..=kw.len() - 4)
        .max_by_key(|&o| cost(&kw[o..o + 4]))
        .unwrap_or(0)
}

/// The frequency model's alphabet: the 64 folded ASCII values, with all bytes >= 0x80 merged
/// into the (rare) DEL class.
fn class(b: u8) -> usize {
    if b >= 0x80 {
        63
    } else {
        ((b & 0x1f) | ((b & 0x40) >> 1)) as usize
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The SIMD kernels, under the kernel contract of `Prefilter::masks_scalar`: one candidate
    //! mask word per 64 positions, every fingerprint position set. The last step or two of the
    //! input read a zero-padded copy, as `gram_at` pads.

    use super::{
        FOLD, HASH3, LANE_BIT, LANE_HASH, LANE_TABLES, PAIR_HASH, Prefilter, STEP, WORD_BITS,
    };
    use std::arch::x86_64::*;

    /// A 512-byte table in eight registers.
    type Table = [__m512i; 8];

    /// The byte-lane filter (see `lane_entry`, `lane_bit` and `pair_entry`, which define it in
    /// scalar form and build the tables), under the kernel contract of `masks_scalar`.
    ///
    /// # Safety
    /// The CPU must support AVX-512 F, BW, VBMI and GFNI; `p + 64 * (masks.len() - 1)` must be
    /// below `hay.len()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni")]
    pub(super) unsafe fn masks_gfni(pf: &Prefilter, hay: &[u8], p: usize, masks: &mut [u64]) {
        let lanes = pf
            .lanes
            .as_deref()
            .expect("lane tables are built for this kernel");
        let load = |t: &[u8; 512]| -> Table {
            // SAFETY: each of the eight 64-byte unaligned loads lies inside the 512-byte table.
            std::array::from_fn(|i| unsafe { _mm512_loadu_si512(t[64 * i..].as_ptr().cast()) })
        };
        let main: [Table; LANE_TABLES] = std::array::from_fn(|t| load(&lanes.main[t]));
        let pairs = lanes.pairs.as_ref().map(load);
        let few = &pf.pair_list[..];
        // Bit masks `1 << (i & 7)` and `1 << ((i >> 3) & 7)`, indexed by a selector byte.
        let pow: [__m512i; 2] = std::array::from_fn(|k| {
            let b: [u8; 64] = std::array::from_fn(|i| 1 << ((i >> (3 * k)) & 7));
            // SAFETY: `b` is 64 readable bytes; the load is unaligned.
            unsafe { _mm512_loadu_si512(b.as_ptr().cast()) }
        });
        // A step reads 3 bytes past its 64 positions.
        let mut buf = [0u8; STEP + 3];
        for (i, out) in masks.iter_mut().enumerate() {
            let q = p + STEP * i;
            let rest = hay.len() - q;
            // The last step or two read a zero-padded copy. One call site, so `test_*` inline
            // into this loop and the tables stay in registers.
            let at = if rest >= STEP + 3 {
                hay[q..q + STEP + 3].as_ptr()
            } else {
                buf.fill(0);
                buf[..rest].copy_from_slice(&hay[q..]);
                buf.as_ptr()
            };
            // SAFETY: `at .. at + STEP + 3` is readable, in `hay` or in `buf`.
            let x: [__m512i; 4] =
                std::array::from_fn(|j| unsafe { _mm512_loadu_si512(at.add(j).cast()) });
            let mut m = test_main(&x, &main, &pow);
            if let Some(pairs) = &pairs {
                m |= test_pairs(&x, pairs, &pow);
            }
            if !few.is_empty() {
                m |= test_few_pairs(&x, few);
            }
            if rest < STEP {
                m &= (1u64 << rest) - 1;
            }
            *out = m;
        }
    }

    /// `vgf2p8affineqb` with one matrix for every byte.
    #[target_feature(enable = "avx512f,gfni")]
    #[inline]
    fn affine(x: __m512i, m: u64) -> __m512i {
        _mm512_gf2p8affine_epi64_epi8::<0>(x, _mm512_set1_epi64(m as i64))
    }

    /// Byte `idx | sel << 7 | hi << 8` of a 512-byte table, for every lane, where `sel` is bit
    /// 7 of `idx` and `hi` comes from the mask.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    #[inline]
    fn lookup512(t: &Table, idx: __m512i, hi: __mmask64) -> __m512i {
        let sel = _mm512_movepi8_mask(idx);
        let lo = _mm512_mask_blend_epi8(
            sel,
            _mm512_permutex2var_epi8(t[0], idx, t[1]),
            _mm512_permutex2var_epi8(t[2], idx, t[3]),
        );
        let up = _mm512_mask_blend_epi8(
            sel,
            _mm512_permutex2var_epi8(t[4], idx, t[5]),
            _mm512_permutex2var_epi8(t[6], idx, t[7]),
        );
        _mm512_mask_blend_epi8(hi, lo, up)
    }

    /// Lane `i` of the result: position `i` (bytes `x[0..4]` lane `i`) passes all main tables.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni")]
    #[inline]
    fn test_main(x: &[__m512i; 4], main: &[Table; LANE_TABLES], pow: &[__m512i; 2]) -> u64 {
        let hash = |k: usize| {
            let m = LANE_HASH[k];
            _mm512_ternarylogic_epi64::<0x96>(
                affine(x[0], m[0]),
                affine(x[1], m[1]),
                affine(x[2], m[2]),
            )
        };
        let h4 = hash(4);
        let sel = [affine(x[3], LANE_BIT[0]), affine(x[3], LANE_BIT[1])];
        let mut m = !0u64;
        for (t, table) in main.iter().enumerate() {
            let hi = _mm512_test_epi8_mask(h4, _mm512_set1_epi8(1 << t));
            let byte = lookup512(table, hash(t), hi);
            let bit = _mm512_permutexvar_epi8(sel[t / 2], pow[t % 2]);
            m &= _mm512_test_epi8_mask(byte, bit);
        }
        m
    }

    /// Lane `i` of the result: the 2-gram at position `i` passes the 2-byte keyword table.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi,gfni")]
    #[inline]
    fn test_pairs(x: &[__m512i; 4], pairs: &Table, pow: &[__m512i; 2]) -> u64 {
        let hash = |m: [u64; 2]| _mm512_xor_si512(affine(x[0], m[0]), affine(x[1], m[1]));
        let (p, q) = (hash(PAIR_HASH[0]), hash(PAIR_HASH[1]));
        let byte = lookup512(pairs, p, _mm512_movepi8_mask(q));
        _mm512_test_epi8_mask(byte, _mm512_permutexvar_epi8(q, pow[0]))
    }

    /// `Prefilter::test` for 8 positions per gather, under the kernel contract of
    /// `masks_scalar`.
    ///
    /// Lane `i` of the result: the folded 2-gram at position `i` is one of `few` (each a folded
    /// 2-gram, low byte first).
    #[target_feature(enable = "avx512f,avx512bw")]
    #[inline]
    fn test_few_pairs(x: &[__m512i; 4], few: &[u16]) -> u64 {
        let fold = _mm512_set1_epi8(0x20);
        let (x0, x1) = (_mm512_or_si512(x[0], fold), _mm512_or_si512(x[1], fold));
        let mut m = 0;
        for &pair in few {
            let [a, b] = pair.to_le_bytes();
            let first = _mm512_cmpeq_epi8_mask(x0, _mm512_set1_epi8(a as i8));
            m |= _mm512_mask_cmpeq_epi8_mask(first, x1, _mm512_set1_epi8(b as i8));
        }
        m
    }

    /// The bloom filter, 8 positions per gather, under the kernel contract of `masks_scalar`.
    ///
    /// # Safety
    /// The CPU must support AVX2; `p + 64 * (masks.len() - 1)` must be below `hay.len()`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn masks_avx2(pf: &Prefilter, hay: &[u8], p: usize, masks: &mut [u64]) {
        let few = &pf.pair_list[..];
        // The bitmap only when there are too many 2-byte keywords to compare.
        let pairs = pf
            .pair_bits
            .as_deref()
            .filter(|_| few.is_empty())
            .map(|b| &b[..]);
        // Within each 128-bit lane (both hold the same 16 bytes): lane 0 builds the grams at
        // 0..4, lane 1 those at 4..8.
        let ix: [u8; 32] = std::array::from_fn(|j| (j / 16 * 4 + (j % 16) / 4 + j % 4) as u8);
        // SAFETY: `ix` is 32 readable bytes; the load is unaligned.
        let ix = unsafe { _mm256_loadu_si256(ix.as_ptr().cast()) };
        // Group `k` of 8 positions loads 16 bytes at `8k`: a step reads 8 bytes past its end.
        let mut buf = [0u8; STEP + 8];
        for (i, out) in masks.iter_mut().enumerate() {
            let q = p + STEP * i;
            let rest = hay.len() - q;
            let at = if rest >= STEP + 8 {
                hay[q..q + STEP + 8].as_ptr()
            } else {
                buf.fill(0);
                buf[..rest].copy_from_slice(&hay[q..]);
                buf.as_ptr()
            };
            let mut m = 0u64;
            for k in 0..STEP / 8 {
                // SAFETY: `at .. at + STEP + 8` is readable, in `hay` or in `buf`.
                let v =
                    unsafe { _mm256_broadcastsi128_si256(_mm_loadu_si128(at.add(8 * k).cast())) };
                // SAFETY: as the caller's; `test8` reads only the prefilter's tables.
                m |= (unsafe { test8(pf, pairs, few, _mm256_shuffle_epi8(v, ix)) } as u64)
                    << (8 * k);
            }
            if rest < STEP {
                m &= (1u64 << rest) - 1;
            }
            *out = m;
        }
    }

    /// `Prefilter::test` for the 8 unfolded 4-grams in `g`; bit `i` of the result is lane `i`.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn test8(pf: &Prefilter, pairs: Option<&[u32]>, few: &[u16], g: __m256i) -> u32 {
        let g = _mm256_or_si256(g, _mm256_set1_epi32(FOLD as i32));
        let h = _mm256_mullo_epi32(
            _mm256_and_si256(g, _mm256_set1_epi32(0x00ff_ffff)),
            _mm256_set1_epi32(HASH3 as i32),
        );
        let word = _mm256_srli_epi32::<{ 32 - WORD_BITS as i32 }>(h);
        let bit = _mm256_xor_si256(
            _mm256_xor_si256(_mm256_srli_epi32::<8>(h), _mm256_srli_epi32::<24>(g)),
            _mm256_srli_epi32::<29>(g),
        );
        // Shift the tested bit into the sign bit: by `31 - (bit & 31)` == `(bit ^ 31) & 31`.
        let to_sign = _mm256_and_si256(
            _mm256_xor_si256(bit, _mm256_set1_epi32(31)),
            _mm256_set1_epi32(31),
        );
        // SAFETY: every lane of `word` is below `1 << WORD_BITS == pf.bloom.len()`.
        let w = unsafe { _mm256_i32gather_epi32::<4>(pf.bloom.as_ptr().cast(), word) };
        let mut t = _mm256_sllv_epi32(w, to_sign);
        if let Some(pairs) = pairs {
            let b = _mm256_and_si256(g, _mm256_set1_epi32(0xffff));
            // SAFETY: lanes of `b >> 5` are below `PAIR_WORDS == pairs.len()`.
            let w = unsafe {
                _mm256_i32gather_epi32::<4>(pairs.as_ptr().cast(), _mm256_srli_epi32::<5>(b))
            };
            let to_sign = _mm256_andnot_si256(b, _mm256_set1_epi32(31));
            t = _mm256_or_si256(t, _mm256_sllv_epi32(w, to_sign));
        }
        if !few.is_empty() {
            let g2 = _mm256_and_si256(g, _mm256_set1_epi32(0xffff));
            for &pair in few {
                t = _mm256_or_si256(t, _mm256_cmpeq_epi32(g2, _mm256_set1_epi32(pair as i32)));
            }
        }
        _mm256_movemask_ps(_mm256_castsi256_ps(t)) as u32
    }
}

// The frequency model: costs `round(-2 * log2 P)` (half-bits) of folded-byte bigrams and bytes,
// stored as `b'0' + cost`, row = first byte's class. Derived once from ~70 MB of Rust, Python,
// C headers, JavaScript and docs; only the choice of fingerprints (speed, never correctness)
// depends on it.
const BIGRAM_COST: &[u8] = concat!(
    r"6IBCHKEAAGAGQDHBDDEGHIIKKLISF@JKC?A@AB@DD?JGBBAAAIA?>BCBHHIAFBMD",
    r"IPQXXX^SFUM]]UYUPQccfffffcY`YK[XRSTSQSSXUQZYUTSRSYQPNRUVZ][JSUYS",
    r"GUELMRRNNEFSDOKOONOQSURVSTHNQRESOIKIIJHMKKQOJJJLGOJHIKLKMQRLLKOJ",
    r"CPNIVX]STRN]TXUTPOQRRSRUSUSXY]^WXPROFJPQQJXSQOQOLVPOOOQSTWTETP^S",
    r"S^S[RWXQLTY[]ZYTVRRYUWXWXX]c]]^\UNQNQRQXTO_VRQOTSSPOKSQWVW[LTT[W",
    r"M]S[]RVUSVU]YYY_TRUVZ[ZZYX``ZVZ^YWWVSTXZVUY`WW[YU\PLZYa[TY_WVVXV",
    r"ISUQU^IKOUO^YW\ZXVWYX\a\aY`WYU\[ZONORPROSOVUOHORPNPHNTQWTWWJUWZP",
    r"HSNLPNTJLDERBOKOPQSQVVWVXTIOPSSTOHKIIKJKLIPOKIKLJRJGHLLMNQNMGIPC",
    r"NLFOKPGDIBGTTOOOHJLNNQOOQRRTLUWKMGIFHHFMJGPLIIGIHPGDFIHKLPOJJWUH",
    r"AWLZSYRLJBBPBPFJNOOQSUUVUWGCMONIKQTQTRRVVP_ZRRRVSZONPOPSY[]KLESK",
    r";ULCOWYNNG?TMLMBVPPPSUWXXWPOGPMPLKNHKJHONHSONJLLHVLJIIMKMQTINFUI",
    r"GYPYTZ`MQLPMUQVUSQVWWYZ[[ZXSZMXUUTWVVWVWTTW\VUXXV\VTVYYZW]\TOR[U",
    r">TLWXUZLPL@VVUTUQLLNNNQTSTZWQ]]\XORQRORUSOVWRQPQSXQOLSSUTTUQURaN",
    r"G\SZVUSQSULSXAVUNKLPRRSSNMZWSRFUUKJIKLKMNKQPIKLKJMKIJNMNRTLTKPYP",
    r"D\LJSWXMQMCSOWGLHJKMMNMONPVZKQYVSGIFHHHHHGJNHHIHFPGFHIIJOSRQPL\G",
    r"BIPPRVZOTOBZSOP?ROPRSTTUURWXSUPUSJMHILNKNLQRJLKMITKGJLOMOVTSPTRT",
    r"I\LX]RRNQHJWEKIRDHJKKLLLLKKKRWITPMNONONUURZWVUWTVYWVWQXWFYVSOJUM",
    r"I\LY[XWOQIKWGOIPGHGJJJHJJJKMRXHXQOONLLMUYRXXVTXZTWVUVRVX[ZXUPK]M",
    r"I[LZcXWOMIKUGNIPHJJJJIKKIKKNQVNZPNPOOPNTVSZTTSUVSXRRUSUXQYXUQLVI",
    r"LcN[fY_PRLMYHPKSJKFLKKLLLLLQSYO`TPQPQQPWZXZYVUY[WZRUYVZZZ[ZWQM`I",
    r"J]M[`Y]PKKL\HOKRKLKLLLLLLLLPSUO`QPPQQQQTZUZWRTW\V\STVUXZR^ZXQM^L",
    r"MfO[fXYRSMNZIPNTKKLLLKKMMLLRV`Q[VQQQRQQVXU\[XUZYT[VVVU]YZ]ZXQN_O",
    r"L]OZaZ\QPMN\JOMSLMMMGLMLLMLQTYQ]TQQRQQPV[U]YUV\YU]YUWVYZS]]YQMfK",
    r"NfP\cZ_SXON]JRNULMMMMMMMMMLSWZSfXRQQRQO`aZ`cZ]`\__][ZXf[][`]QNfQ",
    r"KYO^cY\PNLMYIPNUKMMMMMKMLMLOUYO^SQQQQQPYYUcXWYU^U\WTWVXXQZ\YQLfM",
    r"N_QUcZaQYOO[KPORLMMMMMMLMKLSWZSaWPQQQQQY[YZZWZWXVYZUYVYZ\X[^QM`O",
    r"ATPQQU\PQRDVYRTIRPRRTUWYWYAWJT[QNKKIKIHMPISSKJHJISIIHKLNRSRKPOUN",
    r"H[SS\_SSXLAcUWVVZ[\\]^a`fcYVOUa\WTUSTSRWVO[[PUSTUXPSQWSWZW\TWSfU",
    r"KSWWPXNIMXPa[UYDVSUUVUVVTVZfLMSXWJIIJLNUMLWQKQNOIVOFIFMTSVVQTV[N",
    r"@OE[UVTNOTNYWVWUOPQUSUVXWYX]SEGUUQRQQPOTSQXURRMRQXONLSPTWTXOPRXR",
    r"CWQWYUOOILEYFOMQUQQSTUUWWWIJEMHWNPOOOQOTSOWXROPONSQNMPQRSRVNQPYP",
    r"LRPYUZ^NQOO\QSNVXZ]_afffafMKQRVQUWXVZVY[YR\]YTWYQUUMSXV[W[]QOP[Z",
    r"FVPROWQOQMHWJOISRQTWWWWYXYOTRXUVFLMKLMLOPKQRMMKNHRJHKMOORVUOOJSO",
    r"CSLXZYVLNKKUJJJPNMMNPOOOOPKQQRJVPJDBCLGDMDMH@B@RCM@@>FGHHFMPOOZI",
    r"GVL`YZYJKLPXMOIOIHOOPQPQQQNRRTMWREMIMCNOSEGRDONENQFHNDPRREQQOO]I",
    r"FNLXZZWLIJLPJMJMNOOOQQNQOPIOMQPWOBJGKBFNAFSCCJK@JNDGBENNNKUNONaG",
    r"AOIPZYSJFHHOGIFMONOOOONPQRGLLMJSLDKKF?ILNBOOGLLDKPGFIGMONIUONK^D",
    r"=LFTYWNGCDDSDGDKNNMKPQNQQPDIJJGPIBGA@DBELGLJ@C?HDE>?@JEFAFOKLHWB",
    r"ASLV_[WLKHIZFLDRMNPMQQLPMOIOPLMYODMKHDEFRAVTGIEBMREHHETPSKVQNL`I",
    r"CQKX[_PKFJJXIKHKUPPRSSTUUUJONPLUNINKMBOKGETSHIEHKSFFHGMQRMPQQO_E",
    r"DTL]\ZULHJJVJMJRXSPQVRQ`Z[KNPNLUOBQNN?PRRBXPLKODOSGKFISPUMTSRO`H",
    r"HRM[Y^UNNKNRLMKMVMSMW\L[OUKRSPJTSDEBCDBCSMRJBC=AFND@@NESGUDSSM`G",
    r"PcVccf`QTQVWRZPXY[X]Z\`c^_UV]XYYZLRSSGTUWQWSVRUJQTVHTLVS\TXVYTfQ",
    r"GQM^]`YMHKMXKMKRXTQUYYV]UYLOQRUXPHQNMCOLQFTUMQKNNSOIMMPLXSXPSPcH",
    r"COHO[ZUKIIISIKIMUOORRWS[XWJNJNLTNBKJD?BJP@ULBNLBJPKDDDJKUETMQN`F",
    r"DRL]\\XJJKMUILJJWQPSXXRYTXKOOSKVPAFLJ@OORDQNGGLDCRNGHDNRRNRRRP_G",
    r"@KIXXXRHFHHTHIGMVMMMPPRQTUHLJLGTLBMCA@FAMDPGFKGBFRHA?DGKSGOOLLZE",
    r"CVM]Y[UMKMKWLLLOYSPVZ\VWS`KPOQSVQHFCBJCGQFLECB?ECR?DCBGDKOQQQQ`F",
    r"GOK[]\XKHKM[KNJOVNNOPOSUTTJONQHWO@PKKAMKJEWKCJKCEPBFCCNPQGNPRP_G",
    r"MIUccfaSOPTfNWPXSUUY[\^aZ]RVTWU\VKSOSMQRTQWWJPSRUOOLREUUWUTVWUfK",
    r"ANINXZRFEFHTFKEMOMOOSUSUTVFKJMGRK@KEE>IENAVHGDCAJQCBBDIJRDUONK[E",
    r"?NGUWURHFEFNEKCHTOOOSRPUVYEKKFNQKEMEJ>JKEATIGIJCCIHB>CMKQFPINK]D",
    r"?JHVWXPGDEFQEHEKQLLKRTMSOUEHEKIQJALEH>HN>@TMGHL@FQ@CCBMIKBPKMI^B",
    r"G\Pc^][OUPORPQPUIJLJPPKRJRQVVUR[UGEEHCGHTDWRBDBJEVABAPRSJUSIWTfH",
    r"KXQ_Y^YMPMQ^MQKTMNOSPTOTRULRRUKXSCQNPBOLSFVHQMQHOTQNPQSQRTTQUSfK",
    r"GWMZV\XOHNNRNOLTUTSTWUX^ZYMPPUVWQFQMMFPQEDVRNPIFPUGIORRLSTTTRS`I",
    r"GVMZ\XYMLKNVKLKNIJLMNNPPKOKONOSXOIOHNGJSQJVXOIQNEUNNEPRVMMVRQM[H",
    r"CQLY^\VKHJIXILIOVTRUY[Z\Z[HMNOPTOLMMNKOKRJUUIJHHCWLFFRQJTRQQQN]G",
    r"QaQ^X^ZPUQU\RVSVPWVJY`[_Y^WXYY[\VKSUTDSVULXVQRUMURSQTVXTTOOYVP_L",
    r"HQKOORSINTBQROMTIIMNOQQRQQMTQTVWJIMGJLMQPHRMLMMOLTKJIKOQRUUKNHMN",
    r"GSNTRSRLNQHSWQNQPTUX[]X[]`TYORSSOOKMLOOSSOXVQQJRNWNKLFSMLVVMHNRO",
    r"FUKTTYTHJFALFSKR][^``faf`cJGPONOMVYUWTUUXT`_VW[XV`TUV\\X\Z_KMIVU",
    r"QVRWVWXRPUQYXTUTURSUVVWWZYXZVUWYTTWW[XW[[T`_YZX\Y\XVRX[XY^_ROUIX",
    r"JTJVWXUCJLNXKPOUKKNNQQOSRTPROSMVRDFDFDEGHDNJFEEFDMECCFGHKONRNOY>",
)
.as_bytes();
const BYTE_COST: &[u8] =
    r"4C>@FHC===:E<?==?@ABBCCDCD=@@??F@9>;;8<=<9D@;<9:;C998;???>C?A?G;".as_bytes();
const _: () = assert!(BIGRAM_COST.len() == 64 * 64 && BYTE_COST.len() == 64);

#[cfg(test)]
mod tests {
    //! Exactness against aho-corasick's overlapping, ASCII-case-insensitive search, on every
    //! kernel this CPU can run: random keyword sets and haystacks with keywords planted at the
    //! edges and across every block boundary.

    use super::*;
    use aho_corasick::{AhoCorasick, MatchKind};

    /// splitmix64: repeatable, and good enough to vary the cases.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    /// Bytes chosen to collide under folding and hashing: few letters in both cases, their
    /// fold partners (`@` `` ` ``, `[` `{`, `^` `~`), digits, newline/`*`, and bytes >= 0x80
    /// (including 0xC1/0xE1, which fold together but are not letters).
    const ALPHABET: &[u8] = b"aAbBkKzZ_-@`[{^~019 \n*.\x80\xc1\xe1\xff\x00";

    fn byte(rng: &mut Rng, narrow: bool) -> u8 {
        if narrow {
            b"abAB"[rng.below(4)]
        } else if rng.chance(80) {
            ALPHABET[rng.below(ALPHABET.len())]
        } else {
            rng.next() as u8
        }
    }

    fn random_case(rng: &mut Rng, kw: &[u8]) -> Vec<u8> {
        kw.iter()
            .map(|&b| {
                if rng.chance(50) {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect()
    }

    fn keywords(rng: &mut Rng) -> Vec<Vec<u8>> {
        let narrow = rng.chance(20);
        let most = if rng.chance(80) { 12 } else { 80 };
        let n = 1 + rng.below(most);
        let mut kws: Vec<Vec<u8>> = Vec::new();
        while kws.len() < n {
            let len = match rng.below(10) {
                0..=2 => 2 + rng.below(2),
                3..=7 => 4 + rng.below(6),
                _ => 10 + rng.below(25),
            };
            let fresh: Vec<u8> = (0..len).map(|_| byte(rng, narrow)).collect();
            let kw = match (kws.is_empty(), rng.below(6)) {
                (true, _) | (_, 0..=2) => fresh,
                // Share a prefix, be a substring, extend, or duplicate an earlier keyword.
                (false, k) => {
                    let base = kws[rng.below(kws.len())].clone();
                    match k {
                        3 => {
                            let cut = 2 + rng.below(base.len() - 1);
                            let mut v = base[..cut.min(base.len())].to_vec();
                            v.extend_from_slice(&fresh[..rng.below(fresh.len())]);
                            v
                        }
                        4 if base.len() > 2 => {
                            let a = rng.below(base.len() - 1);
                            let b = a + 2 + rng.below(base.len() - a - 1);
                            base[a..b.min(base.len())].to_vec()
                        }
                        5 => random_case(rng, &base),
                        _ => [base, fresh].concat(),
                    }
                }
            };
            kws.push(kw);
        }
        kws
    }

    fn haystack(rng: &mut Rng, kws: &[Vec<u8>]) -> Vec<u8> {
        let len = match rng.below(10) {
            0..=2 => rng.below(8),
            3..=6 => rng.below(130),
            _ => rng.below(600),
        };
        haystack_of_len(rng, kws, len)
    }

    fn haystack_of_len(rng: &mut Rng, kws: &[Vec<u8>], len: usize) -> Vec<u8> {
        let narrow = rng.chance(30);
        let mut hay: Vec<u8> = (0..len).map(|_| byte(rng, narrow)).collect();
        let plant = |hay: &mut Vec<u8>, rng: &mut Rng, at: usize| {
            let pick = rng.below(kws.len());
            let kw = random_case(rng, &kws[pick]);
            if kw.len() <= hay.len() {
                let at = at.min(hay.len() - kw.len());
                hay[at..at + kw.len()].copy_from_slice(&kw);
            }
        };
        if !hay.is_empty() {
            plant(&mut hay, rng, 0);
            plant(&mut hay, rng, usize::MAX); // clamped: ends at the last byte
            // Straddle every 8-byte boundary (covers the 16-, 32-, 48- and 64-byte blocks).
            for b in (8..hay.len()).step_by(8) {
                if rng.chance(60) {
                    let back = rng.below(12);
                    plant(&mut hay, rng, b.saturating_sub(back));
                }
            }
        }
        hay
    }

    fn expected(kws: &[Vec<u8>], hay: &[u8]) -> Vec<(usize, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(kws)
            .unwrap();
        let mut v: Vec<_> = ac
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start()))
            .collect();
        v.sort_unstable();
        v
    }

    fn check(kws: &[Vec<u8>], hay: &[u8]) {
        let want = expected(kws, hay);
        for kernel in Kernel::available() {
            let pf = Prefilter::with_kernel(kws, kernel);
            let mut got = Vec::new();
            pf.for_each_match(hay, |k, s| got.push((k, s)));
            got.sort_unstable();
            assert_eq!(
                got,
                want,
                "kernel {kernel:?}\nkeywords {:?}\nhaystack {:?}",
                kws.iter()
                    .map(|k| k.escape_ascii().to_string())
                    .collect::<Vec<_>>(),
                hay.escape_ascii().to_string()
            );
        }
    }

    #[test]
    fn matches_aho_corasick_on_random_cases() {
        let mut rng = Rng(0x5eed_0001);
        for _ in 0..3000 {
            let kws = keywords(&mut rng);
            for _ in 0..4 {
                let hay = haystack(&mut rng, &kws);
                check(&kws, &hay);
            }
        }
    }

    #[test]
    fn chunk_boundaries() {
        // Haystacks of 2-3 chunks (4 KiB each): keywords planted at the start, the end and
        // across every 8-byte boundary, including the chunk edges.
        let mut rng = Rng(0x5eed_0003);
        for _ in 0..40 {
            let kws = keywords(&mut rng);
            let len = 2 * 4096 + rng.below(4200);
            let mut hay = haystack_of_len(&mut rng, &kws, len);
            for edge in [4096, 8192, 12288].into_iter().filter(|&e| e < len) {
                let pick = rng.below(kws.len());
                let kw = random_case(&mut rng, &kws[pick]);
                let at = edge - rng.below(kw.len()).min(edge);
                if at + kw.len() <= hay.len() {
                    hay[at..at + kw.len()].copy_from_slice(&kw);
                }
            }
            check(&kws, &hay);
        }
    }

    #[test]
    fn many_two_byte_keywords() {
        // More than `FEW_PAIRS` distinct 2-byte keywords switch the SIMD kernels from direct
        // comparison to tables; cover both sides of the threshold.
        let mut rng = Rng(0x5eed_0004);
        for round in 0..60 {
            let pairs = FEW_PAIRS - 2 + round % 30;
            let mut kws: Vec<Vec<u8>> = Vec::new();
            while kws.len() < pairs {
                let kw = vec![byte(&mut rng, false), byte(&mut rng, false)];
                if !kws.iter().any(|k| k.eq_ignore_ascii_case(&kw)) {
                    kws.push(kw);
                }
            }
            let mut more = keywords(&mut rng);
            kws.append(&mut more);
            let pf = Prefilter::new(&kws);
            let distinct = pf.pair_bits.as_ref().map_or(0, |b| {
                b.iter().map(|w| w.count_ones() as usize).sum::<usize>()
            });
            assert_eq!(pf.pair_list.is_empty(), distinct > FEW_PAIRS);
            for _ in 0..4 {
                let hay = haystack(&mut rng, &kws);
                check(&kws, &hay);
            }
        }
    }

    #[test]
    fn every_length_and_end_position() {
        // 2-, 3- and 4+-byte keywords ending at the last byte, for every haystack length up to
        // several blocks, so every tail size of every kernel is exercised.
        let kws: Vec<Vec<u8>> = [&b"zq"[..], b"k9_", b"x-yz", b"longer\xe1kw", b"yz"]
            .iter()
            .map(|k| k.to_vec())
            .collect();
        for len in 0..=260 {
            for kw in &kws {
                let mut hay = vec![b'.'; len];
                if kw.len() <= len {
                    hay[len - kw.len()..].copy_from_slice(&kw.to_ascii_uppercase());
                    hay[..kw.len()].copy_from_slice(kw);
                }
                check(&kws, &hay);
            }
        }
    }

    #[test]
    fn empty_and_tiny_haystacks() {
        let kws: Vec<Vec<u8>> = vec![b"ab".to_vec(), b"abc".to_vec(), b"abcd".to_vec()];
        for hay in [
            &b""[..],
            b"a",
            b"ab",
            b"AB",
            b"aBc",
            b"abcd",
            b"xab",
            b"ababab",
        ] {
            check(&kws, hay);
        }
    }

    #[test]
    fn builtin_catalogue_on_random_text() {
        let rules = crate::rules::RuleSet::builtin();
        let mut kws: Vec<Vec<u8>> = rules
            .rules()
            .iter()
            .flat_map(|r| r.spec.keywords.iter().map(|k| k.as_bytes().to_vec()))
            .collect();
        kws.sort();
        kws.dedup();
        let mut rng = Rng(0x5eed_0002);
        for _ in 0..50 {
            let mut hay: Vec<u8> = (0..4000)
                .map(|_| b"etaoin shrdlu_=\"'\n"[rng.below(18)])
                .collect();
            for _ in 0..60 {
                let pick = rng.below(kws.len());
                let kw = random_case(&mut rng, &kws[pick]);
                let at = rng.below(hay.len() - kw.len());
                hay[at..at + kw.len()].copy_from_slice(&kw);
            }
            check(&kws, &hay);
        }
    }
}
