//! Imported resources in the WIT → Go glue: own/borrow handles, constructors,
//! methods, static functions and `[resource-drop]`, with the real Go compiler,
//! wit-component and wasmtime (host resources in a `ResourceTable`), plus the
//! `wasi:http/incoming-handler` world compiled and componentized.

use crate::support::glue as support;

use std::collections::HashMap;
use std::sync::OnceLock;

use pelato::glue::{self, GlueError, GlueOptions};
use support::*;
use wasmtime::component::{Linker, Resource, Val};
use wasmtime::StoreContextMut;

const COUNTERS: &str = "pelato:res/counters@0.1.0";

const WIT: &str = r#"package pelato:res@0.1.0;

interface counters {
  resource counter {
    constructor(start: u32);
    add: func(n: u32) -> u32;
    get: func() -> u32;
    name: static func() -> string;
  }
  record labelled { c: counter, label: string }
  peek: func(c: borrow<counter>) -> u32;
  peek-all: func(cs: list<borrow<counter>>) -> u32;
  make: func(start: u32) -> counter;
  sum-all: func(cs: list<counter>) -> u32;
  bump: func(c: option<counter>) -> option<counter>;
  unwrap: func(l: labelled) -> tuple<counter, string>;
}

world res {
  import counters;
  use counters.{counter};
  export run: func(n: u32) -> list<string>;
  export take: func(c: counter) -> u32;
  export look: func(c: borrow<counter>, more: list<borrow<counter>>) -> u32;
  export give: func(start: u32) -> counter;
}
"#;

/// The template's side: exercises every kind of resource function.
const GO: &str = r#"package main

import "fmt"

func main() {}

func pelatoOnRun(n uint32) []string {
	var out []string
	say := func(f string, a ...any) { out = append(out, fmt.Sprintf(f, a...)) }
	c := pelatoNewCounter(10)
	say("add=%d", c.Add(5))
	say("get=%d", c.Get())
	say("name=%s", pelatoCounterName())
	say("peek=%d", pelatoCountersPeek(c))
	m := pelatoCountersMake(100)
	say("m.add=%d", m.Add(n))
	say("peek-all=%d", pelatoCountersPeekAll([]pelatoCounter{c, m, c}))
	b := pelatoCountersBump(pelatoOption[pelatoCounter]{Some: true, Value: pelatoNewCounter(7)})
	say("bump=%v,%d", b.Some, b.Value.Get())
	none := pelatoCountersBump(pelatoOption[pelatoCounter]{})
	say("bump-none=%v", none.Some)
	t := pelatoCountersUnwrap(pelatoLabelled{C: pelatoNewCounter(3), Label: "three"})
	say("unwrap=%d,%s", t.F0.Get(), t.F1)
	d := pelatoNewCounter(1)
	d.Drop()
	// Moves every remaining handle to the host.
	say("sum=%d", pelatoCountersSumAll([]pelatoCounter{c, m, b.Value, t.F0}))
	return out
}

func pelatoOnTake(c pelatoCounter) uint32 {
	v := c.Get()
	c.Drop()
	return v
}

// The borrows are dropped by the glue when the export returns.
func pelatoOnLook(c pelatoCounter, more []pelatoCounter) uint32 {
	s := c.Add(1)
	for _, x := range more {
		s += x.Get()
	}
	return s
}

func pelatoOnGive(start uint32) pelatoCounter {
	c := pelatoNewCounter(start)
	c.Add(1)
	return c
}
"#;

/// Host side of `counter`.
struct Counter {
    value: u32,
}

/// WIT record `labelled`.
#[derive(wasmtime::component::ComponentType, wasmtime::component::Lift)]
#[component(record)]
struct Labelled {
    c: Resource<Counter>,
    label: String,
}

type Cx<'a> = StoreContextMut<'a, HostState>;

fn new_counter(cx: &mut Cx<'_>, value: u32) -> wasmtime::Result<Resource<Counter>> {
    cx.data_mut().bump("made");
    Ok(cx.data_mut().table.push(Counter { value })?)
}

fn value(cx: &Cx<'_>, c: &Resource<Counter>) -> wasmtime::Result<u32> {
    Ok(cx.data().table.get(c)?.value)
}

/// Consumes an own handle the guest gave the host.
fn consume(cx: &mut Cx<'_>, c: Resource<Counter>) -> wasmtime::Result<u32> {
    assert!(c.owned(), "expected an own handle");
    let v = cx.data_mut().table.delete(c)?.value;
    cx.data_mut().bump("dropped");
    Ok(v)
}

