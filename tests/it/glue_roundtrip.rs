//! Round-trip tests of the WIT → Go glue generator over the whole non-resource
//! canonical ABI, with the real Go compiler, wit-component and wasmtime.
//!
//! Shape: for a type `T`, the component exports `guest.echo-T(x: T) -> T`, whose
//! Go hook calls the imported `host.echo-T(x: T) -> T` and returns its answer.
//! The host answers `mutate(x)` (an injective change), so one call checks the
//! export lift, import lower, import lift and export lower. Because a mistake
//! made the same way in a lift and the matching lower would cancel out in such
//! a pass-through, the `golden-*` functions also check values against Go
//! literals written independently of the glue, in both directions.

use crate::support::glue as support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use pelato::glue::{self, GlueError, GlueOptions};
use support::*;
use wasmtime::component::Val;

const MAX_MESSAGE: u64 = 2 * 1024 * 1024;

/// (function suffix, WIT type) of every `echo-*` function.
const ECHOES: &[(&str, &str)] = &[
    ("bool", "bool"),
    ("u8", "u8"),
    ("u16", "u16"),
    ("u32", "u32"),
    ("u64", "u64"),
    ("s8", "s8"),
    ("s16", "s16"),
    ("s32", "s32"),
    ("s64", "s64"),
    ("f32", "f32"),
    ("f64", "f64"),
    ("char", "char"),
    ("string", "string"),
    ("bytes", "bytes"),
    ("list-u8", "list<u8>"),
    ("list-u32", "list<u32>"),
    ("list-string", "list<string>"),
    ("list-mixed", "list<mixed>"),
    ("list-list", "list<list<s16>>"),
    ("list-point", "list<point>"),
    ("mixed", "mixed"),
    ("mixed-alias", "mixed-alias"),
    ("point", "point"),
    ("tuple", "tuple<u8, string, f64>"),
    ("tuple-wide", "tuple<u64, u8, s8>"),
    ("opt-u32", "option<u32>"),
    ("opt-string", "option<string>"),
    ("opt-opt", "option<option<u8>>"),
    ("opt-f64", "option<f64>"),
    ("res-unit", "result"),
    ("res-err", "result<_, string>"),
    ("res-ok", "result<u32>"),
    ("res-both", "result<string, u8>"),
    ("res-join", "result<f32, u64>"),
    ("res-float", "result<f64, f32>"),
    ("color", "color"),
    ("wide", "wide"),
    ("fone", "fone"),
    ("fsmall", "fsmall"),
    ("fmedium", "fmedium"),
    ("flarge", "flarge"),
    ("v", "v"),
    ("w", "w"),
    ("x", "x"),
    ("deep", "deep"),
    ("tagged", "tagged"),
    ("list-v", "list<v>"),
    ("opt-v", "option<v>"),
    ("big", "big"),
    ("golden", "golden"),
    // Names that clash with the prelude (`pelatoKeep`) and with a hook
    // (`pelatoOnGuestNop`).
    ("keep", "keep"),
    ("odd", "on-guest-nop"),
];

const TYPES_WIT: &str = r#"
interface types {
  record mixed { a: u8, b: u64, c: u16 }
  record point { x: s32, y: f64, label: string, tags: list<string> }
  enum color { red, green, blue }
  enum wide { WIDE }
  flags fone { only }
  flags fsmall { F8 }
  flags fmedium { F12 }
  flags flarge { F32 }
  variant v { a(u8), b(f32), c(u64), d(f64), e(string), f }
  variant w { i(s32), f(f32) }
  variant x { f(f32), g(f64), n }
  variant deep { items(list<v>), rec(mixed), opt(option<v>), res(result<point, color>), nothing }
  variant tagged { tag(u32), other(string) }
  record big {
    a: u8, b: u64, c: u16, d: string, e: f32, f: f64, g: list<u8>, h: option<s64>,
    i: v, j: tuple<u8, u64>, k: char, l: bool, m: s8, n: s16, o: fsmall, p: color,
  }
  record keep { k: u8 }
  record on-guest-nop { z: string }
  type bytes = list<u8>;
  type mixed-alias = mixed;
  record golden {
    b: bool, u8v: u8, u16v: u16, u32v: u32, u64v: u64, s8v: s8, s16v: s16, s32v: s32, s64v: s64,
    f32v: f32, f64v: f64, c: char, s: string, by: list<u8>, lu: list<u32>, ls: list<string>,
    m: mixed, lm: list<mixed>, ll: list<list<s16>>, t: tuple<u8, string, f64>,
    oo: option<option<u8>>, on: option<string>,
    r1: result, r2: result<_, string>, r3: result<u32>, r4: result<string, u8>,
    col: color, wd: wide, fs: fsmall, fm: fmedium, fl: flarge,
    vs: list<v>, ws: list<w>, xs: list<x>, dp: list<deep>, tg: tagged,
  }
}
"#;

const COMMON_FUNCS: &str = r#"
  many: func(a0: u32, a1: u32, a2: u32, a3: u32, a4: u32, a5: u32, a6: u32, a7: u32, a8: u32, a9: u32,
             a10: u32, a11: u32, a12: u32, a13: u32, a14: u32, a15: u32, a16: u32, a17: u32, a18: u32, a19: u32) -> list<u32>;
  spread: func(a: u8, b: s64, c: f32, d: f64, e: string, f: list<u8>, g: option<u16>, h: v, i: bool, j: char)
    -> tuple<u8, s64, f32, f64, string, list<u8>, option<u16>, v, bool, char>;
  pair: func(a: u32, b: u32) -> u64;
  counter: func() -> u64;
  sink: func(s: string, n: u32);
  nop: func();
  golden-in: func(g: golden) -> string;
  golden-out: func() -> golden;
  golden-flat-a: func(a: mixed, b: option<u8>, c: result<f32, u64>, d: fsmall, e: s8, f: char, h: f64,
                      i: tuple<u8, s64>, j: bool, k: result<f32, u64>) -> string;
  golden-flat-v: func(a: v, b: v, c: v, d: v, e: v) -> string;
  golden-flat-w: func(a: v, b: w, c: w, d: x, e: x, f: x) -> string;
