//! Fewer data segments in a Go core module, so a fresh instance starts faster.
//!
//! Go's linker emits tens of thousands of small active data segments (42,032
//! in the example's `temp-convert`), and Wizer's snapshot turns each of them
//! into an empty passive segment and adds up to 10,000 active segments of its
//! own for the initialized memory. wasmtime (here and on the wasmCloud host)
//! walks every data segment each time it creates an instance (it records each
//! segment's base and length in the instance's context); for a snapshotted Go
//! module that loop was 42% of a fresh instance's time (`perf annotate` of
//! `Instance::new`, `pelato bench`).
//!
//! `build` compacts snapshotted modules (measured, `cargo bench --bench
//! segments`, one run: store + instantiate p50 186 → 55 µs, fresh delivery
//! 470 → 299 µs, +1.5% component size). A plain module gains nothing
//! measurable there (Go's own init dominates its instantiation) and would grow
//! by 9%, so it is left as Go wrote it.
//!
//! [`compact`] rewrites only the data section: passive segments are dropped
//! when the module has no data count section (without one, `memory.init` and
//! `data.drop` cannot appear, so nothing can refer to a passive segment), and
//! active segments of one memory with constant offsets are merged when the gap
//! between them is at most [`MAX_GAP`] bytes, the gap written as zeros (which
//! is what the memory holds there anyway). Every other section is copied byte
//! for byte. A module this cannot prove safe to rewrite (a data count section,
//! overlapping or non-constant segments, a parse error) is returned unchanged.

use std::borrow::Cow;

/// Largest run of zeros written to join two active segments. 1 KiB keeps the
/// example's segments at ~130 (from ~52,000) for ~0.2 MiB more module.
pub const MAX_GAP: u64 = 1024;

struct Active<'a> {
    memory: u32,
    offset: u64,
    bytes: &'a [u8],
}

/// `module` with its data segments compacted (see the module docs), or
/// unchanged when that cannot be done safely.
pub fn compact(module: &[u8]) -> Cow<'_, [u8]> {
    match try_compact(module) {
        Some(out) => Cow::Owned(out),
        None => Cow::Borrowed(module),
    }
}

/// Number of data segments of a core module (for tests and figures); 0 when
/// it has no data section (or none that parses).
pub fn count(module: &[u8]) -> u32 {
    wasmparser::Parser::new(0)
        .parse_all(module)
        .find_map(|p| match p {
            Ok(wasmparser::Payload::DataSection(r)) => Some(r.count()),
            _ => None,
        })
        .unwrap_or(0)
}

