//! The few WASI preview 1 calls Go's runtime and package `init`s make, for the
//! interpreter's init run, answered as wasmtime's WASI does for the empty
//! context the wasmtime run uses: no arguments, no environment, no preopened
//! folders, stdin empty, stdout and stderr captured (stderr for the error
//! message). Any other import traps, and [`super::snapshot`] then runs init
//! again in wasmtime with the full WASI context, so a call missing here costs
//! time, never a different snapshot.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmi::{Caller, Error, Extern, ExternType, FuncType, Linker, Module, Val, ValType};

const WASI: &str = "wasi_snapshot_preview1";

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
/// `filetype::unknown`: what wasmtime reports for stdio that is not a terminal.
const FILETYPE_UNKNOWN: u8 = 0;
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;

/// The store's state during the init run.
pub(super) struct WasiInit {
    /// What init wrote to stderr.
    pub(super) stderr: Vec<u8>,
    /// The monotonic clock's zero, as a fresh wasmtime WASI context has it.
    start: Instant,
}

impl WasiInit {
    pub(super) fn new() -> WasiInit {
        WasiInit {
            stderr: Vec::new(),
            start: Instant::now(),
        }
    }
}

/// A WASI call answered here.
#[derive(Debug, Clone, Copy)]
enum Call {
    ArgsGet,
    ArgsSizesGet,
    EnvironGet,
    EnvironSizesGet,
    ClockTimeGet,
    RandomGet,
    FdWrite,
    FdFdstatGet,
    FdFdstatSetFlags,
    FdPrestatGet,
    SchedYield,
}

impl Call {
    /// The call and its parameter types (every one returns an errno `i32`).
    fn find(name: &str) -> Option<(Call, &'static [ValType])> {
        use ValType::{I32, I64};
        Some(match name {
            "args_get" => (Call::ArgsGet, &[I32, I32]),
            "args_sizes_get" => (Call::ArgsSizesGet, &[I32, I32]),
            "environ_get" => (Call::EnvironGet, &[I32, I32]),
            "environ_sizes_get" => (Call::EnvironSizesGet, &[I32, I32]),
            "clock_time_get" => (Call::ClockTimeGet, &[I32, I64, I32]),
            "random_get" => (Call::RandomGet, &[I32, I32]),
            "fd_write" => (Call::FdWrite, &[I32, I32, I32, I32]),
            "fd_fdstat_get" => (Call::FdFdstatGet, &[I32, I32]),
            "fd_fdstat_set_flags" => (Call::FdFdstatSetFlags, &[I32, I32]),
            "fd_prestat_get" => (Call::FdPrestatGet, &[I32, I32]),
            "sched_yield" => (Call::SchedYield, &[]),
            _ => return None,
        })
    }
}

/// Defines every function `module` imports: the calls above, and a trap for
/// the rest (the glue's WIT imports, which init never calls, and any WASI
/// call not answered here).
pub(super) fn define(linker: &mut Linker<WasiInit>, module: &Module) -> Result<(), Error> {
    let mut defined = std::collections::HashSet::new();
    for import in module.imports() {
        // A module may import the same function more than once.
        if !defined.insert((import.module(), import.name())) {
            continue;
        }
        let ExternType::Func(ty) = import.ty() else {
            // Go imports only functions; anything else fails instantiation,
            // and the wasmtime run takes over.
            continue;
        };
        let (module_name, name) = (import.module().to_owned(), import.name().to_owned());
        let known = (module_name == WASI)
            .then(|| Call::find(&name))
            .flatten()
            .filter(|(_, params)| ty.params() == *params && ty.results() == [ValType::I32]);
        match known {
            Some((call, _)) => linker.func_new(
                &module_name,
                &name,
                ty.clone(),
                move |mut caller, params, results| {
                    results[0] = Val::I32(answer(call, &mut caller, params)?);
                    Ok(())
                },
            )?,
            None => {
                let what = format!("{module_name}::{name}");
                linker.func_new(
                    &module_name,
                    &name,
                    FuncType::new(ty.params().to_vec(), ty.results().to_vec()),
                    move |_, _, _| {
                        Err(Error::new(format!(
                            "{what} is not available to the interpreter's init run"
                        )))
                    },
                )?
            }
        };
    }
    Ok(())
}

