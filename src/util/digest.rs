//! Content digests: sha256 (and sha512, which OCI layouts may use), as hex or in the OCI
//! `algorithm:hex` form.

use std::io::{self, Read};

use sha2::{Digest, Sha256, Sha512};

/// A digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// The algorithm of an OCI digest prefix (`sha256`, `sha512`), if supported.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The OCI name: `sha256` or `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Hex digest of `bytes`.
    pub fn hex(self, bytes: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => hex::encode(Sha256::digest(bytes)),
            Algorithm::Sha512 => hex::encode(Sha512::digest(bytes)),
        }
    }

    /// OCI digest of `bytes`: `<name>:<hex>`.
    pub fn digest(self, bytes: &[u8]) -> String {
        format!("{}:{}", self.name(), self.hex(bytes))
    }

    /// Hex digest of everything `reader` yields, and its length; `on_read` is told the size
    /// of each chunk (for progress).
    pub fn hex_reader(
        self,
        mut reader: impl Read,
        on_read: &mut dyn FnMut(u64),
    ) -> io::Result<(String, u64)> {
        fn run<D: Digest>(
            mut h: D,
            reader: &mut dyn Read,
            on_read: &mut dyn FnMut(u64),
        ) -> io::Result<(String, u64)> {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0u64;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                h.update(&buf[..n]);
                total += n as u64;
                on_read(n as u64);
            }
            Ok((hex::encode(h.finalize()), total))
        }
        match self {
            Algorithm::Sha256 => run(Sha256::new(), &mut reader, on_read),
            Algorithm::Sha512 => run(Sha512::new(), &mut reader, on_read),
        }
    }
}

/// sha256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Algorithm::Sha256.hex(bytes)
}

/// sha256 of `bytes` as an OCI digest: `sha256:<hex>`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    Algorithm::Sha256.digest(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_and_streaming_agree() {
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), empty);
        assert_eq!(sha256_digest(b""), format!("sha256:{empty}"));
        let data = vec![7u8; 600 * 1024];
        let mut seen = 0;
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let (hex, len) = alg.hex_reader(&data[..], &mut |n| seen += n).unwrap();
            assert_eq!(hex, alg.hex(&data));
            assert_eq!(len, data.len() as u64);
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(seen, 2 * data.len() as u64);
        assert_eq!(Algorithm::from_name("md5"), None);
    }
}