"#;

fn names(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn roundtrip_wit() -> String {
    let types = TYPES_WIT
        .replace("WIDE", &names("w", 300))
        .replace("F8", &names("f", 8))
        .replace("F12", &names("f", 12))
        .replace("F32", &names("f", 32));
    let uses = "use types.{mixed, point, color, wide, fone, fsmall, fmedium, flarge, v, w, x, deep, tagged, big, bytes, mixed-alias, golden, keep, on-guest-nop};";
    let echoes: String = ECHOES
        .iter()
        .map(|(n, t)| format!("  echo-{n}: func(x: {t}) -> {t};\n"))
        .collect();
    format!(
        "package pelato:roundtrip@0.1.0;\n{types}\n\
         interface host {{\n  {uses}\n{echoes}{COMMON_FUNCS}}}\n\n\
         interface guest {{\n  {uses}\n{echoes}{COMMON_FUNCS}  run-golden: func() -> list<string>;\n}}\n\n\
         world roundtrip {{\n  import host;\n  export guest;\n\
         \x20 import host-root-echo: func(x: string) -> string;\n\
         \x20 export root-echo: func(x: string) -> string;\n\
         \x20 import host-echo-u8: func(x: u8) -> u8;\n\
         \x20 export echo-u8: func(x: u8) -> u8;\n\
         }}\n\n\
         world minimal {{\n  record pt {{ x: s32, y: s32 }}\n  export norm: func(p: pt) -> pt;\n  export add: func(a: s32, b: s32) -> s32;\n  export hello: func(who: string) -> string;\n}}\n"
    )
}

/// Hand-written Go: the golden checks (independent of the glue's own codecs).
const GOLDEN_GO: &str = r#"package main

import (
	"fmt"
	"math"
	"reflect"
)

func main() {}

func goldenValue() pelatoGolden {
	return pelatoGolden{
		B: true, U8v: 200, U16v: 60000, U32v: 4000000000, U64v: 18000000000000000000,
		S8v: -100, S16v: -30000, S32v: -2000000000, S64v: -9000000000000000000,
		F32v: -1.5, F64v: 6.02214076e23, C: '🦀', S: "héllo, 世界",
		By: []byte{0, 1, 255}, Lu: []uint32{1, 4294967295}, Ls: []string{"a", "", "ü"},
		M:  pelatoMixed{A: 7, B: 1 << 40, C: 65535},
		Lm: []pelatoMixed{{1, 2, 3}, {4, 5, 6}},
		Ll: [][]int16{{-1, 2}, {}, {32767, -32768}},
		T:   pelatoTuple3[uint8, string, float64]{9, "tup", 0.25},
		Oo:  pelatoOption[pelatoOption[uint8]]{Some: true},
		On:  pelatoOption[string]{},
		R1:  pelatoResult[struct{}, struct{}]{IsErr: true},
		R2:  pelatoResult[struct{}, string]{IsErr: true, Err: "bad"},
		R3:  pelatoResult[uint32, struct{}]{Ok: 77},
		R4:  pelatoResult[string, uint8]{IsErr: true, Err: 5},
		Col: pelatoColorBlue,
		Wd:  pelatoWideW257,
		Fs:  pelatoFsmallF0 | pelatoFsmallF7,
		Fm:  pelatoFmediumF3 | pelatoFmediumF11,
		Fl:  pelatoFlargeF0 | pelatoFlargeF16 | pelatoFlargeF31,
		Vs: []pelatoV{
			{Tag: pelatoVTagA, A: 255}, {Tag: pelatoVTagB, B: 2.5}, {Tag: pelatoVTagC, C: 1<<63 + 5},
			{Tag: pelatoVTagD, D: -0.125}, {Tag: pelatoVTagE, E: "variant"}, {Tag: pelatoVTagF},
		},
		Ws: []pelatoW{{Tag: pelatoWTagI, I: -7}, {Tag: pelatoWTagF, F: 3.5}},
		Xs: []pelatoX{{Tag: pelatoXTagF, F: 1.25}, {Tag: pelatoXTagG, G: -2.5e300}, {Tag: pelatoXTagN}},
		Dp: []pelatoDeep{
			{Tag: pelatoDeepTagItems, Items: []pelatoV{{Tag: pelatoVTagA, A: 1}, {Tag: pelatoVTagE, E: "x"}}},
			{Tag: pelatoDeepTagRec, Rec: pelatoMixed{1, 2, 3}},
			{Tag: pelatoDeepTagOpt, Opt: pelatoOption[pelatoV]{Some: true, Value: pelatoV{Tag: pelatoVTagD, D: 1.5}}},
			{Tag: pelatoDeepTagOpt},
			{Tag: pelatoDeepTagRes, Res: pelatoResult[pelatoPoint, pelatoColor]{Ok: pelatoPoint{X: -1, Y: 0.5, Label: "p", Tags: []string{"t1"}}}},
			{Tag: pelatoDeepTagRes, Res: pelatoResult[pelatoPoint, pelatoColor]{IsErr: true, Err: pelatoColorGreen}},
			{Tag: pelatoDeepTagNothing},
		},
		Tg: pelatoTagged{Tag: pelatoTaggedTagTag, Tag_: 42},
	}
}

var (
	fa0 = pelatoMixed{A: 1, B: 1<<50 + 3, C: 65000}
	fa1 = pelatoOption[uint8]{Some: true, Value: 200}
	fa2 = pelatoResult[float32, uint64]{Ok: -3.75}
	fa3 = pelatoFsmallF1 | pelatoFsmallF6
	fa4 = int8(-128)
	fa5 = '€'
	fa6 = -1.0e-300
	fa7 = pelatoTuple2[uint8, int64]{F0: 255, F1: -5}
	fa8 = true
	fa9 = pelatoResult[float32, uint64]{IsErr: true, Err: math.MaxUint64 - 1}

	fv = []pelatoV{
		{Tag: pelatoVTagA, A: 0xAB}, {Tag: pelatoVTagB, B: 3.25}, {Tag: pelatoVTagC, C: 0xFFFFFFFF00000001},
		{Tag: pelatoVTagD, D: -1e-300}, {Tag: pelatoVTagE, E: "ünïcode"},
	}

	fw0 = pelatoV{Tag: pelatoVTagF}
	fw1 = pelatoW{Tag: pelatoWTagI, I: -2147483648}
	fw2 = pelatoW{Tag: pelatoWTagF, F: float32(math.Inf(-1))}
	fw3 = pelatoX{Tag: pelatoXTagF, F: 0.1}
	fw4 = pelatoX{Tag: pelatoXTagG, G: math.MaxFloat64}
	fw5 = pelatoX{Tag: pelatoXTagN}
)

func diff(what string, got, want any) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	if gv.Kind() == reflect.Struct && gv.Type() == wv.Type() {
		out := ""
		for i := 0; i < gv.NumField(); i++ {
			g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
			if !reflect.DeepEqual(g, w) {
				out += fmt.Sprintf("%s.%s: got %+v want %+v; ", what, gv.Type().Field(i).Name, g, w)
			}
		}
		return out
	}
	return fmt.Sprintf("%s: got %+v want %+v; ", what, got, want)
}