fn answer(call: Call, caller: &mut Caller<'_, WasiInit>, params: &[Val]) -> Result<i32, Error> {
    let arg = |i: usize| -> Result<i32, Error> {
        params
            .get(i)
            .and_then(Val::i32)
            .ok_or_else(|| Error::new("bad WASI call parameters"))
    };
    let memory = caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| Error::new("the module exports no `memory`"))?;
    let (mem, state) = memory.data_and_store_mut(&mut *caller);
    Ok(match call {
        Call::ArgsGet | Call::EnvironGet | Call::SchedYield => SUCCESS,
        Call::ArgsSizesGet | Call::EnvironSizesGet => {
            put(mem, arg(0)?, &0u32.to_le_bytes())?;
            put(mem, arg(1)?, &0u32.to_le_bytes())?;
            SUCCESS
        }
        Call::ClockTimeGet => {
            let now = match arg(0)? {
                CLOCK_REALTIME => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_err(|e| Error::new(e.to_string()))?,
                CLOCK_MONOTONIC => state.start.elapsed(),
                other => return Err(Error::new(format!("clock {other}"))),
            };
            let nanos = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
            put(mem, arg(2)?, &nanos.to_le_bytes())?;
            SUCCESS
        }
        Call::RandomGet => {
            let buf = slice(mem, arg(0)?, arg(1)?)?;
            getrandom::fill(buf).map_err(|e| Error::new(e.to_string()))?;
            SUCCESS
        }
        Call::FdWrite => {
            let (fd, iovs, count, nwritten) = (arg(0)?, arg(1)?, arg(2)?, arg(3)?);
            if !(1..=2).contains(&fd) {
                return Ok(BADF);
            }
            let mut total: u32 = 0;
            for i in 0..count {
                let iov = slice(mem, iovs.wrapping_add(i.wrapping_mul(8)), 8)?;
                let ptr = i32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
                let len = i32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
                let bytes = slice(mem, ptr, len)?;
                if fd == 2 {
                    state.stderr.extend_from_slice(bytes);
                }
                total = total.wrapping_add(len as u32);
            }
            put(mem, nwritten, &total.to_le_bytes())?;
            SUCCESS
        }
        Call::FdFdstatGet => {
            let rights = match arg(0)? {
                0 => RIGHT_FD_READ,
                1 | 2 => RIGHT_FD_WRITE,
                _ => return Ok(BADF),
            };
            // fdstat: filetype u8 @0, flags u16 @2, rights_base u64 @8,
            // rights_inheriting u64 @16.
            let mut fdstat = [0u8; 24];
            fdstat[0] = FILETYPE_UNKNOWN;
            fdstat[8..16].copy_from_slice(&rights.to_le_bytes());
            fdstat[16..24].copy_from_slice(&rights.to_le_bytes());
            put(mem, arg(1)?, &fdstat)?;
            SUCCESS
        }
        // wasmtime changes flags of files only, and stdio is not one.
        Call::FdFdstatSetFlags => BADF,
        // No preopened folders.
        Call::FdPrestatGet => BADF,
    })
}

fn slice(mem: &mut [u8], at: i32, len: i32) -> Result<&mut [u8], Error> {
    let (at, len) = (at as u32 as usize, len as u32 as usize);
    at.checked_add(len)
        .and_then(|end| mem.get_mut(at..end))
        .ok_or_else(|| Error::new("WASI call outside linear memory"))
}

fn put(mem: &mut [u8], at: i32, bytes: &[u8]) -> Result<(), Error> {
    slice(mem, at, bytes.len() as i32)?.copy_from_slice(bytes);
    Ok(())
}