fn try_compact(module: &[u8]) -> Option<Vec<u8>> {
    use wasmparser::{DataKind, Operator, Payload};
    let mut actives: Vec<Active<'_>> = Vec::new();
    let mut has_data = false;
    let mut segments = 0u32;
    for payload in wasmparser::Parser::new(0).parse_all(module) {
        match payload.ok()? {
            Payload::DataCountSection { .. } => return None,
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => return None,
            Payload::DataSection(reader) => {
                has_data = true;
                for d in reader {
                    let d = d.ok()?;
                    segments += 1;
                    match d.kind {
                        DataKind::Passive => {}
                        DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => {
                            let mut ops = offset_expr.get_operators_reader();
                            let offset = match ops.read().ok()? {
                                Operator::I32Const { value } => u64::from(value as u32),
                                Operator::I64Const { value } => value as u64,
                                _ => return None,
                            };
                            if !matches!(ops.read().ok()?, Operator::End) {
                                return None;
                            }
                            actives.push(Active {
                                memory: memory_index,
                                offset,
                                bytes: d.data,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if !has_data {
        return None;
    }
    // Memory 64 offsets would need i64.const; Go's wasm has one 32-bit memory.
    if actives
        .iter()
        .any(|a| a.memory != 0 || a.offset > u64::from(u32::MAX))
    {
        return None;
    }
    actives.sort_by_key(|a| a.offset);
    let mut merged: Vec<(u64, Vec<u8>)> = Vec::new();
    for a in &actives {
        match merged.last_mut() {
            Some((start, bytes)) => {
                let end = *start + bytes.len() as u64;
                if a.offset < end {
                    return None; // overlapping: order would matter
                }
                if a.offset - end <= MAX_GAP {
                    bytes.resize((a.offset - *start) as usize, 0);
                    bytes.extend_from_slice(a.bytes);
                    continue;
                }
                merged.push((a.offset, a.bytes.to_vec()));
            }
            None => merged.push((a.offset, a.bytes.to_vec())),
        }
    }
    if merged.len() as u32 == segments {
        return None; // nothing to gain
    }
    let mut data = wasm_encoder::DataSection::new();
    for (offset, bytes) in &merged {
        data.active(
            0,
            &wasm_encoder::ConstExpr::i32_const(*offset as u32 as i32),
            bytes.iter().copied(),
        );
    }
    // Copy every section but the data section byte for byte.
    let mut out = wasm_encoder::Module::new();
    let mut pos = 8;
    while pos < module.len() {
        let id = module[pos];
        let (size, len_bytes) = read_u32_leb(&module[pos + 1..])?;
        let start = pos + 1 + len_bytes;
        let end = start.checked_add(size as usize)?;
        if end > module.len() {
            return None;
        }
        if id == 11 {
            out.section(&data);
        } else {
            out.section(&wasm_encoder::RawSection {
                id,
                data: &module[start..end],
            });
        }
        pos = end;
    }
    let out = out.finish();
    // Never ship what does not validate.
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(&out)
        .ok()?;
    Some(out)
}

fn read_u32_leb(b: &[u8]) -> Option<(u32, usize)> {
    let mut result: u64 = 0;
    for (i, byte) in b.iter().take(5).enumerate() {
        result |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(result).ok().map(|r| (r, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one memory exported as `m`, an optional data count
    /// section, and `segs` (`Some(offset)`: active; `None`: passive).
    fn module(count_section: bool, segs: &[(Option<u32>, &[u8])]) -> Vec<u8> {
        let mut m = wasm_encoder::Module::new();
        let mut mem = wasm_encoder::MemorySection::new();
        mem.memory(wasm_encoder::MemoryType {
            minimum: 1,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
        m.section(&mem);
        let mut ex = wasm_encoder::ExportSection::new();
        ex.export("m", wasm_encoder::ExportKind::Memory, 0);
        m.section(&ex);
        if count_section {
            m.section(&wasm_encoder::DataCountSection {
                count: segs.len() as u32,
            });
        }
        let mut data = wasm_encoder::DataSection::new();
        for (offset, bytes) in segs {
            match offset {
                Some(o) => {
                    data.active(
                        0,
                        &wasm_encoder::ConstExpr::i32_const(*o as i32),
                        bytes.iter().copied(),
                    );
                }
                None => {
                    data.passive(bytes.iter().copied());
                }
            }
        }
        m.section(&data);
        m.finish()
    }

    /// Exported memory `m` after instantiation, first 4 KiB.
    fn memory(wasm: &[u8]) -> Vec<u8> {
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let mem = instance.get_memory(&mut store, "m").unwrap();
        mem.data(&store)[..4096].to_vec()
    }

    #[test]
    fn merges_near_segments_drops_passive_and_keeps_memory() {
        let segs: &[(Option<u32>, &[u8])] = &[
            (Some(2000), b"far"),
            (Some(16), b"abc"),
            (None, b""),
            (Some(24), b"def"),
            (None, b""),
            (Some(100), b"ghi"),
        ];
        let before = module(false, segs);
        let after = compact(&before);
        assert_eq!(count(&before), 6);
        // 16..27 and 100 join (gaps 5 and 73); 2000 is 1897 bytes further.
        assert_eq!(count(&after), 2);
        assert_eq!(memory(&before), memory(&after));
    }

    #[test]
    fn leaves_modules_it_cannot_prove_safe() {
        // A data count section: passive segments may be used by memory.init.
        let m = module(true, &[(Some(0), b"a"), (None, b"b"), (Some(4), b"c")]);
        assert!(matches!(compact(&m), Cow::Borrowed(_)));
        // Overlapping segments: the later one wins, order matters.
        let m = module(false, &[(Some(0), b"aaaa"), (Some(2), b"bb")]);
        assert!(matches!(compact(&m), Cow::Borrowed(_)));
        // Nothing to merge.
        let m = module(false, &[(Some(0), b"a")]);
        assert!(matches!(compact(&m), Cow::Borrowed(_)));
    }
}