func diffs(what string, got, want []any) string {
	out := ""
	for i := range got {
		out += diff(fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
	}
	if out == "" {
		return "ok"
	}
	return out
}

func pelatoOnGuestGoldenIn(a0 pelatoGolden) string {
	if d := diff("golden", a0, goldenValue()); d != "" {
		return d
	}
	return "ok"
}

func pelatoOnGuestGoldenOut() pelatoGolden { return goldenValue() }

func pelatoOnGuestGoldenFlatA(a0 pelatoMixed, a1 pelatoOption[uint8], a2 pelatoResult[float32, uint64], a3 pelatoFsmall, a4 int8, a5 rune, a6 float64, a7 pelatoTuple2[uint8, int64], a8 bool, a9 pelatoResult[float32, uint64]) string {
	return diffs("flat-a", []any{a0, a1, a2, a3, a4, a5, a6, a7, a8, a9}, []any{fa0, fa1, fa2, fa3, fa4, fa5, fa6, fa7, fa8, fa9})
}

func pelatoOnGuestGoldenFlatV(a0, a1, a2, a3, a4 pelatoV) string {
	return diffs("flat-v", []any{a0, a1, a2, a3, a4}, []any{fv[0], fv[1], fv[2], fv[3], fv[4]})
}

func pelatoOnGuestGoldenFlatW(a0 pelatoV, a1, a2 pelatoW, a3, a4, a5 pelatoX) string {
	return diffs("flat-w", []any{a0, a1, a2, a3, a4, a5}, []any{fw0, fw1, fw2, fw3, fw4, fw5})
}

func pelatoOnGuestRunGolden() []string {
	fails := []string{}
	check := func(what, r string) {
		if r != "ok" {
			fails = append(fails, what+": "+r)
		}
	}
	check("host golden-in", pelatoHostGoldenIn(goldenValue()))
	if d := diff("host golden-out", pelatoHostGoldenOut(), goldenValue()); d != "" {
		fails = append(fails, d)
	}
	check("host golden-flat-a", pelatoHostGoldenFlatA(fa0, fa1, fa2, fa3, fa4, fa5, fa6, fa7, fa8, fa9))
	check("host golden-flat-v", pelatoHostGoldenFlatV(fv[0], fv[1], fv[2], fv[3], fv[4]))
	check("host golden-flat-w", pelatoHostGoldenFlatW(fw0, fw1, fw2, fw3, fw4, fw5))
	return fails
}
"#;

const MINIMAL_GO: &str = r#"package main

func main() {}

func pelatoOnAdd(a, b int32) int32 { return a + b }

func pelatoOnHello(who string) string { return "hello, " + who }

// A world-level record, rotated by 90°.
func pelatoOnNorm(p pelatoPt) pelatoPt { return pelatoPt{X: -p.Y, Y: p.X} }
"#;

// ---- expected values on the Rust side ---------------------------------------

fn mixed(a: u8, b: u64, c: u16) -> Val {
    rec(&[("a", Val::U8(a)), ("b", Val::U64(b)), ("c", Val::U16(c))])
}

fn point(x: i32, y: f64, label: &str, tags: &[&str]) -> Val {
    rec(&[
        ("x", Val::S32(x)),
        ("y", Val::Float64(y)),
        ("label", s(label)),
        ("tags", list(tags.iter().map(|t| s(t)).collect())),
    ])
}

fn golden_val() -> Val {
    rec(&[
        ("b", Val::Bool(true)),
        ("u8v", Val::U8(200)),
        ("u16v", Val::U16(60000)),
        ("u32v", Val::U32(4_000_000_000)),
        ("u64v", Val::U64(18_000_000_000_000_000_000)),
        ("s8v", Val::S8(-100)),
        ("s16v", Val::S16(-30000)),
        ("s32v", Val::S32(-2_000_000_000)),
        ("s64v", Val::S64(-9_000_000_000_000_000_000)),
        ("f32v", Val::Float32(-1.5)),
        ("f64v", Val::Float64(6.02214076e23)),
        ("c", Val::Char('🦀')),
        ("s", s("héllo, 世界")),
        ("by", list(vec![Val::U8(0), Val::U8(1), Val::U8(255)])),
        ("lu", list(vec![Val::U32(1), Val::U32(u32::MAX)])),
        ("ls", list(vec![s("a"), s(""), s("ü")])),
        ("m", mixed(7, 1 << 40, 65535)),
        ("lm", list(vec![mixed(1, 2, 3), mixed(4, 5, 6)])),
        (
            "ll",
            list(vec![
                list(vec![Val::S16(-1), Val::S16(2)]),
                list(vec![]),
                list(vec![Val::S16(32767), Val::S16(-32768)]),
            ]),
        ),
        ("t", tup(vec![Val::U8(9), s("tup"), Val::Float64(0.25)])),
        ("oo", some(none())),
        ("on", none()),
        ("r1", err(None)),
        ("r2", err(Some(s("bad")))),
        ("r3", ok(Some(Val::U32(77)))),
        ("r4", err(Some(Val::U8(5)))),
        ("col", en("blue")),
        ("wd", en("w257")),
        ("fs", flags(&["f0", "f7"])),
        ("fm", flags(&["f3", "f11"])),
        ("fl", flags(&["f0", "f16", "f31"])),
        (
            "vs",
            list(vec![
                case("a", Some(Val::U8(255))),
                case("b", Some(Val::Float32(2.5))),
                case("c", Some(Val::U64((1 << 63) + 5))),
                case("d", Some(Val::Float64(-0.125))),
                case("e", Some(s("variant"))),
                case("f", None),
            ]),
        ),
        (
            "ws",
            list(vec![
                case("i", Some(Val::S32(-7))),
                case("f", Some(Val::Float32(3.5))),
            ]),
        ),
        (
            "xs",
            list(vec![
                case("f", Some(Val::Float32(1.25))),
                case("g", Some(Val::Float64(-2.5e300))),
                case("n", None),
            ]),
        ),
        (
            "dp",
            list(vec![
                case(
                    "items",
                    Some(list(vec![
                        case("a", Some(Val::U8(1))),
                        case("e", Some(s("x"))),
                    ])),
                ),
                case("rec", Some(mixed(1, 2, 3))),
                case("opt", Some(some(case("d", Some(Val::Float64(1.5)))))),
                case("opt", Some(none())),
                case("res", Some(ok(Some(point(-1, 0.5, "p", &["t1"]))))),
                case("res", Some(err(Some(en("green"))))),
                case("nothing", None),
            ]),
        ),
        ("tg", case("tag", Some(Val::U32(42)))),
    ])
}

fn flat_a() -> Vec<Val> {
    vec![
        mixed(1, (1 << 50) + 3, 65000),
        some(Val::U8(200)),
        ok(Some(Val::Float32(-3.75))),
        flags(&["f1", "f6"]),
        Val::S8(-128),
        Val::Char('€'),
        Val::Float64(-1.0e-300),
        tup(vec![Val::U8(255), Val::S64(-5)]),
        Val::Bool(true),
        err(Some(Val::U64(u64::MAX - 1))),
    ]
}

fn flat_v() -> Vec<Val> {
    vec![
        case("a", Some(Val::U8(0xAB))),
        case("b", Some(Val::Float32(3.25))),
        case("c", Some(Val::U64(0xFFFF_FFFF_0000_0001))),
        case("d", Some(Val::Float64(-1e-300))),
        case("e", Some(s("ünïcode"))),
    ]
}

fn flat_w() -> Vec<Val> {
    vec![
        case("f", None),
        case("i", Some(Val::S32(i32::MIN))),
        case("f", Some(Val::Float32(f32::NEG_INFINITY))),
        case("f", Some(Val::Float32(0.1))),
        case("g", Some(Val::Float64(f64::MAX))),
        case("n", None),
    ]
}

fn check_all(what: &str, got: &[Val], want: &[Val]) -> Val {
    let mut problems = Vec::new();
    if got.len() != want.len() {
        problems.push(format!("{} values, want {}", got.len(), want.len()));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if !same(g, w) {
            problems.push(format!("[{i}] got {} want {}", show(g), show(w)));
        }
    }
    if problems.is_empty() {
        s("ok")
    } else {
        s(&format!("{what}: {}", problems.join("; ")))
    }
}

// ---- the built worlds -----------------------------------------------------------

fn opts() -> GlueOptions {
    GlueOptions {
        max_message_bytes: MAX_MESSAGE,
        ..GlueOptions::default()
    }
}

fn roundtrip_world() -> &'static BuiltWorld {
    static W: OnceLock<BuiltWorld> = OnceLock::new();
    W.get_or_init(|| build_world(&roundtrip_wit(), "roundtrip", &opts(), GOLDEN_GO))
}

