//! Android packaging checks: every shipped `libchat_ffi.so` must load on 16 KB-page
//! devices (Android 15+, required by Google Play), i.e. each of its `PT_LOAD` segments is
//! aligned to at least 16384 bytes.
//!
//! Rules: the ELF program headers are read here (ELF32 and ELF64, little-endian, which
//! covers every Android ABI and the Linux host), with no tool to install; a file that is
//! not such an ELF file, or that has no LOAD segment, fails the check too.

use std::path::Path;

use anyhow::{Context, bail, ensure};

/// The page size Android 15+ devices may use.
pub(crate) const ANDROID_PAGE_SIZE: u64 = 16 * 1024;

/// Fails unless every LOAD segment of the ELF shared library at `path` is aligned to
/// at least [`ANDROID_PAGE_SIZE`]; returns the alignments found.
pub(crate) fn check_16k_pages(path: &Path) -> anyhow::Result<Vec<u64>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let aligns = load_alignments(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let short: Vec<String> = aligns
        .iter()
        .filter(|&&a| a < ANDROID_PAGE_SIZE)
        .map(|a| format!("{a:#x}"))
        .collect();
    if !short.is_empty() {
        bail!(
            "{} is not 16 KB-aligned: LOAD segments aligned to {} (need >= {ANDROID_PAGE_SIZE:#x}; \
             link with -Wl,-z,max-page-size=16384, see chat-ffi/build.rs)",
            path.display(),
            short.join(", ")
        );
    }
    eprintln!(
        "xtask: {} is 16 KB-aligned ({} LOAD segments)",
        path.display(),
        aligns.len()
    );
    Ok(aligns)
}

/// The `p_align` of every `PT_LOAD` program header of a little-endian ELF file.
fn load_alignments(elf: &[u8]) -> anyhow::Result<Vec<u64>> {
    ensure!(elf.get(..4) == Some(b"\x7fELF"), "not an ELF file");
    ensure!(elf.get(5) == Some(&1), "not a little-endian ELF file");
    let u16_at = |at: usize| -> anyhow::Result<u64> {
        let b = elf.get(at..at + 2).context("truncated ELF file")?;
        Ok(u64::from(u16::from_le_bytes([b[0], b[1]])))
    };
    let u32_at = |at: usize| -> anyhow::Result<u64> {
        let b = elf.get(at..at + 4).context("truncated ELF file")?;
        Ok(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
    };
    let u64_at = |at: usize| -> anyhow::Result<u64> {
        let b = elf.get(at..at + 8).context("truncated ELF file")?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    };
    // (e_phoff, e_phentsize, e_phnum, p_align's offset in a header, its reader)
    let (phoff, phentsize, phnum, align_at, wide) = match elf.get(4) {
        Some(1) => (u32_at(0x1c)?, u16_at(0x2a)?, u16_at(0x2c)?, 28, false),
        Some(2) => (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?, 48, true),
        _ => bail!("unknown ELF class"),
    };
    let mut aligns = Vec::new();
    for i in 0..phnum {
        let header = usize::try_from(phoff + i * phentsize)?;
        const PT_LOAD: u64 = 1;
        if u32_at(header)? == PT_LOAD {
            let at = header + align_at;
            aligns.push(if wide { u64_at(at)? } else { u32_at(at)? });
        }
    }
    ensure!(!aligns.is_empty(), "no LOAD segment");
    Ok(aligns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 file: the header and one program header per `(type, align)`.
    fn elf64(segments: &[(u32, u64)]) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[..6].copy_from_slice(b"\x7fELF\x02\x01");
        f[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        f[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        f[0x38..0x3a].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for &(kind, align) in segments {
            let mut h = vec![0u8; 56];
            h[..4].copy_from_slice(&kind.to_le_bytes());
            h[48..56].copy_from_slice(&align.to_le_bytes());
            f.extend(h);
        }
        f
    }

    /// A minimal ELF32 file (armeabi-v7a's class).
    fn elf32(segments: &[(u32, u32)]) -> Vec<u8> {
        let mut f = vec![0u8; 52];
        f[..6].copy_from_slice(b"\x7fELF\x01\x01");
        f[0x1c..0x20].copy_from_slice(&52u32.to_le_bytes());
        f[0x2a..0x2c].copy_from_slice(&32u16.to_le_bytes());
        f[0x2c..0x2e].copy_from_slice(&(segments.len() as u16).to_le_bytes());
        for &(kind, align) in segments {
            let mut h = vec![0u8; 32];
            h[..4].copy_from_slice(&kind.to_le_bytes());
            h[28..32].copy_from_slice(&align.to_le_bytes());
            f.extend(h);
        }
        f
    }

    #[test]
    fn reads_only_load_segments_of_both_classes() {
        // PT_PHDR (6) and PT_DYNAMIC (2) are skipped whatever their alignment.
        let file = elf64(&[(6, 8), (1, 0x4000), (2, 8), (1, 0x10000)]);
        assert_eq!(load_alignments(&file).unwrap(), vec![0x4000, 0x10000]);
        let file = elf32(&[(1, 0x1000), (6, 4), (1, 0x4000)]);
        assert_eq!(load_alignments(&file).unwrap(), vec![0x1000, 0x4000]);
    }

    #[test]
    fn a_4k_segment_fails_the_check() {
        let dir = std::env::temp_dir().join(format!("xtask-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.so");
        std::fs::write(&good, elf64(&[(1, 0x4000), (1, 0x4000)])).unwrap();
        assert!(check_16k_pages(&good).is_ok());
        let bad = dir.join("bad.so");
        std::fs::write(&bad, elf64(&[(1, 0x4000), (1, 0x1000)])).unwrap();
        let error = check_16k_pages(&bad).unwrap_err().to_string();
        assert!(error.contains("0x1000"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_what_is_not_an_elf_file() {
        assert!(load_alignments(b"!<arch>\n").is_err());
        assert!(
            load_alignments(&elf64(&[(6, 8)])).is_err(),
            "no LOAD segment"
        );
        assert!(
            load_alignments(&elf64(&[(1, 0x4000)])[..70]).is_err(),
            "truncated"
        );
    }
}