fn define_counters(linker: &mut Linker<HostState>) -> Vec<String> {
    let mut inst = linker.instance(COUNTERS).expect("instance");
    inst.resource(
        "counter",
        wasmtime::component::ResourceType::host::<Counter>(),
        |mut cx, rep| {
            consume(&mut cx, Resource::new_own(rep))?;
            cx.data_mut().bump("guest-dropped");
            Ok(())
        },
    )
    .unwrap();
    inst.func_wrap("[constructor]counter", |mut cx, (start,): (u32,)| {
        Ok((new_counter(&mut cx, start)?,))
    })
    .unwrap();
    inst.func_wrap(
        "[method]counter.add",
        |mut cx, (c, n): (Resource<Counter>, u32)| {
            assert!(!c.owned(), "self is a borrow");
            let ctr = cx.data_mut().table.get_mut(&c)?;
            ctr.value += n;
            Ok((ctr.value,))
        },
    )
    .unwrap();
    inst.func_wrap("[method]counter.get", |cx, (c,): (Resource<Counter>,)| {
        Ok((value(&cx, &c)?,))
    })
    .unwrap();
    inst.func_wrap("[static]counter.name", |_cx, (): ()| {
        Ok(("counter".to_string(),))
    })
    .unwrap();
    inst.func_wrap("peek", |cx, (c,): (Resource<Counter>,)| {
        assert!(!c.owned());
        Ok((value(&cx, &c)?,))
    })
    .unwrap();
    inst.func_wrap("peek-all", |cx, (cs,): (Vec<Resource<Counter>>,)| {
        let mut s = 0;
        for c in &cs {
            assert!(!c.owned());
            s += value(&cx, c)?;
        }
        Ok((s,))
    })
    .unwrap();
    inst.func_wrap("make", |mut cx, (start,): (u32,)| {
        Ok((new_counter(&mut cx, start)?,))
    })
    .unwrap();
    inst.func_wrap("sum-all", |mut cx, (cs,): (Vec<Resource<Counter>>,)| {
        let mut s = 0;
        for c in cs {
            s += consume(&mut cx, c)?;
        }
        Ok((s,))
    })
    .unwrap();
    inst.func_wrap(
        "bump",
        |mut cx, (c,): (Option<Resource<Counter>>,)| match c {
            Some(c) => {
                let v = consume(&mut cx, c)?;
                Ok((Some(new_counter(&mut cx, v + 1)?),))
            }
            None => Ok((None,)),
        },
    )
    .unwrap();
    inst.func_wrap("unwrap", |_cx, (l,): (Labelled,)| {
        assert!(l.c.owned());
        // The same resource goes back to the guest.
        Ok(((l.c, l.label.chars().rev().collect::<String>()),))
    })
    .unwrap();
    vec![COUNTERS.to_string()]
}

fn built() -> &'static BuiltWorld {
    static B: OnceLock<BuiltWorld> = OnceLock::new();
    B.get_or_init(|| build_world(WIT, "res", &GlueOptions::default(), GO))
}

fn start() -> Running {
    instantiate_with(built(), &HashMap::new(), identity, define_counters)
}

fn counts(r: &Running) -> (u64, u64) {
    let d = r.store.data();
    (d.count("made"), d.count("dropped"))
}

fn run_lines(r: &mut Running, n: u32) -> Vec<String> {
    match r.call(None, "run", &[Val::U32(n)]) {
        Some(Val::List(items)) => items
            .into_iter()
            .map(|v| match v {
                Val::String(s) => s,
                other => panic!("not a string: {other:?}"),
            })
            .collect(),
        other => panic!("run returned {other:?}"),
    }
}

#[test]
fn glue_resources_generated_api_shape() {
    let g = &built().glue;
    let by_field = |f: &str| {
        g.imports
            .iter()
            .find(|i| i.field == f)
            .unwrap_or_else(|| panic!("no binding for {f}"))
            .go_signature
            .clone()
    };
    assert_eq!(
        by_field("[constructor]counter"),
        "func pelatoNewCounter(a0 uint32) pelatoCounter"
    );
    assert_eq!(
        by_field("[method]counter.add"),
        "func (r pelatoCounter) Add(a0 uint32) uint32"
    );
    assert_eq!(
        by_field("[static]counter.name"),
        "func pelatoCounterName() string"
    );
    assert_eq!(
        by_field("[resource-drop]counter"),
        "func (r pelatoCounter) Drop()"
    );
    assert_eq!(
        by_field("sum-all"),
        "func pelatoCountersSumAll(a0 []pelatoCounter) uint32"
    );
    let look = g.exports.iter().find(|e| e.export_name == "look").unwrap();
    assert_eq!(
        look.go_signature,
        "func pelatoOnLook(a0 pelatoCounter, a1 []pelatoCounter) uint32"
    );
}