const HOST: &str = "pelato:roundtrip/host@0.1.0";
const GUEST: &str = "pelato:roundtrip/guest@0.1.0";

fn host_fns() -> HashMap<String, HostFn> {
    let mut m: HashMap<String, HostFn> = HashMap::new();
    let h = |n: &str| format!("{HOST}#{n}");
    m.insert(
        h("many"),
        Arc::new(|p| Some(list(p.iter().map(mutate).collect()))),
    );
    m.insert(
        h("spread"),
        Arc::new(|p| Some(tup(p.iter().map(mutate).collect()))),
    );
    m.insert(
        h("pair"),
        Arc::new(|p| match p {
            [Val::U32(a), Val::U32(b)] => Some(Val::U64((u64::from(*a) << 32) | u64::from(*b))),
            other => panic!("pair: {other:?}"),
        }),
    );
    let counter = Arc::new(AtomicU64::new(u64::MAX - 2));
    m.insert(
        h("counter"),
        Arc::new(move |p| {
            assert!(p.is_empty());
            Some(Val::U64(
                counter.fetch_add(1, Ordering::SeqCst).wrapping_add(1),
            ))
        }),
    );
    m.insert(h("sink"), Arc::new(|_| None));
    m.insert(h("nop"), Arc::new(|_| None));
    m.insert(
        h("golden-in"),
        Arc::new(|p| Some(check_all("golden-in", p, &[golden_val()]))),
    );
    m.insert(h("golden-out"), Arc::new(|_| Some(golden_val())));
    m.insert(
        h("golden-flat-a"),
        Arc::new(|p| Some(check_all("golden-flat-a", p, &flat_a()))),
    );
    m.insert(
        h("golden-flat-v"),
        Arc::new(|p| Some(check_all("golden-flat-v", p, &flat_v()))),
    );
    m.insert(
        h("golden-flat-w"),
        Arc::new(|p| Some(check_all("golden-flat-w", p, &flat_w()))),
    );
    m
}

