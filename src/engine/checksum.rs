//! Checksums embedded in token formats.
//!
//! GitHub (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`) and npm (`npm_`) tokens end in six base62 digits
//! holding the CRC32 of the 30-character random part, most significant digit first, left-padded
//! with '0'. A valid checksum makes a typo'd or invented token very unlikely.

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `n` as six base62 digits.
pub fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// The six-character checksum for a token's random part.
pub fn crc32_base62(random: &[u8]) -> [u8; 6] {
    base62_6(crc32fast::hash(random))
}

/// Checks a token of the form `<prefix>_<random><checksum>` (the last six bytes are the checksum
/// of everything between the last `_` and them). Returns `None` when the token has no such shape.
pub fn verify_crc32_base62(token: &[u8]) -> Option<bool> {
    let us = token.iter().rposition(|&b| b == b'_')?;
    let body = &token[us + 1..];
    if body.len() < 7 {
        return None;
    }
    let (random, sum) = body.split_at(body.len() - 6);
    Some(crc32_base62(random) == sum)
}

/// Whether `value` is standard base64 (padding optional) of printable ASCII `user:password`.
pub fn is_base64_credentials(value: &[u8]) -> bool {
    use base64::Engine;
    let engine = base64::engine::general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let Ok(decoded) = engine.decode(value) else {
        return false;
    };
    let printable = decoded.iter().all(|&b| (0x20..0x7f).contains(&b));
    printable
        && decoded
            .iter()
            .position(|&b| b == b':')
            .is_some_and(|i| i + 1 < decoded.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_pads_and_orders() {
        assert_eq!(&base62_6(0), b"000000");
        assert_eq!(&base62_6(61), b"00000z");
        assert_eq!(&base62_6(62), b"000010");
        assert_eq!(&base62_6(u32::MAX), b"4gfFC3");
    }

    #[test]
    fn basic_credentials() {
        assert!(is_base64_credentials(b"dXNlcjpodW50ZXIy")); // user:hunter2
        assert!(is_base64_credentials(b"dXNlcjpodW50ZXIyIQ")); // unpadded
        assert!(!is_base64_credentials(b"1SUVkmdf3ln7")); // decodes to binary
        assert!(!is_base64_credentials(b"dXNlcm5hbWU=")); // "username": no colon
        assert!(!is_base64_credentials(b"not base64!"));
    }

    #[test]
    fn round_trip() {
        let random = b"abcdefghijABCDEFGHIJ0123456789";
        let mut token = b"ghp_".to_vec();
        token.extend_from_slice(random);
        token.extend_from_slice(&crc32_base62(random));
        assert_eq!(verify_crc32_base62(&token), Some(true));
        let last = token.len() - 1;
        token[last] = if token[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(verify_crc32_base62(&token), Some(false));
        assert_eq!(verify_crc32_base62(b"nounderscore"), None);
    }
}