#[test]
fn glue_resources_every_kind_of_call_works_and_nothing_leaks() {
    let mut r = start();
    let lines = run_lines(&mut r, 4);
    assert_eq!(
        lines,
        [
            "add=15",
            "get=15",
            "name=counter",
            "peek=15",
            "m.add=104",
            "peek-all=134",
            "bump=true,8",
            "bump-none=false",
            "unwrap=3,eerht",
            "sum=130",
        ]
    );
    // c, m, 7, 8 (bump), 3, 1 (dropped by the guest).
    assert_eq!(counts(&r), (6, 6), "made/dropped after one run");
    assert_eq!(r.store.data().count("guest-dropped"), 1);

    // No leaks on a warm instance.
    for n in 0..50 {
        let lines = run_lines(&mut r, n);
        assert_eq!(lines.last().unwrap(), &format!("sum={}", 126 + n));
    }
    let (made, dropped) = counts(&r);
    assert_eq!((made, dropped), (6 * 51, 6 * 51));
}

#[test]
fn glue_resources_exports_take_borrow_and_return_handles() {
    let mut r = start();
    let rt = &r.rt;
    let store = &mut r.store;
    let inst = r.instance;

    // own<counter> into an export: the guest reads and drops it.
    let take = inst
        .get_typed_func::<(Resource<Counter>,), (u32,)>(&mut *store, "take")
        .unwrap();
    let c = new_counter(&mut store.as_context_mut(), 41).unwrap();
    let (v,) = rt.block_on(take.call_async(&mut *store, (c,))).unwrap();
    assert_eq!(v, 41);
    assert_eq!(store.data().count("guest-dropped"), 1);

    // borrow<counter> and list<borrow<counter>>: the host keeps ownership; the
    // glue must end the borrows before returning or wasmtime traps.
    let look = inst
        .get_typed_func::<(Resource<Counter>, Vec<Resource<Counter>>), (u32,)>(&mut *store, "look")
        .unwrap();
    for round in 0..3u32 {
        let a = new_counter(&mut store.as_context_mut(), 5).unwrap();
        let b = new_counter(&mut store.as_context_mut(), 9).unwrap();
        let params = (
            Resource::new_borrow(a.rep()),
            vec![Resource::new_borrow(b.rep()), Resource::new_borrow(a.rep())],
        );
        let (v,) = rt
            .block_on(look.call_async(&mut *store, params))
            .unwrap_or_else(|e| panic!("look (round {round}): {e:?}"));
        assert_eq!(v, 6 + 9 + 6);
        assert_eq!(value(&store.as_context_mut(), &a).unwrap(), 6);
        consume(&mut store.as_context_mut(), a).unwrap();
        consume(&mut store.as_context_mut(), b).unwrap();
    }

    // own<counter> out of an export: the host gets it.
    let give = inst
        .get_typed_func::<(u32,), (Resource<Counter>,)>(&mut *store, "give")
        .unwrap();
    let (c,) = rt.block_on(give.call_async(&mut *store, (3,))).unwrap();
    assert!(c.owned());
    assert_eq!(consume(&mut store.as_context_mut(), c).unwrap(), 4);

    let d = store.data();
    assert_eq!(
        (d.count("made"), d.count("dropped")),
        (1 + 6 + 1, 1 + 6 + 1)
    );
}

use wasmtime::AsContextMut as _;

#[test]
fn glue_resources_exported_resources_stay_unsupported() {
    let (resolve, world) = parse(
        r#"package t:exp;
interface api {
  resource conn { constructor(); get: func() -> u32; }
  open: func() -> conn;
}
world w { export api; }
"#,
        "w",
    );
    match glue::generate(&resolve, world, &GlueOptions::default()) {
        Err(e @ GlueError::Unsupported { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("exported resource type `conn`"), "{msg}");
            assert!(msg.contains("t:exp/api#"), "{msg}");
        }
        Err(e) => panic!("expected Unsupported, got {e}"),
        Ok(_) => panic!("exported resources must be refused"),
    }
}