fn run() -> Running {
    instantiate(roundtrip_world(), &host_fns(), mutate)
}

/// Calls `guest.echo-<name>` with each value and checks the answer is exactly
/// `mutate(value)`.
fn echo(r: &mut Running, name: &str, values: &[Val]) {
    let func = format!("echo-{name}");
    for v in values {
        let got = r
            .call(Some(GUEST), &func, std::slice::from_ref(v))
            .unwrap_or_else(|| panic!("{func} returned nothing"));
        let want = mutate(v);
        assert!(
            same(&got, &want),
            "{func}({})\n  got  {}\n  want {}",
            show(v),
            show(&got),
            show(&want)
        );
    }
}

// ---- tests -------------------------------------------------------------------

#[test]
fn scalars_round_trip_both_ways() {
    let mut r = run();
    echo(&mut r, "bool", &[Val::Bool(true), Val::Bool(false)]);
    echo(&mut r, "u8", &[0u8, 1, 127, 128, 254, 255].map(Val::U8));
    echo(
        &mut r,
        "u16",
        &[0u16, 1, 255, 256, 32767, 32768, 65535].map(Val::U16),
    );
    echo(
        &mut r,
        "u32",
        &[0u32, 1, 0x7FFF_FFFF, 0x8000_0000, u32::MAX].map(Val::U32),
    );
    echo(
        &mut r,
        "u64",
        &[0u64, 1, u32::MAX as u64, 1 << 32, 1 << 63, u64::MAX].map(Val::U64),
    );
    echo(&mut r, "s8", &[i8::MIN, -1, 0, 1, i8::MAX].map(Val::S8));
    echo(
        &mut r,
        "s16",
        &[i16::MIN, -129, -1, 0, 255, i16::MAX].map(Val::S16),
    );
    echo(&mut r, "s32", &[i32::MIN, -1, 0, 1, i32::MAX].map(Val::S32));
    echo(&mut r, "s64", &[i64::MIN, -1, 0, 1, i64::MAX].map(Val::S64));
    let f32s = [
        0.0f32,
        -0.0,
        1.5,
        -2.75,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // smallest subnormal
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(0x7FC0_0000), // quiet NaN
        f32::from_bits(0xFFC0_0000), // negative quiet NaN
        f32::from_bits(0x7FC1_2345), // quiet NaN with payload
        f32::from_bits(0x7F80_0001), // signaling NaNs: not quieted on the way
        f32::from_bits(0xFF80_0001),
    ];
    echo(&mut r, "f32", &f32s.map(Val::Float32));
    let f64s = [
        0.0f64,
        -0.0,
        1.5,
        -1e300,
        f64::MIN_POSITIVE,
        f64::from_bits(1),
        f64::MAX,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::from_bits(0x7FF8_0000_0000_0000),
        f64::from_bits(0xFFF8_0000_0000_0000),
        f64::from_bits(0x7FF8_0000_DEAD_BEEF),
        f64::from_bits(0x7FF0_0000_0000_0001),
        f64::from_bits(0xFFF4_0000_0000_0000),
    ];
    echo(&mut r, "f64", &f64s.map(Val::Float64));
    echo(
        &mut r,
        "char",
        &[
            'a',
            '\0',
            'é',
            '世',
            '🦀',
            '\u{D7FF}',
            '\u{E000}',
            '\u{10FFFF}',
        ]
        .map(Val::Char),
    );
    // The world-level export calls the world-level import (whose Go wrapper
    // name clashes with `host.echo-u8`'s).
    for x in [0u8, 7, 255] {
        assert_eq!(
            r.call(None, "echo-u8", &[Val::U8(x)]),
            Some(Val::U8(x.wrapping_add(1)))
        );
    }
}

#[test]
fn strings_and_lists_round_trip_both_ways() {
    let mut r = run();
    echo(
        &mut r,
        "string",
        &[s(""), s("a"), s("héllo, 世界 🦀"), s(&"xyz€".repeat(5000))],
    );
    let bytes = |b: &[u8]| list(b.iter().map(|x| Val::U8(*x)).collect());
    for name in ["bytes", "list-u8"] {
        echo(
            &mut r,
            name,
            &[
                bytes(&[]),
                bytes(&[0]),
                bytes(&[0, 1, 2, 255, 128]),
                bytes(&[7; 4099]),
            ],
        );
    }
    let u32s = |v: &[u32]| list(v.iter().map(|x| Val::U32(*x)).collect());
    echo(
        &mut r,
        "list-u32",
        &[
            u32s(&[]),
            u32s(&[0, u32::MAX, 1 << 31]),
            u32s(&(0..1000).collect::<Vec<_>>()),
        ],
    );
    echo(
        &mut r,
        "list-string",
        &[
            list(vec![]),
            list(vec![s("")]),
            list(vec![s("a"), s(""), s("ü世🦀"), s(&"q".repeat(1000))]),
            list((0..500).map(|i| s(&format!("item-{i}"))).collect()),
        ],
    );
    echo(
        &mut r,
        "list-mixed",
        &[
            list(vec![]),
            list(vec![
                mixed(1, u64::MAX, 2),
                mixed(255, 0, 65535),
                mixed(0, 1 << 40, 0),
            ]),
        ],
    );
    let s16s = |v: &[i16]| list(v.iter().map(|x| Val::S16(*x)).collect());
    echo(
        &mut r,
        "list-list",
        &[
            list(vec![]),
            list(vec![s16s(&[])]),
            list(vec![s16s(&[-1, 2, i16::MIN]), s16s(&[]), s16s(&[i16::MAX])]),
        ],
    );
    echo(
        &mut r,
        "list-point",
        &[list(vec![
            point(-5, 1.25, "a", &[]),
            point(i32::MAX, f64::NEG_INFINITY, "", &["x", "yy", "ü"]),
        ])],
    );
}

#[test]
fn records_tuples_options_results_round_trip_both_ways() {
    let mut r = run();
    let ms = [
        mixed(0, 0, 0),
        mixed(255, u64::MAX, 65535),
        mixed(0x12, 0x0102_0304_0506_0708, 0xBEEF),
    ];
    echo(&mut r, "mixed", &ms);
    echo(&mut r, "mixed-alias", &ms);
    echo(
        &mut r,
        "point",
        &[
            point(0, 0.0, "", &[]),
            point(i32::MIN, -0.0, "héllo", &["a", "", "c"]),
        ],
    );
    echo(
        &mut r,
        "tuple",
        &[
            tup(vec![Val::U8(0), s(""), Val::Float64(0.0)]),
            tup(vec![Val::U8(200), s("tüple"), Val::Float64(-1.5e-10)]),
        ],
    );
    echo(
        &mut r,
        "tuple-wide",
        &[tup(vec![
            Val::U64(u64::MAX),
            Val::U8(255),
            Val::S8(i8::MIN),
        ])],
    );
    echo(
        &mut r,
        "opt-u32",
        &[none(), some(Val::U32(0)), some(Val::U32(u32::MAX))],
    );
    echo(
        &mut r,
        "opt-string",
        &[none(), some(s("")), some(s("sömé"))],
    );
    echo(
        &mut r,
        "opt-opt",
        &[
            none(),
            some(none()),
            some(some(Val::U8(0))),
            some(some(Val::U8(255))),
        ],
    );
    echo(
        &mut r,
        "opt-f64",
        &[
            none(),
            some(Val::Float64(-0.0)),
            some(Val::Float64(f64::MAX)),
        ],
    );
    echo(&mut r, "res-unit", &[ok(None), err(None)]);
    echo(
        &mut r,
        "res-err",
        &[ok(None), err(Some(s(""))), err(Some(s("bäd")))],
    );
    echo(
        &mut r,
        "res-ok",
        &[
            ok(Some(Val::U32(5))),
            err(None),
            ok(Some(Val::U32(u32::MAX))),
        ],
    );
    echo(
        &mut r,
        "res-both",
        &[
            ok(Some(s("yes"))),
            ok(Some(s(""))),
            err(Some(Val::U8(0))),
            err(Some(Val::U8(255))),
        ],
    );
    // result<f32, u64>: the f32 travels in an i64 slot.
    echo(
        &mut r,
        "res-join",
        &[
            ok(Some(Val::Float32(-1.5))),
            ok(Some(Val::Float32(f32::from_bits(0x7FC0_0001)))),
            err(Some(Val::U64(u64::MAX))),
            err(Some(Val::U64(0))),
        ],
    );
    // result<f64, f32>: both in an i64 slot.
    echo(
        &mut r,
        "res-float",
        &[
            ok(Some(Val::Float64(f64::MIN_POSITIVE))),
            err(Some(Val::Float32(-0.0))),
            err(Some(Val::Float32(f32::INFINITY))),
        ],
    );
}

#[test]
fn enums_flags_variants_round_trip_both_ways() {
    let mut r = run();
    echo(&mut r, "color", &[en("red"), en("green"), en("blue")]);
    echo(
        &mut r,
        "wide",
        &[en("w0"), en("w255"), en("w256"), en("w299")],
    );
    echo(&mut r, "fone", &[flags(&[]), flags(&["only"])]);
    echo(
        &mut r,
        "fsmall",
        &[
            flags(&[]),
            flags(&["f0"]),
            flags(&["f7"]),
            flags(&["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"]),
        ],
    );
    echo(
        &mut r,
        "fmedium",
        &[
            flags(&[]),
            flags(&["f8"]),
            flags(&["f0", "f11"]),
            flags(&["f7", "f8"]),
        ],
    );
    let all32: Vec<String> = (0..32).map(|i| format!("f{i}")).collect();
    echo(
        &mut r,
        "flarge",
        &[
            flags(&[]),
            flags(&["f31"]),
            flags(&["f0", "f15", "f16", "f31"]),
            Val::Flags(all32),
        ],
    );
    let vs = vec![
        case("a", Some(Val::U8(0))),
        case("a", Some(Val::U8(255))),
        case("b", Some(Val::Float32(-1.5))),
        case("b", Some(Val::Float32(f32::from_bits(0x7FC0_0001)))),
        case("b", Some(Val::Float32(-0.0))),
        case("c", Some(Val::U64(u64::MAX))),
        case("c", Some(Val::U64(0x0000_0001_0000_0000))),
        case("d", Some(Val::Float64(-0.0))),
        case(
            "d",
            Some(Val::Float64(f64::from_bits(0x7FF8_0000_0000_0001))),
        ),
        case("e", Some(s(""))),
        case("e", Some(s("stríng"))),
        case("f", None),
    ];
    echo(&mut r, "v", &vs);
    echo(&mut r, "list-v", &[list(vec![]), list(vs.clone())]);
    echo(
        &mut r,
        "opt-v",
        &[none(), some(vs[2].clone()), some(vs[10].clone())],
    );
    echo(
        &mut r,
        "w",
        &[
            case("i", Some(Val::S32(i32::MIN))),
            case("i", Some(Val::S32(-1))),
            case("f", Some(Val::Float32(f32::NEG_INFINITY))),
            case("f", Some(Val::Float32(1e-40))),
        ],
    );
    echo(
        &mut r,
        "x",
        &[
            case("f", Some(Val::Float32(-0.1))),
            case("g", Some(Val::Float64(-0.1))),
            case("n", None),
        ],
    );
    echo(
        &mut r,
        "deep",
        &[
            case("items", Some(list(vs.clone()))),
            case("rec", Some(mixed(3, 4, 5))),
            case("opt", Some(some(case("c", Some(Val::U64(9)))))),
            case("opt", Some(none())),
            case("res", Some(ok(Some(point(1, 2.0, "pt", &["a"]))))),
            case("res", Some(err(Some(en("blue"))))),
            case("nothing", None),
        ],
    );
    echo(
        &mut r,
        "tagged",
        &[
            case("tag", Some(Val::U32(u32::MAX))),
            case("other", Some(s("x"))),
        ],
    );
    echo(&mut r, "keep", &[rec(&[("k", Val::U8(1))])]);
    echo(&mut r, "odd", &[rec(&[("z", s("odd"))])]);
}