// ---- wasi:http/incoming-handler -------------------------------------------

/// `wasi:http@0.2.2` and the packages it uses, kept verbatim under
/// `fixtures/wit/wasi-0.2.2` (`wasmtime-wasi-http` is not a dependency here).
fn wasi_wit_dir() -> Option<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/wit/wasi-0.2.2");
    dir.join("http").join("handler.wit").exists().then_some(dir)
}

const HTTP_GO: &str = r#"package main

func main() {}

func pelatoOnIncomingHandlerHandle(req pelatoIncomingRequest, out pelatoResponseOutparam) {
	req.Drop()
	resp := pelatoNewOutgoingResponse(pelatoNewFields())
	resp.SetStatusCode(200)
	body := resp.Body()
	if body.IsErr {
		panic("no body")
	}
	stream := body.Ok.Write()
	if stream.IsErr {
		panic("no stream")
	}
	pelatoResponseOutparamSet(out, pelatoResult[pelatoOutgoingResponse, pelatoErrorCode]{Ok: resp})
	stream.Ok.BlockingWriteAndFlush([]byte("hello from pelato\n"))
	stream.Ok.Drop()
	pelatoOutgoingBodyFinish(body.Ok, pelatoOption[pelatoFields]{})
}
"#;

#[test]
fn glue_resources_wasi_http_incoming_handler_compiles_and_componentizes() {
    let Some(deps) = wasi_wit_dir() else {
        panic!("fixtures/wit/wasi-0.2.2 is missing the wasi:http WIT");
    };
    let dir = tempfile::tempdir().unwrap();
    let wit = dir.path().join("wit");
    for pkg in [
        "http",
        "io",
        "clocks",
        "random",
        "cli",
        "filesystem",
        "sockets",
    ] {
        let to = wit.join("deps").join(pkg);
        std::fs::create_dir_all(&to).unwrap();
        for f in std::fs::read_dir(deps.join(pkg)).unwrap().flatten() {
            std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
        }
    }
    let version = std::fs::read_to_string(deps.join("http").join("proxy.wit"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("package wasi:http@"))
        .map(|v| v.trim_end_matches(';').to_string())
        .expect("wasi:http version");
    std::fs::write(
        wit.join("hook.wit"),
        format!(
            "package pelato:http-test;\n\nworld hook {{\n  export wasi:http/incoming-handler@{version};\n}}\n"
        ),
    )
    .unwrap();
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve.push_dir(&wit).expect("wasi:http WIT parses");
    let world = resolve.select_world(&[pkg], Some("hook")).unwrap();

    let glue = glue::generate(&resolve, world, &GlueOptions::default())
        .unwrap_or_else(|e| panic!("glue for wasi:http: {e}"));
    let lines = glue.source.lines().count();
    eprintln!(
        "wasi:http@{version} incoming-handler glue: {lines} lines, {} imports, {} exports",
        glue.imports.len(),
        glue.exports.len()
    );
    assert_eq!(glue.exports.len(), 1);
    assert_eq!(
        glue.exports[0].go_signature,
        "func pelatoOnIncomingHandlerHandle(a0 pelatoIncomingRequest, a1 pelatoResponseOutparam)"
    );
    for f in [
        "[constructor]fields",
        "[method]outgoing-body.write",
        "[static]response-outparam.set",
        "[resource-drop]incoming-request",
        "[method]output-stream.blocking-write-and-flush",
        "[resource-drop]pollable",
    ] {
        assert!(
            glue.imports.iter().any(|i| i.field == f),
            "no binding for {f}"
        );
    }

    let core = build_core(&resolve, world, "wasi-http", &glue, HTTP_GO);
    let component = pelato::build::componentize(&core, &resolve, world)
        .unwrap_or_else(|e| panic!("componentize wasi:http hook: {e:#}"));
    let shape = pelato::harness::ComponentShape::of(&component).expect("component shape");
    assert!(
        shape
            .exports
            .contains(&format!("wasi:http/incoming-handler@{version}")),
        "{shape:?}"
    );
    assert!(
        shape
            .imports
            .iter()
            .any(|i| i.starts_with("wasi:http/types@")),
        "{shape:?}"
    );
    // And wasmtime accepts it.
    wasmtime::component::Component::new(engine(), &component).expect("wasmtime compiles it");
}