fn big(seed: u8) -> Val {
    rec(&[
        ("a", Val::U8(seed)),
        ("b", Val::U64(u64::MAX - u64::from(seed))),
        ("c", Val::U16(0xABCD)),
        ("d", s(&format!("big-{seed}-ü"))),
        ("e", Val::Float32(-0.5)),
        ("f", Val::Float64(1e100)),
        ("g", list(vec![Val::U8(1), Val::U8(seed)])),
        ("h", some(Val::S64(i64::MIN))),
        ("i", case("d", Some(Val::Float64(2.5)))),
        ("j", tup(vec![Val::U8(9), Val::U64(1 << 60)])),
        ("k", Val::Char('ß')),
        ("l", Val::Bool(true)),
        ("m", Val::S8(-7)),
        ("n", Val::S16(-300)),
        ("o", flags(&["f2", "f5"])),
        ("p", en("green")),
    ])
}

#[test]
fn indirect_params_return_pointers_and_odd_signatures() {
    let mut r = run();
    // 20 flat params: passed through memory, both ways.
    let params: Vec<Val> = (0..20u32)
        .map(|i| Val::U32(i.wrapping_mul(0x1111_1111) ^ 0x8000_0000))
        .collect();
    let got = r.call(Some(GUEST), "many", &params).unwrap();
    assert!(
        same(&got, &list(params.iter().map(mutate).collect())),
        "{}",
        show(&got)
    );

    // 15 flat params, tuple result through a return pointer.
    let params = vec![
        Val::U8(250),
        Val::S64(-42),
        Val::Float32(0.5),
        Val::Float64(-7.25),
        s("spread ✓"),
        list(vec![Val::U8(3), Val::U8(4)]),
        some(Val::U16(65535)),
        case("e", Some(s("in a variant"))),
        Val::Bool(false),
        Val::Char('✓'),
    ];
    let got = r.call(Some(GUEST), "spread", &params).unwrap();
    assert!(
        same(&got, &tup(params.iter().map(mutate).collect())),
        "{}",
        show(&got)
    );

    // A record with 22 flat values: indirect params and a return pointer.
    echo(&mut r, "big", &[big(0), big(255)]);

    assert_eq!(
        r.call(Some(GUEST), "pair", &[Val::U32(0xDEAD_BEEF), Val::U32(7)]),
        Some(Val::U64(0xDEAD_BEEF_0000_0007))
    );
    // No params (the counter starts near u64::MAX and wraps).
    for want in [u64::MAX - 1, u64::MAX, 0, 1] {
        assert_eq!(r.call(Some(GUEST), "counter", &[]), Some(Val::U64(want)));
    }
    // No result.
    assert_eq!(
        r.call(Some(GUEST), "sink", &[s("into the sink"), Val::U32(9)]),
        None
    );
    assert_eq!(r.call(Some(GUEST), "nop", &[]), None);
    {
        let log = r.log.lock().unwrap();
        let sink = log
            .calls
            .iter()
            .find(|(n, _)| n.ends_with("#sink"))
            .expect("host sink called");
        assert_eq!(sink.1, vec![s("into the sink"), Val::U32(9)]);
        assert!(log
            .calls
            .iter()
            .any(|(n, p)| n.ends_with("#nop") && p.is_empty()));
    }
    // World-level functions.
    assert_eq!(r.call(None, "root-echo", &[s("abc✓")]), Some(s("✓cba")));
}

#[test]
fn golden_values_match_independent_go_literals() {
    let mut r = run();
    // Export direction: the host's values, checked by Go against its literals.
    let ok_ = Some(s("ok"));
    assert_eq!(r.call(Some(GUEST), "golden-in", &[golden_val()]), ok_);
    assert_eq!(r.call(Some(GUEST), "golden-flat-a", &flat_a()), ok_);
    assert_eq!(r.call(Some(GUEST), "golden-flat-v", &flat_v()), ok_);
    assert_eq!(r.call(Some(GUEST), "golden-flat-w", &flat_w()), ok_);
    let out = r.call(Some(GUEST), "golden-out", &[]).unwrap();
    assert!(same(&out, &golden_val()), "golden-out: {}", show(&out));
    // Import direction: Go's literals, checked by the host; and the host's
    // values checked by Go.
    assert_eq!(r.call(Some(GUEST), "run-golden", &[]), Some(list(vec![])));
    // And the whole golden record through the pass-through, for good measure.
    echo(&mut r, "golden", &[golden_val()]);
}

#[test]
fn large_payloads_fit_and_oversized_ones_trap_cleanly() {
    let mut r = run();
    // ~1 MiB, non-ASCII, in both directions.
    let unit = "abcdé世🦀\n";
    let big_s: String = unit.repeat(1024 * 1024 / unit.len());
    assert!(big_s.len() > 1_000_000);
    echo(&mut r, "string", &[s(&big_s)]);
    let big_b = list(
        (0..1024 * 1024)
            .map(|i| Val::U8((i * 7 % 256) as u8))
            .collect(),
    );
    echo(&mut r, "list-u8", &[big_b]);
    // Still healthy afterwards.
    echo(&mut r, "string", &[s("small")]);

    // Over the arena: the host's cabi_realloc call gets an out-of-bounds pointer.
    let mut r = run();
    let too_big = "x".repeat((MAX_MESSAGE + glue::ARENA_SLACK_BYTES + 1) as usize);
    let e = r
        .try_call(Some(GUEST), "echo-string", &[s(&too_big)])
        .expect_err("an oversized argument must trap");
    assert!(e.contains("realloc"), "unexpected trap: {e}");
}

#[test]
fn a_warm_instance_does_not_leak() {
    let mut r = run();
    let payload = s(&"0123456789abcdeé".repeat(10 * 1024 / 17));
    assert!(matches!(&payload, Val::String(p) if p.len() > 10_000));
    let call = |r: &mut Running| echo(r, "string", std::slice::from_ref(&payload));
    for _ in 0..200 {
        call(&mut r);
    }
    let warm = r.memory_peak();
    for _ in 0..2000 {
        call(&mut r);
    }
    let list_payload = list((0..64).map(|i| s(&format!("{i:0>160}"))).collect());
    for _ in 0..500 {
        echo(&mut r, "list-string", std::slice::from_ref(&list_payload));
    }
    let after = r.memory_peak();
    eprintln!("linear memory peak: {warm} bytes after 200 calls, {after} after 2700");
    assert!(
        after <= warm + (4 << 20),
        "linear memory grew from {warm} to {after} bytes over 2500 warm calls"
    );
}

#[test]
fn every_export_has_a_post_return() {
    let w = roundtrip_world();
    let mut exports = std::collections::HashSet::new();
    for payload in wasmparser::Parser::new(0).parse_all(&w.core) {
        if let wasmparser::Payload::ExportSection(s) = payload.unwrap() {
            for e in s {
                exports.insert(e.unwrap().name.to_string());
            }
        }
    }
    assert!(exports.contains("cabi_realloc") && exports.contains("cabi_realloc_adapter"));
    assert!(
        w.glue.exports.len() > 60,
        "{} exports",
        w.glue.exports.len()
    );
    for hook in &w.glue.exports {
        assert!(
            exports.contains(&hook.export_name),
            "missing export {}",
            hook.export_name
        );
        let post = format!("cabi_post_{}", hook.export_name);
        assert!(exports.contains(&post), "missing {post}");
    }
}

#[test]
fn a_world_without_imports_builds_and_runs() {
    let w = build_world(
        &roundtrip_wit(),
        "minimal",
        &GlueOptions::default(),
        MINIMAL_GO,
    );
    assert!(w.glue.imports.is_empty());
    let mut r = instantiate(&w, &HashMap::new(), identity);
    assert_eq!(
        r.call(None, "add", &[Val::S32(i32::MAX), Val::S32(1)]),
        Some(Val::S32(i32::MIN))
    );
    assert_eq!(
        r.call(None, "hello", &[s("wörld")]),
        Some(s("hello, wörld"))
    );
    let pt = |x, y| rec(&[("x", Val::S32(x)), ("y", Val::S32(y))]);
    assert_eq!(r.call(None, "norm", &[pt(3, -4)]), Some(pt(4, 3)));
}

// ---- what the generator refuses ---------------------------------------------

fn generate_err(wit: &str, world: &str) -> String {
    let (resolve, world) = parse(wit, world);
    match glue::generate(&resolve, world, &GlueOptions::default()) {
        Ok(_) => panic!("generation should fail"),
        Err(e @ GlueError::Unsupported { .. }) => e.to_string(),
        Err(e) => panic!("expected Unsupported, got {e}"),
    }
}

#[test]
fn resources_are_reported_as_unsupported() {
    let wit = r#"package t:res;
interface store {
  resource bucket {
    constructor(name: string);
    get: func(key: string) -> option<list<u8>>;
  }
  open: func(name: string) -> bucket;
}
world w { export store; }
"#;
    let msg = generate_err(wit, "w");
    assert!(msg.contains("resource") && msg.contains("bucket"), "{msg}");
    assert!(msg.contains("not supported"), "{msg}");

    let wit = r#"package t:res2;
interface api {
  resource conn;
  use-it: func(c: borrow<conn>) -> u32;
}
world w { export api; }
"#;
    let msg = generate_err(wit, "w");
    assert!(msg.contains("resource") && msg.contains("conn"), "{msg}");
}

#[test]
fn other_unsupported_features_are_reported() {
    let msg = generate_err(
        "package t:a;\nworld w { export f: async func(x: u32) -> u32; }\n",
        "w",
    );
    assert!(msg.contains("async"), "{msg}");
    let msg = generate_err(
        "package t:s;\nworld w { import f: func(x: stream<u8>); }\n",
        "w",
    );
    assert!(msg.contains("stream"), "{msg}");
    // wit-parser itself rejects more than 32 flags, so grow a parsed one.
    let (mut resolve, world) = parse(
        "package t:f;\ninterface i {\n  flags many { m0 }\n  f: func(x: many);\n}\nworld w { import i; }\n",
        "w",
    );
    for (_, def) in resolve.types.iter_mut() {
        if let wit_parser::TypeDefKind::Flags(f) = &mut def.kind {
            let proto = f.flags[0].clone();
            f.flags = (0..33)
                .map(|i| wit_parser::Flag {
                    name: format!("m{i}"),
                    ..proto.clone()
                })
                .collect();
        }
    }
    let msg = glue::generate(&resolve, world, &GlueOptions::default())
        .expect_err("33 flags must be refused")
        .to_string();
    assert!(msg.contains("flags `many` with 33 members"), "{msg}");
    assert!(
        msg.contains("at most 32") && msg.contains("t:f/i#f"),
        "{msg}"
    );
}
